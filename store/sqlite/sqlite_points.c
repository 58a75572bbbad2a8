/*
 * store_points.c — the time series: the metrics and points tables, the
 * batch upsert and the range reads, and the connection's metric-id cache.
 *
 * Invariants: an upsert of N points stores all N or none (input is checked
 * before the first write, and SQL failures undo the whole call, inside the
 * caller's transaction through a savepoint); a point with a stored metric+ts
 * replaces the stored value, so replaying a file is harmless. Metric rows
 * are never deleted, so a cached name -> id stays true for as long as the
 * transaction that created it stands (the cache is emptied on rollback).
 */
#include "sqlite_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

/* ---- metric-id cache ---- */

/* Metrics are few (hundreds); past this the map is emptied, not grown,
 * so a store fed millions of distinct ids keeps bounded memory. */
#define METRIC_MAP_MAX 65536

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a: short keys, no need for better */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

void store_metric_map_clear(struct store_metric_map *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->slots[i].name);
        m->slots[i].name = NULL;
    }
    m->used = 0;
}

static struct store_metric_slot *map_find(struct store_metric_map *m, const char *name,
                                          uint32_t h)
{
    if (!m->cap)
        return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct store_metric_slot *e = &m->slots[i];
        if (!e->name)
            return NULL;
        if (e->hash == h && strcmp(e->name, name) == 0)
            return e;
    }
}

static void map_put_slot(struct store_metric_map *m, char *name, uint32_t h, int64_t id)
{
    size_t i = h & (m->cap - 1);
    while (m->slots[i].name)
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = (struct store_metric_slot){ name, h, id };
    m->used++;
}

/* Best effort: a failed allocation only means the next lookup asks SQLite. */
static void map_put(struct store_metric_map *m, const char *name, uint32_t h, int64_t id)
{
    if ((m->used + 1) * 2 > m->cap) {
        if (m->cap >= METRIC_MAP_MAX) {
            store_metric_map_clear(m);
        } else {
            size_t ncap = m->cap ? m->cap * 2 : 64;
            struct store_metric_slot *ns = calloc(ncap, sizeof *ns);
            if (!ns)
                return;
            struct store_metric_map old = *m;
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

/* The id of metric NAME: 0, or OKRD_ENOTFOUND (err untouched) when it is
 * not stored and !create. With create, an unknown name gets a new row. */
static int metric_id(struct store *s, const char *name, bool create, int64_t *id,
                     struct okrd_err *err)
{
    uint32_t h = hash_name(name);
    struct store_metric_slot *e = map_find(&SQ(s)->metrics, name, h);
    if (e) {
        *id = e->id;
        return 0;
    }
    sqlite3_stmt *st = store_stmt(s, STMT_METRIC_ID, "SELECT id FROM metrics WHERE name = ?1", err);
    if (!st)
        return err ? err->code : OKRD_ESTORE;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), ret = 0;
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        ret = store_sqlerr(s, rc, err, "look up metric \"%s\"", name);
    store_stmt_done(st);
    if (ret)
        return ret;
    if (rc == SQLITE_DONE) {
        if (!create)
            return OKRD_ENOTFOUND;
        st = store_stmt(s, STMT_METRIC_INSERT, "INSERT INTO metrics(name) VALUES (?1)", err);
        if (!st)
            return err ? err->code : OKRD_ESTORE;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            *id = sqlite3_last_insert_rowid(SQ(s)->db);
        else
            ret = store_sqlerr(s, rc, err, "add metric \"%s\"", name);
        store_stmt_done(st);
        if (ret)
            return ret;
    }
    map_put(&SQ(s)->metrics, name, h, *id);
    return 0;
}

/* ---- upsert ---- */

static const char SQL_POINT_UPSERT[] =
    "INSERT INTO points(metric_id, ts, value) VALUES (?1, ?2, ?3)"
    " ON CONFLICT(metric_id, ts) DO UPDATE SET value = excluded.value";

/* The metric ids whose source row this call already wrote: a batch
 * interleaving a few metrics (a wide CSV) writes each row once. More
 * metrics than slots only cost a repeated INSERT OR IGNORE. */
#define NOTED_MAX 16

/* One (metric, source) row, if not there yet. */
static int record_source(struct store *s, const char *source, int64_t id, const char *metric,
                         struct okrd_err *err)
{
    sqlite3_stmt *st = store_stmt(s, STMT_METRIC_SOURCE,
                                  "INSERT OR IGNORE INTO metric_sources(metric_id, source)"
                                  " VALUES (?1, ?2)", err);
    if (!st)
        return err ? err->code : OKRD_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = 0;
    if (src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "record source \"%s\" of \"%s\"", source, metric);
    store_stmt_done(st);
    return rc;
}

static int note_source(struct store *s, const char *source, int64_t id, const char *metric,
                       int64_t *noted, size_t *n_noted, struct okrd_err *err)
{
    for (size_t i = 0; i < *n_noted && i < NOTED_MAX; i++)
        if (noted[i] == id)
            return 0;
    int rc = record_source(s, source, id, metric, err);
    if (!rc)
        noted[(*n_noted)++ % NOTED_MAX] = id;
    return rc;
}

int sq_put_points(struct store *s, const struct store_point_in *pts, size_t n,
                     struct okrd_err *err)
{
    return store_put_points_from(s, NULL, pts, n, err);
}

int sq_put_points_from(struct store *s, const char *source, const struct store_point_in *pts,
                          size_t n, struct okrd_err *err)
{
    int rc = store_check_writable(s, "upsert points", err);
    if (rc || n == 0)
        return rc;
    bool own;
    if ((rc = store_tx_enter(s, &own, err)) != 0)
        return store_err_context(err, "upsert %zu points for \"%s\"", n, pts[0].metric);

    sqlite3_stmt *st = store_stmt(s, STMT_POINT_UPSERT, SQL_POINT_UPSERT, err);
    if (!st)
        rc = err ? err->code : OKRD_ESTORE;
    const char *prev = NULL;
    int64_t id = 0, noted[NOTED_MAX];
    size_t n_noted = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        /* Batches usually run one metric at a time: skip the hash then. */
        if (!prev || (pts[i].metric != prev && strcmp(pts[i].metric, prev) != 0)) {
            if ((rc = metric_id(s, pts[i].metric, true, &id, err)) != 0 ||
                (source && (rc = note_source(s, source, id, pts[i].metric, noted, &n_noted, err)))) {
                store_err_context(err, "upsert %zu points for \"%s\"", n, pts[i].metric);
                break;
            }
            prev = pts[i].metric;
        }
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, pts[i].ts);
        sqlite3_bind_double(st, 3, pts[i].value);
        int src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = store_sqlerr(s, src, err, "upsert %zu points for \"%s\"", n, pts[i].metric);
        sqlite3_reset(st);
    }
    store_stmt_done(st);
    int lrc = store_tx_leave(s, own, rc, err);
    if (lrc && !rc) /* the COMMIT failed: nothing of the batch is stored */
        store_err_context(err, "upsert %zu points for \"%s\"", n, pts[0].metric);
    return lrc;
}

/* ---- bulk upsert ---- */

/* A point of a bulk call with its metric id resolved. */
struct bulk_row {
    int64_t id, ts;
    double value;
    const char *metric; /* for messages */
};

/* Metric ids of the call: a name pointer seen before (csv_ingest hands
 * out one pointer per distinct name of its batch) is found without hashing
 * the name; a collision only means asking metric_id(). */
#define BULK_PTR_SLOTS 256

struct bulk_ids {
    const char *name[BULK_PTR_SLOTS];
    int64_t id[BULK_PTR_SLOTS];
};

static int bulk_metric_id(struct store *s, struct bulk_ids *c, const char *name, int64_t *id,
                          struct okrd_err *err)
{
    size_t k = ((uintptr_t)name >> 3) & (BULK_PTR_SLOTS - 1);
    if (c->name[k] == name) {
        *id = c->id[k];
        return 0;
    }
    int rc = metric_id(s, name, true, id, err);
    if (rc == 0) {
        c->name[k] = name;
        c->id[k] = *id;
    }
    return rc;
}

static int cmp_row_ts(const void *a, const void *b)
{
    const struct bulk_row *x = a, *y = b;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

/* Stable merge sort of one metric's rows by ts (file order kept between
 * equal timestamps: the later row must be upserted last, and so win). */
static void sort_rows_by_ts(struct bulk_row *r, struct bulk_row *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_rows_by_ts(r, tmp, h);
    sort_rows_by_ts(r + h, tmp, n - h);
    if (cmp_row_ts(&r[h - 1], &r[h]) <= 0)
        return;
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp_row_ts(&r[j], &r[i]) < 0 ? r[j++] : r[i++];
    while (i < h)
        tmp[k++] = r[i++];
    while (j < n)
        tmp[k++] = r[j++];
    memcpy(r, tmp, n * sizeof *r);
}

static int cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts IN (n rows, file order) into OUT by (metric id, ts), stably: a
 * counting sort on the metric id (a file's batch holds few metrics), then
 * each metric's run sorted by ts unless it already is (the usual case).
 * B-tree pages are then visited left to right, each once per batch,
 * instead of once per point. OKRD_ENOMEM on allocation failure. */
static int sort_rows(const struct bulk_row *in, struct bulk_row *out, size_t n)
{
    /* the distinct ids: open addressing over at least 2n slots */
    size_t cap = 64;
    while (cap < 2 * n)
        cap *= 2;
    int64_t *key = malloc(cap * sizeof *key);
    size_t *count = calloc(cap, sizeof *count);
    uint8_t *used = calloc(cap, 1);
    int64_t *ids = malloc(n * sizeof *ids);
    uint32_t *slot_of = malloc(n * sizeof *slot_of);
    int rc = 0;
    if (!key || !count || !used || !ids || !slot_of) {
        rc = OKRD_ENOMEM;
        goto out;
    }
    size_t d = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)((uint64_t)in[i].id * 0x9E3779B97F4A7C15ull >> 32) & (cap - 1);
        while (used[k] && key[k] != in[i].id)
            k = (k + 1) & (cap - 1);
        if (!used[k]) {
            used[k] = 1;
            key[k] = in[i].id;
            ids[d++] = in[i].id;
        }
        count[k]++;
        slot_of[i] = (uint32_t)k;
    }
    /* bucket starts in ascending id order */
    qsort(ids, d, sizeof *ids, cmp_int64);
    size_t at = 0;
    for (size_t j = 0; j < d; j++) {
        size_t k = (size_t)((uint64_t)ids[j] * 0x9E3779B97F4A7C15ull >> 32) & (cap - 1);
        while (key[k] != ids[j])
            k = (k + 1) & (cap - 1);
        size_t c = count[k];
        count[k] = at; /* from now on: the next free place of this bucket */
        at += c;
    }
    for (size_t i = 0; i < n; i++)
        out[count[slot_of[i]]++] = in[i];
    /* each bucket by ts, if needed; IN is free now and serves as scratch */
    struct bulk_row *tmp = (struct bulk_row *)in;
    for (size_t b = 0; b < n;) {
        size_t e = b + 1;
        bool sorted = true;
        for (; e < n && out[e].id == out[b].id; e++)
            if (out[e].ts < out[e - 1].ts)
                sorted = false;
        if (!sorted)
            sort_rows_by_ts(out + b, tmp, e - b);
        b = e;
    }
out:
    free(key);
    free(count);
    free(used);
    free(ids);
    free(slot_of);
    return rc;
}

/* Rows per statement on the bulk path: one sqlite3_step per BULK_ROWS
 * points instead of per point saves the statement's set-up and tear-down
 * (cursors, the statement journal a multi-row write opens) ~BULK_ROWS-1
 * times over. Sorted rows touch one or two leaf pages per statement, so the
 * statement journal stays in memory (it spills to a file past 64 KiB, i.e.
 * 16 pages: a statement of points scattered across 32 pages still works,
 * at the cost of that file). SQLite runs the VALUES rows in order, each
 * upserted before the next, so the last of a repeated key still wins. */
#define BULK_ROWS 32

#define ROW1 "(?,?,?),"
#define ROW2 ROW1 ROW1
#define ROW4 ROW2 ROW2
#define ROW8 ROW4 ROW4
#define ROW16 ROW8 ROW8
static const char SQL_POINT_UPSERT_MANY[] =
    "INSERT INTO points(metric_id, ts, value) VALUES " ROW16 ROW8 ROW4 ROW2 ROW1 "(?,?,?)"
    " ON CONFLICT(metric_id, ts) DO UPDATE SET value = excluded.value";
_Static_assert(BULK_ROWS == 16 + 8 + 4 + 2 + 1 + 1, "SQL_POINT_UPSERT_MANY holds BULK_ROWS rows");

/* The bulk path (a CSV file, one transaction): no savepoint per call. A
 * savepoint makes SQLite copy every page the call touches into the
 * sub-journal (a temporary file past 64 KiB) before changing it; for a
 * 1M-point file that is ~8x the WAL writes of the whole ingest and a
 * quarter of its CPU time (bench/csv_ingest). All or nothing then holds
 * for the caller's transaction, which this rolls back on any error. */
int sq_put_points_bulk(struct store *s, const char *source, const struct store_point_in *pts,
                          size_t n, struct okrd_err *err)
{
    int rc = store_check_writable(s, "upsert points", err);
    if (rc || n == 0)
        return rc;
    if (!store_in_transaction(s))
        return okrd_err_set(err, OKRD_EINVAL,
                            "store: upsert %zu points in bulk: no transaction is open", n);
    if (n > UINT32_MAX)
        return okrd_err_set(err, OKRD_EINVAL, "store: upsert %zu points in bulk: too many", n);
    sqlite3_stmt *st = NULL;
    struct bulk_row *rows = NULL, *sorted = NULL;
    struct bulk_ids *ids = NULL;
    rows = malloc(n * sizeof *rows);
    sorted = malloc(n * sizeof *sorted);
    ids = calloc(1, sizeof *ids);
    if (!rows || !sorted || !ids) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "store: upsert %zu points: out of memory", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = bulk_metric_id(s, ids, pts[i].metric, &rows[i].id, err)) != 0) {
            store_err_context(err, "upsert %zu points for \"%s\"", n, pts[i].metric);
            goto out;
        }
        rows[i].ts = pts[i].ts;
        rows[i].value = pts[i].value;
        rows[i].metric = pts[i].metric;
    }
    if (sort_rows(rows, sorted, n) != 0) {
        rc = okrd_err_set(err, OKRD_ENOMEM, "store: upsert %zu points: out of memory", n);
        goto out;
    }
    /* The sources' rows, as store_put_points_from writes them: sorted, each
     * metric of the call is one run, so one INSERT OR IGNORE per distinct
     * metric (100 per 16,384-point batch of the bench), none per point. */
    for (size_t r = 0; source && r < n; r++) {
        if (r > 0 && sorted[r].id == sorted[r - 1].id)
            continue;
        if ((rc = record_source(s, source, sorted[r].id, sorted[r].metric, err)) != 0) {
            store_err_context(err, "upsert %zu points for \"%s\"", n, sorted[r].metric);
            goto out;
        }
    }
    size_t i = 0;
    if (n >= BULK_ROWS) {
        if (!(st = store_stmt(s, STMT_POINT_UPSERT_MANY, SQL_POINT_UPSERT_MANY, err))) {
            rc = err ? err->code : OKRD_ESTORE;
            goto out;
        }
        for (; !rc && i + BULK_ROWS <= n; i += BULK_ROWS) {
            for (int j = 0; j < BULK_ROWS; j++) {
                sqlite3_bind_int64(st, 3 * j + 1, sorted[i + j].id);
                sqlite3_bind_int64(st, 3 * j + 2, sorted[i + j].ts);
                sqlite3_bind_double(st, 3 * j + 3, sorted[i + j].value);
            }
            int src = sqlite3_step(st);
            if (src != SQLITE_DONE)
                rc = store_sqlerr(s, src, err, "upsert %zu points for \"%s\"", n,
                                  sorted[i].metric);
            sqlite3_reset(st);
        }
        store_stmt_done(st);
        st = NULL;
    }
    if (!rc && i < n && !(st = store_stmt(s, STMT_POINT_UPSERT, SQL_POINT_UPSERT, err)))
        rc = err ? err->code : OKRD_ESTORE;
    for (; !rc && i < n; i++) {
        sqlite3_bind_int64(st, 1, sorted[i].id);
        sqlite3_bind_int64(st, 2, sorted[i].ts);
        sqlite3_bind_double(st, 3, sorted[i].value);
        int src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = store_sqlerr(s, src, err, "upsert %zu points for \"%s\"", n, sorted[i].metric);
        sqlite3_reset(st);
    }
out:
    store_stmt_done(st);
    free(rows);
    free(sorted);
    free(ids);
    if (rc)
        store_rollback(s); /* part of the call may be written: undo the caller's whole transaction */
    return rc;
}

/* ---- reads ---- */

static int series_push(struct store_series *out, int64_t ts, double v)
{
    if (out->n == out->cap) {
        size_t ncap = out->cap ? out->cap * 2 : 64;
        struct store_point *np = realloc(out->pts, ncap * sizeof *np);
        if (!np)
            return OKRD_ENOMEM;
        out->pts = np;
        out->cap = ncap;
    }
    out->pts[out->n++] = (struct store_point){ ts, v };
    return 0;
}

void store_series_free(struct store_series *s)
{
    if (s) {
        free(s->pts);
        *s = (struct store_series){ 0 };
    }
}

int sq_get_series(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                     struct store_series *out, struct okrd_err *err)
{
    int64_t id;
    int rc = metric_id(s, metric, false, &id, err);
    if (rc == OKRD_ENOTFOUND)
        return 0;
    if (rc || from_s >= to_s)
        return rc;
    sqlite3_stmt *st = store_stmt(s, STMT_SERIES,
                                  "SELECT ts, value FROM points"
                                  " WHERE metric_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
                                  err);
    if (!st)
        return err ? err->code : OKRD_ESTORE;
    size_t n0 = out->n;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, from_s);
    sqlite3_bind_int64(st, 3, to_s);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (series_push(out, sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1))) {
            rc = okrd_err_set(err, OKRD_ENOMEM, "store: read series \"%s\": out of memory", metric);
            break;
        }
    }
    if (!rc && src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "read series \"%s\"", metric);
    store_stmt_done(st);
    if (rc)
        out->n = n0; /* append all or nothing */
    return rc;
}

int sq_last_point(struct store *s, const char *metric, int64_t at_s, struct store_point *out,
                     struct okrd_err *err)
{
    int64_t id;
    int rc = metric_id(s, metric, false, &id, err);
    if (rc == OKRD_ENOTFOUND)
        return okrd_err_set(err, OKRD_ENOTFOUND, "store: metric \"%s\" has no points", metric);
    if (rc)
        return rc;
    sqlite3_stmt *st = store_stmt(s, STMT_LAST_POINT,
                                  "SELECT ts, value FROM points WHERE metric_id = ?1 AND ts <= ?2"
                                  " ORDER BY ts DESC LIMIT 1",
                                  err);
    if (!st)
        return err ? err->code : OKRD_ESTORE;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, at_s);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        out->ts = sqlite3_column_int64(st, 0);
        out->value = sqlite3_column_double(st, 1);
    } else if (src == SQLITE_DONE) {
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: metric \"%s\" has no point at or before %lld",
                          metric, (long long)at_s);
    } else {
        rc = store_sqlerr(s, src, err, "read the last point of \"%s\"", metric);
    }
    store_stmt_done(st);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    /* strcmp compares as unsigned char: SQLite's BINARY collation order. */
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The walks prepare their statement per call instead of using the cache:
 * they are rare (export, dashboard) and a callback may then call any other
 * store function on the same connection, even start another walk. */
static int walk(struct store *s, sqlite3_stmt *st, const char *metric, store_point_cb cb, void *ctx,
                struct okrd_err *err)
{
    int src, rc = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = metric ? metric : (const char *)sqlite3_column_text(st, 2);
        rc = cb(ctx, name, sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1));
        if (rc)
            return rc;
    }
    return src == SQLITE_DONE ? 0 : store_sqlerr(s, src, err, "read points");
}

int sq_each_point(struct store *s, const char *const *metrics, size_t n_metrics,
                     int64_t from_s, int64_t to_s, store_point_cb cb, void *ctx,
                     struct okrd_err *err)
{
    /* CROSS JOIN pins metrics as the outer loop: walked by name through its
     * UNIQUE index, each metric's points come in ts order from the primary
     * key, so the result is sorted without a temporary b-tree. */
    const char *sql = n_metrics == 0
        ? "SELECT p.ts, p.value, m.name FROM metrics m CROSS JOIN points p ON p.metric_id = m.id"
          " WHERE p.ts >= ?1 AND p.ts < ?2 ORDER BY m.name, p.ts"
        : "SELECT p.ts, p.value FROM metrics m CROSS JOIN points p ON p.metric_id = m.id"
          " WHERE p.ts >= ?1 AND p.ts < ?2 AND m.name = ?3 ORDER BY p.ts";
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(SQ(s)->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_sqlerr(s, src, err, "read points");
    sqlite3_bind_int64(st, 1, from_s);
    sqlite3_bind_int64(st, 2, to_s);
    int rc = 0;
    if (n_metrics == 0) {
        rc = walk(s, st, NULL, cb, ctx, err);
    } else {
        /* One indexed range per requested metric, in byte order. */
        const char **names = malloc(n_metrics * sizeof *names);
        if (!names) {
            sqlite3_finalize(st);
            return okrd_err_set(err, OKRD_ENOMEM, "store: read points: out of memory");
        }
        memcpy(names, metrics, n_metrics * sizeof *names);
        qsort(names, n_metrics, sizeof *names, cmp_names);
        for (size_t i = 0; i < n_metrics && !rc; i++) {
            if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
                continue;
            sqlite3_bind_text(st, 3, names[i], -1, SQLITE_STATIC);
            rc = walk(s, st, names[i], cb, ctx, err);
            sqlite3_reset(st);
        }
        free(names);
    }
    sqlite3_finalize(st);
    return rc;
}

int sq_each_metric(struct store *s, int (*cb)(void *ctx, const char *metric), void *ctx,
                      struct okrd_err *err)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(SQ(s)->db, "SELECT name FROM metrics ORDER BY name", -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_sqlerr(s, src, err, "list metrics");
    int rc = 0;
    while (!rc && (src = sqlite3_step(st)) == SQLITE_ROW)
        rc = cb(ctx, (const char *)sqlite3_column_text(st, 0));
    if (!rc && src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "list metrics");
    sqlite3_finalize(st);
    return rc;
}

int sq_get_series_with_prior(struct store *s, const char *metric, int64_t from_s,
                                int64_t to_s, struct store_series *out, struct okrd_err *err)
{
    out->n = 0;
    struct store_point before = { 0 };
    int rc = store_last_point(s, metric, from_s - 1, &before, err);
    if (rc == 0)
        rc = store_get_series(s, metric, before.ts, before.ts + 1, out, err);
    if (rc < 0 && rc != OKRD_ENOTFOUND)
        return rc;
    return store_get_series(s, metric, from_s, to_s, out, err);
}
