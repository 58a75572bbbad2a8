/*
 * api_work.c — the API's big reads off the loop (DESIGN section 1): a few
 * worker threads, each with its own read-only store connection, take jobs
 * from one bounded FIFO and hand them back to the loop through a uv_async.
 *
 * Owns the threads, their connections, the queue and the hand-back. The
 * caller (api_reads.c) owns what a job reads and answers; a job's run()
 * touches nothing of the loop's (no MHD, no uv, no counters), and its done()
 * runs on the loop. Invariants: at most max_queued jobs wait (submit says
 * OKRD_EBUSY beyond that, and the caller answers 503); every submitted job
 * gets exactly one done() — after run(), or with canceled = true when the
 * pool closes before a worker took it; the threads are joined only when no
 * job is in flight, so joining never waits for a read.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

struct api_work {
    uv_loop_t *loop;
    uv_async_t async;            /* a worker finished a job */
    uv_mutex_t mu;
    uv_cond_t cond;
    /* under mu */
    struct api_job *q_head, *q_tail;
    size_t n_queued;
    struct api_job *done_head, *done_tail;
    bool hold;                   /* test switch: workers take nothing */
    bool stop;
    /* loop thread only */
    size_t max_queued;
    size_t in_flight;            /* submitted, done() not yet called */
    bool closing, joined;
    void (*on_closed)(void *arg);
    void *on_closed_arg;
    atomic_bool stopping;        /* read by long jobs on the workers */
    unsigned n_threads;
    uv_thread_t threads[API_READ_WORKERS];
    struct store *stores[API_READ_WORKERS];
};

struct worker_arg {
    struct api_work *w;
    struct store *store;
};

static void free_data(uv_handle_t *h)
{
    struct api_work *w = h->data;
    uv_cond_destroy(&w->cond);
    uv_mutex_destroy(&w->mu);
    free(w);
}

static void worker(void *arg)
{
    struct worker_arg a = *(struct worker_arg *)arg;
    free(arg);
    struct api_work *w = a.w;
    uv_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && (w->hold || !w->q_head))
            uv_cond_wait(&w->cond, &w->mu);
        if (w->stop)
            break; /* queued jobs are the closer's to cancel */
        struct api_job *j = w->q_head;
        w->q_head = j->next;
        if (!w->q_head)
            w->q_tail = NULL;
        w->n_queued--;
        uv_mutex_unlock(&w->mu);
        j->next = NULL;
        j->run(j, a.store);
        uv_mutex_lock(&w->mu);
        if (w->done_tail)
            w->done_tail->next = j;
        else
            w->done_head = j;
        w->done_tail = j;
        uv_async_send(&w->async);
    }
    uv_mutex_unlock(&w->mu);
}

static void maybe_closed(struct api_work *w);

static void on_async(uv_async_t *h)
{
    struct api_work *w = h->data;
    uv_mutex_lock(&w->mu);
    struct api_job *j = w->done_head;
    w->done_head = w->done_tail = NULL;
    uv_mutex_unlock(&w->mu);
    while (j) {
        struct api_job *next = j->next;
        w->in_flight--;
        j->done(j, false);
        j = next;
    }
    if (w->closing)
        maybe_closed(w);
}

static void stop_threads(struct api_work *w)
{
    uv_mutex_lock(&w->mu);
    w->stop = true;
    uv_cond_broadcast(&w->cond);
    uv_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->n_threads; i++)
        uv_thread_join(&w->threads[i]);
    w->n_threads = 0;
    for (unsigned i = 0; i < API_READ_WORKERS; i++) {
        store_close(w->stores[i]);
        w->stores[i] = NULL;
    }
}

int api_work_open(struct api_work **out, uv_loop_t *loop, const struct store_loc *loc,
                  size_t max_queued, bool hold, struct okrd_err *err)
{
    *out = NULL;
    struct api_work *w = calloc(1, sizeof *w);
    if (!w)
        return okrd_err_set(err, OKRD_ENOMEM, "api: out of memory");
    w->loop = loop;
    w->max_queued = max_queued;
    w->hold = hold;
    atomic_init(&w->stopping, false);
    int rc;
    /* At start-up, before the loop runs: opening is allowed to block. */
    struct store_loc rloc = *loc;
    rloc.role = "reader";
    for (unsigned i = 0; i < API_READ_WORKERS; i++)
        if ((rc = store_open_loc(&w->stores[i], &rloc, STORE_READONLY, err)) < 0) {
            okrd_err_prefix(err, "api: read worker %u", i + 1);
            goto fail_stores;
        }
    if (uv_mutex_init(&w->mu) != 0) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "api: cannot make the read queue's mutex");
        goto fail_stores;
    }
    if (uv_cond_init(&w->cond) != 0) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "api: cannot make the read queue's condition");
        goto fail_mutex;
    }
    if (uv_async_init(loop, &w->async, on_async) != 0) {
        rc = okrd_err_set(err, OKRD_EIO, "api: cannot make the read workers' wake-up");
        goto fail_cond;
    }
    w->async.data = w;
    for (unsigned i = 0; i < API_READ_WORKERS; i++) {
        struct worker_arg *a = malloc(sizeof *a);
        int trc = a ? (*a = (struct worker_arg){ w, w->stores[i] },
                       uv_thread_create(&w->threads[i], worker, a))
                    : UV_ENOMEM;
        if (trc != 0) {
            free(a);
            rc = okrd_err_set(err, OKRD_EIO, "api: cannot start read worker %u: %s", i + 1,
                              uv_strerror(trc));
            stop_threads(w);
            /* The async handle needs a loop turn to close; its close
             * callback frees the rest. */
            uv_close((uv_handle_t *)&w->async, free_data);
            return rc;
        }
        w->n_threads++;
    }
    *out = w;
    return 0;
fail_cond:
    uv_cond_destroy(&w->cond);
fail_mutex:
    uv_mutex_destroy(&w->mu);
fail_stores:
    for (unsigned i = 0; i < API_READ_WORKERS; i++)
        store_close(w->stores[i]);
    free(w);
    return rc;
}

int api_work_submit(struct api_work *w, struct api_job *j)
{
    if (w->closing)
        return OKRD_ECANCELED;
    uv_mutex_lock(&w->mu);
    if (w->n_queued >= w->max_queued) {
        uv_mutex_unlock(&w->mu);
        return OKRD_EBUSY;
    }
    j->next = NULL;
    if (w->q_tail)
        w->q_tail->next = j;
    else
        w->q_head = j;
    w->q_tail = j;
    w->n_queued++;
    uv_cond_signal(&w->cond);
    uv_mutex_unlock(&w->mu);
    w->in_flight++;
    return 0;
}

size_t api_work_queued(struct api_work *w)
{
    uv_mutex_lock(&w->mu);
    size_t n = w->n_queued;
    uv_mutex_unlock(&w->mu);
    return n;
}

size_t api_work_in_flight(const struct api_work *w) { return w ? w->in_flight : 0; }

bool api_work_stopping(const struct api_work *w)
{
    return atomic_load_explicit(&w->stopping, memory_order_relaxed);
}

void api_work_release(struct api_work *w)
{
    uv_mutex_lock(&w->mu);
    w->hold = false;
    uv_cond_broadcast(&w->cond);
    uv_mutex_unlock(&w->mu);
}

void api_work_cancel_queued(struct api_work *w)
{
    atomic_store(&w->stopping, true);
    uv_mutex_lock(&w->mu);
    struct api_job *j = w->q_head;
    w->q_head = w->q_tail = NULL;
    w->n_queued = 0;
    uv_mutex_unlock(&w->mu);
    while (j) {
        struct api_job *next = j->next;
        w->in_flight--;
        j->done(j, true);
        j = next;
    }
}

static void on_async_closed(uv_handle_t *h)
{
    struct api_work *w = h->data;
    void (*cb)(void *) = w->on_closed;
    void *arg = w->on_closed_arg;
    uv_cond_destroy(&w->cond);
    uv_mutex_destroy(&w->mu);
    free(w);
    if (cb)
        cb(arg);
}

static void maybe_closed(struct api_work *w)
{
    if (w->joined || w->in_flight > 0)
        return;
    w->joined = true;
    stop_threads(w); /* idle: they only wait for the stop */
    uv_close((uv_handle_t *)&w->async, on_async_closed);
}

void api_work_close(struct api_work *w, void (*on_closed)(void *arg), void *arg)
{
    if (!w) {
        if (on_closed)
            on_closed(arg);
        return;
    }
    w->closing = true;
    w->on_closed = on_closed;
    w->on_closed_arg = arg;
    api_work_cancel_queued(w);
    maybe_closed(w);
}
