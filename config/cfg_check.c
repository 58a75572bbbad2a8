/*
 * cfg_check.c — the checks that need the whole config: duplicate ids (also
 * across drop-ins), parent objectives and their cycles, ratio inputs, and the
 * objective and webhook ids that webhooks and the digest name.
 *
 * Runs after every file is validated, on the partly filled structs of a
 * config that may already have errors, so every field may be NULL. Ids are
 * looked up through a sorted index: a config may hold thousands of key
 * results, and n² string compares would make `okrd check` slow for them.
 */
#include "cfg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct id_ent {
    const char *id;
    size_t i;                 /* index in its array (or flattened key result) */
};

struct id_index {
    struct id_ent *e;
    size_t n;
};

static int cmp_ent(const void *pa, const void *pb)
{
    const struct id_ent *a = pa, *b = pb;
    int r = strcmp(a->id, b->id);
    if (r)
        return r;
    return a->i < b->i ? -1 : a->i > b->i;
}

static void index_sort(struct id_index *x)
{
    qsort(x->e, x->n, sizeof *x->e, cmp_ent);
}

/* First definition of ID, or -1. */
static long index_find(const struct id_index *x, const char *id)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(x->e[mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < x->n && strcmp(x->e[lo].id, id) == 0 ? (long)x->e[lo].i : -1;
}

static const char *nearest(const struct id_index *x, const char *id)
{
    const char *best = NULL;
    size_t bd = (size_t)-1;
    for (size_t k = 0; k < x->n; k++) {
        size_t d = cfg_edit_distance(id, x->e[k].id);
        if (d < bd) {
            bd = d;
            best = x->e[k].id;
        }
    }
    size_t len = strlen(id);
    return best && bd <= (len <= 4 ? 1 : len <= 8 ? 2 : len / 3) ? best : NULL;
}

/* Reports every later definition of an id, naming the first one. REFS[i]
 * locates item i; WHAT names the kind ("source"). */
static void report_dups(struct cfg_ctx *c, const struct id_index *x, const struct cfg_ref *refs,
                        const char *what)
{
    for (size_t k = 1; k < x->n; k++) {
        if (strcmp(x->e[k].id, x->e[k - 1].id) != 0)
            continue;
        size_t first = k - 1;
        while (first > 0 && strcmp(x->e[first - 1].id, x->e[k].id) == 0)
            first--;
        const struct cfg_ref *r0 = &refs[x->e[first].i], *r1 = &refs[x->e[k].i];
        cfg_err_ref(c, r1, ".id", "duplicate %s id \"%s\" (first defined at %s)", what,
                    x->e[k].id, cfg_ref_where(c, r0, ".id"));
    }
}

static struct id_index build(struct cfg_ctx *c, size_t n, const char *(*get)(const void *, size_t),
                             const void *arr)
{
    struct id_index x = { cfg_arena_array(&c->tmp, n + 1, sizeof(struct id_ent)), 0 };
    for (size_t i = 0; i < n; i++) {
        const char *id = get(arr, i);
        if (id)
            x.e[x.n++] = (struct id_ent){ id, i };
    }
    index_sort(&x);
    return x;
}

static const char *src_id(const void *a, size_t i) { return ((const struct cfg_source *)a)[i].id; }
static const char *met_id(const void *a, size_t i) { return ((const struct cfg_metric *)a)[i].id; }
static const char *obj_id(const void *a, size_t i) { return ((const struct cfg_objective *)a)[i].id; }
static const char *wh_id(const void *a, size_t i) { return ((const struct cfg_webhook *)a)[i].id; }

static void check_parents(struct cfg_ctx *c, const struct id_index *objs)
{
    struct cfg *cfg = c->cfg;
    for (size_t i = 0; i < cfg->n_objectives; i++) {
        struct cfg_objective *o = &cfg->objectives[i];
        if (!o->parent_id)
            continue;
        long p = index_find(objs, o->parent_id);
        if (p < 0) {
            const char *hint = nearest(objs, o->parent_id);
            if (hint)
                cfg_err_ref(c, &c->obj_ref[i], ".parent", "unknown parent objective \"%s\" "
                            "\xe2\x80\x94 did you mean \"%s\"?", o->parent_id, hint);
            else
                cfg_err_ref(c, &c->obj_ref[i], ".parent", "unknown parent objective \"%s\"",
                            o->parent_id);
            continue;
        }
        o->parent = &cfg->objectives[p];
    }
    /* Parent chains: 0 = not seen, 1 = on the chain being walked, 2 = done. */
    unsigned char *state = cfg_arena_alloc(&c->tmp, cfg->n_objectives + 1);
    for (size_t i = 0; i < cfg->n_objectives; i++) {
        size_t k = i;
        while (state[k] == 0) {
            state[k] = 1;
            const struct cfg_objective *p = cfg->objectives[k].parent;
            if (!p)
                break;
            k = (size_t)(p - cfg->objectives);
        }
        if (state[k] == 1 && cfg->objectives[k].parent) {
            /* k is on a cycle: name it once, at k's parent key */
            size_t len = 0;
            size_t j = k;
            do {
                len += strlen(cfg->objectives[j].id) + 4;
                j = (size_t)(cfg->objectives[j].parent - cfg->objectives);
            } while (j != k);
            char *chain = cfg_arena_alloc(&c->tmp, len + strlen(cfg->objectives[k].id) + 1);
            j = k;
            do {
                strcat(chain, cfg->objectives[j].id);
                strcat(chain, " -> ");
                j = (size_t)(cfg->objectives[j].parent - cfg->objectives);
            } while (j != k);
            strcat(chain, cfg->objectives[k].id);
            cfg_err_ref(c, &c->obj_ref[k], ".parent", "parent objectives form a cycle: %s",
                        chain);
        }
        for (k = i; state[k] == 1;) {
            state[k] = 2;
            const struct cfg_objective *p = cfg->objectives[k].parent;
            if (!p)
                break;
            k = (size_t)(p - cfg->objectives);
        }
    }
}

static void check_ratios(struct cfg_ctx *c, const struct id_index *mets)
{
    struct cfg *cfg = c->cfg;
    for (size_t i = 0; i < cfg->n_metrics; i++) {
        const struct cfg_metric *m = &cfg->metrics[i];
        const char *in[2] = { m->ratio_num, m->ratio_den };
        for (int k = 0; k < 2 && m->ratio_num; k++) {
            const char *sub = k == 0 ? ".ratio[0]" : ".ratio[1]";
            long j = index_find(mets, in[k]);
            if (m->id && strcmp(in[k], m->id) == 0)
                cfg_err_ref(c, &c->met_ref[i], sub, "a ratio metric cannot use itself (\"%s\")",
                            in[k]);
            else if (j >= 0 && cfg->metrics[j].ratio_num)
                cfg_err_ref(c, &c->met_ref[i], sub, "\"%s\" is itself a ratio metric; ratios "
                            "do not nest", in[k]);
        }
    }
}

static void check_named(struct cfg_ctx *c, const struct id_index *x, const struct cfg_ref *ref,
                        const char *list_path, char **ids, size_t n, const char *what)
{
    for (size_t k = 0; k < n; k++) {
        if (!ids[k] || index_find(x, ids[k]) >= 0)
            continue;
        char sub[96];
        snprintf(sub, sizeof sub, "%s[%zu]", list_path, k);
        const char *hint = nearest(x, ids[k]);
        if (hint)
            cfg_err_ref(c, ref, sub, "unknown %s \"%s\" \xe2\x80\x94 did you mean \"%s\"?",
                        what, ids[k], hint);
        else
            cfg_err_ref(c, ref, sub, "unknown %s \"%s\"", what, ids[k]);
    }
}

void cfg_check_all(struct cfg_ctx *c)
{
    struct cfg *cfg = c->cfg;
    struct id_index srcs = build(c, cfg->n_sources, src_id, cfg->sources);
    struct id_index mets = build(c, cfg->n_metrics, met_id, cfg->metrics);
    struct id_index objs = build(c, cfg->n_objectives, obj_id, cfg->objectives);
    struct id_index whs = build(c, cfg->n_webhooks, wh_id, cfg->webhooks);
    report_dups(c, &srcs, c->src_ref, "source");
    report_dups(c, &mets, c->met_ref, "metric");
    report_dups(c, &objs, c->obj_ref, "objective");
    report_dups(c, &whs, c->wh_ref, "webhook");

    /* key results: one id space across all objectives */
    size_t n_kr = 0;
    for (size_t i = 0; i < cfg->n_objectives; i++)
        n_kr += cfg->objectives[i].n_key_results;
    struct id_index krs = { cfg_arena_array(&c->tmp, n_kr + 1, sizeof(struct id_ent)), 0 };
    struct cfg_ref *kr_refs = cfg_arena_array(&c->tmp, n_kr + 1, sizeof *kr_refs);
    size_t flat = 0;
    for (size_t i = 0; i < cfg->n_objectives; i++) {
        for (size_t j = 0; j < cfg->objectives[i].n_key_results; j++, flat++) {
            kr_refs[flat] = c->kr_ref[i][j];
            if (cfg->objectives[i].key_results[j].id)
                krs.e[krs.n++] = (struct id_ent){ cfg->objectives[i].key_results[j].id, flat };
        }
    }
    index_sort(&krs);
    report_dups(c, &krs, kr_refs, "key result");

    check_parents(c, &objs);
    check_ratios(c, &mets);
    for (size_t i = 0; i < cfg->n_webhooks; i++)
        check_named(c, &objs, &c->wh_ref[i], ".objectives", cfg->webhooks[i].objectives,
                    cfg->webhooks[i].n_objectives, "objective");
    if (cfg->alerts.has_digest) {
        struct cfg_ref r = { 0, "alerts.digest" };
        check_named(c, &whs, &r, ".webhooks", cfg->alerts.digest_webhooks,
                    cfg->alerts.n_digest_webhooks, "webhook");
    }
    if (cfg->checkins.n_webhooks) {
        struct cfg_ref r = { 0, "checkins" };
        check_named(c, &whs, &r, ".webhooks", cfg->checkins.webhooks,
                    cfg->checkins.n_webhooks, "webhook");
    }
}
