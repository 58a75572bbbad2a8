/*
 * pg_checkins.c — the checkins table on PostgreSQL (DESIGN sections 8 and
 * 10): inserting a check-in, the latest one of a key result's cycle (as of
 * a time), walks in commit or newest-first order, the unannounced ones and
 * their marking, and the latest grade. The same rows and answers as
 * store/sqlite's check-ins.
 *
 * A row maps to struct okrd_checkin as on SQLite: NaN value/grade,
 * OKRD_CHECKIN_NO_CONFIDENCE, "" status (and then until_s 0) and a NULL
 * comment are all SQL NULL. Serializing check-ins (seq = latest + 1, at
 * never going back) is the caller's job inside its transaction; this file
 * refuses a (key_result, cycle_start, seq) or id already taken with
 * OKRD_EEXIST and SQLite's messages: the INSERT does nothing on a conflict
 * (no error, which would abort the caller's transaction) and a second
 * look tells which key was taken. The insert runs in a savepoint inside the
 * caller's transaction (pg_tx_enter), so any other failure undoes only
 * itself, as a failed statement does on SQLite.
 *
 * Walks read the whole answer before the first callback, so a callback may
 * call back into the store on the same connection.
 */
#include "pg_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns every read selects, in read_row's order. */
#define CHECKIN_COLUMNS                                                                         \
    "id, key_result, cycle_start, seq, at_s, author, confidence, status, until_s, value,"       \
    " grade, comment"

/* An empty record, like okrd_checkin_clear but freeing nothing: what the
 * caller passes in may be uninitialized. */
static void checkin_init(struct okrd_checkin *c)
{
    memset(c, 0, sizeof *c);
    c->confidence = OKRD_CHECKIN_NO_CONFIDENCE;
    c->value = NAN;
    c->grade = NAN;
}

/* Fills *c (overwritten, not freed) from row I of R (CHECKIN_COLUMNS).
 * c->comment is malloc'd (the caller frees it with okrd_checkin_clear). */
static int read_row(const PGresult *r, int i, struct okrd_checkin *c, struct okrd_err *err)
{
    checkin_init(c);
    pg_col_copy_text(r, i, 0, c->id, sizeof c->id);
    pg_col_copy_text(r, i, 1, c->key_result, sizeof c->key_result);
    pg_col_copy_text(r, i, 2, c->cycle_start, sizeof c->cycle_start);
    c->seq = pg_col_int64(r, i, 3);
    c->at_s = pg_col_int64(r, i, 4);
    pg_col_copy_text(r, i, 5, c->author, sizeof c->author);
    c->confidence = pg_col_isnull(r, i, 6) ? OKRD_CHECKIN_NO_CONFIDENCE
                                           : (int)pg_col_int64(r, i, 6);
    pg_col_copy_text(r, i, 7, c->status, sizeof c->status);
    c->until_s = pg_col_int64(r, i, 8); /* NULL reads as 0 */
    c->value = pg_col_double(r, i, 9);
    c->grade = pg_col_double(r, i, 10);
    if (!pg_col_isnull(r, i, 11)) {
        int n = PQgetlength(r, i, 11);
        if (!(c->comment = malloc((size_t)n + 1))) {
            char q[64];
            return okrd_err_set(err, OKRD_ENOMEM, "store: read check-in \"%s\": out of memory",
                                pg_quote(c->id, q, sizeof q));
        }
        memcpy(c->comment, PQgetvalue(r, i, 11), (size_t)n);
        c->comment[n] = '\0';
    }
    return 0;
}

/* ---- writes ---- */

/* ON CONFLICT DO NOTHING: a taken id or (key_result, cycle_start, seq)
 * inserts no row instead of failing (which would abort the caller's
 * transaction); which key was taken is asked next. */
static const char sql_checkin_insert[] =
    "INSERT INTO checkins(" CHECKIN_COLUMNS ", announced)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0)"
    " ON CONFLICT DO NOTHING";
static const char sql_checkin_id_taken[] = "SELECT 1 FROM checkins WHERE id = $1";

static int insert_checkin(struct store_pg *p, const struct okrd_checkin *c, struct okrd_err *err)
{
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, c->id);
    pg_param_text(&pp, c->key_result);
    pg_param_text(&pp, c->cycle_start);
    pg_param_int64(&pp, c->seq);
    pg_param_int64(&pp, c->at_s);
    pg_param_text(&pp, c->author);
    if (c->confidence != OKRD_CHECKIN_NO_CONFIDENCE)
        pg_param_int(&pp, c->confidence);
    else
        pg_param_null(&pp);
    if (c->status[0]) {
        pg_param_text(&pp, c->status);
        pg_param_int64(&pp, c->until_s);
    } else {
        pg_param_null(&pp);
        pg_param_null(&pp);
    }
    pg_param_double(&pp, c->value);
    pg_param_double(&pp, c->grade);
    pg_param_text(&pp, c->comment);
    char q[64];
    int64_t n = 0;
    int rc = pg_exec_cached(p, sql_checkin_insert, &pp, &n, err,
                            "insert check-in \"%s\" of key result \"%s\"",
                            pg_quote(c->id, q, sizeof q), c->key_result);
    if (rc || n == 1)
        return rc;
    /* Same messages as SQLite's, which names the id's key first. */
    pg_params_init(&pp);
    pg_param_text(&pp, c->id);
    PGresult *r = pg_query_cached(p, sql_checkin_id_taken, &pp, err,
                                  "insert check-in \"%s\"", pg_quote(c->id, q, sizeof q));
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    bool by_id = PQntuples(r) > 0;
    PQclear(r);
    if (by_id)
        return okrd_err_set(err, OKRD_EEXIST, "store: insert check-in: id \"%s\" is already stored",
                            pg_quote(c->id, q, sizeof q));
    return okrd_err_set(err, OKRD_EEXIST,
                        "store: insert check-in: key result \"%s\" cycle %s already has seq %lld",
                        c->key_result, c->cycle_start, (long long)c->seq);
}

int pg_insert_checkin(struct store *s, const struct okrd_checkin *c, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = pg_check_writable(p, "insert check-in", err);
    if (rc)
        return rc;
    bool own;
    if ((rc = pg_tx_enter(p, &own, err)) != 0)
        return rc;
    rc = insert_checkin(p, c, err);
    return pg_tx_leave(p, own, rc, err);
}

static const char sql_checkin_mark[] = "UPDATE checkins SET announced = 1 WHERE id = $1";

int pg_mark_checkin_announced(struct store *s, const char *id, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    char q[64];
    int rc = pg_check_writable(p, "mark check-in announced", err);
    if (rc)
        return rc;
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, id ? id : "");
    bool own;
    if ((rc = pg_tx_enter(p, &own, err)) != 0)
        return rc;
    int64_t n = 0;
    rc = pg_exec_cached(p, sql_checkin_mark, &pp, &n, err, "mark check-in \"%s\" announced",
                        pg_quote(id, q, sizeof q));
    if (rc == 0 && n == 0)
        rc = okrd_err_set(err, OKRD_ENOTFOUND,
                          "store: mark check-in \"%s\" announced: no such check-in",
                          pg_quote(id, q, sizeof q));
    return pg_tx_leave(p, own, rc, err);
}

/* ---- point reads ---- */

/* Down the UNIQUE (key_result, cycle_start, seq) index from the top: at_s
 * never goes back as seq grows, so the first row within the bound is the
 * answer. */
static const char sql_checkin_latest[] =
    "SELECT " CHECKIN_COLUMNS " FROM checkins"
    " WHERE key_result = $1 AND cycle_start = $2 AND at_s <= $3"
    " ORDER BY seq DESC LIMIT 1";

int pg_checkin_key_results(struct store *s, char ***ids, size_t *n, struct okrd_err *err)
{
    /* key_result is COLLATE "C": byte order, as strcmp. */
    PGresult *r = pg_query(PG(s), "SELECT DISTINCT key_result FROM checkins ORDER BY key_result",
                           NULL, err, "list the key results with check-ins");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rows = PQntuples(r), rc = 0;
    *ids = rows ? calloc((size_t)rows, sizeof **ids) : NULL;
    if (rows && !*ids)
        rc = okrd_err_set(err, OKRD_ENOMEM, "store: list key results with check-ins: out of memory");
    for (int i = 0; i < rows && rc == 0; i++) {
        if (!((*ids)[i] = strdup(pg_col_text(r, i, 0))))
            rc = okrd_err_set(err, OKRD_ENOMEM, "store: list key results with check-ins: "
                              "out of memory");
        else
            (*n)++;
    }
    PQclear(r);
    if (rc) {
        for (size_t i = 0; i < *n; i++)
            free((*ids)[i]);
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return rc;
}

int pg_latest_checkin(struct store *s, const char *kr, const char *cycle_start,
                      int64_t at_or_before_s, struct okrd_checkin *out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    char q[64];
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, kr ? kr : "");
    pg_param_text(&pp, cycle_start ? cycle_start : "");
    pg_param_int64(&pp, at_or_before_s);
    checkin_init(out);
    PGresult *r = pg_query_cached(p, sql_checkin_latest, &pp, err,
                                  "read the latest check-in of key result \"%s\"",
                                  pg_quote(kr, q, sizeof q));
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc;
    if (PQntuples(r) > 0)
        rc = read_row(r, 0, out, err);
    else
        rc = okrd_err_set(err, OKRD_ENOTFOUND,
                          "store: key result \"%s\" has no check-in in cycle %s",
                          pg_quote(kr, q, sizeof q), cycle_start ? cycle_start : "(none)");
    PQclear(r);
    return rc;
}

static const char sql_checkin_grade[] =
    "SELECT grade, author FROM checkins"
    " WHERE key_result = $1 AND cycle_start = $2 AND grade IS NOT NULL"
    " ORDER BY seq DESC LIMIT 1";

int pg_latest_grade(struct store *s, const char *kr, const char *cycle_start, double *grade,
                    char author[65], struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    char q[64];
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, kr ? kr : "");
    pg_param_text(&pp, cycle_start ? cycle_start : "");
    PGresult *r = pg_query_cached(p, sql_checkin_grade, &pp, err,
                                  "read the grade of key result \"%s\"",
                                  pg_quote(kr, q, sizeof q));
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0;
    if (PQntuples(r) > 0) {
        *grade = pg_col_double(r, 0, 0);
        if (author)
            pg_col_copy_text(r, 0, 1, author, 65);
    } else {
        rc = okrd_err_set(err, OKRD_ENOTFOUND,
                          "store: key result \"%s\" has no grade for cycle %s",
                          pg_quote(kr, q, sizeof q), cycle_start ? cycle_start : "(none)");
    }
    PQclear(r);
    return rc;
}

/* ---- walks ---- */

/* Hands each row of R to cb in a struct of the walk's. */
static int walk(const PGresult *r, store_checkin_cb cb, void *ctx, struct okrd_err *err)
{
    struct okrd_checkin c;
    int rc = 0, n = PQntuples(r);
    for (int i = 0; i < n && rc == 0; i++) {
        rc = read_row(r, i, &c, err);
        if (rc == 0)
            rc = cb(ctx, &c);
        okrd_checkin_clear(&c);
    }
    return rc;
}

/* One statement per combination of filters (text built from fixed
 * fragments only, every value a parameter), each a static string so it is
 * prepared once per connection. [newest_first][kr != NULL][cycle != NULL] */
#define EACH_SQL(where, order)                                                                  \
    "SELECT " CHECKIN_COLUMNS " FROM checkins WHERE at_s >= $1 AND at_s < $2" where            \
    " ORDER BY " order
#define ORDER_COMMIT "key_result COLLATE \"C\", cycle_start COLLATE \"C\", seq"
#define ORDER_NEWEST "at_s DESC, seq DESC, cycle_start COLLATE \"C\" DESC, key_result COLLATE \"C\""
static const char *const sql_checkin_each[2][2][2] = {
    { { EACH_SQL("", ORDER_COMMIT), EACH_SQL(" AND cycle_start = $3", ORDER_COMMIT) },
      { EACH_SQL(" AND key_result = $3", ORDER_COMMIT),
        EACH_SQL(" AND key_result = $3 AND cycle_start = $4", ORDER_COMMIT) } },
    { { EACH_SQL("", ORDER_NEWEST), EACH_SQL(" AND cycle_start = $3", ORDER_NEWEST) },
      { EACH_SQL(" AND key_result = $3", ORDER_NEWEST),
        EACH_SQL(" AND key_result = $3 AND cycle_start = $4", ORDER_NEWEST) } },
};

int pg_each_checkin(struct store *s, const char *kr, const char *cycle_start, int64_t from_s,
                    int64_t to_s, bool newest_first, store_checkin_cb cb, void *ctx,
                    struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    if (from_s >= to_s)
        return 0;
    char q[64], what[128];
    snprintf(what, sizeof what, "%s%s%s", kr ? "key result \"" : "",
             kr ? pg_quote(kr, q, sizeof q) : "every key result", kr ? "\"" : "");
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_int64(&pp, from_s);
    pg_param_int64(&pp, to_s);
    if (kr)
        pg_param_text(&pp, kr);
    if (cycle_start)
        pg_param_text(&pp, cycle_start);
    const char *sql = sql_checkin_each[newest_first][kr != NULL][cycle_start != NULL];
    PGresult *r = pg_query_cached(p, sql, &pp, err, "read the check-ins of %s", what);
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = walk(r, cb, ctx, err);
    PQclear(r);
    return rc;
}

static const char sql_checkin_unannounced[] =
    "SELECT " CHECKIN_COLUMNS " FROM checkins"
    " WHERE key_result = $1 AND announced = 0"
    " ORDER BY cycle_start COLLATE \"C\", seq";

int pg_each_unannounced_checkin(struct store *s, const char *kr, store_checkin_cb cb, void *ctx,
                                struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    char q[64];
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, kr ? kr : "");
    PGresult *r = pg_query_cached(p, sql_checkin_unannounced, &pp, err,
                                  "read the unannounced check-ins of key result \"%s\"",
                                  pg_quote(kr, q, sizeof q));
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = walk(r, cb, ctx, err);
    PQclear(r);
    return rc;
}
