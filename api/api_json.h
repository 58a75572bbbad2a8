/*
 * api_json.h — the JSON views of objectives and key results: the document
 * of `okrd status --json`, GET /api/v1/objectives and /key-results/{id},
 * and the key_result object of webhook bodies (DESIGN sections 5 and 6).
 * One builder for all of them, so the contract cannot drift between them.
 *
 * Numbers: an undefined number (NaN) is null; an integral value is a JSON
 * integer (1040, not 1040.0); others print with up to 15 significant digits.
 * Times are "YYYY-MM-DDTHH:MM:SSZ"; cycle days "YYYY-MM-DD" as configured.
 */
#ifndef OKRD_API_JSON_H
#define OKRD_API_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "config/config.h"
#include "okr/okr.h"

/* One evaluation of every key result of a config at one instant, in config
 * order (objective 0's key results, then objective 1's, ...), with the
 * objectives rolled up. Filled by the evaluator (daemon/evaluate.c). */
struct eval_snapshot {
    const struct cfg *cfg;
    int64_t at_s;
    size_t n_krs;
    const struct cfg_key_result **krs;   /* n_krs, config order */
    struct okr_result *results;          /* n_krs */
    bool *stale;                         /* n_krs */
    const char **previous_status;        /* n_krs; NULL entries = unknown */
    char (*previous_buf)[16];            /* n_krs; what previous_status points into */
    struct okr_objective_result *objs;   /* cfg->n_objectives */
};

/* A JSON number, or null for NaN. New reference. */
json_t *api_json_number(double v);

/* The key_result object (webhook body's, plus "score"). New reference. */
json_t *api_json_key_result(const struct eval_snapshot *s, size_t kr_index);

/* {"at", "objectives": [{"id", "title", "parent", "score", "projected_score",
 * "status", "key_results": [...]}]}. New reference. */
json_t *api_json_objectives(const struct eval_snapshot *s);

/* Serialises with the number format above; caller frees with free(). */
char *api_json_dump(const json_t *doc, bool pretty);

#endif
