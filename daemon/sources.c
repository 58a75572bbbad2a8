/*
 * sources.c — the running sources: starting each configured source through
 * the connector registry, restarting only what a reload changed, stopping
 * them all at shutdown, and turning connectors' reports into log lines.
 *
 * Each running source holds a reference on the config it was started with
 * (struct okrd_cfg_hold), because its struct cfg_source lives in there; an
 * unchanged source keeps running across reloads on its old config.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "connectors/conn.h"
#include "connectors/httpc.h"
#include "log.h"
#include "okrd.h"

struct source_slot {
    struct okrd *d;
    struct okrd_cfg_hold *hold;
    const struct cfg_source *src;
    const struct conn_type *type;
    struct conn *conn;
    struct conn_env env;
    bool down;                 /* its last attempt failed (STATUS= counts it) */
    bool stopped;              /* out of d->sources, closing: its reports count no more */
    void (*after_close)(struct source_slot *s);
};

struct okrd_cfg_hold *okrd_cfg_hold_new(struct cfg *cfg)
{
    struct okrd_cfg_hold *h = malloc(sizeof *h);
    if (h) {
        h->cfg = cfg;
        h->refs = 1;
    }
    return h;
}

struct okrd_cfg_hold *okrd_cfg_hold_ref(struct okrd_cfg_hold *h)
{
    h->refs++;
    return h;
}

void okrd_cfg_hold_unref(struct okrd_cfg_hold *h)
{
    if (h && --h->refs == 0) {
        cfg_free(h->cfg);
        free(h);
    }
}

static void env_report(void *ctx, enum cfg_log_level level, const char *source_id,
                       const char *event, const char *msg)
{
    (void)ctx;
    char q[1024];
    log_event(level, event, "source=%s msg=%s", source_id, log_quote(q, sizeof q, msg));
}

/* A connector's ctx is its own slot, so a report finds its source without a
 * search: with 1,000 sources a search per poll is a million compares a round. */
static void env_committed(void *ctx, const char *source_id, const char *const *metrics,
                          size_t n_metrics, int64_t n_points)
{
    struct okrd *d = ((struct source_slot *)ctx)->d;
    api_note_points(d->api, source_id, n_points); /* okrd_points_ingested_total */
    okrd_on_points_committed(d, source_id, metrics, n_metrics, n_points);
}

static void env_health(void *ctx, const char *source_id, bool ok,
                       const struct store_source_health *h)
{
    struct source_slot *s = ctx;
    struct okrd *d = s->d;
    api_note_health(d->api, source_id, ok); /* okrd_source_up */
    if (!s->stopped && s->down == ok) {
        s->down = !ok;
        okrd_notify_status(d);
    }
    log_debug("source_health", "source=%s ok=%d consecutive_failures=%d", source_id, ok,
              h->consecutive_failures);
    okrd_alerts_source_health(d, source_id, ok, h); /* source.failing / source.recovered */
}

static void start_one(struct okrd *d, const struct cfg_source *src)
{
    const struct conn_type *type = conn_type_find(src->type);
    if (!type) {
        log_error("source_failed", "source=%s type=%s msg=\"this okrd has no such source type\"",
                  src->id, cfg_source_type_name(src->type));
        return;
    }
    struct source_slot *s = calloc(1, sizeof *s);
    struct source_slot **grown = realloc(d->sources, (d->n_sources + 1) * sizeof *grown);
    if (!s || !grown) {
        free(s);
        if (grown)
            d->sources = grown;
        log_error("source_failed", "source=%s msg=\"out of memory\"", src->id);
        return;
    }
    d->sources = grown;
    s->d = d;
    s->src = src;
    s->type = type;
    s->env = (struct conn_env){
        .loop = &d->loop, .clock = d->clock, .tz = d->cfg->daemon.tz, .writer = d->writer,
        .http = d->http, .on_committed = env_committed, .on_health = env_health,
        .report = env_report, .ctx = s,
        .settle_by_looks = store_is_shared(d->reader),
    };
    struct okrd_err err = { 0 };
    if (type->start(&s->conn, src, &s->env, &err) < 0) {
        char q[512];
        log_error("source_failed", "source=%s msg=%s", src->id, log_quote(q, sizeof q, err.msg));
        free(s);
        return;
    }
    s->hold = okrd_cfg_hold_ref(d->hold);
    d->sources[d->n_sources++] = s;
    log_info("source_started", "source=%s type=%s", src->id, type->name);
}

static void on_conn_closed(void *arg)
{
    struct source_slot *s = arg;
    void (*after)(struct source_slot *) = s->after_close;
    if (after)
        after(s); /* before the unref: after() may read s->src, in that config */
    okrd_cfg_hold_unref(s->hold);
    free(s);
}

/* Removes slot I from the running list and closes it; after(s) runs once
 * it has closed (before s is freed). */
static void stop_slot(struct okrd *d, size_t i, void (*after)(struct source_slot *s))
{
    struct source_slot *s = d->sources[i];
    memmove(&d->sources[i], &d->sources[i + 1], (d->n_sources - i - 1) * sizeof *d->sources);
    d->n_sources--;
    s->after_close = after;
    s->stopped = true;
    s->type->close(s->conn, on_conn_closed, s);
}

void sources_start_all(struct okrd *d)
{
    for (size_t i = 0; i < d->cfg->n_sources; i++)
        start_one(d, &d->cfg->sources[i]);
}

static void log_stopped(struct source_slot *s)
{
    log_info("source_stopped", "source=%s", s->src->id);
}

void sources_reload(struct okrd *d, struct okrd_cfg_hold *next)
{
    /* d->hold is already `next` here: new sources are started from it. */
    for (size_t i = d->n_sources; i-- > 0;) {
        struct source_slot *s = d->sources[i];
        const struct cfg_source *now = cfg_find_source(next->cfg, s->src->id);
        /* daemon.timezone is part of how a source reads dates: a new zone
         * restarts every source, like a change of its own options. */
        bool same_tz = !strcmp(okrd_tz_name(s->env.tz), okrd_tz_name(next->cfg->daemon.tz));
        if (now && same_tz && cfg_source_equal(s->src, now))
            continue; /* unchanged: keeps its schedule and its old config */
        stop_slot(d, i, log_stopped);
    }
    if (!okrd_may_act(d))
        return; /* a follower runs no source (DESIGN section 10) */
    for (size_t i = 0; i < next->cfg->n_sources; i++) {
        const struct cfg_source *src = &next->cfg->sources[i];
        bool running = false;
        for (size_t k = 0; k < d->n_sources && !running; k++)
            running = !strcmp(d->sources[k]->src->id, src->id);
        if (!running)
            start_one(d, src);
    }
}

/* d->closing counts every slot still closing, whether a step-down or the
 * shutdown closed it, so the shutdown waits for them all. */
static void one_closed(struct source_slot *s)
{
    struct okrd *d = s->d;
    if (--d->closing == 0 && d->sources_closed) {
        void (*done)(struct okrd *) = d->sources_closed;
        d->sources_closed = NULL;
        done(d);
    }
}

void sources_stop_all(struct okrd *d)
{
    if (d->n_sources)
        log_info("sources_stopped", "sources=%zu msg=\"not the leader\"", d->n_sources);
    d->closing += d->n_sources;
    while (d->n_sources > 0)
        stop_slot(d, d->n_sources - 1, one_closed);
}

void sources_close_all(struct okrd *d, void (*done)(struct okrd *d))
{
    if (d->n_sources == 0 && d->closing == 0) {
        done(d);
        return;
    }
    d->sources_closed = done;
    d->closing += d->n_sources;
    while (d->n_sources > 0)
        stop_slot(d, d->n_sources - 1, one_closed);
}

size_t sources_running(const struct okrd *d)
{
    return d->n_sources;
}

size_t sources_up(const struct okrd *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_sources; i++)
        n += !d->sources[i]->down;
    return n;
}
