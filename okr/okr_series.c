/*
 * okr_series.c — series, ratio metrics, and v(t) over aggregate windows.
 *
 * Owns the rules of DESIGN section 4 that turn points into a value: `last`,
 * sum/avg/min/max over "cycle" = [s, t] or a rolling (t - w, t], ratio
 * metrics, the forward-only window walk that day-by-day passes use, and the
 * series walk (v at every point's own timestamp, in one pass) behind the
 * API's series and the dashboard's charts.
 * Leaves baselines, targets and statuses to okr_status.c.
 * Invariant: a window is the index range [lo, hi) of the sorted series; a
 * sum is exact and rounded once (okr_xsum.c) and min/max keep the first
 * extreme from the left, so every path yields the same bits.
 */
#include "okr_internal.h"
#include "common/okrd_math.h"

size_t okr_series_lower(const struct okr_series *s, int64_t t)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ts[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t okr_series_upper(const struct okr_series *s, int64_t t)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ts[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t okr_ratio_series(const struct okr_series *num, const struct okr_series *den,
                        double scale, int64_t *out_ts, double *out_v)
{
    size_t j = 0, k = 0;
    for (size_t i = 0; i < num->n; i++) {
        int64_t t = num->ts[i];
        while (j < den->n && den->ts[j] <= t)
            j++;
        if (j == 0)
            continue;              /* no denominator at or before t yet */
        double d = den->v[j - 1];
        if (d == 0.0)
            continue;
        /* Read before writing: out may be num's own arrays (k <= i). */
        double n = num->v[i];
        out_ts[k] = t;
        out_v[k] = n / d * scale;
        k++;
    }
    return k;
}

int64_t okr_window_s(int64_t window_ms)
{
    /* (t - 1.5 s, t] holds the same integer seconds as (t - 2 s, t]. */
    return window_ms / 1000 + (window_ms % 1000 != 0);
}

/* The value of a sum or avg whose exact sum is X over N points. */
static double sum_value(enum cfg_agg_fn fn, struct okr_xsum *x, size_t n)
{
    double sum = okr_xsum_value(x);
    return fn == CFG_AGG_AVG ? sum / (double)n : sum;
}

/* Reduces v[lo..hi) (non-empty) with fn. */
static double reduce(enum cfg_agg_fn fn, const double *v, size_t lo, size_t hi)
{
    double acc = v[lo];
    switch (fn) {
    case CFG_AGG_SUM:
    case CFG_AGG_AVG: {
        struct okr_xsum x;
        okr_xsum_init(&x);
        for (size_t i = lo; i < hi; i++)
            okr_xsum_add(&x, v[i]);
        return sum_value(fn, &x, hi - lo);
    }
    case CFG_AGG_MIN:
        for (size_t i = lo + 1; i < hi; i++)
            if (v[i] < acc)
                acc = v[i];
        return acc;
    case CFG_AGG_MAX:
        for (size_t i = lo + 1; i < hi; i++)
            if (v[i] > acc)
                acc = v[i];
        return acc;
    case CFG_AGG_LAST:
    default:
        return v[hi - 1];
    }
}

bool pace_value_at(const struct cfg_aggregate *agg, int64_t cycle_start_s,
                   const struct okr_series *s, int64_t t, double *out)
{
    size_t hi = okr_series_upper(s, t), lo;
    if (agg->fn == CFG_AGG_LAST) {
        if (hi == 0)
            return false;
        *out = s->v[hi - 1];
        return true;
    }
    if (agg->window_cycle)
        lo = okr_series_lower(s, cycle_start_s);
    else
        lo = okr_series_upper(s, t - okr_window_s(agg->window_ms));
    if (lo >= hi)
        return false;
    *out = reduce(agg->fn, s->v, lo, hi);
    return true;
}

bool okr_value_at(const struct cfg_key_result *kr, const struct okr_series *s,
                  int64_t t, double *out)
{
    return pace_value_at(&kr->aggregate, kr->objective->cycle.start_s, s, t, out);
}

/* ---- the forward walk ---- */

void okr_walk_init(struct okr_walk *w, const struct cfg_aggregate *agg,
                   int64_t cycle_start_s, const struct okr_series *s, int64_t first_t)
{
    w->fn = agg->fn;
    w->cycle = agg->fn != CFG_AGG_LAST && agg->window_cycle;
    w->window_s = okr_window_s(agg->window_ms);
    w->s = s;
    okr_xsum_init(&w->sum);
    w->min = w->max = 0.0;
    if (w->cycle) {
        /* Running sums must start at the cycle's first point. */
        w->lo = w->hi = okr_series_lower(s, cycle_start_s);
    } else {
        w->hi = okr_series_lower(s, first_t);
        w->lo = agg->fn == CFG_AGG_LAST ? 0 : okr_series_upper(s, first_t - w->window_s);
        if (w->lo > w->hi)
            w->lo = w->hi;
    }
}

bool okr_walk_value(struct okr_walk *w, int64_t t, double *out)
{
    const struct okr_series *s = w->s;
    if (w->cycle) {
        while (w->hi < s->n && s->ts[w->hi] <= t) {
            double x = s->v[w->hi];
            if (w->hi == w->lo) {
                w->min = w->max = x;
            } else {
                if (x < w->min)
                    w->min = x;
                if (x > w->max)
                    w->max = x;
            }
            okr_xsum_add(&w->sum, x);
            w->hi++;
        }
        if (w->hi == w->lo)
            return false;
        switch (w->fn) {
        case CFG_AGG_SUM:
        case CFG_AGG_AVG: *out = sum_value(w->fn, &w->sum, w->hi - w->lo); break;
        case CFG_AGG_MIN: *out = w->min; break;
        default:          *out = w->max; break;
        }
        return true;
    }
    while (w->hi < s->n && s->ts[w->hi] <= t)
        w->hi++;
    if (w->fn == CFG_AGG_LAST) {
        if (w->hi == 0)
            return false;
        *out = s->v[w->hi - 1];
        return true;
    }
    while (w->lo < w->hi && s->ts[w->lo] <= t - w->window_s)
        w->lo++;
    if (w->lo >= w->hi)
        return false;
    *out = reduce(w->fn, s->v, w->lo, w->hi);
    return true;
}

/* ---- v at every point: the series walk ---- */

/* A sliding min (or max) over indices: scratch holds the window's
 * candidates, oldest first, values non-decreasing (non-increasing for max).
 * Only a strictly better newcomer evicts, so among equal values the oldest
 * stays in front: the same point reduce() picks. */
struct extreme_queue {
    size_t *q;
    size_t head, tail;
    bool max;
};

static void queue_push(struct extreme_queue *e, const double *v, size_t j)
{
    while (e->tail > e->head &&
           (e->max ? v[e->q[e->tail - 1]] < v[j] : v[e->q[e->tail - 1]] > v[j]))
        e->tail--;
    e->q[e->tail++] = j;
}

size_t pace_series_values(const struct cfg_aggregate *agg, int64_t cycle_start_s,
                          const struct okr_series *s, size_t first, size_t *scratch,
                          int64_t *out_ts, double *out_v)
{
    size_t k = 0, n = s->n;
    if (first >= n)
        return 0;
    if (agg->fn == CFG_AGG_LAST) {
        for (size_t i = first; i < n; i++, k++) {
            out_ts[k] = s->ts[i];
            out_v[k] = s->v[i];
        }
        return k;
    }
    bool sums = agg->fn == CFG_AGG_SUM || agg->fn == CFG_AGG_AVG;
    struct okr_xsum x;
    okr_xsum_init(&x);
    if (agg->window_cycle) {
        /* [lo, i]: running over the cycle's points up to each point. */
        size_t lo = okr_series_lower(s, cycle_start_s), hi = lo;
        double min = 0, max = 0;
        for (size_t i = first; i < n; i++) {
            if (i < lo)
                continue;      /* stamped before the cycle: v undefined */
            for (; hi <= i; hi++) {
                double y = s->v[hi];
                if (sums)
                    okr_xsum_add(&x, y);
                else if (hi == lo)
                    min = max = y;
                else if (y < min)
                    min = y;
                else if (y > max)
                    max = y;
            }
            out_ts[k] = s->ts[i];
            out_v[k++] = sums ? sum_value(agg->fn, &x, hi - lo)
                              : agg->fn == CFG_AGG_MIN ? min : max;
        }
        return k;
    }
    /* Rolling (t - w, t] at t = ts[i]: [lo, i], lo moving forward. */
    int64_t w = okr_window_s(agg->window_ms);
    size_t lo = okr_series_upper(s, s->ts[first] - w), hi = lo;
    struct extreme_queue e = { scratch, 0, 0, agg->fn == CFG_AGG_MAX };
    for (size_t i = first; i < n; i++) {
        for (; hi <= i; hi++) {
            if (sums)
                okr_xsum_add(&x, s->v[hi]);
            else
                queue_push(&e, s->v, hi);
        }
        for (; s->ts[lo] <= s->ts[i] - w; lo++)
            if (sums)
                okr_xsum_sub(&x, s->v[lo]);
        if (!sums)
            while (e.q[e.head] < lo)
                e.head++;
        out_ts[k] = s->ts[i];
        out_v[k++] = sums ? sum_value(agg->fn, &x, hi - lo) : s->v[e.q[e.head]];
    }
    return k;
}

size_t okr_series_values(const struct cfg_key_result *kr, const struct okr_series *s,
                         size_t first, size_t *scratch, int64_t *out_ts, double *out_v)
{
    return pace_series_values(&kr->aggregate, kr->objective->cycle.start_s, s, first, scratch,
                              out_ts, out_v);
}

/* ---- days in daemon.timezone ---- */

int64_t okr_day_start(const struct okrd_tz *tz, int64_t t)
{
    if (!tz)
        return okrd_floor_div(t, OKR_DAY_S) * OKR_DAY_S;
    return okrd_tz_day_start(tz, t);
}

int64_t okr_days_back(const struct okrd_tz *tz, int64_t day_start, int64_t k)
{
    if (!tz)
        return day_start - k * OKR_DAY_S;
    /* Count in local days, not in 24-hour steps, which drift by an hour
     * across a DST change. */
    int64_t local = day_start + okrd_tz_offset_at(tz, day_start);
    int64_t midnight = okrd_floor_div(local, OKR_DAY_S) * OKR_DAY_S - k * OKR_DAY_S;
    int64_t r = okrd_tz_day_start(tz, okrd_tz_local_to_utc(tz, midnight));
    if (r >= day_start && k > 0)       /* that calendar day was skipped */
        r = okrd_tz_day_start(tz, day_start - 1);
    return r;
}

void okr_days_init(struct okr_days *d, const struct okrd_tz *tz, int64_t day_start)
{
    d->tz = tz;
    d->start = day_start;
    d->off = tz ? okrd_tz_offset_at(tz, day_start) : 0;
}

int64_t okr_days_next(struct okr_days *d)
{
    if (!d->tz)
        return d->start += OKR_DAY_S;
    /* One offset lookup a day: the next local midnight at today's offset;
     * if the offset there is still today's, that is the instant. (A day
     * whose midnight fell into a DST gap starts at 01:00, hence the floor.) */
    int64_t local_next = (okrd_floor_div(d->start + d->off, OKR_DAY_S) + 1) * OKR_DAY_S;
    int64_t guess = local_next - d->off;
    if (okrd_tz_offset_at(d->tz, guess) == d->off)
        return d->start = guess;
    /* A DST change today: local days last 23 to 25 hours, so 36 hours in is
     * always the next day (a skipped calendar day, as Samoa's in 2011, is
     * skipped here too). */
    d->start = okrd_tz_day_start(d->tz, d->start + 36 * 3600);
    d->off = okrd_tz_offset_at(d->tz, d->start);
    return d->start;
}
