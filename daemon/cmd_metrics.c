/*
 * cmd_metrics.c — `okrd metrics`: every metric id the store holds (and
 * every one the config names) with its point count, first and last point,
 * last value, the sources that fed it and the key results that use it,
 * `unlinked` when none does (DESIGN section 6) — what the data holds
 * before a key result is written. Read-only like `status`: the store is
 * opened read-only, nothing is created in state_dir and no secret is
 * resolved, so it runs beside the service. The document comes from
 * api_metric_list, the one GET /api/v1/metrics serves; the table is drawn
 * from that same document.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "cli.h"
#include "common/parse.h"
#include "okr/okr_view.h"
#include "store/store.h"

static const char usage[] =
    "usage: okrd metrics [-c FILE] [--json]\n"
    "\n"
    "Lists every metric id the store holds, and every one the config names, with\n"
    "its point count, first and last point, last value, the sources that fed it and\n"
    "the key results that use it (\"unlinked\" when none does). Reads the store\n"
    "read-only: works while the daemon runs. --json prints the document of\n"
    "GET /api/v1/metrics. Colours only on a terminal, never with NO_COLOR.\n";

enum { COL_ID, COL_POINTS, COL_FIRST, COL_LAST, COL_VALUE, COL_SOURCES, COL_KRS, N_COLS };

static const char *const headers[N_COLS] = {
    "METRIC", "POINTS", "FIRST", "LAST", "LAST VALUE", "SOURCES", "KEY RESULTS",
};

/* The cells of one row, malloc'd. */
struct row {
    char *cell[N_COLS];
    bool unlinked;
};

/* The strings of ARR joined with ", " ("-" when empty), prefixed by PRE. */
static char *join(const char *pre, const json_t *arr)
{
    size_t n = strlen(pre) + 2, i;
    json_t *v;
    json_array_foreach(arr, i, v)
        n += strlen(json_string_value(v)) + 2;
    char *s = malloc(n);
    if (!s)
        return NULL;
    strcpy(s, pre);
    json_array_foreach(arr, i, v) {
        if (i)
            strcat(s, ", ");
        strcat(s, json_string_value(v));
    }
    if (!*s)
        strcpy(s, "-");
    return s;
}

static char *text_or_dash(const json_t *v)
{
    return strdup(json_is_string(v) ? json_string_value(v) : "-");
}

static int fill_row(struct row *r, const json_t *e)
{
    char buf[256], num[40];
    r->cell[COL_ID] = strdup(json_string_value(json_object_get(e, "id")));
    snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(json_object_get(e, "points")));
    r->cell[COL_POINTS] = strdup(buf);
    r->cell[COL_FIRST] = text_or_dash(json_object_get(e, "first_point_at"));
    r->cell[COL_LAST] = text_or_dash(json_object_get(e, "last_point_at"));
    const json_t *lv = json_object_get(e, "last_value"), *unit = json_object_get(e, "unit");
    if (json_is_number(lv)) {
        okrd_format_double(json_number_value(lv), num, sizeof num);
        snprintf(buf, sizeof buf, "%s%s%s", num, json_is_string(unit) ? " " : "",
                 json_is_string(unit) ? json_string_value(unit) : "");
    } else {
        snprintf(buf, sizeof buf, "-");
    }
    r->cell[COL_VALUE] = strdup(buf);
    /* A ratio metric has no points of its own: its inputs stand where the
     * sources would. */
    const json_t *ratio = json_object_get(e, "ratio");
    if (json_is_object(ratio)) {
        snprintf(buf, sizeof buf, "ratio %s / %s",
                 json_string_value(json_object_get(ratio, "numerator")),
                 json_string_value(json_object_get(ratio, "denominator")));
        r->cell[COL_SOURCES] = strdup(buf);
    } else {
        r->cell[COL_SOURCES] = join("", json_object_get(e, "sources"));
    }
    r->unlinked = json_is_true(json_object_get(e, "unlinked"));
    r->cell[COL_KRS] = r->unlinked ? strdup("unlinked") : join("", json_object_get(e, "key_results"));
    for (int c = 0; c < N_COLS; c++)
        if (!r->cell[c])
            return OKRD_ENOMEM;
    return 0;
}

static int print_table(const json_t *doc, const char *config_path, bool color)
{
    const json_t *arr = json_object_get(doc, "metrics");
    size_t n = json_array_size(arr);
    if (n == 0) {
        printf("no metrics stored, and none named in %s\n", config_path);
        return 0;
    }
    struct row *rows = calloc(n, sizeof *rows);
    int rc = rows ? 0 : OKRD_ENOMEM;
    int w[N_COLS];
    for (int c = 0; c < N_COLS; c++)
        w[c] = (int)strlen(headers[c]);
    for (size_t i = 0; !rc && i < n; i++) {
        rc = fill_row(&rows[i], json_array_get(arr, i));
        for (int c = 0; !rc && c < N_COLS; c++)
            if ((int)strlen(rows[i].cell[c]) > w[c])
                w[c] = (int)strlen(rows[i].cell[c]);
    }
    if (!rc) {
        /* Numbers right-aligned, text left; the last column unpadded. */
        printf("%-*s  %*s  %-*s  %-*s  %*s  %-*s  %s\n", w[0], headers[0], w[1], headers[1], w[2],
               headers[2], w[3], headers[3], w[4], headers[4], w[5], headers[5], headers[6]);
        for (size_t i = 0; i < n; i++) {
            char **c = rows[i].cell;
            bool hl = color && rows[i].unlinked;
            printf("%-*s  %*s  %-*s  %-*s  %*s  %-*s  %s%s%s\n", w[0], c[0], w[1], c[1], w[2], c[2],
                   w[3], c[3], w[4], c[4], w[5], c[5], hl ? "\033[33m" : "", c[6], hl ? "\033[0m" : "");
        }
    }
    for (size_t i = 0; rows && i < n; i++)
        for (int c = 0; c < N_COLS; c++)
            free(rows[i].cell[c]);
    free(rows);
    return rc;
}

int cmd_metrics(int argc, char **argv)
{
    const char *path = OKRD_DEFAULT_CONFIG;
    bool json = false;
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'j': json = true; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "okrd metrics: unexpected argument \"%s\"\n%s", argv[optind], usage);
        return EXIT_USAGE;
    }
    struct cfg *cfg;
    int rc = cli_load_config(path, CFG_NO_SECRETS, &cfg);
    if (rc)
        return rc;
    struct store *st = NULL;
    struct okrd_err err = { 0 };
    json_t *doc = NULL;
    if (cli_store_open(cfg, "metrics", STORE_READONLY, &st, &err) < 0 ||
        api_metric_list(st, cfg, &doc, &err) < 0) {
        fprintf(stderr, "okrd metrics: %s\n", err.msg);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (json) {
        char *text = okr_view_dump(doc, true);
        if (!text) {
            fputs("okrd metrics: out of memory\n", stderr);
            rc = EXIT_RUNTIME;
            goto out;
        }
        puts(text);
        free(text);
    } else {
        const char *nc = getenv("NO_COLOR");
        bool color = isatty(STDOUT_FILENO) && !(nc && *nc);
        if (print_table(doc, path, color) < 0) {
            fputs("okrd metrics: out of memory\n", stderr);
            rc = EXIT_RUNTIME;
            goto out;
        }
    }
    if (fflush(stdout) != 0) {
        perror("okrd metrics: stdout");
        rc = EXIT_RUNTIME;
    }
out:
    json_decref(doc);
    store_close(st);
    cfg_free(cfg);
    return rc;
}
