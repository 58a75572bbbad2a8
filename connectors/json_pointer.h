/*
 * json_pointer.h — RFC 6901 JSON Pointers over jansson documents, for the
 * `value`, `each` and `timestamp` keys of http_json extract entries.
 *
 * "" is the whole document; "/a/b" walks object member "a" then "b"; "~1"
 * stands for '/' and "~0" for '~' inside a token; on an array a token is a
 * decimal index without leading zeros ("-", the element after the last, never
 * exists). Errors say which prefix of the pointer failed and why, so a user
 * can fix a preset from the log line alone.
 */
#ifndef OKRD_JSON_POINTER_H
#define OKRD_JSON_POINTER_H

#include <jansson.h>
#include <stddef.h>

#include "common/okrd_err.h"

/* Checks the syntax only: "" or '/'-separated tokens with valid ~ escapes.
 * 0 or OKRD_EINVAL with the reason. */
int jsonptr_check(const char *ptr, size_t len, struct okrd_err *err);

/* Resolves PTR (len bytes, need not be NUL-terminated) in DOC. On success 0
 * and *out, borrowed from doc (valid while doc lives). Otherwise
 * OKRD_EINVAL for a malformed pointer, OKRD_ENOTFOUND when the document has
 * no such place, e.g. `"/results/3/visitors": no index 3 in "/results" (an
 * array of 3 elements)`. */
int jsonptr_get(const json_t *doc, const char *ptr, size_t len, json_t **out,
                struct okrd_err *err);

/* The JSON type's name for messages: "object", "array", "string", "number",
 * "true", "false", "null". */
const char *jsonptr_type_name(const json_t *v);

#endif
