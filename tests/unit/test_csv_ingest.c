/*
 * test_csv_ingest.c — csv_ingest_file's batched insert path: a
 * metric+timestamp repeated within one file, last row wins (DESIGN section
 * 3), whether the repeats fall in one batch of the store's bulk insert
 * (which sorts the batch by metric and time) or in different ones, and the
 * file's distinct metrics are reported once each. A file of 1 MiB or more
 * is read on a thread of its own while the caller stores: its bad rows
 * reject it whole, or (skip_row) are skipped, exactly as on one thread; a
 * store that fails half-way stops the reader and stores nothing. Every
 * metric a file stores lists the file's source (store_each_metric_summary,
 * `okrd metrics`), on the bulk path as on any other.
 *
 * Each test writes its own file into a fresh temporary folder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "connectors/csv_ingest.h"
#include "store/store.h"
#include "store/sqlite/sqlite_internal.h" /* the disk-full test caps the file on s->db */
#define STORE_FX_NO_SETUP /* its own fixture holds a store_fx one */
#include "store_fx.h"
#include "testutil.h"

struct ifx {
    struct fx *sf;             /* the store: SQLite, or PostgreSQL (store_fx.h) */
    char *dir;
    struct store *st;
    struct cfg_source src;
};

static int setup(void **state)
{
    struct ifx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->sf = fx_new();
    f->dir = f->sf->dir;
    f->st = f->sf->s;
    f->src.id = "drops";
    f->src.type = CFG_SRC_CSV_DIR;
    f->src.u.csv = (struct cfg_csv_dir){ .path = f->dir, .layout = CFG_LAYOUT_LONG,
                                         .decimal = '.', .strip = "",
                                         .on_error = CFG_ON_ERROR_REJECT_FILE };
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct ifx *f = *state;
    fx_free(f->sf);
    free(f);
    return 0;
}

static void ingest(struct ifx *f, const char *path, int64_t want_points,
                   struct csv_ingest_result *res)
{
    static struct csv_report rep;
    struct okrd_err err = { 0 };
    res->rep = &rep;
    if (csv_ingest_file(f->st, path, &f->src, NULL, 1764000000, 0, res, &err))
        fail_msg("csv_ingest_file: %s", err.msg);
    assert_int_equal(res->outcome, CSV_INGESTED);
    assert_int_equal(res->points, want_points);
}

static double value_at(struct store *st, const char *metric, int64_t ts)
{
    struct store_point p;
    struct okrd_err err = { 0 };
    if (store_last_point(st, metric, ts, &p, &err) || p.ts != ts)
        fail_msg("no point %s@%lld: %s", metric, (long long)ts, err.msg);
    return p.value;
}

/* A short file: the repeats are in one batch, out of time order, with
 * other metrics between them. */
static void test_last_row_wins_in_one_batch(void **state)
{
    struct ifx *f = *state;
    char *path = tu_write_file(f->dir, "a.csv",
                               "metric,timestamp,value\n"
                               "b,1700000120,1\n"
                               "a,1700000060,1\n"
                               "b,1700000060,2\n"
                               "a,1700000060,2\n"
                               "a,1700000000,5\n"
                               "b,1700000120,3\n"
                               "a,1700000060,3\n");
    struct csv_ingest_result res = { 0 };
    ingest(f, path, 7, &res);
    assert_int_equal(res.n_metrics, 2);
    csv_ingest_result_free(&res);
    assert_true(value_at(f->st, "a", 1700000060) == 3);
    assert_true(value_at(f->st, "a", 1700000000) == 5);
    assert_true(value_at(f->st, "b", 1700000120) == 3);
    assert_true(value_at(f->st, "b", 1700000060) == 2);
    free(path);
}

/* A small file gets a small batch (room for about size / 8 points): 300
 * six-byte rows are two batches, the repeats of each key falling in both. */
static void test_last_row_wins_small_batches(void **state)
{
    struct ifx *f = *state;
    char text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "metric,timestamp,value\n");
    int last[2][10] = { { 0 } };
    for (int i = 0; i < 300; i++) {
        int m = (i / 7) % 2, ts = 1 + (i * 4) % 9, v = i % 10;
        len += (size_t)snprintf(text + len, sizeof text - len, "%c,%d,%d\n", "ab"[m], ts, v);
        last[m][ts] = v;
    }
    char *path = tu_write_file(f->dir, "small.csv", text);
    struct csv_ingest_result res = { 0 };
    ingest(f, path, 300, &res);
    assert_int_equal(res.n_metrics, 2);
    csv_ingest_result_free(&res);
    for (int m = 0; m < 2; m++)
        for (int ts = 1; ts <= 9; ts++)
            assert_true(value_at(f->st, m ? "b" : "a", ts) == last[m][ts]);
    free(path);
}

/* 100,000 rows of 7 metrics whose 12,000 keys each come back 8 or 9
 * times, 12,000 rows apart: in the same batch and in later ones (a batch is
 * 16,384 points, far smaller than the file), out of time order. */
static void test_last_row_wins_across_batches(void **state)
{
    struct ifx *f = *state;
    enum { ROWS = 100000, KEYS = 12000 };
    size_t cap = (size_t)ROWS * 48 + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text + len, cap - len, "metric,timestamp,value\n");
    double *last = calloc(KEYS, sizeof *last);
    assert_non_null(last);
    for (int i = 0; i < ROWS; i++) {
        int key = (int)(((long long)i * 7919) % KEYS); /* a permutation, then again */
        int m = key % 7;
        long long ts = 1700000000LL + (long long)(key / 7) * 60;
        len += (size_t)snprintf(text + len, cap - len, "metric_%d,%lld,%d\n", m, ts, i);
        last[key] = i;
    }
    char *path = tu_write_file(f->dir, "big.csv", text);
    free(text);
    struct csv_ingest_result res = { 0 };
    ingest(f, path, ROWS, &res);
    assert_int_equal(res.n_metrics, 7);
    csv_ingest_result_free(&res);
    struct okrd_err err = { 0 };
    size_t total = 0;
    for (int m = 0; m < 7; m++) {
        char name[32];
        snprintf(name, sizeof name, "metric_%d", m);
        struct store_series ser = { 0 };
        assert_int_equal(store_get_series(f->st, name, INT64_MIN, INT64_MAX, &ser, &err), 0);
        for (size_t j = 0; j < ser.n; j++) {
            int key = (int)((ser.pts[j].ts - 1700000000LL) / 60) * 7 + m;
            assert_true(key >= 0 && key < KEYS);
            if (ser.pts[j].value != last[key])
                fail_msg("%s@%lld = %g, the file's last row says %g", name,
                         (long long)ser.pts[j].ts, ser.pts[j].value, last[key]);
        }
        total += ser.n;
        store_series_free(&ser);
    }
    assert_int_equal(total, KEYS);
    free(last);
    free(path);
}

/* A file well over 1 MiB (read on its own thread) with bad rows near the
 * start and the end. ROWS good rows of metric "big" plus the two bad ones. */
enum { BIG_ROWS = 60000 };

static char *big_file_with_bad_rows(struct ifx *f)
{
    size_t cap = (size_t)BIG_ROWS * 40 + 256, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text + len, cap - len, "metric,timestamp,value\n");
    for (int i = 0; i < BIG_ROWS; i++) {
        if (i == 10)
            len += (size_t)snprintf(text + len, cap - len, "big,1700000000,not-a-number\n");
        len += (size_t)snprintf(text + len, cap - len, "big,%lld,%d.25\n",
                                1700000000LL + (long long)i * 60, i);
    }
    len += (size_t)snprintf(text + len, cap - len, "big,yesterday,1\n");
    assert_true(len > 1100000);
    char *path = tu_write_file(f->dir, "bad.csv", text);
    free(text);
    return path;
}

static void test_big_file_with_a_bad_row_rejected(void **state)
{
    struct ifx *f = *state;
    char *path = big_file_with_bad_rows(f);
    struct csv_report rep;
    struct csv_ingest_result res = { .rep = &rep };
    struct okrd_err err = { 0 };
    assert_int_equal(csv_ingest_file(f->st, path, &f->src, NULL, 1764000000, 0, &res, &err), 0);
    assert_int_equal(res.outcome, CSV_REJECTED);
    assert_int_equal(res.points, 0);
    assert_int_equal(rep.n_errors_total, 2);
    assert_int_equal(rep.errors[0].row, 12);
    assert_int_equal(rep.errors[1].row, BIG_ROWS + 3);
    csv_ingest_result_free(&res);
    struct store_series ser = { 0 };
    assert_int_equal(store_get_series(f->st, "big", INT64_MIN, INT64_MAX, &ser, &err), 0);
    assert_int_equal(ser.n, 0); /* nothing of it */
    store_series_free(&ser);
    assert_false(store_in_transaction(f->st));
    free(path);
}

static void test_big_file_skip_row(void **state)
{
    struct ifx *f = *state;
    f->src.u.csv.on_error = CFG_ON_ERROR_SKIP_ROW;
    char *path = big_file_with_bad_rows(f);
    struct csv_report rep;
    struct csv_ingest_result res = { .rep = &rep };
    struct okrd_err err = { 0 };
    assert_int_equal(csv_ingest_file(f->st, path, &f->src, NULL, 1764000000, 0, &res, &err), 0);
    assert_int_equal(res.outcome, CSV_PARTIAL);
    assert_int_equal(res.points, BIG_ROWS);
    assert_int_equal(rep.rows_read, BIG_ROWS + 2);
    assert_int_equal(rep.rows_ok, BIG_ROWS);
    assert_non_null(res.report_json);
    csv_ingest_result_free(&res);
    struct store_series ser = { 0 };
    assert_int_equal(store_get_series(f->st, "big", INT64_MIN, INT64_MAX, &ser, &err), 0);
    assert_int_equal(ser.n, BIG_ROWS);
    assert_true(ser.pts[BIG_ROWS - 1].value == BIG_ROWS - 1 + 0.25);
    store_series_free(&ser);
    free(path);
}

/* The store fails half-way through a big file (disk full, simulated with
 * max_page_count): the reader thread stops, the store's error is returned,
 * nothing is stored and no transaction is left open. */
static void test_big_file_store_fails(void **state)
{
    fx_sqlite_only(); /* caps the SQLite file's size */
    struct ifx *f = *state;
    enum { ROWS = 120000 };
    size_t cap = (size_t)ROWS * 40 + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text + len, cap - len, "metric,timestamp,value\n");
    for (int i = 0; i < ROWS; i++)
        len += (size_t)snprintf(text + len, cap - len, "m%d,%lld,%d\n", i % 50,
                                1700000000LL + (long long)(i / 50) * 60, i);
    char *path = tu_write_file(f->dir, "full.csv", text);
    free(text);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(SQ(f->st)->db, "PRAGMA max_page_count = 300", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    sqlite3_finalize(st);
    struct csv_report rep;
    struct csv_ingest_result res = { .rep = &rep };
    struct okrd_err err = { 0 };
    int rc = csv_ingest_file(f->st, path, &f->src, NULL, 1764000000, 0, &res, &err);
    assert_true(rc < 0);
    assert_non_null(strstr(err.msg, "full"));
    assert_non_null(strstr(err.msg, "upsert")); /* half-way, not at the commit */
    assert_false(store_in_transaction(f->st));
    csv_ingest_result_free(&res);
    struct store_series ser = { 0 };
    assert_int_equal(store_get_series(f->st, "m0", INT64_MIN, INT64_MAX, &ser, &err), 0);
    assert_int_equal(ser.n, 0);
    store_series_free(&ser);
    free(path);
}

/* The sources store_each_metric_summary lists, "metric:a,b\n" per metric. */
struct sources {
    char text[4096];
    size_t len;
};

static int on_summary(void *ctx, const struct store_metric_summary *m)
{
    struct sources *o = ctx;
    o->len += (size_t)snprintf(o->text + o->len, sizeof o->text - o->len, "%s:", m->metric);
    for (size_t i = 0; i < m->n_sources; i++)
        o->len += (size_t)snprintf(o->text + o->len, sizeof o->text - o->len, "%s%s",
                                   i ? "," : "", m->sources[i]);
    o->len += (size_t)snprintf(o->text + o->len, sizeof o->text - o->len, "\n");
    assert_true(o->len < sizeof o->text - 1);
    return 0;
}

static void list_sources(struct store *st, struct sources *o)
{
    struct okrd_err err = { 0 };
    o->len = 0;
    o->text[0] = '\0';
    if (store_each_metric_summary(st, on_summary, o, &err))
        fail_msg("store_each_metric_summary: %s", err.msg);
}

/* A big file (read on its own thread, several batches, the bulk
 * transaction) and a small one, from two sources sharing a metric: each
 * metric lists the source of every file that stored it, and a rejected
 * file's source is not listed. */
static void test_files_record_their_source(void **state)
{
    struct ifx *f = *state;
    enum { ROWS = 70000 };
    size_t cap = (size_t)ROWS * 40 + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text + len, cap - len, "metric,timestamp,value\n");
    for (int i = 0; i < ROWS; i++)
        len += (size_t)snprintf(text + len, cap - len, "metric_%d,%lld,%d.5\n", i % 3,
                                1700000000LL + (long long)(i / 3) * 60, i);
    assert_true(len > 1100000); /* the threaded bulk path */
    char *big = tu_write_file(f->dir, "big.csv", text);
    free(text);
    struct csv_ingest_result res = { 0 };
    ingest(f, big, ROWS, &res);
    csv_ingest_result_free(&res);

    f->src.id = "other";
    char *small = tu_write_file(f->dir, "small.csv",
                                "metric,timestamp,value\n"
                                "metric_1,1600000000,1\n"
                                "solo,1600000000,2\n");
    ingest(f, small, 2, &res);
    csv_ingest_result_free(&res);

    f->src.id = "rejected";
    char *bad = tu_write_file(f->dir, "bad.csv",
                              "metric,timestamp,value\n"
                              "metric_2,1600000000,1\n"
                              "never,1600000000,x\n");
    struct csv_report rep;
    struct csv_ingest_result rej = { .rep = &rep };
    struct okrd_err err = { 0 };
    assert_int_equal(csv_ingest_file(f->st, bad, &f->src, NULL, 1764000000, 0, &rej, &err), 0);
    assert_int_equal(rej.outcome, CSV_REJECTED);
    csv_ingest_result_free(&rej);

    struct sources o;
    list_sources(f->st, &o);
    assert_string_equal(o.text, "metric_0:drops\n"
                                "metric_1:drops,other\n"
                                "metric_2:drops\n"
                                "solo:other\n");
    free(big);
    free(small);
    free(bad);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_last_row_wins_in_one_batch),
        T(test_last_row_wins_small_batches),
        T(test_last_row_wins_across_batches),
        T(test_big_file_with_a_bad_row_rejected),
        T(test_big_file_skip_row),
        T(test_big_file_store_fails),
        T(test_files_record_their_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
