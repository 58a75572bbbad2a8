/*
 * pg_state.c — the small state tables on PostgreSQL: source health, the
 * CSV ingest log and each key result's current state.
 *
 * Each write is one statement inside pg_tx_enter/pg_tx_leave (its own
 * transaction, or a savepoint in the caller's, which is how an evaluation
 * records statuses and their outbox rows atomically). As on SQLite,
 * undefined numbers (NaN) are stored as NULL and read back as NaN; "never"
 * times (0) and empty messages are stored as NULL.
 */
#include "pg_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One write statement in a transaction of its own or a savepoint. */
static int write1(struct store_pg *p, const char *sql, const struct pg_params *pp,
                  struct okrd_err *err, const char *action, const char *thing)
{
    bool own;
    char q[64];
    int rc = pg_tx_enter(p, &own, err);
    if (rc)
        return pg_err_context(err, "%s \"%s\"", action, pg_quote(thing, q, sizeof q));
    rc = pg_exec_cached(p, sql, pp, NULL, err, "%s \"%s\"", action, pg_quote(thing, q, sizeof q));
    int lrc = pg_tx_leave(p, own, rc, err);
    if (lrc && !rc)
        pg_err_context(err, "%s \"%s\"", action, pg_quote(thing, q, sizeof q));
    return lrc;
}

/* ---- source health ---- */

int pg_put_source_health(struct store *s, const char *source, const struct store_source_health *h,
                         struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = pg_check_writable(p, "record source health", err);
    if (rc)
        return rc;
    pg_health_stash_drop(p);
    static const char sql[] =
        "INSERT INTO source_health(source, last_success_at, last_error_at, last_error,"
        " consecutive_failures, points_total) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (source) DO UPDATE SET last_success_at = excluded.last_success_at,"
        " last_error_at = excluded.last_error_at, last_error = excluded.last_error,"
        " consecutive_failures = excluded.consecutive_failures,"
        " points_total = excluded.points_total";
    char msg[sizeof h->last_error + 1];
    size_t elen = strnlen(h->last_error, sizeof h->last_error);
    memcpy(msg, h->last_error, elen);
    msg[elen] = '\0';
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, source);
    pg_param_time(&pp, h->last_success_s);
    pg_param_time(&pp, h->last_error_s);
    pg_param_text(&pp, elen ? msg : NULL);
    pg_param_int(&pp, h->consecutive_failures);
    pg_param_int64(&pp, h->points_total);
    return write1(p, sql, &pp, err, "record health of source", source);
}

const char pg_sql_health_get[] =
    "SELECT last_success_at, last_error_at, last_error, consecutive_failures,"
    " points_total FROM source_health WHERE source = $1";

/* Row 0 of R (pg_sql_health_get's columns) into OUT; false: no row. */
static bool health_of(const PGresult *r, struct store_source_health *out)
{
    if (PQntuples(r) != 1)
        return false;
    out->last_success_s = pg_col_int64(r, 0, 0); /* NULL reads as 0 */
    out->last_error_s = pg_col_int64(r, 0, 1);
    pg_col_copy_text(r, 0, 2, out->last_error, sizeof out->last_error);
    out->consecutive_failures = (int)pg_col_int64(r, 0, 3);
    out->points_total = pg_col_int64(r, 0, 4);
    return true;
}

void pg_health_stash_keep(struct store_pg *p, const char *source, PGresult *r)
{
    size_t len = strlen(source);
    p->health_stash.valid = false;
    if (len >= sizeof p->health_stash.source)
        return;
    memset(&p->health_stash.h, 0, sizeof p->health_stash.h);
    p->health_stash.found = health_of(r, &p->health_stash.h);
    memcpy(p->health_stash.source, source, len + 1);
    p->health_stash.valid = true;
}

void pg_health_stash_drop(struct store_pg *p)
{
    p->health_stash.valid = false;
}

int pg_get_source_health(struct store *s, const char *source, struct store_source_health *out,
                         struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    char q[64];
    bool found;
    if (source && p->health_stash.valid && strcmp(p->health_stash.source, source) == 0) {
        p->health_stash.valid = false; /* one read, one answer */
        if ((found = p->health_stash.found))
            *out = p->health_stash.h;
    } else {
        struct pg_params pp;
        pg_params_init(&pp);
        pg_param_text(&pp, source ? source : "");
        PGresult *r = pg_query_cached(p, pg_sql_health_get, &pp, err,
                                      "read health of source \"%s\"",
                                      pg_quote(source, q, sizeof q));
        if (!r)
            return err ? err->code : OKRD_ESTORE;
        found = health_of(r, out);
        PQclear(r);
    }
    if (!found)
        return okrd_err_set(err, OKRD_ENOTFOUND, "store: source \"%s\" has no health record yet",
                            pg_quote(source ? source : "", q, sizeof q));
    return 0;
}

/* ---- ingest log ---- */

int pg_log_ingest(struct store *s, const struct store_ingest *in, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = pg_check_writable(p, "log ingest", err);
    if (rc)
        return rc;
    static const char sql[] =
        "INSERT INTO ingest_log(source, name, sha256, rows, outcome, at, report)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        /* One row per (source, sha256) (DESIGN section 10): a file logged
         * again replaces its row, except that a rejection never hides the
         * row of a time its points were stored. */
        " ON CONFLICT (source, sha256) DO UPDATE SET name = excluded.name, rows = excluded.rows,"
        " outcome = excluded.outcome, at = excluded.at, report = excluded.report"
        " WHERE excluded.outcome <> 'rejected' OR ingest_log.outcome = 'rejected'";
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, in->source);
    pg_param_text(&pp, in->name);
    pg_param_text(&pp, in->sha256);
    pg_param_int64(&pp, in->rows);
    pg_param_text(&pp, in->outcome);
    pg_param_int64(&pp, in->at_s);
    pg_param_text(&pp, in->report);
    return write1(p, sql, &pp, err, "log ingest of", in->name);
}

int pg_ingest_seen(struct store *s, const char *source, const char *sha256, bool *seen,
                   char **report, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    if (report)
        *report = NULL;
    /* One row per (source, sha256) (schema 8): its newest report. */
    static const char sql[] =
        "SELECT report FROM ingest_log WHERE source = $1 AND sha256 = $2"
        " AND outcome IN ('ingested', 'partial')";
    char q[64];
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, source ? source : "");
    pg_param_text(&pp, sha256 ? sha256 : "");
    PGresult *r = pg_query_cached(p, sql, &pp, err, "look up ingest log of source \"%s\"",
                                  pg_quote(source ? source : "", q, sizeof q));
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0;
    *seen = PQntuples(r) == 1;
    if (report && *seen && !pg_col_isnull(r, 0, 0) && !(*report = strdup(pg_col_text(r, 0, 0))))
        rc = okrd_err_set(err, OKRD_ENOMEM, "store: look up ingest log: out of memory");
    PQclear(r);
    return rc;
}

/* ---- key-result state ---- */

int pg_put_kr_state(struct store *s, const char *kr_id, const struct store_kr_state *st,
                    struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = pg_check_writable(p, "record key result state", err);
    if (rc)
        return rc;
    static const char sql[] =
        "INSERT INTO kr_state(kr_id, status, since, evaluated_at, value, progress,"
        " expected, projected_score, score, stale, previous)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (kr_id) DO UPDATE SET status = excluded.status,"
        " since = excluded.since, evaluated_at = excluded.evaluated_at,"
        " value = excluded.value, progress = excluded.progress,"
        " expected = excluded.expected, projected_score = excluded.projected_score,"
        " score = excluded.score, stale = excluded.stale, previous = excluded.previous";
    char status[sizeof st->status + 1], previous[sizeof st->previous + 1];
    snprintf(status, sizeof status, "%.*s", (int)sizeof st->status, st->status);
    snprintf(previous, sizeof previous, "%.*s", (int)sizeof st->previous, st->previous);
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, kr_id);
    pg_param_text(&pp, status);
    pg_param_int64(&pp, st->since_s);
    pg_param_int64(&pp, st->evaluated_at_s);
    pg_param_double(&pp, st->value);
    pg_param_double(&pp, st->progress);
    pg_param_double(&pp, st->expected);
    pg_param_double(&pp, st->projected_score);
    pg_param_double(&pp, st->score);
    pg_param_bool(&pp, st->stale);
    pg_param_text(&pp, previous);
    return write1(p, sql, &pp, err, "record state of key result", kr_id);
}

int pg_get_kr_state(struct store *s, const char *kr_id, struct store_kr_state *out,
                    struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    static const char sql[] =
        "SELECT status, since, evaluated_at, value, progress, expected,"
        " projected_score, score, stale, previous FROM kr_state WHERE kr_id = $1";
    char q[64];
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, kr_id ? kr_id : "");
    PGresult *r = pg_query_cached(p, sql, &pp, err, "read state of key result \"%s\"",
                                  pg_quote(kr_id, q, sizeof q));
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0;
    if (PQntuples(r) == 1) {
        pg_col_copy_text(r, 0, 0, out->status, sizeof out->status);
        out->since_s = pg_col_int64(r, 0, 1);
        out->evaluated_at_s = pg_col_int64(r, 0, 2);
        out->value = pg_col_double(r, 0, 3);
        out->progress = pg_col_double(r, 0, 4);
        out->expected = pg_col_double(r, 0, 5);
        out->projected_score = pg_col_double(r, 0, 6);
        out->score = pg_col_double(r, 0, 7);
        out->stale = pg_col_int64(r, 0, 8) != 0;
        pg_col_copy_text(r, 0, 9, out->previous, sizeof out->previous);
    } else {
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: key result \"%s\" has no state yet",
                          pg_quote(kr_id ? kr_id : "", q, sizeof q));
    }
    PQclear(r);
    return rc;
}
