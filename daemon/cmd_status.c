/*
 * cmd_status.c — `okrd status`: every objective and key result evaluated
 * from the stored points, now or --at a date (DESIGN section 6). It reads
 * the store read-only and resolves no secrets, so it works beside the
 * running service, and it evaluates with the same code as the daemon
 * (evaluate.c), so the two never disagree. --json prints the document
 * that GET /api/v1/objectives serves (okr/okr_view.c).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "okr/okr_view.h"
#include "cli.h"
#include "common/clock.h"
#include "common/parse.h"
#include "evaluate.h"
#include "okrd.h"

static const char usage[] =
    "usage: okrd status [-c FILE] [--at DATE] [--json]\n"
    "\n"
    "Shows every objective and key result with a progress bar, progress, expected\n"
    "progress, projected score, how likely the target is reached (\"likely\", the\n"
    "forecast) and status, evaluated from the stored points (works while the\n"
    "daemon runs). --at evaluates as of a date (in daemon.timezone) or an\n"
    "ISO 8601 date-time instead of now. --json prints the document of\n"
    "GET /api/v1/objectives. Colours only on a terminal, never with NO_COLOR.\n";

struct style {
    bool color;
};

static const char *status_color(const struct style *st, enum okr_status s)
{
    if (!st->color)
        return "";
    switch (s) {
    case OKR_ON_TRACK:
    case OKR_ACHIEVED: return "\033[32m";
    case OKR_AT_RISK: return "\033[33m";
    case OKR_OFF_TRACK:
    case OKR_MISSED:
    case OKR_INVALID: return "\033[31m";
    default: return "\033[2m";
    }
}

static const char *reset(const struct style *st) { return st->color ? "\033[0m" : ""; }

static void pct(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "%5s", "-");
    else
        snprintf(buf, n, "%4.0f%%", v * 100);
}

/* A probability as a percentage, never rounded to a certainty it is not:
 * "<1%" and ">99%" as the Slack lines say (DESIGN section 9). */
static void likely(char *buf, size_t n, double p)
{
    if (p > 0.0 && p < 0.005)
        snprintf(buf, n, "%5s", "<1%");
    else if (p >= 0.995 && p < 1.0)
        snprintf(buf, n, "%5s", ">99%");
    else
        pct(buf, n, p);
}

static void num(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "%4s", "-");
    else
        snprintf(buf, n, "%4.2f", v);
}

static void bar(char *buf, double v)
{
    /* 20 cells; values beyond [0, 1] are shown full or empty. */
    int full = isnan(v) ? 0 : (int)floor((v < 0 ? 0 : v > 1 ? 1 : v) * 20 + 0.5);
    buf[0] = '[';
    for (int i = 0; i < 20; i++)
        buf[1 + i] = i < full ? '#' : '.';
    buf[21] = ']';
    buf[22] = '\0';
}

/* What follows the status: "(computed: X)" while a check-in's override
 * holds, and for an ended cycle the grade a check-in gave ("graded 0.70 by
 * alice"). */
static void status_notes(struct store *store, const struct eval_snapshot *s, size_t i,
                         char *buf, size_t size)
{
    size_t w = 0;
    buf[0] = '\0';
    const struct okr_result *k = &s->results[i];
    if (s->computed && s->computed[i] != k->status)
        w += (size_t)snprintf(buf, size, " (computed: %s)", okr_status_name(s->computed[i]));
    if (!k->final || !store || w >= size)
        return;
    const struct cfg_key_result *kr = s->krs[i];
    double grade;
    char author[65] = "";
    struct okrd_err err = { 0 };
    if (store_latest_grade(store, kr->id, kr->objective->cycle.start_date, &grade, author,
                           &err) == 0)
        snprintf(buf + w, size - w, " graded %.2f%s%s", grade, author[0] ? " by " : "", author);
}

static void print_objective(struct store *store, const struct eval_snapshot *s, size_t o,
                            size_t kr_first, int depth, const struct style *st, int idw)
{
    const struct cfg_objective *obj = &s->cfg->objectives[o];
    const struct okr_objective_result *r = &s->objs[o];
    char sc[16], pr[16];
    num(sc, sizeof sc, r->score);
    num(pr, sizeof pr, r->projected_score);
    printf("%*s%s: %s  score %s  projected %s  %s%s%s\n", depth * 2, "", obj->id, obj->title, sc, pr,
           status_color(st, r->status), okr_status_name(r->status), reset(st));
    for (size_t j = 0; j < obj->n_key_results; j++) {
        size_t i = kr_first + j;
        const struct okr_result *k = &s->results[i];
        char b[24], p[16], x[16], ps[16], fc[16], notes[160];
        bool level = s->krs[i]->direction == CFG_DIR_AT_LEAST || s->krs[i]->direction == CFG_DIR_AT_MOST;
        bar(b, level ? k->score : k->progress);
        pct(p, sizeof p, k->progress);
        pct(x, sizeof x, k->expected);
        num(ps, sizeof ps, k->projected_score);
        /* the forecast's probability (DESIGN section 9), "-" while null */
        likely(fc, sizeof fc, k->forecast.defined ? k->forecast.probability : NAN);
        status_notes(store, s, i, notes, sizeof notes);
        printf("%*s  %-*s %s %s  exp %s  proj %s  likely %s  %s%-9s%s%s%s  %s\n", depth * 2, "",
               idw, s->krs[i]->id, b, p, x, ps, fc, status_color(st, k->status),
               okr_status_name(k->status), reset(st), notes, s->stale[i] ? " stale" : "",
               s->krs[i]->title);
        if (k->status == OKR_INVALID)
            printf("%*s  %-*s %s\n", depth * 2, "", idw, "", k->reason);
    }
}

/* Objectives as a tree: roots in config order, each followed by its children. */
static void print_tree(struct store *store, const struct eval_snapshot *s, const size_t *first,
                       const struct cfg_objective *parent, int depth, const struct style *st,
                       int idw)
{
    for (size_t o = 0; o < s->cfg->n_objectives; o++) {
        if (s->cfg->objectives[o].parent != parent)
            continue;
        print_objective(store, s, o, first[o], depth, st, idw);
        print_tree(store, s, first, &s->cfg->objectives[o], depth + 1, st, idw);
    }
}

int cmd_status(int argc, char **argv)
{
    const char *path = OKRD_DEFAULT_CONFIG, *at_arg = NULL;
    bool json = false;
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "at", required_argument, NULL, 'a' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'a': at_arg = optarg; break;
        case 'j': json = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "okrd status: unexpected argument \"%s\"\n%s", argv[optind], usage);
        return EXIT_USAGE;
    }
    struct cfg *cfg;
    int rc = cli_load_config(path, CFG_NO_SECRETS, &cfg);
    if (rc)
        return rc;
    int64_t at = okrd_clock_now_s(&okrd_clock_system);
    struct store *st = NULL;
    struct okrd_err err = { 0 };
    struct eval_snapshot snap = { 0 };
    struct eval_scratch scratch = { 0 };
    size_t *first = NULL;
    if (at_arg && (rc = cli_parse_time_arg("--at", at_arg, cfg->daemon.tz, &at)))
        goto out;
    if (cli_store_open(cfg, "status", STORE_READONLY, &st, &err) < 0 ||
        eval_snapshot_init(&snap, cfg) < 0 || eval_compute(st, &snap, at, NULL, &scratch, &err) < 0) {
        fprintf(stderr, "okrd status: %s\n", err.msg[0] ? err.msg : "out of memory");
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (json) {
        json_t *doc = okr_view_objectives(&snap);
        char *text = doc ? okr_view_dump(doc, true) : NULL;
        json_decref(doc);
        if (!text) {
            rc = EXIT_RUNTIME;
            goto out;
        }
        puts(text);
        free(text);
        goto out;
    }
    first = calloc(cfg->n_objectives + 1, sizeof *first);
    if (!first) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    int idw = 8;
    for (size_t o = 0, k = 0; o < cfg->n_objectives; o++) {
        first[o] = k;
        k += cfg->objectives[o].n_key_results;
    }
    for (size_t i = 0; i < snap.n_krs; i++)
        if ((int)strlen(snap.krs[i]->id) > idw)
            idw = (int)strlen(snap.krs[i]->id);
    const char *nc = getenv("NO_COLOR");
    struct style sty = { .color = isatty(STDOUT_FILENO) && !(nc && *nc) };
    char atbuf[32];
    okrd_format_utc(at, atbuf, sizeof atbuf);
    printf("okrd status at %s\n\n", atbuf);
    if (cfg->n_objectives == 0)
        printf("no objectives configured in %s\n", path);
    print_tree(st, &snap, first, NULL, 0, &sty, idw);
    status_print_deliveries(st, cfg);
out:
    free(first);
    eval_scratch_free(&scratch);
    eval_snapshot_free(&snap);
    store_close(st);
    cfg_free(cfg);
    return rc;
}
