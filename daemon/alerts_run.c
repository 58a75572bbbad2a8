/*
 * alerts_run.c — delivering the outbox to webhooks (DESIGN section 5), on
 * the loop: one sender per configured webhook, each sending its oldest
 * pending delivery, one at a time, through the shared HTTP client's webhook
 * class. What an answer means is decided by alerts_judge (alerts/), the
 * result is recorded by a writer job, and only then is the next delivery of
 * that webhook read — so a crash between an answer and its record resends
 * that one event (at least once), never skips one.
 *
 * Each webhook is its own chain of (read -> wait until due -> send ->
 * record), so a webhook that is down or slow never delays another; which
 * step comes next is alerts/alerts_chain.c's decision, so a kick (new rows
 * committed) never meets a busy chain and gets lost. A webhook removed by a
 * reload lets go of its chain; its deliveries wait in the store (orphans)
 * and a webhook with the same id, whatever its URL, picks them up in order.
 * The lifecycle is here too; alerts_side.c has the other writer jobs
 * (source health, the digest, housekeeping: retention and orphans' max_age).
 *
 * Logs name webhooks by id, never by URL: the URL is a secret.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alerts_run.h"
#include "api/api.h"
#include "common/parse.h"
#include "connectors/httpc.h"
#include "log.h"

static void read_next(struct hook *h);
static void on_due(uv_timer_t *t);
static void maybe_finish(struct alerts_sender *a);

/* The daemon's shared client (cmd_run.c opens it before alerts start and
 * closes it after they stopped); webhooks use its own connection pool. */
static struct httpc *http_of(struct alerts_sender *a) { return a->d->http; }

static void hook_free(struct hook *h)
{
    free(h->id);
    free(h->url);
    free(h->body);
    free(h);
}

static void sender_free(struct alerts_sender *a)
{
    for (size_t i = 0; i < a->n_hooks; i++)
        hook_free(a->hooks[i]);
    for (size_t i = 0; i < a->n_srcs; i++)
        free(a->srcs[i].id);
    free(a->srcs);
    free(a->hooks);
    free(a);
}

/* ---- writer jobs ---- */

static int job_run(struct store *w, void *arg, struct okrd_err *err)
{
    struct job *j = arg;
    return j->run(w, j, err);
}

static void job_done(void *arg, int rc, const struct okrd_err *err)
{
    struct job *j = arg;
    struct alerts_sender *a = j->a;
    a->jobs--;
    if (!a->finished && j->done)
        j->done(j, rc, err);
    okrd_cfg_hold_unref(j->hold);
    free(j->body);
    free(j);
    if (a->finished) {
        if (a->jobs == 0)
            sender_free(a);
    } else {
        maybe_finish(a);
    }
}

int alerts_submit(struct alerts_sender *a, struct job *j)
{
    j->a = a;
    /* While stopping, the answers to requests this leader sent are still
     * recorded (the writer closes after the alerts; its fencing still
     * checks the lock), so the next leader does not send them again. */
    if (!a->d->writer || (!okrd_may_act(a->d) && !a->d->stopping) ||
        store_writer_submit(a->d->writer, job_run, job_done, j) < 0) {
        okrd_cfg_hold_unref(j->hold);
        free(j->body);
        free(j);
        return -1;
    }
    a->jobs++;
    return 0;
}

/* ---- one webhook's chain ---- */

/* The chain's steps are decided by alerts/alerts_chain.c; here they are
 * carried out. The one rule that keeps kicks from being lost lives there:
 * only a read that finds the queue empty makes a chain IDLE. */

static void wait_then_read(struct hook *h, uint64_t delay_ms)
{
    uv_timer_start(&h->timer, on_due, delay_ms, 0);
}

/* Another hook of the same id, removed by a reload while its last record
 * was in flight: until that record lands, the delivery it answered may
 * still read as pending, and sending it again would break "answered 2xx
 * is never sent again". Its record_done kicks this hook. */
static bool predecessor_busy(const struct hook *h)
{
    const struct alerts_sender *a = h->a;
    for (size_t i = 0; i < a->n_hooks; i++) {
        const struct hook *o = a->hooks[i];
        if (o != h && o->removed && alerts_chain_busy(&o->chain) && !strcmp(o->id, h->id))
            return true;
    }
    return false;
}

static struct hook *live_hook(struct alerts_sender *a, const char *id)
{
    for (size_t i = 0; i < a->n_hooks; i++)
        if (!a->hooks[i]->removed && !strcmp(a->hooks[i]->id, id))
            return a->hooks[i];
    return NULL;
}

static void kick_hook(struct hook *h)
{
    if (alerts_chain_kick(&h->chain) == ALERTS_STEP_READ)
        read_next(h);
}

static int record_run(struct store *w, struct job *j, struct okrd_err *err)
{
    if (j->verdict != ALERTS_GONE)
        return store_update_delivery(w, &j->row, err);
    /* The dead event and the disabled webhook in one transaction: a node
     * taking over reads both or neither (DESIGN section 10). */
    int rc = store_begin(w, err);
    if (rc == 0)
        rc = store_update_delivery(w, &j->row, err);
    if (rc == 0)
        rc = store_disable_webhook(w, j->row.webhook_id, j->now_ms, err);
    if (rc == 0)
        return store_commit(w, err);
    store_rollback(w);
    return rc;
}

/* The record came back (STORED or not): the chain says what next. */
static void written(struct hook *h, bool stored)
{
    struct alerts_sender *a = h->a;
    if (a->stopping || h->removed) {
        alerts_chain_reset(&h->chain);
        if (h->removed && !a->stopping) {
            struct hook *next = live_hook(a, h->id);
            if (next)
                kick_hook(next); /* the id came back meanwhile: it may go on now */
        }
        if (a->stopping)
            maybe_finish(a); /* this chain was the last thing in flight */
        return;
    }
    if (alerts_chain_written(&h->chain, stored) == ALERTS_STEP_READ)
        read_next(h);
    else /* the answer is lost: the event is sent again, a little later */
        wait_then_read(h, STORE_RETRY_MS);
}

static void record_done(struct job *j, int rc, const struct okrd_err *err)
{
    struct hook *h = j->h;
    if (rc < 0 && rc != OKRD_ECANCELED) {
        char q[512];
        log_error("webhook_record_failed", "webhook=%s event=%s msg=%s", h->id, j->row.event_id,
                  log_quote(q, sizeof q, err->msg));
    }
    written(h, rc == 0);
}

static void record(struct hook *h, enum alerts_verdict v)
{
    alerts_chain_write(&h->chain);
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        written(h, false);
        return;
    }
    j->h = h;
    j->row = h->cur;
    j->verdict = v;
    j->now_ms = okrd_clock_now_ms(h->a->d->clock);
    j->run = record_run;
    j->done = record_done;
    if (alerts_submit(h->a, j) < 0)
        written(h, false); /* the writer is gone: only at shutdown */
}

/* Logs an answer and counts it for okrd_webhook_deliveries_total. */
static void log_answer(struct hook *h, enum alerts_verdict v, int64_t now_ms)
{
    const struct store_delivery *c = &h->cur;
    char q[512];
    struct api_server *api = h->a->d->api;
    if (v == ALERTS_DELIVERED)
        api_note_delivery(api, h->id, API_DELIVERED);
    else if (v == ALERTS_RETRY)
        api_note_delivery(api, h->id, API_RETRIED);
    else if (v == ALERTS_DEAD || v == ALERTS_GONE)
        api_note_delivery(api, h->id, API_DEAD);
    switch (v) {
    case ALERTS_DELIVERED:
        log_info("webhook_delivered", "webhook=%s event=%s type=%s status=%d attempts=%d",
                 h->id, c->event_id, c->type, c->last_status, c->attempts);
        if (h->failing)
            log_info("webhook_recovered", "webhook=%s msg=\"delivering again\"", h->id);
        h->failing = false;
        break;
    case ALERTS_NEXT_PART:
        log_debug("webhook_part_delivered", "webhook=%s event=%s part=%d of=%d", h->id,
                  c->event_id, c->parts_done, h->n_parts);
        break;
    case ALERTS_RETRY:
        /* A repeating failure is logged when it starts; each retry at debug. */
        log_event(h->failing ? CFG_LOG_DEBUG : CFG_LOG_WARNING, "webhook_failed",
                  "webhook=%s event=%s type=%s attempts=%d retry_in_ms=%lld error=%s", h->id,
                  c->event_id, c->type, c->attempts,
                  (long long)(c->next_attempt_s * 1000 - now_ms), log_quote(q, sizeof q, c->last_error));
        h->failing = true;
        break;
    case ALERTS_DEAD:
        log_error("webhook_dead_letter", "webhook=%s event=%s type=%s attempts=%d error=%s",
                  h->id, c->event_id, c->type, c->attempts, log_quote(q, sizeof q, c->last_error));
        break;
    case ALERTS_GONE:
        log_error("webhook_disabled",
                  "webhook=%s event=%s msg=\"answered 410 Gone: event dead-lettered, webhook "
                  "disabled until the next reload or restart\"", h->id, c->event_id);
        break;
    }
}

static void on_answer(void *arg, const struct httpc_response *r)
{
    struct hook *h = arg;
    struct alerts_sender *a = h->a;
    h->req = NULL;
    int64_t now_ms = okrd_clock_now_ms(a->d->clock);
    struct alerts_answer ans = {
        .transport_ok = r->result == HTTPC_OK, .status = r->status,
        .transport_error = r->error, .retry_after_ms = -1, .body = r->body,
    };
    int64_t ra;
    if (r->retry_after && httpc_parse_retry_after(r->retry_after, now_ms / 1000, &ra) == 0)
        ans.retry_after_ms = ra;
    enum alerts_verdict v = alerts_judge(&h->cur, h->n_parts, &ans, h->max_age_ms, now_ms,
                                         okrd_rand_unit(&a->rng));
    log_answer(h, v, now_ms);
    if (v == ALERTS_GONE)
        h->disabled = true;
    record(h, v);
}

/* The chain is SENDING: the head is due. */
static void send_current(struct hook *h, int64_t now_ms)
{
    char *payload = NULL;
    const char *body = h->body;
    h->n_parts = 1;
    if (h->format == CFG_WEBHOOK_SLACK) {
        if (alerts_slack_render(h->body, h->cur.parts_done, &payload, &h->n_parts) < 0) {
            snprintf(h->cur.state, sizeof h->cur.state, "dead");
            snprintf(h->cur.last_error, sizeof h->cur.last_error,
                     "cannot render the event for Slack");
            log_answer(h, ALERTS_DEAD, now_ms);
            record(h, ALERTS_DEAD);
            return;
        }
        body = payload;
    }
    /* Later parts of a split digest get ids of their own, so a receiver
     * that de-duplicates by webhook-id keeps them all. */
    char id[80], hid[96], hts[64], hsig[96];
    if (h->cur.parts_done > 0)
        snprintf(id, sizeof id, "%s.p%d", h->cur.event_id, h->cur.parts_done + 1);
    else
        snprintf(id, sizeof id, "%s", h->cur.event_id);
    int64_t ts = now_ms / 1000;
    snprintf(hid, sizeof hid, "webhook-id: %s", id);
    snprintf(hts, sizeof hts, "webhook-timestamp: %lld", (long long)ts);
    const char *headers[6] = { "Content-Type: application/json", "User-Agent: okrd/" OKRD_VERSION,
                               hid, hts };
    size_t nh = 4;
    if (h->key_len) {
        char sig[ALERTS_SIGNATURE_MAX];
        alerts_sign(h->key, h->key_len, id, ts, body, strlen(body), sig);
        snprintf(hsig, sizeof hsig, "webhook-signature: %s", sig);
        headers[nh++] = hsig;
    }
    struct httpc_request req = {
        .cls = HTTPC_WEBHOOK, .method = "POST", .url = h->url, .headers = headers,
        .n_headers = nh, .body = body, .body_len = strlen(body), .timeout_ms = h->timeout_ms,
        .max_bytes = 65536, .done = on_answer, .arg = h,
    };
    struct okrd_err err = { 0 };
    if (httpc_request(http_of(h->a), &req, &h->req, &err) < 0) {
        /* The client refused (closing at shutdown, out of memory): the
         * head is still pending; try again later, never spin. */
        char q[512];
        h->req = NULL;
        if (!h->a->stopping)
            log_error("webhook_failed", "webhook=%s event=%s msg=%s", h->id, h->cur.event_id,
                      log_quote(q, sizeof q, err.msg));
        alerts_chain_send_failed(&h->chain);
        wait_then_read(h, STORE_RETRY_MS);
    }
    free(payload);
}

static void on_due(uv_timer_t *t)
{
    struct hook *h = t->data;
    if (alerts_chain_due(&h->chain) == ALERTS_STEP_READ)
        read_next(h);
}

/* Reads the oldest pending delivery of H and starts on it. */
static void read_next(struct hook *h)
{
    struct alerts_sender *a = h->a;
    if (a->stopping || h->disabled || h->removed || predecessor_busy(h) ||
        !okrd_may_act(a->d)) {
        /* Let go: a reload (disabled), the predecessor's record (busy) or
         * nothing (stopping, removed, no longer the leader: the next
         * leader) picks it up again. */
        if (!h->removed)
            uv_timer_stop(&h->timer);
        alerts_chain_reset(&h->chain);
        return;
    }
    uv_timer_stop(&h->timer);
    free(h->body);
    h->body = NULL;
    struct okrd_err err = { 0 };
    int rc = store_next_delivery(a->d->reader, h->id, &h->cur, &h->body, &err);
    if (rc == OKRD_ENOTFOUND) {
        alerts_chain_read(&h->chain, ALERTS_READ_EMPTY);
        return;
    }
    if (rc < 0) {
        char q[512];
        log_error("webhook_read_failed", "webhook=%s msg=%s", h->id, log_quote(q, sizeof q, err.msg));
        alerts_chain_read(&h->chain, ALERTS_READ_LATER);
        wait_then_read(h, STORE_RETRY_MS);
        return;
    }
    int64_t now_ms = okrd_clock_now_ms(a->d->clock);
    if (alerts_expired(&h->cur, h->max_age_ms, now_ms / 1000)) {
        size_t n = strlen(h->cur.last_error);
        snprintf(h->cur.last_error + n, sizeof h->cur.last_error - n, "%s(max_age reached)",
                 n ? " " : "");
        snprintf(h->cur.state, sizeof h->cur.state, "dead");
        alerts_chain_read(&h->chain, ALERTS_READ_DUE);
        log_answer(h, ALERTS_DEAD, now_ms);
        record(h, ALERTS_DEAD);
        return;
    }
    int64_t due_ms = h->cur.next_attempt_s * 1000;
    if (due_ms > now_ms) {
        alerts_chain_read(&h->chain, ALERTS_READ_LATER);
        wait_then_read(h, (uint64_t)(due_ms - now_ms));
        return;
    }
    alerts_chain_read(&h->chain, ALERTS_READ_DUE);
    send_current(h, now_ms);
}

/* ---- the set of webhooks ---- */

static void on_hook_closed(uv_handle_t *t)
{
    struct hook *h = t->data;
    struct alerts_sender *a = h->a;
    h->closed = true;
    a->open_handles--;
    maybe_finish(a);
}

static void copy_config(struct hook *h, const struct cfg_webhook *w)
{
    free(h->url);
    h->url = strdup(w->url ? w->url : "");
    h->format = w->format;
    h->timeout_ms = w->timeout_ms > 0 ? w->timeout_ms : 10000;
    h->max_age_ms = w->max_age_ms > 0 ? w->max_age_ms : 72LL * 3600 * 1000;
    h->key_len = 0;
    if (w->secret && alerts_secret_key(w->secret, h->key, &h->key_len) < 0) {
        h->key_len = 0; /* config/ validated it; never sign with half a key */
        log_error("webhook_secret_invalid", "webhook=%s msg=\"secret is not whsec_<base64>; sending unsigned\"",
                  w->id);
    }
    h->disabled = false;
}

static void sync_hooks(struct alerts_sender *a, const struct cfg *cfg)
{
    /* Hooks removed by an earlier reload, whose timer has closed and whose
     * last store job has come back, are freed now (not only at shutdown). */
    size_t kept = 0;
    for (size_t i = 0; i < a->n_hooks; i++) {
        struct hook *h = a->hooks[i];
        if (h->removed && h->closed && !alerts_chain_busy(&h->chain))
            hook_free(h);
        else
            a->hooks[kept++] = h;
    }
    a->n_hooks = kept;
    for (size_t i = 0; i < a->n_hooks; i++) {
        struct hook *h = a->hooks[i];
        const struct cfg_webhook *w = cfg_find_webhook(cfg, h->id);
        if (h->removed)
            continue;
        if (w) {
            copy_config(h, w);
            continue;
        }
        h->removed = true;
        if (h->req) {
            /* Not answered yet: sent again (at least once) if the id returns. */
            httpc_cancel(h->req);
            h->req = NULL;
            alerts_chain_reset(&h->chain);
        }
        log_info("webhook_removed", "webhook=%s msg=\"no longer in the config: its pending "
                 "deliveries wait (orphaned) for a webhook with this id, until their max_age\"",
                 h->id);
        uv_timer_stop(&h->timer);
        uv_close((uv_handle_t *)&h->timer, on_hook_closed);
    }
    for (size_t i = 0; i < cfg->n_webhooks; i++) {
        const struct cfg_webhook *w = &cfg->webhooks[i];
        bool have = false;
        for (size_t k = 0; k < a->n_hooks && !have; k++)
            have = !a->hooks[k]->removed && !strcmp(a->hooks[k]->id, w->id);
        if (have)
            continue;
        struct hook *h = calloc(1, sizeof *h);
        struct hook **grown = realloc(a->hooks, (a->n_hooks + 1) * sizeof *grown);
        if (grown)
            a->hooks = grown;
        if (!h || !grown || !(h->id = strdup(w->id))) {
            free(h);
            log_error("webhook_failed", "webhook=%s msg=\"out of memory\"", w->id);
            continue;
        }
        h->a = a;
        copy_config(h, w);
        uv_timer_init(&a->d->loop, &h->timer);
        h->timer.data = h;
        a->open_handles++;
        a->hooks[a->n_hooks++] = h;
    }
}

void alerts_pump_all(struct alerts_sender *a)
{
    for (size_t i = 0; i < a->n_hooks; i++)
        kick_hook(a->hooks[i]);
}


/* Anything new in the outbox since the last look? One cheap read instead
 * of one per webhook after every evaluation. */
void alerts_kick_if_new(struct alerts_sender *a)
{
    int64_t seq = 0;
    struct okrd_err err = { 0 };
    if (store_outbox_last_seq(a->d->reader, &seq, &err) == 0 && seq == a->last_seq)
        return;
    a->last_seq = seq;
    alerts_pump_all(a);
}

/* ---- lifecycle ---- */

static void finish(struct alerts_sender *a)
{
    struct okrd *d = a->d;
    void (*done)(struct okrd *) = a->stop_done;
    if (d->alerts == a)
        d->alerts = NULL; /* an aborted sender may finish after a new one started */
    a->finished = true;
    if (a->jobs == 0)
        sender_free(a);
    if (done)
        done(d);
}

static void on_handle_closed(uv_handle_t *t)
{
    struct alerts_sender *a = t->data;
    a->open_handles--;
    maybe_finish(a);
}

static bool in_flight(const struct alerts_sender *a)
{
    for (size_t i = 0; i < a->n_hooks; i++)
        if (alerts_chain_busy(&a->hooks[i]->chain))
            return true;
    return a->jobs > 0;
}

static bool closing_started(const struct alerts_sender *a)
{
    return uv_is_closing((const uv_handle_t *)&a->stop_timer);
}

/* Closes every handle once nothing is in flight (or the grace ran out);
 * the last close ends the stop. */
static void maybe_finish(struct alerts_sender *a)
{
    if (!a->stopping || a->finished)
        return;
    if (!closing_started(a)) {
        if (in_flight(a) && uv_is_active((uv_handle_t *)&a->stop_timer))
            return;
        uv_close((uv_handle_t *)&a->stop_timer, on_handle_closed);
        uv_close((uv_handle_t *)&a->digest, on_handle_closed);
        uv_close((uv_handle_t *)&a->housekeeping, on_handle_closed);
        for (size_t i = 0; i < a->n_hooks; i++) {
            struct hook *h = a->hooks[i];
            if (h->req) {
                httpc_cancel(h->req); /* the grace ran out: sent again after restart */
                h->req = NULL;
            }
            if (!h->closed && !uv_is_closing((uv_handle_t *)&h->timer))
                uv_close((uv_handle_t *)&h->timer, on_hook_closed);
        }
        return;
    }
    if (a->open_handles > 0)
        return;
    finish(a);
}

static void on_grace_over(uv_timer_t *t)
{
    struct alerts_sender *a = t->data;
    uv_timer_stop(t);
    if (in_flight(a))
        log_warning("stopping", "msg=\"webhook deliveries still in flight after 5 s; they are sent again after restart\"");
    maybe_finish(a);
}

/* A node that starts delivering (at start, on taking over, leading again
 * after a step-down) keeps a webhook disabled whose 410 the store recorded
 * after this node's last start or reload (DESIGN sections 5 and 10). */
static void load_disabled(struct alerts_sender *a)
{
    for (size_t i = 0; i < a->n_hooks; i++) {
        struct hook *h = a->hooks[i];
        int64_t seq = 0, at_ms = 0;
        struct okrd_err err = { 0 };
        int rc = store_webhook_disabled(a->d->reader, h->id, &seq, &at_ms, &err);
        if (rc == OKRD_ENOTFOUND || (rc == 0 && seq <= a->d->hooks_mark))
            continue;
        h->disabled = true;
        char q[512];
        if (rc < 0) { /* cannot tell: holding its events is safer than resending to a 410 */
            log_error("webhook_disabled", "webhook=%s msg=%s", h->id,
                      log_quote(q, sizeof q, err.msg));
            continue;
        }
        okrd_format_utc(at_ms / 1000, q, sizeof q);
        log_warning("webhook_disabled", "webhook=%s disabled_at=%s msg=\"answered 410 Gone after "
                    "this node's last start or reload (recorded in the store): disabled until "
                    "the next reload or restart\"", h->id, q);
    }
}

int okrd_alerts_start(struct okrd *d, struct okrd_err *err)
{
    struct alerts_sender *a = calloc(1, sizeof *a);
    if (!a)
        return okrd_err_set(err, OKRD_ENOMEM, "alerts: out of memory");
    a->d = d;
    okrd_rand_seed(&a->rng,
                   (uint64_t)okrd_clock_now_ms(d->clock) * 2654435761u ^ (uint64_t)getpid() << 32);
    a->last_seq = -1;
    uv_timer_init(&d->loop, &a->digest);
    uv_timer_init(&d->loop, &a->housekeeping);
    uv_timer_init(&d->loop, &a->stop_timer);
    a->digest.data = a->housekeeping.data = a->stop_timer.data = a;
    a->open_handles = 3;
    d->alerts = a;
    sync_hooks(a, d->cfg);
    load_disabled(a);
    alerts_load_source_states(a);
    alerts_arm_housekeeping(a, 0); /* re-armed when this first pass is done */
    alerts_housekeeping(a);
    alerts_arm_digest(a);
    alerts_kick_if_new(a);
    return 0;
}

void okrd_alerts_reload(struct okrd *d)
{
    struct alerts_sender *a = d->alerts;
    if (!a || a->stopping)
        return;
    sync_hooks(a, d->cfg); /* a 410-disabled webhook is enabled again (d->hooks_mark moved) */
    alerts_housekeeping(a);
    alerts_arm_digest(a);
    alerts_pump_all(a);
}

void okrd_alerts_kick(struct okrd *d)
{
    if (d->alerts && !d->alerts->stopping)
        alerts_kick_if_new(d->alerts);
}

void okrd_alerts_abort(struct okrd *d)
{
    struct alerts_sender *a = d->alerts;
    if (!a || a->stopping)
        return;
    a->stopping = true;
    a->stop_done = NULL;
    uv_timer_stop(&a->digest);
    uv_timer_stop(&a->housekeeping);
    for (size_t i = 0; i < a->n_hooks; i++)
        if (!a->hooks[i]->closed && !a->hooks[i]->removed)
            uv_timer_stop(&a->hooks[i]->timer);
    log_info("webhooks_stopped", "msg=\"not the leader: in-flight requests cancelled; the "
             "next leader sends them again with the same webhook-id\"");
    maybe_finish(a); /* no grace: closes now, cancelling every request in flight */
}

void okrd_alerts_stop(struct okrd *d, void (*done)(struct okrd *d))
{
    struct alerts_sender *a = d->alerts;
    if (!a) {
        done(d);
        return;
    }
    if (a->stopping) {
        /* aborted already (a step-down): closing; this stop waits for it */
        a->stop_done = done;
        maybe_finish(a);
        return;
    }
    a->stopping = true;
    a->stop_done = done;
    uv_timer_stop(&a->digest);
    uv_timer_stop(&a->housekeeping);
    for (size_t i = 0; i < a->n_hooks; i++)
        if (!a->hooks[i]->closed && !a->hooks[i]->removed)
            uv_timer_stop(&a->hooks[i]->timer);
    if (in_flight(a))
        uv_timer_start(&a->stop_timer, on_grace_over, STOP_GRACE_MS, 0);
    maybe_finish(a);
}
