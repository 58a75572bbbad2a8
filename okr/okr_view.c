/*
 * okr_view.c — see okr_view.h. Owns the JSON shape of objectives and key
 * results; nothing else in okrd builds these objects.
 */
#include "okr_view.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

json_t *okr_view_number(double v)
{
    if (isnan(v) || isinf(v))
        return json_null();
    /* Integral values as integers: a metric of 1040 users reads 1040. */
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

static json_t *time_or_null(int64_t ts)
{
    if (ts == OKR_NO_TS)
        return json_null();
    char buf[32];
    okrd_format_utc(ts, buf, sizeof buf);
    return json_string(buf);
}

json_t *okr_view_checkin(const struct okrd_checkin *c, bool with_override_until,
                         int64_t override_until)
{
    char at[32];
    okrd_format_utc(c->at_s, at, sizeof at);
    /* A comment that is not UTF-8 cannot be stored (the API refuses it); if
     * one ever is, say so rather than lose the whole object. */
    json_t *comment = c->comment ? json_string(c->comment) : json_null();
    if (!comment)
        comment = json_string("(not valid UTF-8)");
    bool has_status = c->status[0] != '\0';
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "id", c->id,
        "key_result", c->key_result, "cycle_start", c->cycle_start, "seq", (json_int_t)c->seq,
        "at", at, "author", c->author,
        "confidence", c->confidence == OKRD_CHECKIN_NO_CONFIDENCE ? json_null()
                                                                   : json_integer(c->confidence),
        "comment", comment, "status", has_status ? json_string(c->status) : json_null(),
        "until", has_status && c->until_s ? time_or_null(c->until_s) : json_null(),
        "value", okr_view_number(c->value), "grade", okr_view_number(c->grade));
    if (o && with_override_until)
        json_object_set_new(o, "override_until", time_or_null(override_until));
    return o;
}

json_t *okr_view_forecast(const struct okr_forecast *f)
{
    if (!f || !f->defined)
        return json_null();
    return json_pack("{s:o, s:o, s:o, s:o, s:s}", "probability", okr_view_number(f->probability),
                     "p10", okr_view_number(f->p10), "p50", okr_view_number(f->p50),
                     "p90", okr_view_number(f->p90),
                     "of", f->of == OKR_FORECAST_SHARE ? "share" : "value");
}

json_t *okr_view_key_result(const struct eval_snapshot *s, size_t i)
{
    const struct cfg_key_result *kr = s->krs[i];
    const struct okr_result *r = &s->results[i];
    const char *prev = s->previous_status ? s->previous_status[i] : NULL;
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:b, "
        "s:{s:s, s:s}, s:o, s:o}",
        "id", kr->id, "title", kr->title, "metric", kr->metric,
        "direction", cfg_direction_name(kr->direction),
        "baseline", okr_view_number(r->baseline), "target", okr_view_number(r->target),
        "value", okr_view_number(r->value), "progress", okr_view_number(r->progress),
        "expected", okr_view_number(r->expected),
        "projected_score", okr_view_number(r->projected_score),
        "status", okr_status_name(r->status),
        /* section 4's own status: differs from "status" while a check-in's
         * override holds (hand-built snapshots carry no overrides) */
        "computed_status", okr_status_name(s->computed ? s->computed[i] : r->status),
        "previous_status", prev ? json_string(prev) : json_null(),
        "stale", s->stale[i],
        "cycle", "start", kr->objective->cycle.start_date, "end", kr->objective->cycle.end_date,
        "last_point_at", time_or_null(r->last_point_at),
        "score", okr_view_number(r->score));
    json_object_set_new(o, "owner", kr->owner ? json_string(kr->owner) : json_null());
    bool has = s->has_checkin && s->checkins && s->has_checkin[i];
    json_object_set_new(o, "check_in",
                        has ? okr_view_checkin(&s->checkins[i], true,
                                               s->override_until ? s->override_until[i] : OKR_NO_TS)
                            : json_null());
    /* last: section 9's forecast, computed with section 4's status */
    json_object_set_new(o, "forecast", okr_view_forecast(&r->forecast));
    return o;
}

json_t *okr_view_objectives(const struct eval_snapshot *s)
{
    const struct cfg *cfg = s->cfg;
    json_t *objs = json_array();
    size_t k = 0;
    for (size_t o = 0; o < cfg->n_objectives; o++) {
        const struct cfg_objective *obj = &cfg->objectives[o];
        const struct okr_objective_result *r = &s->objs[o];
        json_t *krs = json_array();
        for (size_t j = 0; j < obj->n_key_results; j++, k++)
            json_array_append_new(krs, okr_view_key_result(s, k));
        json_array_append_new(objs, json_pack(
            "{s:s, s:s, s:o, s:o, s:o, s:s, s:o}", "id", obj->id, "title", obj->title,
            "parent", obj->parent_id ? json_string(obj->parent_id) : json_null(),
            "score", okr_view_number(r->score),
            "projected_score", okr_view_number(r->projected_score),
            "status", okr_status_name(r->status), "key_results", krs));
    }
    char at[32];
    okrd_format_utc(s->at_s, at, sizeof at);
    return json_pack("{s:s, s:o}", "at", at, "objectives", objs);
}

/* jansson prints a real with one fixed precision: 15 digits lose the last
 * bits (0.1 + 0.2 printed as 0.3 does not read back as the number okrd
 * computed), 17 digits print noise (0.1 as 0.10000000000000001). So the
 * document is dumped with 17 and every real in it (outside strings) is
 * rewritten as the shortest text that reads back to the same double
 * (okrd_format_double, as `okrd export` writes values). In place: the
 * shortest text is never longer than the 17-digit one. */
static void shorten_reals(char *text)
{
    char *w = text;
    const char *r = text;
    bool in_string = false;
    while (*r) {
        char ch = *r;
        if (in_string) {
            *w++ = *r++;
            if (ch == '\\' && *r)
                *w++ = *r++;
            else if (ch == '"')
                in_string = false;
            continue;
        }
        if (ch == '"') {
            in_string = true;
            *w++ = *r++;
            continue;
        }
        if (ch == '-' || (ch >= '0' && ch <= '9')) {
            size_t n = strspn(r, "-+0123456789.eE");
            bool real = memchr(r, '.', n) || memchr(r, 'e', n) || memchr(r, 'E', n);
            char tok[64], out[40];
            if (real && n < sizeof tok) {
                memcpy(tok, r, n);
                tok[n] = '\0';
                double v = strtod(tok, NULL);
                okrd_format_double(v, out, sizeof out);
                size_t m = strlen(out);
                if (isfinite(v) && m <= n) {
                    memcpy(w, out, m);
                    w += m;
                    r += n;
                    continue;
                }
            }
            memmove(w, r, n);
            w += n;
            r += n;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

char *okr_view_dump(const json_t *doc, bool pretty)
{
    char *text = json_dumps(doc, JSON_REAL_PRECISION(17) |
                                     (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER);
    if (text)
        shorten_reals(text);
    return text;
}
