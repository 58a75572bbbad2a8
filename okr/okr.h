/*
 * okr.h — the OKR model and its pace math (DESIGN section 4).
 *
 * Pure functions of (key result, series, time zone, now): no I/O, no clock,
 * no allocation, no global state; safe to call from any thread. The caller
 * (daemon/, api/, the CLI) reads series from the store, hands them in, and
 * keeps the results. Prefixes: `okr_` for the model (evaluation, statuses,
 * roll-up), `pace_` for the lower-level math it is built on.
 *
 * Files: okr_series.c (series, ratio metrics, v(t) over windows, the
 * series walk), okr_xsum.c (exact sums),
 * pace.c (expected progress, projections, rounding), okr_status.c (one key
 * result's baseline, target, status and score), okr_rollup.c (objectives),
 * okr_lint.c (the OKR-practice advice of `okrd check`); okr_snapshot.h
 * (one evaluation's output) and okr_view.c (its JSON view, jansson objects
 * in memory, no I/O) are what alerts/, api/ and the CLI read.
 *
 * Conventions: instants are UTC Unix seconds (int64_t *_s), an undefined
 * number is NaN (test with isnan(); JSON shows it as null, /metrics omits it),
 * and "the day of t" is the calendar day in daemon.timezone (struct okrd_tz,
 * NULL = UTC). A point stamped at a day's midnight belongs to that day; "v at
 * the end of day D" is v at the next midnight minus one second.
 */
#ifndef OKRD_OKR_H
#define OKRD_OKR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../common/checkin.h"
#include "../common/tz.h"
#include "../config/config.h"

/* ---- series ---- */

/* One metric's points, sorted by ts ascending, at most one point per ts (the
 * store's upsert guarantees it). The arrays are the caller's; the engine only
 * reads them during a call and keeps no pointer. */
struct okr_series {
    const int64_t *ts;
    const double *v;
    size_t n;
};

/* "No timestamp" (no point at all), e.g. in okr_result.last_point_at. */
#define OKR_NO_TS INT64_MIN

/* Index of the first point with ts >= t (lower bound) / ts > t (upper bound);
 * binary search, n when there is none. */
size_t okr_series_lower(const struct okr_series *s, int64_t t);
size_t okr_series_upper(const struct okr_series *s, int64_t t);

/* A ratio metric's series (DESIGN section 4): one point at each numerator ts
 * where the denominator has a point at or before it, valued
 * num / (the denominator's newest value at that ts) * scale; a zero
 * denominator gives no point. Writes into out_ts/out_v, which the caller owns
 * and sizes for num->n points; they may be num's own arrays (in-place) but not
 * den's. Returns the number of points written. One pass over both series. */
size_t okr_ratio_series(const struct okr_series *num, const struct okr_series *den,
                        double scale, int64_t *out_ts, double *out_v);

/* ---- value at t ---- */

/* v(t) for an aggregate: `last` = the newest point with ts <= t; sum/avg/min/
 * max over the window: "cycle" = [cycle_start_s, t], a duration w =
 * (t - w, t] (excludes t - w, includes t; sub-second parts of w round the
 * window up to whole seconds). Returns false (v undefined) when no point falls
 * in the window; *out is then left alone. A sum is the window's exact sum
 * rounded once (avg: that over the count), min/max the first extreme from
 * the left, so every caller (single value, day walks, series walks) gets
 * bit-identical numbers for the same window, whatever its path. */
bool pace_value_at(const struct cfg_aggregate *agg, int64_t cycle_start_s,
                   const struct okr_series *s, int64_t t, double *out);

/* Same for a key result: its aggregate, its objective's cycle start. */
bool okr_value_at(const struct cfg_key_result *kr, const struct okr_series *s,
                  int64_t t, double *out);

/* v(t) at each point's own timestamp t = s->ts[i], for i from FIRST to the
 * end, in one forward walk: O(n) (plus the window's points before FIRST),
 * where calling pace_value_at per point costs O(n x window). Each value is
 * bit-identical to pace_value_at(agg, cycle_start_s, s, s->ts[i]). Points
 * where v is undefined (before the cycle start, for a cycle window) are left
 * out; the others are written as (out_ts[k], out_v[k]), which the caller
 * sizes for s->n - first entries. SCRATCH has room for s->n indices (a
 * rolling min/max keeps its candidates there; unused otherwise). Returns
 * how many points were written. No allocation. */
size_t pace_series_values(const struct cfg_aggregate *agg, int64_t cycle_start_s,
                          const struct okr_series *s, size_t first, size_t *scratch,
                          int64_t *out_ts, double *out_v);

/* Same for a key result: its aggregate, its objective's cycle start. */
size_t okr_series_values(const struct cfg_key_result *kr, const struct okr_series *s,
                         size_t first, size_t *scratch, int64_t *out_ts, double *out_v);

/* ---- baseline and target ---- */

/* The baseline b as known at time t (only points with ts <= t count): the
 * configured number; or, for "auto", 0 for a sum over the cycle, else
 * v(s - 1 s), else the value of the first point inside the cycle
 * ([s, e), and <= t). Returns false when it is still undefined (auto, no data
 * yet). */
bool okr_baseline(const struct cfg_key_result *kr, const struct okr_series *s,
                  int64_t t, double *out);

/* The target T from baseline b: absolute = the number; +N% / -N% =
 * b * (1 + N/100); +N / -N = b + N. A relative target with an undefined
 * baseline (b NaN) gives NaN. */
double okr_target(const struct cfg_target *target, double b);

/* ---- pace ---- */

/* Expected progress x at t: linear clamp((t - s) / (e - s), 0, 1), or, with
 * milestones, piecewise-linear through (s, 0), each milestone (at_s, progress)
 * and (e, 1); 0 before s, 1 from e on. Milestones must be in date order;
 * ones outside (s, e] are ignored, and of two on the same day the later wins. */
double pace_expected_progress(const struct cfg_cycle *cycle,
                              const struct cfg_milestone *milestones, size_t n_milestones,
                              int64_t t);

/* The least-squares line through (xs[i], ys[i]) evaluated at x_at. Returns
 * false with fewer than 2 distinct xs. Centers the xs first, so Unix seconds
 * lose no precision. */
bool pace_least_squares_at(const double *xs, const double *ys, size_t n, double x_at,
                           double *out);

/* Rounds a score to a final grade, 0.01 steps, halves up (with a 1e-9 slack
 * so that 0.675 computed as 0.67499999999 still rounds to 0.68). */
double pace_round_grade(double score);

/* clamp(v, 0, 1); NaN stays NaN. */
double pace_clamp01(double v);

/* ---- one key result ---- */

/* Statuses in the order DESIGN checks them. okr_status_name() gives the
 * string used in JSON, the store, metrics labels and webhook event names. */
enum okr_status {
    OKR_INVALID,    /* auto baseline makes the target unreachable; see reason */
    OKR_NO_DATA,    /* v(t) undefined (or the baseline it needs, before data) */
    OKR_ACHIEVED,
    OKR_MISSED,     /* only from the cycle end on */
    OKR_PENDING,    /* too early to judge (x < grace, or before the start) */
    OKR_ON_TRACK,
    OKR_AT_RISK,
    OKR_OFF_TRACK,
};
#define OKR_N_STATUSES 8

/* "invalid", "no_data", "achieved", "missed", "pending", "on_track",
 * "at_risk", "off_track"; "unknown" for anything else. Static strings. */
const char *okr_status_name(enum okr_status st);
/* The inverse (exact match); false for an unknown name. */
bool okr_status_parse(const char *name, enum okr_status *out);

#define OKR_REASON_MAX 160

/* ---- forecast (DESIGN section 9; okr_forecast.c) ---- */

enum okr_forecast_of { OKR_FORECAST_VALUE, OKR_FORECAST_SHARE };

/* How likely the key result is to reach its target at the end. defined ==
 * false is JSON null (before s, from e on, no_data, invalid, undefined
 * baseline/target, fewer than 3 trend days, no share days, D + R = 0).
 * For of == VALUE the fitted line and its spread are kept so the dashboard
 * can draw the band per day: value at x days from t = a + b*x, se(x) =
 * s*sqrt(1 + 1/n + (x - xbar)^2 / sxx), band = value + q*se(x) with q10/q90
 * (0 for an exact line: s == 0). */
struct okr_forecast {
    bool defined;
    enum okr_forecast_of of;
    double probability;          /* 0..1 */
    double p10, p50, p90;        /* value at e (VALUE) or final share (SHARE) */
    double a, b, s, xbar, sxx;   /* VALUE only */
    int n;                       /* VALUE: points in the fit */
    double q10, q90;             /* VALUE: F_nu^-1(0.10), F_nu^-1(0.90) */
};

/* Student's t CDF F_nu(x) for integer nu >= 1 (closed form, Abramowitz &
 * Stegun 26.7.3-26.7.4) and its inverse by bisection (to 1e-10). */
double okr_t_cdf(int nu, double x);
double okr_t_quantile(int nu, double p);

/* The value of the band at X_DAYS from t for quantile factor Q (q10, 0 or
 * q90): a + b*x + q*se(x). NaN when f is not a defined VALUE forecast. */
double okr_forecast_band(const struct okr_forecast *f, double x_days, double q);

/* Everything the daemon, the API and alerts show about one key result at t.
 * NaN = undefined (JSON null):
 *  value            v(t), or v(e - 1 s) from e on; NaN when no point in window
 *  baseline         b; NaN while an auto baseline has no data
 *  target           T; NaN while a relative target's baseline is undefined
 *  progress         p = (v - b) / (T - b), unclamped; NaN for at_least/at_most
 *                   and whenever v, b or T is undefined or status is invalid
 *  expected         x, the pace's expected progress; NaN whenever progress is
 *  projected_score  P: average p / x (NaN while x == 0), trend, or for
 *                   at_least/at_most the share of days; unclamped for
 *                   increase/decrease; from e on equal to score
 *  score            clamp(p, 0, 1) or the share of days; from e on the final
 *                   grade (rounded to 0.01); NaN for no_data and invalid
 *  last_point_at    newest point with ts <= t (not cut at e), or OKR_NO_TS
 *  final            t >= e: status is achieved/missed (or no_data/invalid)
 *  reason           for invalid: why, e.g. "target 900 is not above the
 *                   baseline 1000 for an increase"; "" otherwise */
struct okr_result {
    enum okr_status status;
    double value;
    double baseline;
    double target;
    double progress;
    double expected;
    double projected_score;
    double score;
    int64_t last_point_at;
    bool final;
    char reason[OKR_REASON_MAX];
    struct okr_forecast forecast; /* section 9; filled by okr_evaluate */
};

/* Evaluates key result KR (its objective's cycle in kr->objective) against its
 * metric's series S (for a ratio metric, the okr_ratio_series output) at
 * now_s, with day boundaries in TZ (daemon.timezone; NULL = UTC). Fills *out
 * completely. No allocation; O(log n) plus the window's points, plus one pass
 * over the days for trend (trend_window days) and at_least/at_most (the cycle's
 * days so far). kr->objective must not be NULL.
 *
 * Where DESIGN leaves room, this is what it does:
 *  - as of t: points stamped after t (after e - 1 s from e on) never count,
 *    not even for an auto baseline's "first point inside the cycle";
 *  - before s: increase/decrease follow the rule order (x = 0, so pending
 *    unless p >= 1); at_least/at_most are pending (no score) once v exists;
 *  - x == 0 (at s exactly) leaves P = p / x undefined: pending even with
 *    grace 0;
 *  - trend: the last ceil(trend_window / 1 day) days, t's own day included
 *    (its v taken at t, as for at_least), x measured in days from t; days
 *    before s count when v is defined there;
 *  - from e on with v(e - 1 s) undefined: no_data (increase/decrease);
 *    at_least/at_most grade the days that had a value;
 *  - at_least/at_most with v(t) undefined during the cycle: no_data, no
 *    score (it would be left out of the objective anyway);
 *  - the target check (invalid) applies to any baseline, so a bad explicit
 *    one that slipped past config/ cannot divide by zero. */
void okr_evaluate(const struct cfg_key_result *kr, const struct okr_series *s,
                  const struct okrd_tz *tz, int64_t now_s, struct okr_result *out);

/* The forecast of section 9 for KR at T, given its evaluation R at T (for
 * the status, baseline and target) and the same series. okr_evaluate calls
 * it for out->forecast; exposed for tests. Pure, no allocation. */
void okr_forecast(const struct cfg_key_result *kr, const struct okr_series *s,
                  const struct okrd_tz *tz, int64_t t, const struct okr_result *r,
                  struct okr_forecast *out);

/* ---- check-ins: the effective status (DESIGN section 8; okr_checkin.c) ---- */

/* The effective status at T: LATEST's override (LATEST = the newest check-in
 * of the key result's cycle with at_s <= T; NULL when there is none) while
 * it holds -- LATEST has a status, at_s <= T < until_s -- and COMPUTED is
 * one that may be overridden (pending, no_data, on_track, at_risk,
 * off_track; achieved, missed and invalid are facts); else COMPUTED.
 * *override_until (may be NULL): until_s while the override holds, else
 * OKR_NO_TS. A later check-in without status ends an override simply by
 * being the latest. */
enum okr_status okr_effective_status(enum okr_status computed, const struct okrd_checkin *latest,
                                     int64_t t, int64_t *override_until);

/* ---- staleness ---- */

/* A metric is stale when its newest point is older than stale_after_s:
 * now_s - last_point_ts > stale_after_s. A metric with no point at all
 * (OKR_NO_TS) is not stale: its key results are no_data, and the source's own
 * health reports a source that never delivers. */
bool okr_is_stale(int64_t last_point_ts, int64_t stale_after_s, int64_t now_s);

/* The stale_after in seconds for a metric: the configured stale_after_ms when
 * > 0; else 3 x the producing source's interval_ms when > 0 (polled
 * sources); else 2 days (CSV, push, or no known source). Sub-second parts
 * round up. */
int64_t okr_stale_after_s(int64_t stale_after_ms, int64_t source_interval_ms);

/* The same for METRIC as CFG configures it: its own stale_after, else the
 * default above for the polled source that feeds it. A ratio metric without
 * its own stale_after takes the LONGER of its numerator's and denominator's
 * stale_after (each its own or its source's default): a ratio is only fresh
 * while both inputs are, so it must not be called stale before the slower
 * input could have delivered; e.g. polled every 1m over a daily CSV: 2d,
 * both polled (1m, 15m): 45m. */
int64_t okr_metric_stale_after_s(const struct cfg *cfg, const char *metric);

/* ---- objectives ---- */

/* An objective's status comes from its projected score with these thresholds
 * (objectives configure none; these are the key-result defaults). */
#define OKR_OBJ_AT_RISK 0.9
#define OKR_OBJ_OFF_TRACK 0.7
#define OKR_NO_PARENT ((size_t)-1)

/* One objective for okr_rollup(): its parent's index in the same array
 * (OKR_NO_PARENT = top level) and its weight in that parent. */
struct okr_rollup_obj {
    size_t parent;
    double weight;
};

/* One key result for okr_rollup(): the index of its objective, its weight and
 * its evaluation (read during the call only). */
struct okr_rollup_kr {
    size_t objective;
    double weight;
    const struct okr_result *result;
};

/* An objective's roll-up. score / projected_score are weighted averages of
 * its members — its own key results that have a score (not no_data/invalid)
 * and its child objectives that have one — each clamped to [0, 1] first.
 * status: no_data without members; pending when every member is pending or
 * no member has a projected score yet; else on_track (P >= 0.9), at_risk
 * (P >= 0.7), off_track. depth: 0 for a top-level objective, 1 for its
 * children, ... The acc_* fields are working sums, kept for debugging. */
struct okr_objective_result {
    enum okr_status status;
    double score;
    double projected_score;
    int depth;
    double acc_w, acc_score, acc_wp, acc_proj;
    size_t acc_members, acc_pending;
};

/* Rolls key results up into objectives, children into parents, recursively.
 * out has n_objs entries (caller-owned). No allocation: O(n_krs + n_objs x
 * depth). Returns 0, or OKRD_EINVAL when a parent index is out of range or
 * the parents form a cycle (config/ rejects both; out is then unspecified). */
int okr_rollup(const struct okr_rollup_obj *objs, size_t n_objs,
               const struct okr_rollup_kr *krs, size_t n_krs,
               struct okr_objective_result *out);

/* The same straight from the config: OBJS is cfg->objectives (parents are
 * pointers into it), KR_RESULTS holds one result per key result in config
 * order (objective 0's key results, then objective 1's, ...), out has n_objs
 * entries. */
int okr_rollup_cfg(const struct cfg_objective *objs, size_t n_objs,
                   const struct okr_result *kr_results,
                   struct okr_objective_result *out);

/* ---- OKR-practice lints for `okrd check` (okr_lint.c) ---- */

/* One piece of advice: the objective or key result it is about (its id and
 * where it was configured, both owned by the struct cfg) and a static,
 * lowercase message to print after "FILE:LINE:COL: warning: ID: ". */
struct okr_lint {
    const char *id;
    const struct cfg_pos *pos;
    const char *message;
};

/* Lints objective O: fewer than 2 (but some) or more than 5 key results, a
 * cycle longer than a year; with SERIES (one per key result, in order; NULL
 * to skip) a metric that only ever holds 0/1 and a `last` aggregate over a
 * metric with a weekly pattern; with RESULTS (one per key result, evaluated
 * now; NULL to skip) every key result achieved at the end of the cycle.
 * Writes at most cap lints to out; returns how many there are (may be more). */
size_t okr_lint_objective(const struct cfg_objective *o, const struct okr_series *series,
                          const struct okr_result *results, const struct okrd_tz *tz,
                          struct okr_lint *out, size_t cap);

/* The same from facts the caller found without reading whole histories
 * (`okrd check` asks the store, see okr_weekly_pattern_days): FACTS has one
 * entry per key result, in order (NULL to skip the data lints). */
struct okr_lint_facts {
    bool binary;          /* okr_series_is_binary of the metric's history */
    bool weekly_pattern;  /* okr_series_has_weekly_pattern of it */
};
size_t okr_lint_objective_facts(const struct cfg_objective *o, const struct okr_lint_facts *facts,
                                const struct okr_result *results, struct okr_lint *out,
                                size_t cap);

/* The days the weekly-pattern lint reads for a metric whose newest point
 * is at NEWEST_TS: writes OKR_WEEKLY_DAYS + 1 day starts (in tz) to bounds,
 * day k being [bounds[k], bounds[k+1]), and returns that count. The newest
 * point of each day (nothing else of the history) given to
 * okr_series_has_weekly_pattern() gives the answer the whole history gives. */
#define OKR_WEEKLY_DAYS 56
size_t okr_weekly_pattern_days(const struct okrd_tz *tz, int64_t newest_ts, int64_t *bounds);

/* The predicates behind it. Binary: at least 2 points, all 0 or 1. Longer
 * than a year: the end day is on or after the start day's anniversary.
 * Weekly pattern: over the last 8 weeks of daily values (a day's newest
 * point, days in tz; at least 21 days), the weekday explains >= 60% of the
 * variation left around a centred 7-day mean, and the weekday means spread
 * by >= 5% of the level. All achieved: n > 0 and every result final and
 * achieved. */
bool okr_series_is_binary(const struct okr_series *s);
bool okr_cycle_longer_than_a_year(const struct cfg_cycle *c);
bool okr_series_has_weekly_pattern(const struct okr_series *s, const struct okrd_tz *tz);
bool okr_all_achieved(const struct okr_result *results, size_t n);

#endif
