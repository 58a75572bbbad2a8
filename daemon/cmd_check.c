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

/* The OKR-practice lints (DESIGN section 4), with the stored series when a
 * store exists (read-only; a missing store only skips the data lints). */
static void lint(const struct cfg *cfg)
{
    char dbpath[4096];
    struct store *st = NULL;
    struct okrd_err err = { 0 };
    struct eval_snapshot snap = { 0 };
    struct eval_scratch scratch = { 0 };
    bool have_data = false;
    if (cli_store_path(cfg, dbpath, sizeof dbpath) == 0 &&
        store_open(&st, dbpath, STORE_READONLY, &err) == 0 && eval_snapshot_init(&snap, cfg) == 0)
        have_data = eval_compute(st, &snap, okrd_clock_now_s(&okrd_clock_system), NULL, &scratch,
                                 &err) == 0;
    struct okr_lint lints[16];
    size_t k = 0;
    for (size_t o = 0; o < cfg->n_objectives; o++) {
        const struct cfg_objective *obj = &cfg->objectives[o];
        size_t n = obj->n_key_results;
        struct store_series *raw = calloc(n ? n : 1, sizeof *raw);
        struct okr_series *series = calloc(n ? n : 1, sizeof *series);
        int64_t **ts = calloc(n ? n : 1, sizeof *ts);
        double **v = calloc(n ? n : 1, sizeof *v);
        bool ok = have_data && raw && series && ts && v;
        for (size_t j = 0; ok && j < n; j++) {
            const struct cfg_key_result *kr = &obj->key_results[j];
            const struct cfg_metric *m = cfg_find_metric(cfg, kr->metric);
            if (m && m->ratio_num)
                continue; /* a derived series: no 0/1 or weekday lint */
            if (store_get_series(st, kr->metric, INT64_MIN, INT64_MAX, &raw[j], &err) < 0)
                ok = false;
            ts[j] = malloc((raw[j].n ? raw[j].n : 1) * sizeof **ts);
            v[j] = malloc((raw[j].n ? raw[j].n : 1) * sizeof **v);
            if (!ts[j] || !v[j]) {
                ok = false;
                break;
            }
            for (size_t p = 0; p < raw[j].n; p++) {
                ts[j][p] = raw[j].pts[p].ts;
                v[j][p] = raw[j].pts[p].value;
            }
            series[j] = (struct okr_series){ ts[j], v[j], raw[j].n };
        }
        size_t got = okr_lint_objective(obj, ok ? series : NULL, ok ? &snap.results[k] : NULL,
                                        cfg->daemon.tz, lints, 16);
        print_lints(lints, got < 16 ? got : 16);
        for (size_t j = 0; j < n; j++) {
            if (raw)
                store_series_free(&raw[j]);
            if (ts)
                free(ts[j]);
            if (v)
                free(v[j]);
        }
        free(raw);
        free(series);
        free(ts);
        free(v);
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
