/*
 * test_alerts.c — alerts/: the transition rules driven through a table of
 * evaluations with a fake clock (for, repeat, restarts, flapping, achieved
 * once per cycle, final grades, stale), Standard Webhooks signing against
 * the spec's published test vector, the retry schedule and what each answer
 * means, Slack splitting, the digest schedule, the writer-thread seam
 * against a real store (the event row commits with the state, or not at all),
 * one webhook's delivery chain (no kick lost while SENDING or WRITING), and
 * orphaned deliveries (their webhook left the config) dying only by the
 * max_age recorded with each, on a fake clock.
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
#include "alerts/alerts_chain.h"
#include "common/clock.h"
#include "common/parse.h"
#include "store/sqlite/sqlite_internal.h" /* the migrations, to build an older store */
#include "store/store_outbox.h"
#include "store_fx.h"
#include "testutil.h"

#define M 60
#define H 3600
#define D 86400
#define T0 1795000000 /* 2026-11-19, a Thursday */

/* ---- rules ---- */

struct step {
    int64_t t;                  /* seconds after T0 */
    enum okr_status st;
    bool stale, final;
    enum alerts_event want1, want2;
};

struct rules_case {
    const char *name;
    const char *stored;         /* status stored before the first step (NULL = never) */
    int64_t for_s, repeat_s;
    struct step steps[12];
    size_t n;
};

#define NONE ALERTS_EV_NONE
#define S(t_, st_, w_) { (t_), (st_), false, false, (w_), NONE }

static const struct rules_case rules_cases[] = {
    { "dau falls off track and holds for an hour", "on_track", H, 7 * D,
      { S(0, OKR_OFF_TRACK, NONE), S(30 * M, OKR_OFF_TRACK, NONE),
        S(H - 1, OKR_OFF_TRACK, NONE), S(H, OKR_OFF_TRACK, ALERTS_KR_OFF_TRACK),
        S(H + M, OKR_OFF_TRACK, NONE) }, 5 },
    { "churn flaps around the at_risk threshold", "on_track", H, 7 * D,
      { S(0, OKR_AT_RISK, NONE), S(20 * M, OKR_ON_TRACK, NONE), S(40 * M, OKR_AT_RISK, NONE),
        S(90 * M, OKR_ON_TRACK, NONE), S(100 * M, OKR_AT_RISK, NONE),
        S(150 * M, OKR_OFF_TRACK, NONE), S(200 * M, OKR_AT_RISK, NONE),
        S(260 * M, OKR_AT_RISK, ALERTS_KR_AT_RISK) }, 8 },
    { "for 0s alerts at once", "on_track", 0, 7 * D,
      { S(0, OKR_OFF_TRACK, ALERTS_KR_OFF_TRACK), S(M, OKR_OFF_TRACK, NONE),
        S(2 * M, OKR_ON_TRACK, ALERTS_KR_BACK_ON_TRACK) }, 3 },
    { "off track repeats every 7 days while it stays", "off_track", H, 7 * D,
      { S(0, OKR_OFF_TRACK, NONE), S(7 * D - 1, OKR_OFF_TRACK, NONE),
        S(7 * D, OKR_OFF_TRACK, ALERTS_KR_OFF_TRACK), S(7 * D + M, OKR_OFF_TRACK, NONE),
        S(14 * D, OKR_OFF_TRACK, ALERTS_KR_OFF_TRACK) }, 5 },
    { "a restart on an off-track key result does not re-alert", "off_track", 0, 7 * D,
      { S(0, OKR_OFF_TRACK, NONE), S(M, OKR_OFF_TRACK, NONE) }, 2 },
    { "a restart finds a different status: alerts", "on_track", 0, 7 * D,
      { S(0, OKR_AT_RISK, ALERTS_KR_AT_RISK) }, 1 },
    { "first evaluation ever, off track", NULL, 0, 7 * D,
      { S(0, OKR_OFF_TRACK, ALERTS_KR_OFF_TRACK) }, 1 },
    { "first evaluation ever, on track, is quiet", NULL, 0, 7 * D,
      { S(0, OKR_ON_TRACK, NONE), S(M, OKR_AT_RISK, ALERTS_KR_AT_RISK) }, 2 },
    { "leaving no_data and pending is quiet", "no_data", 0, 7 * D,
      { S(0, OKR_PENDING, NONE), S(M, OKR_ON_TRACK, NONE), S(2 * M, OKR_NO_DATA, NONE),
        S(3 * M, OKR_ON_TRACK, NONE) }, 4 },
    { "pending straight to off track alerts", "pending", 0, 7 * D,
      { S(0, OKR_OFF_TRACK, ALERTS_KR_OFF_TRACK) }, 1 },
    { "back on track only from at_risk/off_track", "at_risk", 0, 7 * D,
      { S(0, OKR_ON_TRACK, ALERTS_KR_BACK_ON_TRACK), S(M, OKR_NO_DATA, NONE),
        S(2 * M, OKR_ON_TRACK, NONE) }, 3 },
    { "a no_data gap shorter than `for` does not end off track", "off_track", H, 7 * D,
      { S(0, OKR_NO_DATA, NONE), S(30 * M, OKR_OFF_TRACK, NONE), S(2 * H, OKR_OFF_TRACK, NONE) },
      3 },
    { "achieved is sent once per cycle", "on_track", 0, 7 * D,
      { S(0, OKR_ACHIEVED, ALERTS_KR_ACHIEVED), S(D, OKR_ON_TRACK, NONE),
        S(2 * D, OKR_ACHIEVED, NONE) }, 3 },
    { "at risk to off track to at risk: each alerts", "at_risk", 0, 7 * D,
      { S(0, OKR_OFF_TRACK, ALERTS_KR_OFF_TRACK), S(M, OKR_AT_RISK, ALERTS_KR_AT_RISK) }, 2 },
    { "stale then fresh, with the status unchanged", "on_track", H, 7 * D,
      { { 0, OKR_ON_TRACK, true, false, ALERTS_KR_STALE, NONE },
        { M, OKR_ON_TRACK, true, false, NONE, NONE },
        { 2 * M, OKR_ON_TRACK, false, false, ALERTS_KR_FRESH, NONE } }, 3 },
    { "off track and stale in one evaluation", "on_track", 0, 7 * D,
      { { 0, OKR_OFF_TRACK, true, false, ALERTS_KR_OFF_TRACK, ALERTS_KR_STALE } }, 1 },
};

static void run_rules_case(const struct rules_case *c)
{
    /* The cycle ends far after the steps: finals are a case of their own. */
    struct alerts_rules r = { c->for_s, c->repeat_s, D };
    struct alerts_kr_memory m;
    alerts_kr_memory_init(&m, c->stored, false, T0 - 30 * D, T0);
    for (size_t i = 0; i < c->n; i++) {
        const struct step *s = &c->steps[i];
        struct alerts_kr_now now = { s->st, s->final, s->stale, T0 - 30 * D, T0 + 60 * D };
        struct alerts_raised out[2];
        /* Through the stored row each time: what a restart would read back. */
        struct store_alert_kr row;
        alerts_kr_memory_to_row(&m, &row);
        alerts_kr_memory_from_row(&m, &row);
        size_t n = alerts_kr_step(&m, &r, &now, T0 + s->t, out);
        enum alerts_event got1 = n > 0 ? out[0].type : NONE, got2 = n > 1 ? out[1].type : NONE;
        if (got1 != s->want1 || got2 != s->want2)
            fail_msg("%s, step %zu (t=+%llds, %s): got [%s, %s], want [%s, %s]", c->name, i,
                     (long long)s->t, okr_status_name(s->st), alerts_event_name(got1),
                     alerts_event_name(got2), alerts_event_name(s->want1),
                     alerts_event_name(s->want2));
    }
}

static void test_rules_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rules_cases / sizeof *rules_cases; i++)
        run_rules_case(&rules_cases[i]);
}

static void test_rules_previous_status(void **state)
{
    (void)state;
    struct alerts_rules r = { 0, 7 * D, D };
    struct alerts_kr_memory m;
    alerts_kr_memory_init(&m, "at_risk", false, T0, T0);
    struct alerts_kr_now now = { OKR_OFF_TRACK, false, false, T0, T0 + 90 * D };
    struct alerts_raised out[2];
    assert_int_equal(alerts_kr_step(&m, &r, &now, T0, out), 1);
    assert_int_equal(out[0].previous, OKR_AT_RISK);
    /* The repeat a week later names the same previous status. */
    assert_int_equal(alerts_kr_step(&m, &r, &now, T0 + 7 * D, out), 1);
    assert_int_equal(out[0].type, ALERTS_KR_OFF_TRACK);
    assert_int_equal(out[0].previous, OKR_AT_RISK);
}

static void test_rules_final_waits_grade_after(void **state)
{
    (void)state;
    int64_t end = T0;
    struct alerts_rules r = { H, 7 * D, D };
    struct alerts_kr_memory m;
    alerts_kr_memory_init(&m, "off_track", false, end - 90 * D, end - H);
    struct alerts_kr_now now = { OKR_MISSED, true, false, end - 90 * D, end };
    struct alerts_raised out[2];
    assert_int_equal(alerts_kr_step(&m, &r, &now, end + M, out), 0);
    assert_int_equal(alerts_kr_step(&m, &r, &now, end + 2 * H, out), 0); /* held, not graded */
    assert_int_equal(alerts_kr_step(&m, &r, &now, end + D - 1, out), 0);
    assert_int_equal(alerts_kr_step(&m, &r, &now, end + D, out), 1);
    assert_int_equal(out[0].type, ALERTS_KR_MISSED);
    assert_int_equal(alerts_kr_step(&m, &r, &now, end + 2 * D, out), 0);
}

static void test_rules_achieved_new_cycle(void **state)
{
    (void)state;
    struct alerts_rules r = { 0, 7 * D, D };
    struct alerts_kr_memory m;
    alerts_kr_memory_init(&m, "achieved", false, T0, T0); /* stored achieved: had its moment */
    struct alerts_raised out[2];
    struct alerts_kr_now on = { OKR_ON_TRACK, false, false, T0, T0 + 90 * D };
    struct alerts_kr_now ach = { OKR_ACHIEVED, false, false, T0, T0 + 90 * D };
    assert_int_equal(alerts_kr_step(&m, &r, &on, T0 + D, out), 0);
    assert_int_equal(alerts_kr_step(&m, &r, &ach, T0 + 2 * D, out), 0);
    /* The config moves to the next quarter: achieved may be sent again. */
    struct alerts_kr_now on2 = { OKR_ON_TRACK, false, false, T0 + 90 * D, T0 + 180 * D };
    struct alerts_kr_now ach2 = { OKR_ACHIEVED, false, false, T0 + 90 * D, T0 + 180 * D };
    assert_int_equal(alerts_kr_step(&m, &r, &on2, T0 + 100 * D, out), 0);
    assert_int_equal(alerts_kr_step(&m, &r, &ach2, T0 + 101 * D, out), 1);
    assert_int_equal(out[0].type, ALERTS_KR_ACHIEVED);
}

static void test_source_step(void **state)
{
    (void)state;
    bool failing = false;
    assert_int_equal(alerts_source_step(&failing, false, 1, 3), NONE);
    assert_int_equal(alerts_source_step(&failing, false, 2, 3), NONE);
    assert_int_equal(alerts_source_step(&failing, false, 3, 3), ALERTS_SOURCE_FAILING);
    assert_int_equal(alerts_source_step(&failing, false, 4, 3), NONE);
    assert_int_equal(alerts_source_step(&failing, true, 0, 3), ALERTS_SOURCE_RECOVERED);
    assert_int_equal(alerts_source_step(&failing, true, 0, 3), NONE);
}

/* ---- signing ---- */

static void test_sign_spec_vector(void **state)
{
    (void)state;
    /* The Standard Webhooks specification's published test vector. */
    unsigned char key[ALERTS_KEY_MAX];
    size_t len = 0;
    assert_int_equal(alerts_secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &len), 0);
    assert_int_equal(len, 24);
    const char *body = "{\"test\": 2432232314}";
    char sig[ALERTS_SIGNATURE_MAX];
    assert_int_equal(alerts_sign(key, len, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                                 strlen(body), sig), 0);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* The prefix is optional, as in the reference libraries. */
    size_t len2 = 0;
    unsigned char key2[ALERTS_KEY_MAX];
    assert_int_equal(alerts_secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key2, &len2), 0);
    assert_memory_equal(key, key2, len);
    /* A different timestamp signs differently: each retry is signed afresh. */
    char sig2[ALERTS_SIGNATURE_MAX];
    alerts_sign(key, len, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, strlen(body), sig2);
    assert_string_not_equal(sig, sig2);
    assert_int_equal(alerts_secret_key("whsec_not*base64", key, &len), OKRD_EINVAL);
    assert_int_equal(alerts_secret_key("whsec_", key, &len), OKRD_EINVAL);
}

/* ---- retries ---- */

static void test_retry_schedule(void **state)
{
    (void)state;
    static const struct { int n; int64_t mid_ms; } table[] = {
        { 1, 5000 }, { 2, 10000 }, { 3, 20000 }, { 4, 40000 }, { 5, 80000 },
        { 10, 2560000 }, { 11, 3600000 }, { 40, 3600000 },
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        int64_t lo = alerts_retry_delay_ms(table[i].n, 0.0);
        int64_t mid = alerts_retry_delay_ms(table[i].n, 0.5);
        int64_t hi = alerts_retry_delay_ms(table[i].n, 0.999999);
        if (mid != table[i].mid_ms && table[i].mid_ms < ALERTS_RETRY_CAP_MS)
            fail_msg("retry %d: %lld ms, want %lld", table[i].n, (long long)mid,
                     (long long)table[i].mid_ms);
        if (table[i].mid_ms < ALERTS_RETRY_CAP_MS &&
            (lo != table[i].mid_ms * 8 / 10 || hi < table[i].mid_ms * 119 / 100))
            fail_msg("retry %d: jitter range %lld..%lld", table[i].n, (long long)lo, (long long)hi);
        if (hi > ALERTS_RETRY_CAP_MS)
            fail_msg("retry %d: %lld ms is past the 1 h cap", table[i].n, (long long)hi);
    }
}

static struct store_delivery pending_row(int64_t created_s)
{
    struct store_delivery d;
    memset(&d, 0, sizeof d);
    snprintf(d.state, sizeof d.state, "pending");
    snprintf(d.event_id, sizeof d.event_id, "evt_1");
    d.created_at_s = created_s;
    return d;
}

static void test_judge(void **state)
{
    (void)state;
    int64_t now = (int64_t)T0 * 1000, age = 72LL * H * 1000;
    struct store_delivery d = pending_row(T0);
    struct alerts_answer a503 = { true, 503, NULL, -1, "busy" };
    assert_int_equal(alerts_judge(&d, 1, &a503, age, now, 0.5), ALERTS_RETRY);
    assert_int_equal(d.next_attempt_s, T0 + 5);
    assert_string_equal(d.last_error, "HTTP 503: busy");
    assert_int_equal(alerts_judge(&d, 1, &a503, age, now + 5000, 0.5), ALERTS_RETRY);
    assert_int_equal(d.next_attempt_s, T0 + 15);
    /* A longer Retry-After wins; a shorter one does not. */
    struct alerts_answer a429 = { true, 429, NULL, 60000, NULL };
    assert_int_equal(alerts_judge(&d, 1, &a429, age, now + 15000, 0.5), ALERTS_RETRY);
    assert_int_equal(d.next_attempt_s, T0 + 75);
    struct alerts_answer net = { false, 0, "connect: Connection refused", -1, NULL };
    assert_int_equal(alerts_judge(&d, 1, &net, age, now + 75000, 0.5), ALERTS_RETRY);
    assert_string_equal(d.last_error, "connect: Connection refused");
    assert_int_equal(d.last_status, 0);
    struct alerts_answer ok = { true, 204, NULL, -1, NULL };
    assert_int_equal(alerts_judge(&d, 1, &ok, age, now + 200000, 0.5), ALERTS_DELIVERED);
    assert_string_equal(d.state, "delivered");
    assert_int_equal(d.attempts, 5);

    /* Three refusals dead-letter early; two do not. */
    d = pending_row(T0);
    struct alerts_answer a400 = { true, 400, NULL, -1, NULL }, a422 = { true, 422, NULL, -1, NULL };
    assert_int_equal(alerts_judge(&d, 1, &a400, age, now, 0.5), ALERTS_RETRY);
    assert_int_equal(alerts_judge(&d, 1, &a503, age, now, 0.5), ALERTS_RETRY);
    assert_int_equal(alerts_judge(&d, 1, &a422, age, now, 0.5), ALERTS_RETRY);
    assert_int_equal(alerts_judge(&d, 1, &a400, age, now, 0.5), ALERTS_DEAD);
    assert_string_equal(d.state, "dead");

    /* 410 at once. */
    d = pending_row(T0);
    struct alerts_answer a410 = { true, 410, NULL, -1, NULL };
    assert_int_equal(alerts_judge(&d, 1, &a410, age, now, 0.5), ALERTS_GONE);
    assert_string_equal(d.state, "dead");

    /* A retry that would fall past max_age dead-letters now. */
    d = pending_row(T0 - 72 * H + 3);
    assert_int_equal(alerts_judge(&d, 1, &a503, age, now, 0.5), ALERTS_DEAD);
    assert_non_null(strstr(d.last_error, "max_age"));
    assert_true(alerts_expired(&d, age, T0 + 3));
    assert_false(alerts_expired(&d, age, T0 + 2));

    /* Parts of a split digest. */
    d = pending_row(T0);
    assert_int_equal(alerts_judge(&d, 3, &ok, age, now, 0.5), ALERTS_NEXT_PART);
    assert_int_equal(alerts_judge(&d, 3, &a503, age, now, 0.5), ALERTS_RETRY);
    assert_int_equal(d.next_attempt_s, T0 + 5); /* the first failure of this event */
    assert_int_equal(alerts_judge(&d, 3, &ok, age, now, 0.5), ALERTS_NEXT_PART);
    assert_int_equal(alerts_judge(&d, 3, &ok, age, now, 0.5), ALERTS_DELIVERED);
    assert_int_equal(d.parts_done, 3);
}

static void test_event_ids(void **state)
{
    (void)state;
    char a[40], b[40];
    alerts_new_event_id(1795000000000, a, sizeof a);
    alerts_new_event_id(1795000000000, b, sizeof b);
    assert_int_equal(strlen(a), 30);
    assert_memory_equal(a, "evt_", 4);
    assert_string_not_equal(a, b);
    assert_memory_equal(a, b, 14); /* same millisecond, same time part */
}

/* ---- filters ---- */

static void test_webhook_filters(void **state)
{
    (void)state;
    char *ev[] = { "kr.off_track", "source.failing" };
    char *obj[] = { "engagement" };
    struct cfg_webhook all = { 0 }, some = { .events = ev, .n_events = 2, .objectives = obj,
                                             .n_objectives = 1 };
    assert_true(alerts_webhook_wants(&all, "kr.at_risk", "x"));
    assert_true(alerts_webhook_wants(&some, "kr.off_track", "engagement"));
    assert_false(alerts_webhook_wants(&some, "kr.off_track", "customers"));
    assert_false(alerts_webhook_wants(&some, "kr.at_risk", "engagement"));
    assert_true(alerts_webhook_wants(&some, "source.failing", NULL));
}

/* ---- bodies, Slack, digest schedule ---- */

static const char cfg_text[] =
    "{\"daemon\": {\"state_dir\": \"/tmp/x\", \"listen\": \"\"},"
    " \"objectives\": [{\"id\": \"engagement\", \"title\": \"Improve user engagement\","
    "   \"cycle\": {\"start\": \"2026-10-01\", \"end\": \"2026-12-31\"},"
    "   \"key_results\": [{\"id\": \"dau-up\", \"title\": \"Increase daily active users by 20%\","
    "     \"metric\": \"dau\", \"direction\": \"increase\", \"baseline\": 1000, \"target\": 1200},"
    "    {\"id\": \"csat\", \"title\": \"Keep CSAT <at> 8 & up\", \"metric\": \"csat\","
    "     \"direction\": \"at_least\", \"target\": 8}]},"
    "  {\"id\": \"customers\", \"title\": \"Keep customers\", \"cycle\": \"2026-Q4\","
    "   \"key_results\": []}],"
    " \"webhooks\": [{\"id\": \"all\", \"url\": \"http://127.0.0.1:1/\"},"
    "   {\"id\": \"growth\", \"url\": \"http://127.0.0.1:1/\", \"format\": \"slack\", \"max_age\": \"1h\","
    "    \"events\": [\"kr.off_track\"], \"objectives\": [\"engagement\"]},"
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

static struct okr_result design_result(void)
{
    /* DESIGN section 5's example: 1040 of 1000 -> 1200, 55% of the cycle gone. */
    struct okr_result r = { .status = OKR_OFF_TRACK, .value = 1040, .baseline = 1000,
                            .target = 1200, .progress = 0.2, .expected = 0.55,
                            .projected_score = 0.2 / 0.55, .score = 0.2,
                            .last_point_at = 1795219200 };
    return r;
}

static void test_kr_body(void **state)
{
    (void)state;
    struct cfg *cfg = load_cfg();
    const struct cfg_key_result *kr = cfg_find_key_result(cfg, "dau-up");
    struct okr_result r = design_result();
    char *body = alerts_kr_body("evt_X", ALERTS_KR_OFF_TRACK, 1795341600, kr, &r, false, OKR_AT_RISK);
    assert_non_null(body);
    json_t *doc = json_loads(body, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "type")), "kr.off_track");
    assert_string_equal(json_string_value(json_object_get(doc, "occurred_at")), "2026-11-22T10:00:00Z");
    assert_string_equal(json_string_value(json_object_get(doc, "summary")),
                        "Increase daily active users by 20% is off track: 20% done with 55% of "
                        "the cycle gone; at this pace it ends at 36% of target.");
    json_t *k = json_object_get(doc, "key_result");
    assert_null(json_object_get(k, "score"));
    assert_string_equal(json_string_value(json_object_get(k, "previous_status")), "at_risk");
    assert_int_equal(json_integer_value(json_object_get(k, "value")), 1040);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "objective"), "title")),
                        "Improve user engagement");
    /* Slack: the same summary as text, a header, the numbers, escaped mrkdwn. */
    char *slack = NULL;
    int parts = 0;
    assert_int_equal(alerts_slack_render(body, 0, &slack, &parts), 0);
    assert_int_equal(parts, 1);
    json_t *sd = json_loads(slack, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(sd, "text")),
                        json_string_value(json_object_get(doc, "summary")));
    assert_int_equal(json_array_size(json_object_get(sd, "blocks")), 4);
    char *again = NULL;
    assert_int_equal(alerts_slack_render(body, 0, &again, &parts), 0);
    assert_string_equal(slack, again); /* deterministic: retries send the same bytes */
    free(again);
    json_decref(sd);
    free(slack);
    json_decref(doc);
    free(body);

    /* A level key result's sentence, and mrkdwn escaping of its title. */
    const struct cfg_key_result *cs = cfg_find_key_result(cfg, "csat");
    struct okr_result rl = { .status = OKR_AT_RISK, .value = 7.8, .target = 8, .progress = NAN,
                             .expected = NAN, .projected_score = 0.85, .score = 0.85,
                             .last_point_at = OKR_NO_TS };
    char sum[512];
    alerts_kr_summary(sum, sizeof sum, ALERTS_KR_AT_RISK, cs, &rl);
    assert_string_equal(sum, "Keep CSAT <at> 8 & up is at risk: the value is 7.8 against a target "
                             "of at least 8; the target was met on 85% of days so far.");
    body = alerts_kr_body("evt_Y", ALERTS_KR_AT_RISK, 1795255200, cs, &rl, true, ALERTS_NO_STATUS);
    assert_int_equal(alerts_slack_render(body, 0, &slack, &parts), 0);
    assert_non_null(strstr(slack, "Keep CSAT &lt;at&gt; 8 &amp; up"));
    free(slack);
    free(body);
    cfg_free(cfg);
}

static void test_digest_split(void **state)
{
    (void)state;
    struct cfg *cfg = load_cfg();
    /* 60 key results: more blocks than one Slack message may hold. */
    enum { N = 60 };
    const struct cfg_key_result *krs[N];
    struct okr_result res[N];
    bool stale[N] = { 0 };
    const char *ago[N];
    struct okr_objective_result objs[1] = { { .status = OKR_AT_RISK, .score = 0.4,
                                              .projected_score = 0.8 } };
    struct cfg_objective obj = cfg->objectives[0];
    struct cfg_key_result *many = calloc(N, sizeof *many);
    for (size_t i = 0; i < N; i++) {
        many[i] = cfg->objectives[0].key_results[0];
        krs[i] = &many[i];
        res[i] = design_result();
        ago[i] = i % 2 ? "at_risk" : "off_track";
    }
    obj.key_results = many;
    obj.n_key_results = N;
    struct cfg fake = *cfg;
    fake.objectives = &obj;
    fake.n_objectives = 1;
    struct eval_snapshot s = { .cfg = &fake, .at_s = 1795255200, .n_krs = N, .krs = krs,
                               .results = res, .stale = stale, .objs = objs };
    char *body = alerts_digest_body(&s, ago, "evt_D", 1795255200 - 7 * D);
    assert_non_null(body);
    json_t *doc = json_loads(body, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "changes")), N / 2);
    assert_non_null(strstr(json_string_value(json_object_get(doc, "summary")), "60 key results"));
    json_decref(doc);
    int parts = 0, total = 0;
    char *msg = NULL;
    assert_int_equal(alerts_slack_render(body, 0, &msg, &parts), 0);
    assert_true(parts >= 2);
    free(msg);
    for (int p = 0; p < parts; p++) {
        int n2;
        assert_int_equal(alerts_slack_render(body, p, &msg, &n2), 0);
        json_t *m = json_loads(msg, 0, NULL);
        size_t nb = json_array_size(json_object_get(m, "blocks"));
        if (nb == 0 || nb > ALERTS_SLACK_MAX_BLOCKS)
            fail_msg("part %d has %zu blocks", p, nb);
        total += (int)nb;
        json_decref(m);
        free(msg);
    }
    assert_int_equal(total, 2 + 1 + N); /* header, summary, objective, one per key result */
    free(body);
    free(many);
    cfg_free(cfg);
}

/* DESIGN section 9: the forecast in Slack alert and digest lines. */
static void test_forecast_lines(void **state)
{
    (void)state;
    static const struct {
        double p, target, at_risk;
        bool share, at_most;
        const char *end, *want;
    } rows[] = {
        { 0.34, 1200, NAN, false, false, "2026-12-31", "34% likely to reach 1,200 by 31 Dec" },
        { 0.5, 1234567.5, NAN, false, false, "2027-03-01", "50% likely to reach 1,234,567.5 by 1 Mar" },
        { 0.004, -4500, NAN, false, false, "2026-06-30", "<1% likely to reach -4,500 by 30 Jun" },
        { 0.996, 3.5, NAN, false, false, "2026-12-31", ">99% likely to reach 3.5 by 31 Dec" },
        { 1.0, 200, NAN, false, false, "2026-12-31", "100% likely to reach 200 by 31 Dec" },
        { 0.0, 200, NAN, false, false, "2026-12-31", "0% likely to reach 200 by 31 Dec" },
        { 0.34, 8, 0.9, true, false, "2026-12-31", "34% likely to keep \xe2\x89\xa5 8 on 90% of days" },
        { 0.81, 300, NAN, true, true, "2026-12-31", "81% likely to keep \xe2\x89\xa4 300 on enough days" },
    };
    char buf[160];
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        alerts_forecast_phrase(buf, sizeof buf, rows[i].p, rows[i].share, rows[i].at_most,
                               rows[i].target, rows[i].at_risk, rows[i].end);
        if (strcmp(buf, rows[i].want) != 0)
            fail_msg("row %zu: \"%s\", want \"%s\"", i, buf, rows[i].want);
    }

    struct cfg *cfg = load_cfg();
    const struct cfg_key_result *kr = cfg_find_key_result(cfg, "dau-up");
    struct okr_result r = design_result();
    r.forecast = (struct okr_forecast){ .defined = true, .of = OKR_FORECAST_VALUE,
                                        .probability = 0.34, .p10 = 1105.2, .p50 = 1160,
                                        .p90 = 1214.8 };
    char *body = alerts_kr_body("evt_F", ALERTS_KR_OFF_TRACK, 1795341600, kr, &r, false,
                                OKR_AT_RISK);
    json_t *doc = json_loads(body, 0, NULL);
    json_t *f = json_object_get(json_object_get(doc, "key_result"), "forecast");
    assert_true(json_real_value(json_object_get(f, "probability")) == 0.34);
    assert_string_equal(json_string_value(json_object_get(f, "of")), "value");
    json_decref(doc);
    char *slack = NULL;
    int parts = 0;
    assert_int_equal(alerts_slack_render(body, 0, &slack, &parts), 0);
    char want[160];
    snprintf(want, sizeof want, "Forecast: 34%% likely to reach %s by %d Dec", "1,200",
             atoi(kr->objective->cycle.end_date + 8));
    if (!strstr(slack, want))
        fail_msg("no \"%s\" in %s", want, slack);
    json_t *sd = json_loads(slack, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(sd, "blocks")), 5);
    json_decref(sd);
    free(slack);
    free(body);

    /* the digest: the object and the phrase, with the level's at_risk share */
    const struct cfg_key_result *krs[1] = { kr };
    bool stale[1] = { false };
    struct okr_objective_result objs[8] = { { .status = OKR_AT_RISK } };
    struct cfg_objective obj = *kr->objective;
    obj.key_results = (struct cfg_key_result *)kr;
    obj.n_key_results = 1;
    struct cfg fake = *cfg;
    fake.objectives = &obj;
    fake.n_objectives = 1;
    struct eval_snapshot s = { .cfg = &fake, .at_s = 1795255200, .n_krs = 1, .krs = krs,
                               .results = &r, .stale = stale, .objs = objs };
    body = alerts_digest_body(&s, NULL, "evt_G", 1795255200 - 7 * D);
    doc = json_loads(body, 0, NULL);
    json_t *k = json_array_get(
        json_object_get(json_array_get(json_object_get(doc, "objectives"), 0), "key_results"), 0);
    assert_string_equal(json_string_value(json_object_get(k, "forecast_text")), want + 10);
    assert_true(json_is_object(json_object_get(k, "forecast")));
    json_decref(doc);
    assert_int_equal(alerts_slack_render(body, 0, &slack, &parts), 0);
    if (!strstr(slack, want + 10))
        fail_msg("no \"%s\" in the digest %s", want + 10, slack);
    free(slack);
    free(body);
    r.forecast.defined = false;
    body = alerts_digest_body(&s, NULL, "evt_H", 1795255200 - 7 * D);
    assert_non_null(strstr(body, "\"forecast\":null,\"forecast_text\":null"));
    free(body);
    cfg_free(cfg);
}

static void test_next_digest(void **state)
{
    (void)state;
    /* T0 is Thursday 2026-11-19 06:13:20 UTC; "monday 09:00" is 2026-11-23 09:00. */
    int64_t want = (okrd_days_from_civil(2026, 11, 23) * D) + 9 * H;
    assert_int_equal(alerts_next_digest_s(1, 9 * 60, NULL, T0), want);
    assert_int_equal(alerts_next_digest_s(1, 9 * 60, NULL, want - 1), want);
    assert_int_equal(alerts_next_digest_s(1, 9 * 60, NULL, want), want + 7 * D);
    /* Thursday 07:00 is later the same day. */
    assert_int_equal(alerts_next_digest_s(4, 7 * 60, NULL, T0),
                     okrd_days_from_civil(2026, 11, 19) * D + 7 * H);
    struct okrd_tz *tz = NULL;
    struct okrd_err err;
    if (okrd_tz_open(&tz, "Europe/Berlin", &err) == 0) {
        /* 09:00 in Berlin in November (UTC+1) is 08:00 UTC. */
        assert_int_equal(alerts_next_digest_s(1, 9 * 60, tz, T0), want - H);
        okrd_tz_close(tz);
    }
}

/* ---- the seam against a real store ---- */

/* alerts_on_kr_change for one key result without a check-in. */
static int kr_change(struct store *w, const struct cfg *cfg, const struct cfg_key_result *kr,
                     const struct store_kr_state *before, const struct okr_result *r, bool stale,
                     int64_t now_s, struct okrd_err *err)
{
    const struct cfg_key_result *krs[1] = { kr };
    bool st[1] = { stale };
    struct eval_snapshot one = { .cfg = cfg, .at_s = now_s, .n_krs = 1, .krs = krs,
                                 .results = (struct okr_result *)r, .stale = st };
    return alerts_on_kr_change(w, cfg, &one, 0, before, now_s, err);
}


static int list_source(void *ctx, const char *source)
{
    char *out = ctx;
    strcat(out, source);
    strcat(out, " ");
    return 0;
}
static void test_seam_with_store(void **state)
{
    struct fx *f = *state;
    struct cfg *cfg = load_cfg();
    struct okrd_err err;
    struct store *s = f->s;
    const struct cfg_key_result *kr = cfg_find_key_result(cfg, "dau-up");
    struct okr_result r = design_result();
    struct store_kr_state before = { .status = "on_track" };

    /* Rolled back with the evaluation: no event, no memory. */
    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(kr_change(s, cfg, kr, &before, &r, false, T0, &err), 0);
    store_rollback(s);
    int64_t seq = -1;
    assert_int_equal(store_outbox_last_seq(s, &seq, &err), 0);
    assert_int_equal(seq, 0);

    /* Committed: one event, routed to "all" and "growth" but not "other". */
    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(kr_change(s, cfg, kr, &before, &r, false, T0, &err), 0);
    assert_int_equal(store_commit(s, &err), 0);
    struct store_delivery_counts c;
    assert_int_equal(store_delivery_counts(s, NULL, &c, &err), 0);
    assert_int_equal(c.pending, 2);
    struct store_delivery d;
    char *body = NULL;
    assert_int_equal(store_next_delivery(s, "other", &d, &body, &err), OKRD_ENOTFOUND);
    assert_int_equal(store_next_delivery(s, "growth", &d, &body, &err), 0);
    assert_string_equal(d.type, "kr.off_track");
    assert_string_equal(d.kr_id, "dau-up");
    assert_non_null(strstr(body, d.event_id));
    free(body);

    /* The next evaluation (a restart reads the same rows) raises nothing. */
    struct store_kr_state after = { .status = "off_track" };
    assert_int_equal(kr_change(s, cfg, kr, &after, &r, false, T0 + 60, &err), 0);
    assert_int_equal(store_outbox_last_seq(s, &seq, &err), 0);
    assert_int_equal(seq, 1);

    /* An answer recorded; a dead row never comes back to pending. */
    struct alerts_answer a410 = { true, 410, NULL, -1, NULL };
    alerts_judge(&d, 1, &a410, 72LL * H * 1000, (int64_t)T0 * 1000, 0.5);
    assert_int_equal(store_update_delivery(s, &d, &err), 0);
    snprintf(d.state, sizeof d.state, "pending");
    assert_int_equal(store_update_delivery(s, &d, &err), 0);
    assert_int_equal(store_delivery_counts(s, "growth", &c, &err), 0);
    assert_int_equal(c.dead, 1);
    assert_int_equal(c.pending, 0);

    /* Source health and the digest slot. */
    struct store_source_health h = { .consecutive_failures = 3, .last_error = "HTTP 503" };
    int n = 0;
    bool failing = false;
    assert_int_equal(alerts_on_source_health(s, cfg, "plausible", false, &h, T0, &n, &failing,
                                             &err), 0);
    assert_int_equal(n, 1);
    assert_true(failing); /* the state as stored after the event */
    assert_int_equal(alerts_on_source_health(s, cfg, "plausible", false, &h, T0, &n, NULL, &err), 0);
    assert_int_equal(n, 0);
    struct store_source_health fine = { .consecutive_failures = 0 };
    assert_int_equal(alerts_on_source_health(s, cfg, "plausible", true, &fine, T0, &n, &failing,
                                             &err), 0);
    assert_int_equal(n, 1); /* source.recovered */
    assert_false(failing);
    assert_int_equal(alerts_on_source_health(s, cfg, "plausible", true, &fine, T0, &n, &failing,
                                             &err), 0);
    assert_int_equal(n, 0);
    assert_false(failing); /* nothing changed: as read */
    assert_int_equal(alerts_on_source_health(s, cfg, "plausible", false, &h, T0, &n, NULL, &err), 0);
    assert_int_equal(n, 1); /* failing again, for what follows */
    struct store_alert_source other = { .failing = false, .since_s = T0 };
    assert_int_equal(store_put_alert_source(s, "recovered-one", &other, &err), 0);
    other.failing = true;
    assert_int_equal(store_put_alert_source(s, "a-failing-one", &other, &err), 0);
    char listed[256] = "";
    assert_int_equal(store_each_failing_source(s, list_source, listed, &err), 0);
    assert_string_equal(listed, "a-failing-one plausible "); /* failing only, byte order */
    assert_int_equal(alerts_add_digest(s, cfg, "evt_D1", "{}", T0, T0, &n, &err), 0);
    assert_int_equal(alerts_add_digest(s, cfg, "evt_D2", "{}", T0, T0, &n, &err), 0);
    assert_int_equal(n, 0); /* the same slot once */

    /* Retention keeps pending events. */
    int64_t pruned = -1;
    assert_int_equal(store_outbox_prune(s, T0 + 1, &pruned, &err), 0);
    assert_int_equal(pruned, 1); /* only the digest: it went to no webhook */
    cfg_free(cfg);
}


/* ---- one webhook's delivery chain ---- */

/* The sender's side of the protocol: on READ it reads (the test picks what
 * the read finds) and reports it. */
static void do_read(struct alerts_chain *c, enum alerts_read found)
{
    alerts_chain_read(c, found);
}

static void test_chain_kick_while_sending_or_writing(void **state)
{
    (void)state;
    struct alerts_chain c = { 0 };
    /* Idle: a kick reads at once; the row is due -> SENDING. */
    assert_int_equal(alerts_chain_kick(&c), ALERTS_STEP_READ);
    do_read(&c, ALERTS_READ_DUE);
    assert_int_equal(c.phase, ALERTS_SENDING);
    /* Event 12 commits while event 11 is on the wire: remembered, not read
     * now (one delivery at a time)... */
    assert_int_equal(alerts_chain_kick(&c), ALERTS_STEP_NONE);
    assert_true(c.kicked);
    assert_true(alerts_chain_busy(&c));
    /* ...nor while its answer is being recorded... */
    alerts_chain_write(&c);
    assert_int_equal(c.phase, ALERTS_WRITING);
    assert_int_equal(alerts_chain_kick(&c), ALERTS_STEP_NONE);
    /* ...but the record's return reads the queue: event 12 goes out now. */
    assert_int_equal(alerts_chain_written(&c, true), ALERTS_STEP_READ);
    assert_int_not_equal(c.phase, ALERTS_IDLE); /* only a read may say "empty" */
    do_read(&c, ALERTS_READ_DUE);
    assert_false(c.kicked);
    assert_int_equal(c.phase, ALERTS_SENDING);
    alerts_chain_write(&c);
    assert_int_equal(alerts_chain_written(&c, true), ALERTS_STEP_READ);
    do_read(&c, ALERTS_READ_EMPTY);
    assert_int_equal(c.phase, ALERTS_IDLE);

    /* A kick during WRITING whose record fails: the answer is lost, the
     * delivery in hand still heads the queue; the retry timer reads. */
    assert_int_equal(alerts_chain_kick(&c), ALERTS_STEP_READ);
    do_read(&c, ALERTS_READ_DUE);
    alerts_chain_write(&c);
    assert_int_equal(alerts_chain_kick(&c), ALERTS_STEP_NONE);
    assert_int_equal(alerts_chain_written(&c, false), ALERTS_STEP_NONE);
    assert_int_equal(c.phase, ALERTS_WAITING);
    assert_int_equal(alerts_chain_due(&c), ALERTS_STEP_READ);

    /* A kick during SENDING whose attempt never started (client refused). */
    do_read(&c, ALERTS_READ_DUE);
    assert_int_equal(alerts_chain_kick(&c), ALERTS_STEP_NONE);
    alerts_chain_send_failed(&c);
    assert_int_equal(c.phase, ALERTS_WAITING);
    assert_int_equal(alerts_chain_due(&c), ALERTS_STEP_READ);

    /* Waiting for a retry: a kick re-reads (and re-arms the same wait). */
    do_read(&c, ALERTS_READ_LATER);
    assert_int_equal(alerts_chain_kick(&c), ALERTS_STEP_READ);

    /* Let go (webhook removed, shutdown): idle, nothing remembered. */
    do_read(&c, ALERTS_READ_DUE);
    alerts_chain_kick(&c);
    alerts_chain_reset(&c);
    assert_int_equal(c.phase, ALERTS_IDLE);
    assert_false(c.kicked);
}

/* Every sequence of events up to a depth, with every outcome a read can
 * have: the chain is never IDLE while a committed row waits. The model
 * counts pending rows: a kick commits one, a stored record of a delivered
 * (or dead) head removes it, and a read finds EMPTY exactly when none is
 * left. */
struct chain_model {
    struct alerts_chain c;
    int rows;             /* committed, not yet delivered or dead */
};

enum { KICK, ANSWER, SEND_FAILED, WRITTEN, NOT_WRITTEN, TIMER, N_CHAIN_EVENTS };

/* Applies event E (reads finding FOUND); false when E cannot happen now. */
static bool model_step(struct chain_model *m, int e, enum alerts_read found)
{
    enum alerts_step step = ALERTS_STEP_NONE;
    switch (e) {
    case KICK:
        m->rows++;
        step = alerts_chain_kick(&m->c);
        break;
    case ANSWER:
        if (m->c.phase != ALERTS_SENDING)
            return false;
        alerts_chain_write(&m->c);
        break;
    case SEND_FAILED:
        if (m->c.phase != ALERTS_SENDING)
            return false;
        alerts_chain_send_failed(&m->c);
        break;
    case WRITTEN:
    case NOT_WRITTEN:
        if (m->c.phase != ALERTS_WRITING)
            return false;
        if (e == WRITTEN)
            m->rows--; /* delivered or dead: the head leaves the queue */
        step = alerts_chain_written(&m->c, e == WRITTEN);
        break;
    case TIMER:
        if (m->c.phase != ALERTS_WAITING)
            return false;
        step = alerts_chain_due(&m->c);
        break;
    }
    if (step != ALERTS_STEP_READ)
        return found == ALERTS_READ_EMPTY; /* one branch when nothing is read */
    if ((found == ALERTS_READ_EMPTY) != (m->rows == 0))
        return false; /* a read sees every committed row */
    do_read(&m->c, found);
    return true;
}

static void explore(struct chain_model m, int depth, char *path, size_t len)
{
    if (m.c.phase == ALERTS_IDLE && m.rows > 0)
        fail_msg("idle with %d committed row(s) never offered, after \"%s\" (k=kick a=answer "
                 "f=send failed w=written n=not written t=timer; read found 0/d/l)",
                 m.rows, path);
    if (depth == 0)
        return;
    for (int e = 0; e < N_CHAIN_EVENTS; e++) {
        for (int found = ALERTS_READ_EMPTY; found <= ALERTS_READ_LATER; found++) {
            struct chain_model n = m;
            if (e == KICK && n.rows >= 3)
                continue; /* three rows show every ordering; more only costs time */
            if (!model_step(&n, e, (enum alerts_read)found))
                continue;
            snprintf(path + len, 8, "%c%c ", "kafwnt"[e], "0dl"[found]);
            explore(n, depth - 1, path, len + 3);
            path[len] = '\0';
        }
    }
}

static void test_chain_never_idle_with_a_row_waiting(void **state)
{
    (void)state;
    char path[128] = "";
    struct chain_model m = { { ALERTS_IDLE, false }, 0 };
    explore(m, 10, path, 0);
}

/* ---- orphaned deliveries: their webhook left the config ---- */

struct dead_seen {
    int n;
    char webhook[32], type[32];
};

static void on_dead(void *ctx, const char *webhook_id, const char *event_id, const char *type)
{
    struct dead_seen *d = ctx;
    (void)event_id;
    d->n++;
    snprintf(d->webhook, sizeof d->webhook, "%s", webhook_id);
    snprintf(d->type, sizeof d->type, "%s", type);
}

static void test_orphans_die_only_by_their_recorded_max_age(void **state)
{
    struct fx *f = *state;
    struct cfg *cfg = load_cfg();
    struct okrd_err err;
    struct store *s = f->s;
    int64_t now_ms = (int64_t)T0 * 1000;
    struct okrd_clock clock = okrd_clock_fake(&now_ms);
    const struct cfg_key_result *kr = cfg_find_key_result(cfg, "dau-up");
    struct okr_result r = design_result();
    struct store_kr_state before = { .status = "on_track" };

    /* kr.off_track at T0 goes to "all" (max_age 72h, the default) and to
     * "growth" (max_age 1h): each delivery records its webhook's. */
    assert_int_equal(store_begin(s, &err), 0);
    assert_int_equal(kr_change(s, cfg, kr, &before, &r, false,
                                         okrd_clock_now_s(&clock), &err), 0);
    assert_int_equal(store_commit(s, &err), 0);
    struct store_delivery d;
    char *body = NULL;
    assert_int_equal(store_next_delivery(s, "growth", &d, &body, &err), 0);
    free(body);
    assert_int_equal(d.max_age_ms, 3600 * 1000);
    assert_int_equal(store_next_delivery(s, "all", &d, &body, &err), 0);
    free(body);
    assert_int_equal(d.max_age_ms, ALERTS_DEFAULT_MAX_AGE_MS);

    /* A reload removed "growth": its delivery is an orphan. It waits. */
    const char *configured[] = { "all", "other" };
    struct dead_seen seen = { 0 };
    struct store_orphan_expiry q = {
        .configured = configured, .n_configured = 2, .default_max_age_ms = ALERTS_DEFAULT_MAX_AGE_MS,
        .why = "(max_age reached, webhook not configured)", .on_dead = on_dead, .ctx = &seen,
    };
    int64_t n_dead = -1, next_ms = -1, orphans = -1;
    now_ms += 30 * 60 * 1000;
    q.now_ms = okrd_clock_now_ms(&clock);
    assert_int_equal(store_expire_orphans(s, &q, &n_dead, &next_ms, &err), 0);
    assert_int_equal(n_dead, 0);
    assert_int_equal(next_ms, (int64_t)T0 * 1000 + 3600 * 1000); /* the next housekeeping */
    assert_int_equal(store_count_orphans(s, configured, 2, &orphans, &err), 0);
    assert_int_equal(orphans, 1);
    /* Still pending: a webhook with this id that comes back gets it. */
    assert_int_equal(store_next_delivery(s, "growth", &d, &body, &err), 0);
    free(body);
    assert_string_equal(d.state, "pending");

    /* A millisecond before its max_age: still waiting. */
    now_ms = (int64_t)T0 * 1000 + 3600 * 1000 - 1;
    q.now_ms = okrd_clock_now_ms(&clock);
    assert_int_equal(store_expire_orphans(s, &q, &n_dead, &next_ms, &err), 0);
    assert_int_equal(n_dead, 0);

    /* At its max_age: dead-lettered, named for the log, nothing left. */
    now_ms += 1;
    q.now_ms = okrd_clock_now_ms(&clock);
    assert_int_equal(store_expire_orphans(s, &q, &n_dead, &next_ms, &err), 0);
    assert_int_equal(n_dead, 1);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.webhook, "growth");
    assert_string_equal(seen.type, "kr.off_track");
    assert_int_equal(next_ms, 0);
    assert_int_equal(store_next_delivery(s, "growth", &d, &body, &err), OKRD_ENOTFOUND);
    struct store_delivery_counts c;
    assert_int_equal(store_delivery_counts(s, "growth", &c, &err), 0);
    assert_int_equal(c.dead, 1);
    assert_int_equal(store_count_orphans(s, configured, 2, &orphans, &err), 0);
    assert_int_equal(orphans, 0);

    /* A configured webhook's deliveries are its sender's business: never
     * touched here, however old. */
    now_ms += 100LL * H * 1000;
    q.now_ms = okrd_clock_now_ms(&clock);
    assert_int_equal(store_expire_orphans(s, &q, &n_dead, &next_ms, &err), 0);
    assert_int_equal(n_dead, 0);
    assert_int_equal(store_delivery_counts(s, "all", &c, &err), 0);
    assert_int_equal(c.pending, 1);

    /* A row that recorded no max_age (0) dies by the default. */
    struct store_route old_route = { "renamed-away", 0 };
    struct store_event ev = { .id = "evt_OLD", .type = "kr.at_risk", .occurred_at_s = T0,
                              .created_at_s = T0, .body = "{}" };
    assert_int_equal(store_outbox_add(s, &ev, &old_route, 1, &err), 0);
    now_ms = (int64_t)T0 * 1000 + ALERTS_DEFAULT_MAX_AGE_MS - 1;
    q.now_ms = okrd_clock_now_ms(&clock);
    assert_int_equal(store_expire_orphans(s, &q, &n_dead, &next_ms, &err), 0);
    assert_int_equal(n_dead, 0);
    assert_int_equal(next_ms, (int64_t)T0 * 1000 + ALERTS_DEFAULT_MAX_AGE_MS);
    now_ms += 1;
    q.now_ms = okrd_clock_now_ms(&clock);
    assert_int_equal(store_expire_orphans(s, &q, &n_dead, &next_ms, &err), 0);
    assert_int_equal(n_dead, 1);

    /* The sender applies the recorded max_age too, whatever the webhook's now. */
    struct store_delivery rec = { .created_at_s = T0, .max_age_ms = 3600 * 1000 };
    assert_false(alerts_expired(&rec, ALERTS_DEFAULT_MAX_AGE_MS, T0 + 3599));
    assert_true(alerts_expired(&rec, ALERTS_DEFAULT_MAX_AGE_MS, T0 + 3600));
    rec.max_age_ms = 0; /* none recorded: the webhook's */
    assert_false(alerts_expired(&rec, ALERTS_DEFAULT_MAX_AGE_MS, T0 + 3600));

    cfg_free(cfg);
}

/* A store written by an okrd that did not record max_age is upgraded in
 * place: its pending deliveries survive, recording none (0). */
static void test_migration_adds_max_age_in_place(void **state)
{
    (void)state;
    fx_sqlite_only();
    char *dir = tu_mkdtemp(), path[4096];
    struct okrd_err err;
    assert_int_equal(store_path(dir, path, sizeof path, &err), 0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    for (size_t i = 0; i < store_n_migrations; i++)
        if (store_migrations[i].version <= 2)
            assert_int_equal(sqlite3_exec(db, store_migrations[i].sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA user_version = 2;"
                                  "INSERT INTO outbox(id, type, occurred_at, body, created_at)"
                                  " VALUES ('evt_V2', 'kr.off_track', 1795000000, '{}', 1795000000);"
                                  "INSERT INTO deliveries(event_id, webhook_id, seq)"
                                  " VALUES ('evt_V2', 'team', 1);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    struct store *s = NULL;
    assert_int_equal(store_open(&s, path, 0, &err), 0);
    struct store_delivery d;
    char *body = NULL;
    assert_int_equal(store_next_delivery(s, "team", &d, &body, &err), 0);
    free(body);
    assert_string_equal(d.event_id, "evt_V2");
    assert_int_equal(d.max_age_ms, 0);
    store_close(s);

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), store_schema_version());
    sqlite3_finalize(st);
    sqlite3_close(db);
    tu_rm_rf(dir);
    free(dir);
}

#define BODY_TESTS                                                                              \
    cmocka_unit_test(test_kr_body), cmocka_unit_test(test_digest_split),                        \
        cmocka_unit_test(test_forecast_lines),                                                  \
        cmocka_unit_test(test_next_digest), cmocka_unit_test_setup_teardown(test_seam_with_store, setup, teardown),

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_table),
        cmocka_unit_test(test_rules_previous_status),
        cmocka_unit_test(test_rules_final_waits_grade_after),
        cmocka_unit_test(test_rules_achieved_new_cycle),
        cmocka_unit_test(test_source_step),
        cmocka_unit_test(test_sign_spec_vector),
        cmocka_unit_test(test_retry_schedule),
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_event_ids),
        cmocka_unit_test(test_webhook_filters),
        cmocka_unit_test(test_chain_kick_while_sending_or_writing),
        cmocka_unit_test(test_chain_never_idle_with_a_row_waiting),
        cmocka_unit_test_setup_teardown(test_orphans_die_only_by_their_recorded_max_age, setup, teardown),
        cmocka_unit_test(test_migration_adds_max_age_in_place),
        BODY_TESTS
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
