/*
 * store_read.c — reads that summarise a metric instead of returning its
 * points, so a caller's cost does not grow with the stored history: a
 * capped count (the API checks its point cap before it loads a series), the
 * "only ever 0 and 1" question and the newest point of each of a list of
 * ranges (the lints of `okrd check`, DESIGN section 4).
 *
 * Each call prepares its statement (these run once per request or per
 * `okrd check`, not in a hot loop), binds the metric by name (an unknown
 * metric simply has no points) and finalizes before returning, so no
 * statement outlives the call and pins a WAL snapshot. Memory is O(1) in
 * the number of stored points.
 */
#include "sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st, const char *what,
                   const char *metric, struct okrd_err *err)
{
    int src = sqlite3_prepare_v2(SQ(s)->db, sql, -1, st, NULL);
    if (src != SQLITE_OK) {
        char q[48];
        return store_sqlerr(s, src, err, "%s of \"%s\"", what, store_quote(metric, q, sizeof q));
    }
    return 0;
}

int sq_count_points(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                       size_t limit, size_t *out, struct okrd_err *err)
{
    *out = 0;
    if (from_s >= to_s || limit == 0)
        return 0;
    sqlite3_stmt *st;
    /* The LIMIT inside stops the index walk at LIMIT rows: a range of ten
     * million points costs no more than one of LIMIT. */
    int rc = prepare(s,
                     "SELECT count(*) FROM (SELECT 1 FROM metrics m CROSS JOIN points p"
                     " ON p.metric_id = m.id WHERE m.name = ?1 AND p.ts >= ?2 AND p.ts < ?3"
                     " LIMIT ?4)",
                     &st, "count points", metric, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, metric, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from_s);
    sqlite3_bind_int64(st, 3, to_s);
    sqlite3_bind_int64(st, 4, limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *out = (size_t)sqlite3_column_int64(st, 0);
    } else {
        char q[48];
        rc = store_sqlerr(s, src, err, "count points of \"%s\"", store_quote(metric, q, sizeof q));
    }
    sqlite3_finalize(st);
    return rc;
}

int sq_metric_is_binary(struct store *s, const char *metric, bool *out,
                           struct okrd_err *err)
{
    *out = false;
    sqlite3_stmt *st;
    /* Two points at least (one point says nothing), and none that is not 0
     * or 1: the NOT EXISTS stops at the first other value, newest first,
     * which for a metric that is not binary is almost always the first row
     * it looks at. */
    int rc = prepare(s,
                     "SELECT (SELECT count(*) FROM (SELECT 1 FROM points p"
                     "        WHERE p.metric_id = m.id LIMIT 2)) >= 2"
                     " AND NOT EXISTS (SELECT 1 FROM points p WHERE p.metric_id = m.id"
                     "        AND p.value <> 0 AND p.value <> 1 ORDER BY p.ts DESC)"
                     " FROM metrics m WHERE m.name = ?1",
                     &st, "check the values", metric, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, metric, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0) != 0;
    } else if (src != SQLITE_DONE) { /* DONE: an unknown metric, no points */
        char q[48];
        rc = store_sqlerr(s, src, err, "check the values of \"%s\"",
                          store_quote(metric, q, sizeof q));
    }
    sqlite3_finalize(st);
    return rc;
}

int sq_newest_in_ranges(struct store *s, const char *metric, const int64_t *bounds,
                           size_t n_bounds, struct store_series *out, struct okrd_err *err)
{
    out->n = 0;
    if (n_bounds < 2)
        return 0;
    sqlite3_stmt *st;
    int rc = prepare(s,
                     "SELECT p.ts, p.value FROM metrics m CROSS JOIN points p"
                     " ON p.metric_id = m.id WHERE m.name = ?1 AND p.ts >= ?2 AND p.ts < ?3"
                     " ORDER BY p.ts DESC LIMIT 1",
                     &st, "read the newest points", metric, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, metric, -1, SQLITE_STATIC);
    for (size_t i = 0; i + 1 < n_bounds && !rc; i++) {
        if (bounds[i] >= bounds[i + 1])
            continue;
        sqlite3_bind_int64(st, 2, bounds[i]);
        sqlite3_bind_int64(st, 3, bounds[i + 1]);
        int src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            if (out->n == out->cap) {
                size_t ncap = out->cap ? out->cap * 2 : 64;
                struct store_point *np = realloc(out->pts, ncap * sizeof *np);
                if (!np) {
                    rc = okrd_err_set(err, OKRD_ENOMEM, "store: read the newest points: out of memory");
                    break;
                }
                out->pts = np;
                out->cap = ncap;
            }
            out->pts[out->n++] = (struct store_point){ sqlite3_column_int64(st, 0),
                                                       sqlite3_column_double(st, 1) };
        } else if (src != SQLITE_DONE) {
            char q[48];
            rc = store_sqlerr(s, src, err, "read the newest points of \"%s\"",
                              store_quote(metric, q, sizeof q));
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc)
        out->n = 0;
    return rc;
}
