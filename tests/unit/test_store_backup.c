/*
 * test_store_backup.c — store_backup() (store/store_backup.c), the copy
 * behind `okrd backup`: a copy holds the store as of one commit even while
 * another connection commits between its steps, progress is reported per
 * step and can stop it, the destination is never overwritten nor left
 * half-written, the source side gains no file, and a daemon starting
 * during the copy of a closed store does not make it mix two states.
 * `okrd backup` itself (exit codes, restore and compare) is
 * tests/e2e/test_backup.py.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "store/store.h"
#include "testutil.h"

struct fx {
    char *dir;       /* the state_dir: okrd.db and nothing else of ours */
    char *out;       /* where backups go */
    char path[4096];
    char dest[4096];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->dir = tu_mkdtemp();
    f->out = tu_mkdtemp();
    assert_non_null(f->dir);
    assert_non_null(f->out);
    struct okrd_err err;
    assert_int_equal(store_path(f->dir, f->path, sizeof f->path, &err), 0);
    snprintf(f->dest, sizeof f->dest, "%s/backup.db", f->out);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_rm_rf(f->dir);
    tu_rm_rf(f->out);
    free(f->dir);
    free(f->out);
    free(f);
    return 0;
}

static struct store *open_store(const char *path, unsigned flags)
{
    struct store *s = NULL;
    struct okrd_err err = { 0 };
    if (store_open(&s, path, flags, &err))
        fail_msg("store_open %s: %s", path, err.msg);
    return s;
}

/* N points of METRIC at ts 0..N-1 (value = ts + offset), one transaction. */
static void put_many(struct store *s, const char *metric, size_t n, double offset)
{
    struct store_point_in *p = calloc(n, sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (struct store_point_in){ metric, (int64_t)i, (double)i + offset };
    struct okrd_err err = { 0 };
    if (store_put_points(s, p, n, &err))
        fail_msg("put %zu points: %s", n, err.msg);
    free(p);
}

static size_t count_points(const char *path, const char *metric, double *sum)
{
    struct store *s = open_store(path, STORE_READONLY);
    struct store_series ser = { 0 };
    struct okrd_err err = { 0 };
    assert_int_equal(store_get_series(s, metric, INT64_MIN, INT64_MAX, &ser, &err), 0);
    size_t n = ser.n;
    *sum = 0;
    for (size_t i = 0; i < n; i++)
        *sum += ser.pts[i].value;
    store_series_free(&ser);
    store_close(s);
    return n;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Between the backup's steps another connection (the daemon's writer)
 * commits: new points, and new values for stored ones. */
struct concurrent {
    struct store *writer;
    int calls;
    int64_t last_done, total;
    bool increasing;
};

static int write_between_steps(void *vctx, int64_t done, int64_t total)
{
    struct concurrent *c = vctx;
    if (done < c->last_done || done > total || total <= 0)
        c->increasing = false;
    c->last_done = done;
    c->total = total;
    c->calls++;
    struct store_point_in p[] = { { "dau", 1000000 + c->calls, 1 }, { "dau", 5, -1e9 } };
    struct okrd_err err = { 0 };
    if (store_put_points(c->writer, p, 2, &err))
        fail_msg("concurrent write: %s", err.msg);
    return 0;
}

static void test_snapshot_while_writing(void **state)
{
    struct fx *f = *state;
    struct store *w = open_store(f->path, 0);
    /* ~5 MB: several 1 MiB steps */
    put_many(w, "dau", 60000, 0.5);
    put_many(w, "mau", 60000, 0.25);
    double want_dau, want_mau, got;
    size_t n_dau = count_points(f->path, "dau", &want_dau);
    size_t n_mau = count_points(f->path, "mau", &want_mau);
    struct concurrent c = { .writer = w, .increasing = true };
    struct okrd_err err = { 0 };
    int64_t bytes = 0;
    int rc = store_backup(f->path, f->dest, write_between_steps, &c, &bytes, &err);
    if (rc)
        fail_msg("store_backup: %s", err.msg);
    assert_true(c.calls >= 3);
    assert_true(c.increasing);
    assert_true(c.last_done == c.total && bytes == c.total);
    struct stat st;
    assert_int_equal(stat(f->dest, &st), 0);
    assert_int_equal((int64_t)st.st_size, bytes);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* the copy is the store before the first concurrent commit */
    assert_int_equal(count_points(f->dest, "dau", &got), n_dau);
    assert_true(got == want_dau);
    assert_int_equal(count_points(f->dest, "mau", &got), n_mau);
    assert_true(got == want_mau);
    /* ... while the source has every concurrent commit */
    assert_int_equal(count_points(f->path, "dau", &got), n_dau + (size_t)c.calls);
    /* one complete file: nothing else beside it (no temporary, no -wal) */
    assert_int_equal(count_entries(f->out), 1);
    store_close(w);
    /* and it opens read-write as a store (a restore) */
    struct store *r = open_store(f->dest, 0);
    store_close(r);
}

static int stop_at_second_step(void *vctx, int64_t done, int64_t total)
{
    int *calls = vctx;
    (void)done;
    (void)total;
    return ++*calls >= 2;
}

static void test_stopped_leaves_nothing(void **state)
{
    struct fx *f = *state;
    struct store *w = open_store(f->path, 0);
    put_many(w, "dau", 150000, 0); /* several 1 MiB steps */
    store_close(w);
    int calls = 0;
    struct okrd_err err = { 0 };
    assert_int_equal(store_backup(f->path, f->dest, stop_at_second_step, &calls, NULL, &err),
                     OKRD_ECANCELED);
    assert_int_equal(calls, 2);
    assert_non_null(strstr(err.msg, "stopped after"));
    assert_int_equal(count_entries(f->out), 0);
}

static void test_refuses_existing_dest(void **state)
{
    struct fx *f = *state;
    struct store *w = open_store(f->path, 0);
    put_many(w, "dau", 10, 0);
    store_close(w);
    free(tu_write_file(f->out, "backup.db", "precious\n"));
    struct okrd_err err = { 0 };
    assert_int_equal(store_backup(f->path, f->dest, NULL, NULL, NULL, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "already exists"));
    assert_non_null(strstr(err.msg, f->dest));
    char *text = tu_read_file(f->dest, NULL);
    assert_string_equal(text, "precious\n");
    free(text);
    assert_int_equal(count_entries(f->out), 1);
    /* a directory is no destination either */
    assert_int_equal(store_backup(f->path, f->out, NULL, NULL, NULL, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "is a directory"));
}

static void test_missing_dest_dir(void **state)
{
    struct fx *f = *state;
    struct store *w = open_store(f->path, 0);
    put_many(w, "dau", 10, 0);
    store_close(w);
    char dest[4200];
    snprintf(dest, sizeof dest, "%s/no/such/dir/b.db", f->out);
    struct okrd_err err = { 0 };
    assert_int_equal(store_backup(f->path, dest, NULL, NULL, NULL, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "no/such/dir"));
    assert_non_null(strstr(err.msg, "No such file or directory"));
    snprintf(dest, sizeof dest, "%s/b.db", f->path); /* under a regular file */
    assert_int_equal(store_backup(f->path, dest, NULL, NULL, NULL, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "Not a directory"));
}

static void test_missing_store(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    assert_int_equal(store_backup(f->path, f->dest, NULL, NULL, NULL, &err), OKRD_ENOTFOUND);
    assert_non_null(strstr(err.msg, f->path));
    assert_int_equal(count_entries(f->out), 0);
    assert_int_equal(count_entries(f->dir), 0);
}

/* A stopped daemon's store (no -wal, no -shm): the backup creates nothing
 * beside it. */
static void test_source_gains_no_file(void **state)
{
    struct fx *f = *state;
    struct store *w = open_store(f->path, 0);
    put_many(w, "dau", 100, 0);
    store_close(w);
    char buf[4200];
    snprintf(buf, sizeof buf, "%s-wal", f->path);
    unlink(buf);
    snprintf(buf, sizeof buf, "%s-shm", f->path);
    unlink(buf);
    assert_int_equal(count_entries(f->dir), 1);
    struct stat before, after;
    assert_int_equal(stat(f->path, &before), 0);
    struct okrd_err err = { 0 };
    assert_int_equal(store_backup(f->path, f->dest, NULL, NULL, NULL, &err), 0);
    assert_int_equal(count_entries(f->dir), 1);
    assert_int_equal(stat(f->path, &after), 0);
    assert_true(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
                before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    double sum;
    assert_int_equal(count_points(f->dest, "dau", &sum), 100);
}

/* The store was closed (no -wal, no -shm: read without locks) and a daemon
 * starts during the copy, rewriting every value and checkpointing into the
 * file: the copy must not mix the two states; it is made again. */
struct starter {
    const char *path;
    int calls;
};

static int daemon_starts(void *vctx, int64_t done, int64_t total)
{
    struct starter *c = vctx;
    (void)done;
    (void)total;
    if (c->calls++ == 0) {
        struct store *w = open_store(c->path, 0);
        put_many(w, "dau", 150000, 1000000);
        store_close(w); /* the last connection: checkpoints into okrd.db */
    }
    return 0;
}

static void test_daemon_starts_during_copy(void **state)
{
    struct fx *f = *state;
    struct store *w = open_store(f->path, 0);
    put_many(w, "dau", 150000, 0);
    store_close(w);
    char buf[4200];
    snprintf(buf, sizeof buf, "%s-wal", f->path);
    unlink(buf);
    snprintf(buf, sizeof buf, "%s-shm", f->path);
    unlink(buf);
    struct starter c = { .path = f->path };
    struct okrd_err err = { 0 };
    if (store_backup(f->path, f->dest, daemon_starts, &c, NULL, &err))
        fail_msg("store_backup: %s", err.msg);
    double want, got;
    assert_int_equal(count_points(f->path, "dau", &want), 150000);
    assert_int_equal(count_points(f->dest, "dau", &got), 150000);
    if (got != want)
        fail_msg("the copy mixes two states: sum %.17g, the store's %.17g", got, want);
    assert_int_equal(count_entries(f->out), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshot_while_writing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopped_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_existing_dest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_dest_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_source_gains_no_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_daemon_starts_during_copy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
