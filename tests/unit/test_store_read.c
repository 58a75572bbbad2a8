/*
 * test_store_read.c — store/store_read.c: the summary reads that let the
 * API check its point cap before loading a series and `okrd check` lint
 * without reading whole histories (issue 12, items 7 and 9).
 *
 * Each test gets its own temporary state_dir and fresh database. The lint
 * test compares the store's summaries with the predicates of okr/ applied
 * to the whole history, which is what `okrd check` computed before.
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

#include "okr/okr.h"
#include "store/store.h"
#include "store_fx.h"
#include "testutil.h"

#define DAY 86400LL
#define T0 1790812800LL /* 2026-10-01T00:00:00Z */

static void put(struct store *s, const char *metric, int64_t ts, double v)
{
    struct okrd_err err = { 0 };
    struct store_point_in p = { metric, ts, v };
    if (store_put_points(s, &p, 1, &err) != 0)
        fail_msg("put %s %lld: %s", metric, (long long)ts, err.msg);
}

static void put_many(struct store *s, const char *metric, const int64_t *ts, const double *v,
                     size_t n)
{
    struct store_point_in *p = calloc(n, sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (struct store_point_in){ metric, ts[i], v[i] };
    struct okrd_err err = { 0 };
    if (store_put_points(s, p, n, &err) != 0)
        fail_msg("put %zu points: %s", n, err.msg);
    free(p);
}

static void test_count_points(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    enum { N = 1000 };
    int64_t ts[N];
    double v[N];
    for (int i = 0; i < N; i++) {
        ts[i] = T0 + i * 60;
        v[i] = i;
    }
    put_many(f->s, "dau", ts, v, N);
    put(f->s, "other", T0, 1);
    size_t n = 99;
    assert_int_equal(store_count_points(f->s, "dau", T0, T0 + N * 60, 5000, &n, &err), 0);
    assert_int_equal(n, N);
    /* from inclusive, to exclusive */
    assert_int_equal(store_count_points(f->s, "dau", T0 + 60, T0 + 120, 5000, &n, &err), 0);
    assert_int_equal(n, 1);
    /* the limit caps the count (and the walk) */
    assert_int_equal(store_count_points(f->s, "dau", T0, T0 + N * 60, 101, &n, &err), 0);
    assert_int_equal(n, 101);
    assert_int_equal(store_count_points(f->s, "dau", INT64_MIN, INT64_MAX, SIZE_MAX, &n, &err), 0);
    assert_int_equal(n, N);
    assert_int_equal(store_count_points(f->s, "nope", INT64_MIN, INT64_MAX, 10, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_count_points(f->s, "dau", T0 + 10, T0 + 10, 10, &n, &err), 0);
    assert_int_equal(n, 0);
}

static void test_is_binary(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    bool b = true;
    assert_int_equal(store_metric_is_binary(f->s, "launched", &b, &err), 0);
    assert_false(b); /* unknown metric */
    put(f->s, "launched", T0, 0);
    assert_int_equal(store_metric_is_binary(f->s, "launched", &b, &err), 0);
    assert_false(b); /* one point says nothing */
    put(f->s, "launched", T0 + DAY, 1);
    put(f->s, "launched", T0 + 2 * DAY, -0.0);
    assert_int_equal(store_metric_is_binary(f->s, "launched", &b, &err), 0);
    assert_true(b);
    /* one other value, however old, and it is not binary */
    put(f->s, "launched", T0 - 400 * DAY, 0.5);
    assert_int_equal(store_metric_is_binary(f->s, "launched", &b, &err), 0);
    assert_false(b);
    /* a corrected export replaces it: binary again */
    put(f->s, "launched", T0 - 400 * DAY, 1);
    assert_int_equal(store_metric_is_binary(f->s, "launched", &b, &err), 0);
    assert_true(b);
    put(f->s, "dau", T0, 2);
    put(f->s, "dau", T0 + 1, 1);
    assert_int_equal(store_metric_is_binary(f->s, "dau", &b, &err), 0);
    assert_false(b);
    assert_int_equal(store_metric_is_binary(f->s, "launched", &b, &err), 0);
    assert_true(b); /* another metric's values do not count */
}

static void test_newest_in_ranges(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    put(f->s, "m", T0 + 10, 1);
    put(f->s, "m", T0 + 20, 2);          /* newest of day 0 */
    put(f->s, "m", T0 + 2 * DAY, 3);     /* day 2 starts with it */
    put(f->s, "m", T0 + 3 * DAY - 1, 4); /* day 2's last second */
    put(f->s, "m", T0 + 3 * DAY, 5);     /* day 3: past the last bound */
    int64_t bounds[] = { T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY };
    struct store_series out = { 0 };
    assert_int_equal(store_newest_in_ranges(f->s, "m", bounds, 4, &out, &err), 0);
    assert_int_equal(out.n, 2); /* day 1 has none */
    assert_int_equal(out.pts[0].ts, T0 + 20);
    assert_true(out.pts[0].value == 2);
    assert_int_equal(out.pts[1].ts, T0 + 3 * DAY - 1);
    assert_true(out.pts[1].value == 4);
    assert_int_equal(store_newest_in_ranges(f->s, "none", bounds, 4, &out, &err), 0);
    assert_int_equal(out.n, 0);
    store_series_free(&out);
}

/* `okrd check`'s weekly-pattern lint from the store's day summaries agrees
 * with the predicate on the whole history: hourly points over 20 weeks,
 * with and without a weekday dip, in UTC and in a zone with a DST change. */
static void test_weekly_lint_from_summaries(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    enum { N = 20 * 7 * 24 };
    static int64_t ts[N];
    static double v[N];
    struct okrd_tz *berlin = NULL;
    assert_int_equal(okrd_tz_open(&berlin, "Europe/Berlin", &err), 0);
    const struct okrd_tz *zones[] = { NULL, berlin };
    for (int pattern = 0; pattern < 2; pattern++) {
        char metric[16];
        snprintf(metric, sizeof metric, "m%d", pattern);
        uint32_t seed = 99;
        for (int i = 0; i < N; i++) {
            seed = seed * 1103515245u + 12345u;
            ts[i] = T0 - 100 * DAY + i * 3600;
            int wday = (int)((ts[i] / DAY + 4) % 7); /* 0 = Sunday */
            v[i] = 1000 + i * 0.1 + (seed >> 16) % 7 + (pattern && (wday == 0 || wday == 6) ? -300 : 0);
        }
        put_many(f->s, metric, ts, v, N);
        struct okr_series whole = { ts, v, N };
        for (size_t z = 0; z < 2; z++) {
            bool want = okr_series_has_weekly_pattern(&whole, zones[z]);
            assert_int_equal(want, pattern == 1); /* the data is what it claims */
            int64_t bounds[OKR_WEEKLY_DAYS + 1];
            size_t nb = okr_weekly_pattern_days(zones[z], ts[N - 1], bounds);
            assert_int_equal(nb, OKR_WEEKLY_DAYS + 1);
            struct store_series days = { 0 };
            assert_int_equal(store_newest_in_ranges(f->s, metric, bounds, nb, &days, &err), 0);
            assert_int_equal(days.n, OKR_WEEKLY_DAYS);
            int64_t dts[OKR_WEEKLY_DAYS];
            double dv[OKR_WEEKLY_DAYS];
            for (size_t i = 0; i < days.n; i++) {
                dts[i] = days.pts[i].ts;
                dv[i] = days.pts[i].value;
            }
            struct okr_series summary = { dts, dv, days.n };
            assert_int_equal(okr_series_has_weekly_pattern(&summary, zones[z]), want);
            store_series_free(&days);
        }
    }
    okrd_tz_close(berlin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_count_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_is_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newest_in_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weekly_lint_from_summaries, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
