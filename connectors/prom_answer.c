/*
 * prom_answer.c — see prom_answer.h. Sample values arrive as strings
 * ("42.5", "NaN", "+Inf") because JSON has no NaN; timestamps as fractional
 * Unix seconds (1700000000.123), floored here: okrd stores whole seconds.
 */
#include "prom_answer.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/parse.h"

static int sample(const json_t *pair, struct prom_answer *a, struct okrd_err *err)
{
    const json_t *jt = json_array_get(pair, 0), *jv = json_array_get(pair, 1);
    if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_number(jt) ||
        !json_is_string(jv))
        return okrd_err_set(err, OKRD_EINVAL,
                            "a sample is [unix_time, \"value\"]; this one is not");
    double t = floor(json_number_value(jt));
    if (!(t > -62135596800.0 && t < 253402300800.0)) /* years 0001..9999 */
        return okrd_err_set(err, OKRD_EINVAL, "sample time %g out of range", t);
    a->ts = (int64_t)t;
    const char *s = json_string_value(jv);
    size_t n = json_string_length(jv);
    if (!strcmp(s, "NaN") || !strcmp(s, "+Inf") || !strcmp(s, "-Inf") || !strcmp(s, "Inf")) {
        snprintf(a->skip, sizeof a->skip, "%s", s);
        a->value = NAN;
        return 0;
    }
    int rc = okrd_parse_number(s, n, NULL, &a->value, err);
    if (rc < 0)
        return okrd_err_prefix(err, "sample value");
    return 0;
}

int prom_parse_answer(const char *body, size_t len, struct prom_answer *a, struct okrd_err *err)
{
    memset(a, 0, sizeof *a);
    json_error_t je;
    json_t *doc = json_loadb(body, len, 0, &je);
    if (!doc)
        return okrd_err_set(err, OKRD_EINVAL, "invalid JSON (line %d, column %d): %s", je.line,
                            je.column, je.text);
    int rc = 0;
    const char *status = json_string_value(json_object_get(doc, "status"));
    if (!status) {
        rc = okrd_err_set(err, OKRD_EINVAL, "not a Prometheus API answer (no \"status\")");
        goto out;
    }
    if (strcmp(status, "success") != 0) {
        const char *e = json_string_value(json_object_get(doc, "error"));
        const char *t = json_string_value(json_object_get(doc, "errorType"));
        snprintf(a->error, sizeof a->error, "%s", e && *e ? e : "(no error text)");
        snprintf(a->error_type, sizeof a->error_type, "%s", t ? t : status);
        goto out;
    }
    json_t *data = json_object_get(doc, "data");
    const char *type = json_string_value(json_object_get(data, "resultType"));
    json_t *result = json_object_get(data, "result");
    if (!type || !result) {
        rc = okrd_err_set(err, OKRD_EINVAL, "a success answer without data.resultType/result");
        goto out;
    }
    if (!strcmp(type, "scalar")) {
        a->n_series = 1;
        rc = sample(result, a, err);
    } else if (!strcmp(type, "vector")) {
        if (!json_is_array(result)) {
            rc = okrd_err_set(err, OKRD_EINVAL, "a vector result that is not an array");
            goto out;
        }
        a->n_series = json_array_size(result);
        if (a->n_series == 1)
            rc = sample(json_object_get(json_array_get(result, 0), "value"), a, err);
    } else {
        rc = okrd_err_set(err, OKRD_EINVAL,
                          "resultType \"%.20s\": the query must give an instant vector or a "
                          "scalar (not a range vector or string)", type);
    }
out:
    json_decref(doc);
    return rc;
}
