/*
 * cfg_schema.c — the small sections of DESIGN section 2: daemon, alerts,
 * metrics[] and webhooks[]. Sources live in cfg_source.c, objectives and key
 * results in cfg_objective.c.
 *
 * Each function validates one JSON object into a struct whose defaults the
 * loader has already set, reports every problem it finds and leaves a field
 * at its default when its value is wrong, so later checks still run. What
 * needs other items (a digest's webhook ids, a webhook's objectives, ratio
 * inputs) is checked in cfg_check.c once every file is read.
 */
#include "cfg_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

/* ---- daemon ---- */

static bool valid_hostname(const char *h, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    bool all_numeric = true;
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];
        if (ch == '.') {
            if (label == 0 || h[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9');
        if (!alnum && ch != '-')
            return false;
        if (ch == '-' && label == 0)
            return false;
        if (!(ch >= '0' && ch <= '9'))
            all_numeric = false;
        if (++label > 63)
            return false;
    }
    /* "256.1.1.1" is a bad IPv4 address, not a host name */
    return label > 0 && h[n - 1] != '-' && !all_numeric;
}

bool cfg_valid_listen(const char *s, const char **why)
{
    if (!*s)
        return true;
    if (strncmp(s, "unix:", 5) == 0) {
        const char *p = s + 5;
        if (p[0] != '/') {
            *why = "a unix socket path must be absolute (\"unix:/run/okrd/api.sock\")";
            return false;
        }
        if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
            *why = "the unix socket path is too long (at most 107 bytes)";
            return false;
        }
        return true;
    }
    const char *colon;
    char host[256];
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        size_t hl = rb ? (size_t)(rb - s - 1) : 0;
        struct in6_addr a6;
        if (!rb || hl == 0 || hl >= sizeof host) {
            *why = "expected \"[IPv6]:PORT\"";
            return false;
        }
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        if (inet_pton(AF_INET6, host, &a6) != 1) {
            *why = "not a valid IPv6 address in brackets";
            return false;
        }
        if (rb[1] != ':') {
            *why = "expected \":PORT\" after the IPv6 address";
            return false;
        }
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) {
            *why = "expected \"HOST:PORT\", \"unix:/PATH\" or \"\" (API off)";
            return false;
        }
        size_t hl = (size_t)(colon - s);
        if (memchr(s, ':', hl)) {
            *why = "write an IPv6 address in brackets: \"[::1]:9470\"";
            return false;
        }
        if (hl == 0 || hl >= sizeof host) {
            *why = "the host is missing (e.g. \"127.0.0.1:9470\")";
            return false;
        }
        memcpy(host, s, hl);
        host[hl] = '\0';
        struct in_addr a4;
        bool dotted = strspn(host, "0123456789.") == hl;
        if (dotted ? inet_pton(AF_INET, host, &a4) != 1 : !valid_hostname(host, hl)) {
            *why = dotted ? "not a valid IPv4 address" : "not a valid host name";
            return false;
        }
    }
    const char *port = colon + 1;
    size_t pl = strlen(port);
    long v = pl >= 1 && pl <= 5 && strspn(port, "0123456789") == pl ? strtol(port, NULL, 10) : 0;
    if (v < 1 || v > 65535) {
        *why = "the port must be a number from 1 to 65535";
        return false;
    }
    return true;
}

static const char *const daemon_keys[] = {
    "state_dir", "listen", "api_token", "api_tokens", "timezone", "log_level",
    "http_max_connections", "evaluate_every", NULL,
};
static const char *const log_levels[] = { "debug", "info", "warning", "error", NULL };

void cfg_schema_daemon(struct cfg_ctx *c, json_t *obj)
{
    struct cfg_daemon *d = &c->cfg->daemon;
    cfg_check_keys(c, obj, daemon_keys);
    char *s = NULL;
    if (cfg_get_str(c, obj, "state_dir", false, CFG_STR_PLAIN, &s) > 0) {
        if (!*s)
            cfg_err(c, "state_dir", "must not be empty");
        else
            d->state_dir = cfg_abs_path(c, s);
    }
    if (cfg_get_str(c, obj, "listen", false, CFG_STR_PLAIN, &s) > 0) {
        const char *why = NULL;
        if (!cfg_valid_listen(s, &why))
            cfg_err(c, "listen", "%s: %s",
                    cfg_quote(c, json_string_value(json_object_get(obj, "listen"))), why);
        else
            d->listen = s;
    }
    if (cfg_get_str(c, obj, "api_token", false, CFG_STR_SECRET_NULL, &s) > 0) {
        if (s && !*s)
            cfg_err(c, "api_token", "must not be empty (omit the key for no token)");
        else
            d->api_token = s;
    }
    cfg_schema_tokens(c, obj);
    if (cfg_get_str(c, obj, "timezone", false, CFG_STR_PLAIN, &s) > 0) {
        struct okrd_err err = { 0 };
        struct okrd_tz *tz = NULL;
        if (okrd_tz_open(&tz, s, &err) < 0) {
            cfg_err(c, "timezone", "%s", err.msg);
            c->timezone_ok = false;
        } else {
            okrd_tz_close(d->tz);
            d->tz = tz;
            d->timezone = s;
        }
    }
    int e;
    if (cfg_get_enum(c, obj, "log_level", false, log_levels, &e) > 0)
        d->log_level = (enum cfg_log_level)e;
    int64_t i;
    if (cfg_get_int(c, obj, "http_max_connections", false, 1, 100000, &i) > 0)
        d->http_max_connections = (int)i;
    cfg_get_duration(c, obj, "evaluate_every", false, 1, &d->evaluate_every_ms);
    cfg_check_listen_tokens(c, obj);
}

/* ---- alerts ---- */

static const char *const weekdays[] = {
    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", NULL,
};

/* "monday 09:00", "Mon 9:00": weekday (full or 3 letters, any case), HH:MM. */
static bool parse_every(const char *s, int *wday, int *minute)
{
    const char *sp = strchr(s, ' ');
    if (!sp)
        return false;
    size_t wl = (size_t)(sp - s);
    *wday = -1;
    for (int i = 0; weekdays[i]; i++)
        if ((wl == 3 || wl == strlen(weekdays[i])) && strncasecmp(s, weekdays[i], wl) == 0)
            *wday = i;
    if (*wday < 0)
        return false;
    while (*sp == ' ')
        sp++;
    int h = 0, m = 0, k = 0;
    while (sp[k] >= '0' && sp[k] <= '9' && k < 2)
        h = h * 10 + (sp[k++] - '0');
    if (k == 0 || sp[k] != ':')
        return false;
    const char *mm = sp + k + 1;
    if (!(mm[0] >= '0' && mm[0] <= '9' && mm[1] >= '0' && mm[1] <= '9') || mm[2])
        return false;
    m = (mm[0] - '0') * 10 + (mm[1] - '0');
    if (h > 23 || m > 59)
        return false;
    *minute = h * 60 + m;
    return true;
}

static const char *const alerts_keys[] = {
    "for", "repeat", "grade_after", "retention", "digest", NULL,
};
static const char *const digest_keys[] = { "every", "webhooks", NULL };

void cfg_schema_alerts(struct cfg_ctx *c, json_t *obj)
{
    struct cfg_alerts *a = &c->cfg->alerts;
    cfg_check_keys(c, obj, alerts_keys);
    cfg_get_duration(c, obj, "for", false, 0, &a->for_ms);
    cfg_get_duration(c, obj, "repeat", false, 1, &a->repeat_ms);
    cfg_get_duration(c, obj, "grade_after", false, 0, &a->grade_after_ms);
    cfg_get_duration(c, obj, "retention", false, 1, &a->retention_ms);
    bool bad;
    json_t *dg = cfg_get_object(c, obj, "digest", false, &bad);
    if (!dg)
        return;
    size_t old = cfg_path_push_key(c, "digest");
    cfg_check_keys(c, dg, digest_keys);
    char *every = NULL;
    bool ok = true;
    if (cfg_get_str(c, dg, "every", true, CFG_STR_PLAIN, &every) > 0) {
        if (!parse_every(every, &a->digest_weekday, &a->digest_minute)) {
            cfg_err(c, "every", "%s is not \"WEEKDAY HH:MM\" (e.g. \"monday 09:00\")",
                    cfg_quote(c, json_string_value(json_object_get(dg, "every"))));
            ok = false;
        }
    } else {
        ok = false;
    }
    if (!json_object_get(dg, "webhooks")) {
        cfg_err(c, NULL, "missing required key \"webhooks\"");
        ok = false;
    } else if (cfg_get_str_list(c, dg, "webhooks", true, &a->digest_webhooks,
                                &a->n_digest_webhooks) < 0) {
        ok = false;
    } else if (a->n_digest_webhooks == 0) {
        cfg_err(c, "webhooks", "must name at least one webhook");
        ok = false;
    }
    a->has_digest = ok;
    cfg_path_pop(c, old);
}

static const char *const checkins_keys[] = {
    "every", "remind", "webhooks", "override_for", NULL,
};

/* checkins (DESIGN section 8): `remind` is a slot of the digest's form;
 * `webhooks` omitted means every webhook (an empty list is an error: it
 * would silence reminders that were asked for). */
void cfg_schema_checkins(struct cfg_ctx *c, json_t *obj)
{
    struct cfg_checkins *k = &c->cfg->checkins;
    cfg_check_keys(c, obj, checkins_keys);
    cfg_get_duration(c, obj, "every", false, 1, &k->every_ms);
    cfg_get_duration(c, obj, "override_for", false, 1, &k->override_for_ms);
    char *remind = NULL;
    if (cfg_get_str(c, obj, "remind", false, CFG_STR_PLAIN, &remind) > 0) {
        if (parse_every(remind, &k->remind_weekday, &k->remind_minute))
            k->has_remind = true;
        else
            cfg_err(c, "remind", "%s is not \"WEEKDAY HH:MM\" (e.g. \"monday 09:00\")",
                    cfg_quote(c, json_string_value(json_object_get(obj, "remind"))));
    }
    if (json_object_get(obj, "webhooks")) {
        if (cfg_get_str_list(c, obj, "webhooks", true, &k->webhooks, &k->n_webhooks) > 0 &&
            k->n_webhooks == 0)
            cfg_err(c, "webhooks", "must name at least one webhook (omit it for all)");
    }
}

/* ---- store ---- */

static const char *const store_keys[] = { "backend", "url", "ha", NULL };
static const char *const store_backends[] = { "sqlite", "postgresql", NULL };
static const char *const ha_keys[] = { "takeover_check", NULL };

/* A libpq URI or a "key=value ..." connection string. Only the form is
 * checked (libpq judges the rest when it connects); messages never quote
 * the value: it may hold a password. */
static bool store_url_ok(const char *s, const char **why)
{
    if (!*s) {
        *why = "must not be empty";
        return false;
    }
    if (strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0 ||
        strchr(s, '='))
        return true;
    *why = "is neither a postgresql:// URI nor a \"key=value\" connection string "
           "(the value is not shown: it may hold a password)";
    return false;
}

/* store (DESIGN section 10). The url is a secret, but unlike the others it
 * is resolved under CFG_NO_SECRETS too (read-only commands must reach a
 * PostgreSQL store: DESIGN section 1) and only with that backend: with
 * SQLite it means nothing, so a missing ${env:} there is no error. */
void cfg_schema_store(struct cfg_ctx *c, json_t *obj)
{
    struct cfg_store *st = &c->cfg->store;
    cfg_check_keys(c, obj, store_keys);
    int e;
    if (cfg_get_enum(c, obj, "backend", false, store_backends, &e) > 0)
        st->backend = (enum cfg_store_backend)e;
    if (st->backend == CFG_STORE_POSTGRESQL) {
        char *url = NULL;
        if (cfg_get_str(c, obj, "url", true, CFG_STR_PLAIN, &url) > 0) {
            const char *why = NULL;
            if (!store_url_ok(url, &why))
                cfg_err(c, "url", "%s", why);
            else
                st->url = url;
        }
    } else if (json_object_get(obj, "url")) {
        cfg_warn(c, "url", "ignored with the \"sqlite\" backend (the store is "
                 "STATE_DIR/okrd.db)");
    }
    bool bad;
    json_t *ha = cfg_get_object(c, obj, "ha", false, &bad);
    if (ha) {
        size_t old = cfg_path_push_key(c, "ha");
        cfg_check_keys(c, ha, ha_keys);
        cfg_get_duration(c, ha, "takeover_check", false, 1000, &st->takeover_check_ms);
        cfg_path_pop(c, old);
    }
}

/* ---- metrics[] ---- */

static const char *const metric_keys[] = { "id", "unit", "ratio", "scale", "stale_after", NULL };

void cfg_schema_metric(struct cfg_ctx *c, json_t *obj, struct cfg_metric *m)
{
    cfg_pos_here(c, NULL, &m->pos);
    cfg_check_keys(c, obj, metric_keys);
    cfg_get_id(c, obj, "id", true, &m->id);
    cfg_get_str(c, obj, "unit", false, CFG_STR_PLAIN, &m->unit);
    bool bad;
    json_t *r = cfg_get_array(c, obj, "ratio", false, &bad);
    if (r && json_array_size(r) != 2) {
        cfg_err(c, "ratio", "expected [numerator, denominator] (2 metric ids), got %zu "
                "element%s", json_array_size(r), json_array_size(r) == 1 ? "" : "s");
    } else if (r) {
        size_t old = cfg_path_push_key(c, "ratio");
        char *ids[2] = { NULL, NULL };
        for (size_t i = 0; i < 2; i++) {
            json_t *v = json_array_get(r, i);
            size_t o2 = cfg_path_push_index(c, i);
            char *s = NULL;
            if (cfg_str_value(c, v, NULL, CFG_STR_PLAIN, &s) > 0) {
                if (!okrd_valid_id(s, strlen(s)))
                    cfg_err(c, NULL, "%s is not a valid metric id",
                            cfg_quote(c, json_string_value(v)));
                else
                    ids[i] = s;
            }
            cfg_path_pop(c, o2);
        }
        cfg_path_pop(c, old);
        if (ids[0] && ids[1]) {
            m->ratio_num = ids[0];
            m->ratio_den = ids[1];
        }
    }
    double scale;
    if (cfg_get_number(c, obj, "scale", false, &scale) > 0) {
        if (scale == 0)
            cfg_err(c, "scale", "must not be 0");
        else
            m->scale = scale;
    }
    cfg_get_duration(c, obj, "stale_after", false, 1, &m->stale_after_ms);
}

/* ---- webhooks[] ---- */

static const char *const webhook_keys[] = {
    "id", "url", "format", "secret", "events", "objectives", "timeout", "max_age", NULL,
};
static const char *const webhook_formats[] = { "json", "slack", NULL };

void cfg_schema_webhook(struct cfg_ctx *c, json_t *obj, struct cfg_webhook *w)
{
    cfg_pos_here(c, NULL, &w->pos);
    cfg_check_keys(c, obj, webhook_keys);
    cfg_get_id(c, obj, "id", true, &w->id);
    bool resolve = !(c->flags & CFG_NO_SECRETS);
    /* The URL is a secret (Slack's URL is its key): never quote it. */
    if (cfg_get_str(c, obj, "url", true, CFG_STR_SECRET, &w->url) > 0 && resolve &&
        strncmp(w->url, "http://", 7) != 0 && strncmp(w->url, "https://", 8) != 0)
        cfg_err(c, "url", "must be an http:// or https:// URL");
    int e;
    if (cfg_get_enum(c, obj, "format", false, webhook_formats, &e) > 0)
        w->format = (enum cfg_webhook_format)e;
    char *secret = NULL;
    int rc = cfg_get_str(c, obj, "secret", false, CFG_STR_SECRET_NULL, &secret);
    if (rc > 0 && secret) {
        const char *why = NULL;
        if (!cfg_webhook_secret_ok(secret, &why))
            cfg_err(c, "secret", "%s", why);
        else
            w->secret = secret;
    } else if (rc == 0) {
        cfg_warn(c, NULL, "webhook \"%s\" has no \"secret\": deliveries will be unsigned",
                 w->id ? w->id : "?");
    }
    if (cfg_get_str_list(c, obj, "events", false, &w->events, &w->n_events) > 0) {
        if (w->n_events == 0)
            cfg_err(c, "events", "empty list: omit \"events\" to receive every event");
        size_t old = cfg_path_push_key(c, "events");
        for (size_t i = 0; i < w->n_events; i++) {
            bool known = !w->events[i];
            for (size_t k = 0; k < cfg_n_event_types; k++)
                known = known || strcmp(w->events[i], cfg_event_types[k]) == 0;
            if (known)
                continue;
            size_t o2 = cfg_path_push_index(c, i);
            const char *hint = NULL;
            size_t best = (size_t)-1;
            for (size_t k = 0; k < cfg_n_event_types; k++) {
                size_t d = cfg_edit_distance(w->events[i], cfg_event_types[k]);
                if (d < best && d <= 3) {
                    best = d;
                    hint = cfg_event_types[k];
                }
            }
            if (hint)
                cfg_err(c, NULL, "unknown event type %s \xe2\x80\x94 did you mean \"%s\"?",
                        cfg_quote(c, w->events[i]), hint);
            else
                cfg_err(c, NULL, "unknown event type %s (known: kr.at_risk, kr.off_track, "
                        "kr.back_on_track, kr.achieved, kr.missed, kr.stale, kr.fresh, "
                        "source.failing, source.recovered, digest.weekly, kr.check_in, "
                        "checkin.due)",
                        cfg_quote(c, w->events[i]));
            cfg_path_pop(c, o2);
        }
        cfg_path_pop(c, old);
    }
    if (cfg_get_str_list(c, obj, "objectives", true, &w->objectives, &w->n_objectives) > 0 &&
        w->n_objectives == 0)
        cfg_err(c, "objectives", "empty list: omit \"objectives\" to receive all of them");
    cfg_get_duration(c, obj, "timeout", false, 1, &w->timeout_ms);
    cfg_get_duration(c, obj, "max_age", false, 1, &w->max_age_ms);
}
