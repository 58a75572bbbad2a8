/*
 * ha.c — the daemon's role in a high-availability pair (DESIGN section 10),
 * on the loop. Owns: the role timer that drives ha_fsm.c, the lock attempts
 * and confirmations (jobs on the store's writer, so the lock lives on the
 * WRITER connection and every write of a leader goes over the session that
 * holds it), the LISTEN connection that wakes the leader, and starting and
 * stopping the leader-only work.
 *
 * Leader-only work: sources (polling and CSV inboxes), evaluations (and
 * their outbox rows), check-in reminders, webhook deliveries. Becoming the
 * leader starts the sources (an inbox is scanned at once, as at start-up),
 * evaluates everything, and starts deliveries only takeover_check plus the
 * longest webhook timeout later, so the old leader's last requests are
 * over. Stepping down stops all of that at once: the writer's epoch is
 * reset first (queued leader jobs are dropped unrun), sources close,
 * in-flight webhook requests are cancelled, reminders stop; then the lock
 * is let go so another node takes over.
 *
 * Followers keep the API, pushes and check-ins: those are writes over the
 * writer connection that need no lock (their NOTIFY wakes the leader).
 *
 * On a store that is not shared (SQLite) the node leads from start to end;
 * only writer pings run, when systemd's watchdog is on, so that the
 * watchdog is fed only while the writer answers (DESIGN section 7).
 *
 * Times: the state machine runs on the monotonic clock (uv_hrtime), which
 * both threads read; the clock check compares the server's clock with this
 * host's real clock on purpose (it checks the host, whatever test clock the
 * daemon's logic runs on).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ha.h"
#include "log.h"
#include "okrd.h"
#include "remind.h"
#include "store/store_outbox.h"

struct okrd_ha {
    struct okrd *d;
    struct ha_fsm fsm;
    bool started, stopped;
    bool leading;              /* the leader-only work is running */
    bool pinging;              /* not shared: writer pings for the watchdog */
    int64_t writer_answer_ms;  /* monotonic: the writer last completed one of our jobs */
    int64_t event_floor_s;     /* newest occurred_at in the outbox when we took over */
    int64_t clock_warned_ms;
    uv_timer_t timer;          /* the state machine's next wake */
    uv_timer_t deliver;        /* the new leader's wait before its first delivery */
    /* LISTEN okrd (shared stores) */
    struct store *listen;
    int listen_fd;             /* a dup of the listen session's socket (ours to close) */
    uv_poll_t poll;
    bool poll_open;
    uv_timer_t listen_retry;
    uv_work_t listen_work;
    bool listen_opening;
    struct store *listen_new;
    struct okrd_err listen_err;
    size_t jobs;               /* our writer jobs in flight */
    /* The leader's writer session, watched while the writer is idle (see
     * watch_writer): a dup of its socket, ours to close, so its number is
     * never another handle's even after libpq closed the original. */
    int writer_fd;             /* -1: none */
    struct writer_watch *writer_watch;
};

/* The poll on the writer's socket and the dup it watches: freed together
 * once the handle closed, so the descriptor outlives the handle. */
struct writer_watch {
    uv_poll_t poll;
    int fd;
    struct okrd_ha *ha;
};

static int64_t mono_ms(void) { return (int64_t)(uv_hrtime() / 1000000u); }

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void decide(struct okrd_ha *ha, const struct ha_input *in);

/* ---- writer jobs ---- */

struct ha_job {
    struct okrd_ha *ha;
    enum ha_input_kind kind;   /* ATTEMPT_DONE or CONFIRM_DONE; TICK: an unlock */
    int64_t timeout_ms;
    struct ha_input out;
    int64_t floor_s;
    int fd;                    /* ATTEMPT_DONE with the lock: dup of the session's socket */
    char msg[OKRD_ERR_MSG_MAX];
};

/* Writer thread: one lock attempt. Reconnects a failed session first; asks
 * for the lock only from a primary whose clock is within 5 s of ours. */
static int attempt_run(struct store *w, void *arg, struct okrd_err *err)
{
    struct ha_job *j = arg;
    int rc = store_ha_reconnect(w, err);
    j->out.ran_ms = mono_ms();
    struct store_ha_server srv = { 0 };
    int64_t before = real_ms();
    if (!rc)
        rc = store_ha_server(w, &srv, err);
    if (rc)
        return rc;
    j->out.skew_ms = srv.clock_ms - (before + real_ms()) / 2;
    j->out.in_recovery = srv.in_recovery;
    if (srv.in_recovery || !ha_fsm_clock_allows(j->out.skew_ms))
        return 0;
    if ((rc = store_ha_try_lock(w, &j->out.got_lock, err)) != 0)
        return rc;
    if (j->out.got_lock) {
        rc = store_ha_newest_event_at(w, &j->floor_s, err);
        int fd = store_ha_socket(w);
        j->fd = fd >= 0 ? dup(fd) : -1; /* no watch without it: confirmations still run */
    }
    return rc;
}

static int confirm_run(struct store *w, void *arg, struct okrd_err *err)
{
    struct ha_job *j = arg;
    j->out.ran_ms = mono_ms();
    int rc = store_ha_confirm(w, j->timeout_ms, err);
    if (!rc && !store_ha_holds_lock(w))
        rc = okrd_err_set(err, OKRD_EIO, "store: the session holding the leader lock was replaced");
    return rc;
}

static int unlock_run(struct store *w, void *arg, struct okrd_err *err)
{
    (void)arg;
    if (!store_ha_holds_lock(w))
        return 0; /* the session (and its lock) is gone already */
    return store_ha_unlock(w, err);
}

/* ---- watching the leader's idle writer session ----
 * The server writes to an idle session only to end it (pg_terminate_backend,
 * a shutdown): the leader then confirms at once (HA_IN_SUSPECT) and steps
 * down within a round trip, not at its next confirmation, so it stops
 * answering `leader` before another node can take the lock. While the
 * writer runs jobs the socket is readable with their answers: the watch
 * stops at the first readable and is started again after the next
 * confirmation, so a busy writer costs nothing extra. */
static void on_watch_closed(uv_handle_t *h)
{
    struct writer_watch *w = h->data;
    close(w->fd);
    free(w);
}

static void unwatch_writer(struct okrd_ha *ha)
{
    if (ha->writer_watch) {
        uv_close((uv_handle_t *)&ha->writer_watch->poll, on_watch_closed);
        ha->writer_watch = NULL; /* the fd goes with it */
    } else if (ha->writer_fd >= 0) {
        close(ha->writer_fd);
    }
    ha->writer_fd = -1;
}

static void on_writer_readable(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    struct okrd_ha *ha = ((struct writer_watch *)p->data)->ha;
    uv_poll_stop(p);
    if (ha->stopped || !ha->leading || store_writer_pending(ha->d->writer) > 0)
        return; /* an answer to a job: watched again after the next confirmation */
    log_debug("ha_session_suspect", "msg=\"the server wrote to the idle writer session: "
              "confirming now\"");
    struct ha_input in = { .kind = HA_IN_SUSPECT };
    decide(ha, &in);
}

static void watch_writer(struct okrd_ha *ha)
{
    if (ha->stopped || !ha->fsm.shared || ha->writer_fd < 0)
        return;
    if (!ha->writer_watch) {
        struct writer_watch *w = calloc(1, sizeof *w);
        if (!w || uv_poll_init(&ha->d->loop, &w->poll, ha->writer_fd) != 0) {
            free(w);
            return; /* no watch: the confirmations every takeover_check/2 remain */
        }
        w->fd = ha->writer_fd;
        w->ha = ha;
        w->poll.data = w;
        ha->writer_watch = w;
    }
    uv_poll_start(&ha->writer_watch->poll, UV_READABLE | UV_DISCONNECT, on_writer_readable);
}

static void job_done(void *arg, int rc, const struct okrd_err *err)
{
    struct ha_job *j = arg;
    struct okrd_ha *ha = j->ha;
    ha->jobs--;
    if (rc != OKRD_ECANCELED)
        ha->writer_answer_ms = mono_ms();
    if (ha->stopped || rc == OKRD_ECANCELED) {
        if (j->fd >= 0)
            close(j->fd);
        free(j);
        return;
    }
    char q[512];
    if (j->kind == HA_IN_TICK) {
        if (rc < 0)
            log_warning("ha_unlock_failed", "msg=%s", log_quote(q, sizeof q, err->msg));
        free(j);
        return;
    }
    j->out.kind = j->kind;
    j->out.ok = rc == 0;
    if (rc < 0 && ha->fsm.shared)
        log_warning(j->kind == HA_IN_ATTEMPT_DONE ? "ha_attempt_failed" : "ha_confirm_failed",
                    "msg=%s", log_quote(q, sizeof q, err->msg));
    if (rc == 0 && j->kind == HA_IN_ATTEMPT_DONE && j->out.got_lock) {
        ha->event_floor_s = j->floor_s;
        unwatch_writer(ha); /* (a session of an earlier term, if any) */
        ha->writer_fd = j->fd;
        j->fd = -1;
    }
    if (j->fd >= 0)
        close(j->fd);
    bool confirmed = rc == 0 && j->kind == HA_IN_CONFIRM_DONE;
    struct ha_input in = j->out;
    free(j);
    decide(ha, &in);
    if (confirmed && ha->leading)
        watch_writer(ha); /* again: it stops at the first thing it sees */
}

static void submit_job(struct okrd_ha *ha, enum ha_input_kind kind, store_job_fn run)
{
    struct ha_job *j = calloc(1, sizeof *j);
    struct okrd *d = ha->d;
    if (!j || !d->writer ||
        store_writer_submit_unfenced(d->writer, run, job_done, j) < 0) {
        free(j);
        /* Nothing was sent: answer as a failed query, so the machine moves on. */
        if (kind != HA_IN_TICK) {
            struct ha_input in = { .kind = kind, .ok = false };
            decide(ha, &in);
        }
        return;
    }
    j->ha = ha;
    j->kind = kind;
    j->fd = -1;
    j->timeout_ms = ha->fsm.check_ms / 2 > 0 ? ha->fsm.check_ms / 2 : 1;
    ha->jobs++;
}

/* ---- leading and stepping down ---- */

static int64_t longest_webhook_timeout_ms(const struct cfg *cfg)
{
    int64_t m = 0;
    for (size_t i = 0; i < cfg->n_webhooks; i++) {
        int64_t t = cfg->webhooks[i].timeout_ms > 0 ? cfg->webhooks[i].timeout_ms : 10000;
        if (t > m)
            m = t;
    }
    return m;
}

static void start_deliveries(struct okrd_ha *ha)
{
    struct okrd *d = ha->d;
    struct okrd_err err = { 0 };
    if (d->stopping || !ha->leading || d->alerts)
        return;
    if (okrd_alerts_start(d, &err) < 0) {
        char q[512];
        log_error("ha_deliveries_failed", "msg=%s", log_quote(q, sizeof q, err.msg));
    }
}

static void on_deliver(uv_timer_t *t)
{
    struct okrd_ha *ha = t->data;
    struct okrd *d = ha->d;
    if (d->alerts) {
        /* the old sender (aborted when we stepped down) is still closing */
        uv_timer_start(&ha->deliver, on_deliver, 100, 0);
        return;
    }
    log_info("ha_deliveries", "msg=\"the new leader's wait is over: delivering webhooks\"");
    start_deliveries(ha);
}

static void lead(struct okrd_ha *ha)
{
    struct okrd *d = ha->d;
    ha->leading = true;
    store_writer_set_epoch(d->writer, ha->fsm.epoch);
    struct okrd_err err = { 0 };
    char q[512];
    if (!ha->fsm.shared) {
        /* The one daemon: evaluation started with eval_start; deliveries at once. */
        sources_start_all(d);
        if (okrd_remind_start(d, &err) < 0)
            log_error("start_failed", "msg=%s", log_quote(q, sizeof q, err.msg));
        start_deliveries(ha);
        return;
    }
    /* The wait is for the old leader's last requests. They can only be
     * deliveries pending now: every event committed from here on is ours
     * (only the leader writes the outbox). With none pending (a first start,
     * an idle pair) there is nothing to wait for. If the count cannot be
     * read, wait. */
    int64_t wait = ha->fsm.check_ms + longest_webhook_timeout_ms(d->cfg);
    struct store_delivery_counts dc = { 0 };
    if (store_delivery_counts(d->reader, NULL, &dc, NULL) == 0 && dc.pending == 0)
        wait = 0;
    log_info("ha_leader", "epoch=%llu event_floor=%lld deliveries_after_ms=%lld",
             (unsigned long long)ha->fsm.epoch, (long long)ha->event_floor_s, (long long)wait);
    sources_start_all(d); /* inboxes are scanned at once, as at start-up */
    eval_takeover(d);
    if (!d->remind && okrd_remind_start(d, &err) < 0)
        log_error("ha_leader", "msg=%s", log_quote(q, sizeof q, err.msg));
    uv_timer_start(&ha->deliver, on_deliver, (uint64_t)wait, 0);
    watch_writer(ha);
    okrd_notify_status(d);
}

static void step_down(struct okrd_ha *ha, enum ha_why why)
{
    struct okrd *d = ha->d;
    bool was = ha->leading;
    ha->leading = false;
    store_writer_set_epoch(d->writer, 0); /* first: nothing queued for us runs */
    unwatch_writer(ha);
    log_warning("ha_follower", "reason=%s msg=\"stopped acting as the leader\"",
                why == HA_WHY_SESSION_FAILED ? "session_failed" : "no_confirmation");
    if (!was)
        return;
    uv_timer_stop(&ha->deliver);
    sources_stop_all(d);
    okrd_alerts_abort(d);
    okrd_remind_stop(d);
    submit_job(ha, HA_IN_TICK, unlock_run);
    okrd_notify_status(d);
}

/* ---- the state machine on the loop ---- */

static void on_tick(uv_timer_t *t);

static void decide(struct okrd_ha *ha, const struct ha_input *in)
{
    struct okrd *d = ha->d;
    if (ha->stopped || d->stopping)
        return;
    int64_t now = mono_ms();
    struct ha_output o = ha_fsm_step(&ha->fsm, in, now);
    if (o.actions & HA_DO_REFUSE_STANDBY)
        log_error("ha_standby", "msg=\"the PostgreSQL server is in recovery (a standby): its "
                  "advisory locks mean nothing; not competing for leadership\"");
    if (o.actions & (HA_DO_WARN_CLOCK | HA_DO_REFUSE_CLOCK)) {
        /* once a minute at most: a follower asks every takeover_check */
        if (ha->clock_warned_ms == 0 || now - ha->clock_warned_ms >= 60000) {
            ha->clock_warned_ms = now;
            log_warning("ha_clock", "skew_ms=%lld msg=\"%s\"", (long long)in->skew_ms,
                        (o.actions & HA_DO_REFUSE_CLOCK)
                            ? "this host's clock is more than 5 s off the PostgreSQL server's; "
                              "not taking the leader lock until it is fixed"
                            : "this host's clock is more than 1 s off the PostgreSQL server's");
        }
    }
    if (o.actions & HA_DO_STEP_DOWN)
        step_down(ha, o.why);
    if (o.actions & HA_DO_LEAD)
        lead(ha);
    if (o.actions & HA_DO_ATTEMPT)
        submit_job(ha, HA_IN_ATTEMPT_DONE, attempt_run);
    if (o.actions & HA_DO_CONFIRM && (ha->fsm.shared || ha->pinging))
        submit_job(ha, HA_IN_CONFIRM_DONE, confirm_run);
    else if (o.actions & HA_DO_CONFIRM)
        ha->fsm.busy = false; /* not shared and no watchdog: nothing to ping */
    if (ha->stopped || d->stopping)
        return;
    if (ha->fsm.shared || ha->pinging) {
        int64_t delay = o.wake_ms - mono_ms();
        uv_timer_start(&ha->timer, on_tick, (uint64_t)(delay > 0 ? delay : 0), 0);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct ha_input in = { .kind = HA_IN_TICK };
    decide(t->data, &in);
}

/* ---- LISTEN okrd ---- */

static void listen_schedule(struct okrd_ha *ha, uint64_t delay_ms);

static void on_poll_closed(uv_handle_t *h)
{
    struct okrd_ha *ha = h->data;
    ha->poll_open = false;
    if (ha->listen_fd >= 0)
        close(ha->listen_fd);
    ha->listen_fd = -1;
    store_close(ha->listen);
    ha->listen = NULL;
    if (!ha->stopped)
        listen_schedule(ha, (uint64_t)ha->fsm.check_ms);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    struct okrd_ha *ha = p->data;
    (void)events;
    int n = 0;
    struct okrd_err err = { 0 };
    if (status < 0 || store_listen_drain(ha->listen, &n, &err) < 0) {
        char q[512];
        log_warning("ha_listen_failed", "msg=%s",
                    log_quote(q, sizeof q, status < 0 ? uv_strerror(status) : err.msg));
        uv_poll_stop(p);
        uv_close((uv_handle_t *)p, on_poll_closed);
        /* Notifications are lost meanwhile: change_seq still says. */
        okrd_on_store_changed(ha->d);
        return;
    }
    if (n > 0)
        okrd_on_store_changed(ha->d);
}

static void listen_open_work(uv_work_t *w)
{
    struct okrd_ha *ha = w->data;
    struct okrd *d = ha->d;
    struct store_loc loc = d->store_loc; /* the writer's, fixed at start */
    loc.role = "listen";
    okrd_err_clear(&ha->listen_err);
    ha->listen_new = NULL;
    if (store_open_loc(&ha->listen_new, &loc, STORE_READONLY, &ha->listen_err) < 0)
        ha->listen_new = NULL;
}

static void listen_open_done(uv_work_t *w, int status)
{
    struct okrd_ha *ha = w->data;
    ha->listen_opening = false;
    struct store *s = ha->listen_new;
    ha->listen_new = NULL;
    if (ha->stopped || status < 0) {
        store_close(s);
        return;
    }
    int fd = -1;
    if (!s || store_listen(s, &fd, &ha->listen_err) < 0) {
        char q[512];
        log_warning("ha_listen_failed", "msg=%s", log_quote(q, sizeof q, ha->listen_err.msg));
        store_close(s);
        listen_schedule(ha, (uint64_t)ha->fsm.check_ms);
        return;
    }
    if (fd < 0) {
        store_close(s); /* a backend without notifications: change_seq alone */
        return;
    }
    /* Watched through a dup: when the session breaks, libpq closes its
     * socket inside a read, and the number could go to another handle
     * before this poll is closed; the dup stays ours until on_poll_closed. */
    int pfd = dup(fd);
    int urc = pfd < 0 ? uv_translate_sys_error(errno) : uv_poll_init(&ha->d->loop, &ha->poll, pfd);
    if (urc != 0) {
        char q[512];
        log_warning("ha_listen_failed", "msg=%s", log_quote(q, sizeof q, uv_strerror(urc)));
        if (pfd >= 0)
            close(pfd);
        store_close(s);
        listen_schedule(ha, (uint64_t)ha->fsm.check_ms);
        return;
    }
    ha->listen = s;
    ha->listen_fd = pfd;
    ha->poll.data = ha;
    ha->poll_open = true;
    uv_poll_start(&ha->poll, UV_READABLE, on_readable);
}

static void on_listen_retry(uv_timer_t *t)
{
    struct okrd_ha *ha = t->data;
    if (ha->stopped || ha->listen_opening || ha->poll_open)
        return;
    ha->listen_opening = true;
    ha->listen_work.data = ha;
    if (uv_queue_work(&ha->d->loop, &ha->listen_work, listen_open_work, listen_open_done) < 0)
        ha->listen_opening = false;
}

static void listen_schedule(struct okrd_ha *ha, uint64_t delay_ms)
{
    uv_timer_start(&ha->listen_retry, on_listen_retry, delay_ms, 0);
}

/* ---- the daemon's interface ---- */

int okrd_ha_init(struct okrd *d, struct okrd_err *err)
{
    struct okrd_ha *ha = calloc(1, sizeof *ha);
    if (!ha)
        return okrd_err_set(err, OKRD_ENOMEM, "ha: out of memory");
    ha->d = d;
    ha->listen_fd = -1;
    ha->writer_fd = -1;
    bool shared = d->reader && store_is_shared(d->reader);
    ha_fsm_init(&ha->fsm, shared, d->cfg->store.takeover_check_ms, mono_ms());
    ha->writer_answer_ms = mono_ms();
    d->ha = ha;
    return 0;
}

int okrd_ha_start(struct okrd *d, struct okrd_err *err)
{
    struct okrd_ha *ha = d->ha;
    (void)err;
    uv_timer_init(&d->loop, &ha->timer);
    uv_timer_init(&d->loop, &ha->deliver);
    uv_timer_init(&d->loop, &ha->listen_retry);
    ha->timer.data = ha->deliver.data = ha->listen_retry.data = ha;
    ha->started = true;
    ha->pinging = !ha->fsm.shared && d->watchdog_usec > 0;
    if (ha->fsm.shared) {
        log_info("ha_competing", "takeover_check_ms=%lld msg=\"a follower, competing for leadership\"",
                 (long long)ha->fsm.check_ms);
        listen_schedule(ha, 0);
    } else {
        lead(ha);
    }
    struct ha_input in = { .kind = HA_IN_TICK };
    decide(ha, &in);
    return 0;
}

static void on_closed(uv_handle_t *h) { (void)h; }

void okrd_ha_stop(struct okrd *d)
{
    struct okrd_ha *ha = d->ha;
    if (!ha || ha->stopped)
        return;
    ha->stopped = true;
    ha->leading = false;
    if (!ha->started)
        return;
    uv_close((uv_handle_t *)&ha->timer, on_closed);
    uv_close((uv_handle_t *)&ha->deliver, on_closed);
    uv_close((uv_handle_t *)&ha->listen_retry, on_closed);
    if (ha->poll_open) {
        uv_poll_stop(&ha->poll);
        uv_close((uv_handle_t *)&ha->poll, on_poll_closed);
    }
    unwatch_writer(ha);
    /* The lock goes with the writer's session when the writer closes. */
}

void okrd_ha_free(struct okrd *d)
{
    struct okrd_ha *ha = d->ha;
    if (!ha)
        return;
    store_close(ha->listen);
    d->ha = NULL;
    free(ha);
}

bool okrd_may_act(const struct okrd *d)
{
    const struct okrd_ha *ha = d->ha;
    if (!ha)
        return false; /* before okrd_ha_init: nothing may act yet */
    if (!ha->fsm.shared)
        return true;  /* SQLite: the one daemon, always the leader */
    return ha->leading && !ha->stopped && ha_fsm_may_act(&ha->fsm, mono_ms());
}

const char *okrd_ha_role(const struct okrd *d)
{
    return okrd_may_act(d) ? "leader" : "follower";
}

bool okrd_ha_writer_answers(const struct okrd *d, int64_t within_ms)
{
    const struct okrd_ha *ha = d->ha;
    return !ha || mono_ms() - ha->writer_answer_ms < within_ms;
}

void okrd_ha_job_failed(struct okrd *d, int rc)
{
    struct okrd_ha *ha = d->ha;
    if (!ha || !ha->started || rc != OKRD_EIO || !ha->fsm.shared)
        return;
    struct ha_input in = { .kind = HA_IN_SESSION_ERROR };
    decide(ha, &in);
}

int64_t okrd_ha_event_floor_s(const struct okrd *d)
{
    return d->ha ? d->ha->event_floor_s : 0;
}
