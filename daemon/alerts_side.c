/*
 * alerts_side.c — the alerts' writer jobs beside delivery: source.failing /
 * source.recovered when a source's health changes, the weekly digest at
 * alerts.digest.every in daemon.timezone, and housekeeping (retention; the
 * max_age of deliveries whose webhook was removed from the config).
 *
 * Each raises its event in a writer job (the rows commit together with the
 * rules' memory: a source's failing flag, the digest's last slot), then
 * kicks the senders.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_run.h"
#include "common/parse.h"
#include "log.h"

/* ---- housekeeping: retention, orphaned deliveries ---- */

/* Writer thread: each orphan that ran out of max_age is a dead letter like
 * any other, logged as one — but only once committed, so the names are
 * kept in the job (one "webhook event type" line each, in j->body, which
 * the job frees) and logged by house_done. */
static void orphan_dead(void *ctx, const char *webhook_id, const char *event_id, const char *type)
{
    struct job *j = ctx;
    size_t have = j->body ? strlen(j->body) : 0;
    size_t add = strlen(webhook_id) + strlen(event_id) + strlen(type) + 4;
    if (have > 64 * 1024)
        return; /* the count says the rest */
    char *grown = realloc(j->body, have + add);
    if (!grown)
        return;
    j->body = grown;
    snprintf(j->body + have, add, "%s %s %s\n", webhook_id, event_id, type);
}

static void log_orphans_dead(const char *lines)
{
    char webhook[132], event[64], type[32];
    for (const char *p = lines; p && *p;) {
        const char *nl = strchr(p, '\n');
        if (sscanf(p, "%131s %63s %31s", webhook, event, type) == 3)
            log_error("webhook_dead_letter", "webhook=%s event=%s type=%s error=\"%s\"", webhook,
                      event, type, ORPHAN_DEAD_WHY);
        p = nl ? nl + 1 : NULL;
    }
}

static int house_run(struct store *w, struct job *j, struct okrd_err *err)
{
    const struct cfg *cfg = j->hold->cfg;
    const char **ids = calloc(cfg->n_webhooks + 1, sizeof *ids);
    if (!ids)
        return okrd_err_set(err, OKRD_ENOMEM, "alerts: housekeeping: out of memory");
    for (size_t i = 0; i < cfg->n_webhooks; i++)
        ids[i] = cfg->webhooks[i].id;
    /* Orphans (their webhook left the config) are not retired: they wait
     * for the id to come back and die only by their own max_age. */
    struct store_orphan_expiry q = {
        .configured = ids, .n_configured = cfg->n_webhooks, .now_ms = j->now_ms,
        .default_max_age_ms = ALERTS_DEFAULT_MAX_AGE_MS, .why = ORPHAN_DEAD_WHY,
        .on_dead = orphan_dead, .ctx = j,
    };
    int64_t expired = 0, pruned = 0;
    int rc = store_expire_orphans(w, &q, &expired, &j->next_ms, err);
    free(ids);
    if (rc == 0 && cfg->alerts.retention_ms > 0)
        rc = store_outbox_prune(w, j->now_ms / 1000 - cfg->alerts.retention_ms / 1000, &pruned,
                                err);
    j->n_events = (int)(expired + pruned);
    if (rc == 0 && (expired || pruned))
        log_info("outbox_housekeeping", "orphans_dead=%lld pruned=%lld", (long long)expired,
                 (long long)pruned);
    return rc;
}

static void house_done(struct job *j, int rc, const struct okrd_err *err)
{
    char q[512];
    if (rc < 0 && rc != OKRD_ECANCELED)
        log_error("outbox_housekeeping_failed", "msg=%s", log_quote(q, sizeof q, err->msg));
    if (rc == 0)
        log_orphans_dead(j->body);
    alerts_arm_housekeeping(j->a, rc == 0 ? j->next_ms : 0);
}

void alerts_housekeeping(struct alerts_sender *a)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->hold = okrd_cfg_hold_ref(a->d->hold);
    j->now_ms = okrd_clock_now_ms(a->d->clock);
    j->run = house_run;
    j->done = house_done;
    alerts_submit(a, j);
}

void alerts_on_housekeeping(uv_timer_t *t) { alerts_housekeeping(t->data); }

/* The next housekeeping: in HOUSEKEEPING_MS, or when the next orphan runs
 * out of max_age if sooner (at least a second apart, so a run of orphans
 * created a moment apart dies in a few passes, not one pass each). */
void alerts_arm_housekeeping(struct alerts_sender *a, int64_t next_orphan_ms)
{
    if (a->stopping)
        return;
    int64_t delay = HOUSEKEEPING_MS;
    if (next_orphan_ms > 0) {
        int64_t until = next_orphan_ms - okrd_clock_now_ms(a->d->clock);
        if (until < 1000)
            until = 1000;
        if (until < delay)
            delay = until;
    }
    uv_timer_start(&a->housekeeping, alerts_on_housekeeping, (uint64_t)delay, 0);
}


/* ---- source health ---- */

static int health_run(struct store *w, struct job *j, struct okrd_err *err)
{
    /* One read of the stored state: the answer says what it is after. */
    return alerts_on_source_health(w, j->hold->cfg, j->src_id, j->ok, &j->health, j->now_s,
                                   &j->n_events, &j->failing_now, err);
}

/* a->srcs is kept sorted by id: this runs twice per poll, and with 1,000
 * sources a linear search was a million compares a round. The pointer
 * returned is valid until the next call (an insert moves the others). */
static struct src_state *find_src(struct alerts_sender *a, const char *id)
{
    size_t lo = 0, hi = a->n_srcs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(a->srcs[mid].id, id);
        if (r == 0)
            return &a->srcs[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    char *copy = strdup(id);
    struct src_state *grown = copy ? realloc(a->srcs, (a->n_srcs + 1) * sizeof *grown) : NULL;
    if (!grown) {
        free(copy);
        return NULL;
    }
    a->srcs = grown;
    memmove(&a->srcs[lo + 1], &a->srcs[lo], (a->n_srcs - lo) * sizeof *a->srcs);
    struct src_state *s = &a->srcs[lo];
    memset(s, 0, sizeof *s);
    s->id = copy;
    a->n_srcs++;
    return s;
}

static void health_done(struct job *j, int rc, const struct okrd_err *err)
{
    struct alerts_sender *a = j->a;
    struct src_state *s = find_src(a, j->src_id);
    if (s)
        s->busy = false;
    if (rc < 0) {
        char q[512];
        if (rc != OKRD_ECANCELED)
            log_error("source_alert_failed", "source=%s msg=%s", j->src_id,
                      log_quote(q, sizeof q, err->msg));
        return;
    }
    if (s)
        s->known = j->failing_now ? SRC_FAILING : SRC_OK;
    if (j->n_events > 0) {
        log_info("source_alert", "source=%s event=%s", j->src_id,
                 j->failing_now ? "source.failing" : "source.recovered");
        alerts_kick_if_new(a);
    }
}

/* Every source's state in one read when this sender starts: the first
 * report of a healthy source then needs no job (1,000 sources polled at
 * start were 1,000 jobs, each a read; on PostgreSQL a round trip each).
 * The job runs before any health job submitted after it, and its done
 * before theirs (the writer is FIFO), so a state it sets is never newer
 * than one a health job sets; a source with a job in flight is left to it. */
static int note_failing(void *ctx, const char *source)
{
    struct job *j = ctx;
    size_t have = j->body ? strlen(j->body) : 0, add = strlen(source) + 2;
    char *grown = realloc(j->body, have + add);
    if (!grown)
        return OKRD_ENOMEM;
    j->body = grown;
    snprintf(j->body + have, add, "%s\n", source); /* ids never hold a newline */
    return 0;
}

static int states_run(struct store *w, struct job *j, struct okrd_err *err)
{
    int rc = store_each_failing_source(w, note_failing, j, err);
    if (rc == OKRD_ENOMEM) /* from note_failing: the store said nothing */
        okrd_err_set(err, rc, "alerts: read the sources' alert states: out of memory");
    return rc;
}

static void states_done(struct job *j, int rc, const struct okrd_err *err)
{
    struct alerts_sender *a = j->a;
    if (rc < 0) {
        char q[512];
        if (rc != OKRD_ECANCELED) /* each source's first report reads it then */
            log_error("source_alert_failed", "msg=%s", log_quote(q, sizeof q, err->msg));
        return;
    }
    for (char *p = j->body; p && *p;) {
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        struct src_state *s = find_src(a, p);
        if (s && !s->busy && s->known == SRC_UNKNOWN)
            s->known = SRC_FAILING;
        p = nl + 1;
    }
    const struct cfg *cfg = j->hold->cfg;
    for (size_t i = 0; i < cfg->n_sources; i++) {
        struct src_state *s = find_src(a, cfg->sources[i].id);
        if (s && !s->busy && s->known == SRC_UNKNOWN)
            s->known = SRC_OK; /* no row: it never failed */
    }
}

void alerts_load_source_states(struct alerts_sender *a)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->hold = okrd_cfg_hold_ref(a->d->hold);
    j->run = states_run;
    j->done = states_done;
    alerts_submit(a, j);
}

void okrd_alerts_source_health(struct okrd *d, const char *source_id, bool ok,
                               const struct store_source_health *h)
{
    struct alerts_sender *a = d->alerts;
    if (!a || a->stopping)
        return;
    struct src_state *s = find_src(a, source_id);
    if (!s || s->busy)
        return; /* the next report tries again */
    /* Most reports change nothing: a success of a healthy source needs no job. */
    if (ok && s->known == SRC_OK)
        return;
    if (!ok && s->known == SRC_FAILING)
        return;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->hold = okrd_cfg_hold_ref(d->hold);
    snprintf(j->src_id, sizeof j->src_id, "%s", source_id);
    j->ok = ok;
    j->health = *h;
    j->now_s = okrd_clock_now_s(d->clock);
    j->run = health_run;
    j->done = health_done;
    if (alerts_submit(a, j) == 0)
        s->busy = true;
}

/* ---- the weekly digest ---- */

static int digest_run(struct store *w, struct job *j, struct okrd_err *err)
{
    return alerts_add_digest(w, j->hold->cfg, j->event_id, j->body, j->now_s, j->slot_s,
                             &j->n_events, err);
}

static void digest_done(struct job *j, int rc, const struct okrd_err *err)
{
    char q[512];
    if (rc < 0) {
        if (rc != OKRD_ECANCELED)
            log_error("digest_failed", "msg=%s", log_quote(q, sizeof q, err->msg));
        return;
    }
    if (j->n_events > 0) {
        log_info("digest", "event=%s", j->event_id);
        alerts_kick_if_new(j->a);
    }
}

struct ago_ctx {
    char status[16];
};

static int first_status(void *ctx, const struct store_kr_day *row)
{
    struct ago_ctx *c = ctx;
    snprintf(c->status, sizeof c->status, "%s", row->status);
    return 1; /* the first row of the week is enough */
}

/* Builds the digest from the last evaluation (its numbers are at its time)
 * and each key result's status a week before, from the daily history. */
static void send_digest(struct alerts_sender *a, int64_t slot_s)
{
    struct okrd *d = a->d;
    if (!d->eval.have_last) {
        log_warning("digest_skipped", "msg=\"no evaluation yet\"");
        return;
    }
    const struct eval_snapshot *s = &d->eval.last;
    int64_t from_s = s->at_s - 7 * 86400;
    char from_date[16];
    okrd_format_date(from_s, s->cfg->daemon.tz, from_date, sizeof from_date);
    struct ago_ctx *ago = calloc(s->n_krs + 1, sizeof *ago);
    const char **ago_p = calloc(s->n_krs + 1, sizeof *ago_p);
    struct job *j = calloc(1, sizeof *j);
    if (!ago || !ago_p || !j) {
        free(ago);
        free(ago_p);
        free(j);
        log_error("digest_failed", "msg=\"out of memory\"");
        return;
    }
    for (size_t i = 0; i < s->n_krs; i++) {
        struct okrd_err err = { 0 };
        store_each_kr_day(d->reader, s->krs[i]->id, from_date, NULL, first_status, &ago[i], &err);
        ago_p[i] = ago[i].status[0] ? ago[i].status : NULL;
    }
    alerts_new_event_id(okrd_clock_now_ms(d->clock), j->event_id, sizeof j->event_id);
    j->body = alerts_digest_body(s, ago_p, j->event_id, from_s);
    free(ago);
    free(ago_p);
    if (!j->body) {
        free(j);
        log_error("digest_failed", "msg=\"out of memory\"");
        return;
    }
    j->hold = okrd_cfg_hold_ref(d->hold);
    j->now_s = s->at_s;
    j->slot_s = slot_s;
    j->run = digest_run;
    j->done = digest_done;
    alerts_submit(a, j);
}

void alerts_on_digest(uv_timer_t *t)
{
    struct alerts_sender *a = t->data;
    send_digest(a, a->digest_slot_s);
    alerts_arm_digest(a);
}

void alerts_arm_digest(struct alerts_sender *a)
{
    const struct cfg *cfg = a->d->cfg;
    uv_timer_stop(&a->digest);
    if (!cfg->alerts.has_digest)
        return;
    int64_t now_ms = okrd_clock_now_ms(a->d->clock);
    int64_t next = alerts_next_digest_s(cfg->alerts.digest_weekday, cfg->alerts.digest_minute,
                                        cfg->daemon.tz, now_ms / 1000);
    a->digest_slot_s = next;
    uv_timer_start(&a->digest, alerts_on_digest, (uint64_t)(next * 1000 - now_ms), 0);
}
