/*
 * csv_read.c — bytes to records: sniffing, physical lines, comments, libcsv.
 *
 * libcsv tokenizes (RFC 4180 quoting, CR/LF/CRLF) but knows nothing of lines
 * or comments, so we cut the input into physical lines ourselves and hand
 * libcsv one line (or the part of it in this chunk) at a time. Between two
 * calls libcsv's state says whether a record is open: ROW_NOT_BEGUN means the
 * next line starts a new record, anything else means we are inside one (e.g.
 * a quoted field holding a newline). Only in the first case is a line whose
 * first byte is '#' a comment (skipped, never fed) and is the line number
 * remembered as the record's start. That way a '#' or a blank line inside a
 * quoted field stays data, and row numbers count every physical line:
 * comments, blanks, `sep=` and newlines inside quotes.
 *
 * Line ends: LF, CRLF, or a lone CR, each one line (as editors count them).
 *
 * Before the first record we hold bytes back ("sniffing") until the header
 * line is complete, to find the delimiter (a `sep=X` line wins, else the most
 * frequent of , ; TAB outside quotes in the header line) and which line is
 * the `sep=` line; then the held bytes are replayed and the rest streams.
 *
 * Binary files: a text file never holds a NUL byte. We hold at least the
 * first CSV_TEXT_PROBE bytes before replaying, so a NUL there (a PNG, a gzip
 * or zip archive, an .xlsx, UTF-16 text) rejects the file as "not a text
 * file" before its first line is taken for a header; a NUL further on is
 * caught line by line as the bytes stream. Either way it is a file error
 * (OKRD_EINVAL), so even on_error "skip_row" keeps nothing of such a file.
 * Only the fixed-size probe is checked early, never "whatever this chunk
 * held", so the report does not depend on how the bytes were split.
 */
#include "csv_read_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* libcsv's parser state "no field of a record seen yet" (libcsv.c defines it
 * as 0; struct csv_parser is public, its state constants are not). */
#define CSV_PSTATE_ROW_NOT_BEGUN 0
#define CSV_PSTATE_FIELD_BEGUN 2

#define CSV_CHUNK (64u * 1024)

static const unsigned char utf8_bom[3] = { 0xEF, 0xBB, 0xBF };

/* ---- libcsv callbacks ---- */

static int row_reserve(struct csv_reader *r, size_t extra)
{
    if (r->row_len + extra <= r->row_cap)
        return 0;
    size_t cap = r->row_cap ? r->row_cap : 256;
    while (cap < r->row_len + extra)
        cap *= 2;
    char *p = realloc(r->row, cap);
    if (!p)
        return -1;
    r->row = p;
    r->row_cap = cap;
    return 0;
}

static void on_field(void *s, size_t len, void *data)
{
    struct csv_reader *r = data;
    if (r->status)
        return;
    if (r->row_len + len + 1 > CSV_RECORD_MAX) {
        csv_file_error(r, r->record_line, "", "the record is longer than %u bytes", CSV_RECORD_MAX);
        return;
    }
    if (r->n_fields == CSV_FIELDS_MAX) {
        csv_file_error(r, r->record_line, "", "the record has more than %u fields", CSV_FIELDS_MAX);
        return;
    }
    if (r->n_fields == r->fields_cap) {
        size_t cap = r->fields_cap ? r->fields_cap * 2 : 16;
        struct csv_field *f = realloc(r->fields, cap * sizeof *f);
        if (!f) {
            r->status = okrd_err_set(&r->err, OKRD_ENOMEM, "out of memory");
            return;
        }
        r->fields = f;
        r->fields_cap = cap;
    }
    if (row_reserve(r, len + 1) != 0) {
        r->status = okrd_err_set(&r->err, OKRD_ENOMEM, "out of memory");
        return;
    }
    if (len)
        memcpy(r->row + r->row_len, s, len);
    r->row[r->row_len + len] = '\0';
    r->fields[r->n_fields++] = (struct csv_field){ r->row_len, len };
    r->row_len += len + 1;
}

static void on_row(int c, void *data)
{
    struct csv_reader *r = data;
    (void)c;
    if (!r->status)
        csv_rows_record(r);
    r->n_fields = 0;
    r->row_len = 0;
}

/* Feeds bytes of one physical line (or part of it) to libcsv. */
static void feed_parser(struct csv_reader *r, const char *s, size_t n)
{
    size_t done = csv_parse(&r->parser, s, n, on_field, on_row, r);
    if (r->status)
        return;
    if (done < n) {
        r->status = okrd_err_set(&r->err, OKRD_ENOMEM, "csv: %s",
                                 csv_strerror(csv_error(&r->parser)));
        return;
    }
    if (r->parser.entry_pos > CSV_FIELD_MAX)
        csv_file_error(r, r->record_line, "", "a field is longer than %u bytes", CSV_FIELD_MAX);
}

/* ---- physical lines ---- */

/* The physical line (1-based) of byte P[N], counted as stream() counts. */
static int64_t line_of(const char *p, size_t n, int64_t first)
{
    int64_t line = first;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\n' ? i == 0 || p[i - 1] != '\r' : p[i] == '\r')
            line++;
    return line;
}

static void nul_error(struct csv_reader *r, int64_t line)
{
    csv_file_error(r, line, "", "not a text file: NUL byte at line %lld", (long long)line);
}

static const char *find_eol(const char *s, size_t n)
{
    const char *lf = memchr(s, '\n', n);
    const char *cr = memchr(s, '\r', lf ? (size_t)(lf - s) : n);
    return cr ? cr : lf;
}

static void stream(struct csv_reader *r, const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && !r->status) {
        if (r->prev_cr) {
            r->prev_cr = false;
            if (buf[i] == '\n') {
                /* the LF of a CRLF: same line end. Inside a quoted field it
                 * belongs to the value; elsewhere libcsv ignores it. */
                feed_parser(r, buf + i, 1);
                i++;
                continue;
            }
        }
        if (r->at_line_start) {
            r->at_line_start = false;
            if (r->parser.pstate == CSV_PSTATE_ROW_NOT_BEGUN) {
                if (buf[i] == '#' || r->line == r->sep_line)
                    r->in_comment = true;
                else
                    r->record_line = r->line;
            }
        }
        /* at most a chunk per libcsv call, so the field limit bites early */
        size_t window = len - i < CSV_CHUNK ? len - i : CSV_CHUNK;
        const char *eol = find_eol(buf + i, window);
        size_t end = eol ? (size_t)(eol - buf) + 1 : i + window;
        if (memchr(buf + i, '\0', end - i)) {
            nul_error(r, r->line);
            return;
        }
        if (!r->in_comment)
            feed_parser(r, buf + i, end - i);
        if (eol) {
            r->line++;
            r->at_line_start = true;
            r->prev_cr = *eol == '\r';
            r->in_comment = false;
        }
        i = end;
    }
}

/* ---- sniffing ---- */

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

/* "sep=X" or "\"sep=X\"", trailing blanks allowed; *delim = X. */
static bool is_sep_line(const char *s, size_t n, unsigned char *delim)
{
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 7 && s[0] == '"' && s[6] == '"') {
        s++;
        n -= 2;
    }
    if (n != 5 || strncasecmp(s, "sep=", 4) != 0)
        return false;
    unsigned char c = (unsigned char)s[4];
    if (c == '"' || c == '\r' || c == '\n')
        return false;
    *delim = c;
    return true;
}

static unsigned char count_delimiter(const char *s, size_t n)
{
    static const unsigned char cand[3] = { ',', ';', '\t' };
    size_t count[3] = { 0, 0, 0 };
    bool quoted = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted)
            for (int k = 0; k < 3; k++)
                count[k] += (unsigned char)s[i] == cand[k];
    }
    int best = 0; /* ties go to the earlier: , then ; then TAB */
    for (int k = 1; k < 3; k++)
        if (count[k] > count[best])
            best = k;
    return cand[best];
}

/* Scans complete lines of the held bytes P[0..LEN) from r->pre_scan on.
 * Returns true once the delimiter is known: at the first line that is
 * neither a comment nor blank (a `sep=` line or the header), at EOF, or when
 * the header line outgrows CSV_SNIFF_MAX. */
static bool sniff(struct csv_reader *r, const char *p, size_t len, bool eof)
{
    size_t i = r->pre_scan;
    if (i == 0) {
        size_t k = len < 3 ? len : 3;
        if (k && memcmp(p, utf8_bom, k) == 0) {
            if (k < 3 && !eof)
                return false;
            if (k == 3)
                i = 3;
        }
    }
    for (;;) {
        if (r->pre_prev_cr && i < len) {
            r->pre_prev_cr = false;
            if (p[i] == '\n')
                i++;
        }
        if (i >= len && !eof) {
            r->pre_scan = i;
            return false;
        }
        const char *s = p + i;
        size_t avail = len - i;
        const char *eol = find_eol(s, avail);
        if (!eol && !eof && avail < CSV_SNIFF_MAX) {
            r->pre_scan = i;
            return false;
        }
        size_t n = eol ? (size_t)(eol - s) : avail;
        unsigned char d;
        if (n && s[0] == '#') {
            /* a comment */
        } else if (is_blank(s, n)) {
            if (!eol)
                return true; /* EOF: nothing but comments and blanks */
        } else if (is_sep_line(s, n, &d)) {
            r->sep_line = r->pre_line;
            if (!r->delim)
                r->delim = d;
            return true;
        } else {
            if (!r->delim)
                r->delim = count_delimiter(s, n);
            return true;
        }
        if (!eol)
            return true;
        r->pre_line++;
        r->pre_prev_cr = *eol == '\r';
        i += n + 1;
    }
}

/* A UTF-16 byte-order mark (Excel's "Unicode Text"): worth its own words,
 * since the NUL bytes of UTF-16 would only say "not a text file". */
static bool is_utf16(const char *p, size_t len)
{
    return len >= 2 && ((p[0] == '\xFF' && p[1] == '\xFE') || (p[0] == '\xFE' && p[1] == '\xFF'));
}

/* Ends sniffing: sets the delimiter and replays the held bytes P[0..LEN). */
static void end_sniffing(struct csv_reader *r, const char *p, size_t len)
{
    r->sniffing = false;
    if (!r->delim)
        r->delim = ',';
    csv_set_delim(&r->parser, r->delim);
    size_t probe = len < CSV_TEXT_PROBE ? len : CSV_TEXT_PROBE;
    const char *nul = probe ? memchr(p, '\0', probe) : NULL; /* p is NULL for no bytes */
    if (is_utf16(p, len))
        csv_file_error(r, 1, "", "not UTF-8: the file is UTF-16 (it starts with a UTF-16 "
                       "byte-order mark); save it as UTF-8, in Excel as \"CSV UTF-8\"");
    else if (nul)
        nul_error(r, line_of(p, (size_t)(nul - p), 1));
    size_t skip = len >= 3 && memcmp(p, utf8_bom, 3) == 0 ? 3 : 0;
    if (!r->status && len > skip)
        stream(r, p + skip, len - skip);
    free(r->pre);
    r->pre = NULL;
    r->pre_len = r->pre_cap = 0;
}

/* ---- public ---- */

int csv_reader_new(struct csv_reader **out, const struct csv_reader_opts *o,
                   csv_point_cb cb, void *ctx, struct csv_report *rep,
                   struct okrd_err *err)
{
    *out = NULL;
    struct csv_reader *r = calloc(1, sizeof *r);
    if (!r)
        return okrd_err_set(err, OKRD_ENOMEM, "csv: out of memory");
    memset(rep, 0, sizeof *rep);
    const struct cfg_csv_dir *c = o->cfg;
    r->cfg = c;
    r->tz = o->tz;
    r->cb = cb;
    r->ctx = ctx;
    r->rep = rep;
    r->numfmt.decimal = c->decimal == ',' ? ',' : '.';
    r->numfmt.strip = c->strip && *c->strip ? c->strip : NULL;
    r->ts_fmt = c->timestamp_format && strcmp(c->timestamp_format, "auto") != 0
                    ? c->timestamp_format : NULL;
    r->delim = (unsigned char)c->delimiter;
    r->sniffing = true;
    r->pre_line = 1;
    r->line = 1;
    r->at_line_start = true;
    csv_init(&r->parser, 0);
    csv_set_blk_size(&r->parser, 4096);
    *out = r;
    return 0;
}

static int fail(struct csv_reader *r, struct okrd_err *err)
{
    if (r->status > 0) /* the callback's own positive stop value */
        r->status = okrd_err_set(&r->err, OKRD_ECANCELED, "csv: stopped by the point callback");
    if (err)
        *err = r->err;
    return r->status;
}

static int hold(struct csv_reader *r, const char *buf, size_t len)
{
    if (r->pre_len + len > r->pre_cap) {
        size_t cap = r->pre_cap ? r->pre_cap : 4096;
        while (cap < r->pre_len + len)
            cap *= 2;
        char *p = realloc(r->pre, cap);
        if (!p)
            return r->status = okrd_err_set(&r->err, OKRD_ENOMEM, "csv: out of memory");
        r->pre = p;
        r->pre_cap = cap;
    }
    if (len)
        memcpy(r->pre + r->pre_len, buf, len);
    r->pre_len += len;
    return 0;
}

int csv_reader_feed(struct csv_reader *r, const char *buf, size_t len, struct okrd_err *err)
{
    if (r->status)
        return fail(r, err);
    if (!r->sniffing) {
        stream(r, buf, len);
        return r->status ? fail(r, err) : 0;
    }
    /* Sniff the caller's bytes in place while nothing is held, so a buffer
     * that holds the header line and the text probe is never copied. */
    bool held = r->pre_len > 0;
    if (held && hold(r, buf, len) != 0)
        return fail(r, err);
    const char *p = held ? r->pre : buf;
    size_t n = held ? r->pre_len : len;
    if (!r->sniffed)
        r->sniffed = sniff(r, p, n, false);
    if (r->sniffed && n >= CSV_TEXT_PROBE)
        end_sniffing(r, p, n);
    else if (!held && hold(r, buf, len) != 0)
        return fail(r, err);
    return r->status ? fail(r, err) : 0;
}

int csv_reader_finish(struct csv_reader *r, struct okrd_err *err)
{
    if (!r->status && r->sniffing) {
        if (r->pre_len && !r->sniffed)
            sniff(r, r->pre, r->pre_len, true);
        end_sniffing(r, r->pre, r->pre_len);
    }
    if (r->status)
        return fail(r, err);
    /* libcsv would silently close a quoted field left open at EOF, taking
     * everything after the quote as one value: say so instead. */
    r->unterminated = r->parser.pstate == CSV_PSTATE_FIELD_BEGUN && r->parser.quoted;
    csv_fini(&r->parser, on_field, on_row, r);
    if (!r->status)
        csv_rows_finish(r);
    return r->status ? fail(r, err) : 0;
}

void csv_reader_free(struct csv_reader *r)
{
    if (!r)
        return;
    csv_free(&r->parser);
    csv_rows_free(r);
    free(r->pre);
    free(r->row);
    free(r->fields);
    free(r);
}

int csv_read_buffer(const char *buf, size_t len, const struct csv_reader_opts *o,
                    csv_point_cb cb, void *ctx, struct csv_report *rep,
                    struct okrd_err *err)
{
    struct csv_reader *r;
    int rc = csv_reader_new(&r, o, cb, ctx, rep, err);
    if (rc)
        return rc;
    rc = csv_reader_feed(r, buf, len, err);
    if (!rc)
        rc = csv_reader_finish(r, err);
    csv_reader_free(r);
    return rc;
}

int csv_read_fd(int fd, const struct csv_reader_opts *o, csv_point_cb cb, void *ctx,
                struct csv_report *rep, struct okrd_err *err)
{
    char *buf = malloc(CSV_CHUNK);
    if (!buf)
        return okrd_err_set(err, OKRD_ENOMEM, "csv: out of memory");
    struct csv_reader *r;
    int rc = csv_reader_new(&r, o, cb, ctx, rep, err);
    off_t start = o->progress ? lseek(fd, 0, SEEK_CUR) : 0;
    int64_t offset = start > 0 ? (int64_t)start : 0; /* a pipe has no offset: count from 0 */
    while (!rc) {
        ssize_t n = read(fd, buf, CSV_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = okrd_err_set(err, OKRD_EIO, "csv: read: %s", strerror(errno));
            break;
        }
        if (n == 0) {
            rc = csv_reader_finish(r, err);
            break;
        }
        rc = csv_reader_feed(r, buf, (size_t)n, err);
        offset += n;
        if (o->progress)
            o->progress(o->progress_ctx, offset);
    }
    csv_reader_free(r);
    free(buf);
    return rc;
}
