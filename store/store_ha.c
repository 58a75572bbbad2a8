/*
 * store_ha.c — TEMPORARY (until the backend table is on this branch): the
 * HA functions of store.h for the SQLite store, which has no HA (one daemon,
 * always the leader). With store/store.c dispatching through struct
 * store_backend these become its dispatch lines and this file goes.
 */
#include "store_internal.h"

#include <time.h>

const char *store_backend_of(const struct store *s) { (void)s; return "sqlite"; }
bool store_is_shared(const struct store *s) { (void)s; return false; }

int store_ha_server(struct store *s, struct store_ha_server *out, struct okrd_err *err)
{
    (void)s;
    (void)err;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    out->clock_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    out->in_recovery = false;
    return 0;
}

int store_ha_try_lock(struct store *s, bool *got, struct okrd_err *err)
{
    (void)s;
    (void)err;
    *got = true;
    return 0;
}

bool store_ha_holds_lock(const struct store *s) { (void)s; return true; }

int store_ha_confirm(struct store *s, int64_t timeout_ms, struct okrd_err *err)
{
    (void)s;
    (void)timeout_ms;
    (void)err;
    return 0;
}

int store_ha_unlock(struct store *s, struct okrd_err *err) { (void)s; (void)err; return 0; }
int store_ha_reconnect(struct store *s, struct okrd_err *err) { (void)s; (void)err; return 0; }

int store_ha_newest_event_at(struct store *s, int64_t *out_s, struct okrd_err *err)
{
    (void)s;
    (void)err;
    *out_s = 0;
    return 0;
}

int store_listen(struct store *s, int *fd, struct okrd_err *err)
{
    (void)s;
    (void)err;
    *fd = -1;
    return 0;
}

int store_listen_drain(struct store *s, int *n, struct okrd_err *err)
{
    (void)s;
    (void)err;
    *n = 0;
    return 0;
}

int store_open_loc(struct store **out, const struct store_loc *loc, unsigned flags,
                   struct okrd_err *err)
{
    if (loc->kind != STORE_SQLITE)
        return okrd_err_set(err, OKRD_EINVAL, "store: this build has no PostgreSQL backend");
    return store_open(out, loc->path, flags, err);
}
