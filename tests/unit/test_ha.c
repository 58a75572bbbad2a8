/*
 * test_ha.c — the leader election's decisions (daemon/ha_fsm.c, DESIGN
 * section 10) as tables: each scenario is a list of (input at a time) ->
 * (actions, role, may act, next wake). daemon/ is not a library, so the
 * pure file is compiled into this test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "daemon/ha_fsm.c"

#define CHECK 2000
#define ANY_WAKE 0 /* a row that names no wake does not check it */

enum { T = HA_IN_TICK, A = HA_IN_ATTEMPT_DONE, C = HA_IN_CONFIRM_DONE };
enum { F = HA_FOLLOWER, L = HA_LEADER };

struct row {
    int64_t now;
    int kind;
    bool ok, got, recovery;
    int64_t skew, ran;
    unsigned actions;            /* exactly these */
    int role;
    bool may_act;
    int64_t wake;                /* ANY_WAKE: not checked */
    enum ha_why why;
};

static void run_table(const char *name, bool shared, const struct row *rows, size_t n)
{
    struct ha_fsm f;
    ha_fsm_init(&f, shared, CHECK, 0);
    uint64_t epoch = f.epoch;
    int role = (int)f.role;
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        struct ha_input in = { .kind = (enum ha_input_kind)r->kind, .ok = r->ok,
                               .got_lock = r->got, .in_recovery = r->recovery,
                               .skew_ms = r->skew, .ran_ms = r->ran };
        struct ha_output o = ha_fsm_step(&f, &in, r->now);
        char where[96];
        snprintf(where, sizeof where, "%s row %zu (t=%lld)", name, i, (long long)r->now);
        if (o.actions != r->actions || (int)f.role != r->role ||
            ha_fsm_may_act(&f, r->now) != r->may_act ||
            (r->wake != ANY_WAKE && o.wake_ms != r->wake) ||
            ((r->actions & HA_DO_STEP_DOWN) && o.why != r->why))
            fail_msg("%s: actions %#x role %d may_act %d wake %lld why %d; expected %#x %d %d "
                     "%lld %d", where, o.actions, f.role, ha_fsm_may_act(&f, r->now),
                     (long long)o.wake_ms, o.why, r->actions, r->role, r->may_act,
                     (long long)r->wake, r->why);
        /* The epoch changes exactly when the role does. */
        if (((int)f.role != role) != (f.epoch != epoch))
            fail_msg("%s: role %d->%d but epoch %llu->%llu", where, role, f.role,
                     (unsigned long long)epoch, (unsigned long long)f.epoch);
        if ((int)f.role != role && f.epoch <= epoch)
            fail_msg("%s: the epoch went back", where);
        epoch = f.epoch;
        role = (int)f.role;
    }
}

#define RUN(name, shared, rows) run_table(name, shared, rows, sizeof rows / sizeof *rows)

/* A follower tries at once, wins, confirms every takeover_check/2, keeps
 * acting while confirmations come back. */
static void test_win_and_confirm(void **state)
{
    (void)state;
    static const struct row rows[] = {
        { 0, T, .actions = HA_DO_ATTEMPT, .role = F, .may_act = false, .wake = CHECK },
        { 40, A, .ok = true, .got = true, .ran = 10, .actions = HA_DO_LEAD, .role = L,
          .may_act = true, .wake = 1000 },
        { 1000, T, .actions = HA_DO_CONFIRM, .role = L, .may_act = true, .wake = 2000 },
        { 1020, C, .ok = true, .ran = 1001, .actions = 0, .role = L, .may_act = true,
          .wake = 2000 },
        { 2000, T, .actions = HA_DO_CONFIRM, .role = L, .may_act = true, .wake = 3000 },
        { 2010, C, .ok = true, .ran = 2000, .role = L, .may_act = true, .wake = 3000 },
        /* takeover_check after the last confirmation it still may act ... */
        { 3999, T, .actions = HA_DO_CONFIRM, .role = L, .may_act = true, .wake = 4001 },
    };
    RUN("win", true, rows);
}

/* A confirmation that never comes back: the leader steps down exactly
 * when its last one is takeover_check old, and competes only one
 * takeover_check later. */
static void test_no_confirmation_steps_down(void **state)
{
    (void)state;
    static const struct row rows[] = {
        { 0, T, .actions = HA_DO_ATTEMPT, .role = F, .wake = CHECK },
        { 5, A, .ok = true, .got = true, .ran = 1, .actions = HA_DO_LEAD, .role = L,
          .may_act = true, .wake = 1000 },
        { 1000, T, .actions = HA_DO_CONFIRM, .role = L, .may_act = true, .wake = 2000 },
        { 2001, T, .actions = 0, .role = L, .may_act = true, .wake = 2002 },
        { 2002, T, .actions = HA_DO_STEP_DOWN, .why = HA_WHY_NO_CONFIRMATION, .role = F,
          .may_act = false, .wake = 4002 },
        /* the late answer changes nothing */
        { 2500, C, .ok = true, .ran = 1000, .role = F, .may_act = false, .wake = 4002 },
        { 4001, T, .role = F, .wake = 4002 },
        { 4002, T, .actions = HA_DO_ATTEMPT, .role = F, .wake = 6002 },
        { 4010, A, .ok = true, .got = false, .ran = 4003, .role = F, .wake = 6002 },
        { 6002, T, .actions = HA_DO_ATTEMPT, .role = F, .wake = 8002 },
    };
    RUN("no confirmation", true, rows);
}

/* A failed confirmation (the session died, pg_terminate_backend): step
 * down at once, not at the deadline. */
static void test_failed_confirmation(void **state)
{
    (void)state;
    static const struct row rows[] = {
        { 0, T, .actions = HA_DO_ATTEMPT, .role = F, .wake = CHECK },
        { 5, A, .ok = true, .got = true, .actions = HA_DO_LEAD, .role = L, .may_act = true },
        { 1000, T, .actions = HA_DO_CONFIRM, .role = L, .may_act = true },
        { 1003, C, .ok = false, .actions = HA_DO_STEP_DOWN, .why = HA_WHY_SESSION_FAILED,
          .role = F, .may_act = false, .wake = 3003 },
        { 2000, T, .role = F, .wake = 3003 },
        /* the reconnect failed too: keep trying every takeover_check */
        { 3003, T, .actions = HA_DO_ATTEMPT, .role = F, .wake = 5003 },
        { 3004, A, .ok = false, .role = F, .wake = 5003 },
        { 5003, T, .actions = HA_DO_ATTEMPT, .role = F, .wake = 7003 },
        { 5010, A, .ok = true, .got = true, .ran = 5004, .actions = HA_DO_LEAD, .role = L,
          .may_act = true, .wake = 6003 },
    };
    RUN("failed confirmation", true, rows);
}

/* A connection error met by another writer job: step down at once; a
 * follower ignores it. */
static void test_session_error(void **state)
{
    (void)state;
    static const struct row rows[] = {
        { 0, T, .actions = HA_DO_ATTEMPT, .role = F },
        { 1, HA_IN_SESSION_ERROR, .role = F, .wake = 2001 },
        { 5, A, .ok = true, .got = true, .actions = HA_DO_LEAD, .role = L, .may_act = true },
        { 700, HA_IN_SESSION_ERROR, .actions = HA_DO_STEP_DOWN, .why = HA_WHY_SESSION_FAILED,
          .role = F, .may_act = false, .wake = 2700 },
    };
    RUN("session error", true, rows);
}

/* Something unasked on the idle writer session (the server ending it):
 * the leader confirms at once; with a confirmation in flight, or as a
 * follower, nothing more; a stale leader steps down instead. */
static void test_suspect_confirms_now(void **state)
{
    (void)state;
    enum { S = HA_IN_SUSPECT };
    static const struct row rows[] = {
        { 0, S, .actions = HA_DO_ATTEMPT, .role = F, .wake = CHECK }, /* a follower: as a tick */
        { 5, A, .ok = true, .got = true, .ran = 1, .actions = HA_DO_LEAD, .role = L,
          .may_act = true, .wake = 1000 },
        { 300, S, .actions = HA_DO_CONFIRM, .role = L, .may_act = true, .wake = 1300 },
        { 310, S, .actions = 0, .role = L, .may_act = true },          /* one in flight */
        { 312, C, .ok = false, .actions = HA_DO_STEP_DOWN, .why = HA_WHY_SESSION_FAILED,
          .role = F, .may_act = false, .wake = 2312 },
        { 320, S, .actions = 0, .role = F, .wake = 2312 },             /* a follower now */
        { 2312, T, .actions = HA_DO_ATTEMPT, .role = F, .wake = 4312 },
        { 2320, A, .ok = true, .got = true, .ran = 2313, .actions = HA_DO_LEAD, .role = L,
          .may_act = true, .wake = 3312 },
        { 3312, T, .actions = HA_DO_CONFIRM, .role = L, .may_act = true, .wake = 4312 },
        /* no answer, then something unasked after the deadline: step down */
        { 4314, S, .actions = HA_DO_STEP_DOWN, .why = HA_WHY_NO_CONFIRMATION, .role = F,
          .may_act = false, .wake = 6314 },
    };
    RUN("suspect", true, rows);
}

/* A leader whose process was stopped (SIGSTOP) for 3 x takeover_check:
 * when it runs again its last confirmation is old, so it does not act for
 * a single instant; it steps down on the first tick. */
static void test_stopped_process(void **state)
{
    (void)state;
    static const struct row rows[] = {
        { 0, T, .actions = HA_DO_ATTEMPT, .role = F },
        { 5, A, .ok = true, .got = true, .ran = 0, .actions = HA_DO_LEAD, .role = L,
          .may_act = true },
        /* ... stopped from t=10 to t=6010; the confirmation sent at 1000 was
         * never sent, the tick comes late */
        { 6010, T, .actions = HA_DO_STEP_DOWN, .why = HA_WHY_NO_CONFIRMATION, .role = F,
          .may_act = false, .wake = 8010 },
    };
    RUN("stopped", true, rows);
    struct ha_fsm f;
    ha_fsm_init(&f, true, CHECK, 0);
    struct ha_input in = { .kind = HA_IN_TICK };
    ha_fsm_step(&f, &in, 0);
    in = (struct ha_input){ .kind = HA_IN_ATTEMPT_DONE, .ok = true, .got_lock = true };
    ha_fsm_step(&f, &in, 5);
    /* Before any tick after waking up, the predicate alone already says no. */
    assert_true(ha_fsm_may_act(&f, 2000));
    assert_false(ha_fsm_may_act(&f, 2001));
    assert_false(ha_fsm_may_act(&f, 6010));
}

/* A lock granted after the attempt waited long in the writer's queue:
 * confirmed counts from when the query ran. */
static void test_attempt_ran_late(void **state)
{
    (void)state;
    static const struct row rows[] = {
        { 0, T, .actions = HA_DO_ATTEMPT, .role = F },
        { 2500, A, .ok = true, .got = true, .ran = 2400, .actions = HA_DO_LEAD, .role = L,
          .may_act = true, .wake = 2500 },
        { 2500, T, .actions = HA_DO_CONFIRM, .role = L, .may_act = true, .wake = 3500 },
    };
    RUN("late attempt", true, rows);
}

/* The clock check and the standby check. */
static void test_clock_and_standby(void **state)
{
    (void)state;
    static const struct row rows[] = {
        { 0, T, .actions = HA_DO_ATTEMPT, .role = F },
        { 5, A, .ok = true, .recovery = true, .actions = HA_DO_REFUSE_STANDBY, .role = F,
          .wake = 2000 },
        { 2000, T, .actions = HA_DO_ATTEMPT, .role = F },
        { 2005, A, .ok = true, .got = false, .skew = 6000, .actions = HA_DO_REFUSE_CLOCK,
          .role = F, .wake = 4000 },
        { 4000, T, .actions = HA_DO_ATTEMPT, .role = F },
        /* a lock the job should not have asked for is never acted on */
        { 4005, A, .ok = true, .got = true, .skew = -5001, .actions = HA_DO_REFUSE_CLOCK,
          .role = F, .wake = 6000 },
        { 6000, T, .actions = HA_DO_ATTEMPT, .role = F },
        { 6005, A, .ok = true, .got = true, .skew = -1500, .ran = 6001,
          .actions = HA_DO_WARN_CLOCK | HA_DO_LEAD, .role = L, .may_act = true },
    };
    RUN("clock", true, rows);
    assert_true(ha_fsm_clock_allows(5000));
    assert_true(ha_fsm_clock_allows(-5000));
    assert_false(ha_fsm_clock_allows(5001));
}

/* SQLite: the leader from the start, forever; only pings (for the
 * watchdog) go to the writer, and their failure changes nothing. */
static void test_not_shared(void **state)
{
    (void)state;
    static const struct row rows[] = {
        { 0, T, .actions = HA_DO_CONFIRM, .role = L, .may_act = true, .wake = 1000 },
        { 10, C, .ok = false, .role = L, .may_act = true, .wake = 1000 },
        { 1000, T, .actions = HA_DO_CONFIRM, .role = L, .may_act = true, .wake = 2000 },
        { 99000, T, .role = L, .may_act = true },
        { 99001, C, .ok = true, .actions = HA_DO_CONFIRM, .role = L, .may_act = true,
          .wake = 100001 },
    };
    RUN("sqlite", false, rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_win_and_confirm),
        cmocka_unit_test(test_no_confirmation_steps_down),
        cmocka_unit_test(test_failed_confirmation),
        cmocka_unit_test(test_session_error),
        cmocka_unit_test(test_suspect_confirms_now),
        cmocka_unit_test(test_stopped_process),
        cmocka_unit_test(test_attempt_ran_late),
        cmocka_unit_test(test_clock_and_standby),
        cmocka_unit_test(test_not_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
