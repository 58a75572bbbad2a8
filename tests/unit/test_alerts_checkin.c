/*
 * test_alerts_checkin.c — the kr.check_in event (DESIGN section 8) and the
 * check-in inside status events: the json body's shape and numbers, its
 * Slack message (author, confidence, status, comment; every text from
 * config or people escaped, the owner as written so a mention pings),
 * routing by the webhooks' `events`/`objectives` filters against a real
 * store, and the Slack escaping of the other events' notification text.
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
#include "store/store_outbox.h"
#include "store_fx.h"
#include "testutil.h"

#define D 86400
#define T0 1795000000           /* 2026-11-18T11:06:40Z */
#define UNTIL 1796083200        /* 2026-12-01T00:00:00Z */

static const char cfg_text[] =
    "{\"daemon\": {\"state_dir\": \"/tmp/x\", \"listen\": \"\"},"
    " \"objectives\": [{\"id\": \"engagement\", \"title\": \"Engagement <!here> & more\","
    "   \"owner\": \"<@U024BE7LH>\","
    "   \"cycle\": {\"start\": \"2026-10-01\", \"end\": \"2026-12-31\"},"
    "   \"key_results\": [{\"id\": \"dau-up\", \"title\": \"Increase <b>DAU</b> by 20%\","
    "     \"metric\": \"dau\", \"direction\": \"increase\", \"baseline\": 1000, \"target\": 1200}]},"
    "  {\"id\": \"customers\", \"title\": \"Keep customers\", \"cycle\": \"2026-Q4\","
    "   \"key_results\": []}],"
    " \"webhooks\": [{\"id\": \"all\", \"url\": \"http://127.0.0.1:1/\"},"
    "   {\"id\": \"checkins\", \"url\": \"http://127.0.0.1:1/\", \"format\": \"slack\","
    "    \"events\": [\"kr.check_in\"], \"objectives\": [\"engagement\"]},"
    "   {\"id\": \"status-only\", \"url\": \"http://127.0.0.1:1/\", \"events\": [\"kr.off_track\"]},"
    "   {\"id\": \"other\", \"url\": \"http://127.0.0.1:1/\", \"objectives\": [\"customers\"]}],"
    " \"alerts\": {\"for\": \"0s\"}}";

static struct cfg *load_cfg(void)
{
    struct cfg *cfg = NULL;
    struct cfg_diags diags = { 0 };
    int rc = cfg_load_string(cfg_text, strlen(cfg_text), "test.json", CFG_NO_SECRETS, &cfg, &diags);
    for (size_t i = 0; rc < 0 && i < diags.n; i++)
        print_error("%s\n", diags.items[i].text);
    cfg_diags_free(&diags);
    assert_int_equal(rc, 0);
    return cfg;
}

/* A one-key-result snapshot at T0: off track by its data (20% done with
 * 55% gone), overridden to on_track by alice's check-in until UNTIL. */
struct one {
    const struct cfg_key_result *krs[1];
    struct okr_result res[1];
    bool stale[1];
    const char *prev[1];
    enum okr_status computed[1];
    struct okrd_checkin ci[1];
    bool has[1];
    int64_t until[1];
    struct eval_snapshot s;
};

static void one_init(struct one *o, const struct cfg *cfg, const char *comment)
{
    memset(o, 0, sizeof *o);
    o->krs[0] = cfg_find_key_result(cfg, "dau-up");
    o->res[0] = (struct okr_result){ .status = OKR_ON_TRACK, .value = 1040, .baseline = 1000,
                                     .target = 1200, .progress = 0.2, .expected = 0.55,
                                     .projected_score = 0.2 / 0.55, .score = 0.2,
                                     .last_point_at = T0 - 3600 };
    o->prev[0] = "off_track";
    o->computed[0] = OKR_OFF_TRACK;
    struct okrd_checkin *c = &o->ci[0];
    okrd_checkin_clear(c);
    snprintf(c->id, sizeof c->id, "chk_01JD0000000000000000000001");
    snprintf(c->key_result, sizeof c->key_result, "dau-up");
    snprintf(c->cycle_start, sizeof c->cycle_start, "2026-10-01");
    snprintf(c->author, sizeof c->author, "alice");
    snprintf(c->status, sizeof c->status, "on_track");
    c->seq = 1;
    c->at_s = T0 - 60;
    c->until_s = UNTIL;
    c->confidence = 6;
    c->comment = comment ? strdup(comment) : NULL;
    o->has[0] = true;
    o->until[0] = UNTIL;
    o->s = (struct eval_snapshot){ .cfg = cfg, .at_s = T0, .n_krs = 1, .krs = o->krs,
                                   .results = o->res, .stale = o->stale,
                                   .previous_status = o->prev, .computed = o->computed,
                                   .checkins = o->ci, .has_checkin = o->has,
                                   .override_until = o->until };
}

static const char *sget(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        fail_msg("\"%s\" is not a string", key);
    return s;
}

static void assert_exact_keys(json_t *o, const char *const *keys, size_t n)
{
    if (json_object_size(o) != n)
        fail_msg("%zu keys, want %zu", json_object_size(o), n);
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(o, keys[i]))
            fail_msg("key %s missing", keys[i]);
}

static void test_checkin_body(void **state)
{
    (void)state;
    struct cfg *cfg = load_cfg();
    struct one o;
    one_init(&o, cfg, "Two deals slipped to Q1");
    char *body = alerts_checkin_body("evt_C", T0, &o.s, 0, &o.ci[0]);
    assert_non_null(body);
    json_t *doc = json_loads(body, 0, NULL);
    assert_non_null(doc);
    static const char *const top[] = { "id", "type", "occurred_at", "objective", "check_in",
                                       "key_result", "summary" };
    assert_exact_keys(doc, top, 7);
    assert_string_equal(sget(doc, "id"), "evt_C");
    assert_string_equal(sget(doc, "type"), "kr.check_in");
    assert_string_equal(sget(doc, "occurred_at"), "2026-11-18T11:06:40Z");
    assert_string_equal(sget(json_object_get(doc, "objective"), "id"), "engagement");
    assert_string_equal(sget(doc, "summary"),
                        "alice checked in on Increase <b>DAU</b> by 20%: confidence 6/10, on "
                        "track until 2026-12-01T00:00:00Z.");

    json_t *ci = json_object_get(doc, "check_in");
    static const char *const cik[] = { "id", "key_result", "cycle_start", "seq", "at", "author",
                                       "confidence", "comment", "status", "until", "value",
                                       "grade", "override_until" };
    assert_exact_keys(ci, cik, 13);
    assert_string_equal(sget(ci, "id"), "chk_01JD0000000000000000000001");
    assert_string_equal(sget(ci, "at"), "2026-11-18T11:05:40Z");
    assert_string_equal(sget(ci, "until"), "2026-12-01T00:00:00Z");
    assert_string_equal(sget(ci, "override_until"), "2026-12-01T00:00:00Z");
    assert_string_equal(sget(ci, "cycle_start"), "2026-10-01");
    assert_int_equal(json_integer_value(json_object_get(ci, "confidence")), 6);
    assert_int_equal(json_integer_value(json_object_get(ci, "seq")), 1);
    assert_true(json_is_null(json_object_get(ci, "value")));
    assert_true(json_is_null(json_object_get(ci, "grade")));

    /* the key result as of that evaluation: effective status, computed
     * beside it, the same check-in, no "score" (the webhook schema's) */
    json_t *k = json_object_get(doc, "key_result");
    assert_null(json_object_get(k, "score"));
    assert_string_equal(sget(k, "status"), "on_track");
    assert_string_equal(sget(k, "computed_status"), "off_track");
    assert_string_equal(sget(k, "previous_status"), "off_track");
    assert_string_equal(sget(k, "owner"), "<@U024BE7LH>");
    assert_string_equal(sget(json_object_get(k, "check_in"), "id"), sget(ci, "id"));
    json_decref(doc);
    free(body);

    /* An older check-in announced with a newer one: its override does not
     * hold (the latest's does), so no override_until. */
    struct okrd_checkin older = o.ci[0];
    older.comment = NULL;
    snprintf(older.id, sizeof older.id, "chk_01JD0000000000000000000000");
    body = alerts_checkin_body("evt_C0", T0, &o.s, 0, &older);
    doc = json_loads(body, 0, NULL);
    assert_true(json_is_null(json_object_get(json_object_get(doc, "check_in"), "override_until")));
    assert_true(json_is_null(json_object_get(json_object_get(doc, "check_in"), "comment")));
    json_decref(doc);
    free(body);

    /* Without status, value or confidence: a comment only. */
    struct okrd_checkin bare = older;
    bare.status[0] = '\0';
    bare.until_s = 0;
    bare.confidence = OKRD_CHECKIN_NO_CONFIDENCE;
    char sum[256];
    alerts_checkin_summary(sum, sizeof sum, o.krs[0], &bare);
    assert_string_equal(sum, "alice checked in on Increase <b>DAU</b> by 20% with a comment.");
    bare.value = 1050;
    alerts_checkin_summary(sum, sizeof sum, o.krs[0], &bare);
    assert_string_equal(sum, "alice checked in on Increase <b>DAU</b> by 20%: value 1050.");

    okrd_checkin_clear(&o.ci[0]);
    cfg_free(cfg);
}

/* Every string value anywhere in J (blocks, fields, text) appended to B. */
static void all_text(json_t *j, char *b, size_t size)
{
    size_t i;
    const char *key;
    json_t *v;
    if (json_is_string(j)) {
        size_t n = strlen(b);
        snprintf(b + n, size - n, "%s\n", json_string_value(j));
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) all_text(v, b, size);
    } else if (json_is_object(j)) {
        json_object_foreach(j, key, v) all_text(v, b, size);
    }
}

static void test_checkin_slack(void **state)
{
    (void)state;
    struct cfg *cfg = load_cfg();
    struct one o;
    one_init(&o, cfg, "<!channel> <script>alert(1)</script> & co");
    char *body = alerts_checkin_body("evt_C", T0, &o.s, 0, &o.ci[0]);
    char *slack = NULL;
    int parts = 0;
    assert_int_equal(alerts_slack_render(body, 0, &slack, &parts), 0);
    assert_int_equal(parts, 1);
    json_t *m = json_loads(slack, 0, NULL);
    assert_non_null(m);
    static char text[16384];
    text[0] = '\0';
    all_text(m, text, sizeof text);
    /* author, confidence, status (with the computed one), comment */
    assert_non_null(strstr(text, "*Author*\nalice"));
    assert_non_null(strstr(text, "*Confidence*\n6/10"));
    assert_non_null(strstr(text, "*Status*\non track until 2026-12-01T00:00:00Z (computed: off track)"));
    assert_non_null(strstr(text, "&lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
    /* titles escaped everywhere, the notification text included */
    assert_non_null(strstr(text, "Increase &lt;b&gt;DAU&lt;/b&gt; by 20%"));
    assert_non_null(strstr(text, "Engagement &lt;!here&gt; &amp; more"));
    assert_null(strstr(text, "<!channel>"));
    assert_null(strstr(text, "<!here>"));
    assert_null(strstr(text, "<b>"));
    assert_null(strstr(text, "<script>"));
    assert_string_equal(sget(m, "text"), "alice checked in on Increase &lt;b&gt;DAU&lt;/b&gt; by "
                                         "20%: confidence 6/10, on track until "
                                         "2026-12-01T00:00:00Z.");
    /* the owner as written: the mention pings */
    assert_non_null(strstr(text, "owner <@U024BE7LH>"));
    /* retries send the same bytes */
    char *again = NULL;
    assert_int_equal(alerts_slack_render(body, 0, &again, &parts), 0);
    assert_string_equal(slack, again);
    free(again);
    json_decref(m);
    free(slack);
    free(body);

    /* The status event an override raises carries the check-in too, and
     * its Slack message says whose judgment the status is. */
    body = alerts_kr_body_of("evt_B", ALERTS_KR_BACK_ON_TRACK, T0, &o.s, 0, OKR_OFF_TRACK);
    json_t *doc = json_loads(body, 0, NULL);
    json_t *k = json_object_get(doc, "key_result");
    assert_string_equal(sget(k, "status"), "on_track");
    assert_string_equal(sget(k, "computed_status"), "off_track");
    assert_string_equal(sget(json_object_get(k, "check_in"), "override_until"),
                        "2026-12-01T00:00:00Z");
    json_decref(doc);
    assert_int_equal(alerts_slack_render(body, 0, &slack, &parts), 0);
    m = json_loads(slack, 0, NULL);
    text[0] = '\0';
    all_text(m, text, sizeof text);
    assert_non_null(strstr(text, "Status set by alice's check-in until 2026-12-01T00:00:00Z; "
                                 "computed from the data: off track"));
    assert_non_null(strstr(text, "owner <@U024BE7LH>"));
    assert_null(strstr(text, "<b>"));
    assert_null(strstr(text, "<!here>"));
    assert_non_null(strstr(sget(m, "text"), "Increase &lt;b&gt;DAU&lt;/b&gt; by 20% is back on track"));
    json_decref(m);
    free(slack);
    free(body);
    okrd_checkin_clear(&o.ci[0]);
    cfg_free(cfg);
}

/* alerts_on_checkin against a real store: one event, routed to the
 * webhooks whose filters take kr.check_in about "engagement", committed
 * with the caller's transaction or not at all. */
static void test_checkin_routing(void **state)
{
    struct fx *f = *state;
    struct cfg *cfg = load_cfg();
    struct okrd_err err;
    struct store *s = f->s;
    struct one o;
    one_init(&o, cfg, "ok");

    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(alerts_on_checkin(s, cfg, &o.s, 0, &o.ci[0], T0, &err), 0);
    store_rollback(s);
    int64_t seq = -1;
    assert_int_equal(store_outbox_last_seq(s, &seq, &err), 0);
    assert_int_equal(seq, 0);

    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(alerts_on_checkin(s, cfg, &o.s, 0, &o.ci[0], T0, &err), 0);
    assert_int_equal(store_commit(s, &err), 0);
    struct store_delivery_counts c;
    assert_int_equal(store_delivery_counts(s, NULL, &c, &err), 0);
    assert_int_equal(c.pending, 2); /* "all" and "checkins" */
    struct store_delivery d;
    char *body = NULL;
    assert_int_equal(store_next_delivery(s, "status-only", &d, &body, &err), OKRD_ENOTFOUND);
    assert_int_equal(store_next_delivery(s, "other", &d, &body, &err), OKRD_ENOTFOUND);
    assert_int_equal(store_next_delivery(s, "checkins", &d, &body, &err), 0);
    assert_string_equal(d.type, "kr.check_in");
    assert_string_equal(d.kr_id, "dau-up");
    assert_non_null(strstr(body, d.event_id));
    assert_non_null(strstr(body, "\"check_in\""));
    free(body);
    okrd_checkin_clear(&o.ci[0]);
    cfg_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkin_body),
        cmocka_unit_test(test_checkin_slack),
        cmocka_unit_test_setup_teardown(test_checkin_routing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
