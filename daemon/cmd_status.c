/*
 * cmd_status.c — `okrd status`: every objective and key result with the
 * state the daemon last stored. Opens the store read-only and resolves no
 * secrets, so it works beside the running service.
 *
 * This is the foundation's thin version: it shows the stored status of each
 * key result; the key-result engine (okr/) adds progress bars, --at and the
 * --json contract of DESIGN section 6.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>

#include "cli.h"
#include "store/store.h"

static const char usage[] =
    "usage: okrd status [-c FILE] [--at DATE] [--json]\n"
    "\n"
    "Shows every objective and key result with its progress, expected progress,\n"
    "projected score and status, read from the store (works while the daemon runs).\n";

int cmd_status(int argc, char **argv)
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
    struct cfg *cfg;
    int rc = cli_load_config(path, CFG_NO_SECRETS, &cfg);
    if (rc)
        return rc;
    char dbpath[4096];
    struct store *st = NULL;
    struct okrd_err err = { 0 };
    if ((rc = cli_store_path(cfg, dbpath, sizeof dbpath)) == 0 &&
        store_open(&st, dbpath, STORE_READONLY, &err) < 0) {
        fprintf(stderr, "okrd status: %s\n", err.msg);
        rc = EXIT_RUNTIME;
    }
    for (size_t i = 0; st && i < cfg->n_objectives; i++) {
        const struct cfg_objective *o = &cfg->objectives[i];
        printf("%s  %s\n", o->id, o->title);
        for (size_t k = 0; k < o->n_key_results; k++) {
            const struct cfg_key_result *kr = &o->key_results[k];
            struct store_kr_state s;
            int r = store_get_kr_state(st, kr->id, &s, &err);
            printf("  %-24s %-12s %s\n", kr->id, r == 0 ? s.status : "not evaluated", kr->title);
        }
    }
    store_close(st);
    cfg_free(cfg);
    return rc;
}
