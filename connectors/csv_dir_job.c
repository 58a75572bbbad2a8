/*
 * csv_dir_job.c — see csv_dir_job.h. Runs on the store's writer thread
 * (except csv_dir_job_message and the constructors, which are the loop's):
 * it touches only its own struct, the writer's connection and the inbox's
 * files, never the connector's state.
 */
#include "csv_dir_job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "connectors/csv_inbox.h"
#include "connectors/csv_inbox_fs.h"

/* snprintf for messages that may be cut short on purpose (a long file name
 * in a 256-byte health record), without -Wformat-truncation's complaint. */
static void cut_printf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cut_printf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

struct csv_dir_job *csv_dir_job_new(void *owner, const struct cfg_source *src,
                                    const struct okrd_tz *tz, int64_t now_s, const char *name)
{
    struct csv_dir_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->owner = owner;
    j->src = src;
    j->tz = tz;
    j->now_s = now_s;
    cut_printf(j->name, sizeof j->name, "%s", name);
    j->res.rep = &j->rep;
    return j;
}

void csv_dir_job_free(struct csv_dir_job *j)
{
    if (j) {
        csv_ingest_result_free(&j->res);
        free(j);
    }
}

void csv_dir_first_error(const struct csv_report *rep, char *buf, size_t size)
{
    if (rep->file_error[0]) {
        cut_printf(buf, size, "%s", rep->file_error);
    } else if (rep->n_errors == 0) {
        cut_printf(buf, size, "no reason recorded");
    } else {
        const struct csv_row_error *e = &rep->errors[0];
        char col[24] = "";
        if (e->column != CSV_WHOLE_ROW)
            snprintf(col, sizeof col, ", column %d", e->column);
        /* Most reasons quote the cell already ("\"abc\": not a number"). */
        if (e->value[0] && !strstr(e->reason, e->value))
            cut_printf(buf, size, "row %lld%s: %s (value \"%s\")", (long long)e->row, col,
                       e->reason, e->value);
        else
            cut_printf(buf, size, "row %lld%s: %s", (long long)e->row, col, e->reason);
    }
}

/* Health after this file, written beside the points (and handed to the
 * loop's on_health). The job is the only writer of its source's record, one
 * file at a time, so read-modify-write is safe. A failure to store health
 * is not worth failing the file for. */
static void job_health(struct store *w, struct csv_dir_job *j, bool ok, const char *why)
{
    struct store_source_health h;
    struct okrd_err e = { 0 };
    if (store_get_source_health(w, j->src->id, &h, &e) < 0)
        memset(&h, 0, sizeof h);
    if (ok) {
        h.last_success_s = j->now_s;
        h.consecutive_failures = 0;
        h.points_total += j->res.points;
    } else {
        h.last_error_s = j->now_s;
        cut_printf(h.last_error, sizeof h.last_error, "%s", why);
        h.consecutive_failures++;
    }
    store_put_source_health(w, j->src->id, &h, &e);
    j->health = h;
    j->health_known = true;
    j->health_ok = ok;
}

/* A file that cannot be opened or read (its permissions, an I/O error) is
 * rejected with that as its report: the operator sees why in rejected/. */
static void reject_unreadable(struct csv_dir_job *j, const char *path, const char *msg)
{
    size_t plen = strlen(path);
    if (!strncmp(msg, path, plen) && !strncmp(msg + plen, ": ", 2))
        msg += plen + 2; /* the report names the file already */
    memset(&j->rep, 0, sizeof j->rep);
    struct csv_row_error *e = &j->rep.errors[0];
    e->row = 1;
    e->column = CSV_WHOLE_ROW;
    cut_printf(e->reason, sizeof e->reason, "%s", msg);
    cut_printf(j->rep.file_error, sizeof j->rep.file_error, "%s", msg);
    j->rep.n_errors = 1;
    j->rep.n_errors_total = 1;
    j->res.outcome = CSV_REJECTED;
}

/* Moves the decided file out of the inbox and writes its report: the one
 * just read (partial, rejected), or for a duplicate the one the ingest log
 * kept for the earlier file (so a crash between commit and move loses no
 * report), under the name it has now. */
static void move_out(struct csv_dir_job *j, const char *inbox)
{
    bool ok = j->res.outcome != CSV_REJECTED;
    bool logged = j->res.outcome == CSV_DUPLICATE;
    bool with_report = logged ? j->res.report_json != NULL : j->rep.n_errors_total > 0;
    const char *subdir = ok ? CSV_INBOX_ARCHIVE : CSV_INBOX_REJECTED;
    struct okrd_err e = { 0 }, e2 = { 0 };
    int rc = csv_inbox_move(inbox, j->name, subdir, with_report, j->final, sizeof j->final, &e);
    /* Someone removed archive/ or rejected/: make them again, once. */
    if (rc == OKRD_EIO && csv_inbox_prepare(inbox, &e2) == 0)
        rc = csv_inbox_move(inbox, j->name, subdir, with_report, j->final, sizeof j->final, &e);
    if (rc < 0) {
        cut_printf(j->problem, sizeof j->problem, "%s", e.msg);
        return;
    }
    j->subdir = subdir;
    if (!with_report)
        return;
    if (logged)
        rc = csv_inbox_write_logged_report(inbox, subdir, j->final, j->name, j->res.report_json,
                                           j->report, sizeof j->report, &e);
    else
        rc = csv_inbox_write_report(inbox, subdir, j->final, j->name,
                                    j->res.sha256[0] ? j->res.sha256 : NULL, &j->rep, j->report,
                                    sizeof j->report, &e);
    if (rc < 0) {
        j->report[0] = '\0';
        cut_printf(j->problem, sizeof j->problem, "%s", e.msg);
    }
}

/* Reads and commits one file and updates its source's health: everything
 * but the move, which waits for the batch's sync. */
static void job_read(struct store *w, struct csv_dir_job *j)
{
    const char *inbox = j->src->u.csv.path;
    char path[PATH_MAX];
    struct stat before, after;
    struct okrd_err e = { 0 }, *err = &e;
    if (snprintf(path, sizeof path, "%s/%s", inbox, j->name) >= (int)sizeof path ||
        lstat(path, &before) < 0 || !S_ISREG(before.st_mode)) {
        j->end = CSV_DIR_GONE;
        return;
    }
    j->read_st = before;
    int rc = csv_ingest_file(w, path, j->src, j->tz, j->now_s, 0, &j->res, err);
    if (rc == OKRD_EBUSY || rc == OKRD_ECANCELED) {
        /* Changed while read, or okrd is stopping: nothing stored, the file
         * stays in the inbox for a later read (or the next start). */
        j->end = CSV_DIR_RETRY;
        cut_printf(j->problem, sizeof j->problem, "%s", err->msg);
        return;
    }
    if (rc < 0 && (lstat(path, &after) < 0 || !S_ISREG(after.st_mode))) {
        j->end = CSV_DIR_GONE;
        return;
    }
    /* A store's error (its message starts "store:") is no fault of the
     * file: a PostgreSQL session lost in a failover is OKRD_EIO, and the
     * file must stay in the inbox for the next leader, not be rejected. */
    if ((rc == OKRD_EIO || rc == OKRD_EINVAL) && strncmp(err->msg, "store:", 6) != 0) {
        reject_unreadable(j, path, err->msg);
    } else if (rc < 0) {
        j->end = CSV_DIR_FAILED;
        cut_printf(j->problem, sizeof j->problem, "%s", err->msg);
        job_health(w, j, false, err->msg);
        return;
    }
    j->end = CSV_DIR_DONE;
    if (j->res.outcome != CSV_DUPLICATE) {
        char first[400], why[OKRD_ERR_MSG_MAX];
        csv_dir_first_error(&j->rep, first, sizeof first);
        cut_printf(why, sizeof why, "%s rejected: %s", j->name, first);
        job_health(w, j, j->res.outcome != CSV_REJECTED, why);
    }
}

/* Moves a decided file out of the inbox once its commit is durable. */
static void job_move(struct csv_dir_job *j)
{
    const char *inbox = j->src->u.csv.path;
    char path[PATH_MAX];
    struct stat now;
    /* The name must still be the file that was read, as it was read: a
     * new file renamed over it, or a write in place since (the move may
     * wait for later files' reads), has events of its own and is not ours
     * to move. (A change in the instant between this check and the move
     * would still be moved unread; producers that reuse a name that fast
     * lose anyway.) csv_ingest_file saw the file unchanged from its open to
     * its commit, so the stat before the read is the state read. */
    const struct stat *r = &j->read_st;
    if (snprintf(path, sizeof path, "%s/%s", inbox, j->name) >= (int)sizeof path ||
        lstat(path, &now) < 0 || now.st_ino != r->st_ino || now.st_dev != r->st_dev ||
        now.st_size != r->st_size || now.st_mtim.tv_sec != r->st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != r->st_mtim.tv_nsec) {
        j->replaced = true;
        return;
    }
    move_out(j, inbox);
}

struct csv_dir_batch *csv_dir_batch_new(void *owner)
{
    struct csv_dir_batch *b = calloc(1, sizeof *b);
    if (b)
        b->owner = owner;
    return b;
}

void csv_dir_batch_free(struct csv_dir_batch *b)
{
    if (!b)
        return;
    csv_dir_job_free(b->read);
    for (size_t i = 0; i < b->n_moves; i++)
        csv_dir_job_free(b->moves[i]);
    free(b);
}

int csv_dir_batch_run(struct store *w, void *arg, struct okrd_err *err)
{
    struct csv_dir_batch *b = arg;
    struct csv_dir_job *j = b->read;
    if (j && store_stop_requested(w)) {
        j->end = CSV_DIR_RETRY;
        cut_printf(j->problem, sizeof j->problem,
                   "%s: stopping: left in the inbox for the next start", j->name);
    } else if (j) {
        job_read(w, j);
    }
    bool with_read = j && j->end == CSV_DIR_DONE;
    if (!b->flush || (b->n_moves == 0 && !with_read))
        return 0;
    /* The commits must be durable before the files leave the inbox (DESIGN
     * section 3): else a power loss could keep a move and undo its commit,
     * the points gone and the file archived. For a duplicate too: its row
     * may be an earlier process's commit that never reached the disk. One
     * sync for the batch: an fsync per tiny file made a 20,000-file backlog
     * drain up to 10 times slower. Failing that, the files stay for a
     * rescan (they are duplicates then). */
    struct okrd_err e = { 0 };
    int rc = store_sync(w, &e);
    for (size_t i = 0; i <= b->n_moves; i++) {
        struct csv_dir_job *m = i < b->n_moves ? b->moves[i] : with_read ? j : NULL;
        if (!m)
            continue;
        if (rc < 0)
            cut_printf(m->problem, sizeof m->problem, "%s; %s stays in the inbox", e.msg,
                       m->name);
        else
            job_move(m);
    }
    return 0;
}

void csv_dir_job_message(const struct csv_dir_job *j, bool quiet_duplicate,
                         enum cfg_log_level *level, const char **event, char *msg, size_t size)
{
    const struct csv_report *rep = &j->rep;
    char where[OKRD_ERR_MSG_MAX + 64], why[512];
    const char *report = j->report[0] ? j->report : "not written";
    if (j->subdir)
        cut_printf(where, sizeof where, "%s/%s", j->subdir, j->final);
    else if (j->replaced)
        cut_printf(where, sizeof where, "nowhere (a new or changed file has its name now)");
    else
        cut_printf(where, sizeof where, "nowhere, left in the inbox (%s)", j->problem);
    csv_dir_first_error(rep, why, sizeof why);
    switch (j->res.outcome) {
    case CSV_INGESTED:
        *level = CFG_LOG_INFO;
        *event = "file_ingested";
        cut_printf(msg, size, "%s: %lld rows, %lld points stored; moved to %s", j->name,
                   (long long)rep->rows_ok, (long long)j->res.points, where);
        break;
    case CSV_PARTIAL:
        *level = CFG_LOG_WARNING;
        *event = "file_partial";
        cut_printf(msg, size,
                   "%s: %lld rows, %lld points stored, %lld bad rows skipped (first: %s); "
                   "moved to %s; report %s",
                   j->name, (long long)rep->rows_ok, (long long)j->res.points,
                   (long long)(rep->rows_read - rep->rows_ok), why, where, report);
        break;
    case CSV_REJECTED:
        *level = CFG_LOG_WARNING;
        *event = "file_rejected";
        cut_printf(msg, size, "%s: rejected, nothing stored: %s (%lld errors); moved to %s; "
                   "report %s",
                   j->name, why, (long long)rep->n_errors_total, where, report);
        break;
    case CSV_DUPLICATE:
    default:
        /* A file whose move keeps failing comes back as a duplicate on
         * every rescan: one line at info is enough. */
        *level = quiet_duplicate && !j->subdir ? CFG_LOG_DEBUG : CFG_LOG_INFO;
        *event = "file_duplicate";
        if (j->report[0])
            cut_printf(msg, size, "%s: already ingested (same sha256 %.12s), not read again; "
                       "moved to %s; its report %s", j->name, j->res.sha256, where, j->report);
        else
            cut_printf(msg, size, "%s: already ingested (same sha256 %.12s), not read again; "
                       "moved to %s", j->name, j->res.sha256, where);
        break;
    }
}
