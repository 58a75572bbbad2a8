/*
 * cmd_check.c — `okrd check [-c FILE]`: validate the config (secrets
 * included: a missing one is an error) and print lint warnings. Exit 0 when
 * valid (warnings allowed), 1 on any error.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char usage[] =
    "usage: okrd check [-c FILE]\n"
    "\n"
    "Validates FILE (default " OKRD_DEFAULT_CONFIG ") and its conf.d/*.json drop-ins:\n"
    "every key, type, id and reference, and that every ${env:}, ${file:} and ${cred:}\n"
    "secret resolves. Errors print as FILE:LINE:COL: message; warnings do not fail.\n"
    "exit codes: 0 valid, 1 invalid, 2 usage\n";

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
    printf("%s: ok (%zu sources, %zu metrics, %zu objectives, %zu key results, %zu webhooks)\n",
           path, cfg->n_sources, cfg->n_metrics, cfg->n_objectives, n_kr, cfg->n_webhooks);
    cfg_free(cfg);
    return 0;
}
