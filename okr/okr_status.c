/*
 * okr_status.c — one key result at time t: baseline, target, progress,
 * projection, status and score (DESIGN section 4), plus staleness.
 *
 * Owns the order of the status rules and the meaning of every number in
 * struct okr_result; takes v(t) from okr_series.c and the pace from pace.c.
 * Invariant: the evaluation sees the series "as of t" — a point stamped after
 * the time being evaluated never counts, so `okrd status --at` in the past
 * answers what the daemon would have answered then. From the cycle end e on,
 * the time evaluated is e - 1 s (the end day's last second).
 */
#include <math.h>
#include <string.h>
#include "okr_internal.h"

static const char *const status_names[OKR_N_STATUSES] = {
    [OKR_INVALID] = "invalid",
    [OKR_NO_DATA] = "no_data",
    [OKR_ACHIEVED] = "achieved",
    [OKR_MISSED] = "missed",
    [OKR_PENDING] = "pending",
    [OKR_ON_TRACK] = "on_track",
    [OKR_AT_RISK] = "at_risk",
    [OKR_OFF_TRACK] = "off_track",
};

const char *okr_status_name(enum okr_status st)
{
    if ((unsigned)st >= OKR_N_STATUSES)
        return "unknown";
    return status_names[st];
}

bool okr_status_parse(const char *name, enum okr_status *out)
{
    for (int i = 0; i < OKR_N_STATUSES; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (enum okr_status)i;
            return true;
        }
    }
    return false;
}

/* ---- baseline and target ---- */

static bool is_cycle_sum(const struct cfg_aggregate *agg)
{
    return agg->fn == CFG_AGG_SUM && agg->window_cycle;
}

bool okr_baseline(const struct cfg_key_result *kr, const struct okr_series *s,
                  int64_t t, double *out)
{
    if (!kr->baseline_auto) {
        *out = kr->baseline;
        return true;
    }
    if (is_cycle_sum(&kr->aggregate)) {
        *out = 0.0;           /* nothing summed before the cycle starts */
        return true;
    }
    const struct cfg_cycle *c = &kr->objective->cycle;
    struct okr_series cut = { s->ts, s->v, okr_series_upper(s, t) };
    if (okr_value_at(kr, &cut, c->start_s - 1, out))
        return true;
    /* The first point inside the cycle, as a raw value: when v(s - 1) is
     * undefined, no earlier point shares a window with it, so it also equals
     * v at its own timestamp. */
    size_t i = okr_series_lower(&cut, c->start_s);
    if (i < cut.n && cut.ts[i] < c->end_s) {
        *out = cut.v[i];
        return true;
    }
    return false;
}

double okr_target(const struct cfg_target *target, double b)
{
    switch (target->kind) {
    case CFG_TARGET_PERCENT: return b * (1.0 + target->value / 100.0);
    case CFG_TARGET_DELTA:   return b + target->value;
    case CFG_TARGET_ABSOLUTE:
    default:                 return target->value;
    }
}

/* ---- staleness ---- */

bool okr_is_stale(int64_t last_point_ts, int64_t stale_after_s, int64_t now_s)
{
    if (last_point_ts == OKR_NO_TS)
        return false;
    return now_s - last_point_ts > stale_after_s;
}

int64_t okr_stale_after_s(int64_t stale_after_ms, int64_t source_interval_ms)
{
    if (stale_after_ms > 0)
        return okr_window_s(stale_after_ms);
    if (source_interval_ms > 0)
        return okr_window_s(3 * source_interval_ms);
    return 2 * OKR_DAY_S;
}

/* A plain (non-ratio) metric: config/ refuses ratios of ratios. */
static int64_t plain_stale_after_s(const struct cfg *cfg, const char *metric)
{
    const struct cfg_metric *m = cfg_find_metric(cfg, metric);
    return okr_stale_after_s(m ? m->stale_after_ms : 0, cfg_metric_poll_interval_ms(cfg, metric));
}

int64_t okr_metric_stale_after_s(const struct cfg *cfg, const char *metric)
{
    const struct cfg_metric *m = cfg_find_metric(cfg, metric);
    if (!m || m->stale_after_ms > 0 || !m->ratio_num)
        return plain_stale_after_s(cfg, metric);
    int64_t num = plain_stale_after_s(cfg, m->ratio_num);
    int64_t den = plain_stale_after_s(cfg, m->ratio_den);
    return num > den ? num : den;
}

/* ---- the invalid reason, without stdio ---- */

static void cat(char *buf, size_t *len, const char *s)
{
    while (*s && *len + 1 < OKR_REASON_MAX)
        buf[(*len)++] = *s++;
    buf[*len] = '\0';
}

static void cat_num(char *buf, size_t *len, double v)
{
    char num[40];
    okrd_format_double(v, num, sizeof num);
    cat(buf, len, num);
}

/* "target 900 is not above the baseline 1000 for an increase" */
static void invalid_reason(struct okr_result *r, bool increase)
{
    size_t len = 0;
    r->reason[0] = '\0';
    cat(r->reason, &len, "target ");
    cat_num(r->reason, &len, r->target);
    cat(r->reason, &len, increase ? " is not above the baseline " : " is not below the baseline ");
    cat_num(r->reason, &len, r->baseline);
    cat(r->reason, &len, increase ? " for an increase" : " for a decrease");
}

/* ---- day passes ---- */

/* The trend projection: the least-squares line through v at the end of each
 * of the last `days` days up to t's own day (v at t for that day; days where
 * v is defined), evaluated at e. x is counted in days from t. False with
 * fewer than 3 such days. */
static bool trend_at_end(const struct cfg_key_result *kr, const struct okr_series *s,
                         const struct okrd_tz *tz, int64_t t, double *out)
{
    int64_t ms = kr->trend_window_ms;
    int64_t days = ms / (OKR_DAY_S * 1000LL) + (ms % (OKR_DAY_S * 1000LL) != 0);
    if (days < 3)
        return false;
    struct okr_days d;
    okr_days_init(&d, tz, okr_days_back(tz, okr_day_start(tz, t), days - 1));

    struct okr_walk w;
    struct pace_lsq q = { 0 };
    okr_walk_init(&w, &kr->aggregate, kr->objective->cycle.start_s, s, d.start);
    for (;;) {
        int64_t next = okr_days_next(&d);
        int64_t at = next - 1 < t ? next - 1 : t;
        double v;
        if (okr_walk_value(&w, at, &v))
            pace_lsq_add(&q, (double)(at - t) / OKR_DAY_S, v);
        if (at >= t)
            break;
    }
    if (q.n < 3.0)
        return false;
    double e_days = (double)(kr->objective->cycle.end_s - t) / OKR_DAY_S;
    return pace_lsq_at(&q, e_days, out);
}

/* Does v keep the level? 2 = meets T, 1 = misses by no more than the margin,
 * 0 = worse. */
static int level(const struct cfg_key_result *kr, double v, double target)
{
    double slack = kr->margin * fabs(target);
    if (kr->direction == CFG_DIR_AT_LEAST)
        return v >= target ? 2 : v >= target - slack ? 1 : 0;
    return v <= target ? 2 : v <= target + slack ? 1 : 0;
}

/* The share of days from the start day to the day of t whose value (v at the
 * end of the day, at t for t's own day) met T, counting only days on which v
 * is defined. NaN when no day counts. */
static double share_of_days(const struct cfg_key_result *kr, const struct okr_series *s,
                            const struct okrd_tz *tz, int64_t t, double target)
{
    int64_t start = kr->objective->cycle.start_s;
    size_t counted = 0, met = 0;
    struct okr_days d;
    okr_days_init(&d, tz, okr_day_start(tz, start));
    struct okr_walk w;
    okr_walk_init(&w, &kr->aggregate, start, s, d.start);
    while (d.start <= t) {
        int64_t next = okr_days_next(&d);
        int64_t at = next - 1 < t ? next - 1 : t;
        double v;
        if (okr_walk_value(&w, at, &v)) {
            counted++;
            met += level(kr, v, target) == 2;
        }
    }
    return counted ? (double)met / (double)counted : NAN;
}

/* ---- evaluation ---- */

static void eval_level(const struct cfg_key_result *kr, const struct okr_series *s,
                       const struct okrd_tz *tz, int64_t now_s, int64_t t, bool has_v,
                       struct okr_result *r)
{
    const struct cfg_cycle *c = &kr->objective->cycle;
    if (isnan(r->target) || (!r->final && !has_v))
        return;                              /* no_data */
    if (!r->final && now_s < c->start_s) {
        r->status = OKR_PENDING;             /* the cycle has not started */
        return;
    }
    double share = share_of_days(kr, s, tz, t, r->target);
    if (isnan(share))
        return;                              /* final, and no day had data */
    if (r->final) {
        r->status = share >= kr->at_risk ? OKR_ACHIEVED : OKR_MISSED;
        r->score = r->projected_score = pace_round_grade(share);
        return;
    }
    int lv = level(kr, r->value, r->target);
    r->status = lv == 2 ? OKR_ON_TRACK : lv == 1 ? OKR_AT_RISK : OKR_OFF_TRACK;
    r->score = r->projected_score = share;
}

static void evaluate_pace(const struct cfg_key_result *kr, const struct okr_series *s,
                          const struct okrd_tz *tz, int64_t now_s, struct okr_result *out)
{
    const struct cfg_cycle *c = &kr->objective->cycle;
    struct okr_result *r = out;
    r->status = OKR_NO_DATA;
    r->value = r->baseline = r->target = NAN;
    r->progress = r->expected = r->projected_score = r->score = NAN;
    r->reason[0] = '\0';
    memset(&r->forecast, 0, sizeof r->forecast); /* null until okr_forecast fills it */
    size_t n_now = okr_series_upper(s, now_s);
    r->last_point_at = n_now ? s->ts[n_now - 1] : OKR_NO_TS;
    r->final = now_s >= c->end_s;

    /* The series as of t: nothing stamped later counts. */
    int64_t t = r->final ? c->end_s - 1 : now_s;
    struct okr_series cut = { s->ts, s->v, okr_series_upper(s, t) };
    double v, b;
    bool has_v = okr_value_at(kr, &cut, t, &v);
    bool has_b = okr_baseline(kr, &cut, t, &b);
    if (has_v)
        r->value = v;
    if (has_b)
        r->baseline = b;
    r->target = okr_target(&kr->target, has_b ? b : NAN);

    if (kr->direction == CFG_DIR_AT_LEAST || kr->direction == CFG_DIR_AT_MOST) {
        eval_level(kr, &cut, tz, now_s, t, has_v, r);
        return;
    }

    /* increase / decrease */
    double T = r->target;
    if (has_b && !isnan(T)) {
        bool inc = kr->direction == CFG_DIR_INCREASE;
        if (inc ? !(T > b) : !(T < b)) {
            r->status = OKR_INVALID;
            invalid_reason(r, inc);
            return;
        }
    }
    if (!has_v || !has_b || isnan(T))
        return;                              /* no_data */

    double p = (v - b) / (T - b);
    double x = pace_expected_progress(c, kr->milestones, kr->n_milestones, now_s);
    r->progress = p;
    r->expected = x;
    if (r->final) {
        r->status = p >= 1.0 ? OKR_ACHIEVED : OKR_MISSED;
        r->score = r->projected_score = pace_round_grade(pace_clamp01(p));
        return;
    }
    r->score = pace_clamp01(p);

    double P = x > 0.0 ? p / x : NAN;
    double end_value;
    if (kr->projection == CFG_PROJ_TREND && trend_at_end(kr, &cut, tz, t, &end_value))
        P = (end_value - b) / (T - b);
    r->projected_score = P;

    if (p >= 1.0)
        r->status = OKR_ACHIEVED;
    else if (x < kr->grace || !(x > 0.0) || isnan(P))
        r->status = OKR_PENDING;
    else if (P >= kr->at_risk)
        r->status = OKR_ON_TRACK;
    else if (P >= kr->off_track)
        r->status = OKR_AT_RISK;
    else
        r->status = OKR_OFF_TRACK;
}

void okr_evaluate(const struct cfg_key_result *kr, const struct okr_series *s,
                  const struct okrd_tz *tz, int64_t now_s, struct okr_result *out)
{
    evaluate_pace(kr, s, tz, now_s, out);
    /* Last, as it reads the status, baseline and target just found. */
    okr_forecast(kr, s, tz, now_s, out, &out->forecast);
}
