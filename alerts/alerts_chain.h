/*
 * alerts_chain.h — one webhook's delivery chain as a pure state machine
 * (DESIGN section 5: per webhook, one event at a time, in order of
 * creation). The sender (daemon/alerts_run.c) does the I/O — read the
 * oldest pending delivery, wait until it is due, send it, record the
 * answer — and asks this machine what comes next after each step.
 *
 * Its one promise: no kick is lost, so every committed outbox row is offered
 * to its webhook within a loop turn of its commit or of the record of the
 * delivery ahead of it, never left for a timer. The invariant that keeps it:
 * IDLE is entered ONLY by a read that found the queue empty, and a read sees
 * every row committed before it. A kick (new rows committed) while IDLE or
 * WAITING reads at once; a kick while SENDING or WRITING is remembered
 * (`kicked`), and every way out of those phases reads again — at once after
 * a stored record, or when the retry timer fires after a failure, since the
 * delivery in hand still heads the queue and the new rows wait behind it.
 */
#ifndef OKRD_ALERTS_CHAIN_H
#define OKRD_ALERTS_CHAIN_H

#include <stdbool.h>

enum alerts_phase {
    ALERTS_IDLE,       /* the last read found nothing pending */
    ALERTS_WAITING,    /* a timer runs: the head is not due yet, or a step failed */
    ALERTS_SENDING,    /* an HTTP attempt is in flight */
    ALERTS_WRITING,    /* its result is being recorded by a writer job */
};

struct alerts_chain {
    enum alerts_phase phase;
    bool kicked;       /* rows committed while SENDING/WRITING, not read yet */
};

/* What the sender must do now. */
enum alerts_step {
    ALERTS_STEP_NONE,  /* nothing: a timer, an answer or a record will come */
    ALERTS_STEP_READ,  /* read the oldest pending delivery now */
};

/* New outbox rows were committed (or the webhook was enabled again): READ
 * when IDLE or WAITING (one index probe; a head not due yet re-arms the
 * same wait), else remembered for when the busy phase ends. */
enum alerts_step alerts_chain_kick(struct alerts_chain *c);

/* The outcome of a READ. EMPTY: nothing pending -> IDLE. DUE: the head is
 * due and an attempt starts -> SENDING. LATER: not due yet, or the read
 * failed -> WAITING (the sender arms its timer). Every read clears
 * `kicked`: it saw all rows committed so far. */
enum alerts_read { ALERTS_READ_EMPTY, ALERTS_READ_DUE, ALERTS_READ_LATER };
void alerts_chain_read(struct alerts_chain *c, enum alerts_read r);

/* The WAITING timer fired: READ. */
enum alerts_step alerts_chain_due(struct alerts_chain *c);

/* The attempt could not start (the HTTP client refused it): the head is
 * still pending -> WAITING for the sender's retry timer. */
void alerts_chain_send_failed(struct alerts_chain *c);

/* An answer (or a dead-letter decision made without sending) goes to the
 * store -> WRITING. */
void alerts_chain_write(struct alerts_chain *c);

/* The writer job came back. STORED: READ the next delivery (rows committed
 * long ago may queue behind the one just recorded, kicked or not). Not
 * stored, or the job could not be submitted: the delivery in hand is still
 * pending and still heads the queue -> WAITING for the retry timer. */
enum alerts_step alerts_chain_written(struct alerts_chain *c, bool stored);

/* An attempt or its record is in flight (a stop waits for it; a removed
 * webhook is freed only after). */
bool alerts_chain_busy(const struct alerts_chain *c);

/* The sender let go of the chain (shutdown, webhook removed, request
 * cancelled): IDLE, nothing remembered. */
void alerts_chain_reset(struct alerts_chain *c);

#endif
