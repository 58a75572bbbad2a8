/*
 * api_checkin_rules.c — the pure half of POST /api/v1/key-results/{id}/
 * check-ins (DESIGN section 8), apart from the endpoint (api_checkins.c)
 * so that tests/unit/test_api_checkin.c checks every rule by table:
 *   api_checkin_parse: the body's shape — known fields only, types and
 *     ranges, `until` resolved to an instant, at least one of the five
 *     fields; 400 naming the offending key as written;
 *   api_checkin_decide: the rules that need the latest stored check-in and
 *     the commit's time — seq, at, 409s, `until` inside (at, e], the
 *     default `until`, 404 for a `cycle` that is not the current one.
 * No I/O, no clock: the endpoint hands in the time and the latest check-in.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "common/parse.h"
#include "common/tz.h"

/* ---- errors ---- */

static unsigned refuse(struct api_checkin_error *e, unsigned status, const char *code,
                       const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static unsigned refuse(struct api_checkin_error *e, unsigned status, const char *code,
                       const char *field, const char *fmt, ...)
{
    api_checkin_error_free(e);
    e->status = status;
    snprintf(e->error, sizeof e->error, "%s", code);
    e->field = field ? strdup(field) : NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
    return status;
}

#define BAD(e, field, ...) refuse((e), 400, "bad_request", (field), __VA_ARGS__)

void api_checkin_error_free(struct api_checkin_error *e)
{
    free(e->field);
    e->field = NULL;
}

char *api_checkin_error_body(const struct api_checkin_error *e)
{
    json_t *doc = json_pack("{s:s, s:s}", "error", e->error, "detail", e->detail);
    if (doc && e->status == 400)
        json_object_set_new(doc, "field", e->field ? json_string(e->field) : json_null());
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    char *t = text ? realloc(text, strlen(text) + 2) : NULL;
    if (!t) {
        free(text);
        return NULL;
    }
    strcat(t, "\n");
    return t;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* ---- 1. the body (pure) ---- */

static const char *const fields[] = {
    "confidence", "comment", "status", "until", "value", "grade", "cycle", NULL,
};

/* Invalid UTF-8 is marked with a noncharacter nobody types (U+FDD0, then
 * U+FDD1), so jansson, which refuses invalid UTF-8 anywhere, still parses
 * the body and the error can name the field that holds the bad bytes. A
 * person may still type (or \u-escape) a mark: that is why the body is
 * parsed with both, and the field is the one whose value they change. */
#define MARK "\xEF\xB7\x90"
#define MARK2 "\xEF\xB7\x91"

/* A copy of BODY with each invalid UTF-8 byte replaced by MARK (3 bytes);
 * *first the offset of the first one. NULL (and *first = -1) when BODY is
 * valid. */
static char *mark_invalid_utf8(const char *body, size_t n, const char *mark, size_t *out_n,
                               long *first)
{
    *first = -1;
    size_t i = 0;
    for (; i < n; ) {
        size_t l = okrd_utf8_len(body + i, n - i);
        if (!l)
            break;
        i += l;
    }
    if (i == n)
        return NULL;
    *first = (long)i;
    char *c = malloc(n * 3 + 1);
    if (!c)
        return NULL;
    size_t o = 0;
    for (i = 0; i < n; ) {
        size_t l = okrd_utf8_len(body + i, n - i);
        if (l) {
            memcpy(c + o, body + i, l);
            o += l;
            i += l;
        } else {
            memcpy(c + o, mark, 3);
            o += 3;
            i++;
        }
    }
    c[o] = '\0';
    *out_n = o;
    return c;
}

/* "YYYY-MM-DD" exactly (a valid day); *days since 1970-01-01. */
static bool is_date(const char *s, size_t n, int64_t *days)
{
    int64_t y;
    int m, d;
    if (n != 10 || okrd_parse_date(s, n, &y, &m, &d, NULL) < 0)
        return false;
    *days = okrd_days_from_civil(y, m, d);
    return true;
}

/* `until`: a date (the midnight ENDING that day in TZ, so the cycle's last
 * day gives exactly its end) or an ISO 8601 date-time (without a zone, in
 * TZ). */
static unsigned parse_until(const json_t *v, const struct okrd_tz *tz, int64_t *out,
                            struct api_checkin_error *e)
{
    if (!json_is_string(v))
        return BAD(e, "until", "\"until\" is %s; expected a date (\"2026-12-15\") or a "
                   "date-time (\"2026-12-15T17:00:00Z\")", type_name(v));
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    char q[OKRD_QUOTE_MAX];
    okrd_quote(s, n, q, sizeof q);
    int64_t days;
    if (is_date(s, n, &days)) {
        *out = okrd_tz_local_to_utc(tz, (days + 1) * 86400);
        return 0;
    }
    struct okrd_err err = { 0 };
    if (n > 10 && is_date(s, 10, &days) && (s[10] == 'T' || s[10] == 't' || s[10] == ' ') &&
        okrd_parse_timestamp(s, n, tz, OKRD_TS_AUTO, out, &err) == 0)
        return 0;
    return BAD(e, "until", "\"until\" %s is not a date (\"2026-12-15\") or a date-time "
               "(\"2026-12-15T17:00:00Z\")%s%s", q, err.msg[0] ? ": " : "", err.msg);
}

/* "YYYY-MM-DD" of a year 0..9999 into out[11]. */
static void format_day(char out[11], int y, int m, int d)
{
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000, (unsigned)m % 100, (unsigned)d % 100);
}

/* "2026-Q3" or {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}. */
static unsigned parse_cycle(const json_t *v, struct api_checkin_body *b,
                            struct api_checkin_error *e)
{
    static const char want[] = "expected a quarter (\"2026-Q3\") or {\"start\": \"YYYY-MM-DD\", "
                               "\"end\": \"YYYY-MM-DD\"}";
    b->has_cycle = true;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char q[OKRD_QUOTE_MAX];
        okrd_quote(s, json_string_length(v), q, sizeof q);
        if (json_string_length(v) != 7 || s[4] != '-' || (s[5] != 'Q' && s[5] != 'q') ||
            s[6] < '1' || s[6] > '4' || strspn(s, "0123456789") != 4)
            return BAD(e, "cycle", "\"cycle\" %s is not a quarter: %s", q, want);
        int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        int qn = s[6] - '0', m0 = (qn - 1) * 3 + 1, m1 = m0 + 2;
        format_day(b->cycle_start, y, m0, 1);
        format_day(b->cycle_end, y, m1, okrd_days_in_month(y, m1));
        snprintf(b->cycle_text, sizeof b->cycle_text, "%.4s-Q%d", s, qn);
        return 0;
    }
    if (!json_is_object(v))
        return BAD(e, "cycle", "\"cycle\" is %s; %s", type_name(v), want);
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x)
        if (strcmp(k, "start") && strcmp(k, "end")) {
            char q[OKRD_QUOTE_MAX];
            okrd_quote(k, strlen(k), q, sizeof q);
            return BAD(e, "cycle", "\"cycle\" has an unknown key %s; %s", q, want);
        }
    const json_t *st = json_object_get(v, "start"), *en = json_object_get(v, "end");
    int64_t ds, de;
    if (!st || !en)
        return BAD(e, "cycle", "\"cycle\" lacks \"%s\"; %s", !st ? "start" : "end", want);
    if (!json_is_string(st) || !is_date(json_string_value(st), json_string_length(st), &ds))
        return BAD(e, "cycle", "\"cycle\".start is not a date (YYYY-MM-DD)");
    if (!json_is_string(en) || !is_date(json_string_value(en), json_string_length(en), &de))
        return BAD(e, "cycle", "\"cycle\".end is not a date (YYYY-MM-DD)");
    if (de < ds)
        return BAD(e, "cycle", "\"cycle\" ends (%s) before it starts (%s)",
                   json_string_value(en), json_string_value(st));
    snprintf(b->cycle_start, sizeof b->cycle_start, "%s", json_string_value(st));
    snprintf(b->cycle_end, sizeof b->cycle_end, "%s", json_string_value(en));
    snprintf(b->cycle_text, sizeof b->cycle_text, "%s..%s", b->cycle_start, b->cycle_end);
    return 0;
}

/* ---- errors of one field that jansson reports as the body's ---- */

/* The top-level key (decoded, malloc'd) of the member of the object BODY
 * that byte POS is in, *nested whether POS is deeper than its key; NULL
 * when POS is in no member of a top-level object. A plain scan of strings
 * and brackets: the caller has checked that BODY is JSON but for one
 * duplicate key or one number out of range. */
static char *member_at(const char *body, size_t n, size_t pos, bool *nested)
{
    size_t i = 0, ks = 0, ke = 0;
    int depth = 0;
    bool want_key = false, have = false;
    *nested = false;
    while (i < n && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r'))
        i++;
    if (i >= n || body[i] != '{')
        return NULL;
    for (; i < n && i < pos; i++) {
        char ch = body[i];
        if (ch == '"') {
            size_t s = i++;
            while (i < n && body[i] != '"')
                i += body[i] == '\\' ? 2 : 1;
            if (depth == 1 && want_key) {
                ks = s;
                ke = i + 1;
                have = true;
                want_key = false;
                *nested = false;
            }
            continue;
        }
        if (ch == '{' || ch == '[') {
            if (++depth > 1)
                *nested = true;
            want_key = depth == 1;
        } else if (ch == '}' || ch == ']') {
            depth--;
        } else if (ch == ',' && depth == 1) {
            want_key = true;
        }
    }
    if (!have || depth < 1 || ke > n)
        return NULL;
    json_t *k = json_loadb(body + ks, ke - ks, JSON_DECODE_ANY, NULL);
    char *out = json_is_string(k) ? strdup(json_string_value(k)) : NULL;
    json_decref(k);
    return out;
}

static bool number_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* jansson refuses a duplicate key and a number no double holds as if the
 * body were not JSON, yet both are valid JSON syntax with an offending
 * key: name it (DESIGN section 8: `field` is the key as written, null only
 * for an error of the whole body). 0 when the failure is the body's
 * after all (a syntax error anywhere, also after the first such error). */
static unsigned field_error(const char *body, size_t n, const json_error_t *jerr,
                            struct api_checkin_error *e)
{
    enum json_error_code code = json_error_code(jerr);
    if (code != json_error_duplicate_key && code != json_error_numeric_overflow)
        return 0;
    size_t pos = (size_t)jerr->position;
    if (pos > n)
        return 0;
    /* Syntax is checked on a copy where every number out of range is 0
     * (padded with spaces) and duplicates are let through. */
    char *copy = malloc(n + 1);
    if (!copy)
        return 0;
    memcpy(copy, body, n);
    copy[n] = '\0';
    json_error_t j2 = *jerr;
    bool syntax_ok = false;
    for (int guard = 0; guard < 1000; guard++) {
        if (json_error_code(&j2) == json_error_numeric_overflow) {
            size_t end = (size_t)j2.position, s = end;
            while (s > 0 && number_char(copy[s - 1]))
                s--;
            if (s == end)
                break;
            copy[s] = '0';
            memset(copy + s + 1, ' ', end - s - 1);
        } else if (json_error_code(&j2) != json_error_duplicate_key) {
            break;
        }
        json_t *doc = json_loadb(copy, n, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL |
                                 JSON_DECODE_ANY, &j2);
        if (doc) {
            syntax_ok = json_is_object(doc);
            json_decref(doc);
            break;
        }
    }
    free(copy);
    bool nested = false;
    char *key = syntax_ok ? member_at(body, n, pos, &nested) : NULL;
    if (!key)
        return 0;
    char q[OKRD_QUOTE_MAX];
    okrd_quote(key, strlen(key), q, sizeof q);
    unsigned st;
    if (code == json_error_duplicate_key)
        st = nested ? BAD(e, key, "%s holds a key twice (%s)", q, jerr->text)
                    : BAD(e, key, "%s is given twice: a check-in has each field once", q);
    else
        st = BAD(e, key, "%s holds a number too large for a double (%s)", q, jerr->text);
    free(key);
    return st;
}

static unsigned parse_fields(const json_t *doc, const struct okrd_tz *tz, bool ratio_metric,
                             struct api_checkin_body *b, struct api_checkin_error *e)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v) {
        bool known = false;
        for (size_t i = 0; fields[i] && !known; i++)
            known = !strcmp(key, fields[i]);
        if (!known) {
            char q[OKRD_QUOTE_MAX];
            okrd_quote(key, strlen(key), q, sizeof q);
            return BAD(e, key, "unknown field %s%s (a check-in takes confidence, comment, "
                       "status, until, value, grade and cycle)", q,
                       !strcmp(key, "author") ? ": the author is the token's name" : "");
        }
    }
    if ((v = json_object_get(doc, "confidence"))) {
        double c = json_number_value(v);
        if (!json_is_number(v))
            return BAD(e, "confidence", "\"confidence\" is %s; expected an integer from 0 to 10",
                       type_name(v));
        if (c != floor(c) || c < 0 || c > 10)
            return BAD(e, "confidence", "\"confidence\" %g is not an integer from 0 to 10", c);
        b->confidence = (int)c;
    }
    if ((v = json_object_get(doc, "comment"))) {
        if (!json_is_string(v))
            return BAD(e, "comment", "\"comment\" is %s; expected a string", type_name(v));
        size_t n = json_string_length(v);
        if (memchr(json_string_value(v), '\0', n))
            return BAD(e, "comment", "\"comment\" contains a NUL character (\\u0000)");
        if (n > OKRD_CHECKIN_COMMENT_MAX)
            return BAD(e, "comment", "\"comment\" is %zu bytes of UTF-8; at most %d are kept",
                       n, OKRD_CHECKIN_COMMENT_MAX);
        if (!(b->comment = strdup(json_string_value(v))))
            return refuse(e, 503, "out_of_memory", NULL, "no memory for the comment");
    }
    if ((v = json_object_get(doc, "status"))) {
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (!s)
            return BAD(e, "status", "\"status\" is %s; expected \"on_track\", \"at_risk\" or "
                       "\"off_track\"", type_name(v));
        if (strcmp(s, "on_track") && strcmp(s, "at_risk") && strcmp(s, "off_track")) {
            char q[OKRD_QUOTE_MAX];
            okrd_quote(s, json_string_length(v), q, sizeof q);
            return BAD(e, "status", "\"status\" %s is no override: expected \"on_track\", "
                       "\"at_risk\" or \"off_track\"", q);
        }
        snprintf(b->status, sizeof b->status, "%s", s);
    }
    if ((v = json_object_get(doc, "until"))) {
        if (!b->status[0])
            return BAD(e, "until", "\"until\" ends a status override: it needs \"status\"");
        unsigned st = parse_until(v, tz, &b->until_s, e);
        if (st)
            return st;
        b->has_until = true;
    }
    if ((v = json_object_get(doc, "value"))) {
        if (!json_is_number(v))
            return BAD(e, "value", "\"value\" is %s; expected a number", type_name(v));
        if (ratio_metric)
            return BAD(e, "value", "the key result's metric is a ratio of two metrics: a "
                       "check-in cannot set its value (push its numerator and denominator)");
        b->value = json_number_value(v);
    }
    if ((v = json_object_get(doc, "grade"))) {
        if (!json_is_number(v))
            return BAD(e, "grade", "\"grade\" is %s; expected a number from 0.0 to 1.0",
                       type_name(v));
        double g = json_number_value(v);
        if (!(g >= 0 && g <= 1))
            return BAD(e, "grade", "\"grade\" %g is outside 0.0 to 1.0", g);
        b->grade = g;
    }
    if ((v = json_object_get(doc, "cycle"))) {
        if (isnan(b->grade))
            return BAD(e, "cycle", "\"cycle\" names the cycle a grade is for: it needs \"grade\"");
        unsigned st = parse_cycle(v, b, e);
        if (st)
            return st;
    }
    if (b->confidence == OKRD_CHECKIN_NO_CONFIDENCE && !b->comment && !b->status[0] &&
        isnan(b->value) && isnan(b->grade))
        return BAD(e, NULL, "a check-in needs at least one of confidence, comment, status, "
                   "value and grade");
    return 0;
}

unsigned api_checkin_parse(const char *body, size_t n, const struct okrd_tz *tz, bool ratio_metric,
                           struct api_checkin_body *out, struct api_checkin_error *e)
{
    memset(out, 0, sizeof *out);
    out->confidence = OKRD_CHECKIN_NO_CONFIDENCE;
    out->value = out->grade = NAN;
    size_t mn = 0;
    long bad_at;
    char *marked = mark_invalid_utf8(body, n, MARK, &mn, &bad_at);
    if (bad_at >= 0 && !marked)
        return refuse(e, 503, "out_of_memory", NULL, "no memory for the body");
    const size_t flags = JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL |
                         JSON_DECODE_ANY;
    json_error_t jerr;
    json_t *doc = json_loadb(marked ? marked : body, marked ? mn : n, flags, &jerr);
    free(marked);
    unsigned st = 0;
    if (!doc && bad_at >= 0)
        st = BAD(e, NULL, "the body is not valid UTF-8 (byte %ld)", bad_at);
    else if (!doc) {
        if (!(st = field_error(body, n, &jerr, e)))
            st = BAD(e, NULL, "the body is not JSON: line %d column %d: %s", jerr.line,
                     jerr.column, jerr.text);
    } else if (!json_is_object(doc))
        st = BAD(e, NULL, "the body is %s; expected an object such as {\"confidence\": 6, "
                 "\"comment\": \"...\"}", type_name(doc));
    else if (bad_at >= 0) {
        /* Which field holds the bad bytes? The first (in the body's order)
         * that the other mark changes; one whose key holds them cannot be
         * named as written, so the error is the whole body's. */
        const char *key;
        json_t *v;
        size_t mn2 = 0;
        long bad2;
        char *other = mark_invalid_utf8(body, n, MARK2, &mn2, &bad2);
        json_t *doc2 = other ? json_loadb(other, mn2, flags, NULL) : NULL;
        free(other);
        st = BAD(e, NULL, "the body is not valid UTF-8 (byte %ld)", bad_at);
        json_object_foreach(doc, key, v) {
            json_t *v2 = doc2 ? json_object_get(doc2, key) : NULL;
            if (v2 && json_equal(v, v2))
                continue;
            if (v2)
                st = BAD(e, key, "\"%s\" is not valid UTF-8 (byte %ld of the body)", key, bad_at);
            break;
        }
        json_decref(doc2);
    } else
        st = parse_fields(doc, tz, ratio_metric, out, e);
    json_decref(doc);
    if (st)
        api_checkin_body_free(out);
    return st;
}

void api_checkin_body_free(struct api_checkin_body *b)
{
    free(b->comment);
    b->comment = NULL;
}

/* ---- 2. the rules at commit time (pure) ---- */

unsigned api_checkin_decide(const struct api_checkin_body *b, const char *kr_id,
                            const struct cfg_cycle *cy, int64_t override_for_ms, int64_t now_s,
                            const struct okrd_checkin *latest, struct okrd_checkin *out,
                            struct api_checkin_error *e)
{
    char end[32];
    okrd_format_utc(cy->end_s, end, sizeof end);
    if (b->has_cycle && (strcmp(b->cycle_start, cy->start_date) || strcmp(b->cycle_end, cy->end_date)))
        return refuse(e, 404, "not_found", NULL, "key result \"%s\" has no archived cycle %s "
                      "(its cycle is %s..%s; grading an older cycle needs its archive)", kr_id,
                      b->cycle_text, cy->start_date, cy->end_date);
    int64_t at = now_s;
    if (latest && latest->at_s > at)
        at = latest->at_s; /* a clock stepped back: at never goes back */
    if ((b->status[0] || !isnan(b->value)) && at >= cy->end_s)
        return refuse(e, 409, "cycle_ended", NULL, "the cycle of key result \"%s\" ended at %s "
                      "(%s was its last day): a %s is no longer accepted; give a grade instead",
                      kr_id, end, cy->end_date, b->status[0] ? "status" : "value");
    if (!isnan(b->grade) && at < cy->end_s)
        return refuse(e, 409, "cycle_not_ended", NULL, "the cycle of key result \"%s\" ends at "
                      "%s: a grade is for a cycle that has ended", kr_id, end);
    int64_t until = 0;
    if (b->status[0]) {
        if (b->has_until) {
            char u[32], a[32];
            okrd_format_utc(b->until_s, u, sizeof u);
            okrd_format_utc(at, a, sizeof a);
            if (b->until_s <= at)
                return BAD(e, "until", "\"until\" (%s) is not after the check-in's time %s", u, a);
            if (b->until_s > cy->end_s)
                return BAD(e, "until", "\"until\" (%s) is after the cycle's end %s (%s is its "
                           "last day)", u, end, cy->end_date);
            until = b->until_s;
        } else {
            int64_t span = override_for_ms / 1000;
            until = at > cy->end_s - span ? cy->end_s : at + span;
        }
    }
    okrd_checkin_clear(out);
    snprintf(out->key_result, sizeof out->key_result, "%s", kr_id);
    snprintf(out->cycle_start, sizeof out->cycle_start, "%s", cy->start_date);
    out->seq = latest ? latest->seq + 1 : 1;
    out->at_s = at;
    out->confidence = b->confidence;
    snprintf(out->status, sizeof out->status, "%s", b->status);
    out->until_s = until;
    out->value = b->value;
    out->grade = b->grade;
    if (b->comment && !(out->comment = strdup(b->comment)))
        return refuse(e, 503, "out_of_memory", NULL, "no memory for the comment");
    return 0;
}

