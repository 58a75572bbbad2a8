"""Check-in reminders end to end (DESIGN section 8): the real okrd on the
test clock (OKRD_TEST_CLOCK: the daemon's clock starts at the given instant
and runs at the real pace, so a test starts it 3 s before Monday 09:00),
Python receivers on 127.0.0.1, check-ins written into the store with
sqlite3 or psql (the schema of migration 6) before okrd starts.

  1. at the slot: one checkin.due per webhook, grouped by owner (a null
     owner, a Slack mention), days since the last check-in; a key result
     checked in recently, or exactly `every` ago, or of a cycle not yet
     started, is absent; a check-in made after the slot does not count;
     filters: `objectives` per key result, `events` without checkin.due,
     a webhook whose filter keeps nothing, Slack with the mention as written;
     the weekly digest at the same slot carries owners, confidence, comment;
  2. a restart within the slot does not send it again;
  3. started 3 h after a missed slot: sent once (and not again on the next
     restart);
  4. started 2 days after a missed slot: not sent.
"""
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from okrdtest import Daemon, StoreDb, TestFailure, check, main, run

SLOT = 1795424400          # Monday 2026-11-23 09:00:00 UTC
SLOT_TEXT = "2026-11-23T09:00:00Z"
DAY, HOUR = 86400, 3600
MENTION = "<@U024BE7LH>"


def utc(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class Receiver:
    """Records every POST (body parsed when it is JSON); answers 204."""

    def __init__(self):
        self.bodies = []
        self.cond = threading.Condition()
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                with rec.cond:
                    rec.bodies.append(json.loads(raw))
                    rec.cond.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def digests(self):
        with self.cond:
            return [b for b in self.bodies if b.get("type") == "digest.weekly"]

    def due(self):
        with self.cond:
            return [b for b in self.bodies if b.get("type") == "checkin.due"]

    def slack_due(self):
        with self.cond:
            return [b for b in self.bodies if "Check-ins due" in json.dumps(b.get("blocks", []))]

    def wait(self, pred, what, deadline=30.0):
        end = time.monotonic() + deadline
        with self.cond:
            while not pred():
                left = end - time.monotonic()
                if left <= 0:
                    raise TestFailure(f"timed out after {deadline}s waiting for {what}; got "
                                      f"{self.bodies}")
                self.cond.wait(left)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Setup:
    """A config with three objectives, four webhooks and check-in rows."""

    def __init__(self, args, wd, slot=SLOT):
        self.args, self.wd, self.slot = args, wd, slot
        self.all, self.growth, self.alerts, self.slack = (Receiver() for _ in range(4))
        self.state = os.path.join(wd.path, "state")
        os.makedirs(os.path.join(wd.path, "inbox"), exist_ok=True)
        kr = lambda i, **kw: {"id": i, "title": kw.pop("title", i.title()), "metric": i,
                              "direction": "increase", "baseline": 1000, "target": 1200, **kw}
        self.cfg = wd.config({
            "daemon": {"state_dir": self.state, "listen": "", "timezone": "UTC"},
            "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
            "objectives": [
                {"id": "growth", "title": "Grow", "owner": MENTION,
                 "cycle": {"start": "2026-10-01", "end": "2026-12-31"},
                 "key_results": [kr("dau-up"), kr("activation", title="Activation <b> & more"),
                                 kr("signups", owner="alice")]},
                {"id": "support", "title": "Support", "cycle": "2026-Q4",
                 "key_results": [kr("csat"), kr("tickets", owner="alice"),
                                 kr("nps", owner="alice")]},
                {"id": "next", "title": "Next", "owner": "bob", "cycle": "2027-Q1",
                 "key_results": [kr("later")]}],
            "webhooks": [
                {"id": "all", "url": self.all.url},
                {"id": "growth-only", "url": self.growth.url, "objectives": ["growth"]},
                {"id": "alerts-only", "url": self.alerts.url, "events": ["kr.off_track"]},
                {"id": "next-only", "url": self.alerts.url, "objectives": ["next"]},
                {"id": "growth-slack", "url": self.slack.url, "format": "slack",
                 "objectives": ["growth"]}],
            "checkins": {"remind": "monday 09:00", "every": "7d"},
            "alerts": {"digest": {"every": "monday 09:00", "webhooks": ["all"]}},
        })
        # `okrd ingest` creates and migrates the store (and gives dau-up and
        # activation a value), so check-ins can be written before okrd runs.
        csv = wd.file("points.csv", "metric,timestamp,value\n"
                      f"dau-up,{slot - 3 * DAY},1040\nactivation,{slot - 3 * DAY},1100\n")
        r = run(args.okrd, "ingest", "-c", self.cfg, "--source", "drops", csv)
        check(r.returncode == 0, f"okrd ingest failed: {r.stderr}")
        self.db = StoreDb(wd, self.state)
        self.checkin("dau-up", "2026-10-01", slot - 2 * DAY)         # recent: not due
        self.checkin("signups", "2026-10-01", slot - 9 * DAY - 12 * HOUR)  # 9 days: due
        self.checkin("tickets", "2026-10-01", slot - 7 * DAY)        # exactly every: not due
        self.checkin("nps", "2026-10-01", slot - 10 * DAY)           # 10 days: due ...
        self.checkin("nps", "2026-10-01", slot + HOUR, seq=2)        # ... this one is after the slot
        self.checkin("csat", "2026-07-01", slot - DAY)               # another cycle's: csat never
        self.daemon = None

    def checkin(self, kr, cycle_start, at, seq=1):
        self.db.execute("INSERT INTO checkins (id, key_result, cycle_start, seq, at_s, author,"
                        " confidence, comment) VALUES (?, ?, ?, ?, ?, 'api', 7, 'fine')",
                        (f"chk_{kr}_{cycle_start}_{seq}", kr, cycle_start, seq, at))

    def start(self, clock):
        self.daemon = Daemon(self.args.okrd, self.cfg, env={"OKRD_TEST_CLOCK": str(clock)})
        self.daemon.wait_log("started")
        return self.daemon

    def stop(self):
        code, _ = self.daemon.stop(10)
        check(code == 0, f"okrd exited {code}")

    def events_in_store(self):
        return self.db.rows("SELECT count(*) FROM outbox WHERE type = 'checkin.due'")[0][0]

    def close(self):
        if self.daemon:
            self.daemon.kill()
        for r in (self.all, self.growth, self.alerts, self.slack):
            r.close()


def owners(body):
    return [(g["owner"], [k["id"] for k in g["key_results"]]) for g in body["owners"]]


def check_full(body, slot=SLOT):
    check(body["slot"] == utc(slot) and body["occurred_at"] == utc(slot),
          f"slot/occurred_at: {body['slot']}, {body['occurred_at']}")
    check(owners(body) == [(MENTION, ["activation"]), ("alice", ["signups", "nps"]),
                           (None, ["csat"])], f"grouping: {owners(body)}")
    krs = {k["id"]: k for g in body["owners"] for k in g["key_results"]}
    check(krs["signups"]["days_since_check_in"] == 9, f"signups: {krs['signups']}")
    check(krs["nps"]["days_since_check_in"] == 10, f"nps (a later check-in ignored): {krs['nps']}")
    check(krs["csat"]["days_since_check_in"] is None, f"csat never checked in: {krs['csat']}")
    check(krs["activation"]["days_since_check_in"] is None, f"activation: {krs['activation']}")
    a = krs["activation"]
    check(a["objective"] == "growth" and a["title"] == "Activation <b> & more",
          f"activation: {a}")
    check(abs(a["progress"] - 0.5) < 1e-9, f"activation progress at the slot: {a}")
    want_expected = (slot - 1790812800) / (1798761600 - 1790812800)
    check(abs(a["expected"] - want_expected) < 1e-6, f"activation expected: {a}")
    check(krs["csat"]["status"] == "no_data" and krs["csat"]["progress"] is None,
          f"csat: {krs['csat']}")
    check("4 key results are due" in body["summary"], body["summary"])


def test_at_the_slot_and_restart(args, wd):
    s = Setup(args, wd)
    try:
        d = s.start(SLOT - 3)
        d.wait_log(["checkin_reminder", f"slot={SLOT_TEXT}", "due=4", "events=2"])
        s.all.wait(lambda: s.all.due(), "checkin.due at the webhook without filters")
        s.growth.wait(lambda: s.growth.due(), "checkin.due at the growth-only webhook")
        s.slack.wait(lambda: s.slack.slack_due(), "the Slack checkin.due")
        check(len(s.all.due()) == 1 and len(s.growth.due()) == 1, "one event each")
        check_full(s.all.due()[0])
        g = s.growth.due()[0]
        check(owners(g) == [(MENTION, ["activation"]), ("alice", ["signups"])],
              f"growth-only keeps the growth key results: {owners(g)}")
        check(g["id"] != s.all.due()[0]["id"], "a different list is a different event")
        text = json.dumps(s.slack.slack_due()[0]["blocks"], ensure_ascii=False)
        check(f"*{MENTION}*" in text, f"the owner is printed as written: {text}")
        check("Activation &lt;b&gt; &amp; more" in text, f"titles are escaped: {text}")
        check("csat" not in text.lower(), "the Slack webhook's filter keeps growth only")
        # alerts-only (no checkin.due in its events) and next-only (its
        # objective is not running) share a receiver: it gets nothing.
        check(s.events_in_store() == 2, f"events in the outbox: {s.events_in_store()}")
        check(s.alerts.due() == [], f"filtered webhooks got {s.alerts.bodies}")

        # The weekly digest at the same slot: owner, latest confidence and comment.
        s.all.wait(lambda: s.all.digests(), "the weekly digest")
        krs = {k["id"]: k for o in s.all.digests()[0]["objectives"] for k in o["key_results"]}
        check((krs["signups"]["owner"], krs["signups"]["confidence"], krs["signups"]["comment"])
              == ("alice", 7, "fine"), f"signups in the digest: {krs['signups']}")
        check((krs["csat"]["owner"], krs["csat"]["confidence"], krs["csat"]["comment"])
              == (None, None, None), f"csat in the digest: {krs['csat']}")
        check(krs["activation"]["owner"] == MENTION, f"activation: {krs['activation']}")
        s.stop()

        # A restart within the slot: the slot is recorded, nothing more is sent.
        d = s.start(SLOT + 60)
        d.wait_log(["checkin_reminder", f"slot={SLOT_TEXT}", "already sent"])
        check(s.events_in_store() == 2, f"events after the restart: {s.events_in_store()}")
        check(len(s.all.due()) == 1, f"sent again: {s.all.due()}")
        s.stop()
    finally:
        s.close()


def test_missed_three_hours_ago(args, wd):
    s = Setup(args, wd)
    try:
        d = s.start(SLOT + 3 * HOUR)
        d.wait_log(["checkin_reminder", f"slot={SLOT_TEXT}", "due=4", "sent late"])
        s.all.wait(lambda: s.all.due(), "the late checkin.due")
        body = s.all.due()[0]
        check_full(body)  # evaluated at the slot, not at start-up
        s.stop()
        d = s.start(SLOT + 3 * HOUR + 60)
        d.wait_log(["checkin_reminder", f"slot={SLOT_TEXT}", "already sent"])
        check(s.events_in_store() == 2 and len(s.all.due()) == 1,
              f"sent once: {s.events_in_store()} events, {len(s.all.due())} received")
        s.stop()
    finally:
        s.close()


def test_missed_two_days_ago(args, wd):
    s = Setup(args, wd)
    try:
        d = s.start(SLOT + 2 * DAY)
        # On SQLite the node leads before "started"; on PostgreSQL once it has
        # taken the leader lock, a moment later: wait for the line.
        d.wait_log(["event=checkin_reminder", f"slot={SLOT_TEXT}", "msg=\"not caught up"])
        # That line is logged instead of queueing the slot (start-up decides
        # it once), so nothing can be written for it later.
        s.stop()
        check("due=" not in s.daemon.log(), f"a reminder was written:\n{s.daemon.log()}")
        check(s.events_in_store() == 0, f"events: {s.events_in_store()}")
        check(s.all.due() == [], f"received: {s.all.due()}")
    finally:
        s.close()


if __name__ == "__main__":
    main([test_at_the_slot_and_restart, test_missed_three_hours_ago, test_missed_two_days_ago])
