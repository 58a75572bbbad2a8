/*
 * conn_http_json.c — the http_json source (DESIGN section 3): one request
 * per poll through the shared client, the response parsed with jansson and
 * turned into points by http_extract; scheduling, backoff, health and
 * storing are conn_poll's.
 *
 * A response is all or nothing: any missing pointer or non-numeric value
 * fails the poll and stores none of its points. Failure reasons never hold
 * the URL or a header value (both may carry keys).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_poll.h"
#include "httpc.h"

struct hj {
    const struct cfg_http_json *cfg;
    char **headers;             /* "Name: value" lines, built once */
    struct conn *conn;
    struct httpc_req *req;      /* in flight, or NULL */
};

static void on_response(void *arg, const struct httpc_response *r)
{
    struct hj *hj = arg;
    struct conn *c = hj->conn;
    hj->req = NULL;
    struct conn_poll_result res = { 0 };
    if (conn_poll_http_failure(r, conn_poll_started_s(c), &res)) {
        conn_poll_finish(c, &res);
        return;
    }
    json_error_t je;
    json_t *doc = json_loadb(r->body, r->body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!doc) {
        snprintf(res.kind, sizeof res.kind, "json");
        snprintf(res.reason, sizeof res.reason, "invalid JSON (line %d, column %d): %s", je.line,
                 je.column, je.text);
        conn_poll_finish(c, &res);
        return;
    }
    struct okrd_err err = { 0 };
    int rc = http_extract(doc, hj->cfg->extract, hj->cfg->n_extract, conn_poll_env(c)->tz,
                          conn_poll_started_s(c), &res.pts, &err);
    json_decref(doc);
    if (rc < 0) {
        http_points_free(&res.pts);
        snprintf(res.kind, sizeof res.kind, "extract");
        snprintf(res.reason, sizeof res.reason, "%s", err.msg);
    } else {
        res.ok = true;
    }
    conn_poll_finish(c, &res);
}

static void hj_poll(struct conn *c, void *impl)
{
    struct hj *hj = impl;
    hj->conn = c;
    const struct cfg_http_json *h = hj->cfg;
    struct httpc_request q = {
        .cls = HTTPC_SOURCE,
        .method = h->method == CFG_HTTP_POST ? "POST" : "GET",
        .url = h->url,
        .headers = (const char *const *)hj->headers,
        .n_headers = h->n_headers,
        .body = h->body,
        .body_len = h->body ? strlen(h->body) : 0,
        .timeout_ms = h->timeout_ms,
        .max_bytes = h->max_bytes,
        .insecure = h->insecure,
        .done = on_response,
        .arg = hj,
    };
    struct okrd_err err = { 0 };
    if (httpc_request(conn_poll_env(c)->http, &q, &hj->req, &err) < 0) {
        struct conn_poll_result res = { .cancelled = err.code == OKRD_ECANCELED };
        snprintf(res.kind, sizeof res.kind, "request");
        snprintf(res.reason, sizeof res.reason, "%s", err.msg);
        conn_poll_finish(c, &res);
    }
}

static void hj_cancel(void *impl)
{
    struct hj *hj = impl;
    httpc_cancel(hj->req);
    hj->req = NULL;
}

static void hj_free(void *impl)
{
    struct hj *hj = impl;
    if (!hj)
        return;
    for (size_t i = 0; hj->headers && i < hj->cfg->n_headers; i++)
        free(hj->headers[i]);
    free(hj->headers);
    free(hj);
}

static const struct conn_poll_ops hj_ops = { hj_poll, hj_cancel, hj_free };

static int hj_start(struct conn **out, const struct cfg_source *src, const struct conn_env *env,
                    struct okrd_err *err)
{
    *out = NULL;
    if (!env->http)
        return okrd_err_set(err, OKRD_EINVAL, "source \"%s\": no HTTP client (env->http is NULL)",
                            src->id);
    const struct cfg_http_json *h = &src->u.http;
    struct hj *hj = calloc(1, sizeof *hj);
    if (!hj || !(hj->headers = calloc(h->n_headers + 1, sizeof *hj->headers))) {
        free(hj);
        return okrd_err_set(err, OKRD_ENOMEM, "source \"%s\": out of memory", src->id);
    }
    hj->cfg = h;
    for (size_t i = 0; i < h->n_headers; i++) {
        size_t n = strlen(h->headers[i].name) + strlen(h->headers[i].value) + 3;
        if (!(hj->headers[i] = malloc(n))) {
            hj_free(hj);
            return okrd_err_set(err, OKRD_ENOMEM, "source \"%s\": out of memory", src->id);
        }
        /* curl drops "Name:" with no value; "Name;" is how it sends one empty. */
        if (h->headers[i].value[0])
            snprintf(hj->headers[i], n, "%s: %s", h->headers[i].name, h->headers[i].value);
        else
            snprintf(hj->headers[i], n, "%s;", h->headers[i].name);
    }
    if (h->insecure && env->report) /* the user asked for it; say so once, at start */
        env->report(env->ctx, CFG_LOG_WARNING, src->id, "tls_insecure",
                    "TLS certificate verification is off for this source (\"insecure\": true)");
    return conn_poll_start(out, src, env, h->interval_ms, h->failing_after, &hj_ops, hj, err);
}

const struct conn_type conn_http_json = {
    .name = "http_json",
    .type = CFG_SRC_HTTP_JSON,
    .start = hj_start,
    .close = conn_poll_close,
};
