/*
 * http_api.c — starts, reloads and stops the local HTTP API (api/) for the
 * daemon: hands it the loop, the clock, the store's two connections, the
 * last evaluation, the hooks a committed push or check-in calls and the
 * evaluation of one key result a check-in's answer carries, and turns its
 * reports into log lines. api/ never sees struct okrd.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "evaluate.h"
#include "retro.h"
#include "log.h"
#include "okrd.h"

static const struct eval_snapshot *last_snapshot(void *ctx)
{
    struct okrd *d = ctx;
    return d->eval.have_last ? &d->eval.last : NULL;
}

/* A worker renders from a copy of the last evaluation, whose key results
 * point into its config; a reload may replace that config while the worker
 * reads, so the request holds it (loop thread, like every hold). */
static void *pin_snapshot(void *ctx)
{
    struct okrd *d = ctx;
    return d->eval.have_last && d->eval.last_hold ? okrd_cfg_hold_ref(d->eval.last_hold) : NULL;
}

static void unpin_snapshot(void *ctx, void *pin)
{
    (void)ctx;
    okrd_cfg_hold_unref(pin);
}

static void on_committed(void *ctx, const char *source_id, const char *const *metrics,
                         size_t n_metrics, int64_t n_points)
{
    okrd_on_points_committed(ctx, source_id, metrics, n_metrics, n_points);
}

/* The running config, held while a check-in's write job reads it. */
static void *pin_config(void *ctx)
{
    struct okrd *d = ctx;
    return d->hold ? okrd_cfg_hold_ref(d->hold) : NULL;
}

static void on_checkin(void *ctx, const char *kr_id) { okrd_on_checkin_committed(ctx, kr_id); }

/* Writer thread: touches nothing of struct okrd, only the store and CFG. */
static int key_result_view(void *ctx, struct store *w, const struct cfg *cfg, const char *kr_id,
                           int64_t at_s, json_t **out, struct okrd_err *err)
{
    (void)ctx;
    return eval_key_result_view(w, cfg, kr_id, at_s, out, err);
}

/* Read worker: touches nothing of struct okrd, only the store and CFG. */
static int retro(void *ctx, struct store *st, const struct cfg *cfg, const char *cycle,
                 int64_t now_s, json_t **out, struct okrd_err *err)
{
    (void)ctx;
    return retro_document(st, cfg, cycle, now_s, out, err);
}

static const char *role(void *ctx)
{
    return okrd_ha_role(ctx);
}

static void report(void *ctx, enum cfg_log_level level, const char *event, const char *msg)
{
    (void)ctx;
    char q[1024];
    log_event(level, event, "msg=%s", log_quote(q, sizeof q, msg));
}

int okrd_api_start(struct okrd *d, struct okrd_err *err)
{
    struct api_env env = {
        .loop = &d->loop, .clock = d->clock, .reader = d->reader, .writer = d->writer,
        .snapshot = last_snapshot, .on_points_committed = on_committed, .report = report,
        .store_loc = &d->store_loc, .pin_snapshot = pin_snapshot,
        .unpin_snapshot = unpin_snapshot, .on_checkin_committed = on_checkin,
        .key_result_view = key_result_view, .retro = retro, .pin_config = pin_config,
        .role = role, .ctx = d,
    };
    /* Test-only switch (tests/e2e/test_loop_api.py): the API's read workers
     * take no job until SIGUSR2, so a test can hold a big read in flight. */
    const char *hold = getenv("OKRD_TEST_HOLD_API_READS");
    if (hold && !strcmp(hold, "1"))
        env.test_hold_reads_signal = SIGUSR2;
    int rc = api_server_start(&d->api, d->cfg, &env, err);
    if (rc < 0)
        return okrd_err_prefix(err, "api");
    if (d->api)
        log_info("api_listening", "address=%s token=%s", api_server_address(d->api),
                 d->cfg->daemon.api_token ? "set" : "none");
    else
        log_info("api_off", "msg=\"daemon.listen is empty\"");
    return 0;
}

void okrd_api_reload(struct okrd *d) { api_server_reload(d->api, d->cfg); }

struct api_stop {
    struct okrd *d;
    void (*done)(struct okrd *d);
};

static void on_api_closed(void *arg)
{
    struct api_stop st = *(struct api_stop *)arg;
    free(arg);
    st.d->api = NULL;
    st.done(st.d);
}

void okrd_api_stop(struct okrd *d, void (*done)(struct okrd *d))
{
    struct api_stop *st = malloc(sizeof *st);
    if (!st) { /* cannot wait for it: drop the API with the process */
        log_error("api_stop", "msg=\"out of memory\"");
        done(d);
        return;
    }
    *st = (struct api_stop){ d, done };
    api_server_close(d->api, on_api_closed, st);
}
