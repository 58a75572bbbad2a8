/*
 * okrd_rand.c — see okrd_rand.h. Owns the xorshift64* generator.
 */
#include "okrd_rand.h"

void okrd_rand_seed(struct okrd_rand *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9E3779B97F4A7C15ULL;
}

uint64_t okrd_rand_next_u64(struct okrd_rand *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

double okrd_rand_unit(struct okrd_rand *r)
{
    /* The top 53 bits (the best ones of xorshift64*) over 2^53. */
    return (double)(okrd_rand_next_u64(r) >> 11) / 9007199254740992.0;
}

double okrd_rand_jitter(struct okrd_rand *r)
{
    /* 53 bits over 2^52, shifted: [-1, 1) exactly, no rounding to 1. */
    return (double)(okrd_rand_next_u64(r) >> 11) / 4503599627370496.0 - 1.0;
}
