/*
 * sqlite_internal.h — what the SQLite backend's files (store/sqlite/) share
 * and nobody else sees: struct store_sqlite (the connection behind a struct
 * store), the prepared-statement cache, the metric-id cache, the error
 * helpers that turn a SQLite failure into an okrd_err, and the sq_*
 * functions that fill store_sqlite_backend (sqlite.c).
 *
 * Invariants: every cached statement is reset after use (a statement left
 * stepping would pin a WAL snapshot and block checkpoints); the metric cache
 * only holds ids that exist in the database as this connection sees it, so
 * it is emptied whenever this connection rolls anything back.
 */
#ifndef OKRD_STORE_SQLITE_INTERNAL_H
#define OKRD_STORE_SQLITE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "../store_backend.h"

/* Statements prepared once per connection and reused (reset + rebind). */
enum store_stmt_id {
    STMT_BEGIN,
    STMT_COMMIT,
    STMT_ROLLBACK,
    STMT_SAVEPOINT,
    STMT_RELEASE,
    STMT_ROLLBACK_TO,
    STMT_JOB_SAVEPOINT,
    STMT_JOB_RELEASE,
    STMT_JOB_ROLLBACK_TO,
    STMT_DATA_VERSION,
    STMT_METRIC_ID,
    STMT_METRIC_INSERT,
    STMT_POINT_UPSERT,
    STMT_POINT_UPSERT_MANY,
    STMT_METRIC_SOURCE,
    STMT_SERIES,
    STMT_LAST_POINT,
    STMT_HEALTH_PUT,
    STMT_HEALTH_GET,
    STMT_INGEST_LOG,
    STMT_INGEST_SEEN,
    STMT_KR_STATE_PUT,
    STMT_KR_STATE_GET,
    /* store_history.c */
    STMT_KR_DAY_PUT,
    STMT_KR_DAY_EACH,
    STMT_KR_DAY_LAST,
    STMT_DEFINITION_LATEST,
    STMT_DEFINITION_INSERT,
    /* store_outbox.c */
    STMT_OUTBOX_ADD,
    STMT_DELIVERY_ADD,
    STMT_OUTBOX_SEQ,
    STMT_DELIVERY_NEXT,
    STMT_DELIVERY_UPDATE,
    STMT_ALERT_KR_GET,
    STMT_ALERT_KR_PUT,
    STMT_ALERT_SOURCE_GET,
    STMT_ALERT_SOURCE_PUT,
    STMT_ALERT_META_GET,
    STMT_ALERT_META_PUT,
    /* store_checkins.c */
    STMT_CHECKIN_INSERT,
    STMT_CHECKIN_LATEST,
    STMT_CHECKIN_MARK,
    STMT_CHECKIN_GRADE,
    STMT_HOOK_DISABLE,
    STMT_HOOK_DISABLED,
    STMT_COUNT
};

/* name -> id, open addressing with linear probing; a miss costs one
 * indexed SELECT, so the map stays small and is simply emptied when full. */
struct store_metric_slot {
    char *name;          /* NULL = empty slot */
    uint32_t hash;
    int64_t id;
};

struct store_metric_map {
    struct store_metric_slot *slots;
    size_t cap;          /* 0 or a power of two */
    size_t used;
};

struct store_sqlite {
    struct store base;         /* first: a struct store * points here */
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmts[STMT_COUNT];
    struct store_metric_map metrics;
    /* PRAGMA foreign_keys is OFF for the open bulk transaction
     * (store_begin_bulk); commit and rollback turn it on again. */
    bool fk_off;
};

/* The SQLite connection behind S (a store of this backend). */
#define SQ(s) STORE_IMPL(struct store_sqlite, s)

/* The cached statement ID, prepared from SQL on first use. NULL with err
 * filled on failure. The caller must reset it (store_stmt_done) after use. */
sqlite3_stmt *store_stmt(struct store *s, enum store_stmt_id id, const char *sql,
                         struct okrd_err *err);
/* Resets and clears the bindings of a cached statement. */
void store_stmt_done(sqlite3_stmt *st);

/* Fills err from SQLite's last error on s: "store: ACTION: SQLITE MESSAGE"
 * with a code that says whether retrying can help. rc is the SQLite result
 * that failed. Returns the okrd code. Call it before any other SQLite call
 * on s, which would overwrite the message. */
int store_sqlerr(struct store *s, int rc, struct okrd_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));


/* An OKRD_* code for a SQLite result code. */
int store_code_from_sqlite(int rc);

/* OKRD_EINVAL with a message when s was opened read-only. */
int store_check_writable(struct store *s, const char *action, struct okrd_err *err);


/* True when neither PATH-wal (or an empty one) nor PATH-shm exists: a
 * read-only open then reads PATH with immutable=1 (store.c), taking no
 * lock, so a writer that starts meanwhile may change the file under it. */
bool store_wal_files_absent(const char *path);

/* ---- metric cache (store_points.c) ---- */
void store_metric_map_clear(struct store_metric_map *m);

/* ---- internal transactions (store.c) ----
 * store_tx_enter opens a transaction when none is open (*own = true) or a
 * savepoint inside the caller's (*own = false), so a failed call undoes only
 * its own writes; store_tx_leave commits/releases on rc == 0, else undoes. */
int store_tx_enter(struct store *s, bool *own, struct okrd_err *err);
int store_tx_leave(struct store *s, bool own, int rc, struct okrd_err *err);

/* ---- schema (store_schema.c) ---- */
struct store_migration {
    int version;         /* user_version after this migration */
    const char *what;    /* for error messages */
    const char *sql;     /* one or more statements */
};
extern const struct store_migration store_migrations[];
extern const size_t store_n_migrations;

/* ---- the backend's entries (store_sqlite_backend in sqlite.c) ---- */
int sq_open(struct store **out, const struct store_loc *loc, unsigned flags, struct okrd_err *err);
void sq_close(struct store *s);
int sq_begin(struct store *s, bool bulk, struct okrd_err *err);
/* ---- transactions ---- */
/* BULK: one big load (store_begin_bulk); a backend may ignore it. */
int sq_begin(struct store *s, bool bulk, struct okrd_err *err);
/* The writer's group commit (store_writer.c): open the shared
 * transaction; whether it is still open; commit it. */
int sq_group_begin(struct store *s, struct okrd_err *err);
bool sq_group_intact(const struct store *s);
int sq_group_commit(struct store *s, struct okrd_err *err);
int sq_commit(struct store *s, struct okrd_err *err);
void sq_rollback(struct store *s);
bool sq_in_transaction(const struct store *s);
int sq_sync(struct store *s, struct okrd_err *err);
int sq_data_version(struct store *s, int64_t *out, struct okrd_err *err);

/* ---- points ---- */
int sq_put_points(struct store *s, const struct store_point_in *pts, size_t n,
                  struct okrd_err *err);
int sq_put_points_from(struct store *s, const char *source, const struct store_point_in *pts,
                       size_t n, struct okrd_err *err);
int sq_put_points_bulk(struct store *s, const char *source, const struct store_point_in *pts,
                       size_t n, struct okrd_err *err);
int sq_get_series(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                  struct store_series *out, struct okrd_err *err);
int sq_get_series_with_prior(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                             struct store_series *out, struct okrd_err *err);
int sq_last_point(struct store *s, const char *metric, int64_t at_s, struct store_point *out,
                  struct okrd_err *err);
int sq_count_points(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                    size_t limit, size_t *out, struct okrd_err *err);
int sq_metric_is_binary(struct store *s, const char *metric, bool *out, struct okrd_err *err);
int sq_newest_in_ranges(struct store *s, const char *metric, const int64_t *bounds,
                        size_t n_bounds, struct store_series *out, struct okrd_err *err);
int sq_each_point(struct store *s, const char *const *metrics, size_t n_metrics, int64_t from_s,
                  int64_t to_s, store_point_cb cb, void *ctx, struct okrd_err *err);
int sq_each_metric(struct store *s, int sq_cb(void *ctx, const char *metric), void *ctx,
                   struct okrd_err *err);
int sq_each_metric_summary(struct store *s, int sq_cb(void *ctx,
                           const struct store_metric_summary *m), void *ctx,
                           struct okrd_err *err);

/* ---- source health, ingest log, key-result state ---- */
int sq_put_source_health(struct store *s, const char *source,
                         const struct store_source_health *h, struct okrd_err *err);
int sq_get_source_health(struct store *s, const char *source, struct store_source_health *out,
                         struct okrd_err *err);
int sq_log_ingest(struct store *s, const struct store_ingest *in, struct okrd_err *err);
int sq_ingest_seen(struct store *s, const char *source, const char *sha256, bool *seen,
                   char **report, struct okrd_err *err);
int sq_put_kr_state(struct store *s, const char *kr_id, const struct store_kr_state *st,
                    struct okrd_err *err);
int sq_get_kr_state(struct store *s, const char *kr_id, struct store_kr_state *out,
                    struct okrd_err *err);

/* ---- history and archive ---- */
int sq_put_kr_day(struct store *s, const struct store_kr_day *row, struct okrd_err *err);
int sq_each_kr_day(struct store *s, const char *kr_id, const char *from_date,
                   const char *to_date, int sq_cb(void *ctx, const struct store_kr_day *row),
                   void *ctx, struct okrd_err *err);
int sq_last_kr_day(struct store *s, const char *kr_id, const char *cycle_start,
                   char date_out[11], struct okrd_err *err);
int sq_put_definition(struct store *s, const char *kind, const char *id,
                      const char *cycle_start, const char *cycle_end, const char *json,
                      int64_t at_s, bool *changed, struct okrd_err *err);
int sq_each_definition(struct store *s, const char *cycle_start, const char *cycle_end,
                       int sq_cb(void *ctx, const struct store_definition *d), void *ctx,
                       struct okrd_err *err);
int sq_each_cycle(struct store *s, int sq_cb(void *ctx, const char *start, const char *end),
                  void *ctx, struct okrd_err *err);

/* ---- check-ins ---- */
int sq_checkin_key_results(struct store *s, char ***ids, size_t *n, struct okrd_err *err);
int sq_latest_checkin(struct store *s, const char *kr, const char *cycle_start,
                      int64_t at_or_before_s, struct okrd_checkin *out, struct okrd_err *err);
int sq_insert_checkin(struct store *s, const struct okrd_checkin *c, struct okrd_err *err);
int sq_each_checkin(struct store *s, const char *kr, const char *cycle_start, int64_t from_s,
                    int64_t to_s, bool newest_first, store_checkin_cb cb, void *ctx,
                    struct okrd_err *err);
int sq_each_unannounced_checkin(struct store *s, const char *kr, store_checkin_cb cb, void *ctx,
                                struct okrd_err *err);
int sq_mark_checkin_announced(struct store *s, const char *id, struct okrd_err *err);
int sq_latest_grade(struct store *s, const char *kr, const char *cycle_start, double *grade,
                    char author[65], struct okrd_err *err);

/* ---- outbox, deliveries, alert state ---- */
int sq_outbox_add(struct store *s, const struct store_event *ev,
                  const struct store_route *routes, size_t n_routes, struct okrd_err *err);
int sq_outbox_last_seq(struct store *s, int64_t *out, struct okrd_err *err);
int sq_each_delivery(struct store *s, const char *state, int sq_cb(void *ctx,
                     const struct store_delivery *d), void *ctx, struct okrd_err *err);
int sq_next_delivery(struct store *s, const char *webhook_id, struct store_delivery *out,
                     char **body, struct okrd_err *err);
int sq_update_delivery(struct store *s, const struct store_delivery *d, struct okrd_err *err);
int sq_disable_webhook(struct store *s, const char *webhook_id, int64_t at_ms,
                       struct okrd_err *err);
int sq_webhooks_disabled_mark(struct store *s, int64_t *mark, struct okrd_err *err);
int sq_webhook_disabled(struct store *s, const char *webhook_id, int64_t *seq, int64_t *at_ms,
                        struct okrd_err *err);
int sq_expire_orphans(struct store *s, const struct store_orphan_expiry *q, int64_t *n_dead,
                      int64_t *next_ms, struct okrd_err *err);
int sq_count_orphans(struct store *s, const char *const *configured, size_t n_configured,
                     int64_t *out, struct okrd_err *err);
int sq_delivery_counts(struct store *s, const char *webhook_id,
                       struct store_delivery_counts *out, struct okrd_err *err);
int sq_outbox_prune(struct store *s, int64_t before_s, int64_t *n_out, struct okrd_err *err);
int sq_get_alert_kr(struct store *s, const char *kr_id, struct store_alert_kr *out,
                    struct okrd_err *err);
int sq_put_alert_kr(struct store *s, const char *kr_id, const struct store_alert_kr *in,
                    struct okrd_err *err);
int sq_get_alert_source(struct store *s, const char *source, struct store_alert_source *out,
                        struct okrd_err *err);
int sq_each_failing_source(struct store *s, int (*cb)(void *ctx, const char *source), void *ctx,
                           struct okrd_err *err);
int sq_put_alert_source(struct store *s, const char *source,
                        const struct store_alert_source *in, struct okrd_err *err);
int sq_get_alert_meta(struct store *s, const char *key, int64_t *out, struct okrd_err *err);
int sq_put_alert_meta(struct store *s, const char *key, int64_t value, struct okrd_err *err);

/* ---- copy (sqlite_copy.c; okrd migrate) ---- */
int sq_copy_count(struct store *s, const struct store_copy_table *t, int64_t *out,
                  struct okrd_err *err);
int sq_copy_out(struct store *s, const struct store_copy_table *t, store_copy_row_fn row,
                void *ctx, struct okrd_err *err);
int sq_outbox_counter(struct store *s, int64_t *out, struct okrd_err *err);
int sq_outbox_counter_raise(struct store *s, int64_t n, struct okrd_err *err);
int sq_copy_in(struct store *s, const struct store_copy_table *t,
               const struct store_copy_value *rows, size_t n_rows, struct okrd_err *err);


#endif
