/*
 * test_connectors.c — the connectors module: the csv_dir reader.
 *
 * One table of real-world files (GA4, German Excel, Google Sheets, warehouse
 * exports, okrd's own export...), each read in one piece, then again split at
 * every byte and in chunks of 1..16 bytes, which must give the very same
 * points and report. Expected points are "metric,UTC time,value" lines;
 * expected errors are "row|column|value|reason" lines, where a reason written
 * {ts:TEXT} or {num:TEXT} stands for the message common/parse.c gives for
 * TEXT, so these tests pin the reader's row/column bookkeeping, not another
 * module's wording.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "connectors/csv_read.h"
#include "common/parse.h"
#include "testutil.h"

/* ---- a growable string ---- */

struct sbuf {
    char *s;
    size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        assert_non_null(b->s);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static const char *sb_str(struct sbuf *b)
{
    if (!b->s)
        sb_add(b, "%s", "");
    return b->s;
}

/* ---- the table ---- */

struct csv_case {
    const char *name;
    const char *input;
    /* options (zero = default) */
    enum cfg_layout layout;
    char delimiter, decimal;
    const char *strip;
    const char *skip[3];
    const char *ts_format;
    const char *tz;
    const char *col_metric, *col_ts, *col_value;
    const char *wide_map[4][2]; /* header -> metric */
    /* expected */
    int rc;
    const char *points;
    const char *errors;
    int64_t rows_read, rows_ok;
};

static const struct csv_case cases[] = {
    { .name = "GA4 export: # comment block, YYYYMMDD dates, mapped wide columns",
      .input = "# ----------------------------------------\n"
               "# Pages and screens: Page path and screen class\n"
               "# Account: Example\n"
               "# Property: Example - GA4\n"
               "# ----------------------------------------\n"
               "#\n"
               "# Start date: 20261101\n"
               "# End date: 20261103\n"
               "Date,Active users,Views\n"
               "20261101,1234,5678\n"
               "20261102,1301,5902\n"
               "20261103,1299,6010\n"
               "\n"
               "# ----------------------------------------\n",
      .layout = CFG_LAYOUT_WIDE,
      .wide_map = { { "Active users", "active_users" }, { "Views", "views" } },
      .points = "active_users,2026-11-01T00:00:00Z,1234\nviews,2026-11-01T00:00:00Z,5678\n"
                "active_users,2026-11-02T00:00:00Z,1301\nviews,2026-11-02T00:00:00Z,5902\n"
                "active_users,2026-11-03T00:00:00Z,1299\nviews,2026-11-03T00:00:00Z,6010\n",
      .errors = "", .rows_read = 3, .rows_ok = 3 },

    { .name = "Excel German: BOM, sep=; line, CRLF, 1.234,5, DD.MM.YYYY in Berlin",
      .input = "\xEF\xBB\xBFsep=;\r\n"
               "Datum;Umsatz;Nutzer\r\n"
               "01.11.2026;1.234,5;17\r\n"
               "02.11.2026;-12,25;1.018\r\n"
               "03.11.2026;abc;19\r\n",
      .layout = CFG_LAYOUT_WIDE, .decimal = ',', .tz = "Europe/Berlin", .col_ts = "Datum",
      .points = "Umsatz,2026-10-31T23:00:00Z,1234.5\nNutzer,2026-10-31T23:00:00Z,17\n"
                "Umsatz,2026-11-01T23:00:00Z,-12.25\nNutzer,2026-11-01T23:00:00Z,1018\n",
      .errors = "5|2|abc|{num:abc}\n", .rows_read = 3, .rows_ok = 2 },

    { .name = "Google Sheets: quoted \"1,234.50\" with decimal '.'",
      .input = "date,metric,value\n"
               "2026-11-01,revenue,\"1,234.50\"\n"
               "2026-11-02,revenue,\"12,001\"\n",
      .points = "revenue,2026-11-01T00:00:00Z,1234.5\nrevenue,2026-11-02T00:00:00Z,12001\n",
      .errors = "", .rows_read = 2, .rows_ok = 2 },

    { .name = "warehouse export: ISO date-times with Z, offsets, fractions",
      .input = "metric,timestamp,value\n"
               "latency_p95,2026-11-21T10:00:00Z,123.4\n"
               "latency_p95,2026-11-21T12:30:00+02:00,99\n"
               "latency_p95,2026-11-21 10:00:00.250-05:00,7\n"
               "latency_p95,2026-11-21T08:00:00,1e3\n",
      .points = "latency_p95,2026-11-21T10:00:00Z,123.4\nlatency_p95,2026-11-21T10:30:00Z,99\n"
                "latency_p95,2026-11-21T15:00:00Z,7\nlatency_p95,2026-11-21T08:00:00Z,1000\n",
      .errors = "", .rows_read = 4, .rows_ok = 4 },

    { .name = "Unix seconds and milliseconds",
      .input = "time,metric,value\n1795219200,dau,1\n1795219200000,dau,2\n1795222800,dau,3\n",
      .points = "dau,2026-11-21T00:00:00Z,1\ndau,2026-11-21T00:00:00Z,2\ndau,2026-11-21T01:00:00Z,3\n",
      .errors = "", .rows_read = 3, .rows_ok = 3 },

    { .name = "wide layout, mapped subset, empty cells are no points",
      .input = "day,signups,churned,notes\n"
               "2026-11-01,10,,hello\n"
               "2026-11-02,,3,world\n"
               "2026-11-03,,,\n",
      .layout = CFG_LAYOUT_WIDE,
      .wide_map = { { "signups", "signups" }, { "churned", "churn_count" } },
      .points = "signups,2026-11-01T00:00:00Z,10\nchurn_count,2026-11-02T00:00:00Z,3\n",
      .errors = "", .rows_read = 3, .rows_ok = 3 },

    { .name = "wide layout, every other column a metric",
      .input = "date,dau,wau,\n2026-11-01,5,30,\n",
      .layout = CFG_LAYOUT_WIDE,
      .points = "dau,2026-11-01T00:00:00Z,5\nwau,2026-11-01T00:00:00Z,30\n",
      .errors = "", .rows_read = 1, .rows_ok = 1 },

    { .name = "Grand total row skipped, not an error",
      .input = "date,metric,value\n2026-11-01,dau,5\n2026-11-02,dau,6\nGrand total,,11\n",
      .skip = { "Totals", "Grand total" },
      .points = "dau,2026-11-01T00:00:00Z,5\ndau,2026-11-02T00:00:00Z,6\n",
      .errors = "", .rows_read = 2, .rows_ok = 2 },

    { .name = "quoted delimiters, newlines and a '#' line inside quotes keep row numbers",
      .input = "metric,date,value,note\n"
               "dau,2026-11-01,5,\"a, b\"\n"
               "dau,2026-11-02,6,\"line one\n"
               "line two\n"
               "# not a comment\n"
               "\"\n"
               "# a real comment\n"
               "dau,2026-11-03,x,\"say \"\"hi\"\"\"\n"
               "dau,2026-11-04,8,\"\r\n\"\n",
      .points = "dau,2026-11-01T00:00:00Z,5\ndau,2026-11-02T00:00:00Z,6\n"
                "dau,2026-11-04T00:00:00Z,8\n",
      .errors = "8|3|x|{num:x}\n", .rows_read = 4, .rows_ok = 3 },

    { .name = "no final newline",
      .input = "metric,date,value\ndau,2026-11-01,5",
      .points = "dau,2026-11-01T00:00:00Z,5\n", .errors = "", .rows_read = 1, .rows_ok = 1 },

    { .name = "blank lines and trailing blank lines",
      .input = "metric,date,value\r\n\r\ndau,2026-11-01,5\r\n\r\n\r\n   \r\n,,\r\n",
      .points = "dau,2026-11-01T00:00:00Z,5\n", .errors = "", .rows_read = 1, .rows_ok = 1 },

    { .name = "tab delimiter detected from the header",
      .input = "date\tmetric\tvalue\n2026-11-01\tdau\t1,234.5\n2026-11-02\tdau\t\"7\"\n",
      .points = "dau,2026-11-01T00:00:00Z,1234.5\ndau,2026-11-02T00:00:00Z,7\n",
      .errors = "", .rows_read = 2, .rows_ok = 2 },

    { .name = "semicolon detected from the header, comma decimal",
      .input = "date;metric;value\n2026-11-01;dau;1 234,5\n",
      .decimal = ',',
      .points = "dau,2026-11-01T00:00:00Z,1234.5\n", .errors = "", .rows_read = 1, .rows_ok = 1 },

    { .name = "strip % and currency signs",
      .input = "date,metric,value\n"
               "2026-11-01,conversion,12.5%\n"
               "2026-11-01,revenue,\"\xE2\x82\xAC""1,234.00\"\n"
               "2026-11-01,arpu,\xE2\x82\xAC 7\n",
      .strip = "%$\xE2\x82\xAC\xC2\xA3 ",
      .points = "conversion,2026-11-01T00:00:00Z,12.5\nrevenue,2026-11-01T00:00:00Z,1234\n"
                "arpu,2026-11-01T00:00:00Z,7\n",
      .errors = "", .rows_read = 3, .rows_ok = 3 },

    { .name = "header names: exact first, then case-insensitive",
      .input = "Metric,DATE,VALUE,value\ndau,2026-11-01,1,2\n",
      .points = "dau,2026-11-01T00:00:00Z,2\n", .errors = "", .rows_read = 1, .rows_ok = 1 },

    { .name = "configured columns",
      .input = "when,kpi,amount\n2026-11-01,dau,3\n",
      .col_metric = "KPI", .col_ts = "when", .col_value = "amount",
      .points = "dau,2026-11-01T00:00:00Z,3\n", .errors = "", .rows_read = 1, .rows_ok = 1 },

    { .name = "explicit timestamp_format %d/%m/%Y %H:%M in Europe/Berlin",
      .input = "date,metric,value\n21/11/2026 10:30,dau,3\n01/07/2026 10:30,dau,4\n2026-11-21,dau,5\n",
      .ts_format = "%d/%m/%Y %H:%M", .tz = "Europe/Berlin",
      .points = "dau,2026-11-21T09:30:00Z,3\ndau,2026-07-01T08:30:00Z,4\n",
      .errors = "4|1|2026-11-21|{ts:2026-11-21}\n", .rows_read = 3, .rows_ok = 2 },

    { .name = "Europe/Berlin for times without a zone, not for those with one",
      .input = "date,metric,value\n2026-07-01,dau,1\n2026-12-01 12:00:00,dau,2\n"
               "2026-07-01T00:00:00Z,dau,3\n",
      .tz = "Europe/Berlin",
      .points = "dau,2026-06-30T22:00:00Z,1\ndau,2026-12-01T11:00:00Z,2\n"
                "dau,2026-07-01T00:00:00Z,3\n",
      .errors = "", .rows_read = 3, .rows_ok = 3 },

    { .name = "old Mac CR line ends count as lines",
      .input = "metric,date,value\rdau,2026-11-01,5\r#c\rdau,2026-11-02,y\r",
      .points = "dau,2026-11-01T00:00:00Z,5\n", .errors = "4|3|y|{num:y}\n",
      .rows_read = 2, .rows_ok = 1 },

    { .name = "okrd export format reads back exactly",
      .input = "metric,timestamp,value\n"
               "dau,2026-11-21T00:00:00Z,1040\n"
               "ratio,2026-11-21T00:00:00Z,0.1\n"
               "big,2026-11-22T00:00:00Z,1e+21\n"
               "neg,2026-11-22T00:00:00Z,-3.25\n"
               "tiny,2026-11-22T00:00:00Z,5e-324\n"
               "max,2026-11-22T00:00:00Z,1.7976931348623157e+308\n"
               "sum,2026-11-22T00:00:00Z,0.30000000000000004\n"
               "third,2026-11-22T00:00:00Z,0.3333333333333333\n",
      .points = "dau,2026-11-21T00:00:00Z,1040\nratio,2026-11-21T00:00:00Z,0.1\n"
                "big,2026-11-22T00:00:00Z,1e+21\nneg,2026-11-22T00:00:00Z,-3.25\n"
                "tiny,2026-11-22T00:00:00Z,5e-324\n"
                "max,2026-11-22T00:00:00Z,1.7976931348623157e+308\n"
                "sum,2026-11-22T00:00:00Z,0.30000000000000004\n"
                "third,2026-11-22T00:00:00Z,0.3333333333333333\n",
      .errors = "", .rows_read = 8, .rows_ok = 8 },

    { .name = "a configured delimiter beats the sep= line, which is still skipped",
      .input = "sep=,\nmetric;date;value\ndau;2026-11-01;5\n", .delimiter = ';',
      .points = "dau,2026-11-01T00:00:00Z,5\n", .errors = "", .rows_read = 1, .rows_ok = 1 },

    { .name = "quoted \"sep=;\" line after comments; row numbers count it",
      .input = "# exported\n\"sep=;\"\nmetric;date;value\ndau;2026-11-01;x\n",
      .points = "", .errors = "4|3|x|{num:x}\n", .rows_read = 1, .rows_ok = 0 },

    /* ---- row errors ---- */
    { .name = "a bad number",
      .input = "metric,date,value\ndau,2026-11-01,12abc\ndau,2026-11-02,4\n",
      .points = "dau,2026-11-02T00:00:00Z,4\n", .errors = "2|3|12abc|{num:12abc}\n",
      .rows_read = 2, .rows_ok = 1 },

    { .name = "an impossible date",
      .input = "metric,date,value\ndau,2026-02-30,1\n",
      .points = "", .errors = "2|2|2026-02-30|{ts:2026-02-30}\n", .rows_read = 1, .rows_ok = 0 },

    { .name = "NaN and Inf",
      .input = "metric,date,value\ndau,2026-11-01,NaN\ndau,2026-11-02,-Inf\n",
      .points = "", .errors = "2|3|NaN|{num:NaN}\n3|3|-Inf|{num:-Inf}\n",
      .rows_read = 2, .rows_ok = 0 },

    { .name = "empty value, empty timestamp, bad metric id: every error of a row",
      .input = "metric,date,value\ndau,2026-11-01,\n,,5\nDaily Users,2026-11-01,5\n",
      .points = "",
      .errors = "2|3||empty value\n3|1||empty metric id\n3|2||empty timestamp\n"
                "4|1|Daily Users|not a valid metric id ([A-Za-z0-9_.:-]{1,128})\n",
      .rows_read = 3, .rows_ok = 0 },

    { .name = "too few and too many fields; extra empty ones are fine",
      .input = "metric,date,value\ndau,2026-11-01\ndau,2026-11-02,1,2\ndau,2026-11-03,3,,\n",
      .points = "dau,2026-11-03T00:00:00Z,3\n",
      .errors = "2|0|dau,2026-11-01|the row has 2 fields, the header has 3\n"
                "3|0|dau,2026-11-02,1,2|the row has 4 fields, the header has 3\n",
      .rows_read = 3, .rows_ok = 1 },

    { .name = "a quoted field left open at the end of the file",
      .input = "metric,date,value\ndau,2026-11-01,1\ndau,2026-11-02,\"2\n",
      .points = "dau,2026-11-01T00:00:00Z,1\n",
      .errors = "3|3|2\n|a quoted field is not closed before the end of the file\n",
      .rows_read = 2, .rows_ok = 1 },

    /* ---- file errors ---- */
    { .name = "missing value column",
      .input = "metric,date,amount\ndau,2026-11-01,5\n", .rc = OKRD_EINVAL,
      .points = "", .errors = "1|0|metric,date,amount|the header has no value column \"value\"\n" },

    { .name = "missing timestamp column",
      .input = "# x\nmetric;when;value\ndau;2026-11-01;5\n", .rc = OKRD_EINVAL,
      .points = "",
      .errors = "2|0|metric;when;value|the header has no timestamp column "
                "(none of timestamp, date, time, day)\n" },

    { .name = "missing mapped wide column",
      .input = "date,a\n2026-11-01,1\n", .layout = CFG_LAYOUT_WIDE,
      .wide_map = { { "a", "a" }, { "b", "b" } }, .rc = OKRD_EINVAL, .points = "",
      .errors = "1|0|date,a|the header has no column \"b\" (columns.metrics)\n" },

    { .name = "wide header that is no metric id",
      .input = "date,Page Views\n2026-11-01,1\n", .layout = CFG_LAYOUT_WIDE,
      .rc = OKRD_EINVAL, .points = "",
      .errors = "1|0|date,Page Views|column 2's header is not a valid metric id "
                "([A-Za-z0-9_.:-]{1,128}); map it with columns.metrics\n" },

    { .name = "empty file", .input = "", .rc = OKRD_EINVAL, .points = "",
      .errors = "1|0||the file is empty: no header line\n" },

    { .name = "only a BOM, comments and blank lines",
      .input = "\xEF\xBB\xBF# nothing here\r\n\r\n", .rc = OKRD_EINVAL, .points = "",
      .errors = "1|0||the file is empty: no header line\n" },

    { .name = "header only",
      .input = "\n#c\nmetric,date,value\n\n", .rc = OKRD_EINVAL, .points = "",
      .errors = "3|0||no data rows after the header\n" },

    { .name = "header and skipped rows only",
      .input = "date,metric,value\nTotals,,1\n", .skip = { "Totals" }, .rc = OKRD_EINVAL,
      .points = "", .errors = "1|0||no data rows after the header (1 skipped by skip_rows_matching)\n" },
};

/* ---- running a case ---- */

struct run {
    struct sbuf points;
    struct csv_report rep;
    int rc;
};

/* The shortest %g text that reads back to exactly v (our own, so expected
 * values do not depend on common/'s formatter). */
static void shortest(double v, char *buf, size_t size)
{
    if (v == (double)(int64_t)v && v > -1e17 && v < 1e17) {
        snprintf(buf, size, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static int collect(void *ctx, const char *metric, int64_t ts, double value)
{
    struct sbuf *b = ctx;
    char t[32], v[32];
    okrd_format_utc(ts, t, sizeof t);
    shortest(value, v, sizeof v);
    sb_add(b, "%s,%s,%s\n", metric, t, v);
    return 0;
}

struct opts_holder {
    struct cfg_csv_dir cfg;
    struct cfg_wide_column wide[4];
    struct okrd_tz *tz;
    struct csv_reader_opts o;
};

static void make_opts(const struct csv_case *c, struct opts_holder *h)
{
    memset(h, 0, sizeof *h);
    h->cfg.layout = c->layout;
    h->cfg.delimiter = c->delimiter;
    h->cfg.decimal = c->decimal ? c->decimal : '.';
    h->cfg.strip = (char *)(c->strip ? c->strip : "");
    h->cfg.skip_rows = (char **)c->skip;
    while (h->cfg.n_skip_rows < 3 && c->skip[h->cfg.n_skip_rows])
        h->cfg.n_skip_rows++;
    h->cfg.timestamp_format = (char *)c->ts_format;
    h->cfg.col_metric = (char *)c->col_metric;
    h->cfg.col_timestamp = (char *)c->col_ts;
    h->cfg.col_value = (char *)c->col_value;
    for (size_t k = 0; k < 4 && c->wide_map[k][0]; k++) {
        h->wide[k].header = (char *)c->wide_map[k][0];
        h->wide[k].metric = (char *)c->wide_map[k][1];
        h->cfg.n_wide++;
    }
    h->cfg.wide = h->cfg.n_wide ? h->wide : NULL;
    if (c->tz) {
        struct okrd_err err;
        if (okrd_tz_open(&h->tz, c->tz, &err) != 0)
            fail_msg("%s: tz %s: %s", c->name, c->tz, err.msg);
    }
    h->o.cfg = &h->cfg;
    h->o.tz = h->tz;
}

/* Feeds INPUT in pieces: split at SPLIT (0 = none) or in chunks of CHUNK. */
static void run_case(const struct opts_holder *h, const char *in, size_t len,
                     size_t split, size_t chunk, struct run *out)
{
    memset(out, 0, sizeof *out);
    struct csv_reader *r;
    struct okrd_err err;
    assert_int_equal(csv_reader_new(&r, &h->o, collect, &out->points, &out->rep, &err), 0);
    int rc = 0;
    if (chunk) {
        for (size_t off = 0; off < len && !rc; off += chunk)
            rc = csv_reader_feed(r, in + off, len - off < chunk ? len - off : chunk, &err);
    } else {
        rc = csv_reader_feed(r, in, split, &err);
        if (!rc)
            rc = csv_reader_feed(r, in + split, len - split, &err);
    }
    if (!rc)
        rc = csv_reader_finish(r, &err);
    csv_reader_free(r);
    out->rc = rc;
    if (rc == OKRD_EINVAL)
        assert_string_equal(err.msg, out->rep.file_error);
}

static void render_errors(const struct csv_report *rep, struct sbuf *b)
{
    for (size_t i = 0; i < rep->n_errors; i++) {
        const struct csv_row_error *e = &rep->errors[i];
        sb_add(b, "%lld|%d|%s|%s\n", (long long)e->row, e->column, e->value, e->reason);
    }
}

static void render(const struct run *r, struct sbuf *b)
{
    sb_add(b, "rc=%d read=%lld ok=%lld skipped=%lld points=%lld errors=%lld file_error=%s\n",
           r->rc, (long long)r->rep.rows_read, (long long)r->rep.rows_ok,
           (long long)r->rep.rows_skipped, (long long)r->rep.points,
           (long long)r->rep.n_errors_total, r->rep.file_error);
    sb_add(b, "%s", r->points.s ? r->points.s : "");
    render_errors(&r->rep, b);
}

/* Expands {ts:TEXT} and {num:TEXT} in an expected error list. */
static void expand_expected(const char *exp, const struct opts_holder *h, struct sbuf *b)
{
    const char *p = exp;
    while (*p) {
        const char *open = strchr(p, '{');
        bool is_ts = open && strncmp(open, "{ts:", 4) == 0;
        bool is_num = open && strncmp(open, "{num:", 5) == 0;
        if (!is_ts && !is_num) {
            sb_add(b, "%s", p);
            return;
        }
        sb_add(b, "%.*s", (int)(open - p), p);
        const char *text = open + (is_ts ? 4 : 5);
        const char *close = strchr(text, '}');
        assert_non_null(close);
        struct okrd_err e = { 0, "" };
        int64_t ts;
        double v;
        size_t n = (size_t)(close - text);
        struct okrd_numfmt nf = { h->cfg.decimal, h->cfg.strip };
        if (is_ts && h->cfg.timestamp_format)
            assert_int_not_equal(okrd_parse_timestamp_fmt(text, n, h->cfg.timestamp_format,
                                                          h->tz, &ts, &e), 0);
        else if (is_ts)
            assert_int_not_equal(okrd_parse_timestamp(text, n, h->tz, OKRD_TS_AUTO, &ts, &e), 0);
        else
            assert_int_not_equal(okrd_parse_number(text, n, &nf, &v, &e), 0);
        assert_true(e.msg[0] != '\0');
        char reason[160];
        snprintf(reason, sizeof reason, "%.159s", e.msg);
        sb_add(b, "%s", reason);
        p = close + 1;
    }
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const struct csv_case *c = &cases[i];
        struct opts_holder h;
        make_opts(c, &h);
        size_t len = strlen(c->input);
        struct run whole;
        run_case(&h, c->input, len, len, 0, &whole);

        struct sbuf got = { 0 }, want = { 0 };
        render_errors(&whole.rep, &got);
        expand_expected(c->errors, &h, &want);
        if (whole.rc != c->rc || strcmp(sb_str(&whole.points), c->points) != 0 ||
            strcmp(sb_str(&got), sb_str(&want)) != 0 ||
            (c->rc == 0 && (whole.rep.rows_read != c->rows_read ||
                            whole.rep.rows_ok != c->rows_ok))) {
            fail_msg("case \"%s\":\n rc %d (want %d), rows_read %lld (want %lld), "
                     "rows_ok %lld (want %lld)\n points:\n%s want:\n%s errors:\n%s want:\n%s",
                     c->name, whole.rc, c->rc, (long long)whole.rep.rows_read,
                     (long long)c->rows_read, (long long)whole.rep.rows_ok,
                     (long long)c->rows_ok, sb_str(&whole.points), c->points, sb_str(&got),
                     sb_str(&want));
        }
        assert_int_equal(whole.rep.n_errors_total, (int64_t)whole.rep.n_errors);

        /* the same bytes, split anywhere, give the same result */
        struct sbuf ref = { 0 };
        render(&whole, &ref);
        for (size_t k = 0; k <= len + 16; k++) {
            struct run part;
            if (k <= len)
                run_case(&h, c->input, len, k, 0, &part);
            else
                run_case(&h, c->input, len, 0, k - len, &part);
            struct sbuf s = { 0 };
            render(&part, &s);
            if (strcmp(sb_str(&s), sb_str(&ref)) != 0)
                fail_msg("case \"%s\", %s %zu:\n%s\nwant:\n%s", c->name,
                         k <= len ? "split at" : "chunks of", k <= len ? k : k - len,
                         sb_str(&s), sb_str(&ref));
            free(s.s);
            free(part.points.s);
        }
        free(ref.s);
        free(got.s);
        free(want.s);
        free(whole.points.s);
        okrd_tz_close(h.tz);
    }
}

/* ---- beyond the table ---- */

static const struct csv_case plain = { .name = "plain" };

static void test_error_cap(void **state)
{
    (void)state;
    struct sbuf in = { 0 };
    sb_add(&in, "metric,date,value\n");
    for (int i = 0; i < 150; i++)
        sb_add(&in, "dau,2026-11-01,bad%d\ndau,2026-11-02,%d\n", i, i);
    struct opts_holder h;
    make_opts(&plain, &h);
    struct run r;
    run_case(&h, in.s, in.len, in.len, 0, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.rep.n_errors, CSV_MAX_LISTED_ERRORS);
    assert_int_equal(r.rep.n_errors_total, 150);
    assert_int_equal(r.rep.rows_read, 300);
    assert_int_equal(r.rep.rows_ok, 150);
    assert_int_equal(r.rep.points, 150);
    assert_int_equal(r.rep.errors[99].row, 2 + 2 * 99);
    assert_string_equal(r.rep.errors[99].value, "bad99");
    free(in.s);
    free(r.points.s);
}

static void test_limits(void **state)
{
    (void)state;
    struct opts_holder h;
    make_opts(&plain, &h);
    struct csv_report *rep = malloc(sizeof *rep);
    struct okrd_err err;
    /* an unclosed quote swallowing the rest of a big file: stopped at 1 MiB */
    size_t big = 5u << 20;
    char *in = malloc(big + 1);
    const char *head = "metric,date,value\ndau,2026-11-01,1\n\n\ndau,2026-11-02,\"";
    memset(in, 'x', big);
    memcpy(in, head, strlen(head));
    for (size_t i = 1000; i < big; i += 1000)
        in[i] = '\n';
    in[big] = '\0';
    assert_int_equal(csv_read_buffer(in, big, &h.o, NULL, NULL, rep, &err), OKRD_EINVAL);
    assert_string_equal(rep->file_error, "line 5: a field is longer than 1048576 bytes");
    assert_string_equal(err.msg, rep->file_error);
    assert_int_equal(rep->errors[0].row, 5);
    assert_int_equal(rep->errors[0].column, CSV_WHOLE_ROW);
    /* a header line with no end in sight */
    memset(in, 'a', big);
    assert_int_equal(csv_read_buffer(in, big, &h.o, NULL, NULL, rep, &err), OKRD_EINVAL);
    assert_non_null(strstr(rep->file_error, "line 1: a field is longer"));
    /* a record of very many short fields */
    for (size_t i = 0; i < big; i++)
        in[i] = i % 2 ? ',' : '1';
    memcpy(in, head, 35);
    assert_int_equal(csv_read_buffer(in, big, &h.o, NULL, NULL, rep, &err), OKRD_EINVAL);
    assert_string_equal(rep->file_error, "line 3: the record has more than 65536 fields");
    /* a record of long fields */
    memset(in, 'v', big);
    memcpy(in, head, 35);
    for (size_t i = 35 + 500000; i < big; i += 500000)
        in[i] = ',';
    assert_int_equal(csv_read_buffer(in, big, &h.o, NULL, NULL, rep, &err), OKRD_EINVAL);
    assert_string_equal(rep->file_error, "line 3: the record is longer than 4194304 bytes");
    free(in);
    free(rep);
}

static int stop_at_two(void *ctx, const char *metric, int64_t ts, double value)
{
    int *n = ctx;
    (void)metric; (void)ts; (void)value;
    return ++*n == 2 ? -42 : 0;
}

static void test_callback_stops(void **state)
{
    (void)state;
    const char *in = "metric,date,value\na,2026-11-01,1\nb,2026-11-01,2\nc,2026-11-01,3\n";
    struct opts_holder h;
    make_opts(&plain, &h);
    struct csv_report *rep = malloc(sizeof *rep);
    struct okrd_err err;
    int n = 0;
    assert_int_equal(csv_read_buffer(in, strlen(in), &h.o, stop_at_two, &n, rep, &err), -42);
    assert_int_equal(n, 2);
    assert_non_null(strstr(err.msg, "line 3"));
    free(rep);
}

static void test_read_fd_pipe(void **state)
{
    (void)state;
    /* a file bigger than one 64 KiB chunk, written through a pipe in odd pieces */
    struct sbuf in = { 0 }, want2 = { 0 };
    sb_add(&in, "\xEF\xBB\xBF# export\r\nmetric;date;value\r\n");
    for (int i = 0; i < 5000; i++)
        sb_add(&in, "m%d;2026-11-%02d;\"%d,%d\"\r\n", i % 7, 1 + i % 28, i, i % 10);
    for (int i = 0; i < 5000; i++) {
        char v[32];
        shortest(i + (i % 10) / 10.0, v, sizeof v);
        sb_add(&want2, "m%d,2026-11-%02dT00:00:00Z,%s\n", i % 7, 1 + i % 28, v);
    }
    struct csv_case c = { .name = "pipe", .decimal = ',' };
    struct opts_holder h;
    make_opts(&c, &h);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        size_t off = 0, step = 1;
        while (off < in.len) {
            size_t n = in.len - off < step ? in.len - off : step;
            if (write(fds[1], in.s + off, n) != (ssize_t)n)
                _exit(1);
            off += n;
            step = step * 3 % 9973 + 1;
        }
        _exit(0);
    }
    close(fds[1]);
    struct sbuf got = { 0 };
    struct csv_report *rep = malloc(sizeof *rep);
    struct okrd_err err;
    assert_int_equal(csv_read_fd(fds[0], &h.o, collect, &got, rep, &err), 0);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_int_equal(status, 0);
    assert_int_equal(rep->n_errors_total, 0);
    assert_int_equal(rep->rows_read, 5000);
    assert_string_equal(sb_str(&got), want2.s);
    free(rep);
    free(in.s);
    free(want2.s);
    free(got.s);
}

static void test_report_json(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    assert_non_null(dir);
    const char *in = "metric,date,value\ndau,2026-11-01,\xFF\xFE\ndau,2026-11-01\n"
                     "dau,2026-11-02,2\n";
    struct opts_holder h;
    make_opts(&plain, &h);
    struct csv_report *rep = malloc(sizeof *rep);
    struct okrd_err err;
    assert_int_equal(csv_read_buffer(in, strlen(in), &h.o, NULL, NULL, rep, &err), 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/drop.csv.error.json", dir);
    assert_int_equal(csv_report_write_json(rep, "drop\xE9.csv", "ab12", path, &err), 0);

    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "file")), "drop?.csv");
    assert_string_equal(json_string_value(json_object_get(j, "sha256")), "ab12");
    assert_int_equal(json_integer_value(json_object_get(j, "rows_read")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "rows_ok")), 1);
    json_t *errors = json_object_get(j, "errors");
    assert_int_equal(json_array_size(errors), 2);
    json_t *e0 = json_array_get(errors, 0), *e1 = json_array_get(errors, 1);
    assert_int_equal(json_integer_value(json_object_get(e0, "row")), 2);
    assert_int_equal(json_integer_value(json_object_get(e0, "column")), 3);
    assert_string_equal(json_string_value(json_object_get(e0, "value")), "??");
    assert_int_equal(json_integer_value(json_object_get(e1, "row")), 3);
    assert_true(json_is_null(json_object_get(e1, "column")));
    assert_string_equal(json_string_value(json_object_get(e1, "reason")),
                        "the row has 2 fields, the header has 3");
    assert_int_equal(json_object_size(j), 5);
    json_decref(j);

    /* no temporary file is left behind */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s')\" = drop.csv.error.json", dir);
    assert_int_equal(system(cmd), 0);
    free(rep);
    tu_rm_rf(dir);
    free(dir);
}

static void test_sha256(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *p = tu_write_file(dir, "abc.csv", "abc");
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    char hex[65];
    struct okrd_err err;
    assert_int_equal(csv_sha256_fd(fd, hex, &err), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
    close(fd);
    free(p);
    tu_rm_rf(dir);
    free(dir);
}

static void test_fixture_files(void **state)
{
    (void)state;
    /* tests/data/csv/: the same kinds of files as real exports, read from disk */
    const char *data = getenv("OKRD_TEST_DATA");
    if (!data)
        skip();
    static const struct { const char *file; int64_t rows, ok, points; } files[] = {
        { "ga4_export.csv", 7, 7, 14 },
        { "excel_de.csv", 4, 4, 8 },
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/csv/%s", data, files[i].file);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            fail_msg("%s: cannot open", path);
        struct csv_case c = { .name = files[i].file, .layout = CFG_LAYOUT_WIDE };
        if (i == 0) {
            c.wide_map[0][0] = "Active users";
            c.wide_map[0][1] = "active_users";
            c.wide_map[1][0] = "New users";
            c.wide_map[1][1] = "new_users";
        } else {
            c.decimal = ',';
            c.tz = "Europe/Berlin";
            c.col_ts = "Datum";
            c.skip[0] = "Summe";
        }
        struct opts_holder h;
        make_opts(&c, &h);
        struct csv_report *rep = malloc(sizeof *rep);
        struct okrd_err err;
        struct sbuf got = { 0 };
        int rc = csv_read_fd(fd, &h.o, collect, &got, rep, &err);
        close(fd);
        if (rc || rep->rows_read != files[i].rows || rep->rows_ok != files[i].ok ||
            rep->points != files[i].points)
            fail_msg("%s: rc %d read %lld ok %lld points %lld (%s)", path, rc,
                     (long long)rep->rows_read, (long long)rep->rows_ok,
                     (long long)rep->points, rep->n_errors ? rep->errors[0].reason : "");
        free(got.s);
        free(rep);
        okrd_tz_close(h.tz);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_error_cap),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_read_fd_pipe),
        cmocka_unit_test(test_report_json),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_fixture_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
