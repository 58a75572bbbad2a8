#!/usr/bin/env python3
"""bench/alert_latency: from rename() into a csv_dir inbox to the webhook
receiver's receipt (DESIGN section 5; goal: p99 under 250 ms).

200 CSV files are dropped one by one (each waits for the previous alert),
each moving one key result across the off_track/on_track threshold, so each
file raises exactly one event (kr.off_track, kr.back_on_track, ...). The
receiver runs in this process, so the rename and the receipt are stamped on
the same monotonic clock. Reference, measured in the same run: a plain
Python POST to the same receiver (the HTTP floor on this machine).

    python3 bench/alert_latency/run.py --okrd build/okrd [--files 200]
"""
import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OFF, ON = 1010, 1150  # dau-up: 1000 -> 1200, about half the cycle gone


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--okrd", required=True)
    ap.add_argument("--files", type=int, default=200)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="okrd-bench-alerts-")
    got = []
    cond = threading.Condition()

    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            t = time.monotonic()
            with cond:
                got.append((t, body))
                cond.notify_all()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]

    def wait_for(n, deadline=10.0):
        end = time.monotonic() + deadline
        with cond:
            while len(got) < n:
                left = end - time.monotonic()
                if left <= 0:
                    raise SystemExit(f"timed out waiting for alert {n}")
                cond.wait(left)
            return got[n - 1][0]

    # Reference: the same receiver, a plain keep-alive-less POST.
    ref = []
    for i in range(args.files):
        t0 = time.monotonic()
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("POST", "/", body=b'{"ref": 1}', headers={"Content-Type": "application/json"})
        c.getresponse().read()
        c.close()
        ref.append(wait_for(i + 1) - t0)
    got.clear()

    today = dt.date.today()
    inbox = os.path.join(tmp, "inbox")
    os.makedirs(inbox)
    cfg = {
        "daemon": {"state_dir": os.path.join(tmp, "state"), "listen": "", "log_level": "warning"},
        "sources": [{"id": "drops", "type": "csv_dir", "path": inbox}],
        "objectives": [{"id": "growth", "title": "Grow",
                        "cycle": {"start": (today - dt.timedelta(days=45)).isoformat(),
                                  "end": (today + dt.timedelta(days=44)).isoformat()},
                        "key_results": [{"id": "dau-up", "title": "Increase DAU by 20%",
                                         "metric": "dau", "direction": "increase",
                                         "baseline": 1000, "target": 1200}]}],
        "webhooks": [{"id": "bench", "url": f"http://127.0.0.1:{port}/",
                      "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}],
        "alerts": {"for": "0s"},
    }
    path = os.path.join(tmp, "okrd.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    proc = subprocess.Popen([args.okrd, "run", "-c", path], stderr=subprocess.DEVNULL)
    try:
        ts = int(time.time()) - 3600
        lat = []
        value = OFF
        for i in range(args.files + 1):
            tmpf = os.path.join(inbox, f".f{i}.tmp")
            with open(tmpf, "w") as f:
                f.write(f"metric,timestamp,value\ndau,{ts + i},{value}\n")
            t0 = time.monotonic()
            os.rename(tmpf, os.path.join(inbox, f"f{i}.csv"))
            t1 = wait_for(i + 1)
            if i > 0:  # the first alert also waits for start-up
                lat.append(t1 - t0)
            value = ON if value == OFF else OFF
        kinds = {json.loads(b)["type"] for _, b in got}
    finally:
        proc.terminate()
        proc.wait(10)
        srv.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    ms = lambda s: f"{s * 1000:.1f} ms"
    print(f"alert_latency: {len(lat)} files dropped one by one, events {sorted(kinds)}")
    print(f"  alerts received {len(got)} for {args.files + 1} files; min {ms(min(lat))}")
    print(f"  okrd rename -> receipt   p50 {ms(pct(lat, 50))}  p99 {ms(pct(lat, 99))}  max {ms(max(lat))}")
    print(f"  reference plain POST     p50 {ms(pct(ref, 50))}  p99 {ms(pct(ref, 99))}")
    print(f"  ratio p99 {pct(lat, 99) / pct(ref, 99):.1f}x; goal p99 < 250 ms: "
          f"{'met' if pct(lat, 99) < 0.25 else 'NOT met'}")


if __name__ == "__main__":
    main()
