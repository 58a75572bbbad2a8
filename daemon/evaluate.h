/*
 * evaluate.h — turning stored points into key-result states (DESIGN
 * section 4 via okr/): reading each key result's series from a store
 * (ratio metrics from their inputs), evaluating them at one instant, and
 * rolling objectives up. Used by `okrd status` (read-only, at --at) and by
 * the daemon's evaluation jobs on the writer thread.
 */
#ifndef OKRD_EVALUATE_H
#define OKRD_EVALUATE_H

#include <jansson.h>
#include <stdbool.h>

#include "okr/okr_snapshot.h"
#include "config/config.h"
#include "store/store.h"

/* Sizes S for CFG (every array n_krs / n_objectives long, zeroed: every key
 * result no_data until evaluated). Returns 0 or OKRD_ENOMEM. */
int eval_snapshot_init(struct eval_snapshot *s, const struct cfg *cfg);
void eval_snapshot_free(struct eval_snapshot *s);

/* Scratch buffers for reading series; reused across key results. */
struct eval_scratch {
    struct store_series a, b;
    int64_t *ts;
    double *v;
    size_t cap;
};
void eval_scratch_free(struct eval_scratch *x);

/* Evaluates the key results with select[i] (all when select is NULL) at
 * AT_S from the points in ST, then rolls up every objective. */
int eval_compute(struct store *st, struct eval_snapshot *s, int64_t at_s, const bool *select,
                 struct eval_scratch *x, struct okrd_err *err);
/* eval_compute with key result i evaluated at AT_EACH[i] (NULL: all at
 * AT_S); the roll-up and the overrides at AT_S. A follower answers with
 * the leader's numbers this way: each key result at the time the leader's
 * last evaluation of it was stored (DESIGN section 10). */
int eval_compute_each(struct store *st, struct eval_snapshot *s, int64_t at_s,
                      const int64_t *at_each, const bool *select, struct eval_scratch *x,
                      struct okrd_err *err);

/* The key-result object (okr_view_key_result) of KR_ID evaluated at AT_S
 * from ST -- its check-ins and override included -- with objectives rolled
 * up as eval_compute does. For the 201 of a posted check-in: called on the
 * writer thread inside the check-in's transaction, so it sees the new
 * check-in and its value point. *out is the caller's (json_decref);
 * OKRD_ENOTFOUND for a key result CFG does not have. */
int eval_key_result_view(struct store *st, const struct cfg *cfg, const char *kr_id, int64_t at_s,
                         json_t **out, struct okrd_err *err);

/* Evaluates KR -- which need not belong to CFG: an archived key result
 * rebuilt from its definition (daemon/retro.c), its objective's cycle in
 * kr->objective -- at AT_S from the points in ST into *out. CFG gives the
 * metric table (a ratio metric is read from its inputs; a metric CFG no
 * longer has is read as a plain one) and daemon.timezone. */
int eval_kr_result(struct store *st, const struct cfg *cfg, const struct cfg_key_result *kr,
                   int64_t at_s, struct eval_scratch *x, struct okr_result *out,
                   struct okrd_err *err);

/* Key result I's row of the daily history (DESIGN section 9) for DATE
 * (YYYY-MM-DD) from the evaluation S: the effective status, section 4's
 * own, progress, expected, score and the forecast's probability (NaN when
 * undefined). */
void eval_history_row(struct store_kr_day *row, const struct eval_snapshot *s, size_t i,
                      const char *date);

/* The stale_after, in seconds, for METRIC: okr_metric_stale_after_s (its
 * own stale_after, else 3x the interval of the polled source that produces
 * it, else 2 days; a ratio, the longer of its two inputs'). */
int64_t eval_stale_after_s(const struct cfg *cfg, const char *metric);

#endif
