/*
 * cfg_keypos.c — where a key path is in the text: path to line:column.
 *
 * jansson tells where a syntax error is, but keeps no position for the
 * values of a document it parsed (json_t has no line or column), and its
 * parser offers no callback to hook. Errors found while validating must still
 * say FILE:LINE:COL, so this file reads the raw text once more by hand — a
 * small JSON walker — to find, for a key path ("sources[1].interval"), the
 * position of the value's key and of its first character.
 *
 * It works on demand: a lookup walks down its path, scanning the containers
 * on the way. A container that is large (many children or a long text) is
 * scanned once and its children's offsets and positions are kept, so finding
 * sources[999] does not re-read sources[0..998]; a small one is scanned again
 * each time. Nothing is recorded for values no lookup reaches. (An index of
 * every value was built before: with 1,000 sources it was ~10,000 paths and
 * a megabyte of fresh memory at start-up, where every page is a fault.)
 *
 * It runs only on text jansson accepted, so it need not report errors; it
 * still checks every bound, and on anything unexpected a lookup finds
 * nothing (NULL). Columns are 1-based and count characters, not bytes: a
 * UTF-8 continuation byte does not advance the column, as editors show it.
 * A tab is one column.
 *
 * Paths: object members are joined with ".", array elements are "[N]", the
 * root is "". A key may itself contain "." or "[": then one path can spell
 * several values, and the first in document order (a value before its
 * children, earlier members before later ones) is the one found.
 */
#include "cfg_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A place in the text: byte offset and the line:column there. */
struct kp_at {
    size_t i;
    int line, col;
};

/* One child of a container: an object member or an array element. */
struct kp_child {
    struct kp_at key;        /* the key's opening quote (= val for array elements) */
    struct kp_at val;        /* the value's first character */
};

/* The children of a large container, kept after its first scan. */
struct kp_cache {
    size_t off;              /* the container's offset ('{' or '[') */
    struct kp_child *c;
    size_t n;
};

/* Containers with more children than this, or this many bytes, are kept. */
#define KP_CACHE_CHILDREN 16
#define KP_CACHE_BYTES 2048
#define KP_MAX_DEPTH 4096

struct cfg_keypos {
    const char *s;            /* the text (not owned: it outlives the index) */
    size_t len;
    struct kp_at root;
    struct kp_cache *caches;  /* open addressing on off; cap a power of two */
    size_t n_caches, cap;
    size_t bytes;             /* allocated, for cfg_keypos_bytes */
    struct cfg_kp_entry found; /* the last lookup's answer */
};

/* ---- scanning ---- */

/* Scanning moves over byte offsets only; line:column are worked out for the
 * children found (positions_from), so the loops below stay tight. */

static size_t ws(const struct cfg_keypos *kp, size_t i)
{
    while (i < kp->len && (kp->s[i] == ' ' || kp->s[i] == '\t' || kp->s[i] == '\n' ||
                           kp->s[i] == '\r'))
        i++;
    return i;
}

/* Past a string at its opening quote; SIZE_MAX on bad text. A quote ends
 * it unless an odd run of backslashes stands before it. */
static size_t skip_string(const struct cfg_keypos *kp, size_t i)
{
    const char *s = kp->s;
    size_t start = ++i;
    while (i < kp->len) {
        const char *q = memchr(s + i, '"', kp->len - i);
        if (!q)
            return SIZE_MAX;
        size_t j = (size_t)(q - s), b = j;
        while (b > start && s[b - 1] == '\\')
            b--;
        if ((j - b) % 2 == 0)
            return j + 1;
        i = j + 1;
    }
    return SIZE_MAX;
}

/* Past a whole value (any depth, no recursion) at its first character. */
static size_t skip_value(const struct cfg_keypos *kp, size_t i)
{
    const char *s = kp->s;
    int depth = 0;
    do {
        if (i >= kp->len)
            return SIZE_MAX;
        switch (s[i]) {
        case '"':
            if ((i = skip_string(kp, i)) == SIZE_MAX)
                return SIZE_MAX;
            break;
        case '{':
        case '[':
            if (++depth > KP_MAX_DEPTH)
                return SIZE_MAX;
            i++;
            break;
        case '}':
        case ']':
            if (--depth < 0)
                return SIZE_MAX;
            i++;
            break;
        case ',': case ':': case ' ': case '\t': case '\n': case '\r':
            if (depth == 0)
                return SIZE_MAX;
            i++;
            break;
        default: { /* number, true, false, null: up to the next delimiter */
            size_t start = i;
            while (i < kp->len && !strchr(",]}: \t\r\n", s[i]))
                i++;
            if (i == start)
                return SIZE_MAX;
        }
        }
    } while (depth > 0);
    return i;
}

/* Reads a container's children one at a time (offsets only). */
struct kp_iter {
    size_t i;                 /* after the last child read */
    char close;               /* '}' or ']' */
    bool first;
};

static int iter_start(const struct cfg_keypos *kp, size_t at, struct kp_iter *it)
{
    if (at >= kp->len || (kp->s[at] != '{' && kp->s[at] != '['))
        return -1;
    it->close = kp->s[at] == '{' ? '}' : ']';
    it->i = at + 1;
    it->first = true;
    return 0;
}

/* The next child's offsets into c->key.i, c->val.i (line 0: not counted):
 * 1, 0 at the end, -1 on anything unexpected. The value is skipped, so
 * it->i is past it. */
static int iter_next(const struct cfg_keypos *kp, struct kp_iter *it, struct kp_child *c)
{
    size_t i = ws(kp, it->i);
    if (i >= kp->len)
        return -1;
    if (kp->s[i] == it->close)
        return 0;
    if (!it->first) {
        if (kp->s[i] != ',')
            return -1;
        i = ws(kp, i + 1);
    }
    it->first = false;
    if (it->close == '}') {
        if (i >= kp->len || kp->s[i] != '"')
            return -1;
        c->key = (struct kp_at){ i, 0, 0 }; /* line 0: not counted yet */
        if ((i = skip_string(kp, i)) == SIZE_MAX)
            return -1;
        i = ws(kp, i);
        if (i >= kp->len || kp->s[i] != ':')
            return -1;
        i = ws(kp, i + 1);
        c->val = (struct kp_at){ i, 0, 0 };
    } else {
        c->key = c->val = (struct kp_at){ i, 0, 0 };
    }
    if ((i = skip_value(kp, i)) == SIZE_MAX)
        return -1;
    it->i = i;
    return 1;
}

/* Moves AT forward to offset TO (>= at->i), counting lines and characters
 * (a UTF-8 continuation byte is no column). */
static void move_to(const struct cfg_keypos *kp, struct kp_at *at, size_t to)
{
    const char *s = kp->s;
    size_t from = at->i;
    const char *nl = memchr(s + from, '\n', to - from);
    if (nl) {
        const char *last = nl;
        for (;;) {
            at->line++;
            const char *next = memchr(last + 1, '\n', (size_t)(s + to - (last + 1)));
            if (!next)
                break;
            last = next;
        }
        at->col = 1;
        from = (size_t)(last - s) + 1;
    }
    int col = 0;
    for (size_t k = from; k < to; k++)
        col += ((unsigned char)s[k] & 0xC0) != 0x80;
    at->col += col;
    at->i = to;
}

/* Fills the line:column of N children (offsets ascending) of the container
 * at AT. */
static void positions_from(const struct cfg_keypos *kp, struct kp_at at, struct kp_child *c,
                           size_t n)
{
    for (size_t k = 0; k < n; k++) {
        size_t key = c[k].key.i, val = c[k].val.i;
        move_to(kp, &at, key);
        c[k].key = at;
        move_to(kp, &at, val);
        c[k].val = at;
    }
}

/* ---- keys ---- */

static int hex4(const char *s, size_t len, size_t i, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        if (i + (size_t)k >= len)
            return -1;
        char ch = s[i + (size_t)k];
        int d = ch >= '0' && ch <= '9' ? ch - '0'
              : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + (uint32_t)d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *b, uint32_t cp)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Whether the key at I (its opening quote), decoded as jansson decodes it,
 * is a prefix of PATH; its length in PATH in *n. */
static bool key_prefix(const struct cfg_keypos *kp, size_t i, const char *path, size_t *n)
{
    const char *s = kp->s;
    size_t j = 0;
    i++; /* '"' */
    while (i < kp->len) {
        char ch = s[i];
        if (ch == '"') {
            *n = j;
            return true;
        }
        char b[4];
        size_t bn = 1;
        if (ch != '\\') {
            b[0] = ch;
            i++;
        } else {
            if (i + 1 >= kp->len)
                return false;
            char e = s[i + 1];
            i += 2;
            if (e != 'u') {
                b[0] = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r'
                     : e == 't' ? '\t' : e;
            } else {
                uint32_t cp, lo;
                if (hex4(s, kp->len, i, &cp) < 0)
                    return false;
                i += 4;
                if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < kp->len && s[i] == '\\' &&
                    s[i + 1] == 'u' && hex4(s, kp->len, i + 2, &lo) == 0) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
                bn = put_utf8(b, cp);
            }
        }
        for (size_t k = 0; k < bn; k++, j++)
            if (path[j] != b[k]) /* path's NUL ends it: a mismatch */
                return false;
    }
    return false;
}

/* ---- the cache of large containers ---- */

static struct kp_cache *cache_find(const struct cfg_keypos *kp, size_t off)
{
    if (!kp->cap)
        return NULL;
    size_t j = (off * 0x9E3779B97F4A7C15ULL >> 17) & (kp->cap - 1);
    while (kp->caches[j].c) {
        if (kp->caches[j].off == off)
            return &kp->caches[j];
        j = (j + 1) & (kp->cap - 1);
    }
    return NULL;
}

static void cache_put(struct cfg_keypos *kp, size_t off, struct kp_child *c, size_t n)
{
    if ((kp->n_caches + 1) * 2 > kp->cap) {
        size_t ncap = kp->cap ? kp->cap * 2 : 16;
        struct kp_cache *nc = cfg_xrealloc(NULL, ncap * sizeof *nc);
        memset(nc, 0, ncap * sizeof *nc);
        for (size_t k = 0; k < kp->cap; k++) {
            if (!kp->caches[k].c)
                continue;
            size_t j = (kp->caches[k].off * 0x9E3779B97F4A7C15ULL >> 17) & (ncap - 1);
            while (nc[j].c)
                j = (j + 1) & (ncap - 1);
            nc[j] = kp->caches[k];
        }
        kp->bytes += (ncap - kp->cap) * sizeof *nc;
        free(kp->caches);
        kp->caches = nc;
        kp->cap = ncap;
    }
    size_t j = (off * 0x9E3779B97F4A7C15ULL >> 17) & (kp->cap - 1);
    while (kp->caches[j].c)
        j = (j + 1) & (kp->cap - 1);
    kp->caches[j] = (struct kp_cache){ off, c, n };
    kp->n_caches++;
    kp->bytes += n * sizeof *c;
}

/* The children of the container at AT: from the cache, or scanned into
 * BUF (room for KP_CACHE_CHILDREN) when the container is small, or scanned
 * and kept when it is large. *n = how many; NULL on bad text. */
static const struct kp_child *children(struct cfg_keypos *kp, struct kp_at at,
                                       struct kp_child *buf, size_t *n)
{
    const struct kp_cache *hit = cache_find(kp, at.i);
    if (hit) {
        *n = hit->n;
        return hit->c;
    }
    struct kp_iter it;
    if (iter_start(kp, at.i, &it) < 0)
        return NULL;
    struct kp_child *c = buf, one;
    size_t k = 0, cap = KP_CACHE_CHILDREN;
    int r;
    while ((r = iter_next(kp, &it, &one)) == 1) {
        if (k == cap) { /* large: on the heap, kept */
            cap *= 4;
            if (c == buf) {
                c = cfg_xrealloc(NULL, cap * sizeof *c);
                memcpy(c, buf, k * sizeof *c);
            } else {
                c = cfg_xrealloc(c, cap * sizeof *c);
            }
        }
        c[k++] = one;
    }
    if (r < 0) {
        if (c != buf)
            free(c);
        return NULL;
    }
    *n = k;
    if (c == buf && it.i - at.i < KP_CACHE_BYTES)
        return buf; /* small: scanned again next time, costs no memory; the
                     * line:column of the child taken is counted then */
    positions_from(kp, at, c, k);
    if (c == buf) { /* few children, long text: keep them too */
        c = cfg_xrealloc(NULL, (k ? k : 1) * sizeof *c);
        memcpy(c, buf, k * sizeof *c);
    } else {
        c = cfg_xrealloc(c, k * sizeof *c);
    }
    cache_put(kp, at.i, c, k);
    return c;
}

/* ---- lookups ---- */

static bool resolve(struct cfg_keypos *kp, struct kp_at parent, const struct kp_child *node,
                    const char *rest, size_t done, int depth);

/* Member C of an object, its key a prefix of REST: the value REST leads to
 * under it. DONE is how much of the path lies before REST; the paths are
 * written with a "." before a key only after a non-empty path (cfg_diag.c),
 * so under an empty path a key follows with nothing between. */
static bool try_member(struct cfg_keypos *kp, struct kp_at obj, const struct kp_child *c,
                       const char *rest, size_t done, int depth)
{
    size_t n;
    if (!key_prefix(kp, c->key.i, rest, &n))
        return false;
    char next = rest[n];
    if (next != '\0' && next != '[' && !(next == '.' && done + n > 0) && done + n > 0)
        return false;
    return resolve(kp, obj, c, rest + n, done + n, depth + 1);
}

/* REST is a member's key and what follows it ("interval", "extract[0].value",
 * "a.b.c" for a key "a.b"). Members in document order, each tried when its
 * key is a prefix of REST ending at a separator. */
static bool resolve_member(struct cfg_keypos *kp, struct kp_at obj, const char *rest, size_t done,
                           int depth)
{
    struct kp_child buf[KP_CACHE_CHILDREN];
    size_t n;
    const struct kp_child *c = children(kp, obj, buf, &n);
    for (size_t k = 0; c && k < n; k++)
        if (try_member(kp, obj, &c[k], rest, done, depth))
            return true;
    return false;
}

/* REST starts with "[N]": element N of the array at ARR. */
static bool resolve_element(struct cfg_keypos *kp, struct kp_at arr, const char *rest, size_t done,
                            int depth)
{
    const char *p = rest + 1;
    size_t idx = 0, digits = 0;
    while (*p >= '0' && *p <= '9') {
        if (idx > (SIZE_MAX - 9) / 10)
            return false;
        idx = idx * 10 + (size_t)(*p++ - '0');
        digits++;
    }
    /* as the path is written: "[%zu]", no sign, no leading zero */
    if (*p != ']' || digits == 0 || (digits > 1 && rest[1] == '0'))
        return false;
    p++;
    done += (size_t)(p - rest);
    struct kp_child buf[KP_CACHE_CHILDREN];
    size_t n;
    const struct kp_child *c = children(kp, arr, buf, &n);
    return c && idx < n && resolve(kp, arr, &c[idx], p, done, depth + 1);
}

/* NODE's value, or the value REST (".key...", "[N]...") leads to under it;
 * found into kp->found. DONE: the length of the path before REST. PARENT
 * is NODE's container, where its line:column is counted from when the
 * scan left it out (line 0). */
static bool resolve(struct cfg_keypos *kp, struct kp_at parent, const struct kp_child *in,
                    const char *rest, size_t done, int depth)
{
    if (depth > KP_MAX_DEPTH)
        return false;
    struct kp_child pos = *in;
    const struct kp_child *node = in;
    if (!in->key.line) {
        positions_from(kp, parent, &pos, 1);
        node = &pos;
    }
    if (*rest == '\0') {
        kp->found = (struct cfg_kp_entry){ node->key.line, node->key.col, node->val.line,
                                           node->val.col };
        return true;
    }
    if (node->val.i >= kp->len)
        return false;
    char open = kp->s[node->val.i];
    if (open == '{' && done == 0)
        return resolve_member(kp, node->val, rest, done, depth);
    if (open == '{' && *rest == '.')
        return resolve_member(kp, node->val, rest + 1, done + 1, depth);
    if (open == '[' && *rest == '[')
        return resolve_element(kp, node->val, rest, done, depth);
    return false;
}

const struct cfg_kp_entry *cfg_keypos_find(struct cfg_keypos *kp, const char *path)
{
    if (!kp || !path)
        return NULL;
    struct kp_child root = { kp->root, kp->root };
    return resolve(kp, kp->root, &root, path, 0, 0) ? &kp->found : NULL;
}

struct cfg_keypos *cfg_keypos_build(const char *text, size_t len)
{
    struct cfg_keypos *kp = cfg_xrealloc(NULL, sizeof *kp);
    memset(kp, 0, sizeof *kp);
    kp->s = text;
    kp->len = len;
    kp->root = (struct kp_at){ 0, 1, 1 };
    move_to(kp, &kp->root, ws(kp, 0));
    if (kp->root.i >= len) {
        cfg_keypos_free(kp);
        return NULL;
    }
    return kp;
}

size_t cfg_keypos_bytes(const struct cfg_keypos *kp)
{
    return kp ? sizeof *kp + kp->bytes : 0;
}

void cfg_keypos_free(struct cfg_keypos *kp)
{
    if (!kp)
        return;
    for (size_t k = 0; k < kp->cap; k++)
        free(kp->caches[k].c);
    free(kp->caches);
    free(kp);
}
