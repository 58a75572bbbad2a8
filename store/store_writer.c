/*
 * store_writer.c — the writer thread (DESIGN section 1): one pthread owns
 * the only read-write connection and runs write jobs one at a time, in the
 * order they were submitted; the loop hears of each through a uv_async.
 *
 * Why a thread rather than STYLE's options (inline small writes, or slices
 * of a long transaction per loop turn): a 1M-row file or a 10,000-KR
 * evaluation is one transaction that must neither stall the loop nor make
 * every other write wait for the loop to come back to it; with all writes on
 * one connection in FIFO order there is no SQLITE_BUSY between our own
 * writers and no job can see or undo another's uncommitted rows.
 *
 * Threads: the loop thread calls open/submit/pending/close and runs done
 * callbacks; the writer thread only runs jobs. They share the two queues
 * under one mutex; the writer sleeps on a condvar when idle (no polling).
 * Invariants: done callbacks run on the loop, in submission order, exactly
 * once per accepted job (with OKRD_ECANCELED for jobs close cancelled); the
 * loop waits for the writer only in close, for the job already running.
 * Fencing (DESIGN section 10): each job carries the leader epoch it was
 * submitted in (store_writer_set_epoch; 0 for a follower's or an unfenced
 * job), and is dropped unrun if that epoch ended or the connection does not
 * hold the leader lock, so nothing queued for a lost leadership is written.
 *
 * Test hook: OKRD_TEST_FAIL_COMMIT=N in the environment when the writer
 * opens makes its next N group COMMITs fail as SQLite's SQLITE_FULL would
 * (the group rolled back, "database or disk is full"), so the tests can
 * show that callers never report such a group stored. Read once here and
 * kept in struct store_writer; unset (the normal case) it costs nothing.
 */
#include "store_backend.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct wjob {
    store_job_fn run;
    store_done_fn done;
    void *arg;
    bool small;              /* may share a transaction (submit_small) */
    uint64_t epoch;          /* the leader epoch it was made for; 0 none (always runs) */
    int rc;
    struct okrd_err err;
    struct wjob *next;
};

struct wqueue {
    struct wjob *head, **tail;
};

struct store_writer {
    uv_loop_t *loop;
    uv_async_t async;        /* writer -> loop: "done has jobs" */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* loop -> writer: "todo has jobs" or "quit" */
    struct store *db;        /* writer thread only, until joined */
    struct wqueue todo;      /* under mu */
    struct wqueue done;      /* under mu */
    bool quit;               /* under mu: stop after the running job */
    atomic_bool stop;        /* the same, for store_stop_requested() */
    long fail_commits;       /* writer thread only: the test hook's count left */
    uint64_t stamp;          /* loop thread only: the epoch new jobs carry */
    _Atomic uint64_t fence;  /* the current epoch: a job carrying another is dropped */
    bool closing;            /* loop thread only */
    size_t pending;          /* loop thread only: accepted, done not yet called */
    void (*on_closed)(void *arg);
    void *closed_arg;
};

static void q_init(struct wqueue *q)
{
    q->head = NULL;
    q->tail = &q->head;
}

static void q_push(struct wqueue *q, struct wjob *j)
{
    j->next = NULL;
    *q->tail = j;
    q->tail = &j->next;
}

static struct wjob *q_pop(struct wqueue *q)
{
    struct wjob *j = q->head;
    if (j && !(q->head = j->next))
        q->tail = &q->head;
    return j;
}

static void q_append(struct wqueue *q, struct wqueue *from)
{
    if (from->head) {
        *q->tail = from->head;
        q->tail = from->tail;
        q_init(from);
    }
}

bool store_stop_requested(const struct store *s)
{
    return s && s->stop && atomic_load(s->stop);
}

/* ---- writer thread ---- */

/* Fencing (DESIGN section 10): a job made for a leader epoch that ended,
 * or for one whose lock this connection does not hold (its session failed
 * or was replaced since), is dropped unrun. */
static bool fenced_off(struct store_writer *w, const struct wjob *j)
{
    return j->epoch && (j->epoch != atomic_load(&w->fence) || !store_ha_holds_lock(w->db));
}

static void run_job(struct store_writer *w, struct wjob *j)
{
    okrd_err_clear(&j->err);
    if (fenced_off(w, j)) {
        j->rc = okrd_err_set(&j->err, OKRD_ECANCELED,
                             "store: dropped: made for a leadership this node no longer holds");
        return;
    }
    j->rc = j->run(w->db, j->arg, &j->err);
    if (store_in_transaction(w->db)) {
        store_rollback(w->db);
        /* Returning 0 with the transaction open would silently drop the
         * job's writes: say so instead. */
        if (j->rc == 0)
            j->rc = okrd_err_set(&j->err, OKRD_EINVAL,
                                 "store: a writer job returned with its transaction open; "
                                 "rolled back");
    }
    if (j->rc != 0 && j->err.code == 0)
        okrd_err_set(&j->err, j->rc, "store: a writer job failed (%s)", okrd_err_name(j->rc));
}

/* OKRD_TEST_FAIL_COMMIT: what a COMMIT that hit a full disk leaves behind. */
static int fail_group_commit(struct store *s, struct okrd_err *err)
{
    s->grouped = false;
    s->job_open = false;
    store_rollback(s); /* the whole group, and the metric-id cache with it */
    return okrd_err_set(err, OKRD_ESTORE,
                        "store: commit: database or disk is full (test hook OKRD_TEST_FAIL_COMMIT)");
}

/* Group commit: small jobs queued back to back run in ONE transaction, each
 * in a savepoint of its own (so one job's rollback never touches another's
 * rows), and their done callbacks are posted only after the shared COMMIT.
 * 1,000 sources answering at once then cost a few commits, not 1,000. If
 * SQLite rolls the whole group back (e.g. disk full), or the COMMIT fails,
 * every job of the group that had succeeded reports that failure: nothing
 * is ever reported stored that was not committed. A small job alone in the
 * queue is a group of one: one path, one COMMIT, for every small job. */
#define GROUP_MAX 256

static void run_group(struct store_writer *w, struct wjob *first)
{
    struct okrd_err gerr = { 0 };
    if (store_group_begin(w->db, &gerr) < 0) {
        for (struct wjob *j = first; j; j = j->next)
            run_job(w, j); /* could not group: each alone */
        return;
    }
    struct wjob *j = first;
    for (; j; j = j->next) {
        run_job(w, j);
        if (!store_group_intact(w->db)) {
            j = j->next;
            break;
        }
    }
    int rc;
    if (w->fail_commits > 0 && store_group_intact(w->db)) {
        w->fail_commits--;
        rc = fail_group_commit(w->db, &gerr);
    } else {
        rc = store_group_commit(w->db, &gerr);
    }
    for (struct wjob *k = first; k != j; k = k->next)
        if (rc < 0 && k->rc == 0) {
            k->rc = rc;
            k->err = gerr;
        }
    for (; j; j = j->next)
        run_job(w, j); /* after a broken group: the rest each alone */
}

static void *writer_main(void *arg)
{
    struct store_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->todo.head && !w->quit)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->quit)
            break;
        struct wjob *j = q_pop(&w->todo);
        if (j->small) {
            struct wqueue group;
            q_init(&group);
            q_push(&group, j);
            for (int n = 1; n < GROUP_MAX && w->todo.head && w->todo.head->small; n++)
                q_push(&group, q_pop(&w->todo));
            pthread_mutex_unlock(&w->mu);
            run_group(w, group.head);
            pthread_mutex_lock(&w->mu);
            q_append(&w->done, &group);
            pthread_mutex_unlock(&w->mu);
            uv_async_send(&w->async);
            pthread_mutex_lock(&w->mu);
            continue;
        }
        pthread_mutex_unlock(&w->mu);
        run_job(w, j);
        pthread_mutex_lock(&w->mu);
        q_push(&w->done, j);
        pthread_mutex_unlock(&w->mu);
        /* Coalescing is fine: the loop drains the whole done queue. */
        uv_async_send(&w->async);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- loop thread ---- */

static void run_done(struct store_writer *w, struct wjob *list)
{
    while (list) {
        struct wjob *j = list;
        list = j->next;
        w->pending--; /* before the callback: the last one sees 0 */
        if (j->done)
            j->done(j->arg, j->rc, &j->err);
        free(j);
    }
}

static struct wjob *take_done(struct store_writer *w)
{
    pthread_mutex_lock(&w->mu);
    struct wjob *list = w->done.head;
    q_init(&w->done);
    pthread_mutex_unlock(&w->mu);
    return list;
}

static void on_async(uv_async_t *h)
{
    struct store_writer *w = h->data;
    /* A done callback may call store_writer_close: w stays valid until the
     * async handle's close callback, which runs after this returns. */
    run_done(w, take_done(w));
}

static void on_async_closed(uv_handle_t *h)
{
    struct store_writer *w = h->data;
    run_done(w, take_done(w)); /* finished before close, then the cancelled */
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    void (*cb)(void *) = w->on_closed;
    void *arg = w->closed_arg;
    free(w);
    if (cb)
        cb(arg);
}

int store_writer_open(struct store_writer **out, uv_loop_t *loop, const char *path,
                      struct okrd_err *err)
{
    struct store_loc loc = {.kind = STORE_SQLITE, .path = path, .role = "writer"};
    return store_writer_open_loc(out, loop, &loc, err);
}

int store_writer_open_loc(struct store_writer **out, uv_loop_t *loop, const struct store_loc *loc,
                          struct okrd_err *err)
{
    *out = NULL;
    struct store_writer *w = calloc(1, sizeof *w);
    if (!w)
        return okrd_err_set(err, OKRD_ENOMEM, "store: start the writer: out of memory");
    int rc = store_open_loc(&w->db, loc, 0, err);
    if (rc)
        goto fail_open;
    w->loop = loop;
    w->db->stop = &w->stop;
    const char *fail = getenv("OKRD_TEST_FAIL_COMMIT");
    if (fail && *fail)
        w->fail_commits = strtol(fail, NULL, 10);
    atomic_init(&w->stop, false);
    atomic_init(&w->fence, 0);
    q_init(&w->todo);
    q_init(&w->done);
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "store: start the writer: cannot create a mutex");
        goto fail_mutex;
    }
    if (pthread_cond_init(&w->cv, NULL) != 0) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "store: start the writer: cannot create a condvar");
        goto fail_cond;
    }
    /* The thread blocks every signal, so the loop's signal handling sees
     * them all, whichever thread the kernel picks. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int prc = pthread_create(&w->thread, NULL, writer_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "store: start the writer thread: %s", strerror(prc));
        goto fail_thread;
    }
    /* After the thread: undoing a started thread is synchronous (it is idle
     * and has no job), while undoing an initialised uv handle is not. */
    int urc = uv_async_init(loop, &w->async, on_async);
    if (urc != 0) {
        rc = okrd_err_set(err, OKRD_EIO, "store: start the writer: %s", uv_strerror(urc));
        goto fail_async;
    }
    w->async.data = w;
    *out = w;
    return 0;

fail_async:
    pthread_mutex_lock(&w->mu);
    w->quit = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
fail_thread:
    pthread_cond_destroy(&w->cv);
fail_cond:
    pthread_mutex_destroy(&w->mu);
fail_mutex:
    store_close(w->db);
fail_open:
    free(w);
    return rc;
}

static int submit(struct store_writer *w, store_job_fn run, store_done_fn done, void *arg,
                  bool small, bool fenced)
{
    if (!w || w->closing)
        return OKRD_ECANCELED;
    if (!run)
        return OKRD_EINVAL;
    struct wjob *j = calloc(1, sizeof *j);
    if (!j)
        return OKRD_ENOMEM;
    j->run = run;
    j->done = done;
    j->arg = arg;
    j->small = small;
    j->epoch = fenced ? w->stamp : 0;
    pthread_mutex_lock(&w->mu);
    q_push(&w->todo, j);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    w->pending++;
    return 0;
}

int store_writer_submit(struct store_writer *w, store_job_fn run, store_done_fn done, void *arg)
{
    return submit(w, run, done, arg, false, true);
}

int store_writer_submit_unfenced(struct store_writer *w, store_job_fn run, store_done_fn done,
                                 void *arg)
{
    return submit(w, run, done, arg, false, false);
}

void store_writer_set_epoch(struct store_writer *w, uint64_t epoch)
{
    if (!w)
        return;
    w->stamp = epoch;
    atomic_store(&w->fence, epoch);
}

int store_writer_submit_small(struct store_writer *w, store_job_fn run, store_done_fn done,
                              void *arg)
{
    return submit(w, run, done, arg, true, true);
}

void store_writer_request_stop(struct store_writer *w)
{
    if (w)
        atomic_store(&w->stop, true);
}

size_t store_writer_pending(const struct store_writer *w)
{
    return w ? w->pending : 0;
}

void store_writer_close(struct store_writer *w, void (*on_closed)(void *arg), void *arg)
{
    if (!w || w->closing)
        return;
    w->closing = true;
    w->on_closed = on_closed;
    w->closed_arg = arg;

    struct wqueue cancelled;
    pthread_mutex_lock(&w->mu);
    w->quit = true;
    atomic_store(&w->stop, true);
    cancelled = w->todo;
    if (cancelled.tail == &w->todo.head) /* the tail pointed into w->todo */
        cancelled.tail = &cancelled.head;
    q_init(&w->todo);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);

    /* The one place the loop waits: for the job already running, if any. */
    pthread_join(w->thread, NULL);
    store_close(w->db);
    w->db = NULL;

    for (struct wjob *j = cancelled.head; j; j = j->next) {
        j->rc = okrd_err_set(&j->err, OKRD_ECANCELED,
                             "store: the writer closed before this job ran");
    }
    pthread_mutex_lock(&w->mu); /* uncontended now; keeps the rule simple */
    q_append(&w->done, &cancelled);
    pthread_mutex_unlock(&w->mu);
    uv_close((uv_handle_t *)&w->async, on_async_closed);
}
