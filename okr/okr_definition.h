/*
 * okr_definition.h — the resolved definition of an objective or a key
 * result as the archive records it (DESIGN section 9, "Archive"): one
 * builder, so the text compared from one recording to the next (and read
 * back by the retrospective) cannot drift between callers. Pure: jansson
 * objects in memory from the config and an evaluation; the daemon stores
 * the text (store_put_definition), which keeps a new version whenever it
 * differs from the latest.
 *
 * Layout (keys in this order; numbers as okr_view prints them, null when
 * undefined; durations in whole seconds):
 *   objective:  {"kind": "objective", "id", "title", "owner" (or null),
 *                "parent" (id or null), "weight",
 *                "cycle": {"start", "end"}}                 dates YYYY-MM-DD
 *   key result: {"kind": "key_result", "id", "objective" (its id), "title",
 *                "owner" (its own, else its objective's, else null), "metric",
 *                "direction", "baseline", "target" (as resolved by the
 *                evaluation: null while undefined), "baseline_configured"
 *                ("auto" or the number), "target_configured" (as written:
 *                "1200", "+20%"), "cycle": {"start", "end"}, "weight",
 *                "aggregate": {"fn", "window"} (window "cycle", a duration
 *                such as "7d", or null for last), "pace" ("linear" or
 *                [{"date", "progress"}]), "projection" ("average"/"trend"),
 *                "trend_window_s", "thresholds": {"grace", "at_risk",
 *                "off_track", "margin"}, "checkins_every_s"}
 */
#ifndef OKRD_OKR_DEFINITION_H
#define OKRD_OKR_DEFINITION_H

#include <jansson.h>

#include "config/config.h"
#include "okr/okr.h"

/* The objective's definition. New reference (NULL: out of memory). */
json_t *okr_definition_objective(const struct cfg_objective *o);

/* KR's definition with the baseline and target of R (its latest
 * evaluation; NULL: both null) and CFG's checkins.every. New reference
 * (NULL: out of memory). */
json_t *okr_definition_key_result(const struct cfg *cfg, const struct cfg_key_result *kr,
                                  const struct okr_result *r);

/* The text stored for DEF: compact, numbers as okr_view_dump writes them.
 * malloc'd (the caller frees), NULL when out of memory. */
char *okr_definition_text(const json_t *def);

#endif
