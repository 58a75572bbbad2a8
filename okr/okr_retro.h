/*
 * okr_retro.h — the retrospective of one cycle (DESIGN section 9), built as a
 * pure function of archived rows: the objectives' and key results'
 * definitions, each key result's daily history and check-ins, and its
 * evaluation at the end (or now, for a cycle still running). No I/O, no
 * clock: daemon/retro.c reads the store and hands everything in; the CLI, the
 * API and the /retro page show the one document built here.
 *
 * Where DESIGN leaves room, this is what it does (docs/retro.md says it to
 * users):
 *  - recovered: true when the effective status was on_track or achieved on a
 *    day after first_off_track; false when it was off track and never on
 *    track (or achieved) on any later day of the history (at_risk does not
 *    count as recovering); null when it never was off track;
 *  - knowable_from: only for a key result whose final status is missed; the
 *    day after the last day whose probability was >= 0.5 (or the first day of
 *    the history), read literally: that day may itself have a null
 *    probability; null when no non-null probability follows from it;
 *  - grade: the evaluation's score rounded to 0.01: from the end on, the
 *    final grade of section 4; for a running cycle, the grade it would get if
 *    it ended now; null for no_data and invalid;
 *  - the objective's score is okr_rollup's over the key results' grades
 *    (rounded to 0.01: "weighted final grades"), its status okr_rollup's
 *    (weighted, parents inside the same cycle's archive), as `okrd status`;
 *  - the check-in gap lint looks only at check-ins made before the cycle's
 *    end (a grade given afterwards is no check-in on the work), between
 *    consecutive ones and from the start to the first; a key result with no
 *    check-in at all has no "first" and gets no gap lint; one lint per key
 *    result, naming its longest gap;
 *  - the no_data lint counts days whose computed status was no_data (an
 *    override hides missing data; it does not supply it);
 *  - the cycle lint weights each key result's computed grade by its weight
 *    (key results without a grade are left out).
 */
#ifndef OKRD_OKR_RETRO_H
#define OKRD_OKR_RETRO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "okr.h"

/* One daily history row (store_kr_day, as okr/ sees it). */
struct okr_retro_day {
    const char *date;             /* YYYY-MM-DD */
    enum okr_status status;       /* effective */
    enum okr_status computed;     /* section 4's */
    double probability;           /* NaN = null */
};

struct okr_retro_objective {
    const char *id, *title;
    const char *parent;           /* NULL = top level */
    double weight;                /* in its parent */
};

struct okr_retro_kr {
    const char *id, *title;
    const char *owner;            /* NULL = null */
    const char *objective;        /* its objective's id */
    enum cfg_direction direction;
    double weight;
    int64_t checkins_every_s;     /* archived checkins.every; <= 0: no gap lint */
    /* The evaluation at the end (t >= e: final) or now; status below wins
     * over result->status (the effective one while a cycle runs). */
    const struct okr_result *result;
    enum okr_status status;
    const struct okr_retro_day *days;   /* oldest first */
    size_t n_days;
    const struct okrd_checkin *checkins; /* by seq */
    size_t n_checkins;
};

struct okr_retro_input {
    const struct cfg_cycle *cycle;
    bool final;                   /* now >= e */
    const struct okrd_tz *tz;     /* daemon.timezone: check-in dates; NULL = UTC */
    const struct okr_retro_objective *objectives;
    size_t n_objectives;
    const struct okr_retro_kr *krs;
    size_t n_krs;
};

/* The document of DESIGN section 9 (`okrd retro --json`): a new reference
 * the caller owns (json_decref), or NULL when out of memory. Objectives and
 * key results keep the input's order; a key result whose objective is not
 * among the objectives is left out. */
json_t *okr_retro_build(const struct okr_retro_input *in);

#endif
