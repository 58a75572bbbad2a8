/*
 * httpc.h — the one shared, non-blocking HTTP client (libcurl multi-socket
 * driven by libuv): used by the http_json and prometheus sources and by the
 * webhook sender. One per process, created by daemon/.
 *
 * (Lifecycle below; the request API is declared further down by the
 * HTTP-sources work.)
 */
#ifndef OKRD_HTTPC_H
#define OKRD_HTTPC_H

#include <uv.h>

#include "common/clock.h"
#include "common/okrd_err.h"

struct httpc;

/* Creates the client on LOOP. max_connections caps the connections the
 * sources use together (daemon.http_max_connections). The caller owns *out. */
int httpc_open(struct httpc **out, uv_loop_t *loop, const struct okrd_clock *clock,
               int max_connections, struct okrd_err *err);

/* Cancels every request in flight (their callbacks run with a "cancelled"
 * error), closes the uv handles and calls on_closed(arg) from the last close
 * callback; h is freed then. NULL h calls on_closed at once. */
void httpc_close(struct httpc *h, void (*on_closed)(void *arg), void *arg);

#endif
