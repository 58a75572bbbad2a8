/*
 * alerts.c — the writer-thread seams into alerting: an evaluated key
 * result, a source's health, a weekly digest. Each runs inside the store
 * transaction its caller opened (the evaluation's for key results), reads
 * and writes the rules' memory, and writes an event with one delivery row
 * per matching webhook — so the status, the rules' memory and the event
 * commit together or not at all.
 *
 * Routing happens here, once, when the event is raised: the webhooks of the
 * config at that moment whose `events` and `objectives` filters match get a
 * delivery row under the same event id. The body is built here too, once.
 */
#include "alerts.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ulid.h"

/* ---- event ids ---- */

void alerts_new_event_id(int64_t now_ms, char *out, size_t size)
{
    unsigned char rnd[OKRD_ULID_RANDOM_BYTES];
    /* The id needs uniqueness, not secrecy: the time and the stack address
     * still tell two events apart if the RNG ever fails. */
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        okrd_ulid_fallback_random(now_ms, (uint64_t)(uintptr_t)&rnd, rnd);
    /* A ULID sorts by creation time, as people reading a receiver's log expect. */
    okrd_ulid_format("evt_", now_ms, rnd, out, size);
}

/* ---- routing ---- */

static bool in_list(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && !strcmp(list[i], s))
            return true;
    return false;
}

bool alerts_webhook_wants(const struct cfg_webhook *w, const char *type,
                          const char *objective_id)
{
    if (w->n_events && !in_list(w->events, w->n_events, type))
        return false;
    if (objective_id && w->n_objectives && !in_list(w->objectives, w->n_objectives, objective_id))
        return false;
    return true;
}

int64_t alerts_webhook_max_age_ms(const struct cfg_webhook *w)
{
    return w && w->max_age_ms > 0 ? w->max_age_ms : ALERTS_DEFAULT_MAX_AGE_MS;
}

/* Writes the event with a delivery row for every webhook that wants it,
 * each carrying its webhook's max_age for life (a removed webhook's
 * deliveries die by it, DESIGN section 5). */
static int emit(struct store *w, const struct cfg *cfg, const struct store_event *ev,
                struct okrd_err *err)
{
    struct store_route *to = calloc(cfg->n_webhooks ? cfg->n_webhooks : 1, sizeof *to);
    if (!to)
        return okrd_err_set(err, OKRD_ENOMEM, "alerts: route %s: out of memory", ev->type);
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_webhooks; i++)
        if (alerts_webhook_wants(&cfg->webhooks[i], ev->type, ev->objective_id))
            to[n++] = (struct store_route){ cfg->webhooks[i].id,
                                            alerts_webhook_max_age_ms(&cfg->webhooks[i]) };
    int rc = store_outbox_add(w, ev, to, n, err);
    free(to);
    return rc;
}

/* ---- key results ---- */

int alerts_on_kr_change(struct store *w, const struct cfg *cfg, const struct eval_snapshot *s,
                        size_t i_kr, const struct store_kr_state *before, int64_t now_s,
                        struct okrd_err *err)
{
    const struct cfg_key_result *kr = s->krs[i_kr];
    const struct okr_result *after = &s->results[i_kr];
    bool stale = s->stale[i_kr];
    const struct cfg_cycle *cycle = &kr->objective->cycle;
    struct store_alert_kr row, old;
    struct alerts_kr_memory m;
    int rc = store_get_alert_kr(w, kr->id, &old, err);
    bool had = rc == 0;
    if (had)
        alerts_kr_memory_from_row(&m, &old);
    else if (rc == OKRD_ENOTFOUND)
        alerts_kr_memory_init(&m, before ? before->status : NULL, before && before->stale,
                              cycle->start_s, now_s);
    else
        return rc;
    struct alerts_rules rules = {
        .for_s = cfg->alerts.for_ms / 1000,
        .repeat_s = cfg->alerts.repeat_ms / 1000,
        .grade_after_s = cfg->alerts.grade_after_ms / 1000,
    };
    struct alerts_kr_now now = {
        .status = after->status, .final = after->final, .stale = stale,
        .cycle_start_s = cycle->start_s, .cycle_end_s = cycle->end_s,
    };
    struct alerts_raised raised[2];
    size_t n = alerts_kr_step(&m, &rules, &now, now_s, raised);
    for (size_t i = 0; i < n; i++) {
        char id[40];
        alerts_new_event_id(now_s * 1000, id, sizeof id);
        char *body = alerts_kr_body_of(id, raised[i].type, now_s, s, i_kr, raised[i].previous);
        if (!body)
            return okrd_err_set(err, OKRD_ENOMEM, "alerts: build %s body: out of memory",
                                alerts_event_name(raised[i].type));
        struct store_event ev = {
            .id = id, .type = alerts_event_name(raised[i].type), .objective_id = kr->objective->id,
            .kr_id = kr->id, .occurred_at_s = now_s, .created_at_s = now_s, .body = body,
        };
        rc = emit(w, cfg, &ev, err);
        free(body);
        if (rc < 0)
            return rc;
    }
    alerts_kr_memory_to_row(&m, &row);
    if (had && !memcmp(&row, &old, sizeof row))
        return 0; /* most evaluations change nothing: no write */
    return store_put_alert_kr(w, kr->id, &row, err);
}

int alerts_on_checkin(struct store *w, const struct cfg *cfg, const struct eval_snapshot *s,
                      size_t i, const struct okrd_checkin *c, int64_t now_s,
                      struct okrd_err *err)
{
    const struct cfg_key_result *kr = s->krs[i];
    char id[40];
    alerts_new_event_id(now_s * 1000, id, sizeof id);
    char *body = alerts_checkin_body(id, now_s, s, i, c);
    if (!body)
        return okrd_err_set(err, OKRD_ENOMEM, "alerts: build kr.check_in body: out of memory");
    struct store_event ev = {
        .id = id, .type = alerts_event_name(ALERTS_KR_CHECK_IN), .objective_id = kr->objective->id,
        .kr_id = kr->id, .occurred_at_s = now_s, .created_at_s = now_s, .body = body,
    };
    int rc = emit(w, cfg, &ev, err);
    free(body);
    return rc;
}

/* ---- sources ---- */

static int failing_after_of(const struct cfg_source *src)
{
    if (!src)
        return 3;
    switch (src->type) {
    case CFG_SRC_HTTP_JSON: return src->u.http.failing_after;
    case CFG_SRC_PROMETHEUS: return src->u.prom.failing_after;
    default: return 3;
    }
}

int alerts_on_source_health(struct store *w, const struct cfg *cfg, const char *source_id,
                            bool ok, const struct store_source_health *h, int64_t now_s,
                            int *n_events, bool *failing, struct okrd_err *err)
{
    *n_events = 0;
    const struct cfg_source *src = cfg_find_source(cfg, source_id);
    struct store_alert_source st = { 0 };
    int rc = store_get_alert_source(w, source_id, &st, err);
    if (rc < 0 && rc != OKRD_ENOTFOUND)
        return rc;
    bool was = st.failing;
    if (failing)
        *failing = was;
    enum alerts_event ev = alerts_source_step(&st.failing, ok, h->consecutive_failures,
                                              failing_after_of(src));
    if (ev == ALERTS_EV_NONE)
        return 0;
    if (st.failing != was)
        st.since_s = now_s;
    char id[40];
    alerts_new_event_id(now_s * 1000, id, sizeof id);
    char *body = alerts_source_body(id, ev, now_s, source_id,
                                    src ? cfg_source_type_name(src->type) : "unknown", h);
    if (!body)
        return okrd_err_set(err, OKRD_ENOMEM, "alerts: build %s body: out of memory",
                            alerts_event_name(ev));
    struct store_event e = {
        .id = id, .type = alerts_event_name(ev), .occurred_at_s = now_s, .created_at_s = now_s,
        .body = body,
    };
    bool own = !store_in_transaction(w);
    if (own && (rc = store_begin(w, err)) < 0) {
        free(body);
        return rc;
    }
    rc = emit(w, cfg, &e, err);
    free(body);
    if (rc == 0)
        rc = store_put_alert_source(w, source_id, &st, err);
    if (own)
        rc = rc == 0 ? store_commit(w, err) : (store_rollback(w), rc);
    if (rc == 0) {
        *n_events = 1;
        if (failing)
            *failing = st.failing;
    }
    return rc;
}

/* ---- digests ---- */

int alerts_add_digest(struct store *w, const struct cfg *cfg, const char *id, const char *body,
                      int64_t occurred_s, int64_t slot_s, int *n_events, struct okrd_err *err)
{
    *n_events = 0;
    int64_t last = 0;
    int rc = store_get_alert_meta(w, "digest_last", &last, err);
    if (rc < 0 && rc != OKRD_ENOTFOUND)
        return rc;
    if (rc == 0 && last >= slot_s)
        return 0; /* this slot went out already (a restart within the minute) */
    struct store_route *to = calloc(cfg->alerts.n_digest_webhooks + 1, sizeof *to);
    if (!to)
        return okrd_err_set(err, OKRD_ENOMEM, "alerts: digest: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < cfg->alerts.n_digest_webhooks; i++) {
        const struct cfg_webhook *wh = cfg_find_webhook(cfg, cfg->alerts.digest_webhooks[i]);
        if (wh)
            to[n++] = (struct store_route){ wh->id, alerts_webhook_max_age_ms(wh) };
    }
    struct store_event ev = {
        .id = id, .type = alerts_event_name(ALERTS_DIGEST_WEEKLY), .occurred_at_s = occurred_s,
        .created_at_s = slot_s > occurred_s ? slot_s : occurred_s, .body = body,
    };
    bool own = !store_in_transaction(w);
    if (own && (rc = store_begin(w, err)) < 0) {
        free(to);
        return rc;
    }
    rc = store_outbox_add(w, &ev, to, n, err);
    free(to);
    if (rc == 0)
        rc = store_put_alert_meta(w, "digest_last", slot_s, err);
    if (own)
        rc = rc == 0 ? store_commit(w, err) : (store_rollback(w), rc);
    if (rc == 0)
        *n_events = 1;
    return rc;
}
