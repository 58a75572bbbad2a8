/*
 * okrd_rand.h — the one small pseudo-random generator: xorshift64*
 * (Vigna, "An experimental exploration of Marsaglia's xorshift generators,
 * scrambled", 2016). It only spreads timers apart (poll jitter, webhook
 * retry jitter) so a fleet does not beat in step; nothing secret comes from
 * it (event ids use OpenSSL's RAND_bytes). The state is the caller's: no
 * global state, one generator per owner, not shared between threads.
 */
#ifndef OKRD_RAND_H
#define OKRD_RAND_H

#include <stdint.h>

struct okrd_rand {
    uint64_t s; /* never 0 once seeded */
};

/* Seeds R. Any seed is fine: 0 (xorshift's one fixed point) is replaced by
 * a constant. The same seed gives the same sequence. */
void okrd_rand_seed(struct okrd_rand *r, uint64_t seed);

/* The next 64 pseudo-random bits. */
uint64_t okrd_rand_next_u64(struct okrd_rand *r);

/* Uniform in [0, 1), 53 bits of resolution. */
double okrd_rand_unit(struct okrd_rand *r);

/* Uniform in [-1, 1): a symmetric jitter factor, as conn_poll_delay_ms()
 * takes it. */
double okrd_rand_jitter(struct okrd_rand *r);

#endif
