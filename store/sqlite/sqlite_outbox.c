/*
 * store_outbox.c — the SQL of the alerts outbox, its deliveries and the
 * alert rules' state (see store_outbox.h).
 *
 * Invariants: an event and its delivery rows are inserted together (a
 * savepoint inside the caller's transaction, or one of their own); a
 * delivery never leaves 'delivered' or 'dead' (store_update_delivery only
 * touches pending rows), so an answer recorded twice cannot resurrect one.
 * The hot paths (add, next, update, rule state) use cached statements; the
 * listings and housekeeping (status, API, retention) prepare their own.
 */
#include "sqlite_internal.h"
#include "../store_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy_text(sqlite3_stmt *st, int i, char *buf, size_t size)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    snprintf(buf, size, "%s", t ? t : "");
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

#define STMT_OR_FAIL(st, s, id, sql, err)                                                       \
    sqlite3_stmt *st = store_stmt((s), (id), (sql), (err));                                     \
    if (!st)                                                                                    \
        return (err) ? (err)->code : OKRD_ESTORE

static int step_done(struct store *s, sqlite3_stmt *st, struct okrd_err *err, const char *what)
{
    int src = sqlite3_step(st), rc = 0;
    if (src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "%s", what);
    store_stmt_done(st);
    return rc;
}

/* ---- events ---- */

static int add_rows(struct store *s, const struct store_event *ev,
                    const struct store_route *routes, size_t n, struct okrd_err *err)
{
    STMT_OR_FAIL(st, s, STMT_OUTBOX_ADD,
                 "INSERT INTO outbox(id, type, objective_id, kr_id, occurred_at, body, created_at)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                 err);
    sqlite3_bind_text(st, 1, ev->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ev->type, -1, SQLITE_STATIC);
    bind_opt_text(st, 3, ev->objective_id);
    bind_opt_text(st, 4, ev->kr_id);
    sqlite3_bind_int64(st, 5, ev->occurred_at_s);
    sqlite3_bind_text(st, 6, ev->body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, ev->created_at_s);
    int rc = step_done(s, st, err, "add event to the outbox");
    if (rc)
        return rc;
    int64_t seq = sqlite3_last_insert_rowid(SQ(s)->db);
    for (size_t i = 0; i < n; i++) {
        STMT_OR_FAIL(dq, s, STMT_DELIVERY_ADD,
                     "INSERT INTO deliveries(event_id, webhook_id, seq, max_age_ms)"
                     " VALUES (?1, ?2, ?3, ?4)",
                     err);
        sqlite3_bind_text(dq, 1, ev->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(dq, 2, routes[i].webhook_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(dq, 3, seq);
        sqlite3_bind_int64(dq, 4, routes[i].max_age_ms > 0 ? routes[i].max_age_ms : 0);
        if ((rc = step_done(s, dq, err, "add a delivery to the outbox")) != 0)
            return rc;
    }
    return 0;
}

int sq_outbox_add(struct store *s, const struct store_event *ev,
                     const struct store_route *routes, size_t n_routes, struct okrd_err *err)
{
    int rc = store_check_writable(s, "add event to the outbox", err);
    if (rc)
        return rc;
    if (!ev->id || !*ev->id || !ev->type || !*ev->type || !ev->body)
        return okrd_err_set(err, OKRD_EINVAL, "store: add event to the outbox: missing id, type or body");
    for (size_t i = 0; i < n_routes; i++)
        if (!routes[i].webhook_id || !*routes[i].webhook_id)
            return okrd_err_set(err, OKRD_EINVAL,
                                "store: add event %s to the outbox: route %zu has no webhook id",
                                ev->id, i + 1);
    bool own;
    if ((rc = store_tx_enter(s, &own, err)) != 0)
        return rc;
    rc = add_rows(s, ev, routes, n_routes, err);
    return store_tx_leave(s, own, rc, err);
}

int sq_outbox_last_seq(struct store *s, int64_t *out, struct okrd_err *err)
{
    STMT_OR_FAIL(st, s, STMT_OUTBOX_SEQ, "SELECT coalesce(max(seq), 0) FROM outbox", err);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = store_sqlerr(s, src, err, "read the outbox's last seq");
    store_stmt_done(st);
    return rc;
}

/* ---- deliveries ---- */

#define DELIVERY_COLUMNS                                                                        \
    "d.event_id, o.type, d.webhook_id, d.state, d.attempts, d.refusals, d.parts_done,"         \
    " d.next_attempt_at, d.last_status, d.last_error, o.occurred_at, o.created_at,"            \
    " d.delivered_at, o.objective_id, o.kr_id, d.seq, d.max_age_ms"

static void read_delivery(sqlite3_stmt *st, struct store_delivery *d)
{
    memset(d, 0, sizeof *d);
    copy_text(st, 0, d->event_id, sizeof d->event_id);
    copy_text(st, 1, d->type, sizeof d->type);
    copy_text(st, 2, d->webhook_id, sizeof d->webhook_id);
    copy_text(st, 3, d->state, sizeof d->state);
    d->attempts = sqlite3_column_int(st, 4);
    d->refusals = sqlite3_column_int(st, 5);
    d->parts_done = sqlite3_column_int(st, 6);
    d->next_attempt_s = sqlite3_column_int64(st, 7);
    d->last_status = sqlite3_column_int(st, 8);
    copy_text(st, 9, d->last_error, sizeof d->last_error);
    d->occurred_at_s = sqlite3_column_int64(st, 10);
    d->created_at_s = sqlite3_column_int64(st, 11);
    d->delivered_at_s = sqlite3_column_int64(st, 12);
    copy_text(st, 13, d->objective_id, sizeof d->objective_id);
    copy_text(st, 14, d->kr_id, sizeof d->kr_id);
    d->seq = sqlite3_column_int64(st, 15);
    d->max_age_ms = sqlite3_column_int64(st, 16);
}

int sq_each_delivery(struct store *s, const char *state,
                        int (*cb)(void *ctx, const struct store_delivery *d), void *ctx,
                        struct okrd_err *err)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(SQ(s)->db,
                                 "SELECT " DELIVERY_COLUMNS " FROM deliveries d"
                                 " JOIN outbox o ON o.id = d.event_id"
                                 " WHERE ?1 IS NULL OR d.state = ?1"
                                 " ORDER BY d.seq, d.webhook_id",
                                 -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_sqlerr(s, src, err, "list deliveries");
    bind_opt_text(st, 1, state);
    int rc = 0;
    struct store_delivery d;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        read_delivery(st, &d);
        if ((rc = cb(ctx, &d)) != 0)
            break;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "list deliveries");
    sqlite3_finalize(st);
    return rc;
}

int sq_next_delivery(struct store *s, const char *webhook_id, struct store_delivery *out,
                        char **body, struct okrd_err *err)
{
    *body = NULL;
    STMT_OR_FAIL(st, s, STMT_DELIVERY_NEXT,
                 "SELECT " DELIVERY_COLUMNS ", o.body FROM deliveries d"
                 " JOIN outbox o ON o.id = d.event_id"
                 " WHERE d.webhook_id = ?1 AND d.state = 'pending'"
                 " ORDER BY d.seq LIMIT 1",
                 err);
    sqlite3_bind_text(st, 1, webhook_id ? webhook_id : "", -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW) {
        read_delivery(st, out);
        const char *b = (const char *)sqlite3_column_text(st, 17);
        if (!(*body = strdup(b ? b : "")))
            rc = okrd_err_set(err, OKRD_ENOMEM, "store: read the next delivery: out of memory");
    } else if (src == SQLITE_DONE) {
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: webhook \"%s\" has nothing pending",
                          webhook_id ? webhook_id : "");
    } else {
        rc = store_sqlerr(s, src, err, "read the next delivery of webhook \"%s\"", webhook_id);
    }
    store_stmt_done(st);
    return rc;
}

int sq_update_delivery(struct store *s, const struct store_delivery *d, struct okrd_err *err)
{
    int rc = store_check_writable(s, "record a delivery", err);
    if (rc)
        return rc;
    STMT_OR_FAIL(st, s, STMT_DELIVERY_UPDATE,
                 "UPDATE deliveries SET state = ?3, attempts = ?4, refusals = ?5,"
                 " parts_done = ?6, next_attempt_at = ?7, last_status = ?8, last_error = ?9,"
                 " delivered_at = ?10"
                 " WHERE event_id = ?1 AND webhook_id = ?2 AND state = 'pending'",
                 err);
    sqlite3_bind_text(st, 1, d->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, d->webhook_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, d->attempts);
    sqlite3_bind_int(st, 5, d->refusals);
    sqlite3_bind_int(st, 6, d->parts_done);
    sqlite3_bind_int64(st, 7, d->next_attempt_s);
    if (d->last_status)
        sqlite3_bind_int(st, 8, d->last_status);
    else
        sqlite3_bind_null(st, 8);
    bind_opt_text(st, 9, d->last_error);
    if (d->delivered_at_s)
        sqlite3_bind_int64(st, 10, d->delivered_at_s);
    else
        sqlite3_bind_null(st, 10);
    char what[256];
    snprintf(what, sizeof what, "record delivery of %.64s to webhook \"%.100s\"", d->event_id,
             d->webhook_id);
    return step_done(s, st, err, what);
}

/* ---- webhooks disabled by 410 Gone ---- */

int sq_disable_webhook(struct store *s, const char *webhook_id, int64_t at_ms,
                       struct okrd_err *err)
{
    int rc = store_check_writable(s, "record a disabled webhook", err);
    if (rc)
        return rc;
    /* Rows are never deleted, so max(seq) never goes back. */
    STMT_OR_FAIL(st, s, STMT_HOOK_DISABLE,
                 "INSERT INTO webhooks_disabled(webhook_id, seq, disabled_at_ms)"
                 " VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM webhooks_disabled), ?2)"
                 " ON CONFLICT(webhook_id) DO UPDATE SET seq = excluded.seq,"
                 " disabled_at_ms = excluded.disabled_at_ms",
                 err);
    sqlite3_bind_text(st, 1, webhook_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, at_ms);
    char what[160];
    snprintf(what, sizeof what, "record webhook \"%.100s\" as disabled", webhook_id);
    return step_done(s, st, err, what);
}

int sq_webhooks_disabled_mark(struct store *s, int64_t *mark, struct okrd_err *err)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(SQ(s)->db,
                                 "SELECT coalesce(max(seq), 0) FROM webhooks_disabled", -1, &st,
                                 NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    int rc = 0;
    if (src == SQLITE_ROW)
        *mark = sqlite3_column_int64(st, 0);
    else
        rc = store_sqlerr(s, src, err, "read the mark of disabled webhooks");
    sqlite3_finalize(st);
    return rc;
}

int sq_webhook_disabled(struct store *s, const char *webhook_id, int64_t *seq, int64_t *at_ms,
                        struct okrd_err *err)
{
    STMT_OR_FAIL(st, s, STMT_HOOK_DISABLED,
                 "SELECT seq, disabled_at_ms FROM webhooks_disabled WHERE webhook_id = ?1", err);
    sqlite3_bind_text(st, 1, webhook_id, -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        *at_ms = sqlite3_column_int64(st, 1);
    } else if (src == SQLITE_DONE) {
        rc = OKRD_ENOTFOUND;
    } else {
        rc = store_sqlerr(s, src, err, "read whether webhook \"%.100s\" is disabled", webhook_id);
    }
    store_stmt_done(st);
    return rc;
}

/* The configured ids go through a temp table: no SQL built from ids. */
static int fill_configured(struct store *s, const char *const *ids, size_t n)
{
    sqlite3_stmt *ins = NULL;
    int src = sqlite3_exec(SQ(s)->db,
                           "CREATE TEMP TABLE IF NOT EXISTS configured_hooks(id TEXT PRIMARY KEY);"
                           "DELETE FROM configured_hooks;",
                           NULL, NULL, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_prepare_v2(SQ(s)->db, "INSERT OR IGNORE INTO configured_hooks(id) VALUES (?1)",
                                 -1, &ins, NULL);
    for (size_t i = 0; src == SQLITE_OK && i < n; i++) {
        sqlite3_bind_text(ins, 1, ids[i] ? ids[i] : "", -1, SQLITE_STATIC);
        src = sqlite3_step(ins);
        src = src == SQLITE_DONE ? SQLITE_OK : src;
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    return src;
}

/* When a pending delivery T (a table name) runs out of max_age, in ms (?1 =
 * the default for rows that recorded none). */
#define DELIVERY_EXPIRY_MS(T)                                                                   \
    "((SELECT o.created_at FROM outbox o WHERE o.id = " T ".event_id) * 1000"                  \
    " + CASE WHEN " T ".max_age_ms > 0 THEN " T ".max_age_ms ELSE ?1 END)"

int sq_expire_orphans(struct store *s, const struct store_orphan_expiry *q, int64_t *n_dead,
                         int64_t *next_ms, struct okrd_err *err)
{
    *n_dead = 0;
    *next_ms = 0;
    int rc = store_check_writable(s, "expire orphaned deliveries", err);
    if (rc)
        return rc;
    bool own;
    if ((rc = store_tx_enter(s, &own, err)) != 0)
        return rc;
    sqlite3_stmt *upd = NULL, *next = NULL;
    int src = fill_configured(s, q->configured, q->n_configured);
    /* The row keeps what it knew (its webhook's last answer) and says why
     * it died; RETURNING names each for the log. */
    if (src == SQLITE_OK)
        src = sqlite3_prepare_v2(SQ(s)->db,
                                 "UPDATE deliveries SET state = 'dead', next_attempt_at = 0,"
                                 " last_error = CASE WHEN coalesce(last_error, '') = '' THEN ?3"
                                 "  ELSE last_error || ' ' || ?3 END"
                                 " WHERE state = 'pending'"
                                 " AND webhook_id NOT IN (SELECT id FROM configured_hooks)"
                                 " AND " DELIVERY_EXPIRY_MS("deliveries") " <= ?2"
                                 " RETURNING webhook_id, event_id,"
                                 " (SELECT o.type FROM outbox o WHERE o.id = event_id)",
                                 -1, &upd, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(upd, 1, q->default_max_age_ms);
        sqlite3_bind_int64(upd, 2, q->now_ms);
        sqlite3_bind_text(upd, 3, q->why ? q->why : "(max_age reached)", -1, SQLITE_STATIC);
        while ((src = sqlite3_step(upd)) == SQLITE_ROW) {
            (*n_dead)++;
            if (q->on_dead) {
                const char *w = (const char *)sqlite3_column_text(upd, 0);
                const char *e = (const char *)sqlite3_column_text(upd, 1);
                const char *t = (const char *)sqlite3_column_text(upd, 2);
                q->on_dead(q->ctx, w ? w : "", e ? e : "", t ? t : "");
            }
        }
        src = src == SQLITE_DONE ? SQLITE_OK : src;
    }
    if (src == SQLITE_OK)
        src = sqlite3_prepare_v2(SQ(s)->db,
                                 "SELECT min(" DELIVERY_EXPIRY_MS("d") ") FROM deliveries d"
                                 " WHERE d.state = 'pending'"
                                 " AND d.webhook_id NOT IN (SELECT id FROM configured_hooks)",
                                 -1, &next, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(next, 1, q->default_max_age_ms);
        src = sqlite3_step(next);
        if (src == SQLITE_ROW) {
            *next_ms = sqlite3_column_int64(next, 0); /* NULL (no orphan) reads as 0 */
            src = SQLITE_OK;
        }
    }
    if (src != SQLITE_OK)
        rc = store_sqlerr(s, src, err, "expire orphaned deliveries");
    sqlite3_finalize(upd);
    sqlite3_finalize(next);
    return store_tx_leave(s, own, rc, err);
}

static bool listed(const char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] && !strcmp(ids[i], id))
            return true;
    return false;
}

int sq_count_orphans(struct store *s, const char *const *configured, size_t n_configured,
                        int64_t *out, struct okrd_err *err)
{
    *out = 0;
    /* Per webhook id, then matched here: a read-only connection may not
     * create the temp table the writer uses, and the ids are few. */
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(SQ(s)->db,
                                 "SELECT webhook_id, count(*) FROM deliveries"
                                 " WHERE state = 'pending' GROUP BY webhook_id",
                                 -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_sqlerr(s, src, err, "count orphaned deliveries");
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (!listed(configured, n_configured, id ? id : ""))
            *out += sqlite3_column_int64(st, 1);
    }
    int rc = src == SQLITE_DONE ? 0 : store_sqlerr(s, src, err, "count orphaned deliveries");
    sqlite3_finalize(st);
    return rc;
}

int sq_delivery_counts(struct store *s, const char *webhook_id,
                          struct store_delivery_counts *out, struct okrd_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(SQ(s)->db,
                                 "SELECT state, count(*), coalesce(sum(max(attempts - 1, 0)), 0)"
                                 " FROM deliveries WHERE ?1 IS NULL OR webhook_id = ?1"
                                 " GROUP BY state",
                                 -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_sqlerr(s, src, err, "count deliveries");
    bind_opt_text(st, 1, webhook_id);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(st, 0);
        int64_t n = sqlite3_column_int64(st, 1);
        out->retries += sqlite3_column_int64(st, 2);
        if (state && !strcmp(state, "pending"))
            out->pending = n;
        else if (state && !strcmp(state, "delivered"))
            out->delivered = n;
        else if (state && !strcmp(state, "dead"))
            out->dead = n;
    }
    int rc = src == SQLITE_DONE ? 0 : store_sqlerr(s, src, err, "count deliveries");
    sqlite3_finalize(st);
    return rc;
}

int sq_outbox_prune(struct store *s, int64_t before_s, int64_t *n_out, struct okrd_err *err)
{
    *n_out = 0;
    int rc = store_check_writable(s, "prune the outbox", err);
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(SQ(s)->db,
                                 "DELETE FROM outbox WHERE created_at < ?1 AND NOT EXISTS"
                                 " (SELECT 1 FROM deliveries d WHERE d.event_id = outbox.id"
                                 "  AND d.state = 'pending')",
                                 -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, before_s);
        src = sqlite3_step(st);
    }
    if (src == SQLITE_DONE)
        *n_out = sqlite3_changes(SQ(s)->db);
    else
        rc = store_sqlerr(s, src, err, "prune the outbox");
    sqlite3_finalize(st);
    return rc;
}

/* ---- alert rule state ---- */

int sq_get_alert_kr(struct store *s, const char *kr_id, struct store_alert_kr *out,
                       struct okrd_err *err)
{
    STMT_OR_FAIL(st, s, STMT_ALERT_KR_GET,
                 "SELECT announced, previous, candidate, candidate_since, last_sent,"
                 " achieved_cycle, stale FROM alert_kr WHERE kr_id = ?1",
                 err);
    sqlite3_bind_text(st, 1, kr_id ? kr_id : "", -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        copy_text(st, 0, out->announced, sizeof out->announced);
        copy_text(st, 1, out->previous, sizeof out->previous);
        copy_text(st, 2, out->candidate, sizeof out->candidate);
        out->candidate_since_s = sqlite3_column_int64(st, 3);
        out->last_sent_s = sqlite3_column_int64(st, 4);
        out->achieved_cycle_s = sqlite3_column_int64(st, 5);
        out->stale = sqlite3_column_int(st, 6) != 0;
    } else if (src == SQLITE_DONE) {
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: key result \"%s\" has no alert state",
                          kr_id ? kr_id : "");
    } else {
        rc = store_sqlerr(s, src, err, "read alert state of key result \"%s\"", kr_id);
    }
    store_stmt_done(st);
    return rc;
}

int sq_put_alert_kr(struct store *s, const char *kr_id, const struct store_alert_kr *in,
                       struct okrd_err *err)
{
    int rc = store_check_writable(s, "record alert state", err);
    if (rc)
        return rc;
    STMT_OR_FAIL(st, s, STMT_ALERT_KR_PUT,
                 "INSERT INTO alert_kr(kr_id, announced, previous, candidate, candidate_since,"
                 " last_sent, achieved_cycle, stale) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                 " ON CONFLICT(kr_id) DO UPDATE SET announced = excluded.announced,"
                 " previous = excluded.previous, candidate = excluded.candidate,"
                 " candidate_since = excluded.candidate_since, last_sent = excluded.last_sent,"
                 " achieved_cycle = excluded.achieved_cycle, stale = excluded.stale",
                 err);
    sqlite3_bind_text(st, 1, kr_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, in->announced, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, in->previous, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, in->candidate, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, in->candidate_since_s);
    sqlite3_bind_int64(st, 6, in->last_sent_s);
    sqlite3_bind_int64(st, 7, in->achieved_cycle_s);
    sqlite3_bind_int(st, 8, in->stale ? 1 : 0);
    char what[200];
    snprintf(what, sizeof what, "record alert state of key result \"%.128s\"", kr_id);
    return step_done(s, st, err, what);
}

int sq_get_alert_source(struct store *s, const char *source, struct store_alert_source *out,
                           struct okrd_err *err)
{
    STMT_OR_FAIL(st, s, STMT_ALERT_SOURCE_GET,
                 "SELECT failing, since FROM alert_source WHERE source = ?1", err);
    sqlite3_bind_text(st, 1, source ? source : "", -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW) {
        out->failing = sqlite3_column_int(st, 0) != 0;
        out->since_s = sqlite3_column_int64(st, 1);
    } else if (src == SQLITE_DONE) {
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: source \"%s\" has no alert state",
                          source ? source : "");
    } else {
        rc = store_sqlerr(s, src, err, "read alert state of source \"%s\"", source);
    }
    store_stmt_done(st);
    return rc;
}

int sq_each_failing_source(struct store *s, int (*cb)(void *ctx, const char *source), void *ctx,
                           struct okrd_err *err)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(SQ(s)->db,
                                 "SELECT source FROM alert_source WHERE failing != 0"
                                 " ORDER BY source",
                                 -1, &st, NULL);
    if (src != SQLITE_OK)
        return store_sqlerr(s, src, err, "list failing sources");
    int rc = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if ((rc = cb(ctx, id ? id : "")) != 0)
            break;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = store_sqlerr(s, src, err, "list failing sources");
    sqlite3_finalize(st);
    return rc;
}

int sq_put_alert_source(struct store *s, const char *source,
                           const struct store_alert_source *in, struct okrd_err *err)
{
    int rc = store_check_writable(s, "record source alert state", err);
    if (rc)
        return rc;
    STMT_OR_FAIL(st, s, STMT_ALERT_SOURCE_PUT,
                 "INSERT INTO alert_source(source, failing, since) VALUES (?1, ?2, ?3)"
                 " ON CONFLICT(source) DO UPDATE SET failing = excluded.failing,"
                 " since = excluded.since",
                 err);
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, in->failing ? 1 : 0);
    sqlite3_bind_int64(st, 3, in->since_s);
    return step_done(s, st, err, "record alert state of a source");
}

int sq_get_alert_meta(struct store *s, const char *key, int64_t *out, struct okrd_err *err)
{
    STMT_OR_FAIL(st, s, STMT_ALERT_META_GET, "SELECT value FROM alert_meta WHERE key = ?1", err);
    sqlite3_bind_text(st, 1, key ? key : "", -1, SQLITE_STATIC);
    int src = sqlite3_step(st), rc = 0;
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else if (src == SQLITE_DONE)
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: no alert meta \"%s\"", key ? key : "");
    else
        rc = store_sqlerr(s, src, err, "read alert meta \"%s\"", key);
    store_stmt_done(st);
    return rc;
}

int sq_put_alert_meta(struct store *s, const char *key, int64_t value, struct okrd_err *err)
{
    int rc = store_check_writable(s, "record alert meta", err);
    if (rc)
        return rc;
    STMT_OR_FAIL(st, s, STMT_ALERT_META_PUT,
                 "INSERT INTO alert_meta(key, value) VALUES (?1, ?2)"
                 " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 err);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, value);
    return step_done(s, st, err, "record alert meta");
}
