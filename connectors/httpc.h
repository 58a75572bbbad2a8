/*
 * httpc.h — the one shared, non-blocking HTTP client (libcurl multi-socket
 * driven by libuv): used by the http_json and prometheus sources and by the
 * webhook sender. One per process, created by daemon/.
 *
 * Requests belong to a class, and each class has its own curl multi handle,
 * connection cache and cap, so sources that hang can never hold a connection
 * a webhook needs (DESIGN section 3: "webhooks have their own connections").
 * Each class runs at most its cap of transfers at once; the rest wait in a
 * FIFO inside the client and their timeout starts when they are handed to
 * curl, so a burst of 1,000 sources does not time out in the queue.
 *
 * Defaults are the safe ones: TLS verification on, no redirects, http and
 * https only, no signals. Proxies follow curl's defaults (the environment's
 * http_proxy/https_proxy/no_proxy). DNS uses curl's threaded resolver, so no
 * call here ever blocks the loop.
 */
#ifndef OKRD_HTTPC_H
#define OKRD_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/clock.h"
#include "common/okrd_err.h"

struct httpc;

/* Creates the client on LOOP. max_connections caps the connections the
 * sources use together (daemon.http_max_connections). The caller owns *out. */
int httpc_open(struct httpc **out, uv_loop_t *loop, const struct okrd_clock *clock,
               int max_connections, struct okrd_err *err);

/* Changes the sources' cap at run time (a reload of
 * daemon.http_max_connections; <= 0 = the default 64). Raising it hands
 * waiting requests to curl on the next loop turn; lowering it lets the
 * transfers running finish and starts no new one until fewer run than the
 * new cap; curl closes the idle connections it may no longer keep. */
void httpc_set_max_connections(struct httpc *h, int max_connections);

/* Cancels every request in flight (their callbacks run with a "cancelled"
 * error), closes the uv handles and calls on_closed(arg) from the last close
 * callback; h is freed then. NULL h calls on_closed at once. */
void httpc_close(struct httpc *h, void (*on_closed)(void *arg), void *arg);

/* ---- requests ---- */

enum httpc_class {
    HTTPC_SOURCE = 0,  /* polled sources: capped at max_connections */
    HTTPC_WEBHOOK,     /* webhook deliveries: HTTPC_WEBHOOK_MAX_CONNECTIONS of their own */
    HTTPC_N_CLASSES,
};

#define HTTPC_WEBHOOK_MAX_CONNECTIONS 16

/* How a request ended. HTTPC_OK means an HTTP answer arrived completely,
 * whatever its status; the other values are transport failures. */
enum httpc_result {
    HTTPC_OK = 0,
    HTTPC_E_DNS,       /* the host name did not resolve */
    HTTPC_E_CONNECT,   /* refused, unreachable */
    HTTPC_E_TLS,       /* handshake or certificate verification */
    HTTPC_E_TIMEOUT,   /* the whole request took longer than timeout_ms */
    HTTPC_E_TOO_BIG,   /* the body exceeded max_bytes (the transfer was aborted) */
    HTTPC_E_NETWORK,   /* reset, closed early, malformed HTTP, anything else */
    HTTPC_E_CANCELLED, /* httpc_close ran first */
};

/* The answer, valid only during the completion callback. */
struct httpc_response {
    enum httpc_result result;
    long status;             /* the HTTP status, 0 when none arrived */
    const char *body;        /* NUL-terminated (the NUL is not counted); never NULL */
    size_t body_len;
    const char *retry_after; /* the Retry-After header's value, or NULL */
    /* For result != HTTPC_OK: why, in words, without the URL (URLs may hold
     * keys): "connect: Connection refused", "timed out after 10s". */
    const char *error;
    int64_t elapsed_ms;      /* handed to curl -> completed */
};

typedef void (*httpc_done_fn)(void *arg, const struct httpc_response *r);

/* A request; every pointer is copied by httpc_request, so the struct and
 * its strings may be freed as soon as that call returns. */
struct httpc_request {
    enum httpc_class cls;
    const char *method;        /* "GET" (NULL = GET), "POST", ... */
    const char *url;           /* http:// or https:// */
    const char *const *headers;/* "Name: value" lines */
    size_t n_headers;
    const char *body;          /* sent verbatim; NULL = none */
    size_t body_len;
    const char *username;      /* HTTP basic auth; NULL = none */
    const char *password;
    int64_t timeout_ms;        /* the whole request, connect to last byte; 0 = none */
    int64_t max_bytes;         /* the body's cap; 0 = none */
    bool insecure;             /* skip TLS verification (config "insecure": true) */
    httpc_done_fn done;        /* called once, on the loop, unless cancelled */
    void *arg;
};

struct httpc_req; /* one request in flight, owned by the client */

/* Starts (or queues, when the class is at its cap) a request. On success
 * *out (may be NULL) identifies it until its done callback returns or
 * httpc_cancel is called, whichever is first. done never runs from inside
 * httpc_request. Fails with OKRD_ECANCELED once httpc_close began. */
int httpc_request(struct httpc *h, const struct httpc_request *req, struct httpc_req **out,
                  struct okrd_err *err);

/* Cancels a request whose done callback has not run: the transfer is
 * dropped and done is NOT called. Not from inside that request's own done. */
void httpc_cancel(struct httpc_req *r);

/* Transfers running in curl / waiting in the client's queue, per class. */
size_t httpc_running(const struct httpc *h, enum httpc_class cls);
size_t httpc_queued(const struct httpc *h, enum httpc_class cls);

/* What a class holds, for tests: a queued request holds no curl easy
 * handle, a finished one gives its handle back for reuse (at most the cap
 * are kept), and a connection kept alive keeps its socket watcher. */
struct httpc_stats {
    size_t easy_alive;        /* curl easy handles: running + idle */
    size_t easy_created;      /* curl_easy_init calls so far */
    size_t polls_alive;       /* socket watchers (uv_poll_t): watching + parked */
    size_t polls_created;     /* uv_poll_init_socket calls so far */
};
void httpc_get_stats(const struct httpc *h, enum httpc_class cls, struct httpc_stats *out);

/* ---- helpers (pure) ---- */

/* A Retry-After value (RFC 9110 10.2.3): delay-seconds ("120") or an
 * HTTP-date ("Wed, 21 Oct 2026 07:28:00 GMT", taken relative to now_s).
 * 0 and *delay_ms (>= 0; a date in the past is 0), or OKRD_EINVAL. */
int httpc_parse_retry_after(const char *value, int64_t now_s, int64_t *delay_ms);

/* Percent-encodes s (RFC 3986 unreserved characters stay) for a query
 * string. Returns a malloc'd string, or NULL when out of memory. */
char *httpc_urlencode(const char *s);

/* "HTTP 503", "timed out" ...: a short, stable name of a failure class,
 * for telling one failure state from the next. */
const char *httpc_result_name(enum httpc_result r);

#endif
