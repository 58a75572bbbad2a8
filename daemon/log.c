/*
 * log.c — see log.h. Owns the process's log level and journal detection.
 * Each line is formatted into one buffer and written with one write(2), so
 * lines from the writer thread's callbacks and the loop never interleave.
 *
 * Invariant: a line holds no raw control byte but its final newline and no
 * invalid UTF-8, whatever it logs (file names, HTTP errors, config paths),
 * so nobody can forge a field or a line, or drive a terminal, through a
 * logged value. Escapes are \xNN (see log.h); docs/man/man8/okrd.8 LOGS.
 */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/parse.h"
#include "common/clock.h"

static enum cfg_log_level min_level = CFG_LOG_INFO;
static bool to_journal;

void log_setup(enum cfg_log_level level)
{
    min_level = level;
    to_journal = false;
    const char *js = getenv("JOURNAL_STREAM");
    struct stat st;
    unsigned long long dev, ino;
    /* systemd sets JOURNAL_STREAM=DEV:INODE of the stream it connected; it
     * only applies while stderr is still that stream (not redirected). */
    if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
        to_journal = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_set_level(enum cfg_log_level level) { min_level = level; }
enum cfg_log_level log_level(void) { return min_level; }

static int syslog_priority(enum cfg_log_level level)
{
    switch (level) {
    case CFG_LOG_DEBUG: return 7;
    case CFG_LOG_INFO: return 6;
    case CFG_LOG_WARNING: return 4;
    default: return 3;
    }
}

static bool is_clean(const char *s, size_t n);

void log_event(enum cfg_log_level level, const char *event, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char line[4096];
    size_t n = 0;
    if (to_journal) {
        n = (size_t)snprintf(line, sizeof line, "<%d>", syslog_priority(level));
    } else {
        /* The formatted second is kept per thread: formatting it took
         * half of a line's cost, and a busy second logs thousands. */
        static _Thread_local int64_t ts_s = INT64_MIN;
        static _Thread_local char ts[32];
        int64_t now = okrd_clock_now_s(&okrd_clock_system);
        if (now != ts_s) {
            okrd_format_utc(now, ts, sizeof ts);
            ts_s = now;
        }
        n = (size_t)snprintf(line, sizeof line, "ts=%s ", ts);
    }
    n += (size_t)snprintf(line + n, sizeof line - n, "level=%s event=%s",
                          cfg_log_level_name(level), event);
    if (fmt && *fmt && n < sizeof line - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(line + n, sizeof line - n, fmt, ap);
        va_end(ap);
        if (w > 0)
            n += (size_t)w;
    }
    if (n > sizeof line - 2)
        n = sizeof line - 2; /* truncated: still one line */
    char clean[sizeof line];
    if (!is_clean(line, n)) {
        /* A value some caller did not pass through log_quote: its control
         * bytes and invalid UTF-8 still never reach the log raw. */
        n = log_scrub(clean, sizeof clean - 1, line, n);
        memcpy(line, clean, n);
    }
    line[n++] = '\n';
    ssize_t off = 0;
    while (off < (ssize_t)n) {
        ssize_t w = write(STDERR_FILENO, line + off, n - (size_t)off);
        if (w <= 0)
            break;
        off += w;
    }
}

/* One unit of a value as it may appear in a line: a printable ASCII byte
 * or a whole valid printable UTF-8 character as is, anything else as \xNN
 * (lowercase hex): C0 controls but \n (when NL_ESCAPE, written \n), DEL,
 * the C1 controls U+0080..U+009F (each of their two bytes) and every byte
 * that does not begin a valid UTF-8 sequence (stray continuation bytes,
 * overlong forms, surrogates, beyond U+10FFFF, truncated sequences).
 * QUOTES also escapes " and \ (inside a quoted value). Writes at most 4
 * bytes to out and returns how many; *used = input bytes consumed. */
static size_t escape_unit(const char *s, size_t n, bool quotes, char out[4], size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = (unsigned char)s[0];
    size_t cl = okrd_utf8_len(s, n);
    *used = 1;
    if (cl > 1 && !(c == 0xC2 && (unsigned char)s[1] < 0xA0)) { /* not a C1 control */
        memcpy(out, s, cl);
        *used = cl;
        return cl;
    }
    if (cl == 1 && c >= 0x20 && c != 0x7F) {
        if (quotes && (c == '"' || c == '\\')) {
            out[0] = '\\';
            out[1] = (char)c;
            return 2;
        }
        out[0] = (char)c;
        return 1;
    }
    if (quotes && c == '\n') {
        out[0] = '\\';
        out[1] = 'n';
        return 2;
    }
    out[0] = '\\';
    out[1] = 'x';
    out[2] = hex[c >> 4];
    out[3] = hex[c & 0xF];
    return 4;
}

static bool is_clean(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F) {
            i++;
            continue;
        }
        size_t cl = okrd_utf8_len(s + i, n - i);
        if (cl < 2 || (c == 0xC2 && (unsigned char)s[i + 1] < 0xA0))
            return false;
        i += cl;
    }
    return true;
}

size_t log_scrub(char *out, size_t size, const char *s, size_t n)
{
    if (size == 0)
        return 0;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        char u[4];
        size_t used;
        size_t k = escape_unit(s + i, n - i, false, u, &used);
        if (o + k >= size)
            break; /* never half a character or half an escape */
        memcpy(out + o, u, k);
        o += k;
        i += used;
    }
    out[o] = '\0';
    return o;
}

const char *log_quote(char *buf, size_t size, const char *s)
{
    if (size == 0)
        return buf;
    if (!s)
        s = "";
    bool bare = *s != '\0';
    for (const char *p = s; *p && bare; p++)
        bare = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/@+-", *p) != NULL;
    if (bare) {
        snprintf(buf, size, "%s", s);
        return buf;
    }
    if (size < 3) {
        buf[0] = '\0';
        return buf;
    }
    size_t n = 0, len = strlen(s);
    buf[n++] = '"';
    for (size_t i = 0; i < len;) {
        char u[4];
        size_t used;
        size_t k = escape_unit(s + i, len - i, true, u, &used);
        if (n + k + 2 > size)
            break; /* truncated: whole units only, and the closing quote */
        memcpy(buf + n, u, k);
        n += k;
        i += used;
    }
    buf[n++] = '"';
    buf[n] = '\0';
    return buf;
}
