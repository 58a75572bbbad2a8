/*
 * cmd_retro.c — `okrd retro`: the retrospective of a cycle (DESIGN section
 * 9) from the archive, read-only like `status` (no file created in
 * state_dir, no secret resolved), so it runs beside the service and after
 * the config has dropped the cycle's objectives. The document is
 * retro_document's (the same as GET /api/v1/retro); this file only prints
 * it: a plain table, GitHub-flavoured Markdown (every text cell escaped)
 * or the JSON itself.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/clock.h"
#include "okr/okr_view.h"
#include "remind.h"
#include "retro.h"

static const char usage[] =
    "usage: okrd retro [-c FILE] [--cycle Q] [--json | --markdown]\n"
    "\n"
    "The retrospective of a cycle from okrd's archive: per objective its final\n"
    "score, per key result its grade (and the one people gave), how many days it\n"
    "spent in each status, when it first went off track and whether it recovered,\n"
    "from when a miss was knowable, its check-ins; then the lints. Q is YYYY-Qn or\n"
    "START..END (dates); default: the archived cycle that ended most recently. A\n"
    "cycle still running is shown as of now (\"final\": false). Works after the\n"
    "config dropped the cycle's objectives. --markdown prints GitHub tables,\n"
    "--json the document of GET /api/v1/retro.\n";

/* ---- shared formatting ---- */

static void fmt_num(char *buf, size_t n, json_t *v)
{
    if (!json_is_number(v)) {
        snprintf(buf, n, "-");
        return;
    }
    double x = json_number_value(v);
    snprintf(buf, n, "%.10g", x);
}

static const char *str_or(json_t *v, const char *dflt)
{
    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* "on_track 40, at_risk 12" */
static void fmt_days(char *buf, size_t n, json_t *days)
{
    const char *k;
    json_t *v;
    size_t o = 0;
    buf[0] = '\0';
    json_object_foreach(days, k, v) {
        int w = snprintf(buf + o, n - o, "%s%s %lld", o ? ", " : "", k,
                         (long long)json_integer_value(v));
        if (w < 0 || (size_t)w >= n - o)
            break;
        o += (size_t)w;
    }
    if (!o)
        snprintf(buf, n, "-");
}

static void fmt_given(char *buf, size_t n, json_t *kr)
{
    json_t *g = json_object_get(kr, "given_grade");
    if (!json_is_number(g)) {
        snprintf(buf, n, "-");
        return;
    }
    snprintf(buf, n, "%.10g (%s)", json_number_value(g),
             str_or(json_object_get(kr, "given_by"), "?"));
}

static const char *fmt_recovered(json_t *v)
{
    return json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "-";
}

/* ---- the table ---- */

static void print_table(json_t *doc)
{
    json_t *cy = json_object_get(doc, "cycle");
    printf("Retrospective %s..%s%s\n", str_or(json_object_get(cy, "start"), "?"),
           str_or(json_object_get(cy, "end"), "?"),
           json_is_true(json_object_get(doc, "final")) ? "" : " (running: as of now, not final)");
    size_t i, j;
    json_t *o, *k;
    json_array_foreach(json_object_get(doc, "objectives"), i, o) {
        char score[32];
        fmt_num(score, sizeof score, json_object_get(o, "score"));
        printf("\n%s: %s  score %s  %s\n", str_or(json_object_get(o, "id"), ""),
               str_or(json_object_get(o, "title"), ""), score,
               str_or(json_object_get(o, "status"), ""));
        json_array_foreach(json_object_get(o, "key_results"), j, k) {
            char grade[32], given[96], value[32], target[32], baseline[32], days[256];
            fmt_num(grade, sizeof grade, json_object_get(k, "grade"));
            fmt_given(given, sizeof given, k);
            fmt_num(value, sizeof value, json_object_get(k, "value"));
            fmt_num(target, sizeof target, json_object_get(k, "target"));
            fmt_num(baseline, sizeof baseline, json_object_get(k, "baseline"));
            fmt_days(days, sizeof days, json_object_get(k, "days_in_status"));
            printf("  %s  %s  %s\n", str_or(json_object_get(k, "id"), ""),
                   str_or(json_object_get(k, "status"), ""), str_or(json_object_get(k, "title"), ""));
            printf("    grade %s  given %s  value %s  target %s  baseline %s  (%s)\n", grade, given,
                   value, target, baseline, str_or(json_object_get(k, "direction"), ""));
            printf("    days: %s\n", days);
            printf("    first off track %s  recovered %s  knowable from %s  overridden days %lld\n",
                   str_or(json_object_get(k, "first_off_track"), "-"),
                   fmt_recovered(json_object_get(k, "recovered")),
                   str_or(json_object_get(k, "knowable_from"), "-"),
                   (long long)json_integer_value(json_object_get(k, "overridden_days")));
            printf("    check-ins %lld", (long long)json_integer_value(json_object_get(k, "check_ins")));
            size_t t;
            json_t *c;
            json_t *trail = json_object_get(k, "confidence_trail");
            if (json_array_size(trail)) {
                printf("  confidence");
                json_array_foreach(trail, t, c)
                    printf(" %s:%lld", str_or(json_object_get(c, "date"), ""),
                           (long long)json_integer_value(json_object_get(c, "confidence")));
            }
            printf("\n");
            json_t *lc = json_object_get(k, "last_comment");
            if (json_is_string(lc))
                printf("    last comment: %s\n", json_string_value(lc));
        }
    }
    json_t *lints = json_object_get(doc, "lints"), *l;
    printf("\nLints:%s\n", json_array_size(lints) ? "" : " none");
    json_array_foreach(lints, i, l) {
        const char *oid = str_or(json_object_get(l, "objective"), NULL);
        const char *kid = str_or(json_object_get(l, "key_result"), NULL);
        printf("  %s%s%s: %s\n", oid ? oid : kid ? "" : "cycle", kid ? "/" : "", kid ? kid : "",
               str_or(json_object_get(l, "message"), ""));
    }
}

/* ---- Markdown (GitHub tables) ---- */

/* Text from config or people, escaped for a GFM table cell or heading:
 * every ASCII punctuation character backslash-escaped (CommonMark allows
 * it for all of them, so no title can open a link, emphasis, HTML or a new
 * cell), and line breaks as spaces (a cell is one line). */
static void md_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\r' || c == '\n')
            fputc(' ', f);
        else if ((c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) ||
                 (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e))
            fprintf(f, "\\%c", c);
        else
            fputc(c, f);
    }
}

static void md_cell_num(json_t *v)
{
    char b[32];
    fmt_num(b, sizeof b, v);
    printf(" %s |", b);
}

static void md_cell_text(json_t *v)
{
    fputc(' ', stdout);
    if (json_is_string(v))
        md_text(stdout, json_string_value(v));
    else
        fputs("-", stdout);
    fputs(" |", stdout);
}

static void print_markdown(json_t *doc)
{
    json_t *cy = json_object_get(doc, "cycle");
    bool final = json_is_true(json_object_get(doc, "final"));
    printf("# Retrospective %s..%s\n\n", str_or(json_object_get(cy, "start"), "?"),
           str_or(json_object_get(cy, "end"), "?"));
    printf("%s\n", final ? "The cycle has ended: grades are final."
                         : "The cycle is still running: as of now, not final.");
    size_t i, j;
    json_t *o, *k;
    json_array_foreach(json_object_get(doc, "objectives"), i, o) {
        char score[32];
        fmt_num(score, sizeof score, json_object_get(o, "score"));
        printf("\n## ");
        md_text(stdout, str_or(json_object_get(o, "id"), ""));
        printf(": ");
        md_text(stdout, str_or(json_object_get(o, "title"), ""));
        printf("\n\nScore %s, status %s", score, str_or(json_object_get(o, "status"), "-"));
        if (json_is_string(json_object_get(o, "parent"))) {
            printf(", part of ");
            md_text(stdout, json_string_value(json_object_get(o, "parent")));
        }
        printf(".\n\n");
        printf("| Key result | Title | Owner | Status | Grade | Given grade | Value | Baseline | "
               "Target | Days in status | First off track | Recovered | Knowable from | "
               "Check-ins | Overridden days | Last comment |\n");
        printf("| --- | --- | --- | --- | ---: | --- | ---: | ---: | ---: | --- | --- | --- | --- "
               "| ---: | ---: | --- |\n");
        json_array_foreach(json_object_get(o, "key_results"), j, k) {
            char days[256], given[96];
            printf("|");
            md_cell_text(json_object_get(k, "id"));
            md_cell_text(json_object_get(k, "title"));
            md_cell_text(json_object_get(k, "owner"));
            md_cell_text(json_object_get(k, "status"));
            md_cell_num(json_object_get(k, "grade"));
            fmt_given(given, sizeof given, k);
            fputc(' ', stdout);
            md_text(stdout, given);
            fputs(" |", stdout);
            md_cell_num(json_object_get(k, "value"));
            md_cell_num(json_object_get(k, "baseline"));
            md_cell_num(json_object_get(k, "target"));
            fmt_days(days, sizeof days, json_object_get(k, "days_in_status"));
            printf(" ");
            md_text(stdout, days);
            printf(" |");
            md_cell_text(json_object_get(k, "first_off_track"));
            printf(" %s |", fmt_recovered(json_object_get(k, "recovered")));
            md_cell_text(json_object_get(k, "knowable_from"));
            printf(" %lld | %lld |", (long long)json_integer_value(json_object_get(k, "check_ins")),
                   (long long)json_integer_value(json_object_get(k, "overridden_days")));
            md_cell_text(json_object_get(k, "last_comment"));
            printf("\n");
        }
    }
    json_t *lints = json_object_get(doc, "lints"), *l;
    printf("\n## Lints\n\n");
    if (!json_array_size(lints)) {
        printf("None.\n");
        return;
    }
    printf("| Objective | Key result | Message |\n| --- | --- | --- |\n");
    json_array_foreach(lints, i, l) {
        printf("|");
        md_cell_text(json_object_get(l, "objective"));
        md_cell_text(json_object_get(l, "key_result"));
        md_cell_text(json_object_get(l, "message"));
        printf("\n");
    }
}

int cmd_retro(int argc, char **argv)
{
    const char *path = OKRD_DEFAULT_CONFIG, *cycle = NULL;
    enum { TABLE, JSON, MARKDOWN } form = TABLE;
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "cycle", required_argument, NULL, 'q' },
        { "json", no_argument, NULL, 'j' },
        { "markdown", no_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    int c, forms = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'q': cycle = optarg; break;
        case 'j': form = JSON; forms++; break;
        case 'm': form = MARKDOWN; forms++; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "okrd retro: unexpected argument \"%s\"\n%s", argv[optind], usage);
        return EXIT_USAGE;
    }
    if (forms > 1) {
        fprintf(stderr, "okrd retro: --json and --markdown exclude each other\n%s", usage);
        return EXIT_USAGE;
    }
    char s[11], e[11];
    struct okrd_err err = { 0 };
    if (cycle && retro_parse_cycle(cycle, s, e, &err) < 0) {
        fprintf(stderr, "okrd retro: --cycle: %s\n", err.msg);
        return EXIT_USAGE;
    }
    struct cfg *cfg;
    int rc = cli_load_config(path, CFG_NO_SECRETS, &cfg);
    if (rc)
        return rc;
    /* The daemon's test clock (tests only), so a retrospective agrees with
     * the daemon it sits beside about what has ended. */
    const char *bad = NULL;
    const struct okrd_clock *clock = okrd_test_clock_from_env(&bad);
    int64_t now = okrd_clock_now_s(clock ? clock : &okrd_clock_system);
    struct store *st = NULL;
    json_t *doc = NULL;
    if (cli_store_open(cfg, "retro", STORE_READONLY, &st, &err) < 0) {
        fprintf(stderr, "okrd retro: %s\n", err.msg);
        rc = EXIT_RUNTIME;
        goto out;
    }
    int r = retro_document(st, cfg, cycle, now, &doc, &err);
    if (r < 0) {
        fprintf(stderr, "okrd retro: %s\n", err.msg[0] ? err.msg : "out of memory");
        rc = r == OKRD_ENOTFOUND || r == OKRD_EINVAL ? EXIT_BAD_INPUT : EXIT_RUNTIME;
        goto out;
    }
    if (form == JSON) {
        char *text = okr_view_dump(doc, true);
        if (!text) {
            rc = EXIT_RUNTIME;
            goto out;
        }
        puts(text);
        free(text);
    } else if (form == MARKDOWN) {
        print_markdown(doc);
    } else {
        print_table(doc);
    }
    if (fflush(stdout) != 0)
        rc = EXIT_RUNTIME;
out:
    json_decref(doc);
    store_close(st);
    cfg_free(cfg);
    return rc;
}
