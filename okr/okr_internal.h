/*
 * okr_internal.h — helpers shared by the okr/ files, not part of the API.
 *
 * The window walk: v(t) for a sequence of non-decreasing t (the end of each
 * day of a cycle, the days of a trend window) with pointers that only move
 * forward, so a pass over D days costs O(D + points) rather than
 * O(D log n); a cycle window keeps running sums. It computes every value
 * exactly as pace_value_at() does (same points; sums exact, rounded once),
 * so a day walk and a single evaluation never disagree at a threshold.
 */
#ifndef OKRD_OKR_INTERNAL_H
#define OKRD_OKR_INTERNAL_H

#include "okr.h"

#define OKR_DAY_S 86400

/* An exact sum of doubles (okr_xsum.c): points go in and out in any order
 * and okr_xsum_value() is their exact sum rounded once (to nearest, ties to
 * even), so it depends on the set of points only. No allocation; about
 * 600 bytes. */
#define OKR_XSUM_LIMBS 70
struct okr_xsum {
    int64_t limb[OKR_XSUM_LIMBS];   /* value = sum limb[k] * 2^(32k - 1074) */
    int lo, hi;                     /* the limbs in use; the others are garbage */
    uint32_t ops;                   /* since carries were last settled */
    uint32_t n_pinf, n_ninf, n_nan; /* non-finite inputs, counted apart */
};
void okr_xsum_init(struct okr_xsum *x);
void okr_xsum_add(struct okr_xsum *x, double v);
/* Takes out a value added before. */
void okr_xsum_sub(struct okr_xsum *x, double v);
/* The sum rounded once; 0.0 for an empty sum. Settles carries (hence not
 * const); the value held is unchanged. */
double okr_xsum_value(struct okr_xsum *x);

struct okr_walk {
    enum cfg_agg_fn fn;
    bool cycle;               /* window [cycle_start, t] */
    int64_t window_s;         /* rolling window (t - window_s, t] */
    const struct okr_series *s;
    size_t lo, hi;            /* the window is [lo, hi) */
    struct okr_xsum sum;      /* cycle window: running over [lo, hi) */
    double min, max;
};

/* Seconds of a rolling window: ms rounded up to whole seconds. */
int64_t okr_window_s(int64_t window_ms);

/* Prepares a walk whose first call will be at t >= first_t. */
void okr_walk_init(struct okr_walk *w, const struct cfg_aggregate *agg,
                   int64_t cycle_start_s, const struct okr_series *s, int64_t first_t);
/* v(t); t must not decrease between calls. False = undefined. */
bool okr_walk_value(struct okr_walk *w, int64_t t, double *out);

/* The local midnight starting the day of t (tz NULL = UTC). */
int64_t okr_day_start(const struct okrd_tz *tz, int64_t t);
/* The start of the day K days before the day starting at day_start. */
int64_t okr_days_back(const struct okrd_tz *tz, int64_t day_start, int64_t k);

/* Walks forward day by day: start is the current day's first instant. Keeps
 * the UTC offset of the current midnight so that a day without a DST change
 * costs one offset lookup. */
struct okr_days {
    const struct okrd_tz *tz;
    int64_t start;
    int32_t off;
};
void okr_days_init(struct okr_days *d, const struct okrd_tz *tz, int64_t day_start);
/* Moves to the next day and returns its start. */
int64_t okr_days_next(struct okr_days *d);

/* Streaming least squares (pace.c): add (x, y) pairs, then read the line at
 * x_at; false with fewer than 2 distinct xs. Zero-initialise. */
struct pace_lsq {
    double n, mx, my, cxy, mxx;
};
void pace_lsq_add(struct pace_lsq *q, double x, double y);
bool pace_lsq_at(const struct pace_lsq *q, double x_at, double *out);

#endif
