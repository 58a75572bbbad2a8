/*
 * pg_copy.c — the PostgreSQL backend's side of a whole-store copy
 * (store_copy.c, `okrd migrate`): count a table, and write rows as they
 * are with COPY ... FROM STDIN (text format), the fastest way into
 * PostgreSQL; then move the table's sequence past the copied keys.
 *
 * PostgreSQL is only ever the target (`okrd migrate` copies SQLite into
 * it), so copy_out is left NULL. Rows go in inside the caller's open write
 * transaction (store_copy_all's one transaction), which is marked as
 * having written, so its commit bumps change_seq and sends NOTIFY like any
 * other write.
 */
#include "pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pg_copy_count(struct store *s, const struct store_copy_table *t, int64_t *out,
                  struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", t->name);
    PGresult *r = pg_query(p, sql, NULL, err, "copy: count the rows of table %s", t->name);
    if (!r)
        return err->code;
    *out = pg_col_int64(r, 0, 0);
    PQclear(r);
    return 0;
}

/* A growing buffer of COPY text. */
struct line_buf {
    char *p;
    size_t len, cap;
};

static int reserve(struct line_buf *b, size_t more, struct okrd_err *err)
{
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1 << 20;
    while (cap < b->len + more)
        cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q)
        return okrd_err_set(err, OKRD_ENOMEM, "store: copy: out of memory");
    b->p = q;
    b->cap = cap;
    return 0;
}

/* Appends one value in COPY's text format: \N for NULL; in text a
 * backslash, tab, newline and carriage return escaped (the only bytes the
 * format gives a meaning); doubles with 17 significant digits (an exact
 * round trip), -0.0 as 0. */
static int put_value(struct line_buf *b, enum store_copy_type type,
                     const struct store_copy_value *v, struct okrd_err *err)
{
    int rc;
    if (v->null) {
        if ((rc = reserve(b, 2, err)))
            return rc;
        memcpy(b->p + b->len, "\\N", 2);
        b->len += 2;
        return 0;
    }
    switch (type) {
    case STORE_COPY_INT:
    case STORE_COPY_REAL:
        if ((rc = reserve(b, 40, err)))
            return rc;
        if (type == STORE_COPY_INT)
            b->len += (size_t)snprintf(b->p + b->len, 40, "%lld", (long long)v->i);
        else
            b->len += (size_t)snprintf(b->p + b->len, 40, "%.17g", v->r == 0 ? 0.0 : v->r);
        return 0;
    case STORE_COPY_TEXT:
        if ((rc = reserve(b, v->len * 2, err)))
            return rc;
        for (size_t i = 0; i < v->len; i++) {
            char c = v->t[i], e = 0;
            switch (c) {
            case '\\': e = '\\'; break;
            case '\t': e = 't'; break;
            case '\n': e = 'n'; break;
            case '\r': e = 'r'; break;
            }
            if (e) {
                b->p[b->len++] = '\\';
                b->p[b->len++] = e;
            } else {
                b->p[b->len++] = c;
            }
        }
        return 0;
    }
    return 0;
}

/* Ends a COPY that was started and collects its result. */
static int copy_finish(struct store_pg *p, const char *table, const char *abort_msg,
                       struct okrd_err *err)
{
    int rc = 0;
    if (PQputCopyEnd(p->conn, abort_msg) != 1)
        rc = pg_err_result(p, NULL, err, "copy: end COPY into table %s", table);
    PGresult *r;
    while ((r = PQgetResult(p->conn)) != NULL) {
        if (rc == 0 && !abort_msg && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_err_result(p, r, err, "copy: COPY into table %s", table);
        PQclear(r);
    }
    return rc;
}

int pg_copy_in(struct store *s, const struct store_copy_table *t,
               const struct store_copy_value *rows, size_t n_rows, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    if (p->tx != PG_TX_WRITE)
        return okrd_err_set(err, OKRD_EINVAL, "store: copy: into table %s outside a write "
                            "transaction", t->name);
    if (n_rows == 0)
        return 0;
    struct line_buf b = { 0 };
    int rc = 0;
    for (size_t r = 0; r < n_rows && rc == 0; r++) {
        const struct store_copy_value *v = &rows[r * t->n_cols];
        for (size_t c = 0; c < t->n_cols && rc == 0; c++) {
            if (c && (rc = reserve(&b, 1, err)) == 0)
                b.p[b.len++] = '\t';
            if (rc == 0)
                rc = put_value(&b, t->cols[c].type, &v[c], err);
        }
        if (rc == 0 && (rc = reserve(&b, 1, err)) == 0)
            b.p[b.len++] = '\n';
    }
    if (rc) {
        free(b.p);
        return rc;
    }

    char sql[1400];
    size_t n = (size_t)snprintf(sql, sizeof sql, "COPY \"%s\" (", t->name);
    for (size_t c = 0; c < t->n_cols && n < sizeof sql; c++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, "%s\"%s\"", c ? ", " : "",
                              t->cols[c].name);
    if (n < sizeof sql)
        n += (size_t)snprintf(sql + n, sizeof sql - n, ") FROM STDIN");
    if (n >= sizeof sql) {
        free(b.p);
        return okrd_err_set(err, OKRD_ERANGE, "store: copy: table %s has too many columns",
                            t->name);
    }
    p->tx_wrote = true;
    if ((rc = pg_defer_flush(p, err)) != 0) { /* COPY cannot carry them */
        free(b.p);
        return rc;
    }
    PGresult *res = PQexec(p->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        rc = pg_err_result(p, res, err, "copy: start COPY into table %s", t->name);
        PQclear(res);
        free(b.p);
        return rc;
    }
    PQclear(res);
    if (PQputCopyData(p->conn, b.p, (int)b.len) != 1) {
        rc = pg_err_result(p, NULL, err, "copy: send rows of table %s", t->name);
        copy_finish(p, t->name, "okrd: send failed", err);
    } else {
        rc = copy_finish(p, t->name, NULL, err);
    }
    free(b.p);
    if (rc || !t->serial)
        return rc;

    /* A serial or identity column's sequence: past the largest key copied,
     * so the next row the store numbers itself (a new outbox event, a new
     * metric) follows the copied ones. */
    char setval[512];
    snprintf(setval, sizeof setval,
             "SELECT setval(seq, m) FROM (SELECT pg_get_serial_sequence('\"%s\"', '%s') AS seq,"
             " (SELECT max(\"%s\") FROM \"%s\") AS m) x WHERE seq IS NOT NULL AND m IS NOT NULL",
             t->name, t->serial, t->serial, t->name);
    PGresult *sr = pg_query(p, setval, NULL, err, "copy: move the sequence of %s.%s", t->name,
                            t->serial);
    if (!sr)
        return err->code;
    PQclear(sr);
    return 0;
}

int pg_outbox_counter(struct store *s, int64_t *out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    PGresult *r = pg_query(p, "SELECT greatest(outbox_seq, (SELECT coalesce(max(seq), 0) FROM outbox))"
                              " FROM store_meta", NULL, err, "read the outbox's counter");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0;
    if (PQntuples(r) == 1)
        *out = pg_col_int64(r, 0, 0);
    else
        rc = okrd_err_set(err, OKRD_ESTORE, "store: read the outbox's counter of %s: store_meta "
                                            "has no row", p->desc);
    PQclear(r);
    return rc;
}

/* store_meta.outbox_seq is the counter pg_outbox.c numbers events from. */
int pg_outbox_counter_raise(struct store *s, int64_t n, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    bool own;
    int rc = pg_tx_enter(p, &own, err);
    if (rc)
        return rc;
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_int64(&pp, n);
    rc = pg_exec(p, "UPDATE store_meta SET outbox_seq = greatest(outbox_seq, $1::bigint)", &pp,
                 NULL, err, "copy: move the outbox's counter of %s to %lld", p->desc, (long long)n);
    return pg_tx_leave(p, own, rc, err);
}
