/*
 * api_routes.c — which path is which endpoint, which methods it takes, who
 * may call it, and the read endpoints of DESIGN section 6 (push lives in
 * api_push.c). Order of checks: a foreign Host on a loopback listener 421
 * (on every path), unknown path 404, wrong method 405 with Allow, then who
 * may call it (api_auth.c: 403 when no token has the scope, 401 for a
 * missing or unknown token, 403 for a token without the scope), then the
 * endpoint. The two POSTs (a push, a check-in) are decided up to there
 * before their body is read; a body over the endpoint's limit is 413. Every error body is {"error": "<code>", "detail": "<what and
 * why>"}. No answer carries CORS headers: a browser page from elsewhere
 * gets nothing it may read.
 *
 * Reads come from the daemon's last evaluation (the snapshot) and the
 * loop's read-only store connection: small indexed reads, no write, no wait.
 * The reads that grow with the stored data (a series, the dashboard, the
 * metric list) go to the read workers (api_reads.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "common/parse.h"
#include "store/store_outbox.h"

enum route {
    R_NONE,
    R_ROOT,
    R_HEALTHZ,
    R_METRICS,
    R_OBJECTIVES,
    R_KR,
    R_KR_SERIES,
    R_DELIVERIES,
    R_POINTS,
    R_METRIC_LIST,
    R_KR_CHECKINS,
    R_RETRO,
    R_RETRO_PAGE,
};

#define KR_PREFIX "/api/v1/key-results/"
#define MAX_DELIVERIES 1000

const char *const api_no_store[] = { "Cache-Control", "no-store", NULL };

static enum route match(const char *url, char *id, size_t id_size)
{
    static const struct {
        const char *path;
        enum route r;
    } fixed[] = {
        { "/", R_ROOT }, { "/healthz", R_HEALTHZ }, { "/metrics", R_METRICS },
        { "/api/v1/objectives", R_OBJECTIVES }, { "/api/v1/deliveries", R_DELIVERIES },
        { "/api/v1/points", R_POINTS }, { "/api/v1/metrics", R_METRIC_LIST },
        { "/api/v1/retro", R_RETRO }, { "/retro", R_RETRO_PAGE },
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (!strcmp(url, fixed[i].path))
            return fixed[i].r;
    if (strncmp(url, KR_PREFIX, strlen(KR_PREFIX)) != 0)
        return R_NONE;
    const char *p = url + strlen(KR_PREFIX);
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (!okrd_valid_id(p, n) || n >= id_size)
        return R_NONE;
    memcpy(id, p, n);
    id[n] = '\0';
    if (!slash)
        return R_KR;
    if (!strcmp(slash, "/series"))
        return R_KR_SERIES;
    return !strcmp(slash, "/check-ins") ? R_KR_CHECKINS : R_NONE;
}

static bool is_get(const char *m) { return !strcmp(m, "GET") || !strcmp(m, "HEAD"); }

/* A POST whose body is read and handed to its endpoint. */
static bool takes_body(const struct api_request *rq, const char *method)
{
    return (rq->route == R_POINTS || rq->route == R_KR_CHECKINS) && !strcmp(method, "POST");
}

static size_t body_limit(const struct api_request *rq)
{
    return rq->route == R_POINTS ? API_MAX_BODY_BYTES : API_MAX_CHECKIN_BYTES;
}

static enum MHD_Result submit_body(struct api_request *rq)
{
    return rq->route == R_POINTS ? api_push_submit(rq) : api_checkin_submit(rq);
}

/* DESIGN section 8, "Browsers": a loopback listener answers only requests
 * addressed to a loopback name, so a web page whose name was rebound to
 * 127.0.0.1 (DNS rebinding) cannot read or write through the person's
 * browser. 0 = go on. */
static enum MHD_Result check_host(struct api_server *s, struct MHD_Connection *conn, bool *go_on)
{
    *go_on = true;
    if (s->listener != API_LISTENER_LOOPBACK)
        return MHD_YES;
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (api_auth_host_ok(host, s->listen_host))
        return MHD_YES;
    *go_on = false;
    char q[OKRD_QUOTE_MAX];
    okrd_quote(host, strlen(host), q, sizeof q);
    return api_respond_error(conn, MHD_HTTP_MISDIRECTED_REQUEST, "misdirected_request", NULL,
                             "Host %s is not this server: on a loopback listener okrd answers "
                             "only localhost, 127.0.0.1, [::1] or %s", q,
                             s->listen_host[0] ? s->listen_host : "its own address");
}

/* Who may call this (api_auth.c decides; this answers). *go_on = false:
 * the request was answered 401 or 403. */
static enum MHD_Result check_auth(struct api_server *s, struct api_request *rq, const char *method,
                                  const char *url, bool *go_on)
{
    struct MHD_Connection *conn = rq->conn;
    enum api_endpoint ep = api_auth_endpoint(method, url);
    const char *authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION);
    struct api_auth_result r = api_auth_decide(&s->auth, ep, s->listener, authz);
    *go_on = r.verdict == API_AUTH_SERVE;
    if (r.token >= 0)
        snprintf(rq->token_name, sizeof rq->token_name, "%s", s->auth.tokens[r.token].name);
    const char *scope = api_auth_scope_name(r.scope);
    const char *www[] = { MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer", NULL };
    switch (r.verdict) {
    case API_AUTH_SERVE:
        return MHD_YES;
    case API_AUTH_NOT_CONFIGURED: {
        /* Nobody could be let in: say so, rather than ask for a token. */
        const char *code = ep == API_EP_PUSH ? "push_disabled"
                         : ep == API_EP_CHECKIN ? "checkin_disabled" : "read_disabled";
        return api_respond_error(conn, MHD_HTTP_FORBIDDEN, code, NULL,
                                 "no configured token has the \"%s\" scope, so okrd accepts no "
                                 "such request here: add a token with it to daemon.api_tokens "
                                 "(or set daemon.api_token, which has every scope) and send it "
                                 "as a bearer token", scope);
    }
    case API_AUTH_MISSING:
        return api_respond_error(conn, MHD_HTTP_UNAUTHORIZED, "no_token", www,
                                 "this endpoint needs \"Authorization: Bearer <token>\" with a "
                                 "token that has the \"%s\" scope", scope);
    case API_AUTH_UNKNOWN:
        return api_respond_error(conn, MHD_HTTP_UNAUTHORIZED, "bad_token", www,
                                 "the bearer token is none of the configured tokens "
                                 "(daemon.api_token, daemon.api_tokens)");
    case API_AUTH_NO_SCOPE: {
        char has[64];
        api_auth_scope_list(s->auth.tokens[r.token].scopes, has, sizeof has);
        return api_respond_error(conn, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                                 "token \"%s\" does not have the \"%s\" scope (it has: %s)",
                                 rq->token_name, scope, has);
    }
    }
    return MHD_NO;
}

const struct eval_snapshot *api_snapshot(struct api_server *s)
{
    return s->env.snapshot ? s->env.snapshot(s->env.ctx) : NULL;
}

enum MHD_Result api_not_ready(struct MHD_Connection *conn)
{
    const char *hdr[] = { "Retry-After", "1", "Cache-Control", "no-store", NULL };
    return api_respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "not_ready", hdr,
                             "the first evaluation has not finished yet; try again in a moment");
}

static long find_kr(const struct eval_snapshot *snap, const char *id)
{
    for (size_t i = 0; i < snap->n_krs; i++)
        if (!strcmp(snap->krs[i]->id, id))
            return (long)i;
    return -1;
}

static enum MHD_Result no_such_kr(struct MHD_Connection *conn, const char *id)
{
    return api_respond_error(conn, MHD_HTTP_NOT_FOUND, "not_found", NULL,
                             "no key result \"%s\" in the running config", id);
}

/* ---- endpoints ---- */

static enum MHD_Result get_metrics(struct api_server *s, struct MHD_Connection *conn)
{
    struct api_process proc;
    api_process_read(&proc, s->start_time_s);
    int64_t pending = s->outbox_pending;
    struct store_delivery_counts counts;
    struct okrd_err err = { 0 };
    if (s->env.reader && store_delivery_counts(s->env.reader, NULL, &counts, &err) == 0)
        pending = counts.pending;
    struct api_metrics_in in = {
        .snap = api_snapshot(s), .sources = s->sources, .n_sources = s->n_sources,
        .webhooks = s->webhooks, .n_webhooks = s->n_webhooks, .outbox_pending = pending,
        .process = &proc, .have_role = true,
        .leader = !s->env.role || !strcmp(s->env.role(s->env.ctx), "leader"),
    };
    struct api_buf b = { 0 };
    size_t n = 0;
    char *krs = api_cache_copy(&s->kr_metrics, in.snap, &n);
    if (krs) {
        b.p = krs;
        b.n = n;
        b.cap = n + 1;
    } else {
        api_metrics_write_krs(&b, in.snap);
        if (in.snap && !b.failed)
            api_cache_put(&s->kr_metrics, in.snap, b.p, b.n);
    }
    api_metrics_write_rest(&b, &in);
    if (b.failed) {
        api_buf_free(&b);
        return api_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out_of_memory", NULL,
                                 "no memory for the exposition");
    }
    return api_respond(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.p, b.n,
                       api_no_store);
}

static enum MHD_Result get_kr(struct api_server *s, struct MHD_Connection *conn, const char *id)
{
    const struct eval_snapshot *snap = api_snapshot(s);
    if (!snap)
        return api_not_ready(conn);
    long i = find_kr(snap, id);
    if (i < 0)
        return no_such_kr(conn, id);
    return api_respond_json(conn, MHD_HTTP_OK, okr_view_key_result(snap, (size_t)i),
                            api_no_store);
}

struct deliveries_ctx {
    json_t *arr;
    size_t n;
    bool truncated;
    const struct cfg *cfg;       /* orphaned = pending for a webhook not in it */
};

static json_t *time_or_null(int64_t t)
{
    if (t <= 0)
        return json_null();
    char buf[32];
    okrd_format_utc(t, buf, sizeof buf);
    return json_string(buf);
}

static json_t *str_or_null(const char *s) { return s[0] ? json_string(s) : json_null(); }

static int on_delivery(void *ctx, const struct store_delivery *d)
{
    struct deliveries_ctx *c = ctx;
    if (c->n++ >= MAX_DELIVERIES) {
        c->truncated = true;
        return 1;
    }
    json_array_append_new(c->arr, json_pack(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:i, s:o, s:o, s:o, s:o, s:o, s:o}",
        "event_id", d->event_id, "type", d->type, "webhook", d->webhook_id, "state", d->state,
        "objective", str_or_null(d->objective_id), "key_result", str_or_null(d->kr_id),
        "attempts", d->attempts,
        "last_status", d->last_status ? json_integer(d->last_status) : json_null(),
        "last_error", str_or_null(d->last_error),
        "next_attempt_at", strcmp(d->state, "pending") ? json_null() : time_or_null(d->next_attempt_s),
        "occurred_at", time_or_null(d->occurred_at_s), "created_at", time_or_null(d->created_at_s),
        "delivered_at", time_or_null(d->delivered_at_s)));
    json_object_set_new(json_array_get(c->arr, json_array_size(c->arr) - 1), "orphaned",
                        json_boolean(!strcmp(d->state, "pending") &&
                                     !cfg_find_webhook(c->cfg, d->webhook_id)));
    return 0;
}

static enum MHD_Result get_deliveries(struct api_server *s, struct MHD_Connection *conn)
{
    const char *state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
    if (state && !*state)
        state = NULL;
    if (state && strcmp(state, "pending") && strcmp(state, "dead") && strcmp(state, "delivered"))
        return api_respond_error(conn, MHD_HTTP_BAD_REQUEST, "bad_query", NULL,
                                 "?state= must be pending, dead or delivered (or absent: all)");
    struct deliveries_ctx c = { json_array(), 0, false, s->cfg };
    struct okrd_err err = { 0 };
    int rc = store_each_delivery(s->env.reader, state, on_delivery, &c, &err);
    /* Counted over the whole store, not only the rows listed. */
    int64_t orphaned = 0;
    const char **ids = calloc(s->cfg->n_webhooks + 1, sizeof *ids);
    for (size_t i = 0; ids && i < s->cfg->n_webhooks; i++)
        ids[i] = s->cfg->webhooks[i].id;
    if (rc >= 0)
        rc = ids ? store_count_orphans(s->env.reader, ids, s->cfg->n_webhooks, &orphaned, &err)
                 : okrd_err_set(&err, OKRD_ENOMEM, "count orphaned deliveries: out of memory");
    free(ids);
    if (rc < 0) {
        json_decref(c.arr);
        return api_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_failed", NULL, "%s",
                                 err.msg);
    }
    json_t *doc = json_pack("{s:o, s:I}", "deliveries", c.arr, "orphaned", (json_int_t)orphaned);
    if (c.truncated)
        json_object_set_new(doc, "truncated", json_true());
    return api_respond_json(conn, MHD_HTTP_OK, doc, api_no_store);
}

static enum MHD_Result get_objectives(struct api_server *s, struct MHD_Connection *conn)
{
    const struct eval_snapshot *snap = api_snapshot(s);
    if (!snap)
        return api_not_ready(conn);
    size_t n = 0;
    char *text = api_cache_copy(&s->objectives_json, snap, &n);
    if (!text) {
        char *doc = api_json_dump_doc(okr_view_objectives(snap));
        if (!doc)
            return api_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out_of_memory", NULL,
                                     "no memory for the answer");
        n = strlen(doc);
        api_cache_put(&s->objectives_json, snap, doc, n);
        text = doc;
    }
    return api_respond(conn, MHD_HTTP_OK, "application/json", text, n, api_no_store);
}

static enum MHD_Result answer_get(struct api_server *s, struct api_request *rq)
{
    struct MHD_Connection *conn = rq->conn;
    const char *id = rq->id;
    switch ((enum route)rq->route) {
    case R_HEALTHZ:
        /* role: DESIGN section 10 ("leader" only while the node may act) */
        return api_respond_json(conn, MHD_HTTP_OK,
                                json_pack("{s:s, s:s}", "status", "ok", "role",
                                          s->env.role ? s->env.role(s->env.ctx) : "leader"),
                                api_no_store);
    case R_METRICS: return get_metrics(s, conn);
    case R_OBJECTIVES: return get_objectives(s, conn);
    case R_KR: return get_kr(s, conn, id);
    case R_KR_SERIES: return api_reads_series(s, rq);
    case R_DELIVERIES: return get_deliveries(s, conn);
    case R_ROOT: return api_reads_dashboard(s, rq);
    case R_METRIC_LIST: return api_reads_metrics(s, rq);
    case R_KR_CHECKINS: return api_checkins_list(s, rq);
    case R_RETRO: return api_retro_get(s, rq);
    case R_RETRO_PAGE: return api_retro_page(s, rq);
    default: return MHD_NO;
    }
}

/* ---- the access handler ---- */

enum MHD_Result api_answer_ready(struct api_request *rq)
{
    char *text = rq->answer;
    size_t n = rq->answer_len ? rq->answer_len : text ? strlen(text) : 0;
    rq->answer = NULL;
    rq->answered = false;
    return api_respond(rq->conn, rq->status, rq->answer_type ? rq->answer_type : "application/json",
                       text, n, rq->answer_headers ? rq->answer_headers : api_no_store);
}

/* Everything but a POST with a body (push, check-in): answered once the whole request is in, so
 * the connection stays open for the next request (MHD closes one answered
 * before its request was complete). */
static enum MHD_Result answer(struct api_server *s, struct api_request *rq, const char *url,
                              const char *method)
{
    struct MHD_Connection *conn = rq->conn;
    enum route r = rq->route;
    bool go_on;
    enum MHD_Result ret = check_host(s, conn, &go_on);
    if (!go_on)
        return ret;
    if (s->closing)
        return api_respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", NULL,
                                 "okrd is stopping");
    if (r == R_NONE) {
        char q[OKRD_QUOTE_MAX];
        okrd_quote(url, strlen(url), q, sizeof q);
        return api_respond_error(conn, MHD_HTTP_NOT_FOUND, "not_found", NULL,
                                 "no endpoint at %s; see GET / and /api/v1/objectives", q);
    }
    const char *allow = r == R_POINTS        ? "POST"
                        : r == R_KR_CHECKINS ? "GET, HEAD, POST"
                                             : "GET, HEAD";
    if (r == R_POINTS || !is_get(method)) { /* a push that is no POST, or a write elsewhere */
        const char *hdr[] = { MHD_HTTP_HEADER_ALLOW, allow, NULL };
        char q[OKRD_QUOTE_MAX];
        okrd_quote(method, strlen(method), q, sizeof q);
        return api_respond_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", hdr,
                                 "%s is not allowed here; use %s", q, allow);
    }
    ret = check_auth(s, rq, method, url, &go_on);
    return go_on ? answer_get(s, rq) : ret;
}

/* A POST's checks before its body is read: a refused push or check-in is
 * answered at once and its body never buffered. 0 = go on and read the body. */
static enum MHD_Result post_first(struct api_server *s, struct api_request *rq, const char *url,
                                  bool *go_on)
{
    struct MHD_Connection *conn = rq->conn;
    enum MHD_Result ret = check_host(s, conn, go_on);
    if (!*go_on)
        return ret;
    *go_on = false;
    if (s->closing)
        return api_respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", NULL,
                                 "okrd is stopping");
    ret = check_auth(s, rq, "POST", url, go_on);
    if (!*go_on)
        return ret;
    *go_on = false;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > body_limit(rq)) {
        rq->too_big = true;
        return submit_body(rq);
    }
    *go_on = true;
    return MHD_YES;
}

enum MHD_Result api_handle(void *cls, struct MHD_Connection *conn, const char *url,
                           const char *method, const char *version, const char *upload_data,
                           size_t *upload_data_size, void **req_cls)
{
    (void)version;
    struct api_server *s = cls;
    struct api_request *rq = *req_cls;
    if (!rq) { /* the headers are in */
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        rq->srv = s;
        rq->conn = conn;
        rq->route = match(url, rq->id, sizeof rq->id);
        *req_cls = rq;
        if (takes_body(rq, method)) {
            bool go_on;
            enum MHD_Result ret = post_first(s, rq, url, &go_on);
            if (!go_on)
                rq->started = true;
            return ret;
        }
        return MHD_YES;
    }
    if (rq->answered) /* resumed: a POST after its write job, a big read after its worker */
        return api_answer_ready(rq);
    if (!takes_body(rq, method)) {
        if (*upload_data_size) { /* a body nobody asked for: dropped */
            *upload_data_size = 0;
            return MHD_YES;
        }
        return answer(s, rq, url, method);
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (rq->started)
            return MHD_YES; /* answered already; the rest is dropped */
        if (rq->too_big || rq->body.n + n > body_limit(rq)) {
            /* No Content-Length (chunked): found out while reading. MHD
             * cannot answer mid-body, so the rest is read and dropped and
             * the 413 comes at the end; past API_MAX_DISCARD_BYTES the
             * connection is simply closed. */
            rq->too_big = true;
            api_buf_free(&rq->body);
            rq->discarded += n;
            return rq->discarded > API_MAX_DISCARD_BYTES ? MHD_NO : MHD_YES;
        }
        api_buf_put(&rq->body, upload_data, n);
        return rq->body.failed ? MHD_NO : MHD_YES;
    }
    if (rq->started)
        return MHD_YES;
    rq->started = true;
    return submit_body(rq);
}
