/*
 * ulid.h — the text of a ULID (https://github.com/ulid/spec): 48 bits of
 * milliseconds then 80 random bits, 26 characters of Crockford base32, so
 * ids sort by creation time. Pure: the caller brings the time and the
 * random bytes (alerts/ and api/ draw them from OpenSSL's RAND_bytes;
 * common/ links no crypto library). Event ids ("evt_") and check-in ids
 * ("chk_") are made from it.
 */
#ifndef OKRD_ULID_H
#define OKRD_ULID_H

#include <stddef.h>
#include <stdint.h>

#define OKRD_ULID_LEN 26
#define OKRD_ULID_RANDOM_BYTES 10

/* PREFIX (may be "") + the ULID of NOW_MS (negative = 0) and RND into OUT
 * (size >= strlen(prefix) + 27; shorter is cut, still NUL-terminated). */
void okrd_ulid_format(const char *prefix, int64_t now_ms,
                      const unsigned char rnd[OKRD_ULID_RANDOM_BYTES], char *out, size_t size);

/* Fills RND from a fallback mix of NOW_MS and SALT, for when the system's
 * random source fails: an id needs uniqueness, not secrecy. */
void okrd_ulid_fallback_random(int64_t now_ms, uint64_t salt,
                               unsigned char rnd[OKRD_ULID_RANDOM_BYTES]);

#endif
