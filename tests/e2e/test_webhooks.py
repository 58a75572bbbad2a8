"""Webhook alerts end to end (DESIGN section 5): the real okrd, CSV files
dropped into a csv_dir inbox to move a key result across thresholds, and
Python standard-library receivers on 127.0.0.1 that answer as each scenario
needs and record every attempt.

  1. signatures verify with the npm `standardwebhooks` package (an
     implementation nobody here wrote), run with the machine's Node.js;
  2. a receiver that fails for a while, then accepts: every event arrives,
     in order, exactly once by id, with the backoff visible in the attempts;
  3. SIGKILL with events pending, restart: nothing lost, nothing invented;
  4. 410 dead-letters at once and disables that webhook while another keeps
     delivering; a 400 is retried until the receiver accepts; a reload
     enables it, a second 410 disables it again (its next event waits), and
     a restart enables it (the store's record of the 410 is older);
  5. 429 with Retry-After: 3 waits at least 3 s (and a longer one wins over
     the backoff).

alerts.for is "0s" and every wait is for an event with a deadline.
"""
import datetime as dt
import json
import os
import urllib.request
import socket
import re
import shutil
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from okrdtest import Daemon, TestFailure, check, main, run, skip

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
# Values of the key result "dau-up" (1000 -> 1200, about half the cycle gone):
OFF, ON = 1010, 1150


class Receiver:
    """An HTTP server on 127.0.0.1:0. answer(n, req) -> (status, headers)
    decides each reply (n = 0-based request count); every request is kept
    as a dict with t (monotonic seconds), id, headers, body, status."""

    def __init__(self, answer=lambda n, req: (204, {})):
        self.answer = answer
        self.requests = []
        self.cond = threading.Condition()
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                req = {"t": time.monotonic(), "id": self.headers.get("webhook-id"),
                       "headers": {k.lower(): v for k, v in self.headers.items()},
                       "body": body.decode(), "path": self.path}
                with rec.cond:
                    status, hdrs = rec.answer(len(rec.requests), req)
                    req["status"] = status
                    rec.requests.append(req)
                    rec.cond.notify_all()
                self.send_response(status)
                for k, v in hdrs.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, pred, what, deadline=30.0):
        end = time.monotonic() + deadline
        with self.cond:
            while not pred(self.requests):
                left = end - time.monotonic()
                if left <= 0:
                    raise TestFailure(f"timed out after {deadline}s waiting for {what}; got "
                                      f"{[(r['id'], json.loads(r['body']).get('type'), r['status']) for r in self.requests]}")
                self.cond.wait(left)
            return list(self.requests)

    def delivered(self):
        with self.cond:
            return [r for r in self.requests if 200 <= r["status"] < 300]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def config(wd, webhooks, listen="", **alerts):
    today = dt.date.today()
    start, end = today - dt.timedelta(days=45), today + dt.timedelta(days=44)
    return wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": listen},
        "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
        "objectives": [{"id": "growth", "title": "Grow", "cycle": {"start": start.isoformat(),
                                                                   "end": end.isoformat()},
                        "key_results": [{"id": "dau-up", "title": "Increase DAU by 20%",
                                         "metric": "dau", "direction": "increase",
                                         "baseline": 1000, "target": 1200}]}],
        "webhooks": webhooks,
        "alerts": {"for": "0s", **alerts},
    })


class Drops:
    """Moves dau-up across thresholds: each value is a new point, stamped a
    second after the previous one (and in the past), renamed into the inbox."""

    def __init__(self, wd):
        self.inbox = os.path.join(wd.path, "inbox")
        os.makedirs(self.inbox, exist_ok=True)
        self.ts = int(time.time()) - 3600
        self.n = 0

    def put(self, value):
        self.ts += 1
        self.n += 1
        tmp = os.path.join(self.inbox, f".drop{self.n}.tmp")
        with open(tmp, "w") as f:
            f.write(f"metric,timestamp,value\ndau,{self.ts},{value}\n")
        os.rename(tmp, os.path.join(self.inbox, f"drop{self.n}.csv"))


def types(reqs):
    return [json.loads(r["body"])["type"] for r in reqs]


def node_verify(args, wd, reqs):
    """Webhook.verify from the npm standardwebhooks package on each request;
    returns None if node or the package is absent (the caller skips with a
    message). The package is installed by scripts/test (an install step, like
    apt-get), never by the test: tests do not touch the network."""
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        return None
    mods = os.environ.get("OKRD_NODE_MODULES") or os.path.join(
        os.path.dirname(os.path.abspath(args.okrd)), "e2e-node", "node_modules")
    if not os.path.isdir(os.path.join(mods, "standardwebhooks")):
        return None
    script = wd.file("verify.js", """
const { Webhook } = require("standardwebhooks");
const reqs = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
const wh = new Webhook(process.argv[3]);
for (const r of reqs) {
  try { wh.verify(r.body, r.headers); console.log("ok"); }
  catch (e) { console.log("FAIL " + e.message); }
}
""")
    data = wd.file("reqs.json", json.dumps(reqs))
    r = subprocess.run([node, script, data, SECRET], capture_output=True, text=True,
                       env={**os.environ, "NODE_PATH": mods}, timeout=60)
    check(r.returncode == 0, f"node failed: {r.stderr}")
    return r.stdout.split("\n")[:len(reqs)]


def test_signatures_verify_with_standardwebhooks(args, wd):
    signed, plain = Receiver(), Receiver()
    cfg = config(wd, [{"id": "signed", "url": signed.url, "secret": SECRET},
                      {"id": "plain", "url": plain.url}])
    drops = Drops(wd)
    drops.put(OFF)
    d = Daemon(args.okrd, cfg)
    try:
        signed.wait(lambda r: len(r) >= 1, "kr.off_track")
        drops.put(ON)
        reqs = signed.wait(lambda r: len(r) >= 2, "kr.back_on_track")
        check(types(reqs) == ["kr.off_track", "kr.back_on_track"], f"events: {types(reqs)}")
        body = json.loads(reqs[0]["body"])
        check(reqs[0]["id"] == body["id"] and body["id"].startswith("evt_"),
              f"webhook-id is the event id: {reqs[0]['id']} vs {body['id']}")
        check(reqs[0]["headers"]["content-type"] == "application/json", "JSON content type")
        check("score" not in body["key_result"], "the webhook key_result has no score")
        check("is off track" in body["summary"], f"summary: {body['summary']}")
        preqs = plain.wait(lambda r: len(r) >= 2, "both events unsigned")
        check("webhook-signature" not in preqs[0]["headers"], "no secret: unsigned")
        check(preqs[0]["id"] == reqs[0]["id"], "one event id for every webhook")
        results = node_verify(args, wd, reqs)
        if results is None:
            skip("node or the standardwebhooks package is missing (scripts/test installs it); "
                 "the other checks passed")
        check(results == ["ok"] * len(reqs), f"standardwebhooks verify: {results}")
        # A tampered body must fail: the check can tell good from bad.
        bad = [dict(reqs[0], body=reqs[0]["body"].replace("off", "0ff"))]
        check(node_verify(args, wd, bad)[0].startswith("FAIL"), "a tampered body fails")
    finally:
        d.kill()
        signed.close()
        plain.close()


def test_down_then_up_in_order_once(args, wd):
    state = {"up": False}
    rec = Receiver(lambda n, req: (204, {}) if state["up"] else (503, {}))
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    cfg = config(wd, [{"id": "r", "url": rec.url, "secret": SECRET}], listen=f"127.0.0.1:{port}")
    drops = Drops(wd)
    drops.put(OFF)
    d = Daemon(args.okrd, cfg)
    try:
        rec.wait(lambda r: len(r) >= 1, "the first attempt")
        # One file at a time: an evaluation may see two files at once (and no
        # change), so each flip is awaited before the next file.
        drops.put(ON)
        d.wait_log(["event=kr_status", "to=on_track"])
        drops.put(OFF)
        d.wait_log(["event=kr_status", "to=off_track", "from=on_track"])
        # The oldest event is retried with backoff; the others wait behind it.
        reqs = rec.wait(lambda r: len(r) >= 3, "three attempts of the first event", 40)
        check(len({r["id"] for r in reqs[:3]}) == 1, "only the oldest event is attempted")
        gaps = [reqs[i + 1]["t"] - reqs[i]["t"] for i in range(2)]
        check(3.9 <= gaps[0] <= 7.5 and 7.9 <= gaps[1] <= 13.5,
              f"backoff 5 s then 10 s (+-20%, whole seconds): {gaps}")
        state["up"] = True
        rec.wait(lambda r: len([x for x in r if x["status"] == 204]) >= 3, "all three delivered", 40)
        ok = rec.delivered()
        check(types(ok) == ["kr.off_track", "kr.back_on_track", "kr.off_track"],
              f"in order of creation: {types(ok)}")
        check(len({r["id"] for r in ok}) == 3, f"each id once: {[r['id'] for r in ok]}")
        # /metrics counts every answer per webhook.
        end = time.monotonic() + 15
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
                text = resp.read().decode()
            delivered = re.search(r'okrd_webhook_deliveries_total\{webhook="r",result="delivered"\} (\d+)', text)
            retried = re.search(r'okrd_webhook_deliveries_total\{webhook="r",result="retried"\} (\d+)', text)
            if delivered and int(delivered.group(1)) == 3 or time.monotonic() > end:
                break
            time.sleep(0.1)  # polling a counter with a deadline, not waiting for time to pass
        check(delivered and int(delivered.group(1)) == 3, f"3 delivered counted: {delivered}")
        check(retried and int(retried.group(1)) >= 2, f"the retries counted: {retried}")
        code, _ = d.stop()
        check(code == 0, f"clean exit: {code}")
    finally:
        d.kill()
        rec.close()


def test_sigkill_with_pending_events(args, wd):
    state = {"up": False}
    rec = Receiver(lambda n, req: (204, {}) if state["up"] else (500, {}))
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    cfg = config(wd, [{"id": "r", "url": rec.url, "secret": SECRET}], listen=f"127.0.0.1:{port}")
    drops = Drops(wd)
    drops.put(OFF)
    d = Daemon(args.okrd, cfg)
    try:
        rec.wait(lambda r: len(r) >= 1, "the first attempt")
        drops.put(ON)
        d.wait_log(["event=kr_status", "to=on_track"])
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(5)
        st = run(args.okrd, "status", "-c", cfg)
        check("2 pending" in st.stdout, f"status shows the pending deliveries:\n{st.stdout}")
        state["up"] = True
        d = Daemon(args.okrd, cfg)
        rec.wait(lambda r: len([x for x in r if x["status"] == 204]) >= 2, "both delivered", 40)
        # One more change: were the restart to re-alert, its event would come
        # before this one (deliveries are in order of creation).
        drops.put(OFF)
        rec.wait(lambda r: len([x for x in r if x["status"] == 204]) >= 3, "the next event", 40)
        ok = rec.delivered()
        check(types(ok) == ["kr.off_track", "kr.back_on_track", "kr.off_track"],
              f"nothing lost, nothing repeated: {types(ok)}")
        check(len({r["id"] for r in ok}) == 3, "three distinct ids")
        code, _ = d.stop()
        check(code == 0, f"clean exit: {code}")
        st = run(args.okrd, "status", "-c", cfg)
        check("webhook deliveries" not in st.stdout, f"nothing pending:\n{st.stdout}")
    finally:
        d.kill()
        rec.close()


def test_410_disables_400_retried(args, wd):
    gone = Receiver(lambda n, req: (410, {}))
    picky = Receiver(lambda n, req: (400, {}) if n < 2 else (204, {}))
    cfg = config(wd, [{"id": "gone", "url": gone.url, "secret": SECRET},
                      {"id": "picky", "url": picky.url}])
    drops = Drops(wd)
    drops.put(OFF)
    d = Daemon(args.okrd, cfg)
    try:
        d.wait_log(["event=webhook_disabled", "webhook=gone"])
        drops.put(ON)
        reqs = picky.wait(lambda r: len([x for x in r if x["status"] == 204]) >= 2,
                          "picky accepts both events", 40)
        check([r["status"] for r in reqs][:3] == [400, 400, 204], f"400 retried: {reqs}")
        check(types(picky.delivered()) == ["kr.off_track", "kr.back_on_track"],
              f"picky got both: {types(picky.delivered())}")
        check(len(gone.requests) == 1, f"gone was tried once: {len(gone.requests)}")
        st = run(args.okrd, "status", "-c", cfg)
        check("1 pending, 1 dead-lettered" in st.stdout and "HTTP 410" in st.stdout,
              f"status shows the dead and the waiting one:\n{st.stdout}")
        # A reload enables it again; its pending event goes out (and is gone again).
        d.signal(signal.SIGHUP)
        gone.wait(lambda r: len(r) >= 2, "gone tried again after reload")
        # Disabled again (recorded in the store): a third event waits for it ...
        d.wait_log(["event=webhook_disabled", "webhook=gone"])
        drops.put(OFF)
        picky.wait(lambda r: len([x for x in r if x["status"] == 204]) >= 3,
                   "picky got the third event")
        check(len(gone.requests) == 2, f"gone not tried while disabled: {len(gone.requests)}")
        # ... and a restart enables it (DESIGN 5): the 410 the store recorded
        # came before this start.
        code, _ = d.stop()
        check(code == 0, f"clean stop: {code}")
        d = Daemon(args.okrd, cfg)
        reqs = gone.wait(lambda r: len(r) >= 3, "gone tried again after the restart")
        check(json.loads(reqs[2]["body"])["type"] == "kr.off_track",
              f"the third event: {reqs[2]['body'][:80]}")
        check("event=webhook_disabled webhook=gone disabled_at" not in d.log(),
              "the restart does not keep it disabled")
    finally:
        d.kill()
        gone.close()
        picky.close()


def test_429_retry_after(args, wd):
    answers = [(429, {"Retry-After": "3"}), (429, {"Retry-After": "13"}), (204, {})]
    rec = Receiver(lambda n, req: answers[min(n, 2)])
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    cfg = config(wd, [{"id": "r", "url": rec.url, "secret": SECRET}], listen=f"127.0.0.1:{port}")
    drops = Drops(wd)
    drops.put(OFF)
    d = Daemon(args.okrd, cfg)
    try:
        reqs = rec.wait(lambda r: len(r) >= 3, "three attempts", 40)
        g1, g2 = reqs[1]["t"] - reqs[0]["t"], reqs[2]["t"] - reqs[1]["t"]
        check(g1 >= 3.0, f"Retry-After: 3 waited {g1:.2f}s")
        check(g2 >= 13.0, f"Retry-After: 13 beats the 10 s backoff: waited {g2:.2f}s")
        check(reqs[0]["id"] == reqs[2]["id"], "the same event id on every retry")
        check(reqs[0]["body"] == reqs[2]["body"], "the same body on every retry")
        check(reqs[0]["headers"]["webhook-signature"] != reqs[2]["headers"]["webhook-signature"],
              "each retry is signed afresh")
    finally:
        d.kill()
        rec.close()


if __name__ == "__main__":
    main([test_signatures_verify_with_standardwebhooks, test_down_then_up_in_order_once,
          test_sigkill_with_pending_events, test_410_disables_400_retried, test_429_retry_after])
