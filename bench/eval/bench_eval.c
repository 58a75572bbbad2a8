/*
 * bench_eval.c — the key-result engine at scale (issue: 10,000 key results
 * over 365 daily points each, mixed directions and aggregates):
 *   (a) one full evaluation by the pure engine, series already in memory;
 *   (b) a full evaluation reading every series from the store;
 *   (c) an incremental evaluation after one metric changed.
 * References, measured in the same run: (a) one pass summing every point
 * in memory; (b) walking every stored point once through the store; (c) the
 * per-key-result share of (b). Goals on the 2-core dev machine: (a) < 100 ms,
 * (b) < 2 s, (c) < 1 ms. Prints figures; asserts nothing (machines are noisy).
 *
 *   bench_eval [--pg CONNINFO] [N_KEY_RESULTS] [DAYS]
 *
 * The store is a SQLite file in a temporary directory, or with --pg the
 * PostgreSQL database CONNINFO names (DESIGN section 10; it must be empty:
 * `createdb` a fresh one, see bench/README.md), the same code above
 * store.h either way.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/parse.h"
#include "config/config.h"
#include "evaluate.h"
#include "okr/okr.h"
#include "store/store.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int count_cb(void *ctx, const char *m, int64_t t, double val)
{
    (void)m; (void)t; (void)val;
    (*(size_t *)ctx)++;
    return 0;
}

static const char *kinds[] = {
    "\"direction\": \"increase\", \"target\": \"+20%%\"",
    "\"direction\": \"decrease\", \"target\": \"-10%%\", \"aggregate\": {\"fn\": \"avg\", \"window\": \"7d\"}",
    "\"direction\": \"increase\", \"target\": 50000, \"aggregate\": {\"fn\": \"sum\", \"window\": \"cycle\"}",
    "\"direction\": \"at_least\", \"target\": 900",
    "\"direction\": \"increase\", \"target\": \"+500\", \"projection\": \"trend\"",
};

int main(int argc, char **argv)
{
    const char *pg = NULL;
    if (argc > 2 && !strcmp(argv[1], "--pg")) {
        pg = argv[2];
        argc -= 2;
        argv += 2;
    }
    int n_kr = argc > 1 ? atoi(argv[1]) : 10000, days = argc > 2 ? atoi(argv[2]) : 365;
    char dir[] = "/tmp/okrd-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    /* A config of n_kr/5 objectives x 5 key results over a one-year cycle. */
    char path[256];
    snprintf(path, sizeof path, "%s/okrd.json", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "{\"daemon\": {\"state_dir\": \"%s\", \"listen\": \"\"}, \"objectives\": [", dir);
    for (int o = 0; o < n_kr / 5; o++) {
        fprintf(f, "%s{\"id\": \"o%d\", \"title\": \"Objective %d\", \"cycle\": {\"start\": "
                   "\"2026-01-01\", \"end\": \"2026-12-31\"}, \"key_results\": [", o ? "," : "", o, o);
        for (int k = 0; k < 5; k++) {
            fprintf(f, "%s{\"id\": \"kr%d\", \"title\": \"Key result\", \"metric\": \"m%d\", ",
                    k ? "," : "", o * 5 + k, o * 5 + k);
            fprintf(f, kinds[k]);
            fprintf(f, "}");
        }
        fprintf(f, "]}");
    }
    fprintf(f, "]}\n");
    fclose(f);
    struct cfg *cfg;
    struct cfg_diags diags = { 0 };
    if (cfg_load(path, 0, &cfg, &diags) < 0) {
        for (size_t i = 0; i < diags.n; i++)
            fprintf(stderr, "%s\n", diags.items[i].text);
        return 1;
    }
    cfg_diags_free(&diags);

    /* The points: one a day per metric, in the store and in memory. */
    char db[300];
    snprintf(db, sizeof db, "%s/okrd.db", dir);
    struct store *st;
    struct okrd_err err = { 0 };
    struct store_loc loc = { .kind = pg ? STORE_POSTGRESQL : STORE_SQLITE, .path = db, .url = pg,
                             .role = "bench" };
    if (store_open_loc(&st, &loc, 0, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int64_t start = okrd_days_from_civil(2026, 1, 1) * 86400 - 86400;
    size_t n_pts = (size_t)n_kr * (size_t)days;
    int64_t *ts = malloc(n_pts * sizeof *ts);
    double *v = malloc(n_pts * sizeof *v);
    struct store_point_in *in = malloc((size_t)days * sizeof *in);
    char (*names)[16] = malloc((size_t)n_kr * sizeof *names);
    double t0 = now_ms();
    store_begin(st, &err);
    for (int k = 0; k < n_kr; k++) {
        snprintf(names[k], sizeof names[k], "m%d", k);
        for (int d = 0; d < days; d++) {
            size_t i = (size_t)k * days + d;
            ts[i] = start + (int64_t)d * 86400;
            v[i] = 1000 + d * (1 + k % 7) + 30 * sin(d / 3.0);
            in[d] = (struct store_point_in){ names[k], ts[i], v[i] };
        }
        if (store_put_points(st, in, (size_t)days, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    store_commit(st, &err);
    printf("setup: %d key results x %d points stored in %s in %.0f ms\n", n_kr, days,
           store_backend_of(st), now_ms() - t0);

    int64_t at = start + 300 * 86400; /* late October: most rules in play */
    struct eval_snapshot snap;
    eval_snapshot_init(&snap, cfg);

    /* (a) pure engine, best of 5 */
    double best_a = 1e18, best_ref_a = 1e18, sink = 0;
    for (int rep = 0; rep < 5; rep++) {
        t0 = now_ms();
        for (size_t k = 0; k < snap.n_krs; k++) {
            struct okr_series s = { ts + k * days, v + k * days, (size_t)days };
            okr_evaluate(snap.krs[k], &s, cfg->daemon.tz, at, &snap.results[k]);
        }
        okr_rollup_cfg(cfg->objectives, cfg->n_objectives, snap.results, snap.objs);
        double a = now_ms() - t0;
        best_a = a < best_a ? a : best_a;
        t0 = now_ms();
        for (size_t i = 0; i < n_pts; i++)
            sink += v[i];
        double r = now_ms() - t0;
        best_ref_a = r < best_ref_a ? r : best_ref_a;
    }
    /* (b) full evaluation from the store, best of 3 */
    struct eval_scratch x = { 0 };
    double best_b = 1e18, best_ref_b = 1e18;
    for (int rep = 0; rep < 3; rep++) {
        t0 = now_ms();
        if (eval_compute(st, &snap, at, NULL, &x, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        double b = now_ms() - t0;
        best_b = b < best_b ? b : best_b;
        t0 = now_ms();
        size_t count = 0;
        store_each_point(st, NULL, 0, INT64_MIN, INT64_MAX, count_cb, &count, &err);
        double r = now_ms() - t0;
        best_ref_b = r < best_ref_b ? r : best_ref_b;
    }
    /* (c) incremental: one key result selected, best of 20 */
    bool *sel = calloc(snap.n_krs, sizeof *sel);
    double best_c = 1e18;
    for (int rep = 0; rep < 20; rep++) {
        memset(sel, 0, snap.n_krs * sizeof *sel);
        sel[(size_t)rep * 37 % snap.n_krs] = true;
        t0 = now_ms();
        eval_compute(st, &snap, at, sel, &x, &err);
        double c = now_ms() - t0;
        best_c = c < best_c ? c : best_c;
    }
    printf("(a) pure engine, full:        %8.2f ms   reference (sum every point in memory) %7.2f ms   ratio %.1fx   goal < 100 ms\n",
           best_a, best_ref_a, best_a / best_ref_a);
    printf("(b) from the store, full:     %8.2f ms   reference (walk every stored point)   %7.2f ms   ratio %.2fx   goal < 2000 ms\n",
           best_b, best_ref_b, best_b / best_ref_b);
    printf("(c) incremental, one metric:  %8.3f ms   reference (b) per key result          %7.3f ms   ratio %.2fx   goal < 1 ms\n",
           best_c, best_b / n_kr, best_c / (best_b / n_kr));
    if (sink == 42)
        printf(" ");
    free(sel);
    eval_scratch_free(&x);
    eval_snapshot_free(&snap);
    store_close(st);
    cfg_free(cfg);
    free(ts); free(v); free(in); free(names);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}

