/*
 * cfg_internal.h — what the files of config/ share and nobody else sees.
 *
 * A load runs in three phases over one struct cfg_ctx: read and parse every
 * file (cfg_load.c, with the position index of cfg_keypos.c), validate each
 * file's sections into pre-sized arrays of the struct cfg (cfg_schema.c,
 * cfg_source.c, cfg_objective.c), then check what spans items and files
 * (cfg_check.c). Diagnostics are collected with their position and sorted
 * into file order at the end, so the phases may report in any order.
 *
 * Memory: everything a struct cfg holds lives in its arena (cfg_util.c);
 * everything only the load needs lives in ctx->tmp and dies with the load.
 */
#ifndef OKRD_CFG_INTERNAL_H
#define OKRD_CFG_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* ---- arena ---- */

struct cfg_arena_block;
struct cfg_arena {
    struct cfg_arena_block *head;
};

/* Zeroed memory that lives until cfg_arena_free. Out of memory aborts, as
 * Redis' zmalloc does: a config loader has no sensible way to go on. */
void *cfg_arena_alloc(struct cfg_arena *a, size_t n);
void *cfg_arena_array(struct cfg_arena *a, size_t n, size_t size);
char *cfg_arena_strdup(struct cfg_arena *a, const char *s);
char *cfg_arena_strndup(struct cfg_arena *a, const char *s, size_t n);
char *cfg_arena_printf(struct cfg_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cfg_arena_free(struct cfg_arena *a);
void *cfg_xrealloc(void *p, size_t n);

/* The struct cfg handed out is the first member of this, so cfg_free can
 * find the arena without a field in the public header. */
struct cfg_owned {
    struct cfg cfg;
    struct cfg_arena arena;
};

/* ---- position index (cfg_keypos.c) ---- */

struct cfg_keypos;
struct cfg_kp_entry {
    int key_line, key_col;   /* the key's opening quote (= value for array items) */
    int val_line, val_col;   /* the value's first character */
};

/* Positions in TEXT (JSON that jansson accepted; it must outlive the index)
 * by key path: "daemon.listen", "objectives[2].key_results[0].target"; the
 * root is "". Build returns NULL only when the text holds no value. Find
 * returns NULL for a path that leads nowhere; the entry it returns is valid
 * until the next call. */
struct cfg_keypos *cfg_keypos_build(const char *text, size_t len);
const struct cfg_kp_entry *cfg_keypos_find(struct cfg_keypos *kp, const char *path);
void cfg_keypos_free(struct cfg_keypos *kp);
/* The memory the index holds, in bytes (for tests: at start-up every page
 * it touches is a page fault). */
size_t cfg_keypos_bytes(const struct cfg_keypos *kp);

/* ---- load context ---- */

struct cfg_file_ctx {
    const char *name;         /* as shown in messages; owned by the cfg arena */
    char *text;               /* raw bytes, malloc'd */
    size_t len;
    json_t *root;             /* NULL when the file did not parse */
    struct cfg_keypos *kp;
    bool is_main;
};

/* Where an item was written: its file and its key path, for messages that
 * are only known after every file has been read (duplicates, references). */
struct cfg_ref {
    int file;                 /* -1: not recorded */
    const char *path;         /* in ctx->tmp */
};

struct cfg_pdiag {            /* a diagnostic before sorting */
    int file;
    int line, col;
    size_t seq;
    enum cfg_severity sev;
    char *text;               /* malloc'd, the full line */
};

struct cfg_ctx {
    struct cfg *cfg;
    struct cfg_arena *arena;  /* the cfg's */
    struct cfg_arena tmp;     /* this load's */
    unsigned flags;
    const char *base_dir;     /* absolute; relative paths resolve against it */

    struct cfg_file_ctx *files;
    size_t n_files;
    int cur;                  /* the file being validated */

    char *path;               /* current key path, NUL-terminated */
    size_t path_len, path_cap;

    struct cfg_pdiag *diags;
    size_t n_diags, cap_diags;

    /* parallel to cfg->sources, metrics, objectives, webhooks */
    struct cfg_ref *src_ref, *met_ref, *obj_ref, *wh_ref;
    struct cfg_ref **kr_ref;  /* [objective][key result] */
    bool timezone_ok;         /* false: daemon.timezone was bad, cycles use UTC */
};

/* Key path handling: push returns the length to pop back to. */
size_t cfg_path_push_key(struct cfg_ctx *c, const char *key);
size_t cfg_path_push_index(struct cfg_ctx *c, size_t i);
void cfg_path_pop(struct cfg_ctx *c, size_t len);
/* The current path with ".KEY" (or "KEY" at the root) appended, in ctx->tmp. */
const char *cfg_path_with(struct cfg_ctx *c, const char *key);

/* ---- diagnostics (cfg_diag.c) ---- */

/* Reports at FILE's PATH (the value; AT_KEY: the key). A path missing from
 * the index falls back to its nearest enclosing value, so a missing key
 * points at the object that should hold it. SHOWN is the key path printed
 * before the message (NULL: PATH). */
void cfg_report(struct cfg_ctx *c, enum cfg_severity sev, int file, const char *path,
                bool at_key, const char *shown, const char *fmt, va_list ap);
/* At the value of the current path + KEY (KEY NULL: the current path). */
void cfg_err(struct cfg_ctx *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cfg_warn(struct cfg_ctx *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* At the KEY itself (not its value): for unknown keys. */
void cfg_err_key(struct cfg_ctx *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* At the value of REF's path + SUB (".parent", "" or NULL for the item). */
void cfg_err_ref(struct cfg_ctx *c, const struct cfg_ref *ref, const char *sub,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* "FILE:LINE:COL" of REF's path + SUB, in ctx->tmp (for "first defined at"). */
const char *cfg_ref_where(struct cfg_ctx *c, const struct cfg_ref *ref, const char *sub);
/* A file-level problem: "FILE: message" (line 0) or at LINE:COL. */
void cfg_err_file(struct cfg_ctx *c, int file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Sorts into file order, caps errors per file, moves into OUT. */
void cfg_diags_finish(struct cfg_ctx *c, struct cfg_diags *out);
/* Fills the position of the current path (+ KEY) for struct cfg_pos. */
void cfg_pos_here(struct cfg_ctx *c, const char *key, struct cfg_pos *pos);
size_t cfg_n_errors(const struct cfg_ctx *c);

/* ---- typed getters (cfg_get.c) ----
 * Each reads member KEY of OBJ (the object at the current path). They return
 * 1 when the key is present and valid (out set), 0 when it is absent (out
 * untouched; "missing required key" reported when REQ), -1 when it is present
 * but wrong (reported). Strings are copied into the cfg arena. */

enum cfg_str_kind {
    CFG_STR_PLAIN,            /* references always resolved */
    CFG_STR_SECRET,           /* CFG_NO_SECRETS: keep the reference text */
    CFG_STR_SECRET_NULL,      /* CFG_NO_SECRETS: NULL */
};

/* Reports every key of OBJ not in KNOWN (NULL-terminated), with a hint. */
void cfg_check_keys(struct cfg_ctx *c, json_t *obj, const char *const *known);
const char *cfg_json_type_name(const json_t *v);
/* The string value quoted for a message ("\"5x\""), shortened, in ctx->tmp. */
const char *cfg_quote(struct cfg_ctx *c, const char *s);

int cfg_get_str(struct cfg_ctx *c, json_t *obj, const char *key, bool req,
                enum cfg_str_kind kind, char **out);
/* Resolves a string node (not a member); PATH_KEY names it for messages. */
int cfg_str_value(struct cfg_ctx *c, json_t *v, const char *key, enum cfg_str_kind kind,
                  char **out);
int cfg_get_id(struct cfg_ctx *c, json_t *obj, const char *key, bool req, char **out);
int cfg_get_enum(struct cfg_ctx *c, json_t *obj, const char *key, bool req,
                 const char *const *names, int *out);
int cfg_get_duration(struct cfg_ctx *c, json_t *obj, const char *key, bool req,
                     int64_t min_ms, int64_t *out_ms);
int cfg_get_int(struct cfg_ctx *c, json_t *obj, const char *key, bool req,
                int64_t min, int64_t max, int64_t *out);
int cfg_get_number(struct cfg_ctx *c, json_t *obj, const char *key, bool req, double *out);
/* A number in [lo, hi] (lo_open/hi_open exclude the bound). */
int cfg_get_range(struct cfg_ctx *c, json_t *obj, const char *key, double lo, bool lo_open,
                  double hi, bool hi_open, double *out);
int cfg_get_bool(struct cfg_ctx *c, json_t *obj, const char *key, bool req, bool *out);
/* Member KEY must be a JSON object / array; returns it, or NULL (absent or
 * wrong type; *bad set when reported). */
json_t *cfg_get_object(struct cfg_ctx *c, json_t *obj, const char *key, bool req, bool *bad);
json_t *cfg_get_array(struct cfg_ctx *c, json_t *obj, const char *key, bool req, bool *bad);
/* A list of strings; each element resolved as PLAIN and checked as an id
 * when IDS. Returns like the getters. A bad element stays in the list as
 * NULL, so indices match the file for later messages (and the load fails). */
int cfg_get_str_list(struct cfg_ctx *c, json_t *obj, const char *key, bool ids,
                     char ***out, size_t *n);
/* Makes P absolute against ctx->base_dir, normalising "." and "..". */
char *cfg_abs_path(struct cfg_ctx *c, const char *p);

/* ---- secrets (cfg_secret.c) ---- */

/* Expands every ${env:NAME}, ${file:/path} and ${cred:NAME} in RAW into
 * *out (malloc'd). On failure returns OKRD_EINVAL and a message naming the
 * reference, never a value. */
int cfg_secret_expand(const char *raw, const char *base_dir, char **out, struct okrd_err *err);
bool cfg_has_reference(const char *s);
/* "whsec_" + base64; the message never quotes the value. */
bool cfg_webhook_secret_ok(const char *s, const char **why);

/* ---- sections ---- */

void cfg_schema_daemon(struct cfg_ctx *c, json_t *obj);
void cfg_schema_alerts(struct cfg_ctx *c, json_t *obj);
void cfg_schema_checkins(struct cfg_ctx *c, json_t *obj);
void cfg_schema_store(struct cfg_ctx *c, json_t *obj);
void cfg_schema_metric(struct cfg_ctx *c, json_t *obj, struct cfg_metric *m);
void cfg_schema_webhook(struct cfg_ctx *c, json_t *obj, struct cfg_webhook *w);
void cfg_schema_source(struct cfg_ctx *c, json_t *obj, struct cfg_source *s);
/* Fills O and *KR_REFS (parallel to o->key_results, in ctx->tmp). */
void cfg_schema_objective(struct cfg_ctx *c, json_t *obj, struct cfg_objective *o,
                          struct cfg_ref **kr_refs);
bool cfg_valid_listen(const char *s, const char **why);
/* daemon.api_tokens (after daemon.api_token is read) into cfg->daemon.api_tokens
 * (cfg_tokens.c). */
void cfg_schema_tokens(struct cfg_ctx *c, json_t *obj);
/* A listen that is not loopback or unix: with no token in OBJ (the daemon
 * section) is an error. */
void cfg_check_listen_tokens(struct cfg_ctx *c, json_t *obj);
/* "unix:...", "" (off), 127.0.0.0/8, [::1], [::ffff:127.x.x.x] or localhost. */
bool cfg_listen_is_local(const char *listen);
bool cfg_valid_token_name(const char *s);

/* Cross checks over the whole config (cfg_check.c). */
void cfg_check_all(struct cfg_ctx *c);

/* ---- small helpers (cfg_util.c) ---- */

/* Damerau–Levenshtein (optimal string alignment) distance. */
size_t cfg_edit_distance(const char *a, const char *b);
/* The nearest of KNOWN to KEY if it is close enough to be a typo, else NULL. */
const char *cfg_suggest(const char *key, const char *const *known);
int cfg_find_name(const char *const *names, const char *s);
/* Sorts CFG's sources and metrics by id into cfg->lookup (in ARENA). */
void cfg_lookup_build(struct cfg *cfg, struct cfg_arena *arena);

#endif
