/*
 * parse.c — calendar arithmetic, durations, YYYY-MM-DD dates, the date and
 * UTC formatters, ids, and the quoting every parse error uses.
 *
 * Timestamps live in parse_time.c and numbers in parse_number.c; time zones
 * in tz.c. Everything here is pure: no global state, no allocation, no locale.
 * Calendar math is proleptic Gregorian on int64 days (Howard Hinnant's
 * days_from_civil), so it needs neither timegm() nor the TZ variable.
 */
#include "parse.h"
#include "okrd_math.h"

#include <stdio.h>
#include <string.h>

static const char *const month_names[12] = {
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
};

/* ---- calendar arithmetic ---- */

int64_t okrd_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = okrd_floor_div(y, 400);
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void okrd_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    days += 719468;
    int64_t era = okrd_floor_div(days, 146097);
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int dd = (int)(doy - (153 * mp + 2) / 5 + 1);
    int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
    if (y)
        *y = yoe + era * 400 + (mm <= 2);
    if (m)
        *m = mm;
    if (d)
        *d = dd;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int okrd_days_in_month(int64_t y, int m)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

int okrd_weekday_from_days(int64_t days)
{
    /* 1970-01-01 was a Thursday (4). */
    int64_t w = (days + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

/* ---- UTF-8 and quoting ---- */

size_t okrd_utf8_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0)
        return 0;
    if (u[0] < 0x80)
        return 1;
    size_t len;
    uint32_t min, cp;
    if ((u[0] & 0xE0) == 0xC0) {
        len = 2, min = 0x80, cp = u[0] & 0x1F;
    } else if ((u[0] & 0xF0) == 0xE0) {
        len = 3, min = 0x800, cp = u[0] & 0x0F;
    } else if ((u[0] & 0xF8) == 0xF0) {
        len = 4, min = 0x10000, cp = u[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (u[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

const char *okrd_lq(struct okrd_lazy_quote *q)
{
    if (!q->done) {
        okrd_quote(q->s, q->n, q->buf, sizeof q->buf);
        q->done = true;
    }
    return q->buf;
}

void okrd_quote(const char *s, size_t n, char *buf, size_t size)
{
    /* Build into a local buffer that always fits, then copy (truncating). */
    char q[OKRD_QUOTE_MAX];
    size_t o = 0, i = 0;
    q[o++] = '"';
    while (i < n) {
        size_t cl = okrd_utf8_len(s + i, n - i);
        size_t step = cl ? cl : 1;
        if (i + step > 40)
            break;
        unsigned char c = (unsigned char)s[i];
        if (cl > 1) {
            memcpy(q + o, s + i, cl);
            o += cl;
        } else if (cl == 1 && c >= 0x20 && c != 0x7F) {
            if (c == '"' || c == '\\')
                q[o++] = '\\';
            q[o++] = (char)c;
        } else {
            o += (size_t)snprintf(q + o, sizeof q - o, "\\x%02X", c);
        }
        i += step;
    }
    q[o++] = '"';
    if (i < n) {
        memcpy(q + o, "...", 3);
        o += 3;
    }
    q[o] = '\0';
    if (size)
        snprintf(buf, size, "%s", q);
}

/* ---- durations ---- */

struct dur_unit {
    const char *name;
    int64_t ms;
};

/* Largest first: a sum must name its units in this order ("1h30m"). */
static const struct dur_unit dur_units[] = {
    { "w", 7 * 86400000LL }, { "d", 86400000LL }, { "h", 3600000LL },
    { "m", 60000LL },        { "s", 1000LL },     { "ms", 1LL },
};
#define N_DUR_UNITS (sizeof dur_units / sizeof dur_units[0])

#define DUR_UNITS_HINT "use ms, s, m, h, d or w"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int okrd_parse_duration_ms(const char *s, size_t n, int64_t *out_ms, struct okrd_err *err)
{
    char q[OKRD_QUOTE_MAX];
    okrd_quote(s, n, q, sizeof q);
    if (n == 0)
        return okrd_err_set(err, OKRD_EINVAL, "%s: empty duration (write e.g. \"90s\", \"5m\", \"6h\")", q);

    int64_t total = 0;
    size_t i = 0, last_unit = N_DUR_UNITS; /* none yet */
    while (i < n) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            return okrd_err_set(err, OKRD_EINVAL, "%s: spaces are not allowed in a duration", q);
        if (c == '-' || c == '+')
            return okrd_err_set(err, OKRD_EINVAL, "%s: a duration takes no sign", q);
        if (!is_digit(c))
            return okrd_err_set(err, OKRD_EINVAL, "%s: expected a number at \"%c\" (write e.g. \"90s\", \"1h30m\")",
                                q, c >= 0x20 && c < 0x7F ? c : '?');
        int64_t v = 0;
        while (i < n && is_digit(s[i])) {
            if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v))
                return okrd_err_set(err, OKRD_ERANGE, "%s: duration too long", q);
            i++;
        }
        if (i < n && (s[i] == '.' || s[i] == ','))
            return okrd_err_set(err, OKRD_EINVAL, "%s: fractions are not allowed (write \"1h30m\", not \"1.5h\")", q);
        size_t u0 = i;
        while (i < n && is_alpha(s[i]))
            i++;
        if (i == u0)
            return okrd_err_set(err, OKRD_EINVAL, "%s: missing unit after %lld (" DUR_UNITS_HINT ")",
                                q, (long long)v);
        size_t k;
        for (k = 0; k < N_DUR_UNITS; k++)
            if (strlen(dur_units[k].name) == i - u0 && memcmp(dur_units[k].name, s + u0, i - u0) == 0)
                break;
        if (k == N_DUR_UNITS) {
            char uq[OKRD_QUOTE_MAX];
            okrd_quote(s + u0, i - u0, uq, sizeof uq);
            return okrd_err_set(err, OKRD_EINVAL, "%s: unknown duration unit %s (" DUR_UNITS_HINT ")", q, uq);
        }
        if (last_unit != N_DUR_UNITS && k <= last_unit)
            return okrd_err_set(err, OKRD_EINVAL,
                                "%s: name each unit once, largest first (e.g. \"1h30m\")", q);
        last_unit = k;
        int64_t part;
        if (__builtin_mul_overflow(v, dur_units[k].ms, &part) || __builtin_add_overflow(total, part, &total))
            return okrd_err_set(err, OKRD_ERANGE, "%s: duration too long", q);
    }
    *out_ms = total;
    return 0;
}

void okrd_format_duration(int64_t ms, char *buf, size_t size)
{
    char tmp[80];
    size_t o = 0;
    uint64_t left = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (ms < 0)
        tmp[o++] = '-';
    if (left == 0)
        o += (size_t)snprintf(tmp + o, sizeof tmp - o, "0s");
    for (size_t k = 0; k < N_DUR_UNITS && left; k++) {
        uint64_t u = (uint64_t)dur_units[k].ms;
        if (left >= u) {
            o += (size_t)snprintf(tmp + o, sizeof tmp - o, "%llu%s",
                                  (unsigned long long)(left / u), dur_units[k].name);
            left %= u;
        }
    }
    if (size)
        snprintf(buf, size, "%s", tmp);
}

/* ---- dates ---- */

int okrd_parse_date(const char *s, size_t n, int64_t *y, int *m, int *d, struct okrd_err *err)
{
    char q[OKRD_QUOTE_MAX];
    okrd_quote(s, n, q, sizeof q);
    static const char shape[] = "dddd-dd-dd";
    bool ok = n == 10;
    for (size_t i = 0; ok && i < 10; i++)
        ok = shape[i] == 'd' ? is_digit(s[i]) : s[i] == '-';
    if (!ok)
        return okrd_err_set(err, OKRD_EINVAL, "%s: expected a date YYYY-MM-DD", q);
    int64_t yy = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int mm = (s[5] - '0') * 10 + (s[6] - '0');
    int dd = (s[8] - '0') * 10 + (s[9] - '0');
    if (mm < 1 || mm > 12)
        return okrd_err_set(err, OKRD_EINVAL, "%s: no such month (%d)", q, mm);
    int dim = okrd_days_in_month(yy, mm);
    if (dd < 1 || dd > dim)
        return okrd_err_set(err, OKRD_EINVAL, "%s: no such day (%s %lld has %d days)",
                            q, month_names[mm - 1], (long long)yy, dim);
    *y = yy;
    *m = mm;
    *d = dd;
    return 0;
}

/* Timestamps okrd prints are years 0000..9999 (parse_time.c rejects others),
 * so the fixed-width formats below clamp rather than overflow. */
#define TS_MIN (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define TS_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

static int64_t clamp_ts(int64_t ts)
{
    return ts < TS_MIN ? TS_MIN : ts > TS_MAX ? TS_MAX : ts;
}

void okrd_format_utc(int64_t ts, char *buf, size_t size)
{
    ts = clamp_ts(ts);
    int64_t days = okrd_floor_div(ts, 86400), sod = ts - days * 86400, y;
    int m, d;
    okrd_civil_from_days(days, &y, &m, &d);
    if (size)
        snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, m, d,
                 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
}

void okrd_format_date(int64_t ts, const struct okrd_tz *tz, char *buf, size_t size)
{
    ts = clamp_ts(ts);
    int64_t local = ts + okrd_tz_offset_at(tz, ts), y;
    int m, d;
    okrd_civil_from_days(okrd_floor_div(local, 86400), &y, &m, &d);
    if (size)
        snprintf(buf, size, "%04d-%02d-%02d", (int)y, m, d);
}

/* ---- identifiers ---- */

bool okrd_valid_id(const char *s, size_t n)
{
    if (!s || n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == ':' || c == '-'))
            return false;
    }
    return true;
}
