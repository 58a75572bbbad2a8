/*
 * okr_xsum.c — exact sums of doubles, rounded once (struct okr_xsum).
 *
 * Why: v(t) for `sum` and `avg` is read along several paths — one
 * evaluation (pace_value_at), the day walks of okr_status.c, and the series
 * walk behind the API and the dashboard, which slides a rolling window
 * forward by adding the newest point and taking out the oldest. A floating
 * running sum would drift from a fresh left-to-right sum of the same window,
 * so a chart and a status could disagree in the last bits (and at a
 * threshold). Summed exactly and rounded once, a window's value depends on
 * its points only, never on the order or the path: every path gets the same
 * bits, and sliding a window costs O(1) per point instead of O(window).
 *
 * How: a fixed-point number wide enough for any sum of finite doubles:
 * value = sum over k of limb[k] * 2^(32k - 1074). A limb is an int64 that
 * holds a 32-bit digit plus pending carries; a double's 53-bit significand
 * lands in 3 adjacent limbs. Carries are settled before rounding and at the
 * latest every 2^30 operations, so no limb can overflow. Infinities and NaN
 * are counted apart and give what IEEE addition would (inf, -inf, NaN).
 * Only the limbs in [lo, hi] hold meaning; the others are garbage and are
 * zeroed when the range grows over them, so a reset costs nothing (a day
 * walk resets one per day) and a sum touches a handful of limbs.
 */
#include <math.h>
#include <string.h>

#include "okr_internal.h"

#define DIGIT (INT64_C(1) << 32)
#define SETTLE_EVERY (1u << 30)

void okr_xsum_init(struct okr_xsum *x)
{
    x->lo = OKR_XSUM_LIMBS;
    x->hi = -1;
    x->ops = 0;
    x->n_pinf = x->n_ninf = x->n_nan = 0;
}

/* floor(v / 2^32) and v mod 2^32 without relying on signed shifts. */
static int64_t split_digit(int64_t v, int64_t *digit)
{
    int64_t d = (int64_t)((uint64_t)v & 0xffffffffu);
    *digit = d;
    return (v - d) / DIGIT;
}

/* Settles carries over the touched limbs: afterwards limb[lo..hi-1] are
 * digits in [0, 2^32) and limb[hi] carries the sign (any int64 in
 * (-2^32, 2^32), or larger only at the last limb). The value is unchanged. */
static void settle(int64_t *limb, int *lo_io, int *hi_io)
{
    int lo = *lo_io, hi = *hi_io;
    if (hi < lo)
        return;
    int64_t carry = 0;
    for (int k = lo; k < hi; k++) {
        carry = split_digit(limb[k] + carry, &limb[k]);
    }
    limb[hi] += carry;
    while (hi < OKR_XSUM_LIMBS - 1 && (limb[hi] >= DIGIT || limb[hi] <= -DIGIT)) {
        carry = split_digit(limb[hi], &limb[hi]);
        limb[++hi] = carry; /* was outside the range: garbage, not a digit */
    }
    while (hi >= lo && limb[hi] == 0)
        hi--;
    while (lo <= hi && limb[lo] == 0)
        lo++;
    if (hi < lo) {
        lo = OKR_XSUM_LIMBS;
        hi = -1;
    }
    *lo_io = lo;
    *hi_io = hi;
}

static void put(struct okr_xsum *x, double v, int sign)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int biased = (int)((bits >> 52) & 0x7ff);
    uint64_t m = bits & ((UINT64_C(1) << 52) - 1);
    if (biased == 0x7ff) { /* inf or NaN: counted apart */
        if (m)
            x->n_nan += (uint32_t)sign;
        else if (bits >> 63)
            x->n_ninf += (uint32_t)sign;
        else
            x->n_pinf += (uint32_t)sign;
        return;
    }
    if (biased)
        m |= UINT64_C(1) << 52;
    else if (!m)
        return; /* +-0 */
    else
        biased = 1; /* subnormal: same scale as the smallest normal */
    int64_t s = bits >> 63 ? -sign : sign;
    /* v = m * 2^(biased - 1075): its lowest bit sits at bit (biased - 1) of
     * the fixed-point number. */
    int b = biased - 1, k = b >> 5, sh = b & 31;
    uint64_t lo = m << sh;                              /* low 64 bits */
    uint64_t rest = sh ? m >> (32 - sh) : m >> 32;      /* (m << sh) >> 32, no overflow */
    if (k < x->lo || k + 2 > x->hi) { /* grow the range over garbage limbs */
        if (x->hi < x->lo) {
            x->lo = k;
            x->hi = k - 1;
        }
        for (; x->lo > k; x->lo--)
            x->limb[x->lo - 1] = 0;
        for (; x->hi < k + 2; x->hi++)
            x->limb[x->hi + 1] = 0;
    }
    x->limb[k] += s * (int64_t)(lo & 0xffffffffu);
    x->limb[k + 1] += s * (int64_t)(rest & 0xffffffffu);
    x->limb[k + 2] += s * (int64_t)(rest >> 32);
    if (++x->ops >= SETTLE_EVERY) {
        settle(x->limb, &x->lo, &x->hi);
        x->ops = 0;
    }
}

void okr_xsum_add(struct okr_xsum *x, double v) { put(x, v, 1); }

void okr_xsum_sub(struct okr_xsum *x, double v) { put(x, v, -1); }

double okr_xsum_value(struct okr_xsum *x)
{
    if (x->n_nan || (x->n_pinf && x->n_ninf))
        return NAN;
    if (x->n_pinf)
        return INFINITY;
    if (x->n_ninf)
        return -INFINITY;
    settle(x->limb, &x->lo, &x->hi);
    x->ops = 0;
    int lo = x->lo, hi = x->hi;
    if (hi < lo)
        return 0.0;
    const int64_t *d = x->limb;
    int64_t neg[OKR_XSUM_LIMBS];
    bool negative = x->limb[hi] < 0;
    if (negative) {
        /* The magnitude: negate the touched limbs and settle again; the top
         * limb turns non-negative. */
        for (int k = lo; k <= hi; k++)
            neg[k] = -x->limb[k];
        settle(neg, &lo, &hi);
        d = neg;
    }
    /* Now d[lo..hi] are digits of |value|, d[hi] != 0. Take the top 64
     * bits, fold every lower bit into a sticky bit (bit 0 lies far below the
     * 53-bit rounding position), and let the conversion round once. */
#define DG(i) ((i) >= lo && (i) <= hi ? (uint64_t)d[i] : 0u)
    uint64_t u = (DG(hi) << 32) | DG(hi - 1);
    int sh = __builtin_clzll(u);
    uint64_t next = DG(hi - 2);
    uint64_t top = u << sh;
    bool sticky;
    if (sh) {
        top |= next >> (32 - sh);
        sticky = (next & ((UINT64_C(1) << (32 - sh)) - 1)) != 0;
    } else {
        sticky = next != 0;
    }
    for (int k = hi - 3; !sticky && k >= lo; k--)
        sticky = d[k] != 0;
#undef DG
    double mag = ldexp((double)(top | (uint64_t)sticky), 32 * (hi - 1) - sh - 1074);
    return negative ? -mag : mag;
}
