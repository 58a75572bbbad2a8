/*
 * api_checkins.c — POST and GET /api/v1/key-results/{id}/check-ins
 * (DESIGN section 8): people's confidence, comments, status overrides,
 * values and grades.
 *
 * A post goes through three steps; the first two are pure
 * (api_checkin_rules.c) and tested by table:
 *   1. api_checkin_parse (on the loop): the body's shape — known
 *      fields only, types and ranges, `until` resolved to an instant, at
 *      least one of the five fields. 400 with the offending key.
 *   2. api_checkin_decide (on the writer thread): the rules that need
 *      the latest stored check-in and the time of the commit — seq, at,
 *      409 for a status/value from the cycle's end on or a grade before it,
 *      400 for an `until` outside (at, e], the default `until`. A `cycle`
 *      other than the key result's current one is looked up in the
 *      definitions archive first (job_run): 404 when the archive does not
 *      have the key result in that cycle, else the rules run against that
 *      cycle (409 while it has not ended) and the grade is stored under
 *      its start.
 *   3. one write job on the store's writer thread (store_writer_submit_small,
 *      FIFO with every other write, so check-ins of one key result are
 *      serialized): read the latest, decide, store the value's point and
 *      the check-in, evaluate the key result at `at` through the daemon's
 *      hook — all in ONE transaction, answered 201 after its commit. A
 *      refusal or a failure stores nothing.
 * The connection is suspended meanwhile, as a push's is (api_push.c).
 *
 * GET reads the loop's read-only connection: check-ins are written by
 * people (a handful per key result and week), so a key result's list is a
 * small indexed read.
 */
#include <jansson.h>
#include <math.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "common/parse.h"
#include "common/tz.h"
#include "common/ulid.h"

/* ---- 3. the write job ---- */

struct checkin_job {
    struct api_request *rq;
    struct api_server *srv;
    void *pin;                        /* env.pin_config's token */
    const struct cfg *cfg;            /* pinned: read on the writer thread */
    const struct cfg_key_result *kr;
    struct api_checkin_body body;
    char author[sizeof ((struct okrd_checkin *)0)->author];
    /* the outcome, filled on the writer thread */
    struct okrd_checkin c;
    struct api_checkin_error e;       /* e.status != 0: refused, nothing stored */
    char *answer;                     /* the 201's body */
};

/* The definitions archive holds key result KR_ID in the cycle asked for. */
struct archive_find {
    const char *kr_id;
    bool found;
};

static int on_definition(void *ctx, const struct store_definition *d)
{
    struct archive_find *f = ctx;
    if (!strcmp(d->kind, "key_result") && !strcmp(d->id, f->kr_id)) {
        f->found = true;
        return 1;
    }
    return 0;
}

/* A `cycle` other than the key result's current one names an archived
 * cycle (DESIGN section 8): *out is that cycle (its instants in TZ) when
 * the archive has the key result in it; else a 404 in *e. */
static int archived_cycle(struct store *w, const struct checkin_job *j, const struct okrd_tz *tz,
                          struct cfg_cycle *out, struct api_checkin_error *e, struct okrd_err *err)
{
    struct archive_find f = { j->kr->id, false };
    int rc = store_each_definition(w, j->body.cycle_start, j->body.cycle_end, on_definition, &f,
                                   err);
    if (rc < 0)
        return rc;
    if (!f.found) {
        const struct cfg_cycle *cur = &j->kr->objective->cycle;
        e->status = MHD_HTTP_NOT_FOUND;
        snprintf(e->error, sizeof e->error, "not_found");
        snprintf(e->detail, sizeof e->detail,
                 "key result \"%s\" has no archived cycle %s (its cycle is %s..%s)", j->kr->id,
                 j->body.cycle_text, cur->start_date, cur->end_date);
        return 0;
    }
    int64_t y;
    int m, d;
    memset(out, 0, sizeof *out);
    snprintf(out->start_date, sizeof out->start_date, "%s", j->body.cycle_start);
    snprintf(out->end_date, sizeof out->end_date, "%s", j->body.cycle_end);
    okrd_parse_date(out->start_date, 10, &y, &m, &d, NULL);
    out->start_s = okrd_tz_local_to_utc(tz, okrd_days_from_civil(y, m, d) * 86400);
    okrd_parse_date(out->end_date, 10, &y, &m, &d, NULL);
    out->end_s = okrd_tz_local_to_utc(tz, (okrd_days_from_civil(y, m, d) + 1) * 86400);
    return 0;
}

/* Writer thread: ONE transaction for the point, the check-in and the view. */
static int job_run(struct store *w, void *arg, struct okrd_err *err)
{
    struct checkin_job *j = arg;
    struct api_env *env = &j->srv->env;
    const struct cfg_cycle *cy = &j->kr->objective->cycle;
    struct cfg_cycle archived;
    int rc = store_begin(w, err);
    if (rc < 0)
        return rc;
    if (j->body.has_cycle && (strcmp(j->body.cycle_start, cy->start_date) ||
                              strcmp(j->body.cycle_end, cy->end_date))) {
        if ((rc = archived_cycle(w, j, j->cfg->daemon.tz, &archived, &j->e, err)) < 0)
            return rc;
        if (j->e.status) {
            store_rollback(w);
            return 0;
        }
        cy = &archived; /* the grade is stored under that cycle's start */
    }
    struct okrd_checkin latest = { 0 };
    rc = store_latest_checkin(w, j->kr->id, cy->start_date, INT64_MAX, &latest, err);
    if (rc < 0 && rc != OKRD_ENOTFOUND)
        return rc;
    /* The commit's time: the clock is read here, after every earlier job. */
    int64_t now_ms = okrd_clock_now_ms(env->clock);
    int64_t now_s = now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000);
    unsigned st = api_checkin_decide(&j->body, j->kr->id, cy, j->cfg->checkins.override_for_ms,
                                     now_s, rc == 0 ? &latest : NULL, &j->c, &j->e);
    okrd_checkin_clear(&latest);
    if (st) {
        store_rollback(w);
        return 0;
    }
    unsigned char rnd[OKRD_ULID_RANDOM_BYTES];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        okrd_ulid_fallback_random(now_ms, (uint64_t)(uintptr_t)j, rnd);
    /* Ids sort as the check-ins do, even after the clock stepped back. */
    int64_t id_ms = j->c.at_s * 1000 > now_ms ? j->c.at_s * 1000 : now_ms;
    okrd_ulid_format("chk_", id_ms, rnd, j->c.id, sizeof j->c.id);
    snprintf(j->c.author, sizeof j->c.author, "%s", j->author);
    if (!isnan(j->c.value)) {
        struct store_point_in pt = { .metric = j->kr->metric, .ts = j->c.at_s, .value = j->c.value };
        if ((rc = store_put_points_from(w, "checkin", &pt, 1, err)) < 0)
            return rc;
    }
    if ((rc = store_insert_checkin(w, &j->c, err)) < 0)
        return rc;
    json_t *kr = NULL;
    if (env->key_result_view &&
        (rc = env->key_result_view(env->ctx, w, j->cfg, j->kr->id, j->c.at_s, &kr, err)) < 0)
        return rc;
    json_t *doc = json_pack("{s:o, s:o}", "check_in", okr_view_checkin(&j->c, false, 0),
                            "key_result", kr ? kr : json_null());
    if (!doc || !(j->answer = api_json_dump_doc(doc)))
        return okrd_err_set(err, OKRD_ENOMEM, "check-in: no memory for the answer");
    return store_commit(w, err);
}

static void job_free(struct checkin_job *j)
{
    if (j->pin && j->srv->env.unpin_snapshot)
        j->srv->env.unpin_snapshot(j->srv->env.ctx, j->pin);
    api_checkin_body_free(&j->body);
    api_checkin_error_free(&j->e);
    okrd_checkin_clear(&j->c);
    free(j->answer);
    free(j);
}

/* Loop thread: answer, resume, then let the daemon evaluate at once. */
static void job_done(void *arg, int rc, const struct okrd_err *err)
{
    struct checkin_job *j = arg;
    struct api_request *rq = j->rq;
    struct api_server *s = j->srv;
    bool stored = false;
    if (rc == 0 && j->e.status) {
        rq->status = j->e.status;
        rq->answer = api_checkin_error_body(&j->e);
    } else if (rc == 0) {
        rq->status = MHD_HTTP_CREATED;
        rq->answer = j->answer;
        j->answer = NULL;
        stored = true;
    } else if (rc == OKRD_ECANCELED) {
        rq->status = MHD_HTTP_SERVICE_UNAVAILABLE;
        rq->answer = api_error_body("shutting_down", "okrd is stopping; nothing was stored", -1);
    } else {
        rq->status = rc == OKRD_EBUSY ? MHD_HTTP_SERVICE_UNAVAILABLE
                                      : MHD_HTTP_INTERNAL_SERVER_ERROR;
        char detail[OKRD_ERR_MSG_MAX + 64];
        snprintf(detail, sizeof detail, "nothing was stored: %s", err->msg);
        rq->answer = api_error_body("store_failed", detail, -1);
        api_report(s, CFG_LOG_ERROR, "checkin_failed", "key_result=%s: %s", j->kr->id, err->msg);
    }
    if (stored) {
        if (!isnan(j->c.value) && s->env.on_points_committed) {
            const char *m[] = { j->kr->metric };
            s->env.on_points_committed(s->env.ctx, "checkin", m, 1, 1);
        }
        if (s->env.on_checkin_committed)
            s->env.on_checkin_committed(s->env.ctx, j->kr->id);
    }
    job_free(j);
    rq->answered = true;
    rq->suspended = false;
    MHD_resume_connection(rq->conn);
    api_server_kick(s);
    api_server_push_done(s);
}

static enum MHD_Result answer_refusal(struct MHD_Connection *conn, struct api_checkin_error *e)
{
    char *body = api_checkin_error_body(e);
    api_checkin_error_free(e);
    return api_respond(conn, e->status, "application/json", body, body ? strlen(body) : 0, NULL);
}

enum MHD_Result api_checkin_submit(struct api_request *rq)
{
    struct api_server *s = rq->srv;
    if (rq->too_big)
        return api_respond_error(rq->conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
                                 "the body is over %d bytes; a check-in is far smaller",
                                 API_MAX_CHECKIN_BYTES);
    const struct cfg_key_result *kr = cfg_find_key_result(s->cfg, rq->id);
    if (!kr)
        return api_respond_error(rq->conn, MHD_HTTP_NOT_FOUND, "not_found", NULL,
                                 "no key result \"%s\" in the running config", rq->id);
    const struct cfg_metric *m = cfg_find_metric(s->cfg, kr->metric);
    struct checkin_job *j = calloc(1, sizeof *j);
    if (!j)
        return api_respond_error(rq->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", NULL,
                                 "no memory for the check-in");
    okrd_checkin_clear(&j->c);
    if (api_checkin_parse(rq->body.p ? rq->body.p : "", rq->body.n, s->cfg->daemon.tz,
                          m && m->ratio_num, &j->body, &j->e)) {
        enum MHD_Result ret = answer_refusal(rq->conn, &j->e);
        job_free(j);
        return ret;
    }
    api_buf_free(&rq->body);
    j->rq = rq;
    j->srv = s;
    j->cfg = s->cfg;
    j->kr = kr;
    snprintf(j->author, sizeof j->author, "%s", rq->token_name);
    /* A reload may replace the config while the writer reads it. */
    if (s->env.pin_config)
        j->pin = s->env.pin_config(s->env.ctx);
    if (!s->env.writer || store_writer_submit_small(s->env.writer, job_run, job_done, j) < 0) {
        job_free(j);
        return api_respond_error(rq->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", NULL,
                                 "okrd is stopping; nothing was stored");
    }
    s->pushes_in_flight++;
    rq->suspended = true;
    MHD_suspend_connection(rq->conn);
    return MHD_YES;
}

/* ---- GET ---- */

struct list_ctx {
    json_t *arr;
};

static int on_checkin(void *ctx, const struct okrd_checkin *c)
{
    struct list_ctx *l = ctx;
    json_t *o = okr_view_checkin(c, false, 0);
    return o && json_array_append_new(l->arr, o) == 0 ? 0 : OKRD_ENOMEM;
}

static int query_time(struct api_server *s, struct MHD_Connection *conn, const char *name,
                      int64_t *out, bool *given, struct okrd_err *err)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v || !*v)
        return 0;
    *given = true;
    int rc = okrd_parse_timestamp(v, strlen(v), s->cfg->daemon.tz, OKRD_TS_AUTO, out, err);
    return rc < 0 ? okrd_err_prefix(err, "?%s=", name) : 0;
}

enum MHD_Result api_checkins_list(struct api_server *s, struct api_request *rq)
{
    struct MHD_Connection *conn = rq->conn;
    const struct cfg_key_result *kr = cfg_find_key_result(s->cfg, rq->id);
    if (!kr)
        return api_respond_error(conn, MHD_HTTP_NOT_FOUND, "not_found", NULL,
                                 "no key result \"%s\" in the running config", rq->id);
    int64_t from = INT64_MIN, to = INT64_MAX;
    bool given = false;
    struct okrd_err err = { 0 };
    if (query_time(s, conn, "from", &from, &given, &err) < 0 ||
        query_time(s, conn, "to", &to, &given, &err) < 0)
        return api_respond_error(conn, MHD_HTTP_BAD_REQUEST, "bad_query", NULL, "%s", err.msg);
    if (from >= to)
        return api_respond_error(conn, MHD_HTTP_BAD_REQUEST, "bad_query", NULL,
                                 "?from= must be before ?to= (from is inclusive, to exclusive)");
    if (!s->env.reader)
        return api_respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "store_failed", NULL,
                                 "no store to read");
    /* Without a range: the check-ins of the current cycle (its grades,
     * given after its end, included); with one: any cycle's, by time. */
    struct list_ctx l = { json_array() };
    int rc = store_each_checkin(s->env.reader, kr->id,
                                given ? NULL : kr->objective->cycle.start_date, from, to, true,
                                on_checkin, &l, &err);
    if (rc < 0) {
        json_decref(l.arr);
        if (rc == OKRD_ENOMEM)
            return api_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out_of_memory", NULL,
                                     "no memory for the check-ins");
        return api_respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "store_failed", NULL, "%s",
                                 err.msg);
    }
    return api_respond_json(conn, MHD_HTTP_OK, json_pack("{s:o}", "check_ins", l.arr),
                            api_no_store);
}
