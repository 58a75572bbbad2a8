/*
 * cfg_tokens.c — the API's tokens (DESIGN section 8, "Tokens and scopes"):
 * daemon.api_tokens, daemon.api_token as the reserved token "api" with every
 * scope, and the rule that a listener other than loopback or unix: needs at
 * least one of them.
 *
 * Invariant: cfg->daemon.api_tokens holds every token the API accepts, the
 * "api" one first, names and values unique. A token's value is never quoted
 * in a message: a duplicate names the other token by its name and path.
 */
#include "cfg_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const token_keys[] = { "name", "token", "scopes", NULL };
static const char *const scope_names[] = { "read", "push", "checkin", NULL };

bool cfg_valid_token_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == ':' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* A token travels in an Authorization header, whose surrounding spaces the
 * server drops: visible ASCII only, or it could never match. */
static bool sendable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static unsigned parse_scopes(struct cfg_ctx *c, json_t *obj)
{
    bool bad;
    json_t *arr = cfg_get_array(c, obj, "scopes", true, &bad);
    if (!arr)
        return 0;
    if (json_array_size(arr) == 0) {
        cfg_err(c, "scopes", "empty list: give at least one of read, push, checkin");
        return 0;
    }
    unsigned scopes = 0;
    bool ok = true;
    size_t old = cfg_path_push_key(c, "scopes");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *v = json_array_get(arr, i);
        size_t o2 = cfg_path_push_index(c, i);
        if (!json_is_string(v)) {
            cfg_err(c, NULL, "expected a string (read, push or checkin), got %s",
                    cfg_json_type_name(v));
            ok = false;
        } else {
            const char *s = json_string_value(v);
            int k = cfg_find_name(scope_names, s);
            if (k < 0) {
                const char *hint = cfg_suggest(s, scope_names);
                if (hint)
                    cfg_err(c, NULL, "unknown scope %s \xe2\x80\x94 did you mean \"%s\"?",
                            cfg_quote(c, s), hint);
                else
                    cfg_err(c, NULL, "unknown scope %s (known: read, push, checkin)",
                            cfg_quote(c, s));
                ok = false;
            } else if (scopes & (1u << k)) {
                cfg_err(c, NULL, "scope \"%s\" is listed twice", s);
                ok = false;
            } else {
                scopes |= 1u << k;
            }
        }
        cfg_path_pop(c, o2);
    }
    cfg_path_pop(c, old);
    return ok ? scopes : 0;
}

/* Where token I was written, for "the same token as ..." messages. */
static const char *where(struct cfg_ctx *c, const struct cfg_api_token *t)
{
    return cfg_arena_printf(&c->tmp, "%s:%d:%d", t->pos.file ? t->pos.file : "?", t->pos.line,
                            t->pos.col);
}

void cfg_schema_tokens(struct cfg_ctx *c, json_t *obj)
{
    struct cfg_daemon *d = &c->cfg->daemon;
    bool bad;
    json_t *arr = cfg_get_array(c, obj, "api_tokens", false, &bad);
    size_t n = arr ? json_array_size(arr) : 0;
    bool has_api = d->api_token != NULL;
    d->api_tokens = cfg_arena_array(c->arena, n + 2, sizeof *d->api_tokens);
    d->n_api_tokens = 0;
    if (has_api) {
        struct cfg_api_token *t = &d->api_tokens[d->n_api_tokens++];
        t->name = cfg_arena_strdup(c->arena, "api");
        t->token = d->api_token;
        t->scopes = CFG_SCOPES_ALL;
        cfg_pos_here(c, "api_token", &t->pos);
    }
    size_t old = cfg_path_push_key(c, "api_tokens");
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        size_t o2 = cfg_path_push_index(c, i);
        if (!json_is_object(e)) {
            cfg_err(c, NULL, "expected an object {\"name\", \"token\", \"scopes\"}, got %s",
                    cfg_json_type_name(e));
            cfg_path_pop(c, o2);
            continue;
        }
        struct cfg_api_token t = { 0 };
        cfg_pos_here(c, NULL, &t.pos);
        cfg_check_keys(c, e, token_keys);
        bool ok = true;
        char *name = NULL;
        if (cfg_get_str(c, e, "name", true, CFG_STR_PLAIN, &name) > 0) {
            if (!cfg_valid_token_name(name)) {
                cfg_err(c, "name", "%s is not a valid token name (letters, digits and _ . : -, "
                        "1 to 64 characters)", cfg_quote(c, name));
                ok = false;
            } else if (!strcmp(name, "api")) {
                cfg_err(c, "name", "\"api\" is reserved: it names daemon.api_token");
                ok = false;
            } else {
                for (size_t k = 0; k < d->n_api_tokens; k++)
                    if (!strcmp(d->api_tokens[k].name, name)) {
                        cfg_err(c, "name", "token name \"%s\" is used twice (first at %s)", name,
                                where(c, &d->api_tokens[k]));
                        ok = false;
                        break;
                    }
                t.name = name;
            }
        } else {
            ok = false;
        }
        /* Never quoted: the token is a secret (cfg_get_str names only the
         * reference when one cannot be resolved). */
        int rt = cfg_get_str(c, e, "token", true, CFG_STR_SECRET_NULL, &t.token);
        if (rt > 0 && t.token) {
            if (!*t.token) {
                cfg_err(c, "token", "must not be empty");
                ok = false;
            } else if (!sendable(t.token)) {
                cfg_err(c, "token", "must be visible ASCII characters only (no spaces, no "
                        "control characters, no newline), as an Authorization header carries it");
                ok = false;
            } else {
                for (size_t k = 0; k < d->n_api_tokens; k++)
                    if (d->api_tokens[k].token && !strcmp(d->api_tokens[k].token, t.token)) {
                        cfg_err(c, "token", "the same token as \"%s\" (at %s): every token must "
                                "differ, so a request names exactly one", d->api_tokens[k].name,
                                where(c, &d->api_tokens[k]));
                        ok = false;
                        break;
                    }
            }
        } else if (rt < 0) {
            ok = false;
        }
        t.scopes = parse_scopes(c, e);
        if (ok && t.scopes)
            d->api_tokens[d->n_api_tokens++] = t;
        cfg_path_pop(c, o2);
    }
    cfg_path_pop(c, old);
}

bool cfg_listen_is_local(const char *listen)
{
    if (!listen || !*listen || !strncmp(listen, "unix:", 5))
        return true;
    char host[256];
    if (listen[0] == '[') {
        const char *rb = strchr(listen, ']');
        if (!rb || (size_t)(rb - listen - 1) >= sizeof host)
            return false;
        snprintf(host, sizeof host, "%.*s", (int)(rb - listen - 1), listen + 1);
        struct in6_addr a;
        if (inet_pton(AF_INET6, host, &a) != 1)
            return false;
        return IN6_IS_ADDR_LOOPBACK(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127);
    }
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return false;
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    /* Any other host name may resolve anywhere: treated as not loopback. */
    return !strcasecmp(host, "localhost");
}

void cfg_check_listen_tokens(struct cfg_ctx *c, json_t *obj)
{
    const struct cfg_daemon *d = &c->cfg->daemon;
    /* Counted from the file, not from resolved values, so `status` (which
     * resolves no secret) judges the same config the same way. */
    json_t *arr = json_object_get(obj, "api_tokens");
    bool any = json_object_get(obj, "api_token") ||
               (json_is_array(arr) && json_array_size(arr) > 0);
    if (any || cfg_listen_is_local(d->listen))
        return;
    cfg_err(c, json_object_get(obj, "listen") ? "listen" : NULL,
            "%s is not a loopback address, so every endpoint but /healthz needs a bearer "
            "token, and no token is configured: set daemon.api_token or daemon.api_tokens, or "
            "listen on 127.0.0.1, [::1], localhost or unix:PATH",
            cfg_quote(c, d->listen));
}
