/*
 * csv_dir_job.h — one inbox file as a job of the store's writer thread, and
 * what to say about its outcome.
 *
 * The job does everything that touches the file, off the loop: hash, read
 * and commit through csv_ingest_file (the same code as `okrd ingest`), the
 * source's health record, then the move to archive/ or rejected/ and the
 * report beside it. The move comes after the commit, made durable first
 * (store_sync: a power loss cannot undo it once the file is archived), so a
 * crash in between leaves the file in the inbox, where its (source, sha256)
 * makes it a duplicate, archived with the report the ingest log kept.
 *
 * conn_csv_dir.c fills the inputs on the loop, submits a batch of jobs
 * (csv_dir_batch_run) with store_writer_submit, and reads the results in
 * its done callback (the writer thread is finished with the batch by then).
 * csv_dir_job_message is a pure function of one job's results.
 */
#ifndef OKRD_CSV_DIR_JOB_H
#define OKRD_CSV_DIR_JOB_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/okrd_err.h"
#include "config/config.h"
#include "connectors/csv_ingest.h"
#include "store/store.h"

enum csv_dir_end {
    CSV_DIR_DONE,    /* an outcome was decided: ingested, partial, rejected, duplicate */
    CSV_DIR_RETRY,   /* it changed while it was read: nothing stored, read again later */
    CSV_DIR_GONE,    /* it vanished or is no longer a regular file: forget it */
    CSV_DIR_FAILED,  /* the store failed: nothing stored, the file stays; a rescan retries */
};

struct csv_dir_job {
    void *owner;                    /* the loop side's; untouched by the job */
    /* inputs: SRC and TZ must outlive the job */
    const struct cfg_source *src;
    const struct okrd_tz *tz;
    int64_t now_s;
    char name[NAME_MAX + 1];        /* the file, inside src->u.csv.path */
    /* results */
    enum csv_dir_end end;
    struct csv_ingest_result res;   /* res.metrics: freed by csv_dir_job_free */
    const char *subdir;             /* where it went: CSV_INBOX_ARCHIVE, _REJECTED, or NULL */
    char final[NAME_MAX + 8];       /* its name there (NAME or NAME.N) */
    char report[PATH_MAX];          /* the report written, "" = none */
    char problem[OKRD_ERR_MSG_MAX]; /* why it failed, was not moved, or is read again */
    bool replaced;                  /* a new file took its name, or it changed, after it
                                       was read: not moved (its events bring it back) */
    bool health_known, health_ok;   /* the health record was updated: */
    struct store_source_health health;
    struct csv_report rep;
    struct stat read_st;            /* the file as it was read, to move that one only */
};

/* One writer job of the inbox: read and commit one file (READ, or NULL),
 * then, with FLUSH, ONE sync of the store and the moves of every decided
 * file: READ and the MOVES that earlier jobs read and committed. The sync
 * is what makes a commit durable before its file leaves the inbox; the
 * connector defers it while more files are ready (at most
 * CSV_DIR_BATCH_MAX), so a backlog of small files costs one fsync per
 * batch, not per file. Each file still has a job and a commit of its own,
 * so the key results it changes are evaluated before the next file is read
 * (an alert per file, not per batch). */
#define CSV_DIR_BATCH_MAX 32

struct csv_dir_batch {
    void *owner;                    /* the loop side's; untouched by the job */
    struct csv_dir_job *read;       /* owned; NULL = only sync and move */
    bool flush;
    size_t n_moves;
    struct csv_dir_job *moves[CSV_DIR_BATCH_MAX]; /* owned; all CSV_DIR_DONE */
};

/* A zeroed job (about 30 KiB, so on the heap) with its inputs; NULL when out
 * of memory. */
struct csv_dir_job *csv_dir_job_new(void *owner, const struct cfg_source *src,
                                    const struct okrd_tz *tz, int64_t now_s, const char *name);
void csv_dir_job_free(struct csv_dir_job *j);

/* An empty batch; NULL when out of memory. Free frees its jobs too. */
struct csv_dir_batch *csv_dir_batch_new(void *owner);
void csv_dir_batch_free(struct csv_dir_batch *b);

/* The store_job_fn (writer thread) for a csv_dir_batch. Always returns 0:
 * every outcome is in the jobs' results. Once the writer is stopping, a
 * file not begun is left (CSV_DIR_RETRY); the moves are still made. */
int csv_dir_batch_run(struct store *w, void *arg, struct okrd_err *err);

/* The first reason of a report, as one line: "row 3, column 2: \"abc\": not
 * a number", or the file-level problem. */
void csv_dir_first_error(const struct csv_report *rep, char *buf, size_t size);

/* What to log about a CSV_DIR_DONE job: its level, event name
 * ("file_ingested", "file_partial", "file_rejected", "file_duplicate") and
 * message into MSG. quiet_duplicate: a duplicate that could not be moved
 * again (the inbox is known to be failing) is only a debug line. */
void csv_dir_job_message(const struct csv_dir_job *j, bool quiet_duplicate,
                         enum cfg_log_level *level, const char **event, char *msg,
                         size_t size);

#endif
