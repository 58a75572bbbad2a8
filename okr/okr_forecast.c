/*
 * okr_forecast.c — how likely a key result is to reach its target at the end
 * of its cycle (DESIGN section 9): Student's t CDF and quantile, the forecast
 * of increase/decrease key results from the trend line's prediction interval,
 * and that of at_least/at_most key results from a binomial model of the
 * remaining days.
 *
 * Owns every forecast number in struct okr_forecast; takes v(t) from the
 * window walk (okr_internal.h) so that the points are exactly those of the
 * trend projection (okr_status.c) and the share-of-days score. Pure: no
 * allocation, no I/O, no global state.
 *
 * Why the t distribution is written here: none of the libraries okrd links
 * (libuv, libcurl, jansson, SQLite, libmicrohttpd, cmocka) nor libm has a
 * Student's t CDF or quantile, and for the integer degrees of freedom a
 * least-squares fit gives (nu = n - 2) the CDF has a short closed form
 * (Abramowitz & Stegun 26.7.3-26.7.4), exact to rounding; the quantile is
 * that CDF inverted by bisection, which is plenty for the 10% and 90% bands.
 */
#include <math.h>
#include <string.h>
#include "okr_internal.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- Student's t ---- */

/* A(t|nu) = P(|T| <= |t|) for t >= 0, from theta = atan(t / sqrt(nu)):
 * nu odd:  (2/pi) [theta + sin(theta) (cos + 2/3 cos^3 + ... + 2*4..(nu-3) /
 *          (1*3..(nu-2)) cos^(nu-2))]  (just 2 theta / pi for nu = 1);
 * nu even: sin(theta) [1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ... +
 *          1*3..(nu-3) / (2*4..(nu-2)) cos^(nu-2)]. */
static double t_abs_mass(int nu, double t)
{
    double theta = atan(t / sqrt((double)nu));
    double c = cos(theta), sn = sin(theta), c2 = c * c;
    if (nu % 2 == 1) {
        double sum = 0.0;
        if (nu > 1) {
            double term = c;           /* cos^1, coefficient 1 */
            sum = term;
            for (int k = 3; k <= nu - 2; k += 2) {
                term *= c2 * (double)(k - 1) / (double)k;
                sum += term;
            }
        }
        return 2.0 / M_PI * (theta + sn * sum);
    }
    double term = 1.0, sum = 1.0;
    for (int k = 2; k <= nu - 2; k += 2) {
        term *= c2 * (double)(k - 1) / (double)k;
        sum += term;
    }
    return sn * sum;
}

double okr_t_cdf(int nu, double x)
{
    if (nu < 1 || isnan(x))
        return NAN;
    if (isinf(x))
        return x > 0 ? 1.0 : 0.0;
    /* Work with |x| and take the lower tail as (1 - A) / 2: the symmetric
     * form keeps F(-x) + F(x) == 1 exactly. */
    double a = t_abs_mass(nu, fabs(x));
    double upper = (1.0 - a) / 2.0;      /* P(T > |x|) */
    /* Far in the tail A rounds to 1 or a bit above: the mass left is below
     * double's resolution near 1, so it is 0, never a negative probability
     * (-1.1e-16 for nu = 10 at x = -201.6) or -0. */
    if (!(upper > 0.0))
        upper = 0.0;
    else if (upper > 0.5)
        upper = 0.5;
    return x >= 0 ? 1.0 - upper : upper;
}

double okr_t_quantile(int nu, double p)
{
    if (nu < 1 || !(p > 0.0 && p < 1.0))
        return p == 0.0 ? -INFINITY : p == 1.0 ? INFINITY : NAN;
    if (p == 0.5)
        return 0.0;
    /* Bracket, then halve until the bracket is 1e-10 wide (relative for
     * large quantiles: nu = 1 has very long tails). */
    double lo = -1.0, hi = 1.0;
    while (okr_t_cdf(nu, lo) > p && lo > -1e300)
        lo *= 2.0;
    while (okr_t_cdf(nu, hi) < p && hi < 1e300)
        hi *= 2.0;
    for (int i = 0; i < 2000; i++) {
        double mid = lo + (hi - lo) / 2.0;
        if (hi - lo <= 1e-10 * fmax(1.0, fabs(mid)) || mid == lo || mid == hi)
            break;
        if (okr_t_cdf(nu, mid) < p)
            lo = mid;
        else
            hi = mid;
    }
    return lo + (hi - lo) / 2.0;
}

double okr_forecast_band(const struct okr_forecast *f, double x_days, double q)
{
    if (!f || !f->defined || f->of != OKR_FORECAST_VALUE || f->n < 3 || !(f->sxx > 0.0))
        return NAN;
    double dx = x_days - f->xbar;
    double se = f->s * sqrt(1.0 + 1.0 / (double)f->n + dx * dx / f->sxx);
    return f->a + f->b * x_days + (q == 0.0 ? 0.0 : q * se);
}

/* ---- the trend days ---- */

/* The trend projection's days (okr_status.c trend_at_end): the last
 * ceil(trend_window / 1 day) days up to t's own day. Returns how many days,
 * and the first day's start in *first. */
static int64_t trend_days(const struct cfg_key_result *kr, const struct okrd_tz *tz, int64_t t,
                          int64_t *first)
{
    int64_t ms = kr->trend_window_ms;
    int64_t days = ms / (OKR_DAY_S * 1000LL) + (ms % (OKR_DAY_S * 1000LL) != 0);
    if (days >= 1)
        *first = okr_days_back(tz, okr_day_start(tz, t), days - 1);
    return days;
}

/* ---- increase / decrease: the prediction interval of the trend line ---- */

/* One pass over the trend days: with FIT NULL, add every (x, v) to Q and
 * track max |y|; with FIT, add the squared residuals around it to *sse. */
static void trend_pass(const struct cfg_key_result *kr, const struct okr_series *s,
                       const struct okrd_tz *tz, int64_t t, int64_t first,
                       struct pace_lsq *q, double *max_abs_y,
                       const double fit[2], double *sse)
{
    struct okr_days d;
    okr_days_init(&d, tz, first);
    struct okr_walk w;
    okr_walk_init(&w, &kr->aggregate, kr->objective->cycle.start_s, s, first);
    for (;;) {
        int64_t next = okr_days_next(&d);
        int64_t at = next - 1 < t ? next - 1 : t;
        double v;
        if (okr_walk_value(&w, at, &v)) {
            double x = (double)(at - t) / OKR_DAY_S;
            if (!fit) {
                pace_lsq_add(q, x, v);
                if (fabs(v) > *max_abs_y)
                    *max_abs_y = fabs(v);
            } else {
                double r = v - (fit[0] + fit[1] * x);
                *sse += r * r;
            }
        }
        if (at >= t)
            break;
    }
}

static void forecast_value(const struct cfg_key_result *kr, const struct okr_series *s,
                           const struct okrd_tz *tz, int64_t t, double T,
                           struct okr_forecast *f)
{
    int64_t first;
    if (trend_days(kr, tz, t, &first) < 3)
        return;
    struct pace_lsq q = { 0 };
    double max_abs_y = 0.0;
    trend_pass(kr, s, tz, t, first, &q, &max_abs_y, NULL, NULL);
    if (q.n < 3.0 || !(q.mxx > 0.0))
        return;
    double x_e = (double)(kr->objective->cycle.end_s - t) / OKR_DAY_S;
    double yhat;
    if (!pace_lsq_at(&q, x_e, &yhat))   /* the trend projection's own number */
        return;
    double b = q.cxy / q.mxx;
    double fit[2] = { q.my - b * q.mx, b };
    double sse = 0.0;
    /* Residuals in a second walk rather than Syy - Sxy^2/Sxx, which cancels
     * to noise exactly when the line is (nearly) exact. */
    trend_pass(kr, s, tz, t, first, NULL, NULL, fit, &sse);

    int n = (int)q.n, nu = n - 2;
    double sd = sqrt(sse / nu);
    bool inc = kr->direction == CFG_DIR_INCREASE;
    f->of = OKR_FORECAST_VALUE;
    f->a = fit[0];
    f->b = fit[1];
    f->xbar = q.mx;
    f->sxx = q.mxx;
    f->n = n;
    if (sd <= 1e-9 * fmax(1.0, max_abs_y)) {
        /* An exact line: no spread to speak of, the end value is known. */
        f->s = f->q10 = f->q90 = 0.0;
        f->probability = (inc ? yhat >= T : yhat <= T) ? 1.0 : 0.0;
        f->p10 = f->p50 = f->p90 = yhat;
        f->defined = true;
        return;
    }
    double dx = x_e - q.mx;
    double se = sd * sqrt(1.0 + 1.0 / q.n + dx * dx / q.mxx);
    double z = (T - yhat) / se;
    /* 1 - F(z) is F(-z) by symmetry, without the subtraction. */
    f->probability = inc ? okr_t_cdf(nu, -z) : okr_t_cdf(nu, z);
    f->s = sd;
    /* F_nu is symmetric: F^-1(0.10) = -F^-1(0.90), one bisection for both,
     * and the band is symmetric to the last bit. */
    f->q90 = okr_t_quantile(nu, 0.90);
    f->q10 = -f->q90;
    f->p10 = yhat + f->q10 * se;
    f->p50 = yhat;
    f->p90 = yhat + f->q90 * se;
    f->defined = true;
}

/* ---- at_least / at_most: the remaining days as Binomial(R, q) ---- */

static bool meets(const struct cfg_key_result *kr, double v, double T)
{
    return kr->direction == CFG_DIR_AT_LEAST ? v >= T : v <= T;
}

/* The share figures of section 9 in one forward walk from the earlier of the
 * cycle's start day and the first trend day up to t's own day: D and M over
 * the cycle's days, the trend days' count and met count for q. */
static void share_counts(const struct cfg_key_result *kr, const struct okr_series *s,
                         const struct okrd_tz *tz, int64_t t, double T, long *D, long *M,
                         long *tn, long *tm)
{
    int64_t start = kr->objective->cycle.start_s;
    int64_t cycle_first = okr_day_start(tz, start);
    int64_t trend_first = INT64_MAX;
    if (trend_days(kr, tz, t, &trend_first) < 1)
        trend_first = INT64_MAX;
    int64_t first = cycle_first < trend_first ? cycle_first : trend_first;
    *D = *M = *tn = *tm = 0;
    struct okr_days d;
    okr_days_init(&d, tz, first);
    struct okr_walk w;
    okr_walk_init(&w, &kr->aggregate, start, s, first);
    while (d.start <= t) {
        int64_t day = d.start;
        int64_t next = okr_days_next(&d);
        int64_t at = next - 1 < t ? next - 1 : t;
        double v;
        if (!okr_walk_value(&w, at, &v))
            continue;
        bool met = meets(kr, v, T);
        if (day >= cycle_first) {
            (*D)++;
            *M += met;
        }
        if (day >= trend_first) {
            (*tn)++;
            *tm += met;
        }
    }
}

/* Days after t's own day up to the end day. */
static long remaining_days(const struct okrd_tz *tz, int64_t t, int64_t end_s)
{
    struct okr_days d;
    okr_days_init(&d, tz, okr_day_start(tz, t));
    long r = 0;
    while (okr_days_next(&d) < end_s)
        r++;
    return r;
}

/* X ~ Binomial(R, q). Each term is taken relative to the mode's (the largest,
 * set to 1) and reached by the ratio recurrence p(x+1)/p(x) = (R-x)/(x+1) *
 * q/(1-q) walking outward from the mode, so no term overflows (none exceeds
 * 1, whatever R: no factorials, no powers) and none is a difference; terms
 * far in the tails underflow to 0, harmlessly, being below 1e-300 of the
 * mode. Sums of these positive terms are kept in long double. q = 0 and
 * q = 1 fall out of the same code: the mode is 0 or R and every other term
 * is 0. No array, so R has no limit. */
struct binom {
    long R, mode;
    double q, odds;
};

static void binom_init(struct binom *bn, long R, double q)
{
    bn->R = R;
    bn->q = q;
    bn->odds = q / (1.0 - q);        /* +inf for q == 1 */
    long mode = (long)floor((double)(R + 1) * q);
    bn->mode = mode > R ? R : mode < 0 ? 0 : mode;
}

/* w(x - 1) from w(x), x > 0 */
static double binom_down(const struct binom *bn, long x, double wx)
{
    if (wx == 0.0 || bn->q >= 1.0)
        return 0.0;
    return wx * ((double)x / (double)(bn->R - x + 1)) / bn->odds;
}

/* w(x + 1) from w(x), x < R */
static double binom_up(const struct binom *bn, long x, double wx)
{
    if (wx == 0.0 || bn->q <= 0.0)
        return 0.0;
    return wx * ((double)(bn->R - x) / (double)(x + 1)) * bn->odds;
}

static void forecast_share(const struct cfg_key_result *kr, const struct okr_series *s,
                           const struct okrd_tz *tz, int64_t t, double T,
                           struct okr_forecast *f)
{
    long D, M, tn, tm;
    share_counts(kr, s, tz, t, T, &D, &M, &tn, &tm);
    if (tn == 0)
        return;                       /* q undefined: no trend day had a value */
    long R = remaining_days(tz, t, kr->objective->cycle.end_s);
    if (D + R == 0)
        return;
    struct binom bn;
    binom_init(&bn, R, (double)tm / (double)tn);
    double denom = (double)(D + R);

    /* The total mass and the mass of the x whose final share passes: the
     * comparison of section 4, made in double for each x. */
    long double lower = 0.0L, upper = 0.0L, hit = 0.0L;
    double wx = 1.0;
    if ((double)(M + bn.mode) / denom >= kr->at_risk)
        hit += 1.0L;
    for (long x = bn.mode; x > 0; x--) {
        wx = binom_down(&bn, x, wx);              /* w(x - 1) */
        lower += wx;
        if ((double)(M + x - 1) / denom >= kr->at_risk)
            hit += wx;
    }
    wx = 1.0;
    for (long x = bn.mode; x < R; x++) {
        wx = binom_up(&bn, x, wx);                /* w(x + 1) */
        upper += wx;
        if ((double)(M + x + 1) / denom >= kr->at_risk)
            hit += wx;
    }
    long double total = lower + 1.0L + upper;
    double prob = (double)(hit / total);
    f->probability = prob > 1.0 ? 1.0 : prob;

    /* Qp: the smallest x with P(X <= x) >= p - 1e-12, found from the mode,
     * where P(X <= mode) = (lower + 1) / total is known. */
    const double ps[3] = { 0.10, 0.50, 0.90 };
    double *outs[3] = { &f->p10, &f->p50, &f->p90 };
    for (int k = 0; k < 3; k++) {
        long double need = ((long double)ps[k] - 1e-12L) * total;
        long x = bn.mode;
        long double cdf = lower + 1.0L;
        double w = 1.0;
        if (cdf >= need) {
            /* step down while the CDF one below still reaches it */
            while (x > 0 && cdf - w >= need) {
                cdf -= w;
                w = binom_down(&bn, x, w);
                x--;
            }
        } else {
            while (x < R && cdf < need) {
                w = binom_up(&bn, x, w);
                x++;
                cdf += w;
            }
        }
        *outs[k] = (double)(M + x) / denom;
    }
    f->of = OKR_FORECAST_SHARE;
    f->defined = true;
}

/* ---- the forecast ---- */

void okr_forecast(const struct cfg_key_result *kr, const struct okr_series *s,
                  const struct okrd_tz *tz, int64_t t, const struct okr_result *r,
                  struct okr_forecast *out)
{
    memset(out, 0, sizeof *out);
    const struct cfg_cycle *c = &kr->objective->cycle;
    if (t < c->start_s || t >= c->end_s)
        return;                       /* not started, or the result is known */
    if (r->status == OKR_NO_DATA || r->status == OKR_INVALID)
        return;
    if (isnan(r->baseline) || isnan(r->target))
        return;
    /* The series as of t: nothing stamped later counts. */
    struct okr_series cut = { s->ts, s->v, okr_series_upper(s, t) };
    if (kr->direction == CFG_DIR_AT_LEAST || kr->direction == CFG_DIR_AT_MOST)
        forecast_share(kr, &cut, tz, t, r->target, out);
    else
        forecast_value(kr, &cut, tz, t, r->target, out);
}
