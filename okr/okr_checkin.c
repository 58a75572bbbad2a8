/*
 * okr_checkin.c — a check-in's status override (DESIGN section 8): which
 * status a key result shows while a person's judgment holds. Pure.
 */
#include "okr.h"

#include <string.h>

static bool overridable(enum okr_status st)
{
    return st == OKR_PENDING || st == OKR_NO_DATA || st == OKR_ON_TRACK || st == OKR_AT_RISK ||
           st == OKR_OFF_TRACK;
}

enum okr_status okr_effective_status(enum okr_status computed, const struct okrd_checkin *latest,
                                     int64_t t, int64_t *override_until)
{
    if (override_until)
        *override_until = OKR_NO_TS;
    enum okr_status over;
    if (!latest || !latest->status[0] || !okr_status_parse(latest->status, &over))
        return computed;
    /* Only the three judgments are overrides; anything else stored there
     * (it cannot be: the API refuses it) is ignored rather than shown. */
    if (over != OKR_ON_TRACK && over != OKR_AT_RISK && over != OKR_OFF_TRACK)
        return computed;
    if (t < latest->at_s || t >= latest->until_s || !overridable(computed))
        return computed;
    if (override_until)
        *override_until = latest->until_s;
    return over;
}
