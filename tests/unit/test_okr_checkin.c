/*
 * test_okr_checkin.c — the override rule of DESIGN section 8
 * (okr_effective_status), by table: every computed status against the
 * latest check-in being absent, without status, holding, at its edges
 * (t == at, t == until - 1 s, t == until), expired, not yet made, carrying
 * a status that is not an override; and a later check-in without status
 * ending an earlier one's override by being the latest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "okr/okr.h"

#define DAY 86400LL
#define AT 1795219200LL           /* 2026-11-21T00:00:00Z: the check-in's commit */
#define UNTIL (AT + 14 * DAY)     /* its override's end (exclusive) */

static const enum okr_status all[] = { OKR_INVALID, OKR_NO_DATA, OKR_ACHIEVED, OKR_MISSED,
                                       OKR_PENDING, OKR_ON_TRACK, OKR_AT_RISK, OKR_OFF_TRACK };

/* achieved, missed and invalid are facts: never overridden. Listed by hand,
 * not derived from the code under test. */
static bool is_fact(enum okr_status s)
{
    return s == OKR_ACHIEVED || s == OKR_MISSED || s == OKR_INVALID;
}

static struct okrd_checkin checkin(const char *status, int64_t at_s, int64_t until_s)
{
    struct okrd_checkin c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "chk_01JDTEST0000000000000000");
    snprintf(c.key_result, sizeof c.key_result, "dau-up");
    snprintf(c.cycle_start, sizeof c.cycle_start, "2026-10-01");
    snprintf(c.author, sizeof c.author, "alice");
    snprintf(c.status, sizeof c.status, "%s", status);
    c.seq = 1;
    c.at_s = at_s;
    c.until_s = until_s;
    c.confidence = 6;
    return c;
}

struct row {
    const char *name;
    const char *status;          /* the latest check-in's status ("" none), NULL = no check-in */
    int64_t at_s, until_s, t;
    bool holds;                  /* the override applies when the computed status may be overridden */
};

static const struct row rows[] = {
    { "no check-in", NULL, AT, UNTIL, AT + DAY, false },
    { "check-in without status", "", AT, 0, AT + DAY, false },
    { "at_risk holding", "at_risk", AT, UNTIL, AT + DAY, true },
    { "on_track holding", "on_track", AT, UNTIL, AT + DAY, true },
    { "off_track holding", "off_track", AT, UNTIL, AT + DAY, true },
    { "from t == at", "at_risk", AT, UNTIL, AT, true },
    { "last second before until", "off_track", AT, UNTIL, UNTIL - 1, true },
    { "ended at t == until", "at_risk", AT, UNTIL, UNTIL, false },
    { "expired after until", "on_track", AT, UNTIL, UNTIL + DAY, false },
    { "check-in after t", "at_risk", AT, UNTIL, AT - 1, false },
    { "a fact is not an override", "achieved", AT, UNTIL, AT + DAY, false },
    { "unknown status ignored", "great", AT, UNTIL, AT + DAY, false },
};

static void test_table(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
        const struct row *w = &rows[r];
        struct okrd_checkin c = checkin(w->status ? w->status : "", w->at_s, w->until_s);
        enum okr_status over = OKR_NO_DATA;
        if (w->holds)
            assert_true(okr_status_parse(w->status, &over));
        for (size_t k = 0; k < sizeof all / sizeof *all; k++) {
            enum okr_status computed = all[k];
            int64_t until = 12345;
            enum okr_status got =
                okr_effective_status(computed, w->status ? &c : NULL, w->t, &until);
            bool applies = w->holds && !is_fact(computed);
            enum okr_status want = applies ? over : computed;
            int64_t want_until = applies ? w->until_s : OKR_NO_TS;
            if (got != want || until != want_until)
                fail_msg("%s, computed %s: got %s until %lld, want %s until %lld", w->name,
                         okr_status_name(computed), okr_status_name(got), (long long)until,
                         okr_status_name(want), (long long)want_until);
            /* override_until may be NULL */
            assert_int_equal(okr_effective_status(computed, w->status ? &c : NULL, w->t, NULL),
                             want);
        }
    }
}

/* A later check-in without status ends the earlier one's override: the
 * evaluator passes the latest (by seq) with at_s <= t, so before the second
 * check-in the first one's override shows, from it on the computed status. */
static void test_later_checkin_ends_override(void **state)
{
    (void)state;
    struct okrd_checkin first = checkin("on_track", AT, UNTIL);
    struct okrd_checkin second = checkin("", AT + 3 * DAY, 0);
    second.seq = 2;
    int64_t until;
    assert_int_equal(okr_effective_status(OKR_OFF_TRACK, &first, AT + 2 * DAY, &until),
                     OKR_ON_TRACK);
    assert_int_equal(until, UNTIL);
    assert_int_equal(okr_effective_status(OKR_OFF_TRACK, &second, AT + 3 * DAY, &until),
                     OKR_OFF_TRACK);
    assert_int_equal(until, OKR_NO_TS);
    /* and a later check-in with its own status replaces the override */
    struct okrd_checkin third = checkin("at_risk", AT + 4 * DAY, AT + 5 * DAY);
    third.seq = 3;
    assert_int_equal(okr_effective_status(OKR_OFF_TRACK, &third, AT + 4 * DAY, &until),
                     OKR_AT_RISK);
    assert_int_equal(until, AT + 5 * DAY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_later_checkin_ends_override),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
