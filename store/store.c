/*
 * store.c — the backend-free half of the store (DESIGN sections 1 and 10):
 * which backend a store_loc opens, the checks every public function makes
 * before it reaches a backend, and the dispatch through struct
 * store_backend (store_backend.h). The SQLite backend lives in
 * store/sqlite/, the PostgreSQL one in store/pg/; nothing here knows SQL.
 *
 * Why the checks live here: both backends must refuse the same input with
 * the same message and store the same values (-0.0 as 0, NaN never, text
 * as valid UTF-8 without NUL), so a backend may assume valid arguments.
 */
#include "store_backend.h"
#include "store_check.h"
#include "common/parse.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every backend this build has, by kind. */
static const struct store_backend *backend_for(enum store_kind kind)
{
    switch (kind) {
    case STORE_SQLITE: return &store_sqlite_backend;
    case STORE_POSTGRESQL: return &store_pg_backend;
    }
    return NULL;
}

int store_open_loc(struct store **out, const struct store_loc *loc, unsigned flags,
                   struct okrd_err *err)
{
    *out = NULL;
    const struct store_backend *be = loc ? backend_for(loc->kind) : NULL;
    if (!be)
        return okrd_err_set(err, OKRD_EINVAL, "store: open: this build has no %s backend",
                            loc && loc->kind == STORE_POSTGRESQL ? "PostgreSQL" : "such");
    return be->open(out, loc, flags, err);
}

int store_open(struct store **out, const char *path, unsigned flags, struct okrd_err *err)
{
    struct store_loc loc = {.kind = STORE_SQLITE, .path = path};
    return store_open_loc(out, &loc, flags, err);
}

void store_close(struct store *s)
{
    if (s)
        s->be->close(s);
}

const char *store_backend_of(const struct store *s)
{
    return s->be->name;
}

bool store_is_shared(const struct store *s)
{
    return s && s->be->shared;
}

int store_path(const char *state_dir, char *buf, size_t size, struct okrd_err *err)
{
    if (!state_dir || !*state_dir)
        return okrd_err_set(err, OKRD_EINVAL, "store: state_dir is empty");
    size_t n = strlen(state_dir);
    while (n > 0 && state_dir[n - 1] == '/')
        n--; /* "/var/lib/okrd/" and "/" give no "//" */
    int w = snprintf(buf, size, "%.*s/okrd.db", (int)n, state_dir);
    if (w < 0 || (size_t)w >= size)
        return okrd_err_set(err, OKRD_ERANGE, "store: state_dir path is too long (%zu bytes)", n);
    return 0;
}

/* ---- messages ---- */

int store_err_context(struct okrd_err *err, const char *fmt, ...)
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

const char *store_quote(const char *in, char *buf, size_t size)
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


/* ---- values as both backends store them ---- */

/* -0.0 is stored as 0 (DESIGN section 10): the sum -0.0 + 0.0 is +0.0 in
 * IEEE arithmetic, and every other value is left as it is. */
static double plain_zero(double v)
{
    return v == 0.0 ? 0.0 : v;
}

/* A copy of IN with invalid UTF-8 bytes replaced by '?', for text from
 * outside (an HTTP error body, a file name): PostgreSQL refuses invalid
 * UTF-8 and SQLite would hand it back as is. NULL when out of memory. */
static char *utf8_clean(const char *in)
{
    size_t n = strlen(in);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t l = okrd_utf8_len(in + i, n - i);
        if (l == 0) {
            out[i++] = '?';
            continue;
        }
        memcpy(out + i, in + i, l);
        i += l;
    }
    out[n] = '\0';
    return out;
}

/* Points with -0.0 made 0: PTS itself when none is -0.0 (the usual case:
 * no copy), else a copy in *copy the caller frees. */
static const struct store_point_in *plain_points(const struct store_point_in *pts, size_t n,
                                                 struct store_point_in **copy)
{
    *copy = NULL;
    size_t i = 0;
    while (i < n && !(pts[i].value == 0.0 && signbit(pts[i].value)))
        i++;
    if (i == n)
        return pts;
    if (!(*copy = malloc(n * sizeof **copy)))
        return NULL;
    memcpy(*copy, pts, n * sizeof **copy);
    for (; i < n; i++)
        (*copy)[i].value = plain_zero((*copy)[i].value);
    return *copy;
}

typedef int (*points_fn)(struct store *, const char *, const struct store_point_in *, size_t,
                         struct okrd_err *);

static int put_points_checked(struct store *s, points_fn fn, const char *source,
                              const struct store_point_in *pts, size_t n, struct okrd_err *err)
{
    if (n == 0)
        return fn(s, source, pts, n, err); /* its checks (writable, open transaction) */
    int rc = store_check_points(pts, n, err);
    if (rc) {
        /* A bulk call's failure ends the caller's transaction (store.h). */
        if (fn == s->be->put_points_bulk && store_in_transaction(s))
            store_rollback(s);
        return rc;
    }
    struct store_point_in *copy;
    const struct store_point_in *use = plain_points(pts, n, &copy);
    if (!use)
        return okrd_err_set(err, OKRD_ENOMEM, "store: upsert %zu points: out of memory", n);
    rc = fn(s, source, use, n, err);
    free(copy);
    return rc;
}

static int put_points_plain(struct store *s, const char *source, const struct store_point_in *pts,
                            size_t n, struct okrd_err *err)
{
    (void)source;
    return s->be->put_points(s, pts, n, err);
}

static int unsupported(const struct store *s, const char *what, struct okrd_err *err)
{
    return okrd_err_set(err, OKRD_EINVAL, "store: %s: not supported by the %s backend", what,
                        s->be->name);
}

/* ---- transactions ---- */

int store_begin(struct store *s, struct okrd_err *err)
{
    return s->be->begin(s, false, err);
}

int store_begin_bulk(struct store *s, struct okrd_err *err)
{
    return s->be->begin(s, true, err);
}

int store_group_begin(struct store *s, struct okrd_err *err)
{
    return s->be->group_begin(s, err);
}

bool store_group_intact(const struct store *s)
{
    return s->be->group_intact(s);
}

int store_group_commit(struct store *s, struct okrd_err *err)
{
    return s->be->group_commit(s, err);
}

/* ---- dispatch ---- */

int store_commit(struct store *s, struct okrd_err *err)
{
    if (!s->be->commit)
        return unsupported(s, "commit", err);
    return s->be->commit(s, err);
}

void store_rollback(struct store *s)
{
    if (s)
        s->be->rollback(s);
}

bool store_in_transaction(const struct store *s)
{
    return s && s->be->in_transaction(s);
}

int store_sync(struct store *s, struct okrd_err *err)
{
    if (!s->be->sync)
        return unsupported(s, "sync", err);
    return s->be->sync(s, err);
}

int store_data_version(struct store *s, int64_t *out, struct okrd_err *err)
{
    if (!s->be->data_version)
        return unsupported(s, "data version", err);
    return s->be->data_version(s, out, err);
}

int store_put_points(struct store *s, const struct store_point_in *pts, size_t n, struct okrd_err *err)
{
    return put_points_checked(s, put_points_plain, NULL, pts, n, err);
}

int store_put_points_from(struct store *s, const char *source, const struct store_point_in *pts, size_t n, struct okrd_err *err)
{
    return put_points_checked(s, s->be->put_points_from, source, pts, n, err);
}

int store_put_points_bulk(struct store *s, const char *source, const struct store_point_in *pts, size_t n, struct okrd_err *err)
{
    return put_points_checked(s, s->be->put_points_bulk, source, pts, n, err);
}

int store_get_series(struct store *s, const char *metric, int64_t from_s, int64_t to_s, struct store_series *out, struct okrd_err *err)
{
    if (!s->be->get_series)
        return unsupported(s, "get series", err);
    return s->be->get_series(s, metric, from_s, to_s, out, err);
}

int store_get_series_with_prior(struct store *s, const char *metric, int64_t from_s, int64_t to_s, struct store_series *out, struct okrd_err *err)
{
    if (!s->be->get_series_with_prior)
        return unsupported(s, "get series with prior", err);
    return s->be->get_series_with_prior(s, metric, from_s, to_s, out, err);
}

int store_last_point(struct store *s, const char *metric, int64_t at_s, struct store_point *out, struct okrd_err *err)
{
    if (!s->be->last_point)
        return unsupported(s, "last point", err);
    return s->be->last_point(s, metric, at_s, out, err);
}

int store_count_points(struct store *s, const char *metric, int64_t from_s, int64_t to_s, size_t limit, size_t *out, struct okrd_err *err)
{
    if (!s->be->count_points)
        return unsupported(s, "count points", err);
    return s->be->count_points(s, metric, from_s, to_s, limit, out, err);
}

int store_metric_is_binary(struct store *s, const char *metric, bool *out, struct okrd_err *err)
{
    if (!s->be->metric_is_binary)
        return unsupported(s, "metric is binary", err);
    return s->be->metric_is_binary(s, metric, out, err);
}

int store_newest_in_ranges(struct store *s, const char *metric, const int64_t *bounds, size_t n_bounds, struct store_series *out, struct okrd_err *err)
{
    if (!s->be->newest_in_ranges)
        return unsupported(s, "newest in ranges", err);
    return s->be->newest_in_ranges(s, metric, bounds, n_bounds, out, err);
}

int store_each_point(struct store *s, const char *const *metrics, size_t n_metrics, int64_t from_s, int64_t to_s, store_point_cb cb, void *ctx, struct okrd_err *err)
{
    if (!s->be->each_point)
        return unsupported(s, "each point", err);
    return s->be->each_point(s, metrics, n_metrics, from_s, to_s, cb, ctx, err);
}

int store_each_metric(struct store *s, int (*cb)(void *ctx, const char *metric), void *ctx, struct okrd_err *err)
{
    if (!s->be->each_metric)
        return unsupported(s, "each metric", err);
    return s->be->each_metric(s, cb, ctx, err);
}

int store_each_metric_summary(struct store *s, int (*cb)(void *ctx, const struct store_metric_summary *m), void *ctx, struct okrd_err *err)
{
    if (!s->be->each_metric_summary)
        return unsupported(s, "each metric summary", err);
    return s->be->each_metric_summary(s, cb, ctx, err);
}

int store_put_source_health(struct store *s, const char *source, const struct store_source_health *h, struct okrd_err *err)
{
    int rc = store_check_id("source id", source, "record source health", err);
    if (rc)
        return rc;
    struct store_source_health c = *h;
    char *clean = utf8_clean(h->last_error);
    if (!clean)
        return okrd_err_set(err, OKRD_ENOMEM, "store: record source health: out of memory");
    snprintf(c.last_error, sizeof c.last_error, "%s", clean);
    free(clean);
    return s->be->put_source_health(s, source, &c, err);
}

int store_get_source_health(struct store *s, const char *source, struct store_source_health *out, struct okrd_err *err)
{
    if (!s->be->get_source_health)
        return unsupported(s, "get source health", err);
    return s->be->get_source_health(s, source, out, err);
}

int store_log_ingest(struct store *s, const struct store_ingest *in, struct okrd_err *err)
{
    int rc = store_check_ingest(in, err);
    if (rc)
        return rc;
    struct store_ingest c = *in;
    char *name = utf8_clean(in->name), *report = in->report ? utf8_clean(in->report) : NULL;
    if (!name || (in->report && !report))
        rc = okrd_err_set(err, OKRD_ENOMEM, "store: log ingest: out of memory");
    else {
        c.name = name;
        c.report = report;
        rc = s->be->log_ingest(s, &c, err);
    }
    free(name);
    free(report);
    return rc;
}

int store_ingest_seen(struct store *s, const char *source, const char *sha256, bool *seen, char **report, struct okrd_err *err)
{
    if (!s->be->ingest_seen)
        return unsupported(s, "ingest seen", err);
    return s->be->ingest_seen(s, source, sha256, seen, report, err);
}

int store_put_kr_state(struct store *s, const char *kr_id, const struct store_kr_state *st, struct okrd_err *err)
{
    static const char action[] = "record key result state";
    int rc = store_check_id("key result id", kr_id, action, err);
    if (rc || (rc = store_check_status("status", st->status, sizeof st->status, action, err)) ||
        (st->previous[0] &&
         (rc = store_check_status("previous status", st->previous, sizeof st->previous, action,
                                  err))))
        return rc;
    struct store_kr_state c = *st;
    c.value = plain_zero(c.value);
    c.progress = plain_zero(c.progress);
    c.expected = plain_zero(c.expected);
    c.projected_score = plain_zero(c.projected_score);
    c.score = plain_zero(c.score);
    return s->be->put_kr_state(s, kr_id, &c, err);
}

int store_get_kr_state(struct store *s, const char *kr_id, struct store_kr_state *out, struct okrd_err *err)
{
    if (!s->be->get_kr_state)
        return unsupported(s, "get kr state", err);
    return s->be->get_kr_state(s, kr_id, out, err);
}

int store_put_kr_day(struct store *s, const struct store_kr_day *row, struct okrd_err *err)
{
    static const char action[] = "record a day of key result history";
    int rc;
    if ((rc = store_check_id("key result id", row->kr_id, action, err)) != 0 ||
        (rc = store_check_date("date", row->date, action, err)) != 0 ||
        (rc = store_check_date("cycle start", row->cycle_start, action, err)) != 0 ||
        (rc = store_check_status("status", row->status, sizeof row->status, action, err)) != 0 ||
        (rc = store_check_status("computed status", row->computed_status,
                                 sizeof row->computed_status, action, err)) != 0)
        return rc;
    struct store_kr_day c = *row;
    c.progress = plain_zero(c.progress);
    c.expected = plain_zero(c.expected);
    c.score = plain_zero(c.score);
    c.probability = plain_zero(c.probability);
    return s->be->put_kr_day(s, &c, err);
}

int store_each_kr_day(struct store *s, const char *kr_id, const char *from_date, const char *to_date, int (*cb)(void *ctx, const struct store_kr_day *row), void *ctx, struct okrd_err *err)
{
    if (!s->be->each_kr_day)
        return unsupported(s, "each kr day", err);
    return s->be->each_kr_day(s, kr_id, from_date, to_date, cb, ctx, err);
}

int store_last_kr_day(struct store *s, const char *kr_id, const char *cycle_start, char date_out[11], struct okrd_err *err)
{
    if (!s->be->last_kr_day)
        return unsupported(s, "last kr day", err);
    return s->be->last_kr_day(s, kr_id, cycle_start, date_out, err);
}

int store_put_definition(struct store *s, const char *kind, const char *id, const char *cycle_start, const char *cycle_end, const char *json, int64_t at_s, bool *changed, struct okrd_err *err)
{
    if (changed)
        *changed = false;
    int rc = store_check_definition(kind, id, cycle_start, cycle_end, err);
    if (rc)
        return rc;
    return s->be->put_definition(s, kind, id, cycle_start, cycle_end, json, at_s, changed, err);
}

int store_each_definition(struct store *s, const char *cycle_start, const char *cycle_end, int (*cb)(void *ctx, const struct store_definition *d), void *ctx, struct okrd_err *err)
{
    if (!s->be->each_definition)
        return unsupported(s, "each definition", err);
    return s->be->each_definition(s, cycle_start, cycle_end, cb, ctx, err);
}

int store_each_cycle(struct store *s, int (*cb)(void *ctx, const char *start, const char *end), void *ctx, struct okrd_err *err)
{
    if (!s->be->each_cycle)
        return unsupported(s, "each cycle", err);
    return s->be->each_cycle(s, cb, ctx, err);
}

int store_checkin_key_results(struct store *s, char ***ids, size_t *n, struct okrd_err *err)
{
    *ids = NULL;
    *n = 0;
    if (!s->be->checkin_key_results)
        return unsupported(s, "check-in key results", err);
    return s->be->checkin_key_results(s, ids, n, err);
}

int store_latest_checkin(struct store *s, const char *kr, const char *cycle_start, int64_t at_or_before_s, struct okrd_checkin *out, struct okrd_err *err)
{
    if (!s->be->latest_checkin)
        return unsupported(s, "latest checkin", err);
    return s->be->latest_checkin(s, kr, cycle_start, at_or_before_s, out, err);
}

int store_insert_checkin(struct store *s, const struct okrd_checkin *c, struct okrd_err *err)
{
    int rc = store_check_checkin(c, err);
    if (rc)
        return rc;
    struct okrd_checkin v = *c;
    v.value = plain_zero(v.value);
    v.grade = plain_zero(v.grade);
    return s->be->insert_checkin(s, &v, err);
}

int store_each_checkin(struct store *s, const char *kr, const char *cycle_start, int64_t from_s, int64_t to_s, bool newest_first, store_checkin_cb cb, void *ctx, struct okrd_err *err)
{
    if (!s->be->each_checkin)
        return unsupported(s, "each checkin", err);
    return s->be->each_checkin(s, kr, cycle_start, from_s, to_s, newest_first, cb, ctx, err);
}

int store_each_unannounced_checkin(struct store *s, const char *kr, store_checkin_cb cb, void *ctx, struct okrd_err *err)
{
    if (!s->be->each_unannounced_checkin)
        return unsupported(s, "each unannounced checkin", err);
    return s->be->each_unannounced_checkin(s, kr, cb, ctx, err);
}

int store_mark_checkin_announced(struct store *s, const char *id, struct okrd_err *err)
{
    if (!s->be->mark_checkin_announced)
        return unsupported(s, "mark checkin announced", err);
    return s->be->mark_checkin_announced(s, id, err);
}

int store_latest_grade(struct store *s, const char *kr, const char *cycle_start, double *grade, char author[65], struct okrd_err *err)
{
    if (!s->be->latest_grade)
        return unsupported(s, "latest grade", err);
    return s->be->latest_grade(s, kr, cycle_start, grade, author, err);
}

int store_outbox_add(struct store *s, const struct store_event *ev, const struct store_route *routes, size_t n_routes, struct okrd_err *err)
{
    if (!s->be->outbox_add)
        return unsupported(s, "outbox add", err);
    return s->be->outbox_add(s, ev, routes, n_routes, err);
}

int store_outbox_last_seq(struct store *s, int64_t *out, struct okrd_err *err)
{
    if (!s->be->outbox_last_seq)
        return unsupported(s, "outbox last seq", err);
    return s->be->outbox_last_seq(s, out, err);
}

int store_each_delivery(struct store *s, const char *state, int (*cb)(void *ctx, const struct store_delivery *d), void *ctx, struct okrd_err *err)
{
    if (!s->be->each_delivery)
        return unsupported(s, "each delivery", err);
    return s->be->each_delivery(s, state, cb, ctx, err);
}

int store_next_delivery(struct store *s, const char *webhook_id, struct store_delivery *out, char **body, struct okrd_err *err)
{
    if (!s->be->next_delivery)
        return unsupported(s, "next delivery", err);
    return s->be->next_delivery(s, webhook_id, out, body, err);
}

int store_update_delivery(struct store *s, const struct store_delivery *d, struct okrd_err *err)
{
    if (!s->be->update_delivery)
        return unsupported(s, "update delivery", err);
    /* last_error carries text from outside (a transport error, an answer). */
    struct store_delivery c = *d;
    char *clean = utf8_clean(d->last_error);
    if (!clean)
        return okrd_err_set(err, OKRD_ENOMEM, "store: record a delivery: out of memory");
    snprintf(c.last_error, sizeof c.last_error, "%s", clean);
    free(clean);
    return s->be->update_delivery(s, &c, err);
}

int store_disable_webhook(struct store *s, const char *webhook_id, int64_t at_ms,
                          struct okrd_err *err)
{
    if (!s->be->disable_webhook)
        return unsupported(s, "disable webhook", err);
    if (!webhook_id || !*webhook_id)
        return okrd_err_set(err, OKRD_EINVAL, "store: disable a webhook: no webhook id");
    return s->be->disable_webhook(s, webhook_id, at_ms, err);
}

int store_webhooks_disabled_mark(struct store *s, int64_t *mark, struct okrd_err *err)
{
    if (!s->be->webhooks_disabled_mark)
        return unsupported(s, "webhooks disabled mark", err);
    return s->be->webhooks_disabled_mark(s, mark, err);
}

int store_webhook_disabled(struct store *s, const char *webhook_id, int64_t *seq, int64_t *at_ms,
                           struct okrd_err *err)
{
    if (!s->be->webhook_disabled)
        return unsupported(s, "webhook disabled", err);
    return s->be->webhook_disabled(s, webhook_id ? webhook_id : "", seq, at_ms, err);
}

int store_expire_orphans(struct store *s, const struct store_orphan_expiry *q, int64_t *n_dead, int64_t *next_ms, struct okrd_err *err)
{
    if (!s->be->expire_orphans)
        return unsupported(s, "expire orphans", err);
    return s->be->expire_orphans(s, q, n_dead, next_ms, err);
}

int store_count_orphans(struct store *s, const char *const *configured, size_t n_configured, int64_t *out, struct okrd_err *err)
{
    if (!s->be->count_orphans)
        return unsupported(s, "count orphans", err);
    return s->be->count_orphans(s, configured, n_configured, out, err);
}

int store_delivery_counts(struct store *s, const char *webhook_id, struct store_delivery_counts *out, struct okrd_err *err)
{
    if (!s->be->delivery_counts)
        return unsupported(s, "delivery counts", err);
    return s->be->delivery_counts(s, webhook_id, out, err);
}

int store_outbox_prune(struct store *s, int64_t before_s, int64_t *n_out, struct okrd_err *err)
{
    if (!s->be->outbox_prune)
        return unsupported(s, "outbox prune", err);
    return s->be->outbox_prune(s, before_s, n_out, err);
}

int store_get_alert_kr(struct store *s, const char *kr_id, struct store_alert_kr *out, struct okrd_err *err)
{
    if (!s->be->get_alert_kr)
        return unsupported(s, "get alert kr", err);
    return s->be->get_alert_kr(s, kr_id, out, err);
}

int store_put_alert_kr(struct store *s, const char *kr_id, const struct store_alert_kr *in, struct okrd_err *err)
{
    if (!s->be->put_alert_kr)
        return unsupported(s, "put alert kr", err);
    return s->be->put_alert_kr(s, kr_id, in, err);
}

int store_get_alert_source(struct store *s, const char *source, struct store_alert_source *out, struct okrd_err *err)
{
    if (!s->be->get_alert_source)
        return unsupported(s, "get alert source", err);
    return s->be->get_alert_source(s, source, out, err);
}

int store_put_alert_source(struct store *s, const char *source, const struct store_alert_source *in, struct okrd_err *err)
{
    if (!s->be->put_alert_source)
        return unsupported(s, "put alert source", err);
    return s->be->put_alert_source(s, source, in, err);
}

int store_each_failing_source(struct store *s, int (*cb)(void *ctx, const char *source),
                              void *ctx, struct okrd_err *err)
{
    if (!s->be->each_failing_source)
        return unsupported(s, "list failing sources", err);
    return s->be->each_failing_source(s, cb, ctx, err);
}

int store_get_alert_meta(struct store *s, const char *key, int64_t *out, struct okrd_err *err)
{
    if (!s->be->get_alert_meta)
        return unsupported(s, "get alert meta", err);
    return s->be->get_alert_meta(s, key, out, err);
}

int store_put_alert_meta(struct store *s, const char *key, int64_t value, struct okrd_err *err)
{
    if (!s->be->put_alert_meta)
        return unsupported(s, "put alert meta", err);
    return s->be->put_alert_meta(s, key, value, err);
}

/* ---- high availability (DESIGN section 10) ----
 * A backend without these entries (SQLite) is not shared: its one daemon
 * is always the leader (store.h). */

int store_ha_server(struct store *s, struct store_ha_server *out, struct okrd_err *err)
{
    if (s->be->ha_server)
        return s->be->ha_server(s, out, err);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* "the server's clock is ours" */
    out->clock_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    out->in_recovery = false;
    return 0;
}

int store_ha_try_lock(struct store *s, bool *got, struct okrd_err *err)
{
    if (s->be->ha_try_lock)
        return s->be->ha_try_lock(s, got, err);
    *got = true;
    return 0;
}

bool store_ha_holds_lock(const struct store *s)
{
    return !s->be->ha_holds_lock || s->be->ha_holds_lock(s);
}

int store_ha_socket(struct store *s)
{
    return s->be->ha_socket ? s->be->ha_socket(s) : -1;
}

int store_ha_confirm(struct store *s, int64_t timeout_ms, struct okrd_err *err)
{
    return s->be->ha_confirm ? s->be->ha_confirm(s, timeout_ms, err) : 0;
}

int store_ha_unlock(struct store *s, struct okrd_err *err)
{
    return s->be->ha_unlock ? s->be->ha_unlock(s, err) : 0;
}

int store_ha_reconnect(struct store *s, struct okrd_err *err)
{
    return s->be->ha_reconnect ? s->be->ha_reconnect(s, err) : 0;
}

int store_ha_newest_event_at(struct store *s, int64_t *out_s, struct okrd_err *err)
{
    if (s->be->ha_newest_event_at)
        return s->be->ha_newest_event_at(s, out_s, err);
    *out_s = 0;
    return 0;
}

int store_listen(struct store *s, int *fd, struct okrd_err *err)
{
    if (s->be->listen)
        return s->be->listen(s, fd, err);
    *fd = -1;
    return 0;
}

int store_listen_drain(struct store *s, int *n, struct okrd_err *err)
{
    if (s->be->listen_drain)
        return s->be->listen_drain(s, n, err);
    *n = 0;
    return 0;
}
