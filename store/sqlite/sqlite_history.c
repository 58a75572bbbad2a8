/*
 * store_history.c — the daily history of every key result and the archive
 * of resolved definitions (DESIGN section 9; store.h "daily history and the
 * archive"). Both are kept for good: nothing here deletes a row.
 *
 * kr_history: one row per (key result, date). A row is replaced by a later
 * evaluation of the same day (the day's last evaluation wins), so the
 * writer only ever upserts. Rows written before schema 7 have no cycle
 * (cycle_start NULL, read back as "") and NULL expected/score/probability:
 * the migration derives nothing it cannot know.
 *
 * definitions: every version of each (kind, id, cycle start). A put stores
 * a new version only when the text differs from the newest one (or the
 * cycle's end moved), so recording on every start, reload and evaluation
 * costs one indexed read when nothing changed. Read and insert run in one
 * transaction (or a savepoint of the caller's), so two writers cannot take
 * the same version number — and there is only one writer anyway.
 */
#include "sqlite_internal.h"

#include <math.h>
#include <stdio.h>
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

static void copy_text(sqlite3_stmt *st, int i, char *buf, size_t size)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    snprintf(buf, size, "%s", t ? t : "");
}

static const char *text_or_empty(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : "";
}

#define STMT_OR_FAIL(st, s, id, sql, err)                                                       \
    sqlite3_stmt *st = store_stmt((s), (id), (sql), (err));                                     \
    if (!st)                                                                                    \
        return (err) ? (err)->code : OKRD_ESTORE

/* ---- daily history ---- */

int sq_put_kr_day(struct store *s, const struct store_kr_day *row, struct okrd_err *err)
{
    static const char action[] = "record a day of key result history";
    int rc = store_check_writable(s, action, err);
    if (rc)
        return rc;
    STMT_OR_FAIL(st, s, STMT_KR_DAY_PUT,
                 "INSERT INTO kr_history(kr_id, date, cycle_start, status, computed_status,"
                 " progress, expected, score, probability)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                 " ON CONFLICT(kr_id, date) DO UPDATE SET cycle_start = excluded.cycle_start,"
                 " status = excluded.status, computed_status = excluded.computed_status,"
                 " progress = excluded.progress, expected = excluded.expected,"
                 " score = excluded.score, probability = excluded.probability",
                 err);
    sqlite3_bind_text(st, 1, row->kr_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, row->date, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, row->cycle_start, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, row->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, row->computed_status, -1, SQLITE_STATIC);
    bind_real(st, 6, row->progress);
    bind_real(st, 7, row->expected);
    bind_real(st, 8, row->score);
    bind_real(st, 9, row->probability);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "record %s of key result \"%s\"", row->date, row->kr_id);
    store_stmt_done(st);
    return rc;
}

int sq_each_kr_day(struct store *s, const char *kr_id, const char *from_date,
                      const char *to_date,
                      int (*cb)(void *ctx, const struct store_kr_day *row), void *ctx,
                      struct okrd_err *err)
{
    STMT_OR_FAIL(st, s, STMT_KR_DAY_EACH,
                 "SELECT date, cycle_start, status, computed_status, progress, expected, score,"
                 " probability FROM kr_history"
                 " WHERE kr_id = ?1 AND date >= ?2 AND date < ?3 ORDER BY date",
                 err);
    sqlite3_bind_text(st, 1, kr_id ? kr_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, from_date ? from_date : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, to_date ? to_date : "9999-99-99", -1, SQLITE_STATIC);
    struct store_kr_day row;
    memset(&row, 0, sizeof row);
    snprintf(row.kr_id, sizeof row.kr_id, "%s", kr_id ? kr_id : "");
    int src, rc = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        copy_text(st, 0, row.date, sizeof row.date);
        copy_text(st, 1, row.cycle_start, sizeof row.cycle_start);
        copy_text(st, 2, row.status, sizeof row.status);
        copy_text(st, 3, row.computed_status, sizeof row.computed_status);
        row.progress = column_real(st, 4);
        row.expected = column_real(st, 5);
        row.score = column_real(st, 6);
        row.probability = column_real(st, 7);
        if ((rc = cb(ctx, &row)) != 0)
            break;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "read history of key result \"%s\"", kr_id ? kr_id : "");
    store_stmt_done(st);
    return rc;
}

int sq_last_kr_day(struct store *s, const char *kr_id, const char *cycle_start,
                      char date_out[11], struct okrd_err *err)
{
    STMT_OR_FAIL(st, s, STMT_KR_DAY_LAST,
                 "SELECT max(date) FROM kr_history WHERE kr_id = ?1 AND cycle_start = ?2", err);
    sqlite3_bind_text(st, 1, kr_id ? kr_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cycle_start ? cycle_start : "", -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        copy_text(st, 0, date_out, 11);
    else if (src == SQLITE_ROW)
        rc = okrd_err_set(err, OKRD_ENOTFOUND,
                          "store: key result \"%s\" has no history in the cycle of %s",
                          kr_id ? kr_id : "", cycle_start ? cycle_start : "");
    else
        rc = store_sqlerr(s, src, err, "read the last day of key result \"%s\"",
                          kr_id ? kr_id : "");
    store_stmt_done(st);
    return rc;
}

/* ---- definitions ---- */

static int put_definition(struct store *s, const char *kind, const char *id,
                          const char *cycle_start, const char *cycle_end, const char *json,
                          int64_t at_s, bool *changed, struct okrd_err *err)
{
    STMT_OR_FAIL(latest, s, STMT_DEFINITION_LATEST,
                 "SELECT version, cycle_end, json FROM definitions"
                 " WHERE kind = ?1 AND id = ?2 AND cycle_start = ?3"
                 " ORDER BY version DESC LIMIT 1",
                 err);
    sqlite3_bind_text(latest, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(latest, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(latest, 3, cycle_start, -1, SQLITE_STATIC);
    int src = sqlite3_step(latest), rc = 0;
    int64_t version = 0;
    bool same = false;
    if (src == SQLITE_ROW) {
        version = sqlite3_column_int64(latest, 0);
        same = !strcmp(text_or_empty(latest, 1), cycle_end) &&
               !strcmp(text_or_empty(latest, 2), json);
    } else if (src != SQLITE_DONE) {
        rc = store_sqlerr(s, src, err, "read the definition of %s \"%s\"", kind, id);
    }
    store_stmt_done(latest);
    if (rc || same)
        return rc;
    STMT_OR_FAIL(ins, s, STMT_DEFINITION_INSERT,
                 "INSERT INTO definitions(kind, id, cycle_start, cycle_end, version, json,"
                 " recorded_at_s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                 err);
    sqlite3_bind_text(ins, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, cycle_start, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 4, cycle_end, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 5, version + 1);
    sqlite3_bind_text(ins, 6, json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 7, at_s);
    src = sqlite3_step(ins);
    if (src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "record the definition of %s \"%s\"", kind, id);
    store_stmt_done(ins);
    if (rc == 0 && changed)
        *changed = true;
    return rc;
}

int sq_put_definition(struct store *s, const char *kind, const char *id,
                         const char *cycle_start, const char *cycle_end, const char *json,
                         int64_t at_s, bool *changed, struct okrd_err *err)
{
    static const char action[] = "record a definition";
    if (changed)
        *changed = false;
    int rc = store_check_writable(s, action, err);
    if (rc)
        return rc;

    if (!json || !*json)
        return okrd_err_set(err, OKRD_EINVAL, "store: %s of \"%s\": empty definition", action, id);
    bool own;
    if ((rc = store_tx_enter(s, &own, err)) < 0)
        return rc;
    rc = put_definition(s, kind, id, cycle_start, cycle_end, json, at_s, changed, err);
    if (rc < 0 && changed)
        *changed = false;
    return store_tx_leave(s, own, rc, err);
}

int sq_each_definition(struct store *s, const char *cycle_start, const char *cycle_end,
                          int (*cb)(void *ctx, const struct store_definition *d), void *ctx,
                          struct okrd_err *err)
{
    sqlite3_stmt *st;
    /* Prepared per call: a retrospective or a graded check-in reads the
     * archive once, not in a loop. The newest version of each (kind, id,
     * cycle_start) is the definition; its cycle_end is the one compared. */
    int src = sqlite3_prepare_v2(
        SQ(s)->db,
        "SELECT d.kind, d.id, d.cycle_start, d.cycle_end, d.json, d.recorded_at_s"
        " FROM definitions d"
        " WHERE (?1 IS NULL OR (d.cycle_start = ?1 AND d.cycle_end = ?2))"
        " AND d.version = (SELECT max(x.version) FROM definitions x WHERE x.kind = d.kind"
        "   AND x.id = d.id AND x.cycle_start = d.cycle_start)"
        " ORDER BY d.kind <> 'objective', d.id, d.cycle_start",
        -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_sqlerr(s, src, err, "read the definitions archive");
    if (cycle_start) {
        sqlite3_bind_text(st, 1, cycle_start, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, cycle_end ? cycle_end : "", -1, SQLITE_STATIC);
    }
    int rc = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_definition d = {
            .kind = text_or_empty(st, 0),
            .id = text_or_empty(st, 1),
            .cycle_start = text_or_empty(st, 2),
            .cycle_end = text_or_empty(st, 3),
            .json = text_or_empty(st, 4),
            .recorded_at_s = sqlite3_column_int64(st, 5),
        };
        if ((rc = cb(ctx, &d)) != 0)
            break;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "read the definitions archive");
    sqlite3_finalize(st);
    return rc;
}

int sq_each_cycle(struct store *s,
                     int (*cb)(void *ctx, const char *start, const char *end), void *ctx,
                     struct okrd_err *err)
{
    sqlite3_stmt *st;
    int src = sqlite3_prepare_v2(
        SQ(s)->db,
        "SELECT DISTINCT d.cycle_start, d.cycle_end FROM definitions d"
        " WHERE d.version = (SELECT max(x.version) FROM definitions x WHERE x.kind = d.kind"
        "   AND x.id = d.id AND x.cycle_start = d.cycle_start)"
        " ORDER BY d.cycle_end DESC, d.cycle_start DESC",
        -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_sqlerr(s, src, err, "read the archived cycles");
    int rc = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = cb(ctx, text_or_empty(st, 0), text_or_empty(st, 1))) != 0)
            break;
    if (rc == 0 && src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "read the archived cycles");
    sqlite3_finalize(st);
    return rc;
}
