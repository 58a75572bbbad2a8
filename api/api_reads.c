/*
 * api_reads.c — the reads whose cost grows with the stored data, GET
 * /api/v1/key-results/{id}/series and the metric list GET /api/v1/metrics
 * (one count over every point), answered off the loop (DESIGN section 1): the loop checks the request against the last
 * evaluation (404, 400, 503 before the first one), copies what the worker
 * will read, pins the config that copy points into, suspends the
 * connection and queues a job; a worker reads the points through its own
 * read-only connection and renders the whole answer; the loop resumes the
 * connection with it. A full queue is 503 with Retry-After; /healthz and
 * the small endpoints never wait here.
 *
 * The dashboard GET / is answered here too, but at once: the page holds no
 * data (its script reads these endpoints), so it costs the same whatever
 * is stored.
 *
 * Thread safety: a job owns copies of what of the snapshot it reads (a
 * series its one key result's result), the config behind them is pinned
 * until the job's done() (on the loop), and reports meant for the log are
 * kept in the job and made on the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "common/parse.h"

#define RETRY_AFTER_S "1"

enum read_kind { READ_SERIES, READ_METRICS };

struct read_job {
    struct api_job job;           /* first: the pool hands this back */
    enum read_kind kind;
    struct api_server *srv;       /* loop side only */
    struct api_request *rq;
    void *pin;                    /* env.pin_snapshot's token */
    /* a series; the metric list */
    const struct cfg *cfg;
    const struct cfg_key_result *kr;
    struct okr_result result;
    int64_t at_s;                 /* the evaluation's instant (the forecast's t) */
    int64_t from, to;
    char from_date[16], to_date[16];
    /* the answer, filled by run() */
    unsigned status;
    char *body;
    size_t len;
    const char *type;
    const char *const *headers;
    char report[OKRD_ERR_MSG_MAX + 160]; /* "" = nothing to log */
};

static void answer_error(struct read_job *j, unsigned status, const char *code, const char *detail)
{
    free(j->body);
    j->status = status;
    j->body = api_error_body(code, detail, -1);
    j->len = j->body ? strlen(j->body) : 0;
    j->type = "application/json";
    j->headers = api_no_store;
}

/* ---- the series (worker thread) ---- */

struct history_ctx {
    json_t *arr;
};

/* One daily history row (DESIGN section 9). A row written before the
 * store recorded both statuses holds the effective one in both. */
static int on_history(void *ctx, const struct store_kr_day *row)
{
    struct history_ctx *h = ctx;
    json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "date", row->date, "status",
                          row->status, "computed_status",
                          row->computed_status[0] ? row->computed_status : row->status,
                          "progress", okr_view_number(row->progress), "expected",
                          okr_view_number(row->expected), "score", okr_view_number(row->score),
                          "probability", okr_view_number(row->probability));
    return o && json_array_append_new(h->arr, o) == 0 ? 0 : OKRD_ENOMEM;
}

static void run_series(struct read_job *j, struct store *st)
{
    struct okrd_err err = { 0 };
    struct api_kr_series se;
    int rc = api_series_load(st, j->cfg, j->kr, &j->result, j->from, j->to, API_SERIES_MAX_POINTS,
                             &se, &err);
    if (rc == OKRD_ERANGE) {
        answer_error(j, MHD_HTTP_BAD_REQUEST, "range_too_large", err.msg);
        return;
    }
    if (rc < 0) {
        answer_error(j, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_failed", err.msg);
        return;
    }
    json_t *points = json_array(), *pace = json_array();
    char ts[32];
    for (size_t k = 0; k < se.n; k++) {
        okrd_format_utc(se.pts[k].ts, ts, sizeof ts);
        json_array_append_new(points, json_pack("{s:s, s:o}", "timestamp", ts, "value",
                                                okr_view_number(se.pts[k].v)));
    }
    for (size_t k = 0; k < se.n_pace; k++) {
        okrd_format_utc(se.pace[k].ts, ts, sizeof ts);
        json_array_append_new(pace, json_pack("{s:s, s:o}", "timestamp", ts, "expected_value",
                                              okr_view_number(se.pace[k].v)));
    }
    api_series_free(&se);
    json_t *band = json_array();
    struct api_band_day *bd = NULL;
    size_t nb = 0;
    if (api_forecast_band(j->kr, &j->result, j->cfg->daemon.tz, j->at_s, &bd, &nb) < 0) {
        json_decref(points);
        json_decref(pace);
        json_decref(band);
        answer_error(j, MHD_HTTP_INTERNAL_SERVER_ERROR, "out_of_memory", "no memory for the band");
        return;
    }
    for (size_t k = 0; k < nb; k++) {
        okrd_format_utc(bd[k].ts, ts, sizeof ts);
        json_array_append_new(band, json_pack("{s:s, s:o, s:o, s:o}", "timestamp", ts, "p10",
                                              okr_view_number(bd[k].p10), "p50",
                                              okr_view_number(bd[k].p50), "p90",
                                              okr_view_number(bd[k].p90)));
    }
    free(bd);
    struct history_ctx h = { json_array() };
    rc = store_each_kr_day(st, j->kr->id, j->from_date, j->to_date, on_history, &h, &err);
    if (rc == OKRD_ENOMEM)
        okrd_err_set(&err, OKRD_ENOMEM, "no memory for the history");
    if (rc < 0) {
        json_decref(points);
        json_decref(pace);
        json_decref(h.arr);
        json_decref(band);
        answer_error(j, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_failed", err.msg);
        return;
    }
    j->body = api_json_dump_doc(json_pack("{s:o, s:o, s:o, s:o}", "points", points, "pace", pace,
                                          "history", h.arr, "forecast_band", band));
    if (!j->body) {
        answer_error(j, MHD_HTTP_INTERNAL_SERVER_ERROR, "out_of_memory", "no memory for the answer");
        return;
    }
    j->status = MHD_HTTP_OK;
    j->len = strlen(j->body);
    j->type = "application/json";
    j->headers = api_no_store;
}

/* ---- the metric list (worker thread) ---- */

static void run_metrics(struct read_job *j, struct store *st)
{
    struct okrd_err err = { 0 };
    json_t *doc = NULL;
    if (api_metric_list(st, j->cfg, &doc, &err) < 0) {
        answer_error(j, MHD_HTTP_INTERNAL_SERVER_ERROR,
                     err.code == OKRD_ENOMEM ? "out_of_memory" : "store_failed", err.msg);
        return;
    }
    if (!(j->body = api_json_dump_doc(doc))) {
        answer_error(j, MHD_HTTP_INTERNAL_SERVER_ERROR, "out_of_memory", "no memory for the answer");
        return;
    }
    j->status = MHD_HTTP_OK;
    j->len = strlen(j->body);
    j->type = "application/json";
    j->headers = api_no_store;
}

static void job_run(struct api_job *aj, struct store *st)
{
    struct read_job *j = (struct read_job *)aj;
    if (j->kind == READ_SERIES)
        run_series(j, st);
    else
        run_metrics(j, st);
}

/* ---- the loop side ---- */

static void job_free(struct read_job *j)
{
    struct api_server *s = j->srv;
    if (j->pin && s->env.unpin_snapshot)
        s->env.unpin_snapshot(s->env.ctx, j->pin);
    free(j->body);
    free(j);
}

/* Hands the job's answer to its request. */
static void hand_over(struct read_job *j, struct api_request *rq)
{
    rq->status = j->status;
    rq->answer = j->body;
    rq->answer_len = j->len;
    rq->answer_type = j->type;
    rq->answer_headers = j->headers;
    j->body = NULL;
}

static void job_done(struct api_job *aj, bool canceled)
{
    struct read_job *j = (struct read_job *)aj;
    struct api_server *s = j->srv;
    struct api_request *rq = j->rq;
    if (canceled)
        answer_error(j, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", "okrd is stopping");
    if (j->report[0])
        api_report(s, CFG_LOG_DEBUG,
                   j->kind == READ_SERIES ? "api_series" : "api_metric_list",
                   "%s", j->report);
    hand_over(j, rq);
    job_free(j);
    rq->answered = true;
    rq->suspended = false;
    MHD_resume_connection(rq->conn);
    api_server_kick(s);
    api_server_read_done(s);
}

/* Runs J now (inline, no workers) or queues it; the request is answered
 * either way. J is consumed. */
static enum MHD_Result submit(struct api_server *s, struct api_request *rq, struct read_job *j,
                              const char *what)
{
    j->srv = s;
    j->rq = rq;
    j->job.run = job_run;
    j->job.done = job_done;
    if (s->env.pin_snapshot)
        j->pin = s->env.pin_snapshot(s->env.ctx);
    if (!s->work) { /* no workers (no store path): read on the loop's connection */
        job_run(&j->job, s->env.reader);
        if (j->report[0])
            api_report(s, CFG_LOG_DEBUG, "api_read", "%s", j->report);
        hand_over(j, rq);
        job_free(j);
        return api_answer_ready(rq);
    }
    int rc = api_work_submit(s->work, &j->job);
    if (rc < 0) {
        job_free(j);
        if (rc == OKRD_EBUSY) {
            static const char *const hdr[] = { "Retry-After", RETRY_AFTER_S, "Cache-Control",
                                               "no-store", NULL };
            api_report(s, CFG_LOG_WARNING, "api_busy",
                       "%s refused: %d reads running and %d waiting already", what,
                       API_READ_WORKERS, API_READ_QUEUE);
            return api_respond_error(rq->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", hdr,
                                     "%d big reads are waiting already; try again in a moment",
                                     API_READ_QUEUE);
        }
        return api_respond_error(rq->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", NULL,
                                 "okrd is stopping");
    }
    api_report(s, CFG_LOG_DEBUG, "api_read_queued", "read=%s in_flight=%zu waiting=%zu", what,
               api_work_in_flight(s->work), api_work_queued(s->work));
    rq->suspended = true;
    MHD_suspend_connection(rq->conn);
    return MHD_YES;
}

static struct read_job *job_new(enum read_kind kind)
{
    struct read_job *j = calloc(1, sizeof *j);
    if (j)
        j->kind = kind;
    return j;
}

/* ?NAME= as an instant (date or date-time in daemon.timezone); *out kept
 * when absent or empty. */
static int query_time(struct api_server *s, struct MHD_Connection *conn, const char *name,
                      int64_t *out, struct okrd_err *err)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v || !*v)
        return 0;
    int rc = okrd_parse_timestamp(v, strlen(v), s->cfg->daemon.tz, OKRD_TS_AUTO, out, err);
    return rc < 0 ? okrd_err_prefix(err, "?%s=", name) : 0;
}

/* The day after DATE ("YYYY-MM-DD"), into out (size >= 11). */
static void next_day(const char *date, char *out, size_t size)
{
    int64_t y;
    int m, d;
    if (okrd_parse_date(date, strlen(date), &y, &m, &d, NULL) < 0) {
        snprintf(out, size, "%s", date);
        return;
    }
    okrd_civil_from_days(okrd_days_from_civil(y, m, d) + 1, &y, &m, &d);
    snprintf(out, size, "%04d-%02d-%02d", (int)y, m, d);
}

enum MHD_Result api_reads_series(struct api_server *s, struct api_request *rq)
{
    struct MHD_Connection *conn = rq->conn;
    const struct eval_snapshot *snap = api_snapshot(s);
    if (!snap)
        return api_not_ready(conn);
    long i = -1;
    for (size_t k = 0; k < snap->n_krs && i < 0; k++)
        if (!strcmp(snap->krs[k]->id, rq->id))
            i = (long)k;
    if (i < 0)
        return api_respond_error(conn, MHD_HTTP_NOT_FOUND, "not_found", NULL,
                                 "no key result \"%s\" in the running config", rq->id);
    const struct cfg_key_result *kr = snap->krs[i];
    int64_t from = kr->objective->cycle.start_s, to = kr->objective->cycle.end_s;
    struct okrd_err err = { 0 };
    if (query_time(s, conn, "from", &from, &err) < 0 || query_time(s, conn, "to", &to, &err) < 0)
        return api_respond_error(conn, MHD_HTTP_BAD_REQUEST, "bad_query", NULL, "%s", err.msg);
    if (from >= to)
        return api_respond_error(conn, MHD_HTTP_BAD_REQUEST, "bad_query", NULL,
                                 "?from= must be before ?to= (from is inclusive, to exclusive)");
    struct read_job *j = job_new(READ_SERIES);
    if (!j)
        return api_respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", NULL,
                                 "no memory for the request");
    j->cfg = snap->cfg;
    j->kr = kr;
    j->result = snap->results[i];
    j->at_s = snap->at_s;
    j->from = from;
    j->to = to;
    char last_date[16];
    okrd_format_date(from, s->cfg->daemon.tz, j->from_date, sizeof j->from_date);
    okrd_format_date(to - 1, s->cfg->daemon.tz, last_date, sizeof last_date);
    next_day(last_date, j->to_date, sizeof j->to_date);
    return submit(s, rq, j, "series");
}

enum MHD_Result api_reads_dashboard(struct api_server *s, struct api_request *rq)
{
    struct api_buf b = { 0 };
    api_dashboard_write(&b);
    if (b.failed) {
        api_buf_free(&b);
        return api_respond_error(rq->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", NULL,
                                 "no memory for the dashboard");
    }
    /* the CSP with the page's hashes, set when the server started */
    return api_respond(rq->conn, MHD_HTTP_OK, "text/html; charset=utf-8", b.p, b.n,
                       s->html_headers);
}

/* GET /api/v1/metrics: counting the stored points grows with the data, so
 * the list is built on a worker, from the config of the last evaluation
 * (pinned like a series'), as `okrd metrics --json` builds it. */
enum MHD_Result api_reads_metrics(struct api_server *s, struct api_request *rq)
{
    const struct eval_snapshot *snap = api_snapshot(s);
    if (!snap)
        return api_not_ready(rq->conn);
    struct read_job *j = job_new(READ_METRICS);
    if (!j)
        return api_respond_error(rq->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", NULL,
                                 "no memory for the request");
    j->cfg = snap->cfg;
    return submit(s, rq, j, "metrics");
}
