"""Check-ins on the dashboard, in headless Chromium against the real daemon
(DESIGN section 8, "Interfaces" and "Browsers"), on a non-loopback listener
(0.0.0.0 with scoped tokens, reached through 127.0.0.1) so every read and
post needs the token the person enters: per key result the latest check-in
(author, how long ago, confidence, comment, the override and its end) and a
mark on the chart at each check-in; a comment holding markup shows as text
(no element made, no script run); the "Check in" form posts with the tab's
token and the card is redrawn from the 201 (status with the override, the
computed one beside it, the new check-in, its mark, a value's new point);
400, 403 and a missing token are shown in the card as text. A screenshot of
the result is kept (BUILD/test-artifacts/dashboard-checkin.png)."""
import json
import os

from apitest import Api, config, find_kr, free_port, history_csv, start
from test_dashboard import CARDS_JS, LOADED_JS, artifacts, browser_or_skip, check_csp, check_no_data
from okrdtest import check, main, run

VIEWER, PEOPLE = "viewer-t0ken", "people-t0ken"
XSS = "<img src=x onerror=alert(1)> & <script>alert(2)</script> \"quoted\""


def post_checkin(api, kr, body, token=PEOPLE):
    status, _, data = api.request(
        "POST", f"/api/v1/key-results/{kr}/check-ins", body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    return status, json.loads(data) if data else None


def card(b, kr):
    return [c for c in b.js(CARDS_JS) if c["id"] == "kr-" + kr][0]


def submit(b, kr, confidence="", status="", value="", comment=""):
    """Fills the card's form as a person would and presses its button."""
    b.js(f"""(function(){{
var a=document.getElementById('kr-{kr}');a.querySelector('details.ciform').open=true;
var f=a.querySelector('details.ciform form');
f.elements.confidence.value={json.dumps(confidence)};f.elements.status.value={json.dumps(status)};
f.elements.value.value={json.dumps(value)};f.elements.comment.value={json.dumps(comment)};
f.querySelector('p.cimsg').textContent='';f.querySelector('button').click();return true}})()""")
    return b.wait(f"(function(){{var m=document.querySelector('#kr-{kr} p.cimsg');"
                  f"return m.textContent && m.textContent !== 'Sending\\u2026' ? "
                  f"[m.className, m.textContent] : null}})()", f"the answer shown in {kr}'s card")


def test_checkins_on_the_dashboard(args, wd):
    port = free_port()
    cfg, krs = config(wd, f"0.0.0.0:{port}", token=None)
    c = json.load(open(cfg))
    c["daemon"]["api_tokens"] = [{"name": "viewer", "token": VIEWER, "scopes": ["read"]},
                                 {"name": "people", "token": PEOPLE, "scopes": ["read", "checkin"]}]
    c["sources"] = [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}]
    os.makedirs(os.path.join(wd.path, "inbox"))
    wd.config(c)
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("h.csv", history_csv()))
    check(r.returncode == 0, r.stderr)
    api = Api(port=port)
    d = start(args.okrd, cfg)
    b = None
    try:
        api.wait_ready(token=VIEWER)
        status, body = post_checkin(api, "dau-up", {"confidence": 3, "comment": "first"})
        check(status == 201, f"first check-in: {status} {body}")
        status, body = post_checkin(api, "dau-up", {"confidence": 4, "comment": XSS,
                                                    "status": "on_track"})
        check(status == 201, f"second check-in: {status} {body}")
        api.wait_for("/api/v1/objectives",
                     lambda x: (find_kr(x, "dau-up")["check_in"] or {}).get("comment") == XSS,
                     "the check-in evaluated", token=VIEWER)
        # the page itself still holds nothing of it
        status, headers, page = api.get("/")
        check(status == 200 and b"onerror" not in page and b"first" not in page, "no data in /")
        check_csp(headers, page.decode())
        check_no_data(page, krs, "/ with check-ins stored")

        b = browser_or_skip()
        b.go(f"http://127.0.0.1:{port}/")
        b.wait("/token/.test(document.getElementById('state').textContent)", "the token prompt")
        b.js(f"document.getElementById('token').value={json.dumps(PEOPLE)};"
             "document.querySelector('#auth button[type=submit]').click();true")
        b.wait(LOADED_JS, "the cards")
        b.wait("document.querySelectorAll('#kr-dau-up svg.chart g.mark').length === 2",
               "a mark per check-in on dau-up's chart")

        # the latest check-in, as text
        dau = card(b, "dau-up")
        check(dau["checkin"].startswith("people \u00b7 just now \u00b7 confidence 4/10"),
              f"author, how long ago, confidence: {dau['checkin']!r}")
        check(b.js("document.querySelector('#kr-dau-up .checkin .comment').textContent") == XSS,
              "the comment shows as its text")
        check(b.js("document.querySelector('#kr-dau-up .checkin .comment').children.length") == 0 and
              b.js("document.querySelectorAll('img').length") == 0 and
              b.js("document.scripts.length") == 1 and b.js("window.__alerts || null") is None,
              "no element made from the comment, nothing run")
        over = b.js("document.querySelector('#kr-dau-up .override').textContent")
        check(over.startswith("Override: on track until 20") and over.endswith(" UTC"),
              f"the override and its end: {over!r}")
        marks = b.js("Array.from(document.querySelectorAll('#kr-dau-up g.mark')).map("
                     "function(g){return [g.getAttribute('data-at'), g.querySelector('title').textContent]})")
        listed = api.json("/api/v1/key-results/dau-up/check-ins", token=VIEWER)["check_ins"]
        check(sorted(m[0] for m in marks) == sorted(x["at"] for x in listed),
              f"marks at each check-in's at: {marks} vs {[x['at'] for x in listed]}")
        check(any(m[1].endswith(": " + XSS) for m in marks), f"the mark's tooltip as text: {marks}")
        check(card(b, "reviews")["checkin"] == "No check-in yet.", "no check-in on reviews")

        # the form: an override, a confidence and a comment; the card from the 201
        before = card(b, "reviews")
        check(before["status"] in ("on_track", "off_track", "pending"), f"reviews: {before['status']}")
        cls, text = submit(b, "reviews", confidence="7", status="at_risk", comment="Form <b>post</b>")
        check(cls == "cimsg ok" and text == "Checked in.", f"the form's answer: {cls} {text}")
        after = card(b, "reviews")
        check(after["status"] == "at_risk" and after["label"] == ["status st-at_risk", "at risk"],
              f"the card shows the override: {after['status']} {after['label']}")
        computed = b.js("Array.from(document.querySelectorAll('#kr-reviews .flag')).map("
                        "function(f){return f.textContent}).join('|')")
        check(f"computed: {before['label'][1]}" in computed, f"the computed status beside it: {computed}")
        check(after["checkin"].startswith("people \u00b7 just now \u00b7 confidence 7/10") and
              "Override: at risk until " in after["checkin"], f"the new check-in: {after['checkin']!r}")
        check(b.js("document.querySelector('#kr-reviews .checkin .comment').textContent") ==
              "Form <b>post</b>" and
              b.js("document.querySelector('#kr-reviews .checkin .comment').children.length") == 0,
              "the form's comment as text")
        check(after["marks"] == 1, f"its mark: {after['marks']}")
        listed = api.json("/api/v1/key-results/reviews/check-ins", token=VIEWER)["check_ins"]
        check(len(listed) == 1 and listed[0]["author"] == "people" and listed[0]["confidence"] == 7
              and listed[0]["status"] == "at_risk" and listed[0]["comment"] == "Form <b>post</b>",
              f"the API has the posted check-in: {listed}")
        api.wait_for("/api/v1/key-results/reviews", lambda k: k["status"] == "at_risk",
                     "the API's key result at_risk", token=VIEWER)

        # a value moves the key result; the chart gets the point
        dots = len(card(b, "dau-up")["dots"])
        cls, text = submit(b, "dau-up", value="1300")
        check(cls == "cimsg ok", f"a value: {cls} {text}")
        check("value 1.3k" in card(b, "dau-up")["nums"], f"value from the 201: {card(b, 'dau-up')['nums']}")
        b.wait(f"document.querySelectorAll('#kr-dau-up circle.dot').length === {dots + 1}",
               "the value's point drawn")

        # refusals, in the card, as text
        cls, text = submit(b, "reviews", confidence="11")
        check(cls == "cimsg err" and text.startswith("Refused (400): confidence: "),
              f"a 400 with its field: {text!r}")
        cls, text = submit(b, "reviews", confidence="5", comment="x" * 5000)
        check(cls == "cimsg err" and text.startswith("Refused (400): comment: "), f"{text!r}")
        cls, text = submit(b, "reviews")
        check(cls == "cimsg err" and text.startswith("Refused (400): "), f"an empty check-in: {text!r}")
        check(card(b, "reviews")["checkin"] == after["checkin"], "a refusal leaves the card as it was")
        b.js(f"document.getElementById('token').value={json.dumps(VIEWER)};"
             "document.querySelector('#auth button[type=submit]').click();true")
        b.wait(LOADED_JS, "the cards with the read-only token")
        cls, text = submit(b, "reviews", confidence="2")
        check(cls == "cimsg err" and text.startswith("Refused (403): ") and "checkin" in text,
              f"a read token posting: {text!r}")
        check(len(api.json("/api/v1/key-results/reviews/check-ins", token=VIEWER)["check_ins"]) == 1,
              "nothing stored by a refused post")
        check(not b.csp_problems(), f"the CSP refused part of the page: {b.csp_problems()[:3]}")

        b.js(f"document.getElementById('token').value={json.dumps(PEOPLE)};"
             "document.querySelector('#auth button[type=submit]').click();true")
        b.wait(LOADED_JS + " && document.querySelectorAll('#kr-dau-up g.mark').length === 3",
               "the cards again")
        b.js("document.querySelector('#kr-reviews details.ciform').open=true;true")
        path = b.screenshot(os.path.join(artifacts(args), "dashboard-checkin.png"))
        check(os.path.getsize(path) > 10000, f"screenshot {path}")
        print(f"artifact: {path}")
        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}")
    finally:
        if b:
            b.close()
        d.kill()


def test_loopback_form_needs_a_token(args, wd):
    """Loopback: reads need no token, but a check-in does; the form says so,
    and posts once one is entered."""
    port = free_port()
    cfg, krs = config(wd, f"127.0.0.1:{port}")  # daemon.api_token: every scope
    api = Api(port=port)
    d = start(args.okrd, cfg)
    b = None
    try:
        api.wait_ready()
        b = browser_or_skip()
        b.go(f"http://127.0.0.1:{port}/")
        b.wait(LOADED_JS, "the cards without a token")
        cls, text = submit(b, "csat", confidence="8", comment="fine")
        check(cls == "cimsg err" and "needs an API token" in text, f"no token: {text!r}")
        check(api.json("/api/v1/key-results/csat/check-ins")["check_ins"] == [], "nothing posted")
        b.js("document.getElementById('token').value='t0ken-for-tests';"
             "document.querySelector('#auth button[type=submit]').click();true")
        b.wait(LOADED_JS, "the cards with a token")
        cls, text = submit(b, "csat", confidence="8", comment="fine")
        check(cls == "cimsg ok", f"posted: {text!r}")
        check(card(b, "csat")["checkin"].startswith("api \u00b7 just now \u00b7 confidence 8/10"),
              f"{card(b, 'csat')['checkin']!r}")
        d.stop()
    finally:
        if b:
            b.close()
        d.kill()


if __name__ == "__main__":
    main([test_checkins_on_the_dashboard, test_loopback_form_needs_a_token])
