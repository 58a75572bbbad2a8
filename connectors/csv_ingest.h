/*
 * csv_ingest.h — one CSV file into the store in ONE transaction.
 *
 * Shared by `okrd ingest` and the csv_dir source (which runs it as a job of
 * the store's writer thread), so both read, decide and record a file the
 * same way (DESIGN section 3): the sha256 is taken first; a file whose
 * (source, sha256) the ingest log already holds is skipped (unless
 * CSV_INGEST_FORCE), handing back the report logged for it; points
 * are upserted in file order (the last row of a repeated metric+timestamp
 * wins); on_error "reject_file" rolls back on any bad row, "skip_row" keeps
 * the good ones; the file is fstat'ed again just before COMMIT and a change
 * of size or mtime rolls back with OKRD_EBUSY (read it again later); the
 * ingest-log row, with a partial file's report, is written in the same
 * transaction as the points (a rejected file's row in one of its own).
 *
 * Moving the file (archive/, rejected/) and writing the report file are the
 * caller's business.
 */
#ifndef OKRD_CSV_INGEST_H
#define OKRD_CSV_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "common/okrd_err.h"
#include "config/config.h"
#include "connectors/csv_read.h"
#include "store/store.h"

enum {
    CSV_INGEST_FORCE = 1u << 0, /* read even when the ingest log holds (source, sha256) */
};

enum csv_outcome {
    CSV_INGESTED,   /* every row stored */
    CSV_PARTIAL,    /* skip_row: the good rows stored, the bad ones reported */
    CSV_REJECTED,   /* nothing stored; rep says why */
    CSV_DUPLICATE,  /* already ingested by this source (same sha256); nothing read */
};

/* Progress while PATH is read: DONE of TOTAL bytes (TOTAL = the file's size
 * when it was opened; DONE == TOTAL once at the end of a file read whole). */
typedef void (*csv_ingest_progress_cb)(void *ctx, const char *path, int64_t done, int64_t total);

struct csv_ingest_result {
    /* in, optional (kept by csv_ingest_file, which clears the rest): called
     * when the read has advanced by at least 1% of the file since the last
     * call, so at most ~100 times per file whatever its size; the callback
     * decides what to show and how often (`okrd ingest`'s terminal line).
     * NULL = none. */
    csv_ingest_progress_cb progress;
    void *progress_ctx;

    enum csv_outcome outcome;
    char sha256[65];
    int64_t points;          /* points stored (0 unless ingested/partial) */
    struct csv_report *rep;  /* caller-provided; filled unless duplicate */
    /* The skipped-rows report as JSON text: for a partial file the one
     * logged with it, for a duplicate the one the log holds for the earlier
     * file (NULL: none). Owned, freed by csv_ingest_result_free. */
    char *report_json;
    /* The distinct metric ids stored, for re-evaluating their key results;
     * owned by the result, freed by csv_ingest_result_free. */
    char **metrics;
    size_t n_metrics;
    /* private: an open-addressing index over metrics (slot = index + 1) */
    size_t *slots;
    size_t n_slots;
};

void csv_ingest_result_free(struct csv_ingest_result *res);
const char *csv_outcome_name(enum csv_outcome o);

/* Ingests PATH for csv_dir source SRC (times without a zone in TZ) at now_s.
 * res->rep must point at caller memory. Returns 0 with res->outcome set
 * (a rejected file is a 0 return: the decision was made and logged),
 * OKRD_EBUSY if the file changed while it was read (nothing stored),
 * OKRD_EIO/OKRD_EINVAL if it cannot be opened or is not a regular file,
 * OKRD_ESTORE if the store failed (nothing stored). */
int csv_ingest_file(struct store *w, const char *path, const struct cfg_source *src,
                    const struct okrd_tz *tz, int64_t now_s, unsigned flags,
                    struct csv_ingest_result *res, struct okrd_err *err);

#endif
