/*
 * pg_outbox.c — the alerts outbox, its deliveries and the alert rules'
 * state on PostgreSQL (store_outbox.h; DESIGN sections 5 and 10). The same
 * rows and answers as store/sqlite's outbox.
 *
 * seq: SQLite numbers events with AUTOINCREMENT — one past the highest
 * number ever committed, never reused after retention deletes rows, and
 * given again after a rollback (the counter rolls back with it). A
 * PostgreSQL sequence would leave a gap after every rolled-back evaluation,
 * so the counter is a column (store_meta.outbox_seq) updated in the
 * event's own transaction: it rolls back with it, and it is kept at least
 * max(seq), so rows copied in by `okrd migrate` are never numbered twice.
 * Every write transaction holds the store_meta lock from its start
 * (pg_tx.c), so seq order is commit order across every connection and
 * node: the oldest pending delivery of a webhook (next_delivery) is never
 * committed after a younger one was sent.
 *
 * Invariants kept as on SQLite: an event and its deliveries are inserted
 * together (a savepoint inside the caller's transaction, or one of their
 * own); a delivery never leaves 'delivered' or 'dead' (update_delivery only
 * touches pending rows). Text is ordered in byte order (COLLATE "C").
 *
 * Alert meta (alert_meta) is a table of named integers shared by every
 * node, so whatever the alert rules keep there (the digest slot, and any
 * per-webhook flag such as a 410-disabled webhook) survives a takeover.
 */
#include "pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- events ---- */

static const char sql_outbox_add[] =
    "WITH n AS ("
    " UPDATE store_meta SET outbox_seq ="
    "  greatest(outbox_seq, (SELECT coalesce(max(seq), 0) FROM outbox)) + 1"
    " RETURNING outbox_seq)"
    " INSERT INTO outbox(seq, id, type, objective_id, kr_id, occurred_at, body, created_at)"
    " SELECT n.outbox_seq, $1, $2, $3, $4, $5, $6, $7 FROM n RETURNING seq";

static const char sql_delivery_add[] =
    "INSERT INTO deliveries(event_id, webhook_id, seq, max_age_ms) VALUES ($1, $2, $3, $4)";

static const char *opt_text(const char *v)
{
    return v && *v ? v : NULL;
}

static int add_rows(struct store_pg *p, const struct store_event *ev,
                    const struct store_route *routes, size_t n, struct okrd_err *err)
{
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, ev->id);
    pg_param_text(&pp, ev->type);
    pg_param_text(&pp, opt_text(ev->objective_id));
    pg_param_text(&pp, opt_text(ev->kr_id));
    pg_param_int64(&pp, ev->occurred_at_s);
    pg_param_text(&pp, ev->body);
    pg_param_int64(&pp, ev->created_at_s);
    PGresult *r = pg_query_cached(p, sql_outbox_add, &pp, err, "add event to the outbox");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int64_t seq = PQntuples(r) == 1 ? pg_col_int64(r, 0, 0) : 0;
    PQclear(r);
    for (size_t i = 0; i < n; i++) {
        pg_params_init(&pp);
        pg_param_text(&pp, ev->id);
        pg_param_text(&pp, routes[i].webhook_id);
        pg_param_int64(&pp, seq);
        pg_param_int64(&pp, routes[i].max_age_ms > 0 ? routes[i].max_age_ms : 0);
        int rc = pg_exec_cached(p, sql_delivery_add, &pp, NULL, err,
                                "add a delivery to the outbox");
        if (rc)
            return rc;
    }
    return 0;
}

int pg_outbox_add(struct store *s, const struct store_event *ev, const struct store_route *routes,
                  size_t n_routes, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = pg_check_writable(p, "add event to the outbox", err);
    if (rc)
        return rc;
    if (!ev->id || !*ev->id || !ev->type || !*ev->type || !ev->body)
        return okrd_err_set(err, OKRD_EINVAL,
                            "store: add event to the outbox: missing id, type or body");
    for (size_t i = 0; i < n_routes; i++)
        if (!routes[i].webhook_id || !*routes[i].webhook_id)
            return okrd_err_set(err, OKRD_EINVAL,
                                "store: add event %s to the outbox: route %zu has no webhook id",
                                ev->id, i + 1);
    bool own;
    if ((rc = pg_tx_enter(p, &own, err)) != 0)
        return rc;
    rc = add_rows(p, ev, routes, n_routes, err);
    /* A taken event id (or a webhook twice in ROUTES) is a caller's bug,
     * OKRD_EINVAL as SQLite's constraint error says, not a key a caller
     * could race for (OKRD_EEXIST, as for check-ins). */
    if (rc == OKRD_EEXIST)
        rc = err ? (err->code = OKRD_EINVAL) : OKRD_EINVAL;
    return pg_tx_leave(p, own, rc, err);
}

static const char sql_outbox_seq[] = "SELECT coalesce(max(seq), 0) FROM outbox";

int pg_outbox_last_seq(struct store *s, int64_t *out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    PGresult *r = pg_query_cached(p, sql_outbox_seq, NULL, err, "read the outbox's last seq");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    *out = PQntuples(r) == 1 ? pg_col_int64(r, 0, 0) : 0;
    PQclear(r);
    return 0;
}

/* ---- deliveries ---- */

#define DELIVERY_COLUMNS                                                                        \
    "d.event_id, o.type, d.webhook_id, d.state, d.attempts, d.refusals, d.parts_done,"         \
    " d.next_attempt_at, d.last_status, d.last_error, o.occurred_at, o.created_at,"            \
    " d.delivered_at, o.objective_id, o.kr_id, d.seq, d.max_age_ms"

static void read_delivery(const PGresult *r, int i, struct store_delivery *d)
{
    memset(d, 0, sizeof *d);
    pg_col_copy_text(r, i, 0, d->event_id, sizeof d->event_id);
    pg_col_copy_text(r, i, 1, d->type, sizeof d->type);
    pg_col_copy_text(r, i, 2, d->webhook_id, sizeof d->webhook_id);
    pg_col_copy_text(r, i, 3, d->state, sizeof d->state);
    d->attempts = (int)pg_col_int64(r, i, 4);
    d->refusals = (int)pg_col_int64(r, i, 5);
    d->parts_done = (int)pg_col_int64(r, i, 6);
    d->next_attempt_s = pg_col_int64(r, i, 7);
    d->last_status = (int)pg_col_int64(r, i, 8);
    pg_col_copy_text(r, i, 9, d->last_error, sizeof d->last_error);
    d->occurred_at_s = pg_col_int64(r, i, 10);
    d->created_at_s = pg_col_int64(r, i, 11);
    d->delivered_at_s = pg_col_int64(r, i, 12);
    pg_col_copy_text(r, i, 13, d->objective_id, sizeof d->objective_id);
    pg_col_copy_text(r, i, 14, d->kr_id, sizeof d->kr_id);
    d->seq = pg_col_int64(r, i, 15);
    d->max_age_ms = pg_col_int64(r, i, 16);
}

static const char sql_delivery_each[] =
    "SELECT " DELIVERY_COLUMNS " FROM deliveries d JOIN outbox o ON o.id = d.event_id"
    " WHERE $1::text IS NULL OR d.state = $1::text"
    " ORDER BY d.seq, d.webhook_id COLLATE \"C\"";

int pg_each_delivery(struct store *s, const char *state,
                     int (*cb)(void *ctx, const struct store_delivery *d), void *ctx,
                     struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, opt_text(state));
    PGresult *r = pg_query(p, sql_delivery_each, &pp, err, "list deliveries");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0, n = PQntuples(r);
    struct store_delivery d;
    for (int i = 0; i < n && rc == 0; i++) {
        read_delivery(r, i, &d);
        rc = cb(ctx, &d);
    }
    PQclear(r);
    return rc;
}

static const char sql_delivery_next[] =
    "SELECT " DELIVERY_COLUMNS ", o.body FROM deliveries d JOIN outbox o ON o.id = d.event_id"
    " WHERE d.webhook_id = $1 AND d.state = 'pending' ORDER BY d.seq LIMIT 1";

int pg_next_delivery(struct store *s, const char *webhook_id, struct store_delivery *out,
                     char **body, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    *body = NULL;
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, webhook_id ? webhook_id : "");
    PGresult *r = pg_query_cached(p, sql_delivery_next, &pp, err,
                                  "read the next delivery of webhook \"%s\"",
                                  webhook_id ? webhook_id : "");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0;
    if (PQntuples(r) > 0) {
        read_delivery(r, 0, out);
        if (!(*body = strdup(pg_col_text(r, 0, 17))))
            rc = okrd_err_set(err, OKRD_ENOMEM, "store: read the next delivery: out of memory");
    } else {
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: webhook \"%s\" has nothing pending",
                          webhook_id ? webhook_id : "");
    }
    PQclear(r);
    return rc;
}

static const char sql_delivery_update[] =
    "UPDATE deliveries SET state = $3, attempts = $4, refusals = $5,"
    " parts_done = $6, next_attempt_at = $7, last_status = $8, last_error = $9,"
    " delivered_at = $10"
    " WHERE event_id = $1 AND webhook_id = $2 AND state = 'pending'";

int pg_update_delivery(struct store *s, const struct store_delivery *d, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = pg_check_writable(p, "record a delivery", err);
    if (rc)
        return rc;
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, d->event_id);
    pg_param_text(&pp, d->webhook_id);
    pg_param_text(&pp, d->state);
    pg_param_int(&pp, d->attempts);
    pg_param_int(&pp, d->refusals);
    pg_param_int(&pp, d->parts_done);
    pg_param_int64(&pp, d->next_attempt_s);
    if (d->last_status)
        pg_param_int(&pp, d->last_status);
    else
        pg_param_null(&pp);
    pg_param_text(&pp, opt_text(d->last_error));
    pg_param_time(&pp, d->delivered_at_s);
    bool own;
    if ((rc = pg_tx_enter(p, &own, err)) != 0)
        return rc;
    rc = pg_exec_cached(p, sql_delivery_update, &pp, NULL, err,
                        "record delivery of %.64s to webhook \"%.100s\"", d->event_id,
                        d->webhook_id);
    return pg_tx_leave(p, own, rc, err);
}

/* ---- webhooks disabled by 410 Gone ---- */

/* Rows are never deleted, so max(seq) never goes back; writers are
 * serialized (pg_tx.c), so two records never take one number. */
static const char sql_hook_disable[] =
    "INSERT INTO webhooks_disabled(webhook_id, seq, disabled_at_ms)"
    " VALUES ($1, (SELECT coalesce(max(seq), 0) + 1 FROM webhooks_disabled), $2)"
    " ON CONFLICT (webhook_id) DO UPDATE SET seq = excluded.seq,"
    " disabled_at_ms = excluded.disabled_at_ms";

int pg_disable_webhook(struct store *s, const char *webhook_id, int64_t at_ms,
                       struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    int rc = pg_check_writable(p, "record a disabled webhook", err);
    if (rc)
        return rc;
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, webhook_id);
    pg_param_int64(&pp, at_ms);
    bool own;
    if ((rc = pg_tx_enter(p, &own, err)) != 0)
        return rc;
    rc = pg_exec_cached(p, sql_hook_disable, &pp, NULL, err,
                        "record webhook \"%.100s\" as disabled", webhook_id);
    return pg_tx_leave(p, own, rc, err);
}

int pg_webhooks_disabled_mark(struct store *s, int64_t *mark, struct okrd_err *err)
{
    PGresult *r = pg_query(PG(s), "SELECT coalesce(max(seq), 0) FROM webhooks_disabled", NULL,
                           err, "read the mark of disabled webhooks");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    *mark = PQntuples(r) == 1 ? pg_col_int64(r, 0, 0) : 0;
    PQclear(r);
    return 0;
}

static const char sql_hook_disabled[] =
    "SELECT seq, disabled_at_ms FROM webhooks_disabled WHERE webhook_id = $1";

int pg_webhook_disabled(struct store *s, const char *webhook_id, int64_t *seq, int64_t *at_ms,
                        struct okrd_err *err)
{
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, webhook_id);
    PGresult *r = pg_query_cached(PG(s), sql_hook_disabled, &pp, err,
                                  "read whether webhook \"%.100s\" is disabled", webhook_id);
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = OKRD_ENOTFOUND;
    if (PQntuples(r) == 1) {
        *seq = pg_col_int64(r, 0, 0);
        *at_ms = pg_col_int64(r, 0, 1);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

/* The configured webhook ids as one text[] literal ({"a","b"}), each
 * element quoted and escaped, so no SQL is built from ids. malloc'd. */
static char *id_array(const char *const *ids, size_t n, struct okrd_err *err)
{
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += 3 + 2 * strlen(ids[i] ? ids[i] : "");
    char *a = malloc(len), *o = a;
    if (!a) {
        okrd_err_set(err, OKRD_ENOMEM, "store: expire orphaned deliveries: out of memory");
        return NULL;
    }
    *o++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *o++ = ',';
        *o++ = '"';
        for (const char *c = ids[i] ? ids[i] : ""; *c; c++) {
            if (*c == '"' || *c == '\\')
                *o++ = '\\';
            *o++ = *c;
        }
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return a;
}

/* When a pending delivery T runs out of max_age, in ms ($1 = the default
 * for rows that recorded none). */
#define DELIVERY_EXPIRY_MS(T)                                                                   \
    "((SELECT o.created_at FROM outbox o WHERE o.id = " T ".event_id) * 1000"                  \
    " + CASE WHEN " T ".max_age_ms > 0 THEN " T ".max_age_ms ELSE $1::bigint END)"

/* The row keeps what it knew (its webhook's last answer) and says why it
 * died; the names come back for the log in the order of the table's key
 * (event id, webhook id), the order SQLite's scan of it gives. */
static const char sql_orphans_expire[] =
    "WITH dead AS ("
    " UPDATE deliveries SET state = 'dead', next_attempt_at = 0,"
    " last_error = CASE WHEN coalesce(last_error, '') = '' THEN $3::text"
    "  ELSE last_error || ' ' || $3::text END"
    " WHERE state = 'pending' AND webhook_id <> ALL ($4::text[])"
    " AND " DELIVERY_EXPIRY_MS("deliveries") " <= $2::bigint"
    " RETURNING webhook_id, event_id)"
    " SELECT dead.webhook_id, dead.event_id, o.type FROM dead JOIN outbox o ON o.id = dead.event_id"
    " ORDER BY dead.event_id COLLATE \"C\", dead.webhook_id COLLATE \"C\"";

static const char sql_orphans_next[] =
    "SELECT min(" DELIVERY_EXPIRY_MS("d") ") FROM deliveries d"
    " WHERE d.state = 'pending' AND d.webhook_id <> ALL ($2::text[])";

static int expire_orphans(struct store_pg *p, const struct store_orphan_expiry *q,
                          const char *ids, int64_t *n_dead, int64_t *next_ms,
                          struct okrd_err *err)
{
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_int64(&pp, q->default_max_age_ms);
    pg_param_int64(&pp, q->now_ms);
    pg_param_text(&pp, q->why ? q->why : "(max_age reached)");
    pg_param_text(&pp, ids);
    PGresult *r = pg_query(p, sql_orphans_expire, &pp, err, "expire orphaned deliveries");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        (*n_dead)++;
        if (q->on_dead)
            q->on_dead(q->ctx, pg_col_text(r, i, 0), pg_col_text(r, i, 1), pg_col_text(r, i, 2));
    }
    PQclear(r);
    pg_params_init(&pp);
    pg_param_int64(&pp, q->default_max_age_ms);
    pg_param_text(&pp, ids);
    if (!(r = pg_query(p, sql_orphans_next, &pp, err, "expire orphaned deliveries")))
        return err ? err->code : OKRD_ESTORE;
    *next_ms = PQntuples(r) == 1 ? pg_col_int64(r, 0, 0) : 0; /* NULL (no orphan) reads as 0 */
    PQclear(r);
    return 0;
}

int pg_expire_orphans(struct store *s, const struct store_orphan_expiry *q, int64_t *n_dead,
                      int64_t *next_ms, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    *n_dead = 0;
    *next_ms = 0;
    int rc = pg_check_writable(p, "expire orphaned deliveries", err);
    if (rc)
        return rc;
    char *ids = id_array(q->configured, q->n_configured, err);
    if (!ids)
        return OKRD_ENOMEM;
    bool own;
    if ((rc = pg_tx_enter(p, &own, err)) == 0) {
        rc = expire_orphans(p, q, ids, n_dead, next_ms, err);
        rc = pg_tx_leave(p, own, rc, err);
    }
    free(ids);
    return rc;
}

static bool listed(const char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] && !strcmp(ids[i], id))
            return true;
    return false;
}

static const char sql_orphans_count[] =
    "SELECT webhook_id, count(*) FROM deliveries WHERE state = 'pending' GROUP BY webhook_id";

int pg_count_orphans(struct store *s, const char *const *configured, size_t n_configured,
                     int64_t *out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    *out = 0;
    /* Per webhook id, then matched here, as on SQLite: the ids are few. */
    PGresult *r = pg_query(p, sql_orphans_count, NULL, err, "count orphaned deliveries");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++)
        if (!listed(configured, n_configured, pg_col_text(r, i, 0)))
            *out += pg_col_int64(r, i, 1);
    PQclear(r);
    return 0;
}

static const char sql_delivery_counts[] =
    "SELECT state, count(*), coalesce(sum(greatest(attempts - 1, 0)), 0)"
    " FROM deliveries WHERE $1::text IS NULL OR webhook_id = $1::text GROUP BY state";

int pg_delivery_counts(struct store *s, const char *webhook_id, struct store_delivery_counts *out,
                       struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    memset(out, 0, sizeof *out);
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, opt_text(webhook_id));
    PGresult *r = pg_query_cached(p, sql_delivery_counts, &pp, err, "count deliveries");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        const char *state = pg_col_text(r, i, 0);
        int64_t c = pg_col_int64(r, i, 1);
        out->retries += pg_col_int64(r, i, 2);
        if (!strcmp(state, "pending"))
            out->pending = c;
        else if (!strcmp(state, "delivered"))
            out->delivered = c;
        else if (!strcmp(state, "dead"))
            out->dead = c;
    }
    PQclear(r);
    return 0;
}

static const char sql_outbox_prune[] =
    "DELETE FROM outbox WHERE created_at < $1 AND NOT EXISTS"
    " (SELECT 1 FROM deliveries d WHERE d.event_id = outbox.id AND d.state = 'pending')";

int pg_outbox_prune(struct store *s, int64_t before_s, int64_t *n_out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    *n_out = 0;
    int rc = pg_check_writable(p, "prune the outbox", err);
    if (rc)
        return rc;
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_int64(&pp, before_s);
    bool own;
    if ((rc = pg_tx_enter(p, &own, err)) != 0)
        return rc;
    rc = pg_exec(p, sql_outbox_prune, &pp, n_out, err, "prune the outbox");
    rc = pg_tx_leave(p, own, rc, err);
    if (rc)
        *n_out = 0;
    return rc;
}

/* ---- alert rule state ---- */

static const char sql_alert_kr_get[] =
    "SELECT announced, previous, candidate, candidate_since, last_sent, achieved_cycle, stale"
    " FROM alert_kr WHERE kr_id = $1";

int pg_get_alert_kr(struct store *s, const char *kr_id, struct store_alert_kr *out,
                    struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, kr_id ? kr_id : "");
    PGresult *r = pg_query_cached(p, sql_alert_kr_get, &pp, err,
                                  "read alert state of key result \"%s\"", kr_id ? kr_id : "");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0;
    if (PQntuples(r) > 0) {
        memset(out, 0, sizeof *out);
        pg_col_copy_text(r, 0, 0, out->announced, sizeof out->announced);
        pg_col_copy_text(r, 0, 1, out->previous, sizeof out->previous);
        pg_col_copy_text(r, 0, 2, out->candidate, sizeof out->candidate);
        out->candidate_since_s = pg_col_int64(r, 0, 3);
        out->last_sent_s = pg_col_int64(r, 0, 4);
        out->achieved_cycle_s = pg_col_int64(r, 0, 5);
        out->stale = pg_col_int64(r, 0, 6) != 0;
    } else {
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: key result \"%s\" has no alert state",
                          kr_id ? kr_id : "");
    }
    PQclear(r);
    return rc;
}

static const char sql_alert_kr_put[] =
    "INSERT INTO alert_kr(kr_id, announced, previous, candidate, candidate_since,"
    " last_sent, achieved_cycle, stale) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    " ON CONFLICT (kr_id) DO UPDATE SET announced = excluded.announced,"
    " previous = excluded.previous, candidate = excluded.candidate,"
    " candidate_since = excluded.candidate_since, last_sent = excluded.last_sent,"
    " achieved_cycle = excluded.achieved_cycle, stale = excluded.stale";

/* One statement of a writing function: in a transaction of its own or a
 * savepoint of the caller's, so a failure undoes only itself. */
static int write_one(struct store_pg *p, const char *sql, const struct pg_params *pp,
                     const char *action, struct okrd_err *err)
{
    int rc = pg_check_writable(p, action, err);
    if (rc)
        return rc;
    bool own;
    if ((rc = pg_tx_enter(p, &own, err)) != 0)
        return rc;
    rc = pg_exec_cached(p, sql, pp, NULL, err, "%s", action);
    return pg_tx_leave(p, own, rc, err);
}

int pg_put_alert_kr(struct store *s, const char *kr_id, const struct store_alert_kr *in,
                    struct okrd_err *err)
{
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, kr_id);
    pg_param_text(&pp, in->announced);
    pg_param_text(&pp, in->previous);
    pg_param_text(&pp, in->candidate);
    pg_param_int64(&pp, in->candidate_since_s);
    pg_param_int64(&pp, in->last_sent_s);
    pg_param_int64(&pp, in->achieved_cycle_s);
    pg_param_bool(&pp, in->stale);
    char what[200];
    snprintf(what, sizeof what, "record alert state of key result \"%.128s\"", kr_id);
    return write_one(PG(s), sql_alert_kr_put, &pp, what, err);
}

static const char sql_alert_source_get[] =
    "SELECT failing, since FROM alert_source WHERE source = $1";

int pg_get_alert_source(struct store *s, const char *source, struct store_alert_source *out,
                        struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, source ? source : "");
    PGresult *r = pg_query_cached(p, sql_alert_source_get, &pp, err,
                                  "read alert state of source \"%s\"", source ? source : "");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0;
    if (PQntuples(r) > 0) {
        out->failing = pg_col_int64(r, 0, 0) != 0;
        out->since_s = pg_col_int64(r, 0, 1);
    } else {
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: source \"%s\" has no alert state",
                          source ? source : "");
    }
    PQclear(r);
    return rc;
}

int pg_each_failing_source(struct store *s, int (*cb)(void *ctx, const char *source), void *ctx,
                           struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    PGresult *r = pg_query(p, "SELECT source FROM alert_source WHERE failing != 0 ORDER BY source",
                           NULL, err, "list failing sources");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = cb(ctx, pg_col_text(r, i, 0));
    PQclear(r);
    return rc;
}

static const char sql_alert_source_put[] =
    "INSERT INTO alert_source(source, failing, since) VALUES ($1, $2, $3)"
    " ON CONFLICT (source) DO UPDATE SET failing = excluded.failing, since = excluded.since";

int pg_put_alert_source(struct store *s, const char *source, const struct store_alert_source *in,
                        struct okrd_err *err)
{
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, source);
    pg_param_bool(&pp, in->failing);
    pg_param_int64(&pp, in->since_s);
    return write_one(PG(s), sql_alert_source_put, &pp, "record alert state of a source", err);
}

static const char sql_alert_meta_get[] = "SELECT value FROM alert_meta WHERE key = $1";

int pg_get_alert_meta(struct store *s, const char *key, int64_t *out, struct okrd_err *err)
{
    struct store_pg *p = PG(s);
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, key ? key : "");
    PGresult *r = pg_query_cached(p, sql_alert_meta_get, &pp, err, "read alert meta \"%s\"",
                                  key ? key : "");
    if (!r)
        return err ? err->code : OKRD_ESTORE;
    int rc = 0;
    if (PQntuples(r) > 0)
        *out = pg_col_int64(r, 0, 0);
    else
        rc = okrd_err_set(err, OKRD_ENOTFOUND, "store: no alert meta \"%s\"", key ? key : "");
    PQclear(r);
    return rc;
}

static const char sql_alert_meta_put[] =
    "INSERT INTO alert_meta(key, value) VALUES ($1, $2)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value";

int pg_put_alert_meta(struct store *s, const char *key, int64_t value, struct okrd_err *err)
{
    struct pg_params pp;
    pg_params_init(&pp);
    pg_param_text(&pp, key);
    pg_param_int64(&pp, value);
    return write_one(PG(s), sql_alert_meta_put, &pp, "record alert meta", err);
}
