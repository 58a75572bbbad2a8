/*
 * parse.h — the parsers every module shares: durations, dates, timestamps,
 * numbers in a locale, and the matching formatters.
 *
 * One implementation, used by config/, the CSV reader, the HTTP sources and
 * the API, so "2026-11-21" means the same instant everywhere. Inputs are
 * (pointer, length) pairs and need not be NUL-terminated. All functions are
 * pure (no global state, no allocation) and thread-safe.
 * On failure they return OKRD_EINVAL (or OKRD_ERANGE) and, when err is not
 * NULL, a message that quotes at most 40 bytes of the input and says why,
 * e.g. `"2026-02-30": no such day (February 2026 has 28 days)`.
 */
#ifndef OKRD_PARSE_H
#define OKRD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "okrd_err.h"
#include "tz.h"

/* ---- calendar arithmetic (proleptic Gregorian, UTC) ---- */

/* Days since 1970-01-01 for y-m-d (m 1..12, d 1..31); no validation. */
int64_t okrd_days_from_civil(int64_t y, int m, int d);
/* Inverse of okrd_days_from_civil. */
void okrd_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* 1..31, or 0 for a bad month. */
int okrd_days_in_month(int64_t y, int m);
/* 0 = Sunday .. 6 = Saturday. */
int okrd_weekday_from_days(int64_t days);

/* ---- durations ---- */

/* "100ms", "90s", "5m", "6h", "7d", "1w", and sums of them ("1h30m").
 * Whitespace, signs and fractions are rejected; "0s" is valid.
 * In a sum each unit appears once, largest first ("30m1h" is an error), so
 * okrd_format_duration's output is the one way to write a value.
 * Overflow of int64 milliseconds is OKRD_ERANGE. */
int okrd_parse_duration_ms(const char *s, size_t n, int64_t *out_ms, struct okrd_err *err);
/* Formats a duration the way a user writes it ("1h30m", "100ms", "0s");
 * it parses back to ms (for ms >= 0). size >= 40 is always enough. */
void okrd_format_duration(int64_t ms, char *buf, size_t size);

/* ---- dates and timestamps ---- */

/* "YYYY-MM-DD", checked (leap years, days per month). */
int okrd_parse_date(const char *s, size_t n, int64_t *y, int *m, int *d, struct okrd_err *err);

/* How a number without other hints is read as a timestamp. */
enum okrd_ts_unit {
    OKRD_TS_AUTO = 0,   /* above 10^11: milliseconds, else seconds */
    OKRD_TS_SECONDS,
    OKRD_TS_MILLIS,
};

/* Any timestamp form okrd accepts (DESIGN section 3), to UTC seconds:
 *   ISO 8601 / RFC 3339 date or date-time: "2026-11-21", "2026-11-21T10:00:00",
 *     "2026-11-21 10:00:00", fractions ("...:00.250"), "Z" or "+02:00"/"+0200";
 *     without a zone, in tz (NULL = UTC); fractions are floored to the second;
 *   "YYYYMMDD" (8 digits, a valid date): midnight in tz;
 *   "DD.MM.YYYY": midnight in tz;
 *   other integers (optionally with a fraction): Unix seconds, or ms per unit.
 * Leading/trailing ASCII spaces are ignored.
 * Details: "DD.MM.YYYY" also takes "D.M.YYYY" and a time " HH:MM[:SS]";
 * a zone is "Z", "+HH:MM", "+HHMM" or "+HH"; ":60" (a leap second) reads as
 * ":59". With an explicit unit (SECONDS or MILLIS) the source sends numbers,
 * so 8 digits are a number, not YYYYMMDD. Gaps and overlaps of tz resolve as
 * in okrd_tz_local_to_utc. Results outside the years 0000..9999 are
 * OKRD_ERANGE, so every accepted instant formats as okrd_format_utc does. */
int okrd_parse_timestamp(const char *s, size_t n, const struct okrd_tz *tz,
                         enum okrd_ts_unit unit, int64_t *out_s, struct okrd_err *err);

/* A number (already a double, e.g. from JSON) as a Unix timestamp per unit. */
int okrd_timestamp_from_number(double v, enum okrd_ts_unit unit, int64_t *out_s,
                               struct okrd_err *err);

/* An explicit strftime-style format (%Y %m %d %H %M %S %y %b %e %j %% and
 * literal characters; %z for an offset). The whole input must match.
 * Times without %z are in tz.
 * Also %B and %h (= %b), %F (= %Y-%m-%d) and %T (= %H:%M:%S). Month names
 * are English, any case, full or three letters (never the C locale's, which
 * strptime would use). %y is 1969..2068 as in POSIX. White space in fmt
 * matches any run of white space, as in strptime. A missing month or day is
 * 1, a missing time 00:00:00. */
int okrd_parse_timestamp_fmt(const char *s, size_t n, const char *fmt,
                             const struct okrd_tz *tz, int64_t *out_s, struct okrd_err *err);
/* Checks a timestamp_format once, at config load: known directives only, and
 * a year (%Y, %y or %F) is required. 0 or OKRD_EINVAL with the reason. */
int okrd_check_timestamp_fmt(const char *fmt, struct okrd_err *err);

/* "2026-11-21T10:00:00Z" (always 20 chars + NUL; size >= 21). Instants
 * outside the years 0000..9999 (which no parser returns) are clamped. */
void okrd_format_utc(int64_t ts, char *buf, size_t size);
/* "2026-11-21" of the day containing ts in tz (size >= 11; tz NULL = UTC). */
void okrd_format_date(int64_t ts, const struct okrd_tz *tz, char *buf, size_t size);

/* ---- numbers ---- */

struct okrd_numfmt {
    char decimal;        /* '.' or ',' */
    const char *strip;   /* characters removed before parsing (may be NULL) */
};

/* A decimal number as people and spreadsheets write it:
 *   decimal '.': "1234.5", "1,234.5", "-3", "1e3", "+2.5";
 *   decimal ',': "1234,5", "1.234,5", "1 234,5" (space or U+202F narrow
 *     no-break space or U+00A0 as thousands separators);
 * thousands separators are accepted only between groups of exactly three
 * digits; characters in fmt->strip are removed first ("12.5%" with strip "%").
 * NaN, Inf, an empty string and trailing junk are errors. fmt NULL = '.'.
 * Also: surrounding ASCII white space is ignored; strip is a UTF-8 string
 * and removes whole characters ("€" is three bytes); spaces (and U+00A0,
 * U+202F) also group digits when decimal is '.' ("1 234.5"); one kind of
 * separator per number; an exponent is allowed ("1e3"); digits must follow a
 * decimal separator ("5." is an error); a value beyond double is
 * OKRD_ERANGE. */
int okrd_parse_number(const char *s, size_t n, const struct okrd_numfmt *fmt,
                      double *out, struct okrd_err *err);

/* The shortest decimal text that reads back (strtod) to exactly v: "1040",
 * "0.1", "1e+21", "-3.25". NaN/Inf are written "NaN"/"Inf"/"-Inf".
 * buf size >= 32 is always enough. */
void okrd_format_double(double v, char *buf, size_t size);

/* ---- UTF-8 and error messages ---- */

/* Byte length (1..4) of the valid UTF-8 character at s[0..n), or 0 when the
 * bytes there are not valid UTF-8 (overlong, surrogate, truncated) or n is 0. */
size_t okrd_utf8_len(const char *s, size_t n);

/* Writes s as a quoted string for an error message: at most 40 bytes of it
 * (cut at a UTF-8 character boundary, then "..."), control bytes and invalid
 * UTF-8 escaped as \xNN, '"' and '\\' escaped. OKRD_QUOTE_MAX always fits. */
#define OKRD_QUOTE_MAX 176
void okrd_quote(const char *s, size_t n, char *buf, size_t size);

/* The same quote, made only when an error message needs it: a parser holds
 * one per call and okrd_lq() quotes on first use, so a good value (the hot
 * path of a 1M-row CSV file) never pays for formatting a message. */
struct okrd_lazy_quote {
    const char *s;
    size_t n;
    bool done;
    char buf[OKRD_QUOTE_MAX];
};
static inline void okrd_lazy_quote_init(struct okrd_lazy_quote *q, const char *s, size_t n)
{
    q->s = s;
    q->n = n;
    q->done = false;
}
const char *okrd_lq(struct okrd_lazy_quote *q);

/* ---- identifiers ---- */

/* Metric ids and every other id in okrd: [A-Za-z0-9_.:-]{1,128}. */
bool okrd_valid_id(const char *s, size_t n);

#endif
