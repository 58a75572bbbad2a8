/*
 * cli.c — what the sub-commands share: loading the config with its
 * diagnostics printed, the store path, time arguments.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/parse.h"
#include "store/store.h"

size_t cli_print_diags(const struct cfg_diags *d)
{
    size_t errors = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (d->items[i].severity == CFG_SEV_WARNING) {
            fprintf(stderr, "warning: %s\n", d->items[i].text);
        } else {
            fprintf(stderr, "%s\n", d->items[i].text);
            errors++;
        }
    }
    return errors;
}

int cli_load_config(const char *path, unsigned flags, struct cfg **out)
{
    struct cfg_diags diags = { 0 };
    int rc = cfg_load(path, flags, out, &diags);
    cli_print_diags(&diags);
    cfg_diags_free(&diags);
    if (rc < 0) {
        *out = NULL;
        return EXIT_BAD_INPUT;
    }
    return 0;
}

int cli_store_path(const struct cfg *cfg, char *buf, size_t size)
{
    struct okrd_err err;
    if (store_path(cfg->daemon.state_dir, buf, size, &err) < 0) {
        fprintf(stderr, "okrd: %s\n", err.msg);
        return EXIT_RUNTIME;
    }
    return 0;
}

int cli_store_loc(const struct cfg *cfg, const char *role, char *pathbuf, size_t size,
                  struct store_loc *loc)
{
    *loc = (struct store_loc){.role = role, .takeover_check_ms = cfg->store.takeover_check_ms};
    if (cfg->store.backend == CFG_STORE_POSTGRESQL) {
        loc->kind = STORE_POSTGRESQL;
        loc->url = cfg->store.url;
        return 0;
    }
    loc->kind = STORE_SQLITE;
    loc->path = pathbuf;
    return cli_store_path(cfg, pathbuf, size);
}

int cli_store_open(const struct cfg *cfg, const char *role, unsigned flags, struct store **out,
                   struct okrd_err *err)
{
    char path[4096];
    struct store_loc loc;
    *out = NULL;
    if (cfg->store.backend != CFG_STORE_POSTGRESQL &&
        store_path(cfg->daemon.state_dir, path, sizeof path, err) < 0)
        return -1;
    if (cli_store_loc(cfg, role, path, sizeof path, &loc))
        return okrd_err_set(err, OKRD_EINVAL, "store: state_dir path is too long");
    return store_open_loc(out, &loc, flags, err) < 0 ? -1 : 0;
}

int cli_parse_time_arg(const char *option, const char *arg, const struct okrd_tz *tz,
                       int64_t *out_s)
{
    struct okrd_err err;
    if (okrd_parse_timestamp(arg, strlen(arg), tz, OKRD_TS_AUTO, out_s, &err) < 0) {
        fprintf(stderr, "okrd: %s: %s (use a date like 2026-11-21 or a date-time like "
                        "2026-11-21T10:00:00Z)\n", option, err.msg);
        return EXIT_USAGE;
    }
    return 0;
}

int cli_mkdir_p(const char *path, unsigned mode)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}
