/*
 * store_check.c — the argument checks every backend relies on (store.c runs
 * them before it calls a backend, store_backend.h): ids, dates, statuses,
 * points, check-in records, ingest-log rows, definitions. Refusing here
 * means both backends refuse the same input with the same message.
 */
#include "store_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/parse.h"

int store_check_id(const char *what, const char *id, const char *action, struct okrd_err *err)
{
    char q[64];
    if (id && okrd_valid_id(id, strnlen(id, 129)))
        return 0;
    return okrd_err_set(err, OKRD_EINVAL, "store: %s: invalid %s \"%s\"", action, what,
                        store_quote(id, q, sizeof q));
}

/* A YYYY-MM-DD date (a real one: 2026-02-30 is refused). */
int store_check_date(const char *what, const char *date, const char *action,
                      struct okrd_err *err)
{
    char q[64];
    int64_t y;
    int m, d;
    if (date && strlen(date) == 10 && okrd_parse_date(date, 10, &y, &m, &d, NULL) == 0)
        return 0;
    return okrd_err_set(err, OKRD_EINVAL, "store: %s: invalid %s \"%s\" (want YYYY-MM-DD)",
                        action, what, store_quote(date, q, sizeof q));
}

int store_check_status(const char *what, const char *status, size_t size, const char *action,
                       struct okrd_err *err)
{
    char q[64];
    size_t n = status ? strnlen(status, size) : 0;
    if (n > 0 && n < size)
        return 0;
    return okrd_err_set(err, OKRD_EINVAL, "store: %s: invalid %s \"%s\"", action, what,
                        store_quote(status, q, sizeof q));
}

int store_check_points(const struct store_point_in *pts, size_t n, struct okrd_err *err)
{
    char q[64];
    for (size_t i = 0; i < n; i++) {
        const char *m = pts[i].metric;
        if (!m || !okrd_valid_id(m, strnlen(m, 129)))
            return okrd_err_set(err, OKRD_EINVAL,
                                "store: upsert %zu points: point %zu: invalid metric id \"%s\"",
                                n, i, store_quote(m, q, sizeof q));
        if (!isfinite(pts[i].value))
            return okrd_err_set(err, OKRD_EINVAL,
                                "store: upsert %zu points: point %zu (\"%s\"): value is not finite (%g)",
                                n, i, m, pts[i].value);
    }
    return 0;
}

static bool valid_sha256(const char *h)
{
    if (!h || strlen(h) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return false;
    return true;
}

int store_check_ingest(const struct store_ingest *in, struct okrd_err *err)
{
    static const char action[] = "log ingest";
    char q[64], q2[64];
    int rc = store_check_id("source id", in->source, action, err);
    if (rc)
        return rc;
    if (!in->name || !*in->name)
        return okrd_err_set(err, OKRD_EINVAL, "store: %s: empty file name", action);
    if (!valid_sha256(in->sha256))
        return okrd_err_set(err, OKRD_EINVAL, "store: %s of %s: invalid sha256 \"%s\"", action,
                            store_quote(in->name, q, sizeof q), store_quote(in->sha256, q2, sizeof q2));
    if (!in->outcome || (strcmp(in->outcome, "ingested") && strcmp(in->outcome, "rejected") &&
                         strcmp(in->outcome, "partial")))
        return okrd_err_set(err, OKRD_EINVAL, "store: %s of %s: invalid outcome \"%s\"", action,
                            store_quote(in->name, q, sizeof q), in->outcome ? in->outcome : "");
    return 0;
}

int store_check_definition(const char *kind, const char *id, const char *cycle_start,
                           const char *cycle_end, struct okrd_err *err)
{
    static const char action[] = "record a definition";
    char q[64];
    int rc;
    if (!kind || (strcmp(kind, "objective") && strcmp(kind, "key_result")))
        return okrd_err_set(err, OKRD_EINVAL,
                            "store: %s: invalid kind \"%s\" (objective or key_result)", action,
                            store_quote(kind, q, sizeof q));
    if ((rc = store_check_id("id", id, action, err)) != 0 ||
        (rc = store_check_date("cycle start", cycle_start, action, err)) != 0 ||
        (rc = store_check_date("cycle end", cycle_end, action, err)) != 0)
        return rc;
    if (strcmp(cycle_end, cycle_start) < 0)
        return okrd_err_set(err, OKRD_EINVAL, "store: %s of \"%s\": the cycle ends (%s) before "
                            "it starts (%s)", action, id, cycle_end, cycle_start);
    return 0;
}

static bool is_override(const char *status)
{
    return strcmp(status, "on_track") == 0 || strcmp(status, "at_risk") == 0 ||
           strcmp(status, "off_track") == 0;
}

/* Whether a fixed-size field is NUL-terminated within its array. */
#define TERMINATED(field) (strnlen((field), sizeof (field)) < sizeof (field))

/* The record's own consistency (DESIGN section 8); the API checks the body
 * against the key result and cycle before it gets here, so a failure here is
 * a caller's bug, reported precisely all the same. */
int store_check_checkin(const struct okrd_checkin *c, struct okrd_err *err)
{
    char q[64], q2[64];
    int64_t y;
    int m, d;
    if (!TERMINATED(c->id) || strncmp(c->id, "chk_", 4) != 0 || !c->id[4])
        return okrd_err_set(err, OKRD_EINVAL, "store: insert check-in: invalid id \"%s\"",
                            store_quote(TERMINATED(c->id) ? c->id : "", q, sizeof q));
    const char *id = store_quote(c->id, q, sizeof q);
    if (!TERMINATED(c->key_result) || !okrd_valid_id(c->key_result, strlen(c->key_result)))
        return okrd_err_set(err, OKRD_EINVAL,
                            "store: insert check-in %s: invalid key result id \"%s\"", id,
                            store_quote(TERMINATED(c->key_result) ? c->key_result : "", q2,
                                        sizeof q2));
    if (!TERMINATED(c->cycle_start) || strlen(c->cycle_start) != 10 ||
        okrd_parse_date(c->cycle_start, 10, &y, &m, &d, NULL) != 0)
        return okrd_err_set(err, OKRD_EINVAL,
                            "store: insert check-in %s: invalid cycle_start \"%s\" "
                            "(want YYYY-MM-DD)",
                            id, store_quote(TERMINATED(c->cycle_start) ? c->cycle_start : "",
                                            q2, sizeof q2));
    if (c->seq < 1)
        return okrd_err_set(err, OKRD_EINVAL, "store: insert check-in %s: seq %lld is not >= 1",
                            id, (long long)c->seq);
    if (!TERMINATED(c->author) || !okrd_valid_id(c->author, strlen(c->author)))
        return okrd_err_set(err, OKRD_EINVAL, "store: insert check-in %s: invalid author \"%s\"",
                            id, store_quote(TERMINATED(c->author) ? c->author : "", q2,
                                            sizeof q2));
    if (c->confidence != OKRD_CHECKIN_NO_CONFIDENCE && (c->confidence < 0 || c->confidence > 10))
        return okrd_err_set(err, OKRD_EINVAL,
                            "store: insert check-in %s: confidence %d is not 0..10", id,
                            c->confidence);
    if (!TERMINATED(c->status) || (c->status[0] && !is_override(c->status)))
        return okrd_err_set(err, OKRD_EINVAL,
                            "store: insert check-in %s: invalid status \"%s\" "
                            "(on_track, at_risk, off_track or none)",
                            id, store_quote(TERMINATED(c->status) ? c->status : "", q2,
                                            sizeof q2));
    if (c->status[0] && c->until_s <= c->at_s)
        return okrd_err_set(err, OKRD_EINVAL,
                            "store: insert check-in %s: the override ends (until_s %lld) "
                            "not after at_s %lld",
                            id, (long long)c->until_s, (long long)c->at_s);
    if (!c->status[0] && c->until_s != 0)
        return okrd_err_set(err, OKRD_EINVAL,
                            "store: insert check-in %s: until_s without a status", id);
    if (isinf(c->value))
        return okrd_err_set(err, OKRD_EINVAL, "store: insert check-in %s: value is infinite",
                            id);
    if (!isnan(c->grade) && !(c->grade >= 0.0 && c->grade <= 1.0))
        return okrd_err_set(err, OKRD_EINVAL, "store: insert check-in %s: grade %g is not 0..1",
                            id, c->grade);
    if (c->comment) {
        size_t n = strlen(c->comment);
        if (n > OKRD_CHECKIN_COMMENT_MAX)
            return okrd_err_set(err, OKRD_EINVAL,
                                "store: insert check-in %s: comment of %zu bytes, over %d", id,
                                n, OKRD_CHECKIN_COMMENT_MAX);
        for (size_t i = 0; i < n;) {
            size_t l = okrd_utf8_len(c->comment + i, n - i);
            if (l == 0)
                return okrd_err_set(err, OKRD_EINVAL,
                                    "store: insert check-in %s: comment is not valid UTF-8 at "
                                    "byte %zu",
                                    id, i);
            i += l;
        }
    }
    if (c->confidence == OKRD_CHECKIN_NO_CONFIDENCE && !c->comment && !c->status[0] &&
        isnan(c->value) && isnan(c->grade))
        return okrd_err_set(err, OKRD_EINVAL,
                            "store: insert check-in %s: none of confidence, comment, status, "
                            "value, grade",
                            id);
    return 0;
}

