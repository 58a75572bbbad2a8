/*
 * alerts.h — status transitions → outbox rows → webhook deliveries
 * (DESIGN section 5).
 *
 * The evaluator hands every key-result state change to the alerts module
 * through alerts_on_kr_change(), called on the store's writer thread INSIDE
 * the transaction that records the new state, so an event row and the
 * status it reports commit together or not at all.
 */
#ifndef OKRD_ALERTS_H
#define OKRD_ALERTS_H

#include <stdint.h>

#include "common/okrd_err.h"
#include "config/config.h"
#include "okr/okr.h"
#include "store/store.h"

/* A key result was evaluated at now_s: BEFORE is its stored state (NULL the
 * first time ever), AFTER the result now. Called for every evaluation (the
 * `for`/`repeat` rules depend on time passing, not only on changes). Writes
 * outbox rows through W. Returns 0 or a negative code (the transaction then
 * rolls back). */
int alerts_on_kr_change(struct store *w, const struct cfg *cfg, const struct cfg_key_result *kr,
                        const struct store_kr_state *before, const struct okr_result *after,
                        bool stale, int64_t now_s, struct okrd_err *err);

#endif
