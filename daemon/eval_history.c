/*
 * eval_history.c — the days of the daily history (DESIGN section 9) that
 * no evaluation of "now" writes: a day's final row, and the days okrd was
 * down.
 *
 * Each key result has one row per day of its cycle: the evaluation at
 * min(now, the day's last second). The evaluation job (eval_jobs.c) writes
 * today's row each time it runs; when it sees that the day of its previous
 * run is over, it first rewrites that day's rows from the evaluation at
 * its last second (eval_history_finalize_day), so a day's final row never
 * depends on when the last evaluation before midnight happened to run.
 *
 * Days with no evaluation at all (okrd was stopped, or the machine slept)
 * are backfilled here from the stored points, each evaluated at its last
 * second exactly as `okrd status --at DAYT23:59:59` would (check-ins as of
 * that instant included). The backfill runs on the writer thread in
 * bounded steps (DESIGN section 1): a planning job, then one job per step
 * of at most BACKFILL_STEP key results on one day, each its own
 * transaction, so points, pushes and evaluations queued meanwhile run
 * between steps instead of waiting for a quarter's worth of evaluations.
 *
 * Where a backfill starts, per key result (planned from the store before
 * any evaluation writes today's row): its newest recorded day of its cycle
 * (store_last_kr_day), re-evaluated at its last second because okrd may
 * have stopped before that day ended; with none, the cycle's start, and
 * then days that already hold a row (written before rows named their
 * cycle) are kept as they are — unless the cycle has ended: a cycle okrd
 * never recorded a day of is left alone (it ran before okrd watched it).
 * It ends at yesterday or the cycle's end day, whichever is first, so a
 * cycle that ended while okrd was down gets its last days.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/okrd_math.h"
#include "common/parse.h"
#include "common/tz.h"
#include "log.h"
#include "okrd.h"

#define DAY_S 86400
#define BACKFILL_STEP 256 /* key-result evaluations per writer job */

int64_t eval_day_of(const struct okrd_tz *tz, int64_t t)
{
    return okrd_floor_div(t + okrd_tz_offset_at(tz, t), DAY_S);
}

int64_t eval_day_last_second(const struct okrd_tz *tz, int64_t day)
{
    return okrd_tz_local_to_utc(tz, (day + 1) * DAY_S) - 1;
}

void eval_day_format(int64_t day, char out[11])
{
    int64_t y;
    int m, d;
    okrd_civil_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", (int)y, m, d);
}

static int64_t day_of_date(const char *date)
{
    int64_t y;
    int m, d;
    if (okrd_parse_date(date, strlen(date), &y, &m, &d, NULL) < 0)
        return INT64_MIN;
    return okrd_days_from_civil(y, m, d);
}

/* KR's cycle as day numbers: [*first, *last] (the end day included). */
static void cycle_days(const struct cfg_key_result *kr, int64_t *first, int64_t *last)
{
    *first = day_of_date(kr->objective->cycle.start_date);
    *last = day_of_date(kr->objective->cycle.end_date);
}

static int count_row(void *ctx, const struct store_kr_day *row)
{
    (void)row;
    *(bool *)ctx = true;
    return 1;
}

static int row_exists(struct store *w, const char *kr, int64_t day, bool *out,
                      struct okrd_err *err)
{
    char from[11], to[11];
    eval_day_format(day, from);
    eval_day_format(day + 1, to);
    *out = false;
    int rc = store_each_kr_day(w, kr, from, to, count_row, out, err);
    return rc < 0 ? rc : 0;
}

/* Evaluates the key results with select[i] at DAY's last second into S
 * and writes their rows for DAY (skipping, with skip_existing[i], a day
 * that already holds one). *rows counts the rows written. */
static int write_day(struct store *w, struct eval_snapshot *s, const bool *select,
                     const bool *skip_existing, int64_t day, struct eval_scratch *x, size_t *rows,
                     struct okrd_err *err)
{
    const struct okrd_tz *tz = s->cfg->daemon.tz;
    int rc = eval_compute(w, s, eval_day_last_second(tz, day), select, x, err);
    if (rc < 0)
        return rc;
    char date[11];
    eval_day_format(day, date);
    for (size_t i = 0; i < s->n_krs; i++) {
        if (select && !select[i])
            continue;
        if (skip_existing && skip_existing[i]) {
            bool there;
            if ((rc = row_exists(w, s->krs[i]->id, day, &there, err)) < 0)
                return rc;
            if (there)
                continue;
        }
        struct store_kr_day row;
        eval_history_row(&row, s, i, date);
        if ((rc = store_put_kr_day(w, &row, err)) < 0)
            return okrd_err_prefix(err, "history of key result \"%s\" on %s", s->krs[i]->id, date);
        (*rows)++;
    }
    return 0;
}

int eval_history_finalize_day(struct store *w, const struct cfg *cfg, int64_t day,
                              struct eval_scratch *x, size_t *rows, struct okrd_err *err)
{
    struct eval_snapshot s;
    if (eval_snapshot_init(&s, cfg) < 0)
        return okrd_err_set(err, OKRD_ENOMEM, "history: out of memory");
    bool *select = calloc(s.n_krs ? s.n_krs : 1, sizeof *select);
    if (!select) {
        eval_snapshot_free(&s);
        return okrd_err_set(err, OKRD_ENOMEM, "history: out of memory");
    }
    bool any = false;
    for (size_t i = 0; i < s.n_krs; i++) {
        int64_t first, last;
        cycle_days(s.krs[i], &first, &last);
        any |= select[i] = day >= first && day <= last;
    }
    int rc = any ? write_day(w, &s, select, NULL, day, x, rows, err) : 0;
    free(select);
    eval_snapshot_free(&s);
    return rc;
}

/* ---- the backfill ---- */

struct eval_backfill {
    struct okrd *d;
    struct okrd_cfg_hold *hold;
    int64_t from_day;       /* INT64_MIN: plan from the store */
    int64_t today;
    bool planned;
    size_t n;
    int64_t *next, *last;   /* per key result: days still to write, [next, last] */
    bool *skip_existing;
    int64_t *resume;        /* per key result: its last recorded day (rewritten, not
                             * missed), or INT64_MIN */
    bool *select;
    struct eval_snapshot snap;
    struct eval_scratch x;
    size_t rows, days, krs; /* days: missed days written (not counting rewrites) */
    size_t refreshed;       /* rows of a last recorded day rewritten at its end */
    int64_t counted_day;    /* the last day counted in days */
    double ms;
};

static void backfill_free(struct eval_backfill *b)
{
    okrd_cfg_hold_unref(b->hold);
    eval_snapshot_free(&b->snap);
    eval_scratch_free(&b->x);
    free(b->next);
    free(b->last);
    free(b->skip_existing);
    free(b->resume);
    free(b->select);
    free(b);
}

static int plan(struct store *w, struct eval_backfill *b, struct okrd_err *err)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct cfg_key_result *kr = b->snap.krs[i];
        int64_t first, end;
        cycle_days(kr, &first, &end);
        int64_t from = first;
        b->skip_existing[i] = false;
        b->resume[i] = INT64_MIN;
        if (b->from_day != INT64_MIN) {
            from = b->from_day > first ? b->from_day : first;
            b->skip_existing[i] = true; /* rows already written stay */
        } else {
            char date[11];
            int rc = store_last_kr_day(w, kr->id, kr->objective->cycle.start_date, date, err);
            if (rc == 0 && day_of_date(date) != INT64_MIN) {
                from = day_of_date(date); /* maybe written before that day ended */
                if (from < first)
                    from = first;
                b->resume[i] = from;
            } else if (rc == 0 || rc == OKRD_ENOTFOUND) {
                b->skip_existing[i] = true;
                /* A cycle that ended before okrd recorded any day of it
                 * is not invented afterwards: only a running cycle is
                 * filled from its start. */
                if (end < b->today)
                    from = INT64_MAX;
            } else {
                return okrd_err_prefix(err, "history backfill of \"%s\"", kr->id);
            }
        }
        b->next[i] = from;
        b->last[i] = end < b->today - 1 ? end : b->today - 1;
        b->krs += b->next[i] <= b->last[i];
    }
    b->planned = true;
    return 0;
}

/* Writer thread: the plan, or one step. */
static int backfill_run(struct store *w, void *arg, struct okrd_err *err)
{
    struct eval_backfill *b = arg;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0); /* for the log only */
    int rc;
    if (!b->planned) {
        rc = plan(w, b, err);
    } else {
        int64_t day = INT64_MAX;
        for (size_t i = 0; i < b->n; i++)
            if (b->next[i] <= b->last[i] && b->next[i] < day)
                day = b->next[i];
        if (day == INT64_MAX)
            return 0;
        size_t k = 0;
        for (size_t i = 0; i < b->n; i++) {
            b->select[i] = k < BACKFILL_STEP && b->next[i] == day && day <= b->last[i];
            k += b->select[i];
        }
        size_t rows = 0;
        if ((rc = store_begin(w, err)) < 0)
            return rc;
        rc = write_day(w, &b->snap, b->select, b->skip_existing, day, &b->x, &rows, err);
        if (rc == 0)
            rc = store_commit(w, err);
        if (rc == 0) {
            for (size_t i = 0; i < b->n; i++)
                b->next[i] += b->select[i];
            bool missed = false;
            for (size_t i = 0; i < b->n; i++)
                if (b->select[i]) {
                    missed |= b->resume[i] != day;
                    b->refreshed += b->resume[i] == day;
                }
            b->rows += rows;
            if (rows && missed && day != b->counted_day) {
                b->days++;
                b->counted_day = day;
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    b->ms += (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    return rc;
}

static bool backfill_pending(const struct eval_backfill *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->next[i] <= b->last[i])
            return true;
    return false;
}

static void start(struct okrd *d, int64_t from_day);

/* Loop thread: the next step, or the end. */
static void backfill_done(void *arg, int rc, const struct okrd_err *err)
{
    struct eval_backfill *b = arg;
    struct okrd *d = b->d;
    if (rc == OKRD_ECANCELED || d->stopping) {
        d->eval.backfill = NULL;
        backfill_free(b);
        return;
    }
    if (rc < 0) {
        char q[512];
        log_error("history_backfill_failed", "rows=%zu msg=%s", b->rows,
                  log_quote(q, sizeof q, err->msg));
    } else if (backfill_pending(b) && okrd_may_act(d) &&
               store_writer_submit(d->writer, backfill_run, backfill_done, b) == 0) {
        return;
    } else {
        log_info("history_backfilled", "days=%zu rows=%zu key_results=%zu last_days_final=%zu "
                 "ms=%.1f", b->days, b->rows, b->krs, b->refreshed, b->ms);
    }
    d->eval.backfill = NULL;
    backfill_free(b);
    if (d->eval.backfill_again_from != INT64_MAX) {
        int64_t from = d->eval.backfill_again_from;
        d->eval.backfill_again_from = INT64_MAX;
        start(d, from);
    }
}

static void start(struct okrd *d, int64_t from_day)
{
    if (d->stopping || !d->writer || !okrd_may_act(d))
        return; /* a follower writes no history; a takeover plans it again */
    if (d->eval.backfill) {
        /* One at a time: the next one starts when this one ends. */
        if (from_day < d->eval.backfill_again_from)
            d->eval.backfill_again_from = from_day;
        return;
    }
    struct eval_backfill *b = calloc(1, sizeof *b);
    if (!b || eval_snapshot_init(&b->snap, d->cfg) < 0) {
        free(b);
        log_error("history_backfill_failed", "msg=\"out of memory\"");
        return;
    }
    size_t n = b->snap.n_krs ? b->snap.n_krs : 1;
    b->d = d;
    b->hold = okrd_cfg_hold_ref(d->hold);
    b->n = b->snap.n_krs;
    b->from_day = from_day;
    b->counted_day = INT64_MIN;
    b->today = eval_day_of(d->cfg->daemon.tz, okrd_clock_now_s(d->clock));
    b->next = calloc(n, sizeof *b->next);
    b->last = calloc(n, sizeof *b->last);
    b->skip_existing = calloc(n, sizeof *b->skip_existing);
    b->resume = calloc(n, sizeof *b->resume);
    b->select = calloc(n, sizeof *b->select);
    if (!b->next || !b->last || !b->skip_existing || !b->resume || !b->select ||
        store_writer_submit(d->writer, backfill_run, backfill_done, b) < 0) {
        backfill_free(b);
        log_error("history_backfill_failed", "msg=\"out of memory or stopping\"");
        return;
    }
    d->eval.backfill = b;
}

void eval_backfill_start(struct okrd *d, int64_t from_day)
{
    start(d, from_day);
}
