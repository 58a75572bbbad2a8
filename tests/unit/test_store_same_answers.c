/*
 * test_store_same_answers.c — where the PostgreSQL backend's outbox,
 * check-ins and history could answer differently from SQLite's (DESIGN
 * section 10), on the backend store_fx.h picks (both, under ctest):
 *
 *  - outbox order across two connections (PostgreSQL only: it watches the
 *    second writer wait in pg_stat_activity): the event committed first has
 *    the lower seq and is delivered first, even when the other connection
 *    wanted to write meanwhile;
 *  - seq as SQLite's AUTOINCREMENT: a rolled-back event's number is given
 *    again, a number retention deleted is never given again, a row copied
 *    in with its own seq is never numbered twice;
 *  - a check-in seq or id already taken is OKRD_EEXIST, inside a
 *    transaction too, which goes on with its other rows;
 *  - a day of history upserted keeps the last row, doubles exactly (every
 *    digit: 0.1 + 0.2, a subnormal, DBL_MAX), NaN as null;
 *  - orphan expiry with webhook ids that need quoting in an array literal,
 *    each dead row heard once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_outbox.h"
#include "store_fx.h"

#define T0 1790812800LL /* 2026-10-01T00:00:00Z */

/* One integer that SQL reads from the fixture's database, by the
 * backend's own client beside the store's connection (-999 for NULL). */
static long long raw_int(struct fx *f, const char *sql)
{
    long long v = -999;
    if (f->pg) {
        PGconn *c = PQconnectdb(f->pg_url);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
            fail_msg("%s: %s", sql, PQerrorMessage(c));
        if (!PQgetisnull(r, 0, 0))
            v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(c);
        return v;
    }
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    if (sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void add_event(struct store *s, const char *id, const char *hook, int64_t created)
{
    struct store_route r = { hook, 3600 * 1000 };
    struct store_event ev = { .id = id, .type = "kr.off_track", .kr_id = "dau-up",
                              .occurred_at_s = created, .created_at_s = created, .body = "{}" };
    struct okrd_err err = { 0 };
    if (store_outbox_add(s, &ev, &r, hook ? 1 : 0, &err) != 0)
        fail_msg("add %s: %s", id, err.msg);
}

/* ---- outbox order across two connections ---- */

struct second {
    struct store *s;
    atomic_int stage;          /* 1 = about to begin, 2 = committed */
    int rc;
    struct okrd_err err;
};

static void *second_writer(void *arg)
{
    struct second *w = arg;
    atomic_store(&w->stage, 1);
    w->rc = store_begin(w->s, &w->err);
    if (w->rc == 0) {
        struct store_route r = { "hook", 3600 * 1000 };
        struct store_event ev = { .id = "evt_B", .type = "kr.at_risk", .occurred_at_s = T0,
                                  .created_at_s = T0, .body = "{\"b\":1}" };
        w->rc = store_outbox_add(w->s, &ev, &r, 1, &w->err);
        if (w->rc == 0)
            w->rc = store_commit(w->s, &w->err);
        else
            store_rollback(w->s);
    }
    atomic_store(&w->stage, 2);
    return NULL;
}

/* How many sessions of the test database wait for a lock. */
static long long lock_waiters(struct fx *f)
{
    return raw_int(f, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                      " AND wait_event_type = 'Lock'");
}

static void test_outbox_order_is_commit_order_across_connections(void **state)
{
    struct fx *f = *state;
    if (!f->pg) {
        /* SQLite: BEGIN IMMEDIATE makes the second writer wait, but no
         * client can see it waiting; the test needs pg_stat_activity. */
        print_message("skipped on SQLite: needs PostgreSQL's pg_stat_activity\n");
        skip();
    }
    struct okrd_err err = { 0 };
    struct second w = { 0 };
    if (fx_open(f, 0, &w.s, &err))
        fail_msg("second connection: %s", err.msg);

    /* A opens a transaction and writes its event, not yet committed. */
    assert_int_equal(store_begin(f->s, &err), 0);
    add_event(f->s, "evt_A", "hook", T0);

    /* B, on another connection, wants to write meanwhile: it waits for A. */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, second_writer, &w), 0);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (atomic_load(&w.stage) == 2 || lock_waiters(f) > 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 30)
            fail_msg("the second writer neither waited for a lock nor finished in 30 s");
        usleep(2000);
    }
    /* It cannot have committed before A did. */
    assert_int_equal(atomic_load(&w.stage), 1);
    assert_int_equal(store_commit(f->s, &err), 0);
    pthread_join(th, NULL);
    if (w.rc)
        fail_msg("second writer: %s", w.err.msg);

    /* Commit order is seq order: A first, then B, and A is sent first. */
    struct store_delivery d;
    char *body = NULL;
    assert_int_equal(store_next_delivery(f->s, "hook", &d, &body, &err), 0);
    assert_string_equal(d.event_id, "evt_A");
    assert_int_equal(d.seq, 1);
    free(body);
    d.delivered_at_s = T0 + 1;
    snprintf(d.state, sizeof d.state, "delivered");
    assert_int_equal(store_update_delivery(f->s, &d, &err), 0);
    assert_int_equal(store_next_delivery(f->s, "hook", &d, &body, &err), 0);
    assert_string_equal(d.event_id, "evt_B");
    assert_int_equal(d.seq, 2);
    assert_string_equal(body, "{\"b\":1}");
    free(body);
    int64_t last = 0;
    assert_int_equal(store_outbox_last_seq(w.s, &last, &err), 0);
    assert_int_equal(last, 2);
    store_close(w.s);
}

/* ---- seq as AUTOINCREMENT ---- */

static void test_outbox_seq_like_autoincrement(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    int64_t last = -1;

    /* Rolled back: the number is given again (SQLite's counter rolls back). */
    assert_int_equal(store_begin(f->s, &err), 0);
    add_event(f->s, "evt_X", "hook", T0);
    store_rollback(f->s);
    add_event(f->s, "evt_1", "hook", T0);
    assert_int_equal(store_outbox_last_seq(f->s, &last, &err), 0);
    assert_int_equal(last, 1);

    /* A failed add inside a transaction undoes itself only, its number too. */
    assert_int_equal(store_begin(f->s, &err), 0);
    add_event(f->s, "evt_2", "hook", T0 + 1);
    struct store_route r = { "hook", 0 };
    struct store_event dup = { .id = "evt_1", .type = "kr.at_risk", .occurred_at_s = T0,
                               .created_at_s = T0, .body = "{}" };
    assert_int_not_equal(store_outbox_add(f->s, &dup, &r, 1, &err), 0);
    add_event(f->s, "evt_3", "hook", T0 + 2);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(raw_int(f, "SELECT seq FROM outbox WHERE id = 'evt_3'"), 3);

    /* Retention deletes every event: the numbers are not given again. */
    struct store_delivery d;
    char *body = NULL;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(store_next_delivery(f->s, "hook", &d, &body, &err), 0);
        free(body);
        snprintf(d.state, sizeof d.state, "delivered");
        d.delivered_at_s = T0 + 10;
        assert_int_equal(store_update_delivery(f->s, &d, &err), 0);
    }
    int64_t pruned = 0;
    assert_int_equal(store_outbox_prune(f->s, T0 + 100, &pruned, &err), 0);
    assert_int_equal(pruned, 3);
    assert_int_equal(store_outbox_last_seq(f->s, &last, &err), 0);
    assert_int_equal(last, 0);
    add_event(f->s, "evt_4", "hook", T0 + 200);
    assert_int_equal(store_outbox_last_seq(f->s, &last, &err), 0);
    assert_int_equal(last, 4);
    /* A row copied in with its own seq (okrd migrate) is never numbered twice. */
    fx_raw_exec(f, "INSERT INTO outbox(seq, id, type, occurred_at, body, created_at)"
                   " VALUES (40, 'evt_copied', 'kr.achieved', 0, '{}', 0)");
    add_event(f->s, "evt_5", "hook", T0 + 300);
    assert_int_equal(store_outbox_last_seq(f->s, &last, &err), 0);
    assert_int_equal(last, 41);
}

/* ---- check-ins ---- */

static struct okrd_checkin mk(const char *id, int64_t seq)
{
    struct okrd_checkin c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "%s", id);
    snprintf(c.key_result, sizeof c.key_result, "dau-up");
    snprintf(c.cycle_start, sizeof c.cycle_start, "2026-10-01");
    c.seq = seq;
    c.at_s = T0 + seq;
    snprintf(c.author, sizeof c.author, "alice");
    c.confidence = OKRD_CHECKIN_NO_CONFIDENCE;
    c.value = 0.1 + 0.2;
    c.grade = NAN;
    return c;
}

static void test_taken_checkin_is_eexist_and_the_transaction_goes_on(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct okrd_checkin a = mk("chk_a", 1);
    assert_int_equal(store_insert_checkin(f->s, &a, &err), 0);

    assert_int_equal(store_begin(f->s, &err), 0);
    struct okrd_checkin b = mk("chk_b", 2);
    assert_int_equal(store_insert_checkin(f->s, &b, &err), 0);
    struct okrd_checkin same_seq = mk("chk_c", 1);
    assert_int_equal(store_insert_checkin(f->s, &same_seq, &err), OKRD_EEXIST);
    assert_non_null(strstr(err.msg, "already has seq 1"));
    struct okrd_checkin same_id = mk("chk_a", 3);
    assert_int_equal(store_insert_checkin(f->s, &same_id, &err), OKRD_EEXIST);
    assert_non_null(strstr(err.msg, "\"chk_a\" is already stored"));
    struct okrd_checkin d = mk("chk_d", 3);
    assert_int_equal(store_insert_checkin(f->s, &d, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM checkins"), 3);

    struct okrd_checkin got;
    assert_int_equal(store_latest_checkin(f->s, "dau-up", "2026-10-01", INT64_MAX, &got, &err), 0);
    assert_string_equal(got.id, "chk_d");
    assert_true(got.value == 0.1 + 0.2); /* bit for bit */
    assert_int_equal(got.confidence, OKRD_CHECKIN_NO_CONFIDENCE);
    assert_true(isnan(got.grade));
    assert_null(got.comment);
    okrd_checkin_clear(&got);
}

/* ---- history ---- */

struct days {
    int n;
    struct store_kr_day rows[4];
};

static int on_day(void *ctx, const struct store_kr_day *row)
{
    struct days *d = ctx;
    if (d->n < 4)
        d->rows[d->n] = *row;
    d->n++;
    return 0;
}

static void test_kr_day_upsert_keeps_the_last_exactly(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct store_kr_day row = { .kr_id = "dau-up", .date = "2026-10-02",
                                .cycle_start = "2026-10-01", .status = "on_track",
                                .computed_status = "on_track", .progress = 0.5,
                                .expected = 0.25, .score = 0.7, .probability = 0.9 };
    assert_int_equal(store_put_kr_day(f->s, &row, &err), 0);
    /* The same day again: replaced, with values that need every digit. */
    snprintf(row.status, sizeof row.status, "at_risk");
    row.progress = 0.1 + 0.2;
    row.expected = DBL_MIN / 4; /* subnormal */
    row.score = NAN;
    row.probability = 1.0 - DBL_EPSILON / 2;
    assert_int_equal(store_put_kr_day(f->s, &row, &err), 0);
    struct store_kr_day other = row;
    snprintf(other.date, sizeof other.date, "2026-10-01");
    other.progress = DBL_MAX;
    assert_int_equal(store_put_kr_day(f->s, &other, &err), 0);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM kr_history"), 2);

    struct days d = { 0 };
    assert_int_equal(store_each_kr_day(f->s, "dau-up", NULL, NULL, on_day, &d, &err), 0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.rows[0].date, "2026-10-01");
    assert_true(d.rows[0].progress == DBL_MAX);
    assert_string_equal(d.rows[1].date, "2026-10-02");
    assert_string_equal(d.rows[1].status, "at_risk");
    assert_true(d.rows[1].progress == 0.1 + 0.2);
    assert_true(d.rows[1].expected == DBL_MIN / 4);
    assert_true(isnan(d.rows[1].score));
    assert_true(d.rows[1].probability == 1.0 - DBL_EPSILON / 2);
    char last[11];
    assert_int_equal(store_last_kr_day(f->s, "dau-up", "2026-10-01", last, &err), 0);
    assert_string_equal(last, "2026-10-02");
}

/* ---- orphan expiry ---- */

struct dead_seen {
    int n;
    char events[4][32];
};

static void on_dead(void *ctx, const char *webhook_id, const char *event_id, const char *type)
{
    struct dead_seen *d = ctx;
    (void)webhook_id;
    (void)type;
    if (d->n < 4)
        snprintf(d->events[d->n], sizeof d->events[0], "%s", event_id);
    d->n++;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_orphans_with_ids_that_need_quoting(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    /* Three events to a webhook now gone, created in this order, and one
     * to each configured webhook (whose ids a text[] literal must quote). */
    add_event(f->s, "evt_3", "gone", T0);
    add_event(f->s, "evt_1", "gone", T0 + 1);
    add_event(f->s, "evt_2", "gone", T0 + 2);
    add_event(f->s, "evt_q", "a\"b", T0);
    add_event(f->s, "evt_s", "c\\d,{e}", T0);
    add_event(f->s, "evt_n", "NULL", T0);
    const char *configured[] = { "a\"b", "c\\d,{e}", "NULL" };
    int64_t orphans = -1;
    assert_int_equal(store_count_orphans(f->s, configured, 3, &orphans, &err), 0);
    assert_int_equal(orphans, 3);
    struct dead_seen seen = { 0 };
    struct store_orphan_expiry q = { .configured = configured, .n_configured = 3,
                                     .now_ms = (T0 + 10) * 1000 + 3600 * 1000,
                                     .default_max_age_ms = 1000, .why = "(gone)",
                                     .on_dead = on_dead, .ctx = &seen };
    int64_t n_dead = -1, next_ms = -1;
    assert_int_equal(store_expire_orphans(f->s, &q, &n_dead, &next_ms, &err), 0);
    assert_int_equal(n_dead, 3);
    assert_int_equal(next_ms, 0);
    assert_int_equal(seen.n, 3);
    /* Heard in no promised order (the log's): as a set. */
    qsort(seen.events, 3, sizeof seen.events[0], by_text);
    assert_string_equal(seen.events[0], "evt_1");
    assert_string_equal(seen.events[1], "evt_2");
    assert_string_equal(seen.events[2], "evt_3");
    struct store_delivery_counts c;
    assert_int_equal(store_delivery_counts(f->s, NULL, &c, &err), 0);
    assert_int_equal(c.dead, 3);
    assert_int_equal(c.pending, 3);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM deliveries WHERE last_error = '(gone)'"), 3);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_outbox_order_is_commit_order_across_connections),
        T(test_outbox_seq_like_autoincrement),
        T(test_taken_checkin_is_eexist_and_the_transaction_goes_on),
        T(test_kr_day_upsert_keeps_the_last_exactly),
        T(test_orphans_with_ids_that_need_quoting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
