/*
 * csv_read_rows.c — records to points: the header, the long and wide layouts.
 *
 * The first record that is not blank is the header; it fixes which field
 * holds what. Every later record is a data row: skipped (blank, or its first
 * cell is in skip_rows_matching), or checked cell by cell. A row's points go
 * to the callback only when the whole row is good, so a row either counts in
 * rows_ok with all its points or has errors and gives none.
 *
 * A column name the reader needs must be unambiguous: two columns that
 * match it at the same step (both exactly, or, with no exact match, both
 * case-insensitively) reject the file, naming both columns, rather than
 * silently reading one of them ("metric,date,value,value": which value?).
 * Duplicated names of columns the reader ignores are fine. In the wide
 * layout without columns.metrics every column is read, so no two may share
 * a name.
 */
#include "csv_read_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NO_COLUMN ((size_t)-1)

static const char *const default_ts_names[] = { "timestamp", "date", "time", "day" };

static const char *cell(const struct csv_reader *r, size_t i)
{
    return r->row + r->fields[i].off;
}

static size_t cell_len(const struct csv_reader *r, size_t i)
{
    return r->fields[i].len;
}

static void duplicate_error(struct csv_reader *r, size_t first, size_t second, const char *name)
{
    char a[OKRD_QUOTE_MAX], b[OKRD_QUOTE_MAX], want[OKRD_QUOTE_MAX];
    okrd_quote(cell(r, first), cell_len(r, first), a, sizeof a);
    okrd_quote(cell(r, second), cell_len(r, second), b, sizeof b);
    okrd_quote(name, strlen(name), want, sizeof want);
    char value[64];
    csv_utf8_copy(value, sizeof value, cell(r, second), cell_len(r, second));
    if (strcmp(a, b) == 0)
        csv_file_error_at(r, r->header_line, (int)second + 1, value,
                          "duplicate column name: columns %zu and %zu are both %s",
                          first + 1, second + 1, a);
    else
        csv_file_error_at(r, r->header_line, (int)second + 1, value,
                          "duplicate column name: columns %zu (%s) and %zu (%s) both match %s",
                          first + 1, a, second + 1, b, want);
}

/* Header names match exactly, then case-insensitively. Two columns matching
 * at the same step are a file error (NO_COLUMN returned, r->status set). */
static size_t find_column(struct csv_reader *r, const char *name)
{
    size_t n = strlen(name);
    for (int exact = 1; exact >= 0; exact--) {
        size_t found = NO_COLUMN;
        for (size_t i = 0; i < r->n_fields; i++) {
            if (cell_len(r, i) != n || (exact ? memcmp(cell(r, i), name, n)
                                              : strncasecmp(cell(r, i), name, n)) != 0)
                continue;
            if (found != NO_COLUMN) {
                duplicate_error(r, found, i, name);
                return NO_COLUMN;
            }
            found = i;
        }
        if (found != NO_COLUMN)
            return found;
    }
    return NO_COLUMN;
}

/* The record's fields joined by the delimiter, cut to fit buf. */
static void join_fields(const struct csv_reader *r, char *buf, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < r->n_fields && o + 1 < size; i++) {
        if (i)
            buf[o++] = (char)r->delim;
        size_t n = cell_len(r, i);
        if (n > size - 1 - o)
            n = size - 1 - o;
        memcpy(buf + o, cell(r, i), n);
        o += n;
    }
    buf[o < size ? o : size - 1] = '\0';
}

static void header_error(struct csv_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void header_error(struct csv_reader *r, const char *fmt, ...)
{
    char reason[200], cols[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    join_fields(r, cols, sizeof cols);
    csv_file_error(r, r->header_line, cols, "%s", reason);
}

/* cfg->col_timestamp, else the first of default_ts_names the header has. */
static bool find_ts_column(struct csv_reader *r)
{
    if (r->cfg->col_timestamp) {
        r->col_ts = find_column(r, r->cfg->col_timestamp);
        if (r->col_ts == NO_COLUMN && !r->status)
            header_error(r, "the header has no timestamp column \"%s\"",
                         r->cfg->col_timestamp);
        return r->col_ts != NO_COLUMN;
    }
    for (size_t k = 0; k < sizeof default_ts_names / sizeof *default_ts_names; k++) {
        r->col_ts = find_column(r, default_ts_names[k]);
        if (r->col_ts != NO_COLUMN)
            return true;
        if (r->status)
            return false;
    }
    header_error(r, "the header has no timestamp column (none of timestamp, date, time, day)");
    return false;
}

static bool add_wide(struct csv_reader *r, size_t col, const char *metric)
{
    char *m = strdup(metric);
    if (!m) {
        r->status = okrd_err_set(&r->err, OKRD_ENOMEM, "csv: out of memory");
        return false;
    }
    r->wide[r->n_wide++] = (struct csv_wide_col){ col, m };
    return true;
}

static int by_metric_then_column(const void *a, const void *b)
{
    const struct csv_wide_col *x = a, *y = b;
    int c = strcmp(x->metric, y->metric);
    return c ? c : (x->col > y->col) - (x->col < y->col);
}

/* Two metric columns with the same name (every column read, no map): sort
 * a copy by name, so a 16,384-column header costs n log n, not n^2, and
 * name the pair whose second column comes first in the file. */
static void check_wide_duplicates(struct csv_reader *r)
{
    struct csv_wide_col *s = malloc(r->n_wide * sizeof *s);
    if (!s) {
        r->status = okrd_err_set(&r->err, OKRD_ENOMEM, "csv: out of memory");
        return;
    }
    memcpy(s, r->wide, r->n_wide * sizeof *s);
    qsort(s, r->n_wide, sizeof *s, by_metric_then_column);
    size_t first = NO_COLUMN, second = NO_COLUMN;
    for (size_t k = 1; k < r->n_wide; k++) {
        bool same = strcmp(s[k - 1].metric, s[k].metric) == 0;
        bool group_start = k == 1 || strcmp(s[k - 2].metric, s[k - 1].metric) != 0;
        if (same && group_start && (second == NO_COLUMN || s[k].col < second)) {
            first = s[k - 1].col;
            second = s[k].col;
        }
    }
    free(s);
    if (second != NO_COLUMN)
        duplicate_error(r, first, second, cell(r, first));
}

static void setup_wide(struct csv_reader *r)
{
    const struct cfg_csv_dir *c = r->cfg;
    size_t max = c->n_wide ? c->n_wide : r->n_fields;
    r->wide = calloc(max, sizeof *r->wide);
    r->wide_vals = calloc(max, sizeof *r->wide_vals);
    r->wide_has = calloc(max, sizeof *r->wide_has);
    if (!r->wide || !r->wide_vals || !r->wide_has) {
        r->status = okrd_err_set(&r->err, OKRD_ENOMEM, "csv: out of memory");
        return;
    }
    if (c->n_wide) { /* columns.metrics: only the mapped columns, all required */
        for (size_t k = 0; k < c->n_wide; k++) {
            size_t col = find_column(r, c->wide[k].header);
            if (r->status)
                return;
            if (col == NO_COLUMN) {
                header_error(r, "the header has no column \"%s\" (columns.metrics)",
                             c->wide[k].header);
                return;
            }
            if (!add_wide(r, col, c->wide[k].metric))
                return;
        }
        return;
    }
    for (size_t col = 0; col < r->n_fields; col++) {
        if (col == r->col_ts || cell_len(r, col) == 0)
            continue; /* an unnamed column (a trailing delimiter) holds no metric */
        if (!okrd_valid_id(cell(r, col), cell_len(r, col))) {
            header_error(r, "column %zu's header is not a valid metric id "
                         "([A-Za-z0-9_.:-]{1,128}); map it with columns.metrics", col + 1);
            return;
        }
        if (!add_wide(r, col, cell(r, col)))
            return;
    }
    if (r->n_wide == 0)
        header_error(r, "no metric columns besides the timestamp");
    else
        check_wide_duplicates(r);
}

static void setup_header(struct csv_reader *r)
{
    const struct cfg_csv_dir *c = r->cfg;
    r->have_header = true;
    r->header_line = r->record_line;
    r->n_header = r->n_fields;
    if (r->unterminated) {
        header_error(r, "a quoted field in the header is not closed before the end of the file");
        return;
    }
    if (!find_ts_column(r))
        return;
    if (c->layout == CFG_LAYOUT_WIDE) {
        setup_wide(r);
        return;
    }
    const char *metric = c->col_metric ? c->col_metric : "metric";
    const char *value = c->col_value ? c->col_value : "value";
    r->col_metric = find_column(r, metric);
    if (r->status)
        return;
    if (r->col_metric == NO_COLUMN) {
        header_error(r, "the header has no metric column \"%s\"", metric);
        return;
    }
    r->col_value = find_column(r, value);
    if (r->col_value == NO_COLUMN && !r->status)
        header_error(r, "the header has no value column \"%s\"", value);
}

/* ---- data rows ---- */

static void cell_error(struct csv_reader *r, size_t col, const char *reason)
{
    csv_report_add(r->rep, r->record_line, (int)col + 1, cell(r, col), cell_len(r, col), reason);
}

static void row_error(struct csv_reader *r, const char *reason)
{
    char all[128];
    join_fields(r, all, sizeof all);
    csv_report_add(r->rep, r->record_line, CSV_WHOLE_ROW, all, strlen(all), reason);
}

/* The row has as many fields as the header (extra empty ones are allowed:
 * some tools end every data line with a delimiter). */
static bool check_width(struct csv_reader *r)
{
    bool ok = r->n_fields >= r->n_header;
    for (size_t i = r->n_header; ok && i < r->n_fields; i++)
        ok = cell_len(r, i) == 0;
    if (!ok) {
        char reason[96];
        snprintf(reason, sizeof reason, "the row has %zu fields, the header has %zu",
                 r->n_fields, r->n_header);
        row_error(r, reason);
    }
    return ok;
}

static bool parse_ts(struct csv_reader *r, int64_t *ts)
{
    size_t col = r->col_ts;
    const char *s = cell(r, col);
    size_t n = cell_len(r, col);
    if (n == 0) {
        cell_error(r, col, "empty timestamp");
        return false;
    }
    struct okrd_err e = { 0, "" };
    int rc = r->ts_fmt ? okrd_parse_timestamp_fmt(s, n, r->ts_fmt, r->tz, ts, &e)
                       : okrd_parse_timestamp(s, n, r->tz, OKRD_TS_AUTO, ts, &e);
    if (rc)
        cell_error(r, col, e.msg);
    return rc == 0;
}

static bool parse_value(struct csv_reader *r, size_t col, double *v)
{
    struct okrd_err e = { 0, "" };
    if (cell_len(r, col) == 0) {
        cell_error(r, col, "empty value");
        return false;
    }
    int rc = okrd_parse_number(cell(r, col), cell_len(r, col), &r->numfmt, v, &e);
    if (rc)
        cell_error(r, col, e.msg);
    return rc == 0;
}

static bool deliver(struct csv_reader *r, const char *metric, int64_t ts, double v)
{
    int rc = r->cb ? r->cb(r->ctx, metric, ts, v) : 0;
    if (rc) {
        r->status = rc;
        okrd_err_set(&r->err, rc < 0 ? rc : OKRD_ECANCELED,
                     "csv: the point callback stopped the read at line %lld",
                     (long long)r->record_line);
        return false;
    }
    r->rep->points++;
    return true;
}

/* Why S[0..N) is no metric id ([A-Za-z0-9_.:-]{1,128}), in words a person
 * can act on: how long it is, or which character is wrong and where. Ids are
 * ASCII, so the bytes before the first bad one are characters too. */
static void id_problem(const char *s, size_t n, char *buf, size_t size)
{
    if (n > 128) {
        snprintf(buf, size, "not a valid metric id: %zu bytes long, at most 128", n);
        return;
    }
    size_t i = 0;
    while (i < n && okrd_valid_id(s + i, 1))
        i++;
    if (i == n) { /* every character allowed: cannot happen for 1..128 of them */
        snprintf(buf, size, "not a valid metric id");
        return;
    }
    size_t k = okrd_utf8_len(s + i, n - i);
    if (k == 0 && (unsigned char)s[i] >= 0x80) {
        snprintf(buf, size, "not a valid metric id: invalid UTF-8 (byte 0x%02X at position %zu)",
                 (unsigned char)s[i], i + 1);
        return;
    }
    char q[16]; /* one character, quoted and perhaps escaped: at most 8 bytes */
    okrd_quote(s + i, k ? k : 1, q, sizeof q);
    snprintf(buf, size, "not a valid metric id: %s at position %zu "
             "(allowed: A-Z a-z 0-9 _ . : -)", q, i + 1);
}

static void long_row(struct csv_reader *r)
{
    bool ok = true;
    const char *metric = cell(r, r->col_metric);
    size_t mn = cell_len(r, r->col_metric);
    if (mn == 0) {
        cell_error(r, r->col_metric, "empty metric id");
        ok = false;
    } else if (!okrd_valid_id(metric, mn)) {
        char why[160];
        id_problem(metric, mn, why, sizeof why);
        cell_error(r, r->col_metric, why);
        ok = false;
    }
    int64_t ts;
    ok &= parse_ts(r, &ts);
    double v;
    ok &= parse_value(r, r->col_value, &v);
    if (!ok)
        return;
    r->rep->rows_ok++;
    deliver(r, metric, ts, v);
}

static void wide_row(struct csv_reader *r)
{
    int64_t ts;
    bool ok = parse_ts(r, &ts);
    for (size_t k = 0; k < r->n_wide; k++) {
        r->wide_has[k] = cell_len(r, r->wide[k].col) > 0; /* empty: no point, not 0 */
        if (r->wide_has[k] && !parse_value(r, r->wide[k].col, &r->wide_vals[k]))
            ok = false;
    }
    if (!ok)
        return;
    r->rep->rows_ok++;
    for (size_t k = 0; k < r->n_wide; k++)
        if (r->wide_has[k] && !deliver(r, r->wide[k].metric, ts, r->wide_vals[k]))
            return;
}

static bool is_skipped(const struct csv_reader *r)
{
    size_t n = cell_len(r, 0);
    for (size_t k = 0; k < r->cfg->n_skip_rows; k++) {
        const char *s = r->cfg->skip_rows[k];
        if (strlen(s) == n && memcmp(s, cell(r, 0), n) == 0)
            return true;
    }
    return false;
}

void csv_rows_record(struct csv_reader *r)
{
    bool blank = true;
    for (size_t i = 0; i < r->n_fields && blank; i++)
        blank = cell_len(r, i) == 0;
    if (blank)
        return; /* a line of delimiters (",,,") is as blank as an empty one */
    if (!r->have_header) {
        setup_header(r);
        return;
    }
    if (is_skipped(r)) {
        r->rep->rows_skipped++;
        return;
    }
    r->rep->rows_read++;
    if (r->unterminated) {
        csv_report_add(r->rep, r->record_line, (int)r->n_fields,
                       cell(r, r->n_fields - 1), cell_len(r, r->n_fields - 1),
                       "a quoted field is not closed before the end of the file");
        return;
    }
    if (!check_width(r))
        return;
    if (r->cfg->layout == CFG_LAYOUT_WIDE)
        wide_row(r);
    else
        long_row(r);
}

void csv_rows_finish(struct csv_reader *r)
{
    if (!r->have_header) {
        csv_file_error(r, 1, "", "the file is empty: no header line");
        return;
    }
    if (r->rep->rows_read > 0)
        return;
    if (r->rep->rows_skipped)
        csv_file_error(r, r->header_line, "",
                       "no data rows after the header (%lld skipped by skip_rows_matching)",
                       (long long)r->rep->rows_skipped);
    else
        csv_file_error(r, r->header_line, "", "no data rows after the header");
}

void csv_rows_free(struct csv_reader *r)
{
    for (size_t k = 0; k < r->n_wide; k++)
        free(r->wide[k].metric);
    free(r->wide);
    free(r->wide_vals);
    free(r->wide_has);
}
