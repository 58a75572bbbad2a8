#!/usr/bin/env python3
"""bench/loop_latency — is the loop ever held hostage? (issue 12)

DESIGN section 1: nothing whose cost grows with stored data runs on the loop
in one piece; /healthz p99 < 100 ms while big series are fetched and a
100,000-file inbox drains. This measures, on one machine in one run:

  A. /healthz latency (one keep-alive client, ~400 probes/s, in this process)
     while other processes load the dashboard (what its page fetches: `/`,
     /api/v1/objectives, /api/v1/metrics, each key result's /series and
     /check-ins) and the series of 10 key results of 200,000 points each,
     in a loop;
  B. /healthz latency while the daemon drains a csv_dir inbox that holds
     100,000 files when it starts (the restart-with-a-backlog case),
     probing from the first answer until the inbox is empty or --backlog-s
     passed;

beside the reference: /healthz with the daemon idle. Prints p50/p99/max and
the goal; asserts nothing. Usage:
    python3 bench/loop_latency/run.py --okrd build/okrd [--fetch-s 20]
        [--fetchers 4] [--files 100000] [--backlog-s 60] [--skip-backlog] [--keep]
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
from concurrent.futures import ThreadPoolExecutor

N_KR = 10
POINTS = 200_000
STEP_S = 30                       # 200,000 points x 30 s = 69.4 days
CYCLE = "2026-Q3"
START = int(datetime.datetime(2026, 7, 1, tzinfo=datetime.timezone.utc).timestamp())
AGGREGATES = [{"fn": "sum", "window": "cycle"}, {"fn": "avg", "window": "7d"},
              {"fn": "max", "window": "7d"}, "last", {"fn": "min", "window": "1d"}]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_config(work, port):
    krs = []
    for i in range(N_KR):
        kr = {"id": f"kr-{i}", "title": f"Key result {i}", "metric": f"m{i}",
              "direction": "increase", "target": 1e12, "aggregate": AGGREGATES[i % len(AGGREGATES)]}
        krs.append(kr)
    cfg = {"daemon": {"state_dir": os.path.join(work, "state"), "listen": f"127.0.0.1:{port}",
                      "log_level": "warning", "evaluate_every": "1m"},
           # The backlog's files feed a metric no key result reads, so what
           # is measured is the inbox, not re-evaluating 2M points per file.
           "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(work, "inbox")}],
           "objectives": [{"id": "big-a", "title": "Big A", "cycle": CYCLE, "key_results": krs[:5]},
                          {"id": "big-b", "title": "Big B", "cycle": CYCLE, "key_results": krs[5:]}]}
    os.makedirs(os.path.join(work, "inbox"), exist_ok=True)
    path = os.path.join(work, "okrd.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def write_history(path):
    with open(path, "w") as f:
        f.write("metric,timestamp,value\n")
        for m in range(N_KR):
            f.write("".join(f"m{m},{START + j * STEP_S},{(j * 7919 + m) % 1009 + 0.5}\n"
                            for j in range(POINTS)))


def start(okrd, cfg, work, name):
    log = open(os.path.join(work, f"{name}.log"), "w")
    p = subprocess.Popen([okrd, "run", "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
    p.log = log
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    p.log.close()


def get(port, path, timeout=600):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_ready(port, deadline=120):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if get(port, "/api/v1/objectives", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("okrd's API did not become ready")


def probe(port, until, min_s=0.0, connect_deadline=120):
    """GET /healthz back to back on one keep-alive connection until until()
    (and at least min_s); returns latencies in ms. Waits for the listener."""
    end = time.monotonic() + connect_deadline
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            c.connect()
            break
        except OSError:
            if time.monotonic() > end:
                sys.exit("okrd never listened")
            time.sleep(0.01)
    lat = []
    t_start = time.monotonic()
    while not until() or time.monotonic() - t_start < min_s:
        t0 = time.perf_counter()
        try:
            c.request("GET", "/healthz")
            r = c.getresponse()
            r.read()
        except (http.client.HTTPException, OSError) as e:
            # A loop stuck for longer than libmicrohttpd's 30 s idle timeout
            # closes the connection unanswered once it runs again: count the
            # wait as the probe's latency, and go on with a new connection.
            lat.append((time.perf_counter() - t0) * 1000)
            print(f"  (/healthz unanswered after {lat[-1] / 1000:.1f}s: {type(e).__name__})")
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            continue
        lat.append((time.perf_counter() - t0) * 1000)
        if r.status != 200:
            sys.exit(f"/healthz answered {r.status}")
        time.sleep(0.002)  # ~400 probes/s: a monitor, not a load test
    c.close()
    return lat


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def dashboard(port):
    """What the dashboard page fetches (api/api_dashboard.c): the page `/`
    (a small shell without data), then /api/v1/objectives, then
    /api/v1/metrics and, per key result, its /series and /check-ins, three
    key results at a time with both of a key result's requests at once, as
    the page's script does. Returns (worst status, bytes)."""
    status, body = get(port, "/")
    if status != 200:
        return status, len(body)
    status, doc = get(port, "/api/v1/objectives")
    if status != 200:
        return status, len(body) + len(doc)
    total = len(body) + len(doc)
    ids = [k["id"] for o in json.loads(doc)["objectives"] for k in o["key_results"]]

    def one_kr(kr, pair):
        path = f"/api/v1/key-results/{kr}"
        f = pair.submit(get, port, path + "/check-ins")
        a = get(port, path + "/series")
        b = f.result()
        return max(a[0], b[0]), len(a[1]) + len(b[1])

    def metrics():
        st, b = get(port, "/api/v1/metrics")
        return st, len(b)

    with ThreadPoolExecutor(3) as jobs, ThreadPoolExecutor(3) as pair:
        futs = [jobs.submit(metrics)] + [jobs.submit(one_kr, kr, pair) for kr in ids]
        for f in futs:
            st, n = f.result()
            status = max(status, st)
            total += n
    return status, total


def fetch_loop(port, seconds, index):
    """--fetch mode (a separate process, so its parsing never competes with
    the prober for this interpreter's lock): the dashboard (everything its
    page fetches) and each series in turn until SECONDS passed; prints
    {kind: [ms...], "busy": n, ...} as JSON."""
    paths = ["dashboard"] + [f"/api/v1/key-results/kr-{i}/series" for i in range(N_KR)]
    out = {"dashboard": [], "series": [], "busy": 0, "errors": 0, "bytes": 0}
    k = index
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        path = paths[k % len(paths)]
        k += 1
        t0 = time.perf_counter()
        try:
            if path == "dashboard":
                status, n = dashboard(port)
            else:
                status, body = get(port, path)
                n = len(body)
        except (OSError, http.client.HTTPException):
            out["errors"] += 1  # e.g. cut off by the 30 s idle timeout of a stuck loop
            continue
        ms = (time.perf_counter() - t0) * 1000
        if status == 503:
            out["busy"] += 1
            time.sleep(1)  # Retry-After: 1
        elif status == 200:
            out["dashboard" if path == "dashboard" else "series"].append(ms)
            out["bytes"] += n
        else:
            out["errors"] += 1
    print(json.dumps(out))


def row(name, xs):
    if not xs:
        return f"{name:44} {'-':>7}"
    return (f"{name:44} {len(xs):7d} {statistics.median(xs):8.2f} {pct(xs, 99):9.2f} "
            f"{max(xs):9.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--okrd", required=True)
    ap.add_argument("--fetch-s", type=float, default=20, help="seconds of phase A")
    ap.add_argument("--fetchers", type=int, default=4, help="fetching processes in phase A")
    ap.add_argument("--files", type=int, default=100_000, help="files in the backlog (phase B)")
    ap.add_argument("--backlog-s", type=float, default=60, help="at most this long in phase B")
    ap.add_argument("--skip-backlog", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--fetch", nargs=3, help=argparse.SUPPRESS)  # PORT SECONDS INDEX
    a = ap.parse_args()
    if a.fetch:
        fetch_loop(int(a.fetch[0]), float(a.fetch[1]), int(a.fetch[2]))
        return
    okrd = os.path.abspath(a.okrd)
    work = tempfile.mkdtemp(prefix="okrd-bench-loop-")
    port = free_port()
    cfg = make_config(work, port)
    d = None
    try:
        t0 = time.monotonic()
        hist = os.path.join(work, "history.csv")
        write_history(hist)
        r = subprocess.run([okrd, "ingest", "-c", cfg, "--source", "drops", hist],
                           capture_output=True, text=True)
        if r.returncode:
            sys.exit(f"ingest failed: {r.stderr}")
        os.unlink(hist)
        print(f"setup: {N_KR} key results x {POINTS:,} points ingested in "
              f"{time.monotonic() - t0:.1f}s")
        d = start(okrd, cfg, work, "okrd-a")
        wait_ready(port)
        idle = probe(port, lambda: True, min_s=3)

        # A. big reads in a loop
        fetchers = [subprocess.Popen([sys.executable, __file__, "--okrd", okrd, "--fetch",
                                      str(port), str(a.fetch_s), str(i)],
                                     stdout=subprocess.PIPE, text=True)
                    for i in range(a.fetchers)]
        t_a = time.monotonic()
        busy = probe(port, lambda: all(f.poll() is not None for f in fetchers),
                     min_s=a.fetch_s)
        took_a = time.monotonic() - t_a
        stats = [json.loads(f.communicate()[0] or "{}") for f in fetchers]
        dash = [x for s in stats for x in s.get("dashboard", [])]
        series = [x for s in stats for x in s.get("series", [])]
        n503 = sum(s.get("busy", 0) for s in stats)
        nerr = sum(s.get("errors", 0) for s in stats)
        mb = sum(s.get("bytes", 0) for s in stats) / 1e6
        stop(d)
        d = None
        print(f"\n== /healthz latency, one keep-alive client (~400 probes/s) ==")
        print(f"{'while':44} {'probes':>7} {'p50 ms':>8} {'p99 ms':>9} {'max ms':>9}")
        print(row("idle (reference)", idle))
        print(row(f"A: {a.fetchers} clients load dashboard + 10x200k series", busy))
        print(f"   {took_a:.1f}s, {len(dash)} dashboards (p50 "
              f"{statistics.median(dash) if dash else 0:.0f} ms), {len(series)} series (p50 "
              f"{statistics.median(series) if series else 0:.0f} ms), {mb:.0f} MB, "
              f"{n503} answered 503 busy, {nerr} errors", flush=True)

        # B. a backlog of files in the inbox at start-up
        backlog, drained, took_b, first_ms = [], 0, 0.0, None
        if not a.skip_backlog:
            inbox = os.path.join(work, "inbox")
            t0 = time.monotonic()
            for i in range(a.files):
                with open(os.path.join(inbox, f"f{i:06d}.csv"), "w") as f:
                    f.write(f"metric,timestamp,value\nbacklog,{START + i},{i}\n")
            past = time.time() - 10  # older than `settle`
            for i in range(a.files):
                os.utime(os.path.join(inbox, f"f{i:06d}.csv"), (past, past))
            print(f"(wrote {a.files:,} one-row files into the inbox in {time.monotonic() - t0:.1f}s)")
            archive = os.path.join(inbox, "archive")
            t_b = time.monotonic()
            d = start(okrd, cfg, work, "okrd-b")
            t_end = t_b + a.backlog_s

            seen = {"at": 0.0, "empty": False}

            def drained_or_late():
                now = time.monotonic()
                if now - seen["at"] > 0.5:  # listing 100k names is slow: twice a second
                    seen["at"] = now
                    seen["empty"] = not any(e.is_file() for e in os.scandir(inbox))
                return now > t_end or seen["empty"]
            backlog = probe(port, drained_or_late)
            took_b = time.monotonic() - t_b
            first_ms = backlog[0] if backlog else None
            drained = len(os.listdir(archive)) if os.path.isdir(archive) else 0
            stop(d)
            d = None
            print(row(f"B: a {a.files:,}-file inbox drains", backlog))
            print(f"   {drained:,} of {a.files:,} files archived in {took_b:.1f}s; the first "
                  f"/healthz probe after the listener accepted took {first_ms:.1f} ms"
                  if first_ms is not None else "   no probe")
        ratio = [f"A {pct(busy, 99) / pct(idle, 99):.1f}x"]
        if backlog:
            ratio.append(f"B {pct(backlog, 99) / pct(idle, 99):.1f}x")
        print(f"p99 vs idle: {', '.join(ratio)}; goal: p99 < 100 ms (DESIGN section 1)")

    finally:
        if d:
            stop(d)
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)


if __name__ == "__main__":
    main()
