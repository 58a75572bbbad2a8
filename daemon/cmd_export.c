/*
 * cmd_export.c — `okrd export`: the stored points as long-format CSV
 * (`metric,timestamp,value`) or JSON, sorted by metric then timestamp, and
 * with --check-ins every check-in instead (DESIGN sections 6 and 8). Opens
 * the store read-only and resolves no secrets, so an operator can run it
 * beside the service. Its points CSV reads back unchanged through a csv_dir
 * source with default options: timestamps are `YYYY-MM-DDTHH:MM:SSZ` and
 * values the shortest text that reads back to the same double. Metric ids
 * ([A-Za-z0-9_.:-]) never need CSV quoting; a check-in's comment (any text)
 * is quoted per RFC 4180 in CSV and escaped in JSON here.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/parse.h"
#include "store/store.h"

static const char usage[] =
    "usage: okrd export [-c FILE] [--metric ID]... [--from DATE] [--to DATE] [--json]\n"
    "       okrd export [-c FILE] --check-ins [--from DATE] [--to DATE] [--json]\n"
    "\n"
    "Prints the stored points, sorted by metric then timestamp, as CSV with the\n"
    "header metric,timestamp,value (or, with --json, a JSON array of\n"
    "{\"metric\", \"timestamp\", \"value\"}). --from is inclusive, --to exclusive;\n"
    "both take a date (in daemon.timezone) or an ISO 8601 date-time.\n"
    "The output ingests back unchanged (okrd ingest), for backups and migrations.\n"
    "\n"
    "With --check-ins, prints every check-in instead, sorted by key result, cycle\n"
    "and seq, as CSV with the header\n"
    "key_result,cycle_start,seq,at,author,confidence,status,until,value,grade,comment\n"
    "(an empty field where a check-in has none) or, with --json, a JSON array of\n"
    "objects with those keys (null where it has none); --from/--to filter on at.\n";

struct export_ctx {
    bool json;
    size_t n;
};

/* ---- check-ins ---- */

/* Writes S as a CSV field (RFC 4180): quoted, with quotes doubled, when it
 * holds a comma, a quote or a line break; the empty string as "" so it
 * differs from an absent field (NULL: nothing). */
static void put_csv_text(const char *s)
{
    if (!s)
        return;
    if (*s && !strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

/* Writes S as a JSON string, or null for NULL. The store holds valid UTF-8
 * (it checks what it is given), but a row written by other means may not:
 * an invalid byte becomes U+FFFD so the document always parses. */
static void put_json_text(const char *s)
{
    if (!s) {
        fputs("null", stdout);
        return;
    }
    size_t n = strlen(s);
    putchar('"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c == '\n') {
            fputs("\\n", stdout);
        } else if (c == '\r') {
            fputs("\\r", stdout);
        } else if (c == '\t') {
            fputs("\\t", stdout);
        } else if (c < 0x20 || c == 0x7f) {
            printf("\\u%04x", c);
        } else if (c >= 0x80) {
            size_t l = okrd_utf8_len(s + i, n - i);
            if (l == 0) {
                fputs("\\ufffd", stdout);
                i++;
            } else {
                fwrite(s + i, 1, l, stdout);
                i += l;
            }
            continue;
        } else {
            putchar(c);
        }
        i++;
    }
    putchar('"');
}

/* The fields of a check-in as text; "" for an absent one. */
struct checkin_text {
    char at[32], until[32], confidence[8], value[40], grade[40];
};

static void checkin_text(const struct okrd_checkin *c, struct checkin_text *t)
{
    okrd_format_utc(c->at_s, t->at, sizeof t->at);
    t->until[0] = t->confidence[0] = t->value[0] = t->grade[0] = '\0';
    if (c->status[0])
        okrd_format_utc(c->until_s, t->until, sizeof t->until);
    if (c->confidence != OKRD_CHECKIN_NO_CONFIDENCE)
        snprintf(t->confidence, sizeof t->confidence, "%d", c->confidence);
    if (!isnan(c->value))
        okrd_format_double(c->value, t->value, sizeof t->value);
    if (!isnan(c->grade))
        okrd_format_double(c->grade, t->grade, sizeof t->grade);
}

/* Every text field goes through the quoting helpers, the ids too: the
 * store checks what it is given, but a row written by other means (a
 * script, sqlite3) must still give a well-formed CSV or JSON document. */
static int print_checkin(void *vctx, const struct okrd_checkin *c)
{
    struct export_ctx *ctx = vctx;
    struct checkin_text t;
    checkin_text(c, &t);
    const char *status = c->status[0] ? c->status : NULL;
    if (ctx->json) {
        fputs(ctx->n ? ",\n  {\"key_result\": " : "\n  {\"key_result\": ", stdout);
        put_json_text(c->key_result);
        fputs(", \"cycle_start\": ", stdout);
        put_json_text(c->cycle_start);
        printf(", \"seq\": %lld, \"at\": \"%s\", \"author\": ", (long long)c->seq, t.at);
        put_json_text(c->author);
        printf(", \"confidence\": %s, \"status\": ", t.confidence[0] ? t.confidence : "null");
        put_json_text(status);
        fputs(", \"until\": ", stdout);
        put_json_text(t.until[0] ? t.until : NULL);
        printf(", \"value\": %s, \"grade\": %s, \"comment\": ", t.value[0] ? t.value : "null",
               t.grade[0] ? t.grade : "null");
        put_json_text(c->comment);
        putchar('}');
    } else {
        put_csv_text(c->key_result);
        putchar(',');
        put_csv_text(c->cycle_start);
        printf(",%lld,%s,", (long long)c->seq, t.at);
        put_csv_text(c->author);
        printf(",%s,", t.confidence);
        put_csv_text(status);
        printf(",%s,%s,%s,", t.until, t.value, t.grade);
        put_csv_text(c->comment);
        putchar('\n');
    }
    ctx->n++;
    return ferror(stdout) ? -1 : 0;
}

/* ---- points ---- */

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
    bool checkins = false;
    const char **metrics = calloc((size_t)argc + 1, sizeof *metrics);
    size_t n_metrics = 0;
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "metric", required_argument, NULL, 'm' },
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "check-ins", no_argument, NULL, 'k' },
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
        case 'k': checkins = true; break;
        case 'h': fputs(usage, stdout); free(metrics); return 0;
        default: fputs(usage, stderr); free(metrics); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "okrd export: unexpected argument \"%s\"\n%s", argv[optind], usage);
        free(metrics);
        return EXIT_USAGE;
    }
    if (checkins && n_metrics) {
        fprintf(stderr, "okrd export: --metric selects points; --check-ins exports check-ins, "
                        "not both\n%s", usage);
        free(metrics);
        return EXIT_USAGE;
    }
    struct cfg *cfg = NULL;
    struct store *st = NULL;
    int64_t from = INT64_MIN, to = INT64_MAX;
    struct okrd_err err = { 0 };
    if ((rc = cli_load_config(path, CFG_NO_SECRETS, &cfg)))
        goto out;
    if ((from_arg && (rc = cli_parse_time_arg("--from", from_arg, cfg->daemon.tz, &from))) ||
        (to_arg && (rc = cli_parse_time_arg("--to", to_arg, cfg->daemon.tz, &to))))
        goto out;
    if (cli_store_open(cfg, "export", STORE_READONLY, &st, &err) < 0) {
        fprintf(stderr, "okrd export: %s\n", err.msg);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (ctx.json)
        fputs("[", stdout);
    else
        fputs(checkins ? "key_result,cycle_start,seq,at,author,confidence,status,until,value,"
                         "grade,comment\n"
                       : "metric,timestamp,value\n",
              stdout);
    if ((checkins ? store_each_checkin(st, NULL, NULL, from, to, false, print_checkin, &ctx, &err)
                  : store_each_point(st, metrics, n_metrics, from, to, print_point, &ctx, &err)) !=
        0) {
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
