/*
 * okr_rollup.c — objectives: weighted averages of their key results and of
 * their child objectives, recursively (DESIGN section 4).
 *
 * Owns the objective's score, projected score and status; takes key-result
 * results as evaluated by okr_status.c. Works in the caller's output array
 * (no allocation): key results are summed into their objective first, then
 * objectives are finished deepest first, each adding itself to its parent,
 * so a parent is finished only after all of its children.
 */
#include <math.h>
#include <stdint.h>
#include "okr.h"

static void acc_reset(struct okr_objective_result *o)
{
    o->status = OKR_NO_DATA;
    o->score = o->projected_score = NAN;
    o->depth = 0;
    o->acc_w = o->acc_score = o->acc_wp = o->acc_proj = 0.0;
    o->acc_members = o->acc_pending = 0;
}

/* Adds one member (a key result or a child objective) with a score. */
static void acc_add(struct okr_objective_result *o, double weight, double score,
                    double projected, bool pending)
{
    if (isnan(score) || !(weight > 0.0))
        return;               /* no score: left out (weight 0: no say) */
    o->acc_w += weight;
    o->acc_score += weight * pace_clamp01(score);
    if (!isnan(projected)) {
        o->acc_wp += weight;
        o->acc_proj += weight * pace_clamp01(projected);
    }
    o->acc_members++;
    o->acc_pending += pending;
}

static void finish(struct okr_objective_result *o)
{
    if (o->acc_members == 0) {
        o->status = OKR_NO_DATA;
        return;
    }
    o->score = o->acc_score / o->acc_w;
    o->projected_score = o->acc_wp > 0.0 ? o->acc_proj / o->acc_wp : NAN;
    if (o->acc_pending == o->acc_members || isnan(o->projected_score))
        o->status = OKR_PENDING;
    else if (o->projected_score >= OKR_OBJ_AT_RISK)
        o->status = OKR_ON_TRACK;
    else if (o->projected_score >= OKR_OBJ_OFF_TRACK)
        o->status = OKR_AT_RISK;
    else
        o->status = OKR_OFF_TRACK;
}

static void add_kr(struct okr_objective_result *o, double weight, const struct okr_result *r)
{
    if (r->status == OKR_NO_DATA || r->status == OKR_INVALID)
        return;
    acc_add(o, weight, r->score, r->projected_score, r->status == OKR_PENDING);
}

/* Where objective i hangs and with which weight, whichever form the caller
 * described the tree in. */
struct tree {
    size_t (*parent)(const void *objs, size_t n, size_t i);
    double (*weight)(const void *objs, size_t i);
    const void *objs;
    size_t n;
};

/* Depths from the parent links, then children into parents, deepest first. */
static int roll_up(const struct tree *t, struct okr_objective_result *out)
{
    int max_depth = 0;
    for (size_t i = 0; i < t->n; i++) {
        int d = 0;
        for (size_t p = t->parent(t->objs, t->n, i); p != OKR_NO_PARENT;
             p = t->parent(t->objs, t->n, p)) {
            if (p >= t->n || (size_t)d >= t->n)
                return OKRD_EINVAL;   /* out of range, or a cycle */
            d++;
        }
        out[i].depth = d;
        if (d > max_depth)
            max_depth = d;
    }
    for (int d = max_depth; d >= 0; d--) {
        for (size_t i = 0; i < t->n; i++) {
            if (out[i].depth != d)
                continue;
            finish(&out[i]);
            if (d > 0)
                acc_add(&out[t->parent(t->objs, t->n, i)], t->weight(t->objs, i),
                        out[i].score, out[i].projected_score,
                        out[i].status == OKR_PENDING);
        }
    }
    return 0;
}

static size_t arr_parent(const void *objs, size_t n, size_t i)
{
    (void)n;
    return ((const struct okr_rollup_obj *)objs)[i].parent;
}

static double arr_weight(const void *objs, size_t i)
{
    return ((const struct okr_rollup_obj *)objs)[i].weight;
}

int okr_rollup(const struct okr_rollup_obj *objs, size_t n_objs,
               const struct okr_rollup_kr *krs, size_t n_krs,
               struct okr_objective_result *out)
{
    for (size_t i = 0; i < n_objs; i++)
        acc_reset(&out[i]);
    for (size_t k = 0; k < n_krs; k++) {
        if (krs[k].objective >= n_objs)
            return OKRD_EINVAL;
        add_kr(&out[krs[k].objective], krs[k].weight, krs[k].result);
    }
    struct tree t = { arr_parent, arr_weight, objs, n_objs };
    return roll_up(&t, out);
}

/* cfg parents are pointers into the same array; one outside it (never made
 * by config/) maps to n, which roll_up rejects. */
static size_t cfg_parent(const void *objs, size_t n, size_t i)
{
    const struct cfg_objective *o = objs;
    const struct cfg_objective *p = o[i].parent;
    if (!p)
        return OKR_NO_PARENT;
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)o, hi = (uintptr_t)(o + n);
    if (a < lo || a >= hi)
        return n;
    return (size_t)(a - lo) / sizeof *o;
}

static double cfg_weight(const void *objs, size_t i)
{
    return ((const struct cfg_objective *)objs)[i].weight;
}

int okr_rollup_cfg(const struct cfg_objective *objs, size_t n_objs,
                   const struct okr_result *kr_results,
                   struct okr_objective_result *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n_objs; i++) {
        acc_reset(&out[i]);
        for (size_t j = 0; j < objs[i].n_key_results; j++, k++)
            add_kr(&out[i], objs[i].key_results[j].weight, &kr_results[k]);
    }
    struct tree t = { cfg_parent, cfg_weight, objs, n_objs };
    return roll_up(&t, out);
}
