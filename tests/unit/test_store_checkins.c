/*
 * test_store_checkins.c — store/store_checkins.c (issue 14, DESIGN section
 * 8): every field of a check-in round-trips (absences as NULL in SQL), the
 * latest check-in as of a time, the walks with their filters in both
 * orders, unannounced check-ins and their marking, the latest grade, a taken
 * seq or id refused with OKRD_EEXIST, bad records refused, a 4,000-byte
 * UTF-8 comment; and the migration of a store made by the release before
 * (tests/fixtures/store-v5.db, written by main's binary) in place.
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

#define HOUR 3600LL
#define DAY 86400LL
#define T0 1790812800LL /* 2026-10-01T00:00:00Z */

/* A check-in with only a confidence; tests add what they need. */
static struct okrd_checkin mk(const char *id, const char *kr, const char *cycle, int64_t seq,
                             int64_t at_s)
{
    struct okrd_checkin c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "%s", id);
    snprintf(c.key_result, sizeof c.key_result, "%s", kr);
    snprintf(c.cycle_start, sizeof c.cycle_start, "%s", cycle);
    c.seq = seq;
    c.at_s = at_s;
    snprintf(c.author, sizeof c.author, "alice");
    c.confidence = 6;
    c.value = NAN;
    c.grade = NAN;
    return c;
}

static void insert(struct store *s, const struct okrd_checkin *c)
{
    struct okrd_err err = { 0 };
    if (store_insert_checkin(s, c, &err) != 0)
        fail_msg("insert %s: %s", c->id, err.msg);
}


static void assert_same(const struct okrd_checkin *a, const struct okrd_checkin *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->key_result, b->key_result);
    assert_string_equal(a->cycle_start, b->cycle_start);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->at_s, b->at_s);
    assert_string_equal(a->author, b->author);
    assert_int_equal(a->confidence, b->confidence);
    assert_string_equal(a->status, b->status);
    assert_int_equal(a->until_s, b->until_s);
    if (isnan(a->value) || isnan(b->value))
        assert_true(isnan(a->value) && isnan(b->value));
    else
        assert_true(a->value == b->value);
    if (isnan(a->grade) || isnan(b->grade))
        assert_true(isnan(a->grade) && isnan(b->grade));
    else
        assert_true(a->grade == b->grade);
    if (!a->comment || !b->comment)
        assert_true(a->comment == NULL && b->comment == NULL);
    else
        assert_string_equal(a->comment, b->comment);
}

/* ---- insert and latest ---- */

static void test_every_field_round_trips(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct okrd_checkin full = mk("chk_01", "dau-up", "2026-10-01", 1, T0 + HOUR);
    full.confidence = 0; /* 0 is a confidence, not its absence */
    snprintf(full.status, sizeof full.status, "at_risk");
    full.until_s = T0 + 14 * DAY;
    full.value = 1040.25;
    full.grade = 0.7;
    full.comment = "Two deals slipped to Q1";
    insert(f->s, &full);

    struct okrd_checkin bare = mk("chk_02", "dau-up", "2026-10-01", 2, T0 + 2 * HOUR);
    bare.confidence = OKRD_CHECKIN_NO_CONFIDENCE;
    bare.comment = "";
    insert(f->s, &bare);

    struct okrd_checkin got;
    assert_int_equal(store_latest_checkin(f->s, "dau-up", "2026-10-01", T0 + HOUR, &got, &err), 0);
    assert_same(&got, &full);
    okrd_checkin_clear(&got);
    assert_int_equal(store_latest_checkin(f->s, "dau-up", "2026-10-01", INT64_MAX, &got, &err), 0);
    assert_same(&got, &bare);
    okrd_checkin_clear(&got);

    /* Absences are SQL NULL, not magic values; "" comment is a comment. */
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM checkins WHERE id = 'chk_02' AND"
                                      " confidence IS NULL AND status IS NULL AND until_s IS NULL"
                                      " AND value IS NULL AND grade IS NULL AND comment = ''"
                                      " AND announced = 0"),
                     1);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM checkins WHERE id = 'chk_01' AND"
                                      " confidence = 0 AND status = 'at_risk' AND value = 1040.25"),
                     1);
}

static void test_latest_respects_the_bound(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct okrd_checkin got;
    assert_int_equal(store_latest_checkin(f->s, "dau-up", "2026-10-01", INT64_MAX, &got, &err),
                     OKRD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "dau-up"));
    assert_null(got.comment);

    /* seq 2 and 3 share an at (a clock that did not move). */
    const int64_t at[] = { T0 + DAY, T0 + 3 * DAY, T0 + 3 * DAY, T0 + 7 * DAY };
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "chk_%d", i + 1);
        struct okrd_checkin c = mk(id, "dau-up", "2026-10-01", i + 1, at[i]);
        insert(f->s, &c);
    }
    /* Another cycle and another key result must not leak in. */
    struct okrd_checkin other = mk("chk_q4", "dau-up", "2027-01-01", 1, T0 + 2 * DAY);
    insert(f->s, &other);
    struct okrd_checkin other_kr = mk("chk_w", "wau-up", "2026-10-01", 9, T0 + 2 * DAY);
    insert(f->s, &other_kr);

    const struct { int64_t bound; int64_t want_seq; } cases[] = {
        { T0 + DAY - 1, 0 },  { T0 + DAY, 1 },     { T0 + 3 * DAY - 1, 1 },
        { T0 + 3 * DAY, 3 },  { T0 + 7 * DAY - 1, 3 }, { T0 + 7 * DAY, 4 }, { INT64_MAX, 4 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = store_latest_checkin(f->s, "dau-up", "2026-10-01", cases[i].bound, &got, &err);
        if (cases[i].want_seq == 0) {
            assert_int_equal(rc, OKRD_ENOTFOUND);
            continue;
        }
        if (rc != 0 || got.seq != cases[i].want_seq)
            fail_msg("bound %lld: rc %d seq %lld, want seq %lld", (long long)cases[i].bound, rc,
                     (long long)got.seq, (long long)cases[i].want_seq);
        okrd_checkin_clear(&got);
    }
    assert_int_equal(store_latest_checkin(f->s, "dau-up", "2027-01-01", INT64_MAX, &got, &err), 0);
    assert_string_equal(got.id, "chk_q4");
    okrd_checkin_clear(&got);
}

/* ---- walks ---- */

struct seen {
    char ids[512]; /* space-joined */
    int stop_after; /* 0 = never */
    int n;
};

static int collect(void *ctx, const struct okrd_checkin *c)
{
    struct seen *s = ctx;
    size_t len = strlen(s->ids);
    snprintf(s->ids + len, sizeof s->ids - len, "%s%s", len ? " " : "", c->id);
    s->n++;
    return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

static const char *walk(struct store *st, const char *kr, const char *cycle, int64_t from,
                        int64_t to, bool newest_first, struct seen *s)
{
    struct okrd_err err = { 0 };
    memset(s, 0, sizeof *s);
    if (store_each_checkin(st, kr, cycle, from, to, newest_first, collect, s, &err) != 0)
        fail_msg("walk: %s", err.msg);
    return s->ids;
}

static void test_each_filters_and_orders(void **state)
{
    struct fx *f = *state;
    struct seen s;
    struct {
        const char *id, *kr, *cycle;
        int64_t seq, at;
    } rows[] = {
        /* inserted out of order, so the order comes from the query */
        { "chk_b2", "b-kr", "2026-10-01", 2, T0 + 5 * DAY },
        { "chk_a1", "a-kr", "2026-10-01", 1, T0 + 1 * DAY },
        { "chk_b1", "b-kr", "2026-10-01", 1, T0 + 2 * DAY },
        { "chk_a2", "a-kr", "2026-10-01", 2, T0 + 4 * DAY },
        { "chk_a0", "a-kr", "2026-07-01", 1, T0 - 30 * DAY },
        { "chk_a3", "a-kr", "2026-10-01", 3, T0 + 4 * DAY }, /* same at as a2 */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct okrd_checkin c = mk(rows[i].id, rows[i].kr, rows[i].cycle, rows[i].seq, rows[i].at);
        insert(f->s, &c);
    }
    assert_string_equal(walk(f->s, NULL, NULL, INT64_MIN, INT64_MAX, false, &s),
                        "chk_a0 chk_a1 chk_a2 chk_a3 chk_b1 chk_b2");
    assert_string_equal(walk(f->s, NULL, NULL, INT64_MIN, INT64_MAX, true, &s),
                        "chk_b2 chk_a3 chk_a2 chk_b1 chk_a1 chk_a0");
    assert_string_equal(walk(f->s, "a-kr", NULL, INT64_MIN, INT64_MAX, true, &s),
                        "chk_a3 chk_a2 chk_a1 chk_a0");
    assert_string_equal(walk(f->s, "a-kr", "2026-10-01", INT64_MIN, INT64_MAX, false, &s),
                        "chk_a1 chk_a2 chk_a3");
    assert_string_equal(walk(f->s, NULL, "2026-10-01", INT64_MIN, INT64_MAX, false, &s),
                        "chk_a1 chk_a2 chk_a3 chk_b1 chk_b2");
    /* from inclusive, to exclusive */
    assert_string_equal(walk(f->s, NULL, NULL, T0 + 2 * DAY, T0 + 5 * DAY, false, &s),
                        "chk_a2 chk_a3 chk_b1");
    assert_string_equal(walk(f->s, "b-kr", NULL, T0 + 2 * DAY, T0 + 5 * DAY + 1, true, &s),
                        "chk_b2 chk_b1");
    assert_string_equal(walk(f->s, "nope", NULL, INT64_MIN, INT64_MAX, false, &s), "");
    assert_string_equal(walk(f->s, NULL, NULL, T0, T0, false, &s), "");

    /* A non-zero return stops the walk and comes back. */
    struct okrd_err err = { 0 };
    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    assert_int_equal(store_each_checkin(f->s, NULL, NULL, INT64_MIN, INT64_MAX, false, collect, &s,
                                        &err),
                     42);
    assert_string_equal(s.ids, "chk_a0 chk_a1");
}

/* A callback may call into the store on the same connection. */
static int nested(void *ctx, const struct okrd_checkin *c)
{
    struct store *s = ctx;
    struct okrd_checkin latest;
    struct okrd_err err = { 0 };
    assert_int_equal(store_latest_checkin(s, c->key_result, c->cycle_start, INT64_MAX, &latest,
                                          &err),
                     0);
    assert_int_equal(latest.seq, 2);
    okrd_checkin_clear(&latest);
    return 0;
}

static void test_walk_callback_may_use_the_store(void **state)
{
    struct fx *f = *state;
    struct okrd_checkin a = mk("chk_1", "dau-up", "2026-10-01", 1, T0);
    struct okrd_checkin b = mk("chk_2", "dau-up", "2026-10-01", 2, T0 + 1);
    a.comment = "first";
    insert(f->s, &a);
    insert(f->s, &b);
    struct okrd_err err = { 0 };
    assert_int_equal(store_each_checkin(f->s, NULL, NULL, INT64_MIN, INT64_MAX, false, nested,
                                        f->s, &err),
                     0);
}

/* ---- announcing ---- */

static void test_unannounced_and_mark(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct seen s;
    struct okrd_checkin rows[] = {
        mk("chk_3", "dau-up", "2026-10-01", 2, T0 + 2 * DAY),
        mk("chk_1", "dau-up", "2026-07-01", 1, T0 - 10 * DAY),
        mk("chk_2", "dau-up", "2026-10-01", 1, T0 + DAY),
        mk("chk_x", "wau-up", "2026-10-01", 1, T0 + DAY),
    };
    for (size_t i = 0; i < 4; i++)
        insert(f->s, &rows[i]);

    memset(&s, 0, sizeof s);
    assert_int_equal(store_each_unannounced_checkin(f->s, "dau-up", collect, &s, &err), 0);
    assert_string_equal(s.ids, "chk_1 chk_2 chk_3"); /* oldest first: (cycle_start, seq) */

    assert_int_equal(store_begin(f->s, &err), 0);
    assert_int_equal(store_mark_checkin_announced(f->s, "chk_2", &err), 0);
    store_rollback(f->s); /* the event's transaction failed: still unannounced */
    assert_int_equal(store_mark_checkin_announced(f->s, "chk_1", &err), 0);
    assert_int_equal(store_mark_checkin_announced(f->s, "chk_1", &err), 0); /* idempotent */
    memset(&s, 0, sizeof s);
    assert_int_equal(store_each_unannounced_checkin(f->s, "dau-up", collect, &s, &err), 0);
    assert_string_equal(s.ids, "chk_2 chk_3");
    memset(&s, 0, sizeof s);
    assert_int_equal(store_each_unannounced_checkin(f->s, "wau-up", collect, &s, &err), 0);
    assert_string_equal(s.ids, "chk_x");

    assert_int_equal(store_mark_checkin_announced(f->s, "chk_nope", &err), OKRD_ENOTFOUND);
    assert_non_null(strstr(err.msg, "chk_nope"));
}

/* ---- grades ---- */

/* The key results with any check-in, in byte order, each once: what a full
 * evaluation asks instead of a latest-check-in read per key result. */
static void test_key_results_with_checkins(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    char **ids = (char **)&err; /* overwritten */
    size_t n = 99;
    assert_int_equal(store_checkin_key_results(f->s, &ids, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(ids);
    struct okrd_checkin a = mk("chk_01JDQ0000000000000000000A1", "zeta", "2026-10-01", 1, T0);
    struct okrd_checkin b = mk("chk_01JDQ0000000000000000000A2", "Beta", "2026-10-01", 1, T0);
    struct okrd_checkin c = mk("chk_01JDQ0000000000000000000A3", "beta", "2026-07-01", 1, T0);
    struct okrd_checkin d = mk("chk_01JDQ0000000000000000000A4", "beta", "2026-10-01", 1, T0);
    struct okrd_checkin e = mk("chk_01JDQ0000000000000000000A5", "beta", "2026-10-01", 2, T0 + 5);
    insert(f->s, &a);
    insert(f->s, &b);
    insert(f->s, &c);
    insert(f->s, &d);
    insert(f->s, &e);
    assert_int_equal(store_checkin_key_results(f->s, &ids, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(ids[0], "Beta"); /* byte order: 'B' < 'b' < 'z' */
    assert_string_equal(ids[1], "beta");
    assert_string_equal(ids[2], "zeta");
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

static void test_latest_grade(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    double g = -1;
    char author[65] = "unchanged";
    assert_int_equal(store_latest_grade(f->s, "dau-up", "2026-07-01", &g, author, &err),
                     OKRD_ENOTFOUND);

    struct okrd_checkin a = mk("chk_1", "dau-up", "2026-07-01", 1, T0);
    a.grade = 0.5;
    snprintf(a.author, sizeof a.author, "alice");
    struct okrd_checkin b = mk("chk_2", "dau-up", "2026-07-01", 2, T0 + 1);
    b.grade = 0.0; /* 0.0 is a grade */
    snprintf(b.author, sizeof b.author, "bob");
    struct okrd_checkin c = mk("chk_3", "dau-up", "2026-07-01", 3, T0 + 2); /* no grade */
    snprintf(c.author, sizeof c.author, "carol");
    struct okrd_checkin other = mk("chk_4", "dau-up", "2026-10-01", 1, T0 + 3);
    other.grade = 1.0;
    insert(f->s, &a);
    insert(f->s, &b);
    insert(f->s, &c);
    insert(f->s, &other);

    assert_int_equal(store_latest_grade(f->s, "dau-up", "2026-07-01", &g, author, &err), 0);
    assert_true(g == 0.0);
    assert_string_equal(author, "bob");
    assert_int_equal(store_latest_grade(f->s, "dau-up", "2026-07-01", &g, NULL, &err), 0);
    assert_int_equal(store_latest_grade(f->s, "dau-up", "2026-10-01", &g, author, &err), 0);
    assert_true(g == 1.0);
    assert_string_equal(author, "alice");
    assert_int_equal(store_latest_grade(f->s, "wau-up", "2026-07-01", &g, author, &err),
                     OKRD_ENOTFOUND);
}

/* ---- refusals ---- */

static void test_taken_seq_or_id_is_eexist(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    struct okrd_checkin a = mk("chk_1", "dau-up", "2026-10-01", 1, T0);
    insert(f->s, &a);

    struct okrd_checkin same_seq = mk("chk_2", "dau-up", "2026-10-01", 1, T0 + 1);
    assert_int_equal(store_insert_checkin(f->s, &same_seq, &err), OKRD_EEXIST);
    assert_non_null(strstr(err.msg, "dau-up"));
    assert_non_null(strstr(err.msg, "2026-10-01"));
    assert_non_null(strstr(err.msg, "seq 1"));

    struct okrd_checkin same_id = mk("chk_1", "wau-up", "2026-10-01", 1, T0 + 1);
    assert_int_equal(store_insert_checkin(f->s, &same_id, &err), OKRD_EEXIST);
    assert_non_null(strstr(err.msg, "\"chk_1\""));

    /* Inside a transaction the refusal leaves it usable and undoes nothing
     * else; the same seq in another cycle or key result is fine. */
    assert_int_equal(store_begin(f->s, &err), 0);
    struct okrd_checkin b = mk("chk_3", "dau-up", "2026-10-01", 2, T0 + 2);
    insert(f->s, &b);
    assert_int_equal(store_insert_checkin(f->s, &same_seq, &err), OKRD_EEXIST);
    struct okrd_checkin c = mk("chk_4", "dau-up", "2027-01-01", 1, T0 + 3);
    insert(f->s, &c);
    assert_int_equal(store_commit(f->s, &err), 0);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM checkins"), 3);
}

static void test_bad_records_refused(void **state)
{
    struct fx *f = *state;
    /* Each case: a valid record with one thing wrong; a precise message. */
    struct okrd_err err = { 0 };
    struct okrd_checkin c;
#define REFUSE(edit, want)                                                                     \
    do {                                                                                       \
        c = mk("chk_1", "dau-up", "2026-10-01", 1, T0);                                        \
        edit;                                                                                  \
        okrd_err_clear(&err);                                                                  \
        int rc_ = store_insert_checkin(f->s, &c, &err);                                        \
        if (rc_ != OKRD_EINVAL || !strstr(err.msg, want))                                      \
            fail_msg("%s: rc %d \"%s\", want EINVAL with \"%s\"", #edit, rc_, err.msg, want);  \
    } while (0)
    REFUSE(snprintf(c.id, sizeof c.id, "x_1"), "invalid id");
    REFUSE(snprintf(c.key_result, sizeof c.key_result, "dau up"), "invalid key result id");
    REFUSE(snprintf(c.cycle_start, sizeof c.cycle_start, "2026-13-01"), "invalid cycle_start");
    REFUSE(snprintf(c.cycle_start, sizeof c.cycle_start, "2026-1-1"), "invalid cycle_start");
    REFUSE(c.seq = 0, "seq 0");
    REFUSE(c.author[0] = '\0', "invalid author");
    REFUSE(c.confidence = 11, "confidence 11");
    REFUSE(snprintf(c.status, sizeof c.status, "green"), "invalid status");
    REFUSE((snprintf(c.status, sizeof c.status, "on_track"), c.until_s = T0), "not after at_s");
    REFUSE(c.until_s = T0 + DAY, "until_s without a status");
    REFUSE(c.value = INFINITY, "value is infinite");
    REFUSE(c.grade = 1.5, "grade 1.5");
    REFUSE(c.comment = "bad \xff byte", "not valid UTF-8 at byte 4");
    REFUSE(c.confidence = OKRD_CHECKIN_NO_CONFIDENCE, "none of confidence");
#undef REFUSE
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM checkins"), 0);

    /* Read-only stores refuse writes. */
    struct store *ro = NULL;
    assert_int_equal(fx_open(f, STORE_READONLY, &ro, &err), 0);
    c = mk("chk_1", "dau-up", "2026-10-01", 1, T0);
    assert_int_equal(store_insert_checkin(ro, &c, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "read-only"));
    store_close(ro);
}

static void test_long_utf8_comment(void **state)
{
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    /* 4,000 bytes exactly: "é" (2 bytes) and "€" (3 bytes), a newline and
     * quotes, as people write them. */
    char *text = malloc(OKRD_CHECKIN_COMMENT_MAX + 2);
    assert_non_null(text);
    size_t n = 0;
    static const char piece[] = "\xc3\xa9\xe2\x82\xac\n\""; /* 7 bytes */
    while (n + 7 <= OKRD_CHECKIN_COMMENT_MAX) {
        memcpy(text + n, piece, 7);
        n += 7;
    }
    while (n < OKRD_CHECKIN_COMMENT_MAX)
        text[n++] = 'x';
    text[n] = '\0';
    assert_int_equal(strlen(text), OKRD_CHECKIN_COMMENT_MAX);

    struct okrd_checkin c = mk("chk_1", "dau-up", "2026-10-01", 1, T0);
    c.comment = text;
    insert(f->s, &c);
    struct okrd_checkin got;
    assert_int_equal(store_latest_checkin(f->s, "dau-up", "2026-10-01", INT64_MAX, &got, &err), 0);
    assert_non_null(got.comment);
    assert_int_equal(strlen(got.comment), OKRD_CHECKIN_COMMENT_MAX);
    assert_memory_equal(got.comment, text, OKRD_CHECKIN_COMMENT_MAX);
    okrd_checkin_clear(&got);

    /* One byte more is refused. */
    text[n] = 'x';
    text[n + 1] = '\0';
    struct okrd_checkin over = mk("chk_2", "dau-up", "2026-10-01", 2, T0);
    over.comment = text;
    assert_int_equal(store_insert_checkin(f->s, &over, &err), OKRD_EINVAL);
    assert_non_null(strstr(err.msg, "4001 bytes"));
    free(text);
}

/* ---- migration ---- */

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    if (!in || !out) {
        if (in)
            fclose(in);
        return -1;
    }
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
    return fclose(out);
}

/* tests/fixtures/store-v5.db was written by the okrd of the release
 * before check-ins (tests/fixtures/store-v5.md): opened by this build it
 * migrates in place, keeps its points and takes check-ins. */
static void test_migrates_a_v5_store_in_place(void **state)
{
    fx_sqlite_only(); /* a SQLite file of an older release */
    struct fx *f = *state;
    struct okrd_err err = { 0 };
    store_close(f->s);
    f->s = NULL;
    const char *data = getenv("OKRD_TEST_DATA");
    assert_non_null(data);
    char fixture[4096];
    snprintf(fixture, sizeof fixture, "%s/../fixtures/store-v5.db", data);
    remove(f->path);
    assert_int_equal(copy_file(fixture, f->path), 0);
    assert_int_equal(fx_sql_int(f, "PRAGMA user_version"), 5);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM sqlite_master WHERE name = 'checkins'"),
                     0);

    /* A read-only open does not migrate; it says what to do. */
    struct store *ro = NULL;
    assert_int_not_equal(fx_open(f, STORE_READONLY, &ro, &err), 0);
    assert_non_null(strstr(err.msg, "schema version 5"));
    assert_int_equal(fx_sql_int(f, "PRAGMA user_version"), 5);

    assert_int_equal(fx_open(f, 0, &f->s, &err), 0);
    assert_true(store_schema_version() >= 6);
    assert_int_equal(fx_sql_int(f, "PRAGMA user_version"), store_schema_version());

    struct store_series series = { 0 };
    assert_int_equal(store_get_series(f->s, "dau", INT64_MIN, INT64_MAX, &series, &err), 0);
    assert_int_equal(series.n, 2);
    assert_int_equal(series.pts[0].ts, T0);
    assert_true(series.pts[0].value == 1000);
    assert_int_equal(series.pts[1].ts, T0 + DAY);
    assert_true(series.pts[1].value == 1040.5);
    store_series_free(&series);
    struct store_point p;
    assert_int_equal(store_last_point(f->s, "revenue", INT64_MAX, &p, &err), 0);
    assert_true(p.value == 0.1);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM ingest_log"), 1);
    assert_int_equal(fx_sql_int(f, "SELECT count(*) FROM metric_sources"), 2);

    struct okrd_checkin c = mk("chk_1", "dau-up", "2026-10-01", 1, T0 + 2 * DAY);
    c.value = 1100;
    c.comment = "after the upgrade";
    insert(f->s, &c);
    struct okrd_checkin got;
    assert_int_equal(store_latest_checkin(f->s, "dau-up", "2026-10-01", INT64_MAX, &got, &err), 0);
    assert_same(&got, &c);
    okrd_checkin_clear(&got);
    store_close(f->s);

    /* Opened again: nothing to migrate, the check-in is there, and a
     * read-only open now works. */
    assert_int_equal(fx_open(f, 0, &f->s, &err), 0);
    assert_int_equal(fx_open(f, STORE_READONLY, &ro, &err), 0);
    struct seen s;
    assert_string_equal(walk(ro, NULL, NULL, INT64_MIN, INT64_MAX, false, &s), "chk_1");
    store_close(ro);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_every_field_round_trips),
        T(test_latest_respects_the_bound),
        T(test_each_filters_and_orders),
        T(test_walk_callback_may_use_the_store),
        T(test_unannounced_and_mark),
        T(test_key_results_with_checkins),
        T(test_latest_grade),
        T(test_taken_seq_or_id_is_eexist),
        T(test_bad_records_refused),
        T(test_long_utf8_comment),
        T(test_migrates_a_v5_store_in_place),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
