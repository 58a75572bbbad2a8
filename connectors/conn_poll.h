/*
 * conn_poll.h — what the polled sources (http_json, prometheus) share: the
 * schedule, backoff, failure reporting and the health record.
 *
 * Deciding is split from waiting (STYLE): "when is the next poll?" and
 * "which log line does this outcome deserve?" are pure functions of the
 * state and the time, tested without a loop; the runtime below only arms a
 * uv timer for the time they return.
 *
 * Schedule: the first poll at start-up; then every interval, ±10% jitter,
 * counted from the start of the previous poll. After n consecutive failures
 * the delay is interval × 2^(n-1), capped at interval × 8 (same jitter); a
 * Retry-After from a 429/503 answer is honoured when longer (up to a day).
 */
#ifndef OKRD_CONN_POLL_H
#define OKRD_CONN_POLL_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "http_extract.h"

#define CONN_POLL_JITTER 0.10            /* ±10% */
#define CONN_POLL_BACKOFF_CAP 8          /* × interval */
#define CONN_POLL_RETRY_AFTER_MAX_MS (24LL * 3600 * 1000)

/* ---- deciding (pure) ---- */

struct conn_poll_sched {
    int64_t interval_ms;
    int failures;            /* consecutive failed polls, this run */
    int64_t retry_after_ms;  /* asked by the last failed answer; 0 = none */
};

/* Delay from the previous poll's start to the next one. jitter in [-1, 1]
 * scales the ±10%. Never below Retry-After. */
int64_t conn_poll_delay_ms(const struct conn_poll_sched *s, double jitter);

/* The next poll's wall-clock time (ms): last_start_ms + the delay, but not
 * before now_ms (a poll that took longer than the interval is followed at
 * once, not by a burst). */
int64_t conn_poll_next_ms(const struct conn_poll_sched *s, int64_t last_start_ms,
                          int64_t now_ms, double jitter);

enum conn_poll_state { CONN_POLL_UNKNOWN, CONN_POLL_OK, CONN_POLL_FAILING };

/* The log line an outcome deserves: one per change of state, never one per
 * poll of the same failure. */
enum conn_poll_event {
    CONN_EV_NONE,
    CONN_EV_FIRST_OK,        /* info: the first success of this run */
    CONN_EV_FAILED,          /* warning: a failure began, or its kind changed */
    CONN_EV_FAILING,         /* error: failing_after consecutive failures reached */
    CONN_EV_RECOVERED,       /* info: a success after failures */
};

struct conn_poll_report {
    enum conn_poll_state state;
    char kind[64];           /* the failure's kind ("http 500", "timeout"), "" when ok */
};

/* Given the report state before the outcome, the consecutive failures
 * counted INCLUDING this outcome (0 after a success) and the kind of this
 * failure (NULL after a success): the event to report. Updates *r. */
enum conn_poll_event conn_poll_decide_report(struct conn_poll_report *r, bool ok,
                                             const char *kind, int failures, int failing_after);

/* ---- the runtime ---- */

/* One poll's outcome, handed to conn_poll_finish. */
struct conn_poll_result {
    bool ok;                 /* the poll succeeded (points may be 0) */
    bool cancelled;          /* the client closed under it: no health, no schedule */
    struct http_points pts;  /* moved in: conn_poll frees it */
    char kind[64];           /* failure kind, stable across polls of the same problem */
    char reason[256];        /* failure message: no URL, no header value */
    int64_t retry_after_ms;  /* 0 = none */
};

/* A source type's part of a polled source. */
struct conn_poll_ops {
    /* Starts one poll; conn_poll_finish(c, ...) follows exactly once, later
     * or from inside this call. */
    void (*poll)(struct conn *c, void *impl);
    /* Drops a poll in flight: conn_poll_finish must not follow. */
    void (*cancel)(void *impl);
    /* Frees impl, once the source closed. */
    void (*free)(void *impl);
};

/* Starts a polled source (its first poll on the next loop turn). impl is
 * the type's state, owned by the source from here on (also on failure). */
int conn_poll_start(struct conn **out, const struct cfg_source *src, const struct conn_env *env,
                    int64_t interval_ms, int failing_after, const struct conn_poll_ops *ops,
                    void *impl, struct okrd_err *err);

/* struct conn_type's close for polled sources. */
void conn_poll_close(struct conn *c, void (*on_closed)(void *arg), void *arg);

/* Hands a poll's outcome over: its points are stored as one batch through
 * the writer, with the health record in the same transaction; then the
 * env callbacks run and the next poll is scheduled. Moves res->pts. */
void conn_poll_finish(struct conn *c, struct conn_poll_result *res);

struct httpc_response;
/* The common part of judging an HTTP answer: true (and RES filled as a
 * failure, or as cancelled) for a transport failure or a non-2xx status,
 * with Retry-After taken on 429/503; false for a 2xx the caller parses. */
bool conn_poll_http_failure(const struct httpc_response *r, int64_t now_s,
                            struct conn_poll_result *res);

const struct conn_env *conn_poll_env(const struct conn *c);
const struct cfg_source *conn_poll_source(const struct conn *c);
/* The second the running poll started (stamps points without a timestamp). */
int64_t conn_poll_started_s(const struct conn *c);

#endif
