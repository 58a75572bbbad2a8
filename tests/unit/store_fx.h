/*
 * store_fx.h — the fixture the store unit tests share: a fresh store opened
 * read-write (setup), removed again after the test (teardown). Header-only,
 * included by the store tests alone, so the other tests need not link
 * store/.
 *
 * The backend comes from the environment (DESIGN section 10: the store's
 * tests run against both):
 *   OKRD_TEST_STORE=postgresql with OKRD_TEST_PG=<libpq conninfo or URI of
 *   a server where the test may CREATE DATABASE> — each test gets a FRESH
 *   database (created in setup, dropped in teardown);
 *   otherwise SQLite in a fresh temporary state_dir, as always.
 * A test that looks into the SQLite file itself starts with
 * fx_sqlite_only(), which skips it (cmocka skip) on PostgreSQL.
 */
#ifndef OKRD_TEST_STORE_FX_H
#define OKRD_TEST_STORE_FX_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "store/store.h"
#include "testutil.h"

struct fx {
    char *dir;
    char path[4096];          /* SQLite: the database file */
    struct store *s;
    bool pg;                  /* the store is PostgreSQL */
    char pg_db[64];           /* its database, this test's own */
    char *pg_url;             /* conninfo of pg_db (malloc'd) */
};

/* True when OKRD_TEST_STORE asks for PostgreSQL. */
static inline bool fx_is_pg(void)
{
    const char *b = getenv("OKRD_TEST_STORE");
    return b && strcmp(b, "postgresql") == 0;
}

/* OKRD_TEST_PG's conninfo with dbname replaced by DB, as a key=value
 * string (malloc'd); NULL when OKRD_TEST_PG is unset or malformed. */
static inline char *fx_pg_conninfo(const char *db)
{
    const char *base = getenv("OKRD_TEST_PG");
    if (!base || !*base)
        return NULL;
    PQconninfoOption *opts = PQconninfoParse(base, NULL);
    if (!opts)
        return NULL;
    size_t cap = 256 + 2 * strlen(base) + (db ? 2 * strlen(db) : 0);
    char *out = malloc(cap);
    size_t o = 0;
    for (PQconninfoOption *k = opts; out && k->keyword; k++) {
        const char *v = strcmp(k->keyword, "dbname") == 0 && db ? db : k->val;
        if (!v)
            continue;
        o += (size_t)snprintf(out + o, cap - o, "%s%s='", o ? " " : "", k->keyword);
        for (const char *c = v; *c && o + 3 < cap; c++) {
            if (*c == '\'' || *c == '\\')
                out[o++] = '\\';
            out[o++] = *c;
        }
        o += (size_t)snprintf(out + o, cap - o, "'");
    }
    PQconninfoFree(opts);
    return out;
}

/* Runs SQL on OKRD_TEST_PG's own database (CREATE/DROP DATABASE). */
static inline void fx_pg_admin(const char *sql)
{
    char *ci = fx_pg_conninfo(NULL);
    assert_non_null(ci);
    PGconn *c = PQconnectdb(ci);
    free(ci);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("OKRD_TEST_PG: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

/* A fresh, empty UTF8 database of this test's own: its name into f->pg_db,
 * its conninfo into f->pg_url. */
static inline void fx_pg_create(struct fx *f)
{
    static unsigned seq;
    snprintf(f->pg_db, sizeof f->pg_db, "okrd_test_%ld_%u", (long)getpid(), ++seq);
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->pg_db);
    fx_pg_admin(sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE template0", f->pg_db);
    fx_pg_admin(sql);
    free(f->pg_url); /* a test may make its database again */
    f->pg_url = fx_pg_conninfo(f->pg_db);
    assert_non_null(f->pg_url);
}

static inline void fx_pg_drop(struct fx *f)
{
    if (!f->pg_db[0])
        return;
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", f->pg_db);
    fx_pg_admin(sql);
    f->pg_db[0] = '\0';
}

/* Where the fixture's store is, for store_writer_open_loc. */
static inline struct store_loc fx_loc(const struct fx *f)
{
    struct store_loc loc = { .kind = f->pg ? STORE_POSTGRESQL : STORE_SQLITE,
                             .path = f->path, .url = f->pg_url, .role = "test" };
    return loc;
}

/* Opens the fixture's store again (another connection to the same data). */
static inline int fx_open(struct fx *f, unsigned flags, struct store **out, struct okrd_err *err)
{
    struct store_loc loc = { .kind = f->pg ? STORE_POSTGRESQL : STORE_SQLITE,
                             .path = f->path, .url = f->pg_url, .role = "test" };
    return store_open_loc(out, &loc, flags, err);
}

/* Runs SQL (statements in the common dialect of both backends) on the
 * fixture's database by the backend's own client, beside the store's
 * connection: a test's way to set up what the store's API cannot. */
static inline void fx_raw_exec(struct fx *f, const char *sql)
{
    if (f->pg) {
        PGconn *c = PQconnectdb(f->pg_url);
        if (PQstatus(c) != CONNECTION_OK)
            fail_msg("connect to %s: %s", f->pg_db, PQerrorMessage(c));
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
            fail_msg("%s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
        PQfinish(c);
        return;
    }
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* One integer a query on the fixture's store answers (the first column of
 * the first row; NULL as -999), by the backend's own client: for what the
 * interface does not show (a NULL column, a row count), on the same tables
 * (DESIGN section 10). */
static inline long long fx_sql_int(struct fx *f, const char *sql)
{
    long long v;
    if (f->pg) {
        PGconn *c = PQconnectdb(f->pg_url);
        if (PQstatus(c) != CONNECTION_OK)
            fail_msg("connect to %s: %s", f->pg_db, PQerrorMessage(c));
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
            fail_msg("%s: %s", sql, PQresultErrorMessage(r));
        v = PQgetisnull(r, 0, 0) ? -999 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(c);
        return v;
    }
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -999 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Skips the calling test on PostgreSQL: it inspects the SQLite file. */
#define fx_sqlite_only()                                                                         \
    do {                                                                                         \
        if (fx_is_pg()) {                                                                        \
            print_message("skipped on PostgreSQL: this test inspects the SQLite file\n");        \
            skip();                                                                              \
        }                                                                                        \
    } while (0)

/* A fresh store (what setup makes): for a test that has a setup of its own
 * or opens a store in its body; fx_free closes and removes it. */
static inline struct fx *fx_new(void)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    assert_non_null(f->dir);
    struct okrd_err err;
    assert_int_equal(store_path(f->dir, f->path, sizeof f->path, &err), 0);
    if (fx_is_pg()) {
        if (!getenv("OKRD_TEST_PG"))
            fail_msg("OKRD_TEST_STORE=postgresql needs OKRD_TEST_PG (a libpq conninfo)");
        f->pg = true;
        fx_pg_create(f);
    }
    int rc = fx_open(f, 0, &f->s, &err);
    if (rc)
        fail_msg("open the test store: %s", err.msg);
    return f;
}

static inline void fx_free(struct fx *f)
{
    store_close(f->s);
    if (f->pg)
        fx_pg_drop(f);
    free(f->pg_url);
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
}

/* A test with a setup of its own defines STORE_FX_NO_SETUP before the
 * #include and calls fx_new/fx_free. */
#ifndef STORE_FX_NO_SETUP
static int setup(void **state)
{
    *state = fx_new();
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}
#endif

#endif
