/*
 * store_metrics.c — what the store holds per metric, for `okrd metrics` and
 * GET /api/v1/metrics (DESIGN section 6): the point count, the oldest and
 * newest point, the newest value and the sources that fed it.
 *
 * One query walks the metrics by name and counts each one's points on the
 * primary key (no sort, no temporary b-tree); the count is the only part
 * whose cost grows with the history (one pass over the points' keys). The
 * first and last timestamps, the newest value and the sources are indexed
 * look-ups per metric.
 * Statements are prepared per call and finalized before returning, so no
 * statement outlives the walk and pins a WAL snapshot; the callback may
 * call other store functions on the same connection.
 */
#include "sqlite_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct names {
    char **v;
    size_t n, cap;
};

static void names_clear(struct names *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    a->n = 0;
}

static int names_push(struct names *a, const char *s)
{
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 8;
        char **nv = realloc(a->v, ncap * sizeof *nv);
        if (!nv)
            return OKRD_ENOMEM;
        a->v = nv;
        a->cap = ncap;
    }
    if (!(a->v[a->n] = strdup(s)))
        return OKRD_ENOMEM;
    a->n++;
    return 0;
}

/* Fills m->last_value and *srcs for metric row ID. */
static int metric_details(struct store *s, sqlite3_stmt *last, sqlite3_stmt *sources, int64_t id,
                          struct store_metric_summary *m, struct names *srcs, struct okrd_err *err)
{
    int rc = 0, src;
    names_clear(srcs);
    if (m->points > 0) {
        sqlite3_bind_int64(last, 1, id);
        if ((src = sqlite3_step(last)) == SQLITE_ROW)
            m->last_value = sqlite3_column_double(last, 0);
        else if (src != SQLITE_DONE)
            rc = store_sqlerr(s, src, err, "read the newest point of \"%s\"", m->metric);
        sqlite3_reset(last);
    }
    sqlite3_bind_int64(sources, 1, id);
    while (!rc && (src = sqlite3_step(sources)) == SQLITE_ROW)
        if (names_push(srcs, (const char *)sqlite3_column_text(sources, 0)) < 0)
            rc = okrd_err_set(err, OKRD_ENOMEM, "store: list metrics: out of memory");
    if (!rc && src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "read the sources of \"%s\"", m->metric);
    sqlite3_reset(sources);
    m->sources = (const char *const *)srcs->v;
    m->n_sources = srcs->n;
    return rc;
}

int sq_each_metric_summary(struct store *s,
                              int (*cb)(void *ctx, const struct store_metric_summary *m),
                              void *ctx, struct okrd_err *err)
{
    /* Per metric, in name order (the metrics' UNIQUE index): a count over
     * its range of the points' primary key, which decodes no column, and
     * min/max as one probe each at the ends of that range. Measured on 1M
     * points this is about 3 times faster than a LEFT JOIN ... GROUP BY,
     * which decodes every row (docs/api.md gives the figure). */
    static const char sql_all[] =
        "SELECT m.id, m.name,"
        " (SELECT count(*) FROM points p WHERE p.metric_id = m.id),"
        " (SELECT min(ts) FROM points p WHERE p.metric_id = m.id),"
        " (SELECT max(ts) FROM points p WHERE p.metric_id = m.id)"
        " FROM metrics m ORDER BY m.name";
    static const char sql_last[] =
        "SELECT value FROM points WHERE metric_id = ?1 ORDER BY ts DESC LIMIT 1";
    static const char sql_sources[] =
        "SELECT source FROM metric_sources WHERE metric_id = ?1 ORDER BY source";
    sqlite3_stmt *all = NULL, *last = NULL, *sources = NULL;
    struct names srcs = { 0 };
    int src, rc = 0;
    if ((src = sqlite3_prepare_v2(SQ(s)->db, sql_all, -1, &all, NULL)) != SQLITE_OK ||
        (src = sqlite3_prepare_v2(SQ(s)->db, sql_last, -1, &last, NULL)) != SQLITE_OK ||
        (src = sqlite3_prepare_v2(SQ(s)->db, sql_sources, -1, &sources, NULL)) != SQLITE_OK) {
        rc = store_sqlerr(s, src, err, "list metrics");
        goto out;
    }
    while (!rc && (src = sqlite3_step(all)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(all, 0);
        struct store_metric_summary m = {
            .metric = (const char *)sqlite3_column_text(all, 1),
            .points = sqlite3_column_int64(all, 2),
            .first_s = sqlite3_column_int64(all, 3), /* NULL reads as 0 */
            .last_s = sqlite3_column_int64(all, 4),
            .last_value = NAN,
        };
        if ((rc = metric_details(s, last, sources, id, &m, &srcs, err)) == 0)
            rc = cb(ctx, &m);
    }
    if (!rc && src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "list metrics");
out:
    names_clear(&srcs);
    free(srcs.v);
    sqlite3_finalize(all);
    sqlite3_finalize(last);
    sqlite3_finalize(sources);
    return rc;
}
