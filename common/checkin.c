/*
 * checkin.c — owning and copying struct okrd_checkin (checkin.h).
 */
#include "checkin.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void okrd_checkin_clear(struct okrd_checkin *c)
{
    free(c->comment);
    memset(c, 0, sizeof *c);
    c->confidence = OKRD_CHECKIN_NO_CONFIDENCE;
    c->value = NAN;
    c->grade = NAN;
}

int okrd_checkin_copy(struct okrd_checkin *dst, const struct okrd_checkin *src)
{
    *dst = *src;
    if (src->comment && !(dst->comment = strdup(src->comment)))
        return -1;
    return 0;
}
