/*
 * store_check.h — the argument checks store.c makes before any backend
 * sees a call (store_check.c). Each returns 0 or OKRD_EINVAL with a message
 * "store: ACTION: invalid WHAT ..." naming the bad value.
 */
#ifndef OKRD_STORE_CHECK_H
#define OKRD_STORE_CHECK_H

#include "store_backend.h"

int store_check_id(const char *what, const char *id, const char *action, struct okrd_err *err);
/* A real YYYY-MM-DD date (2026-02-30 is refused). */
int store_check_date(const char *what, const char *date, const char *action,
                     struct okrd_err *err);
/* A status that is non-empty and fits a char[SIZE]. */
int store_check_status(const char *what, const char *status, size_t size, const char *action,
                       struct okrd_err *err);
/* Valid metric ids and finite values. */
int store_check_points(const struct store_point_in *pts, size_t n, struct okrd_err *err);
int store_check_ingest(const struct store_ingest *in, struct okrd_err *err);
int store_check_definition(const char *kind, const char *id, const char *cycle_start,
                           const char *cycle_end, struct okrd_err *err);
/* The record's own consistency (DESIGN section 8). */
int store_check_checkin(const struct okrd_checkin *c, struct okrd_err *err);

#endif
