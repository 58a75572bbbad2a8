/*
 * evaluate.c — see evaluate.h. The series of a key result is read from a
 * lookback before its window (so `last`, rolling windows, the auto baseline
 * at s − 1 s, the trend's days and the share of days all have their points)
 * up to t, plus the newest point before that range, which is all okr/ needs
 * to see of the older history.
 */
#include "evaluate.h"

#include "okr/okr_view.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_S 86400

int eval_snapshot_init(struct eval_snapshot *s, const struct cfg *cfg)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    for (size_t o = 0; o < cfg->n_objectives; o++)
        s->n_krs += cfg->objectives[o].n_key_results;
    size_t n = s->n_krs ? s->n_krs : 1;
    s->krs = calloc(n, sizeof *s->krs);
    s->results = calloc(n, sizeof *s->results);
    s->stale = calloc(n, sizeof *s->stale);
    s->previous_status = calloc(n, sizeof *s->previous_status);
    s->previous_buf = calloc(n, sizeof *s->previous_buf);
    s->objs = calloc(cfg->n_objectives ? cfg->n_objectives : 1, sizeof *s->objs);
    s->computed = calloc(n, sizeof *s->computed);
    s->checkins = calloc(n, sizeof *s->checkins);
    s->has_checkin = calloc(n, sizeof *s->has_checkin);
    s->override_until = calloc(n, sizeof *s->override_until);
    if (!s->krs || !s->results || !s->stale || !s->previous_status || !s->previous_buf || !s->objs ||
        !s->computed || !s->checkins || !s->has_checkin || !s->override_until) {
        eval_snapshot_free(s);
        return OKRD_ENOMEM;
    }
    size_t k = 0;
    for (size_t o = 0; o < cfg->n_objectives; o++)
        for (size_t j = 0; j < cfg->objectives[o].n_key_results; j++, k++) {
            s->krs[k] = &cfg->objectives[o].key_results[j];
            struct okr_result *r = &s->results[k];
            r->status = OKR_NO_DATA;
            r->value = r->baseline = r->target = r->progress = r->expected = NAN;
            r->projected_score = r->score = NAN;
            r->last_point_at = OKR_NO_TS;
            s->computed[k] = OKR_NO_DATA;
            s->override_until[k] = OKR_NO_TS;
        }
    return 0;
}

void eval_snapshot_free(struct eval_snapshot *s)
{
    for (size_t i = 0; s->checkins && i < s->n_krs; i++)
        free(s->checkins[i].comment);
    free(s->computed);
    free(s->checkins);
    free(s->has_checkin);
    free(s->override_until);
    free(s->krs);
    free(s->results);
    free(s->stale);
    free(s->previous_status);
    free(s->previous_buf);
    free(s->objs);
    memset(s, 0, sizeof *s);
}

void eval_scratch_free(struct eval_scratch *x)
{
    store_series_free(&x->a);
    store_series_free(&x->b);
    free(x->ts);
    free(x->v);
    memset(x, 0, sizeof *x);
}

int64_t eval_stale_after_s(const struct cfg *cfg, const char *metric)
{
    return okr_metric_stale_after_s(cfg, metric);
}

static int grow(struct eval_scratch *x, size_t n)
{
    if (n <= x->cap)
        return 0;
    size_t cap = n < 64 ? 64 : n;
    int64_t *ts = realloc(x->ts, cap * sizeof *ts);
    if (!ts)
        return OKRD_ENOMEM;
    x->ts = ts;
    double *v = realloc(x->v, cap * sizeof *v);
    if (!v)
        return OKRD_ENOMEM;
    x->v = v;
    x->cap = cap;
    return 0;
}

/* The earliest instant the evaluation of KR at t looks at. */
static int64_t lookback_from(const struct cfg_key_result *kr, int64_t t)
{
    int64_t s = kr->objective->cycle.start_s;
    int64_t from = s < t ? s : t;
    int64_t trend_from = t - kr->trend_window_ms / 1000 - 2 * DAY_S;
    /* The forecast (section 9) reads the trend days whatever the projection:
     * they may lie before s. */
    if (trend_from < from)
        from = trend_from;
    if (!kr->aggregate.window_cycle && kr->aggregate.fn != CFG_AGG_LAST)
        from -= kr->aggregate.window_ms / 1000 + 1;
    return from - DAY_S;
}

static int eval_one(struct store *st, struct eval_snapshot *s, size_t i, int64_t t,
                    struct eval_scratch *x, struct okrd_err *err)
{
    const struct cfg_key_result *kr = s->krs[i];
    const struct cfg_metric *m = cfg_find_metric(s->cfg, kr->metric);
    int64_t from = lookback_from(kr, t), to = t + 1;
    struct okr_series series;
    int rc;
    if (m && m->ratio_num) {
        if ((rc = store_get_series_with_prior(st, m->ratio_num, from, to, &x->a, err)) < 0 ||
            (rc = store_get_series_with_prior(st, m->ratio_den, from, to, &x->b, err)) < 0)
            return rc;
        if (grow(x, x->a.n + x->b.n) < 0)
            return okrd_err_set(err, OKRD_ENOMEM, "out of memory");
        /* num in x->ts/v[0..], den after it */
        int64_t *dts = x->ts + x->a.n;
        double *dv = x->v + x->a.n;
        for (size_t k = 0; k < x->a.n; k++) {
            x->ts[k] = x->a.pts[k].ts;
            x->v[k] = x->a.pts[k].value;
        }
        for (size_t k = 0; k < x->b.n; k++) {
            dts[k] = x->b.pts[k].ts;
            dv[k] = x->b.pts[k].value;
        }
        struct okr_series num = { x->ts, x->v, x->a.n }, den = { dts, dv, x->b.n };
        size_t n = okr_ratio_series(&num, &den, m->scale, x->ts, x->v);
        series = (struct okr_series){ x->ts, x->v, n };
    } else {
        if ((rc = store_get_series_with_prior(st, kr->metric, from, to, &x->a, err)) < 0)
            return rc;
        if (grow(x, x->a.n) < 0)
            return okrd_err_set(err, OKRD_ENOMEM, "out of memory");
        for (size_t k = 0; k < x->a.n; k++) {
            x->ts[k] = x->a.pts[k].ts;
            x->v[k] = x->a.pts[k].value;
        }
        series = (struct okr_series){ x->ts, x->v, x->a.n };
    }
    okr_evaluate(kr, &series, s->cfg->daemon.tz, t, &s->results[i]);
    s->stale[i] = okr_is_stale(s->results[i].last_point_at, eval_stale_after_s(s->cfg, kr->metric), t);
    return 0;
}

/* KR i has no check-in: the snapshot holds none for it. */
static void no_checkin(struct eval_snapshot *s, size_t i)
{
    okrd_checkin_clear(&s->checkins[i]); /* frees its comment */
    s->has_checkin[i] = false;
}

/* Loads KR i's latest check-in of its current cycle with at_s <= T into
 * the snapshot (replacing the one it held). */
static int load_checkin(struct store *st, struct eval_snapshot *s, size_t i, int64_t t,
                        struct okrd_err *err)
{
    const struct cfg_key_result *kr = s->krs[i];
    struct okrd_checkin c = { 0 };
    okrd_checkin_clear(&c);
    int rc = store_latest_checkin(st, kr->id, kr->objective->cycle.start_date, t, &c, err);
    if (rc == OKRD_ENOTFOUND) {
        okrd_checkin_clear(&c);
        rc = 0;
    } else if (rc < 0) {
        okrd_checkin_clear(&c);
        return rc;
    }
    free(s->checkins[i].comment);
    s->checkins[i] = c; /* takes c's comment */
    s->has_checkin[i] = c.id[0] != '\0';
    return 0;
}

int eval_compute(struct store *st, struct eval_snapshot *s, int64_t at_s, const bool *select,
                 struct eval_scratch *x, struct okrd_err *err)
{
    return eval_compute_each(st, s, at_s, NULL, select, x, err);
}

static int by_id(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether KR has any check-in: always when the list is unknown. */
static bool may_have_checkin(char **with, size_t n_with, bool known, const char *kr)
{
    if (!known)
        return true;
    return n_with > 0 && bsearch(&kr, with, n_with, sizeof *with, by_id) != NULL;
}

int eval_compute_each(struct store *st, struct eval_snapshot *s, int64_t at_s,
                      const int64_t *at_each, const bool *select, struct eval_scratch *x,
                      struct okrd_err *err)
{
    s->at_s = at_s;
    /* A full evaluation asks once which key results have check-ins, and
     * reads the latest check-in of those only (a round trip each on
     * PostgreSQL, for 10,000 key results mostly without one). */
    char **with = NULL;
    size_t n_with = 0;
    bool known = false;
    if (!select && s->n_krs > 1) {
        int rc = store_checkin_key_results(st, &with, &n_with, err);
        if (rc < 0)
            return rc;
        known = true;
    }
    int rc = 0;
    for (size_t i = 0; i < s->n_krs && rc == 0; i++) {
        if (select && !select[i])
            continue;
        int64_t t = at_each ? at_each[i] : at_s;
        rc = eval_one(st, s, i, t, x, err);
        if (rc == 0 && may_have_checkin(with, n_with, known, s->krs[i]->id))
            rc = load_checkin(st, s, i, t, err);
        else if (rc == 0)
            no_checkin(s, i);
        if (rc < 0)
            okrd_err_prefix(err, "evaluate key result \"%s\"", s->krs[i]->id);
        else
            s->computed[i] = s->results[i].status;
    }
    for (size_t i = 0; i < n_with; i++)
        free(with[i]);
    free(with);
    if (rc < 0)
        return rc;
    /* Objectives come from the data only (DESIGN section 8): the roll-up
     * sees every key result's computed status -- a key result not selected
     * keeps the results of its last evaluation, whose status is effective. */
    for (size_t i = 0; i < s->n_krs; i++)
        s->results[i].status = s->computed[i];
    if (okr_rollup_cfg(s->cfg->objectives, s->cfg->n_objectives, s->results, s->objs) < 0)
        return okrd_err_set(err, OKRD_EINVAL, "objective roll-up failed (parent cycle)");
    /* Then the overrides, for every key result: one not selected keeps its
     * check-in, but its override may have ended since (until passed). */
    for (size_t i = 0; i < s->n_krs; i++)
        s->results[i].status =
            okr_effective_status(s->computed[i], s->has_checkin[i] ? &s->checkins[i] : NULL, at_s,
                                 &s->override_until[i]);
    return 0;
}

int eval_key_result_view(struct store *st, const struct cfg *cfg, const char *kr_id, int64_t at_s,
                         json_t **out, struct okrd_err *err)
{
    *out = NULL;
    struct eval_snapshot s;
    if (eval_snapshot_init(&s, cfg) < 0)
        return okrd_err_set(err, OKRD_ENOMEM, "evaluate \"%s\": out of memory", kr_id);
    size_t idx = s.n_krs;
    for (size_t i = 0; i < s.n_krs && idx == s.n_krs; i++)
        if (!strcmp(s.krs[i]->id, kr_id))
            idx = i;
    if (idx == s.n_krs) {
        eval_snapshot_free(&s);
        return okrd_err_set(err, OKRD_ENOTFOUND, "unknown key result \"%s\"", kr_id);
    }
    /* Only this key result: its object carries nothing of its objective's
     * roll-up, and a check-in must not cost an evaluation of every key
     * result inside its transaction. */
    bool *select = calloc(s.n_krs, sizeof *select);
    if (!select) {
        eval_snapshot_free(&s);
        return okrd_err_set(err, OKRD_ENOMEM, "evaluate \"%s\": out of memory", kr_id);
    }
    select[idx] = true;
    struct eval_scratch x = { 0 };
    int rc = eval_compute(st, &s, at_s, select, &x, err);
    free(select);
    eval_scratch_free(&x);
    if (rc == 0) {
        /* previous_status as the last recorded evaluation knows it: the
         * stored state's status when this evaluation moves away from it,
         * else the one it stored. */
        struct store_kr_state before;
        int g = store_get_kr_state(st, kr_id, &before, err);
        const char *prev = NULL;
        if (g == 0)
            prev = strcmp(before.status, okr_status_name(s.results[idx].status)) != 0
                       ? before.status
                       : before.previous;
        if (prev && *prev) {
            snprintf(s.previous_buf[idx], sizeof s.previous_buf[idx], "%s", prev);
            s.previous_status[idx] = s.previous_buf[idx];
        } else if (g < 0 && g != OKRD_ENOTFOUND) {
            rc = g;
        }
    }
    if (rc == 0 && !(*out = okr_view_key_result(&s, idx)))
        rc = okrd_err_set(err, OKRD_ENOMEM, "evaluate \"%s\": out of memory", kr_id);
    eval_snapshot_free(&s);
    return rc;
}

int eval_kr_result(struct store *st, const struct cfg *cfg, const struct cfg_key_result *kr,
                   int64_t at_s, struct eval_scratch *x, struct okr_result *out,
                   struct okrd_err *err)
{
    /* A one-key-result snapshot around KR, so eval_one reads its series
     * (a ratio metric from its inputs, by CFG's metric table) exactly as
     * for a configured key result. */
    const struct cfg_key_result *krs[1] = { kr };
    bool stale = false;
    struct eval_snapshot s = { .cfg = cfg, .n_krs = 1, .krs = krs, .results = out, .stale = &stale };
    return eval_one(st, &s, 0, at_s, x, err);
}

void eval_history_row(struct store_kr_day *row, const struct eval_snapshot *s, size_t i,
                      const char *date)
{
    const struct cfg_key_result *kr = s->krs[i];
    const struct okr_result *r = &s->results[i];
    memset(row, 0, sizeof *row);
    snprintf(row->kr_id, sizeof row->kr_id, "%s", kr->id);
    snprintf(row->date, sizeof row->date, "%.10s", date);
    snprintf(row->cycle_start, sizeof row->cycle_start, "%s", kr->objective->cycle.start_date);
    snprintf(row->status, sizeof row->status, "%s", okr_status_name(r->status));
    snprintf(row->computed_status, sizeof row->computed_status, "%s",
             okr_status_name(s->computed ? s->computed[i] : r->status));
    row->progress = r->progress;
    row->expected = r->expected;
    row->score = r->score;
    row->probability = r->forecast.defined ? r->forecast.probability : NAN;
}
