/*
 * prom_answer.h — reading one Prometheus HTTP API answer to an instant
 * query (GET /api/v1/query): {"status": "success", "data": {"resultType":
 * "vector"|"scalar", "result": ...}} or {"status": "error", "errorType",
 * "error"}. Pure, so it is unit-tested and fuzzed without a server.
 */
#ifndef OKRD_PROM_ANSWER_H
#define OKRD_PROM_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "common/okrd_err.h"

struct prom_answer {
    char error[200];      /* "status":"error": Prometheus' text; "" otherwise */
    char error_type[32];  /* its errorType ("bad_data") */
    size_t n_series;      /* a scalar counts as 1; a vector its length */
    int64_t ts;           /* the sample's time, floored to the second (n_series == 1) */
    double value;         /* finite, unless skip is set */
    char skip[16];        /* "NaN", "+Inf", "-Inf": a sample that is no point */
};

/* Parses BODY. 0 with *a filled (an error answer is a success here: look
 * at a->error), or OKRD_EINVAL for anything that is not such an answer:
 * invalid JSON, a range vector ("matrix"), a malformed sample. */
int prom_parse_answer(const char *body, size_t len, struct prom_answer *a, struct okrd_err *err);

#endif
