/*
 * cmd_backup.c — `okrd backup [-c FILE] DEST`: a consistent copy of the
 * whole SQLite store while the daemon runs (DESIGN section 6), made by
 * store_backup() with SQLite's online backup API.
 *
 * Like `status` and `export` it reads the config without secrets and opens
 * the store read-only, so an operator can run it beside the service; it
 * creates nothing in state_dir. DEST is never overwritten and appears
 * complete or not at all. A copy that takes longer than a second prints a
 * progress line to stderr every second; SIGINT/SIGTERM stop it cleanly
 * (the partial copy is removed). Restoring: stop okrd, copy DEST to
 * STATE_DIR/okrd.db (removing okrd.db-wal and okrd.db-shm), start okrd.
 * With store.backend "postgresql" it says to use pg_dump and exits 2.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "store/store.h"

static const char usage[] =
    "usage: okrd backup [-c FILE] DEST\n"
    "\n"
    "Writes a consistent copy of the whole store (STATE_DIR/okrd.db) to the new\n"
    "file DEST, while the daemon runs (SQLite's online backup API). DEST must not\n"
    "exist; it is written beside its final name and renamed when complete, mode\n"
    "0600. To restore, stop okrd and copy DEST to STATE_DIR/okrd.db (removing\n"
    "okrd.db-wal and okrd.db-shm). With store.backend \"postgresql\", use pg_dump\n"
    "(exit 2).\n";

/* Set by SIGINT/SIGTERM while a backup runs; read by the progress callback,
 * which then stops the copy (daemon/ may hold process-wide state). */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct progress {
    int64_t start_ms, last_ms;
};

/* A line a second once the copy has run for a second: a quick backup says
 * nothing until its summary. */
static int on_progress(void *vctx, int64_t done, int64_t total)
{
    struct progress *p = vctx;
    if (stop_requested)
        return 1;
    int64_t now = monotonic_ms();
    if (done < total && now - p->start_ms >= 1000 && now - p->last_ms >= 1000) {
        p->last_ms = now;
        fprintf(stderr, "okrd backup: %lld%% (%.1f of %.1f MiB)\n",
                total > 0 ? (long long)(done * 100 / total) : 100LL, (double)done / 1048576.0,
                (double)total / 1048576.0);
    }
    return 0;
}

int cmd_backup(int argc, char **argv)
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
    if (optind >= argc) {
        fprintf(stderr, "okrd backup: the destination file is missing\n%s", usage);
        return EXIT_USAGE;
    }
    if (argc - optind > 1) {
        fprintf(stderr, "okrd backup: unexpected argument \"%s\"\n%s", argv[optind + 1], usage);
        return EXIT_USAGE;
    }
    const char *dest = argv[optind];
    struct cfg *cfg = NULL;
    char dbpath[4096];
    int rc;
    /* CFG_ANY_BACKEND: a config naming a backend this build lacks still
     * loads here, so that the answer is "use pg_dump", not a config error. */
    if ((rc = cli_load_config(path, CFG_NO_SECRETS | CFG_ANY_BACKEND, &cfg)))
        return rc;
    if (cfg->store.backend != CFG_STORE_SQLITE) {
        /* SQLite's online backup API has no PostgreSQL counterpart in
         * okrd: the server's own tool makes a consistent dump (DESIGN
         * section 6). Exit 2: this command does not apply to that store. */
        fprintf(stderr, "okrd backup: store.backend is \"%s\": okrd backup copies a SQLite "
                        "store only; use pg_dump for a PostgreSQL store\n",
                cfg_store_backend_name(cfg->store.backend));
        cfg_free(cfg);
        return EXIT_USAGE;
    }
    rc = cli_store_path(cfg, dbpath, sizeof dbpath);
    cfg_free(cfg);
    if (rc)
        return rc;

    struct sigaction sa = { .sa_handler = on_stop_signal }, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    struct progress p = { .start_ms = monotonic_ms() };
    p.last_ms = p.start_ms;
    struct okrd_err err = { 0 };
    int64_t bytes = 0;
    int src = store_backup(dbpath, dest, on_progress, &p, &bytes, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (src == OKRD_ECANCELED && stop_requested) {
        fprintf(stderr, "okrd backup: interrupted (%s); %s was not written\n", err.msg, dest);
        return EXIT_RUNTIME;
    }
    if (src < 0) {
        fprintf(stderr, "okrd backup: %s\n", err.msg);
        return src == OKRD_EINVAL ? EXIT_BAD_INPUT : EXIT_RUNTIME;
    }
    printf("okrd backup: %s -> %s (%.1f MiB, one consistent snapshot)\n", dbpath, dest,
           (double)bytes / 1048576.0);
    return 0;
}
