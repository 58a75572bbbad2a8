/*
 * alerts.c — the evaluator's seam into alerting. Until the outbox and the
 * webhook sender exist (the alerts issue), a transition raises no event;
 * this file is where that logic goes, behind the one call the evaluator
 * already makes inside its transaction.
 */
#include "alerts.h"

int alerts_on_kr_change(struct store *w, const struct cfg *cfg, const struct cfg_key_result *kr,
                        const struct store_kr_state *before, const struct okr_result *after,
                        bool stale, int64_t now_s, struct okrd_err *err)
{
    (void)w; (void)cfg; (void)kr; (void)before; (void)after; (void)stale; (void)now_s; (void)err;
    return 0;
}
