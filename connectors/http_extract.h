/*
 * http_extract.h — turning an http_json response into points: the
 * `extract` entries of DESIGN section 3 applied to a parsed document.
 *
 * Pure (no I/O, no clock): the poll's start time and the zone come in as
 * arguments, so every preset shape is tested with tables. A response either
 * yields all its points or an error naming the extract entry, the element and
 * the pointer; a null value (an empty bucket) is skipped, not an error.
 */
#ifndef OKRD_HTTP_EXTRACT_H
#define OKRD_HTTP_EXTRACT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/okrd_err.h"
#include "common/tz.h"
#include "config/config.h"
#include "store/store.h"

/* A growable array of points. Metric ids point into the config (which
 * outlives every connector). Owned by whoever holds it. */
struct http_points {
    struct store_point_in *v;
    size_t n, cap;
    size_t skipped_null;   /* null values */
    size_t skipped_today;  /* skip_today */
};
void http_points_free(struct http_points *p);
int http_points_add(struct http_points *p, const char *metric, int64_t ts, double value);

/* A JSON value as a number: a number, or a numeric string ("1234.5", GA4);
 * *is_null for null. OKRD_EINVAL for anything else (NaN, "n/a", true, ...). */
int http_json_number(const json_t *v, double *out, bool *is_null, struct okrd_err *err);

/* A JSON value (number or string) as a timestamp per unit, strings in tz
 * when they carry no zone. */
int http_json_timestamp(const json_t *v, const struct okrd_tz *tz, enum okrd_ts_unit unit,
                        int64_t *out_s, struct okrd_err *err);

/* Applies EX[0..n) to DOC, appending to *out. poll_s stamps entries without
 * a timestamp and decides "today" for skip_today (in tz). On error *out may
 * hold part of the points; the caller drops them (a response is all or
 * nothing). */
int http_extract(const json_t *doc, const struct cfg_extract *ex, size_t n,
                 const struct okrd_tz *tz, int64_t poll_s, struct http_points *out,
                 struct okrd_err *err);

#endif
