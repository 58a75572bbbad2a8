/*
 * cmd_ingest.c — `okrd ingest [-c FILE] --source ID FILE...`: ingest CSV
 * files once, as the csv_dir source ID would (same reader, same
 * one-transaction-per-file rule; DESIGN section 6), but the files are not
 * moved and are read even if the ingest log already holds them (an explicit
 * request). One summary line per file on stdout; row errors on stderr as
 * FILE:ROW:COLUMN: reason, like a compiler, so editors can jump to them.
 * Exit 1 if any file was rejected or unreadable.
 *
 * A file over PROGRESS_MIN_BYTES read with stderr on a terminal gets a
 * progress line, "\rFILE: 42% (12.3 of 29.8 MB)", redrawn at most every
 * PROGRESS_REDRAW_MS and ended before the file's errors and summary; logs
 * and pipes never see it (a pile of \r-lines helps nobody there).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/clock.h"
#include "connectors/csv_ingest.h"
#include "store/store.h"

static const char usage[] =
    "usage: okrd ingest [-c FILE] --source ID FILE...\n"
    "\n"
    "Reads each CSV FILE with the options of csv_dir source ID and stores its\n"
    "points in one transaction per file: a file with a bad row is rejected whole\n"
    "(unless the source says on_error: skip_row) and its errors are printed as\n"
    "FILE:ROW:COLUMN: reason. Files are not moved. A running daemon notices the\n"
    "new points within a minute.\n"
    "exit codes: 0 all stored, 1 a file was rejected or unreadable, 2 usage, 3 store failure\n";

#define PROGRESS_MIN_BYTES 10000000 /* "over 10 MB" (issue 5); MB = 10^6 bytes as printed */
#define PROGRESS_REDRAW_MS 250

struct progress_line {
    bool tty;            /* stderr is a terminal */
    bool drawn;          /* a line is on the screen, not yet ended */
    int64_t last_ms;     /* when it was last drawn (monotonic) */
};

static int64_t monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* csv_ingest calls this at most once per 1% of the file; the clock keeps a
 * fast disk from flickering the line 100 times a second. The end is always
 * drawn, so the line that stays shows 100% (or where a bad file stopped). */
static void on_progress(void *ctx, const char *path, int64_t done, int64_t total)
{
    struct progress_line *p = ctx;
    if (!p->tty || total <= PROGRESS_MIN_BYTES)
        return;
    int64_t now = monotonic_ms();
    if (p->drawn && done < total && now - p->last_ms < PROGRESS_REDRAW_MS)
        return;
    if (done > total)
        done = total; /* the file grew; csv_ingest will say it changed */
    fprintf(stderr, "\r%s: %d%% (%.1f of %.1f MB)", path, (int)(done * 100 / total),
            (double)done / 1e6, (double)total / 1e6);
    fflush(stderr);
    p->drawn = true;
    p->last_ms = now;
}

static void end_progress(struct progress_line *p)
{
    if (p->drawn)
        fputc('\n', stderr);
    p->drawn = false;
}

static void print_errors(const char *path, const struct csv_report *rep)
{
    for (size_t i = 0; i < rep->n_errors; i++) {
        const struct csv_row_error *e = &rep->errors[i];
        if (e->column == CSV_WHOLE_ROW)
            fprintf(stderr, "%s:%lld: %s\n", path, (long long)e->row, e->reason);
        else
            fprintf(stderr, "%s:%lld:%d: %s (value \"%s\")\n", path, (long long)e->row,
                    e->column, e->reason, e->value);
    }
    if (rep->n_errors_total > (int64_t)rep->n_errors)
        fprintf(stderr, "%s: ... and %lld more errors\n", path,
                (long long)(rep->n_errors_total - (int64_t)rep->n_errors));
}

int cmd_ingest(int argc, char **argv)
{
    const char *path = OKRD_DEFAULT_CONFIG, *source = NULL;
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "source", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 's': source = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (!source || optind >= argc) {
        fprintf(stderr, "okrd ingest: %s\n%s", source ? "no FILE given" : "--source ID is required",
                usage);
        return EXIT_USAGE;
    }
    struct cfg *cfg;
    int rc = cli_load_config(path, CFG_NO_SECRETS, &cfg);
    if (rc)
        return rc;
    const struct cfg_source *src = cfg_find_source(cfg, source);
    struct store *st = NULL;
    struct csv_report *rep = NULL;
    struct okrd_err err = { 0 };
    if (!src || src->type != CFG_SRC_CSV_DIR) {
        fprintf(stderr, "okrd ingest: %s \"%s\"; okrd ingest reads files for a csv_dir source\n",
                src ? "not a csv_dir source:" : "no such source", source);
        rc = EXIT_USAGE;
        goto out;
    }
    int r = cli_mkdir_p(cfg->daemon.state_dir, 0750);
    if (r < 0) {
        fprintf(stderr, "okrd ingest: cannot create state_dir %s: %s\n", cfg->daemon.state_dir,
                strerror(-r));
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (cli_store_open(cfg, "ingest", 0, &st, &err) < 0) {
        fprintf(stderr, "okrd ingest: %s\n", err.msg);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (!(rep = malloc(sizeof *rep))) {
        rc = EXIT_RUNTIME;
        goto out;
    }
    struct progress_line line = { .tty = isatty(STDERR_FILENO) == 1 };
    for (int i = optind; i < argc; i++) {
        struct csv_ingest_result res = {
            .rep = rep, .progress = on_progress, .progress_ctx = &line,
        };
        r = csv_ingest_file(st, argv[i], src, cfg->daemon.tz,
                            okrd_clock_now_s(&okrd_clock_system), CSV_INGEST_FORCE, &res, &err);
        end_progress(&line);
        if (r == OKRD_ESTORE) {
            fprintf(stderr, "okrd ingest: %s\n", err.msg);
            rc = EXIT_RUNTIME;
            break;
        }
        if (r < 0) {
            fprintf(stderr, "okrd ingest: %s\n", err.msg);
            rc = EXIT_BAD_INPUT;
            continue;
        }
        print_errors(argv[i], rep);
        if (res.outcome == CSV_REJECTED) {
            printf("%s: rejected, %lld rows read, %lld errors, nothing stored\n", argv[i],
                   (long long)rep->rows_read, (long long)rep->n_errors_total);
            rc = EXIT_BAD_INPUT;
        } else {
            printf("%s: %s, %lld rows, %lld points stored", argv[i], csv_outcome_name(res.outcome),
                   (long long)rep->rows_ok, (long long)res.points);
            if (res.outcome == CSV_PARTIAL)
                printf(", %lld rows skipped", (long long)(rep->rows_read - rep->rows_ok));
            printf("\n");
        }
        csv_ingest_result_free(&res);
    }
out:
    free(rep);
    store_close(st);
    cfg_free(cfg);
    return rc;
}
