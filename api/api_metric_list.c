/*
 * api_metric_list.c — the metric list of DESIGN section 6: the document
 * `okrd metrics --json` prints and GET /api/v1/metrics serves, built in one
 * place so the two never differ.
 *
 * It joins what the store holds (store_each_metric_summary: counts, first
 * and last point, last value, sources) with what the config says (units,
 * ratio metrics and their inputs, the key results that read each metric).
 * Every stored id is listed, and so is every id the config names without
 * data yet (points 0 and nulls): a person writing a mapping sees both a
 * metric no key result uses (`unlinked`) and a key result whose metric
 * never received a point. Sorted by id in byte order. Reads the store only;
 * the cost grows with the stored points (one count over them), so the
 * daemon builds it on a read worker (api_reads.c).
 */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "common/parse.h"

static json_t *time_or_null(int64_t points, int64_t t)
{
    if (points <= 0)
        return json_null();
    char buf[32];
    okrd_format_utc(t, buf, sizeof buf);
    return json_string(buf);
}

/* The entry of ID in BY_ID, made with points 0 and nulls if new. */
static json_t *entry(json_t *by_id, const char *id)
{
    json_t *e = json_object_get(by_id, id);
    if (e)
        return e;
    e = json_pack("{s:s, s:i, s:n, s:n, s:n, s:n, s:[], s:[], s:b, s:b, s:n, s:[]}", "id", id,
                  "points", 0, "first_point_at", "last_point_at", "last_value", "unit", "sources",
                  "key_results", "unlinked", 1, "configured", 0, "ratio", "in_ratios");
    if (e && json_object_set_new(by_id, id, e) < 0)
        return NULL;
    return e;
}

/* Appends S to the array KEY of E unless it is there already. */
static int add_unique(json_t *e, const char *key, const char *s)
{
    json_t *arr = json_object_get(e, key);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (!strcmp(json_string_value(v), s))
            return 0;
    return json_array_append_new(arr, json_string(s));
}

static int on_summary(void *ctx, const struct store_metric_summary *m)
{
    json_t *e = entry(ctx, m->metric);
    if (!e)
        return OKRD_ENOMEM;
    json_t *srcs = json_array();
    for (size_t i = 0; srcs && i < m->n_sources; i++)
        if (json_array_append_new(srcs, json_string(m->sources[i])) < 0)
            break;
    int bad = !srcs;
    bad |= json_object_set_new(e, "points", json_integer(m->points));
    bad |= json_object_set_new(e, "first_point_at", time_or_null(m->points, m->first_s));
    bad |= json_object_set_new(e, "last_point_at", time_or_null(m->points, m->last_s));
    bad |= json_object_set_new(e, "last_value", okr_view_number(m->last_value));
    bad |= json_object_set_new(e, "sources", srcs);
    return bad ? OKRD_ENOMEM : 0;
}

/* The config's side: units, ratios, the key results that read a metric
 * (a key result on a ratio metric reads its two inputs too). */
static int add_config(json_t *by_id, const struct cfg *cfg)
{
    int bad = 0;
    for (size_t i = 0; i < cfg->n_metrics; i++) {
        const struct cfg_metric *m = &cfg->metrics[i];
        json_t *e = entry(by_id, m->id);
        if (!e)
            return OKRD_ENOMEM;
        bad |= json_object_set_new(e, "configured", json_true());
        if (m->unit)
            bad |= json_object_set_new(e, "unit", json_string(m->unit));
        if (!m->ratio_num)
            continue;
        bad |= json_object_set_new(e, "ratio",
                                   json_pack("{s:s, s:s, s:o}", "numerator", m->ratio_num,
                                             "denominator", m->ratio_den, "scale",
                                             okr_view_number(m->scale)));
        const char *in[2] = { m->ratio_num, m->ratio_den };
        for (int k = 0; k < 2; k++) {
            json_t *ie = entry(by_id, in[k]);
            if (!ie)
                return OKRD_ENOMEM;
            bad |= json_object_set_new(ie, "configured", json_true());
            bad |= add_unique(ie, "in_ratios", m->id);
        }
    }
    for (size_t o = 0; o < cfg->n_objectives; o++) {
        const struct cfg_objective *obj = &cfg->objectives[o];
        for (size_t k = 0; k < obj->n_key_results; k++) {
            const struct cfg_key_result *kr = &obj->key_results[k];
            json_t *e = entry(by_id, kr->metric);
            if (!e)
                return OKRD_ENOMEM;
            bad |= json_object_set_new(e, "configured", json_true());
            bad |= add_unique(e, "key_results", kr->id);
            const struct cfg_metric *m = cfg_find_metric(cfg, kr->metric);
            if (m && m->ratio_num) {
                bad |= add_unique(entry(by_id, m->ratio_num), "key_results", kr->id);
                bad |= add_unique(entry(by_id, m->ratio_den), "key_results", kr->id);
            }
        }
    }
    return bad ? OKRD_ENOMEM : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int api_metric_list(struct store *st, const struct cfg *cfg, json_t **out, struct okrd_err *err)
{
    *out = NULL;
    json_t *by_id = json_object();
    if (!by_id)
        return okrd_err_set(err, OKRD_ENOMEM, "list metrics: out of memory");
    int rc = store_each_metric_summary(st, on_summary, by_id, err);
    if (rc == OKRD_ENOMEM && !err->code)
        okrd_err_set(err, rc, "list metrics: out of memory");
    if (rc == 0 && (rc = add_config(by_id, cfg)) < 0)
        okrd_err_set(err, rc, "list metrics: out of memory");
    size_t n = json_object_size(by_id), i = 0;
    const char **ids = rc == 0 ? malloc((n ? n : 1) * sizeof *ids) : NULL;
    if (rc == 0 && !ids)
        rc = okrd_err_set(err, OKRD_ENOMEM, "list metrics: out of memory");
    if (rc < 0) {
        json_decref(by_id);
        return rc;
    }
    const char *key;
    json_t *v;
    json_object_foreach(by_id, key, v)
        ids[i++] = key;
    qsort(ids, n, sizeof *ids, cmp_str);
    json_t *arr = json_array();
    for (i = 0; arr && i < n; i++) {
        json_t *e = json_object_get(by_id, ids[i]);
        json_object_set_new(e, "unlinked",
                            json_boolean(json_array_size(json_object_get(e, "key_results")) == 0));
        if (json_array_append(arr, e) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    free(ids);
    json_decref(by_id);
    *out = arr ? json_pack("{s:o}", "metrics", arr) : NULL;
    if (!*out)
        return okrd_err_set(err, OKRD_ENOMEM, "list metrics: out of memory");
    return 0;
}
