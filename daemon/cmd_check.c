/*
 * cmd_check.c — `okrd check [-c FILE]`: validate the config (secrets
 * included: a missing one is an error) and print lint warnings. Exit 0 when
 * valid (warnings allowed), 1 on any error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "common/clock.h"
#include "evaluate.h"

static const char usage[] =
    "usage: okrd check [-c FILE]\n"
    "\n"
    "Validates FILE (default " OKRD_DEFAULT_CONFIG ") and its conf.d/*.json drop-ins:\n"
    "every key, type, id and reference, and that every ${env:}, ${file:} and ${cred:}\n"
    "secret resolves. Errors print as FILE:LINE:COL: message; warnings do not fail.\n"
    "It also lints OKR practice: 2 to 5 key results per objective, cycles of at most\n"
    "a year, and, from the stored data when there is a store, binary (0/1) metrics,\n"
    "`last` over a metric with a weekly pattern, and cycles whose key results were\n"
    "all achieved.\n"
    "exit codes: 0 valid, 1 invalid, 2 usage\n";

static void print_lints(const struct okr_lint *l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s:%d:%d: warning: %s: %s\n", l[i].pos->file, l[i].pos->line,
                l[i].pos->col, l[i].id, l[i].message);
}

/* What the data lints need of one key result's metric, asked of the store
 * without reading its history: whether it only ever held 0 and 1 (one query
 * that stops at the first other value) and, for a `last` aggregate, the
 * newest point of each of the last 8 weeks' days (56 indexed look-ups). So
 * `okrd check`, the unit's ExecStartPre, costs the same on a store of ten
 * years as on one of ten days. A ratio metric is derived: no data lints. */
static int kr_facts(struct store *st, const struct cfg *cfg, const struct cfg_key_result *kr,
                    struct okr_lint_facts *f, struct okrd_err *err)
{
    *f = (struct okr_lint_facts){ 0 };
    const struct cfg_metric *m = cfg_find_metric(cfg, kr->metric);
    if (m && m->ratio_num)
        return 0;
    int rc = store_metric_is_binary(st, kr->metric, &f->binary, err);
    if (rc < 0 || kr->aggregate.fn != CFG_AGG_LAST)
        return rc;
    struct store_point newest;
    rc = store_last_point(st, kr->metric, INT64_MAX, &newest, err);
    if (rc == OKRD_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    int64_t bounds[OKR_WEEKLY_DAYS + 1];
    size_t nb = okr_weekly_pattern_days(cfg->daemon.tz, newest.ts, bounds);
    struct store_series days = { 0 };
    rc = store_newest_in_ranges(st, kr->metric, bounds, nb, &days, err);
    int64_t ts[OKR_WEEKLY_DAYS];
    double v[OKR_WEEKLY_DAYS];
    for (size_t i = 0; rc == 0 && i < days.n && i < OKR_WEEKLY_DAYS; i++) {
        ts[i] = days.pts[i].ts;
        v[i] = days.pts[i].value;
    }
    if (rc == 0) {
        struct okr_series s = { ts, v, days.n < OKR_WEEKLY_DAYS ? days.n : OKR_WEEKLY_DAYS };
        f->weekly_pattern = okr_series_has_weekly_pattern(&s, cfg->daemon.tz);
    }
    store_series_free(&days);
    return rc;
}

/* The OKR-practice lints (DESIGN section 4), with facts from the store when
 * one exists (read-only; a missing store only skips the data lints). */
static void lint(const struct cfg *cfg)
{
    struct store *st = NULL;
    struct okrd_err err = { 0 };
    struct eval_snapshot snap = { 0 };
    struct eval_scratch scratch = { 0 };
    bool have_data = false;
    if (cli_store_open(cfg, "check", STORE_READONLY, &st, &err) == 0 && eval_snapshot_init(&snap, cfg) == 0)
        have_data = eval_compute(st, &snap, okrd_clock_now_s(&okrd_clock_system), NULL, &scratch,
                                 &err) == 0;
    struct okr_lint lints[16];
    size_t k = 0;
    for (size_t o = 0; o < cfg->n_objectives; o++) {
        const struct cfg_objective *obj = &cfg->objectives[o];
        size_t n = obj->n_key_results;
        struct okr_lint_facts *facts = calloc(n ? n : 1, sizeof *facts);
        bool ok = have_data && facts;
        for (size_t j = 0; ok && j < n; j++)
            ok = kr_facts(st, cfg, &obj->key_results[j], &facts[j], &err) == 0;
        size_t got = okr_lint_objective_facts(obj, ok ? facts : NULL,
                                              ok ? &snap.results[k] : NULL, lints, 16);
        print_lints(lints, got < 16 ? got : 16);
        free(facts);
        k += n;
    }
    eval_scratch_free(&scratch);
    eval_snapshot_free(&snap);
    store_close(st);
}

int cmd_check(int argc, char **argv)
{
    const char *path = OKRD_DEFAULT_CONFIG;
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "okrd check: unexpected argument \"%s\"\n%s", argv[optind], usage);
        return EXIT_USAGE;
    }
    struct cfg *cfg;
    int rc = cli_load_config(path, 0, &cfg);
    if (rc)
        return rc;
    size_t n_kr = 0;
    for (size_t i = 0; i < cfg->n_objectives; i++)
        n_kr += cfg->objectives[i].n_key_results;
    lint(cfg);
    printf("%s: ok (%zu sources, %zu metrics, %zu objectives, %zu key results, %zu webhooks)\n",
           path, cfg->n_sources, cfg->n_metrics, cfg->n_objectives, n_kr, cfg->n_webhooks);
    cfg_free(cfg);
    return 0;
}
