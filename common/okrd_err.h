/*
 * okrd_err.h — the one error type every module fills.
 *
 * A function that can fail returns 0 or a negative OKRD_E* code and writes a
 * message into a caller-owned struct okrd_err. The innermost layer writes the
 * cause; an outer layer may prefix facts it adds with okrd_err_prefix().
 * Messages never contain secret values: name a secret by its reference.
 */
#ifndef OKRD_ERR_H
#define OKRD_ERR_H

#include <stddef.h>

enum {
    OKRD_OK = 0,
    OKRD_EINVAL = -1,   /* bad input: config, CSV, request, argument */
    OKRD_EIO = -2,      /* file or socket I/O failed */
    OKRD_ENOMEM = -3,   /* allocation failed */
    OKRD_ENOTFOUND = -4,/* no such thing (file, metric, key result) */
    OKRD_ESTORE = -5,   /* the database failed */
    OKRD_EBUSY = -6,    /* try again later (locked, file still changing) */
    OKRD_ECANCELED = -7,/* shutting down; the work was not done */
    OKRD_ERANGE = -8,   /* a number or date out of range */
    OKRD_EEXIST = -9,   /* already there (a unique key taken) */
    OKRD_ECONFLICT = -10,/* refused by the state it meets (HTTP 409) */
};

#define OKRD_ERR_MSG_MAX 256

struct okrd_err {
    int code;
    char msg[OKRD_ERR_MSG_MAX];
};

/* Sets code and message (printf-style; truncated to fit) and returns code,
 * so callers can write `return okrd_err_set(err, OKRD_EINVAL, "...")`.
 * err may be NULL. */
int okrd_err_set(struct okrd_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "PREFIX: " to the message already in err (keeps the code) and
 * returns the code. */
int okrd_err_prefix(struct okrd_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Clears err to OKRD_OK and an empty message. */
void okrd_err_clear(struct okrd_err *err);

/* A short name of a code ("EINVAL"), for logs. */
const char *okrd_err_name(int code);

#endif
