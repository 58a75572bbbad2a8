/*
 * api_series.c — one key result's series as the API and the dashboard show
 * it: the value v(t) (the key result's aggregate, so a sum over the cycle
 * reads as a burn-up) at each stored point's timestamp, and the pace line
 * of expected values from the baseline to the target.
 *
 * The points are read through the caller's read-only connection (a read
 * worker's, see api_reads.c): a lookback before `from` (the aggregate's
 * window, the cycle start for a cycle sum) plus the newest point before
 * that, which is all okr/ needs of older data. The point cap is checked
 * with a capped count before anything is loaded, and v(t) at every point
 * comes from one forward walk (okr_series_values): O(n), where asking
 * okr_value_at per point cost O(n x window) (16.6 s for 199k points of a
 * cycle sum, issue 12).
 *
 * It also lays out the forecast band of DESIGN section 9 day by day, from
 * the evaluation's own instant to the cycle end, with okr_forecast_band():
 * the page draws it and never does the statistics itself.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

#define DAY_S 86400

static double expected_value(const struct cfg_key_result *kr, const struct okr_result *r, int64_t t)
{
    if (kr->direction == CFG_DIR_AT_LEAST || kr->direction == CFG_DIR_AT_MOST)
        return r->target;
    double x = pace_expected_progress(&kr->objective->cycle, kr->milestones, kr->n_milestones, t);
    return r->baseline + x * (r->target - r->baseline);
}

void api_pace_line(const struct cfg_key_result *kr, const struct okr_result *r, int64_t from,
                   int64_t to, struct api_kr_series *out)
{
    out->n_pace = 0;
    const struct cfg_cycle *c = &kr->objective->cycle;
    bool level = kr->direction == CFG_DIR_AT_LEAST || kr->direction == CFG_DIR_AT_MOST;
    if (isnan(r->target) || (!level && isnan(r->baseline)))
        return;
    int64_t a = from > c->start_s ? from : c->start_s;
    int64_t z = to < c->end_s ? to : c->end_s;
    if (a > z)
        return;
    size_t cap = sizeof out->pace / sizeof *out->pace;
    out->pace[out->n_pace++] = (struct api_pair){ a, expected_value(kr, r, a) };
    /* The line is piecewise linear: its vertices are the milestones. */
    for (size_t i = 0; !level && i < kr->n_milestones && out->n_pace < cap - 1; i++) {
        int64_t t = kr->milestones[i].at_s;
        if (t > a && t < z && t > out->pace[out->n_pace - 1].ts)
            out->pace[out->n_pace++] = (struct api_pair){ t, expected_value(kr, r, t) };
    }
    if (z > a)
        out->pace[out->n_pace++] = (struct api_pair){ z, expected_value(kr, r, z) };
}

static int split(const struct store_series *s, int64_t **ts, double **v, size_t extra)
{
    *ts = malloc((s->n + extra + 1) * sizeof **ts);
    *v = malloc((s->n + extra + 1) * sizeof **v);
    if (!*ts || !*v)
        return OKRD_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        (*ts)[i] = s->pts[i].ts;
        (*v)[i] = s->pts[i].value;
    }
    return 0;
}

int api_series_load(struct store *st, const struct cfg *cfg, const struct cfg_key_result *kr,
                    const struct okr_result *r, int64_t from, int64_t to, size_t max_points,
                    struct api_kr_series *out, struct okrd_err *err)
{
    memset(out, 0, sizeof *out);
    api_pace_line(kr, r, from, to, out);
    if (from >= to)
        return 0;
    /* v(t) at a point may look back over its window, or to the cycle start. */
    int64_t lookback = from;
    if (kr->aggregate.fn != CFG_AGG_LAST) {
        if (kr->aggregate.window_cycle)
            lookback = kr->objective->cycle.start_s < from ? kr->objective->cycle.start_s : from;
        else
            lookback = from - kr->aggregate.window_ms / 1000 - 1;
    }
    lookback -= DAY_S;
    const struct cfg_metric *m = cfg_find_metric(cfg, kr->metric);
    bool ratio = m && m->ratio_num;
    /* The cap first: a capped count walks at most max_points + 1 index
     * entries, so a range of ten million points is refused for the price
     * of a small one. (A ratio counts its numerator: its points are a
     * subset of those.) */
    size_t in_range = 0;
    int rc = store_count_points(st, ratio ? m->ratio_num : kr->metric, from, to, max_points + 1,
                                &in_range, err);
    if (rc < 0)
        return rc;
    if (in_range > max_points)
        return okrd_err_set(err, OKRD_ERANGE,
                            "more than %zu points fall in the range: ask for a shorter one",
                            max_points);
    struct store_series a = { 0 }, b = { 0 };
    int64_t *ts = NULL, *dts = NULL, *out_ts = NULL;
    double *v = NULL, *dv = NULL, *out_v = NULL;
    size_t *scratch = NULL;
    size_t n;
    if (ratio) {
        if ((rc = store_get_series_with_prior(st, m->ratio_num, lookback, to, &a, err)) < 0 ||
            (rc = store_get_series_with_prior(st, m->ratio_den, lookback, to, &b, err)) < 0)
            goto out;
        if ((rc = split(&a, &ts, &v, 0)) < 0 || (rc = split(&b, &dts, &dv, 0)) < 0)
            goto oom;
        struct okr_series num = { ts, v, a.n }, den = { dts, dv, b.n };
        n = okr_ratio_series(&num, &den, m->scale, ts, v);
    } else {
        if ((rc = store_get_series_with_prior(st, kr->metric, lookback, to, &a, err)) < 0)
            goto out;
        if ((rc = split(&a, &ts, &v, 0)) < 0)
            goto oom;
        n = a.n;
    }
    struct okr_series series = { ts, v, n };
    size_t first = okr_series_lower(&series, from);
    if (n - first > max_points) { /* written between the count and the read */
        rc = okrd_err_set(err, OKRD_ERANGE,
                          "%zu points fall in the range, more than %zu: ask for a shorter one",
                          n - first, max_points);
        goto out;
    }
    size_t room = n - first + 1;
    out->pts = malloc(room * sizeof *out->pts);
    out_ts = malloc(room * sizeof *out_ts);
    out_v = malloc(room * sizeof *out_v);
    scratch = malloc((n + 1) * sizeof *scratch);
    if (!out->pts || !out_ts || !out_v || !scratch)
        goto oom;
    /* At a point's own timestamp v is defined for every aggregate but a
     * cycle window before the cycle starts; those points are left out
     * rather than shown as zeros. */
    out->n = okr_series_values(kr, &series, first, scratch, out_ts, out_v);
    for (size_t i = 0; i < out->n; i++)
        out->pts[i] = (struct api_pair){ out_ts[i], out_v[i] };
    rc = 0;
    goto out;
oom:
    rc = okrd_err_set(err, OKRD_ENOMEM, "out of memory reading the series of \"%s\"", kr->id);
out:
    store_series_free(&a);
    store_series_free(&b);
    free(ts);
    free(v);
    free(dts);
    free(dv);
    free(out_ts);
    free(out_v);
    free(scratch);
    if (rc < 0)
        api_series_free(out);
    return rc;
}

int api_forecast_band(const struct cfg_key_result *kr, const struct okr_result *r,
                      const struct okrd_tz *tz, int64_t at_s, struct api_band_day **out,
                      size_t *n)
{
    *out = NULL;
    *n = 0;
    const struct okr_forecast *f = &r->forecast;
    int64_t end = kr->objective->cycle.end_s;
    if (!f->defined || f->of != OKR_FORECAST_VALUE || at_s >= end)
        return 0;
    /* at_s, then each local midnight after it up to e: a day lasts 23 to
     * 25 hours, so 36 hours past a midnight is always in the next day. */
    size_t cap = (size_t)((end - at_s) / (DAY_S - 2 * 3600) + 3);
    struct api_band_day *b = malloc(cap * sizeof *b);
    if (!b)
        return OKRD_ENOMEM;
    int64_t t = at_s, day = okrd_tz_day_start(tz, at_s);
    size_t k = 0;
    while (k < cap) {
        double x = (double)(t - at_s) / DAY_S;
        b[k++] = (struct api_band_day){ t, okr_forecast_band(f, x, f->q10),
                                        okr_forecast_band(f, x, 0.0),
                                        okr_forecast_band(f, x, f->q90) };
        if (t >= end)
            break;
        day = okrd_tz_day_start(tz, day + DAY_S + DAY_S / 2);
        t = day < end ? day : end;
    }
    *out = b;
    *n = k;
    return 0;
}

void api_series_free(struct api_kr_series *s)
{
    free(s->pts);
    s->pts = NULL;
    s->n = 0;
}
