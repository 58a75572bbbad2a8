/*
 * tz.c — IANA time zones read from TZif files (RFC 8536), without the TZ
 * variable.
 *
 * Why by hand: glibc converts local time only through the process-wide TZ
 * (setenv + tzset + mktime), which is unsafe while the store's writer thread
 * reads a CSV file and the loop parses an API request, and which a reload
 * would have to mutate (see tz.h). A zone here is one immutable allocation:
 * its transitions (the 64-bit section of a v2+ file, or the 32-bit one of a
 * v1 file) and the footer's POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3") for
 * instants after the last transition. Once opened it is only read, so any
 * number of threads may share it. Leap-second records ("right/" zones) are
 * skipped: okrd counts POSIX seconds.
 */
#include "tz.h"
#include "parse.h"
#include "okrd_math.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_FILE_MAX (1 << 20) /* real zones are a few KiB */
#define TZ_OFF_MAX 100000     /* |UT offset| bound, ~27.8h (RFC 8536: -25h..+26h) */
#define TZ_T_CLAMP 1000000000000LL /* ~31,700 years: keeps rule math in int64 */

/* One rule date: Jn (1..365, no Feb 29), n (0..365) or Mm.w.d; time of day
 * in seconds, possibly negative or past 24h (RFC 8536 allows -167h..167h). */
struct tz_date {
    char kind; /* 'J', 'n' or 'M' */
    int n, m, w, d;
    int32_t time;
};

struct tz_rule {
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    struct tz_date start, end;
};

struct okrd_tz {
    const char *name;
    size_t n_trans;
    const int64_t *trans;      /* ascending UTC instants */
    const uint8_t *trans_type; /* index into type_off per transition */
    const int32_t *type_off;   /* type 0 also applies before the first transition */
    bool has_rule;
    struct tz_rule rule;
};

/* A change of offset: from t on, off applies. */
struct tz_event {
    int64_t t;
    int32_t off;
};

/* ---- the POSIX TZ rule ---- */

static bool rule_name(const char **p)
{
    const char *s = *p;
    if (*s == '<') {
        const char *e = strchr(s + 1, '>');
        if (!e || e == s + 1)
            return false;
        for (const char *c = s + 1; c < e; c++)
            if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                  *c == '+' || *c == '-'))
                return false;
        *p = e + 1;
        return true;
    }
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
        s++;
    if (s - *p < 3)
        return false;
    *p = s;
    return true;
}

static bool rule_num(const char **p, int max, int *out)
{
    const char *s = *p;
    int v = 0;
    if (*s < '0' || *s > '9')
        return false;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s++ - '0');
        if (v > max)
            return false;
    }
    *out = v;
    *p = s;
    return true;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h, in seconds. */
static bool rule_hms(const char **p, int max_h, int32_t *out)
{
    int sign = 1, h, m = 0, sec = 0;
    if (**p == '+' || **p == '-')
        sign = *(*p)++ == '-' ? -1 : 1;
    if (!rule_num(p, max_h, &h))
        return false;
    if (**p == ':') {
        (*p)++;
        if (!rule_num(p, 59, &m))
            return false;
        if (**p == ':') {
            (*p)++;
            if (!rule_num(p, 59, &sec))
                return false;
        }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
}

static bool rule_date(const char **p, struct tz_date *dt)
{
    dt->time = 7200; /* 02:00 by default */
    if (**p == 'J') {
        (*p)++;
        dt->kind = 'J';
        if (!rule_num(p, 365, &dt->n) || dt->n < 1)
            return false;
    } else if (**p == 'M') {
        (*p)++;
        dt->kind = 'M';
        if (!rule_num(p, 12, &dt->m) || dt->m < 1 || *(*p)++ != '.' || !rule_num(p, 5, &dt->w) ||
            dt->w < 1 || *(*p)++ != '.' || !rule_num(p, 6, &dt->d))
            return false;
    } else {
        dt->kind = 'n';
        if (!rule_num(p, 365, &dt->n))
            return false;
    }
    if (**p == '/') {
        (*p)++;
        if (!rule_hms(p, 167, &dt->time))
            return false;
    }
    return true;
}

/* Parses a TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3". POSIX offsets
 * count west, so "-1" is one hour east. */
static bool rule_parse(const char *s, struct tz_rule *r)
{
    const char *p = s;
    int32_t west;
    memset(r, 0, sizeof *r);
    if (!rule_name(&p) || !rule_hms(&p, 24, &west))
        return false;
    r->std_off = -west;
    if (*p == '\0')
        return true;
    if (!rule_name(&p))
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p != ',' && *p != '\0') {
        if (!rule_hms(&p, 24, &west))
            return false;
        r->dst_off = -west;
    }
    if (*p == '\0') {
        /* No dates: POSIX leaves it to the implementation; glibc uses the US rule. */
        p = ",M3.2.0,M11.1.0";
    }
    if (*p++ != ',' || !rule_date(&p, &r->start) || *p++ != ',' || !rule_date(&p, &r->end))
        return false;
    return *p == '\0';
}

/* UTC instant of a rule date in year y, its time read at offset off. */
static int64_t rule_when(const struct tz_date *dt, int64_t y, int32_t off)
{
    int64_t days;
    if (dt->kind == 'J') {
        bool leap = okrd_days_in_month(y, 2) == 29;
        days = okrd_days_from_civil(y, 1, 1) + dt->n - 1 + (leap && dt->n >= 60);
    } else if (dt->kind == 'n') {
        days = okrd_days_from_civil(y, 1, 1) + dt->n;
    } else {
        int wd = okrd_weekday_from_days(okrd_days_from_civil(y, dt->m, 1));
        int day = 1 + (dt->d - wd + 7) % 7 + (dt->w - 1) * 7;
        while (day > okrd_days_in_month(y, dt->m))
            day -= 7;
        days = okrd_days_from_civil(y, dt->m, day);
    }
    return days * 86400 + dt->time - off;
}

/* The rule's changes in years y0..y1 (at most 2 per year), ascending. */
static size_t rule_events(const struct tz_rule *r, int64_t y0, int64_t y1, struct tz_event *ev, size_t max)
{
    size_t k = 0;
    for (int64_t y = y0; y <= y1 && k + 2 <= max; y++) {
        /* DST starts at a standard-time wall clock and ends at a DST one. */
        ev[k++] = (struct tz_event){ rule_when(&r->start, y, r->std_off), r->dst_off };
        ev[k++] = (struct tz_event){ rule_when(&r->end, y, r->dst_off), r->std_off };
    }
    for (size_t i = 1; i < k; i++) /* insertion sort: a handful of events */
        for (size_t j = i; j > 0 && ev[j - 1].t > ev[j].t; j--) {
            struct tz_event tmp = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = tmp;
        }
    return k;
}

static int64_t year_of(int64_t t)
{
    int64_t y;
    okrd_civil_from_days(okrd_floor_div(t, 86400), &y, NULL, NULL);
    return y;
}

static int32_t rule_offset(const struct tz_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    t = t < -TZ_T_CLAMP ? -TZ_T_CLAMP : t > TZ_T_CLAMP ? TZ_T_CLAMP : t;
    /* Two years back: a rule time of up to 167h can push a change of year
     * y-1 into year y. */
    struct tz_event ev[8];
    int64_t y = year_of(t + r->std_off);
    size_t k = rule_events(r, y - 2, y + 1, ev, 8);
    int32_t off = r->std_off;
    for (size_t i = 0; i < k && ev[i].t <= t; i++)
        off = ev[i].off;
    return off;
}

/* ---- lookups ---- */

int32_t okrd_tz_offset_at(const struct okrd_tz *tz, int64_t utc_s)
{
    if (!tz)
        return 0;
    size_t n = tz->n_trans;
    if (n == 0)
        return tz->has_rule ? rule_offset(&tz->rule, utc_s) : tz->type_off[0];
    if (utc_s < tz->trans[0])
        return tz->type_off[0];
    if (utc_s > tz->trans[n - 1] && tz->has_rule)
        return rule_offset(&tz->rule, utc_s);
    size_t lo = 0, hi = n; /* last transition <= utc_s */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= utc_s)
            lo = mid;
        else
            hi = mid;
    }
    return tz->type_off[tz->trans_type[lo]];
}

/* Instants in (lo, hi] where the offset may change, ascending, each with the
 * offset from then on (as okrd_tz_offset_at reports it). */
static size_t tz_events(const struct okrd_tz *tz, int64_t lo, int64_t hi, struct tz_event *ev, size_t max)
{
    size_t k = 0, n = tz->n_trans, a = 0, b = n;
    while (a < b) { /* first transition > lo */
        size_t mid = a + (b - a) / 2;
        if (tz->trans[mid] <= lo)
            a = mid + 1;
        else
            b = mid;
    }
    for (; a < n && tz->trans[a] <= hi && k < max; a++)
        ev[k++] = (struct tz_event){ tz->trans[a], okrd_tz_offset_at(tz, tz->trans[a]) };
    if (tz->has_rule && tz->rule.has_dst && (n == 0 || hi > tz->trans[n - 1])) {
        int64_t from = n == 0 || lo > tz->trans[n - 1] ? lo : tz->trans[n - 1];
        struct tz_event re[16];
        size_t rk = rule_events(&tz->rule, year_of(from) - 1, year_of(hi) + 1, re, 16);
        for (size_t i = 0; i < rk && k < max; i++)
            if (re[i].t > from && re[i].t <= hi)
                ev[k++] = (struct tz_event){ re[i].t, okrd_tz_offset_at(tz, re[i].t) };
    }
    return k;
}

int64_t okrd_tz_local_to_utc(const struct okrd_tz *tz, int64_t local_s)
{
    if (!tz)
        return local_s;
    if (local_s < -TZ_T_CLAMP || local_s > TZ_T_CLAMP) {
        /* Far outside any calendar okrd prints; saturate rather than overflow. */
        int64_t u;
        if (__builtin_sub_overflow(local_s, (int64_t)okrd_tz_offset_at(tz, local_s), &u))
            u = local_s < 0 ? INT64_MIN : INT64_MAX;
        return u;
    }
    /* Every UTC instant whose wall clock reads local_s lies within
     * TZ_OFF_MAX of it; walk the segments of constant offset there. */
    int64_t lo = local_s - TZ_OFF_MAX - 1, hi = local_s + TZ_OFF_MAX;
    struct tz_event ev[64];
    size_t k = tz_events(tz, lo, hi, ev, 64);
    int32_t off = okrd_tz_offset_at(tz, lo);
    int64_t begin = lo;
    for (size_t i = 0; i <= k; i++) {
        int64_t end = i < k ? ev[i].t : hi + 1;
        int64_t u = local_s - off;
        if (u >= begin && u < end)
            return u; /* the earliest segment wins: fall-back overlaps */
        if (i < k && u >= end && local_s - ev[i].off < end)
            return u; /* in the gap of a spring-forward: moved on by the gap */
        if (i < k) {
            off = ev[i].off;
            begin = end;
        }
    }
    return local_s - okrd_tz_offset_at(tz, local_s - okrd_tz_offset_at(tz, local_s));
}

int64_t okrd_tz_day_start(const struct okrd_tz *tz, int64_t utc_s)
{
    if (utc_s < -TZ_T_CLAMP || utc_s > TZ_T_CLAMP)
        return utc_s; /* no calendar there; avoid int64 overflow */
    int64_t local = utc_s + okrd_tz_offset_at(tz, utc_s);
    int64_t start = okrd_tz_local_to_utc(tz, okrd_floor_div(local, 86400) * 86400);
    return start <= utc_s ? start : utc_s;
}

const char *okrd_tz_name(const struct okrd_tz *tz)
{
    return tz ? tz->name : "UTC";
}

void okrd_tz_close(struct okrd_tz *tz)
{
    free(tz); /* one allocation holds everything */
}

/* ---- reading TZif ---- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
    uint64_t isut, isstd, leap, time, type, chars;
};

static bool tzif_header(const unsigned char *p, size_t len, struct tzif_counts *c)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    c->isut = be32(p + 20), c->isstd = be32(p + 24), c->leap = be32(p + 28);
    c->time = be32(p + 32), c->type = be32(p + 36), c->chars = be32(p + 40);
    return c->type >= 1 && c->type <= 256 && (c->isut == 0 || c->isut == c->type) &&
           (c->isstd == 0 || c->isstd == c->type) && c->time <= len && c->leap <= len && c->chars <= len;
}

static uint64_t tzif_body_size(const struct tzif_counts *c, int tsize)
{
    return c->time * (uint64_t)(tsize + 1) + c->type * 6 + c->chars + c->leap * (uint64_t)(tsize + 4) +
           c->isstd + c->isut;
}

/* Builds the zone from the file's bytes; NULL with a reason in *why. */
static struct okrd_tz *tzif_parse(const unsigned char *p, size_t len, const char *name, const char **why)
{
    struct tzif_counts c;
    *why = "not a TZif file";
    if (!tzif_header(p, len, &c))
        return NULL;
    int tsize = 4;
    const unsigned char *body = p + 44;
    size_t left = len - 44;
    if (p[4] >= '2') {
        /* Skip the 32-bit section; use the 64-bit one and the footer. */
        uint64_t skip = tzif_body_size(&c, 4);
        if (skip > left || !tzif_header(body + skip, left - skip, &c))
            return NULL;
        body += skip + 44;
        left -= skip + 44;
        tsize = 8;
    }
    uint64_t bsize = tzif_body_size(&c, tsize);
    *why = "truncated TZif file";
    if (bsize > left)
        return NULL;

    struct tz_rule rule = { 0 };
    bool has_rule = false;
    if (tsize == 8) {
        const unsigned char *f = body + bsize, *end = p + len;
        if (f >= end || *f != '\n')
            return NULL;
        const unsigned char *nl = memchr(f + 1, '\n', (size_t)(end - f - 1));
        if (!nl)
            return NULL;
        char tzs[256];
        size_t tl = (size_t)(nl - f - 1);
        *why = "bad TZ rule in the TZif footer";
        if (tl >= sizeof tzs)
            return NULL;
        memcpy(tzs, f + 1, tl);
        tzs[tl] = '\0';
        if (tl > 0) {
            if (memchr(tzs, '\0', tl) || !rule_parse(tzs, &rule))
                return NULL;
            has_rule = true;
        }
    }

    size_t nt = (size_t)c.time, nty = (size_t)c.type, namelen = strlen(name);
    size_t size = sizeof(struct okrd_tz) + nt * 8 + nty * 4 + nt + namelen + 1;
    struct okrd_tz *tz = malloc(size);
    *why = "out of memory";
    if (!tz)
        return NULL;
    int64_t *trans = (int64_t *)(tz + 1); /* sizeof(struct okrd_tz) is 8-aligned */
    int32_t *type_off = (int32_t *)(trans + nt);
    uint8_t *trans_type = (uint8_t *)(type_off + nty);
    char *tzname = (char *)(trans_type + nt);
    *why = "corrupt TZif file";
    for (size_t i = 0; i < nt; i++) {
        trans[i] = tsize == 8 ? be64(body + i * 8) : (int32_t)be32(body + i * 4);
        if (i > 0 && trans[i] <= trans[i - 1])
            goto bad;
    }
    const unsigned char *idx = body + nt * (size_t)tsize, *types = idx + nt;
    for (size_t i = 0; i < nt; i++) {
        trans_type[i] = idx[i];
        if (idx[i] >= nty)
            goto bad;
    }
    for (size_t i = 0; i < nty; i++) {
        int32_t off = (int32_t)be32(types + i * 6);
        if (off < -TZ_OFF_MAX || off > TZ_OFF_MAX)
            goto bad;
        type_off[i] = off;
    }
    if (has_rule && (rule.std_off < -TZ_OFF_MAX || rule.std_off > TZ_OFF_MAX ||
                     rule.dst_off < -TZ_OFF_MAX || rule.dst_off > TZ_OFF_MAX))
        goto bad;
    memcpy(tzname, name, namelen + 1);
    *tz = (struct okrd_tz){ .name = tzname, .n_trans = nt, .trans = trans, .trans_type = trans_type,
                            .type_off = type_off, .has_rule = has_rule, .rule = rule };
    return tz;
bad:
    free(tz);
    return NULL;
}

static struct okrd_tz *tz_utc(const char *name)
{
    size_t namelen = strlen(name);
    struct okrd_tz *tz = malloc(sizeof *tz + 8 + namelen + 1);
    if (!tz)
        return NULL;
    int32_t *type_off = (int32_t *)(tz + 1);
    char *tzname = (char *)(type_off + 2);
    type_off[0] = 0;
    memcpy(tzname, name, namelen + 1);
    *tz = (struct okrd_tz){ .name = tzname, .type_off = type_off };
    return tz;
}

int okrd_tz_open(struct okrd_tz **out, const char *name, struct okrd_err *err)
{
    *out = NULL;
    if (!name)
        name = "";
    char q[OKRD_QUOTE_MAX];
    size_t nl = strlen(name);
    okrd_quote(name, nl, q, sizeof q);
    if (nl == 0 || nl > 255)
        return okrd_err_set(err, OKRD_EINVAL, "time zone %s: %s", q, nl ? "name too long" : "empty name");
    if (name[0] == '/' || strstr(name, ".."))
        return okrd_err_set(err, OKRD_EINVAL, "time zone %s: must be a zone name like \"Europe/Berlin\", "
                            "not a path", q);
    for (size_t i = 0; i < nl; i++) {
        char ch = name[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '/' || ch == '_' || ch == '+' || ch == '-' || ch == '.'))
            return okrd_err_set(err, OKRD_EINVAL, "time zone %s: invalid character in the name", q);
    }
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0) {
        *out = tz_utc(name);
        return *out ? 0 : okrd_err_set(err, OKRD_ENOMEM, "time zone %s: out of memory", q);
    }

    /* getenv only reads; okrd never changes TZDIR. */
    const char *dir = getenv("TZDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return okrd_err_set(err, e == ENOENT || e == ENOTDIR ? OKRD_EINVAL : OKRD_EIO,
                            "time zone %s: %s (%s)", q, e == ENOENT || e == ENOTDIR ? "unknown zone" : "cannot open",
                            strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TZ_FILE_MAX) {
        close(fd);
        return okrd_err_set(err, OKRD_EINVAL, "time zone %s: %s is not a TZif file", q, path);
    }
    unsigned char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return okrd_err_set(err, OKRD_ENOMEM, "time zone %s: out of memory", q);
    }
    size_t len = 0;
    while (len < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            free(buf);
            close(fd);
            return okrd_err_set(err, OKRD_EIO, "time zone %s: read %s: %s", q, path,
                                e ? strerror(e) : "file shrank while reading");
        }
        len += (size_t)r;
    }
    close(fd);
    const char *why;
    *out = tzif_parse(buf, len, name, &why);
    free(buf);
    if (!*out)
        return okrd_err_set(err, strcmp(why, "out of memory") == 0 ? OKRD_ENOMEM : OKRD_EINVAL,
                            "time zone %s: %s: %s", q, path, why);
    return 0;
}
