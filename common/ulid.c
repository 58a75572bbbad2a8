/*
 * ulid.c — see ulid.h: encoding a ULID's 128 bits as text.
 */
#include "ulid.h"

#include <stdio.h>

void okrd_ulid_format(const char *prefix, int64_t now_ms,
                      const unsigned char rnd[OKRD_ULID_RANDOM_BYTES], char *out, size_t size)
{
    static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    char id[OKRD_ULID_LEN + 1];
    uint64_t t = (uint64_t)(now_ms < 0 ? 0 : now_ms);
    for (int i = 9; i >= 0; i--, t >>= 5)
        id[i] = crockford[t & 31];
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 5; i++) {
        hi = hi << 8 | rnd[i];
        lo = lo << 8 | rnd[5 + i];
    }
    for (int i = 7; i >= 0; i--, hi >>= 5)
        id[10 + i] = crockford[hi & 31];
    for (int i = 7; i >= 0; i--, lo >>= 5)
        id[18 + i] = crockford[lo & 31];
    id[OKRD_ULID_LEN] = '\0';
    snprintf(out, size, "%s%s", prefix ? prefix : "", id);
}

void okrd_ulid_fallback_random(int64_t now_ms, uint64_t salt,
                               unsigned char rnd[OKRD_ULID_RANDOM_BYTES])
{
    uint64_t x = (uint64_t)now_ms ^ salt;
    for (size_t i = 0; i < OKRD_ULID_RANDOM_BYTES;
         i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
        rnd[i] = (unsigned char)(x >> 56);
}
