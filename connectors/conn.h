/*
 * conn.h — the one small interface every source type implements.
 *
 * A connector knows its source and nothing after the store (DESIGN section
 * 1): it produces points, stores them through the store's writer thread (as
 * write jobs, never on the loop), keeps its source's health record, and tells
 * the daemon through struct conn_env's callbacks what it committed and how
 * its health changed. It never knows key results, and never logs: it reports
 * through env->report and daemon/ logs.
 *
 * Adding a source type = one connectors/conn_<type>.c defining a const
 * struct conn_type, plus one line in connectors/registry.c.
 */
#ifndef OKRD_CONN_H
#define OKRD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/clock.h"
#include "common/okrd_err.h"
#include "config/config.h"
#include "store/store.h"

struct httpc; /* the shared HTTP client (connectors/httpc.h) */

/* What the daemon hands every connector. Everything here outlives the
 * connector (until its close callback ran). */
struct conn_env {
    uv_loop_t *loop;
    const struct okrd_clock *clock;
    const struct okrd_tz *tz;          /* daemon.timezone */
    struct store_writer *writer;       /* write jobs go here */
    struct httpc *http;                /* shared client for HTTP sources; may be NULL */

    /* After a write job of this source committed points (loop thread).
     * METRICS are the distinct metric ids written; valid during the call. */
    void (*on_committed)(void *ctx, const char *source_id, const char *const *metrics,
                         size_t n_metrics, int64_t n_points);
    /* The source's health after a poll/file (loop thread). ok = this attempt
     * succeeded; h is the record as now stored. */
    void (*on_health)(void *ctx, const char *source_id, bool ok,
                      const struct store_source_health *h);
    /* Something worth a log line (loop thread): LEVEL, a short EVENT name
     * ("poll_failed", "file_rejected"), and a message that names the thing
     * and why but never a secret (no URL of a source with secrets in it, no
     * header value). Connectors report a repeating failure when it starts and
     * when it ends, not on every attempt. */
    void (*report)(void *ctx, enum cfg_log_level level, const char *source_id,
                   const char *event, const char *msg);
    void *ctx;
    /* Other hosts may write the inboxes (the store is shared: an HA pair):
     * settle is judged by two looks (csv_inbox_wait_looks_ms). */
    bool settle_by_looks;
};

struct conn; /* one running source; fields private to its type */

struct conn_type {
    const char *name;                  /* "csv_dir", as in the config */
    enum cfg_source_type type;
    /* Starts a source: arms its timers/watches (the first poll or scan
     * happens soon after start). SRC and ENV must outlive the connector;
     * the daemon keeps the struct cfg that holds SRC until close finished. */
    int (*start)(struct conn **out, const struct cfg_source *src, const struct conn_env *env,
                 struct okrd_err *err);
    /* Stops: no new work; in-flight requests are cancelled, a running write
     * job finishes; on_closed(arg) runs on the loop when every handle is
     * closed, and the connector is freed then. */
    void (*close)(struct conn *c, void (*on_closed)(void *arg), void *arg);
};

/* The registry (connectors/registry.c): the type for a config source type,
 * or NULL when none is built in. */
const struct conn_type *conn_type_find(enum cfg_source_type type);

#endif
