/*
 * alerts_digest.c — the weekly digest (DESIGN section 5): when it is due,
 * and its json body. The body lists every key result grouped by objective
 * with its owner, progress, expected progress, projected score and status,
 * the confidence and comment of its latest check-in, its forecast (DESIGN
 * section 9: the object and the phrase a Slack line shows), the week's
 * status changes, and — once a cycle has ended — each key result's final
 * grade and a note when every key result of an objective was achieved (the
 * targets may not have been ambitious enough).
 *
 * Pure: the caller (daemon/alerts_run.c) hands in the last evaluation and
 * each key result's status of a week before (from the store's history).
 */
#include "alerts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "common/tz.h"

int64_t alerts_next_digest_s(int weekday, int minute, const struct okrd_tz *tz, int64_t now_s)
{
    int64_t local = now_s + okrd_tz_offset_at(tz, now_s);
    int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    /* Two weeks of candidates: one of the first 7 days matches the weekday,
     * and when that one is today and already past, the next is 7 days on. */
    for (int k = 0; k < 15; k++) {
        if (okrd_weekday_from_days(day + k) != weekday)
            continue;
        int64_t t = okrd_tz_local_to_utc(tz, (day + k) * 86400 + (int64_t)minute * 60);
        if (t > now_s)
            return t;
    }
    return now_s + 7 * 86400; /* unreachable for a valid weekday */
}

static json_t *time_json(int64_t ts)
{
    char buf[32];
    okrd_format_utc(ts, buf, sizeof buf);
    return json_string(buf);
}

static const char *const status_order[] = {
    "on_track", "at_risk", "off_track", "achieved", "missed", "pending", "no_data", "invalid",
};

static void summary_counts(char *buf, size_t size, const struct eval_snapshot *s,
                           size_t n_changes, int64_t from_s)
{
    size_t count[OKR_N_STATUSES] = { 0 };
    for (size_t i = 0; i < s->n_krs; i++)
        if ((unsigned)s->results[i].status < OKR_N_STATUSES)
            count[s->results[i].status]++;
    char from[16], to[16];
    okrd_format_date(from_s, s->cfg ? s->cfg->daemon.tz : NULL, from, sizeof from);
    okrd_format_date(s->at_s, s->cfg ? s->cfg->daemon.tz : NULL, to, sizeof to);
    int w = snprintf(buf, size, "Weekly OKR digest, %s to %s: %zu key result%s", from, to,
                     s->n_krs, s->n_krs == 1 ? "" : "s");
    const char *sep = " \xe2\x80\x94 "; /* an em dash */
    for (size_t k = 0; k < sizeof status_order / sizeof *status_order; k++) {
        enum okr_status st;
        okr_status_parse(status_order[k], &st);
        if (!count[st] || w < 0 || (size_t)w >= size)
            continue;
        char words[20];
        snprintf(words, sizeof words, "%s", status_order[k]);
        for (char *p = words; *p; p++)
            if (*p == '_')
                *p = ' ';
        w += snprintf(buf + w, size - (size_t)w, "%s%zu %s", sep, count[st], words);
        sep = ", ";
    }
    if (w >= 0 && (size_t)w < size)
        snprintf(buf + w, size - (size_t)w, ". %zu changed status this week.", n_changes);
}

char *alerts_digest_body(const struct eval_snapshot *s, const char *const *week_ago,
                         const char *id, int64_t week_from_s)
{
    const struct cfg *cfg = s->cfg;
    json_t *objs = json_array(), *changes = json_array(), *notes = json_array();
    size_t k = 0, n_changes = 0;
    for (size_t o = 0; o < cfg->n_objectives; o++) {
        const struct cfg_objective *obj = &cfg->objectives[o];
        bool ended = s->at_s >= obj->cycle.end_s;
        bool all_achieved = obj->n_key_results > 0;
        json_t *krs = json_array();
        for (size_t j = 0; j < obj->n_key_results; j++, k++) {
            const struct okr_result *r = &s->results[k];
            const struct cfg_key_result *kr = s->krs[k];
            const char *now = okr_status_name(r->status);
            const char *ago = week_ago ? week_ago[k] : NULL;
            all_achieved = all_achieved && r->status == OKR_ACHIEVED;
            if (ago && strcmp(ago, now)) {
                n_changes++;
                json_array_append_new(changes, json_pack("{s:s, s:s, s:s, s:s, s:s}", "objective",
                                                         obj->id, "key_result", kr->id, "title",
                                                         kr->title, "from", ago, "to", now));
            }
            /* The latest check-in of its current cycle (the snapshot's, at
             * s->at_s): its confidence and comment, null when it has none. */
            const struct okrd_checkin *c =
                s->has_checkin && s->checkins && s->has_checkin[k] ? &s->checkins[k] : NULL;
            json_array_append_new(krs, json_pack(
                "{s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:b, s:o, s:o, s:o}", "id", kr->id,
                "title", kr->title, "owner", kr->owner ? json_string(kr->owner) : json_null(),
                "progress", okr_view_number(r->progress), "expected", okr_view_number(r->expected),
                "projected_score", okr_view_number(r->projected_score), "status", now,
                "week_ago_status", ago ? json_string(ago) : json_null(), "stale", s->stale[k],
                "grade", r->final ? okr_view_number(r->score) : json_null(), "confidence",
                c && c->confidence != OKRD_CHECKIN_NO_CONFIDENCE ? json_integer(c->confidence)
                                                                 : json_null(),
                "comment", c && c->comment ? json_string(c->comment) : json_null()));
            /* The forecast, and its phrase made here where the share a level
             * needs (at_risk) is known. */
            json_t *kj = json_array_get(krs, json_array_size(krs) - 1);
            char phrase[160];
            const struct okr_forecast *f = &r->forecast;
            if (f->defined)
                alerts_forecast_phrase(phrase, sizeof phrase, f->probability,
                                       f->of == OKR_FORECAST_SHARE,
                                       kr->direction == CFG_DIR_AT_MOST, r->target, kr->at_risk,
                                       obj->cycle.end_date);
            if (kj) {
                json_object_set_new(kj, "forecast", okr_view_forecast(f));
                json_object_set_new(kj, "forecast_text",
                                    f->defined ? json_string(phrase) : json_null());
            }
        }
        const struct okr_objective_result *orr = &s->objs[o];
        if (ended && all_achieved) {
            char note[400];
            snprintf(note, sizeof note,
                     "Every key result of \"%.300s\" was achieved: the targets may not have been "
                     "ambitious enough.", obj->title);
            json_t *js = json_string(note);
            if (js)
                json_array_append_new(notes, js);
        }
        json_array_append_new(objs, json_pack(
            "{s:s, s:s, s:o, s:o, s:o, s:s, s:{s:s, s:s}, s:b, s:o}", "id", obj->id, "title",
            obj->title, "parent", obj->parent_id ? json_string(obj->parent_id) : json_null(),
            "score", okr_view_number(orr->score),
            "projected_score", okr_view_number(orr->projected_score),
            "status", okr_status_name(orr->status), "cycle", "start", obj->cycle.start_date,
            "end", obj->cycle.end_date, "ended", ended, "key_results", krs));
    }
    char summary[512];
    summary_counts(summary, sizeof summary, s, n_changes, week_from_s);
    json_t *doc = json_pack("{s:s, s:s, s:o, s:{s:o, s:o}, s:o, s:o, s:o, s:s}", "id", id,
                            "type", alerts_event_name(ALERTS_DIGEST_WEEKLY),
                            "occurred_at", time_json(s->at_s), "period", "from",
                            time_json(week_from_s), "to", time_json(s->at_s), "objectives", objs,
                            "changes", changes, "notes", notes, "summary", summary);
    if (!doc)
        return NULL;
    char *text = okr_view_dump(doc, false);
    json_decref(doc);
    return text;
}
