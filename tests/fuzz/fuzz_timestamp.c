/*
 * fuzz_timestamp.c — okrd_parse_timestamp (every unit, UTC and a DST zone),
 * okrd_parse_duration_ms, okrd_parse_date and okrd_parse_timestamp_fmt.
 *
 * Properties beyond "no crash": a success is within years 0000..9999 and
 * formats back to a timestamp that parses to the same second; a parsed
 * duration formats back to itself; a failure always carries a message.
 * The input is not NUL-terminated, as in a CSV cell.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "common/tz.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void one_ts(const char *s, size_t n, const struct okrd_tz *tz, enum okrd_ts_unit unit)
{
    struct okrd_err err = { 0 };
    int64_t ts;
    int rc = okrd_parse_timestamp(s, n, tz, unit, &ts, &err);
    if (rc != 0) {
        check((rc == OKRD_EINVAL || rc == OKRD_ERANGE) && err.code == rc && err.msg[0]);
        return;
    }
    check(ts >= -62167219200LL && ts <= 253402300799LL);
    char buf[32];
    int64_t back;
    okrd_format_utc(ts, buf, sizeof buf);
    check(strlen(buf) == 20);
    check(okrd_parse_timestamp(buf, 20, NULL, OKRD_TS_AUTO, &back, NULL) == 0 && back == ts);
    okrd_format_date(ts, tz, buf, sizeof buf);
    okrd_tz_day_start(tz, ts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Opened per call: a zone is cheap, and a static would be state the
     * replay and libFuzzer runs share anyway. */
    struct okrd_tz *ny = NULL;
    okrd_tz_open(&ny, "America/New_York", NULL);
    const char *s = (const char *)data;

    one_ts(s, size, NULL, OKRD_TS_AUTO);
    one_ts(s, size, ny, OKRD_TS_AUTO);
    one_ts(s, size, ny, OKRD_TS_SECONDS);
    one_ts(s, size, NULL, OKRD_TS_MILLIS);

    struct okrd_err err = { 0 };
    int64_t ms, ts, y;
    int m, d;
    if (okrd_parse_duration_ms(s, size, &ms, &err) == 0) {
        char buf[64];
        int64_t back;
        okrd_format_duration(ms, buf, sizeof buf);
        check(okrd_parse_duration_ms(buf, strlen(buf), &back, NULL) == 0 && back == ms);
    } else {
        check(err.msg[0]);
    }
    if (okrd_parse_date(s, size, &y, &m, &d, NULL) == 0)
        check(y >= 0 && y <= 9999 && d >= 1 && d <= okrd_days_in_month(y, m));

    okrd_parse_timestamp_fmt(s, size, "%d/%m/%Y %H:%M:%S %z", ny, &ts, NULL);
    okrd_parse_timestamp_fmt(s, size, "%b %e %y %j%%", NULL, &ts, NULL);

    /* The input as a format, too (NUL-terminated copy, bounded). */
    char fmt[64];
    size_t fn = size < sizeof fmt - 1 ? size : sizeof fmt - 1;
    memcpy(fmt, data, fn);
    fmt[fn] = '\0';
    if (okrd_check_timestamp_fmt(fmt, NULL) == 0)
        okrd_parse_timestamp_fmt("2026-11-21 10:00:00", 19, fmt, ny, &ts, NULL);

    okrd_tz_close(ny);
    return 0;
}
