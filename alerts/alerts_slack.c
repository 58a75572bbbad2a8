/*
 * alerts_slack.c — `format: "slack"` bodies: {"text": summary, "blocks":
 * [...]} for Slack-compatible incoming webhooks, rendered from the stored
 * json body of an event.
 *
 * Rendering at send time from the stored body (not storing a second body)
 * keeps one body per event; it is deterministic, so every retry still sends
 * the same bytes. Slack's limits: at most 50 blocks a message (a digest with
 * more is split into several messages, sent in order), 3000 characters of
 * section text, 150 of header text, and mrkdwn needs &, <, > escaped.
 */
#include "alerts.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTION_MAX 3000
#define HEADER_MAX 150

/* Appends s to a growing buffer, escaped for mrkdwn when esc. */
struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
};

static void sb_add(struct sbuf *b, const char *s, bool esc)
{
    for (; s && *s && !b->oom; s++) {
        const char *rep = NULL;
        if (esc && *s == '&')
            rep = "&amp;";
        else if (esc && *s == '<')
            rep = "&lt;";
        else if (esc && *s == '>')
            rep = "&gt;";
        size_t need = rep ? strlen(rep) : 1;
        if (b->n + need + 1 > b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 256;
            while (cap < b->n + need + 1)
                cap *= 2;
            char *p = realloc(b->p, cap);
            if (!p) {
                b->oom = true;
                return;
            }
            b->p = p;
            b->cap = cap;
        }
        memcpy(b->p + b->n, rep ? rep : s, need);
        b->n += need;
        b->p[b->n] = '\0';
    }
}

/* A JSON string of at most MAX characters (code points), "…" when cut. */
static json_t *text_max(const char *s, size_t max)
{
    size_t chars = 0, i = 0, cut = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (chars == max - 1)
                cut = i;
            chars++;
        }
    }
    if (chars <= max)
        return json_string(s);
    char *t = malloc(cut + 4);
    if (!t)
        return NULL;
    memcpy(t, s, cut);
    memcpy(t + cut, "\xe2\x80\xa6", 4);
    json_t *j = json_string(t);
    free(t);
    return j;
}

static json_t *section(const char *mrkdwn)
{
    return json_pack("{s:s, s:{s:s, s:o}}", "type", "section", "text", "type", "mrkdwn", "text",
                     text_max(mrkdwn, SECTION_MAX));
}

/* Escaped like mrkdwn although Slack parses no markup in plain_text: the
 * rule is simple to check (no text from config or people reaches Slack
 * unescaped, DESIGN section 8) and Slack shows the entities as the
 * characters. */
static json_t *header(const char *plain)
{
    struct sbuf b = { 0 };
    sb_add(&b, plain, true);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    json_t *h = json_pack("{s:s, s:{s:s, s:o}}", "type", "header", "text", "type", "plain_text",
                          "text", text_max(b.p ? b.p : "", HEADER_MAX));
    free(b.p);
    return h;
}

static json_t *context(const char *mrkdwn)
{
    return json_pack("{s:s, s:[{s:s, s:o}]}", "type", "context", "elements", "type", "mrkdwn",
                     "text", text_max(mrkdwn, SECTION_MAX));
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "█████░░░░░ 50%" — ten cells, the share clamped to [0, 1]. */
static void bar(char *buf, size_t size, double v)
{
    int full = isnan(v) ? 0 : (int)floor((v < 0 ? 0 : v > 1 ? 1 : v) * 10 + 0.5);
    size_t o = 0;
    for (int i = 0; i < 10 && o + 4 < size; i++) {
        const char *c = i < full ? "\xe2\x96\x88" : "\xe2\x96\x91";
        memcpy(buf + o, c, 3);
        o += 3;
    }
    buf[o] = '\0';
    if (isnan(v))
        snprintf(buf + o, size - o, " n/a");
    else
        snprintf(buf + o, size - o, " %.0f%%", v * 100);
}

static void pct(char *buf, size_t size, double v)
{
    if (isnan(v))
        snprintf(buf, size, "n/a");
    else
        snprintf(buf, size, "%.0f%%", v * 100);
}

static void words(char *buf, size_t size, const char *status)
{
    snprintf(buf, size, "%s", status);
    for (char *p = buf; *p; p++)
        if (*p == '_')
            *p = ' ';
}

/* mrkdwn of "*bold*" + escaped text pieces, into a fresh string. */
static char *mk(const char *const *parts, const bool *esc, size_t n)
{
    struct sbuf b = { 0 };
    for (size_t i = 0; i < n; i++)
        sb_add(&b, parts[i], esc[i]);
    if (b.oom || !b.p) {
        free(b.p);
        return b.oom ? NULL : strdup("");
    }
    return b.p;
}

static void add_block(json_t *blocks, json_t *b)
{
    if (b)
        json_array_append_new(blocks, b);
}

static void override_note(json_t *k, json_t *blocks);
static void kr_context(json_t *doc, json_t *blocks);

/* "1,200", "-12,345.5": alerts_fmt_num with thousands separators. */
static void grouped(char *buf, size_t size, double v)
{
    char raw[48];
    alerts_fmt_num(raw, sizeof raw, v);
    const char *digits = raw + (raw[0] == '-');
    size_t int_len = strcspn(digits, ".");
    if (!isdigit((unsigned char)digits[0]) || size < sizeof raw + 16) {
        snprintf(buf, size, "%s", raw);
        return;
    }
    size_t o = 0;
    if (raw[0] == '-')
        buf[o++] = '-';
    for (size_t i = 0; i < int_len; i++) {
        if (i > 0 && (int_len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    snprintf(buf + o, size - o, "%s", digits + int_len);
}

void alerts_forecast_phrase(char *buf, size_t size, double probability, bool share,
                            bool at_most, double target, double at_risk, const char *end_date)
{
    char p[16], t[64];
    double r = floor(probability * 100.0 + 0.5);
    if (isnan(probability))
        snprintf(p, sizeof p, "n/a");
    else if (r <= 0.0 && probability > 0.0)
        snprintf(p, sizeof p, "<1%%");
    else if (r >= 100.0 && probability < 1.0)
        snprintf(p, sizeof p, ">99%%");
    else
        snprintf(p, sizeof p, "%.0f%%", r);
    grouped(t, sizeof t, target);
    if (share) {
        char need[24] = "enough";
        if (!isnan(at_risk))
            snprintf(need, sizeof need, "%.0f%% of", floor(at_risk * 100.0 + 0.5));
        snprintf(buf, size, "%s likely to keep %s %s on %s days", p,
                 at_most ? "\xe2\x89\xa4" : "\xe2\x89\xa5", t, need);
        return;
    }
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    int y = 0, m = 0, d = 0;
    if (end_date && sscanf(end_date, "%4d-%2d-%2d", &y, &m, &d) == 3 && m >= 1 && m <= 12)
        snprintf(buf, size, "%s likely to reach %s by %d %s", p, t, d, months[m - 1]);
    else
        snprintf(buf, size, "%s likely to reach %s by the end", p, t);
}

/* The key result's forecast as a context line, when it has one. The event
 * body does not carry the share a level needs, hence "on enough days". */
static void forecast_note(json_t *k, json_t *blocks)
{
    json_t *f = json_object_get(k, "forecast");
    if (!json_is_object(f) || !json_is_number(json_object_get(f, "probability")))
        return;
    char line[160], text[192];
    alerts_forecast_phrase(line, sizeof line, num(f, "probability"),
                           !strcmp(str(f, "of"), "share"), !strcmp(str(k, "direction"), "at_most"),
                           num(k, "target"), NAN, str(json_object_get(k, "cycle"), "end"));
    snprintf(text, sizeof text, "Forecast: %s", line);
    add_block(blocks, context(text));
}

static void kr_blocks(json_t *doc, json_t *blocks)
{
    json_t *k = json_object_get(doc, "key_result");
    char st[24], head[512], p[64], x[16], ps[16], v[32], t[32];
    words(st, sizeof st, str(doc, "type") + 3);
    if (!strcmp(str(doc, "type"), "kr.back_on_track"))
        snprintf(st, sizeof st, "back on track");
    st[0] = (char)toupper((unsigned char)st[0]);
    snprintf(head, sizeof head, "%s: %s", st, str(k, "title"));
    add_block(blocks, header(head));
    char *sum = mk((const char *[]){ str(doc, "summary") }, (bool[]){ true }, 1);
    if (sum)
        add_block(blocks, section(sum));
    free(sum);
    bar(p, sizeof p, num(k, "progress"));
    pct(x, sizeof x, num(k, "expected"));
    alerts_fmt_num(ps, sizeof ps, num(k, "projected_score"));
    alerts_fmt_num(v, sizeof v, num(k, "value"));
    alerts_fmt_num(t, sizeof t, num(k, "target"));
    char f1[96], f2[48], f3[48], f4[96];
    snprintf(f1, sizeof f1, "*Progress*\n%s", p);
    snprintf(f2, sizeof f2, "*Expected*\n%s", x);
    snprintf(f3, sizeof f3, "*Projected score*\n%s", ps);
    snprintf(f4, sizeof f4, "*Value / target*\n%s / %s", v, t);
    add_block(blocks, json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
                                "type", "section", "fields", "type", "mrkdwn", "text", f1, "type",
                                "mrkdwn", "text", f2, "type", "mrkdwn", "text", f3, "type",
                                "mrkdwn", "text", f4));
    override_note(k, blocks);
    forecast_note(k, blocks);
    kr_context(doc, blocks);
}

/* While a check-in's override holds, whose judgment the status is and what
 * the data says. */
static void override_note(json_t *k, json_t *blocks)
{
    json_t *ci = json_object_get(k, "check_in");
    const char *until = json_string_value(json_object_get(ci, "override_until"));
    if (!until)
        return;
    char cw[24];
    words(cw, sizeof cw, str(k, "computed_status"));
    char *t = mk((const char *[]){ "Status set by ", str(ci, "author"),
                                   "'s check-in until ", until, "; computed from the data: ",
                                   cw },
                 (bool[]){ false, true, false, true, false, false }, 6);
    if (t)
        add_block(blocks, context(t));
    free(t);
}

/* "Objective: T · owner <@U1> · cycle S to E · AT": the owner as written
 * (a Slack mention pings), everything else escaped. */
static void kr_context(json_t *doc, json_t *blocks)
{
    json_t *k = json_object_get(doc, "key_result"), *obj = json_object_get(doc, "objective");
    json_t *cycle = json_object_get(k, "cycle");
    const char *owner = json_string_value(json_object_get(k, "owner"));
    char *ctx = mk((const char *[]){ "Objective: ", str(obj, "title"),
                                     owner ? " \xc2\xb7 owner " : "", owner ? owner : "",
                                     " \xc2\xb7 cycle ", str(cycle, "start"), " to ",
                                     str(cycle, "end"), " \xc2\xb7 ", str(doc, "occurred_at") },
                   (bool[]){ false, true, false, false, false, true, false, true, false, true },
                   10);
    if (ctx)
        add_block(blocks, context(ctx));
    free(ctx);
}

/* kr.check_in: who, how confident, which status, and what they said. */
static void checkin_blocks(json_t *doc, json_t *blocks)
{
    json_t *k = json_object_get(doc, "key_result"), *ci = json_object_get(doc, "check_in");
    char head[512];
    snprintf(head, sizeof head, "Check-in: %s", str(k, "title"));
    add_block(blocks, header(head));
    char *sum = mk((const char *[]){ str(doc, "summary") }, (bool[]){ true }, 1);
    if (sum)
        add_block(blocks, section(sum));
    free(sum);
    char conf[32] = "n/a", st[64], cw[24], stline[192];
    json_t *c = json_object_get(ci, "confidence");
    if (json_is_integer(c))
        snprintf(conf, sizeof conf, "%lld/10", (long long)json_integer_value(c));
    const char *own = json_string_value(json_object_get(ci, "status"));
    words(st, sizeof st, own ? own : str(k, "status"));
    words(cw, sizeof cw, str(k, "computed_status"));
    const char *until = json_string_value(json_object_get(ci, "override_until"));
    if (own && until)
        snprintf(stline, sizeof stline, "%s until %s (computed: %s)", st, until, cw);
    else if (own)
        snprintf(stline, sizeof stline, "%s (not applied; now %s)", st, cw);
    else
        snprintf(stline, sizeof stline, "%s", st);
    char *f1 = mk((const char *[]){ "*Author*\n", str(ci, "author") }, (bool[]){ false, true }, 2);
    char f2[64], *f3 = mk((const char *[]){ "*Status*\n", stline }, (bool[]){ false, true }, 2);
    snprintf(f2, sizeof f2, "*Confidence*\n%s", conf);
    if (f1 && f3)
        add_block(blocks, json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}", "type",
                                    "section", "fields", "type", "mrkdwn", "text", f1, "type",
                                    "mrkdwn", "text", f2, "type", "mrkdwn", "text", f3));
    free(f1);
    free(f3);
    const char *comment = json_string_value(json_object_get(ci, "comment"));
    if (comment && *comment) {
        char *t = mk((const char *[]){ "*Comment*\n", comment }, (bool[]){ false, true }, 2);
        if (t)
            add_block(blocks, section(t));
        free(t);
    }
    kr_context(doc, blocks);
}

static void source_blocks(json_t *doc, json_t *blocks)
{
    json_t *src = json_object_get(doc, "source");
    char head[256];
    snprintf(head, sizeof head, "Source %s: %s",
             !strcmp(str(doc, "type"), "source.failing") ? "failing" : "recovered",
             str(src, "id"));
    add_block(blocks, header(head));
    char *sum = mk((const char *[]){ str(doc, "summary") }, (bool[]){ true }, 1);
    if (sum)
        add_block(blocks, section(sum));
    free(sum);
}

static void digest_blocks(json_t *doc, json_t *blocks)
{
    add_block(blocks, header("Weekly OKR digest"));
    char *sum = mk((const char *[]){ str(doc, "summary") }, (bool[]){ true }, 1);
    if (sum)
        add_block(blocks, section(sum));
    free(sum);
    size_t i, j;
    json_t *o, *k;
    json_array_foreach(json_object_get(doc, "objectives"), i, o) {
        char sc[16], ps[16], st[24];
        alerts_fmt_num(sc, sizeof sc, num(o, "score"));
        alerts_fmt_num(ps, sizeof ps, num(o, "projected_score"));
        words(st, sizeof st, str(o, "status"));
        char *t = mk((const char *[]){ "*", str(o, "title"), "* \xe2\x80\x94 score ", sc,
                                       " \xc2\xb7 projected ", ps, " \xc2\xb7 ", st },
                     (bool[]){ false, true, false, false, false, false, false, false }, 8);
        if (t)
            add_block(blocks, section(t));
        free(t);
        json_array_foreach(json_object_get(o, "key_results"), j, k) {
            char b[64], x[16], kps[24], kst[24], was[48] = "", grade[32] = "";
            bar(b, sizeof b, num(k, "progress"));
            pct(x, sizeof x, num(k, "expected"));
            alerts_fmt_num(kps, sizeof kps, num(k, "projected_score"));
            words(kst, sizeof kst, str(k, "status"));
            const char *ago = str(k, "week_ago_status");
            if (*ago && strcmp(ago, str(k, "status"))) {
                char aw[24];
                words(aw, sizeof aw, ago);
                snprintf(was, sizeof was, " (was %s)", aw);
            }
            if (json_is_number(json_object_get(k, "grade")))
                snprintf(grade, sizeof grade, " \xc2\xb7 final grade %.2f", num(k, "grade"));
            /* Check-ins: the owner as written (a mention pings), the latest
             * confidence, and its comment quoted, escaped like any text. */
            char conf[40] = "";
            if (json_is_integer(json_object_get(k, "confidence")))
                snprintf(conf, sizeof conf, " \xc2\xb7 confidence %lld/10",
                         (long long)json_integer_value(json_object_get(k, "confidence")));
            const char *owner = str(k, "owner"), *comment = str(k, "comment");
            const char *fc = str(k, "forecast_text");
            char *line = mk((const char *[]){ "`", b, "` ", str(k, "title"), " \xc2\xb7 expected ",
                                              x, " \xc2\xb7 projected ", kps, " \xc2\xb7 *", kst,
                                              "*", was, grade, *fc ? " \xc2\xb7 " : "", fc,
                                              *owner ? " \xc2\xb7 " : "", owner,
                                              conf, *comment ? "\n> " : "", comment },
                            (bool[]){ false, false, false, true, false, false, false, false,
                                      false, false, false, false, false, false, true, false,
                                      false, false, false, true },
                            20);
            if (line)
                add_block(blocks, section(line));
            free(line);
        }
    }
    json_t *n;
    json_array_foreach(json_object_get(doc, "notes"), i, n) {
        char *t = mk((const char *[]){ json_string_value(n) }, (bool[]){ true }, 1);
        if (t)
            add_block(blocks, context(t));
        free(t);
    }
}

/* checkin.due: each owner as written (so a mention pings), then one line per
 * key result with its title escaped. */
static void remind_blocks(json_t *doc, json_t *blocks)
{
    add_block(blocks, header("Check-ins due"));
    char *sum = mk((const char *[]){ str(doc, "summary") }, (bool[]){ true }, 1);
    if (sum)
        add_block(blocks, section(sum));
    free(sum);
    size_t i, j;
    json_t *g, *k;
    json_array_foreach(json_object_get(doc, "owners"), i, g) {
        const char *owner = json_string_value(json_object_get(g, "owner"));
        char *t = mk((const char *[]){ owner ? "*" : "_No owner_", owner ? owner : "",
                                       owner ? "*" : "" },
                     (bool[]){ false, false, false }, 3);
        if (t)
            add_block(blocks, section(t));
        free(t);
        json_array_foreach(json_object_get(g, "key_results"), j, k) {
            char b[64], x[16], st[24], ago[48];
            bar(b, sizeof b, num(k, "progress"));
            pct(x, sizeof x, num(k, "expected"));
            words(st, sizeof st, str(k, "status"));
            json_t *days = json_object_get(k, "days_since_check_in");
            if (json_is_integer(days))
                snprintf(ago, sizeof ago, "last check-in %lld day%s ago",
                         (long long)json_integer_value(days),
                         json_integer_value(days) == 1 ? "" : "s");
            else
                snprintf(ago, sizeof ago, "never checked in");
            char *line = mk((const char *[]){ "\xe2\x80\xa2 ", str(k, "title"), " \xc2\xb7 *", st,
                                              "* \xc2\xb7 `", b, "` expected ", x, " \xc2\xb7 ",
                                              ago },
                            (bool[]){ false, true, false, false, false, false, false, false,
                                      false, false },
                            10);
            if (line)
                add_block(blocks, section(line));
            free(line);
        }
    }
}

int alerts_slack_render(const char *body, int part, char **out, int *n_parts)
{
    *out = NULL;
    *n_parts = 1;
    json_t *doc = json_loads(body, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return OKRD_EINVAL;
    }
    const char *type = str(doc, "type");
    json_t *blocks = json_array();
    if (!strcmp(type, "kr.check_in"))
        checkin_blocks(doc, blocks);
    else if (!strncmp(type, "kr.", 3))
        kr_blocks(doc, blocks);
    else if (!strncmp(type, "source.", 7))
        source_blocks(doc, blocks);
    else if (!strcmp(type, "digest.weekly"))
        digest_blocks(doc, blocks);
    else if (!strcmp(type, ALERTS_CHECKIN_DUE))
        remind_blocks(doc, blocks);
    size_t n = json_array_size(blocks);
    int parts = n == 0 ? 1 : (int)((n + ALERTS_SLACK_MAX_BLOCKS - 1) / ALERTS_SLACK_MAX_BLOCKS);
    *n_parts = parts;
    if (part < 0 || part >= parts)
        part = parts - 1;
    json_t *mine = json_array();
    for (size_t i = (size_t)part * ALERTS_SLACK_MAX_BLOCKS;
         i < n && i < (size_t)(part + 1) * ALERTS_SLACK_MAX_BLOCKS; i++)
        json_array_append(mine, json_array_get(blocks, i));
    /* The summary is text from config and people (titles, authors): the
     * notification text is mrkdwn too, so it is escaped like the blocks. */
    struct sbuf tb = { 0 };
    sb_add(&tb, str(doc, "summary"), true);
    char text[8192]; /* a summary is < 1 KiB; escaped, at most 5 times that */
    const char *summary = tb.p ? tb.p : "";
    if (parts > 1 && part > 0)
        snprintf(text, sizeof text, "%.900s (continued, %d of %d)", summary, part + 1, parts);
    else
        snprintf(text, sizeof text, "%s", summary);
    free(tb.p);
    json_t *msg = NULL;
    if (tb.oom)
        json_decref(mine);
    else
        msg = json_pack("{s:o, s:o}", "text", text_max(text, 4000), "blocks", mine);
    json_decref(blocks);
    json_decref(doc);
    if (!msg)
        return OKRD_ENOMEM;
    *out = okr_view_dump(msg, false);
    json_decref(msg);
    return *out ? 0 : OKRD_ENOMEM;
}
