/*
 * alerts_payload.c — the `format: "json"` bodies of key-result and source
 * events (DESIGN section 5, docs/webhooks.md) and their summary sentences.
 *
 * A body is built once, when its event is raised, from the numbers of that
 * evaluation, and stored verbatim in the outbox: every retry sends the same
 * bytes. The key_result object comes from okr/okr_view.c (the one builder
 * for status --json, the API and webhooks) minus its "score", which the
 * webhook schema does not carry.
 */
#include "alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

void alerts_fmt_num(char *buf, size_t size, double v)
{
    if (isnan(v) || isinf(v)) {
        snprintf(buf, size, "n/a");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, size, "%.0f", v);
        return;
    }
    snprintf(buf, size, "%.2f", v);
    /* 4.60 -> 4.6, 4.00 (a rounding of 3.999) -> 4 */
    char *dot = strchr(buf, '.');
    if (dot) {
        char *e = buf + strlen(buf);
        while (e > dot + 1 && e[-1] == '0')
            *--e = '\0';
        if (e == dot + 1)
            *dot = '\0';
    }
    if (!strcmp(buf, "-0"))
        snprintf(buf, size, "0");
}

static void fmt_pct(char *buf, size_t size, double v)
{
    if (isnan(v))
        snprintf(buf, size, "n/a");
    else
        snprintf(buf, size, "%.0f%%", v * 100 + 0.0); /* +0.0: no "-0%" */
    if (!strcmp(buf, "-0%"))
        snprintf(buf, size, "0%%");
}

static const char *status_words(enum okr_status s)
{
    switch (s) {
    case OKR_ON_TRACK: return "on track";
    case OKR_AT_RISK: return "at risk";
    case OKR_OFF_TRACK: return "off track";
    case OKR_ACHIEVED: return "achieved";
    case OKR_MISSED: return "missed";
    case OKR_PENDING: return "pending";
    case OKR_NO_DATA: return "without data";
    case OKR_INVALID: return "invalid";
    }
    return "unknown";
}

static bool is_level(const struct cfg_key_result *kr)
{
    return kr->direction == CFG_DIR_AT_LEAST || kr->direction == CFG_DIR_AT_MOST;
}

/* "20% done with 55% of the cycle gone; at this pace it ends at 36% of target" */
static void pace_clause(char *buf, size_t size, const struct cfg_key_result *kr,
                        const struct okr_result *r)
{
    char v[32], t[32], p[16], x[16], ps[16];
    if (is_level(kr)) {
        alerts_fmt_num(v, sizeof v, r->value);
        alerts_fmt_num(t, sizeof t, r->target);
        fmt_pct(ps, sizeof ps, r->projected_score);
        int w = snprintf(buf, size, "the value is %s against a target of %s %s", v,
                         kr->direction == CFG_DIR_AT_LEAST ? "at least" : "at most", t);
        if (!isnan(r->projected_score) && w > 0 && (size_t)w < size)
            snprintf(buf + w, size - (size_t)w, "; the target was met on %s of days so far", ps);
        return;
    }
    if (isnan(r->progress)) {
        alerts_fmt_num(v, sizeof v, r->value);
        snprintf(buf, size, "the value is %s", v);
        return;
    }
    fmt_pct(p, sizeof p, r->progress);
    fmt_pct(x, sizeof x, r->expected);
    fmt_pct(ps, sizeof ps, r->projected_score);
    int w = snprintf(buf, size, "%s done with %s of the cycle gone", p, x);
    if (!isnan(r->projected_score) && w > 0 && (size_t)w < size)
        snprintf(buf + w, size - (size_t)w, "; at this pace it ends at %s of target", ps);
}

void alerts_kr_summary(char *buf, size_t size, enum alerts_event type,
                       const struct cfg_key_result *kr, const struct okr_result *r)
{
    char clause[256], v[32], t[32], g[16], p[16], when[32];
    alerts_fmt_num(v, sizeof v, r->value);
    alerts_fmt_num(t, sizeof t, r->target);
    snprintf(g, sizeof g, "%.2f", isnan(r->score) ? 0.0 : r->score);
    switch (type) {
    case ALERTS_KR_AT_RISK:
    case ALERTS_KR_OFF_TRACK:
    case ALERTS_KR_BACK_ON_TRACK:
        pace_clause(clause, sizeof clause, kr, r);
        snprintf(buf, size, "%s is %s%s: %s.", kr->title,
                 type == ALERTS_KR_BACK_ON_TRACK ? "back " : "",
                 type == ALERTS_KR_BACK_ON_TRACK ? "on track" : status_words(r->status), clause);
        return;
    case ALERTS_KR_ACHIEVED:
    case ALERTS_KR_MISSED: {
        const char *verb = type == ALERTS_KR_ACHIEVED ? "achieved" : "missed";
        if (r->final && is_level(kr)) {
            fmt_pct(p, sizeof p, r->score);
            snprintf(buf, size, "%s ended %s: the target of %s %s was met on %s of days; final grade %s.",
                     kr->title, verb, kr->direction == CFG_DIR_AT_LEAST ? "at least" : "at most",
                     t, p, g);
        } else if (r->final) {
            snprintf(buf, size, "%s ended %s: final grade %s (value %s, target %s).", kr->title,
                     verb, g, v, t);
        } else {
            fmt_pct(p, sizeof p, r->progress);
            snprintf(buf, size, "%s is achieved: %s reached the target of %s (%s done).", kr->title,
                     v, t, p);
        }
        return;
    }
    case ALERTS_KR_STALE:
    case ALERTS_KR_FRESH:
        if (r->last_point_at == OKR_NO_TS)
            snprintf(when, sizeof when, "never");
        else
            okrd_format_utc(r->last_point_at, when, sizeof when);
        snprintf(buf, size, "%s %s: the newest point of %s is from %s.", kr->title,
                 type == ALERTS_KR_STALE ? "has stale data" : "has fresh data again", kr->metric,
                 when);
        return;
    default:
        snprintf(buf, size, "%s is %s.", kr->title, status_words(r->status));
        return;
    }
}

/* Drops a multi-byte character cut in half by a truncating snprintf, so the
 * text stays valid UTF-8 (jansson refuses anything else). */
static void utf8_trim(char *buf)
{
    size_t n = strlen(buf), i = n;
    while (i > 0 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)buf[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (i - 1) < need)
        buf[i - 1] = '\0';
}

static char *dump(json_t *doc)
{
    if (!doc)
        return NULL;
    char *text = okr_view_dump(doc, false);
    json_decref(doc);
    return text;
}

static json_t *time_json(int64_t ts)
{
    char buf[32];
    okrd_format_utc(ts, buf, sizeof buf);
    return json_string(buf);
}

/* KR I of S alone, as a one-key-result snapshot into the caller's arrays,
 * with previous_status PREVIOUS: okr_view then builds exactly the object
 * status --json shows for it. */
struct one_kr {
    const struct cfg_key_result *krs[1];
    bool stale[1];
    const char *prev[1];
    struct eval_snapshot s;
};

static void one_of(struct one_kr *o, const struct eval_snapshot *s, size_t i,
                   enum okr_status previous)
{
    o->krs[0] = s->krs[i];
    o->stale[0] = s->stale[i];
    o->prev[0] = previous == ALERTS_NO_STATUS ? NULL : okr_status_name(previous);
    o->s = (struct eval_snapshot){
        .cfg = s->cfg, .at_s = s->at_s, .n_krs = 1, .krs = o->krs, .results = &s->results[i],
        .stale = o->stale, .previous_status = o->prev,
        .computed = s->computed ? &s->computed[i] : NULL,
        .checkins = s->checkins ? &s->checkins[i] : NULL,
        .has_checkin = s->has_checkin ? &s->has_checkin[i] : NULL,
        .override_until = s->override_until ? &s->override_until[i] : NULL,
    };
}

/* The key_result object of a webhook body: the view's, minus "score",
 * which the webhook schema does not carry. */
static json_t *body_kr(const struct eval_snapshot *s, size_t i, enum okr_status previous)
{
    struct one_kr one;
    one_of(&one, s, i, previous);
    json_t *k = okr_view_key_result(&one.s, 0);
    if (k)
        json_object_del(k, "score");
    return k;
}

char *alerts_kr_body_of(const char *id, enum alerts_event type, int64_t occurred_s,
                        const struct eval_snapshot *s, size_t i, enum okr_status previous)
{
    const struct cfg_key_result *kr = s->krs[i];
    json_t *k = body_kr(s, i, previous);
    if (!k)
        return NULL;
    char summary[640];
    alerts_kr_summary(summary, sizeof summary, type, kr, &s->results[i]);
    utf8_trim(summary);
    return dump(json_pack("{s:s, s:s, s:o, s:{s:s, s:s}, s:o, s:s}", "id", id, "type",
                          alerts_event_name(type), "occurred_at", time_json(occurred_s),
                          "objective", "id", kr->objective->id, "title", kr->objective->title,
                          "key_result", k, "summary", summary));
}

char *alerts_kr_body(const char *id, enum alerts_event type, int64_t occurred_s,
                     const struct cfg_key_result *kr, const struct okr_result *r, bool stale,
                     enum okr_status previous)
{
    /* Without a snapshot: no check-in, computed status = status. */
    const struct cfg_key_result *krs[1] = { kr };
    bool stale_arr[1] = { stale };
    struct eval_snapshot one = {
        .at_s = occurred_s, .n_krs = 1, .krs = krs, .results = (struct okr_result *)r,
        .stale = stale_arr,
    };
    return alerts_kr_body_of(id, type, occurred_s, &one, 0, previous);
}

void alerts_checkin_summary(char *buf, size_t size, const struct cfg_key_result *kr,
                            const struct okrd_checkin *c)
{
    char conf[32] = "", st[96] = "", val[48] = "", grade[32] = "";
    if (c->confidence != OKRD_CHECKIN_NO_CONFIDENCE)
        snprintf(conf, sizeof conf, "confidence %d/10", c->confidence);
    if (c->status[0]) {
        enum okr_status os = OKR_ON_TRACK;
        okr_status_parse(c->status, &os);
        char until[32] = "";
        if (c->until_s)
            okrd_format_utc(c->until_s, until, sizeof until);
        snprintf(st, sizeof st, "%s%s%s", status_words(os), until[0] ? " until " : "", until);
    }
    if (!isnan(c->value)) {
        char v[32];
        alerts_fmt_num(v, sizeof v, c->value);
        snprintf(val, sizeof val, "value %s", v);
    }
    if (!isnan(c->grade))
        snprintf(grade, sizeof grade, "grade %.2f", c->grade);
    const char *parts[] = { conf, st, val, grade };
    char facts[256] = "";
    size_t w = 0;
    for (size_t k = 0; k < sizeof parts / sizeof *parts; k++) {
        if (!parts[k][0] || w >= sizeof facts)
            continue;
        int n = snprintf(facts + w, sizeof facts - w, "%s%s", w ? ", " : "", parts[k]);
        if (n > 0)
            w += (size_t)n;
    }
    if (facts[0])
        snprintf(buf, size, "%s checked in on %s: %s.", c->author, kr->title, facts);
    else
        snprintf(buf, size, "%s checked in on %s with a comment.", c->author, kr->title);
}

char *alerts_checkin_body(const char *id, int64_t occurred_s, const struct eval_snapshot *s,
                          size_t i, const struct okrd_checkin *c)
{
    const struct cfg_key_result *kr = s->krs[i];
    const char *prev = s->previous_status ? s->previous_status[i] : NULL;
    enum okr_status previous = ALERTS_NO_STATUS;
    if (prev)
        okr_status_parse(prev, &previous);
    json_t *k = body_kr(s, i, previous);
    if (!k)
        return NULL;
    /* override_until as of this evaluation: only the latest check-in's
     * override can hold (a later one ends an earlier one's). */
    int64_t until = OKR_NO_TS;
    if (s->has_checkin && s->has_checkin[i] && s->override_until &&
        !strcmp(s->checkins[i].id, c->id))
        until = s->override_until[i];
    json_t *ci = okr_view_checkin(c, true, until);
    if (!ci) {
        json_decref(k);
        return NULL;
    }
    char summary[640];
    alerts_checkin_summary(summary, sizeof summary, kr, c);
    utf8_trim(summary);
    return dump(json_pack("{s:s, s:s, s:o, s:{s:s, s:s}, s:o, s:o, s:s}", "id", id, "type",
                          alerts_event_name(ALERTS_KR_CHECK_IN), "occurred_at",
                          time_json(occurred_s), "objective", "id", kr->objective->id, "title",
                          kr->objective->title, "check_in", ci, "key_result", k, "summary",
                          summary));
}

char *alerts_source_body(const char *id, enum alerts_event type, int64_t occurred_s,
                         const char *source_id, const char *source_type,
                         const struct store_source_health *h)
{
    char summary[512];
    if (type == ALERTS_SOURCE_FAILING)
        snprintf(summary, sizeof summary,
                 "Source %s is failing: %d consecutive failures; last error: %s.", source_id,
                 h->consecutive_failures, h->last_error[0] ? h->last_error : "unknown");
    else
        snprintf(summary, sizeof summary, "Source %s recovered: its last poll succeeded.",
                 source_id);
    utf8_trim(summary);
    json_t *err_text = h->last_error[0] ? json_string(h->last_error) : json_null();
    if (!err_text) /* not UTF-8: say so rather than lose the event */
        err_text = json_string("(not valid UTF-8)");
    json_t *src = json_pack("{s:s, s:s, s:i, s:o, s:o, s:o}", "id", source_id, "type",
                            source_type, "consecutive_failures", h->consecutive_failures,
                            "last_success_at",
                            h->last_success_s ? time_json(h->last_success_s) : json_null(),
                            "last_error_at",
                            h->last_error_s ? time_json(h->last_error_s) : json_null(),
                            "last_error", err_text);
    return dump(json_pack("{s:s, s:s, s:o, s:o, s:s}", "id", id, "type", alerts_event_name(type),
                          "occurred_at", time_json(occurred_s), "source", src, "summary",
                          summary));
}
