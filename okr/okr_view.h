/*
 * okr_view.h — the JSON views of objectives and key results: the document
 * of `okrd status --json`, GET /api/v1/objectives and /key-results/{id},
 * and the key_result object of webhook bodies (DESIGN sections 5 and 6).
 * One builder for all of them, so the contract cannot drift between them.
 * It lives in okr/, beside the snapshot it renders, so that api/, alerts/
 * and the CLI share it without alerts/ depending on api/ (DESIGN section 1).
 * Building a jansson object in memory is not I/O: okr/ still reads, writes
 * and sends nothing; the callers serialise and ship the text.
 *
 * Numbers: an undefined number (NaN) is null; an integral value is a JSON
 * integer (1040, not 1040.0); others print as the shortest text that reads
 * back to the same double (0.1, 0.30000000000000004), as `okrd export` does.
 * Times are "YYYY-MM-DDTHH:MM:SSZ"; cycle days "YYYY-MM-DD" as configured.
 */
#ifndef OKRD_OKR_VIEW_H
#define OKRD_OKR_VIEW_H

#include <jansson.h>
#include <stdbool.h>

#include "config/config.h"
#include "okr/okr.h"
#include "okr/okr_snapshot.h"

/* A JSON number, or null for NaN. New reference. */
json_t *okr_view_number(double v);

/* A check-in object (DESIGN section 8): {"id", "key_result", "cycle_start",
 * "seq", "at", "author", "confidence", "comment", "status", "until", "value",
 * "grade"} with null for what it does not carry; with_override_until adds
 * "override_until" (OVERRIDE_UNTIL as a date-time, or null for OKR_NO_TS),
 * as the key result's "check_in" carries it. New reference. */
json_t *okr_view_checkin(const struct okrd_checkin *c, bool with_override_until,
                         int64_t override_until);

/* The forecast object of DESIGN section 9: {"probability", "p10", "p50",
 * "p90", "of": "value"|"share"}, or null when F is not defined. New
 * reference. */
json_t *okr_view_forecast(const struct okr_forecast *f);

/* The key_result object (webhook body's, plus "score", "owner",
 * "computed_status", "check_in" and, last, "forecast"). New reference. */
json_t *okr_view_key_result(const struct eval_snapshot *s, size_t kr_index);

/* {"at", "objectives": [{"id", "title", "parent", "score", "projected_score",
 * "status", "key_results": [...]}]}. New reference. */
json_t *okr_view_objectives(const struct eval_snapshot *s);

/* Serialises with the number format above; caller frees with free(). */
char *okr_view_dump(const json_t *doc, bool pretty);

#endif
