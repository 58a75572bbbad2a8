/*
 * test_http.c — the shared HTTP client (connectors/httpc.c) against a tiny
 * HTTP server running on the same libuv loop (no threads, no network beyond
 * 127.0.0.1), the poll schedule and report decisions with chosen times (no
 * loop, no sleep), and one http_json source end to end through the real
 * writer thread into a fresh store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "connectors/conn.h"
#include "connectors/conn_poll.h"
#include "connectors/httpc.h"
#include "store/store.h"
#define STORE_FX_NO_SETUP
#include "store_fx.h"
#include "testutil.h"

/* ---- a one-file HTTP/1.1 server on the loop ---- */

struct srv {
    uv_tcp_t tcp;
    int port;
    int requests;
};

struct cli {
    uv_tcp_t t;
    struct srv *s;
    char buf[16384];
    size_t n;
    bool answered;
    bool keep;      /* keep-alive: answer the next request on this connection */
};

static void on_cli_closed(uv_handle_t *h) { free(h->data); }

static void on_written(uv_write_t *w, int status)
{
    struct cli *c = w->data;
    free(w);
    if (!c->keep && !uv_is_closing((uv_handle_t *)&c->t))
        uv_close((uv_handle_t *)&c->t, on_cli_closed);
}

static void send_text(struct cli *c, const char *text, size_t len)
{
    uv_write_t *w = malloc(sizeof *w + len);
    memcpy((char *)(w + 1), text, len);
    uv_buf_t b = uv_buf_init((char *)(w + 1), (unsigned)len);
    w->data = c;
    uv_write(w, (uv_stream_t *)&c->t, &b, 1, on_written);
}

static void respond(struct cli *c, int status, const char *extra, const char *body)
{
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n",
                     status, strlen(body), extra);
    size_t len = (size_t)n + strlen(body);
    char *all = malloc(len + 1);
    memcpy(all, head, (size_t)n);
    memcpy(all + n, body, strlen(body));
    send_text(c, all, len);
    free(all);
}

static void route(struct cli *c)
{
    char path[256] = "";
    sscanf(c->buf, "%*s %255s", path);
    path[strcspn(path, "?")] = '\0';
    c->s->requests++;
    c->answered = true;
    if (!strcmp(path, "/ok")) {
        respond(c, 200, "", "{\"v\": 41.5}");
    } else if (!strcmp(path, "/ka")) {
        /* keep-alive: the connection stays open for the next request */
        static const char ka[] = "HTTP/1.1 200 X\r\nContent-Length: 2\r\n\r\n{}";
        c->keep = true;
        c->n = 0;
        c->buf[0] = '\0';
        c->answered = false;
        send_text(c, ka, sizeof ka - 1);
    } else if (!strcmp(path, "/echo")) {
        char *body = malloc(c->n + 1); /* the request itself, for the test to inspect */
        memcpy(body, c->buf, c->n);
        body[c->n] = '\0';
        respond(c, 200, "", body);
        free(body);
    } else if (!strcmp(path, "/500")) {
        respond(c, 500, "", "oops");
    } else if (!strcmp(path, "/429")) {
        respond(c, 429, "Retry-After: 7\r\n", "slow down");
    } else if (!strcmp(path, "/big")) {
        /* Chunked, no Content-Length: only counting in the write callback stops it. */
        static char chunk[1100];
        memset(chunk, 0, sizeof chunk);
        char *p = chunk;
        p += sprintf(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        send_text(c, chunk, (size_t)(p - chunk));
        char data[1024 + 16];
        int hl = sprintf(data, "400\r\n");
        memset(data + hl, 'x', 1024);
        memcpy(data + hl + 1024, "\r\n", 2);
        for (int i = 0; i < 64; i++)
            send_text(c, data, (size_t)hl + 1026);
    } else if (!strcmp(path, "/hang")) {
        /* never answer */
    } else if (!strcmp(path, "/reset")) {
        uv_tcp_close_reset(&c->t, on_cli_closed);
    } else {
        respond(c, 404, "", "no");
    }
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
    struct cli *c = h->data;
    *b = uv_buf_init(c->buf + c->n, (unsigned)(sizeof c->buf - 1 - c->n));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct cli *c = st->data;
    if (n < 0) {
        if (!uv_is_closing((uv_handle_t *)st))
            uv_close((uv_handle_t *)st, on_cli_closed);
        return;
    }
    c->n += (size_t)n;
    c->buf[c->n] = '\0';
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end || c->answered)
        return;
    const char *cl = strcasestr(c->buf, "Content-Length:");
    size_t want = (size_t)(end + 4 - c->buf) + (cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
    if (c->n >= want)
        route(c);
}

static void on_conn(uv_stream_t *server, int status)
{
    struct srv *s = server->data;
    struct cli *c = calloc(1, sizeof *c);
    c->s = s;
    uv_tcp_init(server->loop, &c->t);
    c->t.data = c;
    uv_accept(server, (uv_stream_t *)&c->t);
    uv_read_start((uv_stream_t *)&c->t, on_alloc, on_read);
}

static void srv_start(struct srv *s, uv_loop_t *loop)
{
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(loop, &s->tcp);
    s->tcp.data = s;
    assert_int_equal(uv_tcp_bind(&s->tcp, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->tcp, 64, on_conn), 0);
    struct sockaddr_in got;
    int len = sizeof got;
    uv_tcp_getsockname(&s->tcp, (struct sockaddr *)&got, &len);
    s->port = ntohs(got.sin_port);
}

/* Closes the server and any client connection still open (a hung one). */
static void close_any(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_TCP && h != arg ? on_cli_closed : NULL);
}

/* ---- client tests ---- */

struct got {
    int calls;
    enum httpc_result result;
    long status;
    char body[4096];
    char retry_after[64];
    char error[256];
};

static void on_done(void *arg, const struct httpc_response *r)
{
    struct got *g = arg;
    g->calls++;
    g->result = r->result;
    g->status = r->status;
    snprintf(g->body, sizeof g->body, "%s", r->body);
    snprintf(g->retry_after, sizeof g->retry_after, "%s", r->retry_after ? r->retry_after : "");
    snprintf(g->error, sizeof g->error, "%s", r->error);
}

static bool closed_flag;
static void on_client_closed(void *arg) { *(bool *)arg = true; }

static void run_one(uv_loop_t *loop, struct httpc *h, struct srv *s, const char *path,
                    struct httpc_request q, struct got *g)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    q.url = url;
    q.done = on_done;
    q.arg = g;
    struct okrd_err err = { 0 };
    assert_int_equal(httpc_request(h, &q, NULL, &err), 0);
    while (g->calls == 0)
        uv_run(loop, UV_RUN_ONCE);
}

static void test_client_matrix(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv s = { 0 };
    srv_start(&s, &loop);
    struct httpc *h;
    struct okrd_err err = { 0 };
    assert_int_equal(httpc_open(&h, &loop, &okrd_clock_system, 4, &err), 0);

    struct got g = { 0 };
    run_one(&loop, h, &s, "/ok", (struct httpc_request){ .timeout_ms = 5000 }, &g);
    assert_int_equal(g.result, HTTPC_OK);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "{\"v\": 41.5}");

    const char *hdrs[] = { "X-Key: secret-value", "Content-Type: application/json" };
    memset(&g, 0, sizeof g);
    run_one(&loop, h, &s, "/echo", (struct httpc_request){ .method = "POST", .headers = hdrs,
            .n_headers = 2, .body = "{\"q\":1}", .body_len = 7, .username = "u", .password = "p",
            .timeout_ms = 5000 }, &g);
    assert_int_equal(g.status, 200);
    assert_non_null(strstr(g.body, "POST /echo HTTP/1.1"));
    assert_non_null(strstr(g.body, "X-Key: secret-value"));
    assert_non_null(strstr(g.body, "Authorization: Basic dTpw")); /* u:p */
    assert_non_null(strstr(g.body, "\r\n\r\n{\"q\":1}"));
    assert_null(strstr(g.body, "Expect:"));

    memset(&g, 0, sizeof g);
    run_one(&loop, h, &s, "/500", (struct httpc_request){ .timeout_ms = 5000 }, &g);
    assert_int_equal(g.result, HTTPC_OK); /* an answer: the caller judges the status */
    assert_int_equal(g.status, 500);

    memset(&g, 0, sizeof g);
    run_one(&loop, h, &s, "/429", (struct httpc_request){ .timeout_ms = 5000 }, &g);
    assert_int_equal(g.status, 429);
    assert_string_equal(g.retry_after, "7");

    memset(&g, 0, sizeof g);
    run_one(&loop, h, &s, "/big", (struct httpc_request){ .timeout_ms = 5000, .max_bytes = 10000 }, &g);
    assert_int_equal(g.result, HTTPC_E_TOO_BIG);
    assert_non_null(strstr(g.error, "max_bytes"));

    memset(&g, 0, sizeof g);
    run_one(&loop, h, &s, "/hang", (struct httpc_request){ .timeout_ms = 300 }, &g);
    assert_int_equal(g.result, HTTPC_E_TIMEOUT);
    assert_non_null(strstr(g.error, "timed out"));

    memset(&g, 0, sizeof g);
    run_one(&loop, h, &s, "/reset", (struct httpc_request){ .timeout_ms = 5000 }, &g);
    assert_int_equal(g.result, HTTPC_E_NETWORK);
    assert_null(strstr(g.error, "127.0.0.1")); /* no URL in messages */

    memset(&g, 0, sizeof g);
    struct httpc_request q = { .timeout_ms = 5000, .url = "http://127.0.0.1:1/x?key=SECRET",
                               .done = on_done, .arg = &g };
    assert_int_equal(httpc_request(h, &q, NULL, &err), 0);
    while (g.calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g.result, HTTPC_E_CONNECT);
    assert_null(strstr(g.error, "SECRET"));

    /* Close with requests in flight and queued: each done runs "cancelled". */
    struct got hung[6] = { 0 };
    for (int i = 0; i < 6; i++) {
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%d/hang", s.port);
        struct httpc_request r = { .url = url, .timeout_ms = 60000, .done = on_done, .arg = &hung[i] };
        assert_int_equal(httpc_request(h, &r, NULL, &err), 0);
    }
    assert_int_equal(httpc_running(h, HTTPC_SOURCE), 4); /* the cap */
    assert_int_equal(httpc_queued(h, HTTPC_SOURCE), 2);
    uv_run(&loop, UV_RUN_NOWAIT);
    closed_flag = false;
    httpc_close(h, on_client_closed, &closed_flag);
    for (int i = 0; i < 6; i++)
        assert_int_equal(hung[i].result, HTTPC_E_CANCELLED);
    uv_walk(&loop, close_any, &s.tcp);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_true(closed_flag);
    assert_int_equal(uv_loop_close(&loop), 0); /* nothing left open */
}

/* A hung source class never delays a webhook; cancel frees a slot. */
static void test_classes_and_cancel(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv s = { 0 };
    srv_start(&s, &loop);
    struct httpc *h;
    struct okrd_err err = { 0 };
    assert_int_equal(httpc_open(&h, &loop, &okrd_clock_system, 2, &err), 0);
    char hang[128], ok[128];
    snprintf(hang, sizeof hang, "http://127.0.0.1:%d/hang", s.port);
    snprintf(ok, sizeof ok, "http://127.0.0.1:%d/ok", s.port);
    struct got g[4] = { 0 };
    struct httpc_req *r[3];
    for (int i = 0; i < 2; i++) {
        struct httpc_request q = { .url = hang, .timeout_ms = 60000, .done = on_done, .arg = &g[i] };
        assert_int_equal(httpc_request(h, &q, &r[i], &err), 0);
    }
    struct httpc_request qs = { .url = ok, .timeout_ms = 5000, .done = on_done, .arg = &g[2] };
    assert_int_equal(httpc_request(h, &qs, &r[2], &err), 0); /* queued behind the hung ones */
    struct httpc_request qw = { .cls = HTTPC_WEBHOOK, .url = ok, .timeout_ms = 5000,
                                .done = on_done, .arg = &g[3] };
    assert_int_equal(httpc_request(h, &qw, NULL, &err), 0);
    while (g[3].calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g[3].status, 200);
    assert_int_equal(g[2].calls, 0);
    httpc_cancel(r[0]); /* frees a slot: the queued source request runs */
    while (g[2].calls == 0)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(g[2].status, 200);
    assert_int_equal(g[0].calls, 0); /* cancelled: no callback */
    httpc_close(h, NULL, NULL);
    assert_int_equal(g[1].result, HTTPC_E_CANCELLED);
    uv_walk(&loop, close_any, &s.tcp);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A queued request holds no curl easy handle, and a finished one gives its
 * handle back for the next: a burst of requests costs `cap` handles, not
 * one each (the 1,000-source start-up allocated and zeroed 1,000). */
static void test_easy_handles_pooled(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv s = { 0 };
    srv_start(&s, &loop);
    struct httpc *h;
    struct okrd_err err = { 0 };
    assert_int_equal(httpc_open(&h, &loop, &okrd_clock_system, 4, &err), 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", s.port);
    enum { N = 40 };
    struct got g[N] = { 0 };
    for (int i = 0; i < N; i++) {
        struct httpc_request q = { .url = url, .timeout_ms = 5000, .done = on_done, .arg = &g[i] };
        assert_int_equal(httpc_request(h, &q, NULL, &err), 0);
    }
    struct httpc_stats st;
    httpc_get_stats(h, HTTPC_SOURCE, &st);
    assert_int_equal(httpc_queued(h, HTTPC_SOURCE), N - 4);
    assert_true(st.easy_alive <= 4);
    assert_true(st.easy_created <= 4);
    for (int i = 0; i < N; i++)
        while (g[i].calls == 0)
            uv_run(&loop, UV_RUN_ONCE);
    for (int i = 0; i < N; i++)
        assert_int_equal(g[i].status, 200);
    httpc_get_stats(h, HTTPC_SOURCE, &st);
    assert_true(st.easy_alive <= 4); /* idle, kept for reuse */
    size_t created = st.easy_created;
    assert_true(created <= 4);
    for (int i = 0; i < 10; i++) { /* one after another: the same handle each time */
        struct got one = { 0 };
        run_one(&loop, h, &s, "/ok", (struct httpc_request){ .timeout_ms = 5000 }, &one);
        assert_int_equal(one.status, 200);
    }
    httpc_get_stats(h, HTTPC_SOURCE, &st);
    assert_int_equal(st.easy_created, created);
    httpc_close(h, NULL, NULL);
    uv_walk(&loop, close_any, &s.tcp);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A reused handle carries nothing of the request before it: method, body,
 * headers, credentials, max_bytes, timeout. Cap 1: every request below runs
 * on the same handle. */
static void test_reused_handle_forgets_options(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv s = { 0 };
    srv_start(&s, &loop);
    struct httpc *h;
    struct okrd_err err = { 0 };
    assert_int_equal(httpc_open(&h, &loop, &okrd_clock_system, 1, &err), 0);
    const char *hdrs[] = { "X-Key: secret-value", "Content-Type: application/json" };
    struct got g = { 0 };
    run_one(&loop, h, &s, "/echo", (struct httpc_request){ .method = "PUT", .headers = hdrs,
            .n_headers = 2, .body = "{\"q\":1}", .body_len = 7, .username = "u", .password = "p",
            .timeout_ms = 5000 }, &g);
    assert_non_null(strstr(g.body, "PUT /echo HTTP/1.1"));
    assert_non_null(strstr(g.body, "Authorization: Basic"));
    memset(&g, 0, sizeof g);
    run_one(&loop, h, &s, "/echo", (struct httpc_request){ .timeout_ms = 5000 }, &g);
    assert_int_equal(g.status, 200);
    assert_non_null(strstr(g.body, "GET /echo HTTP/1.1"));
    assert_null(strstr(g.body, "X-Key"));
    assert_null(strstr(g.body, "Authorization"));
    assert_null(strstr(g.body, "Content-Type"));
    assert_null(strstr(g.body, "Content-Length"));
    assert_null(strstr(g.body, "{\"q\":1}"));
    memset(&g, 0, sizeof g);
    run_one(&loop, h, &s, "/ok", (struct httpc_request){ .timeout_ms = 5000, .max_bytes = 5 }, &g);
    assert_int_equal(g.result, HTTPC_E_TOO_BIG);
    memset(&g, 0, sizeof g);
    run_one(&loop, h, &s, "/ok", (struct httpc_request){ .timeout_ms = 5000 }, &g);
    assert_int_equal(g.result, HTTPC_OK); /* no cap this time */
    assert_string_equal(g.body, "{\"v\": 41.5}");
    memset(&g, 0, sizeof g);
    run_one(&loop, h, &s, "/hang", (struct httpc_request){ .timeout_ms = 200 }, &g);
    assert_int_equal(g.result, HTTPC_E_TIMEOUT);
    memset(&g, 0, sizeof g);
    run_one(&loop, h, &s, "/ok", (struct httpc_request){ .timeout_ms = 5000 }, &g);
    assert_int_equal(g.result, HTTPC_OK);
    struct httpc_stats st;
    httpc_get_stats(h, HTTPC_SOURCE, &st);
    assert_int_equal(st.easy_created, 1);
    httpc_close(h, NULL, NULL);
    uv_walk(&loop, close_any, &s.tcp);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A kept-alive connection keeps its socket watcher between transfers (curl
 * says "remove" after each; initialising a uv_poll_t again costs three
 * syscalls a poll), and the watcher is closed before curl closes the socket
 * (closing it later would delete the fd number from epoll under whatever
 * now owns it). */
static void test_keepalive_socket_watchers(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv s = { 0 };
    srv_start(&s, &loop);
    struct httpc *h;
    struct okrd_err err = { 0 };
    assert_int_equal(httpc_open(&h, &loop, &okrd_clock_system, 1, &err), 0);
    struct httpc_stats st;
    for (int i = 0; i < 10; i++) {
        struct got g = { 0 };
        run_one(&loop, h, &s, "/ka", (struct httpc_request){ .timeout_ms = 5000 }, &g);
        assert_int_equal(g.status, 200);
        httpc_get_stats(h, HTTPC_SOURCE, &st);
        assert_int_equal(st.polls_alive, 1);
    }
    assert_int_equal(st.polls_created, 1);
    /* The same connection, answered with "Connection: close": curl closes
     * the socket, and its watcher is gone with it. */
    struct got g = { 0 };
    run_one(&loop, h, &s, "/ok", (struct httpc_request){ .timeout_ms = 5000 }, &g);
    assert_int_equal(g.status, 200);
    httpc_get_stats(h, HTTPC_SOURCE, &st);
    assert_int_equal(st.polls_created, 1);
    assert_int_equal(st.polls_alive, 0);
    httpc_close(h, NULL, NULL);
    uv_walk(&loop, close_any, &s.tcp);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_retry_after_and_urlencode(void **state)
{
    int64_t d;
    assert_int_equal(httpc_parse_retry_after("120", 0, &d), 0);
    assert_int_equal(d, 120000);
    assert_int_equal(httpc_parse_retry_after(" 0 ", 0, &d), 0);
    assert_int_equal(d, 0);
    /* 2026-11-22T08:00:00Z = 1795334400 */
    assert_int_equal(httpc_parse_retry_after("Sun, 22 Nov 2026 08:00:30 GMT", 1795334400, &d), 0);
    assert_int_equal(d, 30000);
    assert_int_equal(httpc_parse_retry_after("Sun, 22 Nov 2026 07:00:00 GMT", 1795334400, &d), 0);
    assert_int_equal(d, 0); /* in the past */
    assert_int_equal(httpc_parse_retry_after("soon", 0, &d), OKRD_EINVAL);
    assert_int_equal(httpc_parse_retry_after("12s", 0, &d), OKRD_EINVAL);
    char *e = httpc_urlencode("sum(rate(x{job=\"a b\"}[5m])) / 1e3");
    assert_string_equal(e, "sum%28rate%28x%7Bjob%3D%22a%20b%22%7D%5B5m%5D%29%29%20%2F%201e3");
    free(e);
}

/* ---- deciding: schedule and reports, with chosen times ---- */

static void test_schedule(void **state)
{
    static const struct {
        const char *name;
        int64_t interval_ms;
        int failures;
        int64_t retry_after_ms;
        double jitter;
        int64_t want;
    } cases[] = {
        { "healthy", 60000, 0, 0, 0, 60000 },
        { "healthy +10%", 60000, 0, 0, 1, 66000 },
        { "healthy -10%", 60000, 0, 0, -1, 54000 },
        { "1st failure", 60000, 1, 0, 0, 60000 },
        { "2nd failure doubles", 60000, 2, 0, 0, 120000 },
        { "3rd", 60000, 3, 0, 0, 240000 },
        { "4th reaches the cap", 60000, 4, 0, 0, 480000 },
        { "capped at 8x", 60000, 30, 0, 0, 480000 },
        { "capped, with jitter", 60000, 30, 0, 1, 528000 },
        { "Retry-After longer wins", 1000, 1, 7000, 0, 7000 },
        { "Retry-After shorter loses", 60000, 1, 7000, 0, 60000 },
        { "Retry-After over a day is capped", 1000, 1, 90LL * 86400000, 0, 86400000 },
        { "Retry-After ignored when healthy", 1000, 0, 7000, 0, 1000 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct conn_poll_sched s = { cases[i].interval_ms, cases[i].failures, cases[i].retry_after_ms };
        int64_t got = conn_poll_delay_ms(&s, cases[i].jitter);
        if (got != cases[i].want)
            fail_msg("%s: %lld ms, want %lld", cases[i].name, (long long)got, (long long)cases[i].want);
    }
    /* Counted from the last poll's start, never before now. */
    int64_t t = 1795334400000;
    struct okrd_clock clk = okrd_clock_fake(&t);
    struct conn_poll_sched s = { 60000, 0, 0 };
    int64_t start = okrd_clock_now_ms(&clk);
    t += 2000; /* the poll took 2 s */
    assert_int_equal(conn_poll_next_ms(&s, start, okrd_clock_now_ms(&clk), 0), start + 60000);
    t += 120000; /* a poll that outlived its interval is followed at once */
    assert_int_equal(conn_poll_next_ms(&s, start, okrd_clock_now_ms(&clk), 0), t);
}

static void test_report_once_per_change(void **state)
{
    struct conn_poll_report r = { 0 };
    static const struct {
        bool ok;
        const char *kind;
        int failures;
        enum conn_poll_event want;
    } seq[] = {
        { true, NULL, 0, CONN_EV_FIRST_OK },
        { true, NULL, 0, CONN_EV_NONE },
        { false, "timeout", 1, CONN_EV_FAILED },
        { false, "timeout", 2, CONN_EV_NONE },       /* same failure: quiet */
        { false, "http 500", 3, CONN_EV_FAILING },   /* failing_after reached */
        { false, "http 500", 4, CONN_EV_NONE },
        { false, "json", 5, CONN_EV_FAILED },        /* a different failure */
        { false, "json", 6, CONN_EV_NONE },
        { true, NULL, 0, CONN_EV_RECOVERED },
        { true, NULL, 0, CONN_EV_NONE },
    };
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        enum conn_poll_event ev = conn_poll_decide_report(&r, seq[i].ok, seq[i].kind, seq[i].failures, 3);
        if (ev != seq[i].want)
            fail_msg("step %zu: event %d, want %d", i, ev, seq[i].want);
    }
    /* Starting in failure: the first poll reports. */
    struct conn_poll_report r2 = { 0 };
    assert_int_equal(conn_poll_decide_report(&r2, false, "dns", 1, 3), CONN_EV_FAILED);
}


/* ---- one http_json source end to end: client, writer thread, store ---- */

struct rec {
    const char *id;
    int health_calls, failed_reports, ok_reports, committed;
    bool last_ok;
    struct store_source_health h;
    char last_msg[512];
};

static struct rec *rec_for(void *ctx, const char *id)
{
    struct rec *r = ctx;
    return !strcmp(r[0].id, id) ? &r[0] : &r[1];
}

static void rec_health(void *ctx, const char *id, bool ok, const struct store_source_health *h)
{
    struct rec *r = rec_for(ctx, id);
    r->health_calls++;
    r->last_ok = ok;
    r->h = *h;
}

static void rec_report(void *ctx, enum cfg_log_level lvl, const char *id, const char *ev,
                       const char *msg)
{
    struct rec *r = rec_for(ctx, id);
    if (!strcmp(ev, "poll_failed") || !strcmp(ev, "source_failing"))
        r->failed_reports++;
    if (!strcmp(ev, "poll_ok"))
        r->ok_reports++;
    if (lvl != CFG_LOG_DEBUG)
        snprintf(r->last_msg, sizeof r->last_msg, "%s", msg);
}

static void rec_committed(void *ctx, const char *id, const char *const *metrics, size_t n,
                          int64_t n_points)
{
    struct rec *r = rec_for(ctx, id);
    r->committed++;
    assert_int_equal(n, 1);
    assert_string_equal(metrics[0], "m");
}

static int closed_count;
static void on_one_closed(void *arg) { closed_count++; }

static void test_source_end_to_end(void **state)
{
    struct fx *sf = fx_new(); /* SQLite, or PostgreSQL: store_fx.h */
    const char *dir = sf->dir;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct srv s = { 0 };
    srv_start(&s, &loop);
    char text[2048];
    snprintf(text, sizeof text,
             "{\"daemon\": {\"state_dir\": \"%s\", \"listen\": \"\"},\n"
             " \"sources\": [\n"
             "  {\"id\": \"good\", \"type\": \"http_json\", \"url\": \"http://127.0.0.1:%d/ok\",\n"
             "   \"interval\": \"1s\", \"extract\": [{\"metric\": \"m\", \"value\": \"/v\"}]},\n"
             "  {\"id\": \"bad\", \"type\": \"http_json\", \"url\": \"http://127.0.0.1:%d/500?key=SECRET\",\n"
             "   \"interval\": \"1s\", \"extract\": [{\"metric\": \"m\", \"value\": \"/v\"}]}]}\n",
             dir, s.port, s.port);
    struct cfg *cfg = NULL;
    struct cfg_diags diags = { 0 };
    if (cfg_load_string(text, strlen(text), "test.json", 0, &cfg, &diags) < 0)
        fail_msg("config: %s", diags.n ? diags.items[0].text : "?");
    cfg_diags_free(&diags);
    struct okrd_err err = { 0 };
    struct store_loc loc = fx_loc(sf);
    struct store_writer *w;
    assert_int_equal(store_writer_open_loc(&w, &loop, &loc, &err), 0);
    struct httpc *h;
    assert_int_equal(httpc_open(&h, &loop, &okrd_clock_system, 8, &err), 0);
    struct rec recs[2] = { { .id = "good" }, { .id = "bad" } };
    struct conn_env env = { .loop = &loop, .clock = &okrd_clock_system, .tz = cfg->daemon.tz,
                            .writer = w, .http = h, .on_committed = rec_committed,
                            .on_health = rec_health, .report = rec_report, .ctx = recs };
    struct conn *conns[2];
    const struct conn_type *t = conn_type_find(CFG_SRC_HTTP_JSON);
    assert_non_null(t);
    for (int i = 0; i < 2; i++)
        if (t->start(&conns[i], &cfg->sources[i], &env, &err) < 0)
            fail_msg("start: %s", err.msg);
    uint64_t deadline = uv_now(&loop) + 10000;
    while ((recs[0].health_calls < 2 || recs[1].health_calls < 3) && uv_now(&loop) < deadline)
        uv_run(&loop, UV_RUN_ONCE);
    assert_true(recs[0].last_ok);
    assert_int_equal(recs[0].ok_reports, 1);   /* one line at the first success, then quiet */
    assert_true(recs[0].committed >= 2);
    assert_false(recs[1].last_ok);
    assert_int_equal(recs[1].failed_reports, 2); /* the failure began; failing_after (3) reached */
    assert_int_equal(recs[1].h.consecutive_failures, 3);
    if (!strstr(recs[1].last_msg, "HTTP 500"))
        fail_msg("last report: %s", recs[1].last_msg);
    assert_null(strstr(recs[1].last_msg, "SECRET"));
    closed_count = 0;
    for (int i = 0; i < 2; i++)
        t->close(conns[i], on_one_closed, NULL);
    while (closed_count < 2)
        uv_run(&loop, UV_RUN_ONCE);
    httpc_close(h, NULL, NULL);
    store_writer_close(w, NULL, NULL);
    uv_walk(&loop, close_any, &s.tcp);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);

    struct store *st;
    assert_int_equal(fx_open(sf, STORE_READONLY, &st, &err), 0);
    struct store_point p;
    assert_int_equal(store_last_point(st, "m", INT64_MAX, &p, &err), 0);
    assert_true(p.value == 41.5);
    struct store_source_health hh;
    assert_int_equal(store_get_source_health(st, "good", &hh, &err), 0);
    assert_true(hh.points_total >= 2);
    assert_int_equal(hh.consecutive_failures, 0);
    assert_int_equal(store_get_source_health(st, "bad", &hh, &err), 0);
    assert_true(hh.consecutive_failures >= 3);
    assert_non_null(strstr(hh.last_error, "HTTP 500"));
    store_close(st);
    cfg_free(cfg);
    fx_free(sf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_matrix),
        cmocka_unit_test(test_classes_and_cancel),
        cmocka_unit_test(test_easy_handles_pooled),
        cmocka_unit_test(test_reused_handle_forgets_options),
        cmocka_unit_test(test_keepalive_socket_watchers),
        cmocka_unit_test(test_retry_after_and_urlencode),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_report_once_per_change),
        cmocka_unit_test(test_source_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
