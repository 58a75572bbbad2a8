/*
 * alerts_rules.c — which evaluations become events (DESIGN section 5), as
 * pure functions of (memory, evaluation, now): no store, no clock, so the
 * unit tests drive them through days and weeks with a table of times.
 *
 * The model: the rules keep an "announced" status per key result. Any
 * different status seen becomes a candidate; once the candidate has held
 * for alerts.for (uninterrupted: a different status restarts the clock,
 * the announced one clears it) it is adopted and alerts_status_event()
 * says whether that change is worth an event. Every change waits the same
 * `for`, quiet ones included, so a brief no_data gap inside an off_track
 * stretch does not end it and re-alert when data returns. A final status
 * (achieved/missed from the cycle end on) is adopted only grade_after past
 * the end, so late data for the last days still counts.
 *
 * The stale flag is announced at once: it already waited stale_after.
 */
#include "alerts.h"

#include <stdio.h>
#include <string.h>

const char *alerts_event_name(enum alerts_event e)
{
    static const char *const names[ALERTS_N_EVENTS] = {
        [ALERTS_EV_NONE] = "",
        [ALERTS_KR_AT_RISK] = "kr.at_risk",
        [ALERTS_KR_OFF_TRACK] = "kr.off_track",
        [ALERTS_KR_BACK_ON_TRACK] = "kr.back_on_track",
        [ALERTS_KR_ACHIEVED] = "kr.achieved",
        [ALERTS_KR_MISSED] = "kr.missed",
        [ALERTS_KR_STALE] = "kr.stale",
        [ALERTS_KR_FRESH] = "kr.fresh",
        [ALERTS_KR_CHECK_IN] = "kr.check_in",
        [ALERTS_SOURCE_FAILING] = "source.failing",
        [ALERTS_SOURCE_RECOVERED] = "source.recovered",
        [ALERTS_DIGEST_WEEKLY] = "digest.weekly",
    };
    return (unsigned)e < ALERTS_N_EVENTS ? names[e] : "";
}

static enum alerts_event entering(enum okr_status to)
{
    switch (to) {
    case OKR_AT_RISK: return ALERTS_KR_AT_RISK;
    case OKR_OFF_TRACK: return ALERTS_KR_OFF_TRACK;
    case OKR_ACHIEVED: return ALERTS_KR_ACHIEVED;
    case OKR_MISSED: return ALERTS_KR_MISSED;
    default: return ALERTS_EV_NONE;
    }
}

enum alerts_event alerts_status_event(enum okr_status from, enum okr_status to)
{
    if (from == to)
        return ALERTS_EV_NONE;
    if (to == OKR_ON_TRACK)
        return from == OKR_AT_RISK || from == OKR_OFF_TRACK ? ALERTS_KR_BACK_ON_TRACK
                                                            : ALERTS_EV_NONE;
    return entering(to);
}

void alerts_kr_memory_init(struct alerts_kr_memory *m, const char *stored_status,
                           bool stored_stale, int64_t cycle_start_s, int64_t now_s)
{
    memset(m, 0, sizeof *m);
    m->announced = m->previous = m->candidate = ALERTS_NO_STATUS;
    if (stored_status && !okr_status_parse(stored_status, &m->announced))
        m->announced = ALERTS_NO_STATUS;
    m->stale = stored_status ? stored_stale : false;
    /* Nothing was sent that we know of: the repeat clock starts now, and a
     * key result already stored as achieved has had its moment. */
    m->last_sent_s = now_s;
    if (m->announced == OKR_ACHIEVED)
        m->achieved_cycle_s = cycle_start_s;
}

static bool is_behind(enum okr_status s) { return s == OKR_AT_RISK || s == OKR_OFF_TRACK; }

size_t alerts_kr_step(struct alerts_kr_memory *m, const struct alerts_rules *r,
                      const struct alerts_kr_now *now, int64_t now_s, struct alerts_raised out[2])
{
    size_t n = 0;
    enum okr_status s = now->status;
    if (s == m->announced) {
        m->candidate = ALERTS_NO_STATUS;
        m->candidate_since_s = 0;
        if (is_behind(s) && r->repeat_s > 0 && now_s - m->last_sent_s >= r->repeat_s) {
            out[n++] = (struct alerts_raised){ entering(s), m->previous };
            m->last_sent_s = now_s;
        }
    } else {
        if (m->candidate != s) {
            m->candidate = s;
            m->candidate_since_s = now_s;
        }
        bool held = now_s - m->candidate_since_s >= r->for_s;
        if ((s == OKR_ACHIEVED || s == OKR_MISSED) && now->final &&
            now_s < now->cycle_end_s + r->grade_after_s)
            held = false; /* the final grade waits for late data */
        if (held) {
            enum alerts_event ev = alerts_status_event(m->announced, s);
            if (ev == ALERTS_KR_ACHIEVED) {
                if (m->achieved_cycle_s == now->cycle_start_s)
                    ev = ALERTS_EV_NONE; /* at most once per cycle */
                m->achieved_cycle_s = now->cycle_start_s;
            }
            m->previous = m->announced;
            m->announced = s;
            m->candidate = ALERTS_NO_STATUS;
            m->candidate_since_s = 0;
            m->last_sent_s = now_s; /* the repeat clock restarts with every settled change */
            if (ev != ALERTS_EV_NONE)
                out[n++] = (struct alerts_raised){ ev, m->previous };
        }
    }
    if (now->stale != m->stale) {
        m->stale = now->stale;
        out[n++] = (struct alerts_raised){ now->stale ? ALERTS_KR_STALE : ALERTS_KR_FRESH,
                                           m->previous };
    }
    return n;
}

enum alerts_event alerts_source_step(bool *failing, bool ok, int failures, int failing_after)
{
    if (failing_after < 1)
        failing_after = 1;
    if (ok) {
        if (!*failing)
            return ALERTS_EV_NONE;
        *failing = false;
        return ALERTS_SOURCE_RECOVERED;
    }
    if (*failing || failures < failing_after)
        return ALERTS_EV_NONE;
    *failing = true;
    return ALERTS_SOURCE_FAILING;
}

static enum okr_status parse_or_none(const char *s)
{
    enum okr_status st;
    return s && *s && okr_status_parse(s, &st) ? st : ALERTS_NO_STATUS;
}

static const char *name_or_empty(enum okr_status s)
{
    return s == ALERTS_NO_STATUS ? "" : okr_status_name(s);
}

void alerts_kr_memory_from_row(struct alerts_kr_memory *m, const struct store_alert_kr *row)
{
    m->announced = parse_or_none(row->announced);
    m->previous = parse_or_none(row->previous);
    m->candidate = parse_or_none(row->candidate);
    m->candidate_since_s = row->candidate_since_s;
    m->last_sent_s = row->last_sent_s;
    m->achieved_cycle_s = row->achieved_cycle_s;
    m->stale = row->stale;
}

void alerts_kr_memory_to_row(const struct alerts_kr_memory *m, struct store_alert_kr *row)
{
    memset(row, 0, sizeof *row);
    snprintf(row->announced, sizeof row->announced, "%s", name_or_empty(m->announced));
    snprintf(row->previous, sizeof row->previous, "%s", name_or_empty(m->previous));
    snprintf(row->candidate, sizeof row->candidate, "%s", name_or_empty(m->candidate));
    row->candidate_since_s = m->candidate_since_s;
    row->last_sent_s = m->last_sent_s;
    row->achieved_cycle_s = m->achieved_cycle_s;
    row->stale = m->stale;
}
