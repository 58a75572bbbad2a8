/*
 * fuzz_number.c — okrd_parse_number in both locales, with and without a
 * multi-byte strip set, and okrd_format_double's round trip.
 *
 * Properties: a parsed number is finite; its shortest text reads back (by
 * strtod and by okrd_parse_number) to the same bits; the input's first 8
 * bytes taken as a double also round-trip. The input is not NUL-terminated.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void round_trip(double v)
{
    char buf[32];
    okrd_format_double(v, buf, sizeof buf);
    if (!isfinite(v))
        return;
    double back = strtod(buf, NULL), p;
    check(memcmp(&back, &v, sizeof v) == 0);
    check(okrd_parse_number(buf, strlen(buf), NULL, &p, NULL) == 0 && memcmp(&p, &v, sizeof v) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct okrd_numfmt fmts[] = {
        { '.', NULL },
        { ',', NULL },
        { '.', "%$\xE2\x82\xAC\xC2\xA3 " },
        { ',', "%$\xE2\x82\xAC\xC2\xA3 " },
    };
    const char *s = (const char *)data;
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        struct okrd_err err = { 0 };
        double v;
        int rc = okrd_parse_number(s, size, &fmts[i], &v, &err);
        if (rc == 0) {
            check(isfinite(v));
            round_trip(v);
        } else {
            check((rc == OKRD_EINVAL || rc == OKRD_ERANGE) && err.code == rc && err.msg[0]);
        }
    }
    if (size >= 8) {
        double v;
        memcpy(&v, data, sizeof v);
        round_trip(v);
    }
    return 0;
}
