/*
 * okr_lint.c — the OKR-practice lints of `okrd check` (DESIGN section 4):
 * 2 to 5 key results per objective, cycles of at most a year, no binary
 * key results, no `last` over a metric with a weekly pattern, and, at the end
 * of a cycle, a warning when every key result was achieved.
 *
 * Pure like the rest of okr/: the caller (daemon/'s check command) reads the
 * series, formats FILE:LINE:COL from the returned positions and prints. The
 * messages are static strings. These are advice, never errors.
 */
#include <math.h>
#include <string.h>
#include "okr_internal.h"

bool okr_series_is_binary(const struct okr_series *s)
{
    if (s->n < 2)
        return false;             /* one point says nothing */
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] != 0.0 && s->v[i] != 1.0)
            return false;
    return true;
}

bool okr_cycle_longer_than_a_year(const struct cfg_cycle *c)
{
    int64_t y;
    int m, d;
    if (okrd_parse_date(c->start_date, strlen(c->start_date), &y, &m, &d, NULL) == 0) {
        /* a year on from the start day (Feb 29 + 1 year = Mar 1) is past the end */
        int64_t year_on = okrd_days_from_civil(y + 1, m, d);
        int64_t ey;
        int em, ed;
        if (okrd_parse_date(c->end_date, strlen(c->end_date), &ey, &em, &ed, NULL) == 0)
            return okrd_days_from_civil(ey, em, ed) >= year_on;
    }
    /* no dates (hand-built cycle): 366 days and an hour of DST slack */
    return c->end_s - c->start_s > 366 * OKR_DAY_S + 3600;
}

#define WEEKS 8
#define N_DAYS (WEEKS * 7)
_Static_assert(N_DAYS == OKR_WEEKLY_DAYS, "okr.h names the lint's number of days");

bool okr_series_has_weekly_pattern(const struct okr_series *s, const struct okrd_tz *tz)
{
    if (s->n < 21)
        return false;
    /* Each day's own value (its newest point) over the last 8 weeks. */
    double y[N_DAYS];
    bool has[N_DAYS];
    int wday[N_DAYS];
    int64_t last_day = okr_day_start(tz, s->ts[s->n - 1]);
    struct okr_days d;
    okr_days_init(&d, tz, okr_days_back(tz, last_day, N_DAYS - 1));
    size_t i = okr_series_lower(s, d.start);
    int present = 0;
    for (int k = 0; k < N_DAYS; k++) {
        int64_t local_day = (d.start + d.off) / OKR_DAY_S - ((d.start + d.off) % OKR_DAY_S < 0);
        wday[k] = (int)(((local_day % 7) + 7) % 7);
        int64_t next = okr_days_next(&d);
        has[k] = false;
        while (i < s->n && s->ts[i] < next) {
            y[k] = s->v[i++];
            has[k] = true;
        }
        present += has[k];
    }
    if (present < 21)
        return false;

    /* Residuals from a centred 7-day mean (which removes a level and a
     * linear trend), grouped by weekday: a weekly pattern is when the
     * weekday explains most of what is left, and visibly so. */
    double sum_w[7] = { 0 }, level = 0;
    int n_w[7] = { 0 }, n = 0;
    double ss_total = 0;
    for (int k = 3; k + 3 < N_DAYS; k++) {
        double m = 0;
        bool full = true;
        for (int j = k - 3; j <= k + 3; j++) {
            full = full && has[j];
            if (has[j])
                m += y[j];
        }
        if (!full)
            continue;
        m /= 7;
        double r = y[k] - m;
        sum_w[wday[k]] += r;
        n_w[wday[k]]++;
        ss_total += r * r;
        level += m;
        n++;
    }
    if (n < 14 || !(ss_total > 0))
        return false;
    level /= n;
    double ss_between = 0, lo = INFINITY, hi = -INFINITY;
    for (int w = 0; w < 7; w++) {
        if (n_w[w] < 2)
            return false;
        double mw = sum_w[w] / n_w[w];
        ss_between += n_w[w] * mw * mw;
        lo = fmin(lo, mw);
        hi = fmax(hi, mw);
    }
    return ss_between >= 0.6 * ss_total && hi - lo >= 0.05 * fabs(level);
}

bool okr_all_achieved(const struct okr_result *results, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!results[i].final || results[i].status != OKR_ACHIEVED)
            return false;
    return true;
}

static size_t add(struct okr_lint *out, size_t cap, size_t n, const char *id,
                  const struct cfg_pos *pos, const char *message)
{
    if (n < cap)
        out[n] = (struct okr_lint){ id, pos, message };
    return n + 1;
}

size_t okr_weekly_pattern_days(const struct okrd_tz *tz, int64_t newest_ts, int64_t *bounds)
{
    /* The same days okr_series_has_weekly_pattern() reads. */
    struct okr_days d;
    okr_days_init(&d, tz, okr_days_back(tz, okr_day_start(tz, newest_ts), N_DAYS - 1));
    bounds[0] = d.start;
    for (int k = 0; k < N_DAYS; k++)
        bounds[k + 1] = okr_days_next(&d);
    return N_DAYS + 1;
}

/* Either from the series or from facts the caller looked up. */
static size_t lint(const struct cfg_objective *o, const struct okr_series *series,
                   const struct okr_lint_facts *facts, const struct okr_result *results,
                   const struct okrd_tz *tz, struct okr_lint *out, size_t cap)
{
    size_t n = 0;
    if (o->n_key_results < 2 && o->n_key_results > 0)
        n = add(out, cap, n, o->id, &o->pos,
                "fewer than 2 key results: an objective is usually measured by 2 to 5");
    if (o->n_key_results > 5)
        n = add(out, cap, n, o->id, &o->pos,
                "more than 5 key results: an objective is usually measured by 2 to 5");
    if (okr_cycle_longer_than_a_year(&o->cycle))
        n = add(out, cap, n, o->id, &o->pos,
                "the cycle is longer than a year: OKR cycles are usually a quarter");
    for (size_t i = 0; (series || facts) && i < o->n_key_results; i++) {
        const struct cfg_key_result *kr = &o->key_results[i];
        if (facts ? facts[i].binary : okr_series_is_binary(&series[i]))
            n = add(out, cap, n, kr->id, &kr->pos,
                    "its metric only ever holds 0 and 1: a binary result is a task, "
                    "not a key result; measure what it should change");
        if (kr->aggregate.fn == CFG_AGG_LAST &&
            (facts ? facts[i].weekly_pattern : okr_series_has_weekly_pattern(&series[i], tz)))
            n = add(out, cap, n, kr->id, &kr->pos,
                    "its metric has a weekly pattern and the aggregate is `last`: "
                    "consider {\"fn\": \"avg\", \"window\": \"7d\"}");
    }
    if (results && okr_all_achieved(results, o->n_key_results))
        n = add(out, cap, n, o->id, &o->pos,
                "every key result was achieved: the targets may not have been ambitious enough");
    return n;
}

size_t okr_lint_objective(const struct cfg_objective *o, const struct okr_series *series,
                          const struct okr_result *results, const struct okrd_tz *tz,
                          struct okr_lint *out, size_t cap)
{
    return lint(o, series, NULL, results, tz, out, cap);
}

size_t okr_lint_objective_facts(const struct cfg_objective *o, const struct okr_lint_facts *facts,
                                const struct okr_result *results, struct okr_lint *out,
                                size_t cap)
{
    return lint(o, NULL, facts, results, NULL, out, cap);
}
