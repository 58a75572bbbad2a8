/*
 * ha.h — the daemon's high-availability role (DESIGN section 10).
 *
 * Two layers:
 *  - ha_fsm.c: the decisions, a pure function of (state, input, now) with
 *    no I/O and no clock of its own, so a table can test every rule
 *    (tests/unit/test_ha.c);
 *  - ha.c: carries them out on the loop: a timer, the lock and confirmation
 *    jobs on the store's writer, the LISTEN connection, and starting and
 *    stopping the leader-only work (sources, evaluation, alerts, reminders).
 *
 * On a store that is not shared (SQLite) the node is the leader for its
 * whole life and nothing of this competes; only the writer pings that feed
 * the watchdog run.
 */
#ifndef OKRD_DAEMON_HA_H
#define OKRD_DAEMON_HA_H

#include <stdbool.h>
#include <stdint.h>

/* ---- the pure part (ha_fsm.c) ---- */

#define HA_CLOCK_WARN_MS 1000   /* warn when the server's clock is this far off */
#define HA_CLOCK_REFUSE_MS 5000 /* and take no lock while it is further off */

enum ha_role { HA_FOLLOWER, HA_LEADER };

/* What the state machine knows. Times are monotonic milliseconds. */
struct ha_fsm {
    bool shared;              /* false: SQLite, always the leader */
    int64_t check_ms;         /* store.ha.takeover_check */
    enum ha_role role;
    uint64_t epoch;           /* bumped at every change of role */
    int64_t confirmed_ms;     /* leader: when the last confirmed query was SENT */
    int64_t stepped_down_ms;  /* INT64_MIN: never (compete at once) */
    int64_t sent_ms;          /* when the job in flight was sent */
    bool busy;                /* a lock attempt or a confirmation is in flight */
    bool session_bad;         /* the writer's session failed: reconnect before competing */
};

enum ha_input_kind {
    HA_IN_TICK,               /* the timer fired (or anything else: re-decide) */
    HA_IN_ATTEMPT_DONE,       /* a lock attempt came back */
    HA_IN_CONFIRM_DONE,       /* a confirmation came back */
    HA_IN_SESSION_ERROR,      /* another job on the writer met a connection error */
    HA_IN_SUSPECT,            /* the leader's idle writer session has something unasked
                               * to read (the server is ending it): confirm now */
};

struct ha_input {
    enum ha_input_kind kind;
    bool ok;                  /* the query ran (false: a connection error or timeout) */
    bool got_lock;            /* ATTEMPT_DONE: pg_try_advisory_lock said true */
    bool in_recovery;         /* ATTEMPT_DONE: the server is a standby */
    int64_t skew_ms;          /* ATTEMPT_DONE: server clock minus ours */
    int64_t ran_ms;           /* when the query went to the server (0: when sent) */
};

enum {
    HA_DO_ATTEMPT = 1u << 0,     /* send a lock attempt (writer job) */
    HA_DO_CONFIRM = 1u << 1,     /* send a confirmation (writer job) */
    HA_DO_LEAD = 1u << 2,        /* became the leader: start acting */
    HA_DO_STEP_DOWN = 1u << 3,   /* stop acting at once, release the lock */
    HA_DO_WARN_CLOCK = 1u << 4,  /* the clock is more than 1 s off */
    HA_DO_REFUSE_CLOCK = 1u << 5,/* ... more than 5 s off: no lock taken */
    HA_DO_REFUSE_STANDBY = 1u << 6, /* the server is in recovery */
};

enum ha_why {
    HA_WHY_NONE,
    HA_WHY_NO_CONFIRMATION,   /* none within takeover_check */
    HA_WHY_SESSION_FAILED,    /* a confirmation failed */
};

struct ha_output {
    unsigned actions;          /* HA_DO_* */
    enum ha_why why;           /* for HA_DO_STEP_DOWN */
    int64_t wake_ms;           /* call again (HA_IN_TICK) at this time */
};

void ha_fsm_init(struct ha_fsm *f, bool shared, int64_t check_ms, int64_t now_ms);
/* Applies IN at NOW_MS to F and says what to do. Never fails. */
struct ha_output ha_fsm_step(struct ha_fsm *f, const struct ha_input *in, int64_t now_ms);
/* The lock may be asked for with the server's clock SKEW_MS off ours. */
bool ha_fsm_clock_allows(int64_t skew_ms);
/* The node may act as leader at NOW_MS: it is the leader and its last
 * confirmation is not older than takeover_check. */
bool ha_fsm_may_act(const struct ha_fsm *f, int64_t now_ms);

/* ---- the daemon's part (ha.c) ---- */

struct okrd;
struct okrd_err;

/* init: before anything asks okrd_may_act (the reader must be open: it
 * says whether the store is shared). start: after the API, as the last
 * step of start-up; on a store that is not shared it starts the
 * leader-only work at once. stop: at shutdown (the lock goes with the
 * writer's session). free: after the loop ended. */
int okrd_ha_init(struct okrd *d, struct okrd_err *err);
int okrd_ha_start(struct okrd *d, struct okrd_err *err);
void okrd_ha_stop(struct okrd *d);
void okrd_ha_free(struct okrd *d);
/* The one predicate leader-only work asks (DESIGN section 10). */
bool okrd_may_act(const struct okrd *d);
/* "leader" or "follower", for /healthz, /metrics and STATUS=. */
const char *okrd_ha_role(const struct okrd *d);
/* The watchdog may be fed: the writer answered within WITHIN_MS. */
bool okrd_ha_writer_answers(const struct okrd *d, int64_t within_ms);
/* A leader job on the writer failed with RC: a connection error (OKRD_EIO)
 * makes the leader stop acting at once, not at its next confirmation. */
void okrd_ha_job_failed(struct okrd *d, int rc);
/* The earliest time (clock seconds) the leader may stamp an event: never
 * earlier than the newest occurred_at in the outbox when it took over. */
int64_t okrd_ha_event_floor_s(const struct okrd *d);

#endif
