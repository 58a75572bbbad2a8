/*
 * okrd.h — the daemon's one piece of state (STYLE: no global state outside
 * daemon/, and even here it is one struct handed around, not globals).
 * It holds the loop, the running config, the store's writer and the loop's
 * read-only connection, and the handles of the daemon's own timers.
 */
#ifndef OKRD_DAEMON_H
#define OKRD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/clock.h"
#include "config/config.h"
#include "store/store.h"

struct okrd {
    uv_loop_t loop;
    const struct okrd_clock *clock;
    const char *config_path;
    struct cfg *cfg;                /* the running config; replaced on reload */
    char store_path[4096];          /* fixed at start: a new state_dir needs a restart */
    struct store_writer *writer;    /* the only write connection (its own thread) */
    struct store *reader;           /* the loop's read-only connection */
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t watchdog;
    uint64_t watchdog_usec;         /* 0 = systemd's watchdog is off */
    bool stopping;
    int exit_code;
};

/* sd_notify wrappers: no-ops without NOTIFY_SOCKET. */
void okrd_notify_ready(struct okrd *d);
void okrd_notify_status(struct okrd *d);
void okrd_notify_reloading(struct okrd *d);
void okrd_notify_stopping(struct okrd *d);

/* SIGHUP: load and validate the config again; on error keep the old one. */
void okrd_reload(struct okrd *d);

#endif
