/*
 * cmd_migrate.c — `okrd migrate [-c FILE]`: copies the SQLite store at the
 * config's state_dir into the empty PostgreSQL store named by the same
 * config's store.url (DESIGN section 10), in one transaction on the
 * PostgreSQL side, and prints the row count of each table on both sides.
 *
 * The config is the one the nodes will run with (store.backend
 * "postgresql"); the SQLite store it leaves behind is STATE_DIR/okrd.db.
 * While it copies it holds the flock on STATE_DIR/okrd.lock that `okrd run`
 * holds, so it refuses while a daemon runs on the SQLite store and no
 * daemon starts there meanwhile; the source's write lock keeps `okrd
 * ingest` out too, so every table is read as of one moment. The copy
 * itself is store_copy_all (store/store_copy.c), which knows no backend.
 *
 * store.url is a secret: nothing here prints it (the store's messages name
 * the server without the password). Exit codes (DESIGN section 6): 1 a bad
 * config, 2 usage or a config that names no PostgreSQL store, 3 the stores
 * (missing source, daemon running, target not empty, connection refused,
 * copy failed).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "state_lock.h"
#include "store/store.h"

static const char usage[] =
    "usage: okrd migrate [-c FILE]\n"
    "\n"
    "Copies the SQLite store at the config's state_dir (STATE_DIR/okrd.db) into\n"
    "the empty PostgreSQL store of the same config's store.url (store.backend\n"
    "\"postgresql\"): every table, in one transaction, then prints the row count\n"
    "of each table on both sides. Refuses while okrd run uses the SQLite store\n"
    "and when the PostgreSQL store holds any row. The SQLite store is left as it\n"
    "is.\n";

/* Set by SIGINT/SIGTERM while the copy runs; the progress callback then
 * stops it and nothing is committed (daemon/ may hold process-wide state). */
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

/* A line a second once the copy has run for a second: a small store says
 * nothing until its table of counts. */
static int on_progress(void *vctx, const char *table, int64_t done, int64_t total)
{
    struct progress *p = vctx;
    if (stop_requested)
        return 1;
    int64_t now = monotonic_ms();
    if (now - p->start_ms >= 1000 && now - p->last_ms >= 1000) {
        p->last_ms = now;
        fprintf(stderr, "okrd migrate: %s: %lld of %lld rows (%lld%%)\n", table,
                (long long)done, (long long)total,
                total > 0 ? (long long)(done * 100 / total) : 100LL);
    }
    return 0;
}

int cmd_migrate(int argc, char **argv)
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
        fprintf(stderr, "okrd migrate: unexpected argument \"%s\"\n%s", argv[optind], usage);
        return EXIT_USAGE;
    }
    /* No secret but store.url is needed (cfg_load resolves it even so).
     * CFG_ANY_BACKEND: the config's check of which backends this build has
     * is not ours to make; store_open_loc answers that. */
    struct cfg *cfg = NULL;
    int rc = cli_load_config(path, CFG_NO_SECRETS | CFG_ANY_BACKEND, &cfg);
    if (rc)
        return rc;
    if (cfg->store.backend != CFG_STORE_POSTGRESQL) {
        fprintf(stderr, "okrd migrate: store.backend is \"%s\": okrd migrate copies the SQLite "
                        "store at state_dir into the PostgreSQL store of store.url; run it with "
                        "the config the nodes will use (store.backend \"postgresql\")\n",
                cfg_store_backend_name(cfg->store.backend));
        cfg_free(cfg);
        return EXIT_USAGE;
    }
    char dbpath[4096];
    if ((rc = cli_store_path(cfg, dbpath, sizeof dbpath))) {
        cfg_free(cfg);
        return rc;
    }
    /* Opening the source read-write would create an empty one: a missing
     * file is a mistake in state_dir, said as such. */
    struct stat sb;
    if (stat(dbpath, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "okrd migrate: no SQLite store at %s (state_dir \"%s\"): nothing to "
                        "copy\n", dbpath, cfg->daemon.state_dir);
        cfg_free(cfg);
        return EXIT_RUNTIME;
    }

    struct okrd_err err = { 0 };
    struct state_lock *lock = NULL;
    if (state_lock_acquire(&lock, cfg->daemon.state_dir, &err) < 0) {
        fprintf(stderr, "okrd migrate: %s\n", err.msg);
        cfg_free(cfg);
        return EXIT_RUNTIME;
    }

    struct store *from = NULL, *to = NULL;
    struct store_loc src = { .kind = STORE_SQLITE, .path = dbpath, .role = "migrate" };
    struct store_loc dst = {
        .kind = STORE_POSTGRESQL, .url = cfg->store.url, .role = "migrate",
        .takeover_check_ms = cfg->store.takeover_check_ms,
    };
    /* The source read-write: an older schema is brought forward first, and
     * the copy's write lock there keeps `okrd ingest` out while it reads. */
    if (store_open_loc(&from, &src, 0, &err) < 0) {
        fprintf(stderr, "okrd migrate: the SQLite store: %s\n", err.msg);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (store_open_loc(&to, &dst, 0, &err) < 0) {
        fprintf(stderr, "okrd migrate: the PostgreSQL store: %s\n", err.msg);
        rc = EXIT_RUNTIME;
        goto out;
    }
    const char *full = NULL;
    if (store_copy_nonempty_table(to, &full, &err) < 0) {
        fprintf(stderr, "okrd migrate: the PostgreSQL store: %s\n", err.msg);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (full) {
        fprintf(stderr, "okrd migrate: the PostgreSQL store is not empty: table %s holds rows; "
                        "okrd migrate copies into an empty store only (nothing was copied)\n",
                full);
        rc = EXIT_RUNTIME;
        goto out;
    }

    struct sigaction sa = { .sa_handler = on_stop_signal }, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    struct progress p = { .start_ms = monotonic_ms() };
    p.last_ms = p.start_ms;
    struct store_copy_count counts[STORE_COPY_TABLES];
    int crc = store_copy_all(from, to, on_progress, &p, counts, &err);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);

    /* The counts, also after a failure: how far it got (-1: not counted). */
    printf("%-16s %12s %12s\n", "table", "sqlite", "postgresql");
    int64_t total = 0;
    for (size_t i = 0; i < STORE_COPY_TABLES; i++) {
        if (counts[i].from < 0 && counts[i].to < 0)
            continue;
        char a[24] = "-", b[24] = "-";
        if (counts[i].from >= 0)
            snprintf(a, sizeof a, "%lld", (long long)counts[i].from);
        if (counts[i].to >= 0)
            snprintf(b, sizeof b, "%lld", (long long)counts[i].to);
        printf("%-16s %12s %12s\n", counts[i].table, a, b);
        if (counts[i].from > 0)
            total += counts[i].from;
    }
    fflush(stdout);
    if (crc == OKRD_ECANCELED && stop_requested) {
        fprintf(stderr, "okrd migrate: interrupted (%s); nothing was committed\n", err.msg);
        rc = EXIT_RUNTIME;
    } else if (crc < 0) {
        fprintf(stderr, "okrd migrate: %s; nothing was committed\n", err.msg);
        rc = EXIT_RUNTIME;
    } else {
        printf("okrd migrate: %lld rows in %d tables copied from %s into the PostgreSQL store "
               "in one transaction (%.1f s)\n", (long long)total, STORE_COPY_TABLES, dbpath,
               (double)(monotonic_ms() - p.start_ms) / 1000.0);
        rc = 0;
    }
out:
    store_close(to);
    store_close(from);
    state_lock_release(lock);
    cfg_free(cfg);
    return rc;
}
