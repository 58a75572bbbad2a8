/*
 * pace.c — the pace math: expected progress (linear or milestones), the
 * least-squares line behind the `trend` projection, clamping and the
 * rounding of final grades.
 *
 * Knows cycles and milestones, not key results or series (okr_status.c
 * combines them). Every function is total: odd input (an empty cycle, a
 * milestone outside it) gives a defined answer, never a division by zero.
 */
#include <math.h>
#include "okr_internal.h"

double pace_clamp01(double v)
{
    if (v < 0.0)
        return 0.0;
    if (v > 1.0)
        return 1.0;
    return v;                 /* NaN falls through unchanged */
}

double pace_round_grade(double score)
{
    if (isnan(score))
        return score;
    return floor(score * 100.0 + 0.5 + 1e-9) / 100.0;
}

/* Linear between (t0, p0) and (t1, p1), t0 <= t < t1. */
static double lerp(int64_t t0, double p0, int64_t t1, double p1, int64_t t)
{
    return p0 + (p1 - p0) * ((double)(t - t0) / (double)(t1 - t0));
}

double pace_expected_progress(const struct cfg_cycle *cycle,
                              const struct cfg_milestone *milestones, size_t n_milestones,
                              int64_t t)
{
    int64_t s = cycle->start_s, e = cycle->end_s;
    if (t >= e)
        return 1.0;
    if (t <= s)
        return 0.0;
    /* Knots: (s, 0), each milestone in (s, e], (e, 1). A milestone at e
     * (the end day's) shapes the last stretch; 1 is reached only at e. */
    int64_t t0 = s;
    double p0 = 0.0;
    for (size_t i = 0; i < n_milestones; i++) {
        int64_t at = milestones[i].at_s;
        double p = milestones[i].progress;
        if (at <= s || at > e || at < t0)
            continue;             /* outside the cycle, or out of order */
        if (t < at)
            return lerp(t0, p0, at, p, t);
        t0 = at;                  /* of two on the same day, the later wins */
        p0 = p;
    }
    if (t0 >= e)
        return p0;                /* unreachable: t < e <= t0 returned above */
    return lerp(t0, p0, e, 1.0, t);
}

/* ---- least squares ---- */

/* Welford-style running means and co-moments: one pass, no cancellation
 * between large sums. */
void pace_lsq_add(struct pace_lsq *q, double x, double y)
{
    q->n += 1.0;
    double dx = x - q->mx;
    q->mx += dx / q->n;
    q->my += (y - q->my) / q->n;
    q->cxy += dx * (y - q->my);
    q->mxx += dx * (x - q->mx);
}

bool pace_lsq_at(const struct pace_lsq *q, double x_at, double *out)
{
    if (!(q->mxx > 0.0))
        return false;         /* fewer than 2 distinct xs */
    *out = q->my + q->cxy / q->mxx * (x_at - q->mx);
    return true;
}

bool pace_least_squares_at(const double *xs, const double *ys, size_t n, double x_at,
                           double *out)
{
    if (n < 2)
        return false;
    /* Center on the first x so that Unix seconds keep their precision. */
    double x0 = xs[0];
    struct pace_lsq q = { 0 };
    for (size_t i = 0; i < n; i++)
        pace_lsq_add(&q, xs[i] - x0, ys[i]);
    return pace_lsq_at(&q, x_at - x0, out);
}
