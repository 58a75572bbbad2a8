/*
 * test_store_history.c — store/store_history.c (DESIGN section 9): daily
 * history rows round-trip with both statuses and every number (NaN as SQL
 * NULL), a day's later row replaces the earlier, ranges and the newest day
 * of a cycle, bad rows refused; definitions stored once per change with
 * increasing versions, the latest of each per cycle, the archived cycles;
 * and the migration of a store written by the release before
 * (tests/fixtures/store-v6.db, made by main's binary) in place.
 *
 * Each test gets its own temporary state_dir and fresh database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_fx.h"
#include "testutil.h"


static struct store_kr_day day(const char *kr, const char *date, const char *status,
                               const char *computed, double progress)
{
    struct store_kr_day r;
    memset(&r, 0, sizeof r);
    snprintf(r.kr_id, sizeof r.kr_id, "%s", kr);
    snprintf(r.date, sizeof r.date, "%s", date);
    snprintf(r.cycle_start, sizeof r.cycle_start, "2026-10-01");
    snprintf(r.status, sizeof r.status, "%s", status);
    snprintf(r.computed_status, sizeof r.computed_status, "%s", computed);
    r.progress = progress;
    r.expected = 0.25;
    r.score = 0.5;
    r.probability = NAN;
    return r;
}

static void put(struct store *s, const struct store_kr_day *r)
{
    struct okrd_err err = { 0 };
    if (store_put_kr_day(s, r, &err) != 0)
        fail_msg("put %s %s: %s", r->kr_id, r->date, err.msg);
}

struct rows {
    struct store_kr_day v[16];
    size_t n;
    size_t stop_after; /* 0 = never */
};

static int collect(void *ctx, const struct store_kr_day *row)
{
    struct rows *r = ctx;
    assert_true(r->n < 16);
    r->v[r->n++] = *row;
    return r->stop_after && r->n == r->stop_after ? 7 : 0;
}

static bool same_num(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

static void test_rows_round_trip_and_replace(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct store_kr_day a = day("dau-up", "2026-10-02", "on_track", "at_risk", 0.1);
    a.probability = 0.34;
    put(f->s, &a);
    struct store_kr_day b = day("dau-up", "2026-10-03", "pending", "pending", NAN);
    b.expected = b.score = NAN;
    put(f->s, &b);
    put(f->s, &a); /* the same row again: still one row */
    struct store_kr_day other = day("signups", "2026-10-02", "no_data", "no_data", NAN);
    put(f->s, &other);

    struct rows r = { 0 };
    assert_int_equal(store_each_kr_day(f->s, "dau-up", NULL, NULL, collect, &r, &err), 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.v[0].kr_id, "dau-up");
    assert_string_equal(r.v[0].date, "2026-10-02");
    assert_string_equal(r.v[0].cycle_start, "2026-10-01");
    assert_string_equal(r.v[0].status, "on_track");
    assert_string_equal(r.v[0].computed_status, "at_risk");
    assert_true(r.v[0].progress == 0.1 && r.v[0].expected == 0.25 && r.v[0].score == 0.5 &&
                r.v[0].probability == 0.34);
    assert_string_equal(r.v[1].date, "2026-10-03");
    assert_true(isnan(r.v[1].progress) && isnan(r.v[1].expected) && isnan(r.v[1].score) &&
                isnan(r.v[1].probability));
    /* NaN is SQL NULL, not a magic number */
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM kr_history WHERE date = '2026-10-03'"
                                      " AND progress IS NULL AND expected IS NULL AND score IS NULL"
                                      " AND probability IS NULL"),
                     1);

    /* A later evaluation of the same day replaces the row, every field. */
    struct store_kr_day a2 = day("dau-up", "2026-10-02", "off_track", "off_track", 0.05);
    a2.score = NAN;
    put(f->s, &a2);
    r = (struct rows){ 0 };
    assert_int_equal(store_each_kr_day(f->s, "dau-up", "2026-10-02", "2026-10-03", collect, &r,
                                       &err),
                     0);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0].status, "off_track");
    assert_string_equal(r.v[0].computed_status, "off_track");
    assert_true(same_num(r.v[0].progress, 0.05) && isnan(r.v[0].score) &&
                isnan(r.v[0].probability));
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM kr_history"), 3);

    /* from inclusive, to exclusive; a non-zero return stops the walk */
    r = (struct rows){ .stop_after = 1 };
    assert_int_equal(store_each_kr_day(f->s, "dau-up", "2026-10-01", NULL, collect, &r, &err), 7);
    assert_int_equal(r.n, 1);
    r = (struct rows){ 0 };
    assert_int_equal(store_each_kr_day(f->s, "dau-up", "2026-10-03", "2026-10-04", collect, &r,
                                       &err),
                     0);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0].date, "2026-10-03");
    r = (struct rows){ 0 };
    assert_int_equal(store_each_kr_day(f->s, "nobody", NULL, NULL, collect, &r, &err), 0);
    assert_int_equal(r.n, 0);
}

static void test_last_day(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    char d[11] = "";
    assert_int_equal(store_last_kr_day(f->s, "dau-up", "2026-10-01", d, &err), OKRD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "dau-up"));
    struct store_kr_day r = day("dau-up", "2026-10-02", "on_track", "on_track", 0.1);
    put(f->s, &r);
    snprintf(r.date, sizeof r.date, "2026-10-09");
    put(f->s, &r);
    snprintf(r.date, sizeof r.date, "2026-10-05");
    put(f->s, &r);
    /* the next cycle's rows and another key result's do not count */
    r = day("dau-up", "2027-01-03", "on_track", "on_track", 0.1);
    snprintf(r.cycle_start, sizeof r.cycle_start, "2027-01-01");
    put(f->s, &r);
    r = day("signups", "2026-10-20", "on_track", "on_track", 0.1);
    put(f->s, &r);
    assert_int_equal(store_last_kr_day(f->s, "dau-up", "2026-10-01", d, &err), 0);
    assert_string_equal(d, "2026-10-09");
    assert_int_equal(store_last_kr_day(f->s, "dau-up", "2027-01-01", d, &err), 0);
    assert_string_equal(d, "2027-01-03");
    assert_int_equal(store_last_kr_day(f->s, "signups", "2027-01-01", d, &err), OKRD_ENOTFOUND);
}

static void test_bad_rows_refused(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct store_kr_day r = day("dau-up", "2026-02-30", "on_track", "on_track", 0.1);
    assert_int_equal(store_put_kr_day(f->s, &r, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "2026-02-30"));
    r = day("dau-up", "2026-10-02", "on_track", "on_track", 0.1);
    snprintf(r.cycle_start, sizeof r.cycle_start, "Q4");
    assert_int_equal(store_put_kr_day(f->s, &r, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "cycle start"));
    r = day("dau-up", "2026-10-02", "", "on_track", 0.1);
    assert_int_equal(store_put_kr_day(f->s, &r, &err), OKRD_EINVAL);
    r = day("dau-up", "2026-10-02", "on_track", "", 0.1);
    assert_int_equal(store_put_kr_day(f->s, &r, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "computed status"));
    r = day("bad id\n", "2026-10-02", "on_track", "on_track", 0.1);
    assert_int_equal(store_put_kr_day(f->s, &r, &err), OKRD_EINVAL);
    assert_null(strchr(err.msg, '\n'));
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM kr_history"), 0);

    /* a read-only store writes nothing */
    struct store *ro = NULL;
    assert_int_equal(fx_open(f, STORE_READONLY, &ro, &err), 0);
    r = day("dau-up", "2026-10-02", "on_track", "on_track", 0.1);
    assert_int_not_equal(store_put_kr_day(ro, &r, &err), 0);
    assert_int_not_equal(store_put_definition(ro, "objective", "growth", "2026-10-01",
                                              "2026-12-31", "{}", 1, NULL, &err),
                         0);
    store_close(ro);
}

struct defs {
    char kind[16][16], id[16][32], start[16][11], end[16][11], json[16][64];
    int64_t at[16];
    size_t n;
};

static int collect_def(void *ctx, const struct store_definition *d)
{
    struct defs *x = ctx;
    assert_true(x->n < 16);
    snprintf(x->kind[x->n], 16, "%s", d->kind);
    snprintf(x->id[x->n], 32, "%s", d->id);
    snprintf(x->start[x->n], 11, "%s", d->cycle_start);
    snprintf(x->end[x->n], 11, "%s", d->cycle_end);
    snprintf(x->json[x->n], 64, "%s", d->json);
    x->at[x->n] = d->recorded_at_s;
    x->n++;
    return 0;
}

struct cycles {
    char start[8][11], end[8][11];
    size_t n;
};

static int collect_cycle(void *ctx, const char *start, const char *end)
{
    struct cycles *c = ctx;
    assert_true(c->n < 8);
    snprintf(c->start[c->n], 11, "%s", start);
    snprintf(c->end[c->n], 11, "%s", end);
    c->n++;
    return 0;
}

static void def(struct store *s, const char *kind, const char *id, const char *start,
                const char *end, const char *json, int64_t at, bool want_changed)
{
    struct okrd_err err = { 0 };
    bool changed = !want_changed;
    if (store_put_definition(s, kind, id, start, end, json, at, &changed, &err) != 0)
        fail_msg("definition %s %s: %s", kind, id, err.msg);
    if (changed != want_changed)
        fail_msg("definition %s %s %s: changed %d, want %d", kind, id, json, changed,
                 want_changed);
}

static void test_definitions_versions(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    def(f->s, "key_result", "dau-up", "2026-10-01", "2026-12-31", "{\"title\":\"DAU\"}", 100, true);
    def(f->s, "objective", "growth", "2026-10-01", "2026-12-31", "{\"title\":\"Grow\"}", 100, true);
    /* the same text again (a restart, a reload that changed nothing): no version */
    def(f->s, "key_result", "dau-up", "2026-10-01", "2026-12-31", "{\"title\":\"DAU\"}", 200, false);
    /* a changed title: version 2 */
    def(f->s, "key_result", "dau-up", "2026-10-01", "2026-12-31", "{\"title\":\"DAU up\"}", 300,
        true);
    /* back to the first text: a change again (version 3), history is kept */
    def(f->s, "key_result", "dau-up", "2026-10-01", "2026-12-31", "{\"title\":\"DAU\"}", 400, true);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM definitions WHERE id = 'dau-up'"), 3);
    assert_int_equal(fx_sql_int(f, "SELECT max(version) FROM definitions WHERE id = 'dau-up'"),
                     3);
    /* the next quarter's: its own key */
    def(f->s, "key_result", "dau-up", "2027-01-01", "2027-03-31", "{\"title\":\"DAU\"}", 500, true);
    def(f->s, "objective", "growth", "2027-01-01", "2027-03-31", "{\"title\":\"Grow\"}", 500, true);
    def(f->s, "objective", "aaa", "2027-01-01", "2027-03-31", "{\"title\":\"A\"}", 500, true);
    /* an end moved with the same text is a new version too */
    def(f->s, "objective", "aaa", "2027-01-01", "2027-02-28", "{\"title\":\"A\"}", 600, true);

    struct defs d = { 0 };
    assert_int_equal(store_each_definition(f->s, "2026-10-01", "2026-12-31", collect_def, &d,
                                           &err),
                     0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.kind[0], "objective"); /* objectives first */
    assert_string_equal(d.id[0], "growth");
    assert_string_equal(d.kind[1], "key_result");
    assert_string_equal(d.json[1], "{\"title\":\"DAU\"}"); /* the latest version */
    assert_int_equal(d.at[1], 400);
    d = (struct defs){ 0 };
    assert_int_equal(store_each_definition(f->s, "2027-01-01", "2027-03-31", collect_def, &d,
                                           &err),
                     0);
    assert_int_equal(d.n, 2); /* "aaa"'s latest ends in February */
    assert_string_equal(d.id[0], "growth");
    assert_string_equal(d.id[1], "dau-up");
    d = (struct defs){ 0 };
    assert_int_equal(store_each_definition(f->s, NULL, NULL, collect_def, &d, &err), 0);
    assert_int_equal(d.n, 5);
    assert_string_equal(d.id[0], "aaa");
    assert_string_equal(d.end[0], "2027-02-28");
    d = (struct defs){ 0 };
    assert_int_equal(store_each_definition(f->s, "2025-01-01", "2025-03-31", collect_def, &d,
                                           &err),
                     0);
    assert_int_equal(d.n, 0);

    struct cycles c = { 0 };
    assert_int_equal(store_each_cycle(f->s, collect_cycle, &c, &err), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.end[0], "2027-03-31"); /* the one ending last first */
    assert_string_equal(c.end[1], "2027-02-28");
    assert_string_equal(c.start[2], "2026-10-01");

    /* bad input: named, nothing stored */
    long long before = fx_sql_int(f, "SELECT count(*) FROM definitions");
    assert_int_equal(store_put_definition(f->s, "kr", "x", "2026-10-01", "2026-12-31", "{}", 1,
                                          NULL, &err),
                     OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "kind"));
    assert_int_equal(store_put_definition(f->s, "objective", "x", "2026-10-01", "2026-09-30", "{}",
                                          1, NULL, &err),
                     OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "before"));
    assert_int_equal(store_put_definition(f->s, "objective", "x", "2026-13-01", "2026-12-31", "{}",
                                          1, NULL, &err),
                     OKRD_EINVAL);
    assert_int_equal(store_put_definition(f->s, "objective", "x", "2026-10-01", "2026-12-31", "",
                                          1, NULL, &err),
                     OKRD_EINVAL);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM definitions"), before);
}

static void test_definition_inside_a_transaction(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    assert_int_equal(store_begin(f->s, &err), 0);
    def(f->s, "objective", "growth", "2026-10-01", "2026-12-31", "{}", 1, true);
    store_rollback(f->s);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM definitions"), 0);
    assert_int_equal(store_begin(f->s, &err), 0);
    def(f->s, "objective", "growth", "2026-10-01", "2026-12-31", "{}", 1, true);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM definitions"), 1);
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    if (!in || !out) {
        if (in)
            fclose(in);
        return -1;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    return fclose(out);
}

/* tests/fixtures/store-v6.db was written by the okrd of the release before
 * (tests/fixtures/store-v6.md): opened by this build, its kr_history rows
 * are kept in place with computed_status = status, no cycle and NULL new
 * numbers, and new rows and definitions can be written beside them. */
static void test_migrates_a_v6_store_in_place(void **state)
{
    fx_sqlite_only(); /* a SQLite file of an older release */
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    store_close(f->s);
    f->s = NULL;
    const char *data = getenv("OKRD_TEST_DATA");
    assert_non_null(data);
    char fixture[4096];
    snprintf(fixture, sizeof fixture, "%s/../fixtures/store-v6.db", data);
    remove(f->path);
    assert_int_equal(copy_file(fixture, f->path), 0);
    assert_int_equal(fx_sql_int(f, "PRAGMA user_version"), 6);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM kr_history"), 4);

    struct store *ro = NULL;
    assert_int_not_equal(fx_open(f, STORE_READONLY, &ro, &err), 0);
    assert_non_null(strstr(err.msg, "schema version 6"));

    assert_int_equal(fx_open(f, 0, &f->s, &err), 0);
    assert_true(store_schema_version() >= 7);
    assert_int_equal(fx_sql_int(f, "PRAGMA user_version"), store_schema_version());
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM kr_history"), 4);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM kr_history WHERE cycle_start IS NULL"
                                      " AND computed_status = status AND expected IS NULL"
                                      " AND score IS NULL AND probability IS NULL"),
                     4);

    struct rows r = { 0 };
    assert_int_equal(store_each_kr_day(f->s, "dau-up", NULL, NULL, collect, &r, &err), 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.v[0].date, "2026-10-03");
    assert_string_equal(r.v[0].status, "pending");
    assert_string_equal(r.v[0].computed_status, "pending");
    assert_string_equal(r.v[0].cycle_start, "");
    assert_true(r.v[0].progress == 0.2025);
    assert_true(isnan(r.v[0].expected) && isnan(r.v[0].score) && isnan(r.v[0].probability));
    r = (struct rows){ 0 };
    assert_int_equal(store_each_kr_day(f->s, "signups", NULL, NULL, collect, &r, &err), 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.v[1].status, "no_data");
    assert_true(isnan(r.v[1].progress));

    /* The old rows name no cycle: the newest day OF A CYCLE is not one of
     * them. A new row is. */
    char d[11];
    assert_int_equal(store_last_kr_day(f->s, "dau-up", "2026-10-01", d, &err), OKRD_ENOTFOUND);
    struct store_kr_day n = day("dau-up", "2026-10-05", "on_track", "on_track", 0.3);
    put(f->s, &n);
    assert_int_equal(store_last_kr_day(f->s, "dau-up", "2026-10-01", d, &err), 0);
    assert_string_equal(d, "2026-10-05");
    def(f->s, "objective", "growth", "2026-10-01", "2026-12-31", "{}", 1, true);
    store_close(f->s);

    assert_int_equal(fx_open(f, 0, &f->s, &err), 0);
    assert_int_equal(fx_open(f, STORE_READONLY, &ro, &err), 0);
    r = (struct rows){ 0 };
    assert_int_equal(store_each_kr_day(ro, "dau-up", NULL, NULL, collect, &r, &err), 0);
    assert_int_equal(r.n, 3);
    store_close(ro);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_rows_round_trip_and_replace),
        T(test_last_day),
        T(test_bad_rows_refused),
        T(test_definitions_versions),
        T(test_definition_inside_a_transaction),
        T(test_migrates_a_v6_store_in_place),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
