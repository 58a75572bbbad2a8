/*
 * api_cache.c — the last rendering of an evaluation, reused while the
 * evaluation is the same. GET /api/v1/objectives and the key-result part of
 * /metrics for 1,000 key results take milliseconds to build (mostly
 * allocator work) and change only when an evaluation completes, while
 * pollers and dashboards ask far more often.
 *
 * The key is the snapshot's CONTENT (config pointer, instant, every result,
 * stale flag, roll-up and previous status), not its address: the daemon
 * keeps the last evaluation in one place and a new evaluation in the same
 * second may reuse freed memory, so a pointer or a timestamp alone could
 * match a different evaluation. Comparing ~250 bytes per key result costs
 * microseconds; a miss only costs a rebuild.
 */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

static bool same(const struct api_cache *c, const struct eval_snapshot *s)
{
    if (!c->text || c->cfg != s->cfg || c->at_s != s->at_s || c->n_krs != s->n_krs ||
        c->n_objs != s->cfg->n_objectives)
        return false;
    if (memcmp(c->results, s->results, s->n_krs * sizeof *s->results) ||
        memcmp(c->stale, s->stale, s->n_krs * sizeof *s->stale) ||
        memcmp(c->objs, s->objs, c->n_objs * sizeof *s->objs))
        return false;
    for (size_t i = 0; i < s->n_krs; i++) {
        const char *p = s->previous_status ? s->previous_status[i] : NULL;
        if (strcmp(c->prev[i], p ? p : "") != 0)
            return false;
    }
    return true;
}

char *api_cache_copy(const struct api_cache *c, const struct eval_snapshot *s, size_t *len)
{
    if (!s || !same(c, s))
        return NULL;
    char *t = malloc(c->len + 1);
    if (t) {
        memcpy(t, c->text, c->len + 1);
        *len = c->len;
    }
    return t;
}

void api_cache_put(struct api_cache *c, const struct eval_snapshot *s, const char *text, size_t len)
{
    api_cache_free(c);
    size_t n = s->n_krs ? s->n_krs : 1, no = s->cfg->n_objectives ? s->cfg->n_objectives : 1;
    c->results = malloc(n * sizeof *c->results);
    c->stale = malloc(n * sizeof *c->stale);
    c->objs = malloc(no * sizeof *c->objs);
    c->prev = calloc(n, sizeof *c->prev);
    c->text = malloc(len + 1);
    if (!c->results || !c->stale || !c->objs || !c->prev || !c->text) {
        api_cache_free(c); /* no cache: the next request builds again */
        return;
    }
    c->cfg = s->cfg;
    c->at_s = s->at_s;
    c->n_krs = s->n_krs;
    c->n_objs = s->cfg->n_objectives;
    memcpy(c->results, s->results, s->n_krs * sizeof *s->results);
    memcpy(c->stale, s->stale, s->n_krs * sizeof *s->stale);
    memcpy(c->objs, s->objs, c->n_objs * sizeof *s->objs);
    for (size_t i = 0; i < s->n_krs; i++) {
        const char *p = s->previous_status ? s->previous_status[i] : NULL;
        snprintf(c->prev[i], sizeof c->prev[i], "%s", p ? p : "");
    }
    memcpy(c->text, text, len);
    c->text[len] = '\0';
    c->len = len;
}

void api_cache_free(struct api_cache *c)
{
    free(c->results);
    free(c->stale);
    free(c->objs);
    free(c->prev);
    free(c->text);
    memset(c, 0, sizeof *c);
}
