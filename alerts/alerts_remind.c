/*
 * alerts_remind.c — check-in reminders (DESIGN section 8): which key results
 * are due for a check-in at a `checkins.remind` slot, the `checkin.due` body
 * that groups them by owner, and the writer-thread seam that writes the
 * event(s) and records the slot in one transaction, so a slot is never sent
 * twice, across restarts.
 *
 * Deciding is pure (alerts_remind_due, alerts_remind_body, the slot
 * arithmetic); the caller (daemon/remind.c) reads each key result's latest
 * check-in and its evaluation at the slot and hands them in.
 *
 * One event per distinct list: a webhook's `objectives` filter applies per
 * key result, and a body is built once and sent verbatim under one id, so a
 * webhook whose filter keeps only some of the due key results gets an event
 * of its own listing just those. The full list is always written as one
 * event (the record of the slot), sent to every webhook that keeps all of it.
 */
#include "alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

#define DAY_S 86400

/* ---- slots ---- */

int64_t alerts_remind_last_slot_s(int weekday, int minute, const struct okrd_tz *tz,
                                  int64_t now_s)
{
    /* The first slot after now - 8 days is at most 7 days (and a DST hour)
     * later, so before now; walk forward to the last one not after now. */
    int64_t t = alerts_next_digest_s(weekday, minute, tz, now_s - 8 * DAY_S);
    for (int64_t n = alerts_next_digest_s(weekday, minute, tz, t); n <= now_s;
         n = alerts_next_digest_s(weekday, minute, tz, t))
        t = n;
    return t;
}

int64_t alerts_remind_missed_slot_s(int weekday, int minute, const struct okrd_tz *tz,
                                    int64_t now_s)
{
    int64_t last = alerts_remind_last_slot_s(weekday, minute, tz, now_s);
    return now_s - last < DAY_S ? last : 0;
}

/* ---- selection ---- */

bool alerts_remind_due(const struct alerts_remind_kr *k, int64_t slot_s, int64_t every_s)
{
    const struct cfg_cycle *c = &k->kr->objective->cycle;
    if (slot_s < c->start_s || slot_s >= c->end_s)
        return false; /* only running cycles: nothing to check in on before or after */
    if (!k->has_checkin)
        return true;
    return slot_s - k->checkin_at_s > every_s; /* "older than every": exactly every is not */
}

/* ---- the body ---- */

static json_t *time_json(int64_t ts)
{
    char buf[32];
    okrd_format_utc(ts, buf, sizeof buf);
    return json_string(buf);
}

/* "7 days", "36 hours", "90 minutes", "45 seconds": the largest unit that
 * divides EVERY_S, as people write it in the config. */
static void every_words(char *buf, size_t size, int64_t every_s)
{
    static const struct { int64_t s; const char *unit; } units[] = {
        { DAY_S, "day" }, { 3600, "hour" }, { 60, "minute" }, { 1, "second" },
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (every_s > 0 && every_s % units[i].s == 0) {
            long long n = (long long)(every_s / units[i].s);
            snprintf(buf, size, "%lld %s%s", n, units[i].unit, n == 1 ? "" : "s");
            return;
        }
    snprintf(buf, size, "%lld seconds", (long long)every_s);
}

/* Owners in byte order, the key results of no owner last. */
static int owner_cmp(const char *a, const char *b)
{
    if (!a || !b)
        return !a - !b;
    return strcmp(a, b);
}

static json_t *kr_json(const struct alerts_remind_kr *k, int64_t slot_s)
{
    json_t *days = k->has_checkin ? json_integer((slot_s - k->checkin_at_s) / DAY_S) : json_null();
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", k->kr->id, "title",
                     k->kr->title, "objective", k->kr->objective->id, "status",
                     okr_status_name(k->status), "progress", okr_view_number(k->progress),
                     "expected", okr_view_number(k->expected), "days_since_check_in", days);
}

char *alerts_remind_body(const char *id, int64_t slot_s, int64_t every_s,
                         const struct alerts_remind_kr *due, const bool *keep, size_t n)
{
    /* The owners, each once, sorted: O(n^2) only in the owners of one list
     * of due key results, which people read in one message. */
    const char **owners = calloc(n ? n + 1 : 1, sizeof *owners);
    if (!owners)
        return NULL;
    size_t n_owners = 0, n_krs = 0;
    bool has_null = false;
    for (size_t i = 0; i < n; i++) {
        if (keep && !keep[i])
            continue;
        n_krs++;
        const char *o = due[i].kr->owner;
        if (!o) {
            has_null = true;
            continue;
        }
        size_t j = 0;
        while (j < n_owners && strcmp(owners[j], o) != 0)
            j++;
        if (j == n_owners)
            owners[n_owners++] = o;
    }
    if (n_krs == 0) {
        free(owners);
        return NULL;
    }
    for (size_t i = 1; i < n_owners; i++) /* insertion sort: few owners */
        for (size_t j = i; j > 0 && owner_cmp(owners[j - 1], owners[j]) > 0; j--) {
            const char *t = owners[j];
            owners[j] = owners[j - 1];
            owners[j - 1] = t;
        }
    if (has_null)
        owners[n_owners++] = NULL;
    json_t *groups = json_array();
    for (size_t g = 0; g < n_owners; g++) {
        json_t *krs = json_array();
        for (size_t i = 0; i < n; i++)
            if ((!keep || keep[i]) && owner_cmp(due[i].kr->owner, owners[g]) == 0)
                json_array_append_new(krs, kr_json(&due[i], slot_s));
        json_array_append_new(groups, json_pack("{s:o, s:o}", "owner",
                                                owners[g] ? json_string(owners[g]) : json_null(),
                                                "key_results", krs));
    }
    char every[32], summary[256];
    every_words(every, sizeof every, every_s);
    snprintf(summary, sizeof summary,
             "%zu key result%s due for a check-in (none in the last %s), %zu owner%s to nudge.",
             n_krs, n_krs == 1 ? " is" : "s are", every, n_owners, n_owners == 1 ? "" : "s");
    free(owners);
    json_t *doc = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "id", id, "type",
                            ALERTS_CHECKIN_DUE, "occurred_at", time_json(slot_s), "slot",
                            time_json(slot_s), "owners", groups, "summary", summary);
    if (!doc)
        return NULL;
    char *text = okr_view_dump(doc, false);
    json_decref(doc);
    return text;
}

/* ---- the writer-thread seam ---- */

/* The webhooks reminders go to: checkins.webhooks, or every webhook. */
static size_t remind_targets(const struct cfg *cfg, const struct cfg_webhook **out)
{
    size_t n = 0;
    if (cfg->checkins.n_webhooks) {
        for (size_t i = 0; i < cfg->checkins.n_webhooks; i++) {
            const struct cfg_webhook *w = cfg_find_webhook(cfg, cfg->checkins.webhooks[i]);
            if (w)
                out[n++] = w;
        }
    } else {
        for (size_t i = 0; i < cfg->n_webhooks; i++)
            out[n++] = &cfg->webhooks[i];
    }
    return n;
}

/* One distinct list (KEEP over the due key results) and the webhooks that get it. */
struct remind_set {
    bool *keep;
    struct store_route *routes;
    size_t n_routes;
};

static int write_set(struct store *w, const struct remind_set *set, int64_t slot_s,
                     int64_t now_s, int64_t every_s, const struct alerts_remind_kr *due,
                     size_t n_due, struct okrd_err *err)
{
    char id[40];
    alerts_new_event_id(now_s * 1000, id, sizeof id);
    char *body = alerts_remind_body(id, slot_s, every_s, due, set->keep, n_due);
    if (!body)
        return okrd_err_set(err, OKRD_ENOMEM, "alerts: build checkin.due body: out of memory");
    struct store_event ev = {
        .id = id, .type = ALERTS_CHECKIN_DUE, .occurred_at_s = slot_s,
        .created_at_s = now_s > slot_s ? now_s : slot_s, .body = body,
    };
    int rc = store_outbox_add(w, &ev, set->routes, set->n_routes, err);
    free(body);
    return rc;
}

static int add_sets(struct store *w, const struct cfg *cfg, int64_t slot_s, int64_t now_s,
                    const struct alerts_remind_kr *due, size_t n_due, struct remind_set *sets,
                    int *n_events, struct okrd_err *err)
{
    const struct cfg_webhook **targets = calloc(cfg->n_webhooks + 1, sizeof *targets);
    if (!targets)
        return okrd_err_set(err, OKRD_ENOMEM, "alerts: checkin.due: out of memory");
    size_t n_targets = remind_targets(cfg, targets), n_sets = 1;
    int rc = 0;
    /* sets[0]: the full list, always written. */
    for (size_t i = 0; i < n_due; i++)
        sets[0].keep[i] = true;
    for (size_t t = 0; t < n_targets && rc == 0; t++) {
        const struct cfg_webhook *wh = targets[t];
        if (!alerts_webhook_wants(wh, ALERTS_CHECKIN_DUE, NULL))
            continue; /* its events filter leaves checkin.due out */
        bool *keep = sets[n_sets].keep, any = false;
        for (size_t i = 0; i < n_due; i++) {
            keep[i] = alerts_webhook_wants(wh, ALERTS_CHECKIN_DUE, due[i].kr->objective->id);
            any = any || keep[i];
        }
        if (!any)
            continue; /* its filter leaves nothing: it gets nothing */
        size_t s = 0;
        while (s < n_sets && memcmp(sets[s].keep, keep, n_due * sizeof *keep) != 0)
            s++;
        if (s == n_sets)
            n_sets++;
        sets[s].routes[sets[s].n_routes++] =
            (struct store_route){ wh->id, alerts_webhook_max_age_ms(wh) };
    }
    int64_t every_s = cfg->checkins.every_ms / 1000;
    for (size_t s = 0; s < n_sets && rc == 0; s++)
        if ((rc = write_set(w, &sets[s], slot_s, now_s, every_s, due, n_due, err)) == 0)
            (*n_events)++;
    free(targets);
    return rc;
}

int alerts_add_remind(struct store *w, const struct cfg *cfg, int64_t slot_s, int64_t now_s,
                      const struct alerts_remind_kr *due, size_t n_due, int *n_events,
                      struct okrd_err *err)
{
    *n_events = 0;
    int64_t last = 0;
    int rc = store_get_alert_meta(w, ALERTS_REMIND_META, &last, err);
    if (rc < 0 && rc != OKRD_ENOTFOUND)
        return rc;
    if (rc == 0 && last >= slot_s)
        return 0; /* this slot was handled already (a restart within it) */
    /* Up to one set per webhook plus the full list, each with a keep mask. */
    size_t cap = cfg->n_webhooks + 1;
    struct remind_set *sets = calloc(cap, sizeof *sets);
    bool *masks = calloc(cap * (n_due ? n_due : 1), sizeof *masks);
    struct store_route *routes = calloc(cap * cap, sizeof *routes);
    if (!sets || !masks || !routes) {
        free(sets);
        free(masks);
        free(routes);
        return okrd_err_set(err, OKRD_ENOMEM, "alerts: checkin.due: out of memory");
    }
    for (size_t s = 0; s < cap; s++) {
        sets[s].keep = masks + s * (n_due ? n_due : 1);
        sets[s].routes = routes + s * cap;
    }
    bool own = !store_in_transaction(w);
    if (own && (rc = store_begin(w, err)) < 0)
        goto out;
    rc = 0;
    if (n_due > 0) /* no event when nobody is due; the slot is recorded all the same */
        rc = add_sets(w, cfg, slot_s, now_s, due, n_due, sets, n_events, err);
    if (rc == 0)
        rc = store_put_alert_meta(w, ALERTS_REMIND_META, slot_s, err);
    if (own)
        rc = rc == 0 ? store_commit(w, err) : (store_rollback(w), rc);
    if (rc < 0)
        *n_events = 0;
out:
    free(sets);
    free(masks);
    free(routes);
    return rc;
}
