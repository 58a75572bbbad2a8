/*
 * sqlite_copy.c — the SQLite backend's side of a whole-store copy
 * (store_copy.c, `okrd migrate`): count a table, read it row by row in the
 * table's order, and write rows as they are.
 *
 * copy_out is what `okrd migrate` uses (SQLite is the source); copy_in
 * makes SQLite a target too, so the copy is tested store to store without
 * a server (tests/unit/test_store_copy.c). Statements are prepared per
 * call, not cached: a copy runs once per table.
 */
#include "sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "c1, c2, ..." of T's columns, quoted, into buf. */
static int column_list(const struct store_copy_table *t, char *buf, size_t size,
                       struct okrd_err *err)
{
    size_t n = 0;
    for (size_t c = 0; c < t->n_cols; c++) {
        int w = snprintf(buf + n, size - n, "%s\"%s\"", c ? ", " : "", t->cols[c].name);
        if (w < 0 || (size_t)w >= size - n)
            return okrd_err_set(err, OKRD_ERANGE, "store: copy: table %s has too many columns",
                                t->name);
        n += (size_t)w;
    }
    return 0;
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st, const char *table,
                   struct okrd_err *err)
{
    int rc = sqlite3_prepare_v2(SQ(s)->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlerr(s, rc, err, "copy: prepare for table %s", table);
    return 0;
}

/* The integer SQL answers (one row, one column); WHAT names it in a failure. */
static int one_int(struct store *s, const char *sql, const char *table, const char *what,
                   int64_t *out, struct okrd_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, sql, &st, table, err);
    if (rc)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = 0;
    } else {
        rc = store_sqlerr(s, rc, err, "copy: %s", what);
    }
    sqlite3_finalize(st);
    return rc;
}

int sq_copy_count(struct store *s, const struct store_copy_table *t, int64_t *out,
                  struct okrd_err *err)
{
    char sql[256], what[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", t->name);
    snprintf(what, sizeof what, "count the rows of table %s", t->name);
    return one_int(s, sql, t->name, what, out, err);
}

int sq_copy_out(struct store *s, const struct store_copy_table *t, store_copy_row_fn row,
                void *ctx, struct okrd_err *err)
{
    char cols[1024], sql[1400];
    int rc = column_list(t, cols, sizeof cols, err);
    if (rc)
        return rc;
    snprintf(sql, sizeof sql, "SELECT %s FROM \"%s\" ORDER BY %s", cols, t->name, t->order_by);
    sqlite3_stmt *st = NULL;
    if ((rc = prepare(s, sql, &st, t->name, err)))
        return rc;
    struct store_copy_value v[32];
    if (t->n_cols > sizeof v / sizeof v[0]) {
        sqlite3_finalize(st);
        return okrd_err_set(err, OKRD_ERANGE, "store: copy: table %s has too many columns",
                            t->name);
    }
    for (;;) {
        int step = sqlite3_step(st);
        if (step == SQLITE_DONE) {
            rc = 0;
            break;
        }
        if (step != SQLITE_ROW) {
            rc = store_sqlerr(s, step, err, "copy: read table %s", t->name);
            break;
        }
        for (size_t c = 0; c < t->n_cols; c++) {
            int i = (int)c;
            v[c] = (struct store_copy_value){ .null = sqlite3_column_type(st, i) == SQLITE_NULL };
            if (v[c].null)
                continue;
            switch (t->cols[c].type) {
            case STORE_COPY_INT: v[c].i = sqlite3_column_int64(st, i); break;
            case STORE_COPY_REAL: v[c].r = sqlite3_column_double(st, i); break;
            case STORE_COPY_TEXT:
                v[c].t = (const char *)sqlite3_column_text(st, i);
                v[c].len = (size_t)sqlite3_column_bytes(st, i);
                if (!v[c].t) {
                    sqlite3_finalize(st);
                    return okrd_err_set(err, OKRD_ENOMEM, "store: copy: out of memory");
                }
                break;
            }
        }
        if ((rc = row(ctx, v)) != 0)
            break;
    }
    sqlite3_finalize(st);
    return rc;
}

int sq_copy_in(struct store *s, const struct store_copy_table *t,
               const struct store_copy_value *rows, size_t n_rows, struct okrd_err *err)
{
    char cols[1024], sql[1400];
    int rc = column_list(t, cols, sizeof cols, err);
    if (rc)
        return rc;
    int n = snprintf(sql, sizeof sql, "INSERT INTO \"%s\" (%s) VALUES (", t->name, cols);
    for (size_t c = 0; c < t->n_cols && n > 0 && (size_t)n < sizeof sql; c++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, c ? ", ?" : "?");
    if (n < 0 || (size_t)n + 2 > sizeof sql)
        return okrd_err_set(err, OKRD_ERANGE, "store: copy: table %s has too many columns",
                            t->name);
    memcpy(sql + n, ")", 2);
    sqlite3_stmt *st = NULL;
    if ((rc = prepare(s, sql, &st, t->name, err)))
        return rc;
    /* AUTOINCREMENT (the outbox's seq) moves sqlite_sequence past an
     * explicit key by itself, and an INTEGER PRIMARY KEY takes max + 1:
     * nothing to do for t->serial here. */
    for (size_t r = 0; r < n_rows && rc == 0; r++) {
        const struct store_copy_value *v = &rows[r * t->n_cols];
        for (size_t c = 0; c < t->n_cols; c++) {
            int i = (int)c + 1;
            if (v[c].null)
                sqlite3_bind_null(st, i);
            else if (t->cols[c].type == STORE_COPY_INT)
                sqlite3_bind_int64(st, i, v[c].i);
            else if (t->cols[c].type == STORE_COPY_REAL)
                sqlite3_bind_double(st, i, v[c].r);
            else
                sqlite3_bind_text(st, i, v[c].t, (int)v[c].len, SQLITE_STATIC);
        }
        int step = sqlite3_step(st);
        if (step != SQLITE_DONE)
            rc = store_sqlerr(s, step, err, "copy: insert into table %s", t->name);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

/* sqlite_sequence holds the outbox's AUTOINCREMENT counter once an event
 * was ever added; the table exists with the schema (outbox is AUTOINCREMENT). */
int sq_outbox_counter(struct store *s, int64_t *out, struct okrd_err *err)
{
    return one_int(s,
                   "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0),"
                   " coalesce((SELECT max(seq) FROM outbox), 0))",
                   "sqlite_sequence", "read the outbox's counter", out, err);
}

int sq_outbox_counter_raise(struct store *s, int64_t n, struct okrd_err *err)
{
    static const char *const steps[] = {
        "UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'outbox'",
        "INSERT INTO sqlite_sequence(name, seq) SELECT 'outbox', ?1"
        " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox')",
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        sqlite3_stmt *st = NULL;
        int rc = prepare(s, steps[i], &st, "sqlite_sequence", err);
        if (rc)
            return rc;
        sqlite3_bind_int64(st, 1, n);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return store_sqlerr(s, rc, err, "copy: move the outbox's counter to %lld",
                                (long long)n);
    }
    return 0;
}
