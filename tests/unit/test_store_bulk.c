/*
 * test_store_bulk.c — store_put_points_bulk, the CSV file's insert path:
 * inside the caller's transaction, the last of a repeated metric+timestamp
 * wins (within one call and across calls, DESIGN section 3), the stored
 * points are those store_put_points stores for the same input, and an error
 * rolls the caller's whole transaction back; store_begin_bulk turns the
 * foreign-key check off for its transaction only; the sources that fed
 * each metric are recorded as store_put_points_from records them.
 *
 * Each test gets two fresh stores (store_fx.h: SQLite, or PostgreSQL).
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

#include <sqlite3.h>

#include "store/store.h"
#include "store/sqlite/sqlite_internal.h" /* the foreign-key test reads the pragma on s->db */
#define STORE_FX_NO_SETUP /* two stores per test */
#include "store_fx.h"
#include "testutil.h"

/* Two fresh stores (store_fx.h: SQLite, or PostgreSQL): the one under
 * test and a reference filled another way. */
struct bfx {
    struct fx *a, *b;
};

static int setup(void **state)
{
    struct bfx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->a = fx_new();
    f->b = fx_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct bfx *f = *state;
    fx_free(f->a);
    fx_free(f->b);
    free(f);
    return 0;
}

static double value_at(struct store *s, const char *metric, int64_t ts)
{
    struct store_point p;
    struct okrd_err err = { 0 };
    if (store_last_point(s, metric, ts, &p, &err) || p.ts != ts)
        fail_msg("no point %s@%lld: %s", metric, (long long)ts, err.msg);
    return p.value;
}

static void test_needs_a_transaction(void **state)
{
    struct bfx *f = *state;
    struct store *s = f->a->s;
    struct okrd_err err = { 0 };
    struct store_point_in p[] = { { "dau", 1, 1 } };
    assert_int_equal(store_put_points_bulk(s, NULL, p, 1, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "no transaction"));
    assert_int_equal(store_put_points_bulk(s, NULL, NULL, 0, &err), 0);
}

static void test_last_wins(void **state)
{
    struct bfx *f = *state;
    struct store *s = f->a->s;
    struct okrd_err err = { 0 };
    /* Interleaved metrics, out-of-order times, a key repeated three times
     * within the call (not next to each other) and once in a later call. */
    struct store_point_in a[] = {
        { "mau", 200, 1 }, { "dau", 100, 1 }, { "mau", 100, 2 }, { "dau", 100, 2 },
        { "dau", 50, 7 },  { "mau", 200, 3 }, { "dau", 100, 3 }, { "wau", 100, 9 },
    };
    struct store_point_in b[] = { { "mau", 200, 4 }, { "dau", 50, 8 }, { "dau", 50, 9 } };
    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(store_put_points_bulk(s, NULL, a, sizeof a / sizeof a[0], &err), 0);
    assert_true(value_at(s, "dau", 100) == 3);
    assert_true(value_at(s, "mau", 200) == 3);
    assert_int_equal(store_put_points_bulk(s, NULL, b, sizeof b / sizeof b[0], &err), 0);
    assert_int_equal(store_commit(s, &err), 0);
    assert_true(value_at(s, "dau", 100) == 3);
    assert_true(value_at(s, "dau", 50) == 9);
    assert_true(value_at(s, "mau", 200) == 4);
    assert_true(value_at(s, "mau", 100) == 2);
    assert_true(value_at(s, "wau", 100) == 9);
    struct store_series ser = { 0 };
    assert_int_equal(store_get_series(s, "dau", INT64_MIN, INT64_MAX, &ser, &err), 0);
    assert_int_equal(ser.n, 2);
    store_series_free(&ser);
}

struct dump {
    char *buf;
    size_t len, cap;
};

static int dump_point(void *ctx, const char *metric, int64_t ts, double value)
{
    struct dump *d = ctx;
    char line[256];
    int n = snprintf(line, sizeof line, "%s,%lld,%.17g\n", metric, (long long)ts, value);
    if (d->len + (size_t)n + 1 > d->cap) {
        d->cap = (d->cap + (size_t)n + 1) * 2;
        d->buf = realloc(d->buf, d->cap);
        assert_non_null(d->buf);
    }
    memcpy(d->buf + d->len, line, (size_t)n + 1);
    d->len += (size_t)n;
    return 0;
}

static char *dump_all(struct store *s)
{
    struct dump d = { 0 };
    struct okrd_err err = { 0 };
    assert_int_equal(store_each_point(s, NULL, 0, INT64_MIN, INT64_MAX, dump_point, &d, &err), 0);
    return d.buf ? d.buf : strdup("");
}

/* Many points in calls of uneven sizes, random metrics, times drawn from a
 * small range (so keys repeat within and across calls), some stored before:
 * the bulk path stores exactly what store_put_points stores. */
static void test_same_as_put_points(void **state)
{
    struct bfx *f = *state;
    struct store *s = f->a->s, *ref = f->b->s;
    struct okrd_err err = { 0 };
    static const char *const names[] = { "m_a", "m_b", "m_c", "m_d", "m_e", "m_f", "m_g" };
    enum { N = 40000 };
    struct store_point_in *p = calloc(N, sizeof *p);
    assert_non_null(p);
    unsigned seed = 12345;
    for (size_t i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i].metric = names[(seed >> 16) % 7];
        seed = seed * 1103515245u + 12345u;
        p[i].ts = (int64_t)((seed >> 16) % 3000) * 60 - 1000;
        p[i].value = (double)i;
    }
    /* some points already stored */
    assert_int_equal(store_put_points(s, p + N - 500, 500, &err), 0);
    assert_int_equal(store_put_points(ref, p + N - 500, 500, &err), 0);

    assert_int_equal(store_begin(s, &err), 0);
    size_t sizes[] = { 1, 2, 17, 4096, 9000, 16384, 10500 };
    size_t at = 0;
    for (size_t k = 0; at < N; k++) {
        size_t n = sizes[k % (sizeof sizes / sizeof sizes[0])];
        if (n > N - at)
            n = N - at;
        assert_int_equal(store_put_points_bulk(s, NULL, p + at, n, &err), 0);
        assert_int_equal(store_put_points(ref, p + at, n, &err), 0);
        at += n;
    }
    assert_int_equal(store_commit(s, &err), 0);
    char *got = dump_all(s), *want = dump_all(ref);
    assert_true(strlen(want) > 100000);
    assert_string_equal(got, want);
    free(got);
    free(want);
    free(p);
}

/* "metric:source,source\n" per metric, from store_each_metric_summary. */
static int dump_summary(void *ctx, const struct store_metric_summary *m)
{
    struct dump *d = ctx;
    char line[1024];
    int n = snprintf(line, sizeof line, "%s:", m->metric);
    for (size_t i = 0; i < m->n_sources; i++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s%s", i ? "," : "", m->sources[i]);
    n += snprintf(line + n, sizeof line - (size_t)n, "\n");
    if (d->len + (size_t)n + 1 > d->cap) {
        d->cap = (d->cap + (size_t)n + 1) * 2;
        d->buf = realloc(d->buf, d->cap);
        assert_non_null(d->buf);
    }
    memcpy(d->buf + d->len, line, (size_t)n + 1);
    d->len += (size_t)n;
    return 0;
}

static char *dump_sources(struct store *s)
{
    struct dump d = { 0 };
    struct okrd_err err = { 0 };
    if (store_each_metric_summary(s, dump_summary, &d, &err))
        fail_msg("store_each_metric_summary: %s", err.msg);
    return d.buf ? d.buf : strdup("");
}

/* Calls from three sources (and one from none) over interleaved metrics,
 * more than BULK_ROWS points each: every (metric, source) pair of a bulk
 * call is recorded, once, as store_put_points_from records it; a call that
 * fails takes its pairs back with the transaction. */
static void test_sources_as_put_points_from(void **state)
{
    struct bfx *f = *state;
    struct store *s = f->a->s, *ref = f->b->s;
    struct okrd_err err = { 0 };
    static const char *const names[] = { "m_a", "m_b", "m_c", "m_d", "m_e" };
    static const char *const sources[] = { "drops", "drops", "csv-2", NULL, "csv-3" };
    enum { N = 100 };
    struct store_point_in p[N];
    assert_int_equal(store_begin_bulk(s, &err), 0);
    for (size_t k = 0; k < 5; k++) {
        /* call k: metrics k.. k+2 (mod 5) interleaved */
        for (size_t i = 0; i < N; i++)
            p[i] = (struct store_point_in){ names[(k + i % 3) % 5], (int64_t)(k * N + i), 1.5 };
        assert_int_equal(store_put_points_bulk(s, sources[k], p, N, &err), 0);
        assert_int_equal(store_put_points_from(ref, sources[k], p, N, &err), 0);
    }
    assert_int_equal(store_commit(s, &err), 0);
    char *got = dump_sources(s), *want = dump_sources(ref);
    assert_string_equal(want, "m_a:csv-3,drops\n"
                              "m_b:csv-3,drops\n"
                              "m_c:csv-2,drops\n"
                              "m_d:csv-2,drops\n"
                              "m_e:csv-2,csv-3\n");
    assert_string_equal(got, want);
    free(got);
    free(want);

    /* a failing call: its sources go with the transaction */
    struct store_point_in bad[] = { { "m_a", 1, 1 }, { "m_new", 1, 1 }, { "m_b", 2, NAN } };
    assert_int_equal(store_begin_bulk(s, &err), 0);
    assert_int_equal(store_put_points_bulk(s, "late", bad, 2, &err), 0);
    assert_int_equal(store_put_points_bulk(s, "late", bad, 3, &err), OKRD_EINVAL);
    assert_false(store_in_transaction(s));
    got = dump_sources(s);
    assert_null(strstr(got, "late"));
    free(got);
}

/* An error undoes the caller's whole transaction, not only the call. */
static void test_error_rolls_back_the_transaction(void **state)
{
    struct bfx *f = *state;
    struct store *s = f->a->s;
    struct okrd_err err = { 0 };
    struct store_point_in kept[] = { { "dau", 1, 1 } };
    assert_int_equal(store_put_points(s, kept, 1, &err), 0);

    struct store_point_in good[] = { { "dau", 2, 2 }, { "mau", 2, 2 } };
    struct store_point_in bad[] = { { "dau", 3, 3 }, { "wau", 3, NAN } };
    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(store_put_points_bulk(s, NULL, good, 2, &err), 0);
    assert_int_equal(store_put_points_bulk(s, NULL, bad, 2, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "point 1"));
    assert_false(store_in_transaction(s));
    assert_int_equal(store_commit(s, &err), OKRD_EINVAL); /* nothing left to commit */
    char *all = dump_all(s);
    assert_string_equal(all, "dau,1,1\n");
    free(all);
}

static int pragma_fk(struct store *s)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(SQ(s)->db, "PRAGMA foreign_keys", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int on = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return on;
}

/* Off for the bulk transaction, on again after its commit or rollback
 * (the outbox's ON DELETE CASCADE needs it), untouched by store_begin. */
static void test_bulk_begin_foreign_keys(void **state)
{
    fx_sqlite_only(); /* SQLite's PRAGMA foreign_keys */
    struct bfx *f = *state;
    struct store *s = f->a->s;
    struct okrd_err err = { 0 };
    struct store_point_in p[] = { { "dau", 1, 1 }, { "mau", 1, 2 } };
    assert_int_equal(pragma_fk(s), 1);
    assert_int_equal(store_begin_bulk(s, &err), 0);
    assert_int_equal(pragma_fk(s), 0);
    assert_int_equal(store_put_points_bulk(s, NULL, p, 2, &err), 0);
    assert_int_equal(store_commit(s, &err), 0);
    assert_int_equal(pragma_fk(s), 1);
    assert_true(value_at(s, "mau", 1) == 2);

    assert_int_equal(store_begin_bulk(s, &err), 0);
    assert_int_equal(pragma_fk(s), 0);
    store_rollback(s);
    assert_int_equal(pragma_fk(s), 1);

    assert_int_equal(store_begin_bulk(s, &err), 0);
    assert_int_equal(store_begin_bulk(s, &err), OKRD_EINVAL); /* one is open */
    struct store_point_in bad[] = { { "dau", 2, NAN } };
    assert_int_equal(store_put_points_bulk(s, NULL, bad, 1, &err), OKRD_EINVAL); /* rolls back */
    assert_false(store_in_transaction(s));
    assert_int_equal(pragma_fk(s), 1);

    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(pragma_fk(s), 1);
    assert_int_equal(store_commit(s, &err), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_needs_a_transaction),
        T(test_last_wins),
        T(test_same_as_put_points),
        T(test_sources_as_put_points_from),
        T(test_error_rolls_back_the_transaction),
        T(test_bulk_begin_foreign_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
