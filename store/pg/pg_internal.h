/*
 * pg_internal.h — what the store/pg/ files share and nobody else sees: the
 * PostgreSQL connection struct (struct store_pg), statement helpers that
 * send parameters as text and map a failed PGresult to an okrd_err with its
 * SQLSTATE, and the transaction helpers every writing function goes through.
 *
 * Rules every pg_*.c file keeps (DESIGN section 10):
 *  - A write goes through pg_tx_enter/pg_tx_leave: outside a transaction
 *    that opens one of its own (BEGIN ISOLATION LEVEL REPEATABLE READ, then
 *    LOCK TABLE store_meta, so writers of every node run one at a time as
 *    SQLite's BEGIN IMMEDIATE makes them, and a writer's snapshot is taken
 *    after the lock: no serialization failure between okrd's own writers);
 *    inside one, a savepoint, so a failed call undoes only its own rows.
 *    The outermost commit of a transaction that wrote bumps
 *    store_meta.change_seq and sends NOTIFY okrd.
 *  - A read of more than one statement runs inside pg_read_enter/
 *    pg_read_leave (REPEATABLE READ READ ONLY when no transaction is open),
 *    so it sees one snapshot, as SQLite's WAL readers do.
 *  - The connection string is a secret: no message ever contains it or
 *    the password (pg_err_* redact PQpass() from the server's and libpq's
 *    text; p->desc names the server without them).
 *  - Text is sent and compared in byte order (the columns are COLLATE "C");
 *    doubles are sent with 17 significant digits and read with
 *    extra_float_digits = 3 (exact round trip); NaN is sent as NULL.
 */
#ifndef OKRD_PG_INTERNAL_H
#define OKRD_PG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "../store_backend.h"

/* ---- the connection ---- */

/* name -> id of the metrics table, as pg_points.c caches it; emptied on
 * every rollback (an id created in an undone transaction does not exist). */
struct pg_metric_slot {
    char *name;            /* NULL = empty slot */
    uint32_t hash;
    int64_t id;
};
struct pg_metric_map {
    struct pg_metric_slot *slots;
    size_t cap;            /* 0 or a power of two */
    size_t used;
};

/* Statements prepared on this connection, keyed by the address of their
 * SQL text (a static string of the caller's): pg_query_cached. */
#define PG_STMT_CACHE_MAX 96
struct pg_stmt_cache {
    const char *sql[PG_STMT_CACHE_MAX];
    size_t n;
};

/* What this struct has open on the server. */
enum pg_tx_kind {
    PG_TX_NONE = 0,
    PG_TX_READ,            /* pg_read_enter's REPEATABLE READ READ ONLY */
    PG_TX_WRITE,           /* store_begin, pg_tx_enter or the writer's group */
};

struct store_pg {
    struct store base;     /* first: STORE_IMPL(struct store_pg, s) */
    PGconn *conn;
    /* "postgresql USER@HOST:PORT/DBNAME" (or the socket directory as HOST):
     * names the server in messages, never the password. */
    char desc[256];
    char role[64];         /* the last word of application_name */
    int64_t takeover_check_ms;

    enum pg_tx_kind tx;    /* the top-level transaction this struct opened */
    bool tx_wrote;         /* it wrote: commit bumps change_seq + NOTIFY */
    bool tx_bulk;          /* store_begin_bulk (a backend may ignore it) */
    int sp_depth;          /* pg_tx_enter savepoints open inside it */
    /* change_seq bumps committed by this connection: data_version
     * subtracts them, so (as PRAGMA data_version on SQLite) it moves only
     * when ANOTHER connection committed (store.h). */
    int64_t own_bumps;

    /* Savepoint commands not sent yet (pg.c; pg_tx.c defers them): they go
     * to the server with the next statement, in the same round trip. */
#define PG_DEFER_MAX 8
    const char *defer[PG_DEFER_MAX];
    int n_defer;

    /* A read sent behind the next statement, in its pipeline (pg.c): SQL
     * (a static string, prepared once), its one text parameter; the
     * result lands in trail_result (NULL when it failed or did not run). */
    const char *trail_sql;
    const char *trail_param;
    PGresult *trail_result;
    /* The source_health row read with a poll's points (pg_points.c,
     * pg_state.c): the poll job reads it next; valid until this session
     * writes source_health or its transaction ends or rolls back. */
    struct {
        bool valid, found;
        char source[132];
        struct store_source_health h;
    } health_stash;

    bool reviving;         /* pg.c: inside a reconnect */
    struct pg_metric_map metrics;   /* pg_points.c */
    struct pg_stmt_cache stmts;     /* pg.c */
    /* High availability (pg_ha.c): its own state, NULL until it needs one;
     * pg_close calls ha_free(ha) when both are set. */
    void *ha;
    void (*ha_free)(void *ha);
};

#define PG(s) STORE_IMPL(struct store_pg, (s))

/* The session failed: opens it again with the same parameters and session
 * settings (pg.c; the HA writer's reconnect, pg_ha.c). Statements prepared
 * on the old session, its metric-id cache and transaction state are gone. */
int pg_reconnect(struct store_pg *p, struct okrd_err *err);

/* ---- parameters (all sent as text) ---- */

#define PG_MAX_PARAMS 32
struct pg_params {
    int n;                 /* -1: more than PG_MAX_PARAMS were added */
    const char *v[PG_MAX_PARAMS];
    char num[PG_MAX_PARAMS][32];
};
void pg_params_init(struct pg_params *pp);
/* Strings are sent from the caller's memory: it must outlive the call. */
void pg_param_text(struct pg_params *pp, const char *s);   /* NULL -> SQL NULL */
void pg_param_int64(struct pg_params *pp, int64_t v);
void pg_param_int(struct pg_params *pp, int v);
void pg_param_time(struct pg_params *pp, int64_t t);       /* 0 ("never") -> SQL NULL */
void pg_param_double(struct pg_params *pp, double v);      /* NaN -> SQL NULL; -0.0 -> 0 */
void pg_param_bool(struct pg_params *pp, bool b);          /* 1 / 0 (bigint columns) */
void pg_param_null(struct pg_params *pp);

/* ---- running statements ----
 * ACTION (printf-style) says what the caller was doing, for the message:
 * "store: ACTION: SERVER MESSAGE (SQLSTATE XXXXX)". */

/* Runs SQL with PP's parameters (PP NULL: none) through PQexecParams. On
 * PGRES_COMMAND_OK / PGRES_TUPLES_OK returns the result (the caller
 * PQclear()s it); else NULL with err filled. */
PGresult *pg_query(struct store_pg *p, const char *sql, const struct pg_params *pp,
                   struct okrd_err *err, const char *action, ...)
    __attribute__((format(printf, 5, 6)));
/* The same, prepared once per connection (PQprepare) and then executed by
 * name: for statements run often. SQL must be a string that lives as long
 * as the program (a literal or a static array): its address is the key. */
PGresult *pg_query_cached(struct store_pg *p, const char *sql, const struct pg_params *pp,
                          struct okrd_err *err, const char *action, ...)
    __attribute__((format(printf, 5, 6)));
/* pg_query_cached with the result in binary format: for the hot reads of
 * many numbers (a series), where parsing text would cost more than the
 * round trip. Read the columns with pg_bin_int64 / pg_bin_double. */
PGresult *pg_query_cached_binary(struct store_pg *p, const char *sql, const struct pg_params *pp,
                                 struct okrd_err *err, const char *action, ...)
    __attribute__((format(printf, 5, 6)));
/* pg_query / pg_query_cached for a statement whose rows are not wanted:
 * 0 or the code. *n_rows (may be NULL): PQcmdTuples, the rows affected. */
int pg_exec(struct store_pg *p, const char *sql, const struct pg_params *pp, int64_t *n_rows,
            struct okrd_err *err, const char *action, ...) __attribute__((format(printf, 6, 7)));
int pg_exec_cached(struct store_pg *p, const char *sql, const struct pg_params *pp,
                   int64_t *n_rows, struct okrd_err *err, const char *action, ...)
    __attribute__((format(printf, 6, 7)));
/* Several ;-separated statements without parameters (PQexec): DDL, BEGIN.
 * Deferred savepoint commands (below) go first, in the same string (a
 * ROLLBACK of the whole transaction drops them first: pg_defer_drop). */
int pg_exec_script(struct store_pg *p, const char *sql, struct okrd_err *err,
                   const char *action, ...) __attribute__((format(printf, 4, 5)));

/* ---- deferred savepoint commands ----
 * Why: on PostgreSQL every statement costs a round trip, and the writer's
 * small jobs are mostly savepoints (a SAVEPOINT and a RELEASE for the job
 * and for each writing call inside it: 6 of a poll's 12 statements). A
 * savepoint command's result decides nothing for its caller (it fails
 * only when the transaction is already aborted or the session is gone,
 * and then the next statement fails too), so pg_tx.c queues them here and
 * the next statement carries them: the pg_query and pg_exec functions
 * send the queue and the statement in one libpq pipeline (one round
 * trip); pg_exec_script puts them before its own text. A failure of a
 * queued command is the failure of the statement that carried it. CMD is
 * a static string. */
int pg_defer(struct store_pg *p, const char *cmd, struct okrd_err *err);
/* "ROLLBACK TO NAME; RELEASE NAME" where CMD_SAVEPOINT is "SAVEPOINT NAME":
 * nothing is sent when that SAVEPOINT is still queued last (nothing ran
 * since it); else the queue is sent first (or dropped when the transaction
 * is aborted: every queued command would have failed there). Drops the
 * health read kept for the poll job (pg_health_stash_drop). */
int pg_rollback_to(struct store_pg *p, const char *cmd_savepoint, struct okrd_err *err);
/* Sends the queue now (before COPY, which cannot share a pipeline). */
int pg_defer_flush(struct store_pg *p, struct okrd_err *err);
/* Forgets the queue: a COMMIT or ROLLBACK of the whole transaction makes
 * every savepoint command before it moot. */
void pg_defer_drop(struct store_pg *p);

/* ---- the source health read with a poll's points (pg_state.c) ----
 * Why: a poll's job upserts its points, then reads the source's health
 * record to update it: two round trips where one will do. Inside the
 * caller's transaction (nothing else writes there; the snapshot is the
 * transaction's), pg_points.c sends the read behind the upsert and keeps
 * the answer here for pg_get_source_health. */
extern const char pg_sql_health_get[];
void pg_health_stash_keep(struct store_pg *p, const char *source, PGresult *r);
void pg_health_stash_drop(struct store_pg *p);

/* ---- reading results (text format) ---- */
bool pg_col_isnull(const PGresult *r, int row, int col);
int64_t pg_col_int64(const PGresult *r, int row, int col);     /* NULL -> 0 */
double pg_col_double(const PGresult *r, int row, int col);     /* NULL -> NaN */
const char *pg_col_text(const PGresult *r, int row, int col);  /* NULL -> "" ; valid until PQclear */
/* Copies column COL into buf (truncating at a UTF-8 character boundary). */
void pg_col_copy_text(const PGresult *r, int row, int col, char *buf, size_t size);

/* ---- errors ---- */

/* An OKRD_* code for a SQLSTATE: 40001/40P01/55P03 (retry the whole job)
 * -> OKRD_EBUSY; 23505 -> OKRD_EEXIST; other 23xxx, 22xxx -> OKRD_EINVAL;
 * 08xxx (connection), 57P01..57P03 -> OKRD_EIO; 53xxx out of resources
 * and the rest -> OKRD_ESTORE. NULL (no SQLSTATE: libpq itself failed,
 * e.g. the connection broke) -> OKRD_EIO. */
int pg_code_from_sqlstate(const char *sqlstate);
/* True for a code pg_code_from_sqlstate gives when the same job may
 * simply be run again (a serialization failure, a deadlock). */
bool pg_sqlstate_retryable(const char *sqlstate);
/* Fills err from a failed result R (or, R NULL, from the connection's
 * last error): "store: ACTION: MESSAGE (SQLSTATE XXXXX)", one line, the
 * password redacted. Returns the code. */
int pg_err_result(struct store_pg *p, const PGresult *r, struct okrd_err *err,
                  const char *action, ...) __attribute__((format(printf, 4, 5)));
/* Puts what the caller was doing after the "store: " of the message already
 * in err: "store: CONTEXT: <old cause>". Returns err's code. */
int pg_err_context(struct okrd_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Copies TEXT into buf for a message: first line only, trailing space
 * dropped, every occurrence of the connection's password replaced by ***. */
void pg_redact(struct store_pg *p, const char *text, char *buf, size_t size);
/* At most 40 bytes of an untrusted string for a message (store_quote's
 * rules: control characters and quotes replaced). */
const char *pg_quote(const char *in, char *buf, size_t size);
/* OKRD_EINVAL "store: ACTION: <desc> is open read-only" when it is. */
int pg_check_writable(struct store_pg *p, const char *action, struct okrd_err *err);

/* ---- transactions (pg_tx.c) ---- */

/* A write is about to run: opens a write transaction of its own when none
 * is open (*own = true), else a savepoint inside the caller's (*own =
 * false). Marks the transaction as having written. */
int pg_tx_enter(struct store_pg *p, bool *own, struct okrd_err *err);
/* rc == 0: commits (own) or releases the savepoint; else undoes the call
 * (rollback, or rollback to the savepoint) and returns rc. A failed commit
 * returns its own error (nothing of the call is stored). */
int pg_tx_leave(struct store_pg *p, bool own, int rc, struct okrd_err *err);
/* A read of several statements: a REPEATABLE READ READ ONLY transaction
 * when none is open (*own = true), else nothing (it reads in the caller's). */
int pg_read_enter(struct store_pg *p, bool *own, struct okrd_err *err);
void pg_read_leave(struct store_pg *p, bool own);
/* Whether the caller's transaction (or the writer's group) is open. */
bool pg_in_transaction(const struct store_pg *p);
/* The table's transaction entries (store_backend.h has their meaning). */
int pg_begin(struct store *s, bool bulk, struct okrd_err *err);
int pg_group_begin(struct store *s, struct okrd_err *err);
bool pg_group_intact(const struct store *s);
int pg_group_commit(struct store *s, struct okrd_err *err);
int pg_commit(struct store *s, struct okrd_err *err);
void pg_rollback(struct store *s);
bool pg_in_tx(const struct store *s);
int pg_sync(struct store *s, struct okrd_err *err);
int pg_data_version(struct store *s, int64_t *out, struct okrd_err *err);

/* ---- metric ids (pg_points.c) ---- */

/* The id of metric NAME: 0, or OKRD_ENOTFOUND (err untouched) when it is
 * not stored and !create; with create an unknown name gets a new row
 * (inside a write transaction). */
int pg_metric_id(struct store_pg *p, const char *name, bool create, int64_t *id,
                 struct okrd_err *err);
void pg_metric_map_clear(struct pg_metric_map *m);

/* ---- schema (pg_schema.c) ---- */

/* The schema version this build writes (the same numbers as SQLite's). */
int pg_schema_version(void);
/* Read-write open: creates or migrates the schema in one transaction
 * under pg_advisory_xact_lock, re-reading the version under it; refuses a
 * newer schema (OKRD_ESTORE naming both versions). */
int pg_schema_migrate(struct store_pg *p, struct okrd_err *err);
/* Read-only open: OKRD_ESTORE unless the schema is exactly ours (missing,
 * older and newer each get their own message). */
int pg_schema_check(struct store_pg *p, struct okrd_err *err);

/* ---- copy (pg_copy.c; okrd migrate): the backend's copy entries ---- */
int pg_copy_count(struct store *s, const struct store_copy_table *t, int64_t *out,
                  struct okrd_err *err);
int pg_outbox_counter(struct store *s, int64_t *out, struct okrd_err *err);
int pg_outbox_counter_raise(struct store *s, int64_t n, struct okrd_err *err);
int pg_copy_in(struct store *s, const struct store_copy_table *t,
               const struct store_copy_value *rows, size_t n_rows, struct okrd_err *err);

#endif
