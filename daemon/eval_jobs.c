/*
 * eval_jobs.c — when the daemon evaluates, and the evaluation job itself.
 *
 * Deciding: key results are marked dirty when a batch touching their metric
 * (or a ratio input) commits, all of them every daemon.evaluate_every (pace
 * moves with time even without data), right after the next cycle boundary,
 * and when the writer connection's PRAGMA data_version says another process
 * (`okrd ingest`) wrote. At most one job is in flight; marks made meanwhile
 * are picked up when it completes, so bursts coalesce.
 *
 * Doing: the job runs on the store's writer thread (DESIGN section 1): it
 * reads the series, evaluates, and in ONE transaction writes each key
 * result's state (status, since when, values), its history row for the day,
 * and hands every evaluation to alerts_on_kr_change (which writes outbox rows
 * in that same transaction). The loop only receives the finished snapshot.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerts/alerts.h"
#include "okr/okr_definition.h"
#include "common/parse.h"
#include "log.h"
#include "okrd.h"

#define VERSION_CHECK_MS 10000 /* another process's writes show within 10 s */

struct change {
    size_t index;
    enum okr_status from;      /* OKR_N_STATUSES: no stored state before */
};

struct eval_job {
    struct okrd *d;
    struct okrd_cfg_hold *hold;
    int64_t now_s;
    bool *select;               /* NULL: every key result */
    bool check_version;
    int64_t data_version;       /* in: last seen; out: now */
    struct eval_snapshot snap;
    struct eval_scratch scratch;
    struct change *changes;
    size_t n_changes;
    bool evaluated;
    size_t n_selected;
    /* daily history (eval_history.c) and the archive */
    int64_t today, prev_day;    /* local day numbers; prev_day INT64_MIN = none */
    int64_t gap_from;           /* days after prev_day nobody evaluated: INT64_MAX none */
    size_t finalized;           /* rows of prev_day rewritten at its last second */
    bool record_defs;           /* archive every definition (first run of a config) */
    double *bt;                 /* n_krs x {baseline, target} before this run */
    size_t n_defs;              /* new definition versions stored */
    double took_ms;             /* the job's own run time, for the log */
    /* A follower's evaluation (DESIGN section 10): computed from the store
     * for its API and /metrics only; writes nothing, raises nothing. */
    bool view_only;
};

static void job_free(struct eval_job *j)
{
    okrd_cfg_hold_unref(j->hold);
    eval_snapshot_free(&j->snap);
    eval_scratch_free(&j->scratch);
    free(j->select);
    free(j->changes);
    free(j->bt);
    free(j);
}

static void fill_state(struct store_kr_state *st, const struct okr_result *r, bool stale,
                       int64_t since_s, int64_t now_s)
{
    memset(st, 0, sizeof *st);
    snprintf(st->status, sizeof st->status, "%s", okr_status_name(r->status));
    st->since_s = since_s;
    st->evaluated_at_s = now_s;
    st->value = r->value;
    st->progress = r->progress;
    st->expected = r->expected;
    st->projected_score = r->projected_score;
    st->score = r->score;
    st->stale = stale;
}

/* DATE is a day of KR's cycle: only those days have a history row. */
static bool day_in_cycle(const struct cfg_key_result *kr, const char *date)
{
    const struct cfg_cycle *c = &kr->objective->cycle;
    return strcmp(date, c->start_date) >= 0 && strcmp(date, c->end_date) <= 0;
}

/* The check-ins of one key result that no evaluation has announced yet,
 * copied out of the walk so the events and marks are written after it. */
struct unannounced {
    struct okrd_checkin *v;
    size_t n, cap;
    int64_t upto_s;            /* only those this evaluation sees: at_s <= t */
    bool oom;
};

static int collect_checkin(void *ctx, const struct okrd_checkin *c)
{
    struct unannounced *u = ctx;
    if (c->at_s > u->upto_s)
        return 0;
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 4;
        struct okrd_checkin *v = realloc(u->v, cap * sizeof *v);
        if (!v)
            return u->oom = true, OKRD_ENOMEM;
        u->v = v;
        u->cap = cap;
    }
    if (okrd_checkin_copy(&u->v[u->n], c) < 0)
        return u->oom = true, OKRD_ENOMEM;
    u->n++;
    return 0;
}

static void unannounced_free(struct unannounced *u)
{
    for (size_t k = 0; k < u->n; k++)
        free(u->v[k].comment);
    free(u->v);
}

/* One kr.check_in event per check-in of key result I this evaluation is
 * the first to see (DESIGN section 8), each marked announced in the same
 * transaction: a crash can neither lose nor repeat one. */
static int announce_checkins(struct store *w, struct eval_job *j, size_t i, struct okrd_err *err)
{
    const struct cfg_key_result *kr = j->snap.krs[i];
    struct unannounced u = { .upto_s = j->now_s };
    int rc = store_each_unannounced_checkin(w, kr->id, collect_checkin, &u, err);
    if (u.oom)
        rc = okrd_err_set(err, OKRD_ENOMEM, "check-ins of \"%s\": out of memory", kr->id);
    for (size_t k = 0; rc == 0 && k < u.n; k++) {
        rc = alerts_on_checkin(w, j->hold->cfg, &j->snap, i, &u.v[k], j->now_s, err);
        if (rc == 0)
            rc = store_mark_checkin_announced(w, u.v[k].id, err);
    }
    unannounced_free(&u);
    return rc;
}

static bool same_number(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static int put_definition(struct store *w, struct eval_job *j, const char *kind, const char *id,
                          const struct cfg_cycle *cy, json_t *def, struct okrd_err *err)
{
    char *text = okr_definition_text(def);
    json_decref(def);
    if (!text)
        return okrd_err_set(err, OKRD_ENOMEM, "definition of %s \"%s\": out of memory", kind, id);
    bool changed = false;
    int rc = store_put_definition(w, kind, id, cy->start_date, cy->end_date, text, j->now_s,
                                  &changed, err);
    free(text);
    j->n_defs += changed;
    return rc;
}

/* The archive (DESIGN section 9): every objective's and key result's
 * resolved definition on the first run of a config (start, reload), and a
 * key result's again when its resolved baseline or target moved. The store
 * keeps a new version only when the text changed. */
static int record_definitions(struct store *w, struct eval_job *j, struct okrd_err *err)
{
    const struct cfg *cfg = j->hold->cfg;
    int rc = 0;
    if (j->record_defs)
        for (size_t o = 0; o < cfg->n_objectives && rc == 0; o++) {
            const struct cfg_objective *obj = &cfg->objectives[o];
            rc = put_definition(w, j, "objective", obj->id, &obj->cycle,
                                okr_definition_objective(obj), err);
        }
    for (size_t i = 0; i < j->snap.n_krs && rc == 0; i++) {
        const struct cfg_key_result *kr = j->snap.krs[i];
        const struct okr_result *r = &j->snap.results[i];
        bool moved = j->bt && (!j->select || j->select[i]) &&
                     (!same_number(j->bt[2 * i], r->baseline) ||
                      !same_number(j->bt[2 * i + 1], r->target));
        if (j->record_defs || moved)
            rc = put_definition(w, j, "key_result", kr->id, &kr->objective->cycle,
                                okr_definition_key_result(cfg, kr, r), err);
    }
    return rc;
}

/* Writer thread, a follower: the key results as the leader's evaluations
 * stored them (DESIGN section 10), each computed again from the shared
 * store at the second the leader evaluated it (kr_state.evaluated_at), so
 * both nodes answer the same numbers — the pace at that second, not at
 * this node's now. One the leader never evaluated: at this node's now. */
static int follower_view(struct store *w, struct eval_job *j, struct okrd_err *err)
{
    size_t n = j->snap.n_krs;
    int64_t *at = malloc((n ? n : 1) * sizeof *at), latest = INT64_MIN;
    if (!at)
        return okrd_err_set(err, OKRD_ENOMEM, "evaluation: out of memory");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct store_kr_state st;
        at[i] = j->now_s;
        rc = store_get_kr_state(w, j->snap.krs[i]->id, &st, err);
        if (rc == OKRD_ENOTFOUND) {
            rc = 0;
        } else if (rc == 0) {
            at[i] = st.evaluated_at_s;
            snprintf(j->snap.previous_buf[i], sizeof j->snap.previous_buf[i], "%s", st.previous);
            if (st.evaluated_at_s > latest)
                latest = st.evaluated_at_s;
        }
    }
    if (rc == 0)
        rc = eval_compute_each(w, &j->snap, latest == INT64_MIN ? j->now_s : latest, at,
                               j->select, &j->scratch, err);
    for (size_t i = 0; i < n; i++)
        j->snap.previous_status[i] = j->snap.previous_buf[i][0] ? j->snap.previous_buf[i] : NULL;
    free(at);
    return rc;
}

/* Writer thread. */
static int job_run(struct store *w, void *arg, struct okrd_err *err)
{
    struct eval_job *j = arg;
    /* Every run notes the store's data_version, so that "another connection
     * wrote" (a NOTIFY, a push committed by a follower, `okrd ingest`) is
     * always told against a version this node has seen; an unknown one (0)
     * counts as changed. */
    int64_t v;
    int rc = store_data_version(w, &v, err);
    if (rc < 0)
        return rc;
    if (j->check_version) {
        if (v != j->data_version) {
            free(j->select); /* someone else wrote (or unknown yet): evaluate everything */
            j->select = NULL;
        } else if (j->select) {
            bool any = false;
            for (size_t i = 0; i < j->snap.n_krs && !any; i++)
                any = j->select[i];
            if (!any) {
                j->data_version = v;
                return 0;
            }
        }
    }
    j->data_version = v;
    j->evaluated = true;
    if (j->view_only)
        return follower_view(w, j, err);
    /* Timed for the log only (a slow evaluation is worth a warning); no
     * decision depends on it, so the monotonic clock is read here directly. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((rc = store_begin(w, err)) < 0)
        return rc;
    const struct okrd_tz *tz = j->hold->cfg->daemon.tz;
    j->today = eval_day_of(tz, j->now_s);
    if (j->prev_day != INT64_MIN && j->prev_day < j->today) {
        /* The day of the previous run is over: its final rows are the
         * evaluation at its last second (DESIGN section 9). Days after it
         * that nobody evaluated go to a backfill, in steps. */
        if ((rc = eval_history_finalize_day(w, j->hold->cfg, j->prev_day, &j->scratch,
                                            &j->finalized, err)) < 0)
            return rc;
        if (j->prev_day + 1 < j->today)
            j->gap_from = j->prev_day + 1;
    }
    if (!j->record_defs) {
        j->bt = malloc((j->snap.n_krs ? j->snap.n_krs : 1) * 2 * sizeof *j->bt);
        if (!j->bt)
            return okrd_err_set(err, OKRD_ENOMEM, "evaluation: out of memory");
        for (size_t i = 0; i < j->snap.n_krs; i++) {
            j->bt[2 * i] = j->snap.results[i].baseline;
            j->bt[2 * i + 1] = j->snap.results[i].target;
        }
    }
    if ((rc = eval_compute(w, &j->snap, j->now_s, j->select, &j->scratch, err)) < 0)
        return rc;
    if ((rc = record_definitions(w, j, err)) < 0)
        return rc;
    char date[11];
    eval_day_format(j->today, date);
    for (size_t i = 0; i < j->snap.n_krs; i++) {
        if (j->select && !j->select[i])
            continue;
        const struct cfg_key_result *kr = j->snap.krs[i];
        const struct okr_result *r = &j->snap.results[i];
        struct store_kr_state before, after;
        rc = store_get_kr_state(w, kr->id, &before, err);
        if (rc < 0 && rc != OKRD_ENOTFOUND)
            return rc;
        bool had = rc == 0;
        const char *name = okr_status_name(r->status);
        bool changed = !had || strcmp(before.status, name) != 0;
        fill_state(&after, r, j->snap.stale[i], changed ? j->now_s : before.since_s, j->now_s);
        /* previous_status: the status before the latest change, stored
         * with the state (so it survives a restart and a follower answers
         * with it) and carried from evaluation to evaluation. */
        if (had && changed)
            snprintf(j->snap.previous_buf[i], sizeof j->snap.previous_buf[i], "%s", before.status);
        else if (had && before.previous[0])
            snprintf(j->snap.previous_buf[i], sizeof j->snap.previous_buf[i], "%s",
                     before.previous);
        snprintf(after.previous, sizeof after.previous, "%s", j->snap.previous_buf[i]);
        if (changed) {
            enum okr_status from = OKR_N_STATUSES;
            if (had)
                okr_status_parse(before.status, &from);
            j->changes[j->n_changes++] = (struct change){ i, from };
        }
        j->snap.previous_status[i] = j->snap.previous_buf[i][0] ? j->snap.previous_buf[i] : NULL;
        j->n_selected++;
        /* The check-in first, then the status change it may have caused:
         * a receiver reads them in that order. */
        if ((rc = announce_checkins(w, j, i, err)) < 0 ||
            (rc = alerts_on_kr_change(w, j->hold->cfg, &j->snap, i, had ? &before : NULL,
                                      j->now_s, err)) < 0 ||
            (rc = store_put_kr_state(w, kr->id, &after, err)) < 0)
            return okrd_err_prefix(err, "key result \"%s\"", kr->id);
        if (day_in_cycle(kr, date)) {
            struct store_kr_day row;
            eval_history_row(&row, &j->snap, i, date);
            if ((rc = store_put_kr_day(w, &row, err)) < 0)
                return okrd_err_prefix(err, "key result \"%s\"", kr->id);
        }
    }
    for (size_t i = 0; i < j->snap.n_krs; i++)
        j->snap.previous_status[i] = j->snap.previous_buf[i][0] ? j->snap.previous_buf[i] : NULL;
    rc = store_commit(w, err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    j->took_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    return rc;
}

static void kick(struct okrd *d);
static void arm_boundary(struct okrd *d);

static void count_statuses(struct okrd *d)
{
    size_t off = 0, risk = 0;
    for (size_t i = 0; i < d->eval.last.n_krs; i++) {
        off += d->eval.last.results[i].status == OKR_OFF_TRACK;
        risk += d->eval.last.results[i].status == OKR_AT_RISK;
    }
    bool changed = off != d->eval.n_off_track || risk != d->eval.n_at_risk;
    d->eval.n_off_track = off;
    d->eval.n_at_risk = risk;
    if (changed)
        okrd_notify_status(d);
}

/* Loop thread, after a committed run: the day its rows are for, the
 * archive's state and the days to backfill. */
static void history_after(struct okrd *d, struct eval_job *j)
{
    if (j->finalized) {
        char day[11];
        eval_day_format(j->prev_day, day);
        log_info("history_day_final", "date=%s rows=%zu", day, j->finalized);
    }
    d->eval.rows_day = j->today;
    if (j->record_defs && j->hold == d->hold)
        d->eval.defs_recorded = true;
    if (j->n_defs)
        log_info("definitions_recorded", "versions=%zu", j->n_defs);
    if (j->gap_from != INT64_MAX)
        eval_backfill_start(d, j->gap_from);
}

/* Loop thread. */
static void job_done(void *arg, int rc, const struct okrd_err *err)
{
    struct eval_job *j = arg;
    struct okrd *d = j->d;
    d->eval.running = NULL;
    if (rc == OKRD_ECANCELED || d->stopping) {
        job_free(j);
        return;
    }
    d->eval.data_version = j->data_version;
    if (rc < 0) {
        char q[512];
        log_error("evaluate_failed", "msg=%s", log_quote(q, sizeof q, err->msg));
        if (!j->view_only)
            okrd_ha_job_failed(d, rc); /* a lost session: stop acting now */
        /* The marks were consumed; the next tick evaluates everything again. */
    } else if (j->view_only && j->evaluated && j->hold == d->hold) {
        /* A follower's view: the API and /metrics answer from it; no log
         * line of a leader's (kr_status, evaluated), no history, no alerts. */
        struct eval_snapshot old = d->eval.last;
        struct okrd_cfg_hold *old_hold = d->eval.last_hold;
        d->eval.last = j->snap;
        d->eval.last_hold = okrd_cfg_hold_ref(j->hold);
        d->eval.have_last = true;
        memset(&j->snap, 0, sizeof j->snap);
        if (old_hold) {
            eval_snapshot_free(&old);
            okrd_cfg_hold_unref(old_hold);
        }
        count_statuses(d);
    } else if (j->view_only) {
        d->eval.all_dirty = true; /* computed on an old config: again, on the new one */
    } else if (j->evaluated && j->hold == d->hold) {
        log_event(j->took_ms > 1000 ? CFG_LOG_WARNING : CFG_LOG_DEBUG, "evaluated",
                  "key_results=%zu changed=%zu ms=%.1f%s", j->n_selected, j->n_changes, j->took_ms,
                  j->took_ms > 1000 ? " msg=\"slow evaluation\"" : "");
        history_after(d, j);
        for (size_t c = 0; c < j->n_changes; c++) {
            size_t i = j->changes[c].index;
            log_info("kr_status", "key_result=%s objective=%s from=%s to=%s",
                     j->snap.krs[i]->id, j->snap.krs[i]->objective->id,
                     j->changes[c].from == OKR_N_STATUSES ? "none"
                                                          : okr_status_name(j->changes[c].from),
                     okr_status_name(j->snap.results[i].status));
        }
        /* The job's snapshot becomes the daemon's view. */
        struct eval_snapshot old = d->eval.last;
        struct okrd_cfg_hold *old_hold = d->eval.last_hold;
        d->eval.last = j->snap;
        d->eval.last_hold = okrd_cfg_hold_ref(j->hold);
        d->eval.have_last = true;
        memset(&j->snap, 0, sizeof j->snap);
        if (old_hold) {
            eval_snapshot_free(&old);
            okrd_cfg_hold_unref(old_hold);
        }
        count_statuses(d);
        arm_boundary(d);     /* an override it saw may end before the next tick */
        okrd_alerts_kick(d); /* the evaluation may have written outbox rows */
    } else if (j->evaluated) {
        history_after(d, j);
        d->eval.all_dirty = true; /* evaluated an old config: again, on the new one */
        okrd_alerts_kick(d);      /* its committed outbox rows are due all the same */
    }
    job_free(j);
    kick(d);
}

static bool anything_to_do(const struct okrd *d)
{
    if (d->eval.all_dirty || d->eval.check_version)
        return true;
    for (size_t i = 0; i < d->eval.n_dirty; i++)
        if (d->eval.dirty[i])
            return true;
    return false;
}

static void kick(struct okrd *d)
{
    if (d->stopping || d->eval.running || !d->writer || !anything_to_do(d))
        return;
    struct eval_job *j = calloc(1, sizeof *j);
    if (!j || eval_snapshot_init(&j->snap, d->cfg) < 0) {
        free(j);
        log_error("evaluate_failed", "msg=\"out of memory\"");
        return;
    }
    size_t n = j->snap.n_krs;
    j->d = d;
    j->hold = okrd_cfg_hold_ref(d->hold);
    j->now_s = okrd_clock_now_s(d->clock);
    /* A follower computes its view from the store and writes nothing (a
     * takeover evaluates everything again, as the leader). */
    j->view_only = !okrd_may_act(d);
    /* A new leader never stamps an event earlier than the newest one in
     * the outbox (another node's clock may have run ahead of ours). */
    if (j->now_s < okrd_ha_event_floor_s(d))
        j->now_s = okrd_ha_event_floor_s(d);
    j->check_version = d->eval.check_version;
    j->data_version = d->eval.data_version;
    j->prev_day = d->eval.rows_day;
    j->gap_from = INT64_MAX;
    j->record_defs = !d->eval.defs_recorded;
    j->changes = calloc(n ? n : 1, sizeof *j->changes);
    if (!d->eval.all_dirty) {
        j->select = calloc(n ? n : 1, sizeof *j->select);
        if (j->select && d->eval.n_dirty == n)
            memcpy(j->select, d->eval.dirty, n * sizeof *j->select);
    }
    if (!j->changes || (!d->eval.all_dirty && !j->select)) {
        job_free(j);
        log_error("evaluate_failed", "msg=\"out of memory\"");
        return;
    }
    /* Key results not selected keep their last results, so the roll-up of
     * an incremental evaluation still sees every key result. */
    if (d->eval.have_last && d->eval.last_hold == d->hold) {
        memcpy(j->snap.results, d->eval.last.results, n * sizeof *j->snap.results);
        memcpy(j->snap.stale, d->eval.last.stale, n * sizeof *j->snap.stale);
        memcpy(j->snap.previous_buf, d->eval.last.previous_buf, n * sizeof *j->snap.previous_buf);
        /* and their check-ins, whose overrides are re-applied at the new t */
        memcpy(j->snap.computed, d->eval.last.computed, n * sizeof *j->snap.computed);
        memcpy(j->snap.has_checkin, d->eval.last.has_checkin, n * sizeof *j->snap.has_checkin);
        memcpy(j->snap.override_until, d->eval.last.override_until,
               n * sizeof *j->snap.override_until);
        bool oom = false;
        for (size_t i = 0; i < n && !oom; i++)
            oom = okrd_checkin_copy(&j->snap.checkins[i], &d->eval.last.checkins[i]) < 0;
        if (oom) {
            job_free(j);
            log_error("evaluate_failed", "msg=\"out of memory\"");
            return;
        }
    } else if (j->select) {
        free(j->select); /* nothing to keep from: evaluate everything */
        j->select = NULL;
    }
    d->eval.all_dirty = false;
    d->eval.check_version = false;
    if (d->eval.dirty)
        memset(d->eval.dirty, 0, d->eval.n_dirty * sizeof *d->eval.dirty);
    if (store_writer_submit(d->writer, job_run, job_done, j) < 0) {
        job_free(j);
        return;
    }
    d->eval.running = j;
}

void okrd_on_points_committed(struct okrd *d, const char *source_id, const char *const *metrics,
                              size_t n_metrics, int64_t n_points)
{
    log_debug("points_committed", "source=%s points=%lld metrics=%zu", source_id,
              (long long)n_points, n_metrics);
    size_t k = 0;
    for (size_t o = 0; o < d->cfg->n_objectives; o++) {
        const struct cfg_objective *obj = &d->cfg->objectives[o];
        for (size_t j = 0; j < obj->n_key_results && k < d->eval.n_dirty; j++, k++) {
            const char *m = obj->key_results[j].metric;
            const struct cfg_metric *cm = cfg_find_metric(d->cfg, m);
            for (size_t i = 0; i < n_metrics && !d->eval.dirty[k]; i++)
                d->eval.dirty[k] = !strcmp(metrics[i], m) ||
                                   (cm && cm->ratio_num && (!strcmp(metrics[i], cm->ratio_num) ||
                                                           !strcmp(metrics[i], cm->ratio_den)));
        }
    }
    kick(d);
}

void okrd_on_checkin_committed(struct okrd *d, const char *kr_id)
{
    size_t k = 0;
    for (size_t o = 0; o < d->cfg->n_objectives; o++) {
        const struct cfg_objective *obj = &d->cfg->objectives[o];
        for (size_t j = 0; j < obj->n_key_results && k < d->eval.n_dirty; j++, k++)
            if (!strcmp(obj->key_results[j].id, kr_id))
                d->eval.dirty[k] = true;
    }
    log_debug("checkin_committed", "key_result=%s", kr_id);
    kick(d);
}

/* The next instant after now at which some key result's rules change on
 * their own: a cycle's start, its end, and its end plus grade_after; and
 * the end of a check-in's override the last evaluation saw holding. */
static int64_t next_boundary_s(const struct okrd *d, const struct cfg *cfg, int64_t now_s)
{
    int64_t next = INT64_MAX;
    if (d->eval.have_last && d->eval.last_hold == d->hold && d->eval.last.override_until)
        for (size_t i = 0; i < d->eval.last.n_krs; i++) {
            int64_t u = d->eval.last.override_until[i];
            if (u != OKR_NO_TS && u > now_s && u < next)
                next = u;
        }
    /* The next midnight: the day just over gets its final history rows
     * right away (eval_history.c). */
    int64_t midnight = eval_day_last_second(cfg->daemon.tz, eval_day_of(cfg->daemon.tz, now_s)) + 1;
    if (midnight > now_s && midnight < next)
        next = midnight;
    for (size_t o = 0; o < cfg->n_objectives; o++) {
        const struct cfg_cycle *c = &cfg->objectives[o].cycle;
        int64_t cand[] = { c->start_s, c->end_s, c->end_s + cfg->alerts.grade_after_ms / 1000 };
        for (size_t i = 0; i < 3; i++)
            if (cand[i] > now_s && cand[i] < next)
                next = cand[i];
    }
    return next;
}

static void on_boundary(uv_timer_t *t);

static void arm_boundary(struct okrd *d)
{
    int64_t now = okrd_clock_now_s(d->clock);
    int64_t next = next_boundary_s(d, d->cfg, now);
    uv_timer_stop(&d->eval.boundary);
    if (next == INT64_MAX)
        return;
    uint64_t delay_ms = (uint64_t)(next - now) * 1000 + 1000; /* just past it */
    uv_timer_start(&d->eval.boundary, on_boundary, delay_ms, 0);
}

static void on_tick(uv_timer_t *t)
{
    struct okrd *d = t->data;
    d->eval.all_dirty = true;
    kick(d);
}

static void on_boundary(uv_timer_t *t)
{
    struct okrd *d = t->data;
    d->eval.all_dirty = true;
    kick(d);
    arm_boundary(d);
}

static void on_version(uv_timer_t *t)
{
    struct okrd *d = t->data;
    d->eval.check_version = true;
    kick(d);
}

static int alloc_dirty(struct okrd *d)
{
    size_t n = 0;
    for (size_t o = 0; o < d->cfg->n_objectives; o++)
        n += d->cfg->objectives[o].n_key_results;
    bool *dirty = calloc(n ? n : 1, sizeof *dirty);
    if (!dirty)
        return OKRD_ENOMEM;
    free(d->eval.dirty);
    d->eval.dirty = dirty;
    d->eval.n_dirty = n;
    return 0;
}

static void start_tick(struct okrd *d)
{
    uint64_t every = (uint64_t)d->cfg->daemon.evaluate_every_ms;
    if (every == 0)
        every = 60000;
    uv_timer_start(&d->eval.tick, on_tick, every, every);
}

int eval_start(struct okrd *d, struct okrd_err *err)
{
    if (alloc_dirty(d) < 0)
        return okrd_err_set(err, OKRD_ENOMEM, "evaluator: out of memory");
    uv_timer_init(&d->loop, &d->eval.tick);
    uv_timer_init(&d->loop, &d->eval.boundary);
    uv_timer_init(&d->loop, &d->eval.version);
    d->eval.tick.data = d->eval.boundary.data = d->eval.version.data = d;
    d->eval.started = true;
    d->eval.rows_day = INT64_MIN;
    d->eval.defs_recorded = false;
    d->eval.backfill_again_from = INT64_MAX;
    start_tick(d);
    uv_timer_start(&d->eval.version, on_version, VERSION_CHECK_MS, VERSION_CHECK_MS);
    arm_boundary(d);
    /* The backfill plans from the store before the first evaluation writes
     * today's rows (the writer runs jobs in order). */
    eval_backfill_start(d, INT64_MIN);
    d->eval.all_dirty = true; /* the first evaluation, right away */
    d->eval.check_version = true;
    kick(d);
    return 0;
}

void eval_takeover(struct okrd *d)
{
    if (!d->eval.started)
        return;
    d->eval.defs_recorded = false;
    eval_backfill_start(d, INT64_MIN);
    d->eval.all_dirty = true; /* in full, on taking over */
    d->eval.check_version = true;
    kick(d);
}

void okrd_on_store_changed(struct okrd *d)
{
    if (!d->eval.started)
        return;
    d->eval.check_version = true;
    kick(d);
}

void eval_reload(struct okrd *d)
{
    if (alloc_dirty(d) < 0) {
        log_error("evaluate_failed", "msg=\"out of memory\"");
        return;
    }
    start_tick(d);
    arm_boundary(d);
    /* A changed config is archived again, and a new cycle's past days get
     * their rows (planned before the next evaluation writes today's). */
    d->eval.defs_recorded = false;
    eval_backfill_start(d, INT64_MIN);
    d->eval.all_dirty = true;
    kick(d);
}

static void on_closed(uv_handle_t *h) { (void)h; }

void eval_stop(struct okrd *d)
{
    if (!d->eval.started)
        return;
    d->eval.started = false;
    uv_close((uv_handle_t *)&d->eval.tick, on_closed);
    uv_close((uv_handle_t *)&d->eval.boundary, on_closed);
    uv_close((uv_handle_t *)&d->eval.version, on_closed);
}

/* After the loop ended (cmd_run.c): the last snapshot and marks. */
void eval_free(struct okrd *d)
{
    free(d->eval.dirty);
    d->eval.dirty = NULL;
    if (d->eval.last_hold) {
        eval_snapshot_free(&d->eval.last);
        okrd_cfg_hold_unref(d->eval.last_hold);
        d->eval.last_hold = NULL;
    }
}
