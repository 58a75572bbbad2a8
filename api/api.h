/*
 * api.h — okrd's local HTTP server (DESIGN section 6): the JSON API,
 * Prometheus /metrics, push ingestion (POST /api/v1/points) and the
 * dashboard at /.
 *
 * libmicrohttpd runs on the daemon's libuv loop with no thread of its own:
 * its epoll fd sits under a uv_poll_t and its next timeout under a
 * uv_timer_t; every event runs MHD_run once. Small answers are built on the
 * loop from the last evaluation (a struct eval_snapshot the daemon hands
 * out) and small reads on the loop's read-only store connection; a series
 * and the dashboard, whose cost grows with the stored data, are read and
 * rendered on two worker threads with their own read-only connections while
 * the connection is suspended (DESIGN section 1). A push is validated
 * on the loop, stored by one write job on the store's writer thread, and
 * answered after that job committed (the connection is suspended meanwhile).
 *
 * api/ knows nothing of daemon/: the daemon fills a struct api_env with the
 * few things the server needs, and tells it about sources and deliveries
 * through the api_note_* functions. Files: api_server.c (MHD on libuv,
 * listening, limits, counters), api_routes.c (paths, methods, the small
 * read endpoints), api_auth.c (who may call what: tokens, scopes, Host), api_reads.c (series and dashboard, read on a
 * worker), api_work.c (the read workers and their queue), api_push.c
 * (push), api_checkins.c (check-ins: post and list), api_series.c
 * (series and pace of a key result), api_metrics.c (the exposition writer),
 * api_dashboard.c (HTML and SVG), api_buf.c (a growable text buffer), api_cache.c, api_metric_list.c (GET
 * /api/v1/metrics, shared with `okrd metrics`). The JSON of objectives and key
 * results is okr/okr_view.c, shared with alerts/ and `okrd status`.
 */
#ifndef OKRD_API_H
#define OKRD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <uv.h>

#include "okr/okr_snapshot.h"
#include "common/clock.h"
#include "common/okrd_err.h"
#include "config/config.h"
#include "store/store.h"

struct api_server;

/* What the daemon hands the server; everything outlives the server. */
struct api_env {
    uv_loop_t *loop;
    const struct okrd_clock *clock;
    struct store *reader;            /* the loop's read-only connection */
    struct store_writer *writer;     /* push batches are write jobs here */
    /* The last completed evaluation, or NULL before the first one. The
     * snapshot (and its cfg) stay valid until control returns to the loop. */
    const struct eval_snapshot *(*snapshot)(void *ctx);
    /* A push batch committed (loop thread): the same hook as a source's. */
    void (*on_points_committed)(void *ctx, const char *source_id, const char *const *metrics,
                                size_t n_metrics, int64_t n_points);
    /* A check-in committed (loop thread): evaluate its key result at once. */
    void (*on_checkin_committed)(void *ctx, const char *kr_id);
    /* The key-result object of KR_ID evaluated at AT_S from W, for a posted
     * check-in's 201: called on the WRITER thread inside the check-in's
     * transaction (so it sees the check-in and its value), with CFG pinned.
     * *out is the caller's. NULL: the answer's key_result is null. */
    int (*key_result_view)(void *ctx, struct store *w, const struct cfg *cfg, const char *kr_id,
                           int64_t at_s, json_t **out, struct okrd_err *err);
    /* The retrospective of CYCLE (NULL: the default cycle) as of NOW_S
     * (DESIGN section 9), read through ST: called on a read WORKER with its
     * read-only connection, CFG pinned. *out is the caller's; OKRD_EINVAL
     * (400) for a malformed cycle, OKRD_ENOTFOUND (404) for one with no
     * archive. NULL: GET /api/v1/retro is 404. */
    int (*retro)(void *ctx, struct store *st, const struct cfg *cfg, const char *cycle,
                 int64_t now_s, json_t **out, struct okrd_err *err);
    /* Holds the running config (the server's cfg) while a check-in's write
     * job reads it on the writer thread; the token goes back through
     * unpin_snapshot. NULL: the config outlives every request. */
    void *(*pin_config)(void *ctx);
    /* Something worth a log line (loop thread); never contains a secret. */
    void (*report)(void *ctx, enum cfg_log_level level, const char *event, const char *msg);
    /* The store's file: each worker of the big reads (series, dashboard)
     * opens it read-only. NULL: those reads run on the loop through reader. */
    const struct store_loc *store_loc;
    /* Keeps the config the snapshot points into alive while a worker reads
     * it (a reload may replace it meanwhile): pin returns a token (NULL:
     * nothing to hold) that unpin gives back. Loop thread; NULL hooks: the
     * config outlives every request. */
    void *(*pin_snapshot)(void *ctx);
    void (*unpin_snapshot)(void *ctx, void *pin);
    /* Test switch: non-zero = the read workers take no job until this
     * signal arrives (so a test can see a big read in flight, and fill the
     * queue, without relying on timing). 0 in production. */
    int test_hold_reads_signal;
    /* "leader" or "follower" (DESIGN section 10), for /healthz and
     * okrd_ha_leader; loop thread. NULL: always "leader". */
    const char *(*role)(void *ctx);
    void *ctx;
};

/* Limits (docs/api.md explains each). */
#define API_MAX_CONNECTIONS 256        /* at once; more are refused at accept */
#define API_PER_IP_CONNECTIONS 32      /* per client address, non-loopback listens only */
#define API_CONNECTION_TIMEOUT_S 30    /* an idle (or silent) connection is closed */
#define API_MAX_HEADER_BYTES 32768     /* request line + headers (MHD's per-connection pool) */
#define API_MAX_BODY_BYTES (1 << 20)   /* POST /api/v1/points */
/* POST .../check-ins: 64 KiB (API_MAX_CHECKIN_BYTES in api_internal.h) */

/* Starts the server on cfg->daemon.listen ("" = off: returns 0 and *out
 * NULL). Fails (OKRD_EINVAL) for a non-loopback address without any token
 * (config/ refuses such a config first; this catches a host name that
 * resolved elsewhere),
 * and (OKRD_EIO) when the address cannot be bound, with the reason in err.
 * CFG must stay valid until api_server_reload swaps it or close. The caller
 * owns *out until api_server_close. */
int api_server_start(struct api_server **out, const struct cfg *cfg, const struct api_env *env,
                     struct okrd_err *err);

/* A reloaded config: takes the new tokens, sources and webhooks at once. A
 * changed listen address needs a restart (reported); a non-loopback listen
 * keeps the old tokens when the new config has none. CFG replaces the old
 * one before the old one is freed. NULL server: no-op. */
void api_server_reload(struct api_server *s, const struct cfg *cfg);

/* Stops accepting, lets pushes in flight finish and answer (their write
 * jobs complete before the daemon closes the writer), closes everything and
 * runs on_closed(arg) on the loop; s is freed then. NULL s: on_closed runs
 * at once. */
void api_server_close(struct api_server *s, void (*on_closed)(void *arg), void *arg);

/* ---- what the daemon tells the server (for /metrics) ---- */

/* A source committed N points (push counts itself as source "push"). */
void api_note_points(struct api_server *s, const char *source_id, int64_t n);
/* A source's health after a poll: ok = it succeeded (okrd_source_up). */
void api_note_health(struct api_server *s, const char *source_id, bool ok);

/* For the alerts code: each delivery attempt's outcome to WEBHOOK_ID, and
 * the number of outbox rows still to deliver. daemon/alerts_run.c counts
 * each answer; a configured webhook with none yet shows 0. */
enum api_delivery_result { API_DELIVERED, API_RETRIED, API_DEAD };
void api_note_delivery(struct api_server *s, const char *webhook_id,
                       enum api_delivery_result result);
void api_note_outbox_pending(struct api_server *s, int64_t pending);

/* The metric list of DESIGN section 6 (api_metric_list.c), the document of
 * both `okrd metrics --json` and GET /api/v1/metrics: {"metrics": [...]},
 * one entry per metric id the store holds or CFG names, sorted by id.
 * docs/api.md describes each field. Reads ST only; its cost grows with the
 * stored points. 0 and *out (the caller's, json_decref), or a negative code
 * with err filled. */
int api_metric_list(struct store *st, const struct cfg *cfg, json_t **out, struct okrd_err *err);

/* The address actually listened on ("127.0.0.1:9470", "unix:/run/x.sock"),
 * for the start-up log line. */
const char *api_server_address(const struct api_server *s);

#endif
