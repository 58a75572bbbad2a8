/*
 * test_store_metrics.c — store/store_metrics.c and the source bookkeeping
 * of store_put_points_from (issue 14, item 9: `okrd metrics`): per metric
 * the point count, the oldest and newest point, the newest value and the
 * sources that fed it; a metric row without points; the migration that
 * adds the sources table to a store made before it.
 *
 * Each test gets its own temporary state_dir and fresh database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_fx.h"
#include "testutil.h"

#define DAY 86400LL
#define T0 1790812800LL /* 2026-10-01T00:00:00Z */

static void put_from(struct store *s, const char *source, const struct store_point_in *p, size_t n)
{
    struct okrd_err err = { 0 };
    if (store_put_points_from(s, source, p, n, &err) != 0)
        fail_msg("put %zu points from %s: %s", n, source ? source : "(none)", err.msg);
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* What the walk reported, copied out of the callback. */
struct seen {
    char metric[129];
    int64_t points, first_s, last_s;
    double last_value;
    char sources[256]; /* comma-joined */
};
struct walk {
    struct seen v[64];
    size_t n;
    size_t stop_after; /* 0: never */
};

static int on_summary(void *ctx, const struct store_metric_summary *m)
{
    struct walk *w = ctx;
    assert_true(w->n < 64);
    struct seen *e = &w->v[w->n++];
    snprintf(e->metric, sizeof e->metric, "%s", m->metric);
    e->points = m->points;
    e->first_s = m->first_s;
    e->last_s = m->last_s;
    e->last_value = m->last_value;
    e->sources[0] = '\0';
    for (size_t i = 0; i < m->n_sources; i++) {
        if (i)
            strcat(e->sources, ",");
        strcat(e->sources, m->sources[i]);
    }
    return w->stop_after && w->n == w->stop_after ? 7 : 0;
}

static void walk_all(struct store *s, struct walk *w)
{
    struct okrd_err err = { 0 };
    int rc = store_each_metric_summary(s, on_summary, w, &err);
    if (rc != 0)
        fail_msg("store_each_metric_summary: %d %s", rc, err.msg);
}

static void test_counts_first_last_sources(void **state)
{
    struct fx *f = *state;
    /* dau: written out of order, so the newest value is not the last written. */
    struct store_point_in a[] = {
        { "dau", T0 + 2 * DAY, 30 }, { "dau", T0, 10 }, { "dau", T0 + DAY, 20 },
    };
    put_from(f->s, "analytics", a, 3);
    /* A push replaces one value (no new point) and adds an older one. */
    struct store_point_in b[] = { { "dau", T0 + 2 * DAY, 33 }, { "dau", T0 - DAY, 5 } };
    put_from(f->s, "push", b, 2);
    put_from(f->s, "analytics", &a[1], 1); /* the same source again: listed once */
    /* revenue: written with no source (store_put_points): none recorded. */
    struct okrd_err err = { 0 };
    struct store_point_in r = { "revenue", T0 + 5 * DAY, 1.5 };
    assert_int_equal(store_put_points(f->s, &r, 1, &err), 0);

    struct walk w = { 0 };
    walk_all(f->s, &w);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.v[0].metric, "dau");
    assert_int_equal(w.v[0].points, 4);
    assert_int_equal(w.v[0].first_s, T0 - DAY);
    assert_int_equal(w.v[0].last_s, T0 + 2 * DAY);
    assert_true(w.v[0].last_value == 33);
    assert_string_equal(w.v[0].sources, "analytics,push");
    assert_string_equal(w.v[1].metric, "revenue");
    assert_int_equal(w.v[1].points, 1);
    assert_int_equal(w.v[1].first_s, T0 + 5 * DAY);
    assert_int_equal(w.v[1].last_s, T0 + 5 * DAY);
    assert_true(w.v[1].last_value == 1.5);
    assert_string_equal(w.v[1].sources, "");
}

/* A wide CSV batch interleaves metrics; more of them than the writer's
 * little "already recorded" memory still gets every (metric, source). */
static void test_interleaved_batch_records_every_metric(void **state)
{
    struct fx *f = *state;
    enum { METRICS = 40, ROWS = 3 };
    static char names[METRICS][16];
    struct store_point_in p[METRICS * ROWS];
    for (int m = 0; m < METRICS; m++)
        snprintf(names[m], sizeof names[m], "m%02d", m);
    for (int r = 0; r < ROWS; r++)
        for (int m = 0; m < METRICS; m++)
            p[r * METRICS + m] = (struct store_point_in){ names[m], T0 + r * DAY, r + m };
    put_from(f->s, "wide", p, METRICS * ROWS);
    struct walk w = { 0 };
    walk_all(f->s, &w);
    assert_int_equal(w.n, METRICS);
    for (int m = 0; m < METRICS; m++) {
        assert_string_equal(w.v[m].metric, names[m]);
        assert_int_equal(w.v[m].points, ROWS);
        assert_true(w.v[m].last_value == ROWS - 1 + m);
        assert_string_equal(w.v[m].sources, "wide");
    }
}

/* The source row belongs to the points' transaction: rolled back with them. */
static void test_source_rolls_back_with_points(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct store_point_in p = { "dau", T0, 1 };
    put_from(f->s, "kept", &p, 1);
    assert_int_equal(store_begin(f->s, &err), 0);
    p.ts = T0 + DAY;
    put_from(f->s, "undone", &p, 1);
    store_rollback(f->s);
    struct walk w = { 0 };
    walk_all(f->s, &w);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.v[0].points, 1);
    assert_string_equal(w.v[0].sources, "kept");
}

/* A metric id the store knows with no point: 0, zero times, NaN value. */
static void test_metric_without_points(void **state)
{
    struct fx *f = *state;
    struct store_point_in p = { "b", T0, 1 };
    put_from(f->s, "src", &p, 1);
    fx_raw_exec(f, "INSERT INTO metrics(name) VALUES ('a'), ('c')");
    struct walk w = { 0 };
    walk_all(f->s, &w);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.v[0].metric, "a");
    assert_int_equal(w.v[0].points, 0);
    assert_int_equal(w.v[0].first_s, 0);
    assert_int_equal(w.v[0].last_s, 0);
    assert_true(isnan(w.v[0].last_value));
    assert_string_equal(w.v[0].sources, "");
    assert_string_equal(w.v[1].metric, "b");
    assert_int_equal(w.v[1].points, 1);
    assert_string_equal(w.v[2].metric, "c");
    assert_int_equal(w.v[2].points, 0);
}

static void test_empty_store_and_stop(void **state)
{
    struct fx *f = *state;
    struct walk w = { 0 };
    walk_all(f->s, &w);
    assert_int_equal(w.n, 0);
    struct store_point_in p[] = { { "a", T0, 1 }, { "b", T0, 2 }, { "c", T0, 3 } };
    put_from(f->s, "src", p, 3);
    w = (struct walk){ .stop_after = 2 };
    struct okrd_err err = { 0 };
    assert_int_equal(store_each_metric_summary(f->s, on_summary, &w, &err), 7);
    assert_int_equal(w.n, 2);
}

/* A store made before the sources table (schema 4, today's release) is
 * migrated in place: its points are kept, with no source recorded; new
 * batches record theirs; a read-only open of the old file is refused
 * with the advice to run the daemon once. */
static void test_migrates_a_store_without_sources(void **state)
{
    fx_sqlite_only(); /* SQLite's schema 4; PostgreSQL stores begin at 7 */
    struct fx *f = *state;
    struct store_point_in p = { "dau", T0, 1 };
    put_from(f->s, "analytics", &p, 1);
    store_close(f->s);
    f->s = NULL;
    /* What schema 4 did not have: metric_sources, from 6 on checkins, and
     * from 7 on definitions and the wider kr_history (back to its schema-1
     * form), from 8 on webhooks_disabled. */
    raw_exec(f->path, "DROP TABLE metric_sources; DROP TABLE checkins; DROP TABLE definitions;"
                      " DROP TABLE webhooks_disabled; ALTER TABLE kr_state DROP COLUMN previous;"
                      " DROP TABLE kr_history; CREATE TABLE kr_history (kr_id TEXT NOT NULL,"
                      " date TEXT NOT NULL, status TEXT NOT NULL, progress REAL,"
                      " PRIMARY KEY (kr_id, date)) WITHOUT ROWID; PRAGMA user_version = 4;");
    struct okrd_err err = { 0 };
    struct store *ro = NULL;
    assert_int_equal(store_open(&ro, f->path, STORE_READONLY, &err), OKRD_ESTORE);
    assert_non_null(strstr(err.msg, "schema version 4"));
    assert_int_equal(store_open(&f->s, f->path, 0, &err), 0);
    struct walk w = { 0 };
    walk_all(f->s, &w);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.v[0].points, 1);
    assert_string_equal(w.v[0].sources, "");
    p.ts = T0 + DAY;
    put_from(f->s, "push", &p, 1);
    w = (struct walk){ 0 };
    walk_all(f->s, &w);
    assert_int_equal(w.v[0].points, 2);
    assert_string_equal(w.v[0].sources, "push");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_first_last_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleaved_batch_records_every_metric, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_rolls_back_with_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metric_without_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_store_and_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrates_a_store_without_sources, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
