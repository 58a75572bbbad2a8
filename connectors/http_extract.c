/*
 * http_extract.c — see http_extract.h. Numbers may arrive as JSON numbers
 * or as strings (GA4 sends every metric as a string); timestamps as ISO
 * strings, YYYYMMDD, Unix seconds or milliseconds (Datadog), or as an
 * object's keys (Mixpanel). Parsing is the shared common/ parsers', so a
 * date means the same instant here as in a CSV file.
 */
#include "http_extract.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "json_pointer.h"

void http_points_free(struct http_points *p)
{
    free(p->v);
    memset(p, 0, sizeof *p);
}

int http_points_add(struct http_points *p, const char *metric, int64_t ts, double value)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct store_point_in *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return OKRD_ENOMEM;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = (struct store_point_in){ metric, ts, value };
    return 0;
}

int http_json_number(const json_t *v, double *out, bool *is_null, struct okrd_err *err)
{
    *is_null = false;
    if (json_is_null(v)) {
        *is_null = true;
        return 0;
    }
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (!isfinite(d)) /* jansson never produces one; be sure */
            return okrd_err_set(err, OKRD_EINVAL, "the number is not finite");
        *out = d;
        return 0;
    }
    if (json_is_string(v)) {
        int rc = okrd_parse_number(json_string_value(v), json_string_length(v), NULL, out, err);
        if (rc < 0)
            okrd_err_prefix(err, "not a number");
        return rc;
    }
    return okrd_err_set(err, OKRD_EINVAL, "%s%s, not a number or numeric string",
                        json_is_object(v) || json_is_array(v) ? "an " : "",
                        jsonptr_type_name(v));
}

int http_json_timestamp(const json_t *v, const struct okrd_tz *tz, enum okrd_ts_unit unit,
                        int64_t *out_s, struct okrd_err *err)
{
    if (json_is_number(v))
        return okrd_timestamp_from_number(json_number_value(v), unit, out_s, err);
    if (json_is_string(v))
        return okrd_parse_timestamp(json_string_value(v), json_string_length(v), tz, unit, out_s,
                                    err);
    return okrd_err_set(err, OKRD_EINVAL, "%s%s, not a timestamp (a string or number)",
                        json_is_object(v) || json_is_array(v) ? "an " : "", jsonptr_type_name(v));
}

struct ctx {
    const struct cfg_extract *e;
    const struct okrd_tz *tz;
    int64_t poll_s;
    int64_t today_s; /* start of the poll's day in tz */
    struct http_points *out;
    struct okrd_err *err;
};

static int ptr_get(const json_t *at, const char *ptr, json_t **out, struct okrd_err *err)
{
    return jsonptr_get(at, ptr, strlen(ptr), out, err);
}

/* One point from element EL (the document itself without `each`); KEY is
 * the element's key when `each` walks an object, else NULL. */
static int one_point(struct ctx *x, const json_t *el, const char *key)
{
    const struct cfg_extract *e = x->e;
    json_t *jv, *jt;
    int rc;
    if ((rc = ptr_get(el, e->value, &jv, x->err)) < 0)
        return okrd_err_prefix(x->err, "value");
    double v;
    bool is_null;
    if ((rc = http_json_number(jv, &v, &is_null, x->err)) < 0) {
        char q[OKRD_QUOTE_MAX];
        okrd_quote(e->value, strlen(e->value), q, sizeof q);
        return okrd_err_prefix(x->err, "value %s", q);
    }
    if (is_null) {
        x->out->skipped_null++;
        return 0;
    }
    int64_t ts = x->poll_s;
    if (e->timestamp_is_key) {
        if (!key)
            return okrd_err_set(x->err, OKRD_EINVAL,
                                "\"timestamp\": \"@key\" needs \"each\" over an object");
        rc = okrd_parse_timestamp(key, strlen(key), x->tz, e->timestamp_unit, &ts, x->err);
        if (rc < 0)
            return okrd_err_prefix(x->err, "timestamp (the key)");
    } else if (e->timestamp) {
        if ((rc = ptr_get(el, e->timestamp, &jt, x->err)) < 0)
            return okrd_err_prefix(x->err, "timestamp");
        if ((rc = http_json_timestamp(jt, x->tz, e->timestamp_unit, &ts, x->err)) < 0) {
            char q[OKRD_QUOTE_MAX];
            okrd_quote(e->timestamp, strlen(e->timestamp), q, sizeof q);
            return okrd_err_prefix(x->err, "timestamp %s", q);
        }
    }
    /* Analytics APIs return today's partial bucket; it would look like a
     * collapse every midnight. */
    if (e->skip_today && okrd_tz_day_start(x->tz, ts) == x->today_s) {
        x->out->skipped_today++;
        return 0;
    }
    if (http_points_add(x->out, e->metric, ts, v) < 0)
        return okrd_err_set(x->err, OKRD_ENOMEM, "out of memory");
    return 0;
}

int http_extract(const json_t *doc, const struct cfg_extract *ex, size_t n,
                 const struct okrd_tz *tz, int64_t poll_s, struct http_points *out,
                 struct okrd_err *err)
{
    struct ctx x = { .tz = tz, .poll_s = poll_s, .today_s = okrd_tz_day_start(tz, poll_s),
                     .out = out, .err = err };
    for (size_t i = 0; i < n; i++) {
        const struct cfg_extract *e = &ex[i];
        x.e = e;
        int rc = 0;
        if (!e->each) {
            rc = one_point(&x, doc, NULL);
        } else {
            json_t *coll;
            char q[OKRD_QUOTE_MAX];
            okrd_quote(e->each, strlen(e->each), q, sizeof q);
            if ((rc = ptr_get(doc, e->each, &coll, err)) < 0) {
                okrd_err_prefix(err, "each");
            } else if (json_is_array(coll)) {
                size_t j;
                json_t *el;
                json_array_foreach(coll, j, el) {
                    if ((rc = one_point(&x, el, NULL)) < 0) {
                        okrd_err_prefix(err, "element %zu of %s", j, q);
                        break;
                    }
                }
            } else if (json_is_object(coll)) {
                const char *key;
                json_t *el;
                json_object_foreach(coll, key, el) {
                    if ((rc = one_point(&x, el, key)) < 0) {
                        char qk[OKRD_QUOTE_MAX];
                        okrd_quote(key, strlen(key), qk, sizeof qk);
                        okrd_err_prefix(err, "key %s of %s", qk, q);
                        break;
                    }
                }
            } else {
                rc = okrd_err_set(err, OKRD_EINVAL, "each %s is %s%s, not an array or object", q,
                                  json_is_string(coll) || json_is_number(coll) ? "a " : "",
                                  jsonptr_type_name(coll));
            }
        }
        if (rc < 0)
            return okrd_err_prefix(err, "extract \"%s\"", e->metric);
    }
    return 0;
}
