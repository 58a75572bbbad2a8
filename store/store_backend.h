/*
 * store_backend.h — the table of functions a store backend fills in
 * (DESIGN sections 1 and 10), in the spirit of curl's struct Curl_ssl
 * (lib/vtls/): store/store.c holds the backend-free part of every public
 * function (argument checks, -0.0 -> 0, NaN refused, text sanitized to
 * valid UTF-8 without NUL) and then calls s->be->NAME; store/sqlite/ and
 * store/pg/ each fill one table. Nothing outside store/ includes this.
 *
 * Each entry has the signature of the public function store_NAME (store.h,
 * store_outbox.h) and its meaning; a backend may assume the arguments
 * passed the checks store.c makes. An entry left NULL answers
 * OKRD_EINVAL "not supported by this backend" (store.c).
 *
 * struct store is the part every backend shares; a backend's own
 * connection struct begins with it (struct store_sqlite, struct store_pg)
 * and casts back with STORE_IMPL.
 */
#ifndef OKRD_STORE_BACKEND_H
#define OKRD_STORE_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"
#include "store_outbox.h"

struct store_backend;

struct store {
    const struct store_backend *be;
    unsigned flags;            /* STORE_READONLY, ... */
    /* Set by the writer thread's owner once store_writer_close began; NULL
     * on every store that is not a writer's connection. */
    const atomic_bool *stop;
    /* Group commit (store_writer.c): the writer holds one transaction open
     * around several small jobs; each job's store_begin/commit/rollback is
     * then a savepoint of its own, and job_open says whether it is open. */
    bool grouped;
    bool job_open;
};

/* The backend's struct that begins with `struct store base`. */
#define STORE_IMPL(type, s) ((type *)(void *)(s))

/* ---- copy (okrd migrate; store/store_copy.c) ----
 * A table of the schema as store_copy.c describes it (the same tables and
 * columns on every backend, DESIGN section 10), and one value of a row. */
enum store_copy_type { STORE_COPY_INT, STORE_COPY_REAL, STORE_COPY_TEXT };
struct store_copy_column {
    const char *name;
    enum store_copy_type type;
};
struct store_copy_table {
    const char *name;
    const struct store_copy_column *cols;
    size_t n_cols;
    const char *order_by;      /* columns, the order rows are copied in */
    const char *serial;        /* a column the store numbers itself (a
                                * sequence, AUTOINCREMENT), or NULL */
};
struct store_copy_value {
    bool null;
    int64_t i;                 /* STORE_COPY_INT */
    double r;                  /* STORE_COPY_REAL: finite */
    const char *t;             /* STORE_COPY_TEXT: valid UTF-8 without NUL, */
    size_t len;                /* len bytes (t[len] is '\0') */
};
/* Told one row: t->n_cols values in column order, valid until it returns.
 * A non-zero return stops the walk and is returned. */
typedef int (*store_copy_row_fn)(void *ctx, const struct store_copy_value *row);

struct store_backend {
    const char *name;          /* "sqlite", "postgresql" */
    bool shared;               /* other hosts may share the store (HA) */

    /* ---- connection ---- */
    /* Allocates the backend's struct, sets base.be and base.flags, opens,
     * and for a read-write open creates/migrates the schema (refusing a
     * newer one, naming both versions). */
    int (*open)(struct store **out, const struct store_loc *loc, unsigned flags,
                struct okrd_err *err);
    void (*close)(struct store *s);

    /* ---- transactions ---- */
    /* BULK: one big load (store_begin_bulk); a backend may ignore it. */
    int (*begin)(struct store *s, bool bulk, struct okrd_err *err);
    /* The writer's group commit (store_writer.c): open the shared
     * transaction; whether it is still open; commit it. */
    int (*group_begin)(struct store *s, struct okrd_err *err);
    bool (*group_intact)(const struct store *s);
    int (*group_commit)(struct store *s, struct okrd_err *err);
    int (*commit)(struct store *s, struct okrd_err *err);
    void (*rollback)(struct store *s);
    bool (*in_transaction)(const struct store *s);
    int (*sync)(struct store *s, struct okrd_err *err);
    int (*data_version)(struct store *s, int64_t *out, struct okrd_err *err);

    /* ---- points ---- */
    int (*put_points)(struct store *s, const struct store_point_in *pts, size_t n,
                      struct okrd_err *err);
    int (*put_points_from)(struct store *s, const char *source, const struct store_point_in *pts,
                           size_t n, struct okrd_err *err);
    int (*put_points_bulk)(struct store *s, const char *source, const struct store_point_in *pts,
                           size_t n, struct okrd_err *err);
    int (*get_series)(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                      struct store_series *out, struct okrd_err *err);
    int (*get_series_with_prior)(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                                 struct store_series *out, struct okrd_err *err);
    int (*last_point)(struct store *s, const char *metric, int64_t at_s, struct store_point *out,
                      struct okrd_err *err);
    int (*count_points)(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                        size_t limit, size_t *out, struct okrd_err *err);
    int (*metric_is_binary)(struct store *s, const char *metric, bool *out, struct okrd_err *err);
    int (*newest_in_ranges)(struct store *s, const char *metric, const int64_t *bounds,
                            size_t n_bounds, struct store_series *out, struct okrd_err *err);
    int (*each_point)(struct store *s, const char *const *metrics, size_t n_metrics, int64_t from_s,
                      int64_t to_s, store_point_cb cb, void *ctx, struct okrd_err *err);
    int (*each_metric)(struct store *s, int (*cb)(void *ctx, const char *metric), void *ctx,
                       struct okrd_err *err);
    int (*each_metric_summary)(struct store *s, int (*cb)(void *ctx,
                               const struct store_metric_summary *m), void *ctx,
                               struct okrd_err *err);

    /* ---- source health, ingest log, key-result state ---- */
    int (*put_source_health)(struct store *s, const char *source,
                             const struct store_source_health *h, struct okrd_err *err);
    int (*get_source_health)(struct store *s, const char *source, struct store_source_health *out,
                             struct okrd_err *err);
    int (*log_ingest)(struct store *s, const struct store_ingest *in, struct okrd_err *err);
    int (*ingest_seen)(struct store *s, const char *source, const char *sha256, bool *seen,
                       char **report, struct okrd_err *err);
    int (*put_kr_state)(struct store *s, const char *kr_id, const struct store_kr_state *st,
                        struct okrd_err *err);
    int (*get_kr_state)(struct store *s, const char *kr_id, struct store_kr_state *out,
                        struct okrd_err *err);

    /* ---- history and archive ---- */
    int (*put_kr_day)(struct store *s, const struct store_kr_day *row, struct okrd_err *err);
    int (*each_kr_day)(struct store *s, const char *kr_id, const char *from_date,
                       const char *to_date, int (*cb)(void *ctx, const struct store_kr_day *row),
                       void *ctx, struct okrd_err *err);
    int (*last_kr_day)(struct store *s, const char *kr_id, const char *cycle_start,
                       char date_out[11], struct okrd_err *err);
    int (*put_definition)(struct store *s, const char *kind, const char *id,
                          const char *cycle_start, const char *cycle_end, const char *json,
                          int64_t at_s, bool *changed, struct okrd_err *err);
    int (*each_definition)(struct store *s, const char *cycle_start, const char *cycle_end,
                           int (*cb)(void *ctx, const struct store_definition *d), void *ctx,
                           struct okrd_err *err);
    int (*each_cycle)(struct store *s, int (*cb)(void *ctx, const char *start, const char *end),
                      void *ctx, struct okrd_err *err);

    /* ---- check-ins ---- */
    int (*checkin_key_results)(struct store *s, char ***ids, size_t *n, struct okrd_err *err);
    int (*latest_checkin)(struct store *s, const char *kr, const char *cycle_start,
                          int64_t at_or_before_s, struct okrd_checkin *out, struct okrd_err *err);
    int (*insert_checkin)(struct store *s, const struct okrd_checkin *c, struct okrd_err *err);
    int (*each_checkin)(struct store *s, const char *kr, const char *cycle_start, int64_t from_s,
                        int64_t to_s, bool newest_first, store_checkin_cb cb, void *ctx,
                        struct okrd_err *err);
    int (*each_unannounced_checkin)(struct store *s, const char *kr, store_checkin_cb cb, void *ctx,
                                    struct okrd_err *err);
    int (*mark_checkin_announced)(struct store *s, const char *id, struct okrd_err *err);
    int (*latest_grade)(struct store *s, const char *kr, const char *cycle_start, double *grade,
                        char author[65], struct okrd_err *err);

    /* ---- outbox, deliveries, alert state ---- */
    int (*outbox_add)(struct store *s, const struct store_event *ev,
                      const struct store_route *routes, size_t n_routes, struct okrd_err *err);
    int (*outbox_last_seq)(struct store *s, int64_t *out, struct okrd_err *err);
    int (*each_delivery)(struct store *s, const char *state, int (*cb)(void *ctx,
                         const struct store_delivery *d), void *ctx, struct okrd_err *err);
    int (*next_delivery)(struct store *s, const char *webhook_id, struct store_delivery *out,
                         char **body, struct okrd_err *err);
    int (*update_delivery)(struct store *s, const struct store_delivery *d, struct okrd_err *err);
    int (*disable_webhook)(struct store *s, const char *webhook_id, int64_t at_ms,
                           struct okrd_err *err);
    int (*webhooks_disabled_mark)(struct store *s, int64_t *mark, struct okrd_err *err);
    int (*webhook_disabled)(struct store *s, const char *webhook_id, int64_t *seq,
                            int64_t *at_ms, struct okrd_err *err);
    int (*expire_orphans)(struct store *s, const struct store_orphan_expiry *q, int64_t *n_dead,
                          int64_t *next_ms, struct okrd_err *err);
    int (*count_orphans)(struct store *s, const char *const *configured, size_t n_configured,
                         int64_t *out, struct okrd_err *err);
    int (*delivery_counts)(struct store *s, const char *webhook_id,
                           struct store_delivery_counts *out, struct okrd_err *err);
    int (*outbox_prune)(struct store *s, int64_t before_s, int64_t *n_out, struct okrd_err *err);
    int (*get_alert_kr)(struct store *s, const char *kr_id, struct store_alert_kr *out,
                        struct okrd_err *err);
    int (*put_alert_kr)(struct store *s, const char *kr_id, const struct store_alert_kr *in,
                        struct okrd_err *err);
    int (*get_alert_source)(struct store *s, const char *source, struct store_alert_source *out,
                            struct okrd_err *err);
    int (*put_alert_source)(struct store *s, const char *source,
                            const struct store_alert_source *in, struct okrd_err *err);
    int (*each_failing_source)(struct store *s, int (*cb)(void *ctx, const char *source),
                               void *ctx, struct okrd_err *err);
    int (*get_alert_meta)(struct store *s, const char *key, int64_t *out, struct okrd_err *err);
    int (*put_alert_meta)(struct store *s, const char *key, int64_t value, struct okrd_err *err);

    /* ---- high availability (DESIGN section 10; NULL on SQLite) ----
     * The advisory lock, session confirmation, the clock check,
     * LISTEN/NOTIFY (store/pg/pg_ha.c). A NULL entry answers as a store
     * that is not shared (store.h: the single leader). */
    int (*ha_server)(struct store *s, struct store_ha_server *out, struct okrd_err *err);
    int (*ha_try_lock)(struct store *s, bool *got, struct okrd_err *err);
    bool (*ha_holds_lock)(const struct store *s);
    int (*ha_socket)(struct store *s);
    int (*ha_confirm)(struct store *s, int64_t timeout_ms, struct okrd_err *err);
    int (*ha_unlock)(struct store *s, struct okrd_err *err);
    int (*ha_reconnect)(struct store *s, struct okrd_err *err);
    int (*ha_newest_event_at)(struct store *s, int64_t *out_s, struct okrd_err *err);
    int (*listen)(struct store *s, int *fd, struct okrd_err *err);
    int (*listen_drain)(struct store *s, int *n, struct okrd_err *err);

    /* ---- copy (okrd migrate; store/store_copy.c) ----
     * NULL on a backend that cannot be that side of a copy.
     * copy_count: the rows table T holds (in the open transaction, if any).
     * copy_out: calls ROW for each row of T, in T's order_by.
     * copy_in: stores N_ROWS rows (T->n_cols values each, row after row)
     * as they are, keys and seq numbers included, inside the caller's open
     * transaction, and moves the counter behind T's serial column (if any)
     * past the largest value stored, so rows the store numbers later follow
     * the copied ones. */
    int (*copy_count)(struct store *s, const struct store_copy_table *t, int64_t *out,
                      struct okrd_err *err);
    int (*copy_out)(struct store *s, const struct store_copy_table *t, store_copy_row_fn row,
                    void *ctx, struct okrd_err *err);
    int (*copy_in)(struct store *s, const struct store_copy_table *t,
                   const struct store_copy_value *rows, size_t n_rows, struct okrd_err *err);
    /* outbox_counter: the highest outbox seq this store ever gave (events
     * pruned since count: SQLite's AUTOINCREMENT never gives one twice).
     * outbox_counter_raise: the next event is numbered above N (in the
     * caller's open transaction). */
    int (*outbox_counter)(struct store *s, int64_t *out, struct okrd_err *err);
    int (*outbox_counter_raise)(struct store *s, int64_t n, struct okrd_err *err);
};

/* Shared helpers (store.c). */
/* Puts what the caller was doing after the "store: " of the message already
 * in err: "store: CONTEXT: <old cause>". Returns err's code. */
int store_err_context(struct okrd_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Copies at most 40 bytes of an untrusted string into buf for a message,
 * replacing control characters and quotes, so a bad id cannot forge lines. */
const char *store_quote(const char *in, char *buf, size_t size);
/* The writer's side of group commit (store_writer.c): BEGIN and enter group
 * mode; whether the backend still has the group's transaction open (some
 * errors roll it back whole); leave group mode and COMMIT. */
int store_group_begin(struct store *s, struct okrd_err *err);
bool store_group_intact(const struct store *s);
int store_group_commit(struct store *s, struct okrd_err *err);

extern const struct store_backend store_sqlite_backend; /* store/sqlite/ */
extern const struct store_backend store_pg_backend;     /* store/pg/ */

#endif
