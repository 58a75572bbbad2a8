/*
 * pg_tx.c — transactions on PostgreSQL: the caller's (store_begin/commit/
 * rollback), the writer's group commit with a savepoint per job, the
 * savepoint of a writing call inside the caller's transaction (both sent
 * with the next statement: pg_defer), read
 * snapshots, change_seq and NOTIFY, and data_version.
 *
 * Why every write transaction is REPEATABLE READ behind LOCK TABLE
 * store_meta (DESIGN section 10, "the same answers"): an evaluation reads
 * points and writes statuses in one transaction, and must see one
 * snapshot, as it does on SQLite. REPEATABLE READ alone would make a
 * writer fail (40001) whenever another node's commit touched a row it then
 * updates, store_meta's change_seq first of all, which every write
 * transaction bumps. Taking the table lock as the first statement, before
 * the snapshot is taken (PostgreSQL takes it at the first query, and LOCK
 * is not one), makes writers of all nodes run one at a time, as SQLite's
 * BEGIN IMMEDIATE does, each seeing every earlier commit: no serialization
 * failure between okrd's writers, and readers are never blocked (SHARE ROW
 * EXCLUSIVE conflicts with writers only). Errors 40001/40P01 can still
 * come from outside okrd; they map to OKRD_EBUSY, "run the job again".
 *
 * Bookkeeping: p->tx says what this struct opened; base.grouped/job_open
 * as store_backend.h describes; p->tx_wrote is set by pg_tx_enter and makes
 * the outermost commit bump change_seq and NOTIFY okrd in the same
 * transaction (a node that reads the new change_seq also sees the rows).
 */
#include "pg_internal.h"

#include <stdio.h>
#include <string.h>

/* lock_timeout: as SQLite's busy_timeout, a writer waits for another one
 * (a 1M-row file on another node, `okrd ingest`) but not for ever: after
 * 30 s it fails with 55P03, OKRD_EBUSY, "try again". */
static const char SQL_BEGIN_WRITE[] =
    "BEGIN ISOLATION LEVEL REPEATABLE READ; SET LOCAL lock_timeout = '30s';"
    " LOCK TABLE store_meta IN SHARE ROW EXCLUSIVE MODE";
static const char SQL_BEGIN_READ[] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
static const char SQL_BUMP[] =
    "WITH u AS (UPDATE store_meta SET change_seq = change_seq + 1 RETURNING change_seq)"
    " SELECT pg_notify('okrd', change_seq::text) FROM u";

/* The server's view: is a transaction open and not aborted? */
static bool tx_usable(const struct store_pg *p)
{
    return p->conn && PQtransactionStatus(p->conn) == PQTRANS_INTRANS;
}

static void tx_reset(struct store_pg *p)
{
    p->tx = PG_TX_NONE;
    p->tx_wrote = false;
    p->tx_bulk = false;
    p->sp_depth = 0;
    pg_defer_drop(p);
    pg_health_stash_drop(p);
}

bool pg_in_transaction(const struct store_pg *p)
{
    if (p->base.grouped)
        return p->base.job_open; /* the job's own view: its savepoint */
    return p->tx == PG_TX_WRITE;
}

bool pg_in_tx(const struct store *s)
{
    return s && pg_in_transaction(PG(s));
}

static int begin_write(struct store_pg *p, struct okrd_err *err)
{
    int rc = pg_exec_script(p, SQL_BEGIN_WRITE, err, "begin a transaction on %s", p->desc);
    if (rc) {
        pg_exec_script(p, "ROLLBACK", NULL, "roll back");
        tx_reset(p);
        return rc;
    }
    tx_reset(p);
    p->tx = PG_TX_WRITE;
    return 0;
}

/* Bumps change_seq if the transaction wrote, then COMMIT; on any failure
 * the transaction is rolled back and nothing of it is stored. */
static int commit_top(struct store_pg *p, struct okrd_err *err)
{
    int rc = 0;
    bool bumped = false;
    /* A COMMIT releases every savepoint and a ROLLBACK undoes them: the
     * queued savepoint commands need not go. */
    pg_defer_drop(p);
    if (!tx_usable(p)) {
        rc = okrd_err_set(err, OKRD_ESTORE,
                          "store: commit on %s: the transaction was aborted by an earlier error",
                          p->desc);
    } else if (p->tx_wrote) {
        PGresult *r = pg_query_cached(p, SQL_BUMP, NULL, err, "bump change_seq on %s", p->desc);
        if (!r)
            rc = err ? err->code : OKRD_ESTORE;
        else if (PQntuples(r) != 1)
            rc = okrd_err_set(err, OKRD_ESTORE, "store: commit on %s: store_meta has no row",
                              p->desc);
        bumped = rc == 0;
        PQclear(r);
    }
    if (!rc) {
        PGresult *r = PQexec(p->conn, "COMMIT");
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_err_result(p, r, err, "commit on %s", p->desc);
        else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) /* "ROLLBACK": it was aborted */
            rc = okrd_err_set(err, OKRD_ESTORE, "store: commit on %s: the server rolled the "
                                                "transaction back", p->desc);
        else if (bumped)
            p->own_bumps++;
        PQclear(r);
    }
    if (rc) {
        if (PQtransactionStatus(p->conn) != PQTRANS_IDLE)
            pg_exec_script(p, "ROLLBACK", NULL, "roll back");
        pg_metric_map_clear(&p->metrics);
    }
    tx_reset(p);
    return rc;
}

int pg_begin(struct store *s, bool bulk, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = pg_check_writable(p, "begin a transaction", err);
    if (rc)
        return rc;
    if (pg_in_transaction(p) || p->tx == PG_TX_READ)
        return okrd_err_set(err, OKRD_EINVAL, "store: begin a transaction: one is already open");
    if (s->grouped) {
        if (!tx_usable(p))
            return okrd_err_set(err, OKRD_ESTORE, "store: begin a transaction: the shared "
                                                  "transaction of this group was rolled back");
        rc = pg_defer(p, "SAVEPOINT job", err); /* sent with the job's first statement */
        s->job_open = rc == 0;
        return rc;
    }
    if ((rc = begin_write(p, err)) == 0)
        p->tx_bulk = bulk;
    return rc;
}

int pg_commit(struct store *s, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    if (!pg_in_transaction(p))
        return okrd_err_set(err, OKRD_EINVAL, "store: commit: no transaction is open");
    if (s->grouped) {
        /* Durable only when the writer commits the group. */
        int rc = pg_defer(p, "RELEASE job", err);
        if (rc)
            pg_rollback(s);
        s->job_open = false;
        return rc;
    }
    return commit_top(p, err);
}

void pg_rollback(struct store *s)
{
    if (!s)
        return;
    struct store_pg *p = PG(s);
    if (s->grouped) {
        /* Undo this job only; the jobs before it in the group keep theirs. */
        if (s->job_open)
            pg_rollback_to(p, "SAVEPOINT job", NULL);
        s->job_open = false;
        p->sp_depth = 0;
        pg_metric_map_clear(&p->metrics);
        return;
    }
    pg_defer_drop(p); /* the ROLLBACK undoes every savepoint: none to send */
    if (p->tx != PG_TX_NONE || (p->conn && PQtransactionStatus(p->conn) != PQTRANS_IDLE))
        pg_exec_script(p, "ROLLBACK", NULL, "roll back");
    tx_reset(p);
    pg_metric_map_clear(&p->metrics);
}

int pg_group_begin(struct store *s, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = begin_write(p, err);
    s->grouped = rc == 0;
    s->job_open = false;
    return rc;
}

bool pg_group_intact(const struct store *s)
{
    const struct store_pg *p = PG(s);
    return p->tx == PG_TX_WRITE && tx_usable(p);
}

int pg_group_commit(struct store *s, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    s->grouped = false;
    s->job_open = false;
    if (p->tx != PG_TX_WRITE) {
        tx_reset(p);
        return okrd_err_set(err, OKRD_ESTORE, "store: commit a group of small jobs on %s: its "
                                              "transaction is gone", p->desc);
    }
    return commit_top(p, err);
}

/* A write of one store call. */
int pg_tx_enter(struct store_pg *p, bool *own, struct okrd_err *err)
{
    if (p->tx == PG_TX_READ)
        return okrd_err_set(err, OKRD_EINVAL,
                            "store: a write inside a read-only walk of %s", p->desc);
    if (!pg_in_transaction(p)) {
        *own = true;
        int rc = pg_begin(&p->base, false, err);
        if (!rc)
            p->tx_wrote = true;
        return rc;
    }
    *own = false;
    int rc = pg_defer(p, "SAVEPOINT store_call", err);
    if (!rc) {
        p->sp_depth++;
        p->tx_wrote = true;
    }
    return rc;
}

int pg_tx_leave(struct store_pg *p, bool own, int rc, struct okrd_err *err)
{
    if (rc == 0) {
        if (own)
            return pg_commit(&p->base, err);
        p->sp_depth--;
        int lrc = pg_defer(p, "RELEASE store_call", err);
        if (lrc)
            pg_metric_map_clear(&p->metrics);
        return lrc;
    }
    if (own) {
        pg_rollback(&p->base);
    } else {
        p->sp_depth--;
        /* Undo this call only; the caller's transaction goes on. */
        pg_rollback_to(p, "SAVEPOINT store_call", NULL);
        pg_metric_map_clear(&p->metrics);
    }
    return rc;
}

int pg_read_enter(struct store_pg *p, bool *own, struct okrd_err *err)
{
    *own = false;
    if (p->tx != PG_TX_NONE || p->base.grouped)
        return 0;
    int rc = pg_exec_script(p, SQL_BEGIN_READ, err, "begin a read on %s", p->desc);
    if (rc) {
        pg_exec_script(p, "ROLLBACK", NULL, "roll back");
        return rc;
    }
    p->tx = PG_TX_READ;
    *own = true;
    return 0;
}

void pg_read_leave(struct store_pg *p, bool own)
{
    if (!own)
        return;
    pg_exec_script(p, "ROLLBACK", NULL, "end a read");
    tx_reset(p);
}

/* synchronous_commit = on: every commit is durable when COMMIT returns. */
int pg_sync(struct store *s, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = pg_check_writable(p, "sync", err);
    if (rc)
        return rc;
    if (pg_in_transaction(p))
        return okrd_err_set(err, OKRD_EINVAL, "store: sync: a transaction is open");
    return 0;
}

/* store_meta.change_seq, less this connection's own bumps: moves when
 * another connection (this node's other one, another node, `okrd ingest`)
 * committed a write. */
int pg_data_version(struct store *s, int64_t *out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    static const char sql[] = "SELECT change_seq FROM store_meta";
    PGresult *r = pg_query_cached(p, sql, NULL, err, "read change_seq of %s", p->desc);
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0;
    if (PQntuples(r) == 1)
        *out = pg_col_int64(r, 0, 0) - p->own_bumps;
    else
        rc = okrd_err_set(err, OKRD_ESTORE, "store: read change_seq of %s: store_meta has no row",
                          p->desc);
    PQclear(r);
    return rc;
}
