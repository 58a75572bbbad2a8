/*
 * fuzz_csv.c — the csv_dir reader (connectors/csv_read.h) on arbitrary bytes,
 * with long and wide layouts, both decimal marks, strip, skip rows and an
 * explicit timestamp format.
 *
 * Properties: no crash or leak; the return is 0 or OKRD_EINVAL (then
 * file_error is set); every point has a valid metric id and a finite value;
 * the report's counts agree (rows_ok <= rows_read, listed <= 100 <= total)
 * and its strings are valid UTF-8; and feeding the same bytes in two pieces
 * (split where the first byte says) or in 7-byte chunks gives the very same
 * points and report.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "connectors/csv_read.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

struct digest {
    uint64_t h;
    int64_t n;
};

static void mix(struct digest *d, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        d->h = (d->h ^ s[i]) * 1099511628211ull;
}

static int on_point(void *ctx, const char *metric, int64_t ts, double value)
{
    struct digest *d = ctx;
    check(okrd_valid_id(metric, strlen(metric)));
    check(isfinite(value));
    mix(d, metric, strlen(metric) + 1);
    mix(d, &ts, sizeof ts);
    mix(d, &value, sizeof value);
    d->n++;
    return 0;
}

static void check_utf8(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = okrd_utf8_len(s + i, n - i);
        check(k > 0);
        i += k;
    }
}

static uint64_t report_digest(const struct csv_report *rep, int rc, const struct digest *pts)
{
    struct digest d = { 1469598103934665603ull, 0 };
    mix(&d, &rc, sizeof rc);
    mix(&d, &rep->rows_read, sizeof rep->rows_read);
    mix(&d, &rep->rows_ok, sizeof rep->rows_ok);
    mix(&d, &rep->rows_skipped, sizeof rep->rows_skipped);
    mix(&d, &rep->n_errors_total, sizeof rep->n_errors_total);
    mix(&d, rep->file_error, strlen(rep->file_error));
    for (size_t i = 0; i < rep->n_errors; i++) {
        const struct csv_row_error *e = &rep->errors[i];
        mix(&d, &e->row, sizeof e->row);
        mix(&d, &e->column, sizeof e->column);
        mix(&d, e->value, strlen(e->value) + 1);
        mix(&d, e->reason, strlen(e->reason) + 1);
    }
    mix(&d, &pts->h, sizeof pts->h);
    return d.h;
}

/* Reads data split at SPLIT (or in chunks of CHUNK when CHUNK > 0). */
static uint64_t run(const struct csv_reader_opts *o, const char *data, size_t size,
                    size_t split, size_t chunk, struct csv_report *rep)
{
    struct digest pts = { 1469598103934665603ull, 0 };
    struct csv_reader *r;
    struct okrd_err err;
    check(csv_reader_new(&r, o, on_point, &pts, rep, &err) == 0);
    int rc = 0;
    if (chunk) {
        for (size_t off = 0; off < size && !rc; off += chunk)
            rc = csv_reader_feed(r, data + off, size - off < chunk ? size - off : chunk, &err);
    } else {
        rc = csv_reader_feed(r, data, split, &err);
        if (!rc)
            rc = csv_reader_feed(r, data + split, size - split, &err);
    }
    if (!rc)
        rc = csv_reader_finish(r, &err);
    csv_reader_free(r);

    check(rc == 0 || rc == OKRD_EINVAL);
    check((rc == OKRD_EINVAL) == (rep->file_error[0] != '\0'));
    check(rep->rows_ok <= rep->rows_read && rep->rows_ok >= 0);
    check(rep->n_errors <= CSV_MAX_LISTED_ERRORS);
    check((int64_t)rep->n_errors <= rep->n_errors_total);
    check(rep->n_errors == CSV_MAX_LISTED_ERRORS || (int64_t)rep->n_errors == rep->n_errors_total);
    check(pts.n == rep->points);
    for (size_t i = 0; i < rep->n_errors; i++) {
        check(rep->errors[i].row >= 1 && rep->errors[i].column >= 0);
        check_utf8(rep->errors[i].value);
        check_utf8(rep->errors[i].reason);
    }
    check_utf8(rep->file_error);
    return report_digest(rep, rc, &pts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *skip[] = { "Grand total", "Totals" };
    static struct cfg_wide_column map[] = {
        { "Active users", "active_users" }, { "b", "metric_b" },
    };
    static const struct cfg_csv_dir cfgs[] = {
        { .layout = CFG_LAYOUT_LONG, .decimal = '.', .strip = "" },
        { .layout = CFG_LAYOUT_WIDE, .decimal = '.', .strip = "" },
        { .layout = CFG_LAYOUT_WIDE, .decimal = ',', .strip = "%\xE2\x82\xAC ", .wide = map,
          .n_wide = 2, .delimiter = ';', .skip_rows = skip, .n_skip_rows = 2 },
        { .layout = CFG_LAYOUT_LONG, .decimal = ',', .strip = "%", .delimiter = '\t',
          .timestamp_format = "%d/%m/%Y %H:%M", .col_metric = "kpi", .col_timestamp = "when",
          .skip_rows = skip, .n_skip_rows = 2 },
    };
    struct csv_report *rep = malloc(sizeof *rep);
    check(rep != NULL);
    const char *s = (const char *)data;
    for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
        struct csv_reader_opts o = { .cfg = &cfgs[i] };
        uint64_t whole = run(&o, s, size, size, 0, rep);
        size_t split = size ? data[0] % (size + 1) : 0;
        check(run(&o, s, size, split, 0, rep) == whole);
        check(run(&o, s, size, 0, 7, rep) == whole);
    }
    free(rep);
    return 0;
}
