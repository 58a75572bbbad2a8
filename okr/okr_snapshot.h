/*
 * okr_snapshot.h — the output of one evaluation: every key result's result
 * and the objectives rolled up, at one instant (DESIGN section 1: the okr
 * engine's output, which alerts, the API and the CLI read). It lives here,
 * beside the results it holds, so every reader depends on okr/ and none on
 * another reader (alerts/ never includes api/).
 *
 * Plain data: the evaluator (daemon/evaluate.c) fills and frees it
 * (eval_snapshot_init / eval_snapshot_free); okr/ does no I/O to make it.
 */
#ifndef OKRD_OKR_SNAPSHOT_H
#define OKRD_OKR_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
    /* Check-ins (DESIGN section 8). The evaluator applies overrides AFTER
     * the roll-up (objectives come from the data only): results[i].status is
     * then the EFFECTIVE status (what JSON "status", okrd_kr_status and the
     * status events show) and computed[i] section 4's own. */
    enum okr_status *computed;           /* n_krs */
    struct okrd_checkin *checkins;       /* n_krs: the latest check-in of the key
                                          * result's current cycle with at_s <= at_s */
    bool *has_checkin;                   /* n_krs: checkins[i] is set */
    int64_t *override_until;             /* n_krs: the override's end while it holds,
                                          * else OKR_NO_TS */
};

#endif
