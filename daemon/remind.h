/*
 * remind.h — check-in reminders in the daemon (DESIGN section 8): the timer
 * for `checkins.remind` slots and the writer job that writes a slot's
 * checkin.due event (deciding and the body: alerts/alerts_remind.c).
 */
#ifndef OKRD_REMIND_H
#define OKRD_REMIND_H

#include "okrd.h"

/* Arms the timer for the next slot and, at start-up, queues the slot missed
 * while okrd was down when it is less than a day late (the store records
 * each slot handled, so a slot is never sent twice). 0 or OKRD_ENOMEM. */
int okrd_remind_start(struct okrd *d, struct okrd_err *err);
/* After a reload: the timer follows the new checkins.remind. */
void okrd_remind_reload(struct okrd *d);
/* Shutdown: closes the timer (a job in flight finishes or is cancelled by
 * the writer; it touches nothing but D). */
void okrd_remind_stop(struct okrd *d);

/* The test-only clock (test_clock.c): with OKRD_TEST_CLOCK set to a UTC
 * date-time or Unix seconds, the daemon's clock starts at that instant and
 * runs at the real pace, so an end-to-end test can start okrd just before a
 * weekly slot. NULL when the variable is unset; *bad set when it is set but
 * unreadable (the daemon then refuses to start). Never set it in production. */
const struct okrd_clock *okrd_test_clock_from_env(const char **bad);

#endif
