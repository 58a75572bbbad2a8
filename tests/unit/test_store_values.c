/*
 * test_store_values.c — what store.c does to values before any backend
 * sees them (DESIGN section 10: "-0.0 stored as 0 and NaN never stored (on
 * both backends); text sanitized to valid UTF-8 without NUL before it is
 * stored"): -0.0 comes back as +0.0 from points, key-result state and
 * check-ins; a NaN point is refused naming the point; an error text or an
 * ingest report holding invalid UTF-8 comes back with '?' for each bad
 * byte. Runs through the shared fixture, so on either backend.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_fx.h"

static void test_negative_zero_point(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct store_point_in p[] = { { "m", 10, -0.0 }, { "m", 20, 1.5 } };
    assert_int_equal(store_put_points(f->s, p, 2, &err), 0);
    struct store_series ser = { 0 };
    assert_int_equal(store_get_series(f->s, "m", 0, 100, &ser, &err), 0);
    assert_int_equal(ser.n, 2);
    assert_true(ser.pts[0].value == 0.0);
    assert_false(signbit(ser.pts[0].value));
    assert_true(ser.pts[1].value == 1.5);
    store_series_free(&ser);
    /* the caller's array is left as it was */
    assert_true(signbit(p[0].value));
}

static void test_nan_point_refused(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct store_point_in p[] = { { "m", 10, 1 }, { "m", 20, NAN } };
    assert_int_equal(store_put_points(f->s, p, 2, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "point 1"));
    assert_non_null(strstr(err.msg, "not finite"));
    struct store_point out;
    assert_int_equal(store_last_point(f->s, "m", 100, &out, &err), OKRD_ENOTFOUND);
}

static void test_negative_zero_kr_state(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct store_kr_state st = { .status = "on_track", .since_s = 1, .evaluated_at_s = 2,
                                 .value = -0.0, .progress = -0.0, .expected = NAN,
                                 .projected_score = -0.0, .score = 0.5 };
    assert_int_equal(store_put_kr_state(f->s, "kr_a", &st, &err), 0);
    struct store_kr_state got;
    assert_int_equal(store_get_kr_state(f->s, "kr_a", &got, &err), 0);
    assert_false(signbit(got.value));
    assert_false(signbit(got.progress));
    assert_false(signbit(got.projected_score));
    assert_true(isnan(got.expected));
    assert_true(got.score == 0.5);
}

static void test_negative_zero_checkin(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct okrd_checkin c = { .id = "chk_01JDQ0000000000000000000AA", .key_result = "kr_a",
                              .cycle_start = "2026-10-01", .seq = 1, .at_s = 100,
                              .author = "alice", .confidence = OKRD_CHECKIN_NO_CONFIDENCE,
                              .value = -0.0, .grade = NAN };
    assert_int_equal(store_insert_checkin(f->s, &c, &err), 0);
    struct okrd_checkin got = { 0 };
    assert_int_equal(store_latest_checkin(f->s, "kr_a", "2026-10-01", 1000, &got, &err), 0);
    assert_true(got.value == 0.0);
    assert_false(signbit(got.value));
    okrd_checkin_clear(&got);
}

static void test_error_text_made_utf8(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct store_source_health h = { .last_error_s = 5, .consecutive_failures = 1 };
    strcpy(h.last_error, "HTTP 500: \xff\xfe caf\xc3\xa9 \xc3(");
    assert_int_equal(store_put_source_health(f->s, "api", &h, &err), 0);
    struct store_source_health got;
    assert_int_equal(store_get_source_health(f->s, "api", &got, &err), 0);
    assert_string_equal(got.last_error, "HTTP 500: ?? caf\xc3\xa9 ?(");
}

static void test_ingest_report_made_utf8(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    struct store_ingest in = { .source = "csv", .name = "da\xe9ly.csv", .sha256 = sha,
                               .rows = 3, .outcome = "partial", .at_s = 9,
                               .report = "[{\"row\":2,\"why\":\"bad \xe9\"}]" };
    assert_int_equal(store_log_ingest(f->s, &in, &err), 0);
    bool seen = false;
    char *report = NULL;
    assert_int_equal(store_ingest_seen(f->s, "csv", sha, &seen, &report, &err), 0);
    assert_true(seen);
    assert_string_equal(report, "[{\"row\":2,\"why\":\"bad ?\"}]");
    free(report);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_negative_zero_point),  T(test_nan_point_refused),
        T(test_negative_zero_kr_state), T(test_negative_zero_checkin),
        T(test_error_text_made_utf8), T(test_ingest_report_made_utf8),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
