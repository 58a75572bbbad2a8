/*
 * api_internal.h — what the files of api/ share and nothing outside api/
 * (but its unit test) uses: the text buffer, the server's state, and the
 * pure builders behind each endpoint (exposition, dashboard, push parsing,
 * series and pace), which take plain data so tests can feed them tables.
 */
#ifndef OKRD_API_INTERNAL_H
#define OKRD_API_INTERNAL_H

#include <microhttpd.h>
#include <stdarg.h>
#include <sys/types.h>

#include "api/api.h"
#include "okr/okr_view.h"
#include "api/api_auth.h"

/* ---- a growable text buffer (api_buf.c) ----
 * An allocation failure sets `failed` and later writes do nothing, so a
 * builder writes everything and checks once at the end. */
struct api_buf {
    char *p;        /* NUL-terminated when not failed */
    size_t n, cap;
    bool failed;
};
void api_buf_put(struct api_buf *b, const char *s, size_t n);
void api_buf_puts(struct api_buf *b, const char *s);
void api_buf_printf(struct api_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s with & < > " ' as entities: safe in element text and quoted attributes. */
void api_buf_html(struct api_buf *b, const char *s);
/* s as a Prometheus label value: \ " and newline escaped (format 0.0.4). */
void api_buf_prom_label(struct api_buf *b, const char *s);
/* A double in the shortest form that reads back exactly (finite only). */
void api_buf_double(struct api_buf *b, double v);
void api_buf_free(struct api_buf *b);

/* ---- /metrics (api_metrics.c) ---- */
struct api_source_stat {
    char id[136];
    int64_t points;       /* committed since start */
    int up;               /* 1 up, 0 failing, -1 not known yet */
    bool configured;      /* in the running config (or "push") */
};
struct api_webhook_stat {
    char id[136];
    int64_t count[3];     /* by enum api_delivery_result */
    bool configured;
};
/* Process figures; NaN = could not be read (omitted). */
struct api_process {
    double resident_bytes, virtual_bytes, cpu_seconds, start_time_s, open_fds, max_fds;
};
struct api_metrics_in {
    const struct eval_snapshot *snap;     /* NULL before the first evaluation */
    const struct api_source_stat *sources;
    size_t n_sources;
    const struct api_webhook_stat *webhooks;
    size_t n_webhooks;
    int64_t outbox_pending;
    const struct api_process *process;    /* NULL: no process figures */
    bool have_role;                       /* the daemon's: okrd_ha_leader is written */
    bool leader;                          /* 1 while the node may act (DESIGN section 10) */
};
/* The whole exposition (text format 0.0.4) into b: the key-result
 * families (api_metrics_write_krs, which depend on the snapshot only), then
 * the rest (api_metrics_write_rest). */
void api_metrics_write(struct api_buf *b, const struct api_metrics_in *in);
void api_metrics_write_krs(struct api_buf *b, const struct eval_snapshot *snap);
void api_metrics_write_rest(struct api_buf *b, const struct api_metrics_in *in);
/* Reads /proc/self (start_time_s is the caller's, read once). */
void api_process_read(struct api_process *p, double start_time_s);
/* The process's start time from /proc/self/stat and /proc/stat; NaN if unknown. */
double api_process_start_time(void);

/* ---- series and pace of one key result (api_series.c) ---- */
struct api_pair {
    int64_t ts;
    double v;
};
struct api_kr_series {
    struct api_pair *pts;   /* v(t) at each point's timestamp in [from, to) */
    size_t n;
    struct api_pair pace[64]; /* expected value: vertices of the pace line */
    size_t n_pace;
};
/* The expected-value line of KR (baseline and target from R) over
 * [from, to] clamped to the cycle: its vertices (start, milestones, end);
 * at_least/at_most: the target level. None while b or T is undefined. */
void api_pace_line(const struct cfg_key_result *kr, const struct okr_result *r, int64_t from,
                   int64_t to, struct api_kr_series *out);
/* Reads KR's metric (a ratio metric's inputs) from ST and fills out->pts with
 * v(t) at each point stamped in [from, to), and the pace line. Fails with
 * OKRD_ERANGE when more than max_points fall in the range. */
int api_series_load(struct store *st, const struct cfg *cfg, const struct cfg_key_result *kr,
                    const struct okr_result *r, int64_t from, int64_t to, size_t max_points,
                    struct api_kr_series *out, struct okrd_err *err);
void api_series_free(struct api_kr_series *s);
/* The forecast band of DESIGN section 9 for the dashboard: for a defined
 * value forecast in R (made at AT_S), one entry at AT_S and one at each
 * local midnight (TZ) after it up to the cycle end e, each the band's
 * p10/p50/p90 at that instant (okr_forecast_band); none otherwise. *OUT is
 * malloc'd (the caller frees it). 0 or OKRD_ENOMEM. */
struct api_band_day {
    int64_t ts;
    double p10, p50, p90;
};
int api_forecast_band(const struct cfg_key_result *kr, const struct okr_result *r,
                      const struct okrd_tz *tz, int64_t at_s, struct api_band_day **out,
                      size_t *n);
#define API_SERIES_MAX_POINTS 200000
/* A chunked push body over the limit is read and dropped up to this much
 * (so the client gets its 413), then the connection is closed. */
#define API_MAX_DISCARD_BYTES (16u << 20)

/* ---- the dashboard (api_dashboard.c) ---- */
/* The Content-Security-Policy of every HTML answer (DESIGN section 8),
 * with the SHA-256 of the page's exact inline script and style, into BUF
 * (>= API_CSP_MAX). 0, or OKRD_EIO when hashing fails. */
#define API_CSP_MAX 512
int api_dashboard_csp(char *buf, size_t size, struct okrd_err *err);
/* The page's inline script and style, exactly as served (for tests). */
extern const char api_dashboard_script[];
extern const char api_dashboard_css[];
/* DOC as JSON for a <script type="application/json"> block: compact, with
 * every < > & written as \u003c \u003e \u0026, so no text in it can close
 * the element or open a comment. */
void api_buf_json_html(struct api_buf *b, const json_t *doc);
/* The dashboard page: the same bytes on every listener, no data in it
 * (its script reads the API). */
void api_dashboard_write(struct api_buf *b);

/* ---- push (api_push.c) ---- */
struct api_push_batch {
    struct store_point_in *pts;
    size_t n;
    const char **metrics;   /* distinct metric ids, sorted */
    size_t n_metrics;
    void *doc;              /* the parsed JSON: owns the metric strings */
};
struct api_push_error {
    long index;             /* 0-based point, or -1 for the whole body */
    char error[32];         /* short code */
    char detail[256];
};
/* Validates a push body WHOLE: a JSON array of {"metric", "timestamp",
 * "value"} objects (nothing else), metric ids valid, timestamps as in
 * http_json (strings in tz or numbers), values finite JSON numbers.
 * 0 and *out (free with api_push_batch_free), or OKRD_EINVAL with *e. */
int api_push_parse(const char *body, size_t n, const struct okrd_tz *tz,
                   struct api_push_batch *out, struct api_push_error *e);
void api_push_batch_free(struct api_push_batch *b);


/* ---- check-ins (api_checkins.c; DESIGN section 8) ---- */
#define API_MAX_CHECKIN_BYTES (64 * 1024)   /* a bigger body is 413 */

/* A check-in body as posted, validated: what is absent is
 * OKRD_CHECKIN_NO_CONFIDENCE, NULL, "", false or NaN. */
struct api_checkin_body {
    int confidence;
    char *comment;            /* malloc'd */
    char status[16];          /* "on_track", "at_risk", "off_track" */
    bool has_until;
    int64_t until_s;          /* a date: the midnight ending that day in tz */
    double value, grade;
    bool has_cycle;           /* "cycle" given (with a grade) */
    char cycle_start[11], cycle_end[11];
    char cycle_text[32];      /* for messages: "2026-Q3", "2026-07-01..2026-09-30" */
};
/* A refusal: status 400 (error "bad_request", field = the key as written
 * in the body, NULL for the whole body), 404, 409 or 503. */
struct api_checkin_error {
    unsigned status;
    char error[32];
    char *field;              /* malloc'd */
    char detail[320];
};
/* Step 1, pure: the body's shape (fields, types, ranges, `until` needs
 * `status`, `cycle` needs `grade`, at least one of the five). RATIO_METRIC:
 * the key result's metric is a ratio (no `value`). 0 and *out (free with
 * api_checkin_body_free), or the HTTP status with *e (api_checkin_error_free). */
unsigned api_checkin_parse(const char *body, size_t n, const struct okrd_tz *tz, bool ratio_metric,
                           struct api_checkin_body *out, struct api_checkin_error *e);
void api_checkin_body_free(struct api_checkin_body *b);
void api_checkin_error_free(struct api_checkin_error *e);
/* {"error", "detail"} plus "field" for a 400, malloc'd with a newline. */
char *api_checkin_error_body(const struct api_checkin_error *e);
/* Step 2, pure: B checked in to key result KR_ID of cycle CY at the commit
 * time NOW_S, LATEST the cycle's latest stored check-in (NULL: none).
 * at = max(now, latest's at), seq = latest's + 1; 409 for a status or
 * value from e on and for a grade before e; 400 for an `until` not after
 * at or after e; 404 for a `cycle` that is not CY; `until` defaults to at
 * + OVERRIDE_FOR_MS cut at e. 0 and *out (all but id and author; the
 * caller clears it), or the HTTP status with *e. */
unsigned api_checkin_decide(const struct api_checkin_body *b, const char *kr_id,
                            const struct cfg_cycle *cy, int64_t override_for_ms, int64_t now_s,
                            const struct okrd_checkin *latest, struct okrd_checkin *out,
                            struct api_checkin_error *e);

/* ---- the last rendering of an evaluation (api_cache.c) ---- */
struct api_cache {
    const struct cfg *cfg;
    int64_t at_s;
    size_t n_krs, n_objs;
    struct okr_result *results;
    bool *stale;
    struct okr_objective_result *objs;
    char (*prev)[16];
    char *text;            /* NULL = empty */
    size_t len;
};
/* A malloc'd copy of the cached text (*len its length) when S is the
 * evaluation it was rendered from, else NULL. */
char *api_cache_copy(const struct api_cache *c, const struct eval_snapshot *s, size_t *len);
/* Remembers TEXT (copied) as the rendering of S. */
void api_cache_put(struct api_cache *c, const struct eval_snapshot *s, const char *text, size_t len);
void api_cache_free(struct api_cache *c);

/* ---- big reads off the loop (api_work.c) ----
 * DESIGN section 1: a read whose cost grows with stored data (a series, the
 * dashboard) runs on one of API_READ_WORKERS threads, each with its own
 * read-only store connection; at most API_READ_QUEUE wait, and the next one
 * is answered 503 with Retry-After. /healthz never waits here. */
#define API_READ_WORKERS 2
#define API_READ_QUEUE 32

struct api_job {
    /* Worker thread: the job's read, through that worker's connection. It
     * must not touch MHD, uv or anything else of the loop's. */
    void (*run)(struct api_job *j, struct store *reader);
    /* Loop thread, exactly once: after run(), or with canceled = true when
     * the pool closed before a worker took the job. */
    void (*done)(struct api_job *j, bool canceled);
    struct api_job *next;   /* the pool's */
};
struct api_work;
/* Opens API_READ_WORKERS connections to STORE_PATH (read-only) and starts
 * the threads. HOLD (a test switch): they take no job until
 * api_work_release. The caller owns *out until api_work_close. */
int api_work_open(struct api_work **out, uv_loop_t *loop, const struct store_loc *loc,
                  size_t max_queued, bool hold, struct okrd_err *err);
/* Queues J (loop thread). OKRD_EBUSY when max_queued jobs already wait,
 * OKRD_ECANCELED once closing began; J is then not taken. */
int api_work_submit(struct api_work *w, struct api_job *j);
size_t api_work_queued(struct api_work *w);
/* Submitted jobs whose done() has not run yet (NULL: 0). */
size_t api_work_in_flight(const struct api_work *w);
/* True once closing began: a long run() may stop early (any thread). */
bool api_work_stopping(const struct api_work *w);
void api_work_release(struct api_work *w);
/* Completes every waiting job with canceled = true (loop thread). */
void api_work_cancel_queued(struct api_work *w);
/* Cancels waiting jobs, waits for running ones (their done() runs as
 * usual), joins the threads, closes the connections, then on_closed(arg)
 * on the loop; w is freed then. NULL w: on_closed runs at once. */
void api_work_close(struct api_work *w, void (*on_closed)(void *arg), void *arg);

/* ---- the server's state (api_server.c) ---- */
struct api_request;

struct api_server {
    struct api_env env;
    const struct cfg *cfg;           /* the running config (reloads swap it) */
    struct MHD_Daemon *mhd;
    uv_poll_t poll;                  /* MHD's epoll fd */
    uv_timer_t timer;                /* MHD's next timeout */
    uv_timer_t grace;                /* at close: bounds the wait for answers */
    int open_handles;
    bool closing, finished;
    void (*on_closed)(void *arg);
    void *on_closed_arg;
    char address[256];
    char listen[256];                /* as configured at start */
    bool loopback;                   /* loopback or a unix socket: no token for reads */
    enum api_listener listener;
    char listen_host[256];           /* the listen address's host ("127.0.0.1", "[::1]") */
    struct api_auth auth;            /* digests of the running config's tokens */
    char csp[API_CSP_MAX];           /* Content-Security-Policy of HTML answers */
    const char *html_headers[9];     /* the headers of every HTML answer */
    char unix_path[108];             /* "" unless listening on a unix socket */
    dev_t unix_dev;
    ino_t unix_ino;
    double start_time_s;
    struct api_source_stat *sources;
    size_t n_sources;
    struct api_webhook_stat *webhooks;
    size_t n_webhooks;
    int64_t outbox_pending;
    size_t pushes_in_flight;
    struct api_work *work;             /* big reads; NULL: they run on the loop */
    uv_signal_t hold_signal;           /* test switch: releases held reads */
    bool hold_signal_on;
    struct api_cache objectives_json;  /* GET /api/v1/objectives */
    struct api_cache kr_metrics;       /* the key-result families of /metrics */
};

/* Per-request state (one per MHD request, freed when it completes). */
struct api_request {
    struct api_server *srv;
    struct MHD_Connection *conn;
    int route;
    char id[132];          /* the key result id in the path, if any */
    char token_name[API_AUTH_NAME_MAX + 1]; /* the token that authorized it, "" = none */
    struct api_buf body;
    bool too_big;          /* the body is over its endpoint's limit */
    size_t discarded;      /* body bytes dropped after too_big */
    bool started;          /* the body phase began */
    bool suspended, answered;
    unsigned status;       /* the answer of a push or a big read, once its job finished */
    char *answer;          /* malloc'd; JSON unless answer_type says otherwise */
    size_t answer_len;     /* 0: strlen(answer) */
    const char *answer_type;           /* NULL: application/json */
    const char *const *answer_headers; /* static; NULL: none */
};

/* The access handler (api_routes.c) MHD calls for every request. */
enum MHD_Result api_handle(void *cls, struct MHD_Connection *conn, const char *url,
                           const char *method, const char *version, const char *upload_data,
                           size_t *upload_data_size, void **req_cls);

/* Responses (api_server.c). Each takes BODY (malloc'd; NULL = empty) and
 * queues it; the return value is what the handler returns to MHD. */
enum MHD_Result api_respond(struct MHD_Connection *conn, unsigned status, const char *type,
                            char *body, size_t len, const char *const *headers);
enum MHD_Result api_respond_json(struct MHD_Connection *conn, unsigned status, json_t *doc,
                                 const char *const *headers);
/* DOC (consumed) as compact JSON plus a newline, malloc'd; NULL on failure. */
char *api_json_dump_doc(json_t *doc);
/* {"error": CODE, "detail": DETAIL}, plus "index" when index >= 0. */
char *api_error_body(const char *code, const char *detail, long index);
enum MHD_Result api_respond_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                  const char *const *headers, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

void api_report(struct api_server *s, enum cfg_log_level level, const char *event,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Push (api_push.c): called with the whole body; answers now (4xx) or
 * suspends the connection until the write job is done. */
enum MHD_Result api_push_submit(struct api_request *rq);
/* POST check-ins (api_checkins.c): called with the whole body, like a
 * push; GET check-ins answers on the loop. */
enum MHD_Result api_checkin_submit(struct api_request *rq);
enum MHD_Result api_checkins_list(struct api_server *s, struct api_request *rq);
/* Run MHD again soon (after a resume). */
void api_server_kick(struct api_server *s);
/* A push finished: the server may complete a pending close. */
void api_server_push_done(struct api_server *s);
/* A big read was answered: the same for reads. */
void api_server_read_done(struct api_server *s);

/* Big reads (api_reads.c): GET /api/v1/key-results/{id}/series. Checked on
 * the loop (snapshot, id, query), then read and rendered on a worker while
 * the connection is suspended; answered 503 + Retry-After when the queue is
 * full. Without workers (no store path) they run inline. */
enum MHD_Result api_reads_series(struct api_server *s, struct api_request *rq);
/* GET /: the dashboard page, answered at once (it holds no data). */
enum MHD_Result api_reads_dashboard(struct api_server *s, struct api_request *rq);
/* GET /api/v1/metrics (api_metric_list) the same way. */
enum MHD_Result api_reads_metrics(struct api_server *s, struct api_request *rq);
/* GET /api/v1/retro (on a read worker) and the page GET /retro (api_retro.c). */
enum MHD_Result api_retro_get(struct api_server *s, struct api_request *rq);
enum MHD_Result api_retro_page(struct api_server *s, struct api_request *rq);
int api_retro_csp(char *buf, size_t size, struct okrd_err *err);
void api_retro_write(struct api_buf *b);
extern const char api_retro_script[];
extern const char api_retro_css[];
/* The answer a resumed request (push or read) carries. */
enum MHD_Result api_answer_ready(struct api_request *rq);
/* 503 not_ready: before the first evaluation (Retry-After: 1). */
enum MHD_Result api_not_ready(struct MHD_Connection *conn);
/* The last evaluation (NULL before the first). */
const struct eval_snapshot *api_snapshot(struct api_server *s);
extern const char *const api_no_store[];

#endif
