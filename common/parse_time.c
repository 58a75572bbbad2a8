/*
 * parse_time.c — every timestamp form okrd accepts (DESIGN section 3), to UTC
 * seconds: ISO 8601 / RFC 3339, YYYYMMDD, DD.MM.YYYY, Unix numbers, and an
 * explicit strftime-style format.
 *
 * Wall-clock times without a zone go through okrd_tz_local_to_utc() (tz.c),
 * never through mktime()/strptime(): those read the process-wide TZ and the
 * locale, and the store's writer thread parses CSV files while the loop parses
 * API requests. Results are limited to the years 0000..9999, so every
 * timestamp prints as the fixed-width "YYYY-MM-DDTHH:MM:SSZ".
 */
#include "parse.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define TS_MIN (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define TS_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

static const char *const month_names[12] = {
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Reads min..max digits at s[*i] (greedy); false when fewer than min. */
static bool read_digits(const char *s, size_t n, size_t *i, int min, int max, int *out)
{
    int v = 0, k = 0;
    while (k < max && *i < n && is_digit(s[*i])) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    *out = v;
    return k >= min;
}

static int check_ymd(struct okrd_lazy_quote *q, int64_t y, int m, int d, struct okrd_err *err)
{
    if (m < 1 || m > 12)
        return okrd_err_set(err, OKRD_EINVAL, "%s: no such month (%d)", okrd_lq(q), m);
    int dim = okrd_days_in_month(y, m);
    if (d < 1 || d > dim)
        return okrd_err_set(err, OKRD_EINVAL, "%s: no such day (%s %lld has %d days)",
                            okrd_lq(q), month_names[m - 1], (long long)y, dim);
    return 0;
}

static int check_hms(struct okrd_lazy_quote *q, int h, int mi, int sec, struct okrd_err *err)
{
    /* :60 is a leap second; POSIX time has none, so it reads as :59. */
    if (h > 23 || mi > 59 || sec > 60)
        return okrd_err_set(err, OKRD_EINVAL, "%s: no such time of day (%02d:%02d:%02d)", okrd_lq(q), h, mi, sec);
    return 0;
}

static int finish(struct okrd_lazy_quote *q, int64_t ts, int64_t *out_s, struct okrd_err *err)
{
    if (ts < TS_MIN || ts > TS_MAX)
        return okrd_err_set(err, OKRD_ERANGE, "%s: out of range (years 0000 to 9999)", okrd_lq(q));
    *out_s = ts;
    return 0;
}

/* Wall-clock y-m-d h:mi:sec in tz (or at a fixed offset when has_off). */
static int wall_to_utc(struct okrd_lazy_quote *q, int64_t y, int m, int d, int h, int mi, int sec,
                       bool has_off, int32_t off, const struct okrd_tz *tz,
                       int64_t *out_s, struct okrd_err *err)
{
    int rc = check_ymd(q, y, m, d, err);
    if (rc == 0)
        rc = check_hms(q, h, mi, sec, err);
    if (rc)
        return rc;
    if (sec == 60)
        sec = 59;
    int64_t local = okrd_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + sec;
    return finish(q, has_off ? local - off : okrd_tz_local_to_utc(tz, local), out_s, err);
}

/* "Z", "+02:00", "+0200", "+02" at s[*i]; false if none matches. */
static bool read_offset(const char *s, size_t n, size_t *i, int32_t *off)
{
    size_t j = *i;
    if (j < n && (s[j] == 'Z' || s[j] == 'z')) {
        *i = j + 1;
        *off = 0;
        return true;
    }
    if (j >= n || (s[j] != '+' && s[j] != '-'))
        return false;
    int sign = s[j] == '-' ? -1 : 1, hh, mm = 0;
    j++;
    size_t h0 = j;
    if (!read_digits(s, n, &j, 2, 2, &hh) || j != h0 + 2)
        return false;
    if (j < n && s[j] == ':') {
        j++;
        if (!read_digits(s, n, &j, 2, 2, &mm))
            return false;
    } else if (j < n && is_digit(s[j])) {
        if (!read_digits(s, n, &j, 2, 2, &mm))
            return false;
    }
    if (hh > 23 || mm > 59)
        return false;
    *off = sign * (hh * 3600 + mm * 60);
    *i = j;
    return true;
}

static bool has_shape(const char *s, size_t n, const char *shape)
{
    size_t k = strlen(shape);
    if (n < k)
        return false;
    for (size_t i = 0; i < k; i++)
        if (shape[i] == 'd' ? !is_digit(s[i]) : s[i] != shape[i])
            return false;
    return true;
}

/* "YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|±HH[:]MM]" */
static int parse_iso(struct okrd_lazy_quote *q, const char *s, size_t n, const struct okrd_tz *tz,
                     int64_t *out_s, struct okrd_err *err)
{
    int64_t y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    int h = 0, mi = 0, sec = 0;
    int32_t off = 0;
    bool has_off = false;
    size_t i = 10;
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
            return okrd_err_set(err, OKRD_EINVAL, "%s: expected \"T\" or a space after the date", okrd_lq(q));
        i++;
        if (!read_digits(s, n, &i, 2, 2, &h) || i >= n || s[i] != ':' ||
            (i++, !read_digits(s, n, &i, 2, 2, &mi)))
            return okrd_err_set(err, OKRD_EINVAL, "%s: expected a time HH:MM[:SS] after the date", okrd_lq(q));
        if (i < n && s[i] == ':') {
            i++;
            if (!read_digits(s, n, &i, 2, 2, &sec))
                return okrd_err_set(err, OKRD_EINVAL, "%s: expected seconds SS after HH:MM:", okrd_lq(q));
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                /* Fractions are floored to the second: the digits are skipped. */
                size_t f0 = ++i;
                while (i < n && is_digit(s[i]))
                    i++;
                if (i == f0)
                    return okrd_err_set(err, OKRD_EINVAL, "%s: expected digits after the decimal point", okrd_lq(q));
            }
        }
        if (i < n) {
            has_off = read_offset(s, n, &i, &off);
            if (!has_off)
                return okrd_err_set(err, OKRD_EINVAL,
                                    "%s: expected \"Z\" or an offset like \"+02:00\" after the time", okrd_lq(q));
        }
        if (i < n)
            return okrd_err_set(err, OKRD_EINVAL, "%s: unexpected text after the offset", okrd_lq(q));
    }
    return wall_to_utc(q, y, m, d, h, mi, sec, has_off, off, tz, out_s, err);
}

/* "DD.MM.YYYY[ HH:MM[:SS]]", day and month with one or two digits. */
static int parse_dmy(struct okrd_lazy_quote *q, const char *s, size_t n, const struct okrd_tz *tz,
                     int64_t *out_s, struct okrd_err *err)
{
    size_t i = 0;
    int d, m, y, h = 0, mi = 0, sec = 0;
    if (!read_digits(s, n, &i, 1, 2, &d) || i >= n || s[i++] != '.' ||
        !read_digits(s, n, &i, 1, 2, &m) || i >= n || s[i++] != '.')
        return okrd_err_set(err, OKRD_EINVAL, "%s: expected a date DD.MM.YYYY", okrd_lq(q));
    size_t y0 = i;
    if (!read_digits(s, n, &i, 4, 4, &y) || i != y0 + 4 || (i < n && is_digit(s[i])))
        return okrd_err_set(err, OKRD_EINVAL, "%s: expected a date DD.MM.YYYY", okrd_lq(q));
    if (i < n) {
        if (s[i] != ' ')
            return okrd_err_set(err, OKRD_EINVAL, "%s: unexpected text after the date", okrd_lq(q));
        i++;
        if (!read_digits(s, n, &i, 1, 2, &h) || i >= n || s[i] != ':' ||
            (i++, !read_digits(s, n, &i, 2, 2, &mi)) ||
            (i < n && (s[i] != ':' || (i++, !read_digits(s, n, &i, 2, 2, &sec)))) || i < n)
            return okrd_err_set(err, OKRD_EINVAL, "%s: expected a time HH:MM[:SS] after the date", okrd_lq(q));
    }
    return wall_to_utc(q, y, m, d, h, mi, sec, false, 0, tz, out_s, err);
}

/* [+-]digits[.digits] as Unix seconds or milliseconds, floored to the second. */
static int parse_unix(struct okrd_lazy_quote *q, const char *s, size_t n, enum okrd_ts_unit unit,
                      int64_t *out_s, struct okrd_err *err)
{
    size_t i = 0;
    bool neg = false, frac = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    size_t d0 = i;
    int64_t mag = 0;
    for (; i < n && is_digit(s[i]); i++) {
        if (__builtin_mul_overflow(mag, 10, &mag) || __builtin_add_overflow(mag, s[i] - '0', &mag))
            return okrd_err_set(err, OKRD_ERANGE, "%s: out of range (years 0000 to 9999)", okrd_lq(q));
    }
    if (i == d0)
        goto bad;
    if (i < n && s[i] == '.') {
        size_t f0 = ++i;
        for (; i < n && is_digit(s[i]); i++)
            frac |= s[i] != '0';
        if (i == f0)
            goto bad;
    }
    if (i != n)
        goto bad;
    int64_t k = 1;
    if (unit == OKRD_TS_MILLIS || (unit == OKRD_TS_AUTO && (mag > 100000000000LL || (mag == 100000000000LL && frac))))
        k = 1000;
    /* floor(±(mag + frac) / k) with frac in [0, 1) */
    int64_t ts = neg ? -(frac ? mag / k + 1 : (mag + k - 1) / k) : mag / k;
    return finish(q, ts, out_s, err);
bad:
    return okrd_err_set(err, OKRD_EINVAL,
                        "%s: not a timestamp (expected YYYY-MM-DD[THH:MM:SS][Z|+HH:MM], "
                        "YYYYMMDD, DD.MM.YYYY or Unix seconds)", okrd_lq(q));
}

int okrd_parse_timestamp(const char *s, size_t n, const struct okrd_tz *tz,
                         enum okrd_ts_unit unit, int64_t *out_s, struct okrd_err *err)
{
    while (n && is_space(*s))
        s++, n--;
    while (n && is_space(s[n - 1]))
        n--;
    struct okrd_lazy_quote lq, *q = &lq;
    okrd_lazy_quote_init(q, s, n);
    if (n == 0)
        return okrd_err_set(err, OKRD_EINVAL, "%s: empty timestamp", okrd_lq(q));
    if (has_shape(s, n, "dddd-dd-dd"))
        return parse_iso(q, s, n, tz, out_s, err);
    size_t dot = 0;
    while (dot < n && dot < 3 && is_digit(s[dot]))
        dot++;
    if (dot >= 1 && dot <= 2 && dot < n && s[dot] == '.' && memchr(s + dot + 1, '.', n - dot - 1))
        return parse_dmy(q, s, n, tz, out_s, err);
    /* An explicit unit says the source sends numbers: no YYYYMMDD guess. */
    if (n == 8 && unit == OKRD_TS_AUTO && has_shape(s, n, "dddddddd")) {
        int64_t y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        int m = (s[4] - '0') * 10 + (s[5] - '0'), d = (s[6] - '0') * 10 + (s[7] - '0');
        return wall_to_utc(q, y, m, d, 0, 0, 0, false, 0, tz, out_s, err);
    }
    return parse_unix(q, s, n, unit, out_s, err);
}

int okrd_timestamp_from_number(double v, enum okrd_ts_unit unit, int64_t *out_s,
                               struct okrd_err *err)
{
    if (isnan(v) || isinf(v))
        return okrd_err_set(err, OKRD_EINVAL, "%s: not a timestamp", isnan(v) ? "NaN" : v < 0 ? "-Inf" : "Inf");
    bool ms = unit == OKRD_TS_MILLIS || (unit == OKRD_TS_AUTO && fabs(v) > 1e11);
    double f = floor(v);
    /* Range-check before converting: a double outside int64 is undefined. */
    if (f < (ms ? TS_MIN * 1000.0 : (double)TS_MIN) || f > (ms ? TS_MAX * 1000.0 + 999 : (double)TS_MAX))
        return okrd_err_set(err, OKRD_ERANGE, "%.17g: out of range (years 0000 to 9999)", v);
    int64_t t = (int64_t)f;
    if (ms)
        t = t >= 0 ? t / 1000 : -((-t + 999) / 1000);
    *out_s = t;
    return 0;
}

/* ---- strftime-style formats ---- */

struct fmt_fields {
    int64_t y;
    int m, d, H, M, S, yday;
    bool has_y, has_yday, has_off;
    int32_t off;
};

static const char fmt_known[] = "YmdHMSybBheFTjz%";

/* Reads one conversion c at s[*i]; false if the input does not match it. */
static bool read_conv(char c, const char *s, size_t n, size_t *i, struct fmt_fields *f)
{
    int v;
    switch (c) {
    case 'Y': if (!read_digits(s, n, i, 1, 4, &v)) return false; f->y = v; f->has_y = true; return true;
    case 'y':
        if (!read_digits(s, n, i, 1, 2, &v))
            return false;
        f->y = v < 69 ? 2000 + v : 1900 + v; /* POSIX: 69..99 are 19xx */
        f->has_y = true;
        return true;
    case 'm': return read_digits(s, n, i, 1, 2, &f->m) && f->m >= 1 && f->m <= 12;
    case 'e':
        if (*i < n && s[*i] == ' ')
            (*i)++;
        /* fall through */
    case 'd': return read_digits(s, n, i, 1, 2, &f->d) && f->d >= 1 && f->d <= 31;
    case 'H': return read_digits(s, n, i, 1, 2, &f->H) && f->H <= 23;
    case 'M': return read_digits(s, n, i, 1, 2, &f->M) && f->M <= 59;
    case 'S': return read_digits(s, n, i, 1, 2, &f->S) && f->S <= 60;
    case 'j':
        f->has_yday = true;
        return read_digits(s, n, i, 1, 3, &f->yday) && f->yday >= 1 && f->yday <= 366;
    case 'b': case 'B': case 'h':
        /* English names, full or three letters, any case: not the locale's. */
        for (int k = 0; k < 12; k++) {
            size_t len = strlen(month_names[k]);
            for (int pass = 0; pass < 2; pass++, len = 3) {
                size_t j = 0;
                while (j < len && *i + j < n && lower(s[*i + j]) == lower(month_names[k][j]))
                    j++;
                if (j == len) {
                    *i += len;
                    f->m = k + 1;
                    return true;
                }
            }
        }
        return false;
    case 'F':
        return read_conv('Y', s, n, i, f) && *i < n && s[(*i)++] == '-' &&
               read_conv('m', s, n, i, f) && *i < n && s[(*i)++] == '-' && read_conv('d', s, n, i, f);
    case 'T':
        return read_conv('H', s, n, i, f) && *i < n && s[(*i)++] == ':' &&
               read_conv('M', s, n, i, f) && *i < n && s[(*i)++] == ':' && read_conv('S', s, n, i, f);
    case 'z': f->has_off = true; return read_offset(s, n, i, &f->off);
    case '%': return *i < n && s[(*i)++] == '%';
    default: return false;
    }
}

int okrd_check_timestamp_fmt(const char *fmt, struct okrd_err *err)
{
    struct okrd_lazy_quote lq, *q = &lq;
    size_t n = fmt ? strlen(fmt) : 0;
    okrd_lazy_quote_init(q, fmt ? fmt : "", n);
    bool year = false;
    for (size_t i = 0; i < n; i++) {
        if (fmt[i] != '%')
            continue;
        char c = ++i < n ? fmt[i] : '\0';
        if (c == '\0' || !strchr(fmt_known, c))
            return okrd_err_set(err, OKRD_EINVAL,
                                "timestamp format %s: unknown directive \"%%%c\" (use %%Y %%m %%d %%H %%M %%S "
                                "%%y %%b %%e %%j %%z %%F %%T %%%%)", okrd_lq(q), c >= 0x20 && c < 0x7F ? c : '?');
        year |= c == 'Y' || c == 'y' || c == 'F';
    }
    if (!year)
        return okrd_err_set(err, OKRD_EINVAL, "timestamp format %s: has no year (%%Y, %%y or %%F)", okrd_lq(q));
    return 0;
}

int okrd_parse_timestamp_fmt(const char *s, size_t n, const char *fmt,
                             const struct okrd_tz *tz, int64_t *out_s, struct okrd_err *err)
{
    int rc = okrd_check_timestamp_fmt(fmt, err);
    if (rc)
        return rc;
    while (n && is_space(*s))
        s++, n--;
    while (n && is_space(s[n - 1]))
        n--;
    struct okrd_lazy_quote lq, lfq, *q = &lq, *fq = &lfq;
    okrd_lazy_quote_init(q, s, n);
    okrd_lazy_quote_init(fq, fmt, strlen(fmt));
    struct fmt_fields f = { .m = 1, .d = 1 };
    size_t i = 0;
    for (const char *p = fmt; *p; p++) {
        if (is_space(*p)) {
            /* As in strptime: white space matches any amount of it. */
            while (i < n && is_space(s[i]))
                i++;
            continue;
        }
        size_t at = i;
        bool directive = *p == '%'; /* a trailing lone '%' was refused above */
        char want = directive ? *++p : *p;
        bool ok = directive ? read_conv(want, s, n, &i, &f) : (i < n && s[i++] == want);
        if (!ok) {
            char rest[OKRD_QUOTE_MAX];
            okrd_quote(s + at, n - at, rest, sizeof rest);
            return okrd_err_set(err, OKRD_EINVAL, "%s: does not match format %s at %s (expected %s%c%s)",
                                okrd_lq(q), okrd_lq(fq), rest, directive ? "%" : "\"", want, directive ? "" : "\"");
        }
    }
    if (i < n) {
        char rest[OKRD_QUOTE_MAX];
        okrd_quote(s + i, n - i, rest, sizeof rest);
        return okrd_err_set(err, OKRD_EINVAL, "%s: unexpected %s after format %s", okrd_lq(q), rest, okrd_lq(fq));
    }
    if (f.has_yday) {
        int ylen = 365 + (okrd_days_in_month(f.y, 2) == 29);
        if (f.yday > ylen)
            return okrd_err_set(err, OKRD_EINVAL, "%s: no such day of year (%lld has %d days)",
                                okrd_lq(q), (long long)f.y, ylen);
        int64_t y;
        okrd_civil_from_days(okrd_days_from_civil(f.y, 1, 1) + f.yday - 1, &y, &f.m, &f.d);
    }
    return wall_to_utc(q, f.y, f.m, f.d, f.H, f.M, f.S, f.has_off, f.off, tz, out_s, err);
}
