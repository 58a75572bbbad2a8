/*
 * fuzz_config.c — cfg_load_string on arbitrary bytes, with and without
 * CFG_NO_SECRETS.
 *
 * Properties: it never crashes or leaks; it either succeeds with no error
 * diagnostics or fails with OKRD_EINVAL, a NULL config and at least one
 * error; every diagnostic names the file; at most CFG_MAX_ERRORS_PER_FILE
 * errors plus one "... more" line are listed; a loaded config keeps the
 * promises of config.h (key results point at their objective, parents form
 * no cycle, milestones increase). The input is not NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_cfg(const struct cfg *cfg)
{
    for (size_t i = 0; i < cfg->n_objectives; i++) {
        const struct cfg_objective *o = &cfg->objectives[i];
        check(o->id && o->title);
        check(o->cycle.start_s < o->cycle.end_s);
        size_t steps = 0;
        for (const struct cfg_objective *p = o->parent; p; p = p->parent)
            check(++steps <= cfg->n_objectives && p != o);
        for (size_t j = 0; j < o->n_key_results; j++) {
            const struct cfg_key_result *k = &o->key_results[j];
            check(k->objective == o && k->id && k->metric);
            check(cfg_find_key_result(cfg, k->id) != NULL);
            check(k->off_track <= k->at_risk);
            for (size_t m = 1; m < k->n_milestones; m++)
                check(k->milestones[m].at_s > k->milestones[m - 1].at_s &&
                      k->milestones[m].progress >= k->milestones[m - 1].progress);
        }
    }
    for (size_t i = 0; i < cfg->n_metrics; i++)
        check((cfg->metrics[i].ratio_num == NULL) == (cfg->metrics[i].ratio_den == NULL) &&
              cfg->metrics[i].scale != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned flags[] = { 0, CFG_NO_SECRETS };
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
        struct cfg *cfg = NULL;
        struct cfg_diags d;
        int rc = cfg_load_string((const char *)data, size, "fuzz.json", flags[f], &cfg, &d);
        size_t errors = 0;
        for (size_t i = 0; i < d.n; i++) {
            check(d.items[i].text != NULL);
            check(strstr(d.items[i].text, "fuzz.json") != NULL);
            errors += d.items[i].severity == CFG_SEV_ERROR;
        }
        check(errors <= CFG_MAX_ERRORS_PER_FILE + 1 && errors <= d.n_errors);
        if (rc == 0) {
            check(cfg != NULL && d.n_errors == 0);
            check_cfg(cfg);
        } else {
            check(rc == OKRD_EINVAL && cfg == NULL && d.n_errors > 0 && errors > 0);
        }
        cfg_free(cfg);
        cfg_diags_free(&d);
    }
    return 0;
}
