/*
 * conn_prometheus.c — the prometheus source (DESIGN section 3): per poll,
 * one GET /api/v1/query?query=... per configured query, all in flight
 * together; the poll ends when the last one answers.
 *
 * Each query must give a scalar or a vector of exactly one sample, stored
 * at Prometheus' own timestamp floored to the second. A poll fails when any
 * query failed (transport, non-2xx, "status":"error", more than one series),
 * and the points of the queries that succeeded are still stored. NaN, ±Inf
 * and empty results are no failure: they are skipped and reported once per
 * change, per query.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"
#include "conn_poll.h"
#include "httpc.h"
#include "prom_answer.h"

struct prom;

struct pq {
    struct prom *p;
    const struct cfg_prom_query *q;
    char *url;                  /* base + /api/v1/query?query=... */
    struct httpc_req *req;
    char note[64];              /* the last reported skip ("NaN", "empty"), "" = none */
};

struct prom {
    const struct cfg_prometheus *cfg;
    struct conn *conn;
    struct pq *qs;
    size_t pending;             /* queries of this poll still in flight */
    struct conn_poll_result res;/* collected over the poll's queries */
    bool failed;
    size_t failed_at;           /* the first failed query, in config order */
};

static void report(struct prom *p, enum cfg_log_level lvl, const char *ev, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(struct prom *p, enum cfg_log_level lvl, const char *ev, const char *fmt, ...)
{
    const struct conn_env *env = conn_poll_env(p->conn);
    if (!env->report)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    env->report(env->ctx, lvl, conn_poll_source(p->conn)->id, ev, msg);
}

static void fail(struct prom *p, const struct pq *q, const char *kind, const char *reason)
{
    /* The first failed query in config order names the poll's problem, not
     * the first to answer: answers race, and a reason that flips between
     * polls would be logged as a new state every time. */
    size_t idx = (size_t)(q - p->qs);
    if (p->failed && p->failed_at <= idx)
        return;
    p->failed = true;
    p->failed_at = idx;
    /* Long metric ids or reasons are cut to fit: a log line, not data. */
    if (snprintf(p->res.kind, sizeof p->res.kind, "%s: %s", q->q->metric, kind) < 0 ||
        snprintf(p->res.reason, sizeof p->res.reason, "query \"%s\": %s", q->q->metric, reason) < 0)
        p->res.reason[0] = '\0';
}

/* A skipped result: reported when it starts, and when it ends. */
static void note(struct prom *p, struct pq *q, const char *what)
{
    if (!strcmp(q->note, what))
        return;
    if (what[0])
        report(p, CFG_LOG_WARNING, "query_skipped", "query \"%s\": %s; no point stored",
               q->q->metric, what);
    else
        report(p, CFG_LOG_INFO, "query_ok", "query \"%s\": a value again", q->q->metric);
    snprintf(q->note, sizeof q->note, "%s", what);
}

static void on_answer(void *arg, const struct httpc_response *r)
{
    struct pq *q = arg;
    struct prom *p = q->p;
    q->req = NULL;
    struct conn_poll_result tmp = { 0 };
    int64_t now_s = conn_poll_started_s(p->conn);
    struct prom_answer a;
    struct okrd_err err = { 0 };
    if (r->result != HTTPC_OK) {
        if (conn_poll_http_failure(r, now_s, &tmp) && tmp.cancelled)
            p->res.cancelled = true;
        else
            fail(p, q, tmp.kind, tmp.reason);
    } else if (prom_parse_answer(r->body, r->body_len, &a, &err) == 0 && a.error[0]) {
        /* Prometheus' own error text: 400 bad_data, 422 execution, 503 timeout. */
        char why[256];
        snprintf(why, sizeof why, "Prometheus error (%s): %s", a.error_type, a.error);
        if (conn_poll_http_failure(r, now_s, &tmp) && tmp.retry_after_ms > p->res.retry_after_ms)
            p->res.retry_after_ms = tmp.retry_after_ms;
        fail(p, q, "prometheus error", why);
    } else if (conn_poll_http_failure(r, now_s, &tmp)) {
        if (tmp.retry_after_ms > p->res.retry_after_ms)
            p->res.retry_after_ms = tmp.retry_after_ms;
        fail(p, q, tmp.kind, tmp.reason);
    } else if (err.code < 0) {
        fail(p, q, "answer", err.msg);
    } else if (a.n_series > 1) {
        char why[160];
        snprintf(why, sizeof why,
                 "the query returned %zu series, not one (aggregate in PromQL, e.g. sum(...))",
                 a.n_series);
        fail(p, q, "series", why);
    } else if (a.n_series == 0) {
        note(p, q, "empty result");
    } else if (a.skip[0]) {
        note(p, q, a.skip);
    } else {
        note(p, q, "");
        if (http_points_add(&p->res.pts, q->q->metric, a.ts, a.value) < 0)
            fail(p, q, "memory", "out of memory");
    }
    if (--p->pending > 0)
        return;
    struct conn_poll_result res = p->res;
    memset(&p->res, 0, sizeof p->res);
    res.ok = !p->failed;
    conn_poll_finish(p->conn, &res);
}

static void prom_cancel(void *impl)
{
    struct prom *p = impl;
    for (size_t i = 0; i < p->cfg->n_queries; i++) {
        httpc_cancel(p->qs[i].req);
        p->qs[i].req = NULL;
    }
    p->pending = 0;
    http_points_free(&p->res.pts);
    memset(&p->res, 0, sizeof p->res);
}

static void prom_poll(struct conn *c, void *impl)
{
    struct prom *p = impl;
    p->conn = c;
    p->failed = false;
    memset(&p->res, 0, sizeof p->res);
    const struct cfg_prometheus *cfg = p->cfg;
    p->pending = cfg->n_queries + 1; /* +1: no completion before every request started */
    for (size_t i = 0; i < cfg->n_queries; i++) {
        struct pq *q = &p->qs[i];
        struct httpc_request req = {
            .cls = HTTPC_SOURCE, .method = "GET", .url = q->url,
            .headers = (const char *const[]){ "Accept: application/json" }, .n_headers = 1,
            .username = cfg->basic_username, .password = cfg->basic_password,
            .timeout_ms = cfg->timeout_ms, .max_bytes = 8388608, .insecure = cfg->insecure,
            .done = on_answer, .arg = q,
        };
        struct okrd_err err = { 0 };
        if (httpc_request(conn_poll_env(c)->http, &req, &q->req, &err) < 0) {
            if (err.code == OKRD_ECANCELED)
                p->res.cancelled = true;
            fail(p, q, "request", err.msg);
            p->pending--;
        }
    }
    /* The +1: answers arrive from the loop, never from inside httpc_request,
     * but finishing here keeps one exit whatever happened above. */
    if (--p->pending == 0) {
        struct conn_poll_result res = p->res;
        memset(&p->res, 0, sizeof p->res);
        res.ok = !p->failed;
        conn_poll_finish(c, &res);
    }
}

static void prom_free(void *impl)
{
    struct prom *p = impl;
    if (!p)
        return;
    for (size_t i = 0; p->qs && i < p->cfg->n_queries; i++)
        free(p->qs[i].url);
    free(p->qs);
    http_points_free(&p->res.pts);
    free(p);
}

static const struct conn_poll_ops prom_ops = { prom_poll, prom_cancel, prom_free };

static int prom_start(struct conn **out, const struct cfg_source *src, const struct conn_env *env,
                      struct okrd_err *err)
{
    *out = NULL;
    if (!env->http)
        return okrd_err_set(err, OKRD_EINVAL, "source \"%s\": no HTTP client (env->http is NULL)",
                            src->id);
    const struct cfg_prometheus *cfg = &src->u.prom;
    struct prom *p = calloc(1, sizeof *p);
    if (!p || !(p->qs = calloc(cfg->n_queries + 1, sizeof *p->qs))) {
        free(p);
        return okrd_err_set(err, OKRD_ENOMEM, "source \"%s\": out of memory", src->id);
    }
    p->cfg = cfg;
    size_t base = strlen(cfg->url);
    while (base > 0 && cfg->url[base - 1] == '/')
        base--;
    for (size_t i = 0; i < cfg->n_queries; i++) {
        struct pq *q = &p->qs[i];
        q->p = p;
        q->q = &cfg->queries[i];
        char *enc = httpc_urlencode(q->q->query);
        size_t n = base + (enc ? strlen(enc) : 0) + 32;
        if (!enc || !(q->url = malloc(n))) {
            free(enc);
            prom_free(p);
            return okrd_err_set(err, OKRD_ENOMEM, "source \"%s\": out of memory", src->id);
        }
        snprintf(q->url, n, "%.*s/api/v1/query?query=%s", (int)base, cfg->url, enc);
        free(enc);
    }
    if (cfg->insecure && env->report) /* the user asked for it; say so once, at start */
        env->report(env->ctx, CFG_LOG_WARNING, src->id, "tls_insecure",
                    "TLS certificate verification is off for this source (\"insecure\": true)");
    return conn_poll_start(out, src, env, cfg->interval_ms, cfg->failing_after, &prom_ops, p, err);
}

const struct conn_type conn_prometheus = {
    .name = "prometheus",
    .type = CFG_SRC_PROMETHEUS,
    .start = prom_start,
    .close = conn_poll_close,
};
