"""The dashboard at / in a real browser (DESIGN sections 6 and 8, "Browsers").
The page holds no data on any listener; its one small script (allowed by its
hash in the CSP, and it must run) reads the API and draws one card and chart
per key result. Headless Chromium is driven over the DevTools protocol
(cdp.py): on a loopback listener it reads without a token; on a non-loopback
listener (0.0.0.0 with tokens, reached through 127.0.0.1) the page served
without a token carries no data, shows nothing until a token is entered, and
draws the cards with a "read" token. Screenshots (desktop and phone widths)
are written as test artifacts (BUILD/test-artifacts/dashboard*.png)."""
import base64
import hashlib
import json
import os
import re

from apitest import Api, config, find_kr, free_port, history_csv, start, this_quarter, day
from cdp import Browser, chromium
from okrdtest import check, main, run, skip

LABELS = {"on_track": "on track", "at_risk": "at risk", "off_track": "off track",
          "achieved": "achieved", "missed": "missed", "pending": "pending", "no_data": "no data",
          "invalid": "invalid"}

EXTRA = [
    {"id": "huge", "title": "Signups far beyond <target>", "metric": "signups",
     "direction": "increase", "baseline": 10, "target": 20},
    {"id": "single", "title": "One point so far", "metric": "single", "direction": "increase",
     "baseline": 0, "target": 10},
]

# Everything the page draws, as the browser sees it: per card its status,
# label, texts and where the chart put its dots (viewBox units).
CARDS_JS = """(function(){
return Array.from(document.querySelectorAll('article.kr')).map(function(a){
  var svg=a.querySelector('svg.chart');
  return {id:a.id, status:a.getAttribute('data-status'),
    label:[a.querySelector('.status').className, a.querySelector('.status').textContent],
    title:a.querySelector('h3').textContent, nums:a.querySelector('.nums').textContent,
    checkin:a.querySelector('.checkin').textContent,
    chart:svg?svg.getAttribute('data-kr'):null,
    empty:svg&&svg.querySelector('.empty')?svg.querySelector('.empty').textContent:null,
    dots:svg?Array.from(svg.querySelectorAll('circle.dot')).map(function(c){return +c.getAttribute('cy')}):[],
    line:svg&&svg.querySelector('polyline.value')?svg.querySelector('polyline.value').getAttribute('points'):null,
    marks:svg?svg.querySelectorAll('g.mark').length:0,
    band:svg&&svg.querySelector('path.band')?svg.querySelector('path.band').getAttribute('d'):null,
    p50:svg&&svg.querySelector('polyline.p50')?svg.querySelector('polyline.p50').getAttribute('points'):null,
    fc:a.querySelector('.fc')?a.querySelector('.fc').textContent:null}})})()"""

LOADED_JS = ("document.querySelectorAll('article.kr').length > 0 && "
             "!Array.from(document.querySelectorAll('svg.chart .empty'))"
             ".some(function(t){return t.textContent === 'loading\\u2026'})")


def artifacts(args):
    out = os.path.join(os.path.dirname(os.path.abspath(args.okrd)), "test-artifacts")
    os.makedirs(out, exist_ok=True)
    return out


def check_csp(headers, text):
    """The CSP allows exactly the page's inline script and style, by hash."""
    csp = headers.get("content-security-policy", "")
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    styles = re.findall(r"<style>(.*?)</style>", text, re.S)
    check(len(scripts) == 1 and len(styles) == 1 and text.count("<script") == 1,
          f"one inline script and one style: {len(scripts)} {len(styles)}")
    digest = lambda s: base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()
    want = (f"default-src 'none'; script-src 'sha256-{digest(scripts[0])}'; "
            f"style-src 'sha256-{digest(styles[0])}'; connect-src 'self'; img-src 'self' data:; "
            f"base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    check(csp == want, f"CSP {csp!r}, want {want!r}")
    check("unsafe" not in csp and " style=" not in text and "innerHTML" not in scripts[0],
          "no unsafe-inline, no style attribute, no innerHTML")
    check(not any(k.startswith("access-control-") for k in headers), f"no CORS headers: {headers}")


def check_no_data(page, krs, what):
    """The page's bytes name no key result, objective or configured text."""
    text = page.decode()
    for word in krs + ["engagement", "Improve user engagement", "growth &amp; co", "growth & co",
                       "daily", "Signups", "CSAT"]:
        check(word not in text, f"{what}: the page carries data ({word!r})")


def browser_or_skip():
    exe = chromium()
    if not exe:
        skip("no chromium installed (Debian package chromium)")
    return Browser(exe)


def test_dashboard_in_chromium(args, wd):
    """Loopback: no token needed to read; every card as the API says."""
    port = free_port()
    cfg, krs = config(wd, f"127.0.0.1:{port}", extra_krs=EXTRA)
    c = json.load(open(cfg))
    c["sources"] = [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}]
    os.makedirs(os.path.join(wd.path, "inbox"))
    wd.config(c)
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("h.csv", history_csv()))
    check(r.returncode == 0, r.stderr)
    api = Api(port=port)
    d = start(args.okrd, cfg)
    b = None
    try:
        api.wait_ready()
        _, start_day, today = this_quarter()
        status, _, body = api.push([
            {"metric": "signups", "timestamp": day(start_day, 0), "value": 12},
            {"metric": "signups", "timestamp": today.isoformat(), "value": 5e9},
            {"metric": "single", "timestamp": today.isoformat(), "value": 3}])
        check(status == 200, f"push: {status} {body}")
        doc = api.wait_for("/api/v1/objectives",
                           lambda x: find_kr(x, "huge")["value"] == 5e9 and
                           find_kr(x, "single")["value"] == 3, "the pushed points evaluated")

        status, headers, page = api.get("/")
        check(status == 200 and headers["content-type"] == "text/html; charset=utf-8", f"/: {status}")
        check_csp(headers, page.decode())
        check_no_data(page, krs, "loopback /")

        b = browser_or_skip()
        b.go(f"http://127.0.0.1:{port}/")
        b.wait(LOADED_JS, "every card and chart drawn")
        cards = b.js(CARDS_JS)
        want = {k["id"]: k["status"] for o in doc["objectives"] for k in o["key_results"]}
        check(sorted(c["chart"] for c in cards) == sorted(want),
              f"one chart per key result {sorted(want)}: {[c['chart'] for c in cards]}")
        check({c["id"][3:]: c["status"] for c in cards} == want, f"card statuses == API {want}")
        for c in cards:
            st = c["status"]
            check(c["label"] == [f"status st-{st}", LABELS[st]], f"{c['id']} label {c['label']}")
            # every value drawn inside the plot (y from 12 to 132), even 5e9
            check(all(12 < y < 132 for y in c["dots"]), f"{c['id']}: dots inside the plot {c['dots']}")
            if c["line"]:
                ys = [float(p.split(",")[1]) for p in c["line"].split()]
                check(all(12 < y < 132 for y in ys), f"{c['id']}: the value line inside the plot")
        byid = {c["id"][3:]: c for c in cards}
        check(len(byid["single"]["dots"]) == 1 and byid["single"]["line"] is None,
              "one point: one dot, no line")
        check(byid["nothing"]["empty"] == "no data in this cycle yet", f"{byid['nothing']}")
        # DESIGN section 9: a value forecast draws its band (the series'
        # forecast_band) and p50 line; a share forecast only says how likely
        dau = find_kr(doc, "dau-up")
        check(dau["forecast"] and dau["forecast"]["of"] == "value", f"dau-up forecast: {dau}")
        dband = byid["dau-up"]["band"]
        check(dband and dband.startswith("M") and dband.endswith("Z") and dband.count("L") >= 3,
              f"dau-up: the forecast band path: {dband!r}")
        check(byid["dau-up"]["p50"] and len(byid["dau-up"]["p50"].split()) >= 2,
              f"dau-up: the p50 line: {byid['dau-up']['p50']!r}")
        pct = round(dau["forecast"]["probability"] * 100)
        check(re.fullmatch(r"Forecast: (\d+%|<1%|>99%) likely to reach 1,200 by 31 Dec"
                           if this_quarter()[0].endswith("Q4") else
                           r"Forecast: (\d+%|<1%|>99%) likely to reach .+ by \d+ \w+",
                           byid["dau-up"]["fc"] or ""), f"dau-up card: {byid['dau-up']['fc']!r}")
        check(byid["dau-up"]["fc"].startswith(f"Forecast: {pct}%") or "<1%" in byid["dau-up"]["fc"]
              or ">99%" in byid["dau-up"]["fc"], f"the card's percentage ({pct})")
        csat = find_kr(doc, "csat")
        check(csat["forecast"] and csat["forecast"]["of"] == "share", f"csat forecast: {csat}")
        check(byid["csat"]["band"] is None and byid["csat"]["p50"] is None, "no band for a share")
        check(re.fullmatch(r"Forecast: (\d+%|<1%|>99%) likely to keep \u2265 8 on enough days",
                           byid["csat"]["fc"] or ""), f"csat card: {byid['csat']['fc']!r}")
        check(byid["nothing"]["fc"] == "" and byid["nothing"]["band"] is None, "null: no forecast")
        check("value 5B" in byid["huge"]["nums"], f"big numbers for people: {byid['huge']['nums']}")
        check("users" in byid["dau-up"]["nums"], f"the metric's unit: {byid['dau-up']['nums']}")
        check(byid["dau-up"]["title"] == 'Increase <b>daily</b> active users & "more"',
              "the title renders as its text")
        check(b.js("document.querySelectorAll('b').length") ==
              b.js("document.querySelectorAll('.nums b').length"), "no element made from a title")
        check(b.js("document.scripts.length") == 1, "okrd's one script")
        ago = b.js("document.getElementById('ago').textContent")
        check(re.fullmatch(r"\((just now|\d+ min ago|\d+ h ago)\)", ago or ""),
              f"the script ran under the CSP and wrote the evaluation's age: {ago!r}")
        check(b.js("document.querySelector('#obj-engagement .meta').textContent").endswith(
              "part of Grow the <company>"), "the parent's title as text")
        check(not b.csp_problems(), f"the CSP refused part of the page: {b.csp_problems()[:3]}")

        out = artifacts(args)
        for name, (w, h, mobile) in (("dashboard.png", (1280, 1800, False)),
                                     ("dashboard-phone.png", (390, 2400, True))):
            b.viewport(w, h, mobile)
            path = b.screenshot(os.path.join(out, name))
            check(os.path.getsize(path) > 10000, f"screenshot {path}")
            print(f"artifact: {path}")
        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}")
    finally:
        if b:
            b.close()
        d.kill()


def test_dashboard_before_data(args, wd):
    """No data at all: every card says so; no NaN anywhere."""
    port = free_port()
    cfg, krs = config(wd, f"127.0.0.1:{port}")
    api = Api(port=port)
    d = start(args.okrd, cfg)
    b = None
    try:
        api.wait_ready()
        status, headers, page = api.get("/")
        check(status == 200, f"/: {status}")
        check_csp(headers, page.decode())
        b = browser_or_skip()
        b.go(f"http://127.0.0.1:{port}/")
        b.wait(LOADED_JS, "every card drawn")
        cards = b.js(CARDS_JS)
        check(len(cards) == len(krs), f"a card per key result: {len(cards)}")
        check(all(c["empty"] == "no data in this cycle yet" for c in cards),
              f"each says it has no data: {[c['empty'] for c in cards]}")
        check(all(c["checkin"] == "No check-in yet." for c in cards), "no check-in yet")
        html = b.js("document.querySelector('main').outerHTML")
        check("NaN" not in html and "nan," not in html and "Infinity" not in html, "no NaN drawn")
        d.stop()
    finally:
        if b:
            b.close()
        d.kill()


def test_shell_on_non_loopback_listener(args, wd):
    """0.0.0.0 with tokens: the page is served to anyone and holds no data;
    the browser shows nothing until a token is entered; a refused token
    shows the refusal; a read token draws the cards. The token lives in the
    tab's sessionStorage and goes out as a bearer header, never a cookie."""
    port = free_port()
    cfg, krs = config(wd, f"0.0.0.0:{port}", token=None)
    c = json.load(open(cfg))
    c["daemon"]["api_tokens"] = [{"name": "viewer", "token": "viewer-t0ken", "scopes": ["read"]},
                                 {"name": "ci", "token": "ci-t0ken", "scopes": ["push"]}]
    wd.config(c)
    api = Api(port=port)
    d = start(args.okrd, cfg)
    b = None
    try:
        api.wait_ready(token="viewer-t0ken")
        for tok in (None, "wrong", "ci-t0ken", "viewer-t0ken"):
            status, headers, page = api.get("/", token=tok)
            check(status == 200, f"/ with token {tok}: {status}")
            check_csp(headers, page.decode())
            check_no_data(page, krs, f"/ with token {tok}")
        check(api.get("/api/v1/objectives")[0] == 401, "the data itself needs the token")

        b = browser_or_skip()
        url = f"http://127.0.0.1:{port}/"
        b.go(url)
        b.wait("/token/.test(document.getElementById('state').textContent)", "the page asks for a token")
        check(b.js("document.querySelectorAll('article.kr, section.objective').length") == 0,
              "no data without a token")
        check("401" in b.js("document.getElementById('state').textContent"), "the refusal is shown")

        def enter(token):
            b.js("document.getElementById('token').value = " + json.dumps(token) +
                 "; document.querySelector('#auth button[type=submit]').click(); true")

        enter("ci-t0ken")  # a known token without "read"
        b.wait("/403/.test(document.getElementById('state').textContent)", "403 for a push token")
        check(b.js("document.querySelectorAll('article.kr').length") == 0, "no data with it")
        enter("viewer-t0ken")
        b.wait(LOADED_JS, "the cards, read with the token")
        cards = b.js(CARDS_JS)
        check(sorted(c["id"][3:] for c in cards) == sorted(krs), f"every card: {len(cards)}")
        check(b.js("sessionStorage.getItem('okrd-token')") == "viewer-t0ken", "kept in sessionStorage")
        check(b.js("document.cookie") == "", "no cookie")
        check(b.js("document.getElementById('token').value") == "", "the input is emptied")
        # a reload of the tab keeps the token; "Forget" drops it and the data
        b.go(url)
        b.wait(LOADED_JS, "the cards after a reload, with the kept token")
        b.js("document.getElementById('forget').click(); true")
        b.wait("document.querySelectorAll('article.kr').length === 0 && "
               "/token/.test(document.getElementById('state').textContent)", "forgotten")
        check(b.js("sessionStorage.getItem('okrd-token')") is None, "forgotten token removed")
        check(not b.csp_problems(), f"the CSP refused part of the page: {b.csp_problems()[:3]}")
        d.stop()
    finally:
        if b:
            b.close()
        d.kill()


if __name__ == "__main__":
    main([test_dashboard_in_chromium, test_dashboard_before_data,
          test_shell_on_non_loopback_listener])
