/*
 * state_lock.h — the exclusive flock that `okrd run` holds on
 * STATE_DIR/okrd.lock for its whole life (DESIGN section 10): it keeps a
 * second daemon off one store, and `okrd migrate` refuses while it is held.
 *
 * The file is created 0600 when missing and never deleted (deleting it
 * would let a second daemon lock a new inode while the first holds the old
 * one). It holds the holder's pid, for the message a refused process gives.
 * Only `okrd run` takes it: `okrd ingest` writes beside the daemon (DESIGN
 * section 1) and read-only commands create nothing in state_dir.
 */
#ifndef OKRD_STATE_LOCK_H
#define OKRD_STATE_LOCK_H

#include "common/okrd_err.h"

struct state_lock;

/* Takes the lock on STATE_DIR/okrd.lock without waiting (STATE_DIR must
 * exist). 0 with *out set (release with state_lock_release); OKRD_EBUSY
 * when another process holds it (the message names the file and the pid
 * written in it), another negative code when the file cannot be opened or
 * locked (the message names the file and the cause). */
int state_lock_acquire(struct state_lock **out, const char *state_dir, struct okrd_err *err);

/* Releases the lock and closes the file (it stays on disk). NULL is fine.
 * The kernel also releases it when the process dies, however it dies. */
void state_lock_release(struct state_lock *l);

#endif
