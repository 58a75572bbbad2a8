/*
 * csv_read_int.h — what the CSV reader's files share; not for other modules.
 *
 * csv_read.c turns bytes into records (sniffing, lines, comments, libcsv);
 * csv_read_rows.c turns records into points and errors (header, layouts);
 * csv_read_report.c holds the report helpers, the JSON report and SHA-256.
 */
#ifndef OKRD_CSV_READ_INT_H
#define OKRD_CSV_READ_INT_H

#include <csv.h>
#include <stdbool.h>
#include "csv_read.h"
#include "../common/parse.h"

/* Limits that keep a hostile file from eating memory: one field, one record. */
#define CSV_FIELD_MAX (1u << 20)
#define CSV_RECORD_MAX (4u << 20)
#define CSV_FIELDS_MAX 65536u /* Excel stops at 16384 columns */
/* The header line must be complete within this many bytes for sniffing. */
#define CSV_SNIFF_MAX (1u << 20)
/* A NUL byte within the file's first CSV_TEXT_PROBE bytes (or anywhere before
 * its header ends) makes it "not a text file" before its header is judged,
 * as git and grep tell binary files (they look at the first 8000 bytes): a
 * PNG or gzip file is then named for what it is, not for a missing column. */
#define CSV_TEXT_PROBE 8000u

struct csv_field {
    size_t off, len;          /* into csv_reader.row; text is NUL-terminated */
};

struct csv_wide_col {
    size_t col;               /* 0-based field index */
    char *metric;             /* owned */
};

struct csv_reader {
    const struct cfg_csv_dir *cfg;
    const struct okrd_tz *tz;
    csv_point_cb cb;
    void *ctx;
    struct csv_report *rep;
    struct okrd_numfmt numfmt;
    const char *ts_fmt;       /* NULL = auto */

    int status;               /* sticky: 0 or the first failure */
    struct okrd_err err;      /* its message */

    /* sniffing: bytes are held back until the delimiter is known */
    bool sniffing;
    bool sniffed;             /* the delimiter is known; still holding up to CSV_TEXT_PROBE */
    char *pre;
    size_t pre_len, pre_cap, pre_scan;
    int64_t pre_line;
    bool pre_prev_cr;
    unsigned char delim;
    int64_t sep_line;         /* line of an Excel "sep=X" line, 0 = none */

    /* lines and records */
    struct csv_parser parser;
    int64_t line;             /* current physical line, 1-based */
    bool at_line_start, prev_cr, in_comment;
    int64_t record_line;      /* where the record being parsed started */
    bool unterminated;        /* the last record ends inside quotes */

    /* the current record */
    char *row;
    size_t row_len, row_cap;
    struct csv_field *fields;
    size_t n_fields, fields_cap;

    /* the header */
    bool have_header;
    int64_t header_line;
    size_t n_header;
    size_t col_metric, col_ts, col_value;   /* long layout */
    struct csv_wide_col *wide;              /* wide layout */
    size_t n_wide;
    double *wide_vals;
    bool *wide_has;
};

/* csv_read_rows.c: one complete record (r->fields) that starts at
 * r->record_line. Sets r->status on a file-level problem or a stop. */
void csv_rows_record(struct csv_reader *r);
/* After the last record: an empty or header-only file is a file error. */
void csv_rows_finish(struct csv_reader *r);
void csv_rows_free(struct csv_reader *r);

/* csv_read_report.c */
/* Adds a row error (counted always, listed while there is room). */
void csv_report_add(struct csv_report *rep, int64_t row, int column,
                    const char *value, size_t value_len, const char *reason);
/* Records a file-level problem: a listed whole-row error {ROW, VALUE,
 * reason}, rep->file_error = "line ROW: reason (VALUE)", r->status =
 * OKRD_EINVAL and r->err = the same text. */
void csv_file_error(struct csv_reader *r, int64_t row, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same, listed at COLUMN (1-based) when one column is to blame. */
void csv_file_error_at(struct csv_reader *r, int64_t row, int column, const char *value,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Copies at most size-1 bytes of s[0..n) into dst as valid UTF-8: never cuts
 * a character, replaces invalid bytes and NULs with '?'. */
void csv_utf8_copy(char *dst, size_t size, const char *s, size_t n);

#endif
