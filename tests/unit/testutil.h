/*
 * testutil.h — small helpers shared by the unit tests: a fresh temporary
 * directory per test, writing and reading files. Each test builds its own
 * state, so test order never matters.
 */
#ifndef OKRD_TESTUTIL_H
#define OKRD_TESTUTIL_H

#include <stddef.h>

/* Creates a new directory under $TMPDIR (or /tmp); returns a malloc'd path. */
char *tu_mkdtemp(void);
/* Removes a directory tree (best effort). */
void tu_rm_rf(const char *path);
/* Writes text to DIR/NAME (creating it); returns a malloc'd full path, or NULL. */
char *tu_write_file(const char *dir, const char *name, const char *text);
/* Reads a whole file; returns a malloc'd NUL-terminated buffer or NULL. */
char *tu_read_file(const char *path, size_t *len);

#endif
