/*
 * okrd.h — the daemon's one piece of state (STYLE: no global state outside
 * daemon/, and even here it is one struct handed around, not globals).
 * It holds the loop, the running config, the store's writer and the loop's
 * read-only connection, and the handles of the daemon's own timers.
 */
#ifndef OKRD_DAEMON_H
#define OKRD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/clock.h"
#include "config/config.h"
#include "store/store.h"
#include "evaluate.h"
#include "ha.h"

/* A loaded config and how many running parts still point into it: a reload
 * swaps d->hold, but a source left running (unchanged) keeps pointers into
 * the config it was started with, which lives until its last holder let go. */
struct okrd_cfg_hold {
    struct cfg *cfg;
    int refs;
};
struct okrd_cfg_hold *okrd_cfg_hold_new(struct cfg *cfg);   /* refs = 1 */
struct okrd_cfg_hold *okrd_cfg_hold_ref(struct okrd_cfg_hold *h);
void okrd_cfg_hold_unref(struct okrd_cfg_hold *h);          /* frees at 0 */

struct source_slot;
struct httpc;
struct api_server;
struct alerts_sender;
struct eval_job;
struct eval_backfill;
struct okrd_remind;
struct okrd_ha;

/* The evaluation schedule (eval_jobs.c): which key results need a new
 * evaluation, the job in flight, and the last completed evaluation, which
 * the API and STATUS= show. */
struct okrd_eval {
    uv_timer_t tick;                /* everything, every daemon.evaluate_every */
    uv_timer_t boundary;            /* right after the next cycle start/end/grade */
    uv_timer_t version;             /* has another process written the store? */
    bool *dirty;                    /* per key result of d->cfg, config order */
    size_t n_dirty;
    bool all_dirty, check_version;
    struct eval_job *running;       /* at most one job in flight */
    int64_t data_version;           /* the writer connection's, as last seen */
    struct okrd_cfg_hold *last_hold;/* config of `last` */
    struct eval_snapshot last;      /* last completed evaluation */
    bool have_last;
    size_t n_off_track, n_at_risk;
    bool started;
    /* Daily history and the archive (DESIGN section 9; eval_history.c) */
    int64_t rows_day;               /* local day number whose rows the last evaluation
                                     * wrote; INT64_MIN = none yet */
    bool defs_recorded;             /* the running config's definitions are archived */
    struct eval_backfill *backfill; /* a backfill in flight, or NULL */
    int64_t backfill_again_from;    /* a day to backfill from once it ends; INT64_MAX none */
};

struct okrd {
    uv_loop_t loop;
    const struct okrd_clock *clock;
    const char *config_path;
    struct okrd_cfg_hold *hold;     /* the running config; replaced on reload */
    struct cfg *cfg;                /* == hold->cfg */
    struct httpc *http;             /* the shared HTTP client */
    struct source_slot **sources;   /* running sources */
    size_t n_sources;
    size_t closing;                 /* sources still closing at shutdown */
    void (*sources_closed)(struct okrd *d);
    char store_path[4096];          /* fixed at start: a new state_dir needs a restart */
    /* The store's backend and place, fixed at start like store_path; its
     * path points into store_path, its url into store_url (owned). */
    struct store_loc store_loc;
    char *store_url;
    struct store_writer *writer;    /* the only write connection (its own thread) */
    struct store *reader;           /* the loop's read-only connection */
    struct okrd_eval eval;
    struct api_server *api;         /* the local HTTP API (http_api.c) */
    struct alerts_sender *alerts;   /* webhook deliveries (alerts_run.c) */
    struct okrd_remind *remind;     /* check-in reminders (remind.c) */
    struct okrd_ha *ha;             /* the HA role (ha.c): okrd_may_act */
    int64_t hooks_mark;             /* store_webhooks_disabled_mark at the last start
                                     * or reload: a 410 recorded after it disables */
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_signal_t sig_stall;          /* test-only fault switch, see cmd_run.c */
    unsigned stall_s;               /* 0 = the switch is off */
    uv_timer_t watchdog;
    uint64_t watchdog_usec;         /* 0 = systemd's watchdog is off */
    bool stopping;
    int exit_code;
};

/* sd_notify wrappers: no-ops without NOTIFY_SOCKET. */
void okrd_notify_ready(struct okrd *d);
void okrd_notify_status(struct okrd *d);
void okrd_notify_reloading(struct okrd *d);
void okrd_notify_stopping(struct okrd *d);

/* SIGHUP: load and validate the config again; on error keep the old one. */
void okrd_reload(struct okrd *d);

/* sources.c: start every source of d->hold; on reload start added ones,
 * stop removed ones, restart changed ones (unchanged ones keep running);
 * at shutdown stop all, calling done(d) once every one has closed. */
void sources_start_all(struct okrd *d);
void sources_reload(struct okrd *d, struct okrd_cfg_hold *next);
void sources_close_all(struct okrd *d, void (*done)(struct okrd *d));
size_t sources_running(const struct okrd *d);
/* A node stepping down (ha.c): every running source closes now; a
 * sources_close_all later still waits for them. */
void sources_stop_all(struct okrd *d);
/* Running sources whose last attempt did not fail. */
size_t sources_up(const struct okrd *d);

/* eval_jobs.c: evaluate after every committed batch (only the key results
 * whose metrics changed), every evaluate_every, after each cycle boundary and
 * when another process wrote the store. */
int eval_start(struct okrd *d, struct okrd_err *err);
void eval_reload(struct okrd *d);
void eval_stop(struct okrd *d);
void eval_free(struct okrd *d);
/* ha.c: this node just became the leader: plan the history backfill and
 * evaluate everything (DESIGN section 10). */
void eval_takeover(struct okrd *d);
/* ha.c: NOTIFY okrd arrived (another session committed): the leader checks
 * change_seq and re-evaluates what changed. */
void okrd_on_store_changed(struct okrd *d);

/* eval_history.c: the daily history's days (local day numbers in
 * daemon.timezone) and its backfill. eval_backfill_start queues a backfill
 * on the writer: FROM_DAY = INT64_MIN plans from the store (each key
 * result's last recorded day of its cycle, re-evaluated at its last second,
 * or its cycle's start when it has none), else from that day on; it must be
 * queued before any evaluation writes today's rows. */
int64_t eval_day_of(const struct okrd_tz *tz, int64_t t);
int64_t eval_day_last_second(const struct okrd_tz *tz, int64_t day);
void eval_day_format(int64_t day, char out[11]);
void eval_backfill_start(struct okrd *d, int64_t from_day);
/* On the writer, inside the caller's transaction: the final rows of DAY
 * for every key result of CFG whose cycle holds it, evaluated at DAY's last
 * second; *rows counts those written. */
int eval_history_finalize_day(struct store *w, const struct cfg *cfg, int64_t day,
                              struct eval_scratch *x, size_t *rows, struct okrd_err *err);

/* http_api.c: the local HTTP API on daemon.listen (DESIGN section 6).
 * stop: no new connections; done(d) once every handle is closed. */
int okrd_api_start(struct okrd *d, struct okrd_err *err);
void okrd_api_reload(struct okrd *d);
void okrd_api_stop(struct okrd *d, void (*done)(struct okrd *d));

/* alerts_run.c: delivering the outbox to webhooks (DESIGN section 5).
 * kick: an evaluation committed new outbox rows. stop: no new attempts;
 * in-flight deliveries get up to 5 s; done(d) when all is closed. */
int okrd_alerts_start(struct okrd *d, struct okrd_err *err);
void okrd_alerts_reload(struct okrd *d);
void okrd_alerts_kick(struct okrd *d);
void okrd_alerts_stop(struct okrd *d, void (*done)(struct okrd *d));
/* A node stepping down (ha.c): stops at once, cancelling in-flight webhook
 * requests (they are sent again by the next leader, same webhook-id). */
void okrd_alerts_abort(struct okrd *d);
/* A source's health as just stored (sources.c): source.failing/recovered. */
void okrd_alerts_source_health(struct okrd *d, const char *source_id, bool ok,
                               const struct store_source_health *h);
/* status_deliveries.c: the pending (orphaned among them: their webhook is
 * not in CFG) and dead-lettered deliveries, after the table. */
void status_print_deliveries(struct store *st, const struct cfg *cfg);

/* The hooks connectors call (sources.c hands them out in struct conn_env). */
void okrd_on_points_committed(struct okrd *d, const char *source_id,
                              const char *const *metrics, size_t n_metrics, int64_t n_points);
/* A check-in of key result KR_ID committed (loop thread): evaluate that key
 * result at once, so its kr.check_in event and any new effective status
 * are written without waiting for the next tick (DESIGN section 8). */
void okrd_on_checkin_committed(struct okrd *d, const char *kr_id);

#endif
