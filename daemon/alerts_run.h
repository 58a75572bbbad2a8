/*
 * alerts_run.h — what the two halves of the daemon's alerting share (not
 * for other daemon files: they use the okrd_alerts_* hooks of okrd.h).
 * alerts_run.c runs the webhook senders and the lifecycle; alerts_side.c
 * the writer jobs beside them: source health events, the weekly digest,
 * housekeeping.
 */
#ifndef OKRD_ALERTS_RUN_H
#define OKRD_ALERTS_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "alerts/alerts.h"
#include "alerts/alerts_chain.h"
#include "common/okrd_rand.h"
#include "okrd.h"

#define STOP_GRACE_MS 5000 /* in-flight deliveries at shutdown */
#define HOUSEKEEPING_MS (6 * 3600 * 1000)
#define STORE_RETRY_MS 5000
#define ORPHAN_DEAD_WHY "(max_age reached while no webhook with this id was configured)"

struct hook {
    struct alerts_sender *a;
    char *id;
    char *url;                     /* secret: never logged */
    enum cfg_webhook_format format;
    unsigned char key[ALERTS_KEY_MAX];
    size_t key_len;                /* 0 = unsigned */
    int64_t timeout_ms, max_age_ms;
    uv_timer_t timer;              /* the chain's WAITING */
    struct alerts_chain chain;     /* what comes next (alerts/alerts_chain.h) */
    bool disabled;                 /* answered 410: until the next reload or restart
                                    * (recorded in the store: a takeover keeps it) */
    bool removed;                  /* gone from the config: closes when idle; its
                                    * deliveries wait as orphans for the id to return */
    bool closed;
    bool failing;                  /* in a streak of failed attempts (log start/end) */
    struct httpc_req *req;
    struct store_delivery cur;     /* the delivery in hand */
    char *body;                    /* its stored json body */
    int n_parts;
};

struct src_state {
    char *id;
    enum { SRC_UNKNOWN, SRC_OK, SRC_FAILING } known;
    bool busy;
};

struct alerts_sender {
    struct okrd *d;
    struct hook **hooks;
    size_t n_hooks;
    struct src_state *srcs;
    size_t n_srcs;
    uv_timer_t digest, housekeeping, stop_timer;
    int64_t digest_slot_s;
    int64_t last_seq;
    struct okrd_rand rng;          /* retry jitter */
    size_t jobs;                   /* writer jobs in flight */
    size_t open_handles;
    bool stopping, finished;
    void (*stop_done)(struct okrd *d);
};

/* A writer job of the alerts side; one struct for every kind, each using
 * the fields it needs. */
struct job {
    struct alerts_sender *a;
    struct hook *h;
    struct okrd_cfg_hold *hold;
    int (*run)(struct store *w, struct job *j, struct okrd_err *err);
    void (*done)(struct job *j, int rc, const struct okrd_err *err);
    struct store_delivery row;     /* record */
    enum alerts_verdict verdict;
    char src_id[132];              /* source health */
    bool ok, failing_now;          /* source health: the flag as now stored */
    struct store_source_health health;
    int n_events;
    int64_t now_s, slot_s;         /* digest, housekeeping */
    int64_t now_ms, next_ms;       /* housekeeping: now, when the next orphan runs out */
    char event_id[40];
    char *body;
};

/* Queues J on the writer (J->a set here); frees J and returns -1 when the
 * writer is gone. J->done runs on the loop unless the sender finished. */
int alerts_submit(struct alerts_sender *a, struct job *j);

/* alerts_side.c */
void alerts_housekeeping(struct alerts_sender *a);
void alerts_arm_digest(struct alerts_sender *a);
void alerts_on_digest(uv_timer_t *t);
void alerts_on_housekeeping(uv_timer_t *t);
void alerts_arm_housekeeping(struct alerts_sender *a, int64_t next_orphan_ms);
/* Reads which sources stand failing, so a healthy source's first report
 * needs no writer job (at start, before any health job). */
void alerts_load_source_states(struct alerts_sender *a);

/* alerts_run.c */
void alerts_pump_all(struct alerts_sender *a);
void alerts_kick_if_new(struct alerts_sender *a);

#endif
