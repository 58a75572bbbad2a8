/*
 * store.h — okrd's persistent state behind a narrow C interface.
 *
 * Only store/ speaks SQL; no sqlite3 type appears here, so a second backend
 * (PostgreSQL for an HA pair) can be added without touching other modules.
 *
 * Access follows DESIGN section 1:
 *  - ONE writer thread (struct store_writer) owns the only write connection
 *    and runs write jobs in FIFO order; the loop submits jobs and hears of
 *    their completion through uv_async.
 *  - The loop reads (API, status, series) through its own read-only
 *    connection (store_open with STORE_READONLY) on WAL snapshots.
 *  - Commands run outside the daemon (`ingest`, tests, benches) may open a
 *    read-write struct store directly and call the same functions.
 *
 * A struct store is used by one thread at a time. Timestamps are UTC Unix
 * seconds; a NaN double stands for "undefined" (stored as SQL NULL).
 */
#ifndef OKRD_STORE_H
#define OKRD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "../common/checkin.h"
#include "../common/okrd_err.h"

struct store;

enum {
    STORE_READONLY = 1u << 0, /* never creates or writes anything; fails if PATH is missing */
};

/* Which store to open (DESIGN section 10). Built from the config's `store`
 * section by the daemon (cli_store_loc); tests fill it by hand. */
enum store_kind {
    STORE_SQLITE,             /* PATH: the database file (store_path) */
    STORE_POSTGRESQL,         /* URL: a libpq connection string or URI */
};
struct store_loc {
    enum store_kind kind;
    const char *path;         /* SQLite only */
    const char *url;          /* PostgreSQL only: a secret, never in a message or log */
    /* What this session is for, the last word of PostgreSQL's
     * application_name ("okrd HOST PID ROLE"): "writer", "reader", "listen",
     * or a command's name ("status", "ingest"). NULL = "okrd". */
    const char *role;
    /* PostgreSQL: store.ha.takeover_check in ms (0 = 2000): sets the
     * session's keepalives and tcp_user_timeout (DESIGN section 10). */
    int64_t takeover_check_ms;
};

/* Opens the store LOC names; as store_open (below) for every backend:
 * read-write creates and migrates, STORE_READONLY reads only. */
int store_open_loc(struct store **out, const struct store_loc *loc, unsigned flags,
                   struct okrd_err *err);
/* "sqlite" or "postgresql": which backend S runs on. */
const char *store_backend_of(const struct store *s);
/* True when other processes on other hosts may share S (PostgreSQL): the
 * daemon then competes for leadership (DESIGN section 10). */
bool store_is_shared(const struct store *s);

/* The database file inside a state_dir: "STATE_DIR/okrd.db" into buf. */
int store_path(const char *state_dir, char *buf, size_t size, struct okrd_err *err);

/* Opens (read-write: creating and migrating if needed; WAL, busy_timeout,
 * synchronous=NORMAL) the database at PATH. The caller owns *out. A store
 * written by a newer okrd (user_version above ours) is refused. */
int store_open(struct store **out, const char *path, unsigned flags, struct okrd_err *err);
/* Closes; NULL is fine. */
void store_close(struct store *s);

/* The schema version this build writes (PRAGMA user_version). */
int store_schema_version(void);

/* ---- transactions (read-write stores) ----
 * store_begin starts BEGIN IMMEDIATE. Writing functions called outside a
 * transaction run in one of their own. */
int store_begin(struct store *s, struct okrd_err *err);
/* store_begin for one big bulk load (a large CSV file, written with
 * store_put_points_bulk): the same, with the foreign-key check of each
 * point's metric off until the transaction ends (store_commit and
 * store_rollback turn it on again). Inside a group of small jobs, or with a
 * transaction open, it is store_begin. */
int store_begin_bulk(struct store *s, struct okrd_err *err);
int store_commit(struct store *s, struct okrd_err *err);
void store_rollback(struct store *s);
bool store_in_transaction(const struct store *s);
/* Makes every transaction committed so far durable: an fsync of the WAL
 * (synchronous=NORMAL skips it per commit, so a power loss may undo the
 * last commits). For a caller that is about to act outside the database on
 * the strength of a commit (the csv_dir inbox moving a file to archive/).
 * Refused inside a transaction (it would not cover it). */
int store_sync(struct store *s, struct okrd_err *err);

/* ---- points ---- */

struct store_point_in {
    const char *metric;       /* a valid metric id (okrd_valid_id) */
    int64_t ts;
    double value;             /* finite */
};

/* Upserts N points (a point with a stored metric+ts replaces its value) with
 * prepared statements; unknown metric ids are created. All or nothing. */
int store_put_points(struct store *s, const struct store_point_in *pts, size_t n,
                     struct okrd_err *err);
/* The same, and records in the same transaction that SOURCE (a source id,
 * "push" for the API; NULL: nothing recorded) fed each metric of the batch,
 * for store_each_metric_summary. */
int store_put_points_from(struct store *s, const char *source, const struct store_point_in *pts,
                          size_t n, struct okrd_err *err);
/* store_put_points_from inside the caller's open transaction, for a bulk
 * load (one CSV file) that rolls back whole on any error: no savepoint per
 * call, so on an error this rolls back the caller's WHOLE transaction (not
 * only this call). SOURCE is recorded for each distinct metric of the call
 * as store_put_points_from records it (NULL: nothing recorded). OKRD_EINVAL
 * if no transaction is open. */
int store_put_points_bulk(struct store *s, const char *source, const struct store_point_in *pts,
                          size_t n, struct okrd_err *err);

struct store_point {
    int64_t ts;
    double value;
};

/* A growable array of points, owned by whoever holds it. */
struct store_series {
    struct store_point *pts;
    size_t n, cap;
};
void store_series_free(struct store_series *s);

/* Appends the points of METRIC with from_s <= ts < to_s, oldest first, to
 * *out. An unknown metric appends nothing. */
int store_get_series(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                     struct store_series *out, struct okrd_err *err);

/* Replaces *out's points with METRIC's newest point before from_s (if any)
 * followed by its points in [from_s, to_s): all a key result's evaluation
 * needs of a window plus the history before it (`last`, an auto baseline). */
int store_get_series_with_prior(struct store *s, const char *metric, int64_t from_s,
                                int64_t to_s, struct store_series *out, struct okrd_err *err);

/* The newest point of METRIC with ts <= at_s: 0 and *out, or OKRD_ENOTFOUND. */
int store_last_point(struct store *s, const char *metric, int64_t at_s,
                     struct store_point *out, struct okrd_err *err);

/* Summaries (store_read.c): O(1) memory whatever the history holds.
 * The number of points of METRIC with from_s <= ts < to_s, counting no
 * further than LIMIT (so the cost is bounded by LIMIT): *out <= limit. */
int store_count_points(struct store *s, const char *metric, int64_t from_s, int64_t to_s,
                       size_t limit, size_t *out, struct okrd_err *err);
/* *out = METRIC has at least two points and every one of them is 0 or 1
 * (the binary lint of DESIGN section 4). Unknown metric: false. */
int store_metric_is_binary(struct store *s, const char *metric, bool *out,
                           struct okrd_err *err);
/* Replaces *out's points with the newest point of METRIC in each range
 * [bounds[i], bounds[i+1]) that has one, oldest range first: a day's value
 * for each of a list of days, in one indexed look-up per day. */
int store_newest_in_ranges(struct store *s, const char *metric, const int64_t *bounds,
                           size_t n_bounds, struct store_series *out, struct okrd_err *err);

/* Calls cb for every stored point whose metric is one of METRICS (all when
 * n_metrics == 0) and from_s <= ts < to_s, sorted by metric id (byte order)
 * then timestamp. A non-zero return from cb stops the walk and is returned. */
typedef int (*store_point_cb)(void *ctx, const char *metric, int64_t ts, double value);
int store_each_point(struct store *s, const char *const *metrics, size_t n_metrics,
                     int64_t from_s, int64_t to_s, store_point_cb cb, void *ctx,
                     struct okrd_err *err);

/* Every metric id the store holds, sorted; calls cb(ctx, id) for each. */
int store_each_metric(struct store *s, int (*cb)(void *ctx, const char *metric), void *ctx,
                      struct okrd_err *err);

/* What the store holds of one metric (store_metrics.c). Strings belong to
 * the walk and last until the callback returns. */
struct store_metric_summary {
    const char *metric;
    int64_t points;           /* 0: the id is known but holds no point */
    int64_t first_s, last_s;  /* the oldest and newest point's ts (0 when points == 0) */
    double last_value;        /* the newest point's value; NaN when points == 0 */
    const char *const *sources; /* sources that fed it (store_put_points_from), sorted */
    size_t n_sources;
};
/* Calls cb for every metric the store holds, sorted by id (byte order).
 * Counting reads every point once: the cost grows with the stored data, so
 * the daemon runs it off the loop. A non-zero return from cb stops the walk
 * and is returned. */
int store_each_metric_summary(struct store *s,
                              int (*cb)(void *ctx, const struct store_metric_summary *m),
                              void *ctx, struct okrd_err *err);

/* PRAGMA data_version: changes when ANOTHER connection committed. */
int store_data_version(struct store *s, int64_t *out, struct okrd_err *err);

/* ---- source health ---- */

struct store_source_health {
    int64_t last_success_s;   /* 0 = never */
    int64_t last_error_s;     /* 0 = never */
    char last_error[256];     /* "" = none */
    int consecutive_failures;
    int64_t points_total;     /* points ingested by this source, ever */
};

int store_put_source_health(struct store *s, const char *source,
                            const struct store_source_health *h, struct okrd_err *err);
/* OKRD_ENOTFOUND when the source has no record yet. */
int store_get_source_health(struct store *s, const char *source,
                            struct store_source_health *out, struct okrd_err *err);

/* ---- ingest log (CSV files) ---- */

/* The log is keyed by (source, sha256): the same bytes are "already
 * ingested" only for the source that stored them (DESIGN section 3). */
struct store_ingest {
    const char *source;
    const char *name;         /* file name, no directory */
    const char *sha256;       /* 64 lowercase hex digits */
    int64_t rows;             /* rows stored */
    const char *outcome;      /* "ingested", "rejected", "partial" */
    int64_t at_s;
    const char *report;       /* the skipped-rows report (JSON text), NULL = none */
};

int store_log_ingest(struct store *s, const struct store_ingest *in, struct okrd_err *err);
/* *seen = source SOURCE ingested a file with this sha256 before ("ingested"
 * or "partial"). With report != NULL, *report = the report logged with the
 * latest such file, malloc'd (the caller frees it), or NULL when it has
 * none (or was logged before reports were). */
int store_ingest_seen(struct store *s, const char *source, const char *sha256, bool *seen,
                      char **report, struct okrd_err *err);

/* ---- key-result state ---- */

struct store_kr_state {
    char status[16];          /* "on_track", "no_data", ... */
    int64_t since_s;          /* when this status began */
    int64_t evaluated_at_s;
    double value, progress, expected, projected_score, score; /* NaN = undefined */
    bool stale;
    char previous[16];        /* the status before the latest change; "" = unknown */
};

int store_put_kr_state(struct store *s, const char *kr_id, const struct store_kr_state *st,
                       struct okrd_err *err);
/* OKRD_ENOTFOUND when the key result has never been evaluated. */
int store_get_kr_state(struct store *s, const char *kr_id, struct store_kr_state *out,
                       struct okrd_err *err);

/* ---- daily history and the archive (DESIGN section 9; store_history.c) ----
 * One row per key result per day of its cycle: the evaluation at
 * min(now, the day's last second). Rows are replaced (the day's last
 * evaluation wins) and kept for good. NaN = null; "" statuses never. */
struct store_kr_day {
    char kr_id[129];
    char date[11];            /* YYYY-MM-DD in daemon.timezone */
    char cycle_start[11];     /* the key result's cycle, YYYY-MM-DD */
    char status[16];          /* effective */
    char computed_status[16];
    double progress, expected, score, probability;
};
int store_put_kr_day(struct store *s, const struct store_kr_day *row, struct okrd_err *err);
/* Rows of KR_ID with from_date <= date < to_date (NULL = unbounded), oldest
 * first. The row is the walk's (valid until cb returns). */
int store_each_kr_day(struct store *s, const char *kr_id, const char *from_date,
                      const char *to_date,
                      int (*cb)(void *ctx, const struct store_kr_day *row), void *ctx,
                      struct okrd_err *err);
/* The newest date with a row for KR_ID in CYCLE_START's cycle into
 * date_out (11 bytes), or OKRD_ENOTFOUND: where a backfill starts. */
int store_last_kr_day(struct store *s, const char *kr_id, const char *cycle_start,
                      char date_out[11], struct okrd_err *err);

/* Definitions: an objective's or key result's resolved definition (a JSON
 * text the caller makes) recorded by (kind, id, cycle start) whenever it
 * changes. KIND is "objective" or "key_result". *changed (may be NULL):
 * a new version was stored (the text differs from the latest one). */
int store_put_definition(struct store *s, const char *kind, const char *id,
                         const char *cycle_start, const char *cycle_end, const char *json,
                         int64_t at_s, bool *changed, struct okrd_err *err);
struct store_definition {
    const char *kind, *id, *cycle_start, *cycle_end, *json;
    int64_t recorded_at_s;
};
/* The latest definition of every (kind, id) whose cycle is exactly
 * [CYCLE_START, CYCLE_END] (dates; both NULL: every cycle), objectives
 * first, then by id. */
int store_each_definition(struct store *s, const char *cycle_start, const char *cycle_end,
                          int (*cb)(void *ctx, const struct store_definition *d), void *ctx,
                          struct okrd_err *err);
/* Every archived cycle (distinct start, end), the one ending last first. */
int store_each_cycle(struct store *s,
                     int (*cb)(void *ctx, const char *start, const char *end), void *ctx,
                     struct okrd_err *err);

/* ---- check-ins (store_checkins.c; DESIGN section 8) ----
 * Kept for good. Check-ins of one key result and cycle are serialized by
 * the writer: the caller reads the latest, assigns seq = latest + 1 and
 * at_s = max(now, latest's at_s), and inserts in the same transaction (with
 * the value's point, store_put_points_from(..., "checkin", ...)). */

/* *out = the check-in of (KR, CYCLE_START) with the highest seq among those
 * with at_s <= AT_OR_BEFORE_S (INT64_MAX: the latest of all); the caller
 * owns out->comment (okrd_checkin_clear). OKRD_ENOTFOUND when none. */
int store_latest_checkin(struct store *s, const char *kr, const char *cycle_start,
                         int64_t at_or_before_s, struct okrd_checkin *out,
                         struct okrd_err *err);

/* The key results that have any check-in (in any cycle), sorted by byte
 * order (strcmp), malloc'd: free each and the array. For an evaluation of
 * every key result: one read, and store_latest_checkin only for these
 * (most key results have none: a read each cost a round trip on
 * PostgreSQL). */
int store_checkin_key_results(struct store *s, char ***ids, size_t *n, struct okrd_err *err);

/* Inserts C as given (every field, seq and at_s included). A (key_result,
 * cycle_start, seq) or id already stored: OKRD_EEXIST. The check-in is not
 * yet announced (store_each_unannounced_checkin). */
int store_insert_checkin(struct store *s, const struct okrd_checkin *c, struct okrd_err *err);

/* Calls cb for each check-in matching: KR (NULL: every key result),
 * CYCLE_START (NULL: every cycle), from_s <= at_s < to_s; ordered by
 * (key_result, cycle_start, seq), or with NEWEST_FIRST by at_s then seq
 * descending. The struct is the walk's and lasts until cb returns (copy it
 * with okrd_checkin_copy to keep it). A non-zero return stops the walk and
 * is returned. */
typedef int (*store_checkin_cb)(void *ctx, const struct okrd_checkin *c);
int store_each_checkin(struct store *s, const char *kr, const char *cycle_start, int64_t from_s,
                       int64_t to_s, bool newest_first, store_checkin_cb cb, void *ctx,
                       struct okrd_err *err);

/* The check-ins of KR that no evaluation has announced yet (kr.check_in
 * events), oldest first (cycle_start, seq), and marking one announced: the
 * evaluation that first sees a check-in writes its event and marks it in
 * one transaction. */
int store_each_unannounced_checkin(struct store *s, const char *kr, store_checkin_cb cb,
                                   void *ctx, struct okrd_err *err);
int store_mark_checkin_announced(struct store *s, const char *id, struct okrd_err *err);

/* The latest grade given to (KR, CYCLE_START): *grade and its author
 * (author may be NULL), or OKRD_ENOTFOUND when no check-in graded it. */
int store_latest_grade(struct store *s, const char *kr, const char *cycle_start, double *grade,
                       char author[65], struct okrd_err *err);

/* ---- backup (store_backup.c) ---- */

/* Told the bytes copied so far and the store's size after each step of a
 * backup (about 1 MiB); a non-zero return stops the backup (OKRD_ECANCELED). */
typedef int (*store_backup_progress_fn)(void *ctx, int64_t done_bytes, int64_t total_bytes);

/* Copies the whole database at DB_PATH, as of one commit, into the new file
 * DEST while other connections (the daemon) go on writing. DB_PATH is opened
 * read-only (nothing is created beside it). DEST must not exist and its
 * directory must (else OKRD_EINVAL, and nothing is written); it appears
 * complete or not at all (written beside it, then renamed), mode 0600.
 * *bytes_out (may be NULL): the copy's size. PROGRESS may be NULL. */
int store_backup(const char *db_path, const char *dest, store_backup_progress_fn progress,
                 void *ctx, int64_t *bytes_out, struct okrd_err *err);

/* ---- high availability (DESIGN section 10; store/pg/pg_ha.c) ----
 * With a shared store (store_is_shared: PostgreSQL) the leader is the node
 * whose WRITER connection holds the session-level advisory lock keyed by
 * the store id. The lock, confirmation and server functions run on the
 * writer's connection (in writer jobs); the listen functions on a
 * connection of their own (store_open_loc with role "listen"). A store that
 * is not shared (SQLite) has no HA: its one daemon is always the leader, so
 * there try_lock gives true, holds_lock is true, confirm, unlock and
 * reconnect do nothing, the server's clock is ours and listen gives fd -1. */

struct store_ha_server {
    int64_t clock_ms;         /* the server's clock_timestamp(), Unix ms */
    bool in_recovery;         /* pg_is_in_recovery(): a standby, whose locks mean nothing */
};
int store_ha_server(struct store *s, struct store_ha_server *out, struct okrd_err *err);
/* pg_try_advisory_lock(<key from the store id>) on S's session: *got says
 * whether S holds it now. Asking again while holding it changes nothing. */
int store_ha_try_lock(struct store *s, bool *got, struct okrd_err *err);
/* S holds the lock on the session it has now (false once the session
 * failed or was replaced: a lock taken on an earlier session is gone). No
 * round trip. */
bool store_ha_holds_lock(const struct store *s);
/* The socket of S's session (-1: none, or not shared), for the loop to
 * watch while the writer is idle: the server writes to an idle session
 * only to end it (pg_terminate_backend, a shutdown), so its leader learns
 * of it at once instead of at its next confirmation. Call it on the
 * writer's thread (in a job); the number stays valid until the session is
 * replaced (store_ha_reconnect). */
int store_ha_socket(struct store *s);
/* Confirms S's session: `SELECT 1` under a statement_timeout of
 * TIMEOUT_MS. 0, or the error (a timeout or a failed session). */
int store_ha_confirm(struct store *s, int64_t timeout_ms, struct okrd_err *err);
/* Lets the lock go (stepping down on a live session); nothing without it. */
int store_ha_unlock(struct store *s, struct okrd_err *err);
/* A failed session is opened again with the same settings (statements
 * prepared and a lock held on the old one are gone); a live one is kept. */
int store_ha_reconnect(struct store *s, struct okrd_err *err);
/* The newest occurred_at in the outbox (0 when it is empty): a new leader
 * never stamps an event earlier. */
int store_ha_newest_event_at(struct store *s, int64_t *out_s, struct okrd_err *err);
/* LISTEN okrd on S (every write transaction sends NOTIFY okrd): *fd is the
 * socket to watch for reading (-1: this backend has no notifications). */
int store_listen(struct store *s, int *fd, struct okrd_err *err);
/* Reads what arrived on the listen session without blocking: *n the
 * notifications consumed. An error means the session failed (open a new
 * one; notifications meanwhile are lost, change_seq still tells). */
int store_listen_drain(struct store *s, int *n, struct okrd_err *err);

/* ---- copy between stores (store_copy.c; `okrd migrate`, DESIGN section 10) ---- */

/* How many tables a copy moves, and the rows on each side of one. */
#define STORE_COPY_TABLES 15
struct store_copy_count {
    const char *table;
    int64_t from, to;
};
/* Told, now and then during a copy, how far it is: the table, its rows
 * copied so far and its rows in all. A non-zero return stops the copy
 * (OKRD_ECANCELED; nothing is committed). */
typedef int (*store_copy_progress_fn)(void *ctx, const char *table, int64_t done, int64_t total);

/* *table = the first table of S that holds a row (a static name), or NULL
 * when none does: an empty store, the only kind store_copy_all fills. */
int store_copy_nonempty_table(struct store *s, const char **table, struct okrd_err *err);

/* Copies every table of FROM (opened read-write, so that its writers wait
 * while it is read: one consistent view) into the empty store TO, in ONE
 * transaction of TO: all or nothing. Points, metrics and their sources,
 * the ingest log, source health, key-result state, alert state, history,
 * definitions, outbox and deliveries (seq numbers kept), check-ins. Fills
 * counts[STORE_COPY_TABLES] with the rows of each table on both sides,
 * counted in the copy's transactions; a difference fails the copy
 * (OKRD_ESTORE, nothing committed). OKRD_ECONFLICT, naming the table, when
 * TO is not empty. PROGRESS may be NULL. */
int store_copy_all(struct store *from, struct store *to, store_copy_progress_fn progress,
                   void *ctx, struct store_copy_count counts[STORE_COPY_TABLES],
                   struct okrd_err *err);

/* ---- the writer thread ---- */

struct store_writer;

/* A job runs on the writer thread with the write connection. It manages its
 * own transaction(s) with store_begin/commit/rollback; if it returns with a
 * transaction still open, the writer rolls it back. It returns 0 or a
 * negative code with err filled. */
typedef int (*store_job_fn)(struct store *w, void *arg, struct okrd_err *err);
/* Called on the loop thread once the job finished (rc, err as the job left
 * them), or with OKRD_ECANCELED when the writer closed before running it. */
typedef void (*store_done_fn)(void *arg, int rc, const struct okrd_err *err);

/* Opens the write connection at PATH (creating/migrating the database) and
 * starts the thread. The caller owns *out until store_writer_close. */
int store_writer_open(struct store_writer **out, uv_loop_t *loop, const char *path,
                      struct okrd_err *err);

/* store_writer_open for any backend: the write connection LOC names. */
int store_writer_open_loc(struct store_writer **out, uv_loop_t *loop, const struct store_loc *loc,
                          struct okrd_err *err);

/* Queues a job (FIFO). Loop thread only. OKRD_ECANCELED after close began. */
int store_writer_submit(struct store_writer *w, store_job_fn run, store_done_fn done,
                        void *arg);

/* The same for a small job with no effect outside the store (a poll's
 * points and health, a push): the writer may run it in one transaction
 * together with other small jobs queued right behind it, each in a savepoint
 * of its own, so one job's rollback never touches another's rows. Its done
 * callback runs only after that shared COMMIT (and reports its failure if
 * the COMMIT failed). A job that moves files or otherwise acts outside the
 * store after its commit must use store_writer_submit. */
int store_writer_submit_small(struct store_writer *w, store_job_fn run, store_done_fn done,
                              void *arg);

/* Jobs queued and not yet finished (including the running one). Counted
 * until the job's done callback runs, so it is 0 inside the last one. */
size_t store_writer_pending(const struct store_writer *w);

/* On the writer's connection (the struct store a job receives): true once
 * store_writer_request_stop or store_writer_close was called, so a long job
 * (a 1M-row file) may stop early, roll back and return OKRD_ECANCELED.
 * false on every other store. */
bool store_stop_requested(const struct store *s);

/* Asks the running and later jobs to stop early (the daemon calls it on
 * SIGTERM, before the sources close, so a big file does not hold shutdown
 * up). Jobs still run; only those that check store_stop_requested stop. */
void store_writer_request_stop(struct store_writer *w);

/* Fencing (DESIGN section 10): jobs submitted after this carry EPOCH, and
 * a queued job carrying another non-zero epoch is dropped (completed with
 * OKRD_ECANCELED, never run), as is one carrying an epoch when the writer's
 * connection does not hold the leader lock (store_ha_holds_lock). EPOCH 0
 * (a follower): new jobs carry none and always run. Loop thread only. */
void store_writer_set_epoch(struct store_writer *w, uint64_t epoch);
/* store_writer_submit for a job that carries no epoch whatever the role
 * (the HA lock attempts and confirmations, follower-safe writes). */
int store_writer_submit_unfenced(struct store_writer *w, store_job_fn run, store_done_fn done,
                                 void *arg);

/* Stops: the running job finishes (its transaction commits or rolls back as
 * it decides), queued jobs are completed with OKRD_ECANCELED, the thread is
 * joined, the connection closed, and on_closed(arg) runs on the loop once the
 * uv handles are closed; w is freed then. */
void store_writer_close(struct store_writer *w, void (*on_closed)(void *arg), void *arg);

#endif
