/*
 * cfg_load.c — cfg_load and cfg_load_string: reading okrd.json and its
 * conf.d/ *.json drop-ins, parsing them with jansson, and running the
 * sections and cross checks over them in order.
 *
 * Every file is read and parsed before any is validated, so the arrays of
 * the struct cfg can be sized once (items keep stable addresses: key results
 * point at their objective) and the cross checks see every id. The main
 * file's daemon section is validated first because cycles need its time
 * zone. A file that does not parse is reported and skipped; the others are
 * still checked, so one run shows every problem.
 */
#include "cfg_internal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_FILE_MAX_BYTES (16 << 20)

static const char *const main_keys[] = {
    "daemon", "sources", "metrics", "objectives", "webhooks", "alerts", "checkins", "store",
    NULL,
};
static const char *const dropin_keys[] = { "sources", "metrics", "objectives", "webhooks", NULL };

static int read_file(const char *path, char **out, size_t *len, int *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *err = errno;
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *buf = cfg_xrealloc(NULL, cap);
    for (;;) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            if (cap >= CFG_FILE_MAX_BYTES) {
                fclose(f);
                free(buf);
                *err = EFBIG;
                return -1;
            }
            cap *= 2;
            buf = cfg_xrealloc(buf, cap);
        }
    }
    if (ferror(f)) {
        *err = errno ? errno : EIO;
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    *out = buf;
    *len = n;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* conf.d/ *.json beside the main file, in name order (strcmp: "10-x" before
 * "9-y", as systemd and nginx order drop-ins). Hidden files are skipped. */
static char **list_dropins(const char *dir, size_t *n, int *err)
{
    *n = 0;
    *err = 0;
    DIR *d = opendir(dir);
    if (!d) {
        /* no conf.d/ is normal; one we cannot read is not */
        if (errno != ENOENT && errno != ENOTDIR)
            *err = errno;
        return NULL;
    }
    char **names = NULL;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l <= 5 || strcmp(de->d_name + l - 5, ".json") != 0)
            continue;
        char *full = cfg_xrealloc(NULL, strlen(dir) + l + 2);
        sprintf(full, "%s/%s", dir, de->d_name);
        struct stat st;
        bool reg = stat(full, &st) == 0 && S_ISREG(st.st_mode);
        free(full);
        if (!reg)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            names = cfg_xrealloc(names, cap * sizeof *names);
        }
        names[(*n)++] = strdup(de->d_name);
        if (!names[*n - 1])
            cfg_xrealloc(NULL, SIZE_MAX); /* out of memory */
    }
    closedir(d);
    qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

static void add_file(struct cfg_ctx *c, const char *name, char *text, size_t len, bool is_main)
{
    c->files = cfg_xrealloc(c->files, (c->n_files + 1) * sizeof *c->files);
    c->files[c->n_files] = (struct cfg_file_ctx){
        .name = cfg_arena_strdup(c->arena, name), .text = text, .len = len, .is_main = is_main,
    };
    c->n_files++;
}

/* jansson's message without a quoted string token: "near '\"...\"'" may be a
 * secret written in the file. Keys (duplicate key errors) are kept. */
static void clean_jansson_text(char *t, size_t size)
{
    char *near = strstr(t, " near '\"");
    if (near && strncmp(t, "duplicate object key", 20) != 0)
        *near = '\0';
    /* the commonest JSON mistake gets a hint */
    size_t n = strlen(t);
    if ((strncmp(t, "string or '}' expected", 22) == 0 || strncmp(t, "unexpected token", 16) == 0) &&
        n >= 8 && (strcmp(t + n - 8, "near '}'") == 0 || strcmp(t + n - 8, "near ']'") == 0))
        snprintf(t + n, size - n, " (a trailing comma?)");
}

static void parse_file(struct cfg_ctx *c, int fi)
{
    struct cfg_file_ctx *f = &c->files[fi];
    const char *s = f->text;
    size_t len = f->len;
    /* a UTF-8 byte order mark is invisible in an editor: skip it */
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3, len -= 3;
    size_t i = 0;
    while (i < len && s[i] && strchr(" \t\r\n", s[i]))
        i++;
    if (i == len) {
        cfg_err_file(c, fi, 1, 1, "the file is empty (expected a JSON object)");
        return;
    }
    json_error_t je;
    json_t *root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        clean_jansson_text(je.text, sizeof je.text);
        cfg_err_file(c, fi, je.line > 0 ? je.line : 1, je.column > 0 ? je.column : 1,
                     "invalid JSON: %s", je.text);
        return;
    }
    if (!json_is_object(root)) {
        cfg_err_file(c, fi, 1, 1, "expected a JSON object at the top level, got %s",
                     cfg_json_type_name(root));
        json_decref(root);
        return;
    }
    f->root = root;
    f->kp = cfg_keypos_build(s, len);
}

static size_t count_items(struct cfg_ctx *c, const char *key)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_files; i++) {
        json_t *a = c->files[i].root ? json_object_get(c->files[i].root, key) : NULL;
        n += json_is_array(a) ? json_array_size(a) : 0;
    }
    return n;
}

static void set_defaults(struct cfg *cfg)
{
    cfg->daemon.state_dir = "/var/lib/okrd";
    cfg->daemon.listen = "127.0.0.1:9470";
    cfg->daemon.timezone = "UTC";
    cfg->daemon.log_level = CFG_LOG_INFO;
    cfg->daemon.http_max_connections = 64;
    cfg->daemon.evaluate_every_ms = 60000;
    cfg->alerts.for_ms = 3600000;
    cfg->alerts.repeat_ms = 7 * 86400000LL;
    cfg->alerts.grade_after_ms = 86400000;
    cfg->alerts.retention_ms = 90 * 86400000LL;
    cfg->checkins.every_ms = 7 * 86400000LL;
    cfg->checkins.override_for_ms = 14 * 86400000LL;
    cfg->store.backend = CFG_STORE_SQLITE;
    cfg->store.takeover_check_ms = 2000;
}

/* Walks list KEY of ROOT, calling FN per object element; NAME is the key. */
static void each_item(struct cfg_ctx *c, json_t *root, const char *key,
                      void (*fn)(struct cfg_ctx *, json_t *))
{
    json_t *a = json_object_get(root, key);
    if (!a)
        return;
    if (!json_is_array(a)) {
        cfg_err(c, key, "expected a list, got %s", cfg_json_type_name(a));
        return;
    }
    size_t old = cfg_path_push_key(c, key);
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        size_t o2 = cfg_path_push_index(c, i);
        if (!json_is_object(v))
            cfg_err(c, NULL, "expected an object, got %s", cfg_json_type_name(v));
        else
            fn(c, v);
        cfg_path_pop(c, o2);
    }
    cfg_path_pop(c, old);
}

static struct cfg_ref here(struct cfg_ctx *c)
{
    return (struct cfg_ref){ c->cur, cfg_arena_strdup(&c->tmp, c->path) };
}

static void one_source(struct cfg_ctx *c, json_t *v)
{
    c->src_ref[c->cfg->n_sources] = here(c);
    cfg_schema_source(c, v, &c->cfg->sources[c->cfg->n_sources++]);
}

static void one_metric(struct cfg_ctx *c, json_t *v)
{
    struct cfg_metric *m = &c->cfg->metrics[c->cfg->n_metrics];
    m->scale = 1;
    c->met_ref[c->cfg->n_metrics++] = here(c);
    cfg_schema_metric(c, v, m);
}

static void one_objective(struct cfg_ctx *c, json_t *v)
{
    size_t i = c->cfg->n_objectives++;
    c->obj_ref[i] = here(c);
    cfg_schema_objective(c, v, &c->cfg->objectives[i], &c->kr_ref[i]);
}

static void one_webhook(struct cfg_ctx *c, json_t *v)
{
    struct cfg_webhook *w = &c->cfg->webhooks[c->cfg->n_webhooks];
    w->timeout_ms = 10000;
    w->max_age_ms = 72 * 3600000LL;
    c->wh_ref[c->cfg->n_webhooks++] = here(c);
    cfg_schema_webhook(c, v, w);
}

static void validate_file(struct cfg_ctx *c, int fi)
{
    struct cfg_file_ctx *f = &c->files[fi];
    c->cur = fi;
    cfg_path_pop(c, 0);
    const char *key;
    json_t *v;
    json_object_foreach(f->root, key, v) {
        if (key[0] == '_')
            continue;
        if (!f->is_main && (strcmp(key, "daemon") == 0 || strcmp(key, "alerts") == 0 ||
                            strcmp(key, "checkins") == 0 || strcmp(key, "store") == 0))
            cfg_err_key(c, key, "\"%s\" is not allowed in a drop-in (only sources, metrics, "
                        "objectives and webhooks); put it in the main file", key);
        else if (cfg_find_name(f->is_main ? main_keys : dropin_keys, key) < 0) {
            const char *hint = cfg_suggest(key, f->is_main ? main_keys : dropin_keys);
            if (hint)
                cfg_err_key(c, key, "unknown key %s \xe2\x80\x94 did you mean \"%s\"?",
                            cfg_quote(c, key), hint);
            else
                cfg_err_key(c, key, "unknown key %s", cfg_quote(c, key));
        }
    }
    (void)v;
    each_item(c, f->root, "sources", one_source);
    each_item(c, f->root, "metrics", one_metric);
    each_item(c, f->root, "objectives", one_objective);
    each_item(c, f->root, "webhooks", one_webhook);
    if (f->is_main) {
        bool bad;
        json_t *a = cfg_get_object(c, f->root, "alerts", false, &bad);
        if (a) {
            size_t old = cfg_path_push_key(c, "alerts");
            cfg_schema_alerts(c, a);
            cfg_path_pop(c, old);
        }
        json_t *ck = cfg_get_object(c, f->root, "checkins", false, &bad);
        if (ck) {
            size_t old = cfg_path_push_key(c, "checkins");
            cfg_schema_checkins(c, ck);
            cfg_path_pop(c, old);
        }
        json_t *st = cfg_get_object(c, f->root, "store", false, &bad);
        if (st) {
            size_t old = cfg_path_push_key(c, "store");
            cfg_schema_store(c, st);
            cfg_path_pop(c, old);
        }
    }
}

static int run(struct cfg_ctx *c, struct cfg **out, struct cfg_diags *diags, int fail_code)
{
    struct cfg *cfg = c->cfg;
    for (size_t i = 0; i < c->n_files; i++)
        parse_file(c, (int)i);

    set_defaults(cfg);
    size_t ns = count_items(c, "sources"), nm = count_items(c, "metrics");
    size_t no = count_items(c, "objectives"), nw = count_items(c, "webhooks");
    cfg->sources = cfg_arena_array(c->arena, ns + 1, sizeof *cfg->sources);
    cfg->metrics = cfg_arena_array(c->arena, nm + 1, sizeof *cfg->metrics);
    cfg->objectives = cfg_arena_array(c->arena, no + 1, sizeof *cfg->objectives);
    cfg->webhooks = cfg_arena_array(c->arena, nw + 1, sizeof *cfg->webhooks);
    c->src_ref = cfg_arena_array(&c->tmp, ns + 1, sizeof *c->src_ref);
    c->met_ref = cfg_arena_array(&c->tmp, nm + 1, sizeof *c->met_ref);
    c->obj_ref = cfg_arena_array(&c->tmp, no + 1, sizeof *c->obj_ref);
    c->wh_ref = cfg_arena_array(&c->tmp, nw + 1, sizeof *c->wh_ref);
    c->kr_ref = cfg_arena_array(&c->tmp, no + 1, sizeof *c->kr_ref);

    /* the daemon section first: cycles are midnights in its time zone */
    if (c->n_files > 0 && c->files[0].root) {
        c->cur = 0;
        bool bad;
        json_t *d = cfg_get_object(c, c->files[0].root, "daemon", false, &bad);
        if (d) {
            size_t old = cfg_path_push_key(c, "daemon");
            cfg_schema_daemon(c, d);
            cfg_path_pop(c, old);
        }
    }
    if (!cfg->daemon.tz && c->timezone_ok) {
        struct okrd_err err = { 0 };
        if (okrd_tz_open(&cfg->daemon.tz, cfg->daemon.timezone, &err) < 0)
            cfg->daemon.tz = NULL; /* NULL is UTC for every tz function */
    }
    for (size_t i = 0; i < c->n_files; i++)
        if (c->files[i].root)
            validate_file(c, (int)i);
    cfg_check_all(c);

    cfg->n_files = c->n_files;
    cfg->files = cfg_arena_array(c->arena, c->n_files + 1, sizeof *cfg->files);
    for (size_t i = 0; i < c->n_files; i++)
        cfg->files[i] = (char *)c->files[i].name;
    cfg->secrets_resolved = !(c->flags & CFG_NO_SECRETS);

    bool failed = cfg_n_errors(c) > 0;
    cfg_diags_finish(c, diags);
    if (failed)
        return fail_code;
    cfg_lookup_build(cfg, c->arena);
    *out = cfg;
    c->cfg = NULL;
    return 0;
}

static void ctx_init(struct cfg_ctx *c, unsigned flags, struct cfg_diags *diags)
{
    memset(c, 0, sizeof *c);
    memset(diags, 0, sizeof *diags);
    struct cfg_owned *o = calloc(1, sizeof *o);
    if (!o)
        cfg_xrealloc(NULL, SIZE_MAX);
    c->cfg = &o->cfg;
    c->arena = &o->arena;
    c->flags = flags;
    c->timezone_ok = true;
}

static void ctx_done(struct cfg_ctx *c)
{
    for (size_t i = 0; i < c->n_files; i++) {
        json_decref(c->files[i].root);
        cfg_keypos_free(c->files[i].kp);
        free(c->files[i].text);
    }
    free(c->files);
    free(c->path);
    for (size_t i = 0; i < c->n_diags; i++)
        free(c->diags[i].text);
    free(c->diags);
    cfg_arena_free(&c->tmp);
    cfg_free(c->cfg);
}

static const char *cwd(struct cfg_ctx *c)
{
    char buf[PATH_MAX];
    return cfg_arena_strdup(&c->tmp, getcwd(buf, sizeof buf) ? buf : "/");
}

int cfg_load(const char *path, unsigned flags, struct cfg **out, struct cfg_diags *diags)
{
    struct cfg_ctx c;
    ctx_init(&c, flags, diags);
    *out = NULL;
    c.cfg->path = cfg_arena_strdup(c.arena, path);

    /* the directory as written (for names in messages) and absolute */
    const char *slash = strrchr(path, '/');
    const char *dir_shown = slash ? cfg_arena_strndup(&c.tmp, path, (size_t)(slash - path + (slash == path)))
                                  : ".";
    c.base_dir = dir_shown[0] == '/' ? dir_shown
               : cfg_arena_printf(&c.tmp, "%s/%s", cwd(&c), dir_shown);
    c.base_dir = cfg_abs_path(&c, c.base_dir);

    char *text = NULL;
    size_t len = 0;
    int e = 0;
    if (read_file(path, &text, &len, &e) < 0) {
        add_file(&c, path, NULL, 0, true);
        cfg_err_file(&c, 0, 0, 0, "cannot read: %s", strerror(e));
        cfg_diags_finish(&c, diags);
        ctx_done(&c);
        return OKRD_EIO;
    }
    add_file(&c, path, text, len, true);

    const char *ddir = strcmp(dir_shown, ".") == 0 ? "conf.d"
                     : cfg_arena_printf(&c.tmp, "%s%sconf.d", dir_shown,
                                        strcmp(dir_shown, "/") == 0 ? "" : "/");
    size_t n = 0;
    char **names = list_dropins(ddir, &n, &e);
    if (e)
        cfg_err_file(&c, 0, 0, 0, "cannot read the drop-in directory %s: %s", ddir, strerror(e));
    for (size_t i = 0; i < n; i++) {
        char *full = cfg_arena_printf(&c.tmp, "%s/%s", ddir, names[i]);
        if (read_file(full, &text, &len, &e) < 0) {
            add_file(&c, full, NULL, 0, false);
            cfg_err_file(&c, (int)c.n_files - 1, 0, 0, "cannot read: %s", strerror(e));
        } else {
            add_file(&c, full, text, len, false);
        }
        free(names[i]);
    }
    free(names);

    int rc = run(&c, out, diags, OKRD_EINVAL);
    ctx_done(&c);
    return rc;
}

int cfg_load_string(const char *text, size_t len, const char *name, unsigned flags,
                    struct cfg **out, struct cfg_diags *diags)
{
    struct cfg_ctx c;
    ctx_init(&c, flags, diags);
    *out = NULL;
    if (!name)
        name = "<string>";
    c.cfg->path = cfg_arena_strdup(c.arena, name);
    c.base_dir = cwd(&c);
    char *copy = cfg_xrealloc(NULL, len + 1);
    if (len)
        memcpy(copy, text, len);
    copy[len] = '\0';
    add_file(&c, name, copy, len, true);
    int rc = run(&c, out, diags, OKRD_EINVAL);
    ctx_done(&c);
    return rc;
}
