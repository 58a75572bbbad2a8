/*
 * okrd_math.h — the integer arithmetic every module needs and C gets wrong
 * for negatives: C's `/` truncates toward zero, but the day of an instant
 * before 1970 (or of a local time west of UTC near the epoch) is the floor.
 * One definition here instead of a copy per file (calendar math in
 * common/parse.c and common/tz.c, days in a time zone in okr/okr_series.c).
 */
#ifndef OKRD_MATH_H
#define OKRD_MATH_H

#include <stdint.h>

/* floor(a / b) for any signs: okrd_floor_div(-1, 86400) == -1 (the day
 * before the epoch), okrd_floor_div(7, -2) == -4. b must not be 0, and
 * (INT64_MIN, -1) overflows as a / b does. */
static inline int64_t okrd_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

#endif
