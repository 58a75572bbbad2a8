/*
 * checkin.h — a check-in (DESIGN section 8) as every module sees it: plain
 * data. store/ persists it (store_checkins.c), okr/ reads its override
 * (okr_effective_status) and renders it (okr_view_checkin), api/ validates
 * and posts it, daemon/ and alerts/ announce and remind from it. It lives
 * in common/ because store/ may not know okr/ and okr/ may not know store/
 * (DESIGN section 1), yet both handle the same record.
 */
#ifndef OKRD_CHECKIN_H
#define OKRD_CHECKIN_H

#include <stdint.h>

#define OKRD_CHECKIN_NO_CONFIDENCE (-1)
#define OKRD_CHECKIN_COMMENT_MAX 4000   /* bytes of UTF-8, no NUL */

struct okrd_checkin {
    char id[32];              /* "chk_" + ULID (26 chars) */
    char key_result[129];     /* key-result id */
    char cycle_start[11];     /* "YYYY-MM-DD": the cycle it belongs to */
    int64_t seq;              /* 1, 2, 3, ... per (key_result, cycle_start), commit order */
    int64_t at_s;             /* commit time, UTC seconds; never before the previous one's */
    char author[65];          /* the token's name */
    int confidence;           /* 0..10, or OKRD_CHECKIN_NO_CONFIDENCE */
    char status[16];          /* override: "on_track", "at_risk", "off_track"; "" = none */
    int64_t until_s;          /* with status: the override's end (exclusive) as resolved
                               * at commit (until, else at + checkins.override_for, cut at
                               * the cycle's end e); 0 without status */
    double value;             /* NaN = none (else stored as a point stamped at_s) */
    double grade;             /* NaN = none; 0.0..1.0 */
    char *comment;            /* NULL = none; malloc'd, owned by the struct's holder */
};

/* Frees C's comment and empties it (confidence none, value/grade NaN). */
void okrd_checkin_clear(struct okrd_checkin *c);
/* A deep copy of SRC into DST (DST's old comment is not freed). 0, or -1 out of memory. */
int okrd_checkin_copy(struct okrd_checkin *dst, const struct okrd_checkin *src);

#endif
