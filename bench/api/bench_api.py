#!/usr/bin/env python3
"""bench/api — the HTTP API under load (issue 8's benchmark).

1. Throughput with wrk of GET /api/v1/objectives and GET /metrics on a config
   of 1,000 key results (100 objectives x 10), beside GET /healthz in the same
   run as the reference (the server's floor: MHD on the loop, no work).
2. /healthz latency (p50/p99/max, one client, keep-alive) while okrd ingests
   a 1,000,000-row CSV file, beside the same figures with okrd idle. The file
   goes through the daemon's own csv_dir source (renamed into the inbox: the
   writer thread stores it in one transaction while the loop answers), or,
   with --ingest-cli, through `okrd ingest` in another process.

Prints the figures; asserts nothing. Usage:
    python3 bench/api/bench_api.py --okrd build/okrd [--duration 10] [--ingest-cli]
"""
import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

N_OBJ, N_KR_PER_OBJ = 100, 10
ROWS = 1_000_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quarter():
    today = datetime.datetime.now(datetime.timezone.utc).date()
    q = (today.month - 1) // 3
    return f"{today.year}-Q{q + 1}", datetime.datetime(today.year, 3 * q + 1, 1,
                                                       tzinfo=datetime.timezone.utc)


def make_config(work, port):
    cycle, _ = quarter()
    objectives = []
    for o in range(N_OBJ):
        krs = []
        for k in range(N_KR_PER_OBJ):
            i = o * N_KR_PER_OBJ + k
            kind = i % 4
            kr = {"id": f"kr-{i:04d}", "title": f"Key result {i} of objective {o}",
                  "metric": f"m{i:04d}", "direction": "increase", "target": "+20%"}
            if kind == 1:
                kr.update(direction="decrease", target="-10%", aggregate={"fn": "avg", "window": "7d"})
            elif kind == 2:
                kr.update(aggregate={"fn": "sum", "window": "cycle"}, target=5000)
            elif kind == 3:
                kr.update(direction="at_least", target=100)
            krs.append(kr)
        objectives.append({"id": f"obj-{o:03d}", "title": f"Objective {o}", "cycle": cycle,
                           "key_results": krs})
    cfg = {"daemon": {"state_dir": os.path.join(work, "state"), "listen": f"127.0.0.1:{port}",
                      "api_token": "bench", "log_level": "warning"},
           "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(work, "inbox")}],
           "objectives": objectives}
    os.makedirs(os.path.join(work, "inbox"), exist_ok=True)
    path = os.path.join(work, "okrd.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def write_csv(path, n_metrics, per_metric, start, step_s, base=100.0):
    """Long layout, one row per point: N_METRICS x PER_METRIC rows."""
    t0 = int(start.timestamp())
    with open(path, "w") as f:
        f.write("metric,timestamp,value\n")
        for m in range(n_metrics):
            name = f"m{m:04d}"
            rows = [f"{name},{t0 + j * step_s},{base + (m % 7) + j * 0.01:.2f}\n"
                    for j in range(per_metric)]
            f.write("".join(rows))


def wait_ready(port, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/api/v1/objectives")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("okrd's API did not become ready")


def wrk(url, duration, threads=2, conns=32):
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--latency", url],
                         capture_output=True, text=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99.group(1) if p99 else "?", int(non2xx.group(1)) if non2xx else 0


def healthz_latencies(port, until, min_s=0.0):
    """GET /healthz back to back on one keep-alive connection until until()
    is true (and at least min_s passed); returns the latencies in ms."""
    lat = []
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
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
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--okrd", required=True)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--ingest-cli", action="store_true",
                    help="ingest the 1M rows with `okrd ingest` in another process")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian package wrk)")
    work = tempfile.mkdtemp(prefix="okrd-bench-api-")
    port = free_port()
    cfg = make_config(work, port)
    _, qstart = quarter()
    # history: 30 daily points for each of the 1,000 metrics
    hist = os.path.join(work, "history.csv")
    write_csv(hist, N_OBJ * N_KR_PER_OBJ, 30, qstart, 86400)
    t0 = time.monotonic()
    r = subprocess.run([a.okrd, "ingest", "-c", cfg, "--source", "drops", hist],
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"ingest of the history failed: {r.stderr}")
    print(f"setup: 1,000 key results, 30,000 history points ingested in {time.monotonic() - t0:.1f}s")

    log = open(os.path.join(work, "okrd.log"), "w")
    d = subprocess.Popen([a.okrd, "run", "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(port)
        # the idle reference first: right after wrk, the server is still
        # finishing the requests wrk left in flight
        idle = healthz_latencies(port, lambda: True, min_s=3)
        base = f"http://127.0.0.1:{port}"
        sizes = {}
        for path in ("/api/v1/objectives", "/metrics"):
            c = http.client.HTTPConnection("127.0.0.1", port)
            c.request("GET", path)
            sizes[path] = len(c.getresponse().read())
            c.close()
        print(f"\n== throughput, wrk -t2 -c32 -d{a.duration}s (keep-alive) ==")
        print(f"{'endpoint':28} {'req/s':>10} {'p99':>10} {'body':>10} {'vs /healthz':>12}")
        ref, ref_p99, _ = wrk(base + "/healthz", a.duration)
        print(f"{'/healthz (reference)':28} {ref:10.0f} {ref_p99:>10} {16:>10} {'1.00x':>12}")
        for path in ("/api/v1/objectives", "/metrics"):
            rps, p99, bad = wrk(base + path, a.duration)
            note = f" ({bad} non-2xx)" if bad else ""
            print(f"{path:28} {rps:10.0f} {p99:>10} {sizes[path]:>10} {rps / ref:11.3f}x{note}")

        print("\n== /healthz latency, one keep-alive client ==")
        big = os.path.join(work, "big.csv")
        per = ROWS // (N_OBJ * N_KR_PER_OBJ)
        t0 = time.monotonic()
        write_csv(big, N_OBJ * N_KR_PER_OBJ, per, qstart + datetime.timedelta(days=31), 600, base=200)
        print(f"(generated a {ROWS:,}-row CSV, {os.path.getsize(big) / 1e6:.0f} MB, "
              f"in {time.monotonic() - t0:.1f}s)")
        done = threading.Event()
        how = "okrd ingest (another process)" if a.ingest_cli else "the daemon's csv_dir source"
        t_ing = time.monotonic()
        if a.ingest_cli:
            def run_cli():
                subprocess.run([a.okrd, "ingest", "-c", cfg, "--source", "drops", big],
                               capture_output=True)
                done.set()
            threading.Thread(target=run_cli, daemon=True).start()
        else:
            archived = os.path.join(work, "inbox", "archive", "big.csv")
            rejected = os.path.join(work, "inbox", "rejected", "big.csv")

            def watch():
                while not (os.path.exists(archived) or os.path.exists(rejected)):
                    time.sleep(0.05)
                done.set()
            os.rename(big, os.path.join(work, "inbox", "big.csv"))
            threading.Thread(target=watch, daemon=True).start()
        busy = healthz_latencies(port, done.is_set)
        took = time.monotonic() - t_ing
        if not a.ingest_cli and os.path.exists(rejected):
            print("WARNING: the daemon rejected the file; see", os.path.join(work, "okrd.log"))
        print(f"{'while':34} {'probes':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for name, xs in (("idle (reference)", idle), (f"ingesting via {how}", busy)):
            print(f"{name:34} {len(xs):7d} {statistics.median(xs):8.2f} {pct(xs, 99):8.2f} {max(xs):8.2f}")
        print(f"ingest of {ROWS:,} rows took {took:.1f}s; goal: p99 < 100 ms during it")
    finally:
        d.terminate()
        d.wait(10)
        log.close()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)


if __name__ == "__main__":
    main()
