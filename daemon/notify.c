/*
 * notify.c — what okrd tells systemd (DESIGN section 7): READY=1 once the
 * config is loaded and the store is open, STATUS= with counts an operator
 * reads in `systemctl status`, RELOADING=1/READY=1 around a reload,
 * STOPPING=1, and WATCHDOG=1 from a loop timer (see cmd_run.c), so a wedged
 * loop stops the pings and systemd restarts the service.
 */
#include <stdio.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "okrd.h"
#include "store/store_outbox.h"

/* What `systemctl status` shows: sources up of configured, key results off
 * track and at risk, webhook deliveries waiting. */
static void status_text(const struct okrd *d, char *buf, size_t size)
{
    const struct cfg *c = d->cfg;
    size_t n_kr = 0;
    for (size_t i = 0; i < c->n_objectives; i++)
        n_kr += c->objectives[i].n_key_results;
    struct store_delivery_counts dc = { 0 };
    struct okrd_err err;
    if (!d->reader || store_delivery_counts(d->reader, NULL, &dc, &err) < 0)
        dc.pending = 0;
    snprintf(buf, size, "%s; sources %zu/%zu up; %zu objectives, %zu key results: %zu off track, "
                        "%zu at risk; %lld deliveries pending",
             okrd_ha_role(d), sources_up(d), c->n_sources, c->n_objectives, n_kr, d->eval.n_off_track,
             d->eval.n_at_risk, (long long)dc.pending);
}

void okrd_notify_ready(struct okrd *d)
{
    char s[256];
    status_text(d, s, sizeof s);
    sd_notifyf(0, "READY=1\nSTATUS=%s", s);
}

void okrd_notify_status(struct okrd *d)
{
    char s[256];
    status_text(d, s, sizeof s);
    sd_notifyf(0, "STATUS=%s", s);
}

void okrd_notify_reloading(struct okrd *d)
{
    (void)d;
    /* MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) match the
     * reload; older systemd ignores it. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the config",
               (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
}

void okrd_notify_stopping(struct okrd *d)
{
    (void)d;
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}
