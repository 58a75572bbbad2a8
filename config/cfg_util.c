/*
 * cfg_util.c — the arena that owns a struct cfg, enum names, lookups, and
 * the edit distance behind "did you mean".
 *
 * Invariant: everything reachable from a struct cfg (strings, arrays) lives
 * in its arena except the time zone, so cfg_free is "close the zone, free
 * the blocks" and a half-built cfg frees as cleanly as a finished one.
 */
#include "cfg_internal.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- arena ---- */

struct cfg_arena_block {
    struct cfg_arena_block *next;
    size_t size, used;
    _Alignas(max_align_t) unsigned char data[];
};

#define CFG_ARENA_BLOCK 16384

static void cfg_oom(void)
{
    fputs("okrd: out of memory while loading the configuration\n", stderr);
    abort();
}

void *cfg_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        cfg_oom();
    return q;
}

void *cfg_arena_alloc(struct cfg_arena *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    n = (n + align - 1) & ~(align - 1);
    if (n == 0)
        n = align;
    struct cfg_arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > CFG_ARENA_BLOCK / 2 ? n : CFG_ARENA_BLOCK;
        b = malloc(sizeof *b + size);
        if (!b)
            cfg_oom();
        b->size = size;
        b->used = 0;
        /* A big allocation gets its own block behind the current one, so
         * the free space of the current block is not thrown away. */
        if (n > CFG_ARENA_BLOCK / 2 && a->head) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

void *cfg_arena_array(struct cfg_arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        cfg_oom();
    return cfg_arena_alloc(a, n * size);
}

char *cfg_arena_strndup(struct cfg_arena *a, const char *s, size_t n)
{
    char *p = cfg_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *cfg_arena_strdup(struct cfg_arena *a, const char *s)
{
    return s ? cfg_arena_strndup(a, s, strlen(s)) : NULL;
}

char *cfg_arena_printf(struct cfg_arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *p = cfg_arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

void cfg_arena_free(struct cfg_arena *a)
{
    struct cfg_arena_block *b = a->head;
    while (b) {
        struct cfg_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

void cfg_free(struct cfg *cfg)
{
    if (!cfg)
        return;
    struct cfg_owned *o = (struct cfg_owned *)cfg;
    okrd_tz_close(cfg->daemon.tz);
    cfg_arena_free(&o->arena);
    free(o);
}

void cfg_diags_free(struct cfg_diags *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->items[i].text);
    free(d->items);
    d->items = NULL;
    d->n = d->n_errors = 0;
}

/* ---- names ---- */

const char *const cfg_event_types[] = {
    "kr.at_risk", "kr.off_track", "kr.back_on_track", "kr.achieved", "kr.missed",
    "kr.stale", "kr.fresh", "source.failing", "source.recovered", "digest.weekly",
    "kr.check_in", "checkin.due",
};
const size_t cfg_n_event_types = sizeof cfg_event_types / sizeof cfg_event_types[0];

const char *cfg_direction_name(enum cfg_direction d)
{
    switch (d) {
    case CFG_DIR_INCREASE: return "increase";
    case CFG_DIR_DECREASE: return "decrease";
    case CFG_DIR_AT_LEAST: return "at_least";
    case CFG_DIR_AT_MOST: return "at_most";
    }
    return "?";
}

const char *cfg_source_type_name(enum cfg_source_type t)
{
    switch (t) {
    case CFG_SRC_CSV_DIR: return "csv_dir";
    case CFG_SRC_HTTP_JSON: return "http_json";
    case CFG_SRC_PROMETHEUS: return "prometheus";
    }
    return "?";
}

const char *cfg_agg_fn_name(enum cfg_agg_fn f)
{
    switch (f) {
    case CFG_AGG_LAST: return "last";
    case CFG_AGG_SUM: return "sum";
    case CFG_AGG_AVG: return "avg";
    case CFG_AGG_MIN: return "min";
    case CFG_AGG_MAX: return "max";
    }
    return "?";
}

const char *cfg_log_level_name(enum cfg_log_level l)
{
    switch (l) {
    case CFG_LOG_DEBUG: return "debug";
    case CFG_LOG_INFO: return "info";
    case CFG_LOG_WARNING: return "warning";
    case CFG_LOG_ERROR: return "error";
    }
    return "?";
}

const char *cfg_store_backend_name(enum cfg_store_backend b)
{
    switch (b) {
    case CFG_STORE_SQLITE: return "sqlite";
    case CFG_STORE_POSTGRESQL: return "postgresql";
    }
    return "?";
}

int cfg_find_name(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* ---- lookups ---- */

/* An array's items in order of (id, index): the first definition of an id
 * comes first, as a linear search finds it. Items without an id are left
 * out (a loaded config has none). */
struct cfg_sorted {
    const void *arr;          /* the array indexed, to tell a stale index */
    size_t n;
    size_t n_ids;
    size_t *order;
};

struct cfg_lookup {
    struct cfg_sorted sources, metrics;
};

struct sort_ent {
    const char *id;
    size_t i;
};

static int cmp_sort_ent(const void *pa, const void *pb)
{
    const struct sort_ent *a = pa, *b = pb;
    int r = strcmp(a->id, b->id);
    return r ? r : (a->i > b->i) - (a->i < b->i);
}

static void sorted_build(struct cfg_sorted *x, struct cfg_arena *arena, const void *arr, size_t n,
                         size_t size, size_t id_off)
{
    x->arr = arr;
    x->n = n;
    x->n_ids = 0;
    x->order = cfg_arena_array(arena, n + 1, sizeof *x->order);
    struct sort_ent *e = cfg_xrealloc(NULL, (n + 1) * sizeof *e);
    for (size_t i = 0; i < n; i++) {
        const char *id = *(const char *const *)((const char *)arr + i * size + id_off);
        if (id)
            e[x->n_ids++] = (struct sort_ent){ id, i };
    }
    qsort(e, x->n_ids, sizeof *e, cmp_sort_ent);
    for (size_t k = 0; k < x->n_ids; k++)
        x->order[k] = e[k].i;
    free(e);
}

void cfg_lookup_build(struct cfg *cfg, struct cfg_arena *arena)
{
    struct cfg_lookup *l = cfg_arena_alloc(arena, sizeof *l);
    sorted_build(&l->sources, arena, cfg->sources, cfg->n_sources, sizeof *cfg->sources,
                 offsetof(struct cfg_source, id));
    sorted_build(&l->metrics, arena, cfg->metrics, cfg->n_metrics, sizeof *cfg->metrics,
                 offsetof(struct cfg_metric, id));
    cfg->lookup = l;
}

/* Index of the first item with ID through X, or -1; -2 when X does not
 * index ARR[N] (then the caller searches). */
static long sorted_find(const struct cfg_sorted *x, const void *arr, size_t n, size_t size,
                        size_t id_off, const char *id)
{
    if (x->arr != arr || x->n != n)
        return -2;
#define ID_AT(k) (*(const char *const *)((const char *)arr + x->order[k] * size + id_off))
    size_t lo = 0, hi = x->n_ids;
    while (lo < hi) { /* the lower bound: ties are in index order */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ID_AT(mid), id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < x->n_ids && strcmp(ID_AT(lo), id) == 0 ? (long)x->order[lo] : -1;
#undef ID_AT
}

const struct cfg_source *cfg_find_source(const struct cfg *cfg, const char *id)
{
    if (!cfg || !id)
        return NULL;
    if (cfg->lookup) {
        long i = sorted_find(&cfg->lookup->sources, cfg->sources, cfg->n_sources,
                             sizeof *cfg->sources, offsetof(struct cfg_source, id), id);
        if (i != -2)
            return i >= 0 ? &cfg->sources[i] : NULL;
    }
    for (size_t i = 0; i < cfg->n_sources; i++)
        if (cfg->sources[i].id && strcmp(cfg->sources[i].id, id) == 0)
            return &cfg->sources[i];
    return NULL;
}

const struct cfg_metric *cfg_find_metric(const struct cfg *cfg, const char *id)
{
    if (!cfg || !id)
        return NULL;
    if (cfg->lookup) {
        long i = sorted_find(&cfg->lookup->metrics, cfg->metrics, cfg->n_metrics,
                             sizeof *cfg->metrics, offsetof(struct cfg_metric, id), id);
        if (i != -2)
            return i >= 0 ? &cfg->metrics[i] : NULL;
    }
    for (size_t i = 0; i < cfg->n_metrics; i++)
        if (cfg->metrics[i].id && strcmp(cfg->metrics[i].id, id) == 0)
            return &cfg->metrics[i];
    return NULL;
}

int64_t cfg_metric_poll_interval_ms(const struct cfg *cfg, const char *metric)
{
    for (size_t i = 0; cfg && metric && i < cfg->n_sources; i++) {
        const struct cfg_source *src = &cfg->sources[i];
        if (src->type == CFG_SRC_HTTP_JSON) {
            for (size_t e = 0; e < src->u.http.n_extract; e++)
                if (!strcmp(src->u.http.extract[e].metric, metric))
                    return src->u.http.interval_ms;
        } else if (src->type == CFG_SRC_PROMETHEUS) {
            for (size_t q = 0; q < src->u.prom.n_queries; q++)
                if (!strcmp(src->u.prom.queries[q].metric, metric))
                    return src->u.prom.interval_ms;
        }
    }
    return 0;
}

const struct cfg_objective *cfg_find_objective(const struct cfg *cfg, const char *id)
{
    for (size_t i = 0; cfg && id && i < cfg->n_objectives; i++)
        if (cfg->objectives[i].id && strcmp(cfg->objectives[i].id, id) == 0)
            return &cfg->objectives[i];
    return NULL;
}

const struct cfg_key_result *cfg_find_key_result(const struct cfg *cfg, const char *id)
{
    for (size_t i = 0; cfg && id && i < cfg->n_objectives; i++) {
        const struct cfg_objective *o = &cfg->objectives[i];
        for (size_t j = 0; j < o->n_key_results; j++)
            if (o->key_results[j].id && strcmp(o->key_results[j].id, id) == 0)
                return &o->key_results[j];
    }
    return NULL;
}

const struct cfg_webhook *cfg_find_webhook(const struct cfg *cfg, const char *id)
{
    for (size_t i = 0; cfg && id && i < cfg->n_webhooks; i++)
        if (cfg->webhooks[i].id && strcmp(cfg->webhooks[i].id, id) == 0)
            return &cfg->webhooks[i];
    return NULL;
}

/* ---- "did you mean" ---- */

size_t cfg_edit_distance(const char *a, const char *b)
{
    /* Keys are short; longer strings are never typos of a key, so cap the
     * work instead of allocating. */
    enum { MAXL = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > MAXL || lb > MAXL)
        return la > lb ? la : lb;
    size_t d[MAXL + 1][MAXL + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            /* a transposition ("intervla") costs one edit, not two */
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *cfg_suggest(const char *key, const char *const *known)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; known[i]; i++) {
        size_t d = strcasecmp(key, known[i]) == 0 ? 0 : cfg_edit_distance(key, known[i]);
        if (d < best_d) {
            best_d = d;
            best = known[i];
        }
    }
    if (!best)
        return NULL;
    /* Close enough to be a typo: one edit for short keys, up to a third of
     * the length for long ones ("strip" vs "skip" would be noise). */
    size_t len = strlen(best) > strlen(key) ? strlen(best) : strlen(key);
    size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : len / 3;
    if (strcasecmp(key, best) == 0)
        return best;
    return best_d <= limit ? best : NULL;
}
