/*
 * test_api_checkin.c — the pure rules of a posted check-in (DESIGN section
 * 8; api/api_checkin_rules.c), by table:
 *   parse: every field's type and range, unknown fields (author included),
 *     `until` without `status`, `cycle` without `grade`, none of the five,
 *     invalid JSON and UTF-8, a NUL, a comment over 4,000 bytes, a value for
 *     a ratio metric -- each 400 naming the key as written (or null);
 *   decide: seq and at (never before the latest), 409 for status/value
 *     from the cycle's end on and for a grade before it, `until` inside
 *     (at, e] (a date meaning the midnight that ends it in daemon.timezone),
 *     the default `until` cut at e, 404 for a cycle that is not the current.
 * The endpoint and its store transaction are tested end to end
 * (tests/e2e/test_checkins.py).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/api_internal.h"
#include "common/tz.h"

#define OCT1 1790812800LL        /* 2026-10-01T00:00:00Z */
#define JAN1 1798761600LL        /* 2027-01-01T00:00:00Z: the end of 2026-Q4 */
#define DAY 86400LL
#define OK 0u
#define NUL_FIELD "<null>"

struct parse_case {
    const char *name;
    const char *body;            /* NULL: use body_len bytes of raw */
    bool ratio;
    unsigned want;               /* 0 = accepted */
    const char *field;           /* the 400's field; NUL_FIELD = null */
    const char *detail;          /* a substring of the detail (NULL: any) */
};

static const struct parse_case parse_cases[] = {
    /* accepted */
    { "confidence only", "{\"confidence\": 6}", false, OK, NULL, NULL },
    { "confidence 0", "{\"confidence\": 0}", false, OK, NULL, NULL },
    { "confidence 10", "{\"confidence\": 10}", false, OK, NULL, NULL },
    { "confidence 6.0 is an integer", "{\"confidence\": 6.0}", false, OK, NULL, NULL },
    { "comment only", "{\"comment\": \"Two deals slipped to Q1\"}", false, OK, NULL, NULL },
    { "status only", "{\"status\": \"at_risk\"}", false, OK, NULL, NULL },
    { "status and until date", "{\"status\": \"on_track\", \"until\": \"2026-12-15\"}", false, OK,
      NULL, NULL },
    { "until date-time Z", "{\"status\": \"off_track\", \"until\": \"2026-12-15T17:00:00Z\"}",
      false, OK, NULL, NULL },
    { "until date-time local", "{\"status\": \"off_track\", \"until\": \"2026-12-15T17:00:00\"}",
      false, OK, NULL, NULL },
    { "value only", "{\"value\": 1040}", false, OK, NULL, NULL },
    { "negative fractional value", "{\"value\": -3.25}", false, OK, NULL, NULL },
    { "grade only", "{\"grade\": 0.7}", false, OK, NULL, NULL },
    { "grade 1", "{\"grade\": 1}", false, OK, NULL, NULL },
    { "grade with quarter", "{\"grade\": 0, \"cycle\": \"2026-Q3\"}", false, OK, NULL, NULL },
    { "grade with range", "{\"grade\": 0.5, \"cycle\": {\"start\": \"2026-07-01\", \"end\": "
      "\"2026-09-30\"}}", false, OK, NULL, NULL },
    { "all of it", "{\"confidence\": 6, \"comment\": \"x\", \"status\": \"at_risk\", \"until\": "
      "\"2026-12-15\", \"value\": 1040}", false, OK, NULL, NULL },
    { "ratio without value", "{\"confidence\": 3}", true, OK, NULL, NULL },
    { "comment of 4000 bytes", NULL, false, OK, NULL, NULL },   /* built below */
    { "comment of 4000 bytes in 2-byte characters", NULL, false, OK, NULL, NULL },
    /* the whole body */
    { "empty body", "", false, 400, NUL_FIELD, "not JSON" },
    { "invalid JSON", "{\"confidence\": ", false, 400, NUL_FIELD, "not JSON" },
    { "an array", "[{\"confidence\": 6}]", false, 400, NUL_FIELD, "an array" },
    { "a string", "\"hi\"", false, 400, NUL_FIELD, "a string" },
    { "empty object", "{}", false, 400, NUL_FIELD, "at least one of" },
    { "until and cycle are not enough", "{\"status\": \"at_risk\"}", false, OK, NULL, NULL },
    /* a duplicate key or a number no double holds is valid JSON syntax: the
     * key is named (as written, escapes decoded) */
    { "duplicate key", "{\"confidence\": 6, \"confidence\": 7}", false, 400, "confidence",
      "twice" },
    { "duplicate key escaped", "{\"comment\": \"a\", \"comm\\u0065nt\": \"b\"}", false, 400,
      "comment", "twice" },
    { "duplicate inside cycle", "{\"grade\": 0.5, \"cycle\": {\"start\": \"2026-07-01\", "
      "\"start\": \"2026-07-02\", \"end\": \"2026-09-30\"}}", false, 400, "cycle", "twice" },
    { "a key holding braces", "{\"{\\\"x,\": {\"a\": [1, {\"b\": 2}]}, \"value\": 1, "
      "\"value\": 2}", false, 400, "value", "twice" },
    { "overflow in an array body", "[1e999]", false, 400, NUL_FIELD, "not JSON" },
    { "invalid UTF-8 outside strings", "{\"confidence\": 6}\xff", false, 400, NUL_FIELD,
      "UTF-8" },
    /* unknown fields, as written */
    { "author", "{\"author\": \"mallory\", \"confidence\": 6}", false, 400, "author", "author" },
    { "id", "{\"id\": \"chk_x\", \"confidence\": 6}", false, 400, "id", "unknown field" },
    { "seq", "{\"seq\": 1, \"comment\": \"x\"}", false, 400, "seq", "unknown field" },
    { "case matters", "{\"Confidence\": 6}", false, 400, "Confidence", "unknown field" },
    { "unicode key", "{\"k\xc3\xa9y\": 1, \"confidence\": 1}", false, 400, "k\xc3\xa9y",
      "unknown field" },
    /* confidence */
    { "confidence string", "{\"confidence\": \"6\"}", false, 400, "confidence", "a string" },
    { "confidence null", "{\"confidence\": null}", false, 400, "confidence", "null" },
    { "confidence bool", "{\"confidence\": true}", false, 400, "confidence", "a boolean" },
    { "confidence 6.5", "{\"confidence\": 6.5}", false, 400, "confidence", "integer" },
    { "confidence 11", "{\"confidence\": 11}", false, 400, "confidence", "0 to 10" },
    { "confidence -1", "{\"confidence\": -1}", false, 400, "confidence", "0 to 10" },
    /* comment */
    { "comment number", "{\"comment\": 5}", false, 400, "comment", "a number" },
    { "comment NUL", "{\"comment\": \"a\\u0000b\"}", false, 400, "comment", "NUL" },
    { "comment invalid UTF-8", "{\"comment\": \"caf\xe9\"}", false, 400, "comment", "UTF-8" },
    { "comment overlong UTF-8", "{\"comment\": \"\xc0\xaf\"}", false, 400, "comment", "UTF-8" },
    /* a U+FDD0 typed in one field is not the bad bytes of another */
    { "U+FDD0 in comment, bad status", "{\"comment\": \"\xef\xb7\x90\", \"status\": \"x\xff\"}",
      false, 400, "status", "UTF-8" },
    { "escaped U+FDD0 in comment, bad status", "{\"comment\": \"\\ufdd0\", \"status\": \"\xff\"}",
      false, 400, "status", "UTF-8" },
    { "U+FDD0 in comment, bad key", "{\"comment\": \"\xef\xb7\x90\", \"k\xff\": 1}", false,
      400, NUL_FIELD, "UTF-8" },
    { "a typed U+FDD0 is text", "{\"comment\": \"\xef\xb7\x90 ok\"}", false, OK, NULL, NULL },
    { "comment 4001 bytes", NULL, false, 400, "comment", "4001 bytes" },
    /* status and until */
    { "status unknown", "{\"status\": \"achieved\"}", false, 400, "status", "\"achieved\"" },
    { "status case", "{\"status\": \"ON_TRACK\"}", false, 400, "status", "on_track" },
    { "status number", "{\"status\": 1}", false, 400, "status", "a number" },
    { "until without status", "{\"until\": \"2026-12-15\", \"confidence\": 5}", false, 400,
      "until", "needs \"status\"" },
    { "until not a date", "{\"status\": \"at_risk\", \"until\": \"next week\"}", false, 400,
      "until", "next week" },
    { "until bad day", "{\"status\": \"at_risk\", \"until\": \"2026-02-30\"}", false, 400,
      "until", NULL },
    { "until compact date", "{\"status\": \"at_risk\", \"until\": \"20261215\"}", false, 400,
      "until", NULL },
    { "until number", "{\"status\": \"at_risk\", \"until\": 1798761600}", false, 400, "until",
      "a number" },
    { "until bad time", "{\"status\": \"at_risk\", \"until\": \"2026-12-15T25:00:00Z\"}", false,
      400, "until", NULL },
    /* value */
    { "value string", "{\"value\": \"1040\"}", false, 400, "value", "a string" },
    { "value null", "{\"value\": null}", false, 400, "value", "null" },
    { "value of a ratio metric", "{\"value\": 0.4}", true, 400, "value", "ratio" },
    { "value too big for a double", "{\"value\": 1e999}", false, 400, "value", "double" },
    { "confidence too big for a double", "{\"comment\": \"x\", \"confidence\": -1e999}", false,
      400, "confidence", "double" },
    { "syntax error after a key", "{\"value\": 1e999", false, 400, NUL_FIELD, "not JSON" },
    /* grade and cycle */
    { "grade 1.01", "{\"grade\": 1.01}", false, 400, "grade", "0.0 to 1.0" },
    { "grade -0.1", "{\"grade\": -0.1}", false, 400, "grade", "0.0 to 1.0" },
    { "grade string", "{\"grade\": \"0.7\"}", false, 400, "grade", "a string" },
    { "cycle without grade", "{\"cycle\": \"2026-Q3\", \"comment\": \"x\"}", false, 400, "cycle",
      "needs \"grade\"" },
    { "cycle Q5", "{\"grade\": 0.5, \"cycle\": \"2026-Q5\"}", false, 400, "cycle", "quarter" },
    { "cycle word", "{\"grade\": 0.5, \"cycle\": \"last\"}", false, 400, "cycle", "quarter" },
    { "cycle number", "{\"grade\": 0.5, \"cycle\": 3}", false, 400, "cycle", "a number" },
    { "cycle lacks end", "{\"grade\": 0.5, \"cycle\": {\"start\": \"2026-07-01\"}}", false, 400,
      "cycle", "\"end\"" },
    { "cycle extra key", "{\"grade\": 0.5, \"cycle\": {\"start\": \"2026-07-01\", \"end\": "
      "\"2026-09-30\", \"name\": \"q3\"}}", false, 400, "cycle", "name" },
    { "cycle backwards", "{\"grade\": 0.5, \"cycle\": {\"start\": \"2026-09-30\", \"end\": "
      "\"2026-07-01\"}}", false, 400, "cycle", "before it starts" },
    { "cycle bad date", "{\"grade\": 0.5, \"cycle\": {\"start\": \"2026-07-01\", \"end\": "
      "\"2026-09-31\"}}", false, 400, "cycle", "end" },
};

static struct okrd_tz *tz_open(const char *name)
{
    struct okrd_tz *tz = NULL;
    struct okrd_err err = { 0 };
    if (okrd_tz_open(&tz, name, &err) < 0)
        fail_msg("tz %s: %s", name, err.msg);
    return tz;
}

/* The comment cases need bodies too long to write inline. */
static char *comment_body(size_t bytes, bool two_byte)
{
    char *b = malloc(bytes + 32);
    size_t o = (size_t)sprintf(b, "{\"comment\": \"");
    for (size_t i = 0; i < bytes; i += two_byte ? 2 : 1) {
        if (two_byte) {
            b[o++] = '\xc3';
            b[o++] = '\xa9';
        } else {
            b[o++] = 'x';
        }
    }
    strcpy(b + o, "\"}");
    return b;
}

static void test_parse_table(void **state)
{
    (void)state;
    struct okrd_tz *tz = tz_open("UTC");
    int failed = 0;
    for (size_t i = 0; i < sizeof parse_cases / sizeof *parse_cases; i++) {
        const struct parse_case *c = &parse_cases[i];
        char *owned = NULL;
        const char *body = c->body;
        if (!body) {
            bool two = strstr(c->name, "2-byte") != NULL;
            owned = comment_body(strstr(c->name, "4001") ? 4001 : 4000, two);
            body = owned;
        }
        struct api_checkin_body b;
        struct api_checkin_error e = { 0 };
        unsigned got = api_checkin_parse(body, strlen(body), tz, c->ratio, &b, &e);
        const char *field = e.field ? e.field : NUL_FIELD;
        bool ok = got == c->want;
        if (ok && got) {
            ok = !strcmp(e.error, "bad_request") && !strcmp(field, c->field) &&
                 (!c->detail || strstr(e.detail, c->detail));
            char *text = api_checkin_error_body(&e);
            ok = ok && text && strstr(text, "\"field\":") && strstr(text, "\"detail\":");
            free(text);
        }
        if (!ok) {
            fprintf(stderr, "FAIL %s: status %u (want %u), field %s (want %s), detail: %s\n",
                    c->name, got, c->want, field, c->field ? c->field : "-", e.detail);
            failed++;
        }
        if (!got)
            api_checkin_body_free(&b);
        api_checkin_error_free(&e);
        free(owned);
    }
    okrd_tz_close(tz);
    assert_int_equal(failed, 0);
}

/* What an accepted body holds. */
static void test_parse_values(void **state)
{
    (void)state;
    struct okrd_tz *utc = tz_open("UTC"), *berlin = tz_open("Europe/Berlin");
    struct api_checkin_body b;
    struct api_checkin_error e = { 0 };
    const char *all = "{\"confidence\": 6, \"comment\": \"Two deals \\u00e9\", \"status\": "
                      "\"at_risk\", \"until\": \"2026-12-15\", \"value\": 1040.5}";
    assert_int_equal(api_checkin_parse(all, strlen(all), utc, false, &b, &e), 0);
    assert_int_equal(b.confidence, 6);
    assert_string_equal(b.comment, "Two deals \xc3\xa9");
    assert_string_equal(b.status, "at_risk");
    assert_true(b.has_until);
    assert_int_equal(b.until_s, 1797292800LL + DAY); /* the midnight ENDING 2026-12-15 */
    assert_true(b.value == 1040.5);
    assert_true(isnan(b.grade));
    assert_false(b.has_cycle);
    api_checkin_body_free(&b);

    /* A date's end in daemon.timezone: 2026-12-16T00:00 in Berlin is 23:00Z. */
    const char *d = "{\"status\": \"on_track\", \"until\": \"2026-12-15\"}";
    assert_int_equal(api_checkin_parse(d, strlen(d), berlin, false, &b, &e), 0);
    assert_int_equal(b.until_s, 1797292800LL + DAY - 3600);
    api_checkin_body_free(&b);
    /* A date-time without a zone is in daemon.timezone too; with one, as written. */
    d = "{\"status\": \"on_track\", \"until\": \"2026-12-15T10:00:00\"}";
    assert_int_equal(api_checkin_parse(d, strlen(d), berlin, false, &b, &e), 0);
    assert_int_equal(b.until_s, 1797292800LL + 9 * 3600);
    api_checkin_body_free(&b);
    d = "{\"status\": \"on_track\", \"until\": \"2026-12-15T10:00:00+02:00\"}";
    assert_int_equal(api_checkin_parse(d, strlen(d), berlin, false, &b, &e), 0);
    assert_int_equal(b.until_s, 1797292800LL + 8 * 3600);
    api_checkin_body_free(&b);

    d = "{\"grade\": 0.7, \"cycle\": \"2026-Q3\"}";
    assert_int_equal(api_checkin_parse(d, strlen(d), utc, false, &b, &e), 0);
    assert_true(b.grade == 0.7);
    assert_true(b.has_cycle);
    assert_string_equal(b.cycle_start, "2026-07-01");
    assert_string_equal(b.cycle_end, "2026-09-30");
    assert_int_equal(b.confidence, OKRD_CHECKIN_NO_CONFIDENCE);
    assert_null(b.comment);
    assert_string_equal(b.status, "");
    assert_true(isnan(b.value));
    api_checkin_body_free(&b);
    d = "{\"grade\": 0.7, \"cycle\": \"2024-Q1\"}"; /* a leap year's quarter */
    assert_int_equal(api_checkin_parse(d, strlen(d), utc, false, &b, &e), 0);
    assert_string_equal(b.cycle_end, "2024-03-31");
    api_checkin_body_free(&b);

    /* NUL inside the body outside JSON strings is not JSON. */
    const char nul[] = "{\"confidence\": 6}\0";
    assert_int_equal(api_checkin_parse(nul, sizeof nul - 1, utc, false, &b, &e), 400);
    assert_null(e.field);
    api_checkin_error_free(&e);
    okrd_tz_close(utc);
    okrd_tz_close(berlin);
}

/* ---- decide ---- */

struct decide_case {
    const char *name;
    const char *body;
    int64_t now_s;
    bool has_latest;
    int64_t latest_seq, latest_at;
    unsigned want;              /* 0 = accepted */
    const char *error;          /* the refusal's code */
    const char *field;          /* a 400's field */
    int64_t seq, at, until;     /* accepted: the check-in's */
};

#define NOV1 (OCT1 + 31 * DAY)
#define D14 (14 * DAY)

static const struct decide_case decide_cases[] = {
    { "first check-in", "{\"confidence\": 6}", NOV1, false, 0, 0, OK, NULL, NULL, 1, NOV1, 0 },
    { "next seq", "{\"confidence\": 6}", NOV1, true, 4, NOV1 - 60, OK, NULL, NULL, 5, NOV1, 0 },
    { "at never goes back", "{\"comment\": \"x\"}", NOV1, true, 7, NOV1 + 90, OK, NULL, NULL, 8,
      NOV1 + 90, 0 },
    { "status: default until at + 14d", "{\"status\": \"at_risk\"}", NOV1, false, 0, 0, OK,
      NULL, NULL, 1, NOV1, NOV1 + D14 },
    { "status: default until cut at e", "{\"status\": \"at_risk\"}", JAN1 - 3 * DAY, false, 0, 0,
      OK, NULL, NULL, 1, JAN1 - 3 * DAY, JAN1 },
    { "status: until as given", "{\"status\": \"on_track\", \"until\": \"2026-11-05\"}", NOV1,
      false, 0, 0, OK, NULL, NULL, 1, NOV1, NOV1 + 5 * DAY },
    { "status: until the cycle's last day is e", "{\"status\": \"on_track\", \"until\": "
      "\"2026-12-31\"}", NOV1, false, 0, 0, OK, NULL, NULL, 1, NOV1, JAN1 },
    { "status: until one second after at", "{\"status\": \"on_track\", \"until\": "
      "\"2026-11-01T00:00:01Z\"}", NOV1, false, 0, 0, OK, NULL, NULL, 1, NOV1, NOV1 + 1 },
    { "until equal to at", "{\"status\": \"on_track\", \"until\": \"2026-11-01T00:00:00Z\"}",
      NOV1, false, 0, 0, 400, "bad_request", "until", 0, 0, 0 },
    { "until before at", "{\"status\": \"on_track\", \"until\": \"2026-10-15\"}", NOV1, false, 0,
      0, 400, "bad_request", "until", 0, 0, 0 },
    { "until before a later latest's at", "{\"status\": \"on_track\", \"until\": "
      "\"2026-11-01T00:01:00Z\"}", NOV1, true, 1, NOV1 + 120, 400, "bad_request", "until", 0, 0,
      0 },
    { "until after e", "{\"status\": \"on_track\", \"until\": \"2027-01-01\"}", NOV1, false, 0, 0,
      400, "bad_request", "until", 0, 0, 0 },
    { "until one second after e", "{\"status\": \"on_track\", \"until\": "
      "\"2027-01-01T00:00:01Z\"}", NOV1, false, 0, 0, 400, "bad_request", "until", 0, 0, 0 },
    { "status at e", "{\"status\": \"on_track\"}", JAN1, false, 0, 0, 409, "cycle_ended", NULL,
      0, 0, 0 },
    { "status pushed to e by the latest's at", "{\"status\": \"on_track\"}", JAN1 - 1, true, 3,
      JAN1, 409, "cycle_ended", NULL, 0, 0, 0 },
    { "value after e", "{\"value\": 5}", JAN1 + DAY, false, 0, 0, 409, "cycle_ended", NULL, 0, 0,
      0 },
    { "value one second before e", "{\"value\": 5}", JAN1 - 1, false, 0, 0, OK, NULL, NULL, 1,
      JAN1 - 1, 0 },
    { "comment after e", "{\"comment\": \"retro soon\", \"confidence\": 2}", JAN1 + DAY, false,
      0, 0, OK, NULL, NULL, 1, JAN1 + DAY, 0 },
    { "grade before e", "{\"grade\": 0.7}", JAN1 - 1, false, 0, 0, 409, "cycle_not_ended", NULL,
      0, 0, 0 },
    { "grade at e", "{\"grade\": 0.7}", JAN1, false, 0, 0, OK, NULL, NULL, 1, JAN1, 0 },
    { "grade with a value after e", "{\"grade\": 0.7, \"value\": 3}", JAN1, false, 0, 0, 409,
      "cycle_ended", NULL, 0, 0, 0 },
    { "grade of the current cycle by name", "{\"grade\": 0.7, \"cycle\": \"2026-Q4\"}",
      JAN1 + DAY, true, 9, JAN1, OK, NULL, NULL, 10, JAN1 + DAY, 0 },
    { "grade of the current cycle by range", "{\"grade\": 0.7, \"cycle\": {\"start\": "
      "\"2026-10-01\", \"end\": \"2026-12-31\"}}", JAN1, false, 0, 0, OK, NULL, NULL, 1, JAN1, 0 },
    { "grade of a cycle with no archive", "{\"grade\": 0.7, \"cycle\": \"2026-Q3\"}", JAN1,
      false, 0, 0, 404, "not_found", NULL, 0, 0, 0 },
    { "grade of an overlapping range", "{\"grade\": 0.7, \"cycle\": {\"start\": \"2026-10-01\", "
      "\"end\": \"2026-12-30\"}}", JAN1, false, 0, 0, 404, "not_found", NULL, 0, 0, 0 },
};

static void test_decide_table(void **state)
{
    (void)state;
    struct okrd_tz *tz = tz_open("UTC");
    struct cfg_cycle q4 = { OCT1, JAN1, "2026-10-01", "2026-12-31" };
    int failed = 0;
    for (size_t i = 0; i < sizeof decide_cases / sizeof *decide_cases; i++) {
        const struct decide_case *c = &decide_cases[i];
        struct api_checkin_body b;
        struct api_checkin_error e = { 0 };
        unsigned st = api_checkin_parse(c->body, strlen(c->body), tz, false, &b, &e);
        if (st) {
            fprintf(stderr, "FAIL %s: the body is refused: %s\n", c->name, e.detail);
            api_checkin_error_free(&e);
            failed++;
            continue;
        }
        struct okrd_checkin latest, out;
        okrd_checkin_clear(&latest);
        okrd_checkin_clear(&out);
        latest.seq = c->latest_seq;
        latest.at_s = c->latest_at;
        unsigned got = api_checkin_decide(&b, "dau-up", &q4, D14 * 1000, c->now_s,
                                          c->has_latest ? &latest : NULL, &out, &e);
        bool ok = got == c->want;
        if (ok && got)
            ok = !strcmp(e.error, c->error) &&
                 (got != 400 ? !e.field : e.field && !strcmp(e.field, c->field));
        if (ok && !got)
            ok = out.seq == c->seq && out.at_s == c->at && out.until_s == c->until &&
                 !strcmp(out.key_result, "dau-up") && !strcmp(out.cycle_start, "2026-10-01");
        if (!ok) {
            fprintf(stderr, "FAIL %s: %u %s field %s (%s); seq %lld at %lld until %lld\n",
                    c->name, got, e.error, e.field ? e.field : "null", e.detail,
                    (long long)out.seq, (long long)out.at_s, (long long)out.until_s);
            failed++;
        }
        api_checkin_body_free(&b);
        api_checkin_error_free(&e);
        okrd_checkin_clear(&out);
    }
    okrd_tz_close(tz);
    assert_int_equal(failed, 0);
}

/* The fields of the body reach the check-in, the comment copied. */
static void test_decide_copies(void **state)
{
    (void)state;
    struct okrd_tz *tz = tz_open("UTC");
    struct cfg_cycle q4 = { OCT1, JAN1, "2026-10-01", "2026-12-31" };
    const char *body = "{\"confidence\": 3, \"comment\": \"<!channel>\", \"status\": "
                       "\"off_track\", \"value\": 7}";
    struct api_checkin_body b;
    struct api_checkin_error e = { 0 };
    assert_int_equal(api_checkin_parse(body, strlen(body), tz, false, &b, &e), 0);
    struct okrd_checkin out;
    okrd_checkin_clear(&out);
    assert_int_equal(api_checkin_decide(&b, "dau-up", &q4, D14 * 1000, NOV1, NULL, &out, &e), 0);
    api_checkin_body_free(&b);
    assert_int_equal(out.confidence, 3);
    assert_string_equal(out.comment, "<!channel>");
    assert_string_equal(out.status, "off_track");
    assert_true(out.value == 7);
    assert_true(isnan(out.grade));
    okrd_checkin_clear(&out);
    okrd_tz_close(tz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_decide_table),
        cmocka_unit_test(test_decide_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
