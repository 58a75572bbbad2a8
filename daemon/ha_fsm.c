/*
 * ha_fsm.c — the leader election's decisions (DESIGN section 10) as a pure
 * function of (state, input, now): no I/O, no clock, no allocation. ha.c
 * feeds it timer ticks and the results of the writer's lock attempts and
 * confirmations and carries out what it answers.
 *
 * The rules, each one line of DESIGN:
 *  - a follower tries for the lock every takeover_check; one that stepped
 *    down waits one takeover_check first, so another running node takes over;
 *  - the leader confirms its session every takeover_check/2; without a
 *    confirmation within takeover_check, or on a failed one, it steps down
 *    at once;
 *  - a confirmation counts from the moment its query was sent (ran_ms), not
 *    from its answer: the session was alive then, nothing more is known;
 *  - no lock while the server is a standby or its clock is more than 5 s
 *    off ours (the job itself does not ask for it then; see
 *    ha_fsm_clock_allows); a warning beyond 1 s;
 *  - every change of role bumps the epoch, which fences jobs queued for
 *    the old one.
 */
#include "ha.h"

#include <limits.h>

static int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

void ha_fsm_init(struct ha_fsm *f, bool shared, int64_t check_ms, int64_t now_ms)
{
    *f = (struct ha_fsm){
        .shared = shared,
        .check_ms = check_ms > 0 ? check_ms : 2000,
        .role = shared ? HA_FOLLOWER : HA_LEADER,
        .epoch = shared ? 0 : 1,
        .confirmed_ms = now_ms,
        .stepped_down_ms = INT64_MIN,
        .sent_ms = INT64_MIN,
    };
}

bool ha_fsm_may_act(const struct ha_fsm *f, int64_t now_ms)
{
    if (!f->shared)
        return true;
    return f->role == HA_LEADER && now_ms - f->confirmed_ms <= f->check_ms;
}

static int64_t half(const struct ha_fsm *f) { return f->check_ms / 2 > 0 ? f->check_ms / 2 : 1; }

/* When the next tick is due: the next job to send, or the moment the last
 * confirmation runs out. */
static int64_t next_wake(const struct ha_fsm *f, int64_t now_ms)
{
    int64_t w;
    if (!f->shared || f->role == HA_LEADER) {
        w = f->busy ? now_ms + half(f) : f->sent_ms + half(f);
        if (f->shared && f->confirmed_ms + f->check_ms + 1 < w)
            w = f->confirmed_ms + f->check_ms + 1;
    } else if (f->busy) {
        w = now_ms + f->check_ms; /* the attempt's answer re-decides */
    } else {
        w = f->sent_ms == INT64_MIN ? now_ms : f->sent_ms + f->check_ms;
        if (f->stepped_down_ms != INT64_MIN && f->stepped_down_ms + f->check_ms > w)
            w = f->stepped_down_ms + f->check_ms;
    }
    return w < now_ms ? now_ms : w;
}

static void step_down(struct ha_fsm *f, struct ha_output *o, enum ha_why why, int64_t now_ms)
{
    f->role = HA_FOLLOWER;
    f->epoch++;
    f->stepped_down_ms = now_ms;
    f->session_bad = why == HA_WHY_SESSION_FAILED;
    o->actions |= HA_DO_STEP_DOWN;
    o->why = why;
}

bool ha_fsm_clock_allows(int64_t skew_ms) { return abs64(skew_ms) <= HA_CLOCK_REFUSE_MS; }

struct ha_output ha_fsm_step(struct ha_fsm *f, const struct ha_input *in, int64_t now_ms)
{
    struct ha_output o = { 0 };
    int64_t ran = in->ran_ms ? in->ran_ms : f->sent_ms;
    switch (in->kind) {
    case HA_IN_TICK:
        break;
    case HA_IN_SESSION_ERROR:
        if (f->shared && f->role == HA_LEADER) {
            step_down(f, &o, HA_WHY_SESSION_FAILED, now_ms);
            o.wake_ms = next_wake(f, now_ms);
            return o;
        }
        break;
    case HA_IN_SUSPECT:
        /* Confirm at once rather than at the next half takeover_check; one
         * already in flight will tell the same. */
        if (f->shared && f->role == HA_LEADER && !f->busy &&
            now_ms - f->confirmed_ms <= f->check_ms) {
            f->busy = true;
            f->sent_ms = now_ms;
            o.actions |= HA_DO_CONFIRM;
        }
        break; /* (the rules below: a stale leader steps down) */
    case HA_IN_ATTEMPT_DONE:
        f->busy = false;
        if (f->role == HA_LEADER || !f->shared)
            break; /* a stale answer: nothing was asked */
        if (!in->ok) {
            f->session_bad = true;
            break;
        }
        f->session_bad = false;
        if (in->in_recovery) {
            o.actions |= HA_DO_REFUSE_STANDBY;
            break;
        }
        if (!ha_fsm_clock_allows(in->skew_ms))
            o.actions |= HA_DO_REFUSE_CLOCK;
        else if (abs64(in->skew_ms) > HA_CLOCK_WARN_MS)
            o.actions |= HA_DO_WARN_CLOCK;
        if (in->got_lock && ha_fsm_clock_allows(in->skew_ms)) {
            f->role = HA_LEADER;
            f->epoch++;
            f->confirmed_ms = ran;
            o.actions |= HA_DO_LEAD;
        }
        break;
    case HA_IN_CONFIRM_DONE:
        f->busy = false;
        if (!f->shared || f->role != HA_LEADER)
            break; /* a ping, or the answer to a leader that already stepped down */
        if (!in->ok) {
            step_down(f, &o, HA_WHY_SESSION_FAILED, now_ms);
            o.wake_ms = next_wake(f, now_ms);
            return o;
        }
        if (ran > f->confirmed_ms)
            f->confirmed_ms = ran;
        break;
    }
    if (f->shared && f->role == HA_LEADER && now_ms - f->confirmed_ms > f->check_ms) {
        step_down(f, &o, HA_WHY_NO_CONFIRMATION, now_ms);
    } else if (!f->busy) {
        bool leading = !f->shared || f->role == HA_LEADER;
        if (leading && !(o.actions & HA_DO_LEAD) &&
            (f->sent_ms == INT64_MIN || now_ms >= f->sent_ms + half(f))) {
            o.actions |= HA_DO_CONFIRM;
        } else if (leading && (o.actions & HA_DO_LEAD)) {
            /* the attempt that won was just sent: its confirmation follows
             * half a takeover_check after it */
        } else if (!leading &&
                   (f->sent_ms == INT64_MIN || now_ms >= f->sent_ms + f->check_ms) &&
                   (f->stepped_down_ms == INT64_MIN ||
                    now_ms >= f->stepped_down_ms + f->check_ms)) {
            o.actions |= HA_DO_ATTEMPT;
        }
        if (o.actions & (HA_DO_CONFIRM | HA_DO_ATTEMPT)) {
            f->busy = true;
            f->sent_ms = now_ms;
        }
    }
    o.wake_ms = next_wake(f, now_ms);
    return o;
}
