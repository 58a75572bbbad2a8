/*
 * test_api.c — the pure builders behind the HTTP API (api/): the Prometheus
 * exposition writer (escaping, undefined numbers omitted), the JSON shapes,
 * push body validation (a table: every row names its case), the token
 * comparison, the pace line, the series read from a real store, and the
 * rendering cache's key. The server itself is tested end to end
 * (tests/e2e/test_api.py); the dashboard, drawn in the browser from the
 * API, in headless Chromium (tests/e2e/test_dashboard*.py).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/api_internal.h"
#include "common/parse.h"
#define STORE_FX_NO_SETUP /* it has a setup of its own */
#include "store_fx.h"
#include "testutil.h"

#define Q4 1790812800LL          /* 2026-10-01T00:00:00Z */
#define DAY 86400LL

/* ---- a config and a hand-made snapshot (daemon/evaluate.c is not linked) ---- */

static const char *const cfg_text =
    "{\"daemon\": {\"state_dir\": \"/nonexistent\", \"listen\": \"\"},\n"
    " \"sources\": [{\"id\": \"drops\", \"type\": \"csv_dir\", \"path\": \"/nonexistent/in\"}],\n"
    " \"metrics\": [{\"id\": \"visitors\", \"unit\": \"<visits>\"},\n"
    "   {\"id\": \"adoption\", \"ratio\": [\"users_f\", \"users_all\"], \"scale\": 100, \"unit\": \"%\"}],\n"
    " \"webhooks\": [{\"id\": \"slack\", \"url\": \"https://hooks.example/x\"}],\n"
    " \"objectives\": [{\"id\": \"eng\", \"title\": \"<script>alert(\\\"x\\\")</script> & co\",\n"
    "   \"owner\": \"Growth & 'Co'\", \"cycle\": \"2026-Q4\", \"key_results\": [\n"
    "   {\"id\": \"dau-up\", \"title\": \"Grow <b>DAU</b>\", \"metric\": \"visitors\",\n"
    "    \"direction\": \"increase\", \"baseline\": 1000, \"target\": 1200,\n"
    "    \"pace\": [{\"date\": \"2026-11-15\", \"progress\": 0.25}]},\n"
    "   {\"id\": \"reviews\", \"title\": \"100 reviews\", \"metric\": \"reviews\", \"owner\": \"<@U024BE7LH>\",\n"
    "    \"direction\": \"increase\", \"aggregate\": {\"fn\": \"sum\", \"window\": \"cycle\"}, \"target\": 100},\n"
    "   {\"id\": \"adopt\", \"title\": \"Adoption\", \"metric\": \"adoption\",\n"
    "    \"direction\": \"at_least\", \"target\": 40}]}]}\n";

struct fixture {
    struct cfg *cfg;
    struct eval_snapshot snap;
};

static struct okr_result no_data(void)
{
    struct okr_result r = { .status = OKR_NO_DATA };
    r.value = r.baseline = r.target = r.progress = r.expected = NAN;
    r.projected_score = r.score = NAN;
    r.last_point_at = OKR_NO_TS;
    return r;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct cfg_diags diags = { 0 };
    int rc = cfg_load_string(cfg_text, strlen(cfg_text), "test.json", CFG_NO_SECRETS, &f->cfg, &diags);
    for (size_t i = 0; i < diags.n; i++)
        print_error("%s\n", diags.items[i].text);
    cfg_diags_free(&diags);
    assert_int_equal(rc, 0);
    struct eval_snapshot *s = &f->snap;
    s->cfg = f->cfg;
    s->at_s = Q4 + 46 * DAY;
    s->n_krs = 3;
    s->krs = calloc(3, sizeof *s->krs);
    s->results = calloc(3, sizeof *s->results);
    s->stale = calloc(3, sizeof *s->stale);
    s->previous_status = calloc(3, sizeof *s->previous_status);
    s->objs = calloc(1, sizeof *s->objs);
    for (size_t i = 0; i < 3; i++) {
        s->krs[i] = &f->cfg->objectives[0].key_results[i];
        s->results[i] = no_data();
    }
    struct okr_result *r = &s->results[0];
    r->status = OKR_ON_TRACK;
    r->value = 1100;
    r->baseline = 1000;
    r->target = 1200;
    r->progress = 0.5;
    r->expected = 0.4;
    r->projected_score = 1.25;
    r->score = 0.5;
    r->last_point_at = Q4 + 45 * DAY;
    r->forecast = (struct okr_forecast){ .defined = true, .of = OKR_FORECAST_VALUE,
                                         .probability = 0.34, .p10 = 1105.2, .p50 = 1160,
                                         .p90 = 1214.8 };
    s->previous_status[0] = "at_risk";
    s->stale[1] = true;
    s->objs[0] = (struct okr_objective_result){ .status = OKR_ON_TRACK, .score = 0.5,
                                                .projected_score = NAN };
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->snap.krs);
    free(f->snap.results);
    free(f->snap.stale);
    free(f->snap.previous_status);
    free(f->snap.objs);
    cfg_free(f->cfg);
    free(f);
    return 0;
}

/* ---- /metrics ---- */

static void test_prom_label_escaping(void **state)
{
    (void)state;
    struct api_buf b = { 0 };
    api_buf_prom_label(&b, "a\\b\"c\nd");
    assert_string_equal(b.p, "a\\\\b\\\"c\\nd");
    api_buf_free(&b);
    api_buf_prom_label(&b, "plain-id.1");
    assert_string_equal(b.p, "plain-id.1");
    api_buf_free(&b);
}

static void test_metrics_exposition(void **state)
{
    struct fixture *f = *state;
    struct api_source_stat src[] = {
        { .id = "drops", .points = 42, .up = 1, .configured = true },
        { .id = "we\"ird\\src", .points = 7, .up = 0, .configured = true },
        { .id = "gone", .points = 3, .up = 1, .configured = false },
        { .id = "push", .points = 0, .up = -1, .configured = true },
    };
    struct api_webhook_stat wh[] = { { .id = "slack", .count = { 2, 1, 0 }, .configured = true } };
    struct api_process proc = { .resident_bytes = 1e6, .virtual_bytes = NAN, .cpu_seconds = 0.25,
                                .start_time_s = 1.7e9, .open_fds = 9, .max_fds = 1024 };
    struct api_metrics_in in = { &f->snap, src, 4, wh, 1, 5, &proc, false, false };
    struct api_buf b = { 0 };
    api_metrics_write(&b, &in);
    assert_false(b.failed);
    const char *t = b.p;
    static const char *const want[] = {
        "# HELP okrd_kr_progress ",
        "# TYPE okrd_kr_progress gauge\n",
        "\nokrd_kr_progress{objective=\"eng\",key_result=\"dau-up\"} 0.5\n",
        "\nokrd_kr_expected_progress{objective=\"eng\",key_result=\"dau-up\"} 0.4\n",
        "\nokrd_kr_projected_score{objective=\"eng\",key_result=\"dau-up\"} 1.25\n",
        "\nokrd_kr_score{objective=\"eng\",key_result=\"dau-up\"} 0.5\n",
        "\nokrd_kr_value{objective=\"eng\",key_result=\"dau-up\"} 1100\n",
        "\nokrd_kr_status{objective=\"eng\",key_result=\"dau-up\",status=\"on_track\"} 1\n",
        "\nokrd_kr_status{objective=\"eng\",key_result=\"dau-up\",status=\"off_track\"} 0\n",
        "\nokrd_kr_status{objective=\"eng\",key_result=\"reviews\",status=\"no_data\"} 1\n",
        "\nokrd_kr_stale{objective=\"eng\",key_result=\"reviews\"} 1\n",
        "# TYPE okrd_kr_forecast_probability gauge\n",
        "\nokrd_kr_forecast_probability{objective=\"eng\",key_result=\"dau-up\"} 0.34\n",
        "\nokrd_objective_score{objective=\"eng\"} 0.5\n",
        "\nokrd_source_up{source=\"drops\"} 1\n",
        "\nokrd_source_up{source=\"we\\\"ird\\\\src\"} 0\n",
        "\nokrd_points_ingested_total{source=\"drops\"} 42\n",
        "\nokrd_points_ingested_total{source=\"push\"} 0\n",
        "# TYPE okrd_points_ingested_total counter\n",
        "\nokrd_webhook_deliveries_total{webhook=\"slack\",result=\"delivered\"} 2\n",
        "\nokrd_webhook_deliveries_total{webhook=\"slack\",result=\"retried\"} 1\n",
        "\nokrd_webhook_deliveries_total{webhook=\"slack\",result=\"dead\"} 0\n",
        "\nokrd_outbox_pending 5\n",
        "\nprocess_resident_memory_bytes 1000000\n",
        "\nprocess_cpu_seconds_total 0.25\n",
        "\nprocess_start_time_seconds 1700000000\n",
        "\nprocess_open_fds 9\n",
        "# TYPE process_virtual_memory_bytes gauge\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(t, want[i]))
            fail_msg("missing %s in:\n%s", want[i], t);
    static const char *const unwanted[] = {
        "NaN", "Inf", "okrd_kr_progress{objective=\"eng\",key_result=\"reviews\"}",
        "okrd_objective_projected_score{objective=\"eng\"}", "source=\"gone\"",
        "okrd_source_up{source=\"push\"}", "\nprocess_virtual_memory_bytes ",
        "okrd_kr_forecast_probability{objective=\"eng\",key_result=\"reviews\"}",
    };
    for (size_t i = 0; i < sizeof unwanted / sizeof *unwanted; i++)
        if (strstr(t, unwanted[i]))
            fail_msg("unexpected %s in:\n%s", unwanted[i], t);
    /* one okrd_kr_status sample per status per key result */
    size_t n = 0;
    for (const char *p = t; (p = strstr(p, "\nokrd_kr_status{")); p++)
        n++;
    assert_int_equal(n, 3 * OKR_N_STATUSES);
    /* every line ends with \n, every family has HELP before TYPE */
    assert_int_equal(t[b.n - 1], '\n');
    for (const char *p = t; (p = strstr(p, "# TYPE ")); p++) {
        const char *name = p + 7;
        size_t len = strcspn(name, " ");
        char help[160];
        snprintf(help, sizeof help, "# HELP %.*s ", (int)len, name);
        const char *h = strstr(t, help);
        assert_non_null(h);
        assert_true(h < p);
    }
    api_buf_free(&b);

    /* before the first evaluation: families, no key-result samples */
    in.snap = NULL;
    in.process = NULL;
    api_metrics_write(&b, &in);
    assert_non_null(strstr(b.p, "# TYPE okrd_kr_status gauge\n"));
    assert_null(strstr(b.p, "okrd_kr_status{"));
    assert_null(strstr(b.p, "process_"));
    api_buf_free(&b);
}

/* ---- JSON shapes ---- */

static void assert_keys(json_t *o, const char *const *keys, size_t n)
{
    assert_int_equal(json_object_size(o), n);
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(o, keys[i]))
            fail_msg("key %s missing", keys[i]);
}

static void test_json_shapes(void **state)
{
    struct fixture *f = *state;
    json_t *doc = okr_view_objectives(&f->snap);
    static const char *const top[] = { "at", "objectives" };
    assert_keys(doc, top, 2);
    assert_string_equal(json_string_value(json_object_get(doc, "at")), "2026-11-16T00:00:00Z");
    json_t *o = json_array_get(json_object_get(doc, "objectives"), 0);
    static const char *const obj[] = { "id", "title", "parent", "score", "projected_score",
                                       "status", "key_results" };
    assert_keys(o, obj, 7);
    assert_true(json_is_null(json_object_get(o, "projected_score")));
    json_t *krs = json_object_get(o, "key_results");
    assert_int_equal(json_array_size(krs), 3);
    static const char *const kr[] = { "id", "title", "metric", "direction", "baseline", "target",
                                      "value", "progress", "expected", "projected_score", "status",
                                      "computed_status", "previous_status", "stale", "cycle",
                                      "last_point_at", "score", "owner", "check_in",
                                      "forecast" };
    for (size_t i = 0; i < 3; i++)
        assert_keys(json_array_get(krs, i), kr, 20);
    json_t *k0 = json_array_get(krs, 0);
    /* DESIGN section 8: the objective's owner unless the key result names its own */
    assert_string_equal(json_string_value(json_object_get(k0, "owner")), "Growth & 'Co'");
    assert_string_equal(json_string_value(json_object_get(json_array_get(krs, 1), "owner")),
                        "<@U024BE7LH>");
    assert_true(json_is_integer(json_object_get(k0, "value")));
    assert_string_equal(json_string_value(json_object_get(k0, "previous_status")), "at_risk");
    assert_true(json_is_null(json_object_get(json_array_get(krs, 1), "value")));
    /* DESIGN section 9: the forecast object, last; null when not defined */
    json_t *fc = json_object_get(k0, "forecast");
    static const char *const fk[] = { "probability", "p10", "p50", "p90", "of" };
    assert_keys(fc, fk, 5);
    assert_true(json_real_value(json_object_get(fc, "probability")) == 0.34);
    assert_true(json_integer_value(json_object_get(fc, "p50")) == 1160);
    assert_string_equal(json_string_value(json_object_get(fc, "of")), "value");
    assert_true(json_is_null(json_object_get(json_array_get(krs, 1), "forecast")));
    char *text = okr_view_dump(k0, false);
    assert_non_null(strstr(text, "\"check_in\":null,\"forecast\":{\"probability\":0.34"));
    free(text);
    json_decref(doc);

    /* every real as the shortest text that reads back to the same double,
     * strings untouched (0.1 + 0.2 is not printed as 0.3) */
    json_t *nums = json_pack("{s:f, s:f, s:s, s:[f, f], s:I, s:f}", "a", 0.1, "b", 0.1 + 0.2,
                             "s", "x 0.10000000000000001 \"1.5\" \\", "c", 1e21, -2.5e-7,
                             "i", (json_int_t)1040, "d", 1.0 / 3.0);
    text = okr_view_dump(nums, false);
    assert_string_equal(text, "{\"a\":0.1,\"b\":0.30000000000000004,"
                              "\"s\":\"x 0.10000000000000001 \\\"1.5\\\" \\\\\","
                              "\"c\":[1e21,-2.5e-07],\"i\":1040,\"d\":0.3333333333333333}");
    assert_true(strtod(strstr(text, "\"d\":") + 4, NULL) == 1.0 / 3.0);
    free(text);
    json_decref(nums);

    char *e = api_error_body("bad_point", "point 3: \"value\" is a string", 3);
    json_t *err = json_loads(e, 0, NULL);
    assert_non_null(err);
    static const char *const ek[] = { "error", "detail", "index" };
    assert_keys(err, ek, 3);
    assert_int_equal(json_integer_value(json_object_get(err, "index")), 3);
    json_decref(err);
    free(e);
    e = api_error_body("not_found", "no key result \"x\"", -1);
    err = json_loads(e, 0, NULL);
    assert_keys(err, ek, 2);
    json_decref(err);
    free(e);
}

/* ---- push bodies ---- */

struct push_case {
    const char *name;
    const char *body;
    int rc;            /* 0 or OKRD_EINVAL */
    long index;        /* expected e.index on error */
    const char *error; /* expected e.error */
    size_t n;          /* points on success */
    size_t n_metrics;
    int64_t ts0;       /* first point's timestamp on success */
};

static const struct push_case push_cases[] = {
    { "one point, date", "[{\"metric\":\"dau\",\"timestamp\":\"2026-11-21\",\"value\":1040}]",
      0, -1, "", 1, 1, 1795219200 },
    { "unix seconds", "[{\"metric\":\"dau\",\"timestamp\":1795219200,\"value\":1.5}]",
      0, -1, "", 1, 1, 1795219200 },
    { "unix milliseconds", "[{\"metric\":\"dau\",\"timestamp\":1795219200000,\"value\":-3}]",
      0, -1, "", 1, 1, 1795219200 },
    { "date-time with zone", "[{\"metric\":\"a.b:c-d_e\",\"timestamp\":\"2026-11-21T02:00:00+02:00\",\"value\":0}]",
      0, -1, "", 1, 1, 1795219200 },
    { "metrics deduplicated",
      "[{\"metric\":\"b\",\"timestamp\":1,\"value\":1},{\"metric\":\"a\",\"timestamp\":2,\"value\":1},"
      "{\"metric\":\"b\",\"timestamp\":3,\"value\":1}]", 0, -1, "", 3, 2, 1 },
    { "empty array", "[]", 0, -1, "", 0, 0, 0 },
    { "not JSON", "[{\"metric\":", OKRD_EINVAL, -1, "bad_json", 0, 0, 0 },
    { "an object, not an array", "{\"metric\":\"dau\"}", OKRD_EINVAL, -1, "bad_body", 0, 0, 0 },
    { "duplicate key", "[{\"metric\":\"a\",\"metric\":\"b\",\"timestamp\":1,\"value\":1}]",
      OKRD_EINVAL, -1, "bad_json", 0, 0, 0 },
    { "a number, not a point", "[{\"metric\":\"a\",\"timestamp\":1,\"value\":1}, 5]",
      OKRD_EINVAL, 1, "bad_point", 0, 0, 0 },
    { "missing value", "[{\"metric\":\"a\",\"timestamp\":1}]", OKRD_EINVAL, 0, "bad_point", 0, 0, 0 },
    { "unknown key", "[{\"metric\":\"a\",\"timestamp\":1,\"value\":1,\"unit\":\"x\"}]",
      OKRD_EINVAL, 0, "bad_point", 0, 0, 0 },
    { "bad metric id", "[{\"metric\":\"a\",\"timestamp\":1,\"value\":1},"
      "{\"metric\":\"has space\",\"timestamp\":1,\"value\":1}]", OKRD_EINVAL, 1, "bad_point", 0, 0, 0 },
    { "metric not a string", "[{\"metric\":7,\"timestamp\":1,\"value\":1}]",
      OKRD_EINVAL, 0, "bad_point", 0, 0, 0 },
    { "impossible date", "[{\"metric\":\"a\",\"timestamp\":\"2026-02-30\",\"value\":1}]",
      OKRD_EINVAL, 0, "bad_point", 0, 0, 0 },
    { "timestamp a boolean", "[{\"metric\":\"a\",\"timestamp\":true,\"value\":1}]",
      OKRD_EINVAL, 0, "bad_point", 0, 0, 0 },
    { "value a string", "[{\"metric\":\"a\",\"timestamp\":1,\"value\":\"12\"}]",
      OKRD_EINVAL, 0, "bad_point", 0, 0, 0 },
    { "value null", "[{\"metric\":\"a\",\"timestamp\":1,\"value\":null}]",
      OKRD_EINVAL, 0, "bad_point", 0, 0, 0 },
    { "NaN is not JSON", "[{\"metric\":\"a\",\"timestamp\":1,\"value\":NaN}]",
      OKRD_EINVAL, -1, "bad_json", 0, 0, 0 },
    { "third point bad, whole batch refused",
      "[{\"metric\":\"a\",\"timestamp\":1,\"value\":1},{\"metric\":\"a\",\"timestamp\":2,\"value\":2},"
      "{\"metric\":\"a\",\"timestamp\":\"soon\",\"value\":3}]", OKRD_EINVAL, 2, "bad_point", 0, 0, 0 },
};

static void test_push_parse(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof push_cases / sizeof *push_cases; i++) {
        const struct push_case *c = &push_cases[i];
        struct api_push_batch b;
        struct api_push_error e;
        int rc = api_push_parse(c->body, strlen(c->body), NULL, &b, &e);
        if (rc != c->rc) {
            print_error("%s: rc %d, want %d (%s: %s)\n", c->name, rc, c->rc, e.error, e.detail);
            failed++;
        } else if (rc < 0 && (e.index != c->index || strcmp(e.error, c->error) || !e.detail[0])) {
            print_error("%s: index %ld error %s (%s), want %ld %s\n", c->name, e.index, e.error,
                        e.detail, c->index, c->error);
            failed++;
        } else if (rc == 0 && (b.n != c->n || b.n_metrics != c->n_metrics ||
                               (b.n && b.pts[0].ts != c->ts0))) {
            print_error("%s: n %zu metrics %zu ts0 %lld\n", c->name, b.n, b.n_metrics,
                        b.n ? (long long)b.pts[0].ts : 0LL);
            failed++;
        }
        if (rc == 0) {
            for (size_t k = 1; k < b.n_metrics; k++)
                assert_true(strcmp(b.metrics[k - 1], b.metrics[k]) < 0);
            api_push_batch_free(&b);
        }
    }
    assert_int_equal(failed, 0);
}

/* ---- pace and series ---- */

static void test_pace_line(void **state)
{
    struct fixture *f = *state;
    struct api_kr_series se = { 0 };
    const struct cfg_cycle *c = &f->cfg->objectives[0].cycle;
    api_pace_line(f->snap.krs[0], &f->snap.results[0], c->start_s, c->end_s, &se);
    /* start, the milestone at the end of 2026-11-15, the end */
    assert_int_equal(se.n_pace, 3);
    assert_int_equal(se.pace[0].ts, Q4);
    assert_true(fabs(se.pace[0].v - 1000) < 1e-9);
    assert_int_equal(se.pace[1].ts, Q4 + 46 * DAY);
    assert_true(fabs(se.pace[1].v - 1050) < 1e-9);
    assert_int_equal(se.pace[2].ts, c->end_s);
    assert_true(fabs(se.pace[2].v - 1200) < 1e-9);
    /* a window inside the cycle starts and ends on the line */
    api_pace_line(f->snap.krs[0], &f->snap.results[0], Q4 + 23 * DAY, Q4 + 40 * DAY, &se);
    assert_int_equal(se.n_pace, 2);
    assert_true(fabs(se.pace[0].v - 1025) < 1e-9);
    /* no baseline yet: no line */
    api_pace_line(f->snap.krs[1], &f->snap.results[1], c->start_s, c->end_s, &se);
    assert_int_equal(se.n_pace, 0);
}

static void test_series_from_store(void **state)
{
    struct fixture *f = *state;
    struct fx *sf = fx_new(); /* SQLite, or PostgreSQL: store_fx.h */
    struct store *st = sf->s;
    struct okrd_err err = { 0 };
    const struct store_point_in pts[] = {
        { "reviews", Q4 - DAY, 50 },        /* before the cycle: not in the sum */
        { "reviews", Q4 + DAY, 10 },
        { "reviews", Q4 + 10 * DAY, 5 },
        { "reviews", Q4 + 20 * DAY, 7 },
        { "users_all", Q4 - 5 * DAY, 200 },
        { "users_f", Q4 + 2 * DAY, 50 },
        { "users_f", Q4 + 3 * DAY, 100 },
    };
    assert_int_equal(store_put_points(st, pts, sizeof pts / sizeof *pts, &err), 0);
    const struct cfg_cycle *c = &f->cfg->objectives[0].cycle;
    struct okr_result r = no_data();
    r.baseline = 0;
    r.target = 100;
    struct api_kr_series se;
    /* a cycle sum reads as a burn-up: 10, 15, 22 */
    assert_int_equal(api_series_load(st, f->cfg, f->snap.krs[1], &r, c->start_s, c->end_s, 1000,
                                     &se, &err), 0);
    assert_int_equal(se.n, 3);
    assert_true(se.pts[0].v == 10 && se.pts[1].v == 15 && se.pts[2].v == 22);
    assert_int_equal(se.pts[2].ts, Q4 + 20 * DAY);
    assert_int_equal(se.n_pace, 2);
    api_series_free(&se);
    /* from/to cut the points (from inclusive, to exclusive), not the sum */
    assert_int_equal(api_series_load(st, f->cfg, f->snap.krs[1], &r, Q4 + 10 * DAY, Q4 + 20 * DAY,
                                     1000, &se, &err), 0);
    assert_int_equal(se.n, 1);
    assert_true(se.pts[0].v == 15);
    api_series_free(&se);
    /* too many points: found by a capped count, before anything is loaded */
    assert_int_equal(api_series_load(st, f->cfg, f->snap.krs[1], &r, c->start_s, c->end_s, 2, &se,
                                     &err), OKRD_ERANGE);
    assert_non_null(strstr(err.msg, "more than 2 points fall in the range"));
    assert_null(se.pts);
    /* a ratio metric: num / den * scale */
    r.target = 40;
    assert_int_equal(api_series_load(st, f->cfg, f->snap.krs[2], &r, c->start_s, c->end_s, 1000,
                                     &se, &err), 0);
    assert_int_equal(se.n, 2);
    assert_true(fabs(se.pts[0].v - 25) < 1e-9 && fabs(se.pts[1].v - 50) < 1e-9);
    api_series_free(&se);
    fx_free(sf);
}

static void test_cache(void **state)
{
    struct fixture *f = *state;
    struct api_cache c = { 0 };
    size_t n = 0;
    assert_null(api_cache_copy(&c, &f->snap, &n));
    api_cache_put(&c, &f->snap, "doc-1", 5);
    char *t = api_cache_copy(&c, &f->snap, &n);
    assert_non_null(t);
    assert_int_equal(n, 5);
    assert_string_equal(t, "doc-1");
    free(t);
    /* the same memory with another evaluation in it is a miss */
    f->snap.results[0].value = 1101;
    assert_null(api_cache_copy(&c, &f->snap, &n));
    f->snap.results[0].value = 1100;
    assert_non_null((t = api_cache_copy(&c, &f->snap, &n)));
    free(t);
    f->snap.previous_status[0] = "off_track";
    assert_null(api_cache_copy(&c, &f->snap, &n));
    f->snap.previous_status[0] = "at_risk";
    f->snap.stale[2] = true;
    assert_null(api_cache_copy(&c, &f->snap, &n));
    f->snap.stale[2] = false;
    f->snap.at_s++;
    assert_null(api_cache_copy(&c, &f->snap, &n));
    f->snap.at_s--;
    f->snap.objs[0].score = 0.6;
    assert_null(api_cache_copy(&c, &f->snap, &n));
    assert_null(api_cache_copy(&c, NULL, &n));
    api_cache_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prom_label_escaping),
        cmocka_unit_test_setup_teardown(test_metrics_exposition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_shapes, setup, teardown),
        cmocka_unit_test(test_push_parse),
        cmocka_unit_test_setup_teardown(test_pace_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series_from_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
