/*
 * conn_poll.c — see conn_poll.h. The runtime is a small state machine per
 * source: IDLE (timer armed) -> POLLING (the type's requests in flight) ->
 * STORING (one writer job: the points and the health record in one
 * transaction) -> IDLE. One poll at a time per source, so a slow source
 * never piles up requests; closing cancels POLLING and waits out STORING.
 *
 * A poll is OK only once its transaction is durable: when the writer's
 * COMMIT fails (disk full; for a small job, possibly the group's COMMIT
 * after job_run returned) the poll is a failure like a 500, counted,
 * reported and retried with the backoff, and its error reaches the stored
 * health record with the next transaction that commits.
 */
#include "conn_poll.h"
#include "httpc.h"
#include "common/okrd_rand.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- deciding ---- */

int64_t conn_poll_delay_ms(const struct conn_poll_sched *s, double jitter)
{
    int64_t base = s->interval_ms;
    if (s->failures > 0) {
        int64_t cap = s->interval_ms * CONN_POLL_BACKOFF_CAP;
        for (int i = 1; i < s->failures && base < cap; i++)
            base *= 2;
        if (base > cap)
            base = cap;
    }
    if (jitter < -1)
        jitter = -1;
    if (jitter > 1)
        jitter = 1;
    int64_t d = base + (int64_t)((double)base * CONN_POLL_JITTER * jitter);
    if (d < 1)
        d = 1;
    if (s->failures > 0 && s->retry_after_ms > 0) {
        int64_t ra = s->retry_after_ms;
        if (ra > CONN_POLL_RETRY_AFTER_MAX_MS)
            ra = CONN_POLL_RETRY_AFTER_MAX_MS;
        if (ra > d)
            d = ra;
    }
    return d;
}

int64_t conn_poll_next_ms(const struct conn_poll_sched *s, int64_t last_start_ms,
                          int64_t now_ms, double jitter)
{
    int64_t next = last_start_ms + conn_poll_delay_ms(s, jitter);
    return next > now_ms ? next : now_ms;
}

enum conn_poll_event conn_poll_decide_report(struct conn_poll_report *r, bool ok,
                                             const char *kind, int failures, int failing_after)
{
    enum conn_poll_state before = r->state;
    if (ok) {
        r->state = CONN_POLL_OK;
        r->kind[0] = '\0';
        if (before == CONN_POLL_UNKNOWN)
            return CONN_EV_FIRST_OK;
        return before == CONN_POLL_FAILING ? CONN_EV_RECOVERED : CONN_EV_NONE;
    }
    bool changed = before != CONN_POLL_FAILING || strcmp(r->kind, kind) != 0;
    r->state = CONN_POLL_FAILING;
    snprintf(r->kind, sizeof r->kind, "%s", kind);
    if (failures == failing_after)
        return CONN_EV_FAILING;
    return changed ? CONN_EV_FAILED : CONN_EV_NONE;
}

/* ---- the runtime ---- */

enum phase { IDLE, POLLING, STORING };

struct conn {
    const struct cfg_source *src;
    const struct conn_env *env;
    const struct conn_poll_ops *ops;
    void *impl;
    uv_timer_t timer;
    enum phase phase;
    struct conn_poll_sched sched;
    struct conn_poll_report report;
    int failing_after;
    /* The last failure whose health record could not be stored (its
     * transaction failed, e.g. disk full): folded into the next record that
     * is, so the stored health still shows it. 0 = none pending. */
    int64_t unsaved_error_s;
    char unsaved_error[256];
    int64_t started_ms;
    struct okrd_rand rng; /* poll jitter; only spreads sources apart */
    bool closing, timer_closed;
    void (*on_closed)(void *arg);
    void *closed_arg;
};

/* A poll's writer job. Its rc in job_done is the whole truth about the
 * store: 0 = the points and the health record are committed (the group's
 * COMMIT included); < 0 = nothing of it is, whatever job_run managed. The
 * poll's own failure (HTTP, a rejected points insert) travels in res. */
struct job {
    struct conn *c;
    const char *source;
    struct conn_poll_result res;
    int64_t now_s;
    /* Filled on the loop at submit: what this process knows and the store
     * may not (its last records may have failed to commit). */
    int mem_failures;             /* consecutive failures seen by this run */
    int64_t unsaved_error_s;
    char unsaved_error[256];
    /* Filled by job_run: */
    struct store_source_health prev; /* the record read (zero if none or not read) */
    struct store_source_health h;    /* the record written (durable iff rc == 0) */
};

static void maybe_freed(struct conn *c)
{
    if (!c->closing || !c->timer_closed || c->phase == STORING)
        return;
    void (*cb)(void *) = c->on_closed;
    void *arg = c->closed_arg;
    if (c->ops->free)
        c->ops->free(c->impl);
    free(c);
    if (cb)
        cb(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    c->timer_closed = true;
    maybe_freed(c);
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    if (c->closing || c->phase != IDLE)
        return;
    c->phase = POLLING;
    c->started_ms = okrd_clock_now_ms(c->env->clock);
    c->ops->poll(c, c->impl);
}

static void schedule(struct conn *c)
{
    int64_t now = okrd_clock_now_ms(c->env->clock);
    int64_t next = conn_poll_next_ms(&c->sched, c->started_ms, now, okrd_rand_jitter(&c->rng));
    uv_timer_start(&c->timer, on_timer, (uint64_t)(next - now), 0);
}

/* Writer thread: the points and the health record in one transaction.
 * Returns 0 once both are written (a rejected points insert is then a
 * failure recorded in the health record and in res, not an error here). */
static int job_run(struct store *w, void *arg, struct okrd_err *err)
{
    struct job *j = arg;
    struct conn_poll_result *res = &j->res;
    struct store_source_health h = { 0 };
    int rc = store_begin(w, err);
    if (rc < 0)
        return rc;
    if (res->pts.n > 0 &&
        (rc = store_put_points_from(w, j->source, res->pts.v, res->pts.n, err)) < 0) {
        /* The points are lost for this poll: record that as the failure. */
        store_rollback(w);
        res->ok = false;
        res->pts.n = 0;
        snprintf(res->kind, sizeof res->kind, "store");
        snprintf(res->reason, sizeof res->reason, "%s", err->msg); /* "store: ..." */
        if ((rc = store_begin(w, err)) < 0)
            return rc;
    }
    rc = store_get_source_health(w, j->source, &h, err);
    if (rc < 0 && rc != OKRD_ENOTFOUND)
        return rc; /* the writer rolls the open transaction back */
    if (rc == OKRD_ENOTFOUND)
        memset(&h, 0, sizeof h);
    j->prev = h;
    if (j->unsaved_error_s > h.last_error_s) {
        h.last_error_s = j->unsaved_error_s;
        snprintf(h.last_error, sizeof h.last_error, "%s", j->unsaved_error);
    }
    h.points_total += (int64_t)res->pts.n;
    if (res->ok) {
        h.last_success_s = j->now_s;
        h.consecutive_failures = 0;
    } else {
        h.last_error_s = j->now_s;
        snprintf(h.last_error, sizeof h.last_error, "%s", res->reason);
        /* Failures whose records never committed count too. */
        int before = h.consecutive_failures > j->mem_failures ? h.consecutive_failures
                                                               : j->mem_failures;
        h.consecutive_failures = before + 1;
    }
    if ((rc = store_put_source_health(w, j->source, &h, err)) < 0)
        return rc;
    if ((rc = store_commit(w, err)) < 0)
        return rc;
    j->h = h;
    return 0;
}

static void report(struct conn *c, enum cfg_log_level lvl, const char *ev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(struct conn *c, enum cfg_log_level lvl, const char *ev, const char *fmt, ...)
{
    if (!c->env->report)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->env->report(c->env->ctx, lvl, c->src->id, ev, msg);
}

static void committed(struct conn *c, const struct http_points *p)
{
    if (!c->env->on_committed || p->n == 0)
        return;
    const char **m = malloc(p->n * sizeof *m);
    if (!m)
        return;
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) {
        size_t k = 0;
        while (k < n && strcmp(m[k], p->v[i].metric) != 0)
            k++;
        if (k == n)
            m[n++] = p->v[i].metric;
    }
    c->env->on_committed(c->env->ctx, c->src->id, m, n, (int64_t)p->n);
    free(m);
}

static void job_done(void *arg, int rc, const struct okrd_err *err)
{
    struct job *j = arg;
    struct conn *c = j->c;
    struct conn_poll_result *res = &j->res;
    c->phase = IDLE;
    if (rc == OKRD_ECANCELED) {
        /* The writer closed before running it: okrd is stopping. */
        goto out;
    }
    if (rc < 0) {
        /* Nothing was stored, even if job_run got as far as its commit: a
         * group's shared COMMIT can still fail after it. A failed poll. */
        res->ok = false;
        res->pts.n = 0;
        snprintf(res->kind, sizeof res->kind, "store");
        snprintf(res->reason, sizeof res->reason, "%s", /* the store's "store: ..." */
                 err && err->msg[0] ? err->msg : "store: failed");
    }
    int failed_before = c->sched.failures;
    if (res->ok) {
        c->sched.failures = 0;
        c->sched.retry_after_ms = 0;
    } else {
        c->sched.failures++;
        c->sched.retry_after_ms = res->retry_after_ms;
    }
    struct store_source_health h = j->h;
    if (rc < 0) { /* still tell the daemon what we know, and keep it for the store */
        h = j->prev;
        h.last_error_s = j->now_s;
        snprintf(h.last_error, sizeof h.last_error, "%s", res->reason);
        h.consecutive_failures = j->prev.consecutive_failures + 1 > c->sched.failures
                                     ? j->prev.consecutive_failures + 1
                                     : c->sched.failures;
        c->unsaved_error_s = h.last_error_s;
        snprintf(c->unsaved_error, sizeof c->unsaved_error, "%s", h.last_error);
    } else {
        c->unsaved_error_s = 0; /* job_run folded it into the stored record */
        c->unsaved_error[0] = '\0';
    }
    int prev_failures = h.consecutive_failures; /* stored: counts across restarts */
    enum conn_poll_event ev = conn_poll_decide_report(&c->report, res->ok, res->kind,
                                                      res->ok ? 0 : prev_failures,
                                                      c->failing_after);
    committed(c, &res->pts); /* a failed prometheus poll may still hold good queries' points */
    if (c->env->on_health)
        c->env->on_health(c->env->ctx, c->src->id, res->ok, &h);
    int64_t next_s = 0;
    if (!c->closing) {
        schedule(c);
        next_s = (int64_t)(uv_timer_get_due_in(&c->timer) + 999) / 1000;
    }
    switch (ev) {
    case CONN_EV_FIRST_OK:
        report(c, CFG_LOG_INFO, "poll_ok", "first poll ok: %zu points", res->pts.n);
        break;
    case CONN_EV_RECOVERED:
        report(c, CFG_LOG_INFO, "poll_recovered", "ok again after %d failed polls: %zu points",
               failed_before, res->pts.n);
        break;
    case CONN_EV_FAILED:
        report(c, CFG_LOG_WARNING, "poll_failed", "%s (failure %d; next try in %llds)",
               res->reason, h.consecutive_failures, (long long)next_s);
        break;
    case CONN_EV_FAILING:
        report(c, CFG_LOG_ERROR, "source_failing", "%s (%d consecutive failures; next try in %llds)",
               res->reason, h.consecutive_failures, (long long)next_s);
        break;
    case CONN_EV_NONE:
        break;
    }
    if (res->ok)
        report(c, CFG_LOG_DEBUG, "polled", "%zu points (%zu null, %zu today skipped)", res->pts.n,
               res->pts.skipped_null, res->pts.skipped_today);
out:
    http_points_free(&res->pts);
    free(j);
    maybe_freed(c);
}

void conn_poll_finish(struct conn *c, struct conn_poll_result *res)
{
    struct job *j = calloc(1, sizeof *j);
    if (c->closing || res->cancelled || !j) {
        http_points_free(&res->pts);
        free(j);
        c->phase = IDLE;
        maybe_freed(c);
        return;
    }
    j->c = c;
    j->source = c->src->id;
    j->res = *res;
    memset(&res->pts, 0, sizeof res->pts);
    j->now_s = okrd_clock_now_s(c->env->clock);
    j->mem_failures = c->sched.failures;
    j->unsaved_error_s = c->unsaved_error_s;
    memcpy(j->unsaved_error, c->unsaved_error, sizeof j->unsaved_error);
    c->phase = STORING;
    if (store_writer_submit_small(c->env->writer, job_run, job_done, j) < 0) {
        c->phase = IDLE; /* the writer is closing: okrd is stopping */
        http_points_free(&j->res.pts);
        free(j);
    }
}

int conn_poll_start(struct conn **out, const struct cfg_source *src, const struct conn_env *env,
                    int64_t interval_ms, int failing_after, const struct conn_poll_ops *ops,
                    void *impl, struct okrd_err *err)
{
    *out = NULL;
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        if (ops->free)
            ops->free(impl);
        return okrd_err_set(err, OKRD_ENOMEM, "source \"%s\": out of memory", src->id);
    }
    c->src = src;
    c->env = env;
    c->ops = ops;
    c->impl = impl;
    c->failing_after = failing_after > 0 ? failing_after : 3;
    c->sched.interval_ms = interval_ms > 0 ? interval_ms : 1000;
    /* Seed from the id and the time so that sources drift apart. */
    uint64_t seed = 0xcbf29ce484222325ULL ^ (uint64_t)okrd_clock_now_ms(env->clock);
    for (const char *p = src->id; *p; p++)
        seed = (seed ^ (unsigned char)*p) * 0x100000001b3ULL;
    okrd_rand_seed(&c->rng, seed);
    uv_timer_init(env->loop, &c->timer);
    c->timer.data = c;
    c->started_ms = okrd_clock_now_ms(env->clock);
    uv_timer_start(&c->timer, on_timer, 0, 0); /* the first poll at start-up */
    *out = c;
    return 0;
}

void conn_poll_close(struct conn *c, void (*on_closed)(void *arg), void *arg)
{
    if (c->closing)
        return;
    c->closing = true;
    c->on_closed = on_closed;
    c->closed_arg = arg;
    if (c->phase == POLLING) {
        if (c->ops->cancel)
            c->ops->cancel(c->impl);
        c->phase = IDLE;
    }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

bool conn_poll_http_failure(const struct httpc_response *r, int64_t now_s,
                            struct conn_poll_result *res)
{
    if (r->result == HTTPC_E_CANCELLED) {
        res->cancelled = true;
        return true;
    }
    if (r->result != HTTPC_OK) {
        snprintf(res->kind, sizeof res->kind, "%s", httpc_result_name(r->result));
        snprintf(res->reason, sizeof res->reason, "%s", r->error);
        return true;
    }
    if (r->status >= 200 && r->status <= 299)
        return false;
    snprintf(res->kind, sizeof res->kind, "http %ld", r->status);
    int64_t ra = 0;
    if ((r->status == 429 || r->status == 503) && r->retry_after &&
        httpc_parse_retry_after(r->retry_after, now_s, &ra) == 0 && ra > 0) {
        res->retry_after_ms = ra;
        snprintf(res->reason, sizeof res->reason, "HTTP %ld (expected 2xx); Retry-After %llds",
                 r->status, (long long)(ra / 1000));
    } else {
        snprintf(res->reason, sizeof res->reason, "HTTP %ld (expected 2xx)", r->status);
    }
    return true;
}

const struct conn_env *conn_poll_env(const struct conn *c) { return c->env; }
const struct cfg_source *conn_poll_source(const struct conn *c) { return c->src; }
int64_t conn_poll_started_s(const struct conn *c)
{
    int64_t ms = c->started_ms;
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}
