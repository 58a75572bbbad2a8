/*
 * api_auth.c — see api_auth.h. Owns the token digests and the decision for
 * one request; api_routes.c turns a verdict into an answer. No I/O, no
 * globals: the server holds one struct api_auth per running config.
 */
#include "api_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/parse.h"

static int sha256(const void *p, size_t n, unsigned char out[API_AUTH_DIGEST_BYTES])
{
    unsigned len = 0;
    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == API_AUTH_DIGEST_BYTES
               ? 0 : -1;
}

int api_auth_init(struct api_auth *a, const struct cfg_api_token *tokens, size_t n,
                  struct okrd_err *err)
{
    memset(a, 0, sizeof *a);
    if (n == 0)
        return 0;
    if (!(a->tokens = calloc(n, sizeof *a->tokens)))
        return okrd_err_set(err, OKRD_ENOMEM, "api tokens: out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct cfg_api_token *t = &tokens[i];
        if (!t->token)
            continue;
        struct api_auth_token *d = &a->tokens[a->n];
        snprintf(d->name, sizeof d->name, "%s", t->name);
        d->scopes = t->scopes;
        if (sha256(t->token, strlen(t->token), d->digest) < 0) {
            api_auth_free(a);
            return okrd_err_set(err, OKRD_EIO, "api token \"%s\": SHA-256 failed", t->name);
        }
        a->scopes |= d->scopes;
        a->n++;
    }
    return 0;
}

void api_auth_free(struct api_auth *a)
{
    if (a->tokens) {
        OPENSSL_cleanse(a->tokens, a->n * sizeof *a->tokens);
        free(a->tokens);
    }
    memset(a, 0, sizeof *a);
}

#define KR_PREFIX "/api/v1/key-results/"

enum api_endpoint api_auth_endpoint(const char *method, const char *path)
{
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (get)
        return !strcmp(path, "/healthz") ? API_EP_HEALTHZ
             : !strcmp(path, "/") || !strcmp(path, "/retro") ? API_EP_PAGE
                                         : API_EP_READ;
    if (strcmp(method, "POST") != 0)
        return API_EP_OPEN;
    if (!strcmp(path, "/api/v1/points"))
        return API_EP_PUSH;
    size_t pl = strlen(KR_PREFIX);
    if (!strncmp(path, KR_PREFIX, pl)) {
        const char *id = path + pl;
        const char *slash = strchr(id, '/');
        if (slash && okrd_valid_id(id, (size_t)(slash - id)) && !strcmp(slash, "/check-ins"))
            return API_EP_CHECKIN;
    }
    return API_EP_OPEN;
}

unsigned api_auth_scope(enum api_endpoint ep)
{
    switch (ep) {
    case API_EP_READ: return CFG_SCOPE_READ;
    case API_EP_PUSH: return CFG_SCOPE_PUSH;
    case API_EP_CHECKIN: return CFG_SCOPE_CHECKIN;
    default: return 0;
    }
}

const char *api_auth_scope_name(unsigned scope)
{
    switch (scope) {
    case CFG_SCOPE_READ: return "read";
    case CFG_SCOPE_PUSH: return "push";
    case CFG_SCOPE_CHECKIN: return "checkin";
    default: return "?";
    }
}

void api_auth_scope_list(unsigned scopes, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (unsigned bit = 1; bit <= CFG_SCOPE_CHECKIN; bit <<= 1)
        if (scopes & bit) {
            int w = snprintf(buf + o, size - o, "%s%s", o ? ", " : "", api_auth_scope_name(bit));
            if (w < 0 || (size_t)w >= size - o)
                return;
            o += (size_t)w;
        }
    if (!o)
        snprintf(buf, size, "none");
}

/* The token of "Bearer TOKEN" (scheme in any case, spaces around the token
 * dropped), or NULL; *len its length. */
static const char *bearer(const char *h, size_t *len)
{
    if (!h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return NULL;
    h += 6;
    while (*h == ' ' || *h == '\t')
        h++;
    size_t n = strlen(h);
    while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    *len = n;
    return n ? h : NULL;
}

struct api_auth_result api_auth_decide(const struct api_auth *a, enum api_endpoint ep,
                                       enum api_listener l, const char *authorization)
{
    struct api_auth_result r = { API_AUTH_SERVE, -1, api_auth_scope(ep) };
    if (ep == API_EP_OPEN || ep == API_EP_HEALTHZ || ep == API_EP_PAGE)
        return r;
    if (ep == API_EP_READ && (l == API_LISTENER_LOOPBACK || l == API_LISTENER_UNIX))
        return r;
    if (!(a->scopes & r.scope)) {
        r.verdict = API_AUTH_NOT_CONFIGURED;
        return r;
    }
    size_t n = 0;
    const char *tok = bearer(authorization, &n);
    if (!tok) {
        r.verdict = API_AUTH_MISSING;
        return r;
    }
    unsigned char d[API_AUTH_DIGEST_BYTES];
    if (sha256(tok, n, d) < 0) {
        r.verdict = API_AUTH_UNKNOWN;
        return r;
    }
    /* Every digest is compared, the match picked by a mask: no branch and
     * no early exit depends on which token (if any) matched. */
    uintptr_t found = (uintptr_t)-1;
    for (size_t i = 0; i < a->n; i++) {
        uintptr_t eq = (uintptr_t)(CRYPTO_memcmp(d, a->tokens[i].digest, sizeof d) == 0);
        uintptr_t mask = (uintptr_t)0 - eq;
        found = (found & ~mask) | ((uintptr_t)i & mask);
    }
    OPENSSL_cleanse(d, sizeof d);
    if (found == (uintptr_t)-1) {
        r.verdict = API_AUTH_UNKNOWN;
        return r;
    }
    r.token = (long)found;
    r.verdict = (a->tokens[found].scopes & r.scope) ? API_AUTH_SERVE : API_AUTH_NO_SCOPE;
    return r;
}

void api_auth_listen_host(const char *listen, char *buf, size_t size)
{
    buf[0] = '\0';
    if (!listen || !strncmp(listen, "unix:", 5))
        return;
    const char *end = listen[0] == '[' ? strchr(listen, ']') : strrchr(listen, ':');
    if (!end)
        return;
    size_t n = (size_t)(end - listen) + (listen[0] == '[');
    if (n < size)
        snprintf(buf, size, "%.*s", (int)n, listen);
}

static bool same_host(const char *h, size_t n, const char *want)
{
    return want && *want && strlen(want) == n && !strncasecmp(h, want, n);
}

bool api_auth_host_ok(const char *host, const char *own_host)
{
    if (!host)
        return true;
    size_t n;
    if (host[0] == '[') {
        const char *rb = strchr(host, ']');
        if (!rb)
            return false;
        n = (size_t)(rb - host) + 1;
    } else {
        const char *colon = strchr(host, ':');
        n = colon ? (size_t)(colon - host) : strlen(host);
    }
    /* What follows the host may only be a port. */
    const char *rest = host + n;
    if (*rest) {
        if (*rest != ':' || !rest[1] || strspn(rest + 1, "0123456789") != strlen(rest + 1))
            return false;
    }
    return same_host(host, n, "localhost") || same_host(host, n, "127.0.0.1") ||
           same_host(host, n, "[::1]") || same_host(host, n, own_host);
}
