/*
 * main.c — okrd's entry point: picks the sub-command and prints usage.
 * Each command lives in its own cmd_*.c; shared helpers in cli.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: okrd COMMAND [OPTIONS]\n"
    "\n"
    "Keeps OKR key results up to date from analytics APIs, Prometheus and CSV drops.\n"
    "\n"
    "commands:\n"
    "  run      [-c FILE]                          run the daemon (foreground)\n"
    "  check    [-c FILE]                          validate and lint the config\n"
    "  status   [-c FILE] [--at DATE] [--json]     key results and their status\n"
    "  ingest   [-c FILE] --source ID FILE...      ingest CSV files once\n"
    "  export   [-c FILE] [--metric ID]... [--from DATE] [--to DATE] [--json]\n"
    "                                              print the stored points\n"
    "  metrics  [-c FILE] [--json]                 stored metrics, their sources and key results\n"
    "  checkin  [-c FILE] KR [--confidence N] [--comment TEXT] [--status S [--until DATE]]\n"
    "           [--value X] [--grade G [--cycle Q]] [--token-file FILE]\n"
    "                                              post a check-in to the running daemon\n"
    "  retro    [-c FILE] [--cycle Q] [--json | --markdown]\n"
    "                                              the retrospective of a cycle\n"
    "  backup   [-c FILE] DEST                     copy the whole store to DEST, live\n"
    "  migrate  [-c FILE]                          copy the SQLite store into the empty\n"
    "                                              PostgreSQL store of store.url\n"
    "  version                                     print the version\n"
    "\n"
    "FILE defaults to " OKRD_DEFAULT_CONFIG ". `okrd COMMAND --help` tells more.\n"
    "exit codes: 0 ok, 1 bad config or input, 2 usage, 3 runtime failure\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        if (argc > 2 && strcmp(argv[2], "help") != 0) {
            /* `okrd help CMD` = `okrd CMD --help` */
            char *av[] = { argv[0], argv[2], "--help", NULL };
            return main(3, av);
        }
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("okrd %s\n", OKRD_VERSION);
        return 0;
    }
    /* Commands see argv starting at their own name, as getopt expects. */
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } commands[] = {
        { "run", cmd_run },       { "check", cmd_check },   { "status", cmd_status },
        { "ingest", cmd_ingest }, { "export", cmd_export },
        { "backup", cmd_backup }, { "metrics", cmd_metrics }, { "checkin", cmd_checkin },
        { "retro", cmd_retro },   { "migrate", cmd_migrate },
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "okrd: unknown command \"%s\"\n\n%s", cmd, usage);
    return EXIT_USAGE;
}
