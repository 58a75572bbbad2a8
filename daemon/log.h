/*
 * log.h — okrd's log lines (DESIGN section 6): to stderr, one event per
 * line, key=value pairs, a `<N>` syslog priority prefix when stderr is the
 * journal (JOURNAL_STREAM names our stderr), else a UTC timestamp first.
 *
 * The level and the journal flag are the daemon's process state (allowed in
 * daemon/ only). Modules below daemon/ never log: they return errors, and
 * daemon/ logs them.
 */
#ifndef OKRD_LOG_H
#define OKRD_LOG_H

#include <stddef.h>
#include "config/config.h"

/* Reads JOURNAL_STREAM and compares it with stderr's device:inode. */
void log_setup(enum cfg_log_level min_level);
void log_set_level(enum cfg_log_level min_level);
enum cfg_log_level log_level(void);

/* Writes one line: `level=LEVEL event=EVENT ` then the printf-style rest,
 * which must already be key=value pairs (quote values with log_quote). */
void log_event(enum cfg_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* s as a log value: bare when it is [A-Za-z0-9_.:/@+-]+, else in double
 * quotes with \" \\ and \n escaped, and every other byte that could forge
 * or hide a field written \xNN (two lowercase hex digits): the other C0
 * controls (CR, TAB, ESC...), DEL, the C1 controls U+0080..U+009F (both
 * bytes of their UTF-8 form) and each byte of invalid UTF-8 (stray
 * continuation bytes, overlong forms, surrogates, beyond U+10FFFF,
 * truncated sequences). Valid printable UTF-8 is kept as is. Returns buf;
 * when truncated to size, it ends after a whole character or escape and
 * still has its closing quote. */
const char *log_quote(char *buf, size_t size, const char *s);

/* The same escapes (but " and \ left alone) over N bytes of s, into out
 * (NUL-terminated, whole units only); returns the length written. log_event
 * applies it to every line, so a value some caller forgot to quote cannot
 * put a raw control byte or invalid UTF-8 into the log either. */
size_t log_scrub(char *out, size_t size, const char *s, size_t n);

#define log_debug(ev, ...) log_event(CFG_LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...) log_event(CFG_LOG_INFO, ev, __VA_ARGS__)
#define log_warning(ev, ...) log_event(CFG_LOG_WARNING, ev, __VA_ARGS__)
#define log_error(ev, ...) log_event(CFG_LOG_ERROR, ev, __VA_ARGS__)

#endif
