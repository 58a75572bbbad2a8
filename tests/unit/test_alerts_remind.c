/*
 * test_alerts_remind.c — check-in reminders (alerts/alerts_remind.c,
 * DESIGN section 8) and the digest's check-in fields: who is due at a slot
 * (never checked in, exactly `every` old, cycles not yet started or ended),
 * the checkin.due body grouped by owner (a `null` owner last), its Slack
 * rendering (owners as written, titles escaped), webhook filters applied per
 * key result against a real store, the slot recorded once, and the start-up
 * catch-up of a missed slot (less than a day late, else skipped).
 *
 * Every case is named after a real situation; the name is in every failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts/alerts.h"
#include "common/parse.h"
#include "store/store_outbox.h"
#include "store_fx.h"
#include "testutil.h"

#define D 86400
#define H 3600
#define SLOT 1795424400 /* Monday 2026-11-23 09:00 UTC */
#define Q4_START 1790812800 /* 2026-10-01 */
#define Q4_END 1798761600 /* 2027-01-01: the cycle's exclusive end */

static const char cfg_text[] =
    "{\"daemon\": {\"state_dir\": \"/tmp/x\", \"listen\": \"\"},"
    " \"objectives\": ["
    "  {\"id\": \"engagement\", \"title\": \"Engage\", \"owner\": \"growth-team\","
    "   \"cycle\": {\"start\": \"2026-10-01\", \"end\": \"2026-12-31\"},"
    "   \"key_results\": ["
    "    {\"id\": \"dau-up\", \"title\": \"DAU <up> & away\", \"owner\": \"<@U024BE7LH>\","
    "     \"metric\": \"dau\", \"direction\": \"increase\", \"baseline\": 1000, \"target\": 1200},"
    "    {\"id\": \"csat\", \"title\": \"CSAT\", \"metric\": \"csat\", \"direction\": \"at_least\","
    "     \"target\": 8},"
    "    {\"id\": \"reviews\", \"title\": \"Reviews\", \"owner\": \"alice\", \"metric\": \"r\","
    "     \"direction\": \"increase\", \"baseline\": 0, \"target\": 100}]},"
    "  {\"id\": \"customers\", \"title\": \"Keep customers\", \"cycle\": \"2026-Q4\","
    "   \"key_results\": ["
    "    {\"id\": \"churn\", \"title\": \"Churn\", \"metric\": \"churn\", \"direction\": \"decrease\","
    "     \"baseline\": 5, \"target\": 4},"
    "    {\"id\": \"nps\", \"title\": \"NPS\", \"owner\": \"alice\", \"metric\": \"nps\","
    "     \"direction\": \"at_least\", \"target\": 40}]},"
    "  {\"id\": \"next\", \"title\": \"Next quarter\", \"cycle\": \"2027-Q1\","
    "   \"key_results\": [{\"id\": \"later\", \"title\": \"Later\", \"metric\": \"x\","
    "     \"direction\": \"at_least\", \"target\": 1}]},"
    "  {\"id\": \"last\", \"title\": \"Last quarter\", \"cycle\": \"2026-Q3\","
    "   \"key_results\": [{\"id\": \"old\", \"title\": \"Old\", \"metric\": \"x\","
    "     \"direction\": \"at_least\", \"target\": 1}]}],"
    " \"webhooks\": [{\"id\": \"all\", \"url\": \"http://127.0.0.1:1/\"},"
    "   {\"id\": \"growth\", \"url\": \"http://127.0.0.1:1/\", \"format\": \"slack\","
    "    \"objectives\": [\"engagement\"]},"
    "   {\"id\": \"growth2\", \"url\": \"http://127.0.0.1:1/\", \"objectives\": [\"engagement\"],"
    "    \"events\": [\"checkin.due\", \"kr.off_track\"]},"
    "   {\"id\": \"alerts-only\", \"url\": \"http://127.0.0.1:1/\", \"events\": [\"kr.off_track\"]},"
    "   {\"id\": \"next-only\", \"url\": \"http://127.0.0.1:1/\", \"objectives\": [\"next\"]}],"
    " \"checkins\": {\"remind\": \"monday 09:00\", \"every\": \"7d\"}}";

static struct cfg *load_cfg(const char *text)
{
    struct cfg *cfg = NULL;
    struct cfg_diags diags = { 0 };
    int rc = cfg_load_string(text, strlen(text), "test.json", CFG_NO_SECRETS, &cfg, &diags);
    for (size_t i = 0; rc < 0 && i < diags.n; i++)
        print_error("%s\n", diags.items[i].text);
    cfg_diags_free(&diags);
    assert_int_equal(rc, 0);
    return cfg;
}

static struct alerts_remind_kr kr_at(const struct cfg *cfg, const char *id, int64_t checkin_at)
{
    struct alerts_remind_kr k = { .kr = cfg_find_key_result(cfg, id), .status = OKR_AT_RISK,
                                  .progress = 0.2, .expected = 0.55 };
    assert_non_null(k.kr);
    if (checkin_at != OKR_NO_TS) {
        k.has_checkin = true;
        k.checkin_at_s = checkin_at;
    }
    return k;
}

/* ---- who is due ---- */

static void test_due(void **state)
{
    (void)state;
    struct cfg *cfg = load_cfg(cfg_text);
    int64_t every = 7 * D;
    static const struct {
        const char *name, *kr;
        int64_t slot, checkin_at;
        bool due;
    } cases[] = {
        { "never checked in", "dau-up", SLOT, OKR_NO_TS, true },
        { "checked in yesterday", "dau-up", SLOT, SLOT - D, false },
        { "checked in at the slot itself", "dau-up", SLOT, SLOT, false },
        { "exactly `every` old is not older", "dau-up", SLOT, SLOT - 7 * D, false },
        { "a second more than `every`", "dau-up", SLOT, SLOT - 7 * D - 1, true },
        { "a month ago", "csat", SLOT, SLOT - 30 * D, true },
        { "cycle not yet started (2027-Q1)", "later", SLOT, OKR_NO_TS, false },
        { "cycle ended (2026-Q3)", "old", SLOT, OKR_NO_TS, false },
        { "slot at the cycle's first instant", "churn", Q4_START, OKR_NO_TS, true },
        { "slot at the cycle's exclusive end", "churn", Q4_END, OKR_NO_TS, false },
        { "slot a second before the end", "churn", Q4_END - 1, OKR_NO_TS, true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct alerts_remind_kr k = kr_at(cfg, cases[i].kr, cases[i].checkin_at);
        if (alerts_remind_due(&k, cases[i].slot, every) != cases[i].due)
            fail_msg("case \"%s\": due should be %d", cases[i].name, cases[i].due);
    }
    cfg_free(cfg);
}

/* ---- the body ---- */

static json_t *find_owner(json_t *owners, const char *owner, size_t *at)
{
    size_t i;
    json_t *g;
    json_array_foreach(owners, i, g) {
        const char *o = json_string_value(json_object_get(g, "owner"));
        if ((!owner && json_is_null(json_object_get(g, "owner"))) || (owner && o && !strcmp(o, owner))) {
            *at = i;
            return g;
        }
    }
    return NULL;
}

static void test_body_grouping(void **state)
{
    (void)state;
    struct cfg *cfg = load_cfg(cfg_text);
    struct alerts_remind_kr due[] = {
        kr_at(cfg, "dau-up", SLOT - 9 * D - 5 * H), /* 9.2 days: 9 whole days */
        kr_at(cfg, "csat", OKR_NO_TS),
        kr_at(cfg, "reviews", SLOT - 8 * D),
        kr_at(cfg, "churn", OKR_NO_TS),             /* no owner anywhere: null */
        kr_at(cfg, "nps", SLOT - 21 * D),
    };
    due[0].status = OKR_OFF_TRACK;
    due[1].progress = NAN;
    char *body = alerts_remind_body("evt_R", SLOT, 7 * D, due, NULL, 5);
    assert_non_null(body);
    json_t *doc = json_loads(body, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "type")), "checkin.due");
    assert_string_equal(json_string_value(json_object_get(doc, "id")), "evt_R");
    assert_string_equal(json_string_value(json_object_get(doc, "slot")), "2026-11-23T09:00:00Z");
    assert_string_equal(json_string_value(json_object_get(doc, "occurred_at")), "2026-11-23T09:00:00Z");
    assert_string_equal(json_string_value(json_object_get(doc, "summary")),
                        "5 key results are due for a check-in (none in the last 7 days), 4 "
                        "owners to nudge.");
    json_t *owners = json_object_get(doc, "owners");
    assert_int_equal(json_array_size(owners), 4);
    /* Owners in byte order ("<@..." < "alice" < "growth-team"), null last. */
    size_t at = 99;
    json_t *g = find_owner(owners, "<@U024BE7LH>", &at);
    assert_non_null(g);
    assert_int_equal(at, 0);
    json_t *k = json_array_get(json_object_get(g, "key_results"), 0);
    assert_string_equal(json_string_value(json_object_get(k, "id")), "dau-up");
    assert_string_equal(json_string_value(json_object_get(k, "objective")), "engagement");
    assert_string_equal(json_string_value(json_object_get(k, "status")), "off_track");
    assert_int_equal(json_integer_value(json_object_get(k, "days_since_check_in")), 9);
    assert_true(json_is_integer(json_object_get(k, "days_since_check_in")));
    assert_true(fabs(json_number_value(json_object_get(k, "progress")) - 0.2) < 1e-12);
    assert_true(fabs(json_number_value(json_object_get(k, "expected")) - 0.55) < 1e-12);

    g = find_owner(owners, "alice", &at);
    assert_int_equal(at, 1);
    json_t *krs = json_object_get(g, "key_results");
    assert_int_equal(json_array_size(krs), 2); /* across two objectives, config order */
    assert_string_equal(json_string_value(json_object_get(json_array_get(krs, 0), "id")), "reviews");
    assert_string_equal(json_string_value(json_object_get(json_array_get(krs, 1), "id")), "nps");
    assert_string_equal(json_string_value(json_object_get(json_array_get(krs, 1), "objective")),
                        "customers");

    g = find_owner(owners, "growth-team", &at); /* csat: the objective's owner */
    assert_int_equal(at, 2);
    k = json_array_get(json_object_get(g, "key_results"), 0);
    assert_string_equal(json_string_value(json_object_get(k, "id")), "csat");
    assert_true(json_is_null(json_object_get(k, "days_since_check_in"))); /* never */
    assert_true(json_is_null(json_object_get(k, "progress")));            /* NaN */

    g = find_owner(owners, NULL, &at);
    assert_int_equal(at, 3);
    assert_true(json_is_null(json_object_get(g, "owner")));
    k = json_array_get(json_object_get(g, "key_results"), 0);
    assert_string_equal(json_string_value(json_object_get(k, "id")), "churn");

    /* Slack: the mention as written (it pings), titles escaped. */
    char *slack = NULL;
    int parts = 0;
    assert_int_equal(alerts_slack_render(body, 0, &slack, &parts), 0);
    assert_int_equal(parts, 1);
    assert_non_null(strstr(slack, "*<@U024BE7LH>*"));
    assert_non_null(strstr(slack, "DAU &lt;up&gt; &amp; away"));
    assert_null(strstr(slack, "DAU <up>"));
    assert_non_null(strstr(slack, "_No owner_"));
    assert_non_null(strstr(slack, "last check-in 9 days ago"));
    assert_non_null(strstr(slack, "never checked in"));
    json_t *sd = json_loads(slack, 0, NULL);
    assert_non_null(sd);
    /* header, summary, 4 owners, 5 key results */
    assert_int_equal(json_array_size(json_object_get(sd, "blocks")), 2 + 4 + 5);
    json_decref(sd);
    free(slack);
    json_decref(doc);
    free(body);

    /* A filter that keeps nothing: no body. */
    bool none[5] = { false };
    assert_null(alerts_remind_body("evt_N", SLOT, 7 * D, due, none, 5));
    /* One that keeps one key result: one owner, one line. */
    bool one[5] = { false, false, false, false, true };
    body = alerts_remind_body("evt_O", SLOT, 7 * D, due, one, 5);
    doc = json_loads(body, 0, NULL);
    owners = json_object_get(doc, "owners");
    assert_int_equal(json_array_size(owners), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(owners, 0), "owner")), "alice");
    assert_non_null(strstr(json_string_value(json_object_get(doc, "summary")),
                           "1 key result is due"));
    json_decref(doc);
    free(body);
    cfg_free(cfg);
}

/* ---- filters, against a real store ---- */

struct seen {
    char ids[8][64];
    char webhooks[8][132];
    size_t n;
};

static int collect(void *ctx, const struct store_delivery *d)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->ids[s->n], sizeof s->ids[s->n], "%s", d->event_id);
        snprintf(s->webhooks[s->n], sizeof s->webhooks[s->n], "%s", d->webhook_id);
        s->n++;
    }
    return 0;
}

static json_t *body_for(struct store *s, const char *webhook)
{
    struct store_delivery d;
    char *body = NULL;
    struct okrd_err err;
    if (store_next_delivery(s, webhook, &d, &body, &err) != 0)
        return NULL;
    assert_string_equal(d.type, "checkin.due");
    json_t *doc = json_loads(body, 0, NULL);
    free(body);
    return doc;
}

static size_t n_krs(json_t *doc)
{
    size_t i, n = 0;
    json_t *g;
    json_array_foreach(json_object_get(doc, "owners"), i, g)
        n += json_array_size(json_object_get(g, "key_results"));
    return n;
}

static void test_filters_and_slot(void **state)
{
    struct fx *f = *state;
    struct cfg *cfg = load_cfg(cfg_text);
    struct okrd_err err;
    struct store *s = f->s;
    struct alerts_remind_kr due[] = {
        kr_at(cfg, "dau-up", OKR_NO_TS),  /* engagement */
        kr_at(cfg, "churn", OKR_NO_TS),   /* customers */
    };
    int n = -1;
    assert_int_equal(alerts_add_remind(s, cfg, SLOT, SLOT + 2, due, 2, &n, &err), 0);
    /* Two lists: the full one (to "all") and the engagement one (to
     * "growth" and "growth2", one event under one id). "alerts-only" does
     * not take checkin.due; "next-only" keeps nothing. */
    assert_int_equal(n, 2);
    struct seen seen = { 0 };
    assert_int_equal(store_each_delivery(s, "pending", collect, &seen, &err), 0);
    assert_int_equal(seen.n, 3);
    json_t *all = body_for(s, "all"), *growth = body_for(s, "growth"), *g2 = body_for(s, "growth2");
    assert_non_null(all);
    assert_non_null(growth);
    assert_non_null(g2);
    assert_int_equal(n_krs(all), 2);
    assert_int_equal(n_krs(growth), 1);
    assert_string_equal(json_string_value(json_object_get(growth, "id")),
                        json_string_value(json_object_get(g2, "id")));
    assert_string_not_equal(json_string_value(json_object_get(growth, "id")),
                            json_string_value(json_object_get(all, "id")));
    assert_null(body_for(s, "alerts-only"));
    assert_null(body_for(s, "next-only"));
    json_decref(all);
    json_decref(growth);
    json_decref(g2);

    /* The slot is recorded: again (a restart within the slot) writes nothing. */
    assert_int_equal(alerts_add_remind(s, cfg, SLOT, SLOT + 60, due, 2, &n, &err), 0);
    assert_int_equal(n, 0);
    int64_t last = 0;
    assert_int_equal(store_get_alert_meta(s, ALERTS_REMIND_META, &last, &err), 0);
    assert_int_equal(last, SLOT);

    /* Nobody due next week: no event, the slot recorded all the same. */
    int64_t seq0 = 0, seq1 = 0;
    assert_int_equal(store_outbox_last_seq(s, &seq0, &err), 0);
    assert_int_equal(alerts_add_remind(s, cfg, SLOT + 7 * D, SLOT + 7 * D, due, 0, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_outbox_last_seq(s, &seq1, &err), 0);
    assert_int_equal(seq1, seq0);
    assert_int_equal(store_get_alert_meta(s, ALERTS_REMIND_META, &last, &err), 0);
    assert_int_equal(last, SLOT + 7 * D);
    cfg_free(cfg);

    /* checkins.webhooks names the webhooks: only "growth" gets reminders. */
    static const char named[] =
        "{\"daemon\": {\"state_dir\": \"/tmp/x\", \"listen\": \"\"},"
        " \"objectives\": [{\"id\": \"engagement\", \"title\": \"Engage\", \"cycle\": \"2026-Q4\","
        "   \"key_results\": [{\"id\": \"dau-up\", \"title\": \"DAU\", \"metric\": \"dau\","
        "     \"direction\": \"increase\", \"baseline\": 1000, \"target\": 1200}]}],"
        " \"webhooks\": [{\"id\": \"all\", \"url\": \"http://127.0.0.1:1/\"},"
        "   {\"id\": \"growth\", \"url\": \"http://127.0.0.1:1/\"}],"
        " \"checkins\": {\"remind\": \"monday 09:00\", \"webhooks\": [\"growth\"]}}";
    cfg = load_cfg(named);
    /* A fresh outbox and slot for this config. */
    fx_raw_exec(f, "DELETE FROM deliveries; DELETE FROM outbox; DELETE FROM alert_meta");
    struct alerts_remind_kr one = kr_at(cfg, "dau-up", SLOT - 8 * D);
    assert_int_equal(alerts_add_remind(s, cfg, SLOT, SLOT, &one, 1, &n, &err), 0);
    assert_int_equal(n, 1);
    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_each_delivery(s, "pending", collect, &seen, &err), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.webhooks[0], "growth");
    cfg_free(cfg);
}

/* ---- slots ---- */

static void test_missed_slot(void **state)
{
    (void)state;
    /* Started 3 h after Monday 09:00: that slot is sent once, late. */
    assert_int_equal(alerts_remind_missed_slot_s(1, 9 * 60, NULL, SLOT + 3 * H), SLOT);
    /* At the slot itself. */
    assert_int_equal(alerts_remind_missed_slot_s(1, 9 * 60, NULL, SLOT), SLOT);
    /* 23:59:59 late: still sent; a full day late: skipped. */
    assert_int_equal(alerts_remind_missed_slot_s(1, 9 * 60, NULL, SLOT + D - 1), SLOT);
    assert_int_equal(alerts_remind_missed_slot_s(1, 9 * 60, NULL, SLOT + D), 0);
    /* Two days late: skipped. A second before the slot: last week's is long gone. */
    assert_int_equal(alerts_remind_missed_slot_s(1, 9 * 60, NULL, SLOT + 2 * D), 0);
    assert_int_equal(alerts_remind_missed_slot_s(1, 9 * 60, NULL, SLOT - 1), 0);
    assert_int_equal(alerts_remind_last_slot_s(1, 9 * 60, NULL, SLOT - 1), SLOT - 7 * D);
    assert_int_equal(alerts_remind_last_slot_s(1, 9 * 60, NULL, SLOT + 6 * D), SLOT);
    /* In a timezone: Monday 09:00 in Europe/Berlin (UTC+1 in November). */
    struct okrd_tz *tz = NULL;
    struct okrd_err err;
    assert_int_equal(okrd_tz_open(&tz, "Europe/Berlin", &err), 0);
    assert_int_equal(alerts_remind_missed_slot_s(1, 9 * 60, tz, SLOT + 2 * H), SLOT - H);
    okrd_tz_close(tz);
}

/* ---- the digest's check-in fields ---- */

static void test_digest_checkins(void **state)
{
    (void)state;
    struct cfg *cfg = load_cfg(cfg_text);
    size_t n = 0;
    for (size_t o = 0; o < cfg->n_objectives; o++)
        n += cfg->objectives[o].n_key_results;
    const struct cfg_key_result **krs = calloc(n, sizeof *krs);
    struct okr_result *res = calloc(n, sizeof *res);
    bool *stale = calloc(n, sizeof *stale), *has = calloc(n, sizeof *has);
    struct okrd_checkin *cks = calloc(n, sizeof *cks);
    struct okr_objective_result *objs = calloc(cfg->n_objectives, sizeof *objs);
    size_t k = 0;
    for (size_t o = 0; o < cfg->n_objectives; o++)
        for (size_t j = 0; j < cfg->objectives[o].n_key_results; j++, k++) {
            krs[k] = &cfg->objectives[o].key_results[j];
            res[k] = (struct okr_result){ .status = OKR_ON_TRACK, .progress = 0.5, .expected = 0.5,
                                          .projected_score = 1, .score = 0.5 };
            cks[k].confidence = OKRD_CHECKIN_NO_CONFIDENCE;
        }
    has[0] = true; /* dau-up: confidence and a comment that tries to ping */
    cks[0].confidence = 6;
    cks[0].comment = "Two deals slipped <!channel>";
    has[1] = true; /* csat: a check-in without confidence or comment */
    struct eval_snapshot s = { .cfg = cfg, .at_s = SLOT, .n_krs = n, .krs = krs, .results = res,
                               .stale = stale, .objs = objs, .checkins = cks, .has_checkin = has };
    char *body = alerts_digest_body(&s, NULL, "evt_D", SLOT - 7 * D);
    assert_non_null(body);
    json_t *doc = json_loads(body, 0, NULL);
    json_t *eng = json_array_get(json_object_get(doc, "objectives"), 0);
    json_t *dau = json_array_get(json_object_get(eng, "key_results"), 0);
    json_t *csat = json_array_get(json_object_get(eng, "key_results"), 1);
    json_t *rev = json_array_get(json_object_get(eng, "key_results"), 2);
    assert_string_equal(json_string_value(json_object_get(dau, "owner")), "<@U024BE7LH>");
    assert_int_equal(json_integer_value(json_object_get(dau, "confidence")), 6);
    assert_string_equal(json_string_value(json_object_get(dau, "comment")),
                        "Two deals slipped <!channel>");
    assert_string_equal(json_string_value(json_object_get(csat, "owner")), "growth-team");
    assert_true(json_is_null(json_object_get(csat, "confidence")));
    assert_true(json_is_null(json_object_get(csat, "comment")));
    assert_true(json_is_null(json_object_get(rev, "confidence"))); /* never checked in */
    assert_true(json_is_null(json_object_get(rev, "comment")));
    json_t *churn = json_array_get(
        json_object_get(json_array_get(json_object_get(doc, "objectives"), 1), "key_results"), 0);
    assert_true(json_is_null(json_object_get(churn, "owner")));
    json_decref(doc);
    /* Slack: the owner pings, the comment cannot. */
    char *slack = NULL;
    int parts = 0;
    assert_int_equal(alerts_slack_render(body, 0, &slack, &parts), 0);
    assert_non_null(strstr(slack, "<@U024BE7LH>"));
    assert_non_null(strstr(slack, "confidence 6/10"));
    assert_non_null(strstr(slack, "Two deals slipped &lt;!channel&gt;"));
    assert_null(strstr(slack, "<!channel>"));
    free(slack);
    free(body);

    /* A snapshot without check-ins (no evaluator filled them): nulls. */
    s.checkins = NULL;
    s.has_checkin = NULL;
    body = alerts_digest_body(&s, NULL, "evt_E", SLOT - 7 * D);
    doc = json_loads(body, 0, NULL);
    dau = json_array_get(json_object_get(json_array_get(json_object_get(doc, "objectives"), 0),
                                         "key_results"), 0);
    assert_true(json_is_null(json_object_get(dau, "confidence")));
    json_decref(doc);
    free(body);
    free(krs);
    free(res);
    free(stale);
    free(has);
    free(cks);
    free(objs);
    cfg_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due),
        cmocka_unit_test(test_body_grouping),
        cmocka_unit_test_setup_teardown(test_filters_and_slot, setup, teardown),
        cmocka_unit_test(test_missed_slot),
        cmocka_unit_test(test_digest_checkins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
