/*
 * fuzz_jsonptr.c — JSON pointers and the Prometheus answer reader.
 *
 * The input is split at its first newline: the first line is a pointer, the
 * rest a JSON document. Properties: jsonptr_check and jsonptr_get agree on
 * syntax; a resolved value is inside the document; every error has a code
 * and a message; prom_parse_answer on the same document never crashes and
 * gives a finite value or a skip for one sample.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/json_pointer.h"
#include "connectors/prom_answer.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *nl = memchr(s, '\n', size);
    size_t plen = nl ? (size_t)(nl - s) : size;
    const char *doc_text = nl ? nl + 1 : "";
    size_t doc_len = nl ? size - plen - 1 : 0;

    struct okrd_err err = { 0 };
    int syntax = jsonptr_check(s, plen, &err);
    check(syntax == 0 || (syntax == OKRD_EINVAL && err.msg[0]));

    json_error_t je;
    json_t *doc = json_loadb(doc_text, doc_len, JSON_DECODE_ANY, &je);
    if (!doc)
        doc = json_null();
    json_t *out = NULL;
    struct okrd_err e2 = { 0 };
    int rc = jsonptr_get(doc, s, plen, &out, &e2);
    if (syntax < 0)
        check(rc == OKRD_EINVAL);
    else
        check(rc == 0 || rc == OKRD_ENOTFOUND);
    if (rc == 0)
        check(out != NULL);
    else
        check(e2.code == rc && e2.msg[0]);
    json_decref(doc);

    struct prom_answer a;
    struct okrd_err e3 = { 0 };
    if (prom_parse_answer(doc_text, doc_len, &a, &e3) == 0) {
        if (a.n_series == 1 && !a.error[0])
            check(a.skip[0] || isfinite(a.value));
    } else {
        check(e3.msg[0]);
    }
    return 0;
}
