/*
 * registry.c — the source types built into okrd. A plain const array: adding
 * a source type is one line here (and its conn_<type>.c).
 */
#include "conn.h"

extern const struct conn_type conn_http_json, conn_prometheus;
extern const struct conn_type conn_csv_dir;

static const struct conn_type *const registry[] = {
    &conn_http_json,
    &conn_prometheus,
    &conn_csv_dir,
    NULL, /* keeps the array non-empty; types go above this line */
};

const struct conn_type *conn_type_find(enum cfg_source_type type)
{
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (registry[i] && registry[i]->type == type)
            return registry[i];
    return NULL;
}
