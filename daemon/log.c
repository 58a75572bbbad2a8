/*
 * log.c — see log.h. Owns the process's log level and journal detection.
 * Each line is formatted into one buffer and written with one write(2), so
 * lines from the writer thread's callbacks and the loop never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
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

void log_event(enum cfg_log_level level, const char *event, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char line[4096];
    size_t n = 0;
    if (to_journal) {
        n = (size_t)snprintf(line, sizeof line, "<%d>", syslog_priority(level));
    } else {
        char ts[32];
        okrd_format_utc(okrd_clock_now_s(&okrd_clock_system), ts, sizeof ts);
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
    line[n++] = '\n';
    ssize_t off = 0;
    while (off < (ssize_t)n) {
        ssize_t w = write(STDERR_FILENO, line + off, n - (size_t)off);
        if (w <= 0)
            break;
        off += w;
    }
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
    size_t n = 0;
    buf[n++] = '"';
    for (const char *p = s; *p && n + 3 < size; p++) {
        if (*p == '"' || *p == '\\') {
            buf[n++] = '\\';
            buf[n++] = *p;
        } else if (*p == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else {
            buf[n++] = *p;
        }
    }
    if (n < size - 1)
        buf[n++] = '"';
    buf[n < size ? n : size - 1] = '\0';
    return buf;
}
