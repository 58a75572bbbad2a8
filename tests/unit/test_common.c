/*
 * test_common.c — tables for common/: calendar math, durations, dates, every
 * timestamp form of DESIGN section 3, time zones (against glibc's own reading
 * of the same files), numbers in both locales, shortest doubles, ids.
 *
 * Each table row has a name that appears in every failure message. Expected
 * instants were computed independently (Python zoneinfo); the glibc cross
 * checks set TZ, which is fine here: this test is single-threaded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/okrd_math.h"
#include "common/okrd_rand.h"
#include "common/parse.h"
#include "common/tz.h"
#include "testutil.h"

#define CHECK(cond, name, ...)                                                                  \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            char m_[512];                                                                       \
            snprintf(m_, sizeof m_, __VA_ARGS__);                                               \
            fail_msg("case \"%s\": %s (%s:%d)", (name), m_, __FILE__, __LINE__);                \
        }                                                                                       \
    } while (0)

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct okrd_tz *open_zone(const char *name)
{
    struct okrd_tz *tz = NULL;
    struct okrd_err err = { 0 };
    int rc = okrd_tz_open(&tz, name, &err);
    CHECK(rc == 0 && tz, name, "okrd_tz_open: %d %s", rc, err.msg);
    return tz;
}

/* xorshift64*: a fixed-seed generator, so failures reproduce. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* ---- calendar ---- */

static void test_calendar(void **state)
{
    (void)state;
    static const struct { const char *name; int64_t y; int m, d; int64_t days; int wd; } rows[] = {
        { "epoch", 1970, 1, 1, 0, 4 },
        { "leap day 2024", 2024, 2, 29, 19782, 4 },
        { "okr day", 2026, 11, 21, 20778, 6 },
        { "y2k", 2000, 3, 1, 11017, 3 },
        { "before epoch", 1969, 12, 31, -1, 3 },
        { "year 1", 1, 1, 1, -719162, 1 },
        { "year 9999", 9999, 12, 31, 2932896, 5 },
    };
    for (size_t i = 0; i < N(rows); i++) {
        int64_t days = okrd_days_from_civil(rows[i].y, rows[i].m, rows[i].d), y;
        int m, d;
        CHECK(days == rows[i].days, rows[i].name, "days %lld, want %lld", (long long)days, (long long)rows[i].days);
        okrd_civil_from_days(days, &y, &m, &d);
        CHECK(y == rows[i].y && m == rows[i].m && d == rows[i].d, rows[i].name, "back to %lld-%d-%d",
              (long long)y, m, d);
        CHECK(okrd_weekday_from_days(days) == rows[i].wd, rows[i].name, "weekday %d", okrd_weekday_from_days(days));
    }
    for (int64_t days = -800000; days < 3000000; days += 7) {
        int64_t y;
        int m, d;
        okrd_civil_from_days(days, &y, &m, &d);
        CHECK(okrd_days_from_civil(y, m, d) == days, "round trip", "day %lld", (long long)days);
        CHECK(d >= 1 && d <= okrd_days_in_month(y, m), "round trip", "day %lld -> %d", (long long)days, d);
    }
    static const struct { const char *name; int64_t y; int m, want; } dim[] = {
        { "feb 2026", 2026, 2, 28 }, { "feb 2024", 2024, 2, 29 }, { "feb 1900", 1900, 2, 28 },
        { "feb 2000", 2000, 2, 29 }, { "apr", 2026, 4, 30 }, { "dec", 2026, 12, 31 },
        { "month 0", 2026, 0, 0 },   { "month 13", 2026, 13, 0 },
    };
    for (size_t i = 0; i < N(dim); i++)
        CHECK(okrd_days_in_month(dim[i].y, dim[i].m) == dim[i].want, dim[i].name, "got %d",
              okrd_days_in_month(dim[i].y, dim[i].m));
}

/* ---- durations ---- */

static void test_duration(void **state)
{
    (void)state;
    static const struct { const char *in; int rc; int64_t ms; const char *msg; } rows[] = {
        { "100ms", 0, 100, NULL },
        { "90s", 0, 90000, NULL },
        { "5m", 0, 300000, NULL },
        { "6h", 0, 21600000, NULL },
        { "7d", 0, 604800000, NULL },
        { "1w", 0, 604800000, NULL },
        { "1h30m", 0, 5400000, NULL },
        { "1d2h3m4s5ms", 0, 93784005, NULL },
        { "0s", 0, 0, NULL },
        { "0ms", 0, 0, NULL },
        { "", OKRD_EINVAL, 0, "\"\": empty duration" },
        { "5x", OKRD_EINVAL, 0, "\"5x\": unknown duration unit \"x\" (use ms, s, m, h, d or w)" },
        { "5min", OKRD_EINVAL, 0, "unknown duration unit \"min\"" },
        { "5", OKRD_EINVAL, 0, "missing unit after 5" },
        { "1.5h", OKRD_EINVAL, 0, "fractions are not allowed" },
        { "-5m", OKRD_EINVAL, 0, "no sign" },
        { "+5m", OKRD_EINVAL, 0, "no sign" },
        { " 5m", OKRD_EINVAL, 0, "spaces" },
        { "5m ", OKRD_EINVAL, 0, "spaces" },
        { "h", OKRD_EINVAL, 0, "expected a number" },
        { "30m1h", OKRD_EINVAL, 0, "largest first" },
        { "1h1h", OKRD_EINVAL, 0, "largest first" },
        { "5S", OKRD_EINVAL, 0, "unknown duration unit \"S\"" },
        { "99999999999999999999s", OKRD_ERANGE, 0, "too long" },
        { "9999999999999999w", OKRD_ERANGE, 0, "too long" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        struct okrd_err err = { 0 };
        int64_t ms = -1;
        int rc = okrd_parse_duration_ms(rows[i].in, strlen(rows[i].in), &ms, &err);
        CHECK(rc == rows[i].rc, rows[i].in, "rc %d (%s), want %d", rc, err.msg, rows[i].rc);
        if (rc == 0)
            CHECK(ms == rows[i].ms, rows[i].in, "ms %lld, want %lld", (long long)ms, (long long)rows[i].ms);
        else
            CHECK(strstr(err.msg, rows[i].msg) && err.code == rc, rows[i].in, "message \"%s\"", err.msg);
    }
    /* Not NUL-terminated: only n bytes count. */
    int64_t ms;
    CHECK(okrd_parse_duration_ms("5mXX", 2, &ms, NULL) == 0 && ms == 300000, "5m of 5mXX", "ms %lld", (long long)ms);

    static const struct { int64_t ms; const char *want; } fmt[] = {
        { 0, "0s" }, { 100, "100ms" }, { 90000, "1m30s" }, { 5400000, "1h30m" }, { 604800000, "1w" },
        { 93784005, "1d2h3m4s5ms" }, { -1000, "-1s" }, { INT64_MAX, "15250284452w3d7h12m55s807ms" },
    };
    for (size_t i = 0; i < N(fmt); i++) {
        char buf[64];
        okrd_format_duration(fmt[i].ms, buf, sizeof buf);
        CHECK(strcmp(buf, fmt[i].want) == 0, fmt[i].want, "formatted \"%s\"", buf);
        if (fmt[i].ms >= 0) {
            CHECK(okrd_parse_duration_ms(buf, strlen(buf), &ms, NULL) == 0 && ms == fmt[i].ms, fmt[i].want,
                  "does not parse back");
        }
    }
}

/* ---- dates ---- */

static void test_date(void **state)
{
    (void)state;
    static const struct { const char *in; int rc; int y, m, d; const char *msg; } rows[] = {
        { "2026-11-21", 0, 2026, 11, 21, NULL },
        { "2024-02-29", 0, 2024, 2, 29, NULL },
        { "2000-02-29", 0, 2000, 2, 29, NULL },
        { "2026-12-31", 0, 2026, 12, 31, NULL },
        { "2026-02-29", OKRD_EINVAL, 0, 0, 0, "\"2026-02-29\": no such day (February 2026 has 28 days)" },
        { "2026-02-30", OKRD_EINVAL, 0, 0, 0, "\"2026-02-30\": no such day (February 2026 has 28 days)" },
        { "1900-02-29", OKRD_EINVAL, 0, 0, 0, "February 1900 has 28 days" },
        { "2026-04-31", OKRD_EINVAL, 0, 0, 0, "April 2026 has 30 days" },
        { "2026-13-01", OKRD_EINVAL, 0, 0, 0, "no such month (13)" },
        { "2026-00-10", OKRD_EINVAL, 0, 0, 0, "no such month (0)" },
        { "2026-01-00", OKRD_EINVAL, 0, 0, 0, "no such day" },
        { "2026-1-01", OKRD_EINVAL, 0, 0, 0, "expected a date YYYY-MM-DD" },
        { "2026-01-01T00:00", OKRD_EINVAL, 0, 0, 0, "expected a date YYYY-MM-DD" },
        { "", OKRD_EINVAL, 0, 0, 0, "expected a date" },
        { "2026/01/01", OKRD_EINVAL, 0, 0, 0, "expected a date" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        struct okrd_err err = { 0 };
        int64_t y = 0;
        int m = 0, d = 0;
        int rc = okrd_parse_date(rows[i].in, strlen(rows[i].in), &y, &m, &d, &err);
        CHECK(rc == rows[i].rc, rows[i].in, "rc %d (%s)", rc, err.msg);
        if (rc == 0)
            CHECK(y == rows[i].y && m == rows[i].m && d == rows[i].d, rows[i].in, "%lld-%d-%d", (long long)y, m, d);
        else
            CHECK(strstr(err.msg, rows[i].msg) != NULL, rows[i].in, "message \"%s\"", err.msg);
    }
}

/* ---- timestamps ---- */

static const char *const zones[] = { "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                                     "America/Santiago" };
enum { Z_UTC, Z_BER, Z_NY, Z_LH, Z_SCL };

static void test_timestamp(void **state)
{
    (void)state;
    static const struct {
        const char *name, *in;
        int zone;
        enum okrd_ts_unit unit;
        int rc;
        int64_t want;
        const char *msg;
    } rows[] = {
        { "ISO date", "2026-11-21", Z_UTC, OKRD_TS_AUTO, 0, 1795219200, NULL },
        { "ISO date-time T", "2026-11-21T10:00:00", Z_UTC, OKRD_TS_AUTO, 0, 1795255200, NULL },
        { "ISO date-time lower t", "2026-11-21t10:00:00z", Z_UTC, OKRD_TS_AUTO, 0, 1795255200, NULL },
        { "ISO date-time space", "2026-11-21 10:00:00", Z_UTC, OKRD_TS_AUTO, 0, 1795255200, NULL },
        { "ISO without seconds", "2026-11-21T10:00", Z_UTC, OKRD_TS_AUTO, 0, 1795255200, NULL },
        { "Z", "2026-11-21T10:00:00Z", Z_BER, OKRD_TS_AUTO, 0, 1795255200, NULL },
        { "fraction floored", "2026-11-21T10:00:00.999Z", Z_UTC, OKRD_TS_AUTO, 0, 1795255200, NULL },
        { "fraction comma", "2026-11-21T10:00:00,5Z", Z_UTC, OKRD_TS_AUTO, 0, 1795255200, NULL },
        { "fraction 250", "2026-11-21T10:00:00.250", Z_UTC, OKRD_TS_AUTO, 0, 1795255200, NULL },
        { "+02:00", "2026-11-21T10:00:00+02:00", Z_UTC, OKRD_TS_AUTO, 0, 1795248000, NULL },
        { "+0200", "2026-11-21T10:00:00+0200", Z_NY, OKRD_TS_AUTO, 0, 1795248000, NULL },
        { "+02", "2026-11-21T10:00:00+02", Z_UTC, OKRD_TS_AUTO, 0, 1795248000, NULL },
        { "-05:30", "2026-11-21T10:00:00-05:30", Z_BER, OKRD_TS_AUTO, 0, 1795275000, NULL },
        { "fraction and offset", "2026-11-21T10:00:00.123456+02:00", Z_UTC, OKRD_TS_AUTO, 0, 1795248000, NULL },
        { "spaces trimmed", "  2026-11-21  ", Z_UTC, OKRD_TS_AUTO, 0, 1795219200, NULL },
        { "leap day", "2024-02-29", Z_UTC, OKRD_TS_AUTO, 0, 1709164800, NULL },
        { "leap second", "2026-06-30T23:59:60Z", Z_UTC, OKRD_TS_AUTO, 0, 1782863999, NULL },
        { "year 1", "0001-01-01", Z_UTC, OKRD_TS_AUTO, 0, -62135596800, NULL },
        { "year 9999", "9999-12-31T23:59:59Z", Z_UTC, OKRD_TS_AUTO, 0, 253402300799, NULL },
        { "before epoch", "1969-12-31T23:59:59", Z_UTC, OKRD_TS_AUTO, 0, -1, NULL },
        { "YYYYMMDD", "20261121", Z_UTC, OKRD_TS_AUTO, 0, 1795219200, NULL },
        { "YYYYMMDD Berlin", "20260701", Z_BER, OKRD_TS_AUTO, 0, 1782856800, NULL },
        { "DD.MM.YYYY", "21.11.2026", Z_UTC, OKRD_TS_AUTO, 0, 1795219200, NULL },
        { "D.M.YYYY", "1.2.2026", Z_BER, OKRD_TS_AUTO, 0, 1769900400, NULL },
        { "DD.MM.YYYY HH:MM", "21.11.2026 10:00", Z_BER, OKRD_TS_AUTO, 0, 1795251600, NULL },
        { "DD.MM.YYYY HH:MM:SS", "21.11.2026 10:00:00", Z_UTC, OKRD_TS_AUTO, 0, 1795255200, NULL },
        { "unix seconds", "1795219200", Z_BER, OKRD_TS_AUTO, 0, 1795219200, NULL },
        { "unix seconds fraction", "1795219200.9", Z_UTC, OKRD_TS_AUTO, 0, 1795219200, NULL },
        { "unix ms auto", "1795219200123", Z_UTC, OKRD_TS_AUTO, 0, 1795219200, NULL },
        { "1e11 is seconds", "100000000000", Z_UTC, OKRD_TS_AUTO, 0, 100000000000, NULL },
        { "above 1e11 is ms", "100000000001", Z_UTC, OKRD_TS_AUTO, 0, 100000000, NULL },
        { "negative fraction floors", "-1.5", Z_UTC, OKRD_TS_AUTO, 0, -2, NULL },
        { "negative", "-86400", Z_UTC, OKRD_TS_AUTO, 0, -86400, NULL },
        { "explicit s", "1795219200", Z_UTC, OKRD_TS_SECONDS, 0, 1795219200, NULL },
        { "explicit s, 8 digits", "12345678", Z_UTC, OKRD_TS_SECONDS, 0, 12345678, NULL },
        { "explicit ms", "1795219200999", Z_UTC, OKRD_TS_MILLIS, 0, 1795219200, NULL },
        { "explicit ms small", "20261121", Z_UTC, OKRD_TS_MILLIS, 0, 20261, NULL },
        { "explicit ms negative", "-1", Z_UTC, OKRD_TS_MILLIS, 0, -1, NULL },
        { "explicit ms -1000.5", "-1000.5", Z_UTC, OKRD_TS_MILLIS, 0, -2, NULL },
        /* Europe/Berlin */
        { "Berlin midnight", "2026-11-21", Z_BER, OKRD_TS_AUTO, 0, 1795215600, NULL },
        { "Berlin summer", "2026-07-01T12:00:00", Z_BER, OKRD_TS_AUTO, 0, 1782900000, NULL },
        { "Berlin gap", "2026-03-29T02:30:00", Z_BER, OKRD_TS_AUTO, 0, 1774747800, NULL },
        { "Berlin overlap", "2026-10-25T02:30:00", Z_BER, OKRD_TS_AUTO, 0, 1792888200, NULL },
        { "Berlin 1950", "1950-06-01T12:00:00", Z_BER, OKRD_TS_AUTO, 0, -618066000, NULL },
        { "Berlin 2040 (footer)", "2040-07-01T12:00:00", Z_BER, OKRD_TS_AUTO, 0, 2224749600, NULL },
        { "Berlin 2040 gap (footer)", "2040-03-25T02:30:00", Z_BER, OKRD_TS_AUTO, 0, 2216251800, NULL },
        /* America/New_York */
        { "NY winter date", "2026-01-15", Z_NY, OKRD_TS_AUTO, 0, 1768453200, NULL },
        { "NY gap 02:30", "2026-03-08 02:30", Z_NY, OKRD_TS_AUTO, 0, 1772955000, NULL },
        { "NY overlap 01:30 earlier", "2026-11-01 01:30", Z_NY, OKRD_TS_AUTO, 0, 1793511000, NULL },
        { "NY after overlap", "2026-11-01T02:30:00", Z_NY, OKRD_TS_AUTO, 0, 1793518200, NULL },
        { "NY 2050 overlap (footer)", "2050-11-06T01:30:00", Z_NY, OKRD_TS_AUTO, 0, 2551325400, NULL },
        { "NY 2099", "2099-12-31T23:59:59", Z_NY, OKRD_TS_AUTO, 0, 4102462799, NULL },
        /* Australia/Lord_Howe: +10:30, +11 in summer (30-minute DST) */
        { "Lord Howe winter", "2026-07-01T12:00:00", Z_LH, OKRD_TS_AUTO, 0, 1782869400, NULL },
        { "Lord Howe summer", "2026-01-01T12:00:00", Z_LH, OKRD_TS_AUTO, 0, 1767229200, NULL },
        { "Lord Howe gap", "2026-10-04T02:15:00", Z_LH, OKRD_TS_AUTO, 0, 1791042300, NULL },
        { "Lord Howe overlap", "2026-04-05T01:45:00", Z_LH, OKRD_TS_AUTO, 0, 1775313900, NULL },
        { "Lord Howe 2045 gap", "2045-10-01T02:15:00", Z_LH, OKRD_TS_AUTO, 0, 2390399100, NULL },
        { "Lord Howe 2045 overlap", "2045-04-02T01:45:00", Z_LH, OKRD_TS_AUTO, 0, 2374670700, NULL },
        /* America/Santiago springs forward at 24:00: that midnight does not exist */
        { "Santiago missing midnight", "2026-09-06", Z_SCL, OKRD_TS_AUTO, 0, 1788667200, NULL },
        /* errors */
        { "empty", "", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "empty timestamp" },
        { "spaces only", "   ", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "empty timestamp" },
        { "no such day", "2026-02-30", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0,
          "\"2026-02-30\": no such day (February 2026 has 28 days)" },
        { "2026-02-29", "2026-02-29T10:00:00Z", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "February 2026 has 28 days" },
        { "YYYYMMDD bad", "20260230", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "no such day" },
        { "DD.MM bad", "31.04.2026", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "April 2026 has 30 days" },
        { "month 13", "2026-13-01", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "no such month" },
        { "hour 24", "2026-11-21T24:00:00", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "no such time" },
        { "minute 60", "2026-11-21T10:60", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "no such time" },
        { "bad separator", "2026-11-21X10:00", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "\"T\" or a space" },
        { "no time", "2026-11-21T", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "expected a time" },
        { "bad offset", "2026-11-21T10:00:00+2", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "offset" },
        { "offset 24h", "2026-11-21T10:00:00+24:00", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "offset" },
        { "junk after", "2026-11-21T10:00:00Zjunk", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "after the offset" },
        { "empty fraction", "2026-11-21T10:00:00.", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "digits" },
        { "word", "yesterday", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "not a timestamp" },
        { "NaN", "NaN", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "not a timestamp" },
        { "exponent", "1.7e9", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "not a timestamp" },
        { "dot only", "1795219200.", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "not a timestamp" },
        { "after 9999", "9999-12-31T23:59:59-01:00", Z_UTC, OKRD_TS_AUTO, OKRD_ERANGE, 0, "out of range" },
        { "seconds too big", "1795219200123", Z_UTC, OKRD_TS_SECONDS, OKRD_ERANGE, 0, "out of range" },
        { "int64 overflow", "99999999999999999999999", Z_UTC, OKRD_TS_AUTO, OKRD_ERANGE, 0, "out of range" },
        { "DMY with junk", "21.11.2026x", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "after the date" },
        { "DMY 2-digit year", "21.11.26", Z_UTC, OKRD_TS_AUTO, OKRD_EINVAL, 0, "DD.MM.YYYY" },
        { "long input quoted", "2026-11-21T10:00:00+02:00 and a lot of junk after it", Z_UTC, OKRD_TS_AUTO,
          OKRD_EINVAL, 0, "\"2026-11-21T10:00:00+02:00 and a lot of j\"...: " },
    };
    struct okrd_tz *tz[N(zones)];
    for (size_t z = 0; z < N(zones); z++)
        tz[z] = open_zone(zones[z]);
    for (size_t i = 0; i < N(rows); i++) {
        struct okrd_err err = { 0 };
        int64_t ts = INT64_MIN;
        int rc = okrd_parse_timestamp(rows[i].in, strlen(rows[i].in), tz[rows[i].zone], rows[i].unit, &ts, &err);
        CHECK(rc == rows[i].rc, rows[i].name, "\"%s\" in %s: rc %d (%s), want %d", rows[i].in,
              zones[rows[i].zone], rc, err.msg, rows[i].rc);
        if (rc == 0) {
            char got[32], want[32];
            okrd_format_utc(ts, got, sizeof got);
            okrd_format_utc(rows[i].want, want, sizeof want);
            CHECK(ts == rows[i].want, rows[i].name, "\"%s\" in %s: %lld (%s), want %lld (%s)", rows[i].in,
                  zones[rows[i].zone], (long long)ts, got, (long long)rows[i].want, want);
        } else {
            CHECK(strstr(err.msg, rows[i].msg) != NULL, rows[i].name, "message \"%s\"", err.msg);
        }
    }
    /* A time zone of NULL is UTC. */
    int64_t ts;
    CHECK(okrd_parse_timestamp("2026-11-21", 10, NULL, OKRD_TS_AUTO, &ts, NULL) == 0 && ts == 1795219200,
          "NULL tz", "%lld", (long long)ts);
    for (size_t z = 0; z < N(zones); z++)
        okrd_tz_close(tz[z]);
}

static void test_timestamp_number(void **state)
{
    (void)state;
    static const struct { const char *name; double v; enum okrd_ts_unit unit; int rc; int64_t want; } rows[] = {
        { "seconds", 1795219200.0, OKRD_TS_AUTO, 0, 1795219200 },
        { "seconds fraction", 1795219200.75, OKRD_TS_AUTO, 0, 1795219200 },
        { "ms auto", 1795219200123.0, OKRD_TS_AUTO, 0, 1795219200 },
        { "ms explicit", 1500.0, OKRD_TS_MILLIS, 0, 1 },
        { "ms negative", -1500.0, OKRD_TS_MILLIS, 0, -2 },
        { "s explicit big", 1e11 + 1, OKRD_TS_SECONDS, 0, 100000000001 },
        { "negative fraction", -0.5, OKRD_TS_AUTO, 0, -1 },
        { "NaN", NAN, OKRD_TS_AUTO, OKRD_EINVAL, 0 },
        { "Inf", INFINITY, OKRD_TS_AUTO, OKRD_EINVAL, 0 },
        { "huge", 1e300, OKRD_TS_AUTO, OKRD_ERANGE, 0 },
        { "past 9999 s", 253402300800.0, OKRD_TS_SECONDS, OKRD_ERANGE, 0 },
    };
    for (size_t i = 0; i < N(rows); i++) {
        struct okrd_err err = { 0 };
        int64_t ts = 0;
        int rc = okrd_timestamp_from_number(rows[i].v, rows[i].unit, &ts, &err);
        CHECK(rc == rows[i].rc, rows[i].name, "rc %d (%s)", rc, err.msg);
        if (rc == 0)
            CHECK(ts == rows[i].want, rows[i].name, "%lld, want %lld", (long long)ts, (long long)rows[i].want);
        else
            CHECK(err.msg[0] != '\0', rows[i].name, "no message");
    }
}

static void test_timestamp_fmt(void **state)
{
    (void)state;
    static const struct { const char *name, *in, *fmt; int zone, rc; int64_t want; const char *msg; } rows[] = {
        { "US date", "11/21/2026", "%m/%d/%Y", Z_UTC, 0, 1795219200, NULL },
        { "EU date time", "21/11/2026 10:00", "%d/%m/%Y %H:%M", Z_BER, 0, 1795251600, NULL },
        { "compact", "20261121100000", "%Y%m%d%H%M%S", Z_UTC, 0, 1795255200, NULL },
        { "two-digit year", "21.11.26", "%d.%m.%y", Z_UTC, 0, 1795219200, NULL },
        { "two-digit year 69", "01.01.69", "%d.%m.%y", Z_UTC, 0, -31536000, NULL },
        { "month name", "Nov 21 2026", "%b %d %Y", Z_UTC, 0, 1795219200, NULL },
        { "full month name", "21 november 2026", "%d %B %Y", Z_UTC, 0, 1795219200, NULL },
        { "%e", "Nov  1 2026", "%b %e %Y", Z_UTC, 0, 1793491200, NULL },
        { "day of year", "2026-325", "%Y-%j", Z_UTC, 0, 1795219200, NULL },
        { "%z", "2026-11-21 10:00 +0200", "%Y-%m-%d %H:%M %z", Z_NY, 0, 1795248000, NULL },
        { "%F %T", "2026-11-21 10:00:00", "%F %T", Z_UTC, 0, 1795255200, NULL },
        { "%%", "100% 2026", "100%% %Y", Z_UTC, 0, 1767225600, NULL },
        { "NY gap", "03/08/2026 02:30", "%m/%d/%Y %H:%M", Z_NY, 0, 1772955000, NULL },
        { "month only", "2026-11", "%Y-%m", Z_UTC, 0, 1793491200, NULL },
        { "no such day", "02/30/2026", "%m/%d/%Y", Z_UTC, OKRD_EINVAL, 0, "February 2026 has 28 days" },
        { "day 366 in 2026", "2026-366", "%Y-%j", Z_UTC, OKRD_EINVAL, 0, "day of year" },
        { "mismatch", "2026-11-21", "%d/%m/%Y", Z_UTC, OKRD_EINVAL, 0, "does not match format \"%d/%m/%Y\"" },
        { "trailing", "11/21/2026 10:00", "%m/%d/%Y", Z_UTC, OKRD_EINVAL, 0, "unexpected" },
        { "unknown directive", "x", "%Q%Y", Z_UTC, OKRD_EINVAL, 0, "unknown directive \"%Q\"" },
        { "no year", "11/21", "%m/%d", Z_UTC, OKRD_EINVAL, 0, "has no year" },
        { "lone %", "2026", "%Y%", Z_UTC, OKRD_EINVAL, 0, "unknown directive" },
    };
    struct okrd_tz *tz[N(zones)];
    for (size_t z = 0; z < N(zones); z++)
        tz[z] = open_zone(zones[z]);
    for (size_t i = 0; i < N(rows); i++) {
        struct okrd_err err = { 0 };
        int64_t ts = 0;
        int rc = okrd_parse_timestamp_fmt(rows[i].in, strlen(rows[i].in), rows[i].fmt, tz[rows[i].zone], &ts, &err);
        CHECK(rc == rows[i].rc, rows[i].name, "rc %d (%s)", rc, err.msg);
        if (rc == 0)
            CHECK(ts == rows[i].want, rows[i].name, "%lld, want %lld", (long long)ts, (long long)rows[i].want);
        else
            CHECK(strstr(err.msg, rows[i].msg) != NULL, rows[i].name, "message \"%s\"", err.msg);
    }
    CHECK(okrd_check_timestamp_fmt("%d.%m.%Y %H:%M", NULL) == 0, "check ok", "rejected");
    for (size_t z = 0; z < N(zones); z++)
        okrd_tz_close(tz[z]);
}

static void test_format(void **state)
{
    (void)state;
    static const struct { const char *name; int64_t ts; int zone; const char *utc, *date; } rows[] = {
        { "okr day", 1795255200, Z_UTC, "2026-11-21T10:00:00Z", "2026-11-21" },
        { "Berlin before midnight UTC", 1795215600, Z_BER, "2026-11-20T23:00:00Z", "2026-11-21" },
        { "NY evening", 1795255200 + 12 * 3600, Z_NY, "2026-11-21T22:00:00Z", "2026-11-21" },
        { "epoch-1", -1, Z_UTC, "1969-12-31T23:59:59Z", "1969-12-31" },
        { "clamped", INT64_MAX, Z_UTC, "9999-12-31T23:59:59Z", "9999-12-31" },
    };
    struct okrd_tz *tz[N(zones)];
    for (size_t z = 0; z < N(zones); z++)
        tz[z] = open_zone(zones[z]);
    for (size_t i = 0; i < N(rows); i++) {
        char u[32], d[16];
        okrd_format_utc(rows[i].ts, u, sizeof u);
        okrd_format_date(rows[i].ts, tz[rows[i].zone], d, sizeof d);
        CHECK(strcmp(u, rows[i].utc) == 0 && strlen(u) == 20, rows[i].name, "utc \"%s\"", u);
        CHECK(strcmp(d, rows[i].date) == 0, rows[i].name, "date \"%s\"", d);
        int64_t back;
        if (rows[i].ts != INT64_MAX)
            CHECK(okrd_parse_timestamp(u, 20, NULL, OKRD_TS_AUTO, &back, NULL) == 0 && back == rows[i].ts,
                  rows[i].name, "does not parse back");
    }
    for (size_t z = 0; z < N(zones); z++)
        okrd_tz_close(tz[z]);
}

/* ---- time zones ---- */

static void test_tz_open(void **state)
{
    (void)state;
    static const struct { const char *name; int rc; const char *msg; } rows[] = {
        { "UTC", 0, NULL }, { "Etc/UTC", 0, NULL }, { "Europe/Berlin", 0, NULL }, { "Asia/Kolkata", 0, NULL },
        { "Europe/Berln", OKRD_EINVAL, "unknown zone" },
        { "../etc/passwd", OKRD_EINVAL, "not a path" },
        { "/etc/localtime", OKRD_EINVAL, "not a path" },
        { "Europe/../../x", OKRD_EINVAL, "not a path" },
        { "", OKRD_EINVAL, "empty" },
        { "Europe", OKRD_EINVAL, "not a TZif file" },
        { "zone.tab", OKRD_EINVAL, "not a TZif file" },
        { "Europe/Berlin ", OKRD_EINVAL, "invalid character" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        struct okrd_tz *tz = (struct okrd_tz *)1;
        struct okrd_err err = { 0 };
        int rc = okrd_tz_open(&tz, rows[i].name, &err);
        CHECK(rc == rows[i].rc, rows[i].name, "rc %d (%s)", rc, err.msg);
        if (rc == 0) {
            CHECK(strcmp(okrd_tz_name(tz), rows[i].name) == 0, rows[i].name, "name %s", okrd_tz_name(tz));
        } else {
            CHECK(tz == NULL, rows[i].name, "*out not NULL on failure");
            CHECK(strstr(err.msg, rows[i].msg) != NULL, rows[i].name, "message \"%s\"", err.msg);
        }
        okrd_tz_close(tz);
    }
    CHECK(strcmp(okrd_tz_name(NULL), "UTC") == 0, "NULL", "name");
    CHECK(okrd_tz_offset_at(NULL, 123) == 0 && okrd_tz_local_to_utc(NULL, 123) == 123, "NULL", "offsets");
    /* Extremes: answers without int64 overflow (the sanitizer build checks). */
    struct okrd_tz *ber = open_zone("Europe/Berlin");
    static const int64_t far[] = { INT64_MIN, INT64_MIN + 1, -1000000000001LL, 1000000000001LL, INT64_MAX };
    for (size_t i = 0; i < N(far); i++) {
        int32_t off = okrd_tz_offset_at(ber, far[i]);
        CHECK(off == 3600 || off == 7200 || off == 3208, "extreme", "offset %d at %lld", off, (long long)far[i]);
        okrd_tz_local_to_utc(ber, far[i]);
        CHECK(okrd_tz_day_start(ber, far[i]) <= far[i], "extreme", "day start after %lld", (long long)far[i]);
    }
    okrd_tz_close(ber);
}

static void test_tz_day_start(void **state)
{
    (void)state;
    static const struct { const char *name; int zone; int64_t at, want; } rows[] = {
        { "UTC noon", Z_UTC, 1795255200, 1795219200 },
        { "UTC midnight itself", Z_UTC, 1795219200, 1795219200 },
        { "before epoch", Z_UTC, -1, -86400 },
        { "Berlin evening UTC is next day", Z_BER, 1795215600 + 60, 1795215600 },
        { "Berlin spring-forward day", Z_BER, 1774785600 /* 2026-03-29T12:00Z */, 1774738800 },
        { "Berlin fall-back day", Z_BER, 1792929600 /* 2026-10-25T12:00Z */, 1792879200 },
        { "NY fall-back day", Z_NY, 1793534400 /* 2026-11-01T12:00Z */, 1793505600 },
        { "NY 2050 (footer)", Z_NY, 2551363200 /* 2050-11-06T16:00Z */, 2551320000 },
        { "Lord Howe DST day", Z_LH, 1791072000 /* 2026-10-04T00:00Z */, 1791034200 },
        { "Santiago missing midnight", Z_SCL, 1788710400 /* 2026-09-06T16:00Z */, 1788667200 },
    };
    struct okrd_tz *tz[N(zones)];
    for (size_t z = 0; z < N(zones); z++)
        tz[z] = open_zone(zones[z]);
    for (size_t i = 0; i < N(rows); i++) {
        int64_t got = okrd_tz_day_start(tz[rows[i].zone], rows[i].at);
        char g[32], w[32];
        okrd_format_utc(got, g, sizeof g);
        okrd_format_utc(rows[i].want, w, sizeof w);
        CHECK(got == rows[i].want, rows[i].name, "%s, want %s", g, w);
    }
    for (size_t z = 0; z < N(zones); z++)
        okrd_tz_close(tz[z]);
}

/* glibc reads the same files; its localtime_r() is the reference for
 * okrd_tz_offset_at over 1900..2200, past the transitions into the footer. */
static void test_tz_vs_glibc(void **state)
{
    (void)state;
    static const char *const names[] = {
        "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Europe/Dublin",
        "America/Nuuk", "Asia/Jerusalem", "Asia/Kolkata", "Pacific/Chatham", "Africa/Casablanca",
        "America/Sao_Paulo", "Asia/Tehran", "Pacific/Apia", "Antarctica/Troll", "Europe/London",
    };
    uint64_t seed = 42;
    for (size_t z = 0; z < N(names); z++) {
        char path[256];
        snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", names[z]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue; /* older tzdata: not every zone exists */
        fclose(f);
        struct okrd_tz *tz = open_zone(names[z]);
        setenv("TZ", names[z], 1);
        tzset();
        for (int k = 0; k < 20000; k++) {
            int64_t t = -2208988800LL + (int64_t)(rnd(&seed) % 9467280000ULL); /* 1900..2200 */
            time_t tt = (time_t)t;
            struct tm tm;
            localtime_r(&tt, &tm);
            int32_t off = okrd_tz_offset_at(tz, t);
            CHECK(off == tm.tm_gmtoff, names[z], "at %lld: offset %d, glibc %ld", (long long)t, off, tm.tm_gmtoff);
            /* And back: the local time maps to an instant with that wall clock, the earliest one. */
            int64_t local = t + off, u = okrd_tz_local_to_utc(tz, local);
            CHECK(u <= t && u + okrd_tz_offset_at(tz, u) == local, names[z], "local %lld: back to %lld, from %lld",
                  (long long)local, (long long)u, (long long)t);
        }
        okrd_tz_close(tz);
    }
    unsetenv("TZ");
    tzset();
}

/* A footer-only TZif v2 file per POSIX rule, checked against glibc reading
 * the same rule from TZ: Jn, n, Mm.w.d, negative and over-24h times. */
static void write_footer_zone(const char *dir, const char *name, const char *rule)
{
    unsigned char b[512];
    size_t o = 0;
    for (int part = 0; part < 2; part++) {
        memset(b + o, 0, 44);
        memcpy(b + o, "TZif2", 5);
        b[o + 39] = 1; /* typecnt */
        b[o + 43] = 4; /* charcnt */
        o += 44;
        memset(b + o, 0, 6); /* type 0: UT+0, not DST, name index 0 */
        o += 6;
        memcpy(b + o, "XXX", 4);
        o += 4;
    }
    o += (size_t)snprintf((char *)b + o, sizeof b - o, "\n%s\n", rule);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, o, f), o);
    fclose(f);
}

static void test_tz_footer_rules(void **state)
{
    (void)state;
    static const char *const rules[] = {
        "CET-1CEST,M3.5.0,M10.5.0/3",
        "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
        "IST-1GMT0,M10.5.0,M3.5.0/1",
        "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
        "IST-2IDT,M3.4.4/26,M10.5.0",
        "EST5EDT,J60/2,J300/2",
        "EST5EDT,59/2,299",
        "EST5EDT,M3.2.0,M11.1.0",
        "<+03>-3",
        "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
        "AAA-13:45BBB-14:45,M9.5.0/2:45,M4.1.0/3:45",
    };
    char *dir = tu_mkdtemp();
    assert_non_null(dir);
    setenv("TZDIR", dir, 1);
    uint64_t seed = 7;
    for (size_t r = 0; r < N(rules); r++) {
        char name[32];
        snprintf(name, sizeof name, "rule%zu", r);
        write_footer_zone(dir, name, rules[r]);
        struct okrd_tz *tz = open_zone(name);
        setenv("TZ", rules[r], 1);
        tzset();
        for (int k = 0; k < 20000; k++) {
            int64_t t = 946684800LL + (int64_t)(rnd(&seed) % 3155760000ULL); /* 2000..2100 */
            time_t tt = (time_t)t;
            struct tm tm;
            localtime_r(&tt, &tm);
            int32_t off = okrd_tz_offset_at(tz, t);
            CHECK(off == tm.tm_gmtoff, rules[r], "at %lld: offset %d, glibc %ld", (long long)t, off, tm.tm_gmtoff);
            int64_t local = t + off, u = okrd_tz_local_to_utc(tz, local);
            CHECK(u <= t && u + okrd_tz_offset_at(tz, u) == local, rules[r], "local %lld back to %lld",
                  (long long)local, (long long)u);
        }
        okrd_tz_close(tz);
    }
    /* DST all year (RFC 8536 section 3.3.1's example). glibc evaluates each
     * UTC year on its own and reports EST for a few hours around New Year;
     * the rule means EDT throughout. */
    write_footer_zone(dir, "alldst", "EST5EDT,0/0,J365/25");
    struct okrd_tz *all = open_zone("alldst");
    for (int k = 0; k < 20000; k++) {
        int64_t t = 946684800LL + (int64_t)(rnd(&seed) % 3155760000ULL);
        CHECK(okrd_tz_offset_at(all, t) == -14400, "EST5EDT,0/0,J365/25", "at %lld: %d", (long long)t,
              okrd_tz_offset_at(all, t));
    }
    CHECK(okrd_tz_offset_at(all, 2114391600) == -14400, "all-year DST at New Year", "EST");
    okrd_tz_close(all);
    /* Bad files: not TZif, truncated, bad footer. */
    static const char *const bad_rules[] = { "CET-1CEST,M3.5.0", "CET-1CEST,M13.1.0,M10.5.0", "C-1", "CET-1CEST,J0,J1" };
    for (size_t r = 0; r < N(bad_rules); r++) {
        write_footer_zone(dir, "bad", bad_rules[r]);
        struct okrd_tz *tz = NULL;
        struct okrd_err err = { 0 };
        CHECK(okrd_tz_open(&tz, "bad", &err) == OKRD_EINVAL && strstr(err.msg, "bad TZ rule"), bad_rules[r],
              "message \"%s\"", err.msg);
    }
    char *p = tu_write_file(dir, "short", "TZif2");
    free(p);
    struct okrd_tz *tz = NULL;
    struct okrd_err err = { 0 };
    CHECK(okrd_tz_open(&tz, "short", &err) == OKRD_EINVAL && strstr(err.msg, "not a TZif file"), "short", "%s", err.msg);
    unsetenv("TZ");
    unsetenv("TZDIR");
    tzset();
    tu_rm_rf(dir);
    free(dir);
}

/* ---- numbers ---- */

static void test_number(void **state)
{
    (void)state;
    static const struct { const char *in; char dec; const char *strip; int rc; double want; const char *msg; } rows[] = {
        { "1234.5", '.', NULL, 0, 1234.5, NULL },
        { "1,234.5", '.', NULL, 0, 1234.5, NULL },
        { "1,234,567.25", '.', NULL, 0, 1234567.25, NULL },
        { "-3", '.', NULL, 0, -3, NULL },
        { "+2.5", '.', NULL, 0, 2.5, NULL },
        { "1e3", '.', NULL, 0, 1000, NULL },
        { "1.5E-3", '.', NULL, 0, 0.0015, NULL },
        { ".5", '.', NULL, 0, 0.5, NULL },
        { "0", '.', NULL, 0, 0, NULL },
        { "007", '.', NULL, 0, 7, NULL },
        { " 42 ", '.', NULL, 0, 42, NULL },
        { "1,234", '.', NULL, 0, 1234, NULL },
        { "1 234.5", '.', NULL, 0, 1234.5, NULL },
        { "0.1", '.', NULL, 0, 0.1, NULL },
        { "1234,5", ',', NULL, 0, 1234.5, NULL },
        { "1.234,5", ',', NULL, 0, 1234.5, NULL },
        { "1 234,5", ',', NULL, 0, 1234.5, NULL },
        { "1\xC2\xA0" "234,5", ',', NULL, 0, 1234.5, NULL },
        { "1\xE2\x80\xAF" "234\xE2\x80\xAF" "567,5", ',', NULL, 0, 1234567.5, NULL },
        { "1,234", ',', NULL, 0, 1.234, NULL },
        { "-0,5", ',', NULL, 0, -0.5, NULL },
        { "12.5%", '.', "%$\xE2\x82\xAC\xC2\xA3 ", 0, 12.5, NULL },
        { "$1,234.00", '.', "%$\xE2\x82\xAC\xC2\xA3 ", 0, 1234, NULL },
        { "\xE2\x82\xAC 1.234,50", ',', "%$\xE2\x82\xAC\xC2\xA3 ", 0, 1234.5, NULL },
        { "\xC2\xA3" "99", '.', "\xE2\x82\xAC\xC2\xA3", 0, 99, NULL },
        { "12,5 %", ',', "%", 0, 12.5, NULL },
        /* errors */
        { "", '.', NULL, OKRD_EINVAL, 0, "\"\": empty value" },
        { "   ", '.', NULL, OKRD_EINVAL, 0, "empty value" },
        { "%", '.', "%", OKRD_EINVAL, 0, "no number left" },
        { "NaN", '.', NULL, OKRD_EINVAL, 0, "NaN and Inf" },
        { "nan", '.', NULL, OKRD_EINVAL, 0, "NaN and Inf" },
        { "-Inf", '.', NULL, OKRD_EINVAL, 0, "NaN and Inf" },
        { "infinity", '.', NULL, OKRD_EINVAL, 0, "NaN and Inf" },
        { "n/a", '.', NULL, OKRD_EINVAL, 0, "\"n/a\": not a number" },
        { "none", '.', NULL, OKRD_EINVAL, 0, "\"none\": not a number" },
        { "-Information", '.', NULL, OKRD_EINVAL, 0, "not a number" },
        { "12abc", '.', NULL, OKRD_EINVAL, 0, "unexpected \"abc\"" },
        { "12.5%", '.', NULL, OKRD_EINVAL, 0, "strip" },
        { "1,23,4", '.', NULL, OKRD_EINVAL, 0, "\"1,23,4\": misplaced thousands separator" },
        { "1,2345", '.', NULL, OKRD_EINVAL, 0, "misplaced" },
        { "1234,567.5", '.', NULL, OKRD_EINVAL, 0, "misplaced" },
        { ",5", '.', NULL, OKRD_EINVAL, 0, "not a number" },
        { "1.5", ',', NULL, OKRD_EINVAL, 0, "the decimal separator is \",\"" },
        { "1.234.5", ',', NULL, OKRD_EINVAL, 0, "misplaced" },
        { "1.234 567", ',', NULL, OKRD_EINVAL, 0, "mixed" },
        { "1.234,5.6", ',', NULL, OKRD_EINVAL, 0, "misplaced" },
        { "1.5.6", '.', NULL, OKRD_EINVAL, 0, "unexpected" },
        { "5.", '.', NULL, OKRD_EINVAL, 0, "digits after the decimal" },
        { "-", '.', NULL, OKRD_EINVAL, 0, "not a number" },
        { "1e", '.', NULL, OKRD_EINVAL, 0, "exponent" },
        { "1e999", '.', NULL, OKRD_ERANGE, 0, "out of range" },
        { "0x10", '.', NULL, OKRD_EINVAL, 0, "unexpected" },
        { "1_000", '.', NULL, OKRD_EINVAL, 0, "unexpected" },
        { "12", ';', NULL, OKRD_EINVAL, 0, "decimal separator must be" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        struct okrd_numfmt fmt = { .decimal = rows[i].dec, .strip = rows[i].strip };
        struct okrd_err err = { 0 };
        double v = -999;
        int rc = okrd_parse_number(rows[i].in, strlen(rows[i].in), &fmt, &v, &err);
        CHECK(rc == rows[i].rc, rows[i].in, "decimal '%c': rc %d (%s), want %d", rows[i].dec, rc, err.msg, rows[i].rc);
        if (rc == 0)
            CHECK(v == rows[i].want, rows[i].in, "decimal '%c': %.17g, want %.17g", rows[i].dec, v, rows[i].want);
        else
            CHECK(strstr(err.msg, rows[i].msg) != NULL, rows[i].in, "message \"%s\"", err.msg);
    }
    double v;
    CHECK(okrd_parse_number("1,234.5", 7, NULL, &v, NULL) == 0 && v == 1234.5, "NULL fmt", "'.' default, got %g", v);
    CHECK(okrd_parse_number("7x", 1, NULL, &v, NULL) == 0 && v == 7, "not NUL-terminated", "got %g", v);
    /* Very long input: an error, never an overflow. */
    char big[1000];
    memset(big, '1', sizeof big);
    CHECK(okrd_parse_number(big, sizeof big, NULL, &v, NULL) == OKRD_EINVAL, "1000 digits", "accepted");
}

static void test_format_double(void **state)
{
    (void)state;
    static const struct { double v; const char *want; } rows[] = {
        { 1040, "1040" }, { 0.1, "0.1" }, { 1e21, "1e+21" }, { -3.25, "-3.25" }, { 0, "0" }, { -0.0, "-0" },
        { 1e15, "1000000000000000" }, { 9007199254740992.0, "9007199254740992" }, { 1e16, "1e+16" },
        { 0.30000000000000004, "0.30000000000000004" }, { 1.0 / 3, "0.3333333333333333" },
        { 123456.789, "123456.789" }, { 5e-324, "4.94065645841247e-324" }, { 1e-5, "1e-05" },
        { 1.7976931348623157e308, "1.7976931348623157e+308" }, { 2.5, "2.5" }, { -1e100, "-1e+100" },
        { NAN, "NaN" }, { INFINITY, "Inf" }, { -INFINITY, "-Inf" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        char buf[32];
        okrd_format_double(rows[i].v, buf, sizeof buf);
        CHECK(strcmp(buf, rows[i].want) == 0, rows[i].want, "got \"%s\"", buf);
    }
    uint64_t seed = 20261121;
    for (int k = 0; k < 200000; k++) {
        double v;
        uint64_t bits = rnd(&seed);
        if (k % 2) {
            memcpy(&v, &bits, sizeof v); /* any bit pattern */
        } else {
            v = (double)(int64_t)(bits >> 20) / (double)(1 + rnd(&seed) % 100000); /* "data-like" */
        }
        if (!isfinite(v))
            continue;
        char buf[32], name[32];
        okrd_format_double(v, buf, sizeof buf);
        snprintf(name, sizeof name, "%a", v);
        double back = strtod(buf, NULL);
        CHECK(memcmp(&back, &v, sizeof v) == 0, name, "\"%s\" reads back as %a", buf, back);
        CHECK(strlen(buf) <= 24, name, "\"%s\" too long", buf);
        /* And through the okrd parser. */
        double p;
        CHECK(okrd_parse_number(buf, strlen(buf), NULL, &p, NULL) == 0 && memcmp(&p, &v, sizeof v) == 0, name,
              "okrd_parse_number(\"%s\")", buf);
    }
}

/* ---- ids and quoting ---- */

static void test_valid_id(void **state)
{
    (void)state;
    char max[129], over[130];
    memset(max, 'a', 128);
    max[128] = '\0';
    memset(over, 'a', 129);
    over[129] = '\0';
    static const struct { const char *in; bool ok; } rows[] = {
        { "dau", true }, { "p95_latency_ms", true }, { "app.web:dau-7", true }, { "A", true },
        { "", false }, { "d a u", false }, { "dau/x", false }, { "dau\n", false }, { "d\xC3\xA4u", false },
        { "${env:X}", false },
    };
    for (size_t i = 0; i < N(rows); i++)
        CHECK(okrd_valid_id(rows[i].in, strlen(rows[i].in)) == rows[i].ok, rows[i].in, "wrong answer");
    CHECK(okrd_valid_id(max, 128), "128 chars", "rejected");
    CHECK(!okrd_valid_id(over, 129), "129 chars", "accepted");
    CHECK(!okrd_valid_id("a\0b", 3), "NUL inside", "accepted");
}

static void test_quote(void **state)
{
    (void)state;
    static const struct { const char *in; const char *want; } rows[] = {
        { "abc", "\"abc\"" },
        { "a\"b\\c", "\"a\\\"b\\\\c\"" },
        { "tab\there", "\"tab\\x09here\"" },
        { "\xE2\x82\xAC" "5", "\"\xE2\x82\xAC" "5\"" },
        { "bad\xFF", "\"bad\\xFF\"" },
        { "0123456789012345678901234567890123456789X", "\"0123456789012345678901234567890123456789\"..." },
        /* 39 ASCII bytes then a 3-byte character: cut before it */
        { "012345678901234567890123456789012345678\xE2\x82\xAC", "\"012345678901234567890123456789012345678\"..." },
    };
    for (size_t i = 0; i < N(rows); i++) {
        char q[OKRD_QUOTE_MAX];
        okrd_quote(rows[i].in, strlen(rows[i].in), q, sizeof q);
        CHECK(strcmp(q, rows[i].want) == 0, rows[i].want, "got %s", q);
    }
    char bin[64], q[OKRD_QUOTE_MAX];
    memset(bin, 0x01, sizeof bin);
    okrd_quote(bin, sizeof bin, q, sizeof q);
    CHECK(strlen(q) == 2 + 40 * 4 + 3, "binary", "length %zu", strlen(q));
}

/* The one floor division (common/okrd_math.h): C's `/` truncates, so every
 * row with a negative operand and a remainder tells the two apart. */
static void test_floor_div(void **state)
{
    static const struct {
        const char *name;
        int64_t a, b, want;
    } rows[] = {
        { "zero", 0, 86400, 0 },
        { "exact positive", 172800, 86400, 2 },
        { "positive remainder", 86399, 86400, 0 },
        { "a second before the epoch", -1, 86400, -1 },
        { "midnight before the epoch", -86400, 86400, -1 },
        { "a second before that", -86401, 86400, -2 },
        { "era before year 0", -1, 400, -1 },
        { "days before the proleptic era", -146098, 146097, -2 },
        { "negative divisor", 7, -2, -4 },
        { "both negative", -7, -2, 3 },
        { "both negative exact", -8, -2, 4 },
        { "large negative", INT64_MIN + 1, 86400, -106751991167301 },
        { "large positive", INT64_MAX, 86400, 106751991167300 },
    };
    for (size_t i = 0; i < N(rows); i++) {
        int64_t got = okrd_floor_div(rows[i].a, rows[i].b);
        CHECK(got == rows[i].want, rows[i].name, "floor(%lld / %lld) = %lld, want %lld",
              (long long)rows[i].a, (long long)rows[i].b, (long long)got,
              (long long)rows[i].want);
        /* The definition: want * b <= a < (want + 1) * b for b > 0. */
        if (rows[i].b > 0 && rows[i].a > INT64_MIN + rows[i].b)
            CHECK(got * rows[i].b <= rows[i].a && rows[i].a - got * rows[i].b < rows[i].b,
                  rows[i].name, "not the floor");
    }
}

/* The one PRNG (common/okrd_rand.h): xorshift64*, its sequence pinned
 * (reference values computed independently, in Python), and the ranges the
 * jitter callers rely on. */
static void test_rand(void **state)
{
    struct okrd_rand r;
    okrd_rand_seed(&r, 1);
    static const uint64_t want[] = {
        0x47e4ce4b896cdd1dULL, 0xabcfa6a8e079651dULL,
        0xb9d10d8feb731f57ULL, 0x4db418a0bb1b019dULL,
    };
    for (size_t i = 0; i < N(want); i++) {
        uint64_t got = okrd_rand_next_u64(&r);
        CHECK(got == want[i], "seed 1", "output %zu: %#llx, want %#llx", i,
              (unsigned long long)got, (unsigned long long)want[i]);
    }

    /* Seed 0 is xorshift's fixed point: it must not give all zeros. */
    okrd_rand_seed(&r, 0);
    CHECK(okrd_rand_next_u64(&r) != 0 && okrd_rand_next_u64(&r) != 0, "seed 0", "stuck at 0");

    /* The same seed, the same sequence; another seed, another one. */
    struct okrd_rand a, b, c;
    okrd_rand_seed(&a, 42);
    okrd_rand_seed(&b, 42);
    okrd_rand_seed(&c, 43);
    int same_c = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = okrd_rand_next_u64(&a);
        CHECK(x == okrd_rand_next_u64(&b), "seed 42 twice", "diverged at %d", i);
        same_c += x == okrd_rand_next_u64(&c);
    }
    CHECK(same_c == 0, "seeds 42 and 43", "%d equal outputs", same_c);

    /* Ranges, and that both halves of each range are reached. */
    okrd_rand_seed(&r, 0x1234567);
    double umin = 1, umax = 0, jmin = 1, jmax = -1;
    for (int i = 0; i < 100000; i++) {
        double u = okrd_rand_unit(&r), j = okrd_rand_jitter(&r);
        CHECK(u >= 0 && u < 1, "unit", "%.17g outside [0, 1)", u);
        CHECK(j >= -1 && j < 1, "jitter", "%.17g outside [-1, 1)", j);
        umin = fmin(umin, u), umax = fmax(umax, u);
        jmin = fmin(jmin, j), jmax = fmax(jmax, j);
    }
    CHECK(umin < 0.01 && umax > 0.99, "unit spread", "[%g, %g]", umin, umax);
    CHECK(jmin < -0.98 && jmax > 0.98, "jitter spread", "[%g, %g]", jmin, jmax);

    /* unit and jitter use the top 53 bits: exact, so never rounded onto 1. */
    okrd_rand_seed(&r, 1);
    CHECK(okrd_rand_unit(&r) == (double)(0x47e4ce4b896cdd1dULL >> 11) / 9007199254740992.0,
          "unit of seed 1", "not the top 53 bits over 2^53");
    CHECK(okrd_rand_jitter(&r) ==
              (double)(0xabcfa6a8e079651dULL >> 11) / 4503599627370496.0 - 1.0,
          "jitter of seed 1", "not the top 53 bits over 2^52, minus 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendar),        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_date),            cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_timestamp_number), cmocka_unit_test(test_timestamp_fmt),
        cmocka_unit_test(test_format),          cmocka_unit_test(test_tz_open),
        cmocka_unit_test(test_tz_day_start),    cmocka_unit_test(test_tz_vs_glibc),
        cmocka_unit_test(test_tz_footer_rules), cmocka_unit_test(test_number),
        cmocka_unit_test(test_format_double),   cmocka_unit_test(test_valid_id),
        cmocka_unit_test(test_quote),           cmocka_unit_test(test_floor_div),
        cmocka_unit_test(test_rand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
