/*
 * cfg_keypos.c — the index from key path to line:column.
 *
 * jansson tells where a syntax error is, but keeps no position for the
 * values of a document it parsed (json_t has no line or column), and its
 * parser offers no callback to hook. Errors found while validating must still
 * say FILE:LINE:COL, so this file scans the raw text once more by hand — a
 * small one-pass JSON walker, no allocation per value beyond the index — and
 * records, for every value, the position of its key and of its first
 * character under its key path ("sources[1].interval").
 *
 * It runs only on text jansson accepted, so it need not report errors; it
 * still checks every bound, and on anything unexpected it gives up (NULL).
 * Columns are 1-based and count characters, not bytes: a UTF-8 continuation
 * byte does not advance the column, as editors show it. A tab is one column.
 */
#include "cfg_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Memory is the cost here: a config of 1,000 sources has some 10,000
 * values, and every fresh page the index touches is a page fault at
 * start-up. So the hash table holds only (hash, entry number), 8 bytes a
 * slot, filled up to 3/4; the entries sit densely in insertion order. */
struct kp_slot {
    uint32_t hash;
    uint32_t idx;             /* 1 + index into entries; 0 = empty slot */
};

struct kp_entry {
    size_t path_off;          /* into pool */
    struct cfg_kp_entry e;
};

struct cfg_keypos {
    struct kp_slot *slots;
    size_t cap;               /* a power of two */
    struct kp_entry *entries;
    size_t n, entries_cap;
    char *pool;
    size_t pool_len, pool_cap;
};

struct kp_scan {
    const char *s;
    size_t len, i;
    int line, col;
    char *path;               /* current path, NUL-terminated */
    size_t path_len, path_cap;
    struct cfg_keypos *kp;
    int depth;
};

static uint32_t kp_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static void kp_grow(struct cfg_keypos *kp)
{
    size_t ncap = kp->cap ? kp->cap * 2 : 256;
    struct kp_slot *ns = cfg_xrealloc(NULL, ncap * sizeof *ns);
    memset(ns, 0, ncap * sizeof *ns);
    for (size_t i = 0; i < kp->cap; i++) {
        if (!kp->slots[i].idx)
            continue;
        size_t j = kp->slots[i].hash & (ncap - 1);
        while (ns[j].idx)
            j = (j + 1) & (ncap - 1);
        ns[j] = kp->slots[i];
    }
    free(kp->slots);
    kp->slots = ns;
    kp->cap = ncap;
}

/* The slot holding PATH (hash H), or the empty slot where it would go. */
static struct kp_slot *kp_probe(const struct cfg_keypos *kp, const char *path, uint32_t h)
{
    size_t j = h & (kp->cap - 1);
    while (kp->slots[j].idx) {
        if (kp->slots[j].hash == h &&
            strcmp(kp->pool + kp->entries[kp->slots[j].idx - 1].path_off, path) == 0)
            break;
        j = (j + 1) & (kp->cap - 1);
    }
    return &kp->slots[j];
}

/* The first record of a path wins: a key that contains "." or "[" could
 * spell the same path as a nested one; the first is as good a guess. */
static void kp_put(struct cfg_keypos *kp, const char *path, const struct cfg_kp_entry *e)
{
    if ((kp->n + 1) * 4 > kp->cap * 3)
        kp_grow(kp);
    uint32_t h = kp_hash(path);
    struct kp_slot *sl = kp_probe(kp, path, h);
    if (sl->idx)
        return;
    if (kp->n == kp->entries_cap) {
        kp->entries_cap = kp->entries_cap ? kp->entries_cap * 2 : 256;
        kp->entries = cfg_xrealloc(kp->entries, kp->entries_cap * sizeof *kp->entries);
    }
    size_t n = strlen(path) + 1;
    if (kp->pool_len + n > kp->pool_cap) {
        kp->pool_cap = (kp->pool_len + n) * 2;
        kp->pool = cfg_xrealloc(kp->pool, kp->pool_cap);
    }
    memcpy(kp->pool + kp->pool_len, path, n);
    kp->entries[kp->n] = (struct kp_entry){ kp->pool_len, *e };
    kp->pool_len += n;
    sl->hash = h;
    sl->idx = (uint32_t)++kp->n;
}

const struct cfg_kp_entry *cfg_keypos_find(const struct cfg_keypos *kp, const char *path)
{
    if (!kp || !kp->cap || !path)
        return NULL;
    const struct kp_slot *sl = kp_probe(kp, path, kp_hash(path));
    return sl->idx ? &kp->entries[sl->idx - 1].e : NULL;
}

size_t cfg_keypos_bytes(const struct cfg_keypos *kp, size_t *n_values)
{
    *n_values = kp ? kp->n : 0;
    return kp ? kp->cap * sizeof *kp->slots + kp->entries_cap * sizeof *kp->entries : 0;
}

void cfg_keypos_free(struct cfg_keypos *kp)
{
    if (!kp)
        return;
    free(kp->slots);
    free(kp->entries);
    free(kp->pool);
    free(kp);
}

/* ---- the scanner ---- */

static void sc_adv(struct kp_scan *sc)
{
    unsigned char b = (unsigned char)sc->s[sc->i++];
    if (b == '\n') {
        sc->line++;
        sc->col = 1;
    } else if ((b & 0xC0) != 0x80) {
        sc->col++;
    }
}

static void sc_ws(struct kp_scan *sc)
{
    while (sc->i < sc->len && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' ||
                               sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
        sc_adv(sc);
}

static void sc_path_append(struct kp_scan *sc, const char *p, size_t n)
{
    if (sc->path_len + n + 1 > sc->path_cap) {
        sc->path_cap = (sc->path_len + n + 1) * 2;
        sc->path = cfg_xrealloc(sc->path, sc->path_cap);
    }
    memcpy(sc->path + sc->path_len, p, n);
    sc->path_len += n;
    sc->path[sc->path_len] = '\0';
}

static void put_utf8(struct kp_scan *sc, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sc_path_append(sc, b, n);
}

static int sc_hex4(struct kp_scan *sc, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        if (sc->i >= sc->len)
            return -1;
        char ch = sc->s[sc->i];
        int d = ch >= '0' && ch <= '9' ? ch - '0'
              : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + (uint32_t)d;
        sc_adv(sc);
    }
    *out = v;
    return 0;
}

/* Reads a string at the opening quote. With DECODE, appends its decoded
 * text to the path (keys are matched by what jansson decoded). */
static int sc_string(struct kp_scan *sc, bool decode)
{
    sc_adv(sc); /* '"' */
    while (sc->i < sc->len) {
        char ch = sc->s[sc->i];
        if (ch == '"') {
            sc_adv(sc);
            return 0;
        }
        if (ch != '\\') {
            if (decode)
                sc_path_append(sc, &ch, 1);
            sc_adv(sc);
            continue;
        }
        sc_adv(sc);
        if (sc->i >= sc->len)
            return -1;
        char e = sc->s[sc->i];
        sc_adv(sc);
        char lit = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
                 : e == 't' ? '\t' : e;
        if (e != 'u') {
            if (decode)
                sc_path_append(sc, &lit, 1);
            continue;
        }
        uint32_t cp;
        if (sc_hex4(sc, &cp) < 0)
            return -1;
        if (cp >= 0xD800 && cp < 0xDC00 && sc->i + 1 < sc->len && sc->s[sc->i] == '\\' &&
            sc->s[sc->i + 1] == 'u') {
            sc_adv(sc);
            sc_adv(sc);
            uint32_t lo;
            if (sc_hex4(sc, &lo) < 0)
                return -1;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (decode)
            put_utf8(sc, cp);
    }
    return -1;
}

static int sc_value(struct kp_scan *sc, int key_line, int key_col)
{
    if (++sc->depth > 4096)
        return -1;
    sc_ws(sc);
    if (sc->i >= sc->len)
        return -1;
    struct cfg_kp_entry e = { key_line, key_col, sc->line, sc->col };
    if (key_line == 0) {
        e.key_line = sc->line;
        e.key_col = sc->col;
    }
    kp_put(sc->kp, sc->path, &e);
    char ch = sc->s[sc->i];
    size_t base = sc->path_len;
    int rc = 0;
    if (ch == '{') {
        sc_adv(sc);
        sc_ws(sc);
        if (sc->i < sc->len && sc->s[sc->i] == '}') {
            sc_adv(sc);
            goto out;
        }
        for (;;) {
            sc_ws(sc);
            if (sc->i >= sc->len || sc->s[sc->i] != '"')
                return -1;
            int kl = sc->line, kc = sc->col;
            if (base > 0)
                sc_path_append(sc, ".", 1);
            if (sc_string(sc, true) < 0)
                return -1;
            sc_ws(sc);
            if (sc->i >= sc->len || sc->s[sc->i] != ':')
                return -1;
            sc_adv(sc);
            if (sc_value(sc, kl, kc) < 0)
                return -1;
            sc->path_len = base;
            sc->path[base] = '\0';
            sc_ws(sc);
            if (sc->i >= sc->len)
                return -1;
            if (sc->s[sc->i] == ',') {
                sc_adv(sc);
                continue;
            }
            if (sc->s[sc->i] != '}')
                return -1;
            sc_adv(sc);
            break;
        }
    } else if (ch == '[') {
        sc_adv(sc);
        sc_ws(sc);
        if (sc->i < sc->len && sc->s[sc->i] == ']') {
            sc_adv(sc);
            goto out;
        }
        for (size_t idx = 0;; idx++) {
            char b[32];
            int n = snprintf(b, sizeof b, "[%zu]", idx);
            sc_path_append(sc, b, (size_t)n);
            if (sc_value(sc, 0, 0) < 0)
                return -1;
            sc->path_len = base;
            sc->path[base] = '\0';
            sc_ws(sc);
            if (sc->i >= sc->len)
                return -1;
            if (sc->s[sc->i] == ',') {
                sc_adv(sc);
                continue;
            }
            if (sc->s[sc->i] != ']')
                return -1;
            sc_adv(sc);
            break;
        }
    } else if (ch == '"') {
        rc = sc_string(sc, false);
    } else {
        /* number, true, false, null: up to the next delimiter */
        size_t start = sc->i;
        while (sc->i < sc->len && !strchr(",]} \t\r\n", sc->s[sc->i]))
            sc_adv(sc);
        if (sc->i == start)
            return -1;
    }
out:
    sc->depth--;
    return rc;
}

struct cfg_keypos *cfg_keypos_build(const char *text, size_t len)
{
    struct cfg_keypos *kp = cfg_xrealloc(NULL, sizeof *kp);
    memset(kp, 0, sizeof *kp);
    struct kp_scan sc = { .s = text, .len = len, .line = 1, .col = 1, .kp = kp };
    sc_path_append(&sc, "", 0);
    int rc = sc_value(&sc, 0, 0);
    free(sc.path);
    if (rc < 0) {
        cfg_keypos_free(kp);
        return NULL;
    }
    return kp;
}
