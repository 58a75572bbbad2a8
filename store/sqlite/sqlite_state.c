/*
 * store_state.c — the small state tables: source health, the CSV ingest
 * log and each key result's current state (its daily history and the
 * definitions archive are store_history.c's).
 *
 * Each write here is ONE statement, so outside a transaction it is its own
 * (SQLite's autocommit); inside the caller's it commits or rolls back with
 * it, which is how an evaluation records statuses and their outbox rows
 * atomically. Undefined numbers (NaN) are stored as NULL and read back as
 * NaN; "never" times (0) and empty messages are stored as NULL too, so SQL
 * readers see the absence rather than a magic value.
 */
#include "sqlite_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

static void bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

static double column_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static void bind_time(sqlite3_stmt *st, int i, int64_t t)
{
    if (t == 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, t);
}

static void copy_text(sqlite3_stmt *st, int i, char *buf, size_t size)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    snprintf(buf, size, "%s", t ? t : "");
}

/* Steps a cached write statement once and resets it. */
static int step_write(struct store *s, sqlite3_stmt *st, struct okrd_err *err, const char *action,
                      const char *thing)
{
    int src = sqlite3_step(st), rc = 0;
    if (src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "%s \"%s\"", action, thing);
    store_stmt_done(st);
    return rc;
}

#define STMT_OR_FAIL(st, s, id, sql, err)                                                       \
    sqlite3_stmt *st = store_stmt((s), (id), (sql), (err));                                     \
    if (!st)                                                                                    \
        return (err) ? (err)->code : OKRD_ESTORE

/* ---- source health ---- */

int sq_put_source_health(struct store *s, const char *source,
                            const struct store_source_health *h, struct okrd_err *err)
{
    int rc = store_check_writable(s, "record source health", err);
    if (rc)
        return rc;
    STMT_OR_FAIL(st, s, STMT_HEALTH_PUT,
                 "INSERT INTO source_health(source, last_success_at, last_error_at, last_error,"
                 " consecutive_failures, points_total) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                 " ON CONFLICT(source) DO UPDATE SET last_success_at = excluded.last_success_at,"
                 " last_error_at = excluded.last_error_at, last_error = excluded.last_error,"
                 " consecutive_failures = excluded.consecutive_failures,"
                 " points_total = excluded.points_total",
                 err);
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    bind_time(st, 2, h->last_success_s);
    bind_time(st, 3, h->last_error_s);
    size_t elen = strnlen(h->last_error, sizeof h->last_error);
    if (elen)
        sqlite3_bind_text(st, 4, h->last_error, (int)elen, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, h->consecutive_failures);
    sqlite3_bind_int64(st, 6, h->points_total);
    return step_write(s, st, err, "record health of source", source);
}

int sq_get_source_health(struct store *s, const char *source,
                            struct store_source_health *out, struct okrd_err *err)
{
    STMT_OR_FAIL(st, s, STMT_HEALTH_GET,
                 "SELECT last_success_at, last_error_at, last_error, consecutive_failures,"
                 " points_total FROM source_health WHERE source = ?1",
                 err);
    sqlite3_bind_text(st, 1, source ? source : "", -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW) {
        out->last_success_s = sqlite3_column_int64(st, 0); /* NULL reads as 0 */
        out->last_error_s = sqlite3_column_int64(st, 1);
        copy_text(st, 2, out->last_error, sizeof out->last_error);
        out->consecutive_failures = sqlite3_column_int(st, 3);
        out->points_total = sqlite3_column_int64(st, 4);
    } else if (src == SQLITE_DONE) {
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: source \"%s\" has no health record yet",
                          source ? source : "");
    } else {
        rc = store_sqlerr(s, src, err, "read health of source \"%s\"", source);
    }
    store_stmt_done(st);
    return rc;
}

/* ---- ingest log ---- */

/* One row per (source, sha256) (DESIGN section 10): a file logged again
 * (`okrd ingest` reads on request) replaces its row, except that a
 * rejection never hides the row of a time its points were stored. */
#define INGEST_LOG_UPSERT                                                                       \
    " ON CONFLICT(source, sha256) DO UPDATE SET name = excluded.name, rows = excluded.rows,"    \
    " outcome = excluded.outcome, at = excluded.at, report = excluded.report"                  \
    " WHERE excluded.outcome <> 'rejected' OR ingest_log.outcome = 'rejected'"

int sq_log_ingest(struct store *s, const struct store_ingest *in, struct okrd_err *err)
{
    static const char action[] = "log ingest";
    char q[64];
    int rc = store_check_writable(s, action, err);
    if (rc)
        return rc;
    STMT_OR_FAIL(st, s, STMT_INGEST_LOG,
                 "INSERT INTO ingest_log(source, name, sha256, rows, outcome, at, report)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)" INGEST_LOG_UPSERT,
                 err);
    sqlite3_bind_text(st, 1, in->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, in->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, in->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, in->rows);
    sqlite3_bind_text(st, 5, in->outcome, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, in->at_s);
    if (in->report)
        sqlite3_bind_text(st, 7, in->report, -1, SQLITE_STATIC);
    return step_write(s, st, err, "log ingest of", store_quote(in->name, q, sizeof q));
}

int sq_ingest_seen(struct store *s, const char *source, const char *sha256, bool *seen,
                      char **report, struct okrd_err *err)
{
    if (report)
        *report = NULL;
    /* One row per (source, sha256) (schema 8): its newest report. */
    STMT_OR_FAIL(st, s, STMT_INGEST_SEEN,
                 "SELECT report FROM ingest_log WHERE source = ?1 AND sha256 = ?2"
                 " AND outcome IN ('ingested', 'partial')",
                 err);
    sqlite3_bind_text(st, 1, source ? source : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, sha256 ? sha256 : "", -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW || src == SQLITE_DONE)
        *seen = src == SQLITE_ROW;
    else
        rc = store_sqlerr(s, src, err, "look up ingest log of source \"%s\"",
                          source ? source : "");
    const char *text = rc == 0 && *seen ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (report && text && !(*report = strdup(text)))
        rc = okrd_err_set(err, OKRD_ENOMEM, "store: look up ingest log: out of memory");
    store_stmt_done(st);
    return rc;
}

/* ---- key-result state ---- */

int sq_put_kr_state(struct store *s, const char *kr_id, const struct store_kr_state *kst,
                       struct okrd_err *err)
{
    static const char action[] = "record key result state";
    int rc = store_check_writable(s, action, err);
    if (rc)
        return rc;
    STMT_OR_FAIL(st, s, STMT_KR_STATE_PUT,
                 "INSERT INTO kr_state(kr_id, status, since, evaluated_at, value, progress,"
                 " expected, projected_score, score, stale, previous)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                 " ON CONFLICT(kr_id) DO UPDATE SET status = excluded.status,"
                 " since = excluded.since, evaluated_at = excluded.evaluated_at,"
                 " value = excluded.value, progress = excluded.progress,"
                 " expected = excluded.expected, projected_score = excluded.projected_score,"
                 " score = excluded.score, stale = excluded.stale,"
                 " previous = excluded.previous",
                 err);
    sqlite3_bind_text(st, 1, kr_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kst->status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, kst->since_s);
    sqlite3_bind_int64(st, 4, kst->evaluated_at_s);
    bind_real(st, 5, kst->value);
    bind_real(st, 6, kst->progress);
    bind_real(st, 7, kst->expected);
    bind_real(st, 8, kst->projected_score);
    bind_real(st, 9, kst->score);
    sqlite3_bind_int(st, 10, kst->stale ? 1 : 0);
    sqlite3_bind_text(st, 11, kst->previous, (int)strnlen(kst->previous, sizeof kst->previous),
                      SQLITE_STATIC);
    return step_write(s, st, err, "record state of key result", kr_id);
}

int sq_get_kr_state(struct store *s, const char *kr_id, struct store_kr_state *out,
                       struct okrd_err *err)
{
    STMT_OR_FAIL(st, s, STMT_KR_STATE_GET,
                 "SELECT status, since, evaluated_at, value, progress, expected,"
                 " projected_score, score, stale, previous FROM kr_state WHERE kr_id = ?1",
                 err);
    sqlite3_bind_text(st, 1, kr_id ? kr_id : "", -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW) {
        copy_text(st, 0, out->status, sizeof out->status);
        out->since_s = sqlite3_column_int64(st, 1);
        out->evaluated_at_s = sqlite3_column_int64(st, 2);
        out->value = column_real(st, 3);
        out->progress = column_real(st, 4);
        out->expected = column_real(st, 5);
        out->projected_score = column_real(st, 6);
        out->score = column_real(st, 7);
        out->stale = sqlite3_column_int(st, 8) != 0;
        copy_text(st, 9, out->previous, sizeof out->previous);
    } else if (src == SQLITE_DONE) {
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: key result \"%s\" has no state yet",
                          kr_id ? kr_id : "");
    } else {
        rc = store_sqlerr(s, src, err, "read state of key result \"%s\"", kr_id);
    }
    store_stmt_done(st);
    return rc;
}
