/*
 * test_store_webhooks.c — schema version 8 on either backend (DESIGN
 * section 10): a 410-disabled webhook recorded in the store, numbered by a
 * counter that never goes back (the "mark" a node takes at start and
 * reload), and the ingest log holding one row per (source, sha256), where
 * a rejection logged later never hides the row of a time the file's points
 * were stored. On SQLite also the migration from version 7: duplicate
 * ingest-log rows collapse to the one "already ingested" answered with.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_internal.h"
#include "store/store.h"
#include "store/store_outbox.h"
#include "store_fx.h"

static const char H1[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char H2[] = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

static void test_disabled_webhooks_are_numbered(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    int64_t mark = -1, seq = -1, at = -1;
    assert_int_equal(store_webhooks_disabled_mark(f->s, &mark, &err), 0);
    assert_int_equal(mark, 0);
    assert_int_equal(store_webhook_disabled(f->s, "team", &seq, &at, &err), OKRD_ENOTFOUND);

    assert_int_equal(store_disable_webhook(f->s, "team", 1700000000123, &err), 0);
    assert_int_equal(store_disable_webhook(f->s, "ops", 1700000001000, &err), 0);
    assert_int_equal(store_webhook_disabled(f->s, "team", &seq, &at, &err), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(at, 1700000000123);
    assert_int_equal(store_webhooks_disabled_mark(f->s, &mark, &err), 0);
    assert_int_equal(mark, 2);

    /* A second 410 renumbers the webhook past every mark taken so far. */
    assert_int_equal(store_disable_webhook(f->s, "team", 1700000002000, &err), 0);
    assert_int_equal(store_webhook_disabled(f->s, "team", &seq, &at, &err), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(at, 1700000002000);
    assert_int_equal(store_webhooks_disabled_mark(f->s, &mark, &err), 0);
    assert_int_equal(mark, 3);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM webhooks_disabled"), 2);

    /* Inside a transaction that rolls back: nothing recorded. */
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_disable_webhook(f->s, "late", 1700000003000, &err), 0);
    store_rollback(f->s);
    assert_int_equal(store_webhook_disabled(f->s, "late", &seq, &at, &err), OKRD_ENOTFOUND);

    assert_int_equal(store_disable_webhook(f->s, "", 1, &err), OKRD_EINVAL);
}

/* Another connection (a node that takes over) reads what the first wrote;
 * a read-only one cannot write it. */
static void test_another_connection_sees_the_record(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    assert_int_equal(store_disable_webhook(f->s, "team", 42, &err), 0);
    struct store *ro = NULL;
    assert_int_equal(fx_open(f, STORE_READONLY, &ro, &err), 0);
    int64_t seq = 0, at = 0, mark = 0;
    assert_int_equal(store_webhook_disabled(ro, "team", &seq, &at, &err), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(at, 42);
    assert_int_equal(store_webhooks_disabled_mark(ro, &mark, &err), 0);
    assert_int_equal(mark, 1);
    assert_true(store_disable_webhook(ro, "ops", 43, &err) < 0);
    store_close(ro);
}

static int64_t log_rows(struct fx *f)
{
    return fx_sql_int(f, "SELECT count(*) FROM ingest_log");
}

static void test_ingest_log_one_row_per_file(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    bool seen = false;
    char *report = NULL;
    struct store_ingest in = { "drops", "a.csv", H1, 0, "rejected", 1700000000, NULL };
    assert_int_equal(store_log_ingest(f->s, &in, &err), 0);
    in.outcome = "partial";
    in.rows = 4;
    in.report = "{\"file\":\"a.csv\",\"errors\":[]}";
    assert_int_equal(store_log_ingest(f->s, &in, &err), 0);
    assert_int_equal(log_rows(f), 1);
    assert_int_equal(store_ingest_seen(f->s, "drops", H1, &seen, &report, &err), 0);
    assert_true(seen);
    assert_string_equal(report, "{\"file\":\"a.csv\",\"errors\":[]}");
    free(report);
    report = NULL;

    /* A rejection logged later (`okrd ingest` on changed mappings) never
     * hides the stored file: it is still "already ingested", same report. */
    in = (struct store_ingest){ "drops", "a2.csv", H1, 0, "rejected", 1700000005, NULL };
    assert_int_equal(store_log_ingest(f->s, &in, &err), 0);
    assert_int_equal(log_rows(f), 1);
    assert_int_equal(store_ingest_seen(f->s, "drops", H1, &seen, &report, &err), 0);
    assert_true(seen);
    assert_string_equal(report, "{\"file\":\"a.csv\",\"errors\":[]}");
    free(report);
    report = NULL;

    /* Stored again: the newest wins. */
    in = (struct store_ingest){ "drops", "a3.csv", H1, 9, "ingested", 1700000009, NULL };
    assert_int_equal(store_log_ingest(f->s, &in, &err), 0);
    assert_int_equal(store_ingest_seen(f->s, "drops", H1, &seen, &report, &err), 0);
    assert_true(seen);
    assert_null(report);
    assert_int_equal(fx_sql_int(f, "SELECT rows FROM ingest_log"), 9);

    /* Other bytes, and the same bytes in another source: rows of their own. */
    in = (struct store_ingest){ "drops", "b.csv", H2, 1, "ingested", 1700000010, NULL };
    assert_int_equal(store_log_ingest(f->s, &in, &err), 0);
    in.source = "other";
    in.sha256 = H1;
    assert_int_equal(store_log_ingest(f->s, &in, &err), 0);
    assert_int_equal(log_rows(f), 3);
}

/* SQLite stores of version 7 may hold a file's rows several times (each
 * `okrd ingest` of it logged one); version 8 keeps the one "already
 * ingested" answered with: the newest that stored points, else the newest. */
static void test_sqlite_v7_ingest_log_collapses(void **state)
{
    fx_sqlite_only();
    struct fx *f = *state;
    store_close(f->s);
    f->s = NULL;
    unlink(f->path);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    for (size_t i = 0; i < store_n_migrations && store_migrations[i].version <= 7; i++)
        assert_int_equal(sqlite3_exec(db, store_migrations[i].sql, NULL, NULL, NULL), SQLITE_OK);
    char sql[2048];
    snprintf(sql, sizeof sql,
             "PRAGMA user_version = 7;"
             "INSERT INTO ingest_log(id, source, name, sha256, rows, outcome, at, report) VALUES"
             " (1, 'drops', 'a.csv', '%s', 4, 'partial', 1, '{\"r\":1}'),"
             " (2, 'drops', 'a.csv', '%s', 5, 'ingested', 2, NULL),"
             " (3, 'drops', 'a.csv', '%s', 0, 'rejected', 3, NULL),"
             " (4, 'drops', 'b.csv', '%s', 0, 'rejected', 4, NULL),"
             " (5, 'drops', 'b.csv', '%s', 0, 'rejected', 5, NULL),"
             " (6, 'other', 'a.csv', '%s', 1, 'ingested', 6, NULL);",
             H1, H1, H1, H2, H2, H1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    struct okrd_err err = { 0 };
    assert_int_equal(fx_open(f, 0, &f->s, &err), 0);
    assert_int_equal(fx_sql_int(f, "PRAGMA user_version"), store_schema_version());
    assert_int_equal(log_rows(f), 3);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM ingest_log WHERE id IN (2, 5, 6)"), 3);
    bool seen = false;
    assert_int_equal(store_ingest_seen(f->s, "drops", H1, &seen, NULL, &err), 0);
    assert_true(seen);
    assert_int_equal(store_ingest_seen(f->s, "drops", H2, &seen, NULL, &err), 0);
    assert_false(seen);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                   " AND tbl_name = 'ingest_log' AND sql LIKE 'CREATE UNIQUE%'"),
                     1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_disabled_webhooks_are_numbered), T(test_another_connection_sees_the_record),
        T(test_ingest_log_one_row_per_file), T(test_sqlite_v7_ingest_log_collapses),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
