/*
 * api_retro.c — the retrospective over HTTP (DESIGN section 9): GET
 * /api/v1/retro?cycle=Q, answered on a read worker like a series (reading
 * a cycle's history and check-ins grows with the stored data), and the page
 * GET /retro, which, like the dashboard, carries no data (but, unlike it,
 * is a read endpoint off loopback: DESIGN exempts only the dashboard): its one inline
 * script (allowed by its hash in the page's CSP) reads the API with the
 * token the person entered on the dashboard (sessionStorage, a bearer
 * header, no cookies) and builds every node with textContent.
 *
 * api/ knows nothing of daemon/: the document itself comes from
 * api_env.retro (daemon/retro.c), called on the worker with the worker's
 * read-only connection and the config pinned for the job.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

#define RETRY_AFTER_S "1"
#define CYCLE_MAX 64

struct retro_job {
    struct api_job job;           /* first: the pool hands this back */
    struct api_server *srv;       /* loop side only */
    struct api_request *rq;
    void *pin;
    const struct cfg *cfg;
    int (*retro)(void *ctx, struct store *st, const struct cfg *cfg, const char *cycle,
                 int64_t now_s, json_t **out, struct okrd_err *err);
    void *ctx;
    char cycle[CYCLE_MAX + 1];
    int64_t now_s;
    unsigned status;
    char *body;
    size_t len;
};

static void run(struct api_job *aj, struct store *st)
{
    struct retro_job *j = (struct retro_job *)aj;
    struct okrd_err err = { 0 };
    json_t *doc = NULL;
    int rc = j->retro(j->ctx, st, j->cfg, j->cycle[0] ? j->cycle : NULL, j->now_s, &doc, &err);
    if (rc == 0 && (j->body = api_json_dump_doc(doc))) {
        j->status = MHD_HTTP_OK;
    } else {
        j->status = rc == OKRD_ENOTFOUND ? MHD_HTTP_NOT_FOUND
                  : rc == OKRD_EINVAL    ? MHD_HTTP_BAD_REQUEST
                                         : MHD_HTTP_INTERNAL_SERVER_ERROR;
        j->body = api_error_body(rc == OKRD_ENOTFOUND ? "not_found"
                                 : rc == OKRD_EINVAL  ? "bad_query"
                                 : rc == 0            ? "out_of_memory"
                                                      : "store_failed",
                                 err.msg[0] ? err.msg : "no memory for the answer", -1);
    }
    j->len = j->body ? strlen(j->body) : 0;
}

static void job_free(struct retro_job *j)
{
    struct api_server *s = j->srv;
    if (j->pin && s->env.unpin_snapshot)
        s->env.unpin_snapshot(s->env.ctx, j->pin);
    free(j->body);
    free(j);
}

static void hand_over(struct retro_job *j, struct api_request *rq)
{
    rq->status = j->status;
    rq->answer = j->body;
    rq->answer_len = j->len;
    rq->answer_type = "application/json";
    rq->answer_headers = api_no_store;
    j->body = NULL;
}

static void done(struct api_job *aj, bool canceled)
{
    struct retro_job *j = (struct retro_job *)aj;
    struct api_server *s = j->srv;
    struct api_request *rq = j->rq;
    if (canceled) {
        free(j->body);
        j->status = MHD_HTTP_SERVICE_UNAVAILABLE;
        j->body = api_error_body("shutting_down", "okrd is stopping", -1);
        j->len = j->body ? strlen(j->body) : 0;
    }
    hand_over(j, rq);
    job_free(j);
    rq->answered = true;
    rq->suspended = false;
    MHD_resume_connection(rq->conn);
    api_server_kick(s);
    api_server_read_done(s);
}

enum MHD_Result api_retro_get(struct api_server *s, struct api_request *rq)
{
    struct MHD_Connection *conn = rq->conn;
    if (!s->env.retro)
        return api_respond_error(conn, MHD_HTTP_NOT_FOUND, "not_found", NULL,
                                 "this server keeps no retrospectives");
    const struct eval_snapshot *snap = api_snapshot(s);
    if (!snap)
        return api_not_ready(conn);
    const char *cycle = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cycle");
    if (cycle && strlen(cycle) > CYCLE_MAX)
        return api_respond_error(conn, MHD_HTTP_BAD_REQUEST, "bad_query", NULL,
                                 "?cycle= is longer than %d bytes: expected YYYY-Qn or "
                                 "START..END (dates)", CYCLE_MAX);
    struct retro_job *j = calloc(1, sizeof *j);
    if (!j)
        return api_respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", NULL,
                                 "no memory for the request");
    j->srv = s;
    j->rq = rq;
    j->cfg = snap->cfg;
    j->retro = s->env.retro;
    j->ctx = s->env.ctx;
    snprintf(j->cycle, sizeof j->cycle, "%s", cycle ? cycle : "");
    j->now_s = okrd_clock_now_s(s->env.clock);
    j->job.run = run;
    j->job.done = done;
    if (s->env.pin_snapshot)
        j->pin = s->env.pin_snapshot(s->env.ctx);
    if (!s->work) { /* no workers (no store path): read on the loop's connection */
        run(&j->job, s->env.reader);
        hand_over(j, rq);
        job_free(j);
        return api_answer_ready(rq);
    }
    int rc = api_work_submit(s->work, &j->job);
    if (rc < 0) {
        job_free(j);
        if (rc == OKRD_EBUSY) {
            static const char *const hdr[] = { "Retry-After", RETRY_AFTER_S, "Cache-Control",
                                               "no-store", NULL };
            api_report(s, CFG_LOG_WARNING, "api_busy",
                       "retro refused: %d reads running and %d waiting already", API_READ_WORKERS,
                       API_READ_QUEUE);
            return api_respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", hdr,
                                     "%d big reads are waiting already; try again in a moment",
                                     API_READ_QUEUE);
        }
        return api_respond_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", NULL,
                                 "okrd is stopping");
    }
    rq->suspended = true;
    MHD_suspend_connection(conn);
    return MHD_YES;
}

/* ---- the page ---- */

/* Served inline and allowed by hash (retro_csp): a changed byte changes
 * the page's Content-Security-Policy with it. */
const char api_retro_css[] =
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
    "color:#1f2328;background:#f6f8fa}"
    "header,main,footer{max-width:80rem;margin:0 auto;padding:0 1rem}"
    "h1{font-size:1.4rem;margin:1rem 0 .2rem}h2{font-size:1.15rem;margin:0 0 .2rem}"
    ".muted{color:#59636e;font-size:.85rem}.err{color:#cf222e}"
    "section{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:.8rem 1rem;"
    "margin:1rem 0;overflow-x:auto}"
    "table{border-collapse:collapse;font-size:.85rem;width:100%}"
    "th,td{border-bottom:1px solid #d1d9e0;padding:.25rem .4rem;text-align:left;"
    "vertical-align:top}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".st-on_track,.st-achieved{color:#1a7f37}.st-at_risk{color:#9a6700}"
    ".st-off_track,.st-missed,.st-invalid{color:#cf222e}"
    "@media print{form{display:none}section{break-inside:avoid}}";

const char api_retro_script[] =
    "(function(){\n"
    "'use strict';\n"
    "var KEY='okrd-token';\n"
    "function $(id){return document.getElementById(id)}\n"
    "function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=String(text);return e}\n"
    "function add(p,c){p.appendChild(c);return c}\n"
    "function token(){try{return sessionStorage.getItem(KEY)||''}catch(x){return ''}}\n"
    "function setToken(t){try{if(t)sessionStorage.setItem(KEY,t);else sessionStorage.removeItem(KEY)}catch(x){}}\n"
    "function show(v){return v==null?'\\u2013':typeof v==='boolean'?(v?'yes':'no'):String(v)}\n"
    "function days(d){var a=[];for(var k in d)a.push(k+' '+d[k]);return a.length?a.join(', '):'\\u2013'}\n"
    "function trail(t){return t&&t.length?t.map(function(c){return c.date+': '+c.confidence}).join(', '):'\\u2013'}\n"
    "var COLS=[['Key result',function(k){return k.id}],['Title',function(k){return k.title}],['Owner',function(k){return k.owner}],['Status',function(k){return k.status}],['Grade',function(k){return k.grade},1],['Given grade',function(k){return k.given_grade==null?null:k.given_grade+' ('+k.given_by+')'}],['Value',function(k){return k.value},1],['Baseline',function(k){return k.baseline},1],['Target',function(k){return k.target},1],['Days in status',function(k){return days(k.days_in_status)}],['First off track',function(k){return k.first_off_track}],['Recovered',function(k){return k.recovered}],['Knowable from',function(k){return k.knowable_from}],['Check-ins',function(k){return k.check_ins},1],['Confidence',function(k){return trail(k.confidence_trail)}],['Overridden days',function(k){return k.overridden_days},1],['Last comment',function(k){return k.last_comment}]];\n"
    "function render(doc){\n"
    "var m=$('main');m.textContent='';\n"
    "$('title').textContent='Retrospective '+doc.cycle.start+'..'+doc.cycle.end;\n"
    "$('state').textContent=doc.final?'The cycle has ended: grades are final.':'The cycle is still running: as of now, not final.';\n"
    "(doc.objectives||[]).forEach(function(o){\n"
    "var s=add(m,el('section','objective'));s.id='obj-'+o.id;\n"
    "add(s,el('h2',null,o.id+': '+o.title));\n"
    "add(s,el('p','muted','Score '+show(o.score)+', status '+show(o.status)+(o.parent?', part of '+o.parent:'')));\n"
    "var t=add(s,el('table')),hr=add(add(t,el('thead')),el('tr'));\n"
    "COLS.forEach(function(c){add(hr,el('th',null,c[0]))});\n"
    "var b=add(t,el('tbody'));\n"
    "(o.key_results||[]).forEach(function(k){var r=add(b,el('tr'));r.id='kr-'+k.id;COLS.forEach(function(c,i){var td=add(r,el('td',c[2]?'n':null,show(c[1](k))));if(i===3)td.className='st-'+k.status})})});\n"
    "var ls=add(m,el('section','lints'));add(ls,el('h2',null,'Lints'));\n"
    "if(!doc.lints||!doc.lints.length){add(ls,el('p','muted','None.'));return}\n"
    "var ul=add(ls,el('ul'));doc.lints.forEach(function(l){add(ul,el('li',null,(l.objective||'cycle')+(l.key_result?' / '+l.key_result:'')+': '+l.message))})}\n"
    "function load(){\n"
    "var q=new URLSearchParams(location.search).get('cycle')||'',h={},t=token();\n"
    "if(t)h.Authorization='Bearer '+t;\n"
    "$('state').textContent='Loading\\u2026';\n"
    "fetch('/api/v1/retro'+(q?'?cycle='+encodeURIComponent(q):''),{headers:h,credentials:'omit',cache:'no-store'}).then(function(r){return r.json().then(function(j){return {status:r.status,body:j}})}).then(function(r){\n"
    "if(r.status===200){render(r.body);document.body.setAttribute('data-state','ready');return}\n"
    "$('main').textContent='';$('state').className='err';$('state').textContent='okrd answered '+r.status+': '+(r.body&&r.body.detail?r.body.detail:'');document.body.setAttribute('data-state','error')\n"
    "},function(e){$('state').className='err';$('state').textContent='okrd did not answer ('+e.message+')';document.body.setAttribute('data-state','error')})}\n"
    "$('auth').addEventListener('submit',function(ev){ev.preventDefault();var v=$('token').value.trim();$('token').value='';if(v)setToken(v);load()});\n"
    "$('pick').addEventListener('submit',function(ev){ev.preventDefault();var v=$('cycle').value.trim();location.search=v?'?cycle='+encodeURIComponent(v):''});\n"
    "$('cycle').value=new URLSearchParams(location.search).get('cycle')||'';\n"
    "load()\n"
    "})();\n";

static int hash_b64(const char *text, char out[64], struct okrd_err *err)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_Digest(text, strlen(text), d, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return okrd_err_set(err, OKRD_EIO, "retro page: SHA-256 of the inline %s failed",
                            text == api_retro_css ? "style" : "script");
    EVP_EncodeBlock((unsigned char *)out, d, (int)n);
    return 0;
}

int api_retro_csp(char *buf, size_t size, struct okrd_err *err)
{
    char js[64], st[64];
    int rc = hash_b64(api_retro_script, js, err);
    if (rc < 0 || (rc = hash_b64(api_retro_css, st, err)) < 0)
        return rc;
    int w = snprintf(buf, size,
                     "default-src 'none'; script-src 'sha256-%s'; style-src 'sha256-%s'; "
                     "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                     "form-action 'none'; frame-ancestors 'none'", js, st);
    return w > 0 && (size_t)w < size ? 0
         : okrd_err_set(err, OKRD_ERANGE, "retro page: the CSP does not fit %zu bytes", size);
}

void api_retro_write(struct api_buf *b)
{
    api_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                    "<title>okrd &middot; retrospective</title><style>");
    api_buf_puts(b, api_retro_css);
    api_buf_puts(b, "</style></head><body data-state=\"loading\"><header>"
                    "<h1 id=\"title\">Retrospective</h1>"
                    "<form id=\"auth\"><label for=\"token\">API token</label> "
                    "<input id=\"token\" type=\"password\" autocomplete=\"off\" "
                    "spellcheck=\"false\"> <button type=\"submit\">Use token</button></form>"
                    "<form id=\"pick\"><label for=\"cycle\">Cycle"
                    "</label> <input id=\"cycle\" name=\"cycle\" placeholder=\"2026-Q3 or "
                    "2026-07-01..2026-09-30\"> <button type=\"submit\">Show</button></form>"
                    "<p id=\"state\" class=\"muted\">Loading&hellip;</p>"
                    "<noscript><p>This page needs JavaScript: it reads okrd's API "
                    "(<a href=\"/api/v1/retro\">/api/v1/retro</a>).</p></noscript>"
                    "</header><main id=\"main\"></main><footer><p class=\"muted\">okrd "
                    OKRD_VERSION " &middot; <a href=\"/\">key results</a> &middot; "
                    "<a href=\"/api/v1/retro\">JSON</a> &middot; how to read it: docs/retro.md"
                    "</p></footer><script>");
    api_buf_puts(b, api_retro_script);
    api_buf_puts(b, "</script></body></html>\n");
}

enum MHD_Result api_retro_page(struct api_server *s, struct api_request *rq)
{
    struct okrd_err err = { 0 };
    char csp[API_CSP_MAX];
    struct api_buf b = { 0 };
    if (api_retro_csp(csp, sizeof csp, &err) < 0)
        return api_respond_error(rq->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "csp_failed", NULL,
                                 "%s", err.msg);
    api_retro_write(&b);
    if (b.failed) {
        api_buf_free(&b);
        return api_respond_error(rq->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", NULL,
                                 "no memory for the page");
    }
    (void)s;
    const char *h[] = { "Content-Security-Policy", csp, "Cache-Control", "no-store",
                        "Referrer-Policy", "no-referrer", NULL };
    return api_respond(rq->conn, MHD_HTTP_OK, "text/html; charset=utf-8", b.p, b.n, h);
}
