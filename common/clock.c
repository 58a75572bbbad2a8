/*
 * clock.c — the real clock and the test clock. The only place outside
 * daemon/ that reads the system time, and only when daemon/ asks through
 * okrd_clock_system.
 */
#include "clock.h"

#include <time.h>

static int64_t system_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct okrd_clock okrd_clock_system = { system_now_ms, NULL };

int64_t okrd_clock_fake_now_ms(void *ctx)
{
    return *(const int64_t *)ctx;
}
