/*
 * fuzz_api.c — the API's request-body parsers: a push batch
 * (api_push_parse) and a check-in (api_checkin_parse, then
 * api_checkin_decide against a fixed cycle, with and without an earlier
 * check-in).
 *
 * The first byte picks the parser (even: check-in, odd: push); the rest is
 * the body. Properties: never a crash; a refusal always has a status the
 * API answers with and a message; an accepted check-in holds only values
 * DESIGN section 8 allows (confidence 0..10, a comment of at most 4,000
 * bytes with no NUL, one of the three statuses, a grade in [0, 1], a
 * finite value, at least one of the five), and a decided one has seq =
 * previous + 1, at never before the previous at, an override ending after
 * at and no later than the cycle's end.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_refusal(unsigned status, const struct api_checkin_error *e)
{
    check(status == 400 || status == 404 || status == 409 || status == 413 || status == 503);
    check(e->error[0] != '\0' && e->detail[0] != '\0');
    char *body = api_checkin_error_body(e);
    if (body) { /* NULL only when out of memory */
        json_error_t je;
        json_t *doc = json_loads(body, 0, &je);
        check(doc && json_is_string(json_object_get(doc, "error")));
        if (status == 400) {
            json_t *f = json_object_get(doc, "field");
            check(f && (json_is_string(f) || json_is_null(f)));
        }
        json_decref(doc);
        free(body);
    }
}

static void fuzz_checkin(const char *body, size_t n)
{
    struct api_checkin_body b;
    struct api_checkin_error e;
    memset(&e, 0, sizeof e);
    unsigned st = api_checkin_parse(body, n, NULL, (n & 1) != 0, &b, &e);
    if (st) {
        check_refusal(st, &e);
        api_checkin_error_free(&e);
        return;
    }
    bool any = false;
    if (b.confidence != OKRD_CHECKIN_NO_CONFIDENCE) {
        check(b.confidence >= 0 && b.confidence <= 10);
        any = true;
    }
    if (b.comment) {
        check(strlen(b.comment) <= OKRD_CHECKIN_COMMENT_MAX);
        any = true;
    }
    if (b.status[0]) {
        check(!strcmp(b.status, "on_track") || !strcmp(b.status, "at_risk") ||
              !strcmp(b.status, "off_track"));
        any = true;
    } else {
        check(!b.has_until);
    }
    if (!isnan(b.value)) {
        check(isfinite(b.value));
        any = true;
    }
    if (!isnan(b.grade)) {
        check(b.grade >= 0.0 && b.grade <= 1.0);
        any = true;
    } else {
        check(!b.has_cycle);
    }
    check(any);

    /* 2026-Q4 in UTC; "now" inside it, then after its end. */
    struct cfg_cycle cy = { 1790812800, 1798761600, "2026-10-01", "2026-12-31" };
    struct okrd_checkin prev = { .seq = 4, .at_s = 1795000000, .confidence = 5,
                                 .value = NAN, .grade = NAN };
    int64_t nows[] = { 1794000000, 1799000000 };
    for (int k = 0; k < 2; k++) {
        for (int with_prev = 0; with_prev < 2; with_prev++) {
            struct okrd_checkin out;
            memset(&out, 0, sizeof out);
            memset(&e, 0, sizeof e);
            unsigned d = api_checkin_decide(&b, "kr", &cy, 14 * 86400000LL, nows[k],
                                            with_prev ? &prev : NULL, &out, &e);
            if (d) {
                check_refusal(d, &e);
                api_checkin_error_free(&e);
                continue;
            }
            check(out.seq == (with_prev ? prev.seq + 1 : 1));
            check(out.at_s >= nows[k] && (!with_prev || out.at_s >= prev.at_s));
            if (out.status[0])
                check(out.until_s > out.at_s && out.until_s <= cy.end_s);
            free(out.comment);
        }
    }
    api_checkin_body_free(&b);
}

static void fuzz_push(const char *body, size_t n)
{
    struct api_push_batch batch;
    struct api_push_error e;
    if (api_push_parse(body, n, NULL, &batch, &e) < 0) {
        check(e.error[0] != '\0' && e.detail[0] != '\0');
        return;
    }
    for (size_t i = 0; i < batch.n; i++)
        check(batch.pts[i].metric && isfinite(batch.pts[i].value));
    api_push_batch_free(&batch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *body = (const char *)data + 1;
    if (data[0] & 1)
        fuzz_push(body, size - 1);
    else
        fuzz_checkin(body, size - 1);
    return 0;
}
