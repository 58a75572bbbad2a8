/*
 * tz.h — IANA time zones without process-global state.
 *
 * Dates in config, CSV files and HTTP responses are wall-clock times in
 * daemon.timezone and must become UTC seconds. glibc only converts through the
 * process-wide TZ variable (setenv + tzset + mktime), which is not safe while
 * the store's writer thread reads a CSV file and the loop parses an API
 * request, and which a reload would have to mutate. So okrd reads the zone's
 * TZif file (/usr/share/zoneinfo/NAME, or $TZDIR/NAME) itself into an
 * immutable, thread-shareable struct okrd_tz: its transitions, plus the
 * footer's POSIX TZ rule for times past the last transition.
 */
#ifndef OKRD_TZ_H
#define OKRD_TZ_H

#include <stdint.h>
#include "okrd_err.h"

struct okrd_tz;

/* Opens zone NAME ("UTC", "Europe/Berlin"). "UTC" and "Etc/UTC" need no file.
 * The caller owns *out and frees it with okrd_tz_close(). A NAME with "..",
 * a leading '/', or a file that is not TZif is OKRD_EINVAL with the reason. */
int okrd_tz_open(struct okrd_tz **out, const char *name, struct okrd_err *err);
void okrd_tz_close(struct okrd_tz *tz);

/* The zone's name as given to okrd_tz_open. Owned by tz. */
const char *okrd_tz_name(const struct okrd_tz *tz);

/* Offset from UTC, in seconds east (Berlin in winter: 3600), at UTC instant utc_s.
 * tz NULL means UTC. */
int32_t okrd_tz_offset_at(const struct okrd_tz *tz, int64_t utc_s);

/* UTC seconds for a local wall-clock time, given as seconds since
 * 1970-01-01 00:00 local (i.e. okrd_days_from_civil()*86400 + seconds of day).
 * In a gap (spring forward) the time is moved forward by the gap, as mktime
 * does; in an overlap (fall back) the earlier instant wins. tz NULL = UTC. */
int64_t okrd_tz_local_to_utc(const struct okrd_tz *tz, int64_t local_s);

/* The local midnight that starts the day containing utc_s, as UTC seconds. */
int64_t okrd_tz_day_start(const struct okrd_tz *tz, int64_t utc_s);

#endif
