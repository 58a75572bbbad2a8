/*
 * alerts_run.c — starts, reloads and stops webhook delivery for the daemon.
 * Delivery lands with the alerts issue; until then the outbox stays empty
 * (alerts_on_kr_change raises no event) and there is nothing to send.
 */
#include "okrd.h"

int okrd_alerts_start(struct okrd *d, struct okrd_err *err)
{
    (void)d; (void)err;
    return 0;
}

void okrd_alerts_reload(struct okrd *d) { (void)d; }
void okrd_alerts_kick(struct okrd *d) { (void)d; }
void okrd_alerts_stop(struct okrd *d, void (*done)(struct okrd *d)) { done(d); }
