/*
 * test_jsonptr.c — the pure parts of the HTTP sources: RFC 6901 pointers
 * (connectors/json_pointer.c), extract over every preset's response shape
 * (connectors/http_extract.c) and Prometheus answers
 * (connectors/prom_answer.c). Tables, one loop each, the case name in every
 * failure; no loop, no network.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "common/tz.h"
#include "connectors/http_extract.h"
#include "connectors/json_pointer.h"
#include "connectors/prom_answer.h"

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &je);
    if (!doc)
        fail_msg("bad test JSON: %s: %s", je.text, text);
    return doc;
}

/* ---- pointers ---- */

/* RFC 6901 section 5's document and pointers, plus errors. */
static const char rfc_doc[] =
    "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2, \"e^f\": 3, \"g|h\": 4,"
    " \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7, \"m~n\": 8, \"deep\": {\"x\": [[1, {\"y\": null}]]}}";

static void test_pointer_table(void **state)
{
    static const struct {
        const char *name, *ptr, *want; /* want: the JSON of the result, or NULL = error */
        int rc;
        const char *msg;               /* a fragment of the error */
    } cases[] = {
        { "whole doc", "", NULL, 0, NULL },
        { "member", "/foo", "[\"bar\", \"baz\"]", 0, NULL },
        { "index 0", "/foo/0", "\"bar\"", 0, NULL },
        { "empty key", "/", "0", 0, NULL },
        { "slash escape", "/a~1b", "1", 0, NULL },
        { "percent", "/c%d", "2", 0, NULL },
        { "caret", "/e^f", "3", 0, NULL },
        { "pipe", "/g|h", "4", 0, NULL },
        { "backslash", "/i\\j", "5", 0, NULL },
        { "quote", "/k\"l", "6", 0, NULL },
        { "space", "/ ", "7", 0, NULL },
        { "tilde escape", "/m~0n", "8", 0, NULL },
        { "deep", "/deep/x/0/1/y", "null", 0, NULL },
        { "no key", "/nope", NULL, OKRD_ENOTFOUND, "no key \"nope\" in the document" },
        { "index out", "/foo/2", NULL, OKRD_ENOTFOUND, "no index 2 in \"/foo\" (an array of 2 elements)" },
        { "dash", "/foo/-", NULL, OKRD_ENOTFOUND, "\"-\" is not an array index" },
        { "leading zero", "/foo/01", NULL, OKRD_ENOTFOUND, "not an array index" },
        { "into scalar", "/foo/0/x", NULL, OKRD_ENOTFOUND, "\"/foo/0\" is a string, not an object or array" },
        { "into null", "/deep/x/0/1/y/z", NULL, OKRD_ENOTFOUND, "is null, not an object or array" },
        { "no slash", "foo", NULL, OKRD_EINVAL, "starts with '/'" },
        { "bad escape", "/a~2b", NULL, OKRD_EINVAL, "'~' at byte 3" },
        { "tilde at end", "/a~", NULL, OKRD_EINVAL, "must be followed by 0" },
        { "escapes not recursive", "/a~01b", NULL, OKRD_ENOTFOUND, "no key \"a~1b\"" },
    };
    json_t *doc = load(rfc_doc);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *got = NULL;
        struct okrd_err err = { 0 };
        int rc = jsonptr_get(doc, cases[i].ptr, strlen(cases[i].ptr), &got, &err);
        if (rc != cases[i].rc)
            fail_msg("%s: rc %d, want %d (%s)", cases[i].name, rc, cases[i].rc, err.msg);
        if (rc == 0) {
            json_t *want = cases[i].want ? load(cases[i].want) : json_incref(doc);
            if (!json_equal(got, want))
                fail_msg("%s: wrong value", cases[i].name);
            json_decref(want);
        } else if (!strstr(err.msg, cases[i].msg)) {
            fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].name, err.msg, cases[i].msg);
        }
    }
    json_decref(doc);
}

static void test_pointer_nul_key(void **state)
{
    /* jansson's decoder refuses such keys; a document built in C has them. */
    json_t *doc = json_object();
    json_object_setn_new(doc, "a\0b", 3, json_integer(1));
    json_t *got;
    assert_int_equal(jsonptr_get(doc, "/a\0b", 4, &got, NULL), 0);
    assert_int_equal(json_integer_value(got), 1);
    json_decref(doc);
}

/* ---- extract over the presets' shapes ---- */

struct want {
    const char *metric;
    const char *ts;   /* UTC, as okrd_format_utc writes it */
    double value;
};

#define POLL_S 1795334400 /* 2026-11-22T08:00:00Z */

struct xcase {
    const char *name;
    const char *doc;
    struct cfg_extract ex[2];
    size_t n_ex;
    const char *tz;          /* NULL = UTC */
    struct want want[6];
    size_t n_want;
    const char *err;         /* a fragment of the error, NULL = success */
};

#define EX(...) ((struct cfg_extract){ __VA_ARGS__ })

static const struct xcase xcases[] = {
    { "plausible v1 aggregate (poll time)",
      "{\"results\": {\"visitors\": {\"value\": 1234}, \"bounce_rate\": {\"value\": 42.5}}}",
      { EX(.metric = "visitors", .value = "/results/visitors/value"),
        EX(.metric = "bounce", .value = "/results/bounce_rate/value") }, 2, NULL,
      { { "visitors", "2026-11-22T08:00:00Z", 1234 }, { "bounce", "2026-11-22T08:00:00Z", 42.5 } }, 2, NULL },
    { "plausible v1 timeseries, dates in Berlin",
      "{\"results\": [{\"date\": \"2026-11-20\", \"visitors\": 10}, {\"date\": \"2026-11-21\", \"visitors\": null}]}",
      { EX(.metric = "visitors", .each = "/results", .value = "/visitors", .timestamp = "/date") }, 1,
      "Europe/Berlin",
      { { "visitors", "2026-11-19T23:00:00Z", 10 } }, 1, NULL },
    { "plausible v2 query, dimension time:day",
      "{\"results\": [{\"metrics\": [3, 7], \"dimensions\": [\"2026-11-20\"]},"
      " {\"metrics\": [4, 8], \"dimensions\": [\"2026-11-21\"]}], \"meta\": {}}",
      { EX(.metric = "visitors", .each = "/results", .value = "/metrics/0", .timestamp = "/dimensions/0"),
        EX(.metric = "pageviews", .each = "/results", .value = "/metrics/1", .timestamp = "/dimensions/0") }, 2, NULL,
      { { "visitors", "2026-11-20T00:00:00Z", 3 }, { "visitors", "2026-11-21T00:00:00Z", 4 },
        { "pageviews", "2026-11-20T00:00:00Z", 7 }, { "pageviews", "2026-11-21T00:00:00Z", 8 } }, 4, NULL },
    { "ga4 runReport: string values, YYYYMMDD",
      "{\"rows\": [{\"dimensionValues\": [{\"value\": \"20261120\"}], \"metricValues\": [{\"value\": \"1523\"}]},"
      " {\"dimensionValues\": [{\"value\": \"20261121\"}], \"metricValues\": [{\"value\": \"0.25\"}]}]}",
      { EX(.metric = "active_users", .each = "/rows", .value = "/metricValues/0/value",
           .timestamp = "/dimensionValues/0/value") }, 1, NULL,
      { { "active_users", "2026-11-20T00:00:00Z", 1523 }, { "active_users", "2026-11-21T00:00:00Z", 0.25 } }, 2, NULL },
    { "posthog hogql: rows as arrays",
      "{\"columns\": [\"day\", \"count()\"], \"results\": [[\"2026-11-20\", 51], [\"2026-11-21T00:00:00Z\", 60]]}",
      { EX(.metric = "signups", .each = "/results", .value = "/1", .timestamp = "/0") }, 1, NULL,
      { { "signups", "2026-11-20T00:00:00Z", 51 }, { "signups", "2026-11-21T00:00:00Z", 60 } }, 2, NULL },
    { "mixpanel insights: dates as keys, offsets",
      "{\"series\": {\"Signed Up\": {\"2026-11-20T00:00:00-08:00\": 5, \"2026-11-21T00:00:00-08:00\": 6}}}",
      { EX(.metric = "signups", .each = "/series/Signed Up", .value = "", .timestamp_is_key = true) }, 1, NULL,
      { { "signups", "2026-11-20T08:00:00Z", 5 }, { "signups", "2026-11-21T08:00:00Z", 6 } }, 2, NULL },
    { "datadog query: ms pointlist, auto unit",
      "{\"status\": \"ok\", \"series\": [{\"pointlist\": [[1795291200000.0, 12.5], [1795294800000.0, null]]}]}",
      { EX(.metric = "p95", .each = "/series/0/pointlist", .value = "/1", .timestamp = "/0") }, 1, NULL,
      { { "p95", "2026-11-21T20:00:00Z", 12.5 } }, 1, NULL },
    { "explicit ms unit on a small number",
      "{\"t\": 86400000, \"v\": 1}",
      { EX(.metric = "m", .value = "/v", .timestamp = "/t", .timestamp_unit = OKRD_TS_MILLIS) }, 1, NULL,
      { { "m", "1970-01-02T00:00:00Z", 1 } }, 1, NULL },
    { "unix seconds and numeric strings with exponent",
      "[{\"t\": 1795291200, \"v\": \"1e3\"}, {\"t\": \"1795294800\", \"v\": \"-2.5\"}]",
      { EX(.metric = "m", .each = "", .value = "/v", .timestamp = "/t") }, 1, NULL,
      { { "m", "2026-11-21T20:00:00Z", 1000 }, { "m", "2026-11-21T21:00:00Z", -2.5 } }, 2, NULL },
    { "skip_today drops the partial bucket (in tz)",
      "{\"r\": {\"2026-11-21\": 1, \"2026-11-22\": 2}}",
      { EX(.metric = "m", .each = "/r", .value = "", .timestamp_is_key = true, .skip_today = true) }, 1,
      "America/New_York", /* poll at 03:00 local on 11-22 */
      { { "m", "2026-11-21T05:00:00Z", 1 } }, 1, NULL },
    { "missing pointer names entry, element, pointer",
      "{\"results\": [{\"visitors\": 1}, {\"visits\": 2}]}",
      { EX(.metric = "visitors", .each = "/results", .value = "/visitors") }, 1, NULL, { { 0 } }, 0,
      "extract \"visitors\": element 1 of \"/results\": value: \"/visitors\": no key \"visitors\"" },
    { "non-numeric value",
      "{\"v\": \"n/a\"}",
      { EX(.metric = "m", .value = "/v") }, 1, NULL, { { 0 } }, 0,
      "extract \"m\": value \"/v\": not a number" },
    { "bool value",
      "{\"v\": true}",
      { EX(.metric = "m", .value = "/v") }, 1, NULL, { { 0 } }, 0, "true, not a number" },
    { "each over a scalar",
      "{\"r\": 5}",
      { EX(.metric = "m", .each = "/r", .value = "") }, 1, NULL, { { 0 } }, 0,
      "each \"/r\" is a number, not an array or object" },
    { "bad timestamp string",
      "{\"r\": [{\"d\": \"2026-02-30\", \"v\": 1}]}",
      { EX(.metric = "m", .each = "/r", .value = "/v", .timestamp = "/d") }, 1, NULL, { { 0 } }, 0,
      "timestamp \"/d\": \"2026-02-30\"" },
    { "@key on an array",
      "{\"r\": [1]}",
      { EX(.metric = "m", .each = "/r", .value = "", .timestamp_is_key = true) }, 1, NULL, { { 0 } }, 0,
      "needs \"each\" over an object" },
    { "empty each yields nothing",
      "{\"r\": []}",
      { EX(.metric = "m", .each = "/r", .value = "") }, 1, NULL, { { 0 } }, 0, NULL },
};

static void test_extract_table(void **state)
{
    for (size_t i = 0; i < sizeof xcases / sizeof xcases[0]; i++) {
        const struct xcase *c = &xcases[i];
        struct okrd_tz *tz = NULL;
        struct okrd_err err = { 0 };
        if (c->tz && okrd_tz_open(&tz, c->tz, &err) < 0)
            fail_msg("%s: tz: %s", c->name, err.msg);
        json_t *doc = load(c->doc);
        struct http_points pts = { 0 };
        int rc = http_extract(doc, c->ex, c->n_ex, tz, POLL_S, &pts, &err);
        if (c->err) {
            if (rc == 0 && c->err)
                fail_msg("%s: succeeded, want error \"%s\"", c->name, c->err);
            if (!strstr(err.msg, c->err))
                fail_msg("%s: message \"%s\" lacks \"%s\"", c->name, err.msg, c->err);
        } else {
            if (rc != 0)
                fail_msg("%s: %s", c->name, err.msg);
            if (pts.n != c->n_want)
                fail_msg("%s: %zu points, want %zu", c->name, pts.n, c->n_want);
            for (size_t k = 0; k < pts.n; k++) {
                char ts[32];
                okrd_format_utc(pts.v[k].ts, ts, sizeof ts);
                if (strcmp(pts.v[k].metric, c->want[k].metric) || strcmp(ts, c->want[k].ts) ||
                    pts.v[k].value != c->want[k].value)
                    fail_msg("%s: point %zu is %s %s %g, want %s %s %g", c->name, k,
                             pts.v[k].metric, ts, pts.v[k].value, c->want[k].metric,
                             c->want[k].ts, c->want[k].value);
            }
        }
        http_points_free(&pts);
        json_decref(doc);
        okrd_tz_close(tz);
    }
}

/* ---- Prometheus answers ---- */

static void test_prom_answers(void **state)
{
    static const struct {
        const char *name, *body;
        int rc;
        size_t n_series;
        int64_t ts;
        double value;
        const char *skip, *error, *msg;
    } cases[] = {
        { "scalar", "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1795348800.789,\"42.5\"]}}",
          0, 1, 1795348800, 42.5, "", "", NULL },
        { "one-sample vector", "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
          "[{\"metric\":{\"job\":\"p\"},\"value\":[1795348801.2,\"1\"]}]}}", 0, 1, 1795348801, 1, "", "", NULL },
        { "two series", "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
          "[{\"metric\":{},\"value\":[1,\"1\"]},{\"metric\":{},\"value\":[1,\"2\"]}]}}", 0, 2, 0, 0, "", "", NULL },
        { "empty vector", "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}",
          0, 0, 0, 0, "", "", NULL },
        { "NaN", "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[5,\"NaN\"]}}",
          0, 1, 5, 0, "NaN", "", NULL },
        { "+Inf", "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[5,\"+Inf\"]}}",
          0, 1, 5, 0, "+Inf", "", NULL },
        { "error answer", "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:5: parse error: unexpected\"}",
          0, 0, 0, 0, "", "1:5: parse error: unexpected", NULL },
        { "matrix", "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}",
          OKRD_EINVAL, 0, 0, 0, "", "", "range vector" },
        { "not json", "<html>", OKRD_EINVAL, 0, 0, 0, "", "", "invalid JSON" },
        { "bad sample", "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[5,6]}}",
          OKRD_EINVAL, 0, 0, 0, "", "", "a sample is" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct prom_answer a;
        struct okrd_err err = { 0 };
        int rc = prom_parse_answer(cases[i].body, strlen(cases[i].body), &a, &err);
        if (rc != cases[i].rc)
            fail_msg("%s: rc %d (%s)", cases[i].name, rc, err.msg);
        if (rc < 0) {
            if (!strstr(err.msg, cases[i].msg))
                fail_msg("%s: message %s", cases[i].name, err.msg);
            continue;
        }
        if (strcmp(a.error, cases[i].error) || a.n_series != cases[i].n_series ||
            strcmp(a.skip, cases[i].skip))
            fail_msg("%s: error \"%s\" series %zu skip \"%s\"", cases[i].name, a.error,
                     a.n_series, a.skip);
        if (a.n_series == 1 && (a.ts != cases[i].ts || (!a.skip[0] && a.value != cases[i].value)))
            fail_msg("%s: %lld %g", cases[i].name, (long long)a.ts, a.value);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointer_table),
        cmocka_unit_test(test_pointer_nul_key),
        cmocka_unit_test(test_extract_table),
        cmocka_unit_test(test_prom_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
