/*
 * test_okr.c — the OKR engine (okr/) against DESIGN section 4, by tables.
 *
 * Every table row is a real key result in a particular situation; every
 * expected number is worked out by hand in the row (exact arithmetic, checked
 * to 1e-9), and every failure message starts with the row's name. Key results
 * and objectives are built here as plain structs, not through the JSON loader.
 * Times: Q4 is 2026-10-01T00:00:00Z; the Q4 cycle has 92 days, so t = Q4 + 46
 * days is x = 0.5 exactly.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "okr/okr.h"
#include "okr/okr_internal.h"

#define DAY 86400LL
#define HOUR 3600LL
#define Q4 1790812800LL          /* 2026-10-01T00:00:00Z */
#define D(d) (Q4 + (d) * DAY)    /* midnight starting day d of the cycle (UTC) */
#define U NAN                    /* undefined */
#define NO_CHECK 0               /* last_at: not checked */

struct pt {
    int64_t ts;
    double v;
};

#define PTS(...) .pts = (const struct pt[]){ __VA_ARGS__ }, \
                 .n_pts = sizeof((const struct pt[]){ __VA_ARGS__ }) / sizeof(struct pt)

/* ---- failure reporting: every message names the case ---- */

static int failures;

static void fail_case(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail_case(const char *name, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("%s: %s\n", name, msg);
    failures++;
}

static void check_num(const char *name, const char *what, double got, double want)
{
    if (isnan(want) || isnan(got)) {
        if (isnan(want) != isnan(got))
            fail_case(name, "%s = %.17g, want %.17g", what, got, want);
        return;
    }
    if (fabs(got - want) > 1e-9 * fmax(1.0, fabs(want)))
        fail_case(name, "%s = %.17g, want %.17g", what, got, want);
}

static void check_int(const char *name, const char *what, long long got, long long want)
{
    if (got != want)
        fail_case(name, "%s = %lld, want %lld", what, got, want);
}

static void check_str(const char *name, const char *what, const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        fail_case(name, "%s = \"%s\", want \"%s\"", what, got, want);
}

static void begin(void)
{
    failures = 0;
}

static void end(void)
{
    assert_int_equal(failures, 0);
}

static struct okr_series series_of(const struct pt *pts, size_t n, int64_t *ts, double *v)
{
    for (size_t i = 0; i < n; i++) {
        ts[i] = pts[i].ts;
        v[i] = pts[i].v;
    }
    return (struct okr_series){ ts, v, n };
}

/* ---- key results built by hand ---- */

enum cyc { CYC_Q4, CYC_OCT, CYC_10D, CYC_3D, CYC_BERLIN };

static struct cfg_cycle cycle_of(enum cyc c)
{
    switch (c) {
    case CYC_OCT: return (struct cfg_cycle){ Q4, D(31), "2026-10-01", "2026-10-31" };
    case CYC_10D: return (struct cfg_cycle){ Q4, D(10), "2026-10-01", "2026-10-10" };
    case CYC_3D:  return (struct cfg_cycle){ Q4, D(3), "2026-10-01", "2026-10-03" };
    /* Europe/Berlin midnights; 2026-10-25 has 25 hours */
    case CYC_BERLIN: return (struct cfg_cycle){ 1792792800, 1793055600, "2026-10-24", "2026-10-26" };
    case CYC_Q4:
    default:      return (struct cfg_cycle){ Q4, D(92), "2026-10-01", "2026-12-31" };
    }
}

struct eval_case {
    const char *name;
    enum cyc cycle;
    enum cfg_direction dir;
    enum cfg_target_kind tkind;
    double target;
    bool explicit_baseline;
    double baseline;
    enum cfg_agg_fn fn;
    bool wcycle;
    int64_t window_ms;
    enum cfg_projection proj;
    int64_t trend_ms;                 /* 0 = 14d */
    const struct cfg_milestone *ms;
    size_t n_ms;
    const struct pt *pts;
    size_t n_pts;
    int64_t now;
    /* expected */
    enum okr_status st;
    double want[7];                   /* see W() */
    const char *reason;               /* NULL = "" */
    int64_t last_at;                  /* NO_CHECK, OKR_NO_TS or a time */
};

/* value, baseline, target, progress, expected, projected score, score */
#define W(v, b, T, p, x, P, s) .want = { v, b, T, p, x, P, s }

static const char *const want_names[7] = {
    "value", "baseline", "target", "progress", "expected", "projected_score", "score",
};

static void build_kr(const struct eval_case *c, struct cfg_objective *obj,
                     struct cfg_key_result *kr)
{
    memset(obj, 0, sizeof *obj);
    memset(kr, 0, sizeof *kr);
    obj->id = "obj";
    obj->title = "Objective";
    obj->weight = 1;
    obj->cycle = cycle_of(c->cycle);
    obj->key_results = kr;
    obj->n_key_results = 1;
    kr->id = "kr";
    kr->title = (char *)c->name;
    kr->metric = "m";
    kr->direction = c->dir;
    kr->target.kind = c->tkind;
    kr->target.value = c->target;
    kr->baseline_auto = !c->explicit_baseline;
    kr->baseline = c->baseline;
    kr->aggregate.fn = c->fn;
    kr->aggregate.window_cycle = c->wcycle;
    kr->aggregate.window_ms = c->window_ms;
    kr->weight = 1;
    kr->milestones = (struct cfg_milestone *)c->ms;
    kr->n_milestones = c->n_ms;
    kr->projection = c->proj;
    kr->trend_window_ms = c->trend_ms ? c->trend_ms : 14 * DAY * 1000;
    kr->grace = 0.1;
    kr->at_risk = 0.9;
    kr->off_track = 0.7;
    kr->margin = 0.05;
    kr->objective = obj;
}

static void run_eval_case(const struct eval_case *c, const struct okrd_tz *tz)
{
    struct cfg_objective obj;
    struct cfg_key_result kr;
    build_kr(c, &obj, &kr);
    int64_t ts[64];
    double v[64];
    assert_true(c->n_pts <= 64);
    struct okr_series s = series_of(c->pts, c->n_pts, ts, v);

    struct okr_result r;
    memset(&r, 0xa5, sizeof r);
    okr_evaluate(&kr, &s, tz, c->now, &r);

    if (r.status != c->st)
        fail_case(c->name, "status = %s, want %s", okr_status_name(r.status),
                  okr_status_name(c->st));
    const double got[7] = { r.value, r.baseline, r.target, r.progress, r.expected,
                            r.projected_score, r.score };
    for (int i = 0; i < 7; i++)
        check_num(c->name, want_names[i], got[i], c->want[i]);
    check_str(c->name, "reason", r.reason, c->reason ? c->reason : "");
    if (c->last_at != NO_CHECK)
        check_int(c->name, "last_point_at", r.last_point_at, c->last_at);
    check_int(c->name, "final", r.final, c->now >= obj.cycle.end_s);
}

/* ---- increase / decrease ---- */

#define DAU "Increase daily active users by 20%"
#define DAU_KR .dir = CFG_DIR_INCREASE, .tkind = CFG_TARGET_PERCENT, .target = 20
#define X_Q4(secs) ((double)(secs) / (92.0 * DAY))

static const struct eval_case dau_cases[] = {
    { DAU ": no data", DAU_KR, .pts = NULL, .n_pts = 0, .now = D(46),
      .st = OKR_NO_DATA, W(U, U, U, U, U, U, U), .last_at = OKR_NO_TS },
    /* as of t: the point of day -1 is still in the future */
    { DAU ": before the start, a later point does not count yet", DAU_KR,
      PTS({ D(-3), 990 }, { D(-1), 1000 }), .now = D(-2), .st = OKR_PENDING,
      W(990, 990, 1188, 0, 0, U, 0), .last_at = D(-3) },
    { DAU ": before the start", DAU_KR, PTS({ D(-1), 1000 }), .now = D(0) - 12 * HOUR,
      .st = OKR_PENDING, W(1000, 1000, 1200, 0, 0, U, 0), .last_at = D(-1) },
    /* the point at the start's midnight belongs to the first day: v(s) = 1010 */
    { DAU ": exactly at the start", DAU_KR, PTS({ D(-1), 1000 }, { D(0), 1010 }), .now = D(0),
      .st = OKR_PENDING, W(1010, 1000, 1200, 0.05, 0, U, 0.05), .last_at = D(0) },
    { DAU ": x just below grace", DAU_KR, PTS({ D(-1), 1000 }, { D(5), 1020 }),
      .now = Q4 + 794879, .st = OKR_PENDING,
      W(1020, 1000, 1200, 0.1, X_Q4(794879), 0.1 / X_Q4(794879), 0.1) },
    /* 9.2 days of 92: x == 0.1 == grace, judged */
    { DAU ": x exactly at grace", DAU_KR, PTS({ D(-1), 1000 }, { D(5), 1020 }),
      .now = Q4 + 794880, .st = OKR_ON_TRACK, W(1020, 1000, 1200, 0.1, 0.1, 1.0, 0.1) },
    { DAU ": P exactly at_risk (0.9)", DAU_KR, PTS({ D(-1), 1000 }, { D(46), 1090 }),
      .now = D(46), .st = OKR_ON_TRACK, W(1090, 1000, 1200, 0.45, 0.5, 0.9, 0.45) },
    { DAU ": P exactly off_track (0.7)", DAU_KR, PTS({ D(-1), 1000 }, { D(46), 1070 }),
      .now = D(46), .st = OKR_AT_RISK, W(1070, 1000, 1200, 0.35, 0.5, 0.7, 0.35) },
    { DAU ": P just below off_track", DAU_KR, PTS({ D(-1), 1000 }, { D(46), 1069 }),
      .now = D(46), .st = OKR_OFF_TRACK, W(1069, 1000, 1200, 0.345, 0.5, 0.69, 0.345) },
    { DAU ": negative progress", DAU_KR, PTS({ D(-1), 1000 }, { D(46), 950 }),
      .now = D(46), .st = OKR_OFF_TRACK, W(950, 1000, 1200, -0.25, 0.5, -0.5, 0) },
    { DAU ": above the target is achieved", DAU_KR, PTS({ D(-1), 1000 }, { D(40), 1240 }),
      .now = D(40) + 12 * HOUR, .st = OKR_ACHIEVED,
      W(1240, 1000, 1200, 1.2, 40.5 / 92, 1.2 / (40.5 / 92), 1) },
    { DAU ": falls back below the target", DAU_KR,
      PTS({ D(-1), 1000 }, { D(40), 1240 }, { D(46), 1180 }), .now = D(46),
      .st = OKR_ON_TRACK, W(1180, 1000, 1200, 0.9, 0.5, 1.8, 0.9) },
    { DAU ": auto baseline from the first point in the cycle", DAU_KR,
      PTS({ D(2), 1100 }, { D(46), 1210 }), .now = D(46),
      .st = OKR_ON_TRACK, W(1210, 1100, 1320, 0.5, 0.5, 1.0, 0.5) },
    /* as of t: the cycle's first point is still in the future */
    { DAU ": auto baseline before its first point", DAU_KR, PTS({ D(2), 1100 }),
      .now = D(1), .st = OKR_NO_DATA, W(U, U, U, U, U, U, U), .last_at = OKR_NO_TS },
    { DAU ": auto baseline makes the target unreachable", .dir = CFG_DIR_INCREASE,
      .tkind = CFG_TARGET_ABSOLUTE, .target = 900,
      PTS({ D(-1), 1000 }, { D(46), 1050 }), .now = D(46), .st = OKR_INVALID,
      W(1050, 1000, 900, U, U, U, U),
      .reason = "target 900 is not above the baseline 1000 for an increase" },
    { DAU ": +500 target", .dir = CFG_DIR_INCREASE, .tkind = CFG_TARGET_DELTA, .target = 500,
      PTS({ D(-1), 1000 }, { D(46), 1250 }), .now = D(46),
      .st = OKR_ON_TRACK, W(1250, 1000, 1500, 0.5, 0.5, 1.0, 0.5) },
    { DAU ": explicit baseline, absolute target", .dir = CFG_DIR_INCREASE,
      .tkind = CFG_TARGET_ABSOLUTE, .target = 1200, .explicit_baseline = true, .baseline = 800,
      PTS({ D(-1), 1000 }, { D(46), 1000 }), .now = D(46),
      .st = OKR_ON_TRACK, W(1000, 800, 1200, 0.5, 0.5, 1.0, 0.5) },
    /* from e on: v at e - 1 s; the point at e (Jan 1) is not in the cycle */
    { DAU ": final, achieved", DAU_KR, PTS({ D(-1), 1000 }, { D(91), 1250 }, { D(92), 900 }),
      .now = D(94), .st = OKR_ACHIEVED, W(1250, 1000, 1200, 1.25, 1, 1, 1), .last_at = D(92) },
    { DAU ": final grade rounds half up", DAU_KR, PTS({ D(-1), 1000 }, { D(91), 1135 }),
      .now = D(93), .st = OKR_MISSED, W(1135, 1000, 1200, 0.675, 1, 0.68, 0.68) },
    /* 57 / 200 is 0.28499999999999998 in binary; a decimal half still rounds up */
    { DAU ": final grade of 0.285 rounds up", DAU_KR, PTS({ D(-1), 1000 }, { D(91), 1057 }),
      .now = D(93), .st = OKR_MISSED, W(1057, 1000, 1200, 0.285, 1, 0.29, 0.29) },
    { DAU ": final grade rounds down", DAU_KR, PTS({ D(-1), 1000 }, { D(91), 1132.2 }),
      .now = D(93), .st = OKR_MISSED, W(1132.2, 1000, 1200, 0.661, 1, 0.66, 0.66) },
    { DAU ": exactly at the end", DAU_KR, PTS({ D(-1), 1000 }, { D(91), 1150 }, { D(92), 1300 }),
      .now = D(92), .st = OKR_MISSED, W(1150, 1000, 1200, 0.75, 1, 0.75, 0.75),
      .last_at = D(92) },
    { DAU ": last second of the cycle", DAU_KR,
      PTS({ D(-1), 1000 }, { D(91), 1150 }, { D(92), 1300 }), .now = D(92) - 1,
      .st = OKR_AT_RISK,
      W(1150, 1000, 1200, 0.75, X_Q4(92 * DAY - 1), 0.75 / X_Q4(92 * DAY - 1), 0.75),
      .last_at = D(91) },
    { DAU ": final without data in the cycle", DAU_KR, PTS({ D(92), 1300 }), .now = D(95),
      .st = OKR_NO_DATA, W(U, U, U, U, U, U, U), .last_at = D(92) },
};

#define CHURN "Reduce churn rate by 10%"
#define CHURN_KR .dir = CFG_DIR_DECREASE, .tkind = CFG_TARGET_PERCENT, .target = -10, \
                 .fn = CFG_AGG_AVG, .window_ms = 7 * DAY * 1000
/* a baseline week of 5.0 (the 7 days before the start), then a point exactly
 * at t - 7d (excluded), six days at 4.8 and one at t (included) */
#define CHURN_PTS PTS({ D(-7), 5 }, { D(-6), 5 }, { D(-5), 5 }, { D(-4), 5 }, { D(-3), 5 }, \
                      { D(-2), 5 }, { D(-1), 5 }, { D(13), 9 }, { D(14), 4.8 }, { D(15), 4.8 }, \
                      { D(16), 4.8 }, { D(17), 4.8 }, { D(18), 4.8 }, { D(19), 4.8 }, { D(20), 4.1 })

static const struct eval_case churn_cases[] = {
    { CHURN ": 7d window excludes t - 7d, includes t", CHURN_KR, CHURN_PTS, .now = D(20),
      .st = OKR_ON_TRACK,
      W((4.8 * 6 + 4.1) / 7, 5, 4.5, 0.6, 20.0 / 92, 0.6 / (20.0 / 92), 0.6) },
    { CHURN ": one second earlier the window holds t - 7d", CHURN_KR, CHURN_PTS,
      .now = D(20) - 1, .st = OKR_OFF_TRACK,
      W((9 + 4.8 * 6) / 7, 5, 4.5, -0.8, X_Q4(20 * DAY - 1), -0.8 / X_Q4(20 * DAY - 1), 0) },
    { CHURN ": written as -0.5", .dir = CFG_DIR_DECREASE, .tkind = CFG_TARGET_DELTA,
      .target = -0.5, .fn = CFG_AGG_AVG, .window_ms = 7 * DAY * 1000, CHURN_PTS, .now = D(20),
      .st = OKR_ON_TRACK,
      W((4.8 * 6 + 4.1) / 7, 5, 4.5, 0.6, 20.0 / 92, 0.6 / (20.0 / 92), 0.6) },
    { CHURN ": a target above the auto baseline is invalid", .dir = CFG_DIR_DECREASE,
      .tkind = CFG_TARGET_ABSOLUTE, .target = 6, .fn = CFG_AGG_AVG,
      .window_ms = 7 * DAY * 1000, CHURN_PTS, .now = D(20), .st = OKR_INVALID,
      W((4.8 * 6 + 4.1) / 7, 5, 6, U, U, U, U),
      .reason = "target 6 is not below the baseline 5 for a decrease" },
    { CHURN ": no point in the window", CHURN_KR, CHURN_PTS, .now = D(30),
      .st = OKR_NO_DATA, W(U, 5, 4.5, U, U, U, U), .last_at = D(20) },
};

#define ENERGY "Reduce average household energy use by 10 kWh per month"

static const struct eval_case energy_cases[] = {
    /* baseline: avg of the 30 days before the start = 300; at D(25) the window
     * (D(-5), D(25)] drops the D(-5) reading exactly on its edge */
    { ENERGY ": 30d average, -10 target", .dir = CFG_DIR_DECREASE,
      .tkind = CFG_TARGET_DELTA, .target = -10, .fn = CFG_AGG_AVG, .window_ms = 30 * DAY * 1000,
      PTS({ D(-25), 300 }, { D(-15), 310 }, { D(-5), 290 }, { D(5), 296 }, { D(15), 294 },
          { D(25), 292 }),
      .now = D(25), .st = OKR_ON_TRACK,
      W(294, 300, 290, 0.6, 25.0 / 92, 0.6 / (25.0 / 92), 0.6) },
};

#define REVIEWS "Generate 100 positive user reviews within the first month"
#define REVIEWS_KR .cycle = CYC_OCT, .dir = CFG_DIR_INCREASE, .tkind = CFG_TARGET_ABSOLUTE, \
                   .target = 100, .fn = CFG_AGG_SUM, .wcycle = true

static const struct eval_case reviews_cases[] = {
    /* [s, t]: the point before s is out, the one at s and the one at t are in */
    { REVIEWS ": sum over the cycle", REVIEWS_KR,
      PTS({ D(-1), 50 }, { D(0), 10 }, { D(5), 15 }, { D(10), 20 }, { D(15) + 12 * HOUR, 5 },
          { D(20), 99 }),
      .now = D(15) + 12 * HOUR, .st = OKR_ON_TRACK, W(50, 0, 100, 0.5, 0.5, 1.0, 0.5),
      .last_at = D(15) + 12 * HOUR },
    { REVIEWS ": only points before the cycle", REVIEWS_KR, PTS({ D(-1), 50 }), .now = D(3),
      .st = OKR_NO_DATA, W(U, 0, 100, U, U, U, U) },
    { REVIEWS ": final", REVIEWS_KR,
      PTS({ D(0), 40 }, { D(30) + 23 * HOUR, 45 }, { D(31), 30 }), .now = D(32),
      .st = OKR_MISSED, W(85, 0, 100, 0.85, 1, 0.85, 0.85) },
    { REVIEWS ": a relative target on a cycle sum is invalid", .cycle = CYC_OCT,
      .dir = CFG_DIR_INCREASE, .tkind = CFG_TARGET_PERCENT, .target = 20, .fn = CFG_AGG_SUM,
      .wcycle = true, PTS({ D(1), 10 }), .now = D(5), .st = OKR_INVALID,
      W(10, 0, 0, U, U, U, U), .reason = "target 0 is not above the baseline 0 for an increase" },
    /* days before the start have no cycle sum and are left out of the trend:
     * days 0..5 end at 10, 20, ..., 60, a line of 10 a day through 60 at t */
    { REVIEWS ": trend skips days without a value", REVIEWS_KR, .proj = CFG_PROJ_TREND,
      PTS({ D(0), 10 }, { D(1), 10 }, { D(2), 10 }, { D(3), 10 }, { D(4), 10 },
          { D(5) + 6 * HOUR, 10 }),
      .now = D(6) - 1, .st = OKR_ON_TRACK,
      W(60, 0, 100, 0.6, (6.0 * DAY - 1) / (31.0 * DAY), 3.1 + 0.1 / 86400, 0.6) },
};

#define ADOPTION "Achieve 50% adoption among existing users"
/* ends of 2026-10-31 and 2026-11-30 */
static const struct cfg_milestone adoption_ms[] = {
    { D(31), "2026-10-31", 0.2 },
    { D(61), "2026-11-30", 0.6 },
};
#define ADOPTION_KR .dir = CFG_DIR_INCREASE, .tkind = CFG_TARGET_ABSOLUTE, .target = 50, \
                    .ms = adoption_ms, .n_ms = 2

static const struct eval_case adoption_cases[] = {
    /* x = 0.2 * 15.5 / 31 = 0.1 == grace */
    { ADOPTION ": milestone pace, first stretch", ADOPTION_KR,
      PTS({ D(-1), 20 }, { D(10), 23 }), .now = D(15) + 12 * HOUR,
      .st = OKR_ON_TRACK, W(23, 20, 50, 0.1, 0.1, 1.0, 0.1) },
    /* x = 0.2 + 0.4 * 15 / 30 = 0.4 */
    { ADOPTION ": milestone pace, middle stretch", ADOPTION_KR,
      PTS({ D(-1), 20 }, { D(46), 32 }), .now = D(46),
      .st = OKR_ON_TRACK, W(32, 20, 50, 0.4, 0.4, 1.0, 0.4) },
    /* x = 0.6 + 0.4 * 15.5 / 31 = 0.8 */
    { ADOPTION ": milestone pace, last stretch", ADOPTION_KR,
      PTS({ D(-1), 20 }, { D(70), 41 }), .now = D(76) + 12 * HOUR,
      .st = OKR_AT_RISK, W(41, 20, 50, 0.7, 0.8, 0.875, 0.7) },
};

#define DAU_TREND DAU " (trend)"
#define TREND_KR DAU_KR, .proj = CFG_PROJ_TREND

static const struct eval_case trend_cases[] = {
    /* 14 days up to day 45, v defined on days 44 and 45 only: average */
    { DAU_TREND ": fewer than 3 days falls back to average", TREND_KR,
      PTS({ D(44), 1000 }, { D(45), 1100 }), .now = D(46) - 1,
      .st = OKR_ON_TRACK,
      W(1100, 1000, 1200, 0.5, X_Q4(46 * DAY - 1), 0.5 / X_Q4(46 * DAY - 1), 0.5) },
    /* 3-day window: days 43..45 at x = -2, -1, 0 days from t with v 1101, 1103,
     * 1102; mean (-1, 1102), slope 0.5/day; e is 46 days + 1 s after t:
     * L(e) = 1102 + 0.5 * (47 + 1/86400) -> P = (125.5 + 0.5/86400) / 200 */
    { DAU_TREND ": least squares over 3 days", TREND_KR, .trend_ms = 3 * DAY * 1000,
      PTS({ D(-1), 1000 }, { D(10), 1050 }, { D(43), 1101 }, { D(44), 1103 }, { D(45), 1102 }),
      .now = D(46) - 1, .st = OKR_OFF_TRACK,
      W(1102, 1000, 1200, 0.51, X_Q4(46 * DAY - 1), (125.5 + 0.5 / 86400) / 200, 0.51) },
    /* 14 days (32..45) climbing 1 a day to 1108 at t: L(e) = 1108 + 46 + 1/86400;
     * the average pace (0.54 / 0.5) would say on_track */
    { DAU_TREND ": 14 days, slowing down", TREND_KR,
      PTS({ D(-1), 1000 }, { D(32), 1095 }, { D(33), 1096 }, { D(34), 1097 }, { D(35), 1098 },
          { D(36), 1099 }, { D(37), 1100 }, { D(38), 1101 }, { D(39), 1102 }, { D(40), 1103 },
          { D(41), 1104 }, { D(42), 1105 }, { D(43), 1106 }, { D(44), 1107 }, { D(45), 1108 }),
      .now = D(46) - 1, .st = OKR_AT_RISK,
      W(1108, 1000, 1200, 0.54, X_Q4(46 * DAY - 1), (154 + 1.0 / 86400) / 200, 0.54) },
};

/* ---- at_least / at_most ---- */

#define CSAT "Keep CSAT at 8/10 or higher"
#define CSAT_KR .dir = CFG_DIR_AT_LEAST, .tkind = CFG_TARGET_ABSOLUTE, .target = 8
/* days 0..8; day 1 misses */
#define CSAT_9 { D(0), 8.5 }, { D(1), 7.9 }, { D(2), 8 }, { D(3), 8 }, { D(4), 8 }, { D(5), 8 }, \
               { D(6), 8 }, { D(7), 8 }, { D(8), 8 }

static const struct eval_case csat_cases[] = {
    /* 10 days, day 1 missed: 9/10 */
    { CSAT ": exactly at the target", CSAT_KR, PTS(CSAT_9, { D(9), 8 }), .now = D(9) + 12 * HOUR,
      .st = OKR_ON_TRACK, W(8, 8.5, 8, U, U, 0.9, 0.9) },
    /* 8 - 0.05 * 8 = 7.6: at risk, and today counts as missed: 8/10 */
    { CSAT ": exactly at the margin", CSAT_KR, PTS(CSAT_9, { D(9), 7.6 }),
      .now = D(9) + 12 * HOUR, .st = OKR_AT_RISK, W(7.6, 8.5, 8, U, U, 0.8, 0.8) },
    { CSAT ": below the margin", CSAT_KR, PTS(CSAT_9, { D(9), 7.59 }), .now = D(9) + 12 * HOUR,
      .st = OKR_OFF_TRACK, W(7.59, 8.5, 8, U, U, 0.8, 0.8) },
    { CSAT ": before the start", CSAT_KR, PTS({ D(-2), 8.2 }), .now = D(-1),
      .st = OKR_PENDING, W(8.2, 8.2, 8, U, U, U, U) },
    { CSAT ": no data", CSAT_KR, .now = D(5), .st = OKR_NO_DATA, W(U, U, 8, U, U, U, U) },
    /* daily average (1d window): days 0 (8.5 met), 1 (7 and 6 at its last
     * second: 6.5, missed), 3 (the midnight point belongs to day 3, not 2: 8.2
     * met), 6 (8.1 at t, met); days 2, 4, 5 have no value and do not count
     * (day 2's window (D(2) - 1, D(3) - 1] excludes day 1's last second): 3/4.
     * The point of day -1 is the baseline, not a day of the cycle. */
    { CSAT ": daily average with gaps", CSAT_KR, .fn = CFG_AGG_AVG, .window_ms = DAY * 1000,
      PTS({ D(-1) + 12 * HOUR, 5 }, { D(0) + 8 * HOUR, 8 }, { D(0) + 16 * HOUR, 9 },
          { D(1) + 10 * HOUR, 7 }, { D(2) - 1, 6 }, { D(3), 8 }, { D(3) + 12 * HOUR, 8.4 },
          { D(6) + 9 * HOUR, 8.1 }),
      .now = D(6) + 10 * HOUR, .st = OKR_ON_TRACK, W(8.1, 5, 8, U, U, 0.75, 0.75) },
    { CSAT ": daily average, today empty", CSAT_KR, .fn = CFG_AGG_AVG, .window_ms = DAY * 1000,
      PTS({ D(0) + 8 * HOUR, 8 }), .now = D(3), .st = OKR_NO_DATA, W(U, 8, 8, U, U, U, U) },
    /* 10-day cycle, 9 of 10 met: share 0.9 == at_risk -> achieved; the point
     * at e is after the end day */
    { CSAT ": final, exactly at the at_risk share", CSAT_KR, .cycle = CYC_10D,
      PTS({ D(0), 8 }, { D(1), 8 }, { D(2), 8 }, { D(3), 8 }, { D(4), 7 }, { D(5), 8 },
          { D(6), 8 }, { D(7), 8 }, { D(8), 8 }, { D(9), 8.5 }, { D(10), 1 }),
      .now = D(12), .st = OKR_ACHIEVED, W(8.5, 8, 8, U, U, 0.9, 0.9), .last_at = D(10) },
    { CSAT ": final, missed", CSAT_KR, .cycle = CYC_10D,
      PTS({ D(0), 8 }, { D(1), 8 }, { D(2), 8 }, { D(3), 8 }, { D(4), 7 }, { D(5), 8 },
          { D(6), 8 }, { D(7), 7.9 }, { D(8), 8 }, { D(9), 8.5 }),
      .now = D(10), .st = OKR_MISSED, W(8.5, 8, 8, U, U, 0.8, 0.8) },
    { CSAT ": final share rounds to 0.67", CSAT_KR, .cycle = CYC_3D,
      PTS({ D(0), 8 }, { D(1), 7 }, { D(2), 9 }), .now = D(4),
      .st = OKR_MISSED, W(9, 8, 8, U, U, 0.67, 0.67) },
};

#define ENERGY_MAX ENERGY " (at most 290 kWh)"
#define ENERGY_MAX_KR .dir = CFG_DIR_AT_MOST, .tkind = CFG_TARGET_ABSOLUTE, .target = 290

static const struct eval_case at_most_cases[] = {
    /* 290 + 0.05 * 290 = 304.5: at risk; days: 300 no, 290 yes, 304.5 no */
    { ENERGY_MAX ": exactly at the margin", ENERGY_MAX_KR,
      PTS({ D(0), 300 }, { D(1), 290 }, { D(2), 304.5 }), .now = D(2) + HOUR,
      .st = OKR_AT_RISK, W(304.5, 300, 290, U, U, 1.0 / 3, 1.0 / 3) },
    { ENERGY_MAX ": above the margin", ENERGY_MAX_KR,
      PTS({ D(0), 300 }, { D(1), 290 }, { D(2), 305 }), .now = D(2) + HOUR,
      .st = OKR_OFF_TRACK, W(305, 300, 290, U, U, 1.0 / 3, 1.0 / 3) },
    { ENERGY_MAX ": exactly at the target", ENERGY_MAX_KR,
      PTS({ D(0), 300 }, { D(1), 290 }, { D(2), 290 }), .now = D(2) + HOUR,
      .st = OKR_ON_TRACK, W(290, 300, 290, U, U, 2.0 / 3, 2.0 / 3) },
};

static void run_eval_table(const struct eval_case *cases, size_t n)
{
    begin();
    for (size_t i = 0; i < n; i++)
        run_eval_case(&cases[i], NULL);
    end();
}

#define RUN_TABLE(t) run_eval_table(t, sizeof t / sizeof t[0])

static void test_increase(void **state) { (void)state; RUN_TABLE(dau_cases); }
static void test_decrease(void **state) { (void)state; RUN_TABLE(churn_cases); RUN_TABLE(energy_cases); }
static void test_cycle_sum(void **state) { (void)state; RUN_TABLE(reviews_cases); }
static void test_milestones(void **state) { (void)state; RUN_TABLE(adoption_cases); }
static void test_trend(void **state) { (void)state; RUN_TABLE(trend_cases); }
static void test_at_least(void **state) { (void)state; RUN_TABLE(csat_cases); }
static void test_at_most(void **state) { (void)state; RUN_TABLE(at_most_cases); }

/* Days are days in daemon.timezone: in Berlin, 2026-10-25 lasts 25 hours, and
 * a point at 22:30Z belongs to the next local day. Days 24 (9 met), 25 (8 at
 * its end, met), 26 (7 at t): 2/3. Counted in UTC days it would be 0/3. The
 * point an hour before the start is the baseline, and on no day of the cycle. */
static const struct eval_case berlin_cases[] = {
    { CSAT ": days in Europe/Berlin across the DST change", CSAT_KR, .cycle = CYC_BERLIN,
      PTS({ 1792792800 - 3600, 5 }, { 1792877400, 9 }, { 1792881000, 7 }, { 1792967400, 8 },
          { 1792971000, 7 }),
      .now = 1793012400, .st = OKR_OFF_TRACK, W(7, 5, 8, U, U, 2.0 / 3, 2.0 / 3) },
};

static void test_time_zone(void **state)
{
    (void)state;
    struct okrd_tz *tz = NULL;
    struct okrd_err err;
    if (okrd_tz_open(&tz, "Europe/Berlin", &err) != 0) {
        print_message("skipped: Europe/Berlin: %s\n", err.msg);
        skip();
    }
    begin();
    for (size_t i = 0; i < sizeof berlin_cases / sizeof berlin_cases[0]; i++)
        run_eval_case(&berlin_cases[i], tz);
    okrd_tz_close(tz);
    end();
}

/* okr_baseline() on its own sees only points up to t. */
static void test_baseline(void **state)
{
    (void)state;
    const struct pt pts[] = { { D(-3), 990 }, { D(-1), 1000 }, { D(2), 1100 } };
    int64_t ts[3];
    double v[3];
    struct okr_series s = series_of(pts, 3, ts, v);
    const struct { const char *name; bool explicit_b; int64_t t; bool defined; double want; } t[] = {
        { DAU ": baseline as of day -2", false, D(-2), true, 990 },
        { DAU ": baseline as of day 5", false, D(5), true, 1000 },
        { DAU ": baseline before any point", false, D(-4), false, 0 },
        { DAU ": explicit baseline", true, D(-4), true, 800 },
    };
    begin();
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct eval_case c = { t[i].name, DAU_KR, .explicit_baseline = t[i].explicit_b,
                               .baseline = 800 };
        struct cfg_objective obj;
        struct cfg_key_result kr;
        build_kr(&c, &obj, &kr);
        double b = -1;
        bool def = okr_baseline(&kr, &s, t[i].t, &b);
        check_int(t[i].name, "defined", def, t[i].defined);
        if (def)
            check_num(t[i].name, "baseline", b, t[i].want);
    }
    /* first point inside the cycle when nothing precedes it */
    struct okr_series late = { ts + 2, v + 2, 1 };
    struct eval_case c = { DAU ": baseline from the cycle's first point", DAU_KR };
    struct cfg_objective obj;
    struct cfg_key_result kr;
    build_kr(&c, &obj, &kr);
    double b = -1;
    check_int(c.name, "defined", okr_baseline(&kr, &late, D(30), &b), 1);
    check_num(c.name, "baseline", b, 1100);
    check_num(c.name, "+20% target", okr_target(&kr.target, b), 1320);
    check_num(c.name, "target without baseline", okr_target(&kr.target, NAN), U);
    end();
}

/* The day walk's fast steps agree with okrd_tz_day_start() in zones with
 * odd days: DST at midnight (Havana), a skipped day (Apia, 2011-12-30),
 * half-hour DST (Lord Howe). */
static void test_day_steps(void **state)
{
    (void)state;
    const char *zones[] = { "Europe/Berlin", "America/New_York", "America/Havana",
                            "Pacific/Apia", "Australia/Lord_Howe", "Asia/Kathmandu" };
    begin();
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        struct okrd_tz *tz = NULL;
        struct okrd_err err;
        if (okrd_tz_open(&tz, zones[z], &err) != 0) {
            print_message("%s: skipped: %s\n", zones[z], err.msg);
            continue;
        }
        char name[128];
        snprintf(name, sizeof name, "Keep CSAT at 8/10 or higher: days in %s", zones[z]);
        /* 2010-01-01 .. 2027-12-31 */
        struct okr_days d;
        okr_days_init(&d, tz, okr_day_start(tz, 1262304000));
        while (d.start < 1830297600) {
            int64_t want = okrd_tz_day_start(tz, d.start + 36 * 3600);
            int64_t prev = d.start;
            int64_t got = okr_days_next(&d);
            if (got != want) {
                fail_case(name, "day after %lld: %lld, want %lld", (long long)prev,
                          (long long)got, (long long)want);
                break;
            }
            if (okr_days_back(tz, got, 1) != prev) {
                fail_case(name, "day before %lld: %lld, want %lld", (long long)got,
                          (long long)okr_days_back(tz, got, 1), (long long)prev);
                break;
            }
        }
        /* 14 days back in one step = 14 single steps */
        int64_t day = okr_day_start(tz, 1793012400);
        for (int i = 0; i < 400; i++) {
            int64_t step = day;
            for (int k = 0; k < 13; k++)
                step = okrd_tz_day_start(tz, step - 1);
            if (okr_days_back(tz, day, 13) != step) {
                fail_case(name, "13 days before %lld: %lld, want %lld", (long long)day,
                          (long long)okr_days_back(tz, day, 13), (long long)step);
                break;
            }
            day = okrd_tz_day_start(tz, day - 1);
        }
        okrd_tz_close(tz);
    }
    end();
}

/* ---- v(t) over windows ---- */

#define ENERGY_V ENERGY " readings"

struct value_case {
    const char *name;
    enum cfg_agg_fn fn;
    bool wcycle;
    int64_t window_ms;
    int64_t cycle_start;
    int64_t t;
    bool defined;
    double want;
};

/* readings: D(0) 300, D(10) 320, D(20) 280, D(30) 310 */
static const struct value_case value_cases[] = {
    { ENERGY_V ": last, point exactly at t", CFG_AGG_LAST, false, 0, Q4, D(20), true, 280 },
    { ENERGY_V ": last, one second before a point", CFG_AGG_LAST, false, 0, Q4, D(20) - 1, true, 320 },
    { ENERGY_V ": last, before any point", CFG_AGG_LAST, false, 0, Q4, D(0) - 1, false, 0 },
    { ENERGY_V ": sum 20d excludes t - 20d", CFG_AGG_SUM, false, 20 * DAY * 1000, Q4, D(20), true, 600 },
    { ENERGY_V ": sum 20d one second earlier", CFG_AGG_SUM, false, 20 * DAY * 1000, Q4, D(20) - 1, true, 620 },
    { ENERGY_V ": avg 20d", CFG_AGG_AVG, false, 20 * DAY * 1000, Q4, D(30), true, 295 },
    { ENERGY_V ": min 30d", CFG_AGG_MIN, false, 30 * DAY * 1000, Q4, D(30), true, 280 },
    { ENERGY_V ": max 30d", CFG_AGG_MAX, false, 30 * DAY * 1000, Q4, D(30), true, 320 },
    { ENERGY_V ": max 30d, 1 s later", CFG_AGG_MAX, false, 30 * DAY * 1000, Q4, D(30) + 1, true, 320 },
    { ENERGY_V ": max 30d at D(40) drops D(10)", CFG_AGG_MAX, false, 30 * DAY * 1000, Q4, D(40), true, 310 },
    { ENERGY_V ": min 1d, empty window", CFG_AGG_MIN, false, DAY * 1000, Q4, D(5), false, 0 },
    { ENERGY_V ": sum over cycle includes s", CFG_AGG_SUM, true, 0, D(10), D(20), true, 600 },
    { ENERGY_V ": sum over cycle from s + 1", CFG_AGG_SUM, true, 0, D(10) + 1, D(20), true, 280 },
    { ENERGY_V ": avg over cycle before s", CFG_AGG_AVG, true, 0, D(10), D(5), false, 0 },
    { ENERGY_V ": avg over cycle", CFG_AGG_AVG, true, 0, D(0), D(30), true, 302.5 },
    { ENERGY_V ": max over cycle", CFG_AGG_MAX, true, 0, D(0), D(25), true, 320 },
    { ENERGY_V ": min over cycle", CFG_AGG_MIN, true, 0, D(0), D(25), true, 280 },
    /* 1500 ms is 2 whole seconds: (t - 2, t] */
    { ENERGY_V ": 1500ms window holds t - 1", CFG_AGG_SUM, false, 1500, Q4, D(10) + 1, true, 320 },
    { ENERGY_V ": 1500ms window drops t - 2", CFG_AGG_SUM, false, 1500, Q4, D(10) + 2, false, 0 },
};

static const int64_t energy_ts[] = { D(0), D(10), D(20), D(30) };
static const double energy_v[] = { 300, 320, 280, 310 };

static void test_value_at(void **state)
{
    (void)state;
    struct okr_series s = { energy_ts, energy_v, 4 };
    begin();
    for (size_t i = 0; i < sizeof value_cases / sizeof value_cases[0]; i++) {
        const struct value_case *c = &value_cases[i];
        struct cfg_aggregate agg = { c->fn, c->wcycle, c->window_ms };
        double v = -12345;
        bool def = pace_value_at(&agg, c->cycle_start, &s, c->t, &v);
        if (def != c->defined)
            fail_case(c->name, "defined = %d, want %d", def, c->defined);
        else if (def)
            check_num(c->name, "v", v, c->want);
        else
            check_num(c->name, "untouched output", v, -12345);
    }
    end();
}

/* A day walk reads exactly the bits a single evaluation reads, for every
 * aggregate, so a day's status never depends on which path computed it. */
static void test_walk_matches_value_at(void **state)
{
    (void)state;
    int64_t ts[200];
    double v[200];
    uint32_t seed = 12345;
    for (int i = 0; i < 200; i++) {
        seed = seed * 1103515245u + 12345u;
        /* every other point on a whole hour, so window edges hit points */
        ts[i] = Q4 - 10 * DAY + i * 9 * HOUR + (i % 2 ? (int64_t)(seed % 3600) : 0);
        v[i] = (double)(seed >> 8 & 0xffff) / 7.0;
    }
    struct okr_series s = { ts, v, 200 };
    const struct cfg_aggregate aggs[] = {
        { CFG_AGG_LAST, false, 0 },  { CFG_AGG_SUM, true, 0 },
        { CFG_AGG_AVG, true, 0 },    { CFG_AGG_MIN, true, 0 },
        { CFG_AGG_MAX, true, 0 },    { CFG_AGG_SUM, false, 3 * DAY * 1000 },
        { CFG_AGG_AVG, false, 7 * DAY * 1000 }, { CFG_AGG_MIN, false, DAY * 1000 },
        { CFG_AGG_MAX, false, 12 * HOUR * 1000 },
    };
    begin();
    for (size_t a = 0; a < sizeof aggs / sizeof aggs[0]; a++) {
        char name[128];
        snprintf(name, sizeof name, "%s: walk aggregate #%zu", ADOPTION, a);
        struct okr_walk w;
        okr_walk_init(&w, &aggs[a], Q4, &s, Q4 - 12 * DAY);
        for (int64_t t = Q4 - 12 * DAY; t < Q4 + 80 * DAY; t += HOUR) {
            double x = 0, y = 0;
            bool dx = okr_walk_value(&w, t, &x), dy = pace_value_at(&aggs[a], Q4, &s, t, &y);
            if (dx != dy || (dx && memcmp(&x, &y, sizeof x) != 0)) {
                fail_case(name, "t = %lld: walk %d %.17g, value_at %d %.17g", (long long)t,
                          dx, x, dy, y);
                break;
            }
        }
    }
    end();
}

/* ---- exact sums and the series walk ---- */

/* Sums whose right answer is known: the exact sum of the doubles given,
 * rounded once to nearest (ties to even). */
static void test_exact_sum(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        double v[8];
        int n;
        double want;
    } cases[] = {
        { "eight times 0.1 is 0.8 (left to right: 0.7999999999999999)",
          { 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1 }, 8, 0.8 },
        { "cancellation keeps the small part", { 1e16, 1, -1e16 }, 3, 1 },
        { "cancellation of huge values", { 1e308, 1e308, -1e308 }, 3, 1e308 },
        { "beyond the largest double is inf", { 1.7e308, 1.7e308 }, 2, INFINITY },
        { "a tie rounds to even (down)", { 9007199254740992.0, 1 }, 2, 9007199254740992.0 },
        { "a tie rounds to even (up)", { 9007199254740992.0, 3 }, 2, 9007199254740996.0 },
        { "just above a tie rounds up", { 9007199254740992.0, 1, 1e-300 }, 3,
          9007199254740994.0 },
        { "subnormals add exactly", { 4.9406564584124654e-324, 4.9406564584124654e-324 }, 2,
          9.8813129168249309e-324 },
        { "a negative sum", { -2.5, 1, -0.25 }, 3, -1.75 },
        { "a negative sum across limbs", { -1e20, 3e-5, 1 }, 3, -99999999999999999999.0 },
        { "empty", { 0 }, 0, 0 },
        { "zero from opposite values", { 5.5, -5.5 }, 2, 0 },
        { "inf wins", { 1, INFINITY, -1e308 }, 3, INFINITY },
        { "-inf wins", { 1, -INFINITY }, 2, -INFINITY },
        { "inf - inf is NaN", { INFINITY, -INFINITY }, 2, NAN },
    };
    begin();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct okr_xsum x;
        okr_xsum_init(&x);
        for (int i = 0; i < cases[c].n; i++)
            okr_xsum_add(&x, cases[c].v[i]);
        double got = okr_xsum_value(&x), want = cases[c].want;
        if (isnan(want) ? !isnan(got) : memcmp(&got, &want, sizeof got) != 0)
            fail_case(cases[c].name, "sum = %.17g, want %.17g", got, want);
    }
    /* 0.1 ten times: exactly 1.0000000000000000555, which rounds to 1. */
    struct okr_xsum x;
    okr_xsum_init(&x);
    for (int i = 0; i < 10; i++)
        okr_xsum_add(&x, 0.1);
    if (okr_xsum_value(&x) != 1.0)
        fail_case("ten times 0.1", "sum = %.17g, want 1", okr_xsum_value(&x));

    /* Random sets against an exact integer reference: each value is
     * m * 2^e (|m| < 2^40, -60 <= e <= 10), so the sum scaled by 2^60 is an
     * integer below 2^118; its conversion to double rounds once. Then the
     * same values taken out again in another order leave exactly zero, and
     * a prefix taken out leaves the sum of the rest, bit for bit. */
    uint32_t seed = 2024;
    for (int round = 0; round < 300; round++) {
        double v[64];
        __int128 exact = 0;
        int n = 1 + round % 64;
        okr_xsum_init(&x);
        for (int i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            int64_t m = (int64_t)(((uint64_t)seed << 20) ^ (seed >> 3)) % (INT64_C(1) << 40);
            seed = seed * 1103515245u + 12345u;
            int e = (int)(seed >> 8) % 71 - 60;
            if (seed & 1)
                m = -m;
            v[i] = ldexp((double)m, e);
            exact += (__int128)m << (e + 60);
            okr_xsum_add(&x, v[i]);
        }
        double want = ldexp((double)exact, -60), got = okr_xsum_value(&x);
        char name[64];
        snprintf(name, sizeof name, "random exact sum #%d", round);
        if (memcmp(&got, &want, sizeof got) != 0 && !(got == 0 && want == 0))
            fail_case(name, "sum = %.17g, want %.17g", got, want);
        struct okr_xsum rest;
        okr_xsum_init(&rest);
        for (int i = n / 2; i < n; i++)
            okr_xsum_add(&rest, v[i]);
        for (int i = 0; i < n / 2; i++)
            okr_xsum_sub(&x, v[i]);
        got = okr_xsum_value(&x);
        want = okr_xsum_value(&rest);
        if (memcmp(&got, &want, sizeof got) != 0 && !(got == 0 && want == 0))
            fail_case(name, "after taking out the first half: %.17g, want %.17g", got, want);
        for (int i = n - 1; i >= n / 2; i--)
            okr_xsum_sub(&x, v[i]);
        if (okr_xsum_value(&x) != 0)
            fail_case(name, "after taking everything out: %.17g", okr_xsum_value(&x));
    }
    end();
}

/* The series walk (the API's series, the dashboard's charts) gives, at
 * every point, exactly the bits okr_value_at gives there: every aggregate,
 * cycle and rolling windows (shorter and longer than the point spacing,
 * sub-second, a window edge on a point), first index anywhere, points
 * before the cycle, and an infinity in the data. */
static void test_series_values_match_value_at(void **state)
{
    (void)state;
    enum { N = 400 };
    static int64_t ts[N];
    static double v[N], out_v[N];
    static int64_t out_ts[N];
    static size_t scratch[N];
    uint32_t seed = 777;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        /* one point every 6 h, every third nudged off the hour */
        ts[i] = Q4 - 20 * DAY + i * 6 * HOUR + (i % 3 ? 0 : (int64_t)(seed % 1800));
        v[i] = (double)(int32_t)(seed >> 4 & 0xfffff) / 7.0 - 60000.0;
    }
    const struct cfg_aggregate aggs[] = {
        { CFG_AGG_LAST, false, 0 },
        { CFG_AGG_SUM, true, 0 }, { CFG_AGG_AVG, true, 0 },
        { CFG_AGG_MIN, true, 0 }, { CFG_AGG_MAX, true, 0 },
        { CFG_AGG_SUM, false, 3 * DAY * 1000 }, { CFG_AGG_AVG, false, 7 * DAY * 1000 },
        { CFG_AGG_MIN, false, DAY * 1000 }, { CFG_AGG_MAX, false, 12 * HOUR * 1000 },
        { CFG_AGG_SUM, false, 6 * HOUR * 1000 }, { CFG_AGG_MAX, false, HOUR * 1000 },
        { CFG_AGG_AVG, false, 1500 }, { CFG_AGG_MIN, false, 30 * DAY * 1000 },
    };
    const size_t firsts[] = { 0, 1, 79, 80, 81, 250, N - 1 };
    begin();
    for (int data = 0; data < 3; data++) {
        if (data == 1)
            v[200] = INFINITY;     /* a ratio whose denominator was tiny */
        if (data == 2) {           /* long runs of equal values, zeros of both signs */
            v[200] = 0;
            for (int i = 100; i < 300; i++)
                v[i] = (i / 10) % 2 ? 0.0 : (i % 2 ? -0.0 : 5.0);
        }
        struct okr_series s = { ts, v, N };
        for (size_t a = 0; a < sizeof aggs / sizeof aggs[0]; a++)
            for (size_t f = 0; f < sizeof firsts / sizeof firsts[0]; f++) {
                char name[128];
                snprintf(name, sizeof name, "data %d, aggregate #%zu, first %zu", data, a,
                         firsts[f]);
                size_t n = pace_series_values(&aggs[a], Q4, &s, firsts[f], scratch, out_ts,
                                              out_v);
                size_t k = 0;
                for (size_t i = firsts[f]; i < N; i++) {
                    double want = 0;
                    if (!pace_value_at(&aggs[a], Q4, &s, ts[i], &want))
                        continue;
                    if (k >= n || out_ts[k] != ts[i]) {
                        fail_case(name, "point %zu (ts %lld) missing", i, (long long)ts[i]);
                        break;
                    }
                    if (isnan(want) ? !isnan(out_v[k]) : memcmp(&out_v[k], &want, sizeof want)) {
                        fail_case(name, "point %zu: walk %.17g, value_at %.17g", i, out_v[k],
                                  want);
                        break;
                    }
                    k++;
                }
                if (k != n)
                    fail_case(name, "%zu values, value_at defines %zu", n, k);
            }
    }
    /* The key-result form: a cycle sum leaves out the points before s. */
    struct cfg_objective obj = { .id = "o", .cycle = cycle_of(CYC_Q4) };
    struct cfg_key_result kr = { .id = "reviews", .objective = &obj,
                                 .aggregate = { CFG_AGG_SUM, true, 0 } };
    struct okr_series s = { ts, v, N };
    size_t n = okr_series_values(&kr, &s, 0, scratch, out_ts, out_v);
    size_t before = okr_series_lower(&s, Q4);
    check_int("reviews: cycle sum from the first point", "points", (long long)n,
              (long long)(N - before));
    check_int("reviews: cycle sum from the first point", "first ts", out_ts[0], ts[before]);
    end();
}

/* ---- ratio metrics ---- */

static void test_ratio(void **state)
{
    (void)state;
    const char *name = ADOPTION ": feature_users / active_users x 100";
    /* numerator and denominator stamped at different times; den 0 at ts 35 */
    const int64_t nts[] = { 10, 20, 30, 40, 50 };
    const double nv[] = { 4, 6, 12, 10, 10 };
    const int64_t dts[] = { 15, 30, 35, 45 };
    const double dv[] = { 20, 30, 0, 40 };
    struct okr_series num = { nts, nv, 5 }, den = { dts, dv, 4 };
    int64_t ots[5];
    double ov[5];
    begin();
    size_t n = okr_ratio_series(&num, &den, 100, ots, ov);
    /* ts 10: no denominator yet; 20: 6/20; 30: 12/30 (den at the same ts);
     * 40: newest den is 0, no point; 50: 10/40 */
    const int64_t wts[] = { 20, 30, 50 };
    const double wv[] = { 30, 40, 25 };
    check_int(name, "points", (long long)n, 3);
    for (size_t i = 0; i < n && i < 3; i++) {
        check_int(name, "ts", ots[i], wts[i]);
        check_num(name, "value", ov[i], wv[i]);
    }

    /* in place, into the numerator's own arrays */
    const char *name2 = ADOPTION ": ratio in place";
    int64_t its[5];
    double iv[5];
    memcpy(its, nts, sizeof its);
    memcpy(iv, nv, sizeof iv);
    struct okr_series inum = { its, iv, 5 };
    n = okr_ratio_series(&inum, &den, 100, its, iv);
    check_int(name2, "points", (long long)n, 3);
    for (size_t i = 0; i < n && i < 3; i++) {
        check_int(name2, "ts", its[i], wts[i]);
        check_num(name2, "value", iv[i], wv[i]);
    }

    /* no denominator at all */
    struct okr_series none = { NULL, NULL, 0 };
    check_int(ADOPTION ": no denominator", "points",
              (long long)okr_ratio_series(&num, &none, 100, ots, ov), 0);

    /* through the evaluation: 20% before the start, 40% at mid-cycle, target
     * 50: p = 20/30, x = 0.5 */
    const char *name3 = ADOPTION ": ratio metric evaluated";
    const int64_t fts[] = { D(-1), D(46) };
    const double fv[] = { 200, 360 };
    const int64_t ats[] = { D(-3), D(30), D(46) + HOUR };
    const double av[] = { 1000, 900, 0 };
    struct okr_series fu = { fts, fv, 2 }, au = { ats, av, 3 };
    int64_t rts[2];
    double rv[2];
    struct okr_series ratio = { rts, rv, okr_ratio_series(&fu, &au, 100, rts, rv) };
    struct eval_case c = { name3, .dir = CFG_DIR_INCREASE, .tkind = CFG_TARGET_ABSOLUTE,
                          .target = 50, .now = D(47) };
    struct cfg_objective obj;
    struct cfg_key_result kr;
    build_kr(&c, &obj, &kr);
    struct okr_result r;
    okr_evaluate(&kr, &ratio, NULL, D(47), &r);
    check_int(name3, "status", r.status, OKR_ON_TRACK);
    check_num(name3, "value", r.value, 40);
    check_num(name3, "baseline", r.baseline, 20);
    check_num(name3, "progress", r.progress, 20.0 / 30);
    check_num(name3, "projected", r.projected_score, (20.0 / 30) / (47.0 / 92));
    end();
}

/* ---- expected progress ---- */

struct pace_case {
    const char *name;
    const struct cfg_milestone *ms;
    size_t n_ms;
    int64_t t;
    double want;
};

static const struct cfg_milestone same_day_ms[] = {
    { D(31), "2026-10-31", 0.2 },
    { D(31), "2026-10-31", 0.3 },
};
static const struct cfg_milestone outside_ms[] = {
    { D(-5), "2026-09-26", 0.5 },
    { D(46), "2026-11-15", 0.25 },
    { D(100), "2027-01-09", 0.9 },
};
static const struct cfg_milestone end_day_ms[] = {
    { D(92), "2026-12-31", 0.8 },
};

static const struct pace_case pace_cases[] = {
    { DAU ": linear before the start", NULL, 0, D(-1), 0 },
    { DAU ": linear at the start", NULL, 0, D(0), 0 },
    { DAU ": linear at mid-cycle", NULL, 0, D(46), 0.5 },
    { DAU ": linear last second", NULL, 0, D(92) - 1, (92.0 * DAY - 1) / (92.0 * DAY) },
    { DAU ": linear at the end", NULL, 0, D(92), 1 },
    { DAU ": linear after the end", NULL, 0, D(200), 1 },
    { ADOPTION ": at the first milestone", adoption_ms, 2, D(31), 0.2 },
    { ADOPTION ": at the second milestone", adoption_ms, 2, D(61), 0.6 },
    { ADOPTION ": after the last milestone", adoption_ms, 2, D(91), 0.6 + 0.4 * 30 / 31 },
    { ADOPTION ": two milestones on one day, the later wins", same_day_ms, 2, D(46),
      0.3 + 0.7 * 15 / 61 },
    { ADOPTION ": milestones outside the cycle are ignored", outside_ms, 3, D(23), 0.125 },
    { ADOPTION ": a milestone after the end is ignored", outside_ms, 3, D(80),
      0.25 + 0.75 * 34 / 46 },
    { ADOPTION ": milestone on the end day", end_day_ms, 1, D(46), 0.4 },
    { ADOPTION ": milestone on the end day, at the end", end_day_ms, 1, D(92), 1 },
};

static void test_expected_progress(void **state)
{
    (void)state;
    struct cfg_cycle q4 = cycle_of(CYC_Q4);
    begin();
    for (size_t i = 0; i < sizeof pace_cases / sizeof pace_cases[0]; i++) {
        const struct pace_case *c = &pace_cases[i];
        check_num(c->name, "x", pace_expected_progress(&q4, c->ms, c->n_ms, c->t), c->want);
    }
    end();
}

static void test_least_squares(void **state)
{
    (void)state;
    begin();
    /* Unix-second xs keep their precision: (t, 1), (t + 1d, 3), (t + 2d, 2) */
    const double xs[] = { (double)Q4, (double)(Q4 + DAY), (double)(Q4 + 2 * DAY) };
    const double ys[] = { 1, 3, 2 };
    double y = 0;
    bool ok = pace_least_squares_at(xs, ys, 3, (double)(Q4 + 11 * DAY), &y);
    check_int(DAU ": least squares", "ok", ok, 1);
    check_num(DAU ": least squares", "y", y, 2 + 0.5 / DAY * (10 * DAY));
    check_int(DAU ": least squares, one x", "ok",
              pace_least_squares_at(xs, ys, 1, 0, &y), 0);
    const double same[] = { 5, 5, 5 };
    check_int(DAU ": least squares, equal xs", "ok",
              pace_least_squares_at(same, ys, 3, 0, &y), 0);
    end();
}

static void test_round_grade(void **state)
{
    (void)state;
    const struct { double in, want; } t[] = {
        { 0.675, 0.68 }, { 0.674999, 0.67 }, { 0.665, 0.67 }, { 0.6, 0.6 }, { 0, 0 },
        { 1, 1 }, { 0.005, 0.01 }, { 0.0049, 0 }, { 135.0 / 200, 0.68 }, { 0.285, 0.29 },
        { 0.145, 0.15 }, { 0.28499, 0.28 },
    };
    begin();
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s: grade of %.17g", DAU, t[i].in);
        check_num(name, "grade", pace_round_grade(t[i].in), t[i].want);
    }
    check_num(DAU ": grade of NaN", "grade", pace_round_grade(NAN), U);
    check_num(DAU ": clamp -0.5", "clamp", pace_clamp01(-0.5), 0);
    check_num(DAU ": clamp 1.5", "clamp", pace_clamp01(1.5), 1);
    check_num(DAU ": clamp NaN", "clamp", pace_clamp01(NAN), U);
    end();
}

/* ---- statuses, staleness ---- */

static void test_status_names(void **state)
{
    (void)state;
    const char *want[] = { "invalid", "no_data", "achieved", "missed",
                           "pending", "on_track", "at_risk", "off_track" };
    begin();
    for (int i = 0; i < OKR_N_STATUSES; i++) {
        check_str("status names", "name", okr_status_name((enum okr_status)i), want[i]);
        enum okr_status st = OKR_N_STATUSES;
        if (!okr_status_parse(want[i], &st) || st != (enum okr_status)i)
            fail_case("status names", "parse(%s) = %d", want[i], (int)st);
    }
    check_str("status names", "out of range", okr_status_name((enum okr_status)99), "unknown");
    enum okr_status st;
    check_int("status names", "parse(bogus)", okr_status_parse("on-track", &st), 0);
    end();
}

static void test_stale(void **state)
{
    (void)state;
    const struct { const char *name; int64_t last, after, now; bool want; } t[] = {
        { DAU ": fresh", D(10), 2 * DAY, D(11), false },
        { DAU ": exactly stale_after old", D(10), 2 * DAY, D(12), false },
        { DAU ": one second older", D(10), 2 * DAY, D(12) + 1, true },
        { DAU ": no point at all", OKR_NO_TS, 2 * DAY, D(12), false },
    };
    begin();
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        check_int(t[i].name, "stale", okr_is_stale(t[i].last, t[i].after, t[i].now), t[i].want);

    const struct { const char *name; int64_t cfg_ms, interval_ms, want; } d[] = {
        { "visitors: configured 2d", 2 * DAY * 1000, 60000, 2 * DAY },
        { "p95_latency_ms: prometheus every 1m", 0, 60000, 180 },
        { "visitors: http_json every 15m", 0, 15 * 60000, 2700 },
        { "dau: csv or push", 0, 0, 2 * DAY },
        { "dau: 1500ms rounds up", 1500, 0, 2 },
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        check_int(d[i].name, "stale_after_s", okr_stale_after_s(d[i].cfg_ms, d[i].interval_ms),
                  d[i].want);
    end();
}

/* stale_after defaults for a whole config: polled, CSV/push, and ratios,
 * which take the longer of their two inputs' stale_after. */
static void test_stale_ratio_defaults(void **state)
{
    (void)state;
    struct cfg_extract web_ex[] = { { .metric = "signups" }, { .metric = "visits" },
                                    { .metric = "bounces" } };
    struct cfg_extract slow_ex[] = { { .metric = "revenue" } };
    struct cfg_prom_query prom_q[] = { { .metric = "errors" } };
    struct cfg_source srcs[4] = {
        { .id = "drops", .type = CFG_SRC_CSV_DIR },
        { .id = "web", .type = CFG_SRC_HTTP_JSON,
          .u.http = { .interval_ms = 60000, .extract = web_ex, .n_extract = 3 } },
        { .id = "prom", .type = CFG_SRC_PROMETHEUS,
          .u.prom = { .interval_ms = 15 * 60000, .queries = prom_q, .n_queries = 1 } },
        { .id = "billing", .type = CFG_SRC_HTTP_JSON,
          .u.http = { .interval_ms = DAY * 1000, .extract = slow_ex, .n_extract = 1 } },
    };
    struct cfg_metric mets[] = {
        { .id = "conversion", .ratio_num = "signups", .ratio_den = "visits" },
        { .id = "error_rate", .ratio_num = "errors", .ratio_den = "visits" },
        { .id = "trial_rate", .ratio_num = "trials", .ratio_den = "visits" },
        { .id = "arpu", .ratio_num = "revenue", .ratio_den = "trials" },
        { .id = "pinned", .ratio_num = "signups", .ratio_den = "visits",
          .stale_after_ms = 10 * 60000 },
        { .id = "bounces", .stale_after_ms = 4 * HOUR * 1000 },
        { .id = "bounce_rate", .ratio_num = "bounces", .ratio_den = "visits" },
    };
    struct cfg cfg = { .sources = srcs, .n_sources = 4, .metrics = mets,
                       .n_metrics = sizeof mets / sizeof mets[0] };
    const struct { const char *name, *metric; int64_t want; } t[] = {
        { "signups: http_json every 1m", "signups", 180 },
        { "trials: csv or push", "trials", 2 * DAY },
        { "unknown metric", "nope", 2 * DAY },
        { "conversion: 1m over 1m", "conversion", 180 },
        { "error_rate: prometheus 15m over 1m", "error_rate", 2700 },
        { "trial_rate: csv over 1m", "trial_rate", 2 * DAY },
        { "arpu: polled daily (3d) over csv (2d)", "arpu", 3 * DAY },
        { "pinned: its own stale_after", "pinned", 600 },
        { "bounce_rate: an input's own stale_after (4h) over 1m", "bounce_rate", 4 * HOUR },
    };
    begin();
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        check_int(t[i].name, "stale_after_s", okr_metric_stale_after_s(&cfg, t[i].metric),
                  t[i].want);
    end();
}

/* ---- objectives ---- */

struct rk {
    size_t obj;
    double weight;
    enum okr_status st;
    double score, proj;
};

struct ro {
    size_t parent;
    double weight;
    enum okr_status st;
    double score, proj;
    int depth;
};

struct rollup_case {
    const char *name;
    const struct ro *objs;
    size_t n_objs;
    const struct rk *krs;
    size_t n_krs;
};

#define NP OKR_NO_PARENT
#define OBJS(...) .objs = (const struct ro[]){ __VA_ARGS__ }, \
                  .n_objs = sizeof((const struct ro[]){ __VA_ARGS__ }) / sizeof(struct ro)
#define KRS(...) .krs = (const struct rk[]){ __VA_ARGS__ }, \
                 .n_krs = sizeof((const struct rk[]){ __VA_ARGS__ }) / sizeof(struct rk)
#define NOKRS .krs = NULL, .n_krs = 0

#define ENG "Improve user engagement"

static const struct rollup_case rollup_cases[] = {
    /* (0.5 * 1 + 1 * 3) / 4; P (0.8 + min(1.2, 1) * 3) / 4; no_data and invalid out */
    { ENG ": weighted key results", OBJS({ NP, 1, OKR_ON_TRACK, 0.875, 0.95, 0 }),
      KRS({ 0, 1, OKR_ON_TRACK, 0.5, 0.8 }, { 0, 3, OKR_ACHIEVED, 1, 1.2 },
          { 0, 1, OKR_NO_DATA, U, U }, { 0, 5, OKR_INVALID, U, U }) },
    { ENG ": projected exactly 0.9", OBJS({ NP, 1, OKR_ON_TRACK, 0.45, 0.9, 0 }),
      KRS({ 0, 2, OKR_ON_TRACK, 0.45, 0.9 }) },
    { ENG ": projected exactly 0.7", OBJS({ NP, 1, OKR_AT_RISK, 0.35, 0.7, 0 }),
      KRS({ 0, 2, OKR_AT_RISK, 0.35, 0.7 }) },
    { ENG ": projections clamped to [0, 1]", OBJS({ NP, 1, OKR_OFF_TRACK, 0.5, 0.5, 0 }),
      KRS({ 0, 1, OKR_OFF_TRACK, 0, -0.5 }, { 0, 1, OKR_ON_TRACK, 1, 2.0 }) },
    { ENG ": every key result pending", OBJS({ NP, 1, OKR_PENDING, 0.075, 1.0, 0 }),
      KRS({ 0, 1, OKR_PENDING, 0.05, U }, { 0, 1, OKR_PENDING, 0.1, 1.0 }) },
    { ENG ": only no_data", OBJS({ NP, 1, OKR_NO_DATA, U, U, 0 }),
      KRS({ 0, 1, OKR_NO_DATA, U, U }, { 0, 1, OKR_INVALID, U, U }) },
    { ENG ": no key results", OBJS({ NP, 1, OKR_NO_DATA, U, U, 0 }), NOKRS },
    /* 2 levels, parent listed last: engagement 0.875 / 0.95 (weight 2),
     * retention 0.2 / 0.4, company's own KR 0.6 / 0.6:
     * (0.6 + 2 * 0.875 + 0.2) / 4 = 0.6375, (0.6 + 2 * 0.95 + 0.4) / 4 = 0.725 */
    { "Grow the company: 2 levels",
      OBJS({ 2, 2, OKR_ON_TRACK, 0.875, 0.95, 1 }, { 2, 1, OKR_OFF_TRACK, 0.2, 0.4, 1 },
           { NP, 1, OKR_AT_RISK, 0.6375, 0.725, 0 }),
      KRS({ 0, 1, OKR_ON_TRACK, 0.5, 0.8 }, { 0, 3, OKR_ACHIEVED, 1, 1.2 },
          { 1, 1, OKR_OFF_TRACK, 0.2, 0.4 }, { 2, 1, OKR_AT_RISK, 0.6, 0.6 }) },
    /* 3 levels: onboarding 0.4 / 1.0 under engagement, whose own KR is
     * 0.7 / 0.8 -> 0.55 / 0.9; support has no data and is left out of the
     * company, which has no KR of its own */
    { "Grow the company: 3 levels",
      OBJS({ NP, 1, OKR_ON_TRACK, 0.55, 0.9, 0 }, { 0, 2, OKR_ON_TRACK, 0.55, 0.9, 1 },
           { 1, 1, OKR_ON_TRACK, 0.4, 1.0, 2 }, { 0, 1, OKR_NO_DATA, U, U, 1 }),
      KRS({ 2, 1, OKR_ON_TRACK, 0.4, 1.0 }, { 1, 1, OKR_AT_RISK, 0.7, 0.8 },
          { 3, 1, OKR_NO_DATA, U, U }) },
    /* a pending child keeps a parent with only pending members pending */
    { "Grow the company: pending child",
      OBJS({ NP, 1, OKR_PENDING, 0.1, U, 0 }, { 0, 1, OKR_PENDING, 0.1, U, 1 }),
      KRS({ 1, 1, OKR_PENDING, 0.1, U }) },
};

static void test_rollup(void **state)
{
    (void)state;
    begin();
    for (size_t i = 0; i < sizeof rollup_cases / sizeof rollup_cases[0]; i++) {
        const struct rollup_case *c = &rollup_cases[i];
        struct okr_rollup_obj objs[8];
        struct okr_rollup_kr krs[8];
        struct okr_result res[8];
        struct okr_objective_result out[8];
        for (size_t k = 0; k < c->n_objs; k++)
            objs[k] = (struct okr_rollup_obj){ c->objs[k].parent, c->objs[k].weight };
        for (size_t k = 0; k < c->n_krs; k++) {
            memset(&res[k], 0, sizeof res[k]);
            res[k].status = c->krs[k].st;
            res[k].score = c->krs[k].score;
            res[k].projected_score = c->krs[k].proj;
            krs[k] = (struct okr_rollup_kr){ c->krs[k].obj, c->krs[k].weight, &res[k] };
        }
        int rc = okr_rollup(objs, c->n_objs, krs, c->n_krs, out);
        check_int(c->name, "rc", rc, 0);
        for (size_t k = 0; k < c->n_objs; k++) {
            char what[64];
            snprintf(what, sizeof what, "objective %zu status", k);
            if (out[k].status != c->objs[k].st)
                fail_case(c->name, "%s = %s, want %s", what, okr_status_name(out[k].status),
                          okr_status_name(c->objs[k].st));
            snprintf(what, sizeof what, "objective %zu score", k);
            check_num(c->name, what, out[k].score, c->objs[k].score);
            snprintf(what, sizeof what, "objective %zu projected", k);
            check_num(c->name, what, out[k].projected_score, c->objs[k].proj);
            snprintf(what, sizeof what, "objective %zu depth", k);
            check_int(c->name, what, out[k].depth, c->objs[k].depth);
        }
    }
    end();
}

static void test_rollup_errors(void **state)
{
    (void)state;
    struct okr_objective_result out[3];
    struct okr_result r = { .status = OKR_ON_TRACK, .score = 0.5, .projected_score = 1 };
    begin();
    const struct okr_rollup_obj cyc[] = { { 1, 1 }, { 0, 1 } };
    check_int("Grow the company: parents in a cycle", "rc", okr_rollup(cyc, 2, NULL, 0, out),
              OKRD_EINVAL);
    const struct okr_rollup_obj self[] = { { 0, 1 } };
    check_int("Grow the company: its own parent", "rc", okr_rollup(self, 1, NULL, 0, out),
              OKRD_EINVAL);
    const struct okr_rollup_obj far[] = { { NP, 1 }, { 7, 1 } };
    check_int("Grow the company: parent out of range", "rc", okr_rollup(far, 2, NULL, 0, out),
              OKRD_EINVAL);
    const struct okr_rollup_kr stray[] = { { 3, 1, &r } };
    check_int("Grow the company: key result of no objective", "rc",
              okr_rollup(far, 1, stray, 1, out), OKRD_EINVAL);
    end();
}

/* The same tree straight from config structs: company (own KR weight 1) with
 * child engagement (weight 2, two KRs weighted 1 and 3). */
static void test_rollup_cfg(void **state)
{
    (void)state;
    const char *name = "Grow the company: from the config";
    struct cfg_key_result company_krs[1], eng_krs[2];
    struct cfg_objective objs[2];
    memset(objs, 0, sizeof objs);
    memset(company_krs, 0, sizeof company_krs);
    memset(eng_krs, 0, sizeof eng_krs);
    objs[0].id = "engagement";
    objs[0].weight = 2;
    objs[0].parent = &objs[1];
    objs[0].key_results = eng_krs;
    objs[0].n_key_results = 2;
    eng_krs[0].weight = 1;
    eng_krs[1].weight = 3;
    objs[1].id = "company-growth";
    objs[1].weight = 1;
    objs[1].key_results = company_krs;
    objs[1].n_key_results = 1;
    company_krs[0].weight = 1;
    struct okr_result res[3] = {
        { .status = OKR_ON_TRACK, .score = 0.5, .projected_score = 0.8 },
        { .status = OKR_ACHIEVED, .score = 1, .projected_score = 1.2 },
        { .status = OKR_AT_RISK, .score = 0.6, .projected_score = 0.6 },
    };
    struct okr_objective_result out[2];
    begin();
    check_int(name, "rc", okr_rollup_cfg(objs, 2, res, out), 0);
    check_num(name, "engagement score", out[0].score, 0.875);
    check_num(name, "engagement projected", out[0].projected_score, 0.95);
    check_int(name, "engagement depth", out[0].depth, 1);
    /* (0.6 + 2 * 0.875) / 3, (0.6 + 2 * 0.95) / 3 */
    check_num(name, "company score", out[1].score, (0.6 + 1.75) / 3);
    check_num(name, "company projected", out[1].projected_score, 2.5 / 3);
    check_int(name, "company status", out[1].status, OKR_AT_RISK);
    struct cfg_objective stranger = objs[1];
    objs[1].parent = &stranger;
    check_int(name, "parent outside the array", okr_rollup_cfg(objs, 2, res, out), OKRD_EINVAL);
    end();
}

/* ---- lints ---- */

static void test_lint_predicates(void **state)
{
    (void)state;
    begin();
    const int64_t bts[] = { D(0), D(1), D(2) };
    const double bin[] = { 0, 1, 1 }, notbin[] = { 0, 1, 2 };
    struct okr_series sb = { bts, bin, 3 }, snb = { bts, notbin, 3 }, one = { bts, bin + 1, 1 };
    check_int("Launch the referral program: 0/1 metric", "binary", okr_series_is_binary(&sb), 1);
    check_int(DAU ": not binary", "binary", okr_series_is_binary(&snb), 0);
    check_int(DAU ": one point", "binary", okr_series_is_binary(&one), 0);

    const struct { const char *name; struct cfg_cycle c; bool want; } cyc[] = {
        { "Q4 2026", { Q4, D(92), "2026-10-01", "2026-12-31" }, false },
        { "calendar 2026", { 1767225600, 1798761600, "2026-01-01", "2026-12-31" }, false },
        { "a year and a day", { 1767225600, 1798848000, "2026-01-01", "2027-01-01" }, true },
        { "leap day to the day before its anniversary",
          { 1835395200, 1867017600, "2028-02-29", "2029-02-28" }, false },
        { "leap day to its anniversary (Mar 1)",
          { 1835395200, 1867104000, "2028-02-29", "2029-03-01" }, true },
        { "hand-built, 367 days", { Q4, D(367), "", "" }, true },
    };
    for (size_t i = 0; i < sizeof cyc / sizeof cyc[0]; i++)
        check_int(cyc[i].name, "longer than a year", okr_cycle_longer_than_a_year(&cyc[i].c),
                  cyc[i].want);

    /* 8 weeks of DAU; D(0) is a Thursday, so days 2 and 3 mod 7 are weekends */
    int64_t ts[56];
    double v[56];
    const struct { const char *name; int kind; int n; bool want; } wk[] = {
        { DAU ": weekdays 1000 + 2/day, weekends 300 lower", 0, 56, true },
        { DAU ": steady growth", 1, 56, false },
        { DAU ": noise", 2, 56, false },
        { DAU ": weekly dip of 1 user in 1000", 3, 56, false },
        { DAU ": only 20 days", 0, 20, false },
    };
    for (size_t i = 0; i < sizeof wk / sizeof wk[0]; i++) {
        uint32_t seed = 7;
        for (int k = 0; k < wk[i].n; k++) {
            bool weekend = k % 7 == 2 || k % 7 == 3;
            seed = seed * 1103515245u + 12345u;
            ts[k] = D(k) + 20 * HOUR;
            v[k] = wk[i].kind == 0 ? 1000 + 2 * k - (weekend ? 300 : 0)
                 : wk[i].kind == 1 ? 1000 + 2 * k
                 : wk[i].kind == 2 ? 1000 + (double)(seed >> 16 & 0xff) / 2.55
                 : 1000 - (weekend ? 1 : 0);
        }
        struct okr_series ws = { ts, v, (size_t)wk[i].n };
        check_int(wk[i].name, "weekly pattern", okr_series_has_weekly_pattern(&ws, NULL),
                  wk[i].want);
    }

    struct okr_result res[2] = { { .status = OKR_ACHIEVED, .final = true },
                                 { .status = OKR_ACHIEVED, .final = true } };
    check_int(ENG ": all achieved", "all achieved", okr_all_achieved(res, 2), 1);
    res[1].final = false;
    check_int(ENG ": achieved before the end", "all achieved", okr_all_achieved(res, 2), 0);
    res[1] = (struct okr_result){ .status = OKR_MISSED, .final = true };
    check_int(ENG ": one missed", "all achieved", okr_all_achieved(res, 2), 0);
    check_int(ENG ": no key results", "all achieved", okr_all_achieved(res, 0), 0);
    end();
}

static void test_lint_objective(void **state)
{
    (void)state;
    const char *name = ENG ": lints";
    struct cfg_key_result krs[6];
    memset(krs, 0, sizeof krs);
    for (int i = 0; i < 6; i++)
        krs[i].id = "kr";
    struct cfg_objective o = { .id = "engagement", .weight = 1, .cycle = cycle_of(CYC_Q4),
                               .key_results = krs, .n_key_results = 1 };
    const int64_t bts[] = { D(0), D(1), D(2) };
    const double bin[] = { 0, 1, 1 };
    struct okr_series series[6];
    for (int i = 0; i < 6; i++)
        series[i] = (struct okr_series){ bts, bin, 3 };
    struct okr_lint out[8];
    begin();
    /* one key result, binary: two lints, both named and placed */
    size_t n = okr_lint_objective(&o, series, NULL, NULL, out, 8);
    check_int(name, "one binary key result", (long long)n, 2);
    if (n == 2) {
        check_str(name, "first id", out[0].id, "engagement");
        check_int(name, "first pos", out[0].pos == &o.pos, 1);
        check_int(name, "second pos", out[1].pos == &krs[0].pos, 1);
        check_int(name, "binary message", strstr(out[1].message, "0 and 1") != NULL, 1);
    }
    /* caps the output, still counts */
    check_int(name, "cap 1", (long long)okr_lint_objective(&o, series, NULL, NULL, out, 1), 2);
    o.n_key_results = 6;
    check_int(name, "six key results, no series", (long long)okr_lint_objective(&o, NULL, NULL, NULL, out, 8), 1);
    o.n_key_results = 0;
    check_int(name, "a parent without key results", (long long)okr_lint_objective(&o, NULL, NULL, NULL, out, 8), 0);
    o.n_key_results = 2;
    struct okr_result res[2] = { { .status = OKR_ACHIEVED, .final = true },
                                 { .status = OKR_ACHIEVED, .final = true } };
    n = okr_lint_objective(&o, NULL, res, NULL, out, 8);
    check_int(name, "all achieved", (long long)n, 1);
    if (n == 1)
        check_int(name, "all achieved message", strstr(out[0].message, "ambitious") != NULL, 1);
    end();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_increase),
        cmocka_unit_test(test_decrease),
        cmocka_unit_test(test_cycle_sum),
        cmocka_unit_test(test_milestones),
        cmocka_unit_test(test_trend),
        cmocka_unit_test(test_at_least),
        cmocka_unit_test(test_at_most),
        cmocka_unit_test(test_time_zone),
        cmocka_unit_test(test_day_steps),
        cmocka_unit_test(test_baseline),
        cmocka_unit_test(test_value_at),
        cmocka_unit_test(test_walk_matches_value_at),
        cmocka_unit_test(test_exact_sum),
        cmocka_unit_test(test_series_values_match_value_at),
        cmocka_unit_test(test_ratio),
        cmocka_unit_test(test_expected_progress),
        cmocka_unit_test(test_least_squares),
        cmocka_unit_test(test_round_grade),
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_stale),
        cmocka_unit_test(test_stale_ratio_defaults),
        cmocka_unit_test(test_rollup),
        cmocka_unit_test(test_rollup_errors),
        cmocka_unit_test(test_rollup_cfg),
        cmocka_unit_test(test_lint_predicates),
        cmocka_unit_test(test_lint_objective),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
