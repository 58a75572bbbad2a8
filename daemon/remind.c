/*
 * remind.c — check-in reminders (DESIGN section 8): a timer for each
 * `checkins.remind` slot in daemon.timezone, and the writer job that turns
 * a slot into its checkin.due event.
 *
 * The job runs on the writer thread in ONE transaction: it skips a slot the
 * store has already recorded, reads each running key result's latest
 * check-in of its current cycle (at <= slot), evaluates the due ones AT THE
 * SLOT (so a slot sent late after a restart lists what was true then), and
 * writes the event(s) together with the slot (alerts_add_remind). So a slot
 * is sent once whatever restarts happen; a slot missed while okrd was down
 * is queued at start-up when less than a day late, else skipped.
 *
 * Deciding who is due and the body are alerts/alerts_remind.c's (pure);
 * this file only schedules, reads and hands over.
 */
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "common/checkin.h"
#include "common/parse.h"
#include "log.h"
#include "remind.h"

struct okrd_remind {
    struct okrd *d;
    uv_timer_t timer;
    int64_t slot_s;             /* the slot the timer is armed for */
};

struct remind_job {
    struct okrd *d;
    struct okrd_cfg_hold *hold;
    int64_t slot_s, now_s;
    bool late;                  /* the start-up catch-up of a missed slot */
    bool already;               /* the store had this slot: nothing done */
    size_t n_due;
    int n_events;
};

/* ---- the writer job ---- */

static int gather(struct store *w, struct remind_job *j, struct eval_snapshot *snap,
                  struct alerts_remind_kr *ks, struct okrd_checkin *cks, bool *select,
                  struct okrd_err *err)
{
    const struct cfg *cfg = j->hold->cfg;
    int64_t every_s = cfg->checkins.every_ms / 1000;
    bool any = false;
    for (size_t i = 0; i < snap->n_krs; i++) {
        const struct cfg_key_result *kr = snap->krs[i];
        const struct cfg_cycle *c = &kr->objective->cycle;
        ks[i].kr = kr;
        if (j->slot_s < c->start_s || j->slot_s >= c->end_s)
            continue; /* not running: never due, no need to read */
        int rc = store_latest_checkin(w, kr->id, c->start_date, j->slot_s, &cks[i], err);
        if (rc < 0 && rc != OKRD_ENOTFOUND)
            return okrd_err_prefix(err, "key result \"%s\"", kr->id);
        ks[i].has_checkin = rc == 0;
        ks[i].checkin_at_s = rc == 0 ? cks[i].at_s : 0;
        select[i] = alerts_remind_due(&ks[i], j->slot_s, every_s);
        any = any || select[i];
    }
    if (!any)
        return 0;
    struct eval_scratch scratch = { 0 };
    int rc = eval_compute(w, snap, j->slot_s, select, &scratch, err);
    eval_scratch_free(&scratch);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < snap->n_krs; i++) {
        if (!select[i])
            continue;
        const struct okr_result *r = &snap->results[i];
        /* The effective status: a check-in's override while it holds (the
         * rule is idempotent, so an evaluator that applied it already is
         * answered the same). */
        ks[i].status = okr_effective_status(r->status, ks[i].has_checkin ? &cks[i] : NULL,
                                            j->slot_s, NULL);
        ks[i].progress = r->progress;
        ks[i].expected = r->expected;
        if (i != j->n_due)
            ks[j->n_due] = ks[i]; /* compact the due ones, config order kept */
        j->n_due++;
    }
    return 0;
}

static int job_run(struct store *w, void *arg, struct okrd_err *err)
{
    struct remind_job *j = arg;
    const struct cfg *cfg = j->hold->cfg;
    int rc = store_begin(w, err);
    if (rc < 0)
        return rc;
    int64_t last = 0;
    rc = store_get_alert_meta(w, ALERTS_REMIND_META, &last, err);
    if (rc < 0 && rc != OKRD_ENOTFOUND) {
        store_rollback(w);
        return rc;
    }
    if (rc == 0 && last >= j->slot_s) {
        j->already = true;
        store_rollback(w);
        return 0;
    }
    struct eval_snapshot snap;
    if (eval_snapshot_init(&snap, cfg) < 0) {
        store_rollback(w);
        return okrd_err_set(err, OKRD_ENOMEM, "checkin reminder: out of memory");
    }
    size_t n = snap.n_krs ? snap.n_krs : 1;
    struct alerts_remind_kr *ks = calloc(n, sizeof *ks);
    struct okrd_checkin *cks = calloc(n, sizeof *cks);
    bool *select = calloc(n, sizeof *select);
    if (!ks || !cks || !select)
        rc = okrd_err_set(err, OKRD_ENOMEM, "checkin reminder: out of memory");
    else
        rc = gather(w, j, &snap, ks, cks, select, err);
    if (rc == 0)
        rc = alerts_add_remind(w, cfg, j->slot_s, j->now_s, ks, j->n_due, &j->n_events, err);
    rc = rc == 0 ? store_commit(w, err) : (store_rollback(w), rc);
    for (size_t i = 0; cks && i < snap.n_krs; i++)
        okrd_checkin_clear(&cks[i]);
    free(ks);
    free(cks);
    free(select);
    eval_snapshot_free(&snap);
    return rc;
}

static void job_free(struct remind_job *j)
{
    okrd_cfg_hold_unref(j->hold);
    free(j);
}

/* Loop thread. */
static void job_done(void *arg, int rc, const struct okrd_err *err)
{
    struct remind_job *j = arg;
    struct okrd *d = j->d;
    char slot[32], q[512];
    okrd_format_utc(j->slot_s, slot, sizeof slot);
    if (rc == OKRD_ECANCELED || d->stopping) {
        job_free(j);
        return;
    }
    if (rc < 0)
        log_error("checkin_reminder_failed", "slot=%s msg=%s", slot,
                  log_quote(q, sizeof q, err->msg));
    else if (j->already)
        log_info("checkin_reminder", "slot=%s msg=\"already sent\"", slot);
    else
        log_info("checkin_reminder", "slot=%s due=%zu events=%d%s", slot, j->n_due, j->n_events,
                 j->late ? " msg=\"missed while okrd was down; sent late\"" : "");
    if (rc == 0 && j->n_events > 0)
        okrd_alerts_kick(d);
    job_free(j);
}

static void submit(struct okrd *d, int64_t slot_s, bool late)
{
    if (!okrd_may_act(d))
        return; /* only the leader writes the outbox (DESIGN section 10) */
    struct remind_job *j = calloc(1, sizeof *j);
    if (!j) {
        log_error("checkin_reminder_failed", "msg=\"out of memory\"");
        return;
    }
    j->d = d;
    j->hold = okrd_cfg_hold_ref(d->hold);
    j->slot_s = slot_s;
    j->now_s = okrd_clock_now_s(d->clock);
    if (j->now_s < okrd_ha_event_floor_s(d))
        j->now_s = okrd_ha_event_floor_s(d); /* never before the outbox's newest event */
    j->late = late;
    if (!d->writer || store_writer_submit(d->writer, job_run, job_done, j) < 0)
        job_free(j);
}

/* ---- the timer ---- */

static void on_slot(uv_timer_t *t);

/* The next slot strictly after max(now, NOT_BEFORE_S): a timer that fired a
 * few milliseconds early (libuv counts from the loop's cached time) must not
 * be armed for the slot it just handled. */
static void arm(struct okrd_remind *r, int64_t not_before_s)
{
    struct okrd *d = r->d;
    const struct cfg_checkins *ck = &d->cfg->checkins;
    uv_timer_stop(&r->timer);
    if (!ck->has_remind)
        return;
    int64_t now_ms = okrd_clock_now_ms(d->clock);
    int64_t from = now_ms / 1000 > not_before_s ? now_ms / 1000 : not_before_s;
    r->slot_s = alerts_next_digest_s(ck->remind_weekday, ck->remind_minute, d->cfg->daemon.tz,
                                     from);
    int64_t delay = r->slot_s * 1000 - now_ms;
    uv_timer_start(&r->timer, on_slot, (uint64_t)(delay > 0 ? delay : 0), 0);
}

static void on_slot(uv_timer_t *t)
{
    struct okrd_remind *r = t->data;
    submit(r->d, r->slot_s, false);
    arm(r, r->slot_s);
}

int okrd_remind_start(struct okrd *d, struct okrd_err *err)
{
    struct okrd_remind *r = calloc(1, sizeof *r);
    if (!r)
        return okrd_err_set(err, OKRD_ENOMEM, "checkin reminders: out of memory");
    r->d = d;
    uv_timer_init(&d->loop, &r->timer);
    r->timer.data = r;
    d->remind = r;
    const struct cfg_checkins *ck = &d->cfg->checkins;
    if (ck->has_remind) {
        int64_t now_s = okrd_clock_now_s(d->clock);
        int64_t missed = alerts_remind_missed_slot_s(ck->remind_weekday, ck->remind_minute,
                                                     d->cfg->daemon.tz, now_s);
        if (missed) {
            submit(d, missed, true); /* skipped by the job if the store has it */
        } else {
            char slot[32];
            okrd_format_utc(alerts_remind_last_slot_s(ck->remind_weekday, ck->remind_minute,
                                                      d->cfg->daemon.tz, now_s),
                            slot, sizeof slot);
            log_info("checkin_reminder",
                     "slot=%s msg=\"not caught up at start-up: a day or more ago\"", slot);
        }
    }
    arm(r, 0);
    return 0;
}

void okrd_remind_reload(struct okrd *d)
{
    if (d->remind && !d->stopping)
        arm(d->remind, 0);
}

static void on_closed(uv_handle_t *h) { free(h->data); }

void okrd_remind_stop(struct okrd *d)
{
    struct okrd_remind *r = d->remind;
    if (!r)
        return;
    d->remind = NULL;
    uv_close((uv_handle_t *)&r->timer, on_closed);
}
