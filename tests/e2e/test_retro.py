"""okrd retro (DESIGN section 9) end to end: a year of history for two
finished cycles (2025-Q3, 2025-Q4) ingested with `okrd ingest`; the daemon
runs on the test clock (OKRD_TEST_CLOCK) on the first day of each cycle and
after both, so it records each key result's definition and backfills the
days it was down; then 2025-Q3's objectives leave
the config and the daemon reloads. `okrd retro --cycle 2025-Q3` (and GET
/api/v1/retro, and the /retro page in headless Chromium) still answer, with
grades, days per status and lints computed here independently from the data:

  dau-q3      increase, auto baseline 1000 (v the day before the start), target
              +20% = 1200; v grows by exactly 1 a day all year, so the trend is
              an exact line ending at 1092: pending while x < 0.1 (9 days), then
              P = p / x ~ 0.46: off_track to the end; missed, grade 0.46; every
              forecast says 0, so the miss was knowable from the first day
  csat-q3     at_least 8: 9 every day but five days of 7 (2025-07-20..24): 87 of
              92 days met, achieved, grade 0.95; off track on 07-20, recovered
  signups-q3  increase to 200 from its first point (100 on 07-15): no_data for
              14 days, then +2 a day: achieved, grade 1
and the lints: reach-q3 has 1 key result, all of them achieved; signups-q3 has
14 days of no_data; the cycle's mean grade (0.46 + 0.95 + 1) / 3 > 0.8.
--markdown goes through Debian's cmark-gfm into the expected headings and
tables; the page's screenshot is a test artifact (BUILD/test-artifacts/retro.png).
"""
import datetime
import html.parser
import json
import os
import shutil
import signal
import subprocess

from apitest import Api, free_port
from cdp import Browser, chromium
from okrdtest import Daemon, check, main, run, skip

CLOCK = "2026-01-10T12:00:00Z"
Q3_START, Q3_END = datetime.date(2025, 7, 1), datetime.date(2025, 9, 30)
DAY_S = 86400
OBJ_TITLE = "Grow | *fast*"


def days(a, b):
    d = a
    while d <= b:
        yield d
        d += datetime.timedelta(days=1)


def dau(d):
    return 1000 + (d - datetime.date(2025, 6, 30)).days


def csat(d):
    return 7 if datetime.date(2025, 7, 20) <= d <= datetime.date(2025, 7, 24) else 9


def signups(d):
    return 100 + 2 * (d - datetime.date(2025, 7, 15)).days


def history():
    rows = ["metric,date,value"]
    for d in days(datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)):
        rows.append(f"dau,{d},{dau(d)}")
        rows.append(f"csat,{d},{csat(d)}")
        if datetime.date(2025, 7, 15) <= d <= Q3_END:
            rows.append(f"signups,{d},{signups(d)}")
    return "\n".join(rows) + "\n"


def q3_objectives():
    return [
        {"id": "growth-q3", "title": OBJ_TITLE, "owner": "alice", "cycle": "2025-Q3",
         "key_results": [
             {"id": "dau-q3", "title": "Daily active users +20%", "metric": "dau",
              "direction": "increase", "target": "+20%"},
             {"id": "csat-q3", "title": "Keep CSAT at 8 or higher", "metric": "csat",
              "direction": "at_least", "target": 8}]},
        {"id": "reach-q3", "title": "Reach", "owner": "bob", "cycle": "2025-Q3",
         "key_results": [
             {"id": "signups-q3", "title": "200 signups a day", "metric": "signups",
              "direction": "increase", "target": 200}]},
    ]


def q4_objectives():
    return [
        {"id": "growth-q4", "title": "Grow again", "cycle": "2025-Q4", "key_results": [
            {"id": "dau-q4", "title": "Daily active users +10%", "metric": "dau",
             "direction": "increase", "target": "+10%"},
            {"id": "csat-q4", "title": "Keep CSAT", "metric": "csat", "direction": "at_least",
             "target": 8}]},
    ]


def write_config(wd, port, objectives):
    return wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": f"127.0.0.1:{port}",
                   "timezone": "UTC", "evaluate_every": "1s"},
        "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
        "objectives": objectives})


# ---- the expected retrospective, from the data alone (section 4's rules) ----

S = datetime.datetime(2025, 7, 1, tzinfo=datetime.timezone.utc).timestamp()
E = datetime.datetime(2025, 10, 1, tzinfo=datetime.timezone.utc).timestamp()


def increase_status(n, v, b, target):
    """Status at the last second of cycle day n (1-based), linear pace,
    average projection, default thresholds."""
    t = S + n * DAY_S - 1
    x = (t - S) / (E - S)
    p = (v - b) / (target - b)
    if p >= 1:
        return "achieved"
    if x < 0.1:
        return "pending"
    P = p / x
    return "on_track" if P >= 0.9 else "at_risk" if P >= 0.7 else "off_track"


def expected_days():
    out = {"dau-q3": [], "csat-q3": [], "signups-q3": []}
    for n, d in enumerate(days(Q3_START, Q3_END), start=1):
        out["dau-q3"].append((str(d), increase_status(n, dau(d), 1000, 1200)))
        out["csat-q3"].append((str(d), "on_track" if csat(d) >= 8 else
                               "at_risk" if csat(d) >= 8 - 0.4 else "off_track"))
        if d < datetime.date(2025, 7, 15):
            out["signups-q3"].append((str(d), "no_data"))
        else:
            out["signups-q3"].append((str(d), increase_status(n, signups(d), 100, 200)))
    return out


def summarize(rows):
    counts, first_off, recovered = {}, None, None
    for i, (d, st) in enumerate(rows):
        counts[st] = counts.get(st, 0) + 1
        if st == "off_track" and first_off is None:
            first_off = d
            recovered = any(s in ("on_track", "achieved") for _, s in rows[i + 1:])
    return counts, first_off, recovered


def grade(score):
    return int(score * 100 + 0.5 + 1e-9) / 100


def expected():
    rows = expected_days()
    csat_share = sum(1 for d in days(Q3_START, Q3_END) if csat(d) >= 8) / 92
    krs = {
        "dau-q3": {"status": "missed", "grade": grade((dau(Q3_END) - 1000) / 200),
                   "value": dau(Q3_END), "baseline": 1000, "target": 1200,
                   "knowable_from": str(Q3_START)},
        "csat-q3": {"status": "achieved" if csat_share >= 0.9 else "missed",
                    "grade": grade(csat_share), "value": csat(Q3_END), "baseline": None,
                    "target": 8, "knowable_from": None},
        "signups-q3": {"status": "achieved", "grade": 1, "value": signups(Q3_END),
                       "baseline": 100, "target": 200, "knowable_from": None},
    }
    for k, v in krs.items():
        v["days_in_status"], v["first_off_track"], v["recovered"] = summarize(rows[k])
    return krs


# ---- helpers ----

def retro_json(args, cfg, *extra):
    r = run(args.okrd, "retro", "-c", cfg, "--json", *extra, env={"OKRD_TEST_CLOCK": CLOCK})
    check(r.returncode == 0, f"retro --json {extra}: {r.returncode} {r.stderr}")
    return json.loads(r.stdout)


def kr_of(doc, kr_id):
    for o in doc["objectives"]:
        for k in o["key_results"]:
            if k["id"] == kr_id:
                return k
    return None


def days_recorded(args, cfg, clock, cycle, krs, want):
    """The retrospective of CYCLE once each of KRS has WANT days of history."""
    r = run(args.okrd, "retro", "-c", cfg, "--json", "--cycle", cycle,
            env={"OKRD_TEST_CLOCK": clock})
    if r.returncode != 0:
        return None
    doc = json.loads(r.stdout)
    ks = [kr_of(doc, k) for k in krs]
    if any(k is None or sum(k["days_in_status"].values()) != want for k in ks):
        return None
    return doc


def run_daemon_at(args, cfg, clock, cycle, krs, want):
    """okrd run on the test clock at CLOCK until CYCLE's key results KRS hold
    WANT days of history, then stopped."""
    d = Daemon(args.okrd, cfg, env={"OKRD_TEST_CLOCK": clock})
    try:
        d.wait_log("event=api_listening")
        poll(lambda: days_recorded(args, cfg, clock, cycle, krs, want),
             f"{want} days of {cycle} recorded at {clock}")
        code, _ = d.stop()
        check(code == 0, f"exit 0 at {clock}: {code}")
    finally:
        d.kill()


def poll(fn, what, deadline=60.0):
    import time
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    check(False, f"timed out waiting for {what}")


def check_document(doc):
    want = expected()
    check(doc["cycle"] == {"start": "2025-07-01", "end": "2025-09-30"} and doc["final"] is True,
          f"cycle and final: {doc['cycle']} {doc['final']}")
    check([o["id"] for o in doc["objectives"]] == ["growth-q3", "reach-q3"],
          f"objectives: {[o['id'] for o in doc['objectives']]}")
    growth, reach = doc["objectives"]
    check(growth["title"] == OBJ_TITLE and growth["parent"] is None, f"growth: {growth}")
    check(abs(growth["score"] - (want["dau-q3"]["grade"] + want["csat-q3"]["grade"]) / 2) < 1e-9,
          f"growth score {growth['score']}")
    check(reach["score"] == 1, f"reach score {reach['score']}")
    for kid, w in want.items():
        k = kr_of(doc, kid)
        check(k is not None, f"{kid} in the retrospective")
        for field in ("status", "grade", "value", "target", "days_in_status", "first_off_track",
                      "recovered", "knowable_from"):
            check(k[field] == w[field], f"{kid}.{field}: {k[field]!r}, want {w[field]!r}")
        if w["baseline"] is not None:
            check(k["baseline"] == w["baseline"], f"{kid}.baseline {k['baseline']}")
        check(k["check_ins"] == 0 and k["confidence_trail"] == [] and k["last_comment"] is None
              and k["overridden_days"] == 0 and k["given_grade"] is None, f"{kid}: no check-ins")
    msgs = [(l["objective"], l["key_result"], l["message"]) for l in doc["lints"]]
    check(any(o == "reach-q3" and k is None and m.startswith("1 key result") for o, k, m in msgs),
          f"reach-q3's size lint: {msgs}")
    check(any(o == "reach-q3" and k is None and "all key results achieved" in m
              for o, k, m in msgs), f"reach-q3 all achieved: {msgs}")
    check(any(o == "reach-q3" and k == "signups-q3" and m.startswith("14 days of no_data")
              for o, k, m in msgs), f"signups-q3's no_data lint: {msgs}")
    mean = (want["dau-q3"]["grade"] + want["csat-q3"]["grade"] + 1) / 3
    check(mean > 0.8 and any(o is None and k is None and "above 0.8" in m for o, k, m in msgs),
          f"the cycle's mean grade lint ({mean}): {msgs}")
    check(len(msgs) == 4, f"exactly those four lints: {msgs}")


class Tables(html.parser.HTMLParser):
    """Headings and table cells of cmark-gfm's HTML."""

    def __init__(self):
        super().__init__()
        self.headings, self.tables, self.cur, self.text, self.tag = [], [], None, "", None

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2", "td", "th"):
            self.tag, self.text = tag, ""
        elif tag == "table":
            self.cur = []
            self.tables.append(self.cur)
        elif tag == "tr" and self.cur is not None:
            self.cur.append([])
        elif tag in ("em", "strong", "a", "script"):
            self.text += f"<{tag}>"

    def handle_endtag(self, tag):
        if tag in ("h1", "h2"):
            self.headings.append((tag, self.text))
            self.tag = None
        elif tag in ("td", "th") and self.cur is not None:
            self.cur[-1].append(self.text)
            self.tag = None

    def handle_data(self, data):
        if self.tag:
            self.text += data


def test_retro_after_the_config_moved_on(args, wd):
    os.makedirs(os.path.join(wd.path, "inbox"))
    port = free_port()
    cfg = write_config(wd, port, q3_objectives() + q4_objectives())
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("year.csv", history()))
    check(r.returncode == 0, f"ingest: {r.stderr}")

    # Before the daemon ever ran, nothing is archived: a clear refusal, exit 1.
    r = run(args.okrd, "retro", "-c", cfg, "--cycle", "2025-Q3", env={"OKRD_TEST_CLOCK": CLOCK})
    check(r.returncode == 1 and "2025-Q3" in r.stderr, f"unknown cycle: {r.returncode} {r.stderr}")

    # okrd watches each cycle while it runs (a cycle it never saw a day of is
    # history it cannot vouch for); the days it was down are backfilled at
    # the next start: Q3's first day, then Q4's first day (Q3 ended while
    # okrd was down: 07-02..09-30 backfilled), then after Q4 ended.
    q3, q4 = ["dau-q3", "csat-q3", "signups-q3"], ["dau-q4", "csat-q4"]
    run_daemon_at(args, cfg, "2025-07-01T12:00:00Z", "2025-Q3", q3, 1)
    run_daemon_at(args, cfg, "2025-10-01T12:00:00Z", "2025-Q3", q3, 92)
    d = Daemon(args.okrd, cfg, env={"OKRD_TEST_CLOCK": CLOCK})
    b = None
    try:
        d.wait_log("event=api_listening")
        poll(lambda: days_recorded(args, cfg, CLOCK, "2025-Q4", q4, 92), "2025-Q4's history")
        # 2025-Q3's objectives leave the config; the daemon reloads.
        write_config(wd, port, q4_objectives())
        d.signal(signal.SIGHUP)
        d.wait_log("event=reloaded")
        status = run(args.okrd, "status", "-c", cfg, "--json")
        check(kr_of(json.loads(status.stdout), "dau-q3") is None, "dau-q3 left the config")

        doc = retro_json(args, cfg, "--cycle", "2025-Q3")
        check_document(doc)
        check(retro_json(args, cfg, "--cycle", "2025-07-01..2025-09-30") == doc,
              "START..END names the same cycle")
        default = retro_json(args, cfg)
        check(default["cycle"] == {"start": "2025-10-01", "end": "2025-12-31"},
              f"default: the cycle that ended most recently: {default['cycle']}")

        r = run(args.okrd, "retro", "-c", cfg, "--cycle", "2024-Q1")
        check(r.returncode == 1 and "2024-01-01..2024-03-31" in r.stderr,
              f"an unknown cycle: exit 1, named: {r.returncode} {r.stderr}")
        r = run(args.okrd, "retro", "-c", cfg, "--cycle", "2025-Q5")
        check(r.returncode == 2 and "2025-Q5" in r.stderr, f"a bad cycle: {r.returncode}")

        # The table names every key result and lint.
        r = run(args.okrd, "retro", "-c", cfg, "--cycle", "2025-Q3")
        check(r.returncode == 0 and all(k in r.stdout for k in ("dau-q3", "csat-q3", "signups-q3",
                                                                 "14 days of no_data")),
              f"table: {r.stdout}")

        # The API answers the same document (and validates against openapi.yaml).
        api = Api(port=port)
        api.wait_ready()
        check(api.json("/api/v1/retro?cycle=2025-Q3") == doc, "GET /api/v1/retro == retro --json")
        api.json("/api/v1/retro?cycle=2024-Q1", want=404)
        api.json("/api/v1/retro?cycle=2025-13-01..2025-14-01", want=400)

        # --markdown through cmark-gfm: headings per objective, escaped tables.
        exe = shutil.which("cmark-gfm")
        if not exe:
            skip("no cmark-gfm (Debian package cmark-gfm)")
        r = run(args.okrd, "retro", "-c", cfg, "--cycle", "2025-Q3", "--markdown")
        check(r.returncode == 0, f"--markdown: {r.stderr}")
        html_out = subprocess.run([exe, "-e", "table"], input=r.stdout, capture_output=True,
                                  text=True, check=True).stdout
        t = Tables()
        t.feed(html_out)
        check(t.headings == [("h1", "Retrospective 2025-07-01..2025-09-30"),
                             ("h2", f"growth-q3: {OBJ_TITLE}"), ("h2", "reach-q3: Reach"),
                             ("h2", "Lints")], f"headings: {t.headings}")
        check(len(t.tables) == 3, f"a table per objective and the lints: {len(t.tables)}")
        for table, ids in ((t.tables[0], ["csat-q3", "dau-q3"]), (t.tables[1], ["signups-q3"])):
            check(table[0][0] == "Key result" and [row[0] for row in table[1:]] == ids,
                  f"rows {[row[0] for row in table[1:]]}, want {ids}")
            for row in table[1:]:
                check(len(row) == len(table[0]), f"{row[0]}: {len(row)} cells, {len(table[0])} heads")
                check(row[4] == str(expected()[row[0]]["grade"]) or
                      float(row[4]) == expected()[row[0]]["grade"], f"{row[0]} grade cell {row[4]}")
        check(len(t.tables[2]) == 5, f"four lints: {t.tables[2]}")

        # The page, in headless Chromium.
        exe = chromium()
        if not exe:
            skip("no chromium installed (Debian package chromium)")
        b = Browser(exe)
        b.go(f"http://127.0.0.1:{port}/retro?cycle=2025-Q3")
        b.wait("document.body.getAttribute('data-state') === 'ready'", "the retrospective drawn")
        rows = b.js("Array.from(document.querySelectorAll('tr[id^=kr-]')).map(function(r){"
                    "return [r.id].concat(Array.from(r.cells).map(function(c){return c.textContent}))})")
        check([r[0] for r in rows] == ["kr-csat-q3", "kr-dau-q3", "kr-signups-q3"], f"rows {rows}")
        byid = {r[0][3:]: r for r in rows}
        check(byid["dau-q3"][4] == "missed" and byid["dau-q3"][5] == "0.46",
              f"dau-q3 row {byid['dau-q3']}")
        check(b.js("document.querySelector('#obj-growth-q3 h2').textContent") ==
              f"growth-q3: {OBJ_TITLE}", "the title as text")
        check(b.js("document.querySelectorAll('section.lints li').length") == 4, "four lints")
        check(not b.csp_problems(), f"the CSP refused part of the page: {b.csp_problems()[:3]}")
        out = os.path.join(os.path.dirname(os.path.abspath(args.okrd)), "test-artifacts")
        os.makedirs(out, exist_ok=True)
        path = b.screenshot(os.path.join(out, "retro.png"))
        check(os.path.getsize(path) > 10000, f"screenshot {path}")
        print(f"artifact: {path}")
        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}")
    finally:
        if b:
            b.close()
        d.kill()


if __name__ == "__main__":
    main([test_retro_after_the_config_moved_on])
