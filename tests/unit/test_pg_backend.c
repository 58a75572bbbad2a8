/*
 * test_pg_backend.c — the PostgreSQL backend's own rules (DESIGN section 10)
 * against a real server: a batch holding one (metric, ts) twice keeps the
 * last row; a newer schema is refused naming both versions; two opens at
 * once on an empty database migrate it once; every write transaction bumps
 * change_seq and sends NOTIFY okrd; the password never reaches a message;
 * -0.0 is stored as 0 and doubles round-trip exactly; a read-only open
 * never writes and refuses a database without the schema; a database that
 * is not UTF8 is refused; sessions are named "okrd HOST PID ROLE"; a
 * poll's health read rides in the pipeline of its points and answers as a
 * read of its own would.
 *
 * The server is OKRD_TEST_PG (a libpq conninfo where the test may CREATE
 * DATABASE); without it every test is skipped with a message saying so.
 * Each test gets a fresh database (store_fx.h) and looks under the hood
 * with libpq where the store's API cannot show the rule.
 */
#include "store_fx.h"

#include <float.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>

/* Without a server every test is skipped (in its body: cmocka counts a
 * skip() in a setup as an error). */
static bool have_server(void)
{
    const char *pg = getenv("OKRD_TEST_PG");
    return pg && *pg;
}

static int pg_setup(void **state)
{
    *state = NULL;
    if (!have_server())
        return 0;
    setenv("OKRD_TEST_STORE", "postgresql", 1);
    return setup(state);
}

static int pg_teardown(void **state)
{
    return *state ? teardown(state) : 0;
}

/* The test's fixture, or a skip when there is no server. */
static struct fx *pg_fx(void **state)
{
    if (!*state) {
        print_message("OKRD_TEST_PG is unset: skipped (set it to the libpq conninfo of a "
                      "PostgreSQL server where the test may CREATE DATABASE)\n");
        skip();
    }
    return *state;
}

static PGconn *raw_connect(struct fx *f)
{
    PGconn *c = PQconnectdb(f->pg_url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect to %s: %s", f->pg_db, PQerrorMessage(c));
    return c;
}

/* The first column of the first row of SQL, as text (static buffer). */
static const char *raw_text(struct fx *f, const char *sql)
{
    static char buf[512];
    PGconn *c = raw_connect(f);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    snprintf(buf, sizeof buf, "%s", PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return buf;
}

static long long raw_int(struct fx *f, const char *sql)
{
    return strtoll(raw_text(f, sql), NULL, 10);
}

static void put(struct store *s, const struct store_point_in *p, size_t n)
{
    struct okrd_err err = { 0 };
    if (store_put_points(s, p, n, &err) != 0)
        fail_msg("put %zu points: %s", n, err.msg);
}

static void series(struct store *s, const char *metric, struct store_series *out)
{
    struct okrd_err err = { 0 };
    out->n = 0;
    if (store_get_series(s, metric, INT64_MIN, INT64_MAX, out, &err) != 0)
        fail_msg("read %s: %s", metric, err.msg);
}

/* ---- a batch holding one key twice keeps the last row ---- */

static void test_duplicate_in_a_batch_keeps_the_last(void **state)
{
    struct fx *f = pg_fx(state);
    struct store_point_in p[] = { { "m", 20, 1 }, { "m", 10, 2 }, { "m", 20, 3 }, { "n", 10, 4 },
                                  { "m", 20, 5 }, { "n", 10, 6 } };
    put(f->s, p, 6);
    struct store_series s = { 0 };
    series(f->s, "m", &s);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.pts[0].ts, 10);
    assert_true(s.pts[0].value == 2);
    assert_int_equal(s.pts[1].ts, 20);
    assert_true(s.pts[1].value == 5);
    series(f->s, "n", &s);
    assert_int_equal(s.n, 1);
    assert_true(s.pts[0].value == 6);

    /* the bulk path: new rows (COPY) and rows over stored ones (upsert) */
    struct okrd_err err = { 0 };
    assert_int_equal(store_begin_bulk(f->s, &err), 0);
    struct store_point_in b1[] = { { "k", 100, 1 }, { "k", 100, 2 }, { "k", 200, 3 } };
    assert_int_equal(store_put_points_bulk(f->s, "csv", b1, 3, &err), 0);
    struct store_point_in b2[] = { { "k", 200, 7 }, { "k", 300, 8 }, { "k", 200, 9 } };
    assert_int_equal(store_put_points_bulk(f->s, "csv", b2, 3, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    series(f->s, "k", &s);
    assert_int_equal(s.n, 3);
    assert_true(s.pts[0].value == 2);
    assert_true(s.pts[1].value == 9);
    assert_true(s.pts[2].value == 8);
    store_series_free(&s);
}

/* ---- schema versions ---- */

static void test_newer_schema_refused_naming_both_versions(void **state)
{
    struct fx *f = pg_fx(state);
    store_close(f->s);
    f->s = NULL;
    int v = store_schema_version();
    char sql[128], want[64], ours[32];
    snprintf(sql, sizeof sql, "INSERT INTO schema_migrations(version, what) VALUES (%d, 'future')",
             v + 1);
    fx_raw_exec(f, sql);
    snprintf(want, sizeof want, "schema version %d", v + 1);
    snprintf(ours, sizeof ours, "(%d)", v);
    struct okrd_err err = { 0 };
    struct store *s = NULL;
    assert_int_equal(fx_open(f, 0, &s, &err), OKRD_ESTORE);
    assert_null(s);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, ours));
    assert_int_equal(fx_open(f, STORE_READONLY, &s, &err), OKRD_ESTORE);
    assert_non_null(strstr(err.msg, want));
    /* nothing was touched */
    snprintf(sql, sizeof sql, "%d", v + 1);
    assert_string_equal(raw_text(f, "SELECT max(version) FROM schema_migrations"), sql);
}

struct opener {
    struct fx *f;
    pthread_barrier_t *go;
    int rc;
    struct okrd_err err;
};

static void *open_at_once(void *arg)
{
    struct opener *o = arg;
    struct store *s = NULL;
    pthread_barrier_wait(o->go);
    o->rc = fx_open(o->f, 0, &s, &o->err);
    store_close(s);
    return NULL;
}

static void test_two_opens_at_once_migrate_once(void **state)
{
    struct fx *f = pg_fx(state);
    store_close(f->s);
    f->s = NULL;
    enum { N = 4 };
    for (int round = 0; round < 3; round++) {
        fx_pg_drop(f);
        fx_pg_create(f); /* empty again */
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, N);
        struct opener o[N];
        pthread_t t[N];
        for (int i = 0; i < N; i++) {
            o[i] = (struct opener){ .f = f, .go = &go };
            assert_int_equal(pthread_create(&t[i], NULL, open_at_once, &o[i]), 0);
        }
        for (int i = 0; i < N; i++) {
            pthread_join(t[i], NULL);
            if (o[i].rc != 0)
                fail_msg("open %d of %d at once: %s", i, N, o[i].err.msg);
        }
        pthread_barrier_destroy(&go);
        /* each version recorded once: 7 (the schema) and every one after */
        assert_int_equal(raw_int(f, "SELECT count(*) FROM schema_migrations"),
                         store_schema_version() - 6);
        assert_int_equal(raw_int(f, "SELECT max(version) FROM schema_migrations"),
                         store_schema_version());
        assert_int_equal(raw_int(f, "SELECT count(*) FROM store_meta"), 1);
    }
    /* the store id is random, set once */
    assert_int_equal(strlen(raw_text(f, "SELECT store_id FROM store_meta")), 36);
}

static void test_store_ids_differ(void **state)
{
    struct fx *f = pg_fx(state);
    char first[64];
    snprintf(first, sizeof first, "%s", raw_text(f, "SELECT store_id FROM store_meta"));
    store_close(f->s);
    f->s = NULL;
    fx_pg_drop(f);
    fx_pg_create(f);
    struct okrd_err err = { 0 };
    assert_int_equal(fx_open(f, 0, &f->s, &err), 0);
    assert_string_not_equal(raw_text(f, "SELECT store_id FROM store_meta"), first);
}

/* ---- change_seq and NOTIFY ---- */

static int64_t seq_of(struct store *s)
{
    int64_t v = -1;
    struct okrd_err err = { 0 };
    if (store_data_version(s, &v, &err) != 0)
        fail_msg("data_version: %s", err.msg);
    return v;
}

/* Waits (deadline 10 s) for a notification on channel okrd; its payload. */
static long long wait_notify(PGconn *c)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        PQconsumeInput(c);
        PGnotify *n = PQnotifies(c);
        if (n) {
            assert_string_equal(n->relname, "okrd");
            long long v = strtoll(n->extra, NULL, 10);
            PQfreemem(n);
            return v;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 10)
            fail_msg("no NOTIFY okrd within 10 s");
        struct pollfd pfd = { .fd = PQsocket(c), .events = POLLIN };
        poll(&pfd, 1, 1000);
    }
}

static void test_every_write_transaction_bumps_change_seq(void **state)
{
    struct fx *f = pg_fx(state);
    PGconn *listener = raw_connect(f);
    PQclear(PQexec(listener, "LISTEN okrd"));
    struct okrd_err err = { 0 };
    struct store *reader = NULL;
    assert_int_equal(fx_open(f, STORE_READONLY, &reader, &err), 0);

    int64_t v0 = seq_of(reader), w0 = seq_of(f->s);
    struct store_point_in p = { "m", 1, 1 };
    put(f->s, &p, 1); /* one call, its own transaction */
    assert_int_equal(seq_of(reader), v0 + 1);
    assert_int_equal(wait_notify(listener), v0 + 1);

    /* one transaction of several writes: one bump, seen only at commit */
    assert_int_equal(store_begin(f->s, &err), 0);
    put(f->s, &p, 1);
    struct store_source_health h = { .last_success_s = 5 };
    assert_int_equal(store_put_source_health(f->s, "src", &h, &err), 0);
    assert_int_equal(seq_of(reader), v0 + 1);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(seq_of(reader), v0 + 2);
    assert_int_equal(wait_notify(listener), v0 + 2);

    /* a rollback, a read, an empty transaction: no bump */
    assert_int_equal(store_begin(f->s, &err), 0);
    put(f->s, &p, 1);
    store_rollback(f->s);
    struct store_series s = { 0 };
    series(f->s, "m", &s);
    store_series_free(&s);
    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(seq_of(reader), v0 + 2);
    /* as PRAGMA data_version: a connection's own commits do not count */
    assert_int_equal(seq_of(f->s), w0);

    /* another writer (okrd ingest beside the daemon) bumps it too */
    struct store *other = NULL;
    assert_int_equal(fx_open(f, 0, &other, &err), 0);
    put(other, &p, 1);
    assert_int_equal(seq_of(reader), v0 + 3);
    assert_int_equal(seq_of(f->s), w0 + 1);
    store_close(other);
    store_close(reader);
    PQfinish(listener);
}

/* ---- secrets ---- */

static void assert_no_secret(const struct okrd_err *err, const char *secret)
{
    if (strstr(err->msg, secret))
        fail_msg("the password is in the message: %s", err->msg);
}

static void test_password_never_in_a_message(void **state)
{
    struct fx *f = pg_fx(state);
    static const char secret[] = "Sup3rS3cretPw";
    struct okrd_err err = { 0 };
    struct store *s = NULL;
    char url[1024];

    /* a malformed connection string that holds the password */
    snprintf(url, sizeof url, "host=/nonexistent password=%s %s", secret, secret);
    struct store_loc loc = { .kind = STORE_POSTGRESQL, .url = url, .role = "test" };
    assert_int_equal(store_open_loc(&s, &loc, 0, &err), OKRD_EINVAL);
    assert_no_secret(&err, secret);
    assert_non_null(strstr(err.msg, "store.url"));
    snprintf(url, sizeof url, "postgresql://u:%s@/db?host=/nonexistent&bogus%s=1", secret, secret);
    assert_int_not_equal(store_open_loc(&s, &loc, 0, &err), 0);
    assert_no_secret(&err, secret);

    /* nothing listens there */
    snprintf(url, sizeof url, "host=/nonexistent-okrd-dir port=1 user=u password=%s", secret);
    assert_int_equal(store_open_loc(&s, &loc, 0, &err), OKRD_EIO);
    assert_no_secret(&err, secret);
    assert_non_null(strstr(err.msg, "store: connect to postgresql u@"));

    /* a wrong password for a role that has one */
    fx_raw_exec(f, "DROP ROLE IF EXISTS okrd_test_pw");
    fx_raw_exec(f, "CREATE ROLE okrd_test_pw LOGIN PASSWORD 'right-password'");
    snprintf(url, sizeof url, "%s user=okrd_test_pw password=%s", f->pg_url, secret);
    PGconn *probe = PQconnectdb(url);
    bool trusted = PQstatus(probe) == CONNECTION_OK;
    PQfinish(probe);
    if (trusted) {
        print_message("the server trusts this connection (no password asked): "
                      "the wrong-password message is not exercised here\n");
    } else {
        assert_int_equal(store_open_loc(&s, &loc, 0, &err), OKRD_EINVAL);
        assert_no_secret(&err, secret);
        assert_non_null(strstr(err.msg, "password authentication failed"));
        assert_non_null(strstr(err.msg, "okrd_test_pw"));
    }
    fx_raw_exec(f, "DROP ROLE IF EXISTS okrd_test_pw");
}

/* ---- values ---- */

static void test_doubles_round_trip_and_minus_zero_is_zero(void **state)
{
    struct fx *f = pg_fx(state);
    const double v[] = { 0.1 + 0.2, 1e-300, 5e-324, DBL_MAX, -DBL_MIN, 1.0 / 3, -0.0, 123456789.123456789 };
    enum { N = sizeof v / sizeof v[0] };
    struct store_point_in p[N];
    for (int i = 0; i < N; i++)
        p[i] = (struct store_point_in){ "x", i, v[i] };
    put(f->s, p, N);
    struct store_series s = { 0 };
    series(f->s, "x", &s);
    assert_int_equal(s.n, N);
    for (int i = 0; i < N; i++) {
        if (memcmp(&s.pts[i].value, &v[i], sizeof v[i]) != 0 && v[i] != 0)
            fail_msg("point %d: stored %.17g, read %.17g", i, v[i], s.pts[i].value);
    }
    assert_false(signbit(s.pts[6].value));
    assert_string_equal(raw_text(f, "SELECT value::text FROM points WHERE ts = 6"), "0");
    /* and through the bulk path */
    struct okrd_err err = { 0 };
    struct store_point_in z = { "y", 1, -0.0 };
    assert_int_equal(store_begin_bulk(f->s, &err), 0);
    assert_int_equal(store_put_points_bulk(f->s, NULL, &z, 1, &err), 0);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_string_equal(raw_text(f, "SELECT value::text FROM points p JOIN metrics m"
                                    " ON m.id = p.metric_id WHERE m.name = 'y'"), "0");
    store_series_free(&s);
}

/* Text is ordered byte-wise (COLLATE "C"), as SQLite orders it. */
static int collect(void *ctx, const char *metric)
{
    char *buf = ctx;
    strcat(buf, metric);
    strcat(buf, ",");
    return 0;
}

static void test_metric_order_is_byte_order(void **state)
{
    struct fx *f = pg_fx(state);
    struct store_point_in p[] = { { "b", 1, 1 }, { "B", 1, 1 }, { "a_b", 1, 1 }, { "a-b", 1, 1 },
                                  { "a.b", 1, 1 }, { "A", 1, 1 } };
    put(f->s, p, 6);
    char buf[256] = "";
    struct okrd_err err = { 0 };
    assert_int_equal(store_each_metric(f->s, collect, buf, &err), 0);
    assert_string_equal(buf, "A,B,a-b,a.b,a_b,b,");
}

/* ---- read-only ---- */

static void test_readonly_never_writes(void **state)
{
    struct fx *f = pg_fx(state);
    struct okrd_err err = { 0 };
    struct store *ro = NULL;
    assert_int_equal(fx_open(f, STORE_READONLY, &ro, &err), 0);
    struct store_point_in p = { "m", 1, 1 };
    assert_int_equal(store_put_points(ro, &p, 1, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "read-only"));
    assert_int_equal(store_begin(ro, &err), OKRD_EINVAL);
    store_close(ro);

    /* an empty database: refused, and still empty */
    store_close(f->s);
    f->s = NULL;
    fx_pg_drop(f);
    fx_pg_create(f);
    assert_int_equal(fx_open(f, STORE_READONLY, &ro, &err), OKRD_ENOTFOUND);
    assert_null(ro);
    assert_non_null(strstr(err.msg, "no store in postgresql"));
    assert_string_equal(raw_text(f, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
                        "0");
    /* an older schema: refused with the advice to migrate */
    fx_raw_exec(f, "CREATE TABLE schema_migrations (version integer PRIMARY KEY, what text);"
                   " INSERT INTO schema_migrations VALUES (3, 'old')");
    assert_int_equal(fx_open(f, STORE_READONLY, &ro, &err), OKRD_ESTORE);
    assert_non_null(strstr(err.msg, "schema version 3"));
    assert_non_null(strstr(err.msg, "okrd run"));
}

/* ---- the server ---- */

static void test_not_utf8_refused(void **state)
{
    struct fx *f = pg_fx(state);
    char db[80], sql[200];
    snprintf(db, sizeof db, "%s_ascii", f->pg_db);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", db);
    fx_pg_admin(sql);
    snprintf(sql, sizeof sql,
             "CREATE DATABASE %s ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
             db);
    fx_pg_admin(sql);
    char *url = fx_pg_conninfo(db);
    struct store_loc loc = { .kind = STORE_POSTGRESQL, .url = url, .role = "test" };
    struct okrd_err err = { 0 };
    struct store *s = NULL;
    assert_int_equal(store_open_loc(&s, &loc, 0, &err), OKRD_ESTORE);
    assert_non_null(strstr(err.msg, "SQL_ASCII"));
    assert_non_null(strstr(err.msg, "UTF8"));
    free(url);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    fx_pg_admin(sql);
}

static void test_session_settings(void **state)
{
    struct fx *f = pg_fx(state);
    char host[256] = "", want[400];
    gethostname(host, sizeof host - 1);
    snprintf(want, sizeof want, "okrd %s %ld test", host, (long)getpid());
    char sql[600];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'", want);
    assert_int_equal(raw_int(f, sql), 1);
    assert_string_equal(store_backend_of(f->s), "postgresql");
    assert_true(store_is_shared(f->s));
}

/* ---- a poll's health read rides with its points ---- */

/* The text of the last statement the fixture's session ran. */
static const char *last_query(struct fx *f)
{
    char sql[400];
    snprintf(sql, sizeof sql,
             "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
             " AND application_name LIKE 'okrd %% %ld test'", (long)getpid());
    return raw_text(f, sql);
}

static void test_health_read_rides_with_the_points(void **state)
{
    struct fx *f = pg_fx(state);
    struct okrd_err err = { 0 };
    struct store_source_health h1 = { .last_success_s = 1790000000, .consecutive_failures = 0,
                                      .points_total = 7 };
    assert_int_equal(store_put_source_health(f->s, "api", &h1, &err), 0);

    /* In a transaction (a poll's job): the upsert of a new metric's points,
     * then the health read, answered without a statement of its own. */
    assert_int_equal(store_begin(f->s, &err), 0);
    struct store_point_in p = { "fresh", 100, 1.5 };
    assert_int_equal(store_put_points_from(f->s, "api", &p, 1, &err), 0);
    struct store_source_health got = { 0 };
    assert_int_equal(store_get_source_health(f->s, "api", &got, &err), 0);
    assert_non_null(strstr(last_query(f), "INSERT INTO points")); /* no SELECT after it */
    assert_int_equal(got.last_success_s, h1.last_success_s);
    assert_int_equal(got.points_total, 7);
    /* Asked again: read from the server (one answer per read). */
    assert_int_equal(store_get_source_health(f->s, "api", &got, &err), 0);
    assert_non_null(strstr(last_query(f), "FROM source_health"));
    assert_int_equal(got.points_total, 7);

    /* Another source's read is never answered from it; a source without a
     * record is "not found" either way. */
    assert_int_equal(store_put_points_from(f->s, "api", &p, 1, &err), 0);
    assert_int_equal(store_get_source_health(f->s, "other", &got, &err), OKRD_ENOTFOUND);
    assert_int_equal(store_put_points_from(f->s, "nobody", &p, 1, &err), 0);
    assert_int_equal(store_get_source_health(f->s, "nobody", &got, &err), OKRD_ENOTFOUND);

    /* A write in between: the read answers what was written. */
    assert_int_equal(store_put_points_from(f->s, "api", &p, 1, &err), 0);
    struct store_source_health h2 = h1;
    h2.points_total = 8;
    h2.consecutive_failures = 2;
    assert_int_equal(store_put_source_health(f->s, "api", &h2, &err), 0);
    assert_int_equal(store_get_source_health(f->s, "api", &got, &err), 0);
    assert_int_equal(got.points_total, 8);
    assert_int_equal(got.consecutive_failures, 2);

    /* Rolled back: the read after it sees the record as committed. */
    assert_int_equal(store_put_points_from(f->s, "api", &p, 1, &err), 0);
    store_rollback(f->s);
    assert_int_equal(store_get_source_health(f->s, "api", &got, &err), 0);
    assert_int_equal(got.points_total, 7);
    assert_int_equal(got.consecutive_failures, 0);
}

/* ---- dropped sessions ---- */

/* Only this test's sessions: other unit tests run beside it on the same
 * server, with the same roles in their application_name. */
static void terminate_sessions(struct fx *f, const char *role)
{
    char sql[320];
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
             " WHERE datname = current_database() AND application_name LIKE 'okrd %% %ld %s'",
             (long)getpid(), role);
    assert_true(raw_int(f, sql) >= 1);
}

static void test_dropped_session_reconnects_but_not_the_writer(void **state)
{
    struct fx *f = pg_fx(state);
    struct okrd_err err = { 0 };
    struct store_point_in p = { "m", 1, 1 };
    put(f->s, &p, 1);
    struct store *w = NULL;
    struct store_loc loc = { .kind = STORE_POSTGRESQL, .url = f->pg_url, .role = "writer" };
    assert_int_equal(store_open_loc(&w, &loc, 0, &err), 0);
    terminate_sessions(f, "test");
    terminate_sessions(f, "writer");
    /* a reader's or a command's session comes back by itself */
    struct store_series s = { 0 };
    series(f->s, "m", &s);
    assert_int_equal(s.n, 1);
    put(f->s, &p, 1);
    store_series_free(&s);
    /* the writer's does not: its leadership died with it */
    int64_t v;
    assert_int_equal(store_data_version(w, &v, &err), OKRD_EIO);
    assert_int_equal(store_put_points(w, &p, 1, &err), OKRD_EIO);
    store_close(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_duplicate_in_a_batch_keeps_the_last, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused_naming_both_versions, pg_setup,
                                        pg_teardown),
        cmocka_unit_test_setup_teardown(test_two_opens_at_once_migrate_once, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_store_ids_differ, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_every_write_transaction_bumps_change_seq, pg_setup,
                                        pg_teardown),
        cmocka_unit_test_setup_teardown(test_password_never_in_a_message, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_doubles_round_trip_and_minus_zero_is_zero, pg_setup,
                                        pg_teardown),
        cmocka_unit_test_setup_teardown(test_metric_order_is_byte_order, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_readonly_never_writes, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_not_utf8_refused, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_session_settings, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_health_read_rides_with_the_points, pg_setup,
                                        pg_teardown),
        cmocka_unit_test_setup_teardown(test_dropped_session_reconnects_but_not_the_writer, pg_setup,
                                        pg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
