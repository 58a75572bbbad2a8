/*
 * http_api.c — starts, reloads and stops the local HTTP API for the daemon.
 * The API itself (api/) lands with the API issue; until then okrd serves
 * nothing on daemon.listen and says so once at start-up.
 */
#include "log.h"
#include "okrd.h"

int okrd_api_start(struct okrd *d, struct okrd_err *err)
{
    (void)err;
    if (d->cfg->daemon.listen[0])
        log_info("api", "listen=%s msg=\"the HTTP API is not part of this build yet\"",
                 d->cfg->daemon.listen);
    return 0;
}

void okrd_api_reload(struct okrd *d) { (void)d; }

void okrd_api_stop(struct okrd *d, void (*done)(struct okrd *d)) { done(d); }
