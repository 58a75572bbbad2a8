/*
 * okrd_err.c — filling struct okrd_err. See okrd_err.h for the rules.
 */
#include "okrd_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int okrd_err_set(struct okrd_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int okrd_err_prefix(struct okrd_err *err, const char *fmt, ...)
{
    if (!err)
        return OKRD_EINVAL;
    char prefix[OKRD_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return err->code;
    size_t plen = strlen(prefix);
    memcpy(prefix + plen, ": ", 3);
    plen += 2;
    /* Shift the old message right and put the prefix in front; what no
     * longer fits is cut at the end (the cause is then partly lost, but the
     * message stays one bounded line). */
    size_t cap = sizeof err->msg - 1;
    if (plen > cap)
        plen = cap;
    size_t old = strnlen(err->msg, cap);
    if (old > cap - plen)
        old = cap - plen;
    memmove(err->msg + plen, err->msg, old);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + old] = '\0';
    return err->code;
}

void okrd_err_clear(struct okrd_err *err)
{
    if (err) {
        err->code = OKRD_OK;
        err->msg[0] = '\0';
    }
}

const char *okrd_err_name(int code)
{
    switch (code) {
    case OKRD_OK: return "OK";
    case OKRD_EINVAL: return "EINVAL";
    case OKRD_EIO: return "EIO";
    case OKRD_ENOMEM: return "ENOMEM";
    case OKRD_ENOTFOUND: return "ENOTFOUND";
    case OKRD_ESTORE: return "ESTORE";
    case OKRD_EBUSY: return "EBUSY";
    case OKRD_ECANCELED: return "ECANCELED";
    case OKRD_ERANGE: return "ERANGE";
    case OKRD_EEXIST: return "EEXIST";
    case OKRD_ECONFLICT: return "ECONFLICT";
    default: return "EUNKNOWN";
    }
}
