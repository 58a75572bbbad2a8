#!/usr/bin/env python3
"""bench/checkins — POST check-ins per second, and /healthz meanwhile (issue 14).

Every POST /api/v1/key-results/{id}/check-ins is one write job on the store's
writer thread (the check-in row and its `value` point in one transaction),
answered after the commit, and triggers an evaluation that writes the
kr.check_in event. The reference in the same run is the other API write on
that path: POST /api/v1/points of one point each (one write job, one commit,
an evaluation of the key results reading the metric).

On one machine in one run, for --seconds each, with --clients client
processes on keep-alive connections, while this process probes /healthz
(one keep-alive client, ~400 probes/s):

  idle      /healthz alone (the probe's reference)
  points    each client pushes one point a request to its own key result's
            metric (the reference)
  spread    each client checks in on its own key result
            ({"value", "confidence", "comment"})
  same      every client checks in on ONE key result (serialized by seq)

Prints requests/s, client-side p50/p99, /healthz p50/p99/max, and the
ratios to the reference; asserts nothing. A webhook receiver (another
process answering 204) takes every event unless --no-webhook. Usage:
    python3 bench/checkins/run.py --okrd build/okrd [--clients 4] [--seconds 10]
        [--krs 100] [--no-webhook] [--keep]
"""
import argparse
import datetime
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "bench-token"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_config(work, port, n_krs, hook_port):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    cycle = {"start": (today - datetime.timedelta(days=45)).isoformat(),
             "end": (today + datetime.timedelta(days=44)).isoformat()}
    per = 10
    objectives = []
    for o in range(0, n_krs, per):
        krs = [{"id": f"kr-{i:04d}", "title": f"Key result {i}", "metric": f"m{i:04d}",
                "direction": "increase", "baseline": 0, "target": 1000}
               for i in range(o, min(n_krs, o + per))]
        objectives.append({"id": f"obj-{o // per:03d}", "title": f"Objective {o // per}",
                           "owner": f"team-{o // per}", "cycle": cycle, "key_results": krs})
    cfg = {"daemon": {"state_dir": os.path.join(work, "state"), "listen": f"127.0.0.1:{port}",
                      "log_level": "warning", "evaluate_every": "1h", "timezone": "UTC",
                      "api_tokens": [{"name": "bench", "token": TOKEN,
                                      "scopes": ["read", "push", "checkin"]}]},
           "objectives": objectives, "alerts": {"for": "0s"}}
    if hook_port:
        cfg["webhooks"] = [{"id": "hook", "url": f"http://127.0.0.1:{hook_port}/hook"}]
    path = os.path.join(work, "okrd.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def receiver(port):
    """--receiver mode: answers every POST 204, prints how many at SIGTERM."""
    n = [0]

    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            n[0] += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", port), H)

    def stop(*_):
        print(json.dumps({"received": n[0]}), flush=True)
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    srv.serve_forever()


def worker(port, kind, kr, seconds, index, out):
    """--worker mode: POSTs back to back on one keep-alive connection for
    SECONDS; writes {"lat": [ms...], "status": {code: n}} as JSON to OUT (a
    file: a pipe would fill up with the latencies before the parent reads)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    lat, status = [], {}
    h = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    metric = "m" + kr.split("-")[1]
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        n += 1
        if kind == "points":
            path = "/api/v1/points"
            body = [{"metric": metric, "timestamp": int(time.time()), "value": (n * 7) % 900}]
        else:
            path = f"/api/v1/key-results/{kr}/check-ins"
            body = {"value": (n * 7) % 900, "confidence": n % 11,
                    "comment": f"client {index} check-in {n}: still on it"}
        data = json.dumps(body).encode()
        t0 = time.perf_counter()
        try:
            c.request("POST", path, body=data, headers=h)
            r = c.getresponse()
            r.read()
        except (OSError, http.client.HTTPException):
            status["error"] = status.get("error", 0) + 1
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        lat.append(round((time.perf_counter() - t0) * 1000, 3))
        status[str(r.status)] = status.get(str(r.status), 0) + 1
    c.close()
    with open(out + ".tmp", "w") as f:
        json.dump({"lat": lat, "status": status}, f)
    os.replace(out + ".tmp", out)


def get(port, path, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_ready(port, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if get(port, "/api/v1/objectives", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("okrd's API did not become ready")


def probe(port, until, min_s=0.0):
    """GET /healthz on one keep-alive connection until until() (and at least
    min_s); returns latencies in ms."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    lat = []
    t_start = time.monotonic()
    while not until() or time.monotonic() - t_start < min_s:
        t0 = time.perf_counter()
        c.request("GET", "/healthz")
        r = c.getresponse()
        r.read()
        lat.append((time.perf_counter() - t0) * 1000)
        if r.status != 200:
            sys.exit(f"/healthz answered {r.status}")
        time.sleep(0.002)  # ~400 probes/s: a monitor, not a load test
    c.close()
    return lat


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def phase(okrd, port, kind, krs, seconds, work):
    files = [os.path.join(work, f"{kind}-{len(os.listdir(work))}-{i}.json")
             for i in range(len(krs))]
    ws = [subprocess.Popen([sys.executable, __file__, "--okrd", okrd, "--worker", str(port),
                            kind, kr, str(seconds), str(i), files[i]])
          for i, kr in enumerate(krs)]
    t0 = time.monotonic()
    hz = probe(port, lambda: all(w.poll() is not None for w in ws)
               or time.monotonic() - t0 > seconds + 120, min_s=seconds)
    took = time.monotonic() - t0
    for w in ws:
        if w.poll() is None:
            print(f"  (a {kind} client still runs {took:.0f} s after its start: stopped)")
            w.kill()
        w.wait()
    outs = []
    for f in files:
        try:
            with open(f) as fh:
                outs.append(json.load(fh))
        except OSError:
            outs.append({})  # the worker died: its requests are not counted
    lat = [x for o in outs for x in o.get("lat", [])]
    status = {}
    for o in outs:
        for k, v in o.get("status", {}).items():
            status[k] = status.get(k, 0) + v
    ok = status.get("201" if kind == "checkins" else "200", 0)
    return {"ok": ok, "rps": ok / seconds, "lat": lat, "status": status, "hz": hz, "took": took}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--okrd", required=True)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--krs", type=int, default=100, help="key results in the config (>= clients)")
    ap.add_argument("--no-webhook", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)  # PORT KIND KR SECONDS INDEX OUT
    ap.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(int(a.worker[0]), a.worker[1], a.worker[2], float(a.worker[3]), int(a.worker[4]),
               a.worker[5])
        return
    if a.receiver:
        receiver(a.receiver)
        return
    okrd = os.path.abspath(a.okrd)
    work = tempfile.mkdtemp(prefix="okrd-bench-checkins-")
    port = free_port()
    hook = None
    if not a.no_webhook:
        hook_port = free_port()
        hook = subprocess.Popen([sys.executable, __file__, "--okrd", okrd, "--receiver",
                                 str(hook_port)], stdout=subprocess.PIPE, text=True)
    cfg = make_config(work, port, max(a.krs, a.clients), hook_port if hook else None)
    log = open(os.path.join(work, "okrd.log"), "w")
    d = subprocess.Popen([okrd, "run", "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(port)
        idle = probe(port, lambda: True, min_s=3)
        own = [f"kr-{i:04d}" for i in range(a.clients)]
        res = {}
        for name, kind, krs in (("points", "points", own), ("spread", "checkins", own),
                                ("same", "checkins", ["kr-0000"] * a.clients)):
            res[name] = phase(okrd, port, kind, krs, a.seconds, work)
        st, body = get(port, "/api/v1/key-results/kr-0000/check-ins")
        n_same = len(json.loads(body)["check_ins"]) if st == 200 else -1
    finally:
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(60)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
        log.close()
        received = None
        if hook:
            hook.send_signal(signal.SIGTERM)
            received = json.loads(hook.communicate(timeout=30)[0] or "{}").get("received")
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)

    ref = res["points"]
    print(f"\n== {a.clients} clients, {a.seconds:g} s each, keep-alive; {max(a.krs, a.clients)} "
          f"key results; webhook: {'no' if hook is None else 'yes'} ==")
    print(f"{'POSTs':44} {'ok':>7} {'req/s':>8} {'vs ref':>7} {'p50 ms':>7} {'p99 ms':>7}  "
          f"{'/healthz p50':>12} {'p99':>6} {'max':>6}")

    def line(name, r):
        other = {k: v for k, v in r["status"].items() if k not in ("200", "201")}
        print(f"{name:44} {r['ok']:7d} {r['rps']:8.0f} {r['rps'] / ref['rps']:6.2f}x "
              f"{statistics.median(r['lat']) if r['lat'] else 0:7.2f} {pct(r['lat'], 99):7.2f}  "
              f"{statistics.median(r['hz']):12.2f} {pct(r['hz'], 99):6.2f} {max(r['hz']):6.2f}"
              + (f"  other answers: {other}" if other else ""))
    print(f"{'/healthz idle (reference of the probe)':44} {'':7} {'':8} {'':7} {'':7} {'':7}  "
          f"{statistics.median(idle):12.2f} {pct(idle, 99):6.2f} {max(idle):6.2f}")
    line("points: 1 point each, own key result (ref)", ref)
    line("check-ins: each client its own key result", res["spread"])
    line("check-ins: every client on one key result", res["same"])
    print(f"check-ins / points: {res['spread']['rps'] / ref['rps']:.2f}x (own key results), "
          f"{res['same']['rps'] / ref['rps']:.2f}x (one key result); /healthz p99 during "
          f"check-ins vs idle: {pct(res['spread']['hz'], 99) / pct(idle, 99):.1f}x, "
          f"{pct(res['same']['hz'], 99) / pct(idle, 99):.1f}x")
    print(f"kr-0000 holds {n_same} check-ins (GET default: its current cycle)"
          + (f"; the receiver got {received} events" if received is not None else ""))


if __name__ == "__main__":
    main()
