/*
 * test_okr_forecast.c — the forecast of DESIGN section 9 (okr_forecast.c),
 * by tables: Student's t CDF and quantiles against values computed
 * independently (mpmath 1.3, 30 digits, the regularized incomplete beta
 * function: F(x) = 1 - I_{nu/(nu+x^2)}(nu/2, 1/2) / 2 for x > 0), the
 * increase/decrease forecast of a small noisy series worked out the same way,
 * an exact line, the at_least/at_most forecast against Binomial sums done
 * directly here in long double (C(R, x) q^x (1-q)^(R-x), term by term), and
 * every rule that makes the forecast null. Times: Q4 is
 * 2026-10-01T00:00:00Z, day d of a cycle starts at D(d).
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

#define DAY 86400LL
#define HOUR 3600LL
#define Q4 1790812800LL          /* 2026-10-01T00:00:00Z */
#define D(d) (Q4 + (d) * DAY)

static void near(const char *name, const char *what, double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol * fmax(1.0, fabs(want))))
        fail_msg("%s: %s = %.17g, want %.17g (tol %g)", name, what, got, want, tol);
}

/* ---- Student's t ---- */

struct t_row {
    int nu;
    double x, cdf;
};

/* mpmath: see the header */
static const struct t_row t_rows[] = {
    { 1, 1.0, 0.75 },
    { 1, -3.0, 0.10241638234956673 },
    { 1, 100.0, 0.99681700723509174 },
    { 2, 1.0, 0.78867513459481288 },
    { 2, -0.5, 0.33333333333333333 },
    { 3, 1.0, 0.80449889052211468 },
    { 3, 2.5, 0.95614667649596723 },
    { 4, -2.0, 0.058058261758407797 },
    { 5, 2.0, 0.94903026058507082 },
    { 10, -1.5, 0.08225366322272009 },
    { 10, 1.3722, 0.90000246461387881 },
    { 30, 0.7, 0.75533977825016423 },
    { 7, 0.0, 0.5 },
};

static void test_t_cdf(void **state)
{
    (void)state;
    char name[64];
    for (size_t i = 0; i < sizeof t_rows / sizeof *t_rows; i++) {
        snprintf(name, sizeof name, "F_%d(%g)", t_rows[i].nu, t_rows[i].x);
        near(name, "cdf", okr_t_cdf(t_rows[i].nu, t_rows[i].x), t_rows[i].cdf, 1e-13);
        /* symmetry */
        near(name, "1 - F(-x)", 1.0 - okr_t_cdf(t_rows[i].nu, -t_rows[i].x), t_rows[i].cdf,
             1e-13);
    }
    assert_true(okr_t_cdf(3, INFINITY) == 1.0);
    assert_true(okr_t_cdf(3, -INFINITY) == 0.0);
    /* far tails stay probabilities: never below 0 (nor -0) or above 1 */
    for (int nu = 1; nu <= 40; nu++)
        for (double x = 1.0; x < 1e9; x *= 1.7) {
            double lo = okr_t_cdf(nu, -x), hi = okr_t_cdf(nu, x);
            assert_false(lo < 0.0 || signbit(lo));
            assert_true(hi <= 1.0 && lo <= hi);
        }
    assert_true(isnan(okr_t_cdf(0, 1.0)));
    assert_true(isnan(okr_t_cdf(3, NAN)));
}

struct q_row {
    int nu;
    double q90;     /* F_nu^-1(0.90); F_nu^-1(0.10) = -q90 */
    double four;    /* the 4-decimal table value */
};

static const struct q_row q_rows[] = {
    { 1, 3.0776835371752534, 3.0777 },
    { 2, 1.8856180831641267, 1.8856 },
    { 3, 1.6377443536962101, 1.6377 },
    { 10, 1.3721836411103356, 1.3722 },
    { 30, 1.3104150253913956, 1.3104 },
};

static void test_t_quantile(void **state)
{
    (void)state;
    char name[64];
    for (size_t i = 0; i < sizeof q_rows / sizeof *q_rows; i++) {
        snprintf(name, sizeof name, "nu=%d", q_rows[i].nu);
        double q90 = okr_t_quantile(q_rows[i].nu, 0.90);
        double q10 = okr_t_quantile(q_rows[i].nu, 0.10);
        near(name, "q90", q90, q_rows[i].q90, 1e-9);
        near(name, "q10", q10, -q_rows[i].q90, 1e-9);
        near(name, "q90 (4 decimals)", round(q90 * 1e4) / 1e4, q_rows[i].four, 1e-12);
    }
    assert_true(okr_t_quantile(5, 0.5) == 0.0);
    assert_true(isnan(okr_t_quantile(5, 1.5)));
}

/* ---- key results ---- */

struct fixture {
    struct cfg_objective obj;
    struct cfg_key_result kr;
    int64_t ts[600];
    double v[600];
    struct okr_series s;
};

static void fixture_init(struct fixture *f, enum cfg_direction dir, int64_t end_s,
                         int trend_days)
{
    memset(f, 0, sizeof *f);
    f->obj.id = "obj";
    f->obj.title = "Objective";
    f->obj.weight = 1;
    f->obj.cycle = (struct cfg_cycle){ Q4, end_s, "2026-10-01", "" };
    f->obj.key_results = &f->kr;
    f->obj.n_key_results = 1;
    f->kr.id = "kr";
    f->kr.title = "KR";
    f->kr.metric = "m";
    f->kr.direction = dir;
    f->kr.target.kind = CFG_TARGET_ABSOLUTE;
    f->kr.baseline_auto = false;
    f->kr.aggregate.fn = CFG_AGG_LAST;
    f->kr.weight = 1;
    f->kr.projection = CFG_PROJ_AVERAGE;
    f->kr.trend_window_ms = (int64_t)trend_days * DAY * 1000;
    f->kr.grace = 0.1;
    f->kr.at_risk = 0.9;
    f->kr.off_track = 0.7;
    f->kr.margin = 0.05;
    f->kr.objective = &f->obj;
    f->s = (struct okr_series){ f->ts, f->v, 0 };
}

static void add(struct fixture *f, int64_t ts, double v)
{
    assert_true(f->s.n < 600);
    f->ts[f->s.n] = ts;
    f->v[f->s.n] = v;
    f->s.n++;
}

/* Evaluates at T and checks that the result carries what okr_forecast gives. */
static struct okr_forecast eval(struct fixture *f, int64_t t, struct okr_result *r)
{
    okr_evaluate(&f->kr, &f->s, NULL, t, r);
    struct okr_forecast direct;
    okr_forecast(&f->kr, &f->s, NULL, t, r, &direct);
    assert_int_equal(direct.defined, r->forecast.defined);
    if (direct.defined)
        assert_true(direct.probability == r->forecast.probability);
    return r->forecast;
}

/* ---- increase / decrease, worked out independently ---- */

/* Five days of a noisy metric, days 40..44 of Q4, evaluated at the last
 * second of day 44, trend_window 5d: x = -4..0 exactly, x_e = 47 + 1/86400.
 * By hand: xbar = -2, Sxx = 10; increase y = 1100 1108 1105 1121 1119 gives
 * b = 51/10 = 5.1, a = 1110.6 + 2*5.1 = 1120.8, residuals -0.4 2.5 -5.6 5.3
 * -1.8, SSE = 69.1, s^2 = 69.1/3; yhat = 1120.8 + 5.1 x_e. Probability and
 * quantiles from mpmath (the same formulas with its incomplete beta). */
struct value_row {
    const char *name;
    enum cfg_direction dir;
    double ys[5];
    double target;
    double prob, p10, p50, p90, a, b, s;
};

static const struct value_row value_rows[] = {
    { "DAU up to 1400 (noisy)", CFG_DIR_INCREASE, { 1100, 1108, 1105, 1121, 1119 }, 1400,
      0.3164674048606326, 1238.4035434302161, 1360.5000590277778, 1482.5965746253394, 1120.8,
      5.1, 4.79930550531359 },
    { "DAU up to 1200 (noisy, likely)", CFG_DIR_INCREASE, { 1100, 1108, 1105, 1121, 1119 },
      1200, 0.93980922849042951, 1238.4035434302161, 1360.5000590277778, 1482.5965746253394,
      1120.8, 5.1, 4.79930550531359 },
    { "churn down to 150 (noisy)", CFG_DIR_DECREASE, { 300, 296, 297, 290, 289 }, 150,
      0.41138143915541465, 108.93009814196994, 157.19996759259259, 205.46983704321525, 288.8,
      -2.8, 1.8973665961010276 },
};

static void test_value_noisy(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof value_rows / sizeof *value_rows; i++) {
        const struct value_row *w = &value_rows[i];
        struct fixture f;
        fixture_init(&f, w->dir, D(92), 5);
        f.kr.target.value = w->target;
        f.kr.baseline = w->dir == CFG_DIR_INCREASE ? 1000 : 320;
        for (int d = 0; d < 5; d++)
            add(&f, D(40 + d), w->ys[d]);
        struct okr_result r;
        struct okr_forecast fc = eval(&f, D(45) - 1, &r);
        if (!fc.defined)
            fail_msg("%s: forecast null", w->name);
        assert_int_equal(fc.of, OKR_FORECAST_VALUE);
        assert_int_equal(fc.n, 5);
        near(w->name, "probability", fc.probability, w->prob, 1e-10);
        near(w->name, "p10", fc.p10, w->p10, 1e-10);
        near(w->name, "p50", fc.p50, w->p50, 1e-12);
        near(w->name, "p90", fc.p90, w->p90, 1e-10);
        near(w->name, "a", fc.a, w->a, 1e-12);
        near(w->name, "b", fc.b, w->b, 1e-12);
        near(w->name, "s", fc.s, w->s, 1e-12);
        near(w->name, "xbar", fc.xbar, -2.0, 1e-12);
        near(w->name, "sxx", fc.sxx, 10.0, 1e-12);
        near(w->name, "q90", fc.q90, 1.6377443536962101, 1e-9);
        /* the band at the end is the p10/p50/p90 */
        double xe = 47.0 + 1.0 / 86400.0;
        near(w->name, "band p10", okr_forecast_band(&fc, xe, fc.q10), w->p10, 1e-10);
        near(w->name, "band p50", okr_forecast_band(&fc, xe, 0.0), w->p50, 1e-10);
        near(w->name, "band p90", okr_forecast_band(&fc, xe, fc.q90), w->p90, 1e-10);
        /* today: the fitted value, spread s*sqrt(1 + 1/5 + 4/10) */
        near(w->name, "band today", okr_forecast_band(&fc, 0.0, fc.q90),
             w->a + fc.q90 * w->s * sqrt(1.6), 1e-10);
    }
}

/* A perfect line: s = 0, probability 1 or 0, every quantile the end value. */
static void test_value_exact_line(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum cfg_direction dir;
        double start, step, target, prob;
    } rows[] = {
        /* 14 days 1000, 1010, ..., 1130 at days 31..44; yhat at x_e = 47 + 1/86400 */
        { "signups: line reaches 1500", CFG_DIR_INCREASE, 1000, 10, 1500, 1.0 },
        { "signups: line falls short of 1700", CFG_DIR_INCREASE, 1000, 10, 1700, 0.0 },
        { "latency: line gets under 450", CFG_DIR_DECREASE, 1000, -10, 450, 1.0 },
        { "latency: line stays above 350", CFG_DIR_DECREASE, 1000, -10, 350, 0.0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        struct fixture f;
        fixture_init(&f, rows[i].dir, D(92), 14);
        f.kr.target.value = rows[i].target;
        f.kr.baseline = rows[i].dir == CFG_DIR_INCREASE ? 900 : 1100;
        for (int d = 0; d < 14; d++)
            add(&f, D(31 + d), rows[i].start + rows[i].step * d);
        struct okr_result r;
        struct okr_forecast fc = eval(&f, D(45) - 1, &r);
        assert_true(fc.defined);
        double yhat = rows[i].start + rows[i].step * (13 + 47 + 1.0 / 86400.0);
        near(rows[i].name, "probability", fc.probability, rows[i].prob, 0.0);
        near(rows[i].name, "p50", fc.p50, yhat, 1e-12);
        assert_true(fc.p10 == fc.p50 && fc.p90 == fc.p50);
        assert_true(fc.s == 0.0 && fc.q10 == 0.0 && fc.q90 == 0.0);
        near(rows[i].name, "band", okr_forecast_band(&fc, 10.0, fc.q90),
             rows[i].start + rows[i].step * 23, 1e-12);
    }
}

/* ---- at_least / at_most: Binomial(R, q) ---- */

/* P(X = x) for X ~ Binomial(R, q), directly: C(R, x) q^x (1-q)^(R-x) with
 * the coefficient built as a product in long double (C(400, 200) ~ 1e119
 * fits easily). */
static long double pmf(long R, long x, long double q)
{
    long double c = 1.0L;
    for (long i = 1; i <= x; i++)
        c = c * (long double)(R - x + i) / (long double)i;
    return c * powl(q, (long double)x) * powl(1.0L - q, (long double)(R - x));
}

struct share_row {
    const char *name;
    enum cfg_direction dir;
    int cycle_days, trend_days;
    int first_day;               /* the first point's day (may be < 0) */
    const char *met;             /* one char per day from first_day to t's day: y/n */
    double at_risk;
    /* by hand */
    long D, M, R;
    double q;
};

#define CSAT "CSAT >= 8"
static const struct share_row share_rows[] = {
    { CSAT ": mid-cycle, q = 0.8", CFG_DIR_AT_LEAST, 30, 10, 0, "yyynyyynyy", 0.9,
      10, 8, 20, 0.8 },
    { CSAT ": trend days before the start", CFG_DIR_AT_LEAST, 20, 10, -7, "nnnyyyyyyy", 0.9,
      3, 3, 17, 0.7 },
    { "p95 latency <= 300: at_most", CFG_DIR_AT_MOST, 30, 10, 0, "yynyynyyyy", 0.7,
      10, 8, 20, 0.8 },
    { CSAT ": q = 0, kept already (k <= 0)", CFG_DIR_AT_LEAST, 10, 3, 0, "yyyynnnn", 0.4,
      8, 4, 2, 0.0 },
    { CSAT ": q = 0, lost", CFG_DIR_AT_LEAST, 10, 5, 0, "nnnnn", 0.9, 5, 0, 5, 0.0 },
    { CSAT ": q = 1, short (k > R)", CFG_DIR_AT_LEAST, 10, 3, 0, "nnyyy", 0.9, 5, 3, 5, 1.0 },
    { CSAT ": q = 1, made", CFG_DIR_AT_LEAST, 10, 3, 0, "nnyyy", 0.8, 5, 3, 5, 1.0 },
    { CSAT ": k > R with q = 0.5", CFG_DIR_AT_LEAST, 12, 4, 0, "nnnynyn", 0.9, 7, 2, 5, 0.5 },
    { CSAT ": R = 400 near the middle", CFG_DIR_AT_LEAST, 401, 10, -9, "ynynynynyy", 0.6,
      1, 1, 400, 0.6 },
    { CSAT ": R = 400, far tail", CFG_DIR_AT_LEAST, 401, 10, -9, "ynynynynyn", 0.9,
      1, 0, 400, 0.5 },
    { CSAT ": R = 400, last day", CFG_DIR_AT_LEAST, 401, 4, -3, "nyyy", 0.8,
      1, 1, 400, 0.75 },
};

static void test_share(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof share_rows / sizeof *share_rows; i++) {
        const struct share_row *w = &share_rows[i];
        struct fixture f;
        fixture_init(&f, w->dir, D(w->cycle_days), w->trend_days);
        f.kr.at_risk = w->at_risk;
        f.kr.baseline = 0;
        f.kr.target.value = w->dir == CFG_DIR_AT_LEAST ? 8 : 300;
        double good = w->dir == CFG_DIR_AT_LEAST ? 9 : 250;
        double bad = w->dir == CFG_DIR_AT_LEAST ? 7 : 400;
        int n = (int)strlen(w->met);
        for (int k = 0; k < n; k++)
            add(&f, D(w->first_day + k), w->met[k] == 'y' ? good : bad);
        int t_day = w->first_day + n - 1;
        struct okr_result r;
        struct okr_forecast fc = eval(&f, D(t_day) + 12 * HOUR, &r);
        if (!fc.defined)
            fail_msg("%s: forecast null", w->name);
        assert_int_equal(fc.of, OKR_FORECAST_SHARE);

        /* the direct sums */
        long double prob = 0.0L, cdf = 0.0L;
        double denom = (double)(w->D + w->R);
        double want_p[3] = { NAN, NAN, NAN };
        const double ps[3] = { 0.10, 0.50, 0.90 };
        for (long x = 0; x <= w->R; x++) {
            long double px = pmf(w->R, x, (long double)w->q);
            if ((double)(w->M + x) / denom >= w->at_risk)
                prob += px;
            cdf += px;
            for (int k = 0; k < 3; k++)
                if (isnan(want_p[k]) && cdf >= (long double)ps[k] - 1e-12L)
                    want_p[k] = (double)(w->M + x) / denom;
        }
        double want = (double)prob;
        /* relative for the far tail: no cancellation may eat it */
        if (!(fabs(fc.probability - want) <= 1e-12 + 1e-9 * want))
            fail_msg("%s: probability = %.17g, want %.17g", w->name, fc.probability, want);
        near(w->name, "p10", fc.p10, want_p[0], 0.0);
        near(w->name, "p50", fc.p50, want_p[1], 0.0);
        near(w->name, "p90", fc.p90, want_p[2], 0.0);
        assert_true(fc.probability >= 0.0 && fc.probability <= 1.0);
    }
}

/* Spot values of the rows above, by hand, so the direct sums themselves are
 * checked: q = 0 kept already: 4/10 >= 0.4 for x = 0, probability 1; q = 1
 * short: (3 + 5)/10 = 0.8 < 0.9, probability 0, every quantile 0.8; q = 1
 * made: 0.8 >= 0.8, 1; mid-cycle q = 0.8: x >= 19 of 20, 0.8^20 + 20 *
 * 0.8^19 * 0.2 = 0.06917529027641...; R = 400, far tail: x >= 360 of
 * Binomial(400, 0.5), 9.47159979238514e-67 (exact rationals in Python). */
static void test_share_by_hand(void **state)
{
    (void)state;
    static const struct {
        size_t row;
        double prob, tol;
    } spots[] = {
        { 3, 1.0, 0.0 },
        { 4, 0.0, 0.0 },
        { 5, 0.0, 0.0 },
        { 6, 1.0, 0.0 },
        { 7, 0.0, 0.0 },
        { 0, 0.069175290276410819, 1e-14 },
    };
    for (size_t i = 0; i < sizeof spots / sizeof *spots; i++) {
        const struct share_row *w = &share_rows[spots[i].row];
        struct fixture f;
        fixture_init(&f, w->dir, D(w->cycle_days), w->trend_days);
        f.kr.at_risk = w->at_risk;
        f.kr.baseline = 0;
        f.kr.target.value = 8;
        int n = (int)strlen(w->met);
        for (int k = 0; k < n; k++)
            add(&f, D(w->first_day + k), w->met[k] == 'y' ? 9 : 7);
        struct okr_result r;
        struct okr_forecast fc = eval(&f, D(w->first_day + n - 1) + 12 * HOUR, &r);
        assert_true(fc.defined);
        near(w->name, "probability", fc.probability, spots[i].prob, spots[i].tol);
        if (spots[i].row == 5)
            assert_true(fc.p10 == 0.8 && fc.p50 == 0.8 && fc.p90 == 0.8);
    }
    /* the far tail: positive, tiny, not 0 and not noise */
    const struct share_row *w = &share_rows[9];
    struct fixture f;
    fixture_init(&f, w->dir, D(w->cycle_days), w->trend_days);
    f.kr.target.value = 8;
    f.kr.at_risk = w->at_risk;
    int n = (int)strlen(w->met);
    for (int k = 0; k < n; k++)
        add(&f, D(w->first_day + k), w->met[k] == 'y' ? 9 : 7);
    struct okr_result r;
    struct okr_forecast fc = eval(&f, D(0) + 12 * HOUR, &r);
    /* sum_{x=361}^{400} C(400, x) / 2^400 in exact rationals (Python) */
    assert_true(fc.defined);
    if (!(fabs(fc.probability - 9.47159979238514e-67) <= 1e-9 * 9.47159979238514e-67))
        fail_msg("far tail = %.17g", fc.probability);
}

/* ---- null rules ---- */

static void test_null_rules(void **state)
{
    (void)state;
    struct okr_result r;
    struct fixture f;

    /* before s: points exist, the cycle has not started */
    fixture_init(&f, CFG_DIR_INCREASE, D(92), 14);
    f.kr.baseline = 1000;
    f.kr.target.value = 1200;
    for (int d = -10; d < 0; d++)
        add(&f, D(d), 1000 + d);
    assert_false(eval(&f, Q4 - 1, &r).defined);
    /* from s on it exists (10 days, all before s, in the window) */
    assert_true(eval(&f, Q4, &r).defined);

    /* from e on: the result is known */
    fixture_init(&f, CFG_DIR_INCREASE, D(10), 14);
    f.kr.baseline = 1000;
    f.kr.target.value = 1200;
    for (int d = 0; d < 10; d++)
        add(&f, D(d), 1000 + 10 * d);
    assert_true(eval(&f, D(10) - 1, &r).defined);
    assert_false(eval(&f, D(10), &r).defined);
    assert_false(eval(&f, D(11), &r).defined);

    /* no_data: no point at all */
    fixture_init(&f, CFG_DIR_INCREASE, D(92), 14);
    f.kr.baseline = 1000;
    f.kr.target.value = 1200;
    assert_false(eval(&f, D(20), &r).defined);
    assert_int_equal(r.status, OKR_NO_DATA);

    /* invalid: an auto baseline above an increase's target */
    fixture_init(&f, CFG_DIR_INCREASE, D(92), 14);
    f.kr.baseline_auto = true;
    f.kr.target.value = 900;
    for (int d = -3; d < 20; d++)
        add(&f, D(d), 1000 + d);
    assert_false(eval(&f, D(20), &r).defined);
    assert_int_equal(r.status, OKR_INVALID);

    /* fewer than 3 trend days: a 2-day window, or 2 days with data */
    fixture_init(&f, CFG_DIR_INCREASE, D(92), 2);
    f.kr.baseline = 1000;
    f.kr.target.value = 1200;
    for (int d = 0; d < 20; d++)
        add(&f, D(d), 1000 + d);
    assert_false(eval(&f, D(19) + HOUR, &r).defined);
    fixture_init(&f, CFG_DIR_INCREASE, D(92), 14);
    f.kr.baseline = 1000;
    f.kr.target.value = 1200;
    f.kr.aggregate.fn = CFG_AGG_SUM;
    f.kr.aggregate.window_ms = DAY * 1000;   /* a day's sum: undefined on empty days */
    add(&f, D(18), 5);
    add(&f, D(19), 6);
    assert_false(eval(&f, D(19) + HOUR, &r).defined);
    add(&f, D(19) + 2 * HOUR, 7);             /* still 2 days */
    assert_false(eval(&f, D(19) + 3 * HOUR, &r).defined);

    /* an undefined baseline or target, whatever the status says */
    fixture_init(&f, CFG_DIR_INCREASE, D(92), 14);
    f.kr.baseline = 1000;
    f.kr.target.value = 1200;
    for (int d = 0; d < 20; d++)
        add(&f, D(d), 1000 + d);
    okr_evaluate(&f.kr, &f.s, NULL, D(19) + HOUR, &r);
    assert_true(r.forecast.defined);
    struct okr_result fake = r;
    struct okr_forecast fc;
    fake.baseline = NAN;
    okr_forecast(&f.kr, &f.s, NULL, D(19) + HOUR, &fake, &fc);
    assert_false(fc.defined);
    fake = r;
    fake.target = NAN;
    okr_forecast(&f.kr, &f.s, NULL, D(19) + HOUR, &fake, &fc);
    assert_false(fc.defined);
    assert_true(isnan(okr_forecast_band(&fc, 1.0, 0.0)));

    /* at_least: no trend day with a value (q undefined); D + R = 0 */
    fixture_init(&f, CFG_DIR_AT_LEAST, D(10), 3);
    f.kr.baseline = 0;
    f.kr.target.value = 8;
    f.kr.aggregate.fn = CFG_AGG_SUM;
    f.kr.aggregate.window_ms = DAY * 1000;
    add(&f, D(0), 9);
    add(&f, D(1), 9);
    fake = r;
    fake.status = OKR_ON_TRACK;
    fake.baseline = 0;
    fake.target = 8;
    okr_forecast(&f.kr, &f.s, NULL, D(6) + HOUR, &fake, &fc);
    assert_false(fc.defined);               /* days 4..6 have no value */
    okr_forecast(&f.kr, &f.s, NULL, D(2) + HOUR, &fake, &fc);
    /* days 0 and 1 met, day 2 has no value: D = 2, M = 2, q = 2/2, R = 7:
     * (2 + 7) / 9 = 1 */
    assert_true(fc.defined);
    assert_true(fc.probability == 1.0);

    /* D + R = 0: a one-day cycle, its day without a value, the trend days
     * (before s) with values */
    fixture_init(&f, CFG_DIR_AT_LEAST, D(1), 3);
    f.kr.baseline = 0;
    f.kr.target.value = 8;
    f.kr.aggregate.fn = CFG_AGG_SUM;
    f.kr.aggregate.window_ms = DAY * 1000;
    add(&f, D(-2), 9);
    add(&f, D(-1), 9);
    okr_forecast(&f.kr, &f.s, NULL, D(0) + HOUR, &fake, &fc);
    assert_false(fc.defined);
    /* the same with a second day to come: D = 0, R = 1, q = 1 */
    f.obj.cycle.end_s = D(2);
    okr_forecast(&f.kr, &f.s, NULL, D(0) + HOUR, &fake, &fc);
    assert_true(fc.defined);
    assert_true(fc.probability == 1.0 && fc.p50 == 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_t_cdf),
        cmocka_unit_test(test_t_quantile),
        cmocka_unit_test(test_value_noisy),
        cmocka_unit_test(test_value_exact_line),
        cmocka_unit_test(test_share),
        cmocka_unit_test(test_share_by_hand),
        cmocka_unit_test(test_null_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
