/*
 * test_connectors.c — the connectors module: the csv_dir reader.
 *
 * One table (csv_read_cases.inc) of real-world files (GA4, German Excel,
 * Google Sheets, warehouse exports, okrd's own export...) and bad ones
 * (ragged rows, duplicate columns, binary, UTF-16, invalid UTF-8...), each
 * read in one piece, then again split at
 * every byte and in chunks of 1..16 bytes, which must give the very same
 * points and report. Expected points are "metric,UTC time,value" lines;
 * expected errors are "row|column|value|reason" lines, where a reason written
 * {ts:TEXT} or {num:TEXT} stands for the message common/parse.c gives for
 * TEXT, so these tests pin the reader's row/column bookkeeping, not another
 * module's wording. The files of tests/fixtures/csv/ are read in
 * test_csv_fixtures.c.
 *
 * Also the polled sources' runtime (conn_poll.c) against a store whose
 * commits fail (store_writer.c's OKRD_TEST_FAIL_COMMIT hook): a poll whose
 * transaction did not commit is a failed poll, never reported stored.
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

#include "connectors/conn_poll.h"
#include "connectors/csv_read.h"
#include "common/parse.h"
#define STORE_FX_NO_SETUP
#include "store_fx.h"
#include "testutil.h"

/* connectors/csv_read_int.h's CSV_TEXT_PROBE, which the tests must outrun */
#define CSV_TEXT_PROBE_FOR_TESTS 8000

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

#include "csv_read_cases.inc"

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
        size_t len = c->len ? c->len : strlen(c->input);
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

/* A NUL byte past the text probe is found as the bytes stream: the rows
 * before it were read (and their points handed out: the caller rolls back on
 * OKRD_EINVAL, whatever on_error says), the same at every split. */
static void test_nul_after_probe(void **state)
{
    (void)state;
    struct sbuf in = { 0 };
    sb_add(&in, "metric,date,value\n");
    for (int i = 0; i < 500; i++)
        sb_add(&in, "dau,2026-11-01,1\n");
    sb_add(&in, "dau,2026-11-02,2");
    size_t nul_at = in.len;
    sb_add(&in, "X\ndau,2026-11-03,3\n");
    in.s[nul_at] = '\0';
    assert_true(nul_at > CSV_TEXT_PROBE_FOR_TESTS);
    struct opts_holder h;
    make_opts(&plain, &h);
    static const size_t splits[] = { 0, 1, 8000, 8001, 8500, 8517, 8518, 8530 };
    static const size_t chunks[] = { 1, 7, 4096, 65536 };
    for (size_t k = 0; k < 8 + 4; k++) {
        struct run r;
        if (k < 8)
            run_case(&h, in.s, in.len, splits[k] < in.len ? splits[k] : in.len, 0, &r);
        else
            run_case(&h, in.s, in.len, 0, chunks[k - 8], &r);
        assert_int_equal(r.rc, OKRD_EINVAL);
        assert_string_equal(r.rep.file_error, "line 502: not a text file: NUL byte at line 502");
        assert_int_equal(r.rep.rows_read, 500);
        assert_int_equal(r.rep.points, 500);
        assert_int_equal(r.rep.n_errors, 1);
        assert_int_equal(r.rep.errors[0].row, 502);
        assert_int_equal(r.rep.errors[0].column, CSV_WHOLE_ROW);
        free(r.points.s);
    }
    free(in.s);
}

/* 10,000-character cells: a precise reason that does not dump them, a value
 * cut to the report's 63 bytes, and the other rows still read. */
static void test_long_fields(void **state)
{
    (void)state;
    struct sbuf in = { 0 };
    char *big = malloc(10001);
    sb_add(&in, "metric,date,value\n");
    memset(big, 'm', 10000);
    big[10000] = '\0';
    sb_add(&in, "%s,2026-11-01,1\n", big);
    memset(big, '9', 10000);
    sb_add(&in, "dau,2026-11-01,%s\n", big);
    memset(big, 'x', 10000);
    sb_add(&in, "dau,%s,1\n", big);
    sb_add(&in, "dau,2026-11-02,5\n");
    memset(big, 'e', 10000); /* \xC3\xA9 x 5000 */
    for (int i = 0; i < 10000; i += 2)
        memcpy(big + i, "\xC3\xA9", 2);
    sb_add(&in, "dau,2026-11-03,\"%s\"\n", big);
    struct opts_holder h;
    make_opts(&plain, &h);
    struct run r;
    run_case(&h, in.s, in.len, in.len, 0, &r);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.rep.rows_read, 5);
    assert_int_equal(r.rep.rows_ok, 1);
    assert_string_equal(r.points.s, "dau,2026-11-02T00:00:00Z,5\n");
    assert_int_equal(r.rep.n_errors, 4);
    static const struct { int64_t row; int col; const char *reason; } want[] = {
        { 2, 1, "not a valid metric id: 10000 bytes long, at most 128" },
        { 3, 3, "\"9999999999999999999999999999999999999999\"...: too long for a number" },
        { 4, 2, "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"...: " },
        { 6, 3, "\"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\"...: " },
    };
    for (size_t i = 0; i < 4; i++) {
        const struct csv_row_error *e = &r.rep.errors[i];
        assert_int_equal(e->row, want[i].row);
        assert_int_equal(e->column, want[i].col);
        if (strncmp(e->reason, want[i].reason, strlen(want[i].reason)) != 0)
            fail_msg("row %lld: reason \"%s\", want it to start \"%s\"", (long long)e->row,
                     e->reason, want[i].reason);
        assert_true(strlen(e->reason) < 150);
        assert_true(strlen(e->value) <= 63 && strlen(e->value) >= 62); /* cut at a character */
        size_t n = strlen(e->value);
        for (size_t k = 0; k < n; k += okrd_utf8_len(e->value + k, n - k))
            assert_true(okrd_utf8_len(e->value + k, n - k) > 0);
    }
    free(big);
    free(in.s);
    free(r.points.s);
}

/* ---- conn_poll: a failed COMMIT is a failed poll ---- */

#define FC_MAX_POLLS 8

struct fc {
    uv_loop_t loop;
    int polls;
    uint64_t poll_at_ms[FC_MAX_POLLS]; /* uv_now at each poll's start */
    int health_calls;
    bool ok[FC_MAX_POLLS];
    struct store_source_health h[FC_MAX_POLLS];
    int committed;
    int64_t committed_points;
    char events[512];                  /* "poll_failed,source_failing,..." */
    char msgs[FC_MAX_POLLS][512];
    int closed;
};

static void fc_poll(struct conn *c, void *impl)
{
    struct fc *f = impl;
    if (f->polls < FC_MAX_POLLS)
        f->poll_at_ms[f->polls] = uv_now(&f->loop);
    f->polls++;
    /* Every poll answers the same good point; only the store fails. */
    struct conn_poll_result res = { .ok = true };
    assert_int_equal(http_points_add(&res.pts, "fc_metric", 1795334400, 42), 0);
    conn_poll_finish(c, &res);
}

static void fc_health(void *ctx, const char *id, bool ok, const struct store_source_health *h)
{
    struct fc *f = ctx;
    assert_string_equal(id, "flaky-disk");
    if (f->health_calls < FC_MAX_POLLS) {
        f->ok[f->health_calls] = ok;
        f->h[f->health_calls] = *h;
    }
    f->health_calls++;
}

static void fc_report(void *ctx, enum cfg_log_level lvl, const char *id, const char *ev,
                      const char *msg)
{
    struct fc *f = ctx;
    (void)id;
    if (lvl == CFG_LOG_DEBUG)
        return;
    size_t n = strlen(f->events);
    snprintf(f->events + n, sizeof f->events - n, "%s%s", n ? "," : "", ev);
    /* Indexed by the poll it belongs to. */
    if (f->health_calls > 0 && f->health_calls <= FC_MAX_POLLS)
        snprintf(f->msgs[f->health_calls - 1], sizeof f->msgs[0], "%s", msg);
}

static void fc_committed(void *ctx, const char *id, const char *const *metrics, size_t n,
                         int64_t n_points)
{
    struct fc *f = ctx;
    (void)id;
    assert_int_equal(n, 1);
    assert_string_equal(metrics[0], "fc_metric");
    f->committed++;
    f->committed_points += n_points;
}

static void fc_closed(void *arg) { ((struct fc *)arg)->closed++; }

static void test_poll_commit_fails(void **state)
{
    (void)state;
    static const struct conn_poll_ops ops = { .poll = fc_poll };
    struct fx *sf = fx_new(); /* SQLite, or PostgreSQL: store_fx.h */
    struct fc *f = calloc(1, sizeof *f);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    struct okrd_err err = { 0 };
    struct store_loc loc = fx_loc(sf);
    /* The writer's first two COMMITs fail as on a full disk. */
    setenv("OKRD_TEST_FAIL_COMMIT", "2", 1);
    struct store_writer *w;
    int rc = store_writer_open_loc(&w, &f->loop, &loc, &err);
    unsetenv("OKRD_TEST_FAIL_COMMIT");
    assert_int_equal(rc, 0);
    struct cfg_source src = { .id = "flaky-disk", .type = CFG_SRC_HTTP_JSON };
    struct conn_env env = { .loop = &f->loop, .clock = &okrd_clock_system, .writer = w,
                            .on_committed = fc_committed, .on_health = fc_health,
                            .report = fc_report, .ctx = f };
    struct conn *c;
    const int64_t interval_ms = 100;
    assert_int_equal(conn_poll_start(&c, &src, &env, interval_ms, 2, &ops, f, &err), 0);
    uint64_t deadline = uv_now(&f->loop) + 20000;
    while (f->health_calls < 3 && uv_now(&f->loop) < deadline)
        uv_run(&f->loop, UV_RUN_ONCE);
    conn_poll_close(c, fc_closed, f);
    while (!f->closed)
        uv_run(&f->loop, UV_RUN_ONCE);
    store_writer_close(w, NULL, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);

    assert_true(f->health_calls >= 3);
    /* Polls 1 and 2: their commits failed, so they failed; failing_after
     * (2) reached at the second. */
    for (int i = 0; i < 2; i++) {
        if (f->ok[i])
            fail_msg("poll %d counted ok though its commit failed (events: %s)", i + 1,
                     f->events);
        assert_int_equal(f->h[i].consecutive_failures, i + 1);
        if (!strstr(f->h[i].last_error, "store: commit: database or disk is full"))
            fail_msg("poll %d health error: \"%s\"", i + 1, f->h[i].last_error);
    }
    if (strncmp(f->events, "poll_failed,source_failing,poll_recovered", 41) != 0)
        fail_msg("events: %s", f->events);
    if (strncmp(f->msgs[0], "store: commit: database or disk is full", 39) != 0 ||
        !strstr(f->msgs[0], "(failure 1;"))
        fail_msg("first report: %s", f->msgs[0]);
    /* Poll 3 committed: ok, counted, its point reported once. */
    assert_true(f->ok[2]);
    assert_int_equal(f->h[2].consecutive_failures, 0);
    assert_int_equal(f->committed, f->health_calls - 2);
    /* Retried with the backoff: after 2 failures the delay is 2 x interval
     * (-10% jitter at most); a timer never fires early. */
    assert_true(f->polls >= 3);
    if (f->poll_at_ms[2] - f->poll_at_ms[1] < (uint64_t)(2 * interval_ms * 9 / 10 - 5))
        fail_msg("3rd poll %llu ms after the 2nd, want >= %lld (backoff)",
                 (unsigned long long)(f->poll_at_ms[2] - f->poll_at_ms[1]),
                 (long long)(2 * interval_ms * 9 / 10));

    struct store *st;
    assert_int_equal(fx_open(sf, STORE_READONLY, &st, &err), 0);
    struct store_point p;
    assert_int_equal(store_last_point(st, "fc_metric", INT64_MAX, &p, &err), 0);
    assert_true(p.value == 42);
    struct store_source_health hh;
    assert_int_equal(store_get_source_health(st, "flaky-disk", &hh, &err), 0);
    assert_int_equal(hh.consecutive_failures, 0);
    assert_true(hh.last_success_s > 0);
    /* The failures whose own records never committed still show. */
    if (!strstr(hh.last_error, "database or disk is full"))
        fail_msg("stored last_error: \"%s\"", hh.last_error);
    assert_true(hh.last_error_s > 0 && hh.last_error_s <= hh.last_success_s);
    assert_int_equal(hh.points_total, f->committed_points);
    store_close(st);
    free(f);
    fx_free(sf);
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
        cmocka_unit_test(test_nul_after_probe),
        cmocka_unit_test(test_long_fields),
        cmocka_unit_test(test_poll_commit_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
