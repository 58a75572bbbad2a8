/*
 * api_buf.c — the growable text buffer every api/ builder writes into, with
 * the two escapers the outputs need (HTML for the dashboard, label values
 * for /metrics). Owns nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "common/parse.h"

static bool grow(struct api_buf *b, size_t more)
{
    if (b->failed)
        return false;
    if (b->n + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more + 1) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void api_buf_put(struct api_buf *b, const char *s, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void api_buf_puts(struct api_buf *b, const char *s) { api_buf_put(b, s, strlen(s)); }

void api_buf_printf(struct api_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        api_buf_put(b, small, (size_t)n);
        return;
    }
    if (!grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

void api_buf_html(struct api_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *ent = NULL;
        switch (*s) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        default: continue;
        }
        api_buf_put(b, run, (size_t)(s - run));
        api_buf_puts(b, ent);
        run = s + 1;
    }
    api_buf_put(b, run, (size_t)(s - run));
}

void api_buf_prom_label(struct api_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = NULL;
        switch (*s) {
        case '\\': esc = "\\\\"; break;
        case '"': esc = "\\\""; break;
        case '\n': esc = "\\n"; break;
        default: continue;
        }
        api_buf_put(b, run, (size_t)(s - run));
        api_buf_puts(b, esc);
        run = s + 1;
    }
    api_buf_put(b, run, (size_t)(s - run));
}

void api_buf_double(struct api_buf *b, double v)
{
    char num[40];
    okrd_format_double(v, num, sizeof num);
    api_buf_puts(b, num);
}

void api_buf_free(struct api_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
