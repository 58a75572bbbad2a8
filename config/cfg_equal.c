/*
 * cfg_equal.c — whether two loaded configs describe the same source, so a
 * reload restarts only the sources that changed (unchanged ones keep their
 * schedule). Compares every configured field; positions (file:line) are not
 * configuration and are ignored.
 */
#include <string.h>

#include "config.h"

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool strs_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (!str_eq(a[i], b[i]))
            return false;
    return true;
}

static bool csv_eq(const struct cfg_csv_dir *a, const struct cfg_csv_dir *b)
{
    if (!str_eq(a->path, b->path) || a->layout != b->layout || !str_eq(a->col_metric, b->col_metric) ||
        !str_eq(a->col_timestamp, b->col_timestamp) || !str_eq(a->col_value, b->col_value) ||
        a->n_wide != b->n_wide || a->delimiter != b->delimiter || a->decimal != b->decimal ||
        !str_eq(a->strip, b->strip) || !strs_eq(a->skip_rows, a->n_skip_rows, b->skip_rows, b->n_skip_rows) ||
        !str_eq(a->timestamp_format, b->timestamp_format) || a->on_error != b->on_error ||
        a->rescan_ms != b->rescan_ms || a->settle_ms != b->settle_ms)
        return false;
    for (size_t i = 0; i < a->n_wide; i++)
        if (!str_eq(a->wide[i].header, b->wide[i].header) || !str_eq(a->wide[i].metric, b->wide[i].metric))
            return false;
    return true;
}

static bool http_eq(const struct cfg_http_json *a, const struct cfg_http_json *b)
{
    if (!str_eq(a->url, b->url) || a->method != b->method || a->n_headers != b->n_headers ||
        !str_eq(a->body, b->body) || a->interval_ms != b->interval_ms || a->timeout_ms != b->timeout_ms ||
        a->max_bytes != b->max_bytes || a->insecure != b->insecure ||
        a->failing_after != b->failing_after || a->n_extract != b->n_extract)
        return false;
    for (size_t i = 0; i < a->n_headers; i++)
        if (!str_eq(a->headers[i].name, b->headers[i].name) || !str_eq(a->headers[i].value, b->headers[i].value))
            return false;
    for (size_t i = 0; i < a->n_extract; i++) {
        const struct cfg_extract *x = &a->extract[i], *y = &b->extract[i];
        if (!str_eq(x->metric, y->metric) || !str_eq(x->value, y->value) || !str_eq(x->each, y->each) ||
            !str_eq(x->timestamp, y->timestamp) || x->timestamp_is_key != y->timestamp_is_key ||
            x->timestamp_unit != y->timestamp_unit || x->skip_today != y->skip_today)
            return false;
    }
    return true;
}

static bool prom_eq(const struct cfg_prometheus *a, const struct cfg_prometheus *b)
{
    if (!str_eq(a->url, b->url) || a->interval_ms != b->interval_ms || a->timeout_ms != b->timeout_ms ||
        !str_eq(a->basic_username, b->basic_username) || !str_eq(a->basic_password, b->basic_password) ||
        a->insecure != b->insecure || a->failing_after != b->failing_after || a->n_queries != b->n_queries)
        return false;
    for (size_t i = 0; i < a->n_queries; i++)
        if (!str_eq(a->queries[i].metric, b->queries[i].metric) || !str_eq(a->queries[i].query, b->queries[i].query))
            return false;
    return true;
}

bool cfg_source_equal(const struct cfg_source *a, const struct cfg_source *b)
{
    if (!str_eq(a->id, b->id) || a->type != b->type)
        return false;
    switch (a->type) {
    case CFG_SRC_CSV_DIR: return csv_eq(&a->u.csv, &b->u.csv);
    case CFG_SRC_HTTP_JSON: return http_eq(&a->u.http, &b->u.http);
    case CFG_SRC_PROMETHEUS: return prom_eq(&a->u.prom, &b->u.prom);
    }
    return false;
}
