/*
 * httpc.c — libcurl's multi-socket interface on the libuv loop, the pattern
 * of curl's docs/examples/multi-uv.c: curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION -> one uv_poll_t per socket) and when to call it
 * back (CURLMOPT_TIMERFUNCTION -> one uv_timer_t per multi handle); libuv
 * tells curl what happened (curl_multi_socket_action); finished transfers are
 * collected with curl_multi_info_read and their callbacks run from there,
 * never from inside a curl callback.
 *
 * One multi handle per class (sources, webhooks): separate connection caches
 * and caps. Each class runs at most `cap` transfers; the rest wait in a FIFO
 * here rather than in curl, so a request's timeout covers only its own
 * transfer. Bodies are counted in the write callback and the transfer is
 * aborted past max_bytes (CURLOPT_MAXFILESIZE alone lets a chunked body run).
 *
 * A queued request holds a copy of what it asks for, not a curl easy
 * handle: the handle is taken when the transfer starts and given back when
 * it ends, into a class's pool of at most `cap` idle handles (reset, then
 * reused). So a burst of 1,000 sources holds `cap` handles, not 1,000 —
 * each is several kB that would be allocated, zeroed and freed per poll.
 */
#include "httpc.h"
#include "httpc_int.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct httpc_class_state;

struct httpc_req {
    struct httpc_class_state *c;
    struct httpc_req *prev, *next; /* in c's queue or running list */
    bool running;                  /* added to the multi handle */
    CURL *easy;                    /* only while running */
    struct curl_slist *headers;
    /* The request, copied (see struct httpc_request): applied to an easy
     * handle when the transfer starts. */
    char *url, *method, *body, *username, *password;
    size_t body_len;
    bool insecure;
    char *buf;
    size_t len, cap;
    int64_t max_bytes;
    bool too_big;
    char *retry_after;
    int64_t timeout_ms;
    uint64_t started_ms;           /* uv_now when handed to curl */
    httpc_done_fn done;
    void *arg;
    char errbuf[CURL_ERROR_SIZE];
};

struct req_list {
    struct httpc_req *head, *tail;
    size_t n;
};

struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct httpc_class_state *c;
    struct sock_ctx *prev, *next;
    bool parked;                   /* stopped, curl no longer watches fd */
};

struct httpc_class_state {
    struct httpc *h;
    CURLM *multi;
    uv_timer_t timer;              /* curl's timeout (CURLMOPT_TIMERFUNCTION) */
    uv_timer_t kick;               /* pump the queue after a cancel, outside the caller */
    size_t cap;
    struct req_list running, queued;
    CURL **idle;                   /* reset easy handles for the next transfers */
    size_t n_idle, idle_cap;
    struct sock_ctx *socks;        /* every watched socket, to close them at the end */
    size_t n_parked;               /* of which parked, for reuse */
    struct httpc_stats stats;      /* easy_created, polls_created (the rest are counted) */
};

struct httpc {
    uv_loop_t *loop;
    const struct okrd_clock *clock;
    struct httpc_class_state cls[HTTPC_N_CLASSES];
    bool closing;
    int open_handles;              /* uv handles not yet closed */
    void (*on_closed)(void *arg);
    void *closed_arg;
};

/* ---- lists ---- */

static void list_push(struct req_list *l, struct httpc_req *r)
{
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

static void list_unlink(struct req_list *l, struct httpc_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->prev = r->next = NULL;
    l->n--;
}

/* ---- handles closing ---- */

static void maybe_finish_close(struct httpc *h)
{
    if (!h->closing || h->open_handles > 0)
        return;
    void (*cb)(void *) = h->on_closed;
    void *arg = h->closed_arg;
    free(h);
    curl_global_cleanup();
    if (cb)
        cb(arg);
}

static void on_handle_closed(uv_handle_t *hd)
{
    struct httpc *h = hd->data;
    h->open_handles--;
    maybe_finish_close(h);
}

static void on_sock_closed(uv_handle_t *hd)
{
    struct sock_ctx *s = hd->data;
    struct httpc *h = s->c->h;
    free(s);
    h->open_handles--;
    maybe_finish_close(h);
}

static void sock_close(struct sock_ctx *s)
{
    struct httpc_class_state *c = s->c;
    if (s->parked)
        c->n_parked--;
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* ---- easy handles ---- */

/* An idle handle of class C, or a new one; NULL when out of memory. */
static CURL *easy_take(struct httpc_class_state *c)
{
    if (c->n_idle > 0)
        return c->idle[--c->n_idle];
    CURL *e = curl_easy_init();
    c->stats.easy_created += e != NULL;
    return e;
}

/* Gives back a handle no multi holds: kept for reuse while fewer than the
 * cap are idle. curl_easy_reset forgets every option of the last request
 * (URL, headers, credentials, private pointer); the connections, DNS and
 * TLS session caches live in the multi handle and are kept either way. */
static void easy_give(struct httpc_class_state *c, CURL *e)
{
    if (!e)
        return;
    if (!c->h->closing && c->n_idle < c->cap) {
        if (c->n_idle == c->idle_cap) {
            size_t n = c->idle_cap ? c->idle_cap * 2 : 16;
            CURL **grown = realloc(c->idle, n * sizeof *grown);
            if (grown) {
                c->idle = grown;
                c->idle_cap = n;
            }
        }
        if (c->n_idle < c->idle_cap) {
            curl_easy_reset(e);
            c->idle[c->n_idle++] = e;
            return;
        }
    }
    curl_easy_cleanup(e);
}

static void idle_free(struct httpc_class_state *c)
{
    while (c->n_idle > 0)
        curl_easy_cleanup(c->idle[--c->n_idle]);
    free(c->idle);
    c->idle = NULL;
    c->idle_cap = 0;
}

/* ---- completion ---- */

static void req_free(struct httpc_req *r)
{
    easy_give(r->c, r->easy);
    curl_slist_free_all(r->headers);
    free(r->url);
    free(r->method);
    free(r->body);
    free(r->username);
    free(r->password);
    free(r->buf);
    free(r->retry_after);
    free(r);
}

static void deliver(struct httpc_req *r, enum httpc_result res, long status, const char *error)
{
    static char empty[1];
    struct httpc *h = r->c->h;
    struct httpc_response resp = {
        .result = res, .status = status, .body = r->buf ? r->buf : empty,
        .body_len = r->buf ? r->len : 0, .retry_after = r->retry_after,
        .error = error ? error : "",
        .elapsed_ms = r->running ? (int64_t)(uv_now(h->loop) - r->started_ms) : 0,
    };
    if (r->done)
        r->done(r->arg, &resp);
    req_free(r);
}

static int start_transfer(struct httpc_req *r, struct okrd_err *err);

/* Hands queued requests to curl while the class is under its cap. Called
 * from the loop (never from inside httpc_request's caller frame with a
 * failure to report: see httpc_request), so a failed start is delivered. */
static void pump(struct httpc_class_state *c)
{
    while (!c->h->closing && c->queued.head && c->running.n < c->cap) {
        struct httpc_req *r = c->queued.head;
        list_unlink(&c->queued, r);
        struct okrd_err err = { 0 };
        if (start_transfer(r, &err) < 0)
            deliver(r, HTTPC_E_NETWORK, 0, err.msg);
    }
}

static void finish(struct httpc_req *r, CURLcode code)
{
    struct httpc_class_state *c = r->c;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    enum httpc_result res = httpc_classify(code, r->too_big);
    char msg[CURL_ERROR_SIZE + 64] = "";
    if (res != HTTPC_OK)
        httpc_describe(r->easy, code, res, r->errbuf, r->timeout_ms, r->max_bytes, msg, sizeof msg);
    curl_multi_remove_handle(c->multi, r->easy);
    list_unlink(&c->running, r);
    /* Back to the pool before the callback: a request it makes reuses it. */
    easy_give(c, r->easy);
    r->easy = NULL;
    if (r->buf)
        r->buf[r->len] = '\0';
    deliver(r, res, status, msg);
}

static void check_info(struct httpc_class_state *c)
{
    CURLMsg *m;
    int left;
    /* A done callback may close the client: stop reading then. */
    while (!c->h->closing && (m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct httpc_req *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        finish(r, m->data.result);
    }
    pump(c);
}

/* ---- curl <-> libuv ---- */

static void on_kick(uv_timer_t *t)
{
    pump(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock_ctx *s = p->data;
    struct httpc_class_state *c = s->c;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    int running;
    curl_multi_socket_action(c->multi, s->fd, flags, &running);
    check_info(c);
}

static void on_timeout(uv_timer_t *t)
{
    struct httpc_class_state *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_info(c);
}

static int on_socket(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    struct httpc_class_state *c = userp;
    struct sock_ctx *s = socketp;
    if (action == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(c->multi, fd, NULL);
            /* curl says REMOVE at the end of every transfer, also when it
             * keeps the connection for the next one: park the handle
             * (stopped, so out of epoll) rather than close it, and take it
             * again when curl next watches this fd. on_close_socket closes
             * it before curl closes the fd: closing a uv_poll_t deletes its
             * fd number from epoll, which must not hit a later owner's fd. */
            if (c->n_parked < c->cap) {
                uv_poll_stop(&s->poll);
                s->parked = true;
                c->n_parked++;
            } else {
                sock_close(s);
            }
        }
        return 0;
    }
    if (!s && c->n_parked > 0) {
        /* The same connection again: its fd is still open (a closed one's
         * handle went with it, see on_close_socket). */
        for (struct sock_ctx *p = c->socks; p; p = p->next)
            if (p->parked && p->fd == fd) {
                s = p;
                s->parked = false;
                c->n_parked--;
                curl_multi_assign(c->multi, fd, s);
                break;
            }
    }
    if (!s) {
        if (!(s = calloc(1, sizeof *s)))
            return -1;
        if (uv_poll_init_socket(c->h->loop, &s->poll, fd) < 0) {
            free(s);
            return -1;
        }
        c->stats.polls_created++;
        s->fd = fd;
        s->c = c;
        s->poll.data = s;
        s->next = c->socks;
        if (c->socks)
            c->socks->prev = s;
        c->socks = s;
        c->h->open_handles++;
        curl_multi_assign(c->multi, fd, s);
    }
    int events = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&s->poll, events, on_poll) < 0 ? -1 : 0;
}

/* CURLOPT_CLOSESOCKETFUNCTION: curl closes a connection's socket. It said
 * REMOVE just before, so a handle of ours for fd is parked: close it while
 * the fd is still this socket's, then the fd. */
static int on_close_socket(void *clientp, curl_socket_t fd)
{
    struct httpc_class_state *c = clientp;
    for (struct sock_ctx *s = c->socks; s && c->n_parked > 0; s = s->next)
        if (s->parked && s->fd == fd) {
            sock_close(s);
            break;
        }
    return close(fd);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct httpc_class_state *c = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else /* 0 = "as soon as possible": the next loop iteration */
        uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- transfer callbacks ---- */

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    struct httpc_req *r = ud;
    size_t len = size * n;
    if (r->max_bytes > 0 && (int64_t)(r->len + len) > r->max_bytes) {
        r->too_big = true;
        return 0; /* != len: curl aborts with CURLE_WRITE_ERROR */
    }
    if (r->len + len + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + len + 1)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b)
            return 0;
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, len);
    r->len += len;
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct httpc_req *r = ud;
    size_t len = size * n;
    if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
        /* A new response (after a 100 Continue): forget the last one's headers. */
        free(r->retry_after);
        r->retry_after = NULL;
    } else if (len > 12 && !strncasecmp(p, "Retry-After:", 12)) {
        const char *v = p + 12, *e = p + len;
        while (v < e && (*v == ' ' || *v == '\t'))
            v++;
        while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
            e--;
        free(r->retry_after);
        r->retry_after = strndup(v, (size_t)(e - v));
    }
    return len;
}

/* ---- requests ---- */

static int setup_easy(struct httpc_req *r, struct okrd_err *err);

/* Takes an easy handle, applies the request to it and hands it to curl.
 * On failure the handle is given back (r->easy stays NULL). */
static int start_transfer(struct httpc_req *r, struct okrd_err *err)
{
    struct httpc_class_state *c = r->c;
    if (!(r->easy = easy_take(c)))
        return okrd_err_set(err, OKRD_ENOMEM, "http: curl_easy_init failed");
    int rc = setup_easy(r, err);
    if (rc < 0) {
        easy_give(c, r->easy);
        r->easy = NULL;
        return rc;
    }
    r->started_ms = uv_now(c->h->loop);
    CURLMcode mc = curl_multi_add_handle(c->multi, r->easy);
    if (mc != CURLM_OK) {
        easy_give(c, r->easy);
        r->easy = NULL;
        return okrd_err_set(err, OKRD_EIO, "http: cannot start a transfer: %s",
                            curl_multi_strerror(mc));
    }
    r->running = true;
    list_push(&c->running, r);
    return 0;
}

static int setup_easy(struct httpc_req *r, struct okrd_err *err)
{
    CURL *e = r->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_URL, r->url);
    SET(CURLOPT_PRIVATE, (void *)r);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, r->errbuf);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, (void *)r);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, (void *)r);
    SET(CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    SET(CURLOPT_CLOSESOCKETDATA, (void *)r->c);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_USERAGENT, "okrd/" OKRD_VERSION);
    SET(CURLOPT_ACCEPT_ENCODING, ""); /* every encoding curl decodes; max_bytes counts decoded */
    if (r->timeout_ms > 0)
        SET(CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
    if (r->max_bytes > 0)
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_bytes);
    if (r->insecure) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (r->username) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SET(CURLOPT_USERNAME, r->username);
        SET(CURLOPT_PASSWORD, r->password ? r->password : "");
    }
    const char *method = r->method ? r->method : "GET";
    if (r->body) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        SET(CURLOPT_COPYPOSTFIELDS, r->body);
        if (strcmp(method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, method);
    } else if (!strcmp(method, "POST")) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        SET(CURLOPT_COPYPOSTFIELDS, "");
    } else if (strcmp(method, "GET") != 0) {
        SET(CURLOPT_CUSTOMREQUEST, method);
    }
    SET(CURLOPT_HTTPHEADER, r->headers);
#undef SET
    if (rc != CURLE_OK) /* no URL in the message: it may hold a key */
        return okrd_err_set(err, OKRD_EINVAL, "http: %s", curl_easy_strerror(rc));
    return 0;
}

/* The request's strings, copied into R (the caller's may go away). */
static int copy_request(struct httpc_req *r, const struct httpc_request *q, struct okrd_err *err)
{
    r->max_bytes = q->max_bytes;
    r->timeout_ms = q->timeout_ms;
    r->insecure = q->insecure;
    r->done = q->done;
    r->arg = q->arg;
    r->body_len = q->body_len;
    bool oom = !(r->url = strdup(q->url));
    if (q->method && strcmp(q->method, "GET") != 0)
        oom |= !(r->method = strdup(q->method));
    if (q->body) {
        /* body_len bytes, any of them NUL; one more for curl's convenience */
        if ((r->body = malloc(q->body_len + 1))) {
            memcpy(r->body, q->body, q->body_len);
            r->body[q->body_len] = '\0';
        }
        oom |= !r->body;
    }
    if (q->username) {
        oom |= !(r->username = strdup(q->username));
        if (q->password)
            oom |= !(r->password = strdup(q->password));
    }
    /* No "Expect: 100-continue" round trip for larger bodies. */
    struct curl_slist *l = curl_slist_append(NULL, "Expect:");
    for (size_t i = 0; l && i < q->n_headers; i++) {
        struct curl_slist *n = curl_slist_append(l, q->headers[i]);
        if (!n)
            curl_slist_free_all(l);
        l = n;
    }
    r->headers = l;
    if (oom || !l)
        return okrd_err_set(err, OKRD_ENOMEM, "http: out of memory");
    return 0;
}

int httpc_request(struct httpc *h, const struct httpc_request *q, struct httpc_req **out,
                  struct okrd_err *err)
{
    if (out)
        *out = NULL;
    if (h->closing)
        return okrd_err_set(err, OKRD_ECANCELED, "http: the client is closing");
    if ((unsigned)q->cls >= HTTPC_N_CLASSES || !q->url)
        return okrd_err_set(err, OKRD_EINVAL, "http: bad request (class or url)");
    struct httpc_req *r = calloc(1, sizeof *r);
    if (!r)
        return okrd_err_set(err, OKRD_ENOMEM, "http: out of memory");
    r->c = &h->cls[q->cls];
    int rc;
    if ((rc = copy_request(r, q, err)) < 0)
        goto fail;
    if (r->c->running.n < r->c->cap && !r->c->queued.head) {
        if ((rc = start_transfer(r, err)) < 0)
            goto fail;
    } else {
        list_push(&r->c->queued, r);
    }
    if (out)
        *out = r;
    return 0;
fail:
    req_free(r);
    return rc;
}

void httpc_cancel(struct httpc_req *r)
{
    if (!r)
        return;
    struct httpc_class_state *c = r->c;
    if (r->running) {
        curl_multi_remove_handle(c->multi, r->easy);
        list_unlink(&c->running, r);
    } else {
        list_unlink(&c->queued, r);
    }
    req_free(r); /* gives its easy handle back to the pool */
    /* A slot is free: the next queued request may start. Not from here: a
     * failed start delivers a callback, and the caller is in the middle of
     * something. (curl's own timer is not borrowed for this: curl re-arms
     * it only when its deadline changes, so overriding it loses it.) */
    if (c->queued.head && !c->h->closing)
        uv_timer_start(&c->kick, on_kick, 0, 0);
}

size_t httpc_running(const struct httpc *h, enum httpc_class cls) { return h->cls[cls].running.n; }
size_t httpc_queued(const struct httpc *h, enum httpc_class cls) { return h->cls[cls].queued.n; }

void httpc_get_stats(const struct httpc *h, enum httpc_class cls, struct httpc_stats *out)
{
    const struct httpc_class_state *c = &h->cls[cls];
    *out = c->stats;
    out->easy_alive = c->n_idle;
    for (const struct httpc_req *r = c->running.head; r; r = r->next)
        out->easy_alive += r->easy != NULL;
    for (const struct httpc_req *r = c->queued.head; r; r = r->next)
        out->easy_alive += r->easy != NULL;
    out->polls_alive = 0;
    for (const struct sock_ctx *s = c->socks; s; s = s->next)
        out->polls_alive++;
}

/* ---- lifecycle ---- */

/* Both caps follow the class's: at most cap connections open, and as many
 * kept for reuse. curl reads them per transfer and trims its cache when a
 * connection is returned to it, so they may change at any time. */
static void set_cap(struct httpc_class_state *c, size_t cap)
{
    c->cap = cap;
    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cap);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)cap); /* reuse them all */
}

void httpc_set_max_connections(struct httpc *h, int max_connections)
{
    if (!h || h->closing)
        return;
    struct httpc_class_state *c = &h->cls[HTTPC_SOURCE];
    set_cap(c, max_connections > 0 ? (size_t)max_connections : 64);
    while (c->n_idle > c->cap) /* keep no more idle handles than may run */
        curl_easy_cleanup(c->idle[--c->n_idle]);
    /* pump on the next turn, not inside the caller (a reload) */
    if (c->queued.head)
        uv_timer_start(&c->kick, on_kick, 0, 0);
}

int httpc_open(struct httpc **out, uv_loop_t *loop, const struct okrd_clock *clock,
               int max_connections, struct okrd_err *err)
{
    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return okrd_err_set(err, OKRD_EIO, "http: curl_global_init failed");
    struct httpc *h = calloc(1, sizeof *h);
    if (!h) {
        curl_global_cleanup();
        return okrd_err_set(err, OKRD_ENOMEM, "http: out of memory");
    }
    h->loop = loop;
    h->clock = clock;
    size_t caps[HTTPC_N_CLASSES] = { max_connections > 0 ? (size_t)max_connections : 64,
                                     HTTPC_WEBHOOK_MAX_CONNECTIONS };
    for (int i = 0; i < HTTPC_N_CLASSES; i++) {
        if (!(h->cls[i].multi = curl_multi_init())) {
            while (--i >= 0)
                curl_multi_cleanup(h->cls[i].multi);
            free(h);
            curl_global_cleanup();
            return okrd_err_set(err, OKRD_ENOMEM, "http: curl_multi_init failed");
        }
    }
    for (int i = 0; i < HTTPC_N_CLASSES; i++) {
        struct httpc_class_state *c = &h->cls[i];
        c->h = h;
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
        set_cap(c, caps[i]);
        uv_timer_init(loop, &c->timer);
        c->timer.data = c;
        uv_timer_init(loop, &c->kick);
        c->kick.data = c;
        h->open_handles += 2;
    }
    *out = h;
    return 0;
}

void httpc_close(struct httpc *h, void (*on_closed)(void *arg), void *arg)
{
    if (!h) {
        if (on_closed)
            on_closed(arg);
        return;
    }
    if (h->closing)
        return;
    h->closing = true;
    h->on_closed = on_closed;
    h->closed_arg = arg;
    for (int i = 0; i < HTTPC_N_CLASSES; i++) {
        struct httpc_class_state *c = &h->cls[i];
        struct httpc_req *r;
        while ((r = c->queued.head)) {
            list_unlink(&c->queued, r);
            deliver(r, HTTPC_E_CANCELLED, 0, "cancelled: okrd is stopping");
        }
        while ((r = c->running.head)) {
            curl_multi_remove_handle(c->multi, r->easy);
            list_unlink(&c->running, r);
            deliver(r, HTTPC_E_CANCELLED, 0, "cancelled: okrd is stopping");
        }
    }
    for (int i = 0; i < HTTPC_N_CLASSES; i++) {
        struct httpc_class_state *c = &h->cls[i];
        /* Cleanup closes the cached connections (and may tell us through the
         * socket callback); any socket it did not mention is closed next. */
        curl_multi_cleanup(c->multi);
        c->multi = NULL;
        idle_free(c);
        while (c->socks)
            sock_close(c->socks);
        c->timer.data = h;
        c->kick.data = h;
        uv_close((uv_handle_t *)&c->timer, on_handle_closed);
        uv_close((uv_handle_t *)&c->kick, on_handle_closed);
    }
}
