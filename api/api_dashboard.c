/*
 * api_dashboard.c — GET /: one self-contained HTML page (inline CSS, SVG
 * and one small script, allowed by their hashes in the page's CSP; no
 * external asset) with every objective's score and
 * status and, per key result, a burn-up chart: v(t) over the cycle, the pace
 * line from the baseline to the target, the target line, today's marker and
 * the status as a coloured label. Readable on a phone (viewport, one column
 * when narrow) and on paper (@media print).
 *
 * Invariant: every string that comes from the config or the store passes
 * through api_buf_html (titles, ids, owners, units, reasons); numbers are
 * formatted here. A chart stays sensible without data (a frame and a note),
 * with one point (a dot), and with values far beyond the target: the y
 * range holds every drawn value, the target and the pace line
 * (api_chart_y_range), so nothing is cut at the frame.
 */
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "common/parse.h"

#define DASH "\xe2\x80\x93" /* "–", for an undefined number */

/* "12.50" -> "12.5", "3.0" -> "3". */
static void trim_zeros(char *s)
{
    if (!strchr(s, '.'))
        return;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '0')
        s[--n] = '\0';
    if (n > 0 && s[n - 1] == '.')
        s[--n] = '\0';
}

void api_human_number(double v, char *buf, size_t size)
{
    if (!isfinite(v)) {
        snprintf(buf, size, "%s", DASH);
        return;
    }
    static const char units[] = { 'k', 'M', 'B', 'T' };
    double a = fabs(v);
    const char *sign = v < 0 ? "-" : "";
    if (a < 999.5) {
        if (a == floor(a))
            snprintf(buf, size, "%s%.0f", sign, a);
        else if (a >= 0.01)
            snprintf(buf, size, "%s%.*f", sign, a >= 100 ? 0 : a >= 10 ? 1 : 2, a);
        else
            snprintf(buf, size, "%s%.2g", sign, a);
        trim_zeros(buf);
        if (strcmp(buf, "-0") == 0)
            snprintf(buf, size, "0");
        return;
    }
    double scaled = a;
    int u = -1;
    /* Three significant digits (1.08k, 45.6k, 123k); a value that rounds up
     * to 1000 of a unit moves to the next one (999999 -> 1M). */
    while (u < 3 && scaled >= 999.5) {
        scaled /= 1000;
        u++;
    }
    if (scaled >= 999.5) {
        snprintf(buf, size, "%s%.3g", sign, a);
        return;
    }
    char num[32];
    snprintf(num, sizeof num, "%.*f", scaled < 9.995 ? 2 : scaled < 99.95 ? 1 : 0, scaled);
    trim_zeros(num);
    snprintf(buf, size, "%s%s%c", sign, num, units[u]);
}

void api_human_percent(double share, char *buf, size_t size)
{
    if (!isfinite(share)) {
        snprintf(buf, size, "%s", DASH);
        return;
    }
    double pct = share * 100;
    if (fabs(pct) >= 999.5) { /* far beyond the target: 1.2k%, 50B% */
        char num[32];
        api_human_number(pct, num, sizeof num);
        snprintf(buf, size, "%s%%", num);
        return;
    }
    if (fabs(pct) >= 9.95 || pct == floor(pct))
        snprintf(buf, size, "%.0f%%", pct);
    else {
        char num[32];
        snprintf(num, sizeof num, "%.1f", pct);
        trim_zeros(num);
        snprintf(buf, size, "%s%%", num);
    }
    if (strcmp(buf, "-0%") == 0)
        snprintf(buf, size, "0%%");
}

const char *api_status_label(enum okr_status st)
{
    switch (st) {
    case OKR_INVALID: return "invalid";
    case OKR_NO_DATA: return "no data";
    case OKR_ACHIEVED: return "achieved";
    case OKR_MISSED: return "missed";
    case OKR_PENDING: return "pending";
    case OKR_ON_TRACK: return "on track";
    case OKR_AT_RISK: return "at risk";
    case OKR_OFF_TRACK: return "off track";
    }
    return "unknown";
}

static void status_label(struct api_buf *b, enum okr_status st)
{
    api_buf_printf(b, "<span class=\"status st-%s\">%s</span>", okr_status_name(st),
                   api_status_label(st));
}

/* ---- the chart ---- */

#define W 320.0
#define H 160.0
#define X0 44.0   /* plot area: left of it the y labels */
#define X1 312.0
#define Y0 12.0   /* top */
#define Y1 132.0  /* bottom; below it the cycle's dates */
#define MAX_DRAWN 400

struct scale {
    int64_t s, e;
    double lo, hi;
};

static double px(const struct scale *sc, int64_t t)
{
    double f = (double)(t - sc->s) / (double)(sc->e - sc->s);
    return X0 + (f < 0 ? 0 : f > 1 ? 1 : f) * (X1 - X0);
}

static double py(const struct scale *sc, double v)
{
    double f = (v - sc->lo) / (sc->hi - sc->lo);
    return Y1 - (f < 0 ? 0 : f > 1 ? 1 : f) * (Y1 - Y0);
}

/* The y range holds everything the chart draws at a height: the baseline
 * and the target (labelled), every point stamped in [from_s, to_s) and
 * every pace vertex, plus a 6% margin, so no line is cut at the frame. A far
 * outlier therefore squeezes the rest of the chart; that is the truth of
 * the data, where a cut line (the earlier cap at three baseline-to-target
 * spans) hid a level key result's values just above a close baseline. */
void api_chart_y_range(double baseline, double target, const struct api_kr_series *se,
                       int64_t from_s, int64_t to_s, double *lo_out, double *hi_out)
{
    double lo = INFINITY, hi = -INFINITY;
    double anchors[] = { baseline, target };
    for (int i = 0; i < 2; i++)
        if (isfinite(anchors[i])) {
            lo = fmin(lo, anchors[i]);
            hi = fmax(hi, anchors[i]);
        }
    for (size_t i = 0; se && i < se->n; i++)
        if (se->pts[i].ts >= from_s && se->pts[i].ts < to_s && isfinite(se->pts[i].v)) {
            lo = fmin(lo, se->pts[i].v);
            hi = fmax(hi, se->pts[i].v);
        }
    for (size_t i = 0; se && i < se->n_pace; i++)
        if (isfinite(se->pace[i].v)) {
            lo = fmin(lo, se->pace[i].v);
            hi = fmax(hi, se->pace[i].v);
        }
    if (!isfinite(lo)) {
        lo = 0;
        hi = 1;
    }
    if (hi - lo <= 0) {
        double pad = fabs(hi) > 0 ? fabs(hi) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    double pad = (hi - lo) * 0.06;
    *lo_out = lo - pad;
    *hi_out = hi + pad;
}

static void y_label(struct api_buf *b, const struct scale *sc, double v, const char *cls)
{
    char num[32];
    api_human_number(v, num, sizeof num);
    api_buf_printf(b, "<text class=\"ylabel %s\" x=\"%.1f\" y=\"%.1f\">%s</text>", cls, X0 - 4,
                   py(sc, v) + 3.5, num);
}

void api_chart_svg(struct api_buf *b, const struct cfg_key_result *kr, const struct okr_result *r,
                   const struct api_kr_series *se, int64_t now_s)
{
    const struct cfg_cycle *c = &kr->objective->cycle;
    struct scale sc = { c->start_s, c->end_s > c->start_s ? c->end_s : c->start_s + 1, 0, 1 };
    api_chart_y_range(r->baseline, r->target, se, c->start_s, sc.e, &sc.lo, &sc.hi);
    char v1[32], v2[32];
    api_human_number(r->value, v1, sizeof v1);
    api_human_number(r->target, v2, sizeof v2);
    api_buf_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
                   "xmlns=\"http://www.w3.org/2000/svg\" data-kr=\"", W, H);
    api_buf_html(b, kr->id);
    api_buf_puts(b, "\"><title>");
    api_buf_html(b, kr->title);
    api_buf_printf(b, ": value %s, target %s, %s</title>", v1, v2, api_status_label(r->status));
    api_buf_printf(b, "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
                   X0, Y0, X1 - X0, Y1 - Y0);
    /* the cycle's first and last day under the x axis */
    api_buf_printf(b, "<text class=\"xlabel\" x=\"%.1f\" y=\"%.1f\">%s</text>", X0, H - 12,
                   c->start_date);
    api_buf_printf(b, "<text class=\"xlabel end\" x=\"%.1f\" y=\"%.1f\">%s</text>", X1, H - 12,
                   c->end_date);
    if (isfinite(r->target)) {
        double y = py(&sc, r->target);
        api_buf_printf(b, "<line class=\"target\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                       X0, y, X1, y);
        y_label(b, &sc, r->target, "t");
    }
    if (isfinite(r->baseline) && r->baseline != r->target &&
        fabs(py(&sc, r->baseline) - py(&sc, r->target)) > 9)
        y_label(b, &sc, r->baseline, "b");
    if (se && se->n_pace >= 2) {
        api_buf_puts(b, "<polyline class=\"pace\" points=\"");
        for (size_t i = 0; i < se->n_pace; i++)
            api_buf_printf(b, "%s%.1f,%.1f", i ? " " : "", px(&sc, se->pace[i].ts),
                           py(&sc, se->pace[i].v));
        api_buf_puts(b, "\"/>");
    }
    if (now_s >= c->start_s && now_s <= c->end_s) {
        double x = px(&sc, now_s);
        api_buf_printf(b, "<line class=\"today\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                       "<text class=\"todaylabel\" x=\"%.1f\" y=\"%.1f\">today</text>",
                       x, Y0, x, Y1, x, Y1 + 11);
    }
    /* Points inside the cycle only; thinned to MAX_DRAWN (the last one kept). */
    size_t first = 0, n_in = 0;
    while (se && first < se->n && se->pts[first].ts < c->start_s)
        first++;
    for (size_t i = first; se && i < se->n && se->pts[i].ts < sc.e; i++)
        n_in++;
    size_t step = n_in > MAX_DRAWN ? (n_in + MAX_DRAWN - 1) / MAX_DRAWN : 1;
    if (n_in >= 2) {
        api_buf_puts(b, "<polyline class=\"value\" points=\"");
        for (size_t k = 0; k < n_in; k++) {
            if (k % step && k != n_in - 1)
                continue;
            const struct api_pair *p = &se->pts[first + k];
            api_buf_printf(b, "%s%.1f,%.1f", k ? " " : "", px(&sc, p->ts), py(&sc, p->v));
        }
        api_buf_puts(b, "\"/>");
    }
    if (n_in > 0) {
        /* every point as a dot when few, else the newest one */
        for (size_t k = n_in <= 40 ? 0 : n_in - 1; k < n_in; k++) {
            const struct api_pair *p = &se->pts[first + k];
            api_buf_printf(b, "<circle class=\"dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"%s\"/>",
                           px(&sc, p->ts), py(&sc, p->v), n_in <= 40 ? "2.5" : "3");
        }
    } else {
        api_buf_printf(b, "<text class=\"empty\" x=\"%.1f\" y=\"%.1f\">no data in this cycle yet</text>",
                       (X0 + X1) / 2, Y1 - 8);
    }
    api_buf_puts(b, "</svg>");
}

/* ---- the page ---- */

/* Served inline and allowed by hash (api_dashboard_csp): any change here
 * changes the Content-Security-Policy with it, computed from these bytes. */
const char api_dashboard_css[] =
    ":root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
    "color:var(--fg);background:var(--bg)}"
    "header,main,footer{max-width:72rem;margin:0 auto;padding:0 1rem}"
    "header{padding-top:1rem}h1{font-size:1.4rem;margin:.2rem 0}"
    ".muted,.meta{color:var(--muted);font-size:.85rem}"
    ".summary>span{margin-right:.6rem;white-space:nowrap}"
    "section.objective{background:#fff;border:1px solid var(--line);border-radius:8px;"
    "padding:.8rem 1rem;margin:1rem 0}"
    ".depth-1{margin-left:1.5rem!important}.depth-2{margin-left:3rem!important}"
    ".depth-3{margin-left:4.5rem!important}"
    "h2{font-size:1.15rem;margin:0 0 .2rem}h3{font-size:1rem;margin:0 0 .3rem}"
    ".krs{display:grid;grid-template-columns:repeat(auto-fill,minmax(19rem,1fr));gap:.8rem;"
    "margin-top:.6rem}"
    "article.kr{border:1px solid var(--line);border-radius:6px;padding:.6rem .7rem;"
    "border-left:4px solid var(--c)}"
    ".nums{font-size:.85rem;margin:.2rem 0}.reason{font-size:.85rem;color:#8250df}"
    ".status{display:inline-block;padding:0 .45rem;border-radius:1rem;font-size:.8rem;"
    "font-weight:600;color:#fff;background:var(--c);white-space:nowrap}"
    ".flag{display:inline-block;padding:0 .4rem;border-radius:1rem;font-size:.75rem;"
    "border:1px solid #9a6700;color:#9a6700;margin-left:.3rem}"
    ".st-on_track{--c:#1a7f37}.st-achieved{--c:#0969da}.st-at_risk{--c:#9a6700}"
    ".st-off_track{--c:#cf222e}.st-missed{--c:#82071e}.st-pending{--c:#6e7781}"
    ".st-no_data{--c:#8c959f}.st-invalid{--c:#8250df}"
    "svg.chart{width:100%;height:auto;display:block;margin-top:.3rem}"
    ".chart text{font-size:9px;fill:var(--muted)}"
    ".chart .plot{fill:#fbfcfd;stroke:var(--line)}"
    ".chart .ylabel{text-anchor:end}.chart .xlabel.end{text-anchor:end}"
    ".chart .todaylabel,.chart .empty{text-anchor:middle}"
    ".chart .target{stroke:#0969da;stroke-width:1;stroke-dasharray:6 3}"
    ".chart .ylabel.t{fill:#0969da}"
    ".chart .pace{fill:none;stroke:#8c959f;stroke-width:1.5;stroke-dasharray:3 3}"
    ".chart .today{stroke:#bf8700;stroke-width:1}"
    ".chart .value{fill:none;stroke:var(--c);stroke-width:2;stroke-linejoin:round}"
    ".chart .dot{fill:var(--c)}"
    ".legend{font-size:.8rem;color:var(--muted)}"
    ".legend i{display:inline-block;width:1.4rem;height:0;vertical-align:middle;"
    "margin:0 .3rem 0 .8rem;border-top:2px solid}"
    ".legend .l-value{border-color:#1a7f37}.legend .l-pace{border-top-style:dashed;"
    "border-color:#8c959f}.legend .l-target{border-top-style:dashed;border-color:#0969da}"
    ".legend .l-today{border-color:#bf8700}"
    "@media (max-width:40rem){body{font-size:14px}.depth-1{margin-left:.4rem!important}"
    ".depth-2{margin-left:.8rem!important}.depth-3{margin-left:1.2rem!important}"
    ".krs{grid-template-columns:1fr}}"
    "@media print{body{background:#fff;font-size:11pt}section.objective{border-color:#999;"
    "break-inside:avoid-page}article.kr{break-inside:avoid}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    ".krs{grid-template-columns:repeat(2,1fr)}}";

/* The page's only script: "N min ago" beside the evaluation time, and a
 * reload while the first evaluation is pending. It reads attributes and
 * writes textContent only (DESIGN section 8: never innerHTML with data). */
const char api_dashboard_script[] =
    "(function(){"
    "var b=document.body;"
    "if(b.getAttribute('data-pending')){setTimeout(function(){location.reload()},2000);return}"
    "var t=document.getElementById('evaluated'),o=document.getElementById('ago');"
    "if(!t||!o)return;"
    "var at=Date.parse(t.getAttribute('datetime'));"
    "if(!(at>0))return;"
    "function tick(){var m=Math.round((Date.now()-at)/60000);"
    "o.textContent=m<1?'(just now)':m<120?'('+m+' min ago)':'('+Math.round(m/60)+' h ago)'}"
    "tick();setInterval(tick,30000)"
    "})();";

static int hash_b64(const char *text, char *out, size_t size, struct okrd_err *err)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_Digest(text, strlen(text), d, &n, EVP_sha256(), NULL) != 1 || n != 32 || size < 45)
        return okrd_err_set(err, OKRD_EIO, "dashboard: SHA-256 of the inline %s failed",
                            text == api_dashboard_css ? "style" : "script");
    EVP_EncodeBlock((unsigned char *)out, d, (int)n);
    return 0;
}

int api_dashboard_csp(char *buf, size_t size, struct okrd_err *err)
{
    char js[64], st[64];
    int rc = hash_b64(api_dashboard_script, js, sizeof js, err);
    if (rc < 0 || (rc = hash_b64(api_dashboard_css, st, sizeof st, err)) < 0)
        return rc;
    int w = snprintf(buf, size,
                     "default-src 'none'; script-src 'sha256-%s'; style-src 'sha256-%s'; "
                     "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                     "form-action 'none'; frame-ancestors 'none'", js, st);
    return w > 0 && (size_t)w < size ? 0
         : okrd_err_set(err, OKRD_ERANGE, "dashboard: the CSP does not fit %zu bytes", size);
}

void api_buf_json_html(struct api_buf *b, const json_t *doc)
{
    char *text = doc ? okr_view_dump(doc, false) : NULL;
    if (!text) {
        b->failed = true;
        return;
    }
    for (const char *p = text; *p; p++) {
        if (*p == '<')
            api_buf_puts(b, "\\u003c");
        else if (*p == '>')
            api_buf_puts(b, "\\u003e");
        else if (*p == '&')
            api_buf_puts(b, "\\u0026");
        else
            api_buf_put(b, p, 1);
    }
    free(text);
}

static void kr_card(struct api_buf *b, const struct eval_snapshot *s, size_t i,
                    const struct api_kr_series *se, int64_t now_s)
{
    const struct cfg_key_result *kr = s->krs[i];
    const struct okr_result *r = &s->results[i];
    const struct cfg_metric *m = cfg_find_metric(s->cfg, kr->metric);
    const char *unit = m && m->unit ? m->unit : "";
    api_buf_printf(b, "<article class=\"kr st-%s\" id=\"kr-", okr_status_name(r->status));
    api_buf_html(b, kr->id);
    api_buf_printf(b, "\" data-status=\"%s\"><h3>", okr_status_name(r->status));
    api_buf_html(b, kr->title);
    api_buf_puts(b, "</h3><div>");
    status_label(b, r->status);
    if (s->stale[i])
        api_buf_puts(b, "<span class=\"flag\">stale</span>");
    api_buf_puts(b, " <span class=\"meta\">");
    api_buf_html(b, kr->id);
    api_buf_puts(b, " &middot; ");
    api_buf_html(b, kr->metric);
    api_buf_puts(b, "</span></div><p class=\"nums\">");
    char a[32], t[32], bl[32];
    api_human_number(r->value, a, sizeof a);
    api_human_number(r->target, t, sizeof t);
    api_human_number(r->baseline, bl, sizeof bl);
    const char *sep = !strcmp(unit, "%") || !*unit ? "" : " ";
    api_buf_printf(b, "value <b>%s</b>%s", a, sep);
    api_buf_html(b, unit);
    api_buf_printf(b, " &middot; target %s%s", t, sep);
    api_buf_html(b, unit);
    if (kr->direction == CFG_DIR_INCREASE || kr->direction == CFG_DIR_DECREASE)
        api_buf_printf(b, " &middot; baseline %s", bl);
    else
        api_buf_printf(b, " &middot; %s", kr->direction == CFG_DIR_AT_LEAST ? "at least" : "at most");
    api_buf_puts(b, "<br>");
    char p[32], x[32], ps[32];
    api_human_percent(r->progress, p, sizeof p);
    api_human_percent(r->expected, x, sizeof x);
    api_human_percent(r->projected_score, ps, sizeof ps);
    if (kr->direction == CFG_DIR_INCREASE || kr->direction == CFG_DIR_DECREASE)
        api_buf_printf(b, "%s done &middot; %s expected &middot; projected %s", p, x, ps);
    else
        api_buf_printf(b, "target met on %s of days", ps);
    api_buf_puts(b, "</p>");
    if (r->status == OKR_INVALID && r->reason[0]) {
        api_buf_puts(b, "<p class=\"reason\">");
        api_buf_html(b, r->reason);
        api_buf_puts(b, "</p>");
    }
    api_chart_svg(b, kr, r, se, now_s);
    api_buf_puts(b, "</article>");
}

static void objective(struct api_buf *b, const struct eval_snapshot *s, size_t o, size_t first_kr,
                      const struct api_kr_series *const *series, int64_t now_s)
{
    const struct cfg_objective *obj = &s->cfg->objectives[o];
    const struct okr_objective_result *r = &s->objs[o];
    api_buf_printf(b, "<section class=\"objective depth-%d st-%s\" id=\"obj-",
                   r->depth < 0 ? 0 : r->depth > 3 ? 3 : r->depth, okr_status_name(r->status));
    api_buf_html(b, obj->id);
    api_buf_puts(b, "\"><h2>");
    api_buf_html(b, obj->title);
    api_buf_puts(b, "</h2><div>");
    status_label(b, r->status);
    char sc[32], ps[32];
    api_human_percent(r->score, sc, sizeof sc);
    api_human_percent(r->projected_score, ps, sizeof ps);
    api_buf_printf(b, " <span class=\"meta\">score %s &middot; projected %s &middot; %s to %s",
                   sc, ps, obj->cycle.start_date, obj->cycle.end_date);
    if (obj->owner) {
        api_buf_puts(b, " &middot; owner ");
        api_buf_html(b, obj->owner);
    }
    if (obj->parent) {
        api_buf_puts(b, " &middot; part of ");
        api_buf_html(b, obj->parent->title);
    }
    api_buf_puts(b, "</span></div>");
    if (obj->n_key_results) {
        api_buf_puts(b, "<div class=\"krs\">");
        for (size_t j = 0; j < obj->n_key_results; j++)
            kr_card(b, s, first_kr + j, series ? series[first_kr + j] : NULL, now_s);
        api_buf_puts(b, "</div>");
    }
    api_buf_puts(b, "</section>");
}

void api_dashboard_write(struct api_buf *b, const struct eval_snapshot *s,
                         const struct api_kr_series *const *series, int64_t now_s)
{
    api_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                    "<title>okrd &middot; key results</title><style>");
    api_buf_puts(b, api_dashboard_css);
    api_buf_puts(b, "</style></head>");
    if (!s) {
        api_buf_puts(b, "<body data-pending=\"1\"><header><h1>Key results</h1>"
                        "<p class=\"muted\">The first evaluation has not finished yet; "
                        "reload in a moment.</p></header><script>");
        api_buf_puts(b, api_dashboard_script);
        api_buf_puts(b, "</script></body></html>\n");
        return;
    }
    api_buf_puts(b, "<body><header><h1>Key results</h1>");
    char at[32];
    okrd_format_utc(s->at_s, at, sizeof at);
    size_t counts[OKR_N_STATUSES] = { 0 };
    for (size_t i = 0; i < s->n_krs; i++)
        counts[s->results[i].status]++;
    api_buf_printf(b, "<p class=\"muted\">Evaluated at <time id=\"evaluated\" datetime=\"%s\">%s"
                      "</time> <span id=\"ago\"></span> &middot; %zu objectives &middot; "
                      "%zu key results</p><p class=\"summary\">",
                   at, at, s->cfg->n_objectives, s->n_krs);
    for (int st = 0; st < OKR_N_STATUSES; st++)
        if (counts[st]) {
            api_buf_printf(b, "<span>%zu ", counts[st]);
            status_label(b, st);
            api_buf_puts(b, "</span>");
        }
    /* Classes, not style="" attributes: the CSP allows the one hashed
     * <style> element and no inline style attribute. */
    api_buf_puts(b, "</p><p class=\"legend\"><i class=\"l-value\"></i>value"
                    "<i class=\"l-pace\"></i>pace<i class=\"l-target\"></i>target"
                    "<i class=\"l-today\"></i>today</p></header><main>");
    if (s->cfg->n_objectives == 0)
        api_buf_puts(b, "<p class=\"muted\">No objectives are configured.</p>");
    size_t k = 0;
    for (size_t o = 0; o < s->cfg->n_objectives; o++) {
        objective(b, s, o, k, series, now_s);
        k += s->cfg->objectives[o].n_key_results;
    }
    api_buf_puts(b, "</main><footer><p class=\"muted\">okrd " OKRD_VERSION
                    " &middot; <a href=\"/api/v1/objectives\">JSON</a> &middot; "
                    "<a href=\"/metrics\">metrics</a></p></footer><script>");
    api_buf_puts(b, api_dashboard_script);
    api_buf_puts(b, "</script></body></html>\n");
}
