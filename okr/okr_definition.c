/*
 * okr_definition.c — see okr_definition.h. Builds the archive's JSON of a
 * definition; owns nothing else. Key order is fixed by construction
 * (jansson keeps insertion order), so the same definition always gives the
 * same text and the store sees a change only when something changed.
 */
#include "okr_definition.h"

#include <math.h>
#include <stdlib.h>

#include "common/parse.h"
#include "okr/okr_view.h"

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *cycle_of(const struct cfg_objective *o)
{
    return json_pack("{s:s, s:s}", "start", o->cycle.start_date, "end", o->cycle.end_date);
}

json_t *okr_definition_objective(const struct cfg_objective *o)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "kind", "objective", "id", o->id,
                     "title", o->title ? o->title : "", "owner", string_or_null(o->owner),
                     "parent",
                     string_or_null(o->parent ? o->parent->id : o->parent_id),
                     "weight", okr_view_number(o->weight), "cycle", cycle_of(o));
}

static json_t *aggregate_of(const struct cfg_aggregate *a)
{
    json_t *window;
    if (a->window_cycle) {
        window = json_string("cycle");
    } else if (a->fn == CFG_AGG_LAST || a->window_ms <= 0) {
        window = json_null();
    } else {
        char buf[48];
        okrd_format_duration(a->window_ms, buf, sizeof buf);
        window = json_string(buf);
    }
    return json_pack("{s:s, s:o}", "fn", cfg_agg_fn_name(a->fn), "window", window);
}

static json_t *pace_of(const struct cfg_key_result *kr)
{
    if (kr->n_milestones == 0)
        return json_string("linear");
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < kr->n_milestones; i++)
        if (json_array_append_new(arr, json_pack("{s:s, s:o}", "date", kr->milestones[i].date,
                                                 "progress",
                                                 okr_view_number(kr->milestones[i].progress))) < 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

json_t *okr_definition_key_result(const struct cfg *cfg, const struct cfg_key_result *kr,
                                  const struct okr_result *r)
{
    const struct cfg_objective *o = kr->objective;
    const char *owner = kr->owner ? kr->owner : o ? o->owner : NULL;
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:s, "
        "s:I, s:{s:o, s:o, s:o, s:o}, s:I}",
        "kind", "key_result", "id", kr->id, "objective", o ? o->id : "", "title",
        kr->title ? kr->title : "", "owner", string_or_null(owner), "metric", kr->metric,
        "direction", cfg_direction_name(kr->direction), "baseline",
        okr_view_number(r ? r->baseline : NAN), "target", okr_view_number(r ? r->target : NAN),
        "baseline_configured", kr->baseline_auto ? json_string("auto") : okr_view_number(kr->baseline),
        "target_configured", kr->target.text, "cycle", o ? cycle_of(o) : json_null(), "weight",
        okr_view_number(kr->weight), "aggregate", aggregate_of(&kr->aggregate), "pace",
        pace_of(kr), "projection", kr->projection == CFG_PROJ_TREND ? "trend" : "average",
        "trend_window_s", (json_int_t)(kr->trend_window_ms / 1000), "thresholds", "grace",
        okr_view_number(kr->grace), "at_risk", okr_view_number(kr->at_risk), "off_track",
        okr_view_number(kr->off_track), "margin", okr_view_number(kr->margin),
        "checkins_every_s", (json_int_t)(cfg ? cfg->checkins.every_ms / 1000 : 0));
}

char *okr_definition_text(const json_t *def)
{
    return def ? okr_view_dump(def, false) : NULL;
}
