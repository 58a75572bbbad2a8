/*
 * store.c — opening and closing the SQLite database, its connection
 * settings, migrations, transactions and the prepared-statement cache.
 *
 * Owns the connection lifecycle; the tables' SQL lives with the functions
 * that use it (store_points.c, store_state.c), the schema in store_schema.c
 * and the writer thread in store_writer.c.
 *
 * Invariants: a read-write open leaves the database at store_schema_version()
 * or fails without changing it (all pending migrations run in ONE
 * transaction); a read-only open never creates, writes or migrates anything.
 *
 * Why these settings: WAL lets the loop's read-only connection read a
 * snapshot while the writer thread commits; synchronous=NORMAL skips the
 * fsync per commit yet survives kill -9 (a power loss may undo the last few
 * commits; store_sync makes them durable for a caller that must not lose
 * one, at one fsync of the WAL); busy_timeout absorbs another process (`okrd ingest`) holding the
 * write lock for a while. The WAL and its -shm index are kept after the last
 * connection closes (SQLITE_FCNTL_PERSIST_WAL), so a read-only command run
 * beside a stopped daemon finds them and need not create them.
 */
#include "sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_BUSY_TIMEOUT_MS 5000
/* Cap on the WAL file kept between checkpoints: a 1M-point transaction
 * grows it to ~60 MB once; afterwards it is truncated back to this. */
#define STORE_JOURNAL_SIZE_LIMIT (16 * 1024 * 1024)

/* ---- errors ---- */

int store_code_from_sqlite(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: return OKRD_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return OKRD_EBUSY;
    case SQLITE_NOMEM: return OKRD_ENOMEM;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return OKRD_EINVAL;
    default: return OKRD_ESTORE;
    }
}

int store_sqlerr(struct store *s, int rc, struct okrd_err *err, const char *fmt, ...)
{
    const char *msg = s && SQ(s)->db ? sqlite3_errmsg(SQ(s)->db) : sqlite3_errstr(rc);
    if (!msg || !*msg || strcmp(msg, "not an error") == 0)
        msg = sqlite3_errstr(rc);
    char action[OKRD_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(action, sizeof action, fmt, ap);
    va_end(ap);
    return okrd_err_set(err, store_code_from_sqlite(rc), "store: %s: %s", action, msg);
}

int store_check_writable(struct store *s, const char *action, struct okrd_err *err)
{
    if (!(s->flags & STORE_READONLY))
        return 0;
    return okrd_err_set(err, OKRD_EINVAL, "store: %s: %s is open read-only", action, SQ(s)->path);
}

/* ---- statement cache ---- */

sqlite3_stmt *store_stmt(struct store *s, enum store_stmt_id id, const char *sql,
                         struct okrd_err *err)
{
    if (SQ(s)->stmts[id])
        return SQ(s)->stmts[id];
    /* PERSISTENT: these live as long as the connection. */
    int rc = sqlite3_prepare_v3(SQ(s)->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &SQ(s)->stmts[id], NULL);
    if (rc != SQLITE_OK) {
        store_sqlerr(s, rc, err, "prepare statement %d", (int)id);
        sqlite3_finalize(SQ(s)->stmts[id]);
        SQ(s)->stmts[id] = NULL;
        return NULL;
    }
    return SQ(s)->stmts[id];
}

void store_stmt_done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* Runs a cached statement that returns no rows (BEGIN, COMMIT, ...). */
static int run_cached(struct store *s, enum store_stmt_id id, const char *sql,
                      const char *action, struct okrd_err *err)
{
    sqlite3_stmt *st = store_stmt(s, id, sql, err);
    if (!st)
        return err ? err->code : OKRD_ESTORE;
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = store_sqlerr(s, rc, err, "%s", action);
    store_stmt_done(st);
    return ret;
}

/* ---- transactions ---- */

bool sq_in_transaction(const struct store *s)
{
    if (s && s->grouped)
        return s->job_open; /* the job's own view: its savepoint */
    return s && SQ(s)->db && !sqlite3_get_autocommit(SQ(s)->db);
}

static int begin_plain(struct store *s, struct okrd_err *err)
{
    int rc = store_check_writable(s, "begin a transaction", err);
    if (rc)
        return rc;
    if (sq_in_transaction(s))
        return okrd_err_set(err, OKRD_EINVAL, "store: begin a transaction: one is already open");
    if (s->grouped) {
        /* SQLite rolled the whole group back (e.g. disk full): a SAVEPOINT
         * now would begin, and its RELEASE commit, a stray transaction. */
        if (!sq_group_intact(s))
            return okrd_err_set(err, OKRD_ESTORE, "store: begin a transaction: the shared "
                                                  "transaction of this group was rolled back");
        rc = run_cached(s, STMT_JOB_SAVEPOINT, "SAVEPOINT job", "begin a transaction", err);
        s->job_open = rc == 0;
        return rc;
    }
    /* IMMEDIATE takes the write lock now (waiting up to busy_timeout), so a
     * transaction never fails half-way for lack of it. */
    return run_cached(s, STMT_BEGIN, "BEGIN IMMEDIATE", "begin a transaction", err);
}

/* Foreign keys on again after a bulk transaction (store_begin_bulk). A
 * PRAGMA outside a transaction does no I/O; if it failed all the same, the
 * next bulk begin would try again, and meanwhile nothing but the
 * points -> metrics check is off (a csv job writes no outbox row). */
static void fk_restore(struct store *s)
{
    if (SQ(s)->fk_off && sqlite3_exec(SQ(s)->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) == SQLITE_OK)
        SQ(s)->fk_off = false;
}

/* Why foreign keys off for a big file: with them on, SQLite looks the
 * parent metrics row up for every point it inserts, ~10% of the time of a
 * 1M-point file (bench/csv_ingest). The check cannot fail there: every
 * metric_id store_put_points_bulk writes (to points and metric_sources)
 * comes from metric_id(), i.e. from the metrics table inside this very
 * transaction. The pragma is a no-op
 * inside a transaction, hence before BEGIN; flipping it expires the cached
 * statements (each is prepared again once), which is why only big jobs do. */
static int begin_bulk(struct store *s, struct okrd_err *err)
{
    if (s->grouped || sq_in_transaction(s) || store_check_writable(s, "begin", NULL))
        return begin_plain(s, err); /* and its checks and messages */
    if (!SQ(s)->fk_off && sqlite3_exec(SQ(s)->db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL) == SQLITE_OK)
        SQ(s)->fk_off = true;
    int rc = begin_plain(s, err);
    if (rc)
        fk_restore(s);
    return rc;
}

int sq_commit(struct store *s, struct okrd_err *err)
{
    if (!sq_in_transaction(s))
        return okrd_err_set(err, OKRD_EINVAL, "store: commit: no transaction is open");
    if (s->grouped) {
        /* Durable only when the writer commits the group; the job's done
         * callback waits for that. */
        int rc = run_cached(s, STMT_JOB_RELEASE, "RELEASE job", "commit", err);
        if (rc)
            sq_rollback(s);
        s->job_open = false;
        return rc;
    }
    int rc = run_cached(s, STMT_COMMIT, "COMMIT", "commit", err);
    if (rc) {
        /* A failed COMMIT may leave the transaction open (e.g. SQLITE_FULL);
         * undo it so the caller's rule "error = nothing stored" holds. */
        sq_rollback(s);
    }
    fk_restore(s);
    return rc;
}

void sq_rollback(struct store *s)
{
    if (!s || !SQ(s)->db)
        return;
    if (s->grouped) {
        /* Undo this job only; the jobs before it in the group keep theirs.
         * (If SQLite already rolled the group back, these fail harmlessly
         * and the writer sees the group is gone.) */
        if (s->job_open) {
            run_cached(s, STMT_JOB_ROLLBACK_TO, "ROLLBACK TO job", "rollback", NULL);
            run_cached(s, STMT_JOB_RELEASE, "RELEASE job", "rollback", NULL);
        }
        s->job_open = false;
        store_metric_map_clear(&SQ(s)->metrics);
        return;
    }
    if (sq_in_transaction(s))
        run_cached(s, STMT_ROLLBACK, "ROLLBACK", "rollback", NULL);
    fk_restore(s);
    /* Metric ids created in the undone transaction no longer exist. */
    store_metric_map_clear(&SQ(s)->metrics);
}

int sq_begin(struct store *s, bool bulk, struct okrd_err *err)
{
    return bulk ? begin_bulk(s, err) : begin_plain(s, err);
}

/* Why an fsync of the WAL rather than the alternatives (DESIGN section 3,
 * issue 12 item 6): synchronous=FULL per file transaction cannot be
 * switched inside a transaction and does nothing for a commit made by an
 * earlier process (a crash before the move: the duplicate must be durable
 * too before it is moved); PRAGMA wal_checkpoint copies pages into the main
 * file (a 1M-point file: ~60 MB) and syncs the WAL only when it can
 * backfill something, which a reader's old snapshot can prevent. The WAL
 * holds every commit not yet checkpointed, and a checkpoint syncs the main
 * file before the WAL may be reused, so syncing the WAL covers all commits.
 * Measured on the dev VM (ext4): ~0.25 ms per file, ~0.05 ms when the WAL
 * has nothing new. */
int sq_sync(struct store *s, struct okrd_err *err)
{
    int rc = store_check_writable(s, "sync", err);
    if (rc)
        return rc;
    if (sq_in_transaction(s))
        return okrd_err_set(err, OKRD_EINVAL, "store: sync: a transaction is open");
    sqlite3_file *wal = NULL;
    int src = sqlite3_file_control(SQ(s)->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
    if (src != SQLITE_OK)
        return store_sqlerr(s, src, err, "sync %s-wal", SQ(s)->path);
    if (wal && wal->pMethods) {
        src = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
        return src == SQLITE_OK ? 0 : store_sqlerr(s, src, err, "sync %s-wal", SQ(s)->path);
    }
    /* This connection has not opened the WAL yet (it has read nothing), yet
     * another one may have committed into it: sync the file by name. */
    char wpath[4096];
    if (snprintf(wpath, sizeof wpath, "%s-wal", SQ(s)->path) >= (int)sizeof wpath)
        return okrd_err_set(err, OKRD_ESTORE, "store: sync %s-wal: path too long", SQ(s)->path);
    int fd = open(wpath, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : okrd_err_set(err, OKRD_ESTORE, "store: sync %s: %s", wpath,
                                                  strerror(errno));
    rc = fdatasync(fd) == 0 ? 0 : okrd_err_set(err, OKRD_ESTORE, "store: sync %s: %s", wpath,
                                                 strerror(errno));
    close(fd);
    return rc;
}

int sq_group_begin(struct store *s, struct okrd_err *err)
{
    int rc = run_cached(s, STMT_BEGIN, "BEGIN IMMEDIATE", "begin a group of small jobs", err);
    s->grouped = rc == 0;
    s->job_open = false;
    return rc;
}

bool sq_group_intact(const struct store *s)
{
    return SQ(s)->db && !sqlite3_get_autocommit(SQ(s)->db);
}

int sq_group_commit(struct store *s, struct okrd_err *err)
{
    s->grouped = false;
    s->job_open = false;
    if (!sq_group_intact(s))
        return okrd_err_set(err, OKRD_ESTORE,
                            "store: the shared transaction of a group of small jobs was rolled "
                            "back by SQLite");
    return sq_commit(s, err);
}

int store_tx_enter(struct store *s, bool *own, struct okrd_err *err)
{
    if (!sq_in_transaction(s)) {
        *own = true;
        return begin_plain(s, err);
    }
    *own = false;
    return run_cached(s, STMT_SAVEPOINT, "SAVEPOINT store_call", "open a savepoint", err);
}

int store_tx_leave(struct store *s, bool own, int rc, struct okrd_err *err)
{
    if (rc == 0)
        return own ? sq_commit(s, err)
                   : run_cached(s, STMT_RELEASE, "RELEASE store_call", "release a savepoint", err);
    if (own) {
        sq_rollback(s);
    } else if (sq_in_transaction(s)) {
        /* Undo this call only; the caller's transaction goes on. (Some errors,
         * e.g. SQLITE_FULL, make SQLite roll back everything itself.) */
        run_cached(s, STMT_ROLLBACK_TO, "ROLLBACK TO store_call", "rollback to a savepoint", NULL);
        run_cached(s, STMT_RELEASE, "RELEASE store_call", "release a savepoint", NULL);
        store_metric_map_clear(&SQ(s)->metrics);
    } else {
        store_metric_map_clear(&SQ(s)->metrics);
    }
    return rc;
}

/* ---- pragmas and migrations ---- */

static int exec_sql(struct store *s, const char *sql, const char *action, struct okrd_err *err)
{
    int rc = sqlite3_exec(SQ(s)->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : store_sqlerr(s, rc, err, "%s %s", action, SQ(s)->path);
}

static int user_version(struct store *s, int *out, struct okrd_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(SQ(s)->db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        }
    }
    int ret = rc == SQLITE_OK ? 0 : store_sqlerr(s, rc, err, "read the schema version of %s", SQ(s)->path);
    sqlite3_finalize(st);
    return ret;
}

static int refuse_newer(struct store *s, int v, struct okrd_err *err)
{
    return okrd_err_set(err, OKRD_ESTORE,
                        "store: %s has schema version %d, newer than this okrd knows (%d); "
                        "it was written by a newer okrd: upgrade okrd",
                        SQ(s)->path, v, store_schema_version());
}

/* Brings a read-write database to store_schema_version() in one
 * transaction. The version is read again under the write lock, so two
 * processes opening a new file at once migrate it once. */
static int migrate(struct store *s, struct okrd_err *err)
{
    int v = 0, rc = user_version(s, &v, err);
    if (rc)
        return rc;
    if (v > store_schema_version())
        return refuse_newer(s, v, err);
    if (v == store_schema_version())
        return 0;
    if ((rc = begin_plain(s, err)) != 0)
        return store_err_context(err, "migrate %s", SQ(s)->path);
    if ((rc = user_version(s, &v, err)) != 0)
        goto fail;
    if (v > store_schema_version()) {
        rc = refuse_newer(s, v, err);
        goto fail;
    }
    for (size_t i = 0; i < store_n_migrations; i++) {
        const struct store_migration *m = &store_migrations[i];
        if (m->version <= v)
            continue;
        int src = sqlite3_exec(SQ(s)->db, m->sql, NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            rc = store_sqlerr(s, src, err, "migrate %s to schema version %d (%s)", SQ(s)->path,
                              m->version, m->what);
            goto fail;
        }
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", store_schema_version());
    if ((rc = exec_sql(s, sql, "set the schema version of", err)) != 0)
        goto fail;
    return sq_commit(s, err);
fail:
    sq_rollback(s);
    return rc;
}

/* Connection settings; journal_mode=WAL is persistent in the file, the
 * others are per connection. */
static int configure_rw(struct store *s, struct okrd_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(SQ(s)->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        rc = mode && strcmp(mode, "wal") == 0 ? SQLITE_OK : SQLITE_ERROR;
        if (rc != SQLITE_OK) {
            okrd_err_set(err, OKRD_ESTORE, "store: %s: cannot switch to WAL mode (got %s)",
                         SQ(s)->path, mode ? mode : "nothing");
            sqlite3_finalize(st);
            return OKRD_ESTORE;
        }
    }
    int ret = rc == SQLITE_OK ? 0 : store_sqlerr(s, rc, err, "switch %s to WAL mode", SQ(s)->path);
    sqlite3_finalize(st);
    if (ret)
        return ret;
    char sql[160];
    snprintf(sql, sizeof sql,
             "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
             " PRAGMA journal_size_limit = %d;",
             STORE_JOURNAL_SIZE_LIMIT);
    if ((ret = exec_sql(s, sql, "configure", err)) != 0)
        return ret;
    int persist = 1;
    sqlite3_file_control(SQ(s)->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    return 0;
}

/* A read-only open that must not create PATH-wal/PATH-shm: when neither
 * exists (no connection has the database open and none left a WAL behind),
 * the file is complete as it is and is read with immutable=1, which makes
 * SQLite create nothing. Otherwise a normal read-only open shares the WAL
 * index with the writer (a -shm we may not write is read as SQLite's
 * "read-only shm"). A writer starting during an immutable read appends to a
 * new WAL and leaves the main file alone until its first checkpoint (1000
 * pages later), far longer than a command's read takes. */
bool store_wal_files_absent(const char *path)
{
    char buf[4096];
    struct stat st;
    snprintf(buf, sizeof buf, "%s-wal", path);
    bool no_wal = stat(buf, &st) != 0 || st.st_size == 0;
    snprintf(buf, sizeof buf, "%s-shm", path);
    bool no_shm = stat(buf, &st) != 0;
    return no_wal && no_shm;
}

/* "file:" + percent-encoded path + query, for SQLITE_OPEN_URI. */
static char *file_uri(const char *path, const char *query)
{
    size_t n = strlen(path);
    char *uri = malloc(5 + 3 * n + strlen(query) + 1);
    if (!uri)
        return NULL;
    char *o = uri + sprintf(uri, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("/._-~", *p))
            *o++ = (char)*p;
        else
            o += sprintf(o, "%%%02X", *p);
    }
    strcpy(o, query);
    return uri;
}

static int open_readonly(struct store *s, struct okrd_err *err)
{
    struct stat st;
    if (stat(SQ(s)->path, &st) != 0) {
        if (errno == ENOENT)
            return okrd_err_set(err, OKRD_ENOTFOUND,
                                "no store at %s (has `okrd run` or `okrd ingest` created it yet?)",
                                SQ(s)->path);
        return okrd_err_set(err, OKRD_EIO, "store: %s: %s", SQ(s)->path, strerror(errno));
    }
    int rc;
    if (store_wal_files_absent(SQ(s)->path)) {
        char *uri = file_uri(SQ(s)->path, "?mode=ro&immutable=1");
        if (!uri)
            return okrd_err_set(err, OKRD_ENOMEM, "store: open %s: out of memory", SQ(s)->path);
        rc = sqlite3_open_v2(uri, &SQ(s)->db,
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
        free(uri);
    } else {
        rc = sqlite3_open_v2(SQ(s)->path, &SQ(s)->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    }
    if (rc != SQLITE_OK)
        return store_sqlerr(s, rc, err, "open %s read-only", SQ(s)->path);
    sqlite3_busy_timeout(SQ(s)->db, STORE_BUSY_TIMEOUT_MS);
    int v = 0;
    if ((rc = user_version(s, &v, err)) != 0)
        return rc;
    if (v > store_schema_version())
        return refuse_newer(s, v, err);
    if (v < store_schema_version())
        return okrd_err_set(err, OKRD_ESTORE,
                            "store: %s has schema version %d, this okrd needs %d; "
                            "run the daemon (`okrd run`) once to migrate it",
                            SQ(s)->path, v, store_schema_version());
    return 0;
}

static int open_readwrite(struct store *s, struct okrd_err *err)
{
    int rc = sqlite3_open_v2(SQ(s)->path, &SQ(s)->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return store_sqlerr(s, rc, err, "open %s", SQ(s)->path);
    sqlite3_busy_timeout(SQ(s)->db, STORE_BUSY_TIMEOUT_MS);
    if ((rc = configure_rw(s, err)) != 0)
        return rc;
    return migrate(s, err);
}

int sq_open(struct store **out, const struct store_loc *loc, unsigned flags, struct okrd_err *err)
{
    *out = NULL;
    const char *path = loc->path;
    if (!path || !*path)
        return okrd_err_set(err, OKRD_EINVAL, "store: open: empty path");
    /* The writer's connection is opened on the loop thread and used on the
     * writer thread; that hand-over needs a thread-safe SQLite build
     * (Debian's is). */
    if (!sqlite3_threadsafe())
        return okrd_err_set(err, OKRD_ESTORE,
                            "store: open %s: SQLite was built without thread support", path);
    struct store_sqlite *q = calloc(1, sizeof *q);
    if (!q || !(q->path = strdup(path))) {
        free(q);
        return okrd_err_set(err, OKRD_ENOMEM, "store: open %s: out of memory", path);
    }
    struct store *s = &q->base;
    s->be = &store_sqlite_backend;
    s->flags = flags;
    int rc = (flags & STORE_READONLY) ? open_readonly(s, err) : open_readwrite(s, err);
    if (rc) {
        sq_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void sq_close(struct store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < STMT_COUNT; i++)
        sqlite3_finalize(SQ(s)->stmts[i]);
    /* close_v2: never fails for "busy"; statements are all finalized anyway. */
    sqlite3_close_v2(SQ(s)->db);
    store_metric_map_clear(&SQ(s)->metrics);
    free(SQ(s)->metrics.slots);
    free(SQ(s)->path);
    free(SQ(s));
}

int sq_data_version(struct store *s, int64_t *out, struct okrd_err *err)
{
    sqlite3_stmt *st = store_stmt(s, STMT_DATA_VERSION, "PRAGMA data_version", err);
    if (!st)
        return err ? err->code : OKRD_ESTORE;
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        ret = store_sqlerr(s, rc, err, "read data_version of %s", SQ(s)->path);
    store_stmt_done(st);
    return ret;
}


/* The SQLite backend (DESIGN section 1): every entry of the table. */
const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .shared = false,
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .group_begin = sq_group_begin,
    .group_intact = sq_group_intact,
    .group_commit = sq_group_commit,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_transaction = sq_in_transaction,
    .sync = sq_sync,
    .data_version = sq_data_version,
    .put_points = sq_put_points,
    .put_points_from = sq_put_points_from,
    .put_points_bulk = sq_put_points_bulk,
    .get_series = sq_get_series,
    .get_series_with_prior = sq_get_series_with_prior,
    .last_point = sq_last_point,
    .count_points = sq_count_points,
    .metric_is_binary = sq_metric_is_binary,
    .newest_in_ranges = sq_newest_in_ranges,
    .each_point = sq_each_point,
    .each_metric = sq_each_metric,
    .each_metric_summary = sq_each_metric_summary,
    .put_source_health = sq_put_source_health,
    .get_source_health = sq_get_source_health,
    .log_ingest = sq_log_ingest,
    .ingest_seen = sq_ingest_seen,
    .put_kr_state = sq_put_kr_state,
    .get_kr_state = sq_get_kr_state,
    .put_kr_day = sq_put_kr_day,
    .each_kr_day = sq_each_kr_day,
    .last_kr_day = sq_last_kr_day,
    .put_definition = sq_put_definition,
    .each_definition = sq_each_definition,
    .each_cycle = sq_each_cycle,
    .checkin_key_results = sq_checkin_key_results,
    .latest_checkin = sq_latest_checkin,
    .insert_checkin = sq_insert_checkin,
    .each_checkin = sq_each_checkin,
    .each_unannounced_checkin = sq_each_unannounced_checkin,
    .mark_checkin_announced = sq_mark_checkin_announced,
    .latest_grade = sq_latest_grade,
    .outbox_add = sq_outbox_add,
    .outbox_last_seq = sq_outbox_last_seq,
    .each_delivery = sq_each_delivery,
    .next_delivery = sq_next_delivery,
    .update_delivery = sq_update_delivery,
    .disable_webhook = sq_disable_webhook,
    .webhooks_disabled_mark = sq_webhooks_disabled_mark,
    .webhook_disabled = sq_webhook_disabled,
    .expire_orphans = sq_expire_orphans,
    .count_orphans = sq_count_orphans,
    .delivery_counts = sq_delivery_counts,
    .outbox_prune = sq_outbox_prune,
    .get_alert_kr = sq_get_alert_kr,
    .put_alert_kr = sq_put_alert_kr,
    .get_alert_source = sq_get_alert_source,
    .put_alert_source = sq_put_alert_source,
    .each_failing_source = sq_each_failing_source,
    .get_alert_meta = sq_get_alert_meta,
    .put_alert_meta = sq_put_alert_meta,
    /* copy (okrd migrate) */
    .copy_count = sq_copy_count,
    .copy_out = sq_copy_out,
    .copy_in = sq_copy_in,
    .outbox_counter = sq_outbox_counter,
    .outbox_counter_raise = sq_outbox_counter_raise,
};
