/*
 * api_push.c — POST /api/v1/points: a pipeline pushes points instead of
 * being polled (DESIGN sections 3 and 6).
 *
 * The body is validated WHOLE on the loop (a JSON array of {metric,
 * timestamp, value}; the first bad point's index is reported) before
 * anything is written, then stored by ONE write job on the store's writer
 * thread in ONE transaction: all or nothing. The connection is suspended
 * while the job runs and answered after its commit, so a 200 means the
 * points are durable (as durable as WAL with synchronous=NORMAL makes any
 * commit) and visible to the next evaluation, which the commit triggers
 * like any source's batch.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "common/parse.h"

static int fail(struct api_push_error *e, long index, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct api_push_error *e, long index, const char *code, const char *fmt, ...)
{
    e->index = index;
    snprintf(e->error, sizeof e->error, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
    return OKRD_EINVAL;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int parse_point(const json_t *o, size_t i, const struct okrd_tz *tz,
                       struct store_point_in *out, struct api_push_error *e)
{
    long ix = (long)i;
    if (!json_is_object(o))
        return fail(e, ix, "bad_point", "point %zu is %s, not an object {\"metric\", "
                    "\"timestamp\", \"value\"}", i, type_name(o));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        if (strcmp(key, "metric") && strcmp(key, "timestamp") && strcmp(key, "value")) {
            char q[OKRD_QUOTE_MAX];
            okrd_quote(key, strlen(key), q, sizeof q);
            return fail(e, ix, "bad_point", "point %zu: unknown key %s (a point has "
                        "\"metric\", \"timestamp\" and \"value\")", i, q);
        }
    }
    const json_t *m = json_object_get(o, "metric"), *t = json_object_get(o, "timestamp"),
                 *val = json_object_get(o, "value");
    if (!m || !t || !val)
        return fail(e, ix, "bad_point", "point %zu: \"%s\" is missing", i,
                    !m ? "metric" : !t ? "timestamp" : "value");
    if (!json_is_string(m))
        return fail(e, ix, "bad_point", "point %zu: \"metric\" is %s, not a string", i,
                    type_name(m));
    if (!okrd_valid_id(json_string_value(m), json_string_length(m))) {
        char q[OKRD_QUOTE_MAX];
        okrd_quote(json_string_value(m), json_string_length(m), q, sizeof q);
        return fail(e, ix, "bad_point", "point %zu: metric %s is not a valid id "
                    "([A-Za-z0-9_.:-], 1 to 128 characters)", i, q);
    }
    struct okrd_err err = { 0 };
    int rc;
    if (json_is_number(t))
        rc = okrd_timestamp_from_number(json_number_value(t), OKRD_TS_AUTO, &out->ts, &err);
    else if (json_is_string(t))
        rc = okrd_parse_timestamp(json_string_value(t), json_string_length(t), tz, OKRD_TS_AUTO,
                                  &out->ts, &err);
    else
        return fail(e, ix, "bad_point", "point %zu: \"timestamp\" is %s, not a string or number",
                    i, type_name(t));
    if (rc < 0)
        return fail(e, ix, "bad_point", "point %zu: timestamp: %s", i, err.msg);
    if (!json_is_number(val))
        return fail(e, ix, "bad_point", "point %zu: \"value\" is %s, not a number", i,
                    type_name(val));
    out->value = json_number_value(val);
    if (!isfinite(out->value)) /* jansson never makes one; be sure */
        return fail(e, ix, "bad_point", "point %zu: the value is not finite", i);
    out->metric = json_string_value(m);
    return 0;
}

int api_push_parse(const char *body, size_t n, const struct okrd_tz *tz,
                   struct api_push_batch *out, struct api_push_error *e)
{
    memset(out, 0, sizeof *out);
    e->index = -1;
    json_error_t jerr;
    json_t *doc = json_loadb(body, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return fail(e, -1, "bad_json", "the body is not JSON: line %d column %d: %s", jerr.line,
                    jerr.column, jerr.text);
    out->doc = doc;
    if (!json_is_array(doc)) {
        fail(e, -1, "bad_body", "the body is %s; expected an array of points "
             "[{\"metric\", \"timestamp\", \"value\"}, ...]", type_name(doc));
        goto bad;
    }
    size_t np = json_array_size(doc);
    out->pts = calloc(np ? np : 1, sizeof *out->pts);
    out->metrics = calloc(np ? np : 1, sizeof *out->metrics);
    if (!out->pts || !out->metrics) {
        fail(e, -1, "out_of_memory", "no memory for %zu points", np);
        goto bad;
    }
    for (size_t i = 0; i < np; i++)
        if (parse_point(json_array_get(doc, i), i, tz, &out->pts[i], e) < 0)
            goto bad;
    out->n = np;
    for (size_t i = 0; i < np; i++)
        out->metrics[i] = out->pts[i].metric;
    qsort(out->metrics, np, sizeof *out->metrics, cmp_str);
    for (size_t i = 0; i < np; i++)
        if (out->n_metrics == 0 || strcmp(out->metrics[out->n_metrics - 1], out->metrics[i]))
            out->metrics[out->n_metrics++] = out->metrics[i];
    return 0;
bad:
    api_push_batch_free(out);
    return OKRD_EINVAL;
}

void api_push_batch_free(struct api_push_batch *b)
{
    free(b->pts);
    free(b->metrics);
    json_decref(b->doc);
    memset(b, 0, sizeof *b);
}

/* ---- the write job ---- */

struct push_job {
    struct api_request *rq;
    struct api_push_batch batch;
};

/* Writer thread: one transaction for the whole batch. */
static int job_run(struct store *w, void *arg, struct okrd_err *err)
{
    struct push_job *j = arg;
    int rc = store_begin(w, err);
    if (rc < 0)
        return rc;
    if ((rc = store_put_points_from(w, "push", j->batch.pts, j->batch.n, err)) < 0)
        return rc; /* the writer rolls the open transaction back */
    return store_commit(w, err);
}

/* Loop thread: answer, resume the connection, then re-evaluate. */
static void job_done(void *arg, int rc, const struct okrd_err *err)
{
    struct push_job *j = arg;
    struct api_request *rq = j->rq;
    struct api_server *s = rq->srv;
    if (rc == 0) {
        char body[64];
        snprintf(body, sizeof body, "{\"stored\":%zu}\n", j->batch.n);
        rq->status = MHD_HTTP_OK;
        rq->answer = strdup(body);
        api_note_points(s, "push", (int64_t)j->batch.n);
        if (s->env.on_points_committed)
            s->env.on_points_committed(s->env.ctx, "push", j->batch.metrics, j->batch.n_metrics,
                                       (int64_t)j->batch.n);
    } else if (rc == OKRD_ECANCELED) {
        rq->status = MHD_HTTP_SERVICE_UNAVAILABLE;
        rq->answer = api_error_body("shutting_down", "okrd is stopping; nothing was stored", -1);
    } else {
        rq->status = rc == OKRD_EBUSY ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_INTERNAL_SERVER_ERROR;
        char detail[OKRD_ERR_MSG_MAX + 64];
        snprintf(detail, sizeof detail, "nothing was stored: %s", err->msg);
        rq->answer = api_error_body("store_failed", detail, -1);
        api_report(s, CFG_LOG_ERROR, "push_failed", "points=%zu: %s", j->batch.n, err->msg);
    }
    api_push_batch_free(&j->batch);
    free(j);
    rq->answered = true;
    rq->suspended = false;
    MHD_resume_connection(rq->conn);
    api_server_kick(s);
    api_server_push_done(s);
}

enum MHD_Result api_push_submit(struct api_request *rq)
{
    struct api_server *s = rq->srv;
    if (rq->too_big)
        return api_respond_error(rq->conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
                                 "the body is over %d bytes; send smaller batches",
                                 API_MAX_BODY_BYTES);
    struct push_job *j = calloc(1, sizeof *j);
    if (!j)
        return api_respond_error(rq->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", NULL,
                                 "no memory for the push");
    struct api_push_error e;
    if (api_push_parse(rq->body.p ? rq->body.p : "", rq->body.n, s->cfg->daemon.tz, &j->batch,
                       &e) < 0) {
        free(j);
        char *body = api_error_body(e.error, e.detail, e.index);
        return api_respond(rq->conn, MHD_HTTP_BAD_REQUEST, "application/json", body,
                           body ? strlen(body) : 0, NULL);
    }
    api_buf_free(&rq->body);
    if (j->batch.n == 0) {
        api_push_batch_free(&j->batch);
        free(j);
        return api_respond(rq->conn, MHD_HTTP_OK, "application/json", strdup("{\"stored\":0}\n"),
                           sizeof "{\"stored\":0}\n" - 1, NULL);
    }
    j->rq = rq;
    if (!s->env.writer || store_writer_submit_small(s->env.writer, job_run, job_done, j) < 0) {
        api_push_batch_free(&j->batch);
        free(j);
        return api_respond_error(rq->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", NULL,
                                 "okrd is stopping; nothing was stored");
    }
    s->pushes_in_flight++;
    rq->suspended = true;
    MHD_suspend_connection(rq->conn);
    return MHD_YES;
}
