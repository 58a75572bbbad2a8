/*
 * pg_history.c — the daily history of every key result and the archive of
 * resolved definitions on PostgreSQL (store.h "daily history and the
 * archive"; DESIGN sections 9 and 10). The same rows and answers as
 * store/sqlite's history: nothing here deletes a row.
 *
 * kr_history: one row per (key result, date), upserted (the day's last
 * evaluation wins). Rows migrated from a store older than schema 7 have no
 * cycle (NULL, read back as "") and NULL expected/score/probability.
 *
 * definitions: every version of each (kind, id, cycle start); a put stores
 * a new version only when the text (or the cycle's end) differs from the
 * newest one. The read and the insert run in one transaction (or a
 * savepoint of the caller's), and every write transaction holds the
 * store_meta lock (pg_tx.c), so two nodes cannot take one version number.
 *
 * Ordering compares text in byte order (the columns are COLLATE "C"), as
 * SQLite's BINARY collation does; each ORDER BY on text says so again, so
 * the answer does not depend on the column's declaration.
 */
#include "pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- daily history ---- */

static const char sql_kr_day_put[] =
    "INSERT INTO kr_history(kr_id, date, cycle_start, status, computed_status,"
    " progress, expected, score, probability)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (kr_id, date) DO UPDATE SET cycle_start = excluded.cycle_start,"
    " status = excluded.status, computed_status = excluded.computed_status,"
    " progress = excluded.progress, expected = excluded.expected,"
    " score = excluded.score, probability = excluded.probability";

int pg_put_kr_day(struct store *s, const struct store_kr_day *row, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = pg_check_writable(p, "record a day of key result history", err);
    if (rc)
        return rc;
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, row->kr_id);
    pg_param_text(&pp, row->date);
    pg_param_text(&pp, row->cycle_start);
    pg_param_text(&pp, row->status);
    pg_param_text(&pp, row->computed_status);
    pg_param_double(&pp, row->progress);
    pg_param_double(&pp, row->expected);
    pg_param_double(&pp, row->score);
    pg_param_double(&pp, row->probability);
    bool own;
    if ((rc = pg_tx_enter(p, &own, err)) != 0)
        return rc;
    rc = pg_exec_cached(p, sql_kr_day_put, &pp, NULL, err, "record %s of key result \"%s\"",
                        row->date, row->kr_id);
    return pg_tx_leave(p, own, rc, err);
}

static const char sql_kr_day_each[] =
    "SELECT date, cycle_start, status, computed_status, progress, expected, score,"
    " probability FROM kr_history"
    " WHERE kr_id = $1 AND date >= $2 AND date < $3 ORDER BY date COLLATE \"C\"";

int pg_each_kr_day(struct store *s, const char *kr_id, const char *from_date,
                   const char *to_date, int (*cb)(void *ctx, const struct store_kr_day *row),
                   void *ctx, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, kr_id ? kr_id : "");
    pg_param_text(&pp, from_date ? from_date : "");
    pg_param_text(&pp, to_date ? to_date : "9999-99-99");
    PGresult *r = pg_query_cached(p, sql_kr_day_each, &pp, err,
                                  "read history of key result \"%s\"", kr_id ? kr_id : "");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    struct store_kr_day row;
    memset(&row, 0, sizeof row);
    snprintf(row.kr_id, sizeof row.kr_id, "%s", kr_id ? kr_id : "");
    int rc = 0, n = PQntuples(r);
    /* The whole answer is in R: cb may call back into the store. */
    for (int i = 0; i < n && rc == 0; i++) {
        pg_col_copy_text(r, i, 0, row.date, sizeof row.date);
        pg_col_copy_text(r, i, 1, row.cycle_start, sizeof row.cycle_start);
        pg_col_copy_text(r, i, 2, row.status, sizeof row.status);
        pg_col_copy_text(r, i, 3, row.computed_status, sizeof row.computed_status);
        row.progress = pg_col_double(r, i, 4);
        row.expected = pg_col_double(r, i, 5);
        row.score = pg_col_double(r, i, 6);
        row.probability = pg_col_double(r, i, 7);
        rc = cb(ctx, &row);
    }
    PQclear(r);
    return rc;
}

static const char sql_kr_day_last[] =
    "SELECT max(date COLLATE \"C\") FROM kr_history WHERE kr_id = $1 AND cycle_start = $2";

int pg_last_kr_day(struct store *s, const char *kr_id, const char *cycle_start,
                   char date_out[11], struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, kr_id ? kr_id : "");
    pg_param_text(&pp, cycle_start ? cycle_start : "");
    PGresult *r = pg_query_cached(p, sql_kr_day_last, &pp, err,
                                  "read the last day of key result \"%s\"", kr_id ? kr_id : "");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0;
    if (PQntuples(r) == 1 && !pg_col_isnull(r, 0, 0))
        pg_col_copy_text(r, 0, 0, date_out, 11);
    else
        rc = okrd_err_set(err, OKRD_ENOTFOUND,
                          "store: key result \"%s\" has no history in the cycle of %s",
                          kr_id ? kr_id : "", cycle_start ? cycle_start : "");
    PQclear(r);
    return rc;
}

/* ---- definitions ---- */

static const char sql_definition_latest[] =
    "SELECT version, cycle_end, json FROM definitions"
    " WHERE kind = $1 AND id = $2 AND cycle_start = $3"
    " ORDER BY version DESC LIMIT 1";

static const char sql_definition_insert[] =
    "INSERT INTO definitions(kind, id, cycle_start, cycle_end, version, json, recorded_at_s)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)";

static int put_definition(struct store_pg *p, const char *kind, const char *id,
                          const char *cycle_start, const char *cycle_end, const char *json,
                          int64_t at_s, bool *changed, struct okrd_err *err)
{
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, kind);
    pg_param_text(&pp, id);
    pg_param_text(&pp, cycle_start);
    PGresult *r = pg_query_cached(p, sql_definition_latest, &pp, err,
                                  "read the definition of %s \"%s\"", kind, id);
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int64_t version = 0;
    bool same = false;
    if (PQntuples(r) > 0) {
        version = pg_col_int64(r, 0, 0);
        same = !strcmp(pg_col_text(r, 0, 1), cycle_end) && !strcmp(pg_col_text(r, 0, 2), json);
    }
    PQclear(r);
    if (same)
        return 0;
    pg_params_init(&pp);
    pg_param_text(&pp, kind);
    pg_param_text(&pp, id);
    pg_param_text(&pp, cycle_start);
    pg_param_text(&pp, cycle_end);
    pg_param_int64(&pp, version + 1);
    pg_param_text(&pp, json);
    pg_param_int64(&pp, at_s);
    int rc = pg_exec_cached(p, sql_definition_insert, &pp, NULL, err,
                            "record the definition of %s \"%s\"", kind, id);
    if (rc == 0 && changed)
        *changed = true;
    return rc;
}

int pg_put_definition(struct store *s, const char *kind, const char *id, const char *cycle_start,
                      const char *cycle_end, const char *json, int64_t at_s, bool *changed,
                      struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    if (changed)
        *changed = false;
    int rc = pg_check_writable(p, "record a definition", err);
    if (rc)
        return rc;
    if (!json || !*json)
        return okrd_err_set(err, OKRD_EINVAL, "store: record a definition of \"%s\": empty "
                            "definition", id);
    bool own;
    if ((rc = pg_tx_enter(p, &own, err)) != 0)
        return rc;
    rc = put_definition(p, kind, id, cycle_start, cycle_end, json, at_s, changed, err);
    rc = pg_tx_leave(p, own, rc, err);
    if (rc < 0 && changed)
        *changed = false;
    return rc;
}

/* The newest version of each (kind, id, cycle_start) is the definition;
 * objectives first (false sorts before true, as SQLite's 0 before 1). */
static const char sql_definition_each[] =
    "SELECT d.kind, d.id, d.cycle_start, d.cycle_end, d.json, d.recorded_at_s"
    " FROM definitions d"
    " WHERE ($1::text IS NULL OR (d.cycle_start = $1 AND d.cycle_end = $2::text))"
    " AND d.version = (SELECT max(x.version) FROM definitions x WHERE x.kind = d.kind"
    "   AND x.id = d.id AND x.cycle_start = d.cycle_start)"
    " ORDER BY d.kind <> 'objective', d.id COLLATE \"C\", d.cycle_start COLLATE \"C\"";

int pg_each_definition(struct store *s, const char *cycle_start, const char *cycle_end,
                       int (*cb)(void *ctx, const struct store_definition *d), void *ctx,
                       struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, cycle_start);
    pg_param_text(&pp, cycle_start ? (cycle_end ? cycle_end : "") : NULL);
    PGresult *r = pg_query(p, sql_definition_each, &pp, err, "read the definitions archive");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0, n = PQntuples(r);
    for (int i = 0; i < n && rc == 0; i++) {
        struct store_definition d = {
            .kind = pg_col_text(r, i, 0),
            .id = pg_col_text(r, i, 1),
            .cycle_start = pg_col_text(r, i, 2),
            .cycle_end = pg_col_text(r, i, 3),
            .json = pg_col_text(r, i, 4),
            .recorded_at_s = pg_col_int64(r, i, 5),
        };
        rc = cb(ctx, &d);
    }
    PQclear(r);
    return rc;
}

static const char sql_cycle_each[] =
    "SELECT DISTINCT d.cycle_start COLLATE \"C\" AS cs, d.cycle_end COLLATE \"C\" AS ce"
    " FROM definitions d"
    " WHERE d.version = (SELECT max(x.version) FROM definitions x WHERE x.kind = d.kind"
    "   AND x.id = d.id AND x.cycle_start = d.cycle_start)"
    " ORDER BY ce DESC, cs DESC";

int pg_each_cycle(struct store *s, int (*cb)(void *ctx, const char *start, const char *end),
                  void *ctx, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    PGresult *r = pg_query(p, sql_cycle_each, NULL, err, "read the archived cycles");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0, n = PQntuples(r);
    for (int i = 0; i < n && rc == 0; i++)
        rc = cb(ctx, pg_col_text(r, i, 0), pg_col_text(r, i, 1));
    PQclear(r);
    return rc;
}
