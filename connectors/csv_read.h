/*
 * csv_read.h — the csv_dir reader: one file's bytes in, points and a report out.
 *
 * Owns the file format of DESIGN section 3 (quoting, BOM, line ends, '#'
 * comments, `sep=` lines, delimiter sniffing, decimal commas, `strip`,
 * `skip_rows_matching`, long and wide layouts, timestamps) and the report
 * written beside a rejected or partly read file. It leaves to its caller the
 * inbox (watching, settling, moving files), the store transaction and the
 * on_error policy.
 *
 * The reader streams: bytes go in by chunks of any size (a 1,000,000-row file
 * never sits in memory, nor do its points), and every good row's points are
 * handed to a callback at once, in file order, so "the last row wins" follows
 * from upserting them in the order they arrive. Splitting the same bytes at
 * different places gives the same points and the same report.
 *
 * Error policy belongs to the caller: the reader reports EVERY bad row and
 * still delivers the points of every good one. With on_error "reject_file"
 * the caller rolls back when rep->n_errors_total > 0 (or the read failed);
 * with "skip_row" it commits what it got. A row with one bad cell delivers no
 * point at all (the wide layout validates the whole row first).
 */
#ifndef OKRD_CSV_READ_H
#define OKRD_CSV_READ_H

#include <stddef.h>
#include <stdint.h>
#include "../common/okrd_err.h"
#include "../common/tz.h"
#include "../config/config.h"

/* csv_read_fd's progress: OFFSET is the file offset read up to (the
 * reader's position, as lseek(fd, 0, SEEK_CUR) would say). */
typedef void (*csv_progress_cb)(void *ctx, int64_t offset);

struct csv_reader_opts {
    const struct cfg_csv_dir *cfg; /* format options; must outlive the reader */
    const struct okrd_tz *tz;      /* zone of timestamps without one; NULL = UTC */
    /* Optional, csv_read_fd only: called after every read(2) that got bytes. */
    csv_progress_cb progress;
    void *progress_ctx;
};

/* Called once per point, in file order. METRIC is NUL-terminated and valid
 * only during the call. A non-zero return stops the read: csv_reader_feed /
 * _finish / csv_read_* then return it (a positive value becomes
 * OKRD_ECANCELED). */
typedef int (*csv_point_cb)(void *ctx, const char *metric, int64_t ts, double value);

#define CSV_MAX_LISTED_ERRORS 100 /* DESIGN section 3: the report lists at most 100 */
#define CSV_WHOLE_ROW 0           /* csv_row_error.column for a whole-row error */

struct csv_row_error {
    int64_t row;          /* 1-based line where the record starts, as an editor shows it */
    int column;           /* 1-based field number, or CSV_WHOLE_ROW (JSON null) */
    char value[64];       /* the cell (a whole-row error: the fields joined), cut at a
                           * UTF-8 boundary; always valid UTF-8 */
    char reason[160];     /* why, valid UTF-8 */
};

/* Filled by the reader; the caller provides the memory (about 24 KiB, so
 * allocate it rather than put it on a small stack). Counts exclude the header,
 * comment lines, blank lines (and rows of only empty fields) and rows dropped
 * by skip_rows_matching, so rows_read == rows_ok + rows that had an error. */
struct csv_report {
    int64_t rows_read;
    int64_t rows_ok;      /* rows whose points were all delivered */
    int64_t rows_skipped; /* dropped by skip_rows_matching; not in rows_read */
    int64_t points;       /* points delivered to the callback */
    struct csv_row_error errors[CSV_MAX_LISTED_ERRORS];
    size_t n_errors;      /* listed, <= CSV_MAX_LISTED_ERRORS */
    int64_t n_errors_total; /* found, including those not listed */
    /* A file-level problem (empty, header-only, a missing or duplicated
     * column, a record over the size limit, a NUL byte: not a text file), ""
     * when none. It is also listed in errors[], as a whole-row error at the
     * header's line (line 1 for an empty file; a NUL byte's own line), or
     * at its column for a duplicated column name, so the JSON report needs
     * no extra key. */
    char file_error[256];
};

/* ---- streaming ---- */

struct csv_reader;

/* Starts reading one file. rep is cleared and filled as rows arrive; it, cb's
 * ctx and o->cfg must outlive the reader. The caller owns *out and frees it
 * with csv_reader_free. Fails only with OKRD_ENOMEM. */
int csv_reader_new(struct csv_reader **out, const struct csv_reader_opts *o,
                   csv_point_cb cb, void *ctx, struct csv_report *rep,
                   struct okrd_err *err);

/* Feeds the next LEN bytes (any split: a record, a UTF-8 character or a CRLF
 * may straddle two calls). Returns 0, or a negative code that sticks (later
 * calls return it again):
 *   OKRD_EINVAL  a file-level problem (rep->file_error, err say which);
 *   OKRD_ENOMEM;
 *   the callback's stop value.
 * Row errors are not failures: they go to rep and reading goes on. */
int csv_reader_feed(struct csv_reader *r, const char *buf, size_t len, struct okrd_err *err);

/* Ends the input: flushes a last record without a final newline and checks
 * the file as a whole (empty, header-only). Same returns as csv_reader_feed. */
int csv_reader_finish(struct csv_reader *r, struct okrd_err *err);

/* NULL is fine. */
void csv_reader_free(struct csv_reader *r);

/* ---- one call per file ---- */

/* Reads FD to its end in 64 KiB chunks (from its current offset; pipes work)
 * and runs new/feed/finish/free. Returns 0 when the file was read (check
 * rep->n_errors_total for bad rows), OKRD_EIO when read(2) failed, or a code
 * of csv_reader_feed. On any non-zero return the points already delivered
 * must be discarded (roll back). */
int csv_read_fd(int fd, const struct csv_reader_opts *o, csv_point_cb cb, void *ctx,
                struct csv_report *rep, struct okrd_err *err);

/* The same over bytes in memory (tests, fuzzing). */
int csv_read_buffer(const char *buf, size_t len, const struct csv_reader_opts *o,
                    csv_point_cb cb, void *ctx, struct csv_report *rep,
                    struct okrd_err *err);

/* ---- report and hash ---- */

/* Writes rep as DESIGN section 3's report
 *   {"file", "sha256", "errors": [{"row", "column", "value", "reason"}],
 *    "rows_read", "rows_ok"}
 * to PATH atomically: a hidden temporary file in PATH's folder, fsync, then
 * rename over PATH. column is null for a whole-row error; sha256 NULL writes
 * null. */
int csv_report_write_json(const struct csv_report *rep, const char *file_name,
                          const char *sha256, const char *path, struct okrd_err *err);

/* The same report as one compact line of JSON, for the ingest log (which
 * keeps it with the file's points, so it survives a crash before the file
 * is moved). malloc'd, the caller frees it; NULL when out of memory. */
char *csv_report_json_text(const struct csv_report *rep, const char *file_name,
                           const char *sha256);

/* Writes a report the ingest log kept (TEXT, from csv_report_json_text) to
 * PATH as csv_report_write_json does, with its "file" set to FILE_NAME: the
 * same bytes may come back under another name. OKRD_EINVAL when TEXT is not
 * a JSON object. */
int csv_report_write_logged(const char *text, const char *file_name, const char *path,
                            struct okrd_err *err);

/* SHA-256 of the whole regular file FD as 64 lowercase hex digits + NUL into
 * hex. Reads with pread(2) from offset 0 and leaves the file offset alone. */
int csv_sha256_fd(int fd, char hex[65], struct okrd_err *err);

#endif
