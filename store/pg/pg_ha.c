/*
 * pg_ha.c — high availability on PostgreSQL (DESIGN section 10): the
 * leader lock, the session's confirmation, the server's clock and role,
 * the newest event of the outbox, and the LISTEN okrd session.
 *
 * The leader lock is the session-level pg_try_advisory_lock(key) on the
 * WRITER connection, the key derived from the store id (so two stores on
 * one server never share it): hashtextextended(store_id, 0), read once per
 * connection. It is the only session-level advisory lock okrd takes.
 *
 * Whether this connection holds it is known without a round trip: the
 * backend pid that took it is remembered, and a session that failed or was
 * opened again (pg_reconnect gives a new backend) no longer matches, so a
 * lock taken on an earlier session is never believed held (the writer's
 * fencing asks before every leader job; store_writer.c).
 *
 * The confirmation is `SELECT 1` under a statement_timeout of
 * takeover_check/2, set and reset in the same implicit transaction (one
 * round trip; on an error the SET is undone with it).
 */
#include "pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pg_ha {
    bool have_key;
    int64_t key;
    int lock_pid;          /* the backend pid whose session took the lock; 0 none */
};

static struct pg_ha *ha_of(struct store_pg *p)
{
    if (!p->ha) {
        p->ha = calloc(1, sizeof(struct pg_ha));
        if (p->ha)
            p->ha_free = free;
    }
    return p->ha;
}

static bool session_ok(const struct store_pg *p)
{
    return p->conn && PQstatus(p->conn) == CONNECTION_OK;
}

static int lock_key(struct store_pg *p, struct pg_ha *ha, struct okrd_err *err)
{
    if (ha->have_key)
        return 0;
    PGresult *r = pg_query(p, "SELECT hashtextextended(store_id, 0) FROM store_meta", NULL, err,
                           "read the store id of %s", p->desc);
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0;
    if (PQntuples(r) != 1)
        rc = okrd_err_set(err, OKRD_ESTORE, "store: read the store id of %s: store_meta has no row",
                          p->desc);
    else
        ha->key = pg_col_int64(r, 0, 0);
    PQclear(r);
    ha->have_key = rc == 0;
    return rc;
}

int pg_ha_server(struct store *s, struct store_ha_server *out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    PGresult *r = pg_query(p,
                           "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint,"
                           " pg_is_in_recovery()",
                           NULL, err, "read the clock of %s", p->desc);
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    out->clock_ms = pg_col_int64(r, 0, 0);
    out->in_recovery = pg_col_text(r, 0, 1)[0] == 't';
    PQclear(r);
    return 0;
}

bool pg_ha_holds_lock(const struct store *s)
{
    const struct store_pg *p = PG(s);
    const struct pg_ha *ha = p->ha;
    return ha && ha->lock_pid != 0 && session_ok(p) && ha->lock_pid == PQbackendPID(p->conn);
}

int pg_ha_socket(struct store *s)
{
    const struct store_pg *p = PG(s);
    return session_ok(p) ? PQsocket(p->conn) : -1;
}

int pg_ha_try_lock(struct store *s, bool *got, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    *got = false;
    struct pg_ha *ha = ha_of(p);
    if (!ha)
        return okrd_err_set(err, OKRD_ENOMEM, "store: the leader lock: out of memory");
    if (pg_ha_holds_lock(s)) {
        *got = true; /* asking again would stack a second hold on the lock */
        return 0;
    }
    ha->lock_pid = 0;
    int rc = lock_key(p, ha, err);
    if (rc)
        return rc;
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_int64(&pp, ha->key);
    PGresult *r = pg_query(p, "SELECT pg_try_advisory_lock($1::bigint)", &pp, err,
                           "try the leader lock on %s", p->desc);
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    *got = pg_col_text(r, 0, 0)[0] == 't';
    PQclear(r);
    if (*got)
        ha->lock_pid = PQbackendPID(p->conn);
    return 0;
}

int pg_ha_confirm(struct store *s, int64_t timeout_ms, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    char sql[160];
    snprintf(sql, sizeof sql,
             "SET statement_timeout = %lld; SELECT 1; SET statement_timeout = 0",
             (long long)(timeout_ms > 0 ? timeout_ms : 1));
    return pg_exec_script(p, sql, err, "confirm the session on %s", p->desc);
}

int pg_ha_unlock(struct store *s, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    struct pg_ha *ha = p->ha;
    if (!pg_ha_holds_lock(s)) {
        if (ha)
            ha->lock_pid = 0;
        return 0;
    }
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_int64(&pp, ha->key);
    int rc = pg_exec(p, "SELECT pg_advisory_unlock($1::bigint)", &pp, NULL, err,
                     "let the leader lock go on %s", p->desc);
    ha->lock_pid = 0;
    return rc;
}

int pg_ha_reconnect(struct store *s, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    if (session_ok(p))
        return 0;
    if (p->ha)
        ((struct pg_ha *)p->ha)->lock_pid = 0;
    return pg_reconnect(p, err);
}

int pg_ha_newest_event_at(struct store *s, int64_t *out_s, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    PGresult *r = pg_query(p, "SELECT COALESCE(max(occurred_at), 0) FROM outbox", NULL, err,
                           "read the newest event of %s", p->desc);
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    *out_s = pg_col_int64(r, 0, 0);
    PQclear(r);
    return 0;
}

int pg_listen(struct store *s, int *fd, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    *fd = -1;
    int rc = pg_exec(p, "LISTEN okrd", NULL, NULL, err, "listen for changes on %s", p->desc);
    if (rc)
        return rc;
    *fd = PQsocket(p->conn);
    if (*fd < 0)
        return okrd_err_set(err, OKRD_EIO, "store: listen for changes on %s: no socket", p->desc);
    return 0;
}

int pg_listen_drain(struct store *s, int *n, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    *n = 0;
    /* libpq's socket is non-blocking: this reads only what has arrived. */
    if (!PQconsumeInput(p->conn) || PQstatus(p->conn) != CONNECTION_OK)
        return pg_err_result(p, NULL, err, "listen for changes on %s", p->desc);
    PGnotify *note;
    while ((note = PQnotifies(p->conn)) != NULL) {
        (*n)++;
        PQfreemem(note);
    }
    return 0;
}
