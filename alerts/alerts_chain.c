/*
 * alerts_chain.c — one webhook's delivery chain (see alerts_chain.h): which
 * step comes next, as a pure function of the phase and what just happened.
 * No I/O, no time: the sender reads, sends, records and runs the timers.
 *
 * Why a machine of its own: a kick that met a busy sender used to be
 * dropped on the floor, and whether a later step re-read the queue depended
 * on which path the sender took. Here every transition is in one place and
 * tested (tests/unit/test_alerts.c): no path leads from SENDING or WRITING
 * to IDLE without a read.
 */
#include "alerts_chain.h"

enum alerts_step alerts_chain_kick(struct alerts_chain *c)
{
    switch (c->phase) {
    case ALERTS_IDLE:
    case ALERTS_WAITING:
        return ALERTS_STEP_READ;
    case ALERTS_SENDING:
    case ALERTS_WRITING:
        c->kicked = true;
        break;
    }
    return ALERTS_STEP_NONE;
}

void alerts_chain_read(struct alerts_chain *c, enum alerts_read r)
{
    c->kicked = false;
    switch (r) {
    case ALERTS_READ_EMPTY: c->phase = ALERTS_IDLE; break;
    case ALERTS_READ_DUE: c->phase = ALERTS_SENDING; break;
    case ALERTS_READ_LATER: c->phase = ALERTS_WAITING; break;
    }
}

enum alerts_step alerts_chain_due(struct alerts_chain *c)
{
    (void)c;
    return ALERTS_STEP_READ;
}

void alerts_chain_send_failed(struct alerts_chain *c)
{
    /* `kicked` stays: it is answered by the read the timer leads to. */
    c->phase = ALERTS_WAITING;
}

void alerts_chain_write(struct alerts_chain *c) { c->phase = ALERTS_WRITING; }

enum alerts_step alerts_chain_written(struct alerts_chain *c, bool stored)
{
    if (!stored) {
        c->phase = ALERTS_WAITING;
        return ALERTS_STEP_NONE;
    }
    /* Not IDLE yet: only a read that finds nothing may say the queue is
     * empty. The phase stays until that read reports. */
    return ALERTS_STEP_READ;
}

bool alerts_chain_busy(const struct alerts_chain *c)
{
    return c->phase == ALERTS_SENDING || c->phase == ALERTS_WRITING;
}

void alerts_chain_reset(struct alerts_chain *c)
{
    c->phase = ALERTS_IDLE;
    c->kicked = false;
}
