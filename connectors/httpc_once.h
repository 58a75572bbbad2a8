/*
 * httpc_once.h — ONE blocking HTTP request, for a one-shot command that has
 * no loop to block (`okrd checkin` posting to the running daemon). It waits
 * in curl_easy_perform: never call it from the daemon's loop, which uses
 * the non-blocking client of httpc.h. It also speaks HTTP over a unix
 * socket (daemon.listen "unix:PATH"), which the daemon's client never needs.
 */
#ifndef OKRD_HTTPC_ONCE_H
#define OKRD_HTTPC_ONCE_H

#include <stddef.h>
#include <stdint.h>

#include "common/okrd_err.h"
#include "httpc.h"

struct httpc_once_request {
    const char *method;          /* "GET" (NULL = GET), "POST", ... */
    const char *url;             /* http://HOST[:PORT]/PATH (for a unix socket, the
                                  * host only names the Host header) */
    const char *unix_path;       /* NULL: TCP to the URL's host */
    const char *const *headers;  /* "Name: value" lines */
    size_t n_headers;
    const char *body;            /* NULL = none */
    size_t body_len;
    int64_t timeout_ms;          /* the whole request; 0 = none */
    int64_t max_bytes;           /* the answer's cap; 0 = none */
};

/* The answer, the caller's until httpc_once_free. */
struct httpc_once_response {
    enum httpc_result result;    /* HTTPC_OK: an HTTP answer arrived, any status */
    long status;                 /* 0 when none arrived */
    char *body;                  /* NUL-terminated, never NULL after a call */
    size_t body_len;
    char error[256];             /* result != HTTPC_OK: why, in words, without the URL */
};

/* Performs REQ, blocking. 0 with *out filled (a transport failure is
 * out->result, not an error), or OKRD_ENOMEM / OKRD_EIO when curl could not
 * even be set up (err says why). Free *out with httpc_once_free either way. */
int httpc_once(const struct httpc_once_request *req, struct httpc_once_response *out,
               struct okrd_err *err);
void httpc_once_free(struct httpc_once_response *r);

#endif
