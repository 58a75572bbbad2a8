/*
 * test_okr_retro.c — the retrospective of DESIGN section 9 (okr_retro_build)
 * from hand-made histories: days_in_status, first_off_track, recovered,
 * knowable_from and overridden_days by table (a day's statuses written as
 * one letter each), then each lint at its edge (2 and 5 key results, a mean
 * grade of exactly 0.8 and 0.4, a gap of exactly two checkins.every, 7 days
 * of no_data), and the whole key-result object once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "common/parse.h"
#include "okr/okr_retro.h"

#define DAY 86400LL
#define S 1790812800LL            /* 2026-10-01T00:00:00Z */
#define E 1798761600LL            /* 2027-01-01T00:00:00Z */
#define MAXD 100

static const struct cfg_cycle cycle = { S, E, "2026-10-01", "2026-12-31" };

/* 'p' pending, 'o' on_track, 'r' at_risk, 'x' off_track, 'n' no_data,
 * 'a' achieved, 'm' missed. */
static enum okr_status letter(char c)
{
    switch (c) {
    case 'p': return OKR_PENDING;
    case 'o': return OKR_ON_TRACK;
    case 'r': return OKR_AT_RISK;
    case 'x': return OKR_OFF_TRACK;
    case 'n': return OKR_NO_DATA;
    case 'a': return OKR_ACHIEVED;
    default: return OKR_MISSED;
    }
}

/* A key result under construction: its rows, check-ins and evaluation. */
struct fixture {
    char dates[MAXD][11];
    struct okr_retro_day days[MAXD];
    struct okrd_checkin checkins[16];
    struct okr_result result;
    struct okr_retro_kr kr;
};

static void make_kr(struct fixture *f, const char *id, const char *objective,
                    const char *statuses, const char *computed, const double *probs,
                    enum okr_status final_status, double score)
{
    memset(f, 0, sizeof *f);
    size_t n = strlen(statuses);
    for (size_t i = 0; i < n; i++) {
        int64_t y; int m, d;
        okrd_civil_from_days(S / DAY + (int64_t)i, &y, &m, &d);
        snprintf(f->dates[i], sizeof f->dates[i], "%04lld-%02d-%02d", (long long)y, m, d);
        f->days[i].date = f->dates[i];
        f->days[i].status = letter(statuses[i]);
        f->days[i].computed = letter(computed ? computed[i] : statuses[i]);
        f->days[i].probability = probs ? probs[i] : NAN;
    }
    f->result.status = final_status;
    f->result.final = true;
    f->result.value = 1100.5;
    f->result.baseline = 1000;
    f->result.target = 1200;
    f->result.score = score;
    f->result.projected_score = score;
    f->kr = (struct okr_retro_kr){
        .id = id, .title = "Daily active users", .owner = "alice", .objective = objective,
        .direction = CFG_DIR_INCREASE, .weight = 1, .checkins_every_s = 7 * DAY,
        .result = &f->result, .status = final_status, .days = f->days, .n_days = n,
        .checkins = f->checkins, .n_checkins = 0,
    };
}

static struct okrd_checkin checkin(int64_t seq, int64_t at_s)
{
    struct okrd_checkin c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "chk_%02lld", (long long)seq);
    snprintf(c.key_result, sizeof c.key_result, "dau-up");
    snprintf(c.cycle_start, sizeof c.cycle_start, "2026-10-01");
    snprintf(c.author, sizeof c.author, "alice");
    c.seq = seq;
    c.at_s = at_s;
    c.confidence = OKRD_CHECKIN_NO_CONFIDENCE;
    c.value = NAN;
    c.grade = NAN;
    return c;
}

static const struct okr_retro_objective obj1 = { "growth", "Grow", NULL, 1 };

/* The document for the given key results (all of objective "growth" unless
 * they name another of OBJS). */
static json_t *build(const struct okr_retro_objective *objs, size_t n_objs,
                     const struct okr_retro_kr *krs, size_t n_krs, bool final)
{
    struct okr_retro_input in = { &cycle, final, NULL, objs, n_objs, krs, n_krs };
    json_t *doc = okr_retro_build(&in);
    assert_non_null(doc);
    return doc;
}

static json_t *first_kr(json_t *doc)
{
    return json_array_get(json_object_get(json_array_get(json_object_get(doc, "objectives"), 0),
                                          "key_results"), 0);
}

/* ---- per key result, by table ---- */

struct row {
    const char *name;
    const char *status, *computed;  /* computed NULL = same as status */
    double probs[12];               /* one per day; NAN = null */
    char final;                     /* the final status letter */
    const char *days_in_status;     /* JSON, compared as a whole */
    const char *first_off_track;    /* NULL = null */
    int recovered;                  /* -1 null, 0 false, 1 true */
    const char *knowable_from;      /* NULL = null */
    int overridden;
};

#define N NAN
static const struct row rows[] = {
    { "never off track", "poooo", NULL, { N, .6, .7, .8, .9 }, 'a',
      "{\"pending\":1,\"on_track\":4}", NULL, -1, NULL, 0 },
    { "off track, on track again later", "pxro", NULL, { N, .4, .5, .6 }, 'a',
      "{\"pending\":1,\"at_risk\":1,\"off_track\":1,\"on_track\":1}", "2026-10-02", 1, NULL, 0 },
    { "off track, only at risk afterwards", "poxrr", NULL, { N, .8, .3, .6, .2 }, 'm',
      "{\"pending\":1,\"on_track\":1,\"off_track\":1,\"at_risk\":2}", "2026-10-03", 0,
      "2026-10-05", 0 },
    { "achieved after being off track", "oxxa", NULL, { .6, .4, .3, N }, 'a',
      "{\"achieved\":1,\"on_track\":1,\"off_track\":2}", "2026-10-02", 1, NULL, 0 },
    { "off track on the last day only", "pooox", NULL, { N, .6, .6, .6, .4 }, 'm',
      "{\"pending\":1,\"on_track\":3,\"off_track\":1}", "2026-10-05", 0, "2026-10-05", 0 },
    /* "the first day from which every non-null daily probability up to the
     * end was below 0.5": a day without a probability can be that day */
    { "knowable: a null day after the last likely one", "porxx", NULL, { N, .7, N, .3, .2 }, 'm',
      "{\"pending\":1,\"on_track\":1,\"at_risk\":1,\"off_track\":2}", "2026-10-04", 0,
      "2026-10-03", 0 },
    { "knowable: below 0.5 from the first forecast", "prxx", NULL, { N, .4, .3, .1 }, 'm',
      "{\"pending\":1,\"at_risk\":1,\"off_track\":2}", "2026-10-03", 0, "2026-10-01", 0 },
    { "knowable: null days at the end", "orxnn", NULL, { .6, .4, .3, N, N }, 'm',
      "{\"on_track\":1,\"at_risk\":1,\"off_track\":1,\"no_data\":2}", "2026-10-03", 0,
      "2026-10-02", 0 },
    { "knowable: likely on the last non-null day", "rrnn", NULL, { .3, .6, N, N }, 'm',
      "{\"at_risk\":2,\"no_data\":2}", NULL, -1, NULL, 0 },
    { "knowable: 0.5 on the last day is not below", "rrr", NULL, { .3, .2, .5 }, 'm',
      "{\"at_risk\":3}", NULL, -1, NULL, 0 },
    { "knowable: no probability at all", "nnn", NULL, { N, N, N }, 'm', "{\"no_data\":3}",
      NULL, -1, NULL, 0 },
    { "knowable: only for a miss", "rrr", NULL, { .3, .2, .1 }, 'a', "{\"at_risk\":3}", NULL, -1,
      NULL, 0 },
    { "overrides: effective days, computed differs", "oorx", "xxrx", { .4, .4, .4, .4 }, 'm',
      "{\"on_track\":2,\"at_risk\":1,\"off_track\":1}", "2026-10-04", 0, "2026-10-01", 2 },
    { "overrides: an override hides off track", "oor", "xxr", { N, N, N }, 'm',
      "{\"on_track\":2,\"at_risk\":1}", NULL, -1, NULL, 2 },
    { "no history yet", "", NULL, { 0 }, 'p', "{}", NULL, -1, NULL, 0 },
};

static void test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        struct fixture f;
        make_kr(&f, "dau-up", "growth", r->status, r->computed, r->probs, letter(r->final), 0.5);
        json_t *doc = build(&obj1, 1, &f.kr, 1, true);
        json_t *k = first_kr(doc);
        json_t *want = json_loads(r->days_in_status, 0, NULL);
        if (!json_equal(json_object_get(k, "days_in_status"), want)) {
            char *got = json_dumps(json_object_get(k, "days_in_status"), JSON_SORT_KEYS);
            fail_msg("%s: days_in_status %s, want %s", r->name, got, r->days_in_status);
        }
        json_decref(want);
        json_t *fo = json_object_get(k, "first_off_track");
        if (r->first_off_track ? !json_is_string(fo) || strcmp(json_string_value(fo), r->first_off_track)
                               : !json_is_null(fo))
            fail_msg("%s: first_off_track %s, want %s", r->name,
                     json_is_string(fo) ? json_string_value(fo) : "null",
                     r->first_off_track ? r->first_off_track : "null");
        json_t *rec = json_object_get(k, "recovered");
        int got_rec = json_is_null(rec) ? -1 : json_is_true(rec) ? 1 : json_is_false(rec) ? 0 : 9;
        if (got_rec != r->recovered)
            fail_msg("%s: recovered %d, want %d", r->name, got_rec, r->recovered);
        json_t *kf = json_object_get(k, "knowable_from");
        if (r->knowable_from ? !json_is_string(kf) || strcmp(json_string_value(kf), r->knowable_from)
                             : !json_is_null(kf))
            fail_msg("%s: knowable_from %s, want %s", r->name,
                     json_is_string(kf) ? json_string_value(kf) : "null",
                     r->knowable_from ? r->knowable_from : "null");
        if (json_integer_value(json_object_get(k, "overridden_days")) != r->overridden)
            fail_msg("%s: overridden_days %lld, want %d", r->name,
                     (long long)json_integer_value(json_object_get(k, "overridden_days")),
                     r->overridden);
        json_decref(doc);
    }
}

/* ---- the whole key-result object ---- */

static void test_key_result_object(void **state)
{
    (void)state;
    struct fixture f;
    make_kr(&f, "dau-up", "growth", "pxo", NULL, NULL, OKR_MISSED, 0.434999);
    f.checkins[0] = checkin(1, S + 2 * DAY + 3600);
    f.checkins[0].confidence = 6;
    f.checkins[0].comment = "Two deals slipped";
    f.checkins[1] = checkin(2, S + 9 * DAY);
    f.checkins[1].confidence = 4;
    f.checkins[2] = checkin(3, E + DAY);       /* graded after the end */
    f.checkins[2].grade = 0.6;
    snprintf(f.checkins[2].author, sizeof f.checkins[2].author, "carol");
    f.checkins[3] = checkin(4, E + 2 * DAY);   /* a later grade wins */
    f.checkins[3].grade = 0.55;
    snprintf(f.checkins[3].author, sizeof f.checkins[3].author, "dave");
    f.kr.n_checkins = 4;
    json_t *doc = build(&obj1, 1, &f.kr, 1, true);
    json_t *want = json_loads(
        "{\"id\":\"dau-up\",\"title\":\"Daily active users\",\"owner\":\"alice\","
        "\"direction\":\"increase\",\"baseline\":1000,\"target\":1200,\"value\":1100.5,"
        "\"status\":\"missed\",\"grade\":0.43,\"given_grade\":0.55,\"given_by\":\"dave\","
        "\"days_in_status\":{\"pending\":1,\"off_track\":1,\"on_track\":1},"
        "\"first_off_track\":\"2026-10-02\",\"recovered\":true,\"knowable_from\":null,"
        "\"check_ins\":4,\"confidence_trail\":[{\"date\":\"2026-10-03\",\"confidence\":6},"
        "{\"date\":\"2026-10-10\",\"confidence\":4}],\"last_comment\":\"Two deals slipped\","
        "\"overridden_days\":0}", 0, NULL);
    assert_non_null(want);
    json_t *k = first_kr(doc);
    if (!json_equal(k, want)) {
        char *got = json_dumps(k, JSON_SORT_KEYS);
        fail_msg("key result object: %s", got);
    }
    json_t *o = json_array_get(json_object_get(doc, "objectives"), 0);
    assert_string_equal(json_string_value(json_object_get(o, "id")), "growth");
    assert_true(json_is_null(json_object_get(o, "parent")));
    assert_true(json_is_true(json_object_get(doc, "final")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "cycle"), "end")),
                        "2026-12-31");
    json_decref(want);
    json_decref(doc);
}

/* Objective score: weighted final grades; a parent averages its own key
 * results and its children (section 4). */
static void test_objective_score(void **state)
{
    (void)state;
    static const struct okr_retro_objective objs[] = {
        { "company", "Company", NULL, 1 }, { "growth", "Grow", "company", 3 },
    };
    struct fixture a, b, c;
    make_kr(&a, "a", "growth", "o", NULL, NULL, OKR_ACHIEVED, 1.0);
    make_kr(&b, "b", "growth", "o", NULL, NULL, OKR_MISSED, 0.4);
    b.kr.weight = 3;
    make_kr(&c, "c", "company", "o", NULL, NULL, OKR_MISSED, 0.2);
    struct okr_retro_kr krs[] = { a.kr, b.kr, c.kr };
    json_t *doc = build(objs, 2, krs, 3, true);
    json_t *os = json_object_get(doc, "objectives");
    double growth = (1.0 * 1 + 0.4 * 3) / 4;               /* 0.55 */
    double company = (0.2 * 1 + growth * 3) / 4;
    assert_float_equal(json_number_value(json_object_get(json_array_get(os, 1), "score")), growth,
                       1e-12);
    assert_float_equal(json_number_value(json_object_get(json_array_get(os, 0), "score")),
                       company, 1e-12);
    assert_string_equal(json_string_value(json_object_get(json_array_get(os, 1), "parent")),
                        "company");
    json_decref(doc);
}

/* "weighted final grades": each key result's grade, rounded to 0.01 as
 * section 4's final grade, not its unrounded score. */
static void test_objective_score_of_grades(void **state)
{
    (void)state;
    struct fixture a, b;
    make_kr(&a, "a", "growth", "o", NULL, NULL, OKR_MISSED, 0.434999);   /* grade 0.43 */
    make_kr(&b, "b", "growth", "o", NULL, NULL, OKR_MISSED, 0.876);      /* grade 0.88 */
    b.kr.weight = 3;
    struct okr_retro_kr krs[] = { a.kr, b.kr };
    json_t *doc = build(&obj1, 1, krs, 2, true);
    json_t *o = json_array_get(json_object_get(doc, "objectives"), 0);
    assert_float_equal(json_number_value(json_object_get(o, "score")), (0.43 + 0.88 * 3) / 4,
                       1e-12);
    json_decref(doc);
}

/* ---- lints ---- */

/* How many lints name (objective, key_result) and contain NEEDLE. */
static int count_lints(json_t *doc, const char *objective, const char *kr, const char *needle)
{
    int n = 0;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(doc, "lints"), i, l) {
        json_t *o = json_object_get(l, "objective"), *k = json_object_get(l, "key_result");
        bool o_ok = objective ? json_is_string(o) && !strcmp(json_string_value(o), objective)
                              : json_is_null(o);
        bool k_ok = kr ? json_is_string(k) && !strcmp(json_string_value(k), kr) : json_is_null(k);
        if (o_ok && k_ok && strstr(json_string_value(json_object_get(l, "message")), needle))
            n++;
    }
    return n;
}

static void test_lint_objective_size(void **state)
{
    (void)state;
    struct fixture f[6];
    struct okr_retro_kr krs[6];
    static const char *ids[] = { "k1", "k2", "k3", "k4", "k5", "k6" };
    static const size_t sizes[] = { 1, 2, 5, 6 };
    static const int want[] = { 1, 0, 0, 1 };
    for (size_t t = 0; t < 4; t++) {
        for (size_t i = 0; i < sizes[t]; i++) {
            make_kr(&f[i], ids[i], "growth", "o", NULL, NULL, OKR_MISSED, 0.65);
            krs[i] = f[i].kr;
        }
        json_t *doc = build(&obj1, 1, krs, sizes[t], true);
        if (count_lints(doc, "growth", NULL, "an objective should have 2 to 5") != want[t])
            fail_msg("%zu key results: size lint %d, want %d", sizes[t],
                     count_lints(doc, "growth", NULL, "should have 2 to 5"), want[t]);
        json_decref(doc);
    }
    /* An objective with no key result left in the archive: 0 is fewer than 2. */
    json_t *doc = build(&obj1, 1, krs, 0, true);
    assert_int_equal(count_lints(doc, "growth", NULL, "0 key results"), 1);
    json_decref(doc);
}

static void test_lint_all_achieved(void **state)
{
    (void)state;
    struct fixture a, b;
    make_kr(&a, "a", "growth", "o", NULL, NULL, OKR_ACHIEVED, 0.7);
    make_kr(&b, "b", "growth", "o", NULL, NULL, OKR_ACHIEVED, 0.7);
    struct okr_retro_kr krs[] = { a.kr, b.kr };
    json_t *doc = build(&obj1, 1, krs, 2, true);
    assert_int_equal(count_lints(doc, "growth", NULL, "all key results achieved"), 1);
    json_decref(doc);
    doc = build(&obj1, 1, krs, 2, false); /* a cycle still running: not yet */
    assert_int_equal(count_lints(doc, "growth", NULL, "all key results achieved"), 0);
    json_decref(doc);
    krs[1].status = OKR_MISSED;
    doc = build(&obj1, 1, krs, 2, true);
    assert_int_equal(count_lints(doc, "growth", NULL, "all key results achieved"), 0);
    json_decref(doc);
}

static void test_lint_cycle_mean(void **state)
{
    (void)state;
    static const struct {
        double g1, w1, g2, w2;
        const char *want; /* NULL = no cycle lint */
    } cases[] = {
        { 0.9, 1, 0.85, 1, "above 0.8" },
        { 0.8, 1, 0.8, 1, NULL },         /* exactly 0.8: not above */
        { 0.4, 1, 0.4, 1, NULL },         /* exactly 0.4: not below */
        { 0.3, 1, 0.45, 1, "below 0.4" },
        { 0.9, 1, 0.2, 3, "below 0.4" },  /* weighted 0.375; unweighted 0.55 */
        { 0.5, 1, 0.95, 5, "above 0.8" }, /* weighted 0.875; unweighted 0.725 */
        { 0.671, 1, 0.6, 1, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fixture a, b;
        make_kr(&a, "a", "growth", "o", NULL, NULL, OKR_MISSED, cases[i].g1);
        make_kr(&b, "b", "growth", "o", NULL, NULL, OKR_MISSED, cases[i].g2);
        a.kr.weight = cases[i].w1;
        b.kr.weight = cases[i].w2;
        struct okr_retro_kr krs[] = { a.kr, b.kr };
        json_t *doc = build(&obj1, 1, krs, 2, true);
        double mean = (cases[i].w1 * cases[i].g1 + cases[i].w2 * cases[i].g2) /
                      (cases[i].w1 + cases[i].w2);
        int want = cases[i].want ? 1 : 0;
        if (mean > 0.8 || mean < 0.4)
            assert_int_equal(want, 1); /* the table agrees with the rule */
        int got = count_lints(doc, NULL, NULL, cases[i].want ? cases[i].want : "weighted mean");
        if (got != want)
            fail_msg("case %zu (mean %.4f): cycle lints %d, want %d", i, mean, got, want);
        json_decref(doc);
    }
}

static void test_lint_checkin_gap(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int64_t at[4];   /* offsets from S; 0 ends the list */
        int want;
        const char *needle;
    } cases[] = {
        { "gaps of 3, 7 and exactly 14 days", { 3 * DAY, 10 * DAY, 24 * DAY }, 0, "" },
        { "a gap of 14 days and a second", { 3 * DAY, 10 * DAY, 24 * DAY + 1 }, 1,
          "between check-ins (2026-10-11 to 2026-10-25)" },
        { "start to first over 14 days", { 15 * DAY, 16 * DAY }, 1,
          "from the cycle start (2026-10-01) to the first check-in (2026-10-16)" },
        { "start to first exactly 14 days", { 14 * DAY, 20 * DAY }, 0, "" },
        { "a grade after the end is no check-in on the work", { 5 * DAY, 19 * DAY, 33 * DAY, 130 * DAY },
          0, "" },
        { "no check-in at all", { 0 }, 0, "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fixture f;
        make_kr(&f, "dau-up", "growth", "o", NULL, NULL, OKR_MISSED, 0.65);
        size_t n = 0;
        while (n < 4 && cases[i].at[n]) {
            f.checkins[n] = checkin((int64_t)n + 1, S + cases[i].at[n]);
            n++;
        }
        f.kr.n_checkins = n;
        json_t *doc = build(&obj1, 1, &f.kr, 1, true);
        int got = count_lints(doc, "growth", "dau-up", "checkins.every");
        if (got != cases[i].want)
            fail_msg("%s: gap lints %d, want %d", cases[i].name, got, cases[i].want);
        if (cases[i].want && count_lints(doc, "growth", "dau-up", cases[i].needle) != 1)
            fail_msg("%s: no lint says \"%s\": %s", cases[i].name, cases[i].needle,
                     json_dumps(json_object_get(doc, "lints"), 0));
        json_decref(doc);
    }
}

static void test_lint_no_data(void **state)
{
    (void)state;
    struct fixture f;
    make_kr(&f, "dau-up", "growth", "onnnnnnno", NULL, NULL, OKR_MISSED, 0.65); /* 7 */
    json_t *doc = build(&obj1, 1, &f.kr, 1, true);
    assert_int_equal(count_lints(doc, "growth", "dau-up", "no_data"), 0);
    json_decref(doc);
    make_kr(&f, "dau-up", "growth", "nnnnnnnno", NULL, NULL, OKR_MISSED, 0.65);  /* 8 */
    doc = build(&obj1, 1, &f.kr, 1, true);
    assert_int_equal(count_lints(doc, "growth", "dau-up", "8 days of no_data"), 1);
    json_decref(doc);
    /* overridden no_data days still lack data */
    make_kr(&f, "dau-up", "growth", "ooooooooo", "nnnnnnnno", NULL, OKR_MISSED, 0.65);
    doc = build(&obj1, 1, &f.kr, 1, true);
    assert_int_equal(count_lints(doc, "growth", "dau-up", "8 days of no_data"), 1);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_key_result_object),
        cmocka_unit_test(test_objective_score),
        cmocka_unit_test(test_objective_score_of_grades),
        cmocka_unit_test(test_lint_objective_size),
        cmocka_unit_test(test_lint_all_achieved),
        cmocka_unit_test(test_lint_cycle_mean),
        cmocka_unit_test(test_lint_checkin_gap),
        cmocka_unit_test(test_lint_no_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
