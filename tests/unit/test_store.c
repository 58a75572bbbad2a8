/*
 * test_store.c — store/: schema and migrations, points, state tables and
 * the writer thread.
 *
 * Runs through the shared fixture (store_fx.h), so on both backends
 * (DESIGN section 10): SQLite as unit_store, PostgreSQL as unit_store_pg
 * (tests/CMakeLists.txt registers both). Each test gets its own
 * temporary state_dir and fresh database (on PostgreSQL a database of its
 * own), so order never matters. A few tests look under the hood with the
 * backend's own client (the schema version, the catalog, NULL columns):
 * that checks the stored format store/ promises; production code outside
 * store/ never does this. The tests about the SQLite file itself (its WAL,
 * migrations from old SQLite schemas) are skipped on PostgreSQL. No sleeps
 * outside the writer jobs that are slow on purpose; the writer tests wait
 * for events (done callbacks, uv_async), never for time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "store/sqlite/sqlite_internal.h" /* store_migrations[]; s->grouped (struct store) */
#include "store_fx.h"
#include "testutil.h"

static void put(struct store *s, const char *metric, int64_t ts, double v)
{
    struct store_point_in p = { metric, ts, v };
    struct okrd_err err = { 0 };
    if (store_put_points(s, &p, 1, &err))
        fail_msg("put: %s", err.msg);
}

/* The fixture's store, handed to the test, which closes it. */
static struct store *take_store(struct fx *f)
{
    struct store *s = f->s;
    f->s = NULL;
    return s;
}

/* Another connection to the fixture's store, read-only. */
static struct store *open_ro(struct fx *f)
{
    struct store *s = NULL;
    struct okrd_err err = { 0 };
    if (fx_open(f, STORE_READONLY, &s, &err))
        fail_msg("store_open ro: %s", err.msg);
    return s;
}

/* ---- looking under the hood (test-only) ---- */

/* The schema version stored: SQLite's PRAGMA user_version, PostgreSQL's
 * newest row of schema_migrations. */
static int64_t stored_version(struct fx *f)
{
    return fx_sql_int(f, f->pg ? "SELECT coalesce(max(version), 0) FROM schema_migrations"
                               : "PRAGMA user_version");
}

/* Marks the store as written by a newer okrd (one schema version ahead). */
static void make_newer(struct fx *f)
{
    char sql[128];
    if (f->pg)
        snprintf(sql, sizeof sql,
                 "INSERT INTO schema_migrations(version, what) VALUES (%d, 'future')",
                 store_schema_version() + 1);
    else
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", store_schema_version() + 1);
    fx_raw_exec(f, sql);
}

/* What an error names as the store's place: the SQLite file, or the
 * PostgreSQL database. */
static const char *where(const struct fx *f)
{
    return f->pg ? f->pg_db : f->path;
}

/* No store at all any more: the fixture's store closed, its SQLite file
 * (and WAL) removed, or a new empty PostgreSQL database in place of its. */
static void no_store(struct fx *f)
{
    store_close(f->s);
    f->s = NULL;
    if (f->pg) {
        fx_pg_drop(f);
        fx_pg_create(f);
        return;
    }
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
        char buf[4200];
        snprintf(buf, sizeof buf, "%s%s", f->path, suffix[i]);
        unlink(buf);
    }
}

/* The tables of the PostgreSQL database (its current schema). */
static int64_t pg_tables(struct fx *f)
{
    return fx_sql_int(f, "SELECT count(*) FROM information_schema.tables"
                         " WHERE table_schema = current_schema()");
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static bool exists(const char *path, const char *suffix)
{
    char buf[4200];
    struct stat st;
    snprintf(buf, sizeof buf, "%s%s", path, suffix);
    return stat(buf, &st) == 0;
}

/* ---- path, open, migrations ---- */

static void test_path(void **state)
{
    (void)state;
    char buf[64];
    struct okrd_err err;
    assert_int_equal(store_path("/var/lib/okrd/", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "/var/lib/okrd/okrd.db");
    assert_int_equal(store_path("/var/lib/okrd", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "/var/lib/okrd/okrd.db");
    assert_int_not_equal(store_path("/a/very/long/state/dir/that/does/not/fit/in/the/buffer", buf,
                                    16, &err), 0);
    assert_int_equal(store_path("", buf, sizeof buf, &err), OKRD_EINVAL);
}

/* An empty store (SQLite: an empty file, as touch(1) leaves it;
 * PostgreSQL: an empty database) opened read-write gets the whole schema. */
static void test_migrate_empty_file(void **state)
{
    struct fx *f = *state;
    no_store(f);
    if (!f->pg)
        free(tu_write_file(f->dir, "okrd.db", ""));
    struct okrd_err err = { 0 };
    if (fx_open(f, 0, &f->s, &err))
        fail_msg("open an empty store: %s", err.msg);
    store_close(f->s);
    f->s = NULL;
    assert_true(store_schema_version() >= 1);
    assert_int_equal(stored_version(f), store_schema_version());
    static const char *const tables[] = { "metrics", "points", "source_health", "kr_state",
                                          "kr_history", "outbox", "deliveries", "ingest_log" };
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        char sql[200];
        if (f->pg)
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM information_schema.tables WHERE table_schema ="
                     " current_schema() AND table_type = 'BASE TABLE' AND table_name = '%s'",
                     tables[i]);
        else
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'",
                     tables[i]);
        if (fx_sql_int(f, sql) != 1)
            fail_msg("table %s missing", tables[i]);
    }
    if (f->pg) {
        assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM pg_indexes WHERE schemaname ="
                                       " current_schema() AND tablename = 'ingest_log'"
                                       " AND indexdef LIKE '%sha256%'"),
                         1);
        assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM information_schema.key_column_usage k"
                                       " JOIN information_schema.table_constraints c"
                                       " ON c.constraint_schema = k.constraint_schema"
                                       " AND c.constraint_name = k.constraint_name"
                                       " WHERE c.table_schema = current_schema()"
                                       " AND c.table_name = 'points'"
                                       " AND c.constraint_type = 'PRIMARY KEY'"),
                         2);
        return;
    }
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                   " AND tbl_name = 'ingest_log' AND sql LIKE '%sha256%'"),
                     1);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM pragma_table_info('points')"
                                   " WHERE pk > 0"),
                     2);
}

static void test_create_and_reopen(void **state)
{
    struct fx *f = *state;
    no_store(f);
    struct okrd_err err = { 0 };
    struct store *s = NULL;
    if (fx_open(f, 0, &s, &err)) /* no file (no schema) at all: created */
        fail_msg("create: %s", err.msg);
    put(s, "dau", 100, 1040);
    store_close(s);
    if (fx_open(f, 0, &s, &err)) /* a second migration would fail on CREATE TABLE */
        fail_msg("reopen: %s", err.msg);
    struct store_point p;
    assert_int_equal(store_last_point(s, "dau", 1000, &p, &err), 0);
    assert_int_equal(p.ts, 100);
    assert_true(p.value == 1040);
    store_close(s);
    if (!f->pg) {
        /* The WAL and its index outlive the writer, so read-only commands
         * run beside a stopped daemon need not create them. */
        assert_true(exists(f->path, "-wal"));
        assert_true(exists(f->path, "-shm"));
    }
    assert_int_equal(stored_version(f), store_schema_version());
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM metrics"), 1);
}

static void test_refuse_newer(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    f->s = NULL;
    make_newer(f);
    struct store *s = NULL;
    struct okrd_err err = { 0 };
    assert_int_equal(fx_open(f, 0, &s, &err), OKRD_ESTORE);
    assert_null(s);
    assert_non_null(strstr(err.msg, "newer"));
    assert_non_null(strstr(err.msg, where(f)));
    assert_int_equal(fx_open(f, STORE_READONLY, &s, &err), OKRD_ESTORE);
    assert_non_null(strstr(err.msg, "newer"));
    assert_int_equal(stored_version(f), store_schema_version() + 1);
}

static void test_readonly_missing(void **state)
{
    struct fx *f = *state;
    no_store(f);
    struct store *s = NULL;
    struct okrd_err err = { 0 };
    assert_int_equal(fx_open(f, STORE_READONLY, &s, &err), OKRD_ENOTFOUND);
    assert_null(s);
    /* "no store at FILE" / "no store in DATABASE" */
    assert_non_null(strstr(err.msg, f->pg ? "no store in" : "no store at"));
    assert_non_null(strstr(err.msg, where(f)));
    assert_non_null(strstr(err.msg, "okrd run"));
    assert_int_equal(count_entries(f->dir), 0);
    if (f->pg)
        assert_int_equal(pg_tables(f), 0); /* nothing created */
}

/* A store of an older schema: SQLite's empty file (version 0); on
 * PostgreSQL (whose stores begin at version 7 with the whole schema) the
 * schema one version behind. Read-only neither migrates it nor creates
 * anything. */
static void test_readonly_old_schema(void **state)
{
    struct fx *f = *state;
    int64_t old = 0;
    if (f->pg) {
        store_close(f->s);
        f->s = NULL;
        old = store_schema_version() - 1;
        assert_true(old >= 7);
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM schema_migrations WHERE version > %lld",
                 (long long)old);
        fx_raw_exec(f, sql);
        assert_int_equal(stored_version(f), old);
    } else {
        no_store(f);
        free(tu_write_file(f->dir, "okrd.db", ""));
    }
    int64_t tables = f->pg ? pg_tables(f) : 0;
    struct store *s = NULL;
    struct okrd_err err = { 0 };
    assert_int_equal(fx_open(f, STORE_READONLY, &s, &err), OKRD_ESTORE);
    assert_non_null(strstr(err.msg, "okrd run"));
    if (f->pg)
        assert_int_equal(pg_tables(f), tables); /* not migrated, nothing created */
    else
        assert_int_equal(count_entries(f->dir), 1); /* not migrated, nothing created */
    assert_int_equal(stored_version(f), old);
}

static void test_readonly_cannot_write(void **state)
{
    struct fx *f = *state;
    put(f->s, "dau", 100, 1);

    struct store *s = open_ro(f);
    struct okrd_err err = { 0 };
    struct store_point_in p = { "dau", 200, 2 };
    assert_int_not_equal(store_put_points(s, &p, 1, &err), 0);
    assert_non_null(strstr(err.msg, "read-only"));
    assert_int_not_equal(store_begin(s, &err), 0);
    struct store_source_health h = { .consecutive_failures = 1 };
    assert_int_not_equal(store_put_source_health(s, "prom", &h, &err), 0);
    struct store_kr_state k = { .status = "on_track" };
    assert_int_not_equal(store_put_kr_state(s, "dau-up", &k, &err), 0);
    struct store_kr_day day = { .kr_id = "dau-up", .date = "2026-11-21", .cycle_start = "2026-10-01",
                                .status = "on_track", .computed_status = "on_track", .progress = 0.5,
                                .expected = NAN, .score = NAN, .probability = NAN };
    assert_int_not_equal(store_put_kr_day(s, &day, &err), 0);
    struct store_point lp;
    assert_int_equal(store_last_point(s, "dau", 1000, &lp, &err), 0);
    assert_int_equal(lp.ts, 100);
    store_close(s);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM points"), 1);
}

/* A database copied without its -wal/-shm (a backup): read-only opens it
 * and creates neither. */
static void test_readonly_creates_nothing(void **state)
{
    fx_sqlite_only(); /* the -wal and -shm files beside the SQLite file */
    struct fx *f = *state;
    put(f->s, "dau", 100, 1);
    store_close(f->s);
    f->s = NULL;
    char buf[4200];
    snprintf(buf, sizeof buf, "%s-wal", f->path);
    unlink(buf);
    snprintf(buf, sizeof buf, "%s-shm", f->path);
    unlink(buf);
    assert_int_equal(count_entries(f->dir), 1);
    struct store *s = open_ro(f);
    struct store_series ser = { 0 };
    struct okrd_err err;
    assert_int_equal(store_get_series(s, "dau", 0, 1000, &ser, &err), 0);
    assert_int_equal(ser.n, 1);
    store_series_free(&ser);
    store_close(s);
    assert_int_equal(count_entries(f->dir), 1);
}

/* ---- points ---- */

static void test_upsert_replaces(void **state)
{
    struct fx *f = *state;
    struct store *s = take_store(f);
    struct okrd_err err;
    struct store_point_in batch[] = { { "dau", 100, 1 }, { "dau", 100, 2 }, { "mau", 100, 5 } };
    assert_int_equal(store_put_points(s, batch, 3, &err), 0);
    struct store_point p;
    assert_int_equal(store_last_point(s, "dau", 100, &p, &err), 0);
    assert_true(p.value == 2); /* the last of the batch wins */
    put(s, "dau", 100, 3);     /* a later batch corrects it */
    struct store_series ser = { 0 };
    assert_int_equal(store_get_series(s, "dau", INT64_MIN, INT64_MAX, &ser, &err), 0);
    assert_int_equal(ser.n, 1);
    assert_true(ser.pts[0].value == 3);
    store_series_free(&ser);
    assert_int_equal(store_put_points(s, NULL, 0, &err), 0);
    store_close(s);
}

static void test_series_range_edges(void **state)
{
    struct fx *f = *state;
    struct store *s = take_store(f);
    struct okrd_err err;
    put(s, "dau", 300, 3);
    put(s, "dau", 100, 1);
    put(s, "dau", 200, 2);
    put(s, "dau", -50, -1); /* before 1970 is a timestamp like any other */
    struct store_series ser = { 0 };
    assert_int_equal(store_get_series(s, "dau", 100, 300, &ser, &err), 0);
    assert_int_equal(ser.n, 2); /* [100, 300): 100 in, 300 out */
    assert_int_equal(ser.pts[0].ts, 100);
    assert_int_equal(ser.pts[1].ts, 200);
    /* appends */
    assert_int_equal(store_get_series(s, "dau", 300, 301, &ser, &err), 0);
    assert_int_equal(ser.n, 3);
    assert_int_equal(ser.pts[2].ts, 300);
    assert_int_equal(store_get_series(s, "dau", 200, 200, &ser, &err), 0);
    assert_int_equal(store_get_series(s, "nope", 0, 1000, &ser, &err), 0);
    assert_int_equal(ser.n, 3);
    store_series_free(&ser);
    assert_int_equal(store_get_series(s, "dau", INT64_MIN, INT64_MAX, &ser, &err), 0);
    assert_int_equal(ser.n, 4);
    assert_int_equal(ser.pts[0].ts, -50);
    store_series_free(&ser);
    store_close(s);
}

static void test_series_with_prior(void **state)
{
    struct fx *f = *state;
    struct store *s = take_store(f);
    struct okrd_err err = { 0 };
    struct store_point_in in[] = { { "dau", 100, 1 }, { "dau", 200, 2 }, { "dau", 300, 3 },
                                   { "dau", 400, 4 } };
    assert_int_equal(store_put_points(s, in, 4, &err), 0);
    struct store_series ser = { 0 };
    /* [300, 500): the newest point before 300 (200) first, then 300 and 400 */
    assert_int_equal(store_get_series_with_prior(s, "dau", 300, 500, &ser, &err), 0);
    assert_int_equal(ser.n, 3);
    assert_int_equal(ser.pts[0].ts, 200);
    assert_int_equal(ser.pts[1].ts, 300);
    assert_int_equal(ser.pts[2].ts, 400);
    /* nothing before 100: just the window; the old contents are replaced */
    assert_int_equal(store_get_series_with_prior(s, "dau", 100, 201, &ser, &err), 0);
    assert_int_equal(ser.n, 2);
    assert_int_equal(ser.pts[0].ts, 100);
    /* an empty window still brings the prior point; an unknown metric nothing */
    assert_int_equal(store_get_series_with_prior(s, "dau", 1000, 2000, &ser, &err), 0);
    assert_int_equal(ser.n, 1);
    assert_int_equal(ser.pts[0].ts, 400);
    assert_int_equal(store_get_series_with_prior(s, "nope", 0, 2000, &ser, &err), 0);
    assert_int_equal(ser.n, 0);
    store_series_free(&ser);
    store_close(s);
}

static void test_last_point(void **state)
{
    struct fx *f = *state;
    struct store *s = take_store(f);
    struct okrd_err err;
    put(s, "dau", 100, 1);
    put(s, "dau", 200, 2);
    put(s, "other", 250, 9);
    struct store_point p;
    assert_int_equal(store_last_point(s, "dau", 250, &p, &err), 0);
    assert_int_equal(p.ts, 200);
    assert_int_equal(store_last_point(s, "dau", 200, &p, &err), 0); /* ts <= at */
    assert_int_equal(p.ts, 200);
    assert_int_equal(store_last_point(s, "dau", 199, &p, &err), 0);
    assert_int_equal(p.ts, 100);
    assert_int_equal(store_last_point(s, "dau", 99, &p, &err), OKRD_ENOTFOUND);
    assert_int_equal(store_last_point(s, "nope", 1000, &p, &err), OKRD_ENOTFOUND);
    store_close(s);
}

static int collect_metric(void *ctx, const char *metric)
{
    char *buf = ctx;
    strcat(buf, metric);
    strcat(buf, " ");
    return 0;
}

static void test_bad_point_stores_nothing(void **state)
{
    struct fx *f = *state;
    struct store *s = take_store(f);
    struct okrd_err err = { 0 };
    struct store_point_in nan_batch[] = { { "dau", 1, 1 }, { "mau", 2, NAN }, { "dau", 3, 3 } };
    assert_int_equal(store_put_points(s, nan_batch, 3, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "point 1"));
    assert_non_null(strstr(err.msg, "\"mau\""));
    struct store_point_in inf_batch[] = { { "dau", 1, 1 }, { "dau", 2, -INFINITY } };
    assert_int_equal(store_put_points(s, inf_batch, 2, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "point 1"));
    struct store_point_in id_batch[] = { { "dau", 1, 1 }, { "wau", 2, 2 }, { "bad id", 3, 3 } };
    assert_int_equal(store_put_points(s, id_batch, 3, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "point 2"));
    assert_non_null(strstr(err.msg, "bad id"));
    struct store_point_in null_batch[] = { { NULL, 1, 1 } };
    assert_int_equal(store_put_points(s, null_batch, 1, &err), OKRD_EINVAL);
    char names[256] = "";
    assert_int_equal(store_each_metric(s, collect_metric, names, &err), 0);
    assert_string_equal(names, ""); /* not even the metric rows */
    assert_false(store_in_transaction(s));

    /* Inside the caller's transaction: the bad batch undoes only itself. */
    assert_int_equal(store_begin(s, &err), 0);
    put(s, "dau", 10, 10);
    assert_int_equal(store_put_points(s, id_batch, 3, &err), OKRD_EINVAL);
    assert_true(store_in_transaction(s));
    assert_int_equal(store_commit(s, &err), 0);
    assert_int_equal(store_each_metric(s, collect_metric, names, &err), 0);
    assert_string_equal(names, "dau ");
    store_close(s);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM points"), 1);
}

static void test_explicit_rollback(void **state)
{
    struct fx *f = *state;
    struct store *s = take_store(f);
    struct okrd_err err;
    assert_false(store_in_transaction(s));
    assert_int_equal(store_begin(s, &err), 0);
    assert_true(store_in_transaction(s));
    assert_int_equal(store_begin(s, &err), OKRD_EINVAL); /* no nesting */
    put(s, "dau", 100, 1);
    put(s, "new_metric", 100, 1);
    store_rollback(s);
    assert_false(store_in_transaction(s));
    struct store_series ser = { 0 };
    assert_int_equal(store_get_series(s, "dau", 0, 1000, &ser, &err), 0);
    assert_int_equal(ser.n, 0);
    char names[256] = "";
    assert_int_equal(store_each_metric(s, collect_metric, names, &err), 0);
    assert_string_equal(names, "");
    /* The id cache forgot the rolled-back metric rows: with foreign keys on,
     * a stale id would fail here. */
    put(s, "new_metric", 100, 7);
    struct store_point p;
    assert_int_equal(store_last_point(s, "new_metric", 100, &p, &err), 0);
    assert_true(p.value == 7);
    assert_int_equal(store_commit(s, &err), OKRD_EINVAL); /* none open */
    store_close(s);
}

struct walk {
    char buf[1024];
    int n, stop_after;
};

static int collect_point(void *ctx, const char *metric, int64_t ts, double value)
{
    struct walk *w = ctx;
    char line[200];
    snprintf(line, sizeof line, "%s@%lld=%g ", metric, (long long)ts, value);
    strcat(w->buf, line);
    return ++w->n == w->stop_after ? 7 : 0;
}

static void test_each_point_order(void **state)
{
    struct fx *f = *state;
    struct store *s = take_store(f);
    struct okrd_err err;
    /* Byte order: "B" < "a" < "a.b" < "ab" < "b". */
    struct store_point_in pts[] = {
        { "b", 20, 1 },   { "ab", 5, 2 }, { "a", 30, 3 }, { "B", 10, 4 },
        { "a.b", 10, 5 }, { "a", 10, 6 }, { "b", 10, 7 }, { "a", 99, 8 },
    };
    assert_int_equal(store_put_points(s, pts, sizeof pts / sizeof *pts, &err), 0);
    struct walk w = { .stop_after = -1 };
    assert_int_equal(store_each_point(s, NULL, 0, 0, 99, collect_point, &w, &err), 0);
    assert_string_equal(w.buf, "B@10=4 a@10=6 a@30=3 a.b@10=5 ab@5=2 b@10=7 b@20=1 ");

    const char *filter[] = { "b", "a", "zzz", "a" };
    w = (struct walk){ .stop_after = -1 };
    assert_int_equal(store_each_point(s, filter, 4, 10, 100, collect_point, &w, &err), 0);
    assert_string_equal(w.buf, "a@10=6 a@30=3 a@99=8 b@10=7 b@20=1 ");

    w = (struct walk){ .stop_after = 2 };
    assert_int_equal(store_each_point(s, NULL, 0, INT64_MIN, INT64_MAX, collect_point, &w, &err), 7);
    assert_string_equal(w.buf, "B@10=4 a@10=6 ");

    char names[256] = "";
    assert_int_equal(store_each_metric(s, collect_metric, names, &err), 0);
    assert_string_equal(names, "B a a.b ab b ");
    store_close(s);
}

static void test_data_version(void **state)
{
    struct fx *f = *state;
    struct store *a = take_store(f);
    struct store *b = open_ro(f);
    struct okrd_err err;
    int64_t a0, a1, b0, b1, b2;
    assert_int_equal(store_data_version(a, &a0, &err), 0);
    assert_int_equal(store_data_version(b, &b0, &err), 0);
    assert_int_equal(store_data_version(b, &b1, &err), 0);
    assert_int_equal(b0, b1);
    put(a, "dau", 1, 1);
    assert_int_equal(store_data_version(a, &a1, &err), 0);
    assert_int_equal(a0, a1); /* own commits do not count */
    assert_int_equal(store_data_version(b, &b2, &err), 0);
    assert_int_not_equal(b1, b2);
    store_close(b);
    store_close(a);
}

/* ---- state tables ---- */

static void test_source_health(void **state)
{
    struct fx *f = *state;
    struct store *s = take_store(f);
    struct okrd_err err;
    struct store_source_health h, got;
    assert_int_equal(store_get_source_health(s, "prom", &got, &err), OKRD_ENOTFOUND);
    h = (struct store_source_health){ .last_success_s = 1700000000, .last_error_s = 1700000100,
                                      .consecutive_failures = 3, .points_total = 12345 };
    strcpy(h.last_error, "HTTP 503 from prom");
    assert_int_equal(store_put_source_health(s, "prom", &h, &err), 0);
    memset(&got, 0x55, sizeof got);
    assert_int_equal(store_get_source_health(s, "prom", &got, &err), 0);
    assert_int_equal(got.last_success_s, 1700000000);
    assert_int_equal(got.last_error_s, 1700000100);
    assert_string_equal(got.last_error, "HTTP 503 from prom");
    assert_int_equal(got.consecutive_failures, 3);
    assert_int_equal(got.points_total, 12345);
    h = (struct store_source_health){ .last_success_s = 1700000200, .points_total = 12400 };
    assert_int_equal(store_put_source_health(s, "prom", &h, &err), 0); /* replaces */
    assert_int_equal(store_get_source_health(s, "prom", &got, &err), 0);
    assert_int_equal(got.last_error_s, 0);
    assert_string_equal(got.last_error, "");
    assert_int_equal(got.consecutive_failures, 0);
    assert_int_equal(store_put_source_health(s, "bad id", &h, &err), OKRD_EINVAL);
    store_close(s);
    assert_int_equal(fx_sql_int(f, "SELECT last_error_at FROM source_health"), -999);
}

static void test_kr_state(void **state)
{
    struct fx *f = *state;
    struct store *s = take_store(f);
    struct okrd_err err;
    struct store_kr_state st = { .status = "no_data", .since_s = 100, .evaluated_at_s = 200,
                                 .value = NAN, .progress = NAN, .expected = 0.25,
                                 .projected_score = NAN, .score = NAN, .stale = true };
    struct store_kr_state got;
    assert_int_equal(store_get_kr_state(s, "dau-up", &got, &err), OKRD_ENOTFOUND);
    assert_int_equal(store_put_kr_state(s, "dau-up", &st, &err), 0);
    assert_int_equal(store_get_kr_state(s, "dau-up", &got, &err), 0);
    assert_string_equal(got.status, "no_data");
    assert_int_equal(got.since_s, 100);
    assert_int_equal(got.evaluated_at_s, 200);
    assert_true(isnan(got.value) && isnan(got.progress) && isnan(got.projected_score) &&
                isnan(got.score));
    assert_true(got.expected == 0.25);
    assert_true(got.stale);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM kr_state WHERE value IS NULL"
                                   " AND progress IS NULL AND score IS NULL"),
                     1);
    st = (struct store_kr_state){ .status = "off_track", .since_s = 300, .evaluated_at_s = 400,
                                  .value = 1040, .progress = 0.2, .expected = 0.55,
                                  .projected_score = 0.36, .score = 0.2 };
    assert_int_equal(store_put_kr_state(s, "dau-up", &st, &err), 0);
    assert_int_equal(store_get_kr_state(s, "dau-up", &got, &err), 0);
    assert_string_equal(got.status, "off_track");
    assert_true(got.value == 1040 && got.progress == 0.2 && got.projected_score == 0.36);
    assert_false(got.stale);
    struct store_kr_state bad = { .status = "" };
    assert_int_equal(store_put_kr_state(s, "dau-up", &bad, &err), OKRD_EINVAL);

    /* (the history's own tests are test_store_history.c) */
    struct store_kr_day day = { .kr_id = "dau-up", .date = "2026-11-21", .cycle_start = "2026-10-01",
                                .status = "at_risk", .computed_status = "at_risk", .progress = 0.1,
                                .expected = NAN, .score = NAN, .probability = NAN };
    assert_int_equal(store_put_kr_day(s, &day, &err), 0);
    snprintf(day.status, sizeof day.status, "off_track");
    day.progress = NAN;
    assert_int_equal(store_put_kr_day(s, &day, &err), 0);
    snprintf(day.date, sizeof day.date, "2026-11-22");
    day.progress = 0.2;
    assert_int_equal(store_put_kr_day(s, &day, &err), 0);
    snprintf(day.date, sizeof day.date, "2026-02-30");
    assert_int_equal(store_put_kr_day(s, &day, &err), OKRD_EINVAL);
    store_close(s);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM kr_history"), 2);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM kr_history WHERE date = '2026-11-21'"
                                   " AND status = 'off_track' AND progress IS NULL"),
                     1);
}

static void test_ingest_log(void **state)
{
    struct fx *f = *state;
    struct store *s = take_store(f);
    struct okrd_err err;
    const char *h1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const char *h2 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    bool seen = true;
    char *report = (char *)"untouched";
    assert_int_equal(store_ingest_seen(s, "drops", h1, &seen, &report, &err), 0);
    assert_false(seen);
    assert_null(report);
    struct store_ingest in = { "drops", "a.csv", h1, 0, "rejected", 1700000000, NULL };
    assert_int_equal(store_log_ingest(s, &in, &err), 0);
    assert_int_equal(store_ingest_seen(s, "drops", h1, &seen, NULL, &err), 0);
    assert_false(seen); /* rejected is not "seen": the file is read again if dropped again */
    in.outcome = "ingested";
    in.rows = 10;
    assert_int_equal(store_log_ingest(s, &in, &err), 0);
    assert_int_equal(store_ingest_seen(s, "drops", h1, &seen, &report, &err), 0);
    assert_true(seen);
    assert_null(report); /* an ingested file has none */
    /* Keyed by (source, sha256): the same bytes are new to another source. */
    assert_int_equal(store_ingest_seen(s, "drops2", h1, &seen, NULL, &err), 0);
    assert_false(seen);
    in = (struct store_ingest){ "drops", "b.csv", h2, 5, "partial", 1700000001,
                                "{\"file\":\"b.csv\",\"errors\":[]}" };
    assert_int_equal(store_log_ingest(s, &in, &err), 0);
    assert_int_equal(store_ingest_seen(s, "drops", h2, &seen, &report, &err), 0);
    assert_true(seen);
    assert_non_null(report);
    assert_string_equal(report, "{\"file\":\"b.csv\",\"errors\":[]}");
    free(report);
    /* Logged again (okrd ingest reads on request): the latest report wins. */
    in.report = "{\"file\":\"b2.csv\"}";
    assert_int_equal(store_log_ingest(s, &in, &err), 0);
    assert_int_equal(store_ingest_seen(s, "drops", h2, &seen, &report, &err), 0);
    assert_string_equal(report, "{\"file\":\"b2.csv\"}");
    free(report);
    in.sha256 = "ABC";
    assert_int_equal(store_log_ingest(s, &in, &err), OKRD_EINVAL);
    in.sha256 = h2;
    in.outcome = "maybe";
    assert_int_equal(store_log_ingest(s, &in, &err), OKRD_EINVAL);
    store_close(s);
}

/* store_sync (the csv_dir inbox calls it before it moves a file): fine
 * outside a transaction, with or without a WAL opened by this connection
 * (SQLite; on PostgreSQL every commit is durable already); refused inside
 * one (it could not cover it) and on a read-only store. */
static void test_sync(void **state)
{
    struct fx *f = *state;
    struct store *s = take_store(f);
    struct okrd_err err;
    assert_int_equal(store_sync(s, &err), 0); /* nothing read or written yet */
    put(s, "dau", 100, 1);
    assert_int_equal(store_sync(s, &err), 0);
    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(store_sync(s, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "transaction"));
    store_rollback(s);
    struct store *ro = open_ro(f);
    assert_int_equal(store_sync(ro, &err), OKRD_EINVAL);
    store_close(ro);
    store_close(s);
}

/* A store made before the ingest log was keyed by (source, sha256): its
 * rows keep their source and mean what they meant ("this source stored
 * these bytes"); they have no report; the same bytes are new to any other
 * source. */
static void test_ingest_log_migration(void **state)
{
    fx_sqlite_only(); /* a SQLite store of schema 2 (store_migrations[]); PostgreSQL begins at 7 */
    struct fx *f = *state;
    no_store(f);
    const char *h1 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    for (size_t i = 0; i < store_n_migrations && store_migrations[i].version <= 2; i++)
        assert_int_equal(sqlite3_exec(db, store_migrations[i].sql, NULL, NULL, NULL), SQLITE_OK);
    char sql[512];
    snprintf(sql, sizeof sql,
             "PRAGMA user_version = 2;"
             "INSERT INTO ingest_log(source, name, sha256, rows, outcome, at) VALUES"
             " ('drops', 'a.csv', '%s', 10, 'ingested', 1700000000),"
             " ('drops', 'p.csv', '%.63s0', 4, 'partial', 1700000001);",
             h1, h1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    struct store *s = NULL;
    struct okrd_err err = { 0 };
    if (fx_open(f, 0, &s, &err))
        fail_msg("open the schema-2 store: %s", err.msg);
    assert_int_equal(fx_sql_int(f, "PRAGMA user_version"), store_schema_version());
    bool seen = false;
    char *report = NULL;
    assert_int_equal(store_ingest_seen(s, "drops", h1, &seen, &report, &err), 0);
    assert_true(seen);
    assert_null(report);
    assert_int_equal(store_ingest_seen(s, "other", h1, &seen, NULL, &err), 0);
    assert_false(seen);
    store_close(s);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM ingest_log WHERE source = 'drops'"
                                   " AND report IS NULL"),
                     2);
    /* The lookup is one probe of the (source, sha256) index. */
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                   " AND tbl_name = 'ingest_log'"
                                   " AND sql LIKE '%(source, sha256)%'"),
                     1);
}

/* ---- the writer thread ---- */

#define N_JOBS 1000

struct wt {
    uv_loop_t loop;
    struct store_writer *w;
    pthread_t loop_thread;
    int run_order[N_JOBS], done_order[N_JOBS];
    int n_run, n_done, n_off_loop;
    int rcs[N_JOBS];
    char msgs[8][OKRD_ERR_MSG_MAX];
    bool closed;
    atomic_int ticks;
    uv_timer_t timer;
    uv_async_t started;
    size_t big_n;
    int ticks_seen;
};

struct wjob_arg {
    struct wt *t;
    int i;
};

static void on_closed(void *arg)
{
    struct wt *t = arg;
    if (!pthread_equal(pthread_self(), t->loop_thread))
        t->n_off_loop++;
    t->closed = true;
}

/* The writer's connection to the fixture's store (what store_writer_open
 * makes of a path, on either backend). */
static struct store_loc writer_loc(const struct fx *f)
{
    struct store_loc loc = fx_loc(f);
    loc.role = "writer";
    return loc;
}

static void wt_init(struct wt *t, const struct fx *f)
{
    memset(t, 0, sizeof *t);
    t->loop_thread = pthread_self();
    assert_int_equal(uv_loop_init(&t->loop), 0);
    struct okrd_err err = { 0 };
    struct store_loc loc = writer_loc(f);
    if (store_writer_open_loc(&t->w, &t->loop, &loc, &err))
        fail_msg("store_writer_open: %s", err.msg);
}

static void wt_finish(struct wt *t)
{
    assert_int_equal(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
    assert_true(t->closed);
    assert_int_equal(t->n_off_loop, 0);
    assert_int_equal(uv_loop_close(&t->loop), 0); /* nothing left open */
}

static int job_put(struct store *s, void *arg, struct okrd_err *err)
{
    struct wjob_arg *a = arg;
    a->t->run_order[a->t->n_run++] = a->i; /* only the writer thread touches n_run */
    struct store_point_in p = { "seq", a->i, a->i * 0.5 };
    return store_put_points(s, &p, 1, err);
}

static void done_record(void *arg, int rc, const struct okrd_err *err)
{
    struct wjob_arg *a = arg;
    struct wt *t = a->t;
    if (!pthread_equal(pthread_self(), t->loop_thread))
        t->n_off_loop++;
    t->rcs[t->n_done] = rc;
    if (t->n_done < 8)
        snprintf(t->msgs[t->n_done], sizeof t->msgs[0], "%s", err->msg);
    t->done_order[t->n_done++] = a->i;
}

static void done_close_at_end(void *arg, int rc, const struct okrd_err *err)
{
    struct wjob_arg *a = arg;
    done_record(arg, rc, err);
    if (a->i == N_JOBS - 1) {
        assert_int_equal(store_writer_pending(a->t->w), 0);
        store_writer_close(a->t->w, on_closed, a->t);
    }
}

static void test_writer_fifo(void **state)
{
    struct fx *f = *state;
    struct wt *t = calloc(1, sizeof *t);
    static struct wjob_arg args[N_JOBS];
    wt_init(t, f);
    for (int i = 0; i < N_JOBS; i++) {
        args[i] = (struct wjob_arg){ t, i };
        assert_int_equal(store_writer_submit(t->w, job_put, done_close_at_end, &args[i]), 0);
    }
    assert_true(store_writer_pending(t->w) > 0);
    wt_finish(t);
    assert_int_equal(t->n_done, N_JOBS);
    assert_int_equal(t->n_run, N_JOBS);
    for (int i = 0; i < N_JOBS; i++) {
        assert_int_equal(t->run_order[i], i);
        assert_int_equal(t->done_order[i], i);
        assert_int_equal(t->rcs[i], 0);
    }
    struct store *s = open_ro(f);
    struct store_series ser = { 0 };
    struct okrd_err err;
    assert_int_equal(store_get_series(s, "seq", 0, N_JOBS, &ser, &err), 0);
    assert_int_equal(ser.n, N_JOBS);
    store_series_free(&ser);
    store_close(s);
    free(t);
}

static int job_fail_after_write(struct store *s, void *arg, struct okrd_err *err)
{
    int rc = store_begin(s, err);
    if (rc)
        return rc;
    struct store_point_in p = { "lost", 1, 1 };
    if ((rc = store_put_points(s, &p, 1, err)))
        return rc;
    return okrd_err_set(err, OKRD_EINVAL, "job: the file changed while it was read");
}

static int job_forget_commit(struct store *s, void *arg, struct okrd_err *err)
{
    int rc = store_begin(s, err);
    struct store_point_in p = { "lost", 2, 2 };
    return rc ? rc : store_put_points(s, &p, 1, err);
}

static int job_check_empty(struct store *s, void *arg, struct okrd_err *err)
{
    struct store_series ser = { 0 };
    int rc = store_get_series(s, "lost", INT64_MIN, INT64_MAX, &ser, err);
    size_t n = ser.n;
    store_series_free(&ser);
    if (!rc && n)
        rc = okrd_err_set(err, OKRD_EINVAL, "found %zu points", n);
    return rc;
}

static void done_then_close(void *arg, int rc, const struct okrd_err *err)
{
    struct wjob_arg *a = arg;
    done_record(arg, rc, err);
    store_writer_close(a->t->w, on_closed, a->t);
}

static void test_writer_failed_job_rolls_back(void **state)
{
    struct fx *f = *state;
    struct wt *t = calloc(1, sizeof *t);
    wt_init(t, f);
    struct wjob_arg a[3] = { { t, 0 }, { t, 1 }, { t, 2 } };
    assert_int_equal(store_writer_submit(t->w, job_fail_after_write, done_record, &a[0]), 0);
    assert_int_equal(store_writer_submit(t->w, job_forget_commit, done_record, &a[1]), 0);
    assert_int_equal(store_writer_submit(t->w, job_check_empty, done_then_close, &a[2]), 0);
    wt_finish(t);
    assert_int_equal(t->n_done, 3);
    assert_int_equal(t->rcs[0], OKRD_EINVAL);
    assert_string_equal(t->msgs[0], "job: the file changed while it was read");
    assert_int_not_equal(t->rcs[1], 0);
    assert_non_null(strstr(t->msgs[1], "transaction open"));
    assert_int_equal(t->rcs[2], 0);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM points"), 0);
    free(t);
}

/* ---- group commit of small jobs ---- */

#define N_SMALL 300

struct group_t {
    struct wt t;
    sem_t go;
    atomic_int saw_group; /* small jobs that ran inside a shared transaction */
};

static int job_wait_go(struct store *s, void *arg, struct okrd_err *err)
{
    (void)s; (void)err;
    struct group_t *g = arg;
    while (sem_wait(&g->go) < 0)
        ;
    return 0;
}

static int job_small(struct store *s, void *arg, struct okrd_err *err)
{
    struct wjob_arg *a = arg;
    struct group_t *g = (struct group_t *)a->t;
    if (s->grouped)
        atomic_fetch_add(&g->saw_group, 1);
    a->t->run_order[a->t->n_run++] = a->i;
    switch (a->i % 10) {
    case 3: return job_fail_after_write(s, arg, err);   /* its rows undone, others kept */
    case 7: return job_forget_commit(s, arg, err);      /* rolled back to its savepoint */
    default: {
        int rc = store_begin(s, err);
        struct store_point_in p = { "small", a->i, a->i };
        if (!rc && !(rc = store_put_points(s, &p, 1, err)))
            rc = store_commit(s, err);
        return rc;
    }
    }
}

static void done_small(void *arg, int rc, const struct okrd_err *err)
{
    struct wjob_arg *a = arg;
    done_record(arg, rc, err);
    if (a->i == N_SMALL - 1)
        store_writer_close(a->t->w, on_closed, a->t);
}

static void test_writer_group_commit(void **state)
{
    struct fx *f = *state;
    struct group_t *g = calloc(1, sizeof *g);
    static struct wjob_arg args[N_SMALL];
    sem_init(&g->go, 0, 0);
    wt_init(&g->t, f);
    /* A normal job holds the writer until every small job is queued behind
     * it, so they meet in the queue and run as groups. */
    assert_int_equal(store_writer_submit(g->t.w, job_wait_go, NULL, g), 0);
    for (int i = 0; i < N_SMALL; i++) {
        args[i] = (struct wjob_arg){ &g->t, i };
        assert_int_equal(store_writer_submit_small(g->t.w, job_small, done_small, &args[i]), 0);
    }
    sem_post(&g->go);
    wt_finish(&g->t);
    assert_int_equal(g->t.n_done, N_SMALL);
    int stored = 0;
    for (int i = 0; i < N_SMALL; i++) {
        assert_int_equal(g->t.done_order[i], i); /* FIFO, group or not */
        assert_int_equal(g->t.run_order[i], i);
        if (i % 10 == 3 || i % 10 == 7) {
            assert_int_not_equal(g->t.rcs[i], 0);
        } else {
            assert_int_equal(g->t.rcs[i], 0);
            stored++;
        }
    }
    assert_int_equal(atomic_load(&g->saw_group), N_SMALL); /* all ran grouped */
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM points p JOIN metrics m ON m.id = p.metric_id"
                                   " WHERE m.name = 'small'"), stored);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM points p JOIN metrics m ON m.id = p.metric_id"
                                   " WHERE m.name = 'lost'"), 0);
    sem_destroy(&g->go);
    free(g);
}

static int job_block_until_stop(struct store *s, void *arg, struct okrd_err *err)
{
    struct wjob_arg *a = arg;
    a->t->run_order[a->t->n_run++] = a->i;
    uv_async_send(&a->t->started);
    /* Slow on purpose: runs until close begins. */
    while (!store_stop_requested(s))
        usleep(1000);
    struct store_point_in p = { "kept", 1, 1 };
    return store_put_points(s, &p, 1, err); /* the running job still completes */
}

static void on_started(uv_async_t *h)
{
    struct wt *t = h->data;
    store_writer_close(t->w, on_closed, t);
    assert_int_equal(store_writer_submit(t->w, job_put, done_record, NULL), OKRD_ECANCELED);
    uv_close((uv_handle_t *)h, NULL);
}

static void test_writer_close_cancels_queued(void **state)
{
    struct fx *f = *state;
    struct wt *t = calloc(1, sizeof *t);
    wt_init(t, f);
    assert_int_equal(uv_async_init(&t->loop, &t->started, on_started), 0);
    t->started.data = t;
    struct wjob_arg a[6];
    for (int i = 0; i < 6; i++)
        a[i] = (struct wjob_arg){ t, i };
    assert_int_equal(store_writer_submit(t->w, job_block_until_stop, done_record, &a[0]), 0);
    for (int i = 1; i < 6; i++)
        assert_int_equal(store_writer_submit(t->w, job_put, done_record, &a[i]), 0);
    assert_int_equal(store_writer_pending(t->w), 6);
    wt_finish(t);
    assert_int_equal(t->n_run, 1); /* only the first ever ran */
    assert_int_equal(t->n_done, 6);
    assert_int_equal(t->rcs[0], 0);
    for (int i = 1; i < 6; i++) {
        assert_int_equal(t->done_order[i], i);
        assert_int_equal(t->rcs[i], OKRD_ECANCELED);
    }
    assert_non_null(strstr(t->msgs[1], "closed"));
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM points"), 1);
    free(t);
}

#define BIG_N 200000

static void on_tick(uv_timer_t *h)
{
    struct wt *t = h->data;
    atomic_fetch_add(&t->ticks, 1);
}

static int job_slow_read(struct store *s, void *arg, struct okrd_err *err)
{
    struct wjob_arg *a = arg;
    struct store_series ser = { 0 };
    int rc = store_get_series(s, "big", INT64_MIN, INT64_MAX, &ser, err);
    a->t->big_n = ser.n;
    store_series_free(&ser);
    /* Slow on purpose: keep running until the loop has ticked a few times.
     * If the loop were blocked by this job, it would never tick (bounded so
     * a broken writer fails instead of hanging). */
    for (int i = 0; i < 20000 && atomic_load(&a->t->ticks) < 3; i++)
        usleep(1000);
    a->t->ticks_seen = atomic_load(&a->t->ticks);
    return rc;
}

static void done_slow(void *arg, int rc, const struct okrd_err *err)
{
    struct wjob_arg *a = arg;
    done_record(arg, rc, err);
    uv_timer_stop(&a->t->timer);
    uv_close((uv_handle_t *)&a->t->timer, NULL);
    store_writer_close(a->t->w, on_closed, a->t);
}

static void test_writer_slow_job_leaves_loop_free(void **state)
{
    struct fx *f = *state;
    struct store *s = take_store(f);
    struct store_point_in *pts = malloc(BIG_N * sizeof *pts);
    for (int i = 0; i < BIG_N; i++)
        pts[i] = (struct store_point_in){ "big", i * 60, i };
    struct okrd_err err;
    assert_int_equal(store_put_points(s, pts, BIG_N, &err), 0);
    free(pts);
    store_close(s);

    struct wt *t = calloc(1, sizeof *t);
    wt_init(t, f);
    assert_int_equal(uv_timer_init(&t->loop, &t->timer), 0);
    t->timer.data = t;
    assert_int_equal(uv_timer_start(&t->timer, on_tick, 1, 1), 0);
    struct wjob_arg a = { t, 0 };
    assert_int_equal(store_writer_submit(t->w, job_slow_read, done_slow, &a), 0);
    wt_finish(t);
    assert_int_equal(t->rcs[0], 0);
    assert_int_equal(t->big_n, BIG_N);
    assert_true(t->ticks_seen > 0);
    free(t);
}

static void test_writer_open_fails_cleanly(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    f->s = NULL;
    make_newer(f);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct store_writer *w = NULL;
    struct okrd_err err = { 0 };
    struct store_loc loc = writer_loc(f);
    assert_int_equal(store_writer_open_loc(&w, &loop, &loc, &err), OKRD_ESTORE);
    assert_null(w);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- measurement (OKRD_STORE_BENCH=1): not a pass/fail test ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_bench_1m(void **state)
{
    struct fx *f = *state;
    if (!getenv("OKRD_STORE_BENCH"))
        skip();
    enum { N = 1000000 };
    struct store_point_in *pts = malloc(N * sizeof *pts);
    static char names[10][16];
    for (int m = 0; m < 10; m++)
        snprintf(names[m], sizeof names[m], "metric_%d", m);
    for (int i = 0; i < N; i++) /* 10 metrics x 100,000 minutes, interleaved */
        pts[i] = (struct store_point_in){ names[i % 10], 1700000000 + (int64_t)(i / 10) * 60, i };
    struct store *s = take_store(f);
    struct okrd_err err;
    double t0 = now_s();
    assert_int_equal(store_put_points(s, pts, N, &err), 0);
    double t1 = now_s();
    assert_int_equal(store_put_points(s, pts, N, &err), 0); /* all replaced */
    double t2 = now_s();
    struct store_series ser = { 0 };
    assert_int_equal(store_get_series(s, "metric_3", INT64_MIN, INT64_MAX, &ser, &err), 0);
    double t3 = now_s();
    print_message("bench: upsert 1M new points %.2fs, 1M replacing %.2fs, read 100k %.3fs\n",
                  t1 - t0, t2 - t1, t3 - t2);
    assert_int_equal(ser.n, N / 10);
    store_series_free(&ser);
    store_close(s);
    free(pts);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_path),
        T(test_migrate_empty_file),
        T(test_ingest_log_migration),
        T(test_create_and_reopen),
        T(test_refuse_newer),
        T(test_readonly_missing),
        T(test_readonly_old_schema),
        T(test_readonly_cannot_write),
        T(test_readonly_creates_nothing),
        T(test_upsert_replaces),
        T(test_series_range_edges),
        T(test_last_point),
        T(test_series_with_prior),
        T(test_bad_point_stores_nothing),
        T(test_explicit_rollback),
        T(test_each_point_order),
        T(test_data_version),
        T(test_source_health),
        T(test_kr_state),
        T(test_ingest_log),
        T(test_sync),
        T(test_writer_fifo),
        T(test_writer_failed_job_rolls_back),
        T(test_writer_group_commit),
        T(test_writer_close_cancels_queued),
        T(test_writer_slow_job_leaves_loop_free),
        T(test_writer_open_fails_cleanly),
        T(test_bench_1m),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
