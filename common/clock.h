/*
 * clock.h — where "now" comes from.
 *
 * Nothing below daemon/ calls time() or clock_gettime() for its logic: it
 * receives now_s as an argument, or a const struct okrd_clock * when it
 * schedules. daemon/ hands out okrd_clock_system; tests hand out a fake whose
 * time they set. Every timestamp in okrd is UTC Unix seconds (int64_t).
 */
#ifndef OKRD_CLOCK_H
#define OKRD_CLOCK_H

#include <stdint.h>

struct okrd_clock {
    /* Wall-clock time, UTC, in milliseconds since the Unix epoch. */
    int64_t (*now_ms)(void *ctx);
    void *ctx;
};

/* The real clock (CLOCK_REALTIME). A const table, not mutable state. */
extern const struct okrd_clock okrd_clock_system;

static inline int64_t okrd_clock_now_ms(const struct okrd_clock *c) { return c->now_ms(c->ctx); }
static inline int64_t okrd_clock_now_s(const struct okrd_clock *c)
{
    int64_t ms = c->now_ms(c->ctx);
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

/* A clock for tests: reads *ctx as an int64_t holding milliseconds.
 *   int64_t t = 1764000000000; struct okrd_clock c = okrd_clock_fake(&t); */
int64_t okrd_clock_fake_now_ms(void *ctx);
static inline struct okrd_clock okrd_clock_fake(int64_t *ms)
{
    struct okrd_clock c = { okrd_clock_fake_now_ms, ms };
    return c;
}

#endif
