/*
 * cfg_get.c — typed reads of one JSON member, with the error for each way it
 * can be wrong, and the unknown-key check with its "did you mean".
 *
 * Every getter reports its own problems at the member's position and tells
 * the caller only present / absent / wrong, so section code stays a list of
 * keys with their defaults. Messages quote what the user wrote (the raw JSON
 * string, so a "${env:X}" stays a reference), never the text of a secret
 * field and never a resolved reference.
 */
#include "cfg_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cfg_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

const char *cfg_quote(struct cfg_ctx *c, const char *s)
{
    enum { MAXQ = 60 };
    char buf[MAXQ * 4 + 16];
    size_t o = 0, i = 0;
    buf[o++] = '"';
    for (; s[i] && i < MAXQ; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(buf + o, sizeof buf - o, "\\u%04x", ch);
        } else {
            buf[o++] = (char)ch;
        }
    }
    if (s[i]) {
        /* do not cut a UTF-8 sequence in half */
        while (o > 1 && ((unsigned char)buf[o - 1] & 0xC0) == 0x80)
            o--;
        if (o > 1 && ((unsigned char)buf[o - 1] & 0xC0) == 0xC0)
            o--;
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return cfg_arena_strdup(&c->tmp, buf);
}

void cfg_check_keys(struct cfg_ctx *c, json_t *obj, const char *const *known)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (key[0] == '_' || cfg_find_name(known, key) >= 0)
            continue;
        const char *hint = cfg_suggest(key, known);
        if (hint)
            cfg_err_key(c, key, "unknown key %s \xe2\x80\x94 did you mean \"%s\"?",
                        cfg_quote(c, key), hint);
        else
            cfg_err_key(c, key, "unknown key %s", cfg_quote(c, key));
    }
}

static void type_err(struct cfg_ctx *c, const char *key, const char *want, const json_t *v)
{
    cfg_err(c, key, "expected %s, got %s", want, cfg_json_type_name(v));
}

static json_t *member(struct cfg_ctx *c, json_t *obj, const char *key, bool req)
{
    json_t *v = json_object_get(obj, key);
    if (!v && req)
        cfg_err(c, NULL, "missing required key \"%s\"", key);
    return v;
}

int cfg_str_value(struct cfg_ctx *c, json_t *v, const char *key, enum cfg_str_kind kind,
                  char **out)
{
    if (!json_is_string(v)) {
        type_err(c, key, "a string", v);
        return -1;
    }
    const char *raw = json_string_value(v);
    if (kind != CFG_STR_PLAIN && (c->flags & CFG_NO_SECRETS)) {
        *out = kind == CFG_STR_SECRET_NULL ? NULL : cfg_arena_strdup(c->arena, raw);
        return 1;
    }
    if (!cfg_has_reference(raw)) {
        *out = cfg_arena_strdup(c->arena, raw);
        return 1;
    }
    char *val = NULL;
    struct okrd_err err = { 0 };
    if (cfg_secret_expand(raw, c->base_dir, &val, &err) < 0) {
        cfg_err(c, key, "%s", err.msg);
        return -1;
    }
    *out = cfg_arena_strdup(c->arena, val);
    explicit_bzero(val, strlen(val));
    free(val);
    return 1;
}

int cfg_get_str(struct cfg_ctx *c, json_t *obj, const char *key, bool req,
                enum cfg_str_kind kind, char **out)
{
    json_t *v = member(c, obj, key, req);
    if (!v)
        return 0;
    return cfg_str_value(c, v, key, kind, out);
}

int cfg_get_id(struct cfg_ctx *c, json_t *obj, const char *key, bool req, char **out)
{
    char *s = NULL;
    int rc = cfg_get_str(c, obj, key, req, CFG_STR_PLAIN, &s);
    if (rc <= 0)
        return rc;
    if (!okrd_valid_id(s, strlen(s))) {
        cfg_err(c, key, "%s is not a valid id (letters, digits and _ . : -, 1 to 128 "
                "characters)", cfg_quote(c, json_string_value(json_object_get(obj, key))));
        return -1;
    }
    *out = s;
    return 1;
}

/* "a|b|c" for a message */
static const char *join_names(struct cfg_ctx *c, const char *const *names)
{
    size_t n = 1;
    for (size_t i = 0; names[i]; i++)
        n += strlen(names[i]) + 1;
    char *s = cfg_arena_alloc(&c->tmp, n);
    for (size_t i = 0; names[i]; i++) {
        if (i)
            strcat(s, "|");
        strcat(s, names[i]);
    }
    return s;
}

int cfg_get_enum(struct cfg_ctx *c, json_t *obj, const char *key, bool req,
                 const char *const *names, int *out)
{
    char *s = NULL;
    int rc = cfg_get_str(c, obj, key, req, CFG_STR_PLAIN, &s);
    if (rc <= 0)
        return rc;
    int i = cfg_find_name(names, s);
    if (i < 0) {
        const char *q = cfg_quote(c, json_string_value(json_object_get(obj, key)));
        const char *hint = cfg_has_reference(json_string_value(json_object_get(obj, key)))
                           ? NULL : cfg_suggest(s, names);
        if (hint)
            cfg_err(c, key, "%s is not one of %s \xe2\x80\x94 did you mean \"%s\"?", q,
                    join_names(c, names), hint);
        else
            cfg_err(c, key, "%s is not one of %s", q, join_names(c, names));
        return -1;
    }
    *out = i;
    return 1;
}

int cfg_get_duration(struct cfg_ctx *c, json_t *obj, const char *key, bool req,
                     int64_t min_ms, int64_t *out_ms)
{
    json_t *v = member(c, obj, key, req);
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        type_err(c, key, "a duration string like \"90s\"", v);
        return -1;
    }
    char *s = NULL;
    if (cfg_str_value(c, v, key, CFG_STR_PLAIN, &s) < 0)
        return -1;
    const char *raw = json_string_value(v);
    struct okrd_err err = { 0 };
    int64_t ms;
    if (okrd_parse_duration_ms(s, strlen(s), &ms, &err) < 0) {
        if (cfg_has_reference(raw))
            cfg_err(c, key, "%s is not a valid duration (e.g. \"90s\", \"5m\", \"6h\", \"7d\")",
                    cfg_quote(c, raw));
        else
            cfg_err(c, key, "invalid duration: %s", err.msg);
        return -1;
    }
    if (ms < min_ms) {
        char b[64];
        okrd_format_duration(min_ms, b, sizeof b);
        if (min_ms == 1)
            cfg_err(c, key, "must be longer than 0s");
        else
            cfg_err(c, key, "must be at least %s", b);
        return -1;
    }
    *out_ms = ms;
    return 1;
}

int cfg_get_int(struct cfg_ctx *c, json_t *obj, const char *key, bool req,
                int64_t min, int64_t max, int64_t *out)
{
    json_t *v = member(c, obj, key, req);
    if (!v)
        return 0;
    if (!json_is_integer(v)) {
        type_err(c, key, "an integer", v);
        return -1;
    }
    json_int_t i = json_integer_value(v);
    if (i < min || i > max) {
        cfg_err(c, key, "%lld is out of range (%lld to %lld)", (long long)i, (long long)min,
                (long long)max);
        return -1;
    }
    *out = i;
    return 1;
}

int cfg_get_number(struct cfg_ctx *c, json_t *obj, const char *key, bool req, double *out)
{
    json_t *v = member(c, obj, key, req);
    if (!v)
        return 0;
    if (!json_is_number(v)) {
        type_err(c, key, "a number", v);
        return -1;
    }
    double d = json_number_value(v);
    if (!isfinite(d)) {
        cfg_err(c, key, "must be a finite number");
        return -1;
    }
    *out = d;
    return 1;
}

int cfg_get_range(struct cfg_ctx *c, json_t *obj, const char *key, double lo, bool lo_open,
                  double hi, bool hi_open, double *out)
{
    double d;
    int rc = cfg_get_number(c, obj, key, false, &d);
    if (rc <= 0)
        return rc;
    if ((lo_open ? d <= lo : d < lo) || (hi_open ? d >= hi : d > hi)) {
        char lo_s[64], hi_s[64];
        snprintf(lo_s, sizeof lo_s, "%s %g", lo_open ? "above" : "at least", lo);
        snprintf(hi_s, sizeof hi_s, " and %s %g", hi_open ? "below" : "at most", hi);
        cfg_err(c, key, "%g is out of range: it must be %s%s", d, lo_s, isinf(hi) ? "" : hi_s);
        return -1;
    }
    *out = d;
    return 1;
}

int cfg_get_bool(struct cfg_ctx *c, json_t *obj, const char *key, bool req, bool *out)
{
    json_t *v = member(c, obj, key, req);
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        type_err(c, key, "true or false", v);
        return -1;
    }
    *out = json_is_true(v);
    return 1;
}

json_t *cfg_get_object(struct cfg_ctx *c, json_t *obj, const char *key, bool req, bool *bad)
{
    json_t *v = member(c, obj, key, req);
    *bad = !v && req;
    if (v && !json_is_object(v)) {
        type_err(c, key, "an object", v);
        *bad = true;
        return NULL;
    }
    return v;
}

json_t *cfg_get_array(struct cfg_ctx *c, json_t *obj, const char *key, bool req, bool *bad)
{
    json_t *v = member(c, obj, key, req);
    *bad = !v && req;
    if (v && !json_is_array(v)) {
        type_err(c, key, "a list", v);
        *bad = true;
        return NULL;
    }
    return v;
}

int cfg_get_str_list(struct cfg_ctx *c, json_t *obj, const char *key, bool ids,
                     char ***out, size_t *n)
{
    bool bad;
    json_t *a = cfg_get_array(c, obj, key, false, &bad);
    if (!a)
        return bad ? -1 : 0;
    size_t len = json_array_size(a);
    char **list = cfg_arena_array(c->arena, len ? len : 1, sizeof *list);
    int rc = 1;
    size_t old = cfg_path_push_key(c, key);
    for (size_t i = 0; i < len; i++) {
        json_t *v = json_array_get(a, i);
        char *s = NULL;
        size_t o2 = cfg_path_push_index(c, i);
        if (cfg_str_value(c, v, NULL, CFG_STR_PLAIN, &s) < 0) {
            rc = -1;
        } else if (ids && !okrd_valid_id(s, strlen(s))) {
            cfg_err(c, NULL, "%s is not a valid id", cfg_quote(c, json_string_value(v)));
            rc = -1;
        } else {
            list[i] = s;
        }
        cfg_path_pop(c, o2);
    }
    cfg_path_pop(c, old);
    *out = list;
    *n = len;
    return rc;
}

char *cfg_abs_path(struct cfg_ctx *c, const char *p)
{
    const char *full = p[0] == '/' ? p
                     : cfg_arena_printf(&c->tmp, "%s/%s", c->base_dir ? c->base_dir : "", p);
    /* Lexical normalisation: "/a/./b/../c/" -> "/a/c". The directory need
     * not exist yet (state_dir is created later), so no realpath(). */
    size_t n = strlen(full);
    char *o = cfg_arena_alloc(c->arena, n + 2);
    size_t ol = 0;
    const char *s = full;
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t sl = (size_t)(e - s);
        if (sl == 0 || (sl == 1 && s[0] == '.')) {
            /* skip */
        } else if (sl == 2 && s[0] == '.' && s[1] == '.') {
            while (ol > 0 && o[ol - 1] != '/')
                ol--;
            if (ol > 0)
                ol--;
        } else {
            o[ol++] = '/';
            memcpy(o + ol, s, sl);
            ol += sl;
        }
        s = e;
    }
    if (ol == 0)
        o[ol++] = '/';
    o[ol] = '\0';
    return o;
}
