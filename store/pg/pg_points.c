/*
 * pg_points.c — writing points on PostgreSQL: the metric-id cache, the
 * batch upsert and the bulk upsert of a CSV file.
 *
 * A batch becomes ONE statement whatever its size: three arrays (metric
 * ids, timestamps, values) sent as text and spread by unnest() into
 * INSERT ... ON CONFLICT DO UPDATE. PostgreSQL refuses a statement that
 * would update one row twice ("ON CONFLICT DO UPDATE command cannot affect
 * row a second time"), while SQLite upserts row after row and keeps the
 * last; so the batch is first sorted by (metric, ts) stably and only the
 * LAST row of each key is sent (DESIGN section 10: a batch holding one
 * (metric, ts) twice keeps the last row). Sorted rows also visit the
 * primary key's pages left to right.
 *
 * Invariants (as store_points.c): all or nothing per call (through
 * pg_tx_enter's savepoint; the bulk path rolls back the caller's whole
 * transaction on error); metric rows are never deleted, so a cached id
 * stays true while the transaction that created it stands (the cache is
 * emptied on every rollback).
 */
#include "pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- metric-id cache ---- */

#define METRIC_MAP_MAX 65536

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

void pg_metric_map_clear(struct pg_metric_map *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].name);
        m->slots[i].name = NULL;
    }
    m->used = 0;
}

static struct pg_metric_slot *map_find(struct pg_metric_map *m, const char *name, uint32_t h)
{
    if (!m->cap)
        return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct pg_metric_slot *e = &m->slots[i];
        if (!e->name)
            return NULL;
        if (e->hash == h && strcmp(e->name, name) == 0)
            return e;
    }
}

static void map_put_slot(struct pg_metric_map *m, char *name, uint32_t h, int64_t id)
{
    size_t i = h & (m->cap - 1);
    while (m->slots[i].name)
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = (struct pg_metric_slot){ name, h, id };
    m->used++;
}

/* Best effort: a failed allocation only means the next lookup asks the server. */
static void map_put(struct pg_metric_map *m, const char *name, uint32_t h, int64_t id)
{
    if ((m->used + 1) * 2 > m->cap) {
        if (m->cap >= METRIC_MAP_MAX) {
            pg_metric_map_clear(m);
        } else {
            size_t ncap = m->cap ? m->cap * 2 : 64;
            struct pg_metric_slot *ns = calloc(ncap, sizeof *ns);
            if (!ns)
                return;
            struct pg_metric_map old = *m;
            m->slots = ns;
            m->cap = ncap;
            m->used = 0;
            for (size_t i = 0; i < old.cap; i++)
                if (old.slots[i].name)
                    map_put_slot(m, old.slots[i].name, old.slots[i].hash, old.slots[i].id);
            free(old.slots);
        }
    }
    char *copy = strdup(name);
    if (copy)
        map_put_slot(m, copy, h, id);
}

static const char SQL_METRIC_ID[] = "SELECT id FROM metrics WHERE name = $1";
/* Found or added in one round trip (a new source's first poll adds its
 * metrics); the INSERT runs only when the SELECT found nothing, so a
 * lookup takes no number from the sequence. */
static const char SQL_METRIC_GET_OR_ADD[] =
    "WITH found AS (SELECT id FROM metrics WHERE name = $1::text),"
    " added AS (INSERT INTO metrics(name) SELECT $1::text WHERE NOT EXISTS (SELECT 1 FROM found)"
    " ON CONFLICT (name) DO NOTHING RETURNING id)"
    " SELECT id FROM found UNION ALL SELECT id FROM added";

int pg_metric_id(struct store_pg *p, const char *name, bool create, int64_t *id,
                 struct okrd_err *err)
{
    uint32_t h = hash_name(name);
    struct pg_metric_slot *e = map_find(&p->metrics, name, h);
    if (e) {
        *id = e->id;
        return 0;
    }
    char q[64];
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, name);
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *r = create ? pg_query_cached(p, SQL_METRIC_GET_OR_ADD, &pp, err,
                                               "add metric \"%s\"", pg_quote(name, q, sizeof q))
                             : pg_query_cached(p, SQL_METRIC_ID, &pp, err,
                                               "look up metric \"%s\"",
                                               pg_quote(name, q, sizeof q));
        if (!r)
            return err ? err->code : OKRD_ESTORE;
        bool found = PQntuples(r) == 1;
        if (found)
            *id = pg_col_int64(r, 0, 0);
        PQclear(r);
        if (found)
            break;
        if (!create)
            return OKRD_ENOTFOUND;
        /* another session added it between our SELECT and INSERT (only
         * outside okrd's write lock): the next look finds it */
        if (attempt == 1)
            return okrd_err_set(err, OKRD_ESTORE, "store: add metric \"%s\": not found after "
                                                  "insert", pg_quote(name, q, sizeof q));
    }
    map_put(&p->metrics, name, h, *id);
    return 0;
}

/* ---- rows ---- */

struct row {
    int64_t id, ts;
    double value;
    size_t at;              /* position in the call: the later one wins */
    const char *metric;     /* for messages */
};

static int cmp_row(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->id != y->id)
        return (x->id > y->id) - (x->id < y->id);
    if (x->ts != y->ts)
        return (x->ts > y->ts) - (x->ts < y->ts);
    return (x->at > y->at) - (x->at < y->at);
}

/* Sorts ROWS by (id, ts, position) and keeps the last row of each (id, ts):
 * returns the number kept (rows[0..k)). */
static size_t dedupe(struct row *rows, size_t n)
{
    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = cmp_row(&rows[i - 1], &rows[i]) < 0;
    if (!sorted)
        qsort(rows, n, sizeof *rows, cmp_row);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && rows[k - 1].id == rows[i].id && rows[k - 1].ts == rows[i].ts)
            rows[k - 1] = rows[i]; /* same key, later in the call: it wins */
        else
            rows[k++] = rows[i];
    }
    return k;
}

/* A growable text buffer for the arrays' literals. */
struct buf {
    char *p;
    size_t n, cap;
};

static bool buf_reserve(struct buf *b, size_t more)
{
    if (b->n + more + 1 <= b->cap)
        return true;
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < b->n + more + 1)
        ncap *= 2;
    char *np = realloc(b->p, ncap);
    if (!np)
        return false;
    b->p = np;
    b->cap = ncap;
    return true;
}

static void buf_i64(struct buf *b, int64_t v)
{
    b->n += (size_t)snprintf(b->p + b->n, b->cap - b->n, "%lld,", (long long)v);
}

static void buf_f64(struct buf *b, double v)
{
    b->n += (size_t)snprintf(b->p + b->n, b->cap - b->n, "%.17g,", v == 0 ? 0.0 : v);
}

/* "{...," -> "{...}" */
static void buf_close(struct buf *b)
{
    if (b->n > 0 && b->p[b->n - 1] == ',')
        b->n--;
    b->p[b->n++] = '}';
    b->p[b->n] = '\0';
}

/* Rows per statement: one round trip per chunk; ~3 MB of literals. */
#define CHUNK_ROWS 50000

static const char SQL_UPSERT[] =
    "INSERT INTO points(metric_id, ts, value)"
    " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::double precision[])"
    " ON CONFLICT (metric_id, ts) DO UPDATE SET value = excluded.value";
static const char SQL_SOURCES[] =
    "INSERT INTO metric_sources(metric_id, source) SELECT unnest($1::bigint[]), $2"
    " ON CONFLICT DO NOTHING";
/* Both in one statement (one round trip) when the points fit one chunk:
 * a data-modifying WITH runs to completion even though nothing reads it. */
static const char SQL_UPSERT_FROM[] =
    "WITH recorded AS (INSERT INTO metric_sources(metric_id, source)"
    " SELECT unnest($4::bigint[]), $5 ON CONFLICT DO NOTHING)"
    " INSERT INTO points(metric_id, ts, value)"
    " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::double precision[])"
    " ON CONFLICT (metric_id, ts) DO UPDATE SET value = excluded.value";

/* With SOURCE, writes one metric_sources row per distinct metric of ROWS
 * (deduplicated, sorted); with POINTS, upserts the rows. */
static int write_rows(struct store_pg *p, const char *source, const struct row *rows, size_t n,
                      size_t n_call, struct okrd_err *err, bool points)
{
    struct buf ids = { 0 }, ts = { 0 }, vals = { 0 };
    char *together = NULL; /* the metric ids for metric_sources, sent with the points */
    int rc = 0;
    char q[64];
    if (source) {
        if (!buf_reserve(&ids, 2)) {
            rc = OKRD_ENOMEM;
            goto out;
        }
        ids.p[ids.n++] = '{';
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && rows[i].id == rows[i - 1].id)
                continue;
            if (!buf_reserve(&ids, 24)) {
                rc = OKRD_ENOMEM;
                goto out;
            }
            buf_i64(&ids, rows[i].id);
        }
        buf_close(&ids);
        if (points && n <= CHUNK_ROWS) {
            together = ids.p; /* sent with the points below */
            ids = (struct buf){ 0 };
            goto points;
        }
        struct pg_params pp;
        pg_params_init(&pp);
        pg_param_text(&pp, ids.p);
        pg_param_text(&pp, source);
        if ((rc = pg_exec_cached(p, SQL_SOURCES, &pp, NULL, err,
                                 "record source \"%s\" of %zu points", pg_quote(source, q, sizeof q),
                                 n_call)))
            goto out;
    }
points:
    for (size_t at = 0; points && at < n; at += CHUNK_ROWS) {
        size_t end = n - at > CHUNK_ROWS ? at + CHUNK_ROWS : n;
        ids.n = ts.n = vals.n = 0;
        if (!buf_reserve(&ids, 2 + 21 * (end - at)) || !buf_reserve(&ts, 2 + 21 * (end - at)) ||
            !buf_reserve(&vals, 2 + 26 * (end - at))) {
            rc = OKRD_ENOMEM;
            goto out;
        }
        ids.p[ids.n++] = ts.p[ts.n++] = vals.p[vals.n++] = '{';
        for (size_t i = at; i < end; i++) {
            buf_i64(&ids, rows[i].id);
            buf_i64(&ts, rows[i].ts);
            buf_f64(&vals, rows[i].value);
        }
        buf_close(&ids);
        buf_close(&ts);
        buf_close(&vals);
        struct pg_params pp;
        pg_params_init(&pp);
        pg_param_text(&pp, ids.p);
        pg_param_text(&pp, ts.p);
        pg_param_text(&pp, vals.p);
        if (together) {
            pg_param_text(&pp, together);
            pg_param_text(&pp, source);
        }
        if ((rc = pg_exec_cached(p, together ? SQL_UPSERT_FROM : SQL_UPSERT, &pp, NULL, err,
                                 "upsert %zu points for \"%s\"", n_call,
                                 pg_quote(rows[at].metric, q, sizeof q))))
            goto out;
    }
out:
    if (rc == OKRD_ENOMEM)
        okrd_err_set(err, rc, "store: upsert %zu points: out of memory", n_call);
    free(ids.p);
    free(ts.p);
    free(vals.p);
    free(together);
    return rc;
}

/* Resolves every point's metric id (creating unknown ones) into rows. */
static int resolve(struct store_pg *p, const struct store_point_in *pts, size_t n,
                   struct row *rows, struct okrd_err *err)
{
    const char *prev = NULL;
    int64_t id = 0;
    char q[64];
    for (size_t i = 0; i < n; i++) {
        /* Batches usually run one metric at a time: skip the hash then. */
        if (!prev || (pts[i].metric != prev && strcmp(pts[i].metric, prev) != 0)) {
            int rc = pg_metric_id(p, pts[i].metric, true, &id, err);
            if (rc) {
                pg_err_context(err, "upsert %zu points for \"%s\"", n,
                                pg_quote(pts[i].metric, q, sizeof q));
                return rc;
            }
            prev = pts[i].metric;
        }
        rows[i] = (struct row){ id, pts[i].ts, pts[i].value, i, pts[i].metric };
    }
    return 0;
}

static int put(struct store_pg *p, const char *source, const struct store_point_in *pts, size_t n,
               struct okrd_err *err)
{
    struct row *rows = malloc(n * sizeof *rows);
    if (!rows)
        return okrd_err_set(err, OKRD_ENOMEM, "store: upsert %zu points: out of memory", n);
    int rc = resolve(p, pts, n, rows, err);
    if (!rc)
        rc = write_rows(p, source, rows, dedupe(rows, n), n, err, true);
    free(rows);
    return rc;
}

int pg_put_points_from(struct store *s, const char *source, const struct store_point_in *pts,
                       size_t n, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = pg_check_writable(p, "upsert points", err);
    if (rc || n == 0)
        return rc;
    bool own;
    char q[64];
    if ((rc = pg_tx_enter(p, &own, err)) != 0)
        return pg_err_context(err, "upsert %zu points for \"%s\"", n,
                               pg_quote(pts[0].metric, q, sizeof q));
    /* A poll's job reads its source's health next: inside the caller's
     * transaction, that read rides with the upsert (pg_health_stash_keep). */
    bool stash = source && !own;
    if (stash) {
        p->trail_sql = pg_sql_health_get;
        p->trail_param = source;
    }
    rc = put(p, source, pts, n, err);
    p->trail_sql = NULL;
    if (stash && p->trail_result && rc == 0)
        pg_health_stash_keep(p, source, p->trail_result);
    PQclear(p->trail_result);
    p->trail_result = NULL;
    int lrc = pg_tx_leave(p, own, rc, err);
    if (lrc && !rc) /* the COMMIT failed: nothing of the batch is stored */
        pg_err_context(err, "upsert %zu points for \"%s\"", n,
                        pg_quote(pts[0].metric, q, sizeof q));
    return lrc;
}

int pg_put_points(struct store *s, const struct store_point_in *pts, size_t n,
                  struct okrd_err *err)
{
    return pg_put_points_from(s, NULL, pts, n, err);
}

/* ---- bulk: COPY when no stored point can clash ---- */

/* Whether any stored point lies in the [first ts, last ts] range of one of
 * the call's metrics: one range probe of the primary key per metric. */
static int ranges_overlap(struct store_pg *p, const struct row *rows, size_t n, bool *out,
                          struct okrd_err *err)
{
    static const char sql[] =
        "SELECT EXISTS (SELECT 1 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])"
        " AS r(id, lo, hi) WHERE EXISTS (SELECT 1 FROM points p WHERE p.metric_id = r.id"
        " AND p.ts BETWEEN r.lo AND r.hi))";
    struct buf ids = { 0 }, lo = { 0 }, hi = { 0 };
    int rc = 0;
    size_t runs = 0;
    for (size_t i = 0; i < n; i++)
        runs += i == 0 || rows[i].id != rows[i - 1].id;
    if (!buf_reserve(&ids, 2 + 21 * runs) || !buf_reserve(&lo, 2 + 21 * runs) ||
        !buf_reserve(&hi, 2 + 21 * runs)) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "store: upsert %zu points: out of memory", n);
        goto out;
    }
    ids.p[ids.n++] = lo.p[lo.n++] = hi.p[hi.n++] = '{';
    for (size_t b = 0; b < n;) {
        size_t e = b + 1;
        while (e < n && rows[e].id == rows[b].id)
            e++;
        buf_i64(&ids, rows[b].id);
        buf_i64(&lo, rows[b].ts); /* sorted: the run's first and last */
        buf_i64(&hi, rows[e - 1].ts);
        b = e;
    }
    buf_close(&ids);
    buf_close(&lo);
    buf_close(&hi);
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, ids.p);
    pg_param_text(&pp, lo.p);
    pg_param_text(&pp, hi.p);
    PGresult *r = pg_query_cached(p, sql, &pp, err, "upsert %zu points", n);
    if (!r) {
        rc = err ? err->code : OKRD_ESTORE;
        goto out;
    }
    *out = pg_col_text(r, 0, 0)[0] == 't';
    PQclear(r);
out:
    free(ids.p);
    free(lo.p);
    free(hi.p);
    return rc;
}

/* COPY rows into points: the fastest way in, for rows that are all new. */
static int copy_rows(struct store_pg *p, const struct row *rows, size_t n, struct okrd_err *err)
{
    char q[64];
    int frc = pg_defer_flush(p, err); /* COPY cannot carry them */
    if (frc)
        return frc;
    PGresult *r = PQexec(p->conn, "COPY points(metric_id, ts, value) FROM STDIN");
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        int rc = pg_err_result(p, r, err, "upsert %zu points for \"%s\"", n,
                               pg_quote(rows[0].metric, q, sizeof q));
        PQclear(r);
        return rc;
    }
    PQclear(r);
    struct buf b = { 0 };
    const char *fail = NULL;
    if (!buf_reserve(&b, 1 << 16))
        fail = "out of memory";
    for (size_t i = 0; i < n && !fail; i++) {
        b.n += (size_t)snprintf(b.p + b.n, b.cap - b.n, "%lld\t%lld\t%.17g\n",
                                (long long)rows[i].id, (long long)rows[i].ts,
                                rows[i].value == 0 ? 0.0 : rows[i].value);
        if ((b.n + 80 > b.cap || i + 1 == n) && b.n > 0) {
            if (PQputCopyData(p->conn, b.p, (int)b.n) != 1)
                fail = "sending the rows failed";
            b.n = 0;
        }
    }
    free(b.p);
    PQputCopyEnd(p->conn, fail);
    int rc = 0;
    while ((r = PQgetResult(p->conn)) != NULL) {
        if (!rc && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_err_result(p, r, err, "upsert %zu points for \"%s\"", n,
                               pg_quote(rows[0].metric, q, sizeof q));
        PQclear(r);
    }
    return rc;
}

/* The bulk path (a CSV file in the caller's one transaction): no savepoint
 * per call; on an error the caller's whole transaction is rolled back, as
 * on SQLite. Rows that cannot clash with a stored point (the usual case: a
 * new file's days) go in by COPY, about 1.6 times faster than INSERT ... ON
 * CONFLICT; the check is safe because okrd's writers run one at a time
 * (pg_tx.c: the store_meta lock), so nobody adds a point meanwhile. */
int pg_put_points_bulk(struct store *s, const char *source, const struct store_point_in *pts,
                       size_t n, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = pg_check_writable(p, "upsert points", err);
    if (rc || n == 0)
        return rc;
    if (!pg_in_transaction(p))
        return okrd_err_set(err, OKRD_EINVAL,
                            "store: upsert %zu points in bulk: no transaction is open", n);
    p->tx_wrote = true;
    struct row *rows = malloc(n * sizeof *rows);
    if (!rows)
        return okrd_err_set(err, OKRD_ENOMEM, "store: upsert %zu points: out of memory", n);
    bool clash = true;
    size_t k = 0;
    if (!(rc = resolve(p, pts, n, rows, err))) {
        k = dedupe(rows, n);
        rc = ranges_overlap(p, rows, k, &clash, err);
    }
    if (!rc && !clash) {
        if (!(rc = write_rows(p, source, rows, k, n, err, false)))
            rc = copy_rows(p, rows, k, err);
    } else if (!rc) {
        rc = write_rows(p, source, rows, k, n, err, true);
    }
    free(rows);
    if (rc)
        pg_rollback(s);
    return rc;
}
