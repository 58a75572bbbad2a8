/*
 * pg_read.c — reading points and metrics on PostgreSQL: series, the last
 * point, the capped count, the binary lint, the newest point of each of a
 * list of ranges, the walks (every point, every metric, every metric's
 * summary).
 *
 * Each read is one statement where SQLite needs several (one snapshot by
 * construction, one round trip): the prior point and the window come in one
 * UNION ALL, the ranges in one LATERAL join over unnest()ed bounds. A read
 * of more than one statement runs in pg_read_enter's REPEATABLE READ
 * snapshot. The point walk reads through a cursor in chunks, so memory
 * stays bounded whatever the store holds and the callback may use the
 * connection between chunks (the SQLite walk allows that too).
 * Orders are byte orders: the text columns are COLLATE "C".
 */
#include "pg_internal.h"

#include <endian.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int series_push(struct store_series *out, int64_t ts, double v)
{
    if (out->n == out->cap) {
        size_t ncap = out->cap ? out->cap * 2 : 64;
        while (ncap < out->n + 1)
            ncap *= 2;
        struct store_point *np = realloc(out->pts, ncap * sizeof *np);
        if (!np)
            return OKRD_ENOMEM;
        out->pts = np;
        out->cap = ncap;
    }
    out->pts[out->n++] = (struct store_point){ ts, v };
    return 0;
}

/* Appends R's (ts, value) rows to out, all or nothing. */
static int append_rows(PGresult *r, struct store_series *out, const char *what, const char *metric,
                       struct okrd_err *err)
{
    size_t n0 = out->n;
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        if (series_push(out, pg_col_int64(r, i, 0), pg_col_double(r, i, 1))) {
            char q[64];
            out->n = n0;
            return okrd_err_set(err, OKRD_ENOMEM, "store: %s \"%s\": out of memory", what,
                                pg_quote(metric, q, sizeof q));
        }
    }
    return 0;
}

/* A binary result's bigint / double precision column (network byte
 * order, 8 bytes): false when it is not that (NULL, another width). */
static bool bin8(const PGresult *r, int row, int col, uint64_t *out)
{
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
        return false;
    uint64_t be;
    memcpy(&be, PQgetvalue(r, row, col), 8);
    *out = be64toh(be);
    return true;
}

/* append_rows for a binary (ts bigint, value double precision) result:
 * a series of 365 points is read without a strtod per point. */
static int append_rows_binary(PGresult *r, struct store_series *out, const char *what,
                              const char *metric, struct okrd_err *err)
{
    size_t n0 = out->n;
    int rows = PQntuples(r);
    char q[64];
    for (int i = 0; i < rows; i++) {
        uint64_t ts, bits;
        double v;
        if (!bin8(r, i, 0, &ts) || !bin8(r, i, 1, &bits)) {
            out->n = n0;
            return okrd_err_set(err, OKRD_ESTORE, "store: %s \"%s\": row %d is not (bigint, "
                                "double precision)", what, pg_quote(metric, q, sizeof q), i);
        }
        memcpy(&v, &bits, sizeof v);
        if (series_push(out, (int64_t)ts, v)) {
            out->n = n0;
            return okrd_err_set(err, OKRD_ENOMEM, "store: %s \"%s\": out of memory", what,
                                pg_quote(metric, q, sizeof q));
        }
    }
    return 0;
}

static const char SQL_SERIES[] =
    "SELECT p.ts, p.value FROM points p JOIN metrics m ON p.metric_id = m.id"
    " WHERE m.name = $1 AND p.ts >= $2 AND p.ts < $3 ORDER BY p.ts";

int pg_get_series(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                  struct store_series *out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    if (from_s >= to_s)
        return 0;
    char q[64];
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, metric);
    pg_param_int64(&pp, from_s);
    pg_param_int64(&pp, to_s);
    PGresult *r = pg_query_cached(p, SQL_SERIES, &pp, err, "read series \"%s\"",
                                  pg_quote(metric, q, sizeof q));
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = append_rows(r, out, "read series", metric, err);
    PQclear(r);
    return rc;
}

/* By metric id (pg_metric_id's per-connection map: ids never change), so
 * the statement the evaluation runs once per key result joins nothing. */
static const char SQL_WITH_PRIOR[] =
    "SELECT ts, value FROM ("
    " (SELECT ts, value FROM points WHERE metric_id = $1 AND ts < $2 ORDER BY ts DESC LIMIT 1)"
    " UNION ALL"
    " (SELECT ts, value FROM points WHERE metric_id = $1 AND ts >= $2 AND ts < $3)"
    ") x ORDER BY ts";

int pg_get_series_with_prior(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                             struct store_series *out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    out->n = 0;
    char q[64];
    int64_t id;
    int rc = pg_metric_id(p, metric, false, &id, err);
    if (rc == OKRD_ENOTFOUND)
        return 0; /* no point was ever stored: an empty series */
    if (rc)
        return rc;
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_int64(&pp, id);
    pg_param_int64(&pp, from_s);
    pg_param_int64(&pp, to_s);
    PGresult *r = pg_query_cached_binary(p, SQL_WITH_PRIOR, &pp, err, "read series \"%s\"",
                                         pg_quote(metric, q, sizeof q));
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    rc = append_rows_binary(r, out, "read series", metric, err);
    PQclear(r);
    return rc;
}

static const char SQL_LAST[] =
    "SELECT ts, value FROM points WHERE metric_id = $1 AND ts <= $2 ORDER BY ts DESC LIMIT 1";

int pg_last_point(struct store *s, const char *metric, int64_t at_s, struct store_point *out,
                  struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    char q[64];
    int64_t id;
    int rc = pg_metric_id(p, metric, false, &id, err);
    if (rc == OKRD_ENOTFOUND)
        return okrd_err_set(err, OKRD_ENOTFOUND, "store: metric \"%s\" has no points",
                            pg_quote(metric, q, sizeof q));
    if (rc)
        return rc;
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_int64(&pp, id);
    pg_param_int64(&pp, at_s);
    PGresult *r = pg_query_cached(p, SQL_LAST, &pp, err, "read the last point of \"%s\"",
                                  pg_quote(metric, q, sizeof q));
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    if (PQntuples(r) == 1) {
        out->ts = pg_col_int64(r, 0, 0);
        out->value = pg_col_double(r, 0, 1);
    } else {
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: metric \"%s\" has no point at or before %lld",
                          pg_quote(metric, q, sizeof q), (long long)at_s);
    }
    PQclear(r);
    return rc;
}

int pg_count_points(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                    size_t limit, size_t *out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    *out = 0;
    if (from_s >= to_s || limit == 0)
        return 0;
    /* The LIMIT inside stops the index walk at LIMIT rows. */
    static const char sql[] =
        "SELECT count(*) FROM (SELECT 1 FROM points p JOIN metrics m ON p.metric_id = m.id"
        " WHERE m.name = $1 AND p.ts >= $2 AND p.ts < $3 LIMIT $4) x";
    char q[64];
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, metric);
    pg_param_int64(&pp, from_s);
    pg_param_int64(&pp, to_s);
    pg_param_int64(&pp, limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit);
    PGresult *r = pg_query_cached(p, sql, &pp, err, "count points of \"%s\"",
                                  pg_quote(metric, q, sizeof q));
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    *out = (size_t)pg_col_int64(r, 0, 0);
    PQclear(r);
    return 0;
}

int pg_metric_is_binary(struct store *s, const char *metric, bool *out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    *out = false;
    static const char sql[] =
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM points p WHERE p.metric_id = m.id LIMIT 2) x)"
        " >= 2 AND NOT EXISTS (SELECT 1 FROM points p WHERE p.metric_id = m.id"
        " AND p.value <> 0 AND p.value <> 1)"
        " FROM metrics m WHERE m.name = $1";
    char q[64];
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, metric);
    PGresult *r = pg_query_cached(p, sql, &pp, err, "check the values of \"%s\"",
                                  pg_quote(metric, q, sizeof q));
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    if (PQntuples(r) == 1) /* none: an unknown metric, no points */
        *out = pg_col_text(r, 0, 0)[0] == 't';
    PQclear(r);
    return 0;
}

int pg_newest_in_ranges(struct store *s, const char *metric, const int64_t *bounds,
                        size_t n_bounds, struct store_series *out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    out->n = 0;
    if (n_bounds < 2)
        return 0;
    /* One round trip: each range [lo, hi) probes the primary key once. */
    static const char sql[] =
        "SELECT x.ts, x.value FROM metrics m"
        " CROSS JOIN unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS b(lo, hi, i)"
        " CROSS JOIN LATERAL (SELECT p.ts, p.value FROM points p WHERE p.metric_id = m.id"
        "  AND p.ts >= b.lo AND p.ts < b.hi ORDER BY p.ts DESC LIMIT 1) x"
        " WHERE m.name = $1 ORDER BY b.i";
    size_t cap = 2 + 22 * n_bounds;
    char *lo = malloc(cap), *hi = malloc(cap);
    char q[64];
    if (!lo || !hi) {
        free(lo);
        free(hi);
        return okrd_err_set(err, OKRD_ENOMEM, "store: read the newest points: out of memory");
    }
    size_t a = 0, b = 0;
    lo[a++] = '{';
    hi[b++] = '{';
    for (size_t i = 0; i + 1 < n_bounds; i++) {
        a += (size_t)snprintf(lo + a, cap - a, "%s%lld", i ? "," : "", (long long)bounds[i]);
        b += (size_t)snprintf(hi + b, cap - b, "%s%lld", i ? "," : "", (long long)bounds[i + 1]);
    }
    lo[a++] = '}';
    lo[a] = '\0';
    hi[b++] = '}';
    hi[b] = '\0';
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, metric);
    pg_param_text(&pp, lo);
    pg_param_text(&pp, hi);
    PGresult *r = pg_query_cached(p, sql, &pp, err, "read the newest points of \"%s\"",
                                  pg_quote(metric, q, sizeof q));
    free(lo);
    free(hi);
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = append_rows(r, out, "read the newest points of", metric, err);
    PQclear(r);
    if (rc)
        out->n = 0;
    return rc;
}

/* ---- walks ---- */

#define WALK_FETCH 10000

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Runs the cursor CUR over the rows of DECLARE and calls cb per row;
 * metric NULL: the name is column 2. */
static int walk_cursor(struct store_pg *p, const char *cur, const char *declare,
                       const struct pg_params *pp, const char *metric, store_point_cb cb,
                       void *ctx, struct okrd_err *err)
{
    char sql[160];
    if (pg_exec(p, declare, pp, NULL, err, "read points"))
        return err ? err->code : OKRD_ESTORE;
    snprintf(sql, sizeof sql, "FETCH %d FROM %s", WALK_FETCH, cur);
    int rc = 0;
    for (;;) {
        PGresult *r = pg_query(p, sql, NULL, err, "read points");
        if (!r) {
            rc = err ? err->code : OKRD_ESTORE;
            break;
        }
        int rows = PQntuples(r);
        for (int i = 0; i < rows && !rc; i++)
            rc = cb(ctx, metric ? metric : pg_col_text(r, i, 2), pg_col_int64(r, i, 0),
                    pg_col_double(r, i, 1));
        PQclear(r);
        if (rc || rows < WALK_FETCH)
            break;
    }
    if (PQtransactionStatus(p->conn) == PQTRANS_INTRANS) {
        snprintf(sql, sizeof sql, "CLOSE %s", cur);
        pg_exec(p, sql, NULL, NULL, NULL, "close a cursor");
    }
    return rc;
}

int pg_each_point(struct store *s, const char *const *metrics, size_t n_metrics, int64_t from_s,
                  int64_t to_s, store_point_cb cb, void *ctx, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    bool own;
    int rc = pg_read_enter(p, &own, err);
    if (rc)
        return rc;
    /* A name of this walk's own: a callback may start another walk. */
    char cur[48], declare[512];
    snprintf(cur, sizeof cur, "okrd_walk_%lx", (unsigned long)(uintptr_t)&cur);
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_int64(&pp, from_s);
    pg_param_int64(&pp, to_s);
    if (n_metrics == 0) {
        snprintf(declare, sizeof declare,
                 "DECLARE %s NO SCROLL CURSOR FOR SELECT p.ts, p.value, m.name FROM metrics m"
                 " JOIN points p ON p.metric_id = m.id WHERE p.ts >= $1 AND p.ts < $2"
                 " ORDER BY m.name, p.ts", cur);
        rc = walk_cursor(p, cur, declare, &pp, NULL, cb, ctx, err);
    } else {
        const char **names = malloc(n_metrics * sizeof *names);
        if (!names) {
            pg_read_leave(p, own);
            return okrd_err_set(err, OKRD_ENOMEM, "store: read points: out of memory");
        }
        memcpy(names, metrics, n_metrics * sizeof *names);
        qsort(names, n_metrics, sizeof *names, cmp_names);
        snprintf(declare, sizeof declare,
                 "DECLARE %s NO SCROLL CURSOR FOR SELECT p.ts, p.value FROM metrics m"
                 " JOIN points p ON p.metric_id = m.id WHERE p.ts >= $1 AND p.ts < $2"
                 " AND m.name = $3 ORDER BY p.ts", cur);
        for (size_t i = 0; i < n_metrics && !rc; i++) {
            if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
                continue;
            pp.n = 2;
            pg_param_text(&pp, names[i]);
            rc = walk_cursor(p, cur, declare, &pp, names[i], cb, ctx, err);
        }
        free(names);
    }
    pg_read_leave(p, own);
    return rc;
}

int pg_each_metric(struct store *s, int (*cb)(void *ctx, const char *metric), void *ctx,
                   struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    PGresult *r = pg_query(p, "SELECT name FROM metrics ORDER BY name", NULL, err,
                           "list metrics");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0, rows = PQntuples(r);
    for (int i = 0; i < rows && !rc; i++)
        rc = cb(ctx, pg_col_text(r, i, 0));
    PQclear(r);
    return rc;
}

int pg_each_metric_summary(struct store *s,
                           int (*cb)(void *ctx, const struct store_metric_summary *m), void *ctx,
                           struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    /* Per metric: count, first and last over its range of the primary
     * key, the newest value by one probe; then every (metric, source). */
    static const char sql_all[] =
        "SELECT m.id, m.name, st.n, st.first, st.last,"
        " (SELECT value FROM points p WHERE p.metric_id = m.id AND p.ts = st.last)"
        " FROM metrics m CROSS JOIN LATERAL (SELECT count(*) AS n, min(ts) AS first,"
        " max(ts) AS last FROM points p WHERE p.metric_id = m.id) st ORDER BY m.name";
    static const char sql_sources[] =
        "SELECT metric_id, source FROM metric_sources ORDER BY metric_id, source";
    bool own;
    int rc = pg_read_enter(p, &own, err);
    if (rc)
        return rc;
    PGresult *all = pg_query(p, sql_all, NULL, err, "list metrics");
    PGresult *srcs = all ? pg_query(p, sql_sources, NULL, err, "list metrics") : NULL;
    pg_read_leave(p, own);
    if (!all || !srcs) {
        PQclear(all);
        return err ? err->code : OKRD_ESTORE;
    }
    int n_src = PQntuples(srcs), rows = PQntuples(all);
    const char **names = malloc(((size_t)n_src + 1) * sizeof *names);
    if (!names) {
        PQclear(all);
        PQclear(srcs);
        return okrd_err_set(err, OKRD_ENOMEM, "store: list metrics: out of memory");
    }
    for (int i = 0; i < rows && !rc; i++) {
        int64_t id = pg_col_int64(all, i, 0);
        /* sources ordered by metric id: a binary search for the first row */
        int lo = 0, hi = n_src;
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (pg_col_int64(srcs, mid, 0) < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t k = 0;
        for (int j = lo; j < n_src && pg_col_int64(srcs, j, 0) == id; j++)
            names[k++] = pg_col_text(srcs, j, 1);
        struct store_metric_summary m = {
            .metric = pg_col_text(all, i, 1),
            .points = pg_col_int64(all, i, 2),
            .first_s = pg_col_int64(all, i, 3), /* NULL reads as 0 */
            .last_s = pg_col_int64(all, i, 4),
            .last_value = pg_col_int64(all, i, 2) > 0 ? pg_col_double(all, i, 5) : NAN,
            .sources = names,
            .n_sources = k,
        };
        rc = cb(ctx, &m);
    }
    free(names);
    PQclear(all);
    PQclear(srcs);
    return rc;
}
