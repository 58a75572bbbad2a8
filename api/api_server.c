/*
 * api_server.c — libmicrohttpd on the daemon's libuv loop, with no thread
 * of its own (DESIGN section 1: one loop). MHD runs in epoll mode without
 * an internal thread: its epoll fd sits under a uv_poll_t, its next timeout
 * (connection timeouts, resumed connections) under a uv_timer_t, and every
 * event calls MHD_run once, which never blocks.
 *
 * Owns: the listening socket (made here, so a Unix socket, IPv6 and the
 * "is this loopback?" question are handled in one place and bind errors
 * are precise), the limits (connections, per-IP, idle timeout, header
 * bytes), the response helpers every endpoint uses, the counters /metrics
 * shows for sources and webhooks, the read workers' lifetime (api_work.c),
 * and the close sequence (stop accepting -> cancel waiting reads -> let
 * pushes and running reads answer -> close the uv handles and the workers ->
 * MHD_stop_daemon, which needs every suspended connection resumed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api_internal.h"
#include "common/parse.h"

#define CLOSE_FLUSH_MS 500 /* at close: time for answers to pushes to leave */

/* ---- responses ---- */

enum MHD_Result api_respond(struct MHD_Connection *conn, unsigned status, const char *type,
                            char *body, size_t len, const char *const *headers)
{
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(
        body ? len : 0, body ? body : (char *)"", body ? free : NULL);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    for (size_t i = 0; headers && headers[i]; i += 2)
        MHD_add_response_header(r, headers[i], headers[i + 1]);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

char *api_json_dump_doc(json_t *doc)
{
    char *text = doc ? okr_view_dump(doc, false) : NULL;
    json_decref(doc);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    /* A final newline: friendlier to curl and shell pipes. */
    char *t = realloc(text, n + 2);
    if (t) {
        t[n] = '\n';
        t[n + 1] = '\0';
        text = t;
    }
    return text;
}

enum MHD_Result api_respond_json(struct MHD_Connection *conn, unsigned status, json_t *doc,
                                 const char *const *headers)
{
    char *text = api_json_dump_doc(doc);
    if (!text)
        return api_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out_of_memory", NULL,
                                 "no memory for the answer");
    return api_respond(conn, status, "application/json", text, strlen(text), headers);
}

char *api_error_body(const char *code, const char *detail, long index)
{
    json_t *doc = json_pack("{s:s, s:s}", "error", code, "detail", detail);
    if (doc && index >= 0)
        json_object_set_new(doc, "index", json_integer(index));
    char *text = doc ? okr_view_dump(doc, false) : NULL;
    json_decref(doc);
    size_t n = text ? strlen(text) : 0;
    char *t = text ? realloc(text, n + 2) : NULL;
    if (t) {
        t[n] = '\n';
        t[n + 1] = '\0';
        return t;
    }
    return text;
}

enum MHD_Result api_respond_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                  const char *const *headers, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    char *body = api_error_body(code, detail, -1);
    return api_respond(conn, status, "application/json", body, body ? strlen(body) : 0, headers);
}

void api_report(struct api_server *s, enum cfg_log_level level, const char *event,
                const char *fmt, ...)
{
    if (!s->env.report)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->env.report(s->env.ctx, level, event, msg);
}

/* ---- counters ---- */

static struct api_source_stat *source_stat(struct api_server *s, const char *id)
{
    for (size_t i = 0; i < s->n_sources; i++)
        if (!strcmp(s->sources[i].id, id))
            return &s->sources[i];
    struct api_source_stat *n = realloc(s->sources, (s->n_sources + 1) * sizeof *n);
    if (!n)
        return NULL;
    s->sources = n;
    struct api_source_stat *st = &n[s->n_sources++];
    memset(st, 0, sizeof *st);
    snprintf(st->id, sizeof st->id, "%s", id);
    st->up = -1;
    return st;
}

static struct api_webhook_stat *webhook_stat(struct api_server *s, const char *id)
{
    for (size_t i = 0; i < s->n_webhooks; i++)
        if (!strcmp(s->webhooks[i].id, id))
            return &s->webhooks[i];
    struct api_webhook_stat *n = realloc(s->webhooks, (s->n_webhooks + 1) * sizeof *n);
    if (!n)
        return NULL;
    s->webhooks = n;
    struct api_webhook_stat *st = &n[s->n_webhooks++];
    memset(st, 0, sizeof *st);
    snprintf(st->id, sizeof st->id, "%s", id);
    return st;
}

void api_note_points(struct api_server *s, const char *source_id, int64_t n)
{
    struct api_source_stat *st = s ? source_stat(s, source_id) : NULL;
    if (st)
        st->points += n;
}

void api_note_health(struct api_server *s, const char *source_id, bool ok)
{
    struct api_source_stat *st = s ? source_stat(s, source_id) : NULL;
    if (st)
        st->up = ok;
}

void api_note_delivery(struct api_server *s, const char *webhook_id, enum api_delivery_result r)
{
    struct api_webhook_stat *st = s ? webhook_stat(s, webhook_id) : NULL;
    if (st && (unsigned)r < 3)
        st->count[r]++;
}

void api_note_outbox_pending(struct api_server *s, int64_t pending)
{
    if (s)
        s->outbox_pending = pending;
}

/* Which sources and webhooks /metrics lists: the configured ones (counters
 * of removed ones are kept, unlisted, in case a reload brings them back). */
static void mark_configured(struct api_server *s)
{
    for (size_t i = 0; i < s->n_sources; i++)
        s->sources[i].configured = false;
    for (size_t i = 0; i < s->n_webhooks; i++)
        s->webhooks[i].configured = false;
    struct api_source_stat *push = source_stat(s, "push");
    if (push) {
        push->configured = true;
        push->up = 1; /* the push "source" is this server: up while it answers */
    }
    for (size_t i = 0; i < s->cfg->n_sources; i++) {
        const struct cfg_source *src = &s->cfg->sources[i];
        struct api_source_stat *st = source_stat(s, src->id);
        if (!st)
            continue;
        st->configured = true;
        /* A folder has no poll that could fail: up while it is watched. */
        if (src->type == CFG_SRC_CSV_DIR && st->up < 0)
            st->up = 1;
    }
    for (size_t i = 0; i < s->cfg->n_webhooks; i++) {
        struct api_webhook_stat *st = webhook_stat(s, s->cfg->webhooks[i].id);
        if (st)
            st->configured = true;
    }
}

/* ---- MHD on the loop ---- */

static void arm_timer(struct api_server *s);
static void maybe_finish(struct api_server *s);

static void run(struct api_server *s)
{
    if (s->finished)
        return;
    MHD_run(s->mhd);
    arm_timer(s);
    if (s->closing)
        maybe_finish(s);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    run(h->data);
}

static void on_timer(uv_timer_t *t) { run(t->data); }

static void arm_timer(struct api_server *s)
{
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(s->mhd, &ms) == MHD_YES)
        uv_timer_start(&s->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&s->timer);
}

void api_server_kick(struct api_server *s)
{
    if (!s->finished)
        uv_timer_start(&s->timer, on_timer, 0, 0);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct api_request *rq = *req_cls;
    if (!rq)
        return;
    api_buf_free(&rq->body);
    free(rq->answer);
    free(rq);
    *req_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct api_server *s = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    /* MHD logs client misbehaviour (a too-long request line, a reset
     * connection): worth a debug line, never a warning. */
    api_report(s, CFG_LOG_DEBUG, "api_mhd", "%s", msg);
}

/* ---- listening ---- */

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return sa->sa_family == AF_UNIX;
}

/* A unix socket file left by a process that died: nobody accepts on it. */
static int clear_stale_socket(const char *path, struct okrd_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : okrd_err_set(err, OKRD_EIO, "stat %s: %s", path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return okrd_err_set(err, OKRD_EIO, "%s exists and is not a socket; not removing it", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return okrd_err_set(err, OKRD_EIO, "socket: %s", strerror(errno));
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
    int e = errno;
    close(fd);
    if (rc == 0)
        return okrd_err_set(err, OKRD_EIO, "%s is in use by another process", path);
    if (e != ECONNREFUSED)
        return okrd_err_set(err, OKRD_EIO, "%s: %s", path, strerror(e));
    if (unlink(path) < 0 && errno != ENOENT)
        return okrd_err_set(err, OKRD_EIO, "remove stale %s: %s", path, strerror(errno));
    return 0;
}

static int listen_unix(struct api_server *s, const char *path, int *out, struct okrd_err *err)
{
    int rc = clear_stale_socket(path, err);
    if (rc < 0)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return okrd_err_set(err, OKRD_EIO, "socket: %s", strerror(errno));
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    struct stat st;
    /* 0660: the socket is the API's access control (no token needed on it),
     * so only okrd's user and group may connect. */
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || chmod(path, 0660) < 0 ||
        listen(fd, 128) < 0 || stat(path, &st) < 0) {
        int e = errno;
        close(fd);
        return okrd_err_set(err, OKRD_EIO, "listen on unix:%s: %s", path, strerror(e));
    }
    snprintf(s->unix_path, sizeof s->unix_path, "%s", path);
    s->unix_dev = st.st_dev;
    s->unix_ino = st.st_ino;
    s->loopback = true;
    snprintf(s->address, sizeof s->address, "unix:%s", path);
    *out = fd;
    return 0;
}

static int listen_tcp(struct api_server *s, const char *listen_on, int *out, bool *v6,
                      struct okrd_err *err)
{
    char host[256], port[8];
    const char *colon;
    if (listen_on[0] == '[') {
        const char *rb = strchr(listen_on, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - listen_on) > sizeof host)
            return okrd_err_set(err, OKRD_EINVAL, "daemon.listen \"%s\": expected [IPv6]:PORT", listen_on);
        snprintf(host, sizeof host, "%.*s", (int)(rb - listen_on - 1), listen_on + 1);
        colon = rb + 1;
    } else {
        colon = strrchr(listen_on, ':');
        if (!colon || (size_t)(colon - listen_on) >= sizeof host)
            return okrd_err_set(err, OKRD_EINVAL, "daemon.listen \"%s\": expected HOST:PORT", listen_on);
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen_on), listen_on);
    }
    snprintf(port, sizeof port, "%s", colon + 1);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    /* At start-up, before the loop runs: a blocking lookup ("localhost")
     * stalls nothing. */
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0)
        return okrd_err_set(err, OKRD_EIO, "daemon.listen \"%s\": cannot resolve %s: %s", listen_on,
                            host, gai_strerror(g));
    int fd = -1, e = 0;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (a->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, 128) < 0) {
            e = errno;
            close(fd);
            fd = -1;
            continue;
        }
        s->loopback = is_loopback(a->ai_addr);
        *v6 = a->ai_family == AF_INET6;
        char ip[INET6_ADDRSTRLEN] = "?";
        const void *addr = *v6 ? (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr
                               : (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;
        inet_ntop(a->ai_family, addr, ip, sizeof ip);
        snprintf(s->address, sizeof s->address, *v6 ? "[%s]:%s" : "%s:%s", ip, port);
    }
    freeaddrinfo(ai);
    if (fd < 0)
        return okrd_err_set(err, OKRD_EIO, "cannot listen on %s: %s", listen_on, strerror(e));
    *out = fd;
    return 0;
}

static bool busy(const struct api_server *s)
{
    return s->pushes_in_flight > 0 || api_work_in_flight(s->work) > 0;
}

static void on_hold_signal(uv_signal_t *h, int signum)
{
    struct api_server *s = h->data;
    (void)signum;
    if (s->work)
        api_work_release(s->work);
    api_report(s, CFG_LOG_INFO, "api_reads_released", "test switch: the read workers run");
}

static void server_free(struct api_server *s)
{
    api_auth_free(&s->auth);
    free(s->sources);
    free(s->webhooks);
    api_cache_free(&s->objectives_json);
    api_cache_free(&s->kr_metrics);
    free(s);
}

int api_server_start(struct api_server **out, const struct cfg *cfg, const struct api_env *env,
                     struct okrd_err *err)
{
    *out = NULL;
    const char *listen_on = cfg->daemon.listen;
    if (!listen_on || !listen_on[0])
        return 0;
    struct api_server *s = calloc(1, sizeof *s);
    if (!s)
        return okrd_err_set(err, OKRD_ENOMEM, "api: out of memory");
    s->env = *env;
    s->cfg = cfg;
    snprintf(s->listen, sizeof s->listen, "%s", listen_on);
    s->start_time_s = api_process_start_time();
    int fd = -1, rc;
    bool v6 = false;
    if (strncmp(listen_on, "unix:", 5) == 0)
        rc = listen_unix(s, listen_on + 5, &fd, err);
    else
        rc = listen_tcp(s, listen_on, &fd, &v6, err);
    if (rc < 0)
        goto fail;
    s->listener = s->unix_path[0] ? API_LISTENER_UNIX
                : s->loopback ? API_LISTENER_LOOPBACK : API_LISTENER_OTHER;
    api_auth_listen_host(listen_on, s->listen_host, sizeof s->listen_host);
    if ((rc = api_auth_init(&s->auth, cfg->daemon.api_tokens, cfg->daemon.n_api_tokens, err)) < 0)
        goto fail_fd;
    /* config/ refuses this for addresses; here for a host name that
     * resolved to something other than loopback. */
    if (s->listener == API_LISTENER_OTHER && s->auth.n == 0) {
        rc = okrd_err_set(err, OKRD_EINVAL,
                          "daemon.listen \"%s\" is not a loopback address, so every endpoint but "
                          "/healthz needs a bearer token, and no token is configured: set "
                          "daemon.api_token or daemon.api_tokens, or listen on 127.0.0.1, [::1] "
                          "or unix:PATH", listen_on);
        goto fail_fd;
    }
    if ((rc = api_dashboard_csp(s->csp, sizeof s->csp, err)) < 0)
        goto fail_fd;
    {
        const char *h[] = { "Content-Security-Policy", s->csp, "Cache-Control", "no-store",
                            "Referrer-Policy", "no-referrer", NULL };
        memcpy(s->html_headers, h, sizeof h);
    }
    mark_configured(s);
    if (env->store_loc &&
        (rc = api_work_open(&s->work, env->loop, env->store_loc, API_READ_QUEUE,
                            env->test_hold_reads_signal != 0, err)) < 0)
        goto fail_fd;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     (v6 ? MHD_USE_IPv6 : 0);
    /* Every client shares 127.0.0.1 on a loopback listen, so a per-IP cap
     * there would just be a second global cap. */
    unsigned per_ip = s->loopback ? 0 : API_PER_IP_CONNECTIONS;
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, api_handle, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_MAX_HEADER_BYTES,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_END);
    if (!s->mhd) {
        rc = okrd_err_set(err, OKRD_EIO, "api: libmicrohttpd did not start on %s", s->address);
        goto fail_work;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || uv_poll_init(env->loop, &s->poll, info->epoll_fd) != 0) {
        MHD_stop_daemon(s->mhd); /* closes fd too */
        rc = okrd_err_set(err, OKRD_EIO, "api: cannot watch libmicrohttpd's epoll fd");
        fd = -1;
        goto fail_work;
    }
    uv_timer_init(env->loop, &s->timer);
    uv_timer_init(env->loop, &s->grace);
    s->poll.data = s->timer.data = s->grace.data = s;
    s->open_handles = 3 + (s->work != NULL);
    if (env->test_hold_reads_signal && uv_signal_init(env->loop, &s->hold_signal) == 0) {
        s->hold_signal.data = s;
        s->hold_signal_on = true;
        s->open_handles++;
        uv_signal_start(&s->hold_signal, on_hold_signal, env->test_hold_reads_signal);
    }
    uv_poll_start(&s->poll, UV_READABLE, on_poll);
    arm_timer(s);
    *out = s;
    return 0;
fail_work:
    api_work_close(s->work, NULL, NULL); /* frees itself once the loop turns */
    s->work = NULL;
fail_fd:
    if (fd >= 0)
        close(fd);
    if (s->unix_path[0])
        unlink(s->unix_path);
fail:
    server_free(s);
    return rc;
}

void api_server_reload(struct api_server *s, const struct cfg *cfg)
{
    if (!s)
        return;
    s->cfg = cfg;
    if (strcmp(cfg->daemon.listen, s->listen) != 0)
        api_report(s, CFG_LOG_WARNING, "api_reload",
                   "daemon.listen changed to \"%s\"; the API stays on %s until a restart",
                   cfg->daemon.listen, s->address);
    struct api_auth next;
    struct okrd_err err = { 0 };
    if (api_auth_init(&next, cfg->daemon.api_tokens, cfg->daemon.n_api_tokens, &err) < 0) {
        api_report(s, CFG_LOG_WARNING, "api_reload", "keeping the old tokens: %s", err.msg);
    } else if (next.n == 0 && s->listener == API_LISTENER_OTHER) {
        api_auth_free(&next);
        api_report(s, CFG_LOG_WARNING, "api_reload",
                   "the new config has no token but the API listens on %s (not loopback); "
                   "keeping the old tokens until a restart", s->address);
    } else {
        api_auth_free(&s->auth);
        s->auth = next;
    }
    mark_configured(s);
}

const char *api_server_address(const struct api_server *s) { return s->address; }

/* ---- closing ---- */

static void handle_gone(struct api_server *s)
{
    if (--s->open_handles > 0)
        return;
    /* The uv_poll on MHD's epoll fd is gone; now MHD may close it, and every
     * connection (their on_completed frees the request states). */
    MHD_stop_daemon(s->mhd);
    void (*cb)(void *) = s->on_closed;
    void *arg = s->on_closed_arg;
    server_free(s);
    if (cb)
        cb(arg);
}

static void on_handle_closed(uv_handle_t *h) { handle_gone(h->data); }

static void on_work_closed(void *arg) { handle_gone(arg); }

static void finish(struct api_server *s)
{
    s->finished = true;
    struct api_work *w = s->work;
    s->work = NULL;
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
    uv_close((uv_handle_t *)&s->timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->grace, on_handle_closed);
    if (s->hold_signal_on)
        uv_close((uv_handle_t *)&s->hold_signal, on_handle_closed);
    if (w)
        api_work_close(w, on_work_closed, s); /* idle: nothing in flight */
}

static void on_grace(uv_timer_t *t)
{
    struct api_server *s = t->data;
    if (!s->finished && !busy(s))
        finish(s);
}

static void maybe_finish(struct api_server *s)
{
    if (s->finished || busy(s))
        return;
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    if (!info || info->num_connections == 0 || !uv_is_active((uv_handle_t *)&s->grace))
        finish(s);
}

void api_server_push_done(struct api_server *s)
{
    s->pushes_in_flight--;
    if (s->closing && !busy(s))
        /* Its answer is queued: give it (and its peers) a moment to leave. */
        uv_timer_start(&s->grace, on_grace, CLOSE_FLUSH_MS, 0);
}

void api_server_read_done(struct api_server *s)
{
    if (s->closing && !s->finished && !busy(s))
        uv_timer_start(&s->grace, on_grace, CLOSE_FLUSH_MS, 0);
}

void api_server_close(struct api_server *s, void (*on_closed)(void *arg), void *arg)
{
    if (!s) {
        on_closed(arg);
        return;
    }
    if (s->closing)
        return;
    s->closing = true;
    s->on_closed = on_closed;
    s->on_closed_arg = arg;
    MHD_socket lfd = MHD_quiesce_daemon(s->mhd);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    struct stat st;
    if (s->unix_path[0] && lstat(s->unix_path, &st) == 0 && st.st_dev == s->unix_dev &&
        st.st_ino == s->unix_ino)
        unlink(s->unix_path); /* ours, not a successor's */
    if (s->work)
        api_work_cancel_queued(s->work); /* answered 503; running reads finish */
    maybe_finish(s);
}
