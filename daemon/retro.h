/*
 * retro.h — the retrospective of one archived cycle (DESIGN section 9) read
 * from a store: which cycle a `--cycle` / `?cycle=` names, the archived
 * definitions rebuilt into key results, their evaluation at the end (or
 * now), their daily history and check-ins, handed to okr_retro_build. Used
 * by `okrd retro` (read-only store) and by the API's read workers (through
 * api_env.retro), so both answer the same document.
 */
#ifndef OKRD_RETRO_H
#define OKRD_RETRO_H

#include <jansson.h>
#include <stdint.h>

#include "common/okrd_err.h"
#include "common/tz.h"
#include "config/config.h"
#include "store/store.h"

/* "YYYY-Qn" or "START..END" (dates, START <= END) into start/end dates
 * (11 bytes each). OKRD_EINVAL with a message naming ARG otherwise. */
int retro_parse_cycle(const char *arg, char start[11], char end[11], struct okrd_err *err);

/* The retrospective document (okr_retro.h) of the cycle ARG names (NULL or
 * "": the archived cycle that ended most recently by NOW_S; when none has
 * ended, the running one that ends first), as of NOW_S: final from the
 * cycle's end on. CFG gives the time zone and the metric table (ratio
 * metrics); the objectives may have left it. *out is the caller's
 * (json_decref). OKRD_EINVAL for a malformed ARG, OKRD_ENOTFOUND when no
 * archived objective has exactly that cycle (or nothing is archived). */
int retro_document(struct store *st, const struct cfg *cfg, const char *arg, int64_t now_s,
                   json_t **out, struct okrd_err *err);

#endif
