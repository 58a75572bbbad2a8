"""The dashboard at / in a real browser: headless Chromium loads it from the
real daemon on 127.0.0.1 (the page's one small script is allowed by its hash
in the CSP, and must run: it fills in the evaluation's age), and the
rendered DOM must hold one chart per key result with its status label; a
screenshot (desktop and phone widths) is written under the build directory
as a test artifact (BUILD/test-artifacts/dashboard*.png)."""
import base64
import hashlib
import html.parser
import json
import re
import os
import shutil
import subprocess
import tempfile

from apitest import Api, config, find_kr, free_port, history_csv, start, this_quarter, day
from okrdtest import check, main, run

LABELS = {"on_track": "on track", "at_risk": "at risk", "off_track": "off track",
          "achieved": "achieved", "missed": "missed", "pending": "pending", "no_data": "no data",
          "invalid": "invalid"}

EXTRA = [
    {"id": "huge", "title": "Signups far beyond <target>", "metric": "signups",
     "direction": "increase", "baseline": 10, "target": 20},
    {"id": "single", "title": "One point so far", "metric": "single", "direction": "increase",
     "baseline": 0, "target": 10},
]


class Dom(html.parser.HTMLParser):
    """Collects charts, key-result cards and their status labels."""

    def __init__(self):
        super().__init__()
        self.charts, self.cards, self.labels, self.scripts = [], [], [], 0
        self.in_label = None
        self.in_ago, self.ago = False, None
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "svg" and "chart" in cls:
            self.charts.append(a.get("data-kr"))
        if tag == "article" and "kr" in cls:
            self.cards.append((a.get("id"), a.get("data-status")))
        if tag == "span" and "status" in cls:
            self.in_label = [c for c in cls if c.startswith("st-")]
        if tag == "script":
            self.scripts += 1
        self.in_ago = a.get("id") == "ago"

    def handle_data(self, data):
        self.text.append(data)
        if self.in_ago:
            self.ago, self.in_ago = data, False
        if self.in_label is not None:
            self.labels.append((self.in_label[0][3:] if self.in_label else None, data))
            self.in_label = None


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def browse(exe, url, *extra):
    with tempfile.TemporaryDirectory(prefix="okrd-chromium-") as profile:
        r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--enable-logging=stderr", "--v=0",
                            f"--user-data-dir={profile}", *extra, url],
                           capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"chromium {extra}: {r.returncode} {r.stderr[-2000:]}")
    # The page's own script and style must pass its CSP: a refused one is a
    # console message ("Refused to execute inline script ...").
    refused = [line for line in r.stderr.splitlines()
               if "Content Security Policy" in line or "Refused to" in line]
    check(not refused, f"the CSP refused part of the page: {refused[:3]}")
    return r.stdout


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


def test_dashboard_in_chromium(args, wd):
    exe = chromium()
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
        text = page.decode()
        check_csp(headers, text)
        check("Signups far beyond &lt;target&gt;" in text and
              "&lt;b&gt;daily&lt;/b&gt;" in text and "growth &amp; co" in text,
              "config text is HTML-escaped")
        check("off the scale" not in text, "values far beyond the target fit the y range")

        if not exe:
            print("skip the browser part: no chromium installed (Debian package chromium)")
            d.stop()
            return
        dom = Dom()
        dom.feed(browse(exe, f"http://127.0.0.1:{port}/", "--dump-dom"))
        want = {k["id"]: k["status"] for o in doc["objectives"] for k in o["key_results"]}
        check(len(dom.charts) == len(krs) == len(want), f"one chart per key result: {dom.charts}")
        check(sorted(dom.charts) == sorted(want), f"charts for {sorted(want)}: {dom.charts}")
        cards = {cid[3:]: st for cid, st in dom.cards}
        # the page shows the evaluation it was built from; statuses may move
        # on between the JSON read and the page load only if time crosses a
        # threshold, which these data do not
        check(cards == want, f"card statuses {cards} == API {want}")
        for st, label in dom.labels:
            check(st in LABELS and label == LABELS[st], f"status label {st!r} reads {label!r}")
        label_states = {st for st, _ in dom.labels}
        check(set(want.values()) <= label_states, f"a label for every status shown: {label_states}")
        check(dom.scripts == 1, f"okrd's one script: {dom.scripts}")
        check(dom.ago and re.fullmatch(r"\((just now|\d+ min ago|\d+ h ago)\)", dom.ago),
              f"the script ran under the CSP and wrote the evaluation's age: {dom.ago!r}")
        check("Increase <b>daily</b> active users & \"more\"" in "".join(dom.text),
              "the escaped title renders as its text")

        out = os.path.join(os.path.dirname(os.path.abspath(args.okrd)), "test-artifacts")
        os.makedirs(out, exist_ok=True)
        for name, size in (("dashboard.png", "1280,1800"), ("dashboard-phone.png", "390,2400")):
            path = os.path.join(out, name)
            if os.path.exists(path):
                os.unlink(path)
            browse(exe, f"http://127.0.0.1:{port}/", f"--screenshot={path}", f"--window-size={size}",
                   "--hide-scrollbars")
            check(os.path.getsize(path) > 10000, f"screenshot {path}")
            print(f"artifact: {path}")
        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}")
    finally:
        d.kill()


def test_dashboard_before_data(args, wd):
    """No data at all: every card says so, and the page still has a chart each."""
    port = free_port()
    cfg, krs = config(wd, f"127.0.0.1:{port}")
    api = Api(port=port)
    d = start(args.okrd, cfg)
    try:
        api.wait_ready()
        status, headers, page = api.get("/")
        text = page.decode()
        check_csp(headers, text)
        check(status == 200 and text.count('<svg class="chart"') == len(krs), "a chart per key result")
        check(text.count("no data in this cycle yet") == len(krs), "each says it has no data")
        check("NaN" not in text and "nan," not in text, "no NaN in the SVG")
        d.stop()
    finally:
        d.kill()


if __name__ == "__main__":
    main([test_dashboard_in_chromium, test_dashboard_before_data])
