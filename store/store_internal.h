/*
 * store_internal.h — what the store/ files share and nobody else sees: the
 * fields of struct store, the prepared-statement cache, the metric-id cache
 * and the error helpers that turn a SQLite failure into an okrd_err.
 *
 * Invariants: every cached statement is reset after use (a statement left
 * stepping would pin a WAL snapshot and block checkpoints); the metric cache
 * only holds ids that exist in the database as this connection sees it, so
 * it is emptied whenever this connection rolls anything back.
 */
#ifndef OKRD_STORE_INTERNAL_H
#define OKRD_STORE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#include "store.h"

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

struct store {
    sqlite3 *db;
    char *path;
    unsigned flags;
    sqlite3_stmt *stmts[STMT_COUNT];
    struct store_metric_map metrics;
    /* Set by the writer thread's owner once store_writer_close began; NULL
     * on every store that is not a writer's connection. */
    const atomic_bool *stop;
    /* Group commit (store_writer.c): the writer holds one transaction open
     * around several small jobs; each job's store_begin/commit/rollback is
     * then a savepoint of its own, and job_open says whether it is open. */
    bool grouped;
    bool job_open;
    /* PRAGMA foreign_keys is OFF for the open bulk transaction
     * (store_begin_bulk); commit and rollback turn it on again. */
    bool fk_off;
};

/* The writer's side of group commit: BEGIN IMMEDIATE and enter group mode;
 * whether SQLite still has the group's transaction open (some errors roll
 * it back whole); leave group mode and COMMIT (rolling back on failure). */
int store_group_begin(struct store *s, struct okrd_err *err);
bool store_group_intact(const struct store *s);
int store_group_commit(struct store *s, struct okrd_err *err);

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

/* Puts what the caller was doing after the "store: " of the message already
 * in err: "store: CONTEXT: <old cause>". Returns err's code. */
int store_err_context(struct okrd_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An OKRD_* code for a SQLite result code. */
int store_code_from_sqlite(int rc);

/* OKRD_EINVAL with a message when s was opened read-only. */
int store_check_writable(struct store *s, const char *action, struct okrd_err *err);

/* Copies at most 40 bytes of an untrusted string into buf for a message,
 * replacing control characters and quotes, so a bad id cannot forge lines. */
const char *store_quote(const char *in, char *buf, size_t size);

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

#endif
