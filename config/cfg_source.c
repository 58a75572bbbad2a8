/*
 * cfg_source.c — sources[]: csv_dir, http_json and prometheus (DESIGN
 * sections 2 and 3).
 *
 * The type decides which keys exist, so it is read first; an unknown or
 * missing type still gets its id checked (duplicates are found later) but no
 * key check, since any other key could belong to the type the user meant.
 * Secret fields (urls, header values, body, basic_auth password) are never
 * quoted in a message: Slack-style URLs and bearer headers are keys.
 */
#include "cfg_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const source_types[] = { "csv_dir", "http_json", "prometheus", NULL };

static const char *const csv_keys[] = {
    "id", "type", "path", "layout", "columns", "delimiter", "decimal", "strip",
    "skip_rows_matching", "timestamp_format", "on_error", "rescan", "settle", NULL,
};
static const char *const http_keys[] = {
    "id", "type", "url", "method", "headers", "body", "interval", "timeout", "max_bytes",
    "insecure", "failing_after", "extract", NULL,
};
static const char *const prom_keys[] = {
    "id", "type", "url", "interval", "timeout", "basic_auth", "insecure", "failing_after",
    "queries", NULL,
};

/* ---- csv_dir ---- */

static const char *const layouts[] = { "long", "wide", NULL };
static const char *const on_errors[] = { "reject_file", "skip_row", NULL };
static const char *const long_col_keys[] = { "metric", "timestamp", "value", NULL };
static const char *const wide_col_keys[] = { "timestamp", "metrics", NULL };

static void csv_header_name(struct cfg_ctx *c, json_t *obj, const char *key, char **out)
{
    char *s = NULL;
    if (cfg_get_str(c, obj, key, false, CFG_STR_PLAIN, &s) > 0) {
        if (!*s)
            cfg_err(c, key, "must not be empty (omit it for the default column)");
        else
            *out = s;
    }
}

static void csv_columns(struct cfg_ctx *c, json_t *cols, struct cfg_csv_dir *csv)
{
    size_t old = cfg_path_push_key(c, "columns");
    if (csv->layout == CFG_LAYOUT_LONG) {
        cfg_check_keys(c, cols, long_col_keys);
        csv_header_name(c, cols, "metric", &csv->col_metric);
        csv_header_name(c, cols, "timestamp", &csv->col_timestamp);
        csv_header_name(c, cols, "value", &csv->col_value);
        cfg_path_pop(c, old);
        return;
    }
    cfg_check_keys(c, cols, wide_col_keys);
    csv_header_name(c, cols, "timestamp", &csv->col_timestamp);
    bool bad;
    json_t *m = cfg_get_object(c, cols, "metrics", false, &bad);
    if (m) {
        size_t o2 = cfg_path_push_key(c, "metrics");
        csv->wide = cfg_arena_array(c->arena, json_object_size(m) + 1, sizeof *csv->wide);
        const char *header;
        json_t *v;
        json_object_foreach(m, header, v) {
            if (header[0] == '_')
                continue;
            char *id = NULL;
            if (!*header) {
                cfg_err_key(c, header, "a CSV header must not be empty");
                continue;
            }
            if (cfg_get_id(c, m, header, false, &id) > 0) {
                struct cfg_wide_column *wc = &csv->wide[csv->n_wide++];
                wc->header = cfg_arena_strdup(c->arena, header);
                wc->metric = id;
            }
        }
        if (json_object_size(m) == 0)
            cfg_err(c, NULL, "empty map: omit \"metrics\" to read every column");
        cfg_path_pop(c, o2);
    }
    cfg_path_pop(c, old);
}

static void schema_csv(struct cfg_ctx *c, json_t *obj, struct cfg_csv_dir *csv)
{
    csv->layout = CFG_LAYOUT_LONG;
    csv->decimal = '.';
    csv->strip = "";
    csv->on_error = CFG_ON_ERROR_REJECT_FILE;
    csv->rescan_ms = 30000;
    csv->settle_ms = 100;
    char *s = NULL;
    if (cfg_get_str(c, obj, "path", true, CFG_STR_PLAIN, &s) > 0) {
        if (!*s)
            cfg_err(c, "path", "must not be empty");
        else
            csv->path = cfg_abs_path(c, s);
    }
    int e;
    bool layout_ok = cfg_get_enum(c, obj, "layout", false, layouts, &e) >= 0;
    if (layout_ok && json_object_get(obj, "layout"))
        csv->layout = (enum cfg_layout)e;
    bool bad;
    json_t *cols = cfg_get_object(c, obj, "columns", false, &bad);
    if (cols && layout_ok)
        csv_columns(c, cols, csv);
    if (cfg_get_str(c, obj, "delimiter", false, CFG_STR_PLAIN, &s) > 0) {
        if (strcmp(s, "auto") == 0)
            csv->delimiter = 0;
        else if (strcmp(s, ",") == 0 || strcmp(s, ";") == 0 || strcmp(s, "\t") == 0)
            csv->delimiter = s[0];
        else
            cfg_err(c, "delimiter", "%s is not one of \"auto\", \",\", \";\", \"\\t\"",
                    cfg_quote(c, json_string_value(json_object_get(obj, "delimiter"))));
    }
    if (cfg_get_str(c, obj, "decimal", false, CFG_STR_PLAIN, &s) > 0) {
        if (strcmp(s, ".") == 0 || strcmp(s, ",") == 0)
            csv->decimal = s[0];
        else
            cfg_err(c, "decimal", "%s is not \".\" or \",\"",
                    cfg_quote(c, json_string_value(json_object_get(obj, "decimal"))));
    }
    cfg_get_str(c, obj, "strip", false, CFG_STR_PLAIN, &csv->strip);
    struct okrd_err err = { 0 };
    cfg_get_str_list(c, obj, "skip_rows_matching", false, &csv->skip_rows, &csv->n_skip_rows);
    if (cfg_get_str(c, obj, "timestamp_format", false, CFG_STR_PLAIN, &s) > 0) {
        if (strcmp(s, "auto") == 0)
            csv->timestamp_format = NULL;
        else if (okrd_check_timestamp_fmt(s, &err) < 0)
            cfg_err(c, "timestamp_format", "%s is neither \"auto\" nor a usable strftime "
                    "format: %s",
                    cfg_quote(c, json_string_value(json_object_get(obj, "timestamp_format"))),
                    err.msg);
        else
            csv->timestamp_format = s;
    }
    if (cfg_get_enum(c, obj, "on_error", false, on_errors, &e) > 0)
        csv->on_error = (enum cfg_on_error)e;
    cfg_get_duration(c, obj, "rescan", false, 1, &csv->rescan_ms);
    cfg_get_duration(c, obj, "settle", false, 0, &csv->settle_ms);
}

/* ---- shared by http_json and prometheus ---- */

static void secret_url(struct cfg_ctx *c, json_t *obj, char **out)
{
    if (cfg_get_str(c, obj, "url", true, CFG_STR_SECRET, out) > 0 &&
        !(c->flags & CFG_NO_SECRETS) && strncmp(*out, "http://", 7) != 0 &&
        strncmp(*out, "https://", 8) != 0)
        cfg_err(c, "url", "must be an http:// or https:// URL");
}

/* RFC 6901: "" or "/..." with "~" only as "~0" or "~1". */
static bool valid_pointer(const char *p, const char **why)
{
    if (*p && *p != '/') {
        *why = "a JSON Pointer is \"\" or starts with \"/\" (e.g. \"/results\")";
        return false;
    }
    for (; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1') {
            *why = "\"~\" must be written \"~0\" and \"/\" inside a name \"~1\"";
            return false;
        }
    return true;
}

static int get_pointer(struct cfg_ctx *c, json_t *obj, const char *key, bool req, char **out)
{
    char *s = NULL;
    int rc = cfg_get_str(c, obj, key, req, CFG_STR_PLAIN, &s);
    if (rc <= 0)
        return rc;
    const char *why = NULL;
    if (strcmp(key, "timestamp") == 0 && strcmp(s, "@key") == 0) {
        *out = s;
        return 1;
    }
    if (!valid_pointer(s, &why)) {
        cfg_err(c, key, "%s: %s", cfg_quote(c, json_string_value(json_object_get(obj, key))),
                why);
        return -1;
    }
    *out = s;
    return 1;
}

/* ---- http_json ---- */

static const char *const methods[] = { "GET", "POST", NULL };
static const char *const extract_keys[] = {
    "metric", "value", "each", "timestamp", "timestamp_unit", "skip_today", NULL,
};
static const char *const ts_units[] = { "auto", "s", "ms", NULL };

static bool header_name_ok(const char *h)
{
    if (!*h)
        return false;
    for (; *h; h++)
        if (!strchr("!#$%&'*+-.^_`|~", *h) && !((*h >= '0' && *h <= '9') ||
            (*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z')))
            return false;
    return true;
}

static void http_headers(struct cfg_ctx *c, json_t *h, struct cfg_http_json *hj)
{
    size_t old = cfg_path_push_key(c, "headers");
    hj->headers = cfg_arena_array(c->arena, json_object_size(h) + 1, sizeof *hj->headers);
    const char *name;
    json_t *v;
    json_object_foreach(h, name, v) {
        if (name[0] == '_')
            continue;
        if (!header_name_ok(name)) {
            cfg_err_key(c, name, "%s is not a valid HTTP header name", cfg_quote(c, name));
            continue;
        }
        char *val = NULL;
        if (cfg_str_value(c, v, name, CFG_STR_SECRET, &val) <= 0)
            continue;
        if (strpbrk(val, "\r\n")) {
            cfg_err(c, name, "a header value must not contain a line break");
            continue;
        }
        hj->headers[hj->n_headers].name = cfg_arena_strdup(c->arena, name);
        hj->headers[hj->n_headers].value = val;
        hj->n_headers++;
    }
    cfg_path_pop(c, old);
}

static void http_extract(struct cfg_ctx *c, json_t *obj, struct cfg_extract *x)
{
    cfg_pos_here(c, NULL, &x->pos);
    cfg_check_keys(c, obj, extract_keys);
    cfg_get_id(c, obj, "metric", true, &x->metric);
    get_pointer(c, obj, "value", true, &x->value);
    get_pointer(c, obj, "each", false, &x->each);
    char *ts = NULL;
    if (get_pointer(c, obj, "timestamp", false, &ts) > 0) {
        if (strcmp(ts, "@key") == 0 && !x->each)
            cfg_err(c, "timestamp", "\"@key\" needs \"each\" (an object whose keys are the "
                    "timestamps)");
        else if (strcmp(ts, "@key") == 0)
            x->timestamp_is_key = true;
        else
            x->timestamp = ts;
    }
    int e;
    if (cfg_get_enum(c, obj, "timestamp_unit", false, ts_units, &e) > 0)
        x->timestamp_unit = e == 0 ? OKRD_TS_AUTO : e == 1 ? OKRD_TS_SECONDS : OKRD_TS_MILLIS;
    cfg_get_bool(c, obj, "skip_today", false, &x->skip_today);
}

static void schema_http(struct cfg_ctx *c, json_t *obj, struct cfg_http_json *hj)
{
    hj->method = CFG_HTTP_GET;
    hj->timeout_ms = 10000;
    hj->max_bytes = 8388608;
    hj->failing_after = 3;
    secret_url(c, obj, &hj->url);
    int e;
    if (cfg_get_enum(c, obj, "method", false, methods, &e) > 0)
        hj->method = (enum cfg_http_method)e;
    bool bad;
    json_t *h = cfg_get_object(c, obj, "headers", false, &bad);
    if (h)
        http_headers(c, h, hj);
    cfg_get_str(c, obj, "body", false, CFG_STR_SECRET, &hj->body);
    cfg_get_duration(c, obj, "interval", true, 1000, &hj->interval_ms);
    cfg_get_duration(c, obj, "timeout", false, 1, &hj->timeout_ms);
    cfg_get_int(c, obj, "max_bytes", false, 1, (int64_t)1 << 40, &hj->max_bytes);
    cfg_get_bool(c, obj, "insecure", false, &hj->insecure);
    int64_t i;
    if (cfg_get_int(c, obj, "failing_after", false, 1, 1000000, &i) > 0)
        hj->failing_after = (int)i;
    json_t *xs = cfg_get_array(c, obj, "extract", true, &bad);
    if (!xs)
        return;
    if (json_array_size(xs) == 0)
        cfg_err(c, "extract", "must have at least one entry");
    hj->extract = cfg_arena_array(c->arena, json_array_size(xs) + 1, sizeof *hj->extract);
    size_t old = cfg_path_push_key(c, "extract");
    for (size_t k = 0; k < json_array_size(xs); k++) {
        json_t *x = json_array_get(xs, k);
        size_t o2 = cfg_path_push_index(c, k);
        if (!json_is_object(x))
            cfg_err(c, NULL, "expected an object, got %s", cfg_json_type_name(x));
        else
            http_extract(c, x, &hj->extract[hj->n_extract++]);
        cfg_path_pop(c, o2);
    }
    cfg_path_pop(c, old);
}

/* ---- prometheus ---- */

static const char *const basic_keys[] = { "username", "password", NULL };
static const char *const query_keys[] = { "metric", "query", NULL };

static void schema_prom(struct cfg_ctx *c, json_t *obj, struct cfg_prometheus *p)
{
    p->timeout_ms = 10000;
    p->failing_after = 3;
    secret_url(c, obj, &p->url);
    cfg_get_duration(c, obj, "interval", true, 1000, &p->interval_ms);
    cfg_get_duration(c, obj, "timeout", false, 1, &p->timeout_ms);
    bool bad;
    json_t *ba = cfg_get_object(c, obj, "basic_auth", false, &bad);
    if (ba) {
        size_t old = cfg_path_push_key(c, "basic_auth");
        cfg_check_keys(c, ba, basic_keys);
        char *user = NULL, *pass = NULL;
        int ru = cfg_get_str(c, ba, "username", true, CFG_STR_PLAIN, &user);
        int rp = cfg_get_str(c, ba, "password", true, CFG_STR_SECRET, &pass);
        if (ru > 0 && rp > 0) {
            p->basic_username = user;
            p->basic_password = pass;
        }
        cfg_path_pop(c, old);
    }
    cfg_get_bool(c, obj, "insecure", false, &p->insecure);
    int64_t i;
    if (cfg_get_int(c, obj, "failing_after", false, 1, 1000000, &i) > 0)
        p->failing_after = (int)i;
    json_t *qs = cfg_get_array(c, obj, "queries", true, &bad);
    if (!qs)
        return;
    if (json_array_size(qs) == 0)
        cfg_err(c, "queries", "must have at least one entry");
    p->queries = cfg_arena_array(c->arena, json_array_size(qs) + 1, sizeof *p->queries);
    size_t old = cfg_path_push_key(c, "queries");
    for (size_t k = 0; k < json_array_size(qs); k++) {
        json_t *q = json_array_get(qs, k);
        size_t o2 = cfg_path_push_index(c, k);
        if (!json_is_object(q)) {
            cfg_err(c, NULL, "expected an object, got %s", cfg_json_type_name(q));
        } else {
            struct cfg_prom_query *pq = &p->queries[p->n_queries++];
            cfg_pos_here(c, NULL, &pq->pos);
            cfg_check_keys(c, q, query_keys);
            cfg_get_id(c, q, "metric", true, &pq->metric);
            if (cfg_get_str(c, q, "query", true, CFG_STR_PLAIN, &pq->query) > 0 &&
                !*pq->query)
                cfg_err(c, "query", "must not be empty");
        }
        cfg_path_pop(c, o2);
    }
    cfg_path_pop(c, old);
}

void cfg_schema_source(struct cfg_ctx *c, json_t *obj, struct cfg_source *s)
{
    cfg_pos_here(c, NULL, &s->pos);
    cfg_get_id(c, obj, "id", true, &s->id);
    int t;
    if (cfg_get_enum(c, obj, "type", true, source_types, &t) <= 0)
        return;
    s->type = (enum cfg_source_type)t;
    switch (s->type) {
    case CFG_SRC_CSV_DIR:
        cfg_check_keys(c, obj, csv_keys);
        schema_csv(c, obj, &s->u.csv);
        break;
    case CFG_SRC_HTTP_JSON:
        cfg_check_keys(c, obj, http_keys);
        schema_http(c, obj, &s->u.http);
        break;
    case CFG_SRC_PROMETHEUS:
        cfg_check_keys(c, obj, prom_keys);
        schema_prom(c, obj, &s->u.prom);
        break;
    }
}
