/*
 * alerts_deliver.c — what one delivery attempt's answer means (DESIGN
 * section 5), as a pure function of (delivery row, answer, now): delivered,
 * the next part of a split digest, retry at a time, or dead. The sender
 * (daemon/alerts_run.c) does the I/O and stores the row this returns.
 *
 * Retries follow the Standard Webhooks guidance and Stripe: the n-th retry
 * comes 5 s x 2^(n-1) after the failed attempt, +-20% jitter (so a fleet of
 * okrds that failed together does not retry together), capped at 1 h; a
 * longer Retry-After wins. Three refusals (400/413/422: the receiver is up
 * but rejects this payload) dead-letter early, so one bad payload cannot
 * hold back the queue behind it for max_age; 410 Gone dead-letters at once.
 */
#include "alerts.h"

#include <stdio.h>
#include <string.h>

int64_t alerts_retry_delay_ms(int n, double jitter01)
{
    if (n < 1)
        n = 1;
    int64_t base = ALERTS_RETRY_CAP_MS;
    if (n <= 20) /* 5 s x 2^19 is far past the cap already */
        base = (int64_t)ALERTS_RETRY_BASE_MS << (n - 1);
    if (jitter01 < 0)
        jitter01 = 0;
    if (jitter01 >= 1)
        jitter01 = 0.999999;
    int64_t d = (int64_t)((double)base * (0.8 + 0.4 * jitter01));
    return d > ALERTS_RETRY_CAP_MS ? ALERTS_RETRY_CAP_MS : d;
}

static int64_t floor_s(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

int64_t alerts_delivery_max_age_ms(const struct store_delivery *d, int64_t fallback_ms)
{
    return d->max_age_ms > 0 ? d->max_age_ms : fallback_ms;
}

bool alerts_expired(const struct store_delivery *d, int64_t max_age_ms, int64_t now_s)
{
    max_age_ms = alerts_delivery_max_age_ms(d, max_age_ms);
    return max_age_ms > 0 && (now_s - d->created_at_s) * 1000 >= max_age_ms;
}

/* "HTTP 400: invalid signature" — the start of the answer's body helps the
 * operator, but it is the receiver's text: one line, printable, short. */
static void describe_status(char *buf, size_t size, long status, const char *body)
{
    int w = snprintf(buf, size, "HTTP %ld", status);
    if (!body || !*body || w < 0 || (size_t)w + 3 >= size)
        return;
    size_t o = (size_t)w;
    buf[o++] = ':';
    buf[o++] = ' ';
    for (size_t i = 0; body[i] && i < 120 && o + 1 < size; i++) {
        unsigned char c = (unsigned char)body[i];
        buf[o++] = c < 0x20 || c == 0x7f || c >= 0x80 ? ' ' : (char)c;
    }
    while (o > (size_t)w + 2 && buf[o - 1] == ' ')
        o--;
    buf[o] = '\0';
    if (o == (size_t)w + 2)
        buf[w] = '\0';
}

enum alerts_verdict alerts_judge(struct store_delivery *d, int n_parts,
                                 const struct alerts_answer *a, int64_t max_age_ms,
                                 int64_t now_ms, double jitter01)
{
    int64_t now_s = floor_s(now_ms);
    max_age_ms = alerts_delivery_max_age_ms(d, max_age_ms);
    long status = a->transport_ok ? a->status : 0;
    d->attempts++;
    d->last_status = (int)status;
    if (status >= 200 && status < 300) {
        d->last_error[0] = '\0';
        d->next_attempt_s = 0;
        if (++d->parts_done < n_parts)
            return ALERTS_NEXT_PART;
        snprintf(d->state, sizeof d->state, "delivered");
        d->delivered_at_s = now_s;
        return ALERTS_DELIVERED;
    }
    if (a->transport_ok)
        describe_status(d->last_error, sizeof d->last_error, status, a->body);
    else
        snprintf(d->last_error, sizeof d->last_error, "%s",
                 a->transport_error ? a->transport_error : "network error");
    if (status == 410) {
        snprintf(d->state, sizeof d->state, "dead");
        d->next_attempt_s = 0;
        return ALERTS_GONE;
    }
    if (status == 400 || status == 413 || status == 422) {
        if (++d->refusals >= ALERTS_MAX_REFUSALS) {
            snprintf(d->state, sizeof d->state, "dead");
            d->next_attempt_s = 0;
            return ALERTS_DEAD;
        }
    }
    /* Attempts that delivered a part of a split digest were no failures. */
    int failed = d->attempts - d->parts_done;
    int64_t delay = alerts_retry_delay_ms(failed, jitter01);
    if (a->retry_after_ms > delay)
        delay = a->retry_after_ms;
    int64_t next_ms = now_ms + delay;
    if (max_age_ms > 0 && next_ms >= d->created_at_s * 1000 + max_age_ms) {
        size_t n = strlen(d->last_error);
        snprintf(d->last_error + n, sizeof d->last_error - n, "%s(max_age reached)",
                 n ? " " : "");
        snprintf(d->state, sizeof d->state, "dead");
        d->next_attempt_s = 0;
        return ALERTS_DEAD;
    }
    /* Whole seconds in the store, rounded up: never earlier than decided. */
    d->next_attempt_s = floor_s(next_ms + 999);
    return ALERTS_RETRY;
}
