/*
 * pg.c — the PostgreSQL backend's table (store_pg_backend), opening and
 * closing a connection, its session settings, and the statement and error
 * helpers every store/pg/ file uses (pg_internal.h).
 *
 * Why these session settings (DESIGN section 10): synchronous_commit = on,
 * so a commit okrd acts on (a file moved to archive/, a push answered) is
 * durable; extra_float_digits = 3, so a double read back as text is the
 * double that was stored; keepalives and tcp_user_timeout on both ends
 * derived from store.ha.takeover_check, so the server drops the session
 * (and the leader's advisory lock) of a host that vanished within about
 * 2 x takeover_check, and this side notices a vanished server as soon;
 * application_name "okrd HOST PID ROLE" names the session in
 * pg_stat_activity. A read-only open sets default_transaction_read_only,
 * so the server itself refuses any write.
 *
 * The connection string is a secret: it reaches libpq and nothing else.
 * Messages name the server by p->desc (user@host:port/db); libpq's own
 * messages name host and user but never the password, and pg_redact
 * removes it all the same should a server echo it.
 */
#include "pg_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* PostgreSQL 13 or later (DESIGN section 10). */
#define PG_MIN_SERVER_VERSION 130000
#define PG_DEFAULT_TAKEOVER_MS 2000
#define PG_CONNECT_TIMEOUT_S "10"

/* ---- parameters ---- */

void pg_params_init(struct pg_params *pp)
{
    pp->n = 0;
}

static char *param_slot(struct pg_params *pp)
{
    if (pp->n < 0 || pp->n >= PG_MAX_PARAMS) {
        pp->n = -1;
        return NULL;
    }
    return pp->num[pp->n];
}

void pg_param_text(struct pg_params *pp, const char *s)
{
    if (!param_slot(pp))
        return;
    pp->v[pp->n++] = s;
}

void pg_param_null(struct pg_params *pp)
{
    pg_param_text(pp, NULL);
}

void pg_param_int64(struct pg_params *pp, int64_t v)
{
    char *b = param_slot(pp);
    if (!b)
        return;
    snprintf(b, sizeof pp->num[0], "%lld", (long long)v);
    pp->v[pp->n++] = b;
}

void pg_param_int(struct pg_params *pp, int v)
{
    pg_param_int64(pp, v);
}

void pg_param_time(struct pg_params *pp, int64_t t)
{
    if (t == 0)
        pg_param_null(pp);
    else
        pg_param_int64(pp, t);
}

void pg_param_double(struct pg_params *pp, double v)
{
    if (isnan(v)) {
        pg_param_null(pp);
        return;
    }
    char *b = param_slot(pp);
    if (!b)
        return;
    /* 17 significant digits read back as the same double; -0.0 is 0. */
    snprintf(b, sizeof pp->num[0], "%.17g", v == 0 ? 0.0 : v);
    pp->v[pp->n++] = b;
}

void pg_param_bool(struct pg_params *pp, bool b)
{
    pg_param_int64(pp, b ? 1 : 0);
}

/* ---- results ---- */

bool pg_col_isnull(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

int64_t pg_col_int64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double pg_col_double(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NAN;
    return strtod(PQgetvalue(r, row, col), NULL);
}

const char *pg_col_text(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return "";
    return PQgetvalue(r, row, col);
}

void pg_col_copy_text(const PGresult *r, int row, int col, char *buf, size_t size)
{
    if (!size)
        return;
    const char *t = pg_col_text(r, row, col);
    size_t n = strlen(t);
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
            n--; /* not inside a UTF-8 character */
    }
    memcpy(buf, t, n);
    buf[n] = '\0';
}

/* ---- errors ---- */

int pg_code_from_sqlstate(const char *st)
{
    if (!st || strlen(st) != 5)
        return OKRD_EIO;
    if (!strcmp(st, "40001") || !strcmp(st, "40P01") || !strcmp(st, "55P03"))
        return OKRD_EBUSY;
    if (!strcmp(st, "23505"))
        return OKRD_EEXIST;
    if (!strncmp(st, "23", 2) || !strncmp(st, "22", 2))
        return OKRD_EINVAL;
    if (!strncmp(st, "08", 2) || !strcmp(st, "57P01") || !strcmp(st, "57P02") ||
        !strcmp(st, "57P03"))
        return OKRD_EIO;
    if (!strcmp(st, "53100") || !strcmp(st, "53200"))
        return strcmp(st, "53200") ? OKRD_ESTORE : OKRD_ENOMEM;
    return OKRD_ESTORE;
}

bool pg_sqlstate_retryable(const char *st)
{
    return st && (!strcmp(st, "40001") || !strcmp(st, "40P01"));
}

void pg_redact(struct store_pg *p, const char *text, char *buf, size_t size)
{
    if (!size)
        return;
    /* One line: libpq's messages end in "\n" and the server's say "FATAL:  ". */
    size_t o = 0;
    bool space = false;
    for (const char *c = text ? text : ""; *c && o + 1 < size; c++) {
        if (*c == '\n' || *c == '\r' || *c == '\t' || *c == ' ') {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < size)
            buf[o++] = ' ';
        space = false;
        buf[o++] = (unsigned char)*c < 0x20 ? '?' : *c;
    }
    buf[o] = '\0';
    const char *pw = p && p->conn ? PQpass(p->conn) : NULL;
    if (!pw || !*pw)
        return;
    size_t pl = strlen(pw);
    for (char *hit; (hit = strstr(buf, pw)) != NULL;) {
        size_t tail = strlen(hit + pl);
        if (pl >= 3) {
            memcpy(hit, "***", 3);
            memmove(hit + 3, hit + pl, tail + 1);
        } else {
            memset(hit, '*', pl); /* a 1- or 2-byte password: star it in place */
        }
    }
}

const char *pg_quote(const char *in, char *buf, size_t size)
{
    size_t o = 0, i = 0;
    if (!in)
        in = "(null)";
    for (; in[i] && i < 40 && o + 1 < size; i++) {
        unsigned char c = (unsigned char)in[i];
        buf[o++] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
    }
    if (in[i] && o + 4 < size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

static int verr(struct store_pg *p, const PGresult *r, struct okrd_err *err, const char *action,
                va_list ap)
{
    char what[OKRD_ERR_MSG_MAX], msg[OKRD_ERR_MSG_MAX];
    vsnprintf(what, sizeof what, action, ap);
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!primary || !*primary)
        primary = r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r)
                                                : (p && p->conn ? PQerrorMessage(p->conn) : "");
    if (!*primary)
        primary = "unknown error";
    pg_redact(p, primary, msg, sizeof msg);
    int code = pg_code_from_sqlstate(st);
    if (st)
        return okrd_err_set(err, code, "store: %s: %s (SQLSTATE %s)", what, msg, st);
    return okrd_err_set(err, code, "store: %s: %s", what, msg);
}

int pg_err_result(struct store_pg *p, const PGresult *r, struct okrd_err *err,
                  const char *action, ...)
{
    va_list ap;
    va_start(ap, action);
    int rc = verr(p, r, err, action, ap);
    va_end(ap);
    return rc;
}

int pg_err_context(struct okrd_err *err, const char *fmt, ...)
{
    if (!err)
        return OKRD_ESTORE;
    char ctx[OKRD_ERR_MSG_MAX], old[OKRD_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    const char *cause = err->msg;
    if (strncmp(cause, "store: ", 7) == 0)
        cause += 7;
    snprintf(old, sizeof old, "%s", cause);
    return okrd_err_set(err, err->code, "store: %s: %s", ctx, old);
}

int pg_check_writable(struct store_pg *p, const char *action, struct okrd_err *err)
{
    if (!(p->base.flags & STORE_READONLY))
        return 0;
    return okrd_err_set(err, OKRD_EINVAL, "store: %s: %s is open read-only", action, p->desc);
}

/* ---- running statements ---- */

static int configure(struct store_pg *p, struct okrd_err *err);

/* A session the server dropped (a restart, a failover, an idle timeout)
 * is opened again before the next statement, but only where nothing was
 * lost with it: no transaction open, and not the writer's session, whose
 * advisory lock (the leadership, DESIGN section 10) died with it; the HA
 * code decides when the writer connects again. */
static bool revivable(const struct store_pg *p)
{
    return PQstatus(p->conn) == CONNECTION_BAD && !p->reviving && p->tx == PG_TX_NONE &&
           !p->base.grouped && strcmp(p->role, "writer") != 0;
}

static int revive(struct store_pg *p, struct okrd_err *err)
{
    if (!revivable(p))
        return 0; /* a statement then fails with the connection's error */
    p->reviving = true;
    PQreset(p->conn);
    int rc = 0;
    if (PQstatus(p->conn) != CONNECTION_OK) {
        char msg[OKRD_ERR_MSG_MAX];
        pg_redact(p, PQerrorMessage(p->conn), msg, sizeof msg);
        rc = okrd_err_set(err, OKRD_EIO, "store: reconnect to %s: %s", p->desc, msg);
    } else {
        p->stmts.n = 0; /* the prepared statements died with the session */
        pg_defer_drop(p);
        pg_health_stash_drop(p);
        pg_metric_map_clear(&p->metrics);
        rc = configure(p, err);
    }
    p->reviving = false;
    return rc;
}

static bool result_ok(const PGresult *r)
{
    ExecStatusType t = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
}

/* How vquery runs a statement: prepared once per connection (CACHED),
 * and/or with its result columns in binary (BINARY). */
enum { Q_CACHED = 1, Q_BINARY = 2 };

static PGresult *vquery_once(struct store_pg *p, const char *sql, const struct pg_params *pp,
                             int how, struct okrd_err *err, const char *action, va_list ap);

static PGresult *vquery(struct store_pg *p, const char *sql, const struct pg_params *pp,
                        int how, struct okrd_err *err, const char *action, va_list ap)
{
    if (pp && pp->n < 0) {
        char what[OKRD_ERR_MSG_MAX];
        vsnprintf(what, sizeof what, action, ap);
        okrd_err_set(err, OKRD_EINVAL, "store: %s: more than %d parameters", what, PG_MAX_PARAMS);
        return NULL;
    }
    if (revive(p, err))
        return NULL;
    /* Outside a transaction a statement that met a dead session (libpq
     * learns of it only by trying) ran nowhere: reconnect and run it once
     * more. */
    for (int attempt = 0;; attempt++) {
        va_list aq;
        va_copy(aq, ap); /* the message may be formatted twice */
        PGresult *r = vquery_once(p, sql, pp, how, err, action, aq);
        va_end(aq);
        if (r || attempt > 0 || !revivable(p))
            return r;
        if (revive(p, err))
            return NULL;
    }
}

/* The slot of SQL in the prepared-statement cache: its index, with
 * *prepare when it still has to be prepared; PG_STMT_CACHE_MAX when the
 * cache is full (then it runs unprepared). */
static size_t stmt_slot(const struct store_pg *p, const char *sql, bool *prepare)
{
    *prepare = false;
    for (size_t i = 0; i < p->stmts.n; i++)
        if (p->stmts.sql[i] == sql)
            return i;
    if (p->stmts.n < PG_STMT_CACHE_MAX) {
        *prepare = true;
        return p->stmts.n;
    }
    return PG_STMT_CACHE_MAX;
}

/* One statement of a pipeline. */
struct pl_stmt {
    const char *sql;
    size_t slot;            /* PG_STMT_CACHE_MAX: unprepared */
    bool prepare;
    int n;
    const char *const *v;
    int format;
    PGresult *res;          /* its result when it succeeded */
    bool prepared;          /* its PREPARE ran */
};

static bool send_stmt(PGconn *c, struct pl_stmt *st, int *sent, int *prep_at)
{
    char name[16];
    snprintf(name, sizeof name, "okrd%zu", st->slot);
    if (st->prepare) {
        if (PQsendPrepare(c, name, st->sql, st->n, NULL) != 1)
            return false;
        *prep_at = (*sent)++;
    }
    int ok = st->slot < PG_STMT_CACHE_MAX
                 ? PQsendQueryPrepared(c, name, st->n, st->v, NULL, NULL, st->format)
                 : PQsendQueryParams(c, st->sql, st->n, NULL, st->v, NULL, NULL, st->format);
    if (ok != 1)
        return false;
    (*sent)++;
    return true;
}

/* The queued savepoint commands, then MAIN, then (TRAIL not NULL) TRAIL,
 * in one libpq pipeline: one round trip. Returns MAIN's result, or the
 * first failed one (a queued command's failure aborts the rest: it is this
 * statement's failure), or NULL when libpq could not send (the
 * connection's message says why). TRAIL->res is set when it succeeded. */
static PGresult *pipelined(struct store_pg *p, struct pl_stmt *main, struct pl_stmt *trail)
{
    PGconn *c = p->conn;
    int queued = p->n_defer, sent = 0;
    p->n_defer = 0; /* sent or failed, they are this statement's now */
    if (PQenterPipelineMode(c) != 1)
        return NULL;
    bool ok = true;
    for (int i = 0; ok && i < queued; i++)
        if ((ok = PQsendQueryParams(c, p->defer[i], 0, NULL, NULL, NULL, NULL, 0) == 1))
            sent++;
    int main_prep = -1, trail_prep = -1, main_at = -1, trail_at = -1;
    if (ok && (ok = send_stmt(c, main, &sent, &main_prep)))
        main_at = sent - 1;
    if (ok && trail && send_stmt(c, trail, &sent, &trail_prep))
        trail_at = sent - 1; /* a rider: the statement stands without it */
    PQpipelineSync(c);
    /* Each query's results end with a NULL; the Sync's result ends it all
     * (or the connection broke: then nothing more comes). */
    PGresult *bad = NULL;
    int at = 0;
    for (int nulls = 0; nulls <= sent + 1;) {
        PGresult *r = PQgetResult(c);
        if (!r) {
            if (PQstatus(c) == CONNECTION_BAD)
                break;
            nulls++;
            at++;
            continue;
        }
        ExecStatusType t = PQresultStatus(r);
        if (t == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (t == PGRES_COMMAND_OK && at == main_prep)
            main->prepared = true;
        if (t == PGRES_COMMAND_OK && at == trail_prep)
            trail->prepared = true;
        /* A failed rider aborted the transaction too: the statement fails. */
        if (!result_ok(r) && t != PGRES_PIPELINE_ABORTED && !bad) {
            bad = r;
        } else if (result_ok(r) && at == main_at && !main->res) {
            main->res = r;
        } else if (result_ok(r) && at == trail_at && !trail->res) {
            trail->res = r;
        } else {
            PQclear(r);
        }
    }
    PQexitPipelineMode(c); /* fails only on a broken session, which says so */
    if (bad || !ok) {
        PQclear(main->res);
        main->res = NULL;
        if (trail) {
            PQclear(trail->res);
            trail->res = NULL;
        }
        return bad;
    }
    return main->res;
}

static PGresult *vquery_once(struct store_pg *p, const char *sql, const struct pg_params *pp,
                             int how, struct okrd_err *err, const char *action, va_list ap)
{
    struct pl_stmt st = {
        .sql = sql, .slot = PG_STMT_CACHE_MAX, .n = pp ? pp->n : 0, .v = pp ? pp->v : NULL,
        .format = how & Q_BINARY ? 1 : 0,
    };
    if (how & Q_CACHED)
        st.slot = stmt_slot(p, sql, &st.prepare);
    PGresult *r = NULL;
    if (p->n_defer > 0 || p->trail_sql) {
        const char *tv[1] = { p->trail_param };
        struct pl_stmt trail = { .sql = p->trail_sql, .n = 1, .v = tv };
        bool with_trail = p->trail_sql != NULL;
        p->trail_sql = NULL; /* one statement carries it */
        if (with_trail) {
            trail.slot = stmt_slot(p, trail.sql, &trail.prepare);
            if (trail.prepare && st.prepare)
                trail.slot++; /* both new: the next two slots */
            if (trail.slot >= PG_STMT_CACHE_MAX)
                trail.prepare = false;
        }
        r = pipelined(p, &st, with_trail ? &trail : NULL);
        if (st.prepared)
            p->stmts.sql[p->stmts.n++] = sql;
        if (trail.prepared)
            p->stmts.sql[p->stmts.n++] = trail.sql;
        if (with_trail)
            p->trail_result = trail.res;
    } else {
        char name[16];
        snprintf(name, sizeof name, "okrd%zu", st.slot);
        if (st.prepare) {
            PGresult *pr = PQprepare(p->conn, name, sql, st.n, NULL);
            if (!result_ok(pr)) {
                verr(p, pr, err, action, ap);
                PQclear(pr);
                return NULL;
            }
            PQclear(pr);
            p->stmts.sql[p->stmts.n++] = sql;
        }
        if (st.slot < PG_STMT_CACHE_MAX)
            r = PQexecPrepared(p->conn, name, st.n, st.v, NULL, NULL, st.format);
        else
            r = PQexecParams(p->conn, sql, st.n, NULL, st.v, NULL, NULL, st.format);
    }
    if (!result_ok(r)) {
        verr(p, r, err, action, ap);
        PQclear(r);
        return NULL;
    }
    return r;
}

PGresult *pg_query(struct store_pg *p, const char *sql, const struct pg_params *pp,
                   struct okrd_err *err, const char *action, ...)
{
    va_list ap;
    va_start(ap, action);
    PGresult *r = vquery(p, sql, pp, 0, err, action, ap);
    va_end(ap);
    return r;
}

PGresult *pg_query_cached(struct store_pg *p, const char *sql, const struct pg_params *pp,
                          struct okrd_err *err, const char *action, ...)
{
    va_list ap;
    va_start(ap, action);
    PGresult *r = vquery(p, sql, pp, Q_CACHED, err, action, ap);
    va_end(ap);
    return r;
}

PGresult *pg_query_cached_binary(struct store_pg *p, const char *sql, const struct pg_params *pp,
                                 struct okrd_err *err, const char *action, ...)
{
    va_list ap;
    va_start(ap, action);
    PGresult *r = vquery(p, sql, pp, Q_CACHED | Q_BINARY, err, action, ap);
    va_end(ap);
    return r;
}

static int rows_of(PGresult *r, int64_t *n_rows)
{
    if (n_rows) {
        const char *t = PQcmdTuples(r);
        *n_rows = t && *t ? strtoll(t, NULL, 10) : 0;
    }
    PQclear(r);
    return 0;
}

int pg_exec(struct store_pg *p, const char *sql, const struct pg_params *pp, int64_t *n_rows,
            struct okrd_err *err, const char *action, ...)
{
    va_list ap;
    va_start(ap, action);
    PGresult *r = vquery(p, sql, pp, 0, err, action, ap);
    va_end(ap);
    return r ? rows_of(r, n_rows) : (err ? err->code : OKRD_ESTORE);
}

int pg_exec_cached(struct store_pg *p, const char *sql, const struct pg_params *pp,
                   int64_t *n_rows, struct okrd_err *err, const char *action, ...)
{
    va_list ap;
    va_start(ap, action);
    PGresult *r = vquery(p, sql, pp, Q_CACHED, err, action, ap);
    va_end(ap);
    return r ? rows_of(r, n_rows) : (err ? err->code : OKRD_ESTORE);
}

/* "A; B; " + SQL: the queued commands before a script (simple protocol
 * runs them in order and stops at the first error). */
static char *with_queue(const struct store_pg *p, const char *sql)
{
    size_t len = strlen(sql) + 1;
    for (int i = 0; i < p->n_defer; i++)
        len += strlen(p->defer[i]) + 2;
    char *out = malloc(len);
    if (!out)
        return NULL;
    size_t o = 0;
    for (int i = 0; i < p->n_defer; i++)
        o += (size_t)snprintf(out + o, len - o, "%s; ", p->defer[i]);
    snprintf(out + o, len - o, "%s", sql);
    return out;
}

int pg_exec_script(struct store_pg *p, const char *sql, struct okrd_err *err,
                   const char *action, ...)
{
    int rc = revive(p, err);
    if (rc)
        return rc;
    char *joined = NULL;
    if (p->n_defer > 0) {
        if (!(joined = with_queue(p, sql)))
            return okrd_err_set(err, OKRD_ENOMEM, "store: %s: out of memory", p->desc);
        p->n_defer = 0;
        sql = joined;
    }
    PGresult *r = PQexec(p->conn, sql);
    if (!result_ok(r) && !joined && revivable(p) && revive(p, NULL) == 0) {
        PQclear(r); /* a dead session, outside a transaction: once more */
        r = PQexec(p->conn, sql);
    }
    if (!result_ok(r)) {
        va_list ap;
        va_start(ap, action);
        rc = verr(p, r, err, action, ap);
        va_end(ap);
    }
    PQclear(r);
    free(joined);
    return rc;
}

/* ---- deferred savepoint commands ---- */

/* CMD is "RELEASE X" and PREV "SAVEPOINT X". */
static bool releases(const char *cmd, const char *prev)
{
    return strncmp(cmd, "RELEASE ", 8) == 0 && strncmp(prev, "SAVEPOINT ", 10) == 0 &&
           strcmp(cmd + 8, prev + 10) == 0;
}

int pg_defer(struct store_pg *p, const char *cmd, struct okrd_err *err)
{
    if (p->n_defer > 0 && releases(cmd, p->defer[p->n_defer - 1])) {
        p->n_defer--; /* a savepoint nothing ran in: neither needs sending */
        return 0;
    }
    if (p->n_defer == PG_DEFER_MAX) {
        int rc = pg_defer_flush(p, err);
        if (rc)
            return rc;
    }
    p->defer[p->n_defer++] = cmd;
    return 0;
}

int pg_rollback_to(struct store_pg *p, const char *cmd_savepoint, struct okrd_err *err)
{
    pg_health_stash_drop(p); /* kept while nothing was undone */
    if (p->n_defer > 0 && strcmp(p->defer[p->n_defer - 1], cmd_savepoint) == 0) {
        p->n_defer--; /* never sent, nothing ran since: nothing to undo */
        return 0;
    }
    /* In an aborted transaction every queued command would have failed
     * without effect, and would stop the ROLLBACK TO behind it. */
    if (p->n_defer > 0 && (!p->conn || PQtransactionStatus(p->conn) != PQTRANS_INTRANS))
        pg_defer_drop(p);
    const char *name = cmd_savepoint + strlen("SAVEPOINT ");
    char sql[96];
    snprintf(sql, sizeof sql, "ROLLBACK TO %s; RELEASE %s", name, name);
    return pg_exec_script(p, sql, err, "roll back to a savepoint on %s", p->desc);
}

int pg_defer_flush(struct store_pg *p, struct okrd_err *err)
{
    if (p->n_defer == 0)
        return 0;
    /* The last command as the script, the others before it. */
    const char *last = p->defer[--p->n_defer];
    return pg_exec_script(p, last, err, "savepoints on %s", p->desc);
}

void pg_defer_drop(struct store_pg *p)
{
    p->n_defer = 0;
}

/* ---- open and close ---- */

/* "USER@HOST:PORT/DB" from the live connection (host may be a socket dir). */
static void describe(struct store_pg *p)
{
    const char *host = PQhost(p->conn), *port = PQport(p->conn);
    const char *user = PQuser(p->conn), *db = PQdb(p->conn);
    snprintf(p->desc, sizeof p->desc, "postgresql %s@%s:%s/%s", user ? user : "?",
             host && *host ? host : "localhost", port && *port ? port : "5432", db ? db : "?");
}

/* libpq's parse error, with every quoted span (a piece of the connection
 * string, which may be the password) removed. */
static int bad_url(const char *parse_err, struct okrd_err *err)
{
    char msg[OKRD_ERR_MSG_MAX];
    size_t o = 0;
    bool quoted = false;
    for (const char *c = parse_err ? parse_err : "malformed"; *c && o + 1 < sizeof msg; c++) {
        if (*c == '"') {
            if (!quoted && o + 6 < sizeof msg) {
                memcpy(msg + o, "\"...\"", 5);
                o += 5;
            }
            quoted = !quoted;
            continue;
        }
        if (!quoted)
            msg[o++] = (*c == '\n') ? ' ' : *c;
    }
    while (o > 0 && msg[o - 1] == ' ')
        o--;
    msg[o] = '\0';
    return okrd_err_set(err, OKRD_EINVAL,
                        "store: store.url is not a valid PostgreSQL connection string: %s", msg);
}

/* Keepalives from takeover_check T (ms): the first probe after T/2 idle,
 * then one every T/4, two lost ones end the session (whole seconds, at
 * least 1: 3 s for T = 2 s). The server's tcp_user_timeout is 3/2 x T. On
 * Linux it also bounds the keepalives: the server drops a silent session
 * about tcp_user_timeout after it last heard from it. The leader stopped
 * acting T after its last confirmation was sent, so the lock goes free T/2
 * after that at the earliest (with T it was the same moment: a race of two
 * leaders), and a follower (trying every T) leads within about 5/2 x T,
 * inside DESIGN section 10's 3 x T (with 2 x T it was 3 x T exactly). */
static int64_t keepalive_idle_s(int64_t t)
{
    int64_t v = (t / 2 + 999) / 1000;
    return v < 1 ? 1 : v;
}

static int64_t keepalive_interval_s(int64_t t)
{
    int64_t v = (t / 4 + 999) / 1000;
    return v < 1 ? 1 : v;
}

/* Server-side session settings; the same numbers as the client's. */
static int configure(struct store_pg *p, struct okrd_err *err)
{
    int64_t t = p->takeover_check_ms;
    int64_t idle = keepalive_idle_s(t), interval = keepalive_interval_s(t);
    char sql[768];
    snprintf(sql, sizeof sql,
             "SET synchronous_commit = on; SET extra_float_digits = 3;"
             " SET client_encoding = 'UTF8';"
             " SET tcp_keepalives_idle = %lld; SET tcp_keepalives_interval = %lld;"
             " SET tcp_keepalives_count = 2; SET tcp_user_timeout = %lld;%s",
             (long long)idle, (long long)interval, (long long)(t + t / 2),
             (p->base.flags & STORE_READONLY) ? " SET default_transaction_read_only = on;" : "");
    int rc = pg_exec_script(p, sql, err, "configure the session on %s", p->desc);
    if (rc)
        return rc;
    PGresult *r = pg_query(p,
                           "SELECT pg_is_in_recovery(), current_setting('server_encoding'),"
                           " current_setting('server_version_num')::int",
                           NULL, err, "check the server %s", p->desc);
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    bool recovery = pg_col_text(r, 0, 0)[0] == 't';
    char enc[32];
    pg_col_copy_text(r, 0, 1, enc, sizeof enc);
    int64_t version = pg_col_int64(r, 0, 2);
    PQclear(r);
    if (recovery)
        return okrd_err_set(err, OKRD_EBUSY,
                            "store: %s is a server in recovery (a standby): okrd needs the primary "
                            "(a standby's advisory locks mean nothing)", p->desc);
    if (strcmp(enc, "UTF8") != 0)
        return okrd_err_set(err, OKRD_ESTORE,
                            "store: %s: the database's encoding is %s; okrd needs a UTF8 database "
                            "(CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)", p->desc, enc);
    if (version < PG_MIN_SERVER_VERSION)
        return okrd_err_set(err, OKRD_ESTORE,
                            "store: %s runs PostgreSQL %lld; okrd needs 13 or later", p->desc,
                            (long long)version);
    return 0;
}

static int pg_connect(struct store_pg *p, const struct store_loc *loc, struct okrd_err *err)
{
    char *perr = NULL;
    PQconninfoOption *parsed = PQconninfoParse(loc->url, &perr);
    if (!parsed) {
        int rc = bad_url(perr, err);
        PQfreemem(perr);
        return rc;
    }
    PQconninfoFree(parsed);

    char host[256] = "", tail[96], app[400], idle[24], interval[24], utimeout[24];
    gethostname(host, sizeof host - 1);
    int64_t t = p->takeover_check_ms;
    /* The server keeps 63 bytes of application_name: shorten the host
     * name, never the pid and role at the end. */
    snprintf(tail, sizeof tail, " %ld %s", (long)getpid(), p->role);
    int room = 63 - 5 - (int)strlen(tail);
    snprintf(app, sizeof app, "okrd %.*s%s", room > 1 ? room : 1, *host ? host : "localhost",
             tail);
    snprintf(idle, sizeof idle, "%lld", (long long)keepalive_idle_s(t));
    snprintf(interval, sizeof interval, "%lld", (long long)keepalive_interval_s(t));
    snprintf(utimeout, sizeof utimeout, "%lld", (long long)(2 * t));
    /* Later keywords win: the URL may set connect_timeout or sslmode; the
     * keepalives and the name are okrd's (DESIGN section 10). */
    const char *const keys[] = { "connect_timeout", "dbname", "application_name", "keepalives",
                                 "keepalives_idle", "keepalives_interval", "keepalives_count",
                                 "tcp_user_timeout", "client_encoding", NULL };
    const char *const vals[] = { PG_CONNECT_TIMEOUT_S, loc->url, app, "1", idle, interval, "2",
                                 utimeout, "UTF8", NULL };
    p->conn = PQconnectdbParams(keys, vals, 1);
    if (!p->conn)
        return okrd_err_set(err, OKRD_ENOMEM, "store: connect to PostgreSQL: out of memory");
    describe(p);
    if (PQstatus(p->conn) != CONNECTION_OK) {
        char msg[OKRD_ERR_MSG_MAX];
        pg_redact(p, PQerrorMessage(p->conn), msg, sizeof msg);
        bool auth = strstr(msg, "password") || strstr(msg, "authentication");
        return okrd_err_set(err, auth ? OKRD_EINVAL : OKRD_EIO, "store: connect to %s: %s",
                            p->desc, msg);
    }
    return configure(p, err);
}

/* A failed session opened again (pg_ha.c, the writer of an HA node): the
 * same connection parameters (PQreset), the session settings again; the
 * prepared statements, the metric-id cache and any transaction were the
 * old session's. */
int pg_reconnect(struct store_pg *p, struct okrd_err *err)
{
    PQreset(p->conn);
    p->stmts.n = 0;
    pg_defer_drop(p);
    pg_health_stash_drop(p);
    pg_metric_map_clear(&p->metrics);
    p->tx = PG_TX_NONE;
    p->tx_wrote = p->tx_bulk = false;
    p->sp_depth = 0;
    p->base.grouped = p->base.job_open = false;
    if (PQstatus(p->conn) != CONNECTION_OK)
        return pg_err_result(p, NULL, err, "reconnect to %s", p->desc);
    return configure(p, err);
}

static int pg_open(struct store **out, const struct store_loc *loc, unsigned flags,
                   struct okrd_err *err)
{
    *out = NULL;
    if (!loc || !loc->url || !*loc->url)
        return okrd_err_set(err, OKRD_EINVAL, "store: open: store.url is empty");
    struct store_pg *p = calloc(1, sizeof *p);
    if (!p)
        return okrd_err_set(err, OKRD_ENOMEM, "store: open PostgreSQL: out of memory");
    p->base.be = &store_pg_backend;
    p->base.flags = flags;
    snprintf(p->role, sizeof p->role, "%s", loc->role && *loc->role ? loc->role : "okrd");
    p->takeover_check_ms = loc->takeover_check_ms > 0 ? loc->takeover_check_ms
                                                      : PG_DEFAULT_TAKEOVER_MS;
    snprintf(p->desc, sizeof p->desc, "postgresql");
    int rc = pg_connect(p, loc, err);
    if (!rc)
        rc = (flags & STORE_READONLY) ? pg_schema_check(p, err) : pg_schema_migrate(p, err);
    if (rc) {
        p->base.be->close(&p->base);
        return rc;
    }
    *out = &p->base;
    return 0;
}

static void pg_close(struct store *s)
{
    if (!s)
        return;
    struct store_pg *p = PG(s);
    if (p->ha && p->ha_free)
        p->ha_free(p->ha);
    if (p->conn)
        PQfinish(p->conn); /* an open transaction is rolled back by the server */
    pg_metric_map_clear(&p->metrics);
    free(p->metrics.slots);
    free(p);
}

/* ---- the table ---- */

/* pg_points.c */
int pg_put_points(struct store *s, const struct store_point_in *pts, size_t n,
                  struct okrd_err *err);
int pg_put_points_from(struct store *s, const char *source, const struct store_point_in *pts,
                       size_t n, struct okrd_err *err);
int pg_put_points_bulk(struct store *s, const char *source, const struct store_point_in *pts,
                       size_t n, struct okrd_err *err);
/* pg_read.c */
int pg_get_series(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                  struct store_series *out, struct okrd_err *err);
int pg_get_series_with_prior(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                             struct store_series *out, struct okrd_err *err);
int pg_last_point(struct store *s, const char *metric, int64_t at_s, struct store_point *out,
                  struct okrd_err *err);
int pg_count_points(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                    size_t limit, size_t *out, struct okrd_err *err);
int pg_metric_is_binary(struct store *s, const char *metric, bool *out, struct okrd_err *err);
int pg_newest_in_ranges(struct store *s, const char *metric, const int64_t *bounds,
                        size_t n_bounds, struct store_series *out, struct okrd_err *err);
int pg_each_point(struct store *s, const char *const *metrics, size_t n_metrics, int64_t from_s,
                  int64_t to_s, store_point_cb cb, void *ctx, struct okrd_err *err);
int pg_each_metric(struct store *s, int (*cb)(void *ctx, const char *metric), void *ctx,
                   struct okrd_err *err);
int pg_each_metric_summary(struct store *s,
                           int (*cb)(void *ctx, const struct store_metric_summary *m), void *ctx,
                           struct okrd_err *err);
/* pg_state.c */
int pg_put_source_health(struct store *s, const char *source, const struct store_source_health *h,
                         struct okrd_err *err);
int pg_get_source_health(struct store *s, const char *source, struct store_source_health *out,
                         struct okrd_err *err);
int pg_log_ingest(struct store *s, const struct store_ingest *in, struct okrd_err *err);
int pg_ingest_seen(struct store *s, const char *source, const char *sha256, bool *seen,
                   char **report, struct okrd_err *err);
int pg_put_kr_state(struct store *s, const char *kr_id, const struct store_kr_state *st,
                    struct okrd_err *err);
int pg_get_kr_state(struct store *s, const char *kr_id, struct store_kr_state *out,
                    struct okrd_err *err);

/* pg_history.c */
int pg_put_kr_day(struct store *s, const struct store_kr_day *row, struct okrd_err *err);
int pg_each_kr_day(struct store *s, const char *kr_id, const char *from_date,
                   const char *to_date, int (*cb)(void *ctx, const struct store_kr_day *row),
                   void *ctx, struct okrd_err *err);
int pg_last_kr_day(struct store *s, const char *kr_id, const char *cycle_start,
                   char date_out[11], struct okrd_err *err);
int pg_put_definition(struct store *s, const char *kind, const char *id, const char *cycle_start,
                      const char *cycle_end, const char *json, int64_t at_s, bool *changed,
                      struct okrd_err *err);
int pg_each_definition(struct store *s, const char *cycle_start, const char *cycle_end,
                       int (*cb)(void *ctx, const struct store_definition *d), void *ctx,
                       struct okrd_err *err);
int pg_each_cycle(struct store *s, int (*cb)(void *ctx, const char *start, const char *end),
                  void *ctx, struct okrd_err *err);
/* pg_checkins.c */
int pg_checkin_key_results(struct store *s, char ***ids, size_t *n, struct okrd_err *err);
int pg_latest_checkin(struct store *s, const char *kr, const char *cycle_start,
                      int64_t at_or_before_s, struct okrd_checkin *out, struct okrd_err *err);
int pg_insert_checkin(struct store *s, const struct okrd_checkin *c, struct okrd_err *err);
int pg_each_checkin(struct store *s, const char *kr, const char *cycle_start, int64_t from_s,
                    int64_t to_s, bool newest_first, store_checkin_cb cb, void *ctx,
                    struct okrd_err *err);
int pg_each_unannounced_checkin(struct store *s, const char *kr, store_checkin_cb cb, void *ctx,
                                struct okrd_err *err);
int pg_mark_checkin_announced(struct store *s, const char *id, struct okrd_err *err);
int pg_latest_grade(struct store *s, const char *kr, const char *cycle_start, double *grade,
                    char author[65], struct okrd_err *err);
/* pg_outbox.c */
int pg_outbox_add(struct store *s, const struct store_event *ev, const struct store_route *routes,
                  size_t n_routes, struct okrd_err *err);
int pg_outbox_last_seq(struct store *s, int64_t *out, struct okrd_err *err);
int pg_each_delivery(struct store *s, const char *state,
                     int (*cb)(void *ctx, const struct store_delivery *d), void *ctx,
                     struct okrd_err *err);
int pg_next_delivery(struct store *s, const char *webhook_id, struct store_delivery *out,
                     char **body, struct okrd_err *err);
int pg_update_delivery(struct store *s, const struct store_delivery *d, struct okrd_err *err);
int pg_disable_webhook(struct store *s, const char *webhook_id, int64_t at_ms,
                       struct okrd_err *err);
int pg_webhooks_disabled_mark(struct store *s, int64_t *mark, struct okrd_err *err);
int pg_webhook_disabled(struct store *s, const char *webhook_id, int64_t *seq, int64_t *at_ms,
                        struct okrd_err *err);
int pg_expire_orphans(struct store *s, const struct store_orphan_expiry *q, int64_t *n_dead,
                      int64_t *next_ms, struct okrd_err *err);
int pg_count_orphans(struct store *s, const char *const *configured, size_t n_configured,
                     int64_t *out, struct okrd_err *err);
int pg_delivery_counts(struct store *s, const char *webhook_id, struct store_delivery_counts *out,
                       struct okrd_err *err);
int pg_outbox_prune(struct store *s, int64_t before_s, int64_t *n_out, struct okrd_err *err);
int pg_get_alert_kr(struct store *s, const char *kr_id, struct store_alert_kr *out,
                    struct okrd_err *err);
int pg_put_alert_kr(struct store *s, const char *kr_id, const struct store_alert_kr *in,
                    struct okrd_err *err);
int pg_get_alert_source(struct store *s, const char *source, struct store_alert_source *out,
                        struct okrd_err *err);
int pg_each_failing_source(struct store *s, int (*cb)(void *ctx, const char *source), void *ctx,
                           struct okrd_err *err);
int pg_put_alert_source(struct store *s, const char *source, const struct store_alert_source *in,
                        struct okrd_err *err);
int pg_get_alert_meta(struct store *s, const char *key, int64_t *out, struct okrd_err *err);
int pg_put_alert_meta(struct store *s, const char *key, int64_t value, struct okrd_err *err);
/* pg_ha.c */
int pg_ha_server(struct store *s, struct store_ha_server *out, struct okrd_err *err);
int pg_ha_try_lock(struct store *s, bool *got, struct okrd_err *err);
bool pg_ha_holds_lock(const struct store *s);
int pg_ha_socket(struct store *s);
int pg_ha_confirm(struct store *s, int64_t timeout_ms, struct okrd_err *err);
int pg_ha_unlock(struct store *s, struct okrd_err *err);
int pg_ha_reconnect(struct store *s, struct okrd_err *err);
int pg_ha_newest_event_at(struct store *s, int64_t *out_s, struct okrd_err *err);
int pg_listen(struct store *s, int *fd, struct okrd_err *err);
int pg_listen_drain(struct store *s, int *n, struct okrd_err *err);

const struct store_backend store_pg_backend = {
    .name = "postgresql",
    .shared = true,
    .open = pg_open,
    .close = pg_close,
    .begin = pg_begin,
    .group_begin = pg_group_begin,
    .group_intact = pg_group_intact,
    .group_commit = pg_group_commit,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_transaction = pg_in_tx,
    .sync = pg_sync,
    .data_version = pg_data_version,
    .put_points = pg_put_points,
    .put_points_from = pg_put_points_from,
    .put_points_bulk = pg_put_points_bulk,
    .get_series = pg_get_series,
    .get_series_with_prior = pg_get_series_with_prior,
    .last_point = pg_last_point,
    .count_points = pg_count_points,
    .metric_is_binary = pg_metric_is_binary,
    .newest_in_ranges = pg_newest_in_ranges,
    .each_point = pg_each_point,
    .each_metric = pg_each_metric,
    .each_metric_summary = pg_each_metric_summary,
    .put_source_health = pg_put_source_health,
    .get_source_health = pg_get_source_health,
    .log_ingest = pg_log_ingest,
    .ingest_seen = pg_ingest_seen,
    .put_kr_state = pg_put_kr_state,
    .get_kr_state = pg_get_kr_state,

    /* ==== h-pgrest's area (pg_history.c, pg_checkins.c, pg_outbox.c) ====
     * history/archive, check-ins, outbox/deliveries/alert state. */
    .put_kr_day = pg_put_kr_day,
    .each_kr_day = pg_each_kr_day,
    .last_kr_day = pg_last_kr_day,
    .put_definition = pg_put_definition,
    .each_definition = pg_each_definition,
    .each_cycle = pg_each_cycle,
    .checkin_key_results = pg_checkin_key_results,
    .latest_checkin = pg_latest_checkin,
    .insert_checkin = pg_insert_checkin,
    .each_checkin = pg_each_checkin,
    .each_unannounced_checkin = pg_each_unannounced_checkin,
    .mark_checkin_announced = pg_mark_checkin_announced,
    .latest_grade = pg_latest_grade,
    .outbox_add = pg_outbox_add,
    .outbox_last_seq = pg_outbox_last_seq,
    .each_delivery = pg_each_delivery,
    .next_delivery = pg_next_delivery,
    .update_delivery = pg_update_delivery,
    .disable_webhook = pg_disable_webhook,
    .webhooks_disabled_mark = pg_webhooks_disabled_mark,
    .webhook_disabled = pg_webhook_disabled,
    .expire_orphans = pg_expire_orphans,
    .count_orphans = pg_count_orphans,
    .delivery_counts = pg_delivery_counts,
    .outbox_prune = pg_outbox_prune,
    .get_alert_kr = pg_get_alert_kr,
    .put_alert_kr = pg_put_alert_kr,
    .get_alert_source = pg_get_alert_source,
    .put_alert_source = pg_put_alert_source,
    .each_failing_source = pg_each_failing_source,
    .get_alert_meta = pg_get_alert_meta,
    .put_alert_meta = pg_put_alert_meta,
    /* ==== end of h-pgrest's area ==== */
    /* ==== h-ha's area (pg_ha.c) ==== */
    .ha_server = pg_ha_server,
    .ha_try_lock = pg_ha_try_lock,
    .ha_holds_lock = pg_ha_holds_lock,
    .ha_socket = pg_ha_socket,
    .ha_confirm = pg_ha_confirm,
    .ha_unlock = pg_ha_unlock,
    .ha_reconnect = pg_ha_reconnect,
    .ha_newest_event_at = pg_ha_newest_event_at,
    .listen = pg_listen,
    .listen_drain = pg_listen_drain,
    /* copy (okrd migrate; pg_copy.c): PostgreSQL is only ever the target */
    .copy_count = pg_copy_count,
    .copy_out = NULL,
    .copy_in = pg_copy_in,
    .outbox_counter = pg_outbox_counter,
    .outbox_counter_raise = pg_outbox_counter_raise,
};
