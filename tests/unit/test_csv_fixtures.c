/*
 * test_csv_fixtures.c — every file of tests/fixtures/csv/ through the reader.
 *
 * The fixtures are small real-world files (GA4, German Excel, Google
 * Sheets...) and bad ones (binary, UTF-16, duplicate columns...); their
 * sidecars say what each must give (tests/e2e/test_fixtures.py describes
 * them and runs the same files through `okrd ingest` and `okrd export`).
 * Here the reader reads each file as csv_ingest does (csv_read_fd, options
 * through the config loader, so the JSON options mean what they mean to the
 * daemon) and:
 *   STEM.expected     the points after "the last row wins", sorted by metric
 *                     then time, as "metric,UTC time,value" lines formatted
 *                     like `okrd export`: equal, with no row error;
 *   STEM.report.json  the JSON report written by csv_report_write_json: every
 *                     key it holds equal (sha256 aside, which the inbox adds).
 * OKRD_FIXTURES_OUT=DIR writes what each fixture gave to DIR/STEM.got (the
 * points, or the report of a bad_* file) instead of checking, for writing
 * the sidecars of a new fixture: read them before you copy them.
 * The fixtures are found beside OKRD_TEST_DATA: $OKRD_TEST_DATA/../fixtures/csv.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/parse.h"
#include "config/config.h"
#include "connectors/csv_read.h"
#include "testutil.h"

/* a fixture's folder (< 4096) plus a file name (< 256) and a suffix */
#define PATH_CAP (4096 + 512)

struct point {
    char *metric;
    int64_t ts;
    double value;
    size_t seq; /* file order: the last of a metric+timestamp wins */
};

struct points {
    struct point *p;
    size_t n, cap;
};

static int collect(void *ctx, const char *metric, int64_t ts, double value)
{
    struct points *ps = ctx;
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 64;
        ps->p = realloc(ps->p, ps->cap * sizeof *ps->p);
        assert_non_null(ps->p);
    }
    ps->p[ps->n] = (struct point){ strdup(metric), ts, value, ps->n };
    ps->n++;
    return 0;
}

static int by_key_then_seq(const void *a, const void *b)
{
    const struct point *x = a, *y = b;
    int c = strcmp(x->metric, y->metric);
    if (c)
        return c;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* What the store holds after upserting PS in order, as export prints it. */
static char *render_stored(struct points *ps)
{
    if (ps->n)
        qsort(ps->p, ps->n, sizeof *ps->p, by_key_then_seq);
    size_t cap = 64 + ps->n * 200, o = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    out[0] = '\0';
    for (size_t i = 0; i < ps->n; i++) {
        const struct point *p = &ps->p[i];
        if (i + 1 < ps->n && !strcmp(p->metric, p[1].metric) && p->ts == p[1].ts)
            continue; /* a later row of the same metric+timestamp replaces it */
        char t[32], v[32];
        okrd_format_utc(p->ts, t, sizeof t);
        okrd_format_double(p->value, v, sizeof v);
        o += (size_t)snprintf(out + o, cap - o, "%s,%s,%s\n", p->metric, t, v);
    }
    return out;
}

static void points_free(struct points *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free(ps->p[i].metric);
    free(ps->p);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static bool is_sidecar(const char *name)
{
    return has_suffix(name, ".expected") || has_suffix(name, ".options.json") ||
           has_suffix(name, ".report.json");
}

/* A config with one csv_dir source "fx" holding STEM.options.json's
 * "source" options, daemon.timezone its "timezone". */
static struct cfg *load_config(const char *dir, const char *stem)
{
    char path[PATH_CAP];
    snprintf(path, sizeof path, "%s/%s.options.json", dir, stem);
    json_t *opts = NULL;
    if (access(path, F_OK) == 0) {
        json_error_t je;
        opts = json_load_file(path, 0, &je);
        if (!opts)
            fail_msg("%s:%d: %s", path, je.line, je.text);
    }
    json_t *src = json_pack("{s:s, s:s, s:s}", "id", "fx", "type", "csv_dir",
                            "path", "/nonexistent/inbox");
    json_t *o = opts ? json_object_get(opts, "source") : NULL;
    if (o)
        json_object_update(src, o);
    json_t *tz = opts ? json_object_get(opts, "timezone") : NULL;
    json_t *root = json_pack("{s:{s:s, s:s, s:s}, s:[o]}", "daemon", "state_dir",
                             "/nonexistent/state", "listen", "",
                             "timezone", tz ? json_string_value(tz) : "UTC", "sources", src);
    assert_non_null(root);
    char *text = json_dumps(root, 0);
    struct cfg *cfg = NULL;
    struct cfg_diags diags = { 0 };
    if (cfg_load_string(text, strlen(text), path, CFG_NO_SECRETS, &cfg, &diags) != 0)
        fail_msg("%s: the options do not load: %s", path,
                 diags.n ? diags.items[0].text : "(no message)");
    cfg_diags_free(&diags);
    free(text);
    json_decref(root);
    json_decref(opts);
    return cfg;
}

static void write_got(const char *stem, const char *text)
{
    const char *out = getenv("OKRD_FIXTURES_OUT");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.got", out, stem);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Compares the written report with STEM.report.json key by key. */
static void check_report(const char *dir, const char *stem, const char *name,
                         const struct csv_report *rep, const char *tmp)
{
    char want_path[PATH_CAP], got_path[PATH_CAP];
    struct okrd_err err;
    snprintf(want_path, sizeof want_path, "%s/%s.report.json", dir, stem);
    snprintf(got_path, sizeof got_path, "%s/%s.error.json", tmp, stem);
    assert_int_equal(csv_report_write_json(rep, name, NULL, got_path, &err), 0);
    json_error_t je;
    /* jansson refuses invalid UTF-8: loading it proves the report valid */
    json_t *got = json_load_file(got_path, 0, &je);
    if (!got)
        fail_msg("%s: the report is no valid JSON: %s", name, je.text);
    char *text = json_dumps(got, JSON_INDENT(2));
    if (getenv("OKRD_FIXTURES_OUT")) {
        write_got(stem, text);
        free(text);
        json_decref(got);
        return;
    }
    json_t *want = json_load_file(want_path, 0, &je);
    if (!want)
        fail_msg("%s: %s", want_path, je.text);
    const char *key;
    json_t *v;
    json_object_foreach(want, key, v) {
        if (!json_equal(v, json_object_get(got, key)))
            fail_msg("%s: report key \"%s\" differs; the report is\n%s", name, key, text);
    }
    json_object_foreach(got, key, v) {
        if (strcmp(key, "sha256") != 0 && !json_object_get(want, key))
            fail_msg("%s: %s.report.json lacks \"%s\"", name, stem, key);
    }
    free(text);
    json_decref(want);
    json_decref(got);
}

static void check_fixture(const char *dir, const char *name, const char *tmp, int *good,
                          int *bad)
{
    char stem[256], path[PATH_CAP];
    snprintf(stem, sizeof stem, "%.*s", (int)strcspn(name, "."), name);
    struct cfg *cfg = load_config(dir, stem);
    const struct cfg_source *src = cfg_find_source(cfg, "fx");
    struct csv_reader_opts o = { .cfg = &src->u.csv, .tz = cfg->daemon.tz };
    struct csv_report *rep = malloc(sizeof *rep);
    struct points ps = { 0 };
    struct okrd_err err = { 0, "" };
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        fail_msg("%s: cannot open", path);
    int rc = csv_read_fd(fd, &o, collect, &ps, rep, &err);
    close(fd);
    char *got = render_stored(&ps);

    snprintf(path, sizeof path, "%s/%s.expected", dir, stem);
    size_t len;
    char *want = tu_read_file(path, &len);
    if (getenv("OKRD_FIXTURES_OUT") && strncmp(stem, "bad_", 4) != 0) {
        write_got(stem, got);
    } else if (want) {
        ++*good;
        if (rc != 0 || rep->n_errors_total != 0)
            fail_msg("%s: rc %d, %lld errors, the first: row %lld column %d: %s", name, rc,
                     (long long)rep->n_errors_total, (long long)rep->errors[0].row,
                     rep->errors[0].column, rep->errors[0].reason);
        if (strcmp(got, want) != 0)
            fail_msg("%s: the reader gave\n%swant (%s)\n%s", name, got, path, want);
    } else {
        ++*bad;
        /* a rejected file: a file error, or row errors under reject_file */
        if (rc != 0 && rc != OKRD_EINVAL)
            fail_msg("%s: rc %d: %s", name, rc, err.msg);
        if (rep->n_errors_total == 0)
            fail_msg("%s: has a report.json but reads without an error", name);
        check_report(dir, stem, name, rep, tmp);
    }
    free(want);
    free(got);
    points_free(&ps);
    free(rep);
    cfg_free(cfg);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void test_fixtures(void **state)
{
    (void)state;
    const char *data = getenv("OKRD_TEST_DATA");
    if (!data)
        skip();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/../fixtures/csv", data);
    struct dirent **list;
    int n = scandir(dir, &list, NULL, by_name);
    if (n < 0)
        fail_msg("%s: cannot list", dir);
    char *tmp = tu_mkdtemp();
    int good = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        if (name[0] != '.' && !is_sidecar(name))
            check_fixture(dir, name, tmp, &good, &bad);
        free(list[i]);
    }
    free(list);
    tu_rm_rf(tmp);
    free(tmp);
    if (getenv("OKRD_FIXTURES_OUT"))
        return;
    /* a moved folder must not pass as "nothing failed" */
    assert_true(good >= 10);
    assert_true(bad >= 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
