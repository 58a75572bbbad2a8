/*
 * cfg_objective.c — objectives[] and their key_results[] (DESIGN sections 2
 * and 4): cycles, targets, baselines, aggregates, pace milestones and the
 * status thresholds.
 *
 * Dates become UTC instants here, at the edge, in daemon.timezone: a cycle
 * runs from the start day's local midnight to the local midnight after the
 * end day, and a milestone counts at the midnight after its date. Whatever
 * can be decided from one key result alone — a target that cannot be reached
 * from an explicit baseline, a relative target on a sum over the cycle — is
 * a config error here; parents and id clashes are left to cfg_check.c.
 */
#include "cfg_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- dates and cycles ---- */

static int64_t local_midnight_utc(struct cfg_ctx *c, int64_t days)
{
    return okrd_tz_local_to_utc(c->cfg->daemon.tz, days * 86400);
}

static void format_date(char out[11], int64_t y, int m, int d)
{
    /* by hand: gcc cannot prove snprintf's "%04d-%02d-%02d" fits 11 bytes */
    unsigned yy = (unsigned)(y % 10000 + 10000) % 10000, mm = (unsigned)m % 100,
             dd = (unsigned)d % 100;
    const unsigned v[3] = { yy, mm, dd };
    char *p = out;
    for (int k = 0; k < 3; k++) {
        if (k)
            *p++ = '-';
        if (k == 0) {
            *p++ = (char)('0' + v[0] / 1000);
            *p++ = (char)('0' + v[0] / 100 % 10);
        }
        *p++ = (char)('0' + v[k] / 10 % 10);
        *p++ = (char)('0' + v[k] % 10);
    }
    *p = '\0';
}

/* Member KEY as a "YYYY-MM-DD" date: 1 and *days, or 0/-1 like the getters. */
static int get_date(struct cfg_ctx *c, json_t *obj, const char *key, bool req, int64_t *days,
                    char out[11])
{
    char *s = NULL;
    int rc = cfg_get_str(c, obj, key, req, CFG_STR_PLAIN, &s);
    if (rc <= 0)
        return rc;
    int64_t y;
    int m, d;
    struct okrd_err err = { 0 };
    if (okrd_parse_date(s, strlen(s), &y, &m, &d, &err) < 0) {
        const char *raw = json_string_value(json_object_get(obj, key));
        if (cfg_has_reference(raw))
            cfg_err(c, key, "%s is not a date (YYYY-MM-DD)", cfg_quote(c, raw));
        else
            cfg_err(c, key, "invalid date: %s", err.msg);
        return -1;
    }
    *days = okrd_days_from_civil(y, m, d);
    format_date(out, y, m, d);
    return 1;
}

static const char *const cycle_keys[] = { "start", "end", NULL };

/* "2026-Q4" -> 2026-10-01 .. 2026-12-31 */
static bool parse_quarter(const char *s, int64_t *y, int *q)
{
    if (strlen(s) != 7 || s[4] != '-' || (s[5] != 'Q' && s[5] != 'q'))
        return false;
    for (int i = 0; i < 4; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    if (s[6] < '1' || s[6] > '4')
        return false;
    *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    *q = s[6] - '0';
    return true;
}

static bool schema_cycle(struct cfg_ctx *c, json_t *obj, struct cfg_cycle *cy)
{
    json_t *v = json_object_get(obj, "cycle");
    if (!v) {
        cfg_err(c, NULL, "missing required key \"cycle\"");
        return false;
    }
    int64_t sd, ed;
    if (json_is_string(v)) {
        char *s = NULL;
        if (cfg_str_value(c, v, "cycle", CFG_STR_PLAIN, &s) < 0)
            return false;
        int64_t y;
        int q;
        if (!parse_quarter(s, &y, &q)) {
            cfg_err(c, "cycle", "%s is not a quarter (\"2026-Q4\") or {\"start\": \"YYYY-MM-DD\", "
                    "\"end\": \"YYYY-MM-DD\"}", cfg_quote(c, json_string_value(v)));
            return false;
        }
        int m0 = (q - 1) * 3 + 1, m1 = m0 + 2;
        sd = okrd_days_from_civil(y, m0, 1);
        ed = okrd_days_from_civil(y, m1, okrd_days_in_month(y, m1));
        format_date(cy->start_date, y, m0, 1);
        format_date(cy->end_date, y, m1, okrd_days_in_month(y, m1));
    } else if (json_is_object(v)) {
        size_t old = cfg_path_push_key(c, "cycle");
        cfg_check_keys(c, v, cycle_keys);
        int rs = get_date(c, v, "start", true, &sd, cy->start_date);
        int re = get_date(c, v, "end", true, &ed, cy->end_date);
        bool ok = rs > 0 && re > 0;
        if (ok && ed < sd) {
            cfg_err(c, "end", "the cycle ends (%s) before it starts (%s)", cy->end_date,
                    cy->start_date);
            ok = false;
        }
        cfg_path_pop(c, old);
        if (!ok)
            return false;
    } else {
        cfg_err(c, "cycle", "expected \"YYYY-Qn\" or {\"start\", \"end\"}, got %s",
                cfg_json_type_name(v));
        return false;
    }
    cy->start_s = local_midnight_utc(c, sd);
    cy->end_s = local_midnight_utc(c, ed + 1);
    return true;
}

/* ---- key results ---- */

static const char *const kr_keys[] = {
    "id", "title", "owner", "metric", "direction", "target", "baseline", "aggregate", "weight",
    "pace", "projection", "trend_window", "grace", "at_risk", "off_track", "margin", NULL,
};
static const char *const directions[] = { "increase", "decrease", "at_least", "at_most", NULL };
static const char *const agg_fns[] = { "last", "sum", "avg", "min", "max", NULL };
static const char *const projections[] = { "average", "trend", NULL };
static const char *const agg_keys[] = { "fn", "window", NULL };
static const char *const milestone_keys[] = { "date", "progress", NULL };

/* "+20%", "-10%", "+500", "-3": sign, digits, optional fraction, optional %. */
static bool parse_relative(const char *s, struct cfg_target *t)
{
    if (s[0] != '+' && s[0] != '-')
        return false;
    size_t i = 1, digits = 0;
    while (s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (s[i] == '.') {
        i++;
        size_t frac = 0;
        while (s[i] >= '0' && s[i] <= '9')
            i++, frac++;
        if (frac == 0)
            return false;
    }
    if (digits == 0)
        return false;
    bool pct = s[i] == '%';
    if (pct)
        i++;
    if (s[i])
        return false;
    t->kind = pct ? CFG_TARGET_PERCENT : CFG_TARGET_DELTA;
    t->value = strtod(s, NULL);
    return isfinite(t->value);
}

static int schema_target(struct cfg_ctx *c, json_t *obj, struct cfg_target *t)
{
    json_t *v = json_object_get(obj, "target");
    if (!v) {
        cfg_err(c, NULL, "missing required key \"target\"");
        return -1;
    }
    if (json_is_number(v)) {
        t->kind = CFG_TARGET_ABSOLUTE;
        t->value = json_number_value(v);
        okrd_format_double(t->value, t->text, sizeof t->text);
        return 1;
    }
    if (!json_is_string(v)) {
        cfg_err(c, "target", "expected a number or a string like \"+20%%\", got %s",
                cfg_json_type_name(v));
        return -1;
    }
    char *s = NULL;
    if (cfg_str_value(c, v, "target", CFG_STR_PLAIN, &s) < 0)
        return -1;
    const char *q = cfg_quote(c, json_string_value(v));
    if (!parse_relative(s, t)) {
        char *end = NULL;
        strtod(s, &end);
        if (*s && end && !*end && s[0] != '+' && s[0] != '-')
            cfg_err(c, "target", "%s: write an absolute target as a JSON number (%s), a "
                    "relative one with a sign (\"+20%%\", \"+500\")", q, s);
        else
            cfg_err(c, "target", "%s is not a target: a number (1200), a percentage "
                    "(\"+20%%\", \"-10%%\") or a change (\"+500\", \"-3\")", q);
        return -1;
    }
    snprintf(t->text, sizeof t->text, "%s", s);
    return 1;
}

static int schema_aggregate(struct cfg_ctx *c, json_t *obj, struct cfg_aggregate *a)
{
    json_t *v = json_object_get(obj, "aggregate");
    if (!v)
        return 0;
    if (json_is_string(v)) {
        if (strcmp(json_string_value(v), "last") == 0)
            return 1;
        cfg_err(c, "aggregate", "%s is not \"last\" or {\"fn\": \"sum|avg|min|max\", "
                "\"window\": \"cycle\" or a duration}", cfg_quote(c, json_string_value(v)));
        return -1;
    }
    if (!json_is_object(v)) {
        cfg_err(c, "aggregate", "expected \"last\" or {\"fn\", \"window\"}, got %s",
                cfg_json_type_name(v));
        return -1;
    }
    size_t old = cfg_path_push_key(c, "aggregate");
    cfg_check_keys(c, v, agg_keys);
    int fn, rc = 1;
    int rf = cfg_get_enum(c, v, "fn", true, agg_fns, &fn);
    if (rf > 0 && fn == CFG_AGG_LAST) {
        cfg_err(c, "fn", "\"last\" takes no window: write \"aggregate\": \"last\"");
        rf = -1;
    }
    json_t *wv = json_object_get(v, "window");
    int rw;
    if (wv && json_is_string(wv) && strcmp(json_string_value(wv), "cycle") == 0) {
        a->window_cycle = true;
        rw = 1;
    } else {
        rw = cfg_get_duration(c, v, "window", true, 1, &a->window_ms);
    }
    if (rf > 0 && rw > 0)
        a->fn = (enum cfg_agg_fn)fn;
    else
        rc = -1;
    cfg_path_pop(c, old);
    return rc;
}

static void schema_pace(struct cfg_ctx *c, json_t *obj, struct cfg_key_result *kr,
                        const struct cfg_objective *o, bool cycle_ok)
{
    json_t *v = json_object_get(obj, "pace");
    if (!v || (json_is_string(v) && strcmp(json_string_value(v), "linear") == 0))
        return;
    if (!json_is_array(v)) {
        cfg_err(c, "pace", "expected \"linear\" or a list of {\"date\", \"progress\"}, got %s",
                json_is_string(v) ? cfg_quote(c, json_string_value(v)) : cfg_json_type_name(v));
        return;
    }
    size_t n = json_array_size(v);
    kr->milestones = cfg_arena_array(c->arena, n + 1, sizeof *kr->milestones);
    size_t old = cfg_path_push_key(c, "pace");
    int64_t s_days = 0, e_days = 0, prev_days = INT64_MIN;
    double prev_p = 0;
    if (cycle_ok) {
        int64_t y;
        int m, d;
        okrd_parse_date(o->cycle.start_date, 10, &y, &m, &d, NULL);
        s_days = okrd_days_from_civil(y, m, d);
        okrd_parse_date(o->cycle.end_date, 10, &y, &m, &d, NULL);
        e_days = okrd_days_from_civil(y, m, d);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *ms = json_array_get(v, i);
        size_t o2 = cfg_path_push_index(c, i);
        if (!json_is_object(ms)) {
            cfg_err(c, NULL, "expected {\"date\", \"progress\"}, got %s", cfg_json_type_name(ms));
            cfg_path_pop(c, o2);
            continue;
        }
        cfg_check_keys(c, ms, milestone_keys);
        struct cfg_milestone m = { 0 };
        int64_t days = 0;
        int rd = get_date(c, ms, "date", true, &days, m.date);
        int rp = cfg_get_number(c, ms, "progress", true, &m.progress);
        if (rp > 0 && (m.progress < 0 || m.progress > 1)) {
            cfg_err(c, "progress", "%g is outside 0..1", m.progress);
            rp = -1;
        }
        if (rd > 0 && cycle_ok && (days < s_days || days > e_days)) {
            cfg_err(c, "date", "%s is outside the cycle (%s to %s)", m.date, o->cycle.start_date,
                    o->cycle.end_date);
            rd = -1;
        } else if (rd > 0 && days <= prev_days) {
            cfg_err(c, "date", "%s is not after the previous milestone's date", m.date);
            rd = -1;
        }
        if (rp > 0 && kr->n_milestones > 0 && m.progress < prev_p) {
            cfg_err(c, "progress", "%g is below the previous milestone's %g (progress must not "
                    "decrease)", m.progress, prev_p);
            rp = -1;
        }
        if (rd > 0 && rp > 0) {
            m.at_s = local_midnight_utc(c, days + 1);
            kr->milestones[kr->n_milestones++] = m;
            prev_days = days;
            prev_p = m.progress;
        }
        cfg_path_pop(c, o2);
    }
    cfg_path_pop(c, old);
}

/* The target must be reachable when the baseline is known now: explicit, or
 * 0 for a sum over the cycle. */
static void check_target(struct cfg_ctx *c, struct cfg_key_result *kr, bool baseline_given)
{
    const struct cfg_target *t = &kr->target;
    bool relative = t->kind != CFG_TARGET_ABSOLUTE;
    const char *shown = t->kind == CFG_TARGET_ABSOLUTE ? t->text
                      : cfg_arena_printf(&c->tmp, "\"%s\"", t->text);
    if (kr->direction == CFG_DIR_AT_LEAST || kr->direction == CFG_DIR_AT_MOST) {
        if (relative)
            cfg_err(c, "target", "%s is relative; %s needs an absolute level (e.g. 8)", shown,
                    cfg_direction_name(kr->direction));
        return;
    }
    bool inc = kr->direction == CFG_DIR_INCREASE;
    if (relative && (inc ? t->value <= 0 : t->value >= 0)) {
        cfg_err(c, "target", "%s goes the wrong way: %s needs a %s change", shown,
                cfg_direction_name(kr->direction), inc ? "positive (\"+...\")"
                                                       : "negative (\"-...\")");
        return;
    }
    bool sum_cycle = kr->aggregate.fn == CFG_AGG_SUM && kr->aggregate.window_cycle;
    if (relative && sum_cycle) {
        cfg_err(c, "target", "%s is relative, but a sum over the cycle starts from 0: give an "
                "absolute target", shown);
        return;
    }
    if (!baseline_given && !sum_cycle)
        return;
    double b = baseline_given ? kr->baseline : 0;
    double T = t->kind == CFG_TARGET_ABSOLUTE ? t->value
             : t->kind == CFG_TARGET_PERCENT ? b * (1 + t->value / 100) : b + t->value;
    if (inc ? !(T > b) : !(T < b)) {
        char tb[32], bb[32];
        okrd_format_double(T, tb, sizeof tb);
        okrd_format_double(b, bb, sizeof bb);
        cfg_err(c, "target", "%s is not reachable: the target %s is not %s the %sbaseline %s",
                shown, tb, inc ? "above" : "below", baseline_given ? "" : "sum's ", bb);
    }
}

static void schema_kr(struct cfg_ctx *c, json_t *obj, struct cfg_key_result *kr,
                      const struct cfg_objective *o, bool cycle_ok)
{
    cfg_pos_here(c, NULL, &kr->pos);
    kr->objective = o;
    kr->baseline_auto = true;
    kr->weight = 1;
    kr->trend_window_ms = 14 * 86400000LL;
    kr->grace = 0.1;
    kr->at_risk = 0.9;
    kr->off_track = 0.7;
    kr->margin = 0.05;
    cfg_check_keys(c, obj, kr_keys);
    cfg_get_id(c, obj, "id", true, &kr->id);
    cfg_get_str(c, obj, "title", true, CFG_STR_PLAIN, &kr->title);
    /* A free string (a name, an e-mail, a Slack mention); absent: the
     * objective's owner, read before its key results. */
    if (cfg_get_str(c, obj, "owner", false, CFG_STR_PLAIN, &kr->owner) <= 0)
        kr->owner = o->owner;
    cfg_get_id(c, obj, "metric", true, &kr->metric);
    int e;
    int rd = cfg_get_enum(c, obj, "direction", true, directions, &e);
    if (rd > 0)
        kr->direction = (enum cfg_direction)e;
    int rt = schema_target(c, obj, &kr->target);
    bool baseline_given = false;
    int rb = 1;
    json_t *b = json_object_get(obj, "baseline");
    if (b && json_is_number(b)) {
        kr->baseline_auto = false;
        kr->baseline = json_number_value(b);
        baseline_given = true;
    } else if (b && !(json_is_string(b) && strcmp(json_string_value(b), "auto") == 0)) {
        cfg_err(c, "baseline", "expected a number or \"auto\", got %s",
                json_is_string(b) ? cfg_quote(c, json_string_value(b)) : cfg_json_type_name(b));
        rb = -1;
    }
    int ra = schema_aggregate(c, obj, &kr->aggregate);
    cfg_get_range(c, obj, "weight", 0, true, INFINITY, false, &kr->weight);
    schema_pace(c, obj, kr, o, cycle_ok);
    if (cfg_get_enum(c, obj, "projection", false, projections, &e) > 0)
        kr->projection = (enum cfg_projection)e;
    cfg_get_duration(c, obj, "trend_window", false, 86400000LL, &kr->trend_window_ms);
    cfg_get_range(c, obj, "grace", 0, false, 1, true, &kr->grace);
    int rr = cfg_get_range(c, obj, "at_risk", 0, true, 1, false, &kr->at_risk);
    int ro = cfg_get_range(c, obj, "off_track", 0, false, 1, false, &kr->off_track);
    cfg_get_range(c, obj, "margin", 0, false, 1, true, &kr->margin);
    if (rr >= 0 && ro >= 0 && kr->off_track > kr->at_risk) {
        char ob[32], ab[32];
        okrd_format_double(kr->off_track, ob, sizeof ob);
        okrd_format_double(kr->at_risk, ab, sizeof ab);
        cfg_err(c, ro > 0 ? "off_track" : "at_risk", "off_track (%s) must not be above "
                "at_risk (%s)", ob, ab);
    }
    if (rd > 0 && rt > 0 && rb > 0 && ra >= 0)
        check_target(c, kr, baseline_given);
}

/* ---- objectives ---- */

static const char *const objective_keys[] = {
    "id", "title", "owner", "parent", "weight", "cycle", "key_results", NULL,
};

void cfg_schema_objective(struct cfg_ctx *c, json_t *obj, struct cfg_objective *o,
                          struct cfg_ref **kr_refs)
{
    cfg_pos_here(c, NULL, &o->pos);
    o->weight = 1;
    cfg_check_keys(c, obj, objective_keys);
    cfg_get_id(c, obj, "id", true, &o->id);
    cfg_get_str(c, obj, "title", true, CFG_STR_PLAIN, &o->title);
    cfg_get_str(c, obj, "owner", false, CFG_STR_PLAIN, &o->owner);
    cfg_get_id(c, obj, "parent", false, &o->parent_id);
    cfg_get_range(c, obj, "weight", 0, true, INFINITY, false, &o->weight);
    bool cycle_ok = schema_cycle(c, obj, &o->cycle);
    bool bad;
    json_t *krs = cfg_get_array(c, obj, "key_results", true, &bad);
    size_t n = krs ? json_array_size(krs) : 0;
    o->key_results = cfg_arena_array(c->arena, n + 1, sizeof *o->key_results);
    *kr_refs = cfg_arena_array(&c->tmp, n + 1, sizeof **kr_refs);
    size_t old = cfg_path_push_key(c, "key_results");
    for (size_t i = 0; i < n; i++) {
        json_t *k = json_array_get(krs, i);
        size_t o2 = cfg_path_push_index(c, i);
        if (!json_is_object(k)) {
            cfg_err(c, NULL, "expected an object, got %s", cfg_json_type_name(k));
        } else {
            (*kr_refs)[o->n_key_results] =
                (struct cfg_ref){ c->cur, cfg_arena_strdup(&c->tmp, c->path) };
            schema_kr(c, k, &o->key_results[o->n_key_results++], o, cycle_ok);
        }
        cfg_path_pop(c, o2);
    }
    cfg_path_pop(c, old);
}
