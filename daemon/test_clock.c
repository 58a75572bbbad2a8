/*
 * test_clock.c — the daemon's test-only clock (OKRD_TEST_CLOCK, see
 * remind.h): the real clock shifted by a fixed offset taken at start-up.
 *
 * Shifted, not frozen: libuv timers run on the monotonic clock, so a
 * schedule computed from this clock (a slot 2 s away) fires 2 s later for
 * real, and everything that compares times (retries, max_age, slots) sees
 * one consistent "now". The offset is the daemon's own state (daemon/ may
 * hold some); nothing below daemon/ reads it except through the clock.
 */
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "remind.h"

static int64_t offset_ms;

static int64_t shifted_now_ms(void *ctx)
{
    (void)ctx;
    return okrd_clock_now_ms(&okrd_clock_system) + offset_ms;
}

static const struct okrd_clock shifted = { shifted_now_ms, NULL };

const struct okrd_clock *okrd_test_clock_from_env(const char **bad)
{
    *bad = NULL;
    const char *v = getenv("OKRD_TEST_CLOCK");
    if (!v || !*v)
        return NULL;
    int64_t start_s;
    if (okrd_parse_timestamp(v, strlen(v), NULL, OKRD_TS_SECONDS, &start_s, NULL) < 0) {
        *bad = v;
        return NULL;
    }
    offset_ms = start_s * 1000 - okrd_clock_now_ms(&okrd_clock_system);
    return &shifted;
}
