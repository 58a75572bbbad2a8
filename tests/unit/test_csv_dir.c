/*
 * test_csv_dir.c — the csv_dir source: the inbox's pure decisions (names,
 * settle, order, collision names, outcome messages), its file-system side
 * (prepare, moves that never replace), and the connector itself on a real
 * uv loop with a real store's writer thread in a temporary directory.
 *
 * No sleeps: connector tests run the loop until a condition holds, with a
 * deadline timer so a missing event fails the test instead of hanging it.
 * (test_connectors.c is the CSV reader's.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "connectors/conn.h"
#include "connectors/csv_dir_job.h"
#include "connectors/csv_inbox.h"
#include "connectors/csv_inbox_fs.h"
#include "connectors/csv_ingest.h"
#include "connectors/csv_queue.h"
#include "store/store.h"
#define STORE_FX_NO_SETUP /* its own fixture holds a store_fx one */
#include "store_fx.h"
#include "testutil.h"

#define DEADLINE_MS 10000

/* ---- pure decisions ---- */

static void test_name_filter(void **state)
{
    static const struct { const char *name; bool ok; } cases[] = {
        { "kpis.csv", true },        { "export 2026-11-01.CSV", true },
        { "a", true },               { "x.tmp.csv", true },
        { "report.partial", true },  { "archive.csv", true },
        { ".kpis.csv", false },      { ".", false },
        { "..", false },             { "", false },
        { "kpis.csv.tmp", false },   { "kpis.csv.part", false },
        { ".tmp", false },           { "archive", false },
        { "rejected", false },       { "a/b.csv", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (csv_inbox_name_ok(cases[i].name) != cases[i].ok)
            fail_msg("csv_inbox_name_ok(\"%s\") should be %d", cases[i].name, cases[i].ok);
}

static void test_settle(void **state)
{
    const int64_t now = 1764000000000, settle = 100;
    static const struct {
        const char *what;
        int64_t mtime_off;   /* mtime = now + off */
        bool by_event;
        int64_t want;
    } cases[] = {
        { "written just now, found by a scan", 0, false, 100 },
        { "written 40 ms ago", -40, false, 60 },
        { "exactly settle old", -100, false, 0 },
        { "long ago (present at start-up)", -3600000, false, 0 },
        { "an event takes it at once", 0, true, 0 },
        { "an event, mtime in the future", 5000, true, 0 },
        /* mtime in the future: it never ages, so first-seen counts */
        { "mtime 5 s ahead, just seen", 5000, false, 100 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct csv_inbox_file f = { 0 };
        f.by_event = cases[i].by_event;
        csv_inbox_observe(&f, now + cases[i].mtime_off, 10, now);
        int64_t got = csv_inbox_wait_ms(&f, now, settle);
        if (got != cases[i].want)
            fail_msg("%s: wait %lld ms, want %lld", cases[i].what, (long long)got,
                     (long long)cases[i].want);
    }
    /* A future mtime that stays put becomes ready settle after it was seen;
     * a change of size restarts the wait. */
    struct csv_inbox_file f = { 0 };
    csv_inbox_observe(&f, now + 5000, 10, now);
    csv_inbox_observe(&f, now + 5000, 10, now + 60);
    assert_int_equal(csv_inbox_wait_ms(&f, now + 60, settle), 40);
    csv_inbox_observe(&f, now + 5000, 10, now + 100);
    assert_int_equal(csv_inbox_wait_ms(&f, now + 100, settle), 0);
    csv_inbox_observe(&f, now + 5000, 20, now + 150);
    assert_int_equal(csv_inbox_wait_ms(&f, now + 150, settle), 100);
    /* on shared storage (HA): two looks settle apart, whatever the mtime
     * says against our clock (an old mtime, one far ahead) */
    struct csv_inbox_file h = { 0 };
    csv_inbox_observe(&h, now - 3600 * 1000, 10, now);
    assert_int_equal(csv_inbox_wait_looks_ms(&h, now, settle), 100);
    csv_inbox_observe(&h, now - 3600 * 1000, 10, now + 60);
    assert_int_equal(csv_inbox_wait_looks_ms(&h, now + 60, settle), 40);
    csv_inbox_observe(&h, now - 3600 * 1000, 30, now + 80); /* it grew: again */
    assert_int_equal(csv_inbox_wait_looks_ms(&h, now + 80, settle), 100);
    csv_inbox_observe(&h, now - 3600 * 1000, 30, now + 180);
    assert_int_equal(csv_inbox_wait_looks_ms(&h, now + 180, settle), 0);
    struct csv_inbox_file k = { 0 };
    csv_inbox_observe(&k, now + 86400 * 1000, 10, now);
    assert_int_equal(csv_inbox_wait_looks_ms(&k, now + 99, settle), 1);
    assert_int_equal(csv_inbox_wait_looks_ms(&k, now + 100, settle), 0);
    /* A file still being written: its mtime moves, so it waits again. */
    struct csv_inbox_file g = { 0 };
    csv_inbox_observe(&g, now - 90, 10, now);
    assert_int_equal(csv_inbox_wait_ms(&g, now, settle), 10);
    csv_inbox_observe(&g, now + 5, 30, now + 10);
    assert_int_equal(csv_inbox_wait_ms(&g, now + 10, settle), 95);
    /* settle 0: never waits */
    assert_int_equal(csv_inbox_wait_ms(&g, now + 10, 0), 0);
}

static void test_order_and_names(void **state)
{
    assert_true(csv_inbox_order(1000, "b.csv", 2000, "a.csv") < 0); /* older first */
    assert_true(csv_inbox_order(2000, "a.csv", 1000, "b.csv") > 0);
    assert_true(csv_inbox_order(1000, "a.csv", 1000, "b.csv") < 0); /* then by name */
    assert_int_equal(csv_inbox_order(1000, "a.csv", 1000, "a.csv"), 0);

    char buf[16];
    assert_int_equal(csv_inbox_target_name(buf, sizeof buf, "a.csv", 0), 0);
    assert_string_equal(buf, "a.csv");
    assert_int_equal(csv_inbox_target_name(buf, sizeof buf, "a.csv", 1), 0);
    assert_string_equal(buf, "a.csv.1");
    assert_int_equal(csv_inbox_target_name(buf, sizeof buf, "a.csv", 12), 0);
    assert_string_equal(buf, "a.csv.12");
    assert_int_equal(csv_inbox_target_name(buf, sizeof buf, "0123456789.csv", 1), -1);
    assert_int_equal(csv_inbox_target_name(buf, sizeof buf, "0123456789abcdef", 0), -1);
}

static void test_outcome_messages(void **state)
{
    struct csv_dir_job *j = csv_dir_job_new(NULL, NULL, NULL, 0, "kpis.csv");
    assert_non_null(j);
    enum cfg_log_level level;
    const char *event;
    char msg[1024];

    j->end = CSV_DIR_DONE;
    j->res.outcome = CSV_INGESTED;
    j->res.points = 40;
    j->rep.rows_read = j->rep.rows_ok = 20;
    j->subdir = CSV_INBOX_ARCHIVE;
    strcpy(j->final, "kpis.csv.1");
    csv_dir_job_message(j, false, &level, &event, msg, sizeof msg);
    assert_int_equal(level, CFG_LOG_INFO);
    assert_string_equal(event, "file_ingested");
    assert_string_equal(msg, "kpis.csv: 20 rows, 40 points stored; moved to archive/kpis.csv.1");

    j->res.outcome = CSV_REJECTED;
    j->rep.rows_ok = 19;
    j->rep.n_errors = j->rep.n_errors_total = 1;
    j->rep.errors[0] = (struct csv_row_error){ 7, 3, "abc", "\"abc\": not a number" };
    j->subdir = CSV_INBOX_REJECTED;
    strcpy(j->final, "kpis.csv");
    strcpy(j->report, "/in/rejected/kpis.csv.error.json");
    csv_dir_job_message(j, false, &level, &event, msg, sizeof msg);
    assert_int_equal(level, CFG_LOG_WARNING);
    assert_string_equal(event, "file_rejected");
    assert_string_equal(msg, "kpis.csv: rejected, nothing stored: row 7, column 3: \"abc\": not "
                             "a number (1 errors); moved to rejected/kpis.csv; report "
                             "/in/rejected/kpis.csv.error.json");

    /* a whole-row error whose reason does not quote the row */
    j->rep.errors[0] = (struct csv_row_error){ 4, CSV_WHOLE_ROW, "a,b", "the row has 2 fields, "
                                               "the header has 3" };
    csv_dir_first_error(&j->rep, msg, sizeof msg);
    assert_string_equal(msg, "row 4: the row has 2 fields, the header has 3 (value \"a,b\")");
    strcpy(j->rep.file_error, "line 1: the file is empty");
    csv_dir_first_error(&j->rep, msg, sizeof msg);
    assert_string_equal(msg, "line 1: the file is empty");

    /* a duplicate whose move failed again, while the inbox is failing: quiet */
    j->res.outcome = CSV_DUPLICATE;
    j->subdir = NULL;
    strcpy(j->problem, "inbox /in: cannot move kpis.csv to archive/: Permission denied");
    csv_dir_job_message(j, true, &level, &event, msg, sizeof msg);
    assert_int_equal(level, CFG_LOG_DEBUG);
    assert_string_equal(event, "file_duplicate");
    assert_non_null(strstr(msg, "left in the inbox (inbox /in: cannot move"));
    csv_dir_job_message(j, false, &level, &event, msg, sizeof msg);
    assert_int_equal(level, CFG_LOG_INFO);
    csv_dir_job_free(j);
}

/* ---- the queue: FIFO, each name once, O(1) lookup ---- */

static void test_queue_basics(void **state)
{
    struct csv_queue q;
    csv_queue_init(&q);
    assert_null(csv_queue_find(&q, "a.csv"));
    assert_null(csv_queue_pop_front(&q));
    const char *names[] = { "a.csv", "b.csv", "c.csv" };
    for (size_t i = 0; i < 3; i++) {
        struct csv_queue_entry *e = csv_queue_entry_new(names[i]);
        assert_int_equal(csv_queue_add(&q, e, false), 1);
    }
    struct csv_queue_entry *dup = csv_queue_entry_new("b.csv");
    assert_int_equal(csv_queue_add(&q, dup, false), 0); /* queued already: not taken */
    assert_int_equal(csv_queue_add(&q, dup, true), 0);
    free(dup);
    assert_int_equal(csv_queue_len(&q), 3);
    assert_string_equal(csv_queue_find(&q, "b.csv")->name, "b.csv");
    struct csv_queue_entry *e = csv_queue_pop_front(&q);
    assert_string_equal(e->name, "a.csv");
    assert_null(csv_queue_find(&q, "a.csv"));
    assert_int_equal(csv_queue_add(&q, e, true), 1); /* back to the front */
    assert_string_equal(csv_queue_head(&q)->name, "a.csv");
    const char *want[] = { "a.csv", "b.csv", "c.csv" };
    for (size_t i = 0; i < 3; i++) {
        e = csv_queue_pop_front(&q);
        assert_string_equal(e->name, want[i]);
        free(e);
    }
    assert_int_equal(csv_queue_len(&q), 0);
    assert_null(csv_queue_head(&q));
    /* usable again once empty: the tail was reset */
    assert_int_equal(csv_queue_add(&q, csv_queue_entry_new("d.csv"), false), 1);
    assert_string_equal(csv_queue_head(&q)->name, "d.csv");
    csv_queue_clear(&q);
    assert_int_equal(csv_queue_len(&q), 0);
    assert_null(csv_queue_find(&q, "d.csv"));
    csv_queue_clear(&q); /* twice is fine */
}

/* Random adds (back and front), re-adds and pops of N names against a plain
 * array: the order and the answers of find must always agree, through many
 * growths and deletions. A few names in a small table wrap probe runs
 * around its end often (backward shifts across it); many names grow it. */
static void queue_against_reference(int N, int round, int OPS)
{
    struct csv_queue q;
    csv_queue_init(&q);
    /* the reference: a deque of name indexes, and who is in it */
    int *ref = malloc(sizeof *ref * 2 * ((size_t)OPS + 1));
    bool *in = calloc(N, sizeof *in);
    assert_non_null(ref);
    assert_non_null(in);
    size_t lo = (size_t)OPS, hi = (size_t)OPS; /* ref[lo..hi) */
    uint64_t rng = 42 + (uint64_t)round;
    char name[32];
    for (int op = 0; op < OPS; op++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int)((rng >> 33) % N);
        unsigned what = (unsigned)(rng >> 20) % 8;
        snprintf(name, sizeof name, "r%d-export-%d.csv", round, k);
        if (what < 5) { /* add at the back (an event, a scan) or the front (a retry) */
            bool front = what == 4;
            struct csv_queue_entry *e = csv_queue_entry_new(name);
            int rc = csv_queue_add(&q, e, front);
            if (in[k]) {
                assert_int_equal(rc, 0);
                free(e);
            } else {
                assert_int_equal(rc, 1);
                in[k] = true;
                if (front)
                    ref[--lo] = k;
                else
                    ref[hi++] = k;
            }
        } else if (what < 7) { /* pop */
            struct csv_queue_entry *e = csv_queue_pop_front(&q);
            if (lo == hi) {
                assert_null(e);
                continue;
            }
            snprintf(name, sizeof name, "r%d-export-%d.csv", round, ref[lo]);
            assert_non_null(e);
            assert_string_equal(e->name, name);
            in[ref[lo++]] = false;
            free(e);
            assert_null(csv_queue_find(&q, name));
        } else { /* look up */
            struct csv_queue_entry *e = csv_queue_find(&q, name);
            if (in[k] != (e != NULL))
                fail_msg("op %d: find(%s) = %p, want %s", op, name, (void *)e,
                         in[k] ? "queued" : "absent");
        }
        assert_int_equal(csv_queue_len(&q), hi - lo);
    }
    for (; lo < hi; lo++) { /* drains in order */
        struct csv_queue_entry *e = csv_queue_pop_front(&q);
        snprintf(name, sizeof name, "r%d-export-%d.csv", round, ref[lo]);
        assert_string_equal(e->name, name);
        free(e);
    }
    assert_null(csv_queue_pop_front(&q));
    csv_queue_clear(&q);
    free(ref);
    free(in);
}

static void test_queue_against_reference(void **state)
{
    for (int round = 0; round < 50; round++)
        queue_against_reference(40, round, 20000);
    queue_against_reference(20000, 0, 200000);
}

/* ---- the file-system side ---- */

static bool exists(const char *dir, const char *name)
{
    char p[4096];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/%s", dir, name) >= (int)sizeof p)
        fail_msg("path too long: %s/%s", dir, name);
    return lstat(p, &st) == 0;
}

static void test_prepare_and_move(void **state)
{
    char *dir = tu_mkdtemp(), inbox[1024], p[4096], final[256];
    struct okrd_err err = { 0 };
    snprintf(inbox, sizeof inbox, "%s/a/b/inbox", dir);
    assert_int_equal(csv_inbox_prepare(inbox, &err), 0);
    assert_true(exists(inbox, "archive") && exists(inbox, "rejected"));
    assert_int_equal(csv_inbox_prepare(inbox, &err), 0); /* again: nothing to do */

    free(tu_write_file(inbox, "a.csv", "one"));
    assert_int_equal(csv_inbox_move(inbox, "a.csv", "archive", false, final, sizeof final, &err),
                     0);
    assert_string_equal(final, "a.csv");
    free(tu_write_file(inbox, "a.csv", "two"));
    assert_int_equal(csv_inbox_move(inbox, "a.csv", "archive", false, final, sizeof final, &err),
                     0);
    assert_string_equal(final, "a.csv.1"); /* the first one is kept */
    snprintf(p, sizeof p, "%s/archive/a.csv", inbox);
    char *text = tu_read_file(p, NULL);
    assert_string_equal(text, "one");
    free(text);

    /* With a report: a name whose old report is still there is taken too. */
    snprintf(p, sizeof p, "%s/rejected", inbox);
    free(tu_write_file(p, "b.csv.error.json", "{}"));
    free(tu_write_file(inbox, "b.csv", "bad"));
    assert_int_equal(csv_inbox_move(inbox, "b.csv", "rejected", true, final, sizeof final, &err),
                     0);
    assert_string_equal(final, "b.csv.1");
    assert_int_equal(csv_inbox_move(inbox, "gone.csv", "archive", false, final, sizeof final,
                                    &err), OKRD_ENOTFOUND);

    /* archive/ as a symlink would move files out of the inbox: refused. */
    char inbox2[1024];
    snprintf(inbox2, sizeof inbox2, "%s/inbox2", dir);
    assert_int_equal(mkdir(inbox2, 0700), 0);
    snprintf(p, sizeof p, "%s/archive", inbox2);
    assert_int_equal(symlink(dir, p), 0);
    assert_int_equal(csv_inbox_prepare(inbox2, &err), OKRD_EIO);
    assert_non_null(strstr(err.msg, "symlink"));
    /* A file where the inbox should be: a clear error. */
    snprintf(p, sizeof p, "%s/afile", dir);
    free(tu_write_file(dir, "afile", "x"));
    assert_int_equal(csv_inbox_prepare(p, &err), OKRD_EIO);
    assert_non_null(strstr(err.msg, "afile"));
    tu_rm_rf(dir);
    free(dir);
}

/* The listing a scan runs off the loop: regular files the inbox takes,
 * older first, then by name; the rest ignored. */
static void test_list(void **state)
{
    char *dir = tu_mkdtemp(), inbox[1024], p[4096];
    struct okrd_err err = { 0 };
    snprintf(inbox, sizeof inbox, "%s/inbox", dir);
    assert_int_equal(csv_inbox_prepare(inbox, &err), 0);
    const char *files[] = { "a.csv", "b.csv", "c.csv", ".hidden.csv", "x.csv.tmp" };
    for (size_t i = 0; i < 5; i++)
        free(tu_write_file(inbox, files[i], "x"));
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    const struct { const char *name; int ago_s; } times[] = {
        { "a.csv", 10 }, { "b.csv", 20 }, { "c.csv", 10 } };
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", inbox, times[i].name);
        struct timespec ts[2] = { now, { now.tv_sec - times[i].ago_s, 0 } };
        assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
    }
    snprintf(p, sizeof p, "%s/link.csv", inbox);
    assert_int_equal(symlink("a.csv", p), 0);
    snprintf(p, sizeof p, "%s/folder.csv", inbox);
    assert_int_equal(mkdir(p, 0700), 0);

    struct csv_inbox_entry *list;
    size_t n;
    assert_int_equal(csv_inbox_list(inbox, &list, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "b.csv"); /* older first */
    assert_string_equal(list[1].name, "a.csv"); /* then by name */
    assert_string_equal(list[2].name, "c.csv");
    assert_true(list[1].mtime_ms - list[0].mtime_ms == 10000);
    free(list[0].name);
    csv_inbox_list_free(list, 1, n); /* a merge that took the first one */

    snprintf(p, sizeof p, "%s/nowhere", dir);
    assert_int_equal(csv_inbox_list(p, &list, &n), -ENOENT);
    assert_int_equal(n, 0);
    csv_inbox_list_free(list, 0, n);
    tu_rm_rf(dir);
    free(dir);
}

/* ---- the ingest log, per source ---- */

/* Two csv_dir sources that map the same export's column to different
 * metrics: the same bytes are each one's data (DESIGN section 3: the log is
 * keyed by (source, sha256)), and a duplicate only within one source. */
static void test_same_bytes_two_sources(void **state)
{
    struct fx *sf = fx_new(); /* SQLite, or PostgreSQL: store_fx.h */
    char *dir = sf->dir;
    char *path = tu_write_file(dir, "daily.csv", "day,Users\n2025-11-01,5\n2025-11-02,7\n");
    struct okrd_err err = { 0 };
    struct store *st = NULL;
    if (fx_open(sf, 0, &st, &err))
        fail_msg("store_open: %s", err.msg);
    struct cfg_wide_column to_dau = { "Users", "dau" }, to_signups = { "Users", "signups" };
    struct cfg_source a = { .id = "web", .type = CFG_SRC_CSV_DIR }, b = a;
    b.id = "app";
    a.u.csv = (struct cfg_csv_dir){ .path = dir, .layout = CFG_LAYOUT_WIDE, .wide = &to_dau,
                                    .n_wide = 1, .decimal = '.', .strip = "",
                                    .on_error = CFG_ON_ERROR_REJECT_FILE };
    b.u.csv = a.u.csv;
    b.u.csv.wide = &to_signups;
    struct csv_report rep;
    struct csv_ingest_result res = { .rep = &rep };
    assert_int_equal(csv_ingest_file(st, path, &a, NULL, 1764000000, 0, &res, &err), 0);
    assert_int_equal(res.outcome, CSV_INGESTED);
    assert_int_equal(res.points, 2);
    csv_ingest_result_free(&res);
    assert_int_equal(csv_ingest_file(st, path, &b, NULL, 1764000000, 0, &res, &err), 0);
    assert_int_equal(res.outcome, CSV_INGESTED); /* not a duplicate of web's file */
    assert_int_equal(res.points, 2);
    csv_ingest_result_free(&res);
    assert_int_equal(csv_ingest_file(st, path, &b, NULL, 1764000000, 0, &res, &err), 0);
    assert_int_equal(res.outcome, CSV_DUPLICATE); /* app has it now */
    assert_null(res.report_json);
    csv_ingest_result_free(&res);
    struct store_series ser = { 0 };
    assert_int_equal(store_get_series(st, "dau", INT64_MIN, INT64_MAX, &ser, &err), 0);
    assert_int_equal(ser.n, 2);
    store_series_free(&ser);
    assert_int_equal(store_get_series(st, "signups", INT64_MIN, INT64_MAX, &ser, &err), 0);
    assert_int_equal(ser.n, 2);
    assert_true(ser.pts[1].value == 7);
    store_series_free(&ser);
    store_close(st);
    free(path);
    fx_free(sf);
}

/* ---- the connector on a real loop ---- */

struct seen {
    enum cfg_log_level level;
    char event[32];
    char msg[1024];
};

struct cfx {
    struct fx *sf;              /* the store: SQLite, or PostgreSQL (store_fx.h) */
    char *dir;
    char inbox[1024];
    uv_loop_t loop;
    uv_timer_t deadline;
    bool timed_out;
    struct store_writer *w;
    struct cfg_source src;
    struct conn_env env;
    struct conn *c;
    struct seen seen[64];
    int n_seen;
    int n_commits;
    bool count_stored;       /* on_committed counts the metrics stored then: */
    int stored_at_commit[8];
    int64_t points_committed;
    char committed_metric[64];
    int n_health;
    bool last_health_ok;
    struct store_source_health last_health;
    bool conn_closed, writer_closed;
};

static void on_report(void *ctx, enum cfg_log_level level, const char *source_id,
                      const char *event, const char *msg)
{
    struct cfx *f = ctx;
    assert_string_equal(source_id, "drops");
    if (f->n_seen < 64) {
        struct seen *s = &f->seen[f->n_seen++];
        s->level = level;
        snprintf(s->event, sizeof s->event, "%s", event);
        snprintf(s->msg, sizeof s->msg, "%s", msg);
    }
}

static int count_metric(void *ctx, const char *metric)
{
    (void)metric;
    ++*(int *)ctx;
    return 0;
}

static void on_committed(void *ctx, const char *source_id, const char *const *metrics,
                         size_t n_metrics, int64_t n_points)
{
    struct cfx *f = ctx;
    f->n_commits++;
    f->points_committed += n_points;
    assert_true(n_metrics >= 1);
    snprintf(f->committed_metric, sizeof f->committed_metric, "%s", metrics[0]);
    if (f->count_stored && f->n_commits <= 8) {
        struct store *s = NULL;
        struct okrd_err err = { 0 };
        if (fx_open(f->sf, STORE_READONLY, &s, &err))
            fail_msg("store_open: %s", err.msg);
        int n = 0;
        assert_int_equal(store_each_metric(s, count_metric, &n, &err), 0);
        f->stored_at_commit[f->n_commits - 1] = n;
        store_close(s);
    }
}

static void on_health(void *ctx, const char *source_id, bool ok,
                      const struct store_source_health *h)
{
    struct cfx *f = ctx;
    f->n_health++;
    f->last_health_ok = ok;
    f->last_health = *h;
}

static int count_events(const struct cfx *f, const char *event)
{
    int n = 0;
    for (int i = 0; i < f->n_seen; i++)
        n += !strcmp(f->seen[i].event, event);
    return n;
}

static const struct seen *find_event(const struct cfx *f, const char *event, const char *needle)
{
    for (int i = 0; i < f->n_seen; i++)
        if (!strcmp(f->seen[i].event, event) && strstr(f->seen[i].msg, needle))
            return &f->seen[i];
    return NULL;
}

static void dump_events(const struct cfx *f)
{
    for (int i = 0; i < f->n_seen; i++)
        print_message("  %s: %s\n", f->seen[i].event, f->seen[i].msg);
}

static void on_deadline(uv_timer_t *t)
{
    struct cfx *f = t->data;
    f->timed_out = true;
}

/* Runs the loop until N events named EVENT were reported. */
static void run_until_events(struct cfx *f, const char *event, int n)
{
    f->timed_out = false;
    uv_timer_start(&f->deadline, on_deadline, DEADLINE_MS, 0);
    while (count_events(f, event) < n && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_timer_stop(&f->deadline);
    if (count_events(f, event) < n) {
        dump_events(f);
        fail_msg("timed out waiting for %d x %s", n, event);
    }
}

/* Lets the loop handle what is due now (the start-up scan, queued events)
 * without waiting for anything. */
static void run_nowait(struct cfx *f)
{
    for (int i = 0; i < 4; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
}

static int setup(void **state)
{
    struct cfx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->sf = fx_new();
    f->dir = f->sf->dir;
    snprintf(f->inbox, sizeof f->inbox, "%s/inbox", f->dir);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_timer_init(&f->loop, &f->deadline);
    f->deadline.data = f;
    struct okrd_err err = { 0 };
    struct store_loc loc = fx_loc(f->sf);
    if (store_writer_open_loc(&f->w, &f->loop, &loc, &err))
        fail_msg("store_writer_open: %s", err.msg);
    f->src.id = "drops";
    f->src.type = CFG_SRC_CSV_DIR;
    struct cfg_csv_dir *c = &f->src.u.csv;
    c->path = f->inbox;
    c->layout = CFG_LAYOUT_LONG;
    c->decimal = '.';
    c->strip = "";
    c->on_error = CFG_ON_ERROR_REJECT_FILE;
    c->rescan_ms = 3600000; /* tests see events and the start-up scan, not rescans */
    c->settle_ms = 100;
    f->env = (struct conn_env){
        .loop = &f->loop, .clock = &okrd_clock_system, .tz = NULL, .writer = f->w,
        .on_committed = on_committed, .on_health = on_health, .report = on_report, .ctx = f,
    };
    *state = f;
    return 0;
}

static void start(struct cfx *f)
{
    struct okrd_err err = { 0 };
    const struct conn_type *t = conn_type_find(CFG_SRC_CSV_DIR);
    assert_non_null(t);
    assert_string_equal(t->name, "csv_dir");
    if (t->start(&f->c, &f->src, &f->env, &err))
        fail_msg("start: %s", err.msg);
    run_nowait(f); /* the start-up scan */
}

static void conn_closed(void *arg) { ((struct cfx *)arg)->conn_closed = true; }
static void writer_closed(void *arg) { ((struct cfx *)arg)->writer_closed = true; }
static void deadline_closed(uv_handle_t *h) { (void)h; }

static int teardown(void **state)
{
    struct cfx *f = *state;
    if (f->c)
        conn_type_find(CFG_SRC_CSV_DIR)->close(f->c, conn_closed, f);
    uv_close((uv_handle_t *)&f->deadline, deadline_closed);
    /* Sources close first, then the writer, as the daemon does. */
    while (f->c && !f->conn_closed)
        uv_run(&f->loop, UV_RUN_ONCE);
    store_writer_close(f->w, writer_closed, f);
    assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
    assert_true(f->writer_closed);
    assert_int_equal(uv_loop_close(&f->loop), 0); /* nothing left open */
    fx_free(f->sf);
    free(f);
    return 0;
}

/* Writes a file beside the inbox and renames it in, as producers should. */
static void drop(struct cfx *f, const char *name, const char *text)
{
    char tmp[4096], dst[4096];
    free(tu_write_file(f->dir, "incoming.tmp", text));
    snprintf(tmp, sizeof tmp, "%s/incoming.tmp", f->dir);
    snprintf(dst, sizeof dst, "%s/%s", f->inbox, name);
    assert_int_equal(rename(tmp, dst), 0);
}

static struct store *open_ro(struct cfx *f)
{
    struct store *s = NULL;
    struct okrd_err err = { 0 };
    if (fx_open(f->sf, STORE_READONLY, &s, &err))
        fail_msg("store_open: %s", err.msg);
    return s;
}

/* The stored points of METRIC as "ts=value;..." */
static void series_text(struct cfx *f, const char *metric, char *buf, size_t size)
{
    struct store *s = open_ro(f);
    struct store_series ser = { 0 };
    struct okrd_err err = { 0 };
    assert_int_equal(store_get_series(s, metric, INT64_MIN, INT64_MAX, &ser, &err), 0);
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ser.n && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%lld=%g;", (long long)ser.pts[i].ts,
                              ser.pts[i].value);
    store_series_free(&ser);
    store_close(s);
}

static bool in_dir(struct cfx *f, const char *sub, const char *name)
{
    char d[4096];
    snprintf(d, sizeof d, "%s/%s", f->inbox, sub);
    return exists(d, name);
}

#define NOV1 "1761955200"   /* 2025-11-01T00:00:00Z */
#define NOV2 "1762041600"

static void test_rename_in(void **state)
{
    struct cfx *f = *state;
    start(f);
    assert_true(in_dir(f, ".", "archive") && in_dir(f, ".", "rejected"));
    drop(f, "kpis.csv", "metric,date,value\ndau,2025-11-01,1000\ndau,2025-11-02,1040\n");
    run_until_events(f, "file_ingested", 1);
    const struct seen *s = find_event(f, "file_ingested", "kpis.csv");
    assert_non_null(s);
    assert_int_equal(s->level, CFG_LOG_INFO);
    assert_string_equal(s->msg, "kpis.csv: 2 rows, 2 points stored; moved to archive/kpis.csv");
    assert_true(in_dir(f, "archive", "kpis.csv"));
    assert_false(in_dir(f, ".", "kpis.csv"));
    assert_false(in_dir(f, "archive", "kpis.csv.error.json"));
    char buf[256];
    series_text(f, "dau", buf, sizeof buf);
    assert_string_equal(buf, NOV1 "=1000;" NOV2 "=1040;");
    assert_int_equal(f->n_commits, 1);
    assert_int_equal(f->points_committed, 2);
    assert_string_equal(f->committed_metric, "dau");
    assert_true(f->n_health >= 1 && f->last_health_ok);
    assert_int_equal(f->last_health.points_total, 2);
    assert_int_equal(f->last_health.consecutive_failures, 0);
    assert_true(f->last_health.last_success_s > 0);

    /* The same name again: archived beside the first, with a suffix. */
    drop(f, "kpis.csv", "metric,date,value\ndau,2025-11-02,1041\n");
    run_until_events(f, "file_ingested", 2);
    assert_non_null(find_event(f, "file_ingested", "moved to archive/kpis.csv.1"));
    series_text(f, "dau", buf, sizeof buf);
    assert_string_equal(buf, NOV1 "=1000;" NOV2 "=1041;"); /* the correction won */
}

static void set_mtime(struct cfx *f, const char *name, int64_t ago_s);

/* A backlog: each file is committed and told to the daemon (which queues
 * the evaluation of its key results in the writer) before the next file is
 * read, so every file's effect is evaluated, not only the last one's; the
 * moves of files read back to back share one sync. */
static void test_each_commit_told_before_next_read(void **state)
{
    struct cfx *f = *state;
    f->count_stored = true;
    assert_int_equal(csv_inbox_prepare(f->inbox, &(struct okrd_err){ 0 }), 0);
    const char *names[] = { "a.csv", "b.csv", "c.csv", "d.csv" };
    for (int i = 0; i < 4; i++) {
        char text[64];
        snprintf(text, sizeof text, "metric,date,value\nm%d,2025-11-01,%d\n", i, i);
        free(tu_write_file(f->inbox, names[i], text));
        set_mtime(f, names[i], 40 - i);
    }
    start(f);
    run_until_events(f, "file_ingested", 4);
    assert_int_equal(f->n_commits, 4);
    for (int i = 0; i < 4; i++) {
        if (f->stored_at_commit[i] != i + 1)
            fail_msg("when the commit of %s was told, %d metrics were stored, want %d", names[i],
                     f->stored_at_commit[i], i + 1);
        assert_true(in_dir(f, "archive", names[i]));
        assert_false(in_dir(f, ".", names[i]));
    }
    /* Reported in order. */
    int seen = 0;
    for (int i = 0; i < f->n_seen; i++)
        if (!strcmp(f->seen[i].event, "file_ingested") &&
            strncmp(f->seen[i].msg, names[seen], strlen(names[seen])) == 0)
            seen++;
    assert_int_equal(seen, 4);
}

static void test_write_in_place(void **state)
{
    struct cfx *f = *state;
    start(f);
    char p[4096];
    snprintf(p, sizeof p, "%s/slow.csv", f->inbox);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    const char *a = "metric,date,value\ndau,2025-11-01,1", *b = "000\nwau,2025-11-01,7\n";
    assert_int_equal(write(fd, a, strlen(a)), (ssize_t)strlen(a));
    run_nowait(f); /* nothing to see yet: no event until the writer closes */
    assert_int_equal(count_events(f, "file_started"), 0);
    assert_int_equal(write(fd, b, strlen(b)), (ssize_t)strlen(b));
    assert_int_equal(close(fd), 0); /* IN_CLOSE_WRITE */
    run_until_events(f, "file_ingested", 1);
    assert_non_null(find_event(f, "file_ingested", "slow.csv: 2 rows, 2 points"));
    char buf[256];
    series_text(f, "dau", buf, sizeof buf);
    assert_string_equal(buf, NOV1 "=1000;");
    /* Once: later events or scans find nothing more. */
    run_nowait(f);
    assert_int_equal(count_events(f, "file_ingested"), 1);
    assert_int_equal(count_events(f, "file_duplicate"), 0);
    assert_int_equal(f->n_commits, 1);
}

static void test_bad_file_rejected(void **state)
{
    struct cfx *f = *state;
    start(f);
    drop(f, "bad.csv", "metric,date,value\ndau,2025-11-01,5\ndau,2025-11-02,abc\n"
                       "dau,2025-02-30,7\n");
    run_until_events(f, "file_rejected", 1);
    const struct seen *s = find_event(f, "file_rejected", "bad.csv");
    assert_non_null(s);
    assert_int_equal(s->level, CFG_LOG_WARNING);
    assert_non_null(strstr(s->msg, "row 3, column 3: \"abc\""));
    assert_non_null(strstr(s->msg, "(2 errors)"));
    assert_non_null(strstr(s->msg, "/rejected/bad.csv.error.json"));
    assert_true(in_dir(f, "rejected", "bad.csv"));
    assert_false(in_dir(f, ".", "bad.csv"));

    char p[4096];
    snprintf(p, sizeof p, "%s/rejected/bad.csv.error.json", f->inbox);
    json_error_t jerr;
    json_t *doc = json_load_file(p, 0, &jerr);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "file")), "bad.csv");
    assert_int_equal(strlen(json_string_value(json_object_get(doc, "sha256"))), 64);
    assert_int_equal(json_integer_value(json_object_get(doc, "rows_read")), 3);
    assert_int_equal(json_integer_value(json_object_get(doc, "rows_ok")), 1);
    json_t *errs = json_object_get(doc, "errors");
    assert_int_equal(json_array_size(errs), 2);
    json_t *e0 = json_array_get(errs, 0), *e1 = json_array_get(errs, 1);
    assert_int_equal(json_integer_value(json_object_get(e0, "row")), 3);
    assert_int_equal(json_integer_value(json_object_get(e0, "column")), 3);
    assert_string_equal(json_string_value(json_object_get(e0, "value")), "abc");
    assert_non_null(strstr(json_string_value(json_object_get(e0, "reason")), "not a number"));
    assert_int_equal(json_integer_value(json_object_get(e1, "row")), 4);
    assert_int_equal(json_integer_value(json_object_get(e1, "column")), 2);
    assert_string_equal(json_string_value(json_object_get(e1, "value")), "2025-02-30");
    json_decref(doc);

    /* Nothing of it is stored; health says why. */
    char buf[256];
    series_text(f, "dau", buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_int_equal(f->n_commits, 0);
    assert_false(f->last_health_ok);
    assert_int_equal(f->last_health.consecutive_failures, 1);
    assert_non_null(strstr(f->last_health.last_error, "bad.csv rejected: row 3, column 3"));

    /* The next good file ends the failure streak. */
    drop(f, "good.csv", "metric,date,value\ndau,2025-11-01,5\n");
    run_until_events(f, "file_ingested", 1);
    assert_true(f->last_health_ok);
    assert_int_equal(f->last_health.consecutive_failures, 0);
}

static void test_duplicate(void **state)
{
    struct cfx *f = *state;
    start(f);
    const char *text = "metric,date,value\ndau,2025-11-01,5\n";
    drop(f, "a.csv", text);
    run_until_events(f, "file_ingested", 1);
    drop(f, "b.csv", text); /* same bytes, another name */
    run_until_events(f, "file_duplicate", 1);
    const struct seen *s = find_event(f, "file_duplicate", "b.csv");
    assert_non_null(s);
    assert_non_null(strstr(s->msg, "moved to archive/b.csv"));
    assert_true(in_dir(f, "archive", "b.csv"));
    assert_int_equal(count_events(f, "file_ingested"), 1);
    assert_int_equal(f->n_commits, 1); /* not read, nothing committed */
    struct store *st = open_ro(f);
    struct store_source_health h;
    struct okrd_err err = { 0 };
    assert_int_equal(store_get_source_health(st, "drops", &h, &err), 0);
    assert_int_equal(h.points_total, 1); /* counted once */
    store_close(st);
}

static void test_skip_row(void **state)
{
    struct cfx *f = *state;
    f->src.u.csv.on_error = CFG_ON_ERROR_SKIP_ROW;
    start(f);
    drop(f, "p.csv", "metric,date,value\ndau,2025-11-01,5\nwau,2025-11-01,x\ndau,2025-11-02,6\n");
    run_until_events(f, "file_partial", 1);
    const struct seen *s = find_event(f, "file_partial", "p.csv");
    assert_non_null(s);
    assert_int_equal(s->level, CFG_LOG_WARNING);
    assert_non_null(strstr(s->msg, "2 rows, 2 points stored, 1 bad rows skipped (first: row 3, "
                                   "column 3"));
    assert_true(in_dir(f, "archive", "p.csv"));
    assert_true(in_dir(f, "archive", "p.csv.error.json"));
    assert_false(in_dir(f, "rejected", "p.csv"));
    char buf[256];
    series_text(f, "dau", buf, sizeof buf);
    assert_string_equal(buf, NOV1 "=5;" NOV2 "=6;");
    series_text(f, "wau", buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_int_equal(f->points_committed, 2);
    assert_true(f->last_health_ok);
}

static json_t *load_json(struct cfx *f, const char *sub, const char *name)
{
    char p[4096];
    json_error_t jerr;
    snprintf(p, sizeof p, "%s/%s/%s", f->inbox, sub, name);
    json_t *doc = json_load_file(p, 0, &jerr);
    if (!doc)
        fail_msg("%s: %s", p, jerr.text);
    return doc;
}

static void move_back(struct cfx *f, const char *name)
{
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/archive/%s", f->inbox, name);
    snprintf(to, sizeof to, "%s/%s", f->inbox, name);
    assert_int_equal(rename(from, to), 0);
}

/* A crash between COMMIT and the move (issue 12 item 5): the file is still
 * in the inbox, its report never written. The ingest log kept the report
 * with the file, so the duplicate path writes it. Simulated by putting the
 * archived file back and deleting its report. */
static void test_skip_row_report_after_crash(void **state)
{
    struct cfx *f = *state;
    f->src.u.csv.on_error = CFG_ON_ERROR_SKIP_ROW;
    start(f);
    const char *text = "metric,date,value\ndau,2025-11-01,5\nwau,2025-11-01,x\n";
    drop(f, "p.csv", text);
    run_until_events(f, "file_partial", 1);
    json_t *want = load_json(f, "archive", "p.csv.error.json");

    move_back(f, "p.csv"); /* IN_MOVED_TO: taken again at once */
    char p[4096];
    snprintf(p, sizeof p, "%s/archive/p.csv.error.json", f->inbox);
    assert_int_equal(unlink(p), 0);
    run_until_events(f, "file_duplicate", 1);
    const struct seen *s = find_event(f, "file_duplicate", "p.csv");
    assert_non_null(s);
    assert_non_null(strstr(s->msg, "moved to archive/p.csv; its report "));
    assert_true(in_dir(f, "archive", "p.csv"));
    json_t *got = load_json(f, "archive", "p.csv.error.json");
    if (!json_equal(got, want))
        fail_msg("the report after the crash differs from the first one");
    json_decref(got);

    /* The same bytes under another name: archived with that report, its
     * "file" the name it came under; the first report is kept. */
    drop(f, "q.csv", text);
    run_until_events(f, "file_duplicate", 2);
    got = load_json(f, "archive", "q.csv.error.json");
    assert_string_equal(json_string_value(json_object_get(got, "file")), "q.csv");
    assert_true(json_equal(json_object_get(got, "errors"), json_object_get(want, "errors")));
    assert_true(json_equal(json_object_get(got, "sha256"), json_object_get(want, "sha256")));
    json_decref(got);
    assert_true(in_dir(f, "archive", "p.csv.error.json"));
    json_decref(want);
    assert_int_equal(count_events(f, "file_partial"), 1); /* read once */
}

static void test_ignored_entries(void **state)
{
    struct cfx *f = *state;
    char outside[1024], p[4096];
    /* present at start-up ... */
    assert_int_equal(csv_inbox_prepare(f->inbox, &(struct okrd_err){ 0 }), 0);
    free(tu_write_file(f->dir, "secret.csv", "metric,date,value\nsecret,2025-11-01,1\n"));
    snprintf(outside, sizeof outside, "%s/secret.csv", f->dir);
    snprintf(p, sizeof p, "%s/link.csv", f->inbox);
    assert_int_equal(symlink(outside, p), 0);
    free(tu_write_file(f->inbox, ".hidden.csv", "metric,date,value\nhidden,2025-11-01,1\n"));
    free(tu_write_file(f->inbox, "x.csv.tmp", "metric,date,value\ntmp,2025-11-01,1\n"));
    snprintf(p, sizeof p, "%s/folder.csv", f->inbox);
    assert_int_equal(mkdir(p, 0700), 0);
    start(f);
    /* ... and arriving while it runs */
    drop(f, ".later.csv", "metric,date,value\nhidden,2025-11-02,1\n");
    drop(f, "y.csv.part", "metric,date,value\npart,2025-11-02,1\n");
    snprintf(p, sizeof p, "%s/link2.csv", f->dir);
    assert_int_equal(symlink(outside, p), 0);
    char dst[4096];
    snprintf(dst, sizeof dst, "%s/link2.csv", f->inbox);
    assert_int_equal(rename(p, dst), 0); /* a symlink renamed in: IN_MOVED_TO */
    drop(f, "real.csv", "metric,date,value\nreal,2025-11-01,1\n");
    run_until_events(f, "file_ingested", 1);
    assert_non_null(find_event(f, "file_ingested", "real.csv"));
    for (int i = 0; i < f->n_seen; i++)
        if (f->seen[i].level > CFG_LOG_DEBUG && !strstr(f->seen[i].msg, "real.csv"))
            fail_msg("unexpected report: %s: %s", f->seen[i].event, f->seen[i].msg);
    const char *left[] = { "link.csv", "link2.csv", ".hidden.csv", ".later.csv", "x.csv.tmp",
                           "y.csv.part", "folder.csv" };
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++)
        if (!in_dir(f, ".", left[i]))
            fail_msg("%s should still be in the inbox", left[i]);
    char buf[64];
    series_text(f, "secret", buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_true(exists(f->dir, "secret.csv")); /* the link's target untouched */
}

static void set_mtime(struct cfx *f, const char *name, int64_t ago_s)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", f->inbox, name);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct timespec ts[2] = { now, { now.tv_sec - ago_s, 0 } };
    assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
}

static void test_startup_scan(void **state)
{
    struct cfx *f = *state;
    assert_int_equal(csv_inbox_prepare(f->inbox, &(struct okrd_err){ 0 }), 0);
    /* The correction sorts first by name but is newer: it must be read last. */
    free(tu_write_file(f->inbox, "a-correction.csv", "metric,date,value\ndau,2025-11-01,2\n"));
    free(tu_write_file(f->inbox, "b-original.csv", "metric,date,value\ndau,2025-11-01,1\n"
                                                   "dau,2025-11-02,9\n"));
    set_mtime(f, "b-original.csv", 20);
    set_mtime(f, "a-correction.csv", 10);
    start(f);
    run_until_events(f, "file_ingested", 2);
    const struct seen *first = find_event(f, "file_ingested", ".csv");
    assert_non_null(strstr(first->msg, "b-original.csv")); /* older mtime first */
    char buf[256];
    series_text(f, "dau", buf, sizeof buf);
    assert_string_equal(buf, NOV1 "=2;" NOV2 "=9;");
    assert_true(in_dir(f, "archive", "a-correction.csv"));
    assert_true(in_dir(f, "archive", "b-original.csv"));
}

static void test_settles_scanned_file(void **state)
{
    struct cfx *f = *state;
    /* A file the start-up scan finds with a fresh mtime waits for settle;
     * the test sees it taken within the deadline, without a sleep. */
    assert_int_equal(csv_inbox_prepare(f->inbox, &(struct okrd_err){ 0 }), 0);
    f->src.u.csv.settle_ms = 150;
    free(tu_write_file(f->inbox, "fresh.csv", "metric,date,value\ndau,2025-11-01,3\n"));
    uint64_t t0 = uv_hrtime();
    start(f);
    assert_int_equal(count_events(f, "file_started"), 0); /* settling */
    run_until_events(f, "file_ingested", 1);
    assert_true(uv_hrtime() - t0 >= 100 * 1000000ull); /* waited (most of) settle */
}

static void test_close_while_running(void **state)
{
    struct cfx *f = *state;
    start(f);
    /* A file big enough to still be in the writer when close is called. */
    size_t cap = 64 * 20000, o = 0;
    char *text = malloc(cap);
    o += (size_t)snprintf(text, cap, "metric,timestamp,value\n");
    for (int i = 0; i < 20000; i++)
        o += (size_t)snprintf(text + o, cap - o, "m%d,%d,%d\n", i % 10, 1700000000 + i * 60, i);
    drop(f, "big.csv", text);
    drop(f, "queued.csv", "metric,date,value\ndau,2025-11-01,5\n");
    free(text);
    run_until_events(f, "file_started", 1);
    conn_type_find(CFG_SRC_CSV_DIR)->close(f->c, conn_closed, f);
    while (!f->conn_closed)
        uv_run(&f->loop, UV_RUN_ONCE);
    /* The running file finished; the queued one was not started. */
    assert_int_equal(count_events(f, "file_started"), 1);
    assert_int_equal(count_events(f, "file_ingested"), 1);
    assert_true(in_dir(f, "archive", "big.csv"));
    assert_true(in_dir(f, ".", "queued.csv"));
    f->c = NULL;
}

static void test_folders_recreated(void **state)
{
    struct cfx *f = *state;
    f->src.u.csv.rescan_ms = 50;
    start(f);
    char p[4096];
    /* archive/ removed behind okrd's back: made again for the next move */
    snprintf(p, sizeof p, "%s/archive", f->inbox);
    assert_int_equal(rmdir(p), 0);
    drop(f, "a.csv", "metric,date,value\ndau,2025-11-01,5\n");
    run_until_events(f, "file_ingested", 1);
    assert_true(in_dir(f, "archive", "a.csv"));
    assert_int_equal(count_events(f, "inbox_failed"), 0);
    /* the whole inbox removed: one error, then a rescan creates and watches
     * it again, and files are taken as before */
    tu_rm_rf(f->inbox);
    run_until_events(f, "inbox_failed", 1);
    run_until_events(f, "inbox_recovered", 1);
    /* logged at error once, not once per rescan: a rescan that fails again
     * before the folder is back (a loaded machine) only logs at debug */
    int errors = 0;
    for (int i = 0; i < f->n_seen; i++)
        errors += !strcmp(f->seen[i].event, "inbox_failed") && f->seen[i].level == CFG_LOG_ERROR;
    assert_int_equal(errors, 1);
    drop(f, "b.csv", "metric,date,value\ndau,2025-11-02,6\n");
    run_until_events(f, "file_ingested", 2);
    assert_true(in_dir(f, "archive", "b.csv"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_filter),
        cmocka_unit_test(test_settle),
        cmocka_unit_test(test_order_and_names),
        cmocka_unit_test(test_outcome_messages),
        cmocka_unit_test(test_queue_basics),
        cmocka_unit_test(test_queue_against_reference),
        cmocka_unit_test(test_prepare_and_move),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_same_bytes_two_sources),
        T(test_rename_in),
        T(test_write_in_place),
        T(test_each_commit_told_before_next_read),
        T(test_bad_file_rejected),
        T(test_duplicate),
        T(test_skip_row),
        T(test_skip_row_report_after_crash),
        T(test_ignored_entries),
        T(test_startup_scan),
        T(test_settles_scanned_file),
        T(test_close_while_running),
        T(test_folders_recreated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
