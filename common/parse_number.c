/*
 * parse_number.c — decimal numbers as people and spreadsheets write them
 * ("1,234.5", "1.234,5", "1 234,5", "12.5%"), and the shortest text that
 * reads back to the same double.
 *
 * The grammar (sign, digits in groups of three, one decimal separator,
 * exponent) is checked here by hand; the value itself comes from strtod() on
 * a cleaned ASCII copy, so rounding is the C library's correct rounding.
 * strtod() and printf("%g") are locale dependent: they use LC_NUMERIC's
 * decimal point. okrd never calls setlocale(LC_NUMERIC), so it is always "C"
 * and '.' — whatever locale the machine or the CSV file uses.
 */
#include "parse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longer number texts (after strip) are junk, not numbers. */
#define NUM_MAX 256

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Is the UTF-8 character s[0..len) one of the characters of set? */
static bool in_set(const char *s, size_t len, const char *set)
{
    size_t n = strlen(set);
    for (size_t i = 0; i < n;) {
        size_t cl = okrd_utf8_len(set + i, n - i);
        if (cl == 0)
            cl = 1;
        if (cl == len && memcmp(set + i, s, len) == 0)
            return true;
        i += cl;
    }
    return false;
}

/* Length of a thousands separator at s (0 if none): the other one of '.' and
 * ',', a space, U+00A0 no-break space or U+202F narrow no-break space. */
static size_t group_sep_len(const char *s, size_t n, char decimal)
{
    if (n >= 1 && (s[0] == ' ' || s[0] == (decimal == '.' ? ',' : '.')))
        return 1;
    if (n >= 2 && memcmp(s, "\xC2\xA0", 2) == 0)
        return 2;
    if (n >= 3 && memcmp(s, "\xE2\x80\xAF", 3) == 0)
        return 3;
    return 0;
}

/* Exactly "nan", "inf" or "infinity", any case: what strtod would take for
 * a non-finite value. Other words starting with n or i ("n/a", "none") are
 * just not numbers, and are told so. */
static bool is_nan_or_inf(const char *s, size_t n)
{
    static const char *const words[] = { "nan", "inf", "infinity" };
    for (size_t k = 0; k < sizeof words / sizeof *words; k++)
        if (n == strlen(words[k]) && strncasecmp(s, words[k], n) == 0)
            return true;
    return false;
}

static size_t digit_run(const char *s, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && is_digit(s[j]))
        j++;
    return j - i;
}

int okrd_parse_number(const char *s, size_t n, const struct okrd_numfmt *fmt,
                      double *out, struct okrd_err *err)
{
    struct okrd_lazy_quote lq, *q = &lq;
    okrd_lazy_quote_init(q, s, n);
    char dec = fmt ? fmt->decimal : '.';
    const char *strip = fmt && fmt->strip ? fmt->strip : "";
    if (dec != '.' && dec != ',')
        return okrd_err_set(err, OKRD_EINVAL, "%s: the decimal separator must be \".\" or \",\"", okrd_lq(q));

    /* 1. Remove strip characters (whole UTF-8 characters: "€" is 3 bytes). */
    char t[NUM_MAX];
    size_t tn = 0;
    bool stripped = false;
    for (size_t i = 0; i < n;) {
        size_t cl = okrd_utf8_len(s + i, n - i);
        if (cl == 0)
            cl = 1;
        if (in_set(s + i, cl, strip)) {
            stripped = true;
        } else {
            if (tn + cl > sizeof t)
                return okrd_err_set(err, OKRD_EINVAL, "%s: too long for a number", okrd_lq(q));
            memcpy(t + tn, s + i, cl);
            tn += cl;
        }
        i += cl;
    }
    size_t a = 0;
    while (a < tn && is_space(t[a]))
        a++;
    while (tn > a && is_space(t[tn - 1]))
        tn--;
    if (a == tn)
        return okrd_err_set(err, OKRD_EINVAL, stripped ? "%s: no number left after removing the strip characters"
                                                       : "%s: empty value", okrd_lq(q));

    /* 2. Check the grammar and build an ASCII copy for strtod. */
    char c[NUM_MAX + 2];
    size_t cn = 0, i = a;
    if (t[i] == '+' || t[i] == '-')
        c[cn++] = t[i++];
    if (is_nan_or_inf(t + i, tn - i))
        return okrd_err_set(err, OKRD_EINVAL, "%s: not a finite number (NaN and Inf are not values)", okrd_lq(q));
    size_t run = digit_run(t, tn, i), int_digits = run;
    memcpy(c + cn, t + i, run);
    cn += run;
    i += run;
    size_t sl = run ? group_sep_len(t + i, tn - i, dec) : 0;
    if (sl && (i + sl >= tn || !is_digit(t[i + sl])))
        sl = 0; /* "12 kg": trailing text, not a separator */
    if (sl) {
        const char *sep = t + i;
        if (run > 3)
            goto misplaced;
        while (i < tn && group_sep_len(t + i, tn - i, dec) == sl && memcmp(t + i, sep, sl) == 0) {
            i += sl;
            if (digit_run(t, tn, i) != 3)
                goto misplaced;
            memcpy(c + cn, t + i, 3);
            cn += 3;
            i += 3;
            int_digits += 3;
        }
        if (i < tn && group_sep_len(t + i, tn - i, dec))
            return okrd_err_set(err, OKRD_EINVAL, "%s: mixed thousands separators", okrd_lq(q));
    }
    size_t frac_digits = 0;
    if (i < tn && t[i] == dec) {
        i++;
        frac_digits = digit_run(t, tn, i);
        if (frac_digits == 0)
            return okrd_err_set(err, OKRD_EINVAL, "%s: expected digits after the decimal separator \"%c\"", okrd_lq(q), dec);
        c[cn++] = '.';
        memcpy(c + cn, t + i, frac_digits);
        cn += frac_digits;
        i += frac_digits;
    }
    if (int_digits + frac_digits == 0)
        return okrd_err_set(err, OKRD_EINVAL, "%s: not a number", okrd_lq(q));
    if (i < tn && (t[i] == 'e' || t[i] == 'E')) {
        c[cn++] = t[i++];
        if (i < tn && (t[i] == '+' || t[i] == '-'))
            c[cn++] = t[i++];
        run = digit_run(t, tn, i);
        if (run == 0)
            return okrd_err_set(err, OKRD_EINVAL, "%s: expected digits in the exponent", okrd_lq(q));
        memcpy(c + cn, t + i, run);
        cn += run;
        i += run;
    }
    if (i < tn) {
        size_t gl = group_sep_len(t + i, tn - i, dec);
        if (gl && i + gl < tn && is_digit(t[i + gl]))
            goto misplaced;
        char rest[OKRD_QUOTE_MAX];
        okrd_quote(t + i, tn - i, rest, sizeof rest);
        return okrd_err_set(err, OKRD_EINVAL, "%s: unexpected %s after the number%s", okrd_lq(q), rest,
                            strip[0] ? "" : " (is a \"strip\" setting missing?)");
    }
    c[cn] = '\0';

    /* 3. strtod on the C-locale copy (see the top of the file). */
    double v = strtod(c, NULL);
    if (!isfinite(v))
        return okrd_err_set(err, OKRD_ERANGE, "%s: out of range for a number", okrd_lq(q));
    *out = v;
    return 0;

misplaced:
    return okrd_err_set(err, OKRD_EINVAL,
                        "%s: misplaced thousands separator (groups of three digits; the decimal separator is \"%c\")",
                        okrd_lq(q), dec);
}

void okrd_format_double(double v, char *buf, size_t size)
{
    char tmp[40];
    if (isnan(v)) {
        snprintf(tmp, sizeof tmp, "NaN");
    } else if (isinf(v)) {
        snprintf(tmp, sizeof tmp, v < 0 ? "-Inf" : "Inf");
    } else if (v == floor(v) && fabs(v) < 1e16) {
        /* Integers as integers ("1040", not "1.04e+03"); below 2^53 exact. */
        snprintf(tmp, sizeof tmp, "%.0f", v);
    } else {
        /* The shortest of 15, 16, 17 significant digits that reads back to
         * the same bits; 17 always does for IEEE doubles. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            double back = strtod(tmp, NULL);
            if (memcmp(&back, &v, sizeof v) == 0)
                break;
        }
    }
    if (size)
        snprintf(buf, size, "%s", tmp);
}
