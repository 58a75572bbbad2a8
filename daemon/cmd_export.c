/*
 * cmd_export.c — `okrd export`: the stored points as long-format CSV
 * (`metric,timestamp,value`) or JSON, sorted by metric then timestamp
 * (DESIGN section 6). Opens the store read-only and resolves no secrets, so
 * an operator can run it beside the service. Its CSV reads back unchanged
 * through a csv_dir source with default options: timestamps are
 * `YYYY-MM-DDTHH:MM:SSZ` and values the shortest text that reads back to
 * the same double. Metric ids ([A-Za-z0-9_.:-]) never need CSV quoting.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/parse.h"
#include "store/store.h"

static const char usage[] =
    "usage: okrd export [-c FILE] [--metric ID]... [--from DATE] [--to DATE] [--json]\n"
    "\n"
    "Prints the stored points, sorted by metric then timestamp, as CSV with the\n"
    "header metric,timestamp,value (or, with --json, a JSON array of\n"
    "{\"metric\", \"timestamp\", \"value\"}). --from is inclusive, --to exclusive;\n"
    "both take a date (in daemon.timezone) or an ISO 8601 date-time.\n"
    "The output ingests back unchanged (okrd ingest), for backups and migrations.\n";

struct export_ctx {
    bool json;
    size_t n;
};

static int print_point(void *vctx, const char *metric, int64_t ts, double value)
{
    struct export_ctx *ctx = vctx;
    char tbuf[32], vbuf[40];
    okrd_format_utc(ts, tbuf, sizeof tbuf);
    okrd_format_double(value, vbuf, sizeof vbuf);
    if (ctx->json)
        printf("%s\n  {\"metric\": \"%s\", \"timestamp\": \"%s\", \"value\": %s}",
               ctx->n ? "," : "", metric, tbuf, vbuf);
    else
        printf("%s,%s,%s\n", metric, tbuf, vbuf);
    ctx->n++;
    return ferror(stdout) ? -1 : 0;
}

int cmd_export(int argc, char **argv)
{
    const char *path = OKRD_DEFAULT_CONFIG;
    const char *from_arg = NULL, *to_arg = NULL;
    struct export_ctx ctx = { 0 };
    const char **metrics = calloc((size_t)argc + 1, sizeof *metrics);
    size_t n_metrics = 0;
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "metric", required_argument, NULL, 'm' },
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    int c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 'm':
            if (!okrd_valid_id(optarg, strlen(optarg))) {
                fprintf(stderr, "okrd export: --metric \"%s\" is not a metric id "
                                "([A-Za-z0-9_.:-], 1 to 128 characters)\n", optarg);
                free(metrics);
                return EXIT_USAGE;
            }
            metrics[n_metrics++] = optarg;
            break;
        case 'f': from_arg = optarg; break;
        case 't': to_arg = optarg; break;
        case 'j': ctx.json = true; break;
        case 'h': fputs(usage, stdout); free(metrics); return 0;
        default: fputs(usage, stderr); free(metrics); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "okrd export: unexpected argument \"%s\"\n%s", argv[optind], usage);
        free(metrics);
        return EXIT_USAGE;
    }
    struct cfg *cfg = NULL;
    struct store *st = NULL;
    int64_t from = INT64_MIN, to = INT64_MAX;
    char dbpath[4096];
    struct okrd_err err = { 0 };
    if ((rc = cli_load_config(path, CFG_NO_SECRETS, &cfg)))
        goto out;
    if ((from_arg && (rc = cli_parse_time_arg("--from", from_arg, cfg->daemon.tz, &from))) ||
        (to_arg && (rc = cli_parse_time_arg("--to", to_arg, cfg->daemon.tz, &to))))
        goto out;
    if ((rc = cli_store_path(cfg, dbpath, sizeof dbpath)))
        goto out;
    if (store_open(&st, dbpath, STORE_READONLY, &err) < 0) {
        fprintf(stderr, "okrd export: %s\n", err.msg);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (ctx.json)
        fputs("[", stdout);
    else
        fputs("metric,timestamp,value\n", stdout);
    if (store_each_point(st, metrics, n_metrics, from, to, print_point, &ctx, &err) != 0) {
        fprintf(stderr, "okrd export: %s\n", err.code ? err.msg : "write to stdout failed");
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (ctx.json)
        fputs(ctx.n ? "\n]\n" : "]\n", stdout);
    if (fflush(stdout) != 0) {
        perror("okrd export: stdout");
        rc = EXIT_RUNTIME;
    }
out:
    store_close(st);
    cfg_free(cfg);
    free(metrics);
    return rc;
}
