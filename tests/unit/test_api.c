/*
 * test_api.c — the pure builders behind the HTTP API (api/): the Prometheus
 * exposition writer (escaping, undefined numbers omitted), the JSON shapes,
 * push body validation (a table: every row names its case), the token
 * comparison, numbers for people, the pace line, the series read from a
 * real store, the dashboard's HTML (escaping; no data, one point, values
 * far beyond the target), the chart's y range (it holds every drawn value,
 * the target and the pace line), and the rendering cache's key. The server itself is tested end to end
 * (tests/e2e/test_api.py).
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
    struct api_metrics_in in = { &f->snap, src, 4, wh, 1, 5, &proc };
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
                                      "last_point_at", "score", "owner", "check_in" };
    for (size_t i = 0; i < 3; i++)
        assert_keys(json_array_get(krs, i), kr, 19);
    json_t *k0 = json_array_get(krs, 0);
    /* DESIGN section 8: the objective's owner unless the key result names its own */
    assert_string_equal(json_string_value(json_object_get(k0, "owner")), "Growth & 'Co'");
    assert_string_equal(json_string_value(json_object_get(json_array_get(krs, 1), "owner")),
                        "<@U024BE7LH>");
    assert_true(json_is_integer(json_object_get(k0, "value")));
    assert_string_equal(json_string_value(json_object_get(k0, "previous_status")), "at_risk");
    assert_true(json_is_null(json_object_get(json_array_get(krs, 1), "value")));
    json_decref(doc);

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

/* ---- numbers for people ---- */

static void test_human_numbers(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *want;
    } nums[] = {
        { 0, "0" }, { 950, "950" }, { 12.5, "12.5" }, { 0.25, "0.25" }, { 3.14159, "3.14" },
        { 999.4, "999" }, { 999.6, "1k" }, { 1234, "1.23k" }, { 1080, "1.08k" }, { 45600, "45.6k" }, { 1000, "1k" }, { 45000, "45k" },
        { 123456, "123k" }, { 999999, "1M" }, { 1.2e6, "1.2M" }, { 3.4e9, "3.4B" }, { 2e12, "2T" },
        { -1234, "-1.23k" }, { -0.5, "-0.5" }, { 0.004, "0.004" }, { NAN, "\xe2\x80\x93" },
    };
    char buf[32];
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        api_human_number(nums[i].v, buf, sizeof buf);
        if (strcmp(buf, nums[i].want))
            fail_msg("human %g: %s, want %s", nums[i].v, buf, nums[i].want);
    }
    static const struct {
        double v;
        const char *want;
    } pct[] = { { 0.45, "45%" }, { 1.234, "123%" }, { 0.005, "0.5%" }, { 0, "0%" }, { -0.12, "-12%" },
                { 0.0999, "10%" }, { 12.5, "1.25k%" }, { 5e7, "5B%" }, { 1, "100%" }, { NAN, "\xe2\x80\x93" } };
    for (size_t i = 0; i < sizeof pct / sizeof *pct; i++) {
        api_human_percent(pct[i].v, buf, sizeof buf);
        if (strcmp(buf, pct[i].want))
            fail_msg("percent %g: %s, want %s", pct[i].v, buf, pct[i].want);
    }
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
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/okrd.db", dir);
    struct store *st;
    struct okrd_err err = { 0 };
    assert_int_equal(store_open(&st, path, 0, &err), 0);
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
    store_close(st);
    tu_rm_rf(dir);
    free(dir);
}

/* ---- the dashboard ---- */

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_dashboard_escaping(void **state)
{
    struct fixture *f = *state;
    struct api_buf b = { 0 };
    api_dashboard_write(&b, &f->snap, NULL, Q4 + 46 * DAY);
    assert_false(b.failed);
    const char *t = b.p;
    /* one script, okrd's own (the CSP allows exactly its bytes), and no
     * inline style attribute (the CSP allows only the hashed <style>) */
    assert_int_equal(count(t, "<script"), 1);
    char *own = malloc(strlen(api_dashboard_script) + 32);
    sprintf(own, "<script>%s</script>", api_dashboard_script);
    assert_non_null(strstr(t, own));
    free(own);
    assert_int_equal(count(t, "<style>"), 1);
    assert_non_null(strstr(t, api_dashboard_css));
    assert_null(strstr(t, "style=\""));
    assert_null(strstr(api_dashboard_script, "innerHTML"));
    assert_null(strstr(t, "<b>DAU"));
    assert_null(strstr(t, "<visits>"));
    assert_non_null(strstr(t, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"));
    assert_non_null(strstr(t, "Grow &lt;b&gt;DAU&lt;/b&gt;"));
    assert_non_null(strstr(t, "Growth &amp; &#39;Co&#39;"));
    assert_non_null(strstr(t, "&lt;visits&gt;"));
    /* self-contained: no external reference */
    assert_null(strstr(t, "src="));
    assert_null(strstr(t, "<link"));
    assert_null(strstr(t, "@import"));
    assert_non_null(strstr(t, "name=\"viewport\""));
    assert_non_null(strstr(t, "@media print"));
    /* one chart per key result, one status label each (plus the summary) */
    assert_int_equal(count(t, "<svg class=\"chart\""), 3);
    assert_int_equal(count(t, "<article class=\"kr"), 3);
    assert_non_null(strstr(t, "data-status=\"on_track\""));
    assert_non_null(strstr(t, "<span class=\"status st-on_track\">on track</span>"));
    assert_non_null(strstr(t, "<span class=\"status st-no_data\">no data</span>"));
    assert_non_null(strstr(t, "<span class=\"flag\">stale</span>"));
    assert_non_null(strstr(t, "value <b>1.1k</b>"));
    assert_non_null(strstr(t, "50% done"));
    api_buf_free(&b);

    api_dashboard_write(&b, NULL, NULL, Q4);
    assert_non_null(strstr(b.p, "first evaluation"));
    assert_non_null(strstr(b.p, api_dashboard_script));
    assert_non_null(strstr(b.p, "</html>"));
    api_buf_free(&b);
}

static void chart(struct fixture *f, const struct api_pair *pts, size_t n, struct api_buf *b)
{
    struct api_kr_series se = { .pts = (struct api_pair *)pts, .n = n };
    const struct cfg_cycle *c = &f->cfg->objectives[0].cycle;
    api_pace_line(f->snap.krs[0], &f->snap.results[0], c->start_s, c->end_s, &se);
    api_chart_svg(b, f->snap.krs[0], &f->snap.results[0], &se, Q4 + 46 * DAY);
    assert_false(b->failed);
    assert_null(strstr(b->p, "nan"));
    assert_null(strstr(b->p, "inf"));
}

/* The y coordinates the SVG draws at (polyline vertices, dots, lines) all
 * lie within the plot rectangle, and the dots of PTS (which must all be
 * drawn, one dot each) keep the order of their values: a clamped value
 * would share the frame's y with its neighbours. STRICT: distinct values
 * are at distinct heights (not so when one outlier squeezes the others
 * into one 0.1-unit step of the SVG's coordinates). */
static void assert_plotted_inside(const char *svg, const struct api_pair *pts, size_t n,
                                  bool strict)
{
    double x, y, w, h;
    const char *r = strstr(svg, "<rect class=\"plot\"");
    assert_non_null(r);
    assert_int_equal(sscanf(r, "<rect class=\"plot\" x=\"%lf\" y=\"%lf\" width=\"%lf\" "
                               "height=\"%lf\"", &x, &y, &w, &h), 4);
    double top = y, bottom = y + h;
    size_t seen = 0;
    for (const char *p = svg; (p = strstr(p, "points=\"")); ) {
        p += 8;
        double px_, py_;
        int used;
        while (sscanf(p, "%lf,%lf%n", &px_, &py_, &used) == 2) {
            if (py_ < top || py_ > bottom)
                fail_msg("polyline vertex y %.1f outside the plot [%.1f, %.1f]", py_, top, bottom);
            seen++;
            p += used;
            while (*p == ' ')
                p++;
        }
    }
    for (const char *p = svg; (p = strstr(p, " y1=\"")); p++) {
        double y1 = atof(p + 5), y2 = atof(strstr(p, " y2=\"") + 5);
        if (y1 < top || y1 > bottom || y2 < top || y2 > bottom)
            fail_msg("line y %.1f..%.1f outside the plot [%.1f, %.1f]", y1, y2, top, bottom);
    }
    double cy[64];
    size_t nc = 0;
    for (const char *p = svg; (p = strstr(p, " cy=\"")) && nc < 64; p++)
        cy[nc++] = atof(p + 5);
    assert_true(seen > 0);
    assert_int_equal(nc, n);
    for (size_t i = 0; i < n; i++) {
        if (cy[i] < top || cy[i] > bottom)
            fail_msg("dot %zu (value %g) at y %.1f outside the plot [%.1f, %.1f]", i, pts[i].v,
                     cy[i], top, bottom);
        for (size_t j = 0; j < n; j++)
            if (pts[i].v > pts[j].v && (strict ? !(cy[i] < cy[j]) : !(cy[i] <= cy[j])))
                fail_msg("value %g is drawn at y %.1f, not above %g at y %.1f (clamped)",
                         pts[i].v, cy[i], pts[j].v, cy[j]);
    }
}

/* The y range holds the baseline, the target, every point in the span and
 * every pace vertex, whatever their spread (a table; each row names its
 * case). */
static void test_chart_y_range(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        double baseline, target;
        struct api_pair pts[6];
        size_t n;
        struct api_pair pace[3];
        size_t n_pace;
        double must_hold[3]; /* beyond pts: values the range must hold */
        double must_not_hold; /* NAN: none */
    } cases[] = {
        { "level key result above a close baseline (the demo's CSAT)", 7.8, 8,
          { { Q4, 7.8 }, { Q4 + DAY, 8.4 }, { Q4 + 2 * DAY, 8.7 }, { Q4 + 3 * DAY, 8.1 } }, 4,
          { { Q4, 8 }, { Q4 + 90 * DAY, 8 } }, 2, { 7.8, 8, 8 }, NAN },
        { "at_most far below its target", NAN, 300,
          { { Q4, 280 }, { Q4 + DAY, 12 }, { Q4 + 2 * DAY, 310 } }, 3,
          { { Q4, 300 }, { Q4 + 90 * DAY, 300 } }, 2, { 300, 300, 300 }, NAN },
        { "an outlier of five billion", 1000, 1200,
          { { Q4, 1000 }, { Q4 + DAY, 5e9 }, { Q4 + 2 * DAY, -3e6 } }, 3,
          { { Q4, 1000 }, { Q4 + 90 * DAY, 1200 } }, 2, { 1000, 1200, 1200 }, NAN },
        { "decrease: pace above every value", 5, 3,
          { { Q4 + DAY, 2.5 }, { Q4 + 2 * DAY, 2.4 } }, 2,
          { { Q4, 5 }, { Q4 + 45 * DAY, 4.2 }, { Q4 + 90 * DAY, 3 } }, 3, { 5, 4.2, 3 }, NAN },
        { "no baseline or target: the data alone", NAN, NAN,
          { { Q4 + DAY, -4 }, { Q4 + 2 * DAY, 9 } }, 2, { { 0 } }, 0, { -4, 9, 0 }, NAN },
        { "one value equal to the target", NAN, 40, { { Q4 + DAY, 40 } }, 1, { { 0 } }, 0,
          { 40, 40, 40 }, NAN },
        { "a point outside the span is not drawn and does not stretch it", 0, 10,
          { { Q4 - DAY, 1e6 }, { Q4 + DAY, 5 }, { Q4 + 91 * DAY, -1e6 } }, 3, { { 0 } }, 0,
          { 0, 10, 5 }, 1e6 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct api_kr_series se = { .pts = (struct api_pair *)cases[c].pts, .n = cases[c].n,
                                    .n_pace = cases[c].n_pace };
        memcpy(se.pace, cases[c].pace, sizeof cases[c].pace);
        double lo = NAN, hi = NAN;
        api_chart_y_range(cases[c].baseline, cases[c].target, &se, Q4, Q4 + 91 * DAY, &lo, &hi);
        if (!(isfinite(lo) && isfinite(hi) && lo < hi))
            fail_msg("%s: range [%g, %g]", cases[c].name, lo, hi);
        double hold[16];
        size_t nh = 0;
        for (size_t i = 0; i < cases[c].n; i++)
            if (cases[c].pts[i].ts >= Q4 && cases[c].pts[i].ts < Q4 + 91 * DAY)
                hold[nh++] = cases[c].pts[i].v;
        for (size_t i = 0; i < cases[c].n_pace; i++)
            hold[nh++] = cases[c].pace[i].v;
        for (size_t i = 0; i < 3; i++)
            hold[nh++] = cases[c].must_hold[i];
        if (isfinite(cases[c].baseline))
            hold[nh++] = cases[c].baseline;
        if (isfinite(cases[c].target))
            hold[nh++] = cases[c].target;
        for (size_t i = 0; i < nh; i++) {
            /* strictly inside: a margin, so a line at the extreme is not
             * drawn on the frame */
            if (!(hold[i] > lo && hold[i] < hi))
                fail_msg("%s: %g is not inside the range [%g, %g]", cases[c].name, hold[i], lo, hi);
        }
        if (!isnan(cases[c].must_not_hold) && cases[c].must_not_hold <= hi)
            fail_msg("%s: the range [%g, %g] stretches to %g", cases[c].name, lo, hi,
                     cases[c].must_not_hold);
    }
    /* nothing at all: a unit range, still finite */
    double lo, hi;
    api_chart_y_range(NAN, NAN, NULL, Q4, Q4 + DAY, &lo, &hi);
    assert_true(isfinite(lo) && isfinite(hi) && lo < hi);
}

/* The demo's CSAT: an at_least key result whose values rise above the
 * baseline-to-target span; the chart draws each one at its own height. */
static void test_chart_level_kr_not_clipped(void **state)
{
    struct fixture *f = *state;
    struct okr_result *r = &f->snap.results[2]; /* "adopt": at_least 40 */
    r->status = OKR_ON_TRACK;
    r->baseline = 39;
    r->target = 40;
    r->value = 43.5;
    const struct api_pair pts[] = { { Q4 + DAY, 39 }, { Q4 + 5 * DAY, 40.6 }, { Q4 + 9 * DAY, 43.2 },
                                    { Q4 + 13 * DAY, 43.5 }, { Q4 + 17 * DAY, 41.9 } };
    struct api_kr_series se = { .pts = (struct api_pair *)pts, .n = 5 };
    const struct cfg_cycle *c = &f->cfg->objectives[0].cycle;
    api_pace_line(f->snap.krs[2], r, c->start_s, c->end_s, &se);
    assert_true(se.n_pace >= 2);
    struct api_buf b = { 0 };
    api_chart_svg(&b, f->snap.krs[2], r, &se, Q4 + 46 * DAY);
    assert_false(b.failed);
    assert_null(strstr(b.p, "off the scale"));
    assert_plotted_inside(b.p, pts, 5, true);
    api_buf_free(&b);
}

static void test_chart_cases(void **state)
{
    struct fixture *f = *state;
    struct api_buf b = { 0 };
    /* no data: the frame, the pace line, a note */
    chart(f, NULL, 0, &b);
    assert_non_null(strstr(b.p, "no data in this cycle yet"));
    assert_non_null(strstr(b.p, "class=\"pace\""));
    assert_non_null(strstr(b.p, "class=\"target\""));
    assert_non_null(strstr(b.p, "class=\"today\""));
    assert_null(strstr(b.p, "class=\"value\""));
    api_buf_free(&b);
    /* one point: a dot, no line */
    const struct api_pair one[] = { { Q4 + 5 * DAY, 1010 } };
    chart(f, one, 1, &b);
    assert_int_equal(count(b.p, "<circle"), 1);
    assert_null(strstr(b.p, "class=\"value\""));
    assert_null(strstr(b.p, "no data"));
    api_buf_free(&b);
    /* far beyond the target: the scale holds it (nothing cut at the frame) */
    const struct api_pair huge[] = { { Q4 + DAY, 1000 }, { Q4 + 2 * DAY, 5e9 }, { Q4 + 3 * DAY, 1100 } };
    chart(f, huge, 3, &b);
    assert_null(strstr(b.p, "off the scale"));
    assert_non_null(strstr(b.p, "class=\"value\""));
    assert_plotted_inside(b.p, huge, 3, false);
    api_buf_free(&b);
    /* no data and no baseline/target (a no_data key result) still renders */
    struct api_kr_series empty = { 0 };
    api_chart_svg(&b, f->snap.krs[1], &f->snap.results[1], &empty, Q4);
    assert_non_null(strstr(b.p, "</svg>"));
    assert_null(strstr(b.p, "nan"));
    api_buf_free(&b);
    /* thousands of points: thinned */
    size_t n = 5000;
    struct api_pair *many = malloc(n * sizeof *many);
    for (size_t i = 0; i < n; i++)
        many[i] = (struct api_pair){ Q4 + (int64_t)i * 1500, 1000 + (double)i / 50 };
    chart(f, many, n, &b);
    assert_true(count(b.p, ",") < 1000);
    assert_int_equal(count(b.p, "<circle"), 1);
    free(many);
    api_buf_free(&b);
}

/* ---- the rendering cache ---- */

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
        cmocka_unit_test(test_human_numbers),
        cmocka_unit_test_setup_teardown(test_pace_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series_from_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chart_cases, setup, teardown),
        cmocka_unit_test(test_chart_y_range),
        cmocka_unit_test_setup_teardown(test_chart_level_kr_not_clipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
