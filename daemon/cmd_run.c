/*
 * cmd_run.c — `okrd run`: the daemon. One libuv loop (DESIGN section 1):
 * signals, the systemd watchdog timer and the store's writer completions
 * all arrive as loop events; idle means blocked in epoll_wait.
 *
 * Start-up order is the READY=1 contract: config loaded and valid, state_dir
 * present, STATE_DIR/okrd.lock flocked for the whole run (one daemon per
 * store; a reload keeps it, exit releases it), store opened (migrated) by
 * the writer thread, read-only connection open — then READY=1. SIGTERM/SIGINT stop cleanly: the running
 * store job finishes (its transaction commits or rolls back, never half),
 * queued ones are cancelled, handles close, exit 0. SIGHUP reloads.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "cli.h"
#include "connectors/httpc.h"
#include "log.h"
#include "okrd.h"
#include "remind.h"
#include "state_lock.h"
#include "store/store_outbox.h"

static const char usage[] =
    "usage: okrd run [-c FILE]\n"
    "\n"
    "Runs the daemon in the foreground (systemd runs this). Logs go to stderr.\n"
    "signals: SIGHUP reloads the config (a bad one is logged and the running one\n"
    "kept); SIGTERM or SIGINT stop cleanly and exit 0.\n"
    "exit codes: 0 stopped by a signal, 1 bad config, 2 usage, 3 runtime failure\n"
    "(e.g. another okrd run holds STATE_DIR/okrd.lock: one daemon per state_dir)\n";

static void log_diags(const struct cfg_diags *diags)
{
    char q[1024];
    for (size_t i = 0; i < diags->n; i++)
        log_event(diags->items[i].severity == CFG_SEV_WARNING ? CFG_LOG_WARNING : CFG_LOG_ERROR,
                  "config", "msg=%s", log_quote(q, sizeof q, diags->items[i].text));
}

static void on_handle_closed(uv_handle_t *h) { (void)h; }

/* The end of the shutdown chain. The signal handlers stay open until here:
 * closing the last watcher of a signal gives it back its default action,
 * and a SIGHUP (systemctl reload) during a shutdown would then kill us
 * half-way. While stopping, on_signal ignores them. */
static void on_http_closed(void *arg)
{
    struct okrd *d = arg;
    d->http = NULL;
    if (d->sig_term.data) {
        uv_close((uv_handle_t *)&d->sig_term, on_handle_closed);
        uv_close((uv_handle_t *)&d->sig_int, on_handle_closed);
        uv_close((uv_handle_t *)&d->sig_hup, on_handle_closed);
    }
    if (d->stall_s)
        uv_close((uv_handle_t *)&d->sig_stall, on_handle_closed);
}

static void on_writer_closed(void *arg)
{
    struct okrd *d = arg;
    d->writer = NULL;
    /* Last: nothing is left that could start a request. */
    httpc_close(d->http, on_http_closed, d);
}

/* Shutdown runs as a chain of steps, each starting when the one before has
 * closed: API (no new requests) -> sources (no new points; their last write
 * jobs are queued) -> alerts (in-flight deliveries get up to 5 s) -> the
 * store writer (finishes the running job; its transaction commits or rolls
 * back whole) -> the HTTP client. */
static void stop_writer(struct okrd *d)
{
    if (d->writer)
        store_writer_close(d->writer, on_writer_closed, d);
    else
        on_writer_closed(d);
}

static void stop_alerts(struct okrd *d) { okrd_alerts_stop(d, stop_writer); }
static void stop_sources(struct okrd *d) { sources_close_all(d, stop_alerts); }

static void okrd_stop(struct okrd *d, const char *why)
{
    if (d->stopping)
        return;
    d->stopping = true;
    log_info("stopping", "reason=%s", why);
    okrd_notify_stopping(d);
    /* A long store job (a big CSV file) rolls back now rather than holding
     * the shutdown up; its file is read again at the next start. */
    store_writer_request_stop(d->writer);
    if (d->watchdog_usec)
        uv_close((uv_handle_t *)&d->watchdog, on_handle_closed);
    okrd_ha_stop(d);
    eval_stop(d);
    okrd_remind_stop(d);
    okrd_api_stop(d, stop_sources);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct okrd *d = h->data;
    if (d->stopping) {
        log_info("signal_ignored", "signal=%d msg=\"already stopping\"", signum);
        return;
    }
    if (signum == SIGHUP)
        okrd_reload(d);
    else
        okrd_stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* The test-only fault switch: with OKRD_TEST_STALL_ON_SIGUSR1=SECONDS in the
 * environment, SIGUSR1 blocks the loop for that long, as a wedged loop would,
 * so a test can watch the watchdog pings stop (and systemd would restart
 * us). Off unless the variable is set; never set it in production. */
static void on_stall(uv_signal_t *h, int signum)
{
    struct okrd *d = h->data;
    (void)signum;
    log_warning("stall", "seconds=%u msg=\"test fault switch: blocking the loop\"", d->stall_s);
    struct timespec ts = { (time_t)d->stall_s, 0 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void on_watchdog(uv_timer_t *t)
{
    /* Fed from a loop timer on purpose: if the loop wedges, the pings stop;
     * and only while the store's writer answers (ha.c pings it), so a hung
     * writer is a hung daemon that systemd restarts (DESIGN sections 7, 10). */
    struct okrd *d = t->data;
    if (okrd_ha_writer_answers(d, (int64_t)(d->watchdog_usec / 1000)))
        sd_notify(0, "WATCHDOG=1");
    else
        log_warning("watchdog", "msg=\"the store's writer has not answered within WatchdogSec: "
                    "not feeding the watchdog\"");
}

void okrd_reload(struct okrd *d)
{
    okrd_notify_reloading(d);
    log_info("reload", "config=%s", d->config_path);
    struct cfg *next = NULL;
    struct cfg_diags diags = { 0 };
    int rc = cfg_load(d->config_path, 0, &next, &diags);
    log_diags(&diags);
    if (rc < 0) {
        log_error("reload_failed", "config=%s errors=%zu msg=\"keeping the running config\"",
                  d->config_path, diags.n_errors);
        cfg_diags_free(&diags);
        okrd_notify_ready(d);
        return;
    }
    cfg_diags_free(&diags);
    struct okrd_cfg_hold *hold = okrd_cfg_hold_new(next);
    if (!hold) {
        log_error("reload_failed", "msg=\"out of memory; keeping the running config\"");
        cfg_free(next);
        okrd_notify_ready(d);
        return;
    }
    if (strcmp(next->daemon.state_dir, d->cfg->daemon.state_dir) != 0)
        log_warning("reload", "msg=\"daemon.state_dir changed; the new one is used after a restart\"");
    if (next->daemon.http_max_connections != d->cfg->daemon.http_max_connections) {
        /* Applied at once: running sources keep their schedule, and only
         * how many of their requests may run together changes. */
        httpc_set_max_connections(d->http, next->daemon.http_max_connections);
        log_info("reload", "http_max_connections=%d previous=%d msg=\"applied to the HTTP sources\"",
                 next->daemon.http_max_connections, d->cfg->daemon.http_max_connections);
    }
    struct okrd_cfg_hold *old = d->hold;
    d->hold = hold;
    d->cfg = next;
    sources_reload(d, hold);
    eval_reload(d);
    okrd_api_reload(d);
    /* A reload enables the webhooks a 410 disabled (DESIGN section 5), on
     * this node, also when it leads later (section 10). */
    struct okrd_err merr = { 0 };
    if (store_webhooks_disabled_mark(d->reader, &d->hooks_mark, &merr) < 0) {
        char mq[512];
        log_warning("reload", "msg=%s", log_quote(mq, sizeof mq, merr.msg));
    }
    okrd_alerts_reload(d);
    okrd_remind_reload(d);
    okrd_cfg_hold_unref(old);
    log_set_level(d->cfg->daemon.log_level);
    size_t n_kr = 0;
    for (size_t i = 0; i < d->cfg->n_objectives; i++)
        n_kr += d->cfg->objectives[i].n_key_results;
    log_info("reloaded", "sources=%zu objectives=%zu key_results=%zu webhooks=%zu",
             d->cfg->n_sources, d->cfg->n_objectives, n_kr, d->cfg->n_webhooks);
    okrd_notify_ready(d);
}

/* Opens the writer's and the loop's connections. With PostgreSQL, a server
 * that cannot be reached (OKRD_EIO: down, not yet started, a network
 * outage) is tried again with backoff, 250 ms doubling to 30 s, for as long
 * as it takes (DESIGN section 10: READY only once the store is open); a
 * wrong password, a newer schema or a standby are answers, not outages, and
 * end the start. Blocking sleeps are fine here: the loop does not run yet,
 * and SIGTERM meanwhile ends the process (no handler is installed yet). */
static int open_stores(struct okrd *d, const struct store_loc *wloc,
                       const struct store_loc *rloc, struct okrd_err *err)
{
    unsigned delay_ms = 250, attempt = 1;
    for (;; attempt++) {
        int rc = 0;
        if (!d->writer)
            rc = store_writer_open_loc(&d->writer, &d->loop, wloc, err);
        if (rc == 0 && !d->reader)
            rc = store_open_loc(&d->reader, rloc, STORE_READONLY, err);
        if (rc == 0)
            return 0;
        if (rc != OKRD_EIO || wloc->kind != STORE_POSTGRESQL)
            return rc;
        char q[512];
        log_warning("store_unavailable", "attempt=%u retry_in_ms=%u msg=%s", attempt, delay_ms,
                    log_quote(q, sizeof q, err->msg));
        struct timespec ts = { .tv_sec = delay_ms / 1000, .tv_nsec = (delay_ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        delay_ms = delay_ms >= 15000 ? 30000 : delay_ms * 2;
    }
}

static int okrd_start(struct okrd *d, struct state_lock **lock)
{
    struct okrd_err err = { 0 };
    int r = cli_mkdir_p(d->cfg->daemon.state_dir, 0750);
    if (r < 0) {
        log_error("start_failed", "state_dir=%s msg=\"cannot create: %s\"",
                  d->cfg->daemon.state_dir, strerror(-r));
        return EXIT_RUNTIME;
    }
    char q[512];
    /* Before the store is opened: a second daemon must not migrate or
     * write a store the first one runs on. Exit 3, not 1: the config is
     * fine, the machine's state (a running daemon) is what refuses. */
    if (state_lock_acquire(lock, d->cfg->daemon.state_dir, &err) < 0) {
        log_error("start_failed", "msg=%s", log_quote(q, sizeof q, err.msg));
        return EXIT_RUNTIME;
    }
    struct store_loc loc;
    if (cli_store_loc(d->cfg, "writer", d->store_path, sizeof d->store_path, &loc))
        return EXIT_RUNTIME;
    /* The URL is kept: a reload may replace the config it points into. */
    if (loc.url && !(loc.url = d->store_url = strdup(loc.url))) {
        log_error("start_failed", "msg=\"out of memory\"");
        return EXIT_RUNTIME;
    }
    d->store_loc = loc;
    struct store_loc rloc = loc;
    rloc.role = "reader";
    if (open_stores(d, &loc, &rloc, &err) < 0 ||
        store_webhooks_disabled_mark(d->reader, &d->hooks_mark, &err) < 0) {
        log_error("start_failed", "msg=%s", log_quote(q, sizeof q, err.msg));
        return EXIT_RUNTIME;
    }
    uv_signal_t *sigs[] = { &d->sig_term, &d->sig_int, &d->sig_hup };
    int nums[] = { SIGTERM, SIGINT, SIGHUP };
    for (int i = 0; i < 3; i++) {
        uv_signal_init(&d->loop, sigs[i]);
        sigs[i]->data = d;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    const char *stall = getenv("OKRD_TEST_STALL_ON_SIGUSR1");
    if (stall && atoi(stall) > 0) {
        d->stall_s = (unsigned)atoi(stall);
        uv_signal_init(&d->loop, &d->sig_stall);
        d->sig_stall.data = d;
        uv_signal_start(&d->sig_stall, on_stall, SIGUSR1);
    }
    if (sd_watchdog_enabled(0, &d->watchdog_usec) > 0 && d->watchdog_usec > 0) {
        uint64_t every_ms = d->watchdog_usec / 2000; /* ping at half the timeout */
        if (every_ms == 0)
            every_ms = 1;
        uv_timer_init(&d->loop, &d->watchdog);
        d->watchdog.data = d;
        uv_timer_start(&d->watchdog, on_watchdog, 0, every_ms);
    } else {
        d->watchdog_usec = 0;
    }
    if (httpc_open(&d->http, &d->loop, d->clock, d->cfg->daemon.http_max_connections, &err) < 0) {
        log_error("start_failed", "msg=%s", log_quote(q, sizeof q, err.msg));
        return EXIT_RUNTIME;
    }
    /* The role first: evaluation, sources, reminders and deliveries are
     * the leader's (DESIGN section 10); on SQLite this node leads. */
    if (okrd_ha_init(d, &err) < 0 || eval_start(d, &err) < 0) {
        log_error("start_failed", "msg=%s", log_quote(q, sizeof q, err.msg));
        return EXIT_RUNTIME;
    }
    if (okrd_api_start(d, &err) < 0 || okrd_ha_start(d, &err) < 0) {
        log_error("start_failed", "msg=%s", log_quote(q, sizeof q, err.msg));
        return EXIT_RUNTIME;
    }
    return 0;
}

int cmd_run(int argc, char **argv)
{
    struct okrd d = { .clock = &okrd_clock_system, .config_path = OKRD_DEFAULT_CONFIG };
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': d.config_path = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "okrd run: unexpected argument \"%s\"\n%s", argv[optind], usage);
        return EXIT_USAGE;
    }
    log_setup(CFG_LOG_INFO);
    const char *bad_clock = NULL;
    const struct okrd_clock *test_clock = okrd_test_clock_from_env(&bad_clock);
    if (bad_clock) {
        log_error("start_failed", "msg=\"OKRD_TEST_CLOCK is not a date-time or Unix seconds\"");
        return EXIT_USAGE;
    }
    if (test_clock)
        d.clock = test_clock;
    struct cfg_diags diags = { 0 };
    int rc = cfg_load(d.config_path, 0, &d.cfg, &diags);
    log_diags(&diags);
    cfg_diags_free(&diags);
    if (rc < 0) {
        log_error("start_failed", "config=%s msg=\"the config has errors\"", d.config_path);
        return EXIT_BAD_INPUT;
    }
    if (!(d.hold = okrd_cfg_hold_new(d.cfg))) {
        cfg_free(d.cfg);
        return EXIT_RUNTIME;
    }
    log_set_level(d.cfg->daemon.log_level);
    uv_loop_init(&d.loop);
    struct state_lock *lock = NULL;
    rc = okrd_start(&d, &lock);
    if (rc == 0) {
        /* Never the PostgreSQL URL: it is a secret. */
        log_info("started", "version=%s config=%s store=%s", OKRD_VERSION, d.config_path,
                 d.store_loc.kind == STORE_POSTGRESQL ? "postgresql" : d.store_path);
        okrd_notify_ready(&d);
        uv_run(&d.loop, UV_RUN_DEFAULT);
        log_info("stopped", "msg=\"clean shutdown\"");
    } else {
        /* Failed half-way: once the signal handlers exist, the normal
         * shutdown chain closes whatever was started (each step copes with
         * a part that never started); before that only the writer is open. */
        if (d.sig_term.data)
            okrd_stop(&d, "start_failed");
        else if (d.writer)
            store_writer_close(d.writer, on_writer_closed, &d);
        uv_run(&d.loop, UV_RUN_DEFAULT);
    }
    store_close(d.reader);
    if (uv_loop_close(&d.loop) != 0)
        log_warning("stopped", "msg=\"loop closed with handles still open\"");
    free(d.sources);
    okrd_ha_free(&d);
    free(d.store_url);
    eval_free(&d);
    okrd_cfg_hold_unref(d.hold);
    state_lock_release(lock); /* last: the store is closed */
    return rc ? rc : d.exit_code;
}
