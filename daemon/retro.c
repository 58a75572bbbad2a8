/*
 * retro.c — see retro.h. Owns turning archived rows back into what
 * okr_retro_build reads: an archived definition (a JSON text written by
 * okr/okr_definition.c when the daemon ran) becomes a struct cfg_objective
 * / cfg_key_result again, so the final evaluation uses the same okr/ code
 * and the same series reading (evaluate.c) as a configured key result, even
 * after next quarter's config dropped it.
 *
 * Invariant: nothing here writes; the store may be a read-only connection.
 */
#include "retro.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "evaluate.h"
#include "okr/okr_retro.h"

#define DAY_S 86400

/* YYYY-MM-DD into out (11 bytes); a year beyond 4 digits is cut (dates are
 * parsed as 4-digit years, so it never is). */
static void fmt_date(char out[11], int64_t y, int m, int d)
{
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%04lld-%02d-%02d", (long long)y, m, d);
    memcpy(out, tmp, 10);
    out[10] = '\0';
}

int retro_parse_cycle(const char *arg, char start[11], char end[11], struct okrd_err *err)
{
    int64_t y, y2;
    int m, d, m2, d2;
    size_t n = strlen(arg);
    if (n == 7 && arg[4] == '-' && (arg[5] == 'Q' || arg[5] == 'q') && arg[6] >= '1' &&
        arg[6] <= '4') {
        y = 0;
        for (int i = 0; i < 4; i++) {
            if (arg[i] < '0' || arg[i] > '9')
                goto bad;
            y = y * 10 + (arg[i] - '0');
        }
        int q = arg[6] - '0', m0 = (q - 1) * 3 + 1;
        fmt_date(start, y, m0, 1);
        fmt_date(end, y, m0 + 2, okrd_days_in_month(y, m0 + 2));
        return 0;
    }
    const char *dots = strstr(arg, "..");
    if (!dots || okrd_parse_date(arg, (size_t)(dots - arg), &y, &m, &d, NULL) < 0 ||
        okrd_parse_date(dots + 2, strlen(dots + 2), &y2, &m2, &d2, NULL) < 0)
        goto bad;
    if (okrd_days_from_civil(y2, m2, d2) < okrd_days_from_civil(y, m, d))
        return okrd_err_set(err, OKRD_EINVAL, "cycle \"%s\" ends before it starts", arg);
    fmt_date(start, y, m, d);
    fmt_date(end, y2, m2, d2);
    return 0;
bad:
    return okrd_err_set(err, OKRD_EINVAL,
                        "cycle \"%.64s\" is neither a quarter (\"2026-Q3\") nor a range of dates "
                        "(\"2026-07-01..2026-09-30\")", arg);
}

/* Midnight starting DATE in tz (DATE valid), plus DAYS days. */
static int64_t local_midnight(const char *date, int days, const struct okrd_tz *tz)
{
    int64_t y;
    int m, d;
    if (okrd_parse_date(date, strlen(date), &y, &m, &d, NULL) < 0)
        return 0;
    return okrd_tz_local_to_utc(tz, (okrd_days_from_civil(y, m, d) + days) * DAY_S);
}

/* The day after DATE (valid), into out. */
static void next_date(const char *date, char out[11])
{
    int64_t y;
    int m, d;
    okrd_parse_date(date, strlen(date), &y, &m, &d, NULL);
    okrd_civil_from_days(okrd_days_from_civil(y, m, d) + 1, &y, &m, &d);
    fmt_date(out, y, m, d);
}

static void fill_cycle(struct cfg_cycle *c, const char *start, const char *end,
                       const struct okrd_tz *tz)
{
    snprintf(c->start_date, sizeof c->start_date, "%s", start);
    snprintf(c->end_date, sizeof c->end_date, "%s", end);
    c->start_s = local_midnight(start, 0, tz);
    c->end_s = local_midnight(end, 1, tz);
}

/* ---- choosing the cycle ---- */

struct pick {
    const struct okrd_tz *tz;
    int64_t now_s;
    char start[11], end[11];
    int64_t best_end;       /* ended: the latest end; else INT64_MAX */
    bool ended, any;
    char want_start[11], want_end[11];
    bool found;
};

static int on_cycle(void *ctx, const char *start, const char *end)
{
    struct pick *p = ctx;
    if (p->want_start[0]) {
        if (!strcmp(start, p->want_start) && !strcmp(end, p->want_end))
            p->found = true;
        return 0;
    }
    int64_t e = local_midnight(end, 1, p->tz);
    bool ended = e <= p->now_s;
    /* an ended cycle beats every running one; among ended the latest end,
     * among running the first to end */
    bool better = !p->any || (ended && (!p->ended || e > p->best_end)) ||
                  (!ended && !p->ended && e < p->best_end);
    if (better) {
        p->any = true;
        p->ended = ended;
        p->best_end = e;
        snprintf(p->start, sizeof p->start, "%s", start);
        snprintf(p->end, sizeof p->end, "%s", end);
    }
    return 0;
}

/* ---- archived definitions ---- */

struct arch {
    json_t **obj_defs, **kr_defs;
    size_t n_obj, n_kr, cap_obj, cap_kr;
    int rc;
    struct okrd_err *err;
};

static int push(json_t ***arr, size_t *n, size_t *cap, json_t *v)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        json_t **a = realloc(*arr, c * sizeof *a);
        if (!a)
            return OKRD_ENOMEM;
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = v;
    return 0;
}

static int on_definition(void *ctx, const struct store_definition *d)
{
    struct arch *a = ctx;
    json_error_t je;
    json_t *v = json_loads(d->json, 0, &je);
    if (!json_is_object(v)) {
        json_decref(v);
        return okrd_err_set(a->err, OKRD_EINVAL,
                            "archived definition of %s \"%s\" (cycle %s) is not a JSON object: %s",
                            d->kind, d->id, d->cycle_start, je.text);
    }
    /* the row's own identity wins over what the text says */
    json_object_set_new(v, "id", json_string(d->id));
    bool obj = !strcmp(d->kind, "objective");
    if (push(obj ? &a->obj_defs : &a->kr_defs, obj ? &a->n_obj : &a->n_kr,
             obj ? &a->cap_obj : &a->cap_kr, v) < 0) {
        json_decref(v);
        return okrd_err_set(a->err, OKRD_ENOMEM, "out of memory");
    }
    return 0;
}

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static double jnum(json_t *o, const char *key, double dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

/* A duration as archived: "14d", a number of seconds under KEY_S, or ms. */
static int64_t jdur_ms(json_t *o, const char *key, const char *key_s, int64_t dflt)
{
    json_t *v = json_object_get(o, key);
    int64_t ms;
    if (json_is_string(v) &&
        okrd_parse_duration_ms(json_string_value(v), strlen(json_string_value(v)), &ms, NULL) == 0)
        return ms;
    if (json_is_number(v))
        return (int64_t)json_number_value(v);
    v = key_s ? json_object_get(o, key_s) : NULL;
    if (json_is_number(v))
        return (int64_t)(json_number_value(v) * 1000);
    return dflt;
}

static enum cfg_direction parse_direction(const char *s)
{
    if (s && !strcmp(s, "decrease"))
        return CFG_DIR_DECREASE;
    if (s && !strcmp(s, "at_least"))
        return CFG_DIR_AT_LEAST;
    if (s && !strcmp(s, "at_most"))
        return CFG_DIR_AT_MOST;
    return CFG_DIR_INCREASE;
}

static void parse_aggregate(json_t *v, struct cfg_aggregate *a)
{
    static const char *const fns[] = { "last", "sum", "avg", "min", "max" };
    memset(a, 0, sizeof *a);
    const char *fn = json_is_string(v) ? json_string_value(v) : jstr(v, "fn");
    for (int i = 0; fn && i < 5; i++)
        if (!strcmp(fn, fns[i]))
            a->fn = (enum cfg_agg_fn)i;
    if (a->fn == CFG_AGG_LAST)
        return;
    const char *w = json_is_object(v) ? jstr(v, "window") : NULL;
    if (!w || !strcmp(w, "cycle"))
        a->window_cycle = true;
    else if (okrd_parse_duration_ms(w, strlen(w), &a->window_ms, NULL) < 0)
        a->window_cycle = true;
}

static void parse_target(json_t *v, struct cfg_target *t)
{
    memset(t, 0, sizeof *t);
    t->value = NAN;
    if (json_is_number(v)) {
        t->kind = CFG_TARGET_ABSOLUTE;
        t->value = json_number_value(v);
        okrd_format_double(t->value, t->text, sizeof t->text);
        return;
    }
    const char *s = json_string_value(v);
    if (!s)
        return;
    snprintf(t->text, sizeof t->text, "%s", s);
    size_t n = strlen(s);
    char *endp;
    bool pct = n && s[n - 1] == '%';
    double x = strtod(s, &endp);
    if (endp == s)
        return;
    t->value = x;
    t->kind = (s[0] == '+' || s[0] == '-') ? (pct ? CFG_TARGET_PERCENT : CFG_TARGET_DELTA)
                                           : CFG_TARGET_ABSOLUTE;
}

/* Milestones as archived ([{"date", "progress"}]); each at the end of its
 * day, as config/ resolves them. */
static int parse_pace(json_t *v, struct cfg_key_result *kr, const struct okrd_tz *tz)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return 0;
    kr->milestones = calloc(json_array_size(v), sizeof *kr->milestones);
    if (!kr->milestones)
        return OKRD_ENOMEM;
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m) {
        const char *date = jstr(m, "date");
        if (!date || strlen(date) != 10)
            continue;
        struct cfg_milestone *ms = &kr->milestones[kr->n_milestones++];
        snprintf(ms->date, sizeof ms->date, "%s", date);
        ms->at_s = local_midnight(date, 1, tz);
        ms->progress = jnum(m, "progress", 0);
    }
    return 0;
}

static void kr_from_json(json_t *d, struct cfg_key_result *kr, const struct cfg_objective *o)
{
    kr->id = (char *)jstr(d, "id");
    kr->title = (char *)(jstr(d, "title") ? jstr(d, "title") : "");
    kr->owner = (char *)jstr(d, "owner");
    kr->metric = (char *)(jstr(d, "metric") ? jstr(d, "metric") : "");
    kr->direction = parse_direction(jstr(d, "direction"));
    /* As configured, so the evaluation re-derives an auto baseline and a
     * relative target exactly as the daemon did; the resolved numbers
     * (baseline, target) only when an older text lacks them. */
    json_t *t = json_object_get(d, "target_configured");
    parse_target(t ? t : json_object_get(d, "target"), &kr->target);
    json_t *b = json_object_get(d, "baseline_configured");
    if (!b)
        b = json_object_get(d, "baseline");
    kr->baseline_auto = !json_is_number(b);
    kr->baseline = json_is_number(b) ? json_number_value(b) : 0;
    parse_aggregate(json_object_get(d, "aggregate"), &kr->aggregate);
    kr->weight = jnum(d, "weight", 1);
    const char *proj = jstr(d, "projection");
    kr->projection = proj && !strcmp(proj, "trend") ? CFG_PROJ_TREND : CFG_PROJ_AVERAGE;
    kr->trend_window_ms = jdur_ms(d, "trend_window", "trend_window_s", 14LL * DAY_S * 1000);
    json_t *th = json_object_get(d, "thresholds");
    if (!json_is_object(th))
        th = d;
    kr->grace = jnum(th, "grace", 0.1);
    kr->at_risk = jnum(th, "at_risk", 0.9);
    kr->off_track = jnum(th, "off_track", 0.7);
    kr->margin = jnum(th, "margin", 0.05);
    kr->objective = o;
}

/* The archived checkins.every of a key result, in seconds. */
static int64_t checkins_every_s(json_t *d, const struct cfg *cfg)
{
    json_t *c = json_object_get(d, "checkins");
    int64_t ms = jdur_ms(d, "checkins_every", "checkins_every_s", -1);
    if (ms < 0 && json_is_object(c))
        ms = jdur_ms(c, "every", "every_s", -1);
    if (ms < 0)
        ms = cfg->checkins.every_ms;
    return ms / 1000;
}

/* ---- history and check-ins ---- */

struct days {
    struct okr_retro_day *v;
    char (*dates)[11];
    size_t n, cap;
    const char *cycle_start;
};

static int on_day(void *ctx, const struct store_kr_day *row)
{
    struct days *d = ctx;
    if (row->cycle_start[0] && strcmp(row->cycle_start, d->cycle_start) != 0)
        return 0;
    if (d->n == d->cap) {
        size_t c = d->cap ? d->cap * 2 : 128;
        struct okr_retro_day *v = realloc(d->v, c * sizeof *v);
        if (!v)
            return OKRD_ENOMEM;
        d->v = v;
        char(*dates)[11] = realloc(d->dates, c * sizeof *dates);
        if (!dates)
            return OKRD_ENOMEM;
        d->dates = dates;
        d->cap = c;
    }
    struct okr_retro_day *x = &d->v[d->n];
    snprintf(d->dates[d->n], 11, "%s", row->date);
    if (!okr_status_parse(row->status, &x->status))
        x->status = OKR_NO_DATA;
    if (!okr_status_parse(row->computed_status, &x->computed))
        x->computed = x->status;
    x->probability = row->probability;
    d->n++;
    return 0;
}

struct checkins {
    struct okrd_checkin *v;
    size_t n, cap;
};

static int on_checkin(void *ctx, const struct okrd_checkin *c)
{
    struct checkins *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct okrd_checkin *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return OKRD_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    if (okrd_checkin_copy(&l->v[l->n], c) < 0)
        return OKRD_ENOMEM;
    l->n++;
    return 0;
}

/* ---- the document ---- */

int retro_document(struct store *st, const struct cfg *cfg, const char *arg, int64_t now_s,
                   json_t **out, struct okrd_err *err)
{
    *out = NULL;
    const struct okrd_tz *tz = cfg->daemon.tz;
    struct pick p = { .tz = tz, .now_s = now_s };
    int rc;
    if (arg && *arg && (rc = retro_parse_cycle(arg, p.want_start, p.want_end, err)) < 0)
        return rc;
    if ((rc = store_each_cycle(st, on_cycle, &p, err)) < 0)
        return okrd_err_prefix(err, "retro: archived cycles");
    if (p.want_start[0]) {
        if (!p.found)
            return okrd_err_set(err, OKRD_ENOTFOUND,
                                "no archived objective has the cycle %s..%s (\"%s\"): okrd "
                                "archives an objective's cycle while the daemon runs with it",
                                p.want_start, p.want_end, arg);
        snprintf(p.start, sizeof p.start, "%s", p.want_start);
        snprintf(p.end, sizeof p.end, "%s", p.want_end);
    } else if (!p.any) {
        return okrd_err_set(err, OKRD_ENOTFOUND,
                            "no cycle is archived yet: okrd archives objectives while the "
                            "daemon runs with them");
    }

    struct cfg_cycle cycle;
    fill_cycle(&cycle, p.start, p.end, tz);
    bool final = now_s >= cycle.end_s;
    /* section 4: from e on, v is taken at e - 1 s and the status is final */
    int64_t at = final ? cycle.end_s : now_s;

    struct arch a = { .err = err };
    struct cfg_objective *objs = NULL;
    struct cfg_key_result *krs = NULL;
    struct okr_retro_objective *robjs = NULL;
    struct okr_retro_kr *rkrs = NULL;
    struct okr_result *results = NULL;
    struct days *days = NULL;
    struct checkins *cis = NULL;
    struct eval_scratch x = { 0 };
    if ((rc = store_each_definition(st, p.start, p.end, on_definition, &a, err)) < 0) {
        okrd_err_prefix(err, "retro: definitions of %s..%s", p.start, p.end);
        goto out;
    }
    size_t no = a.n_obj, nk = a.n_kr;
    objs = calloc(no + 1, sizeof *objs);
    krs = calloc(nk + 1, sizeof *krs);
    robjs = calloc(no + 1, sizeof *robjs);
    rkrs = calloc(nk + 1, sizeof *rkrs);
    results = calloc(nk + 1, sizeof *results);
    days = calloc(nk + 1, sizeof *days);
    cis = calloc(nk + 1, sizeof *cis);
    if (!objs || !krs || !robjs || !rkrs || !results || !days || !cis) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "retro: out of memory");
        goto out;
    }
    for (size_t i = 0; i < no; i++) {
        json_t *d = a.obj_defs[i];
        objs[i].id = (char *)jstr(d, "id");
        objs[i].title = (char *)(jstr(d, "title") ? jstr(d, "title") : "");
        objs[i].owner = (char *)jstr(d, "owner");
        objs[i].parent_id = (char *)jstr(d, "parent");
        objs[i].weight = jnum(d, "weight", 1);
        objs[i].cycle = cycle;
        robjs[i] = (struct okr_retro_objective){ objs[i].id, objs[i].title, objs[i].parent_id,
                                                 objs[i].weight };
    }
    /* A key result whose objective was not archived for this cycle still
     * evaluates (against a bare objective of the cycle); the builder leaves
     * it out of the document. */
    struct cfg_objective orphan = { .id = "", .title = "", .weight = 1, .cycle = cycle };
    for (size_t i = 0; i < nk; i++) {
        json_t *d = a.kr_defs[i];
        const char *oid = jstr(d, "objective");
        const struct cfg_objective *o = &orphan;
        for (size_t k = 0; oid && k < no; k++)
            if (!strcmp(objs[k].id, oid))
                o = &objs[k];
        kr_from_json(d, &krs[i], o);
        if ((rc = parse_pace(json_object_get(d, "pace"), &krs[i], tz)) < 0) {
            okrd_err_set(err, rc, "retro: out of memory");
            goto out;
        }
        if ((rc = eval_kr_result(st, cfg, &krs[i], at, &x, &results[i], err)) < 0) {
            okrd_err_prefix(err, "retro: evaluate archived key result \"%s\"", krs[i].id);
            goto out;
        }
        enum okr_status shown = results[i].status;
        if (!final) { /* running: the effective status, as `okrd status` shows it */
            struct okrd_checkin latest = { 0 };
            okrd_checkin_clear(&latest);
            int g = store_latest_checkin(st, krs[i].id, cycle.start_date, now_s, &latest, err);
            if (g == 0)
                shown = okr_effective_status(shown, &latest, now_s, NULL);
            okrd_checkin_clear(&latest);
            if (g < 0 && g != OKRD_ENOTFOUND) {
                rc = okrd_err_prefix(err, "retro: check-ins of \"%s\"", krs[i].id);
                goto out;
            }
        }
        days[i].cycle_start = cycle.start_date;
        char after_end[11];
        next_date(cycle.end_date, after_end);
        if ((rc = store_each_kr_day(st, krs[i].id, cycle.start_date, after_end, on_day, &days[i],
                                    err)) < 0 ||
            (rc = store_each_checkin(st, krs[i].id, cycle.start_date, INT64_MIN, INT64_MAX, false,
                                     on_checkin, &cis[i], err)) < 0) {
            if (rc == OKRD_ENOMEM)
                okrd_err_set(err, rc, "retro: out of memory");
            okrd_err_prefix(err, "retro: history of \"%s\"", krs[i].id);
            goto out;
        }
        for (size_t k = 0; k < days[i].n; k++)
            days[i].v[k].date = days[i].dates[k];
        rkrs[i] = (struct okr_retro_kr){
            .id = krs[i].id, .title = krs[i].title, .owner = krs[i].owner,
            .objective = o == &orphan ? (oid ? oid : "") : o->id, .direction = krs[i].direction,
            .weight = krs[i].weight, .checkins_every_s = checkins_every_s(d, cfg),
            .result = &results[i], .status = shown, .days = days[i].v, .n_days = days[i].n,
            .checkins = cis[i].v, .n_checkins = cis[i].n,
        };
    }
    struct okr_retro_input in = { &cycle, final, tz, robjs, no, rkrs, nk };
    if (!(*out = okr_retro_build(&in)))
        rc = okrd_err_set(err, OKRD_ENOMEM, "retro: out of memory");
out:
    for (size_t i = 0; krs && i < a.n_kr; i++)
        free(krs[i].milestones);
    for (size_t i = 0; days && i < a.n_kr; i++) {
        free(days[i].v);
        free(days[i].dates);
    }
    for (size_t i = 0; cis && i < a.n_kr; i++) {
        for (size_t k = 0; k < cis[i].n; k++)
            okrd_checkin_clear(&cis[i].v[k]);
        free(cis[i].v);
    }
    for (size_t i = 0; i < a.n_obj; i++)
        json_decref(a.obj_defs[i]);
    for (size_t i = 0; i < a.n_kr; i++)
        json_decref(a.kr_defs[i]);
    free(a.obj_defs);
    free(a.kr_defs);
    eval_scratch_free(&x);
    free(objs);
    free(krs);
    free(robjs);
    free(rkrs);
    free(results);
    free(days);
    free(cis);
    return rc < 0 ? rc : 0;
}
