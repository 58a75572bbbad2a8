/*
 * store_outbox.h — the alerts outbox (DESIGN section 5): events, their
 * deliveries to each webhook, and the small state the alert rules keep per
 * key result and per source so that a restart neither loses nor repeats an
 * alert.
 *
 * An event row and its delivery rows are written in ONE call
 * (store_outbox_add), inside the caller's transaction when one is open (the
 * evaluation's), so a crash can neither lose nor invent an alert. Rows are
 * ordered by the outbox's AUTOINCREMENT seq: per webhook, the oldest pending
 * delivery is the one to send next.
 *
 * Times are UTC Unix seconds, 0 = never/none.
 */
#ifndef OKRD_STORE_OUTBOX_H
#define OKRD_STORE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* ---- events ---- */

struct store_event {
    const char *id;            /* "evt_<ULID>", unique; the webhook-id header */
    const char *type;          /* "kr.off_track", "digest.weekly", ... */
    const char *objective_id;  /* NULL when the event has none */
    const char *kr_id;         /* NULL when the event has none */
    int64_t occurred_at_s;     /* the evaluation time t that raised it */
    int64_t created_at_s;
    const char *body;          /* the JSON body, built once, sent verbatim */
};

/* Where an event goes: one webhook, and the max_age its delivery keeps for
 * life (the webhook's at the event's creation; 0 = not known). */
struct store_route {
    const char *webhook_id;
    int64_t max_age_ms;
};

/* Writes the event and one pending delivery per route (none is fine: the
 * event is then kept for the record only). All or nothing; inside an open
 * transaction it commits with it. */
int store_outbox_add(struct store *s, const struct store_event *ev,
                     const struct store_route *routes, size_t n_routes, struct okrd_err *err);

/* The highest outbox seq written (0 when empty): cheap "anything new?". */
int store_outbox_last_seq(struct store *s, int64_t *out, struct okrd_err *err);

/* ---- deliveries ---- */

struct store_delivery {
    char event_id[64];
    char type[32];
    char webhook_id[132];
    char state[12];            /* "pending", "delivered", "dead" */
    int attempts;              /* HTTP attempts made so far */
    int refusals;              /* answers 400/413/422 so far */
    int parts_done;            /* Slack messages of a split digest already sent */
    int64_t next_attempt_s;    /* not before this time (0 = at once) */
    int last_status;           /* last HTTP status, 0 = none (network error / never) */
    char last_error[256];      /* "" = none */
    int64_t occurred_at_s;
    int64_t created_at_s;
    int64_t delivered_at_s;    /* 0 = not delivered */
    char objective_id[132];    /* "" = none */
    char kr_id[132];           /* "" = none */
    int64_t seq;               /* creation order */
    int64_t max_age_ms;        /* recorded at creation; 0 = not recorded (older rows) */
};

/* Calls cb for each delivery in STATE ("pending", "dead", "delivered";
 * NULL = all), oldest event first (then by webhook id). A non-zero return
 * from cb stops the walk and is returned. For `okrd status` and the API. */
int store_each_delivery(struct store *s, const char *state,
                        int (*cb)(void *ctx, const struct store_delivery *d), void *ctx,
                        struct okrd_err *err);

/* The oldest pending delivery of WEBHOOK_ID: 0 with *out and *body (the
 * event's body, malloc'd, the caller frees), or OKRD_ENOTFOUND. */
int store_next_delivery(struct store *s, const char *webhook_id, struct store_delivery *out,
                        char **body, struct okrd_err *err);

/* What an attempt changed: the delivery row of (event, webhook) gets these
 * fields (state, attempts, refusals, parts_done, next_attempt_s,
 * last_status, last_error, delivered_at_s). */
int store_update_delivery(struct store *s, const struct store_delivery *d, struct okrd_err *err);

/* A webhook that answered 410 Gone is disabled until the next reload or
 * restart (DESIGN section 5); the store records it (DESIGN section 10) so
 * that a node taking over, or the same node leading again after a
 * step-down, keeps it disabled. Each record gets the next number of a
 * counter that never goes back (rows are never deleted: one per webhook
 * id, a later 410 renumbers it); a node notes the highest number when it
 * starts or reloads (its "mark"), and a webhook is disabled for that node
 * while its number is above the mark. Numbers, not times: no clock of two
 * hosts is compared. AT_MS (when the 410 came) is for people. Writing. */
int store_disable_webhook(struct store *s, const char *webhook_id, int64_t at_ms,
                          struct okrd_err *err);
/* The highest number given so far (0: none). */
int store_webhooks_disabled_mark(struct store *s, int64_t *mark, struct okrd_err *err);
/* WEBHOOK_ID's record: 0 with *seq and *at_ms, or OKRD_ENOTFOUND. */
int store_webhook_disabled(struct store *s, const char *webhook_id, int64_t *seq, int64_t *at_ms,
                           struct okrd_err *err);

/* Orphans are the pending deliveries of webhooks not in CONFIGURED (removed
 * from the config, or renamed): they wait for their id to come back. Those
 * whose max_age (the one recorded with each; DEFAULT_MAX_AGE_MS for rows
 * that recorded none) has run out at NOW_MS become dead, WHY appended to
 * their last error, and ON_DEAD (may be NULL) hears of each. *n_dead = rows
 * dead-lettered now; *next_ms = when the next orphan runs out (0 = no
 * orphan left). */
struct store_orphan_expiry {
    const char *const *configured;
    size_t n_configured;
    int64_t now_ms;
    int64_t default_max_age_ms;
    const char *why;
    void (*on_dead)(void *ctx, const char *webhook_id, const char *event_id, const char *type);
    void *ctx;
};
int store_expire_orphans(struct store *s, const struct store_orphan_expiry *q, int64_t *n_dead,
                         int64_t *next_ms, struct okrd_err *err);

/* How many pending deliveries are orphans (see above). Read-only: works on
 * the read-only connection of `okrd status` and the API. */
int store_count_orphans(struct store *s, const char *const *configured, size_t n_configured,
                        int64_t *out, struct okrd_err *err);

/* Counts per state, over every webhook (webhook_id NULL) or one. */
struct store_delivery_counts {
    int64_t pending, delivered, dead;
    int64_t retries;           /* attempts beyond the first, summed */
};
int store_delivery_counts(struct store *s, const char *webhook_id,
                          struct store_delivery_counts *out, struct okrd_err *err);

/* Retention: deletes events created before BEFORE_S that have no pending
 * delivery (their deliveries go with them). *n_out = events deleted. */
int store_outbox_prune(struct store *s, int64_t before_s, int64_t *n_out, struct okrd_err *err);

/* ---- alert rule state ---- */

/* Per key result, what the rules remember between evaluations (and across
 * restarts). Statuses are okr_status_name() strings; "" = none. */
struct store_alert_kr {
    char announced[16];        /* the status the rules last settled on */
    char previous[16];         /* the one before it (previous_status of repeats) */
    char candidate[16];        /* a different status seen, not yet held `for` */
    int64_t candidate_since_s;
    int64_t last_sent_s;       /* last at_risk/off_track event (repeat clock) */
    int64_t achieved_cycle_s;  /* cycle start of the last kr.achieved, 0 = none */
    bool stale;                /* the stale flag as last announced */
};
int store_get_alert_kr(struct store *s, const char *kr_id, struct store_alert_kr *out,
                       struct okrd_err *err);  /* OKRD_ENOTFOUND when none */
int store_put_alert_kr(struct store *s, const char *kr_id, const struct store_alert_kr *in,
                       struct okrd_err *err);

/* Per source: whether source.failing was announced (and not yet recovered). */
struct store_alert_source {
    bool failing;
    int64_t since_s;
};
int store_get_alert_source(struct store *s, const char *source, struct store_alert_source *out,
                           struct okrd_err *err);  /* OKRD_ENOTFOUND when none */
int store_put_alert_source(struct store *s, const char *source,
                           const struct store_alert_source *in, struct okrd_err *err);
/* CB(ctx, source) for every source whose source.failing stands (in byte
 * order); a source without a row never failed. A non-zero CB return stops
 * the walk and is returned. Why: the leader learns every source's state
 * in one read when it starts, instead of one read at each source's first
 * report (1,000 sources: 1,000 jobs). */
int store_each_failing_source(struct store *s, int (*cb)(void *ctx, const char *source),
                              void *ctx, struct okrd_err *err);

/* A named integer (e.g. "digest_last": the last weekly digest's time). */
int store_get_alert_meta(struct store *s, const char *key, int64_t *out, struct okrd_err *err);
int store_put_alert_meta(struct store *s, const char *key, int64_t value, struct okrd_err *err);

#endif
