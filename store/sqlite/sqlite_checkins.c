/*
 * store_checkins.c — the checkins table (DESIGN section 8): inserting a
 * check-in, the latest one of a key result's cycle (as of a time), walks in
 * commit or newest-first order, the unannounced ones and their marking, and
 * the latest grade.
 *
 * Owns the table's SQL and the mapping between struct okrd_checkin and a
 * row: NaN value/grade, OKRD_CHECKIN_NO_CONFIDENCE, "" status (and then
 * until_s 0) and a NULL comment are all SQL NULL, so SQL readers (and the
 * export) see an absence, never a magic value. Serializing check-ins (seq =
 * latest + 1, at never going back) is the caller's job inside its
 * transaction; this file only refuses a (key_result, cycle_start, seq) or
 * id already taken, with OKRD_EEXIST, so a caller that raced loses cleanly.
 *
 * The point lookups use cached statements; the walks prepare theirs per call
 * (as store_points.c does), because a callback may call back into the store
 * on the same connection.
 */
#include "sqlite_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

#define STMT_OR_FAIL(st, s, id, sql, err)                                                       \
    sqlite3_stmt *st = store_stmt((s), (id), (sql), (err));                                     \
    if (!st)                                                                                    \
        return (err) ? (err)->code : OKRD_ESTORE

/* The columns every read selects, in read_row's order. */
#define CHECKIN_COLUMNS                                                                         \
    "id, key_result, cycle_start, seq, at_s, author, confidence, status, until_s, value,"       \
    " grade, comment"

static void copy_text(sqlite3_stmt *st, int i, char *buf, size_t size)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    snprintf(buf, size, "%s", t ? t : "");
}

static double column_real(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static void bind_real(sqlite3_stmt *st, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

/* An empty record, like okrd_checkin_clear but freeing nothing: what the
 * caller passes in may be uninitialized. */
static void checkin_init(struct okrd_checkin *c)
{
    memset(c, 0, sizeof *c);
    c->confidence = OKRD_CHECKIN_NO_CONFIDENCE;
    c->value = NAN;
    c->grade = NAN;
}

/* Fills *c (whatever it held is overwritten, not freed) from the current row
 * of a statement selecting CHECKIN_COLUMNS. c->comment is malloc'd (the
 * caller frees it with okrd_checkin_clear). */
static int read_row(sqlite3_stmt *st, struct okrd_checkin *c, struct okrd_err *err)
{
    checkin_init(c);
    copy_text(st, 0, c->id, sizeof c->id);
    copy_text(st, 1, c->key_result, sizeof c->key_result);
    copy_text(st, 2, c->cycle_start, sizeof c->cycle_start);
    c->seq = sqlite3_column_int64(st, 3);
    c->at_s = sqlite3_column_int64(st, 4);
    copy_text(st, 5, c->author, sizeof c->author);
    c->confidence = sqlite3_column_type(st, 6) == SQLITE_NULL ? OKRD_CHECKIN_NO_CONFIDENCE
                                                              : sqlite3_column_int(st, 6);
    copy_text(st, 7, c->status, sizeof c->status);
    c->until_s = sqlite3_column_int64(st, 8); /* NULL reads as 0 */
    c->value = column_real(st, 9);
    c->grade = column_real(st, 10);
    if (sqlite3_column_type(st, 11) != SQLITE_NULL) {
        const char *t = (const char *)sqlite3_column_text(st, 11);
        int n = sqlite3_column_bytes(st, 11);
        if (!t || !(c->comment = malloc((size_t)n + 1))) {
            char q[64];
            return okrd_err_set(err, OKRD_ENOMEM, "store: read check-in \"%s\": out of memory",
                                store_quote(c->id, q, sizeof q));
        }
        memcpy(c->comment, t, (size_t)n);
        c->comment[n] = '\0';
    }
    return 0;
}

/* ---- validation ---- */

/* ---- writes ---- */

int sq_insert_checkin(struct store *s, const struct okrd_checkin *c, struct okrd_err *err)
{
    int rc = store_check_writable(s, "insert check-in", err);
    if (rc)
        return rc;
    STMT_OR_FAIL(st, s, STMT_CHECKIN_INSERT,
                 "INSERT INTO checkins(" CHECKIN_COLUMNS ", announced)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0)",
                 err);
    sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->key_result, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->cycle_start, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, c->seq);
    sqlite3_bind_int64(st, 5, c->at_s);
    sqlite3_bind_text(st, 6, c->author, -1, SQLITE_STATIC);
    if (c->confidence != OKRD_CHECKIN_NO_CONFIDENCE)
        sqlite3_bind_int(st, 7, c->confidence);
    if (c->status[0]) {
        sqlite3_bind_text(st, 8, c->status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, c->until_s);
    }
    bind_real(st, 10, c->value);
    bind_real(st, 11, c->grade);
    if (c->comment)
        sqlite3_bind_text(st, 12, c->comment, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src == SQLITE_DONE) {
        store_stmt_done(st);
        return 0;
    }
    int ext = sqlite3_extended_errcode(SQ(s)->db);
    char q[64];
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
        /* SQLite names the columns of the key that was taken. */
        bool by_id = strstr(sqlite3_errmsg(SQ(s)->db), "checkins.id") != NULL;
        rc = by_id ? okrd_err_set(err, OKRD_EEXIST, "store: insert check-in: id \"%s\" is "
                                                     "already stored",
                                  store_quote(c->id, q, sizeof q))
                   : okrd_err_set(err, OKRD_EEXIST,
                                  "store: insert check-in: key result \"%s\" cycle %s already "
                                  "has seq %lld",
                                  c->key_result, c->cycle_start, (long long)c->seq);
    } else {
        rc = store_sqlerr(s, src, err, "insert check-in \"%s\" of key result \"%s\"",
                          store_quote(c->id, q, sizeof q), c->key_result);
    }
    store_stmt_done(st);
    return rc;
}

int sq_mark_checkin_announced(struct store *s, const char *id, struct okrd_err *err)
{
    char q[64];
    int rc = store_check_writable(s, "mark check-in announced", err);
    if (rc)
        return rc;
    STMT_OR_FAIL(st, s, STMT_CHECKIN_MARK, "UPDATE checkins SET announced = 1 WHERE id = ?1",
                 err);
    sqlite3_bind_text(st, 1, id ? id : "", -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "mark check-in \"%s\" announced",
                          store_quote(id, q, sizeof q));
    else if (sqlite3_changes(SQ(s)->db) == 0)
        rc = okrd_err_set(err, OKRD_ENOTFOUND,
                          "store: mark check-in \"%s\" announced: no such check-in",
                          store_quote(id, q, sizeof q));
    store_stmt_done(st);
    return rc;
}

/* ---- point reads ---- */

/* Grows *ids by a copy of ID: 0 or OKRD_ENOMEM. */
static int push_id(char ***ids, size_t *n, size_t *cap, const char *id)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        char **g = realloc(*ids, ncap * sizeof *g);
        if (!g)
            return OKRD_ENOMEM;
        *ids = g;
        *cap = ncap;
    }
    if (!((*ids)[*n] = strdup(id)))
        return OKRD_ENOMEM;
    (*n)++;
    return 0;
}

int sq_checkin_key_results(struct store *s, char ***ids, size_t *n, struct okrd_err *err)
{
    sqlite3_stmt *st = NULL;
    /* DISTINCT over the (key_result, at_s, ...) index: one step per key
     * result; BINARY collation is byte order. */
    int src = sqlite3_prepare_v2(SQ(s)->db,
                                 "SELECT DISTINCT key_result FROM checkins ORDER BY key_result",
                                 -1, &st, NULL);
    size_t cap = 0;
    int rc = 0;
    while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (push_id(ids, n, &cap, id ? id : "")) {
            rc = okrd_err_set(err, OKRD_ENOMEM, "store: list key results with check-ins: "
                              "out of memory");
            break;
        }
        src = SQLITE_OK;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "list the key results with check-ins");
    sqlite3_finalize(st);
    if (rc) {
        for (size_t i = 0; i < *n; i++)
            free((*ids)[i]);
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return rc;
}

int sq_latest_checkin(struct store *s, const char *kr, const char *cycle_start,
                         int64_t at_or_before_s, struct okrd_checkin *out,
                         struct okrd_err *err)
{
    char q[64];
    /* Down the UNIQUE (key_result, cycle_start, seq) index from the top
     * (the unary + keeps the planner off the at_s index, which would sort):
     * at_s never goes back as seq grows, so the first row within the bound
     * is the answer, after skipping only the check-ins made after it. */
    STMT_OR_FAIL(st, s, STMT_CHECKIN_LATEST,
                 "SELECT " CHECKIN_COLUMNS " FROM checkins"
                 " WHERE key_result = ?1 AND cycle_start = ?2 AND +at_s <= ?3"
                 " ORDER BY seq DESC LIMIT 1",
                 err);
    sqlite3_bind_text(st, 1, kr ? kr : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cycle_start ? cycle_start : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, at_or_before_s);
    checkin_init(out);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW)
        rc = read_row(st, out, err);
    else if (src == SQLITE_DONE)
        rc = okrd_err_set(err, OKRD_ENOTFOUND,
                          "store: key result \"%s\" has no check-in in cycle %s",
                          store_quote(kr, q, sizeof q), cycle_start ? cycle_start : "(none)");
    else
        rc = store_sqlerr(s, src, err, "read the latest check-in of key result \"%s\"",
                          store_quote(kr, q, sizeof q));
    store_stmt_done(st);
    return rc;
}

int sq_latest_grade(struct store *s, const char *kr, const char *cycle_start, double *grade,
                       char author[65], struct okrd_err *err)
{
    char q[64];
    STMT_OR_FAIL(st, s, STMT_CHECKIN_GRADE,
                 "SELECT grade, author FROM checkins"
                 " WHERE key_result = ?1 AND cycle_start = ?2 AND grade IS NOT NULL"
                 " ORDER BY seq DESC LIMIT 1",
                 err);
    sqlite3_bind_text(st, 1, kr ? kr : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cycle_start ? cycle_start : "", -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW) {
        *grade = sqlite3_column_double(st, 0);
        if (author)
            copy_text(st, 1, author, 65);
    } else if (src == SQLITE_DONE) {
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: key result \"%s\" has no grade for cycle %s",
                          store_quote(kr, q, sizeof q), cycle_start ? cycle_start : "(none)");
    } else {
        rc = store_sqlerr(s, src, err, "read the grade of key result \"%s\"",
                          store_quote(kr, q, sizeof q));
    }
    store_stmt_done(st);
    return rc;
}

/* ---- walks ---- */

/* Steps ST to the end, handing each row to cb in a struct of the walk's. */
static int walk(struct store *s, sqlite3_stmt *st, store_checkin_cb cb, void *ctx,
                const char *what, struct okrd_err *err)
{
    struct okrd_checkin c;
    int src, rc = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        rc = read_row(st, &c, err);
        if (rc == 0)
            rc = cb(ctx, &c);
        okrd_checkin_clear(&c);
        if (rc)
            break;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "%s", what);
    return rc;
}

int sq_each_checkin(struct store *s, const char *kr, const char *cycle_start, int64_t from_s,
                       int64_t to_s, bool newest_first, store_checkin_cb cb, void *ctx,
                       struct okrd_err *err)
{
    if (from_s >= to_s)
        return 0;
    /* The SQL is assembled from fixed fragments only (every value is
     * bound), so each filter present is an equality the planner can put on
     * an index. Newest first, a key result's walk reads checkins_by_kr_at
     * backwards, already sorted (ties in at_s and seq, across cycles, by
     * cycle); in commit order every walk (the export) reads the UNIQUE
     * (key_result, cycle_start, seq) index, at_s only filtering (the unary
     * + keeps the planner from choosing the at_s index and sorting). */
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT " CHECKIN_COLUMNS " FROM checkins WHERE %s%s%s ORDER BY %s",
             newest_first ? "at_s >= ?1 AND at_s < ?2" : "+at_s >= ?1 AND +at_s < ?2",
             kr ? " AND key_result = ?3" : "", cycle_start ? " AND cycle_start = ?4" : "",
             newest_first ? "at_s DESC, seq DESC, cycle_start DESC, key_result"
                          : "key_result, cycle_start, seq");
    char q[64], what[128];
    snprintf(what, sizeof what, "read the check-ins of %s%s%s", kr ? "key result \"" : "",
             kr ? store_quote(kr, q, sizeof q) : "every key result", kr ? "\"" : "");
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(SQ(s)->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_sqlerr(s, src, err, "%s", what);
    sqlite3_bind_int64(st, 1, from_s);
    sqlite3_bind_int64(st, 2, to_s);
    if (kr)
        sqlite3_bind_text(st, 3, kr, -1, SQLITE_STATIC);
    if (cycle_start)
        sqlite3_bind_text(st, 4, cycle_start, -1, SQLITE_STATIC);
    int rc = walk(s, st, cb, ctx, what, err);
    sqlite3_finalize(st);
    return rc;
}

int sq_each_unannounced_checkin(struct store *s, const char *kr, store_checkin_cb cb,
                                   void *ctx, struct okrd_err *err)
{
    char q[64], what[128];
    snprintf(what, sizeof what, "read the unannounced check-ins of key result \"%s\"",
             store_quote(kr, q, sizeof q));
    sqlite3_stmt *st = NULL;
    /* "announced = 0" literally, so the planner matches the partial index. */
    int src = sqlite3_prepare_v2(SQ(s)->db,
                                 "SELECT " CHECKIN_COLUMNS " FROM checkins"
                                 " WHERE key_result = ?1 AND announced = 0"
                                 " ORDER BY cycle_start, seq",
                                 -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_sqlerr(s, src, err, "%s", what);
    sqlite3_bind_text(st, 1, kr ? kr : "", -1, SQLITE_STATIC);
    int rc = walk(s, st, cb, ctx, what, err);
    sqlite3_finalize(st);
    return rc;
}
