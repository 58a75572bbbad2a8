/*
 * cli.h — the sub-commands of the one okrd binary (DESIGN section 6) and
 * what they share: exit codes, the default config path, loading a config
 * and printing its diagnostics.
 */
#ifndef OKRD_CLI_H
#define OKRD_CLI_H

#include <stdbool.h>
#include "config/config.h"
#include "store/store.h"

enum {
    EXIT_OK_ = 0,      /* ok */
    EXIT_BAD_INPUT = 1,/* bad config or input */
    EXIT_USAGE = 2,    /* bad command line */
    EXIT_RUNTIME = 3,  /* runtime failure (store, I/O) */
};

#define OKRD_DEFAULT_CONFIG "/etc/okrd/okrd.json"

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_checkin(int argc, char **argv);
int cmd_retro(int argc, char **argv);

/* Loads the config, printing every diagnostic to stderr ("warning: " before
 * warnings). Returns 0 with *out set, or EXIT_BAD_INPUT. */
int cli_load_config(const char *path, unsigned flags, struct cfg **out);

/* Prints diagnostics to stderr; returns how many were errors. */
size_t cli_print_diags(const struct cfg_diags *d);

/* The store path for cfg ("STATE_DIR/okrd.db"). */
int cli_store_path(const struct cfg *cfg, char *buf, size_t size);
/* The store the config names (DESIGN section 10): SQLite at state_dir (its
 * path written into PATHBUF) or PostgreSQL at store.url (pointing into cfg,
 * which must outlive *loc). ROLE names the session ("status", "writer").
 * 0, or an exit code after printing why. */
int cli_store_loc(const struct cfg *cfg, const char *role, char *pathbuf, size_t size,
                  struct store_loc *loc);
/* cli_store_loc + store_open_loc: 0, or -1 with err filled. */
int cli_store_open(const struct cfg *cfg, const char *role, unsigned flags, struct store **out,
                   struct okrd_err *err);

/* mkdir -p PATH (each missing level with MODE); 0 or -errno. */
int cli_mkdir_p(const char *path, unsigned mode);

/* Parses a --from/--to/--at argument (date or date-time, in tz). Prints a
 * usage error naming OPTION and returns EXIT_USAGE on failure. */
int cli_parse_time_arg(const char *option, const char *arg, const struct okrd_tz *tz,
                       int64_t *out_s);

#endif
