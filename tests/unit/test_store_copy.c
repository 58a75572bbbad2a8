/*
 * test_store_copy.c — store/store_copy.c (`okrd migrate`, DESIGN section
 * 10): a store holding a row in every table is copied into an empty one
 * and every table reads back the same (compared row by row, straight from
 * the database files), the counts of both sides match, the outbox's seq
 * numbers are kept and the next event follows them; a target that holds
 * anything is refused, naming the table, and left as it was; text that is
 * not valid UTF-8 arrives sanitized; every table of the schema is in the
 * copy's list (a new table without an entry fails here).
 *
 * Both stores are SQLite (the backend-free copy through the SQLite
 * backend's copy_out and copy_in); the PostgreSQL side is tested end to
 * end by tests/e2e/test_migrate.py.
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
#include "store/store_outbox.h"
#include "testutil.h"

struct two {
    char *dir;
    char a_path[4096], b_path[4096];
    struct store *a, *b;
};

static int setup(void **state)
{
    struct two *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->dir = tu_mkdtemp();
    assert_non_null(t->dir);
    snprintf(t->a_path, sizeof t->a_path, "%s/a.db", t->dir);
    snprintf(t->b_path, sizeof t->b_path, "%s/b.db", t->dir);
    struct okrd_err err;
    assert_int_equal(store_open(&t->a, t->a_path, 0, &err), 0);
    assert_int_equal(store_open(&t->b, t->b_path, 0, &err), 0);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct two *t = *state;
    store_close(t->a);
    store_close(t->b);
    tu_rm_rf(t->dir);
    free(t->dir);
    free(t);
    return 0;
}

static void ok(int rc, const struct okrd_err *err)
{
    if (rc != 0)
        fail_msg("rc %d: %s", rc, err->msg);
}

/* One row (at least) in every table, through the store's own functions. */
static void fill(struct store *s)
{
    struct okrd_err err = { 0 };
    const struct store_point_in pts[] = {
        { "dau", 1790000000, 1040.5 }, { "dau", 1790086400, 0.1 },
        { "signups", 1790000000, -3.25 }, { "tiny", 1790000000, 5e-324 },
    };
    ok(store_put_points_from(s, "drops", pts, 4, &err), &err);
    ok(store_disable_webhook(s, "team", 1790000200123, &err), &err);
    struct store_source_health h = {
        .last_success_s = 1790000000, .last_error_s = 1790000100,
        .consecutive_failures = 2, .points_total = 4,
    };
    snprintf(h.last_error, sizeof h.last_error, "HTTP 500: \"a\\b\ttab\nline\r\"");
    ok(store_put_source_health(s, "drops", &h, &err), &err);
    struct store_ingest in = {
        .source = "drops", .name = "in.csv",
        .sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        .rows = 4, .outcome = "partial", .at_s = 1790000000,
        .report = "{\"skipped\": [{\"line\": 3, \"why\": \"tab\\there\"}]}",
    };
    ok(store_log_ingest(s, &in, &err), &err);
    struct store_kr_state st = {
        .since_s = 1790000000, .evaluated_at_s = 1790000050, .value = 1040.5,
        .progress = 0.2025, .expected = NAN, .projected_score = 0.7, .score = NAN,
        .stale = true,
    };
    snprintf(st.status, sizeof st.status, "at_risk");
    ok(store_put_kr_state(s, "dau-up", &st, &err), &err);
    struct store_kr_day d = {
        .progress = 0.2, .expected = 0.25, .score = NAN, .probability = 0.41,
    };
    snprintf(d.kr_id, sizeof d.kr_id, "dau-up");
    snprintf(d.date, sizeof d.date, "2026-10-03");
    snprintf(d.cycle_start, sizeof d.cycle_start, "2026-10-01");
    snprintf(d.status, sizeof d.status, "on_track");
    snprintf(d.computed_status, sizeof d.computed_status, "at_risk");
    ok(store_put_kr_day(s, &d, &err), &err);
    ok(store_put_definition(s, "key_result", "dau-up", "2026-10-01", "2026-12-31",
                            "{\"target\": 1200}", 1790000000, NULL, &err), &err);
    ok(store_put_definition(s, "key_result", "dau-up", "2026-10-01", "2026-12-31",
                            "{\"target\": 1300}", 1790000100, NULL, &err), &err);
    ok(store_put_definition(s, "objective", "growth", "2026-10-01", "2026-12-31",
                            "{\"title\": \"Grow\"}", 1790000000, NULL, &err), &err);
    struct store_alert_kr ak = { .candidate_since_s = 1790000000, .last_sent_s = 1790000001,
                                 .achieved_cycle_s = 0, .stale = true };
    snprintf(ak.announced, sizeof ak.announced, "at_risk");
    snprintf(ak.previous, sizeof ak.previous, "on_track");
    ok(store_put_alert_kr(s, "dau-up", &ak, &err), &err);
    struct store_alert_source as = { .failing = true, .since_s = 1790000100 };
    ok(store_put_alert_source(s, "drops", &as, &err), &err);
    ok(store_put_alert_meta(s, "digest_last", 1790000000, &err), &err);
    /* Three events, each with deliveries to two webhooks. */
    const char *ids[] = { "evt_01", "evt_02", "evt_03" };
    for (int i = 0; i < 3; i++) {
        struct store_event ev = {
            .id = ids[i], .type = "kr.at_risk", .objective_id = i == 2 ? NULL : "growth",
            .kr_id = i == 2 ? NULL : "dau-up", .occurred_at_s = 1790000000 + i,
            .created_at_s = 1790000000 + i, .body = "{\"type\": \"kr.at_risk\"}",
        };
        struct store_route routes[] = { { "ops", 3600000 }, { "slack", 0 } };
        ok(store_outbox_add(s, &ev, routes, 2, &err), &err);
    }
    struct store_delivery dl;
    char *body = NULL;
    ok(store_next_delivery(s, "ops", &dl, &body, &err), &err);
    free(body);
    dl.attempts = 1;
    dl.last_status = 503;
    snprintf(dl.state, sizeof dl.state, "pending");
    snprintf(dl.last_error, sizeof dl.last_error, "HTTP 503");
    dl.next_attempt_s = 1790000060;
    ok(store_update_delivery(s, &dl, &err), &err);
    struct okrd_checkin c = { .seq = 1, .at_s = 1790000200, .confidence = 7,
                              .until_s = 1791000000, .value = NAN, .grade = 0.7 };
    snprintf(c.id, sizeof c.id, "chk_01");
    snprintf(c.key_result, sizeof c.key_result, "dau-up");
    snprintf(c.cycle_start, sizeof c.cycle_start, "2026-10-01");
    snprintf(c.author, sizeof c.author, "alice");
    snprintf(c.status, sizeof c.status, "at_risk");
    c.comment = "launch slipped\tone week\nsee \\ops";
    ok(store_insert_checkin(s, &c, &err), &err);
}

/* Every row of TABLE in the file PATH as text (type and value of each
 * column), the rows sorted: two tables compare equal when they hold the
 * same rows, whatever order the file keeps them in. */
static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static char *dump_table(sqlite3 *db, const char *table)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", table);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    char **rows = NULL;
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t len = 0, cap = 256;
        char *row = malloc(cap);
        row[0] = '\0';
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            char cell[512];
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_NULL: snprintf(cell, sizeof cell, "NULL|"); break;
            case SQLITE_INTEGER:
                snprintf(cell, sizeof cell, "i%lld|", (long long)sqlite3_column_int64(st, c));
                break;
            case SQLITE_FLOAT: snprintf(cell, sizeof cell, "r%.17g|", sqlite3_column_double(st, c)); break;
            default: snprintf(cell, sizeof cell, "t%s|", sqlite3_column_text(st, c)); break;
            }
            size_t k = strlen(cell);
            while (len + k + 1 > cap)
                row = realloc(row, cap *= 2);
            memcpy(row + len, cell, k + 1);
            len += k;
        }
        rows = realloc(rows, (n + 1) * sizeof *rows);
        rows[n++] = row;
    }
    sqlite3_finalize(st);
    qsort(rows, n, sizeof *rows, cmp_str);
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(rows[i]) + 1;
    char *out = malloc(total);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strcat(out, rows[i]);
        strcat(out, "\n");
        free(rows[i]);
    }
    free(rows);
    return out;
}

/* The okrd tables of the file (not SQLite's own). */
static size_t table_names(sqlite3 *db, char names[32][64])
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name",
                                        -1, &st, NULL), SQLITE_OK);
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < 32)
        snprintf(names[n++], 64, "%s", sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return n;
}

static void test_copy_every_table(void **state)
{
    struct two *t = *state;
    struct okrd_err err = { 0 };
    fill(t->a);
    struct store_copy_count counts[STORE_COPY_TABLES];
    ok(store_copy_all(t->a, t->b, NULL, NULL, counts, &err), &err);

    sqlite3 *da, *db;
    assert_int_equal(sqlite3_open_v2(t->a_path, &da, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_open_v2(t->b_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    char names[32][64];
    size_t n = table_names(da, names);
    /* Every table of the schema is copied: a table the copy's list lacks
     * would be missing from the counts. */
    assert_int_equal(n, STORE_COPY_TABLES);
    for (size_t i = 0; i < n; i++) {
        bool listed = false;
        for (size_t k = 0; k < STORE_COPY_TABLES; k++)
            if (!strcmp(counts[k].table, names[i])) {
                listed = true;
                if (counts[k].from < 1)
                    fail_msg("table %s: the fixture left it empty", names[i]);
                assert_int_equal(counts[k].from, counts[k].to);
            }
        if (!listed)
            fail_msg("table %s is not in the copy's counts", names[i]);
        char *x = dump_table(da, names[i]), *y = dump_table(db, names[i]);
        if (strcmp(x, y) != 0)
            fail_msg("table %s differs after the copy:\nsource:\n%starget:\n%s", names[i], x, y);
        free(x);
        free(y);
    }
    sqlite3_close(da);
    sqlite3_close(db);

    /* The outbox's order goes on: a new event in the target follows the
     * copied ones. */
    int64_t last = 0;
    ok(store_outbox_last_seq(t->b, &last, &err), &err);
    assert_int_equal(last, 3);
    struct store_event ev = { .id = "evt_04", .type = "kr.fresh", .occurred_at_s = 1790000500,
                              .created_at_s = 1790000500, .body = "{}" };
    ok(store_outbox_add(t->b, &ev, NULL, 0, &err), &err);
    ok(store_outbox_last_seq(t->b, &last, &err), &err);
    assert_int_equal(last, 4);
    /* And the copied points read back through the store, exactly. */
    struct store_point p;
    ok(store_last_point(t->b, "tiny", INT64_MAX, &p, &err), &err);
    assert_true(p.value == 5e-324);
}

/* Events pruned from the source took their seq numbers with them: the
 * target must not give those numbers again (SQLite's AUTOINCREMENT keeps
 * its counter in sqlite_sequence, above the largest row left). */
static void test_copy_keeps_the_outbox_counter(void **state)
{
    struct two *t = *state;
    struct okrd_err err = { 0 };
    fill(t->a);
    for (int i = 0; i < 5; i++) { /* seq 4..8, then pruned below */
        char id[16];
        snprintf(id, sizeof id, "evt_p%d", i);
        struct store_event ev = { .id = id, .type = "kr.fresh", .occurred_at_s = 1700000000,
                                  .created_at_s = 1700000000, .body = "{}" };
        ok(store_outbox_add(t->a, &ev, NULL, 0, &err), &err);
    }
    int64_t pruned = 0;
    ok(store_outbox_prune(t->a, 1700000001, &pruned, &err), &err);
    assert_int_equal(pruned, 5);
    int64_t last = 0;
    ok(store_outbox_last_seq(t->a, &last, &err), &err);
    assert_int_equal(last, 3); /* the rows left end at 3; the counter stands at 8 */

    struct store_copy_count counts[STORE_COPY_TABLES];
    ok(store_copy_all(t->a, t->b, NULL, NULL, counts, &err), &err);
    struct store_event ev = { .id = "evt_next", .type = "kr.fresh", .occurred_at_s = 1790000500,
                              .created_at_s = 1790000500, .body = "{}" };
    ok(store_outbox_add(t->b, &ev, NULL, 0, &err), &err);
    ok(store_outbox_last_seq(t->b, &last, &err), &err);
    assert_int_equal(last, 9); /* not 4: that number was an event once */
}

static void test_copy_refuses_nonempty_target(void **state)
{
    struct two *t = *state;
    struct okrd_err err = { 0 };
    fill(t->a);
    /* One row in the target's last table: only a check of every table
     * finds it. */
    struct okrd_checkin c = { .seq = 1, .at_s = 1, .confidence = 5,
                              .value = NAN, .grade = NAN };
    snprintf(c.id, sizeof c.id, "chk_x");
    snprintf(c.key_result, sizeof c.key_result, "other");
    snprintf(c.cycle_start, sizeof c.cycle_start, "2026-10-01");
    snprintf(c.author, sizeof c.author, "bob");
    ok(store_insert_checkin(t->b, &c, &err), &err);
    const char *full = NULL;
    ok(store_copy_nonempty_table(t->b, &full, &err), &err);
    assert_non_null(full);
    assert_string_equal(full, "checkins");
    struct store_copy_count counts[STORE_COPY_TABLES];
    int rc = store_copy_all(t->a, t->b, NULL, NULL, counts, &err);
    assert_int_equal(rc, OKRD_ECONFLICT);
    assert_non_null(strstr(err.msg, "checkins"));
    /* Nothing was copied. */
    struct store_point p;
    assert_int_equal(store_last_point(t->b, "dau", INT64_MAX, &p, &err), OKRD_ENOTFOUND);
    /* An empty store says so. */
    struct store *e = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/empty.db", t->dir);
    ok(store_open(&e, path, 0, &err), &err);
    ok(store_copy_nonempty_table(e, &full, &err), &err);
    assert_null(full);
    store_close(e);
}

/* Text an older okrd stored without sanitizing (invalid UTF-8) arrives as
 * valid UTF-8, each bad byte a U+FFFD, the rest unchanged. */
static void test_copy_sanitizes_text(void **state)
{
    struct two *t = *state;
    struct okrd_err err = { 0 };
    struct store_source_health h = { .last_error_s = 5, .consecutive_failures = 1 };
    snprintf(h.last_error, sizeof h.last_error, "placeholder");
    ok(store_put_source_health(t->a, "web", &h, &err), &err);
    sqlite3 *da;
    assert_int_equal(sqlite3_open(t->a_path, &da), SQLITE_OK);
    assert_int_equal(sqlite3_exec(da, "UPDATE source_health SET last_error = "
                                      "CAST(X'6F6B20FF20C3A9' AS TEXT)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(da);
    struct store_copy_count counts[STORE_COPY_TABLES];
    ok(store_copy_all(t->a, t->b, NULL, NULL, counts, &err), &err);
    struct store_source_health got;
    ok(store_get_source_health(t->b, "web", &got, &err), &err);
    assert_string_equal(got.last_error, "ok \xEF\xBF\xBD \xC3\xA9");
}

/* A progress callback that says stop: nothing is committed. */
static int stop_at_once(void *ctx, const char *table, int64_t done, int64_t total)
{
    (void)table;
    (void)done;
    (void)total;
    ++*(int *)ctx;
    return 1;
}

static void test_copy_stopped_commits_nothing(void **state)
{
    struct two *t = *state;
    struct okrd_err err = { 0 };
    fill(t->a);
    int calls = 0;
    struct store_copy_count counts[STORE_COPY_TABLES];
    assert_int_equal(store_copy_all(t->a, t->b, stop_at_once, &calls, counts, &err),
                     OKRD_ECANCELED);
    assert_int_equal(calls, 1);
    const char *full = "x";
    ok(store_copy_nonempty_table(t->b, &full, &err), &err);
    assert_null(full);
    /* The source was only read: it still takes writes. */
    const struct store_point_in pt = { "dau", 1790172800, 1 };
    ok(store_put_points(t->a, &pt, 1, &err), &err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_copy_every_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_refuses_nonempty_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_keeps_the_outbox_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_sanitizes_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_stopped_commits_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
