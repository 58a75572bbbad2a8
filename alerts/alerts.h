/*
 * alerts.h — status transitions → outbox rows → webhook deliveries
 * (DESIGN section 5).
 *
 * The evaluator hands every key-result evaluation to the alerts module
 * through alerts_on_kr_change(), called on the store's writer thread INSIDE
 * the transaction that records the new state, so an event row and the
 * status it reports commit together or not at all.
 *
 * Files: alerts.c (the writer-thread seams: key results, sources, digests;
 * event ids; webhook filters), alerts_rules.c (the pure transition rules:
 * `for`, `repeat`, achieved once per cycle, final grades), alerts_payload.c
 * (the json bodies and summary sentences), alerts_slack.c (Slack bodies,
 * split at 50 blocks), alerts_digest.c (the weekly digest), alerts_sign.c
 * (Standard Webhooks signatures), alerts_deliver.c (what an answer means:
 * delivered, retry when, dead). Sending itself is daemon/alerts_run.c: this
 * module does no I/O beyond the store calls it is handed, and never logs.
 */
#ifndef OKRD_ALERTS_H
#define OKRD_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "okr/okr_view.h"
#include "common/okrd_err.h"
#include "config/config.h"
#include "okr/okr.h"
#include "store/store.h"
#include "store/store_outbox.h"

/* ---- events ---- */

enum alerts_event {
    ALERTS_EV_NONE = 0,
    ALERTS_KR_AT_RISK,
    ALERTS_KR_OFF_TRACK,
    ALERTS_KR_BACK_ON_TRACK,
    ALERTS_KR_ACHIEVED,
    ALERTS_KR_MISSED,
    ALERTS_KR_STALE,
    ALERTS_KR_FRESH,
    ALERTS_KR_CHECK_IN,        /* a check-in first seen by an evaluation (DESIGN section 8) */
    ALERTS_SOURCE_FAILING,
    ALERTS_SOURCE_RECOVERED,
    ALERTS_DIGEST_WEEKLY,
    ALERTS_N_EVENTS
};

/* "kr.off_track", ...; "" for ALERTS_EV_NONE. Static strings. */
const char *alerts_event_name(enum alerts_event e);

/* A new event id, "evt_" + a ULID (48-bit milliseconds, 80 random bits),
 * into out (at least 31 bytes). */
void alerts_new_event_id(int64_t now_ms, char *out, size_t size);

/* Whether webhook W takes an event of TYPE about OBJECTIVE_ID (NULL for
 * events about no objective: those pass any objectives filter). An omitted
 * filter means all. */
bool alerts_webhook_wants(const struct cfg_webhook *w, const char *type,
                          const char *objective_id);

#define ALERTS_DEFAULT_MAX_AGE_MS (72LL * 3600 * 1000)

/* W's max_age (ALERTS_DEFAULT_MAX_AGE_MS when unset; NULL = a webhook no
 * longer configured). Recorded with each delivery when it is created. */
int64_t alerts_webhook_max_age_ms(const struct cfg_webhook *w);

/* ---- the rules (alerts_rules.c): pure, time is an argument ---- */

#define ALERTS_NO_STATUS OKR_N_STATUSES /* "none": never evaluated */

/* What the rules remember about one key result between evaluations. */
struct alerts_kr_memory {
    enum okr_status announced;   /* the status last settled on, or ALERTS_NO_STATUS */
    enum okr_status previous;    /* the one before it, or ALERTS_NO_STATUS */
    enum okr_status candidate;   /* a different status waiting out `for`, or ALERTS_NO_STATUS */
    int64_t candidate_since_s;
    int64_t last_sent_s;         /* the repeat clock */
    int64_t achieved_cycle_s;    /* cycle start of the last kr.achieved; 0 = none */
    bool stale;
};

struct alerts_rules {
    int64_t for_s;               /* alerts.for */
    int64_t repeat_s;            /* alerts.repeat; 0 = never */
    int64_t grade_after_s;       /* alerts.grade_after */
};

/* One evaluation's outcome as the rules see it. */
struct alerts_kr_now {
    enum okr_status status;
    bool final;                  /* t >= cycle end (okr_result.final) */
    bool stale;
    int64_t cycle_start_s, cycle_end_s;
};

struct alerts_raised {
    enum alerts_event type;
    enum okr_status previous;    /* previous_status in the body (ALERTS_NO_STATUS = null) */
};

/* The event a settled change FROM -> TO raises (ALERTS_EV_NONE if quiet):
 * entering at_risk, off_track, achieved or missed from another status
 * raises that event; entering on_track raises back_on_track only from
 * at_risk/off_track. FROM may be ALERTS_NO_STATUS. */
enum alerts_event alerts_status_event(enum okr_status from, enum okr_status to);

/* The memory of a key result the rules have never seen: settled on its
 * STORED status (NULL = never evaluated), so a restart — or the first run
 * after an upgrade — does not re-alert. */
void alerts_kr_memory_init(struct alerts_kr_memory *m, const char *stored_status,
                           bool stored_stale, int64_t cycle_start_s, int64_t now_s);

/* Applies one evaluation at now_s to *m and writes the events it raises
 * (at most 2: a status event and a stale/fresh one) into out; returns how
 * many. */
size_t alerts_kr_step(struct alerts_kr_memory *m, const struct alerts_rules *r,
                      const struct alerts_kr_now *now, int64_t now_s, struct alerts_raised out[2]);

/* source.failing once FAILURES reach FAILING_AFTER (*failing false -> true),
 * source.recovered on the first success after that. */
enum alerts_event alerts_source_step(bool *failing, bool ok, int failures, int failing_after);

/* Conversions between the memory and its stored row. */
void alerts_kr_memory_from_row(struct alerts_kr_memory *m, const struct store_alert_kr *row);
void alerts_kr_memory_to_row(const struct alerts_kr_memory *m, struct store_alert_kr *row);

/* ---- the writer-thread seams (alerts.c) ---- */

/* Key result I of snapshot S was evaluated at now_s (S->results[I] its
 * result with the EFFECTIVE status, S->stale[I] its staleness; its check-in
 * and computed status go into the bodies): BEFORE is its stored state (NULL
 * the first time ever). Called for every evaluation (the `for`/`repeat`
 * rules depend on time passing, not only on changes). Writes its alert
 * state and any outbox rows through W, inside the caller's transaction.
 * Returns 0 or a negative code (the transaction then rolls back). */
int alerts_on_kr_change(struct store *w, const struct cfg *cfg, const struct eval_snapshot *s,
                        size_t i, const struct store_kr_state *before, int64_t now_s,
                        struct okrd_err *err);

/* Check-in C of key result I of snapshot S, seen for the first time by the
 * evaluation at now_s (S at now_s): writes its kr.check_in event for every
 * webhook whose `events` and `objectives` filters take it, inside the
 * caller's transaction. The caller marks C announced in that transaction. */
int alerts_on_checkin(struct store *w, const struct cfg *cfg, const struct eval_snapshot *s,
                      size_t i, const struct okrd_checkin *c, int64_t now_s,
                      struct okrd_err *err);

/* A source's health as now stored (H; OK = the last attempt succeeded):
 * raises source.failing / source.recovered. *n_events = events written;
 * *failing (may be NULL) = the source's alert state as stored after it. */
int alerts_on_source_health(struct store *w, const struct cfg *cfg, const char *source_id,
                            bool ok, const struct store_source_health *h, int64_t now_s,
                            int *n_events, bool *failing, struct okrd_err *err);

/* Writes the weekly digest for the slot at SLOT_S (BODY built by
 * alerts_digest_body with event id ID) unless that slot was already sent;
 * *n_events = 1 when written. */
int alerts_add_digest(struct store *w, const struct cfg *cfg, const char *id, const char *body,
                      int64_t occurred_s, int64_t slot_s, int *n_events, struct okrd_err *err);

/* ---- bodies (alerts_payload.c, alerts_slack.c, alerts_digest.c) ---- */

/* The json body of a key-result event (DESIGN section 5). Returns a
 * malloc'd string (caller frees) or NULL when out of memory. */
char *alerts_kr_body(const char *id, enum alerts_event type, int64_t occurred_s,
                     const struct cfg_key_result *kr, const struct okr_result *r, bool stale,
                     enum okr_status previous);

/* The same body for key result I of snapshot S (its computed status and
 * check-in included), previous_status PREVIOUS. */
char *alerts_kr_body_of(const char *id, enum alerts_event type, int64_t occurred_s,
                        const struct eval_snapshot *s, size_t i, enum okr_status previous);

/* The kr.check_in body (DESIGN section 8): {"id", "type", "occurred_at",
 * "objective", "check_in", "key_result", "summary"}, the key result as
 * key result I of snapshot S shows it (alerts_kr_body_of's object).
 * Returns a malloc'd string or NULL when out of memory. */
char *alerts_checkin_body(const char *id, int64_t occurred_s, const struct eval_snapshot *s,
                          size_t i, const struct okrd_checkin *c);

/* Its summary: "alice checked in on TITLE: confidence 6/10, at risk until
 * 2026-12-15T00:00:00Z." (the comment is not in it: Slack shows it apart). */
void alerts_checkin_summary(char *buf, size_t size, const struct cfg_key_result *kr,
                            const struct okrd_checkin *c);

/* The summary sentence of a key-result event, plain English with numbers. */
void alerts_kr_summary(char *buf, size_t size, enum alerts_event type,
                       const struct cfg_key_result *kr, const struct okr_result *r);

/* The json body of source.failing / source.recovered. */
char *alerts_source_body(const char *id, enum alerts_event type, int64_t occurred_s,
                         const char *source_id, const char *source_type,
                         const struct store_source_health *h);

/* "1040", "4.63", "0.5": at most 2 decimals, no trailing zeros; "n/a" for NaN. */
void alerts_fmt_num(char *buf, size_t size, double v);

/* The forecast of DESIGN section 9 as a phrase for Slack alert and digest
 * lines: "34% likely to reach 1,200 by 31 Dec" (of == value; the target
 * with thousands separators, END_DATE the cycle's end day "YYYY-MM-DD");
 * "34% likely to keep \u2265 8 on 90% of days" (share; \u2264 for at_most;
 * AT_RISK the share needed, or NaN when unknown: "on enough days"). The
 * percentage is rounded, but never to 0% or 100% unless it is exactly that
 * ("<1%", ">99%"). */
void alerts_forecast_phrase(char *buf, size_t size, double probability, bool share,
                            bool at_most, double target, double at_risk, const char *end_date);

/* The weekly digest of snapshot S (numbers at s->at_s): every key result
 * grouped by objective with progress, expected, projected score, status,
 * WEEK_AGO[i] (its status a week before, NULL = unknown) and, once its cycle
 * ended, the final grade. Returns a malloc'd JSON string or NULL. */
char *alerts_digest_body(const struct eval_snapshot *s, const char *const *week_ago,
                         const char *id, int64_t week_from_s);

/* The next digest instant strictly after now_s: WEEKDAY (0 = Sunday) at
 * MINUTE after local midnight in TZ (NULL = UTC). */
int64_t alerts_next_digest_s(int weekday, int minute, const struct okrd_tz *tz, int64_t now_s);

/* Renders a stored json body for a Slack-compatible webhook: message PART
 * (0-based) of *n_parts (a digest over 50 blocks is split; every other
 * event is one message). *out is malloc'd (caller frees). 0, or OKRD_EINVAL
 * for a body that is not one of ours, OKRD_ENOMEM. Deterministic: the same
 * body renders the same bytes on every retry. */
int alerts_slack_render(const char *body, int part, char **out, int *n_parts);

#define ALERTS_SLACK_MAX_BLOCKS 50

/* ---- signing (alerts_sign.c): Standard Webhooks ---- */

#define ALERTS_KEY_MAX 128
#define ALERTS_SIGNATURE_MAX 64 /* "v1," + 44 base64 characters + NUL */

/* The HMAC key of a "whsec_<base64>" secret (the prefix is optional).
 * 0 and *len, or OKRD_EINVAL (not base64, empty or longer than the buffer). */
int alerts_secret_key(const char *secret, unsigned char key[ALERTS_KEY_MAX], size_t *len);

/* "v1,<base64(HMAC-SHA256(key, id.timestamp.body))>" into out. */
int alerts_sign(const unsigned char *key, size_t key_len, const char *id, int64_t timestamp_s,
                const char *body, size_t body_len, char out[ALERTS_SIGNATURE_MAX]);

/* ---- delivery decisions (alerts_deliver.c): pure ---- */

#define ALERTS_RETRY_BASE_MS 5000
#define ALERTS_RETRY_CAP_MS 3600000
#define ALERTS_MAX_REFUSALS 3

/* The delay before the N-th retry (N >= 1: the N-th failed attempt just
 * happened): 5 s x 2^(N-1), with JITTER01 in [0, 1) mapped to x0.8..x1.2,
 * capped at 1 h. */
int64_t alerts_retry_delay_ms(int n, double jitter01);

enum alerts_verdict {
    ALERTS_DELIVERED,   /* 2xx for the last part: done */
    ALERTS_NEXT_PART,   /* 2xx for a part of a split digest: send the next one now */
    ALERTS_RETRY,       /* failed; try again at d->next_attempt_s */
    ALERTS_DEAD,        /* dead-lettered (max_age, 3 refusals) */
    ALERTS_GONE,        /* 410: dead, and the webhook is disabled until reload */
};

/* An attempt's answer: transport_ok (an HTTP answer arrived) and STATUS,
 * else TRANSPORT_ERROR in words; RETRY_AFTER_MS (-1 = none). */
struct alerts_answer {
    bool transport_ok;
    long status;
    const char *transport_error;
    int64_t retry_after_ms;
    const char *body;            /* the answer's body (NULL = none): its start goes
                                  * into last_error, control characters replaced */
};

/* Updates delivery row *D (attempts, refusals, parts_done, state,
 * next_attempt_s, last_status, last_error, delivered_at_s) for ANSWER to
 * message part d->parts_done of N_PARTS, at now_ms, and says what it means.
 * A retry that would fall after the event is max_age old dead-letters it
 * now; max_age is the one recorded with the delivery (d->max_age_ms), or
 * MAX_AGE_MS (the webhook's now) for a row that recorded none. */
enum alerts_verdict alerts_judge(struct store_delivery *d, int n_parts,
                                 const struct alerts_answer *answer, int64_t max_age_ms,
                                 int64_t now_ms, double jitter01);

/* Whether a pending delivery is past its max_age at now_s (the recorded
 * one; MAX_AGE_MS for a row that recorded none). */
bool alerts_expired(const struct store_delivery *d, int64_t max_age_ms, int64_t now_s);

/* The max_age that applies to D: recorded with it, else FALLBACK_MS. */
int64_t alerts_delivery_max_age_ms(const struct store_delivery *d, int64_t fallback_ms);

/* ---- check-in reminders (alerts_remind.c; DESIGN section 8) ---- */

#define ALERTS_CHECKIN_DUE "checkin.due"
#define ALERTS_REMIND_META "remind_last" /* store_*_alert_meta: the last slot handled */

/* One key result as a reminder sees it at its slot. */
struct alerts_remind_kr {
    const struct cfg_key_result *kr;
    bool has_checkin;            /* a check-in of its current cycle with at_s <= slot */
    int64_t checkin_at_s;        /* that check-in's time (the latest such) */
    enum okr_status status;      /* at the slot (the effective status) */
    double progress, expected;   /* at the slot; NaN = undefined */
};

/* Whether K is due at SLOT_S: its cycle runs (start_s <= slot < end_s) and
 * it has no check-in, or its latest is older than EVERY_S at the slot
 * (slot - at > every: one exactly EVERY_S old is not due). */
bool alerts_remind_due(const struct alerts_remind_kr *k, int64_t slot_s, int64_t every_s);

/* The checkin.due body (docs/webhooks.md) listing DUE[i] for each i < N
 * with KEEP[i] (KEEP NULL: all), grouped by owner: owners in byte order,
 * the key results of no owner last (owner null), each group's key results
 * in DUE's order. Every number is as of SLOT_S, which is also occurred_at.
 * Returns a malloc'd JSON string, or NULL when nothing is kept or out of
 * memory. */
char *alerts_remind_body(const char *id, int64_t slot_s, int64_t every_s,
                         const struct alerts_remind_kr *due, const bool *keep, size_t n);

/* The last reminder slot at or before NOW_S (WEEKDAY 0 = Sunday, MINUTE
 * after local midnight in TZ, NULL = UTC). */
int64_t alerts_remind_last_slot_s(int weekday, int minute, const struct okrd_tz *tz,
                                  int64_t now_s);

/* At start-up: the slot missed while okrd was down that is still to be sent
 * (the last slot at or before NOW_S, if less than a day late), else 0. */
int64_t alerts_remind_missed_slot_s(int weekday, int minute, const struct okrd_tz *tz,
                                    int64_t now_s);

/* Writer thread: the checkin.due event(s) of the slot at SLOT_S, unless
 * that slot was handled already, and the slot recorded (ALERTS_REMIND_META)
 * in the same transaction (the caller's if one is open). DUE[0..N_DUE) are
 * the due key results; with none, no event but the slot is recorded. Goes
 * to checkins.webhooks (all webhooks when omitted) whose `events` filter
 * takes checkin.due, each getting the due key results its `objectives`
 * filter keeps (nothing when none): one event for the full list (always
 * written) and one more per distinct smaller list. *n_events = events
 * written; NOW_S = created_at. */
int alerts_add_remind(struct store *w, const struct cfg *cfg, int64_t slot_s, int64_t now_s,
                      const struct alerts_remind_kr *due, size_t n_due, int *n_events,
                      struct okrd_err *err);

#endif
