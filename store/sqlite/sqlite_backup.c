/*
 * store_backup.c — a consistent copy of the whole SQLite store into a new
 * file while the daemon runs (`okrd backup`, DESIGN section 6), with
 * SQLite's online backup API.
 *
 * Owns the copy and the destination's life: the source is opened read-only
 * (store_open with STORE_READONLY: nothing is created or written beside the
 * store), and one read transaction is held on it for the whole copy, so
 * every page comes from the same WAL snapshot — the copy is the store as of
 * one commit, however long it takes, and the daemon's writer goes on
 * committing meanwhile (WAL readers never block writers). Without that
 * transaction, sqlite3_backup_step() would restart from page 1 each time
 * another connection commits, and a busy daemon could keep it from ending.
 *
 * The destination is never overwritten and never seen half-written: the
 * pages go to a temporary file beside it (DEST.tmp-XXXXXX, mode 0600: it
 * holds everything the store holds), which is synced and then renamed to
 * DEST only if no DEST exists (renameat2 RENAME_NOREPLACE, or link+unlink
 * where the filesystem lacks it). On any failure the temporary file is
 * removed. The copy is a complete database file (no -wal beside it):
 * restoring is copying it to STATE_DIR/okrd.db while okrd is stopped.
 *
 * One gap in "one snapshot": a store no daemon has open (no -wal, no -shm)
 * is read with immutable=1, without locks (store.c); a daemon starting
 * during the copy could checkpoint into the file under it. The file's size
 * and mtime are compared after the copy, and a changed file is copied
 * again, then under the new WAL's locks.
 */
#include "sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Pages per sqlite3_backup_step: 256 pages of 4 KiB is 1 MiB, so the
 * progress callback (and a request to stop) is heard every few ms. */
#define STORE_BACKUP_STEP_PAGES 256

/* The directory part of PATH into buf ("." for a bare name). */
static int dir_of(const char *path, char *buf, size_t size)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return -1;
    return snprintf(buf, size, "%s", dirname(tmp)) >= (int)size ? -1 : 0;
}

/* DEST must not exist and its directory must: a precise OKRD_EINVAL
 * otherwise (the caller's argument is wrong, not the store). */
static int check_dest(const char *dest, struct okrd_err *err)
{
    struct stat st;
    char dir[4096];
    if (!dest || !*dest)
        return okrd_err_set(err, OKRD_EINVAL, "empty destination path");
    if (lstat(dest, &st) == 0)
        return okrd_err_set(err, OKRD_EINVAL, "%s already exists%s; a backup never overwrites a "
                                              "file: give a new name",
                            dest, S_ISDIR(st.st_mode) ? " and is a directory" : "");
    if (errno != ENOENT)
        return okrd_err_set(err, OKRD_EINVAL, "%s: %s", dest, strerror(errno));
    if (dir_of(dest, dir, sizeof dir) < 0)
        return okrd_err_set(err, OKRD_EINVAL, "%s: path too long", dest);
    if (stat(dir, &st) != 0)
        return okrd_err_set(err, OKRD_EINVAL, "cannot write %s: directory %s: %s", dest, dir,
                            strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return okrd_err_set(err, OKRD_EINVAL, "cannot write %s: %s is not a directory", dest, dir);
    return 0;
}

/* Renames TMP to DEST unless DEST exists (then OKRD_EINVAL). */
static int rename_noreplace(const char *tmp, const char *dest, struct okrd_err *err)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
        if (errno == EEXIST)
            return okrd_err_set(err, OKRD_EINVAL, "%s appeared during the backup; left as it "
                                                  "was", dest);
        return okrd_err_set(err, OKRD_EIO, "rename %s to %s: %s", tmp, dest,
                            strerror(errno));
    }
    /* A filesystem without RENAME_NOREPLACE: link() fails on an existing
     * name just as atomically. */
    if (link(tmp, dest) != 0) {
        if (errno == EEXIST)
            return okrd_err_set(err, OKRD_EINVAL, "%s appeared during the backup; left as it "
                                                  "was", dest);
        return okrd_err_set(err, OKRD_EIO, "link %s to %s: %s", tmp, dest,
                            strerror(errno));
    }
    unlink(tmp);
    return 0;
}

static int sync_dir_of(const char *path, struct okrd_err *err)
{
    char dir[4096];
    if (dir_of(path, dir, sizeof dir) < 0)
        return 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return okrd_err_set(err, OKRD_EIO, "sync directory %s: %s", dir, strerror(e));
    }
    close(fd);
    return 0;
}

/* Copies src's database into the open file TMP: one read transaction on
 * src around every step. */
static int copy_pages(struct store *src, const char *tmp, store_backup_progress_fn progress,
                      void *ctx, int64_t *bytes_out, struct okrd_err *err)
{
    sqlite3 *dst = NULL;
    sqlite3_backup *b = NULL;
    int ret = 0, rc;
    if ((rc = sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)) !=
        SQLITE_OK) {
        ret = okrd_err_set(err, OKRD_EIO, "open %s: %s", tmp,
                           dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
        goto out;
    }
    /* No rollback journal beside the destination: a failed copy is thrown
     * away whole, so there is nothing to roll back to. */
    if ((rc = sqlite3_exec(dst, "PRAGMA journal_mode = OFF", NULL, NULL, NULL)) != SQLITE_OK) {
        ret = okrd_err_set(err, OKRD_EIO, "configure %s: %s", tmp, sqlite3_errmsg(dst));
        goto out;
    }
    /* The snapshot: BEGIN is deferred; the first read takes the snapshot
     * and it lasts until the COMMIT below. */
    if ((rc = sqlite3_exec(SQ(src)->db, "BEGIN; SELECT count(*) FROM sqlite_master;", NULL, NULL,
                           NULL)) != SQLITE_OK) {
        ret = store_sqlerr(src, rc, err, "read a snapshot of %s", SQ(src)->path);
        goto out;
    }
    if (!(b = sqlite3_backup_init(dst, "main", SQ(src)->db, "main"))) {
        ret = okrd_err_set(err, OKRD_EIO, "store: start copying %s to %s: %s", SQ(src)->path, tmp,
                           sqlite3_errmsg(dst));
        goto out;
    }
    int64_t page_size = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(SQ(src)->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        page_size = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    for (;;) {
        rc = sqlite3_backup_step(b, STORE_BACKUP_STEP_PAGES);
        /* BUSY/LOCKED cannot come from the source (its snapshot is held)
         * nor the destination (nobody else has it): they end the copy as
         * errors rather than spin. */
        if (rc != SQLITE_OK && rc != SQLITE_DONE)
            break;
        int64_t total = (int64_t)sqlite3_backup_pagecount(b) * page_size;
        int64_t done = total - (int64_t)sqlite3_backup_remaining(b) * page_size;
        *bytes_out = total;
        if (progress && progress(ctx, done, total) != 0) {
            ret = okrd_err_set(err, OKRD_ECANCELED, "stopped after %lld of %lld bytes",
                               (long long)done, (long long)total);
            break;
        }
        if (rc == SQLITE_DONE)
            break;
    }
    int frc = sqlite3_backup_finish(b);
    if (!ret && rc != SQLITE_DONE)
        ret = okrd_err_set(err, store_code_from_sqlite(rc) == OKRD_ENOMEM ? OKRD_ENOMEM : OKRD_EIO,
                           "store: copy %s to %s: %s", SQ(src)->path, tmp, sqlite3_errmsg(dst));
    else if (!ret && frc != SQLITE_OK)
        ret = okrd_err_set(err, OKRD_EIO, "store: finish copying %s to %s: %s", SQ(src)->path, tmp,
                           sqlite3_errmsg(dst));
out:
    if (SQ(src)->db && !sqlite3_get_autocommit(SQ(src)->db))
        sqlite3_exec(SQ(src)->db, "COMMIT", NULL, NULL, NULL);
    if (dst && sqlite3_close(dst) != SQLITE_OK && !ret)
        ret = okrd_err_set(err, OKRD_EIO, "close %s: %s", tmp, sqlite3_errmsg(dst));
    return ret;
}

/* Whether the database file changed since BEFORE (size or mtime). */
static bool file_changed(const char *path, const struct stat *before)
{
    struct stat now;
    if (stat(path, &now) != 0)
        return true;
    return now.st_size != before->st_size || now.st_mtim.tv_sec != before->st_mtim.tv_sec ||
           now.st_mtim.tv_nsec != before->st_mtim.tv_nsec;
}

/* One copy into a new temporary file beside DEST, renamed to DEST when
 * complete. *raced: the store was read without locks (no daemon had it
 * open: store_wal_files_absent) and its file changed meanwhile (a daemon
 * started and checkpointed), so the pages may come from two states; the
 * temporary is then removed and the caller copies again (now with a WAL to
 * lock). */
static int copy_once(const char *db_path, const char *dest, store_backup_progress_fn progress,
                     void *ctx, int64_t *bytes, bool *raced, struct okrd_err *err)
{
    *raced = false;
    struct stat before;
    bool unlocked = store_wal_files_absent(db_path) && stat(db_path, &before) == 0;
    struct store *src = NULL;
    int rc = store_open(&src, db_path, STORE_READONLY, err);
    if (rc)
        return rc;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", dest) >= (int)sizeof tmp) {
        store_close(src);
        return okrd_err_set(err, OKRD_EINVAL, "%s: path too long", dest);
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = okrd_err_set(err, OKRD_EIO, "create a temporary file beside %s: %s", dest,
                          strerror(errno));
        store_close(src);
        return rc;
    }
    rc = copy_pages(src, tmp, progress, ctx, bytes, err);
    store_close(src);
    if (!rc && fsync(fd) != 0)
        rc = okrd_err_set(err, OKRD_EIO, "sync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = okrd_err_set(err, OKRD_EIO, "close %s: %s", tmp, strerror(errno));
    if (!rc && unlocked && file_changed(db_path, &before)) {
        *raced = true;
        rc = okrd_err_set(err, OKRD_EBUSY, "store: %s changed while it was copied without a "
                                           "lock (okrd starting?)", db_path);
    }
    if (!rc)
        rc = rename_noreplace(tmp, dest, err);
    if (rc)
        unlink(tmp);
    return rc;
}

int store_backup(const char *db_path, const char *dest, store_backup_progress_fn progress,
                 void *ctx, int64_t *bytes_out, struct okrd_err *err)
{
    int rc = check_dest(dest, err);
    if (rc)
        return rc;
    int64_t bytes = 0;
    bool raced = false;
    /* A second attempt finds the WAL the starting daemon made and reads
     * under its locks; a third is for bad luck. */
    for (int attempt = 0; attempt < 3; attempt++) {
        rc = copy_once(db_path, dest, progress, ctx, &bytes, &raced, err);
        if (!raced)
            break;
    }
    if (rc)
        return rc;
    if (bytes_out)
        *bytes_out = bytes;
    return sync_dir_of(dest, err);
}
