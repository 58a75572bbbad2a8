/*
 * cfg_diag.c — diagnostics: the current key path, turning a path into
 * FILE:LINE:COL, and the final sorted, capped list handed to the caller.
 *
 * Diagnostics are collected unsorted because the phases of a load find them
 * in different orders (a duplicate id is only known after the last drop-in);
 * cfg_diags_finish puts them in file order, then line order, and keeps at
 * most CFG_MAX_ERRORS_PER_FILE errors per file so one broken file cannot bury
 * the others. Messages never carry a secret's value: callers quote only what
 * the user wrote, and never the text of a secret field.
 */
#include "cfg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the current key path ---- */

static void path_append(struct cfg_ctx *c, const char *s, size_t n)
{
    if (c->path_len + n + 1 > c->path_cap) {
        c->path_cap = (c->path_len + n + 1) * 2;
        c->path = cfg_xrealloc(c->path, c->path_cap);
    }
    memcpy(c->path + c->path_len, s, n);
    c->path_len += n;
    c->path[c->path_len] = '\0';
}

size_t cfg_path_push_key(struct cfg_ctx *c, const char *key)
{
    size_t old = c->path_len;
    if (old > 0)
        path_append(c, ".", 1);
    path_append(c, key, strlen(key));
    return old;
}

size_t cfg_path_push_index(struct cfg_ctx *c, size_t i)
{
    size_t old = c->path_len;
    char b[32];
    int n = snprintf(b, sizeof b, "[%zu]", i);
    path_append(c, b, (size_t)n);
    return old;
}

void cfg_path_pop(struct cfg_ctx *c, size_t len)
{
    c->path_len = len;
    if (c->path)
        c->path[len] = '\0';
}

const char *cfg_path_with(struct cfg_ctx *c, const char *key)
{
    const char *p = c->path ? c->path : "";
    if (!key)
        return cfg_arena_strdup(&c->tmp, p);
    return cfg_arena_printf(&c->tmp, "%s%s%s", p, *p ? "." : "", key);
}

/* ---- positions ---- */

/* The entry for PATH, or for its nearest enclosing value. */
static const struct cfg_kp_entry *find_pos(struct cfg_keypos *kp, const char *path,
                                           bool *exact)
{
    *exact = true;
    if (!kp || !path)
        return NULL;
    char *p = strdup(path);
    if (!p)
        return NULL;
    const struct cfg_kp_entry *e;
    while (!(e = cfg_keypos_find(kp, p))) {
        *exact = false;
        char *dot = strrchr(p, '.'), *br = strrchr(p, '[');
        char *cut = dot > br ? dot : br;
        if (cut)
            *cut = '\0';
        else if (*p)
            *p = '\0';
        else
            break;
    }
    free(p);
    return e;
}

static void add(struct cfg_ctx *c, enum cfg_severity sev, int file, int line, int col,
                char *text)
{
    if (c->n_diags == c->cap_diags) {
        c->cap_diags = c->cap_diags ? c->cap_diags * 2 : 32;
        c->diags = cfg_xrealloc(c->diags, c->cap_diags * sizeof *c->diags);
    }
    c->diags[c->n_diags] = (struct cfg_pdiag){ file, line, col, c->n_diags, sev, text };
    c->n_diags++;
}

static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    char *s = cfg_xrealloc(NULL, (size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static const char *file_name(const struct cfg_ctx *c, int file)
{
    return file >= 0 && (size_t)file < c->n_files ? c->files[file].name : "?";
}

void cfg_report(struct cfg_ctx *c, enum cfg_severity sev, int file, const char *path,
                bool at_key, const char *shown, const char *fmt, va_list ap)
{
    char *msg = vformat(fmt, ap);
    bool exact = false;
    const struct cfg_kp_entry *e = NULL;
    if (file >= 0 && (size_t)file < c->n_files)
        e = find_pos(c->files[file].kp, path, &exact);
    int line = 0, col = 0;
    if (e) {
        line = at_key && exact ? e->key_line : e->val_line;
        col = at_key && exact ? e->key_col : e->val_col;
    }
    if (!shown)
        shown = path ? path : "";
    size_t n = strlen(file_name(c, file)) + strlen(shown) + strlen(msg) + 64;
    char *text = cfg_xrealloc(NULL, n);
    if (line > 0)
        snprintf(text, n, "%s:%d:%d: %s%s%s", file_name(c, file), line, col, shown,
                 *shown ? ": " : "", msg);
    else
        snprintf(text, n, "%s: %s%s%s", file_name(c, file), shown, *shown ? ": " : "", msg);
    free(msg);
    add(c, sev, file, line, col, text);
}

void cfg_err(struct cfg_ctx *c, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg_report(c, CFG_SEV_ERROR, c->cur, cfg_path_with(c, key), false, NULL, fmt, ap);
    va_end(ap);
}

void cfg_warn(struct cfg_ctx *c, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg_report(c, CFG_SEV_WARNING, c->cur, cfg_path_with(c, key), false, NULL, fmt, ap);
    va_end(ap);
}

void cfg_err_key(struct cfg_ctx *c, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg_report(c, CFG_SEV_ERROR, c->cur, cfg_path_with(c, key), true, NULL, fmt, ap);
    va_end(ap);
}

static const char *ref_path(struct cfg_ctx *c, const struct cfg_ref *ref, const char *sub)
{
    return cfg_arena_printf(&c->tmp, "%s%s", ref->path ? ref->path : "", sub ? sub : "");
}

void cfg_err_ref(struct cfg_ctx *c, const struct cfg_ref *ref, const char *sub,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg_report(c, CFG_SEV_ERROR, ref->file, ref_path(c, ref, sub), false, NULL, fmt, ap);
    va_end(ap);
}

const char *cfg_ref_where(struct cfg_ctx *c, const struct cfg_ref *ref, const char *sub)
{
    bool exact;
    const struct cfg_kp_entry *e = NULL;
    if (ref->file >= 0 && (size_t)ref->file < c->n_files)
        e = find_pos(c->files[ref->file].kp, ref_path(c, ref, sub), &exact);
    if (!e)
        return file_name(c, ref->file);
    return cfg_arena_printf(&c->tmp, "%s:%d:%d", file_name(c, ref->file), e->val_line,
                            e->val_col);
}

void cfg_err_file(struct cfg_ctx *c, int file, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    size_t n = strlen(file_name(c, file)) + strlen(msg) + 48;
    char *text = cfg_xrealloc(NULL, n);
    if (line > 0)
        snprintf(text, n, "%s:%d:%d: %s", file_name(c, file), line, col, msg);
    else
        snprintf(text, n, "%s: %s", file_name(c, file), msg);
    free(msg);
    add(c, CFG_SEV_ERROR, file, line, col, text);
}

void cfg_pos_here(struct cfg_ctx *c, const char *key, struct cfg_pos *pos)
{
    bool exact;
    pos->file = file_name(c, c->cur);
    pos->line = pos->col = 0;
    const struct cfg_kp_entry *e = NULL;
    if (c->cur >= 0 && (size_t)c->cur < c->n_files)
        e = find_pos(c->files[c->cur].kp, cfg_path_with(c, key), &exact);
    if (e) {
        pos->line = e->val_line;
        pos->col = e->val_col;
    }
}

size_t cfg_n_errors(const struct cfg_ctx *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_diags; i++)
        n += c->diags[i].sev == CFG_SEV_ERROR;
    return n;
}

/* ---- the final list ---- */

static int cmp_pdiag(const void *pa, const void *pb)
{
    const struct cfg_pdiag *a = pa, *b = pb;
    if (a->file != b->file)
        return a->file < b->file ? -1 : 1;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void cfg_diags_finish(struct cfg_ctx *c, struct cfg_diags *out)
{
    if (c->n_diags > 1)
        qsort(c->diags, c->n_diags, sizeof *c->diags, cmp_pdiag);
    out->items = cfg_xrealloc(NULL, (c->n_diags + c->n_files + 1) * sizeof *out->items);
    out->n = out->n_errors = 0;
    for (size_t i = 0; i < c->n_diags;) {
        int file = c->diags[i].file;
        size_t errs = 0, dropped = 0;
        for (; i < c->n_diags && c->diags[i].file == file; i++) {
            struct cfg_pdiag *d = &c->diags[i];
            if (d->sev == CFG_SEV_ERROR) {
                out->n_errors++;
                if (++errs > CFG_MAX_ERRORS_PER_FILE) {
                    dropped++;
                    free(d->text);
                    continue;
                }
            }
            out->items[out->n++] = (struct cfg_diag){ d->sev, d->text };
        }
        if (dropped) {
            const char *name = file_name(c, file);
            size_t n = strlen(name) + 64;
            char *text = cfg_xrealloc(NULL, n);
            snprintf(text, n, "... and %zu more error%s in %s", dropped,
                     dropped == 1 ? "" : "s", name);
            out->items[out->n++] = (struct cfg_diag){ CFG_SEV_ERROR, text };
        }
    }
    free(c->diags);
    c->diags = NULL;
    c->n_diags = c->cap_diags = 0;
}
