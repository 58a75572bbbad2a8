/*
 * okr_retro.c — see okr_retro.h. Owns the retrospective's shape and its
 * rules (days per status, first off track, recovery, when a miss was
 * knowable, the lints); the numbers it starts from (evaluations, history
 * rows, check-ins) are made elsewhere and only read here.
 */
#include "okr_retro.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "okr_view.h"

#define DAY_S 86400

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* Adds {"objective", "key_result", "message"} to LINTS. */
static void add_lint(json_t *lints, const char *objective, const char *kr, const char *message)
{
    json_array_append_new(lints, json_pack("{s:o, s:o, s:s}", "objective", str_or_null(objective),
                                           "key_result", str_or_null(kr), "message", message));
}

/* Messages are built with these (okr/ does no stdio): string pieces,
 * whole numbers, and fixed-point numbers. */
static void cat(char *buf, size_t size, const char *s)
{
    size_t n = strlen(buf);
    while (*s && n + 1 < size)
        buf[n++] = *s++;
    buf[n] = '\0';
}

static void cat_u(char *buf, size_t size, unsigned long long v)
{
    char d[24];
    size_t i = sizeof d - 1;
    d[i] = '\0';
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    cat(buf, size, d + i);
}

/* V >= 0 with DECIMALS digits (rounded); TRIM drops a fraction of zeros. */
static void cat_fixed(char *buf, size_t size, double v, int decimals, bool trim)
{
    unsigned long long scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    unsigned long long x = (unsigned long long)floor(v * (double)scale + 0.5);
    cat_u(buf, size, x / scale);
    unsigned long long frac = x % scale;
    if (decimals == 0 || (trim && frac == 0))
        return;
    cat(buf, size, ".");
    for (unsigned long long p = scale / 10; p >= 1; p /= 10) {
        char c[2] = { (char)('0' + frac / p % 10), '\0' };
        cat(buf, size, c);
        if (p == 1)
            break;
    }
}

static json_t *days_in_status(const struct okr_retro_kr *k)
{
    size_t count[OKR_N_STATUSES] = { 0 };
    for (size_t i = 0; i < k->n_days; i++)
        if ((unsigned)k->days[i].status < OKR_N_STATUSES)
            count[k->days[i].status]++;
    json_t *o = json_object();
    for (int st = 0; st < OKR_N_STATUSES; st++)
        if (count[st])
            json_object_set_new(o, okr_status_name((enum okr_status)st),
                                json_integer((json_int_t)count[st]));
    return o;
}

/* Index of the first off_track day, or n_days. */
static size_t first_off_track(const struct okr_retro_kr *k)
{
    size_t i = 0;
    while (i < k->n_days && k->days[i].status != OKR_OFF_TRACK)
        i++;
    return i;
}

static json_t *recovered(const struct okr_retro_kr *k, size_t first_off)
{
    if (first_off >= k->n_days)
        return json_null();
    for (size_t i = first_off + 1; i < k->n_days; i++)
        if (k->days[i].status == OKR_ON_TRACK || k->days[i].status == OKR_ACHIEVED)
            return json_true();
    return json_false();
}

/* For a missed key result: "the first day from which every non-null daily
 * probability up to the end was below 0.5 (at least one such day)" -- the
 * day after the last one whose probability was >= 0.5 (or the first day),
 * whether or not that day has a probability itself, provided a non-null
 * probability follows from it. */
static json_t *knowable_from(const struct okr_retro_kr *k, bool final)
{
    if (!final || k->status != OKR_MISSED)
        return json_null();
    size_t from = 0;
    for (size_t i = 0; i < k->n_days; i++)
        if (!isnan(k->days[i].probability) && k->days[i].probability >= 0.5)
            from = i + 1;
    for (size_t i = from; i < k->n_days; i++)
        if (!isnan(k->days[i].probability))
            return json_string(k->days[from].date);
    return json_null();
}

static json_t *confidence_trail(const struct okr_retro_kr *k, const struct okrd_tz *tz)
{
    json_t *a = json_array();
    for (size_t i = 0; i < k->n_checkins; i++) {
        const struct okrd_checkin *c = &k->checkins[i];
        if (c->confidence == OKRD_CHECKIN_NO_CONFIDENCE)
            continue;
        char date[16];
        okrd_format_date(c->at_s, tz, date, sizeof date);
        json_array_append_new(a, json_pack("{s:s, s:i}", "date", date, "confidence",
                                           c->confidence));
    }
    return a;
}

static json_t *key_result_json(const struct okr_retro_kr *k, const struct okr_retro_input *in)
{
    const struct okr_result *r = k->result;
    const struct okrd_checkin *graded = NULL, *commented = NULL;
    for (size_t i = 0; i < k->n_checkins; i++) {
        if (!isnan(k->checkins[i].grade))
            graded = &k->checkins[i];
        if (k->checkins[i].comment)
            commented = &k->checkins[i];
    }
    size_t overridden = 0;
    for (size_t i = 0; i < k->n_days; i++)
        overridden += k->days[i].status != k->days[i].computed;
    size_t first_off = first_off_track(k);
    json_t *comment = commented ? json_string(commented->comment) : json_null();
    if (!comment) /* never stored (the API refuses it), but never lose the document */
        comment = json_string("(not valid UTF-8)");
    return json_pack(
        "{s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, "
        "s:o, s:o, s:I}",
        "id", k->id, "title", k->title ? k->title : "", "owner", str_or_null(k->owner),
        "direction", cfg_direction_name(k->direction),
        "baseline", okr_view_number(r->baseline), "target", okr_view_number(r->target),
        "value", okr_view_number(r->value), "status", okr_status_name(k->status),
        "grade", okr_view_number(pace_round_grade(r->score)),
        "given_grade", graded ? okr_view_number(graded->grade) : json_null(),
        "given_by", graded ? json_string(graded->author) : json_null(),
        "days_in_status", days_in_status(k),
        "first_off_track", first_off < k->n_days ? json_string(k->days[first_off].date)
                                                 : json_null(),
        "recovered", recovered(k, first_off), "knowable_from", knowable_from(k, in->final),
        "check_ins", (json_int_t)k->n_checkins, "confidence_trail", confidence_trail(k, in->tz),
        "last_comment", comment, "overridden_days", (json_int_t)overridden);
}

/* The longest gap between check-ins made before the end (and from the start
 * to the first) when it exceeds two checkins.every. */
static void lint_gap(json_t *lints, const struct okr_retro_kr *k, const struct okr_retro_input *in)
{
    if (k->checkins_every_s <= 0 || k->n_checkins == 0)
        return;
    int64_t prev = in->cycle->start_s, gap = 0, gap_from = 0, gap_to = 0;
    for (size_t i = 0; i < k->n_checkins; i++) {
        int64_t at = k->checkins[i].at_s;
        if (at >= in->cycle->end_s)
            break;
        if (at - prev > gap) {
            gap = at - prev;
            gap_from = prev;
            gap_to = at;
        }
        if (at > prev)
            prev = at;
    }
    if (gap <= 2 * k->checkins_every_s)
        return;
    char from[16], to[16], every[32], msg[256] = "";
    okrd_format_date(gap_from, in->tz, from, sizeof from);
    okrd_format_date(gap_to, in->tz, to, sizeof to);
    okrd_format_duration(k->checkins_every_s * 1000, every, sizeof every);
    cat_fixed(msg, sizeof msg, (double)gap / DAY_S, 1, true);
    if (gap_from == in->cycle->start_s) {
        cat(msg, sizeof msg, " days from the cycle start (");
        cat(msg, sizeof msg, from);
        cat(msg, sizeof msg, ") to the first check-in (");
    } else {
        cat(msg, sizeof msg, " days between check-ins (");
        cat(msg, sizeof msg, from);
        cat(msg, sizeof msg, " to ");
    }
    cat(msg, sizeof msg, to);
    cat(msg, sizeof msg, "), more than twice checkins.every (");
    cat(msg, sizeof msg, every);
    cat(msg, sizeof msg, ")");
    add_lint(lints, k->objective, k->id, msg);
}

static void lint_no_data(json_t *lints, const struct okr_retro_kr *k)
{
    size_t n = 0;
    for (size_t i = 0; i < k->n_days; i++)
        n += k->days[i].computed == OKR_NO_DATA;
    if (n <= 7)
        return;
    char msg[128] = "";
    cat_u(msg, sizeof msg, n);
    cat(msg, sizeof msg, " days of no_data in its history (more than 7)");
    add_lint(lints, k->objective, k->id, msg);
}

static void lint_objective(json_t *lints, const struct okr_retro_objective *o,
                           const struct okr_retro_input *in)
{
    size_t n = 0, achieved = 0;
    for (size_t i = 0; i < in->n_krs; i++) {
        if (strcmp(in->krs[i].objective, o->id) != 0)
            continue;
        n++;
        achieved += in->krs[i].status == OKR_ACHIEVED;
    }
    char msg[160] = "";
    if (n < 2 || n > 5) {
        cat_u(msg, sizeof msg, n);
        cat(msg, sizeof msg, n == 1 ? " key result" : " key results");
        cat(msg, sizeof msg, ": an objective should have 2 to 5");
        add_lint(lints, o->id, NULL, msg);
    }
    /* "at the end of a cycle" (section 4): early achievements may still slip */
    if (in->final && n > 0 && achieved == n)
        add_lint(lints, o->id, NULL,
                 "all key results achieved: the targets may not have been ambitious enough");
}

static void lint_cycle(json_t *lints, const struct okr_retro_input *in, const bool *listed)
{
    double w = 0, sum = 0;
    for (size_t i = 0; i < in->n_krs; i++) {
        double g = pace_round_grade(in->krs[i].result->score);
        if (!listed[i] || isnan(g))
            continue;
        w += in->krs[i].weight;
        sum += in->krs[i].weight * g;
    }
    if (w <= 0)
        return;
    double mean = sum / w;
    if (!(mean > 0.8 || mean < 0.4))
        return;
    char msg[200] = "weighted mean grade ";
    cat_fixed(msg, sizeof msg, mean, 3, false);
    cat(msg, sizeof msg, mean > 0.8 ? " is above 0.8: the targets may have been too soft"
                                    : " is below 0.4: the targets may have been out of reach");
    cat(msg, sizeof msg, " (0.6-0.7 is where a stretch goal should land)");
    add_lint(lints, NULL, NULL, msg);
}

static size_t objective_index(const struct okr_retro_input *in, const char *id)
{
    for (size_t i = 0; id && i < in->n_objectives; i++)
        if (strcmp(in->objectives[i].id, id) == 0)
            return i;
    return OKR_NO_PARENT;
}

json_t *okr_retro_build(const struct okr_retro_input *in)
{
    size_t no = in->n_objectives, nk = in->n_krs;
    struct okr_rollup_obj *objs = calloc(no ? no : 1, sizeof *objs);
    struct okr_rollup_kr *krs = calloc(nk ? nk : 1, sizeof *krs);
    struct okr_objective_result *orr = calloc(no ? no : 1, sizeof *orr);
    struct okr_result *results = calloc(nk ? nk : 1, sizeof *results);
    bool *listed = calloc(nk ? nk : 1, sizeof *listed);
    json_t *doc = NULL;
    if (!objs || !krs || !orr || !results || !listed)
        goto out;

    for (size_t i = 0; i < no; i++) {
        objs[i].parent = objective_index(in, in->objectives[i].parent);
        objs[i].weight = in->objectives[i].weight;
    }
    size_t m = 0;
    for (size_t i = 0; i < nk; i++) {
        size_t oi = objective_index(in, in->krs[i].objective);
        if (oi == OKR_NO_PARENT)
            continue;
        listed[i] = true;
        /* The roll-up reads status (for no_data/invalid), score and
         * projected score; the shown status may be an override, which
         * changes no score (section 8). */
        results[i] = *in->krs[i].result;
        /* "weighted final grades" (section 9): the score rounded to 0.01, as
         * each key result's `grade` shows it. */
        results[i].score = pace_round_grade(results[i].score);
        krs[m++] = (struct okr_rollup_kr){ oi, in->krs[i].weight, &results[i] };
    }
    if (okr_rollup(objs, no, krs, m, orr) != 0) {
        /* Parents that form a cycle cannot come from config/, but an archive
         * mixes definitions of different days: roll up without parents. */
        for (size_t i = 0; i < no; i++)
            objs[i].parent = OKR_NO_PARENT;
        okr_rollup(objs, no, krs, m, orr);
    }

    doc = json_object();
    json_t *objectives = json_array(), *lints = json_array();
    json_object_set_new(doc, "cycle", json_pack("{s:s, s:s}", "start", in->cycle->start_date,
                                                "end", in->cycle->end_date));
    json_object_set_new(doc, "final", json_boolean(in->final));
    json_object_set_new(doc, "objectives", objectives);
    json_object_set_new(doc, "lints", lints);
    for (size_t i = 0; i < no; i++) {
        const struct okr_retro_objective *o = &in->objectives[i];
        json_t *list = json_array();
        for (size_t j = 0; j < nk; j++)
            if (listed[j] && strcmp(in->krs[j].objective, o->id) == 0)
                json_array_append_new(list, key_result_json(&in->krs[j], in));
        json_array_append_new(
            objectives,
            json_pack("{s:s, s:s, s:o, s:o, s:s, s:o}", "id", o->id, "title",
                      o->title ? o->title : "", "parent", str_or_null(o->parent), "score",
                      okr_view_number(orr[i].score), "status", okr_status_name(orr[i].status),
                      "key_results", list));
    }
    for (size_t i = 0; i < no; i++) {
        lint_objective(lints, &in->objectives[i], in);
        for (size_t j = 0; j < nk; j++) {
            if (!listed[j] || strcmp(in->krs[j].objective, in->objectives[i].id) != 0)
                continue;
            lint_gap(lints, &in->krs[j], in);
            lint_no_data(lints, &in->krs[j]);
        }
    }
    lint_cycle(lints, in, listed);
out:
    free(objs);
    free(krs);
    free(orr);
    free(results);
    free(listed);
    return doc;
}
