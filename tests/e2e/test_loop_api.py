"""The loop is never held hostage by a big read (DESIGN section 1, issue 12
item 7): a series of 100,000 points and the dashboard are read and rendered
on the API's read workers while /healthz and the small endpoints answer; two
workers, a queue of 32, then 503 with Retry-After; a reload or a stop while
reads wait neither crashes nor loses an answer.

Ordering, not timing: the daemon runs with OKRD_TEST_HOLD_API_READS=1, so
its read workers take no job until SIGUSR2. A big read is then provably in
flight (queued, its connection suspended) while /healthz is asked, and the
queue can be filled exactly. The answers are checked against values
computed here from the same points."""
import collections
import datetime
import json
import math
import os
import signal
import threading

from apitest import Api, free_port
from okrdtest import DEADLINE, Daemon, check, main, run

N = 100_000
START = datetime.datetime(2026, 7, 1, tzinfo=datetime.timezone.utc)  # 2026-Q3
START_S = int(START.timestamp())


def value(i):
    return (i * 7919) % 101 + (i % 3) * 0.25  # exact in binary, never all 0/1


def setup(args, wd, title="Count every event"):
    port = free_port()
    inbox = os.path.join(wd.path, "inbox")
    os.makedirs(inbox, exist_ok=True)
    cfg = wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": f"127.0.0.1:{port}",
                   "timezone": "UTC", "evaluate_every": "1s", "log_level": "debug"},
        "sources": [{"id": "drops", "type": "csv_dir", "path": inbox, "rescan": "1h"}],
        "objectives": [{"id": "big", "title": "Lots of data", "cycle": "2026-Q3", "key_results": [
            {"id": "events", "title": title, "metric": "events", "direction": "increase",
             "aggregate": {"fn": "sum", "window": "cycle"}, "target": 1e9},
            {"id": "events-peak", "title": "Peak over a week", "metric": "events",
             "direction": "increase", "aggregate": {"fn": "max", "window": "7d"},
             "target": 1000},
            {"id": "events-avg", "title": "Daily mean", "metric": "events",
             "direction": "increase", "aggregate": {"fn": "avg", "window": "1d"},
             "target": 1000},
        ]}]})
    return cfg, Api(port=port)


def ingest_points(args, wd, cfg):
    rows = ["metric,timestamp,value"]
    for i in range(N):
        rows.append(f"events,{START_S + 60 * i},{value(i)}")
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops",
            wd.file("events.csv", "\n".join(rows) + "\n"))
    check(r.returncode == 0, f"ingest: {r.returncode} {r.stderr}")


def ts_str(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Fetch(threading.Thread):
    """One GET on its own thread; .result = (status, headers, body)."""

    def __init__(self, api, path):
        super().__init__(daemon=True)
        self.api, self.path, self.result, self.error = api, path, None, None
        self.start()

    def run(self):
        try:
            self.result = self.api.get(self.path, timeout=120)
        except Exception as e:  # reported by the test that joins it
            self.error = e

    def wait(self):
        self.join(120)
        check(not self.is_alive(), f"GET {self.path} never answered")
        check(self.error is None, f"GET {self.path}: {self.error}")
        return self.result


def expected_series():
    """v(t) at every point for the three key results, computed independently."""
    ts = [START_S + 60 * i for i in range(N)]
    vs = [value(i) for i in range(N)]
    cum, acc = [], 0.0
    for v in vs:  # every partial sum is exact (quarters below 2^53)
        acc += v
        cum.append(acc)
    peak, q = [], collections.deque()
    for i, t in enumerate(ts):  # max over (t - 7d, t]
        while q and vs[q[-1]] < vs[i]:
            q.pop()
        q.append(i)
        while ts[q[0]] <= t - 7 * 86400:
            q.popleft()
        peak.append(vs[q[0]])
    avg, lo = [], 0
    for i, t in enumerate(ts):  # mean over (t - 1d, t]
        while ts[lo] <= t - 86400:
            lo += 1
        avg.append(math.fsum(vs[lo:i + 1]) / (i + 1 - lo))
    return ts, {"events": cum, "events-peak": peak, "events-avg": avg}


def check_series(kr, body, ts, want):
    doc = json.loads(body)
    pts = doc["points"]
    check(len(pts) == N, f"{kr}: {len(pts)} points, want {N}")
    for i in (0, 1, 2, 1439, 1440, 1441, N // 2, N - 2, N - 1):
        check(pts[i]["timestamp"] == ts_str(ts[i]), f"{kr}: point {i} at {pts[i]['timestamp']}")
    bad = [i for i in range(N)
           if not math.isclose(pts[i]["value"], want[i], rel_tol=1e-13, abs_tol=1e-9)]
    check(not bad, f"{kr}: {len(bad)} values differ, first at {bad[:1]}: "
                   f"{[pts[i]['value'] for i in bad[:3]]} vs {[want[i] for i in bad[:3]]}")


def test_big_reads_off_the_loop(args, wd):
    cfg, api = setup(args, wd)
    ingest_points(args, wd, cfg)
    d = Daemon(args.okrd, cfg, env={"OKRD_TEST_HOLD_API_READS": "1"})
    try:
        d.wait_log("event=api_listening")
        api.wait_ready()
        # 1. A 100k-point series is in flight (held on the queue) ...
        big = Fetch(api, "/api/v1/key-results/events/series")
        d.wait_log(["event=api_read_queued", "read=series", "waiting=1"])
        # ... and the loop answers meanwhile: /healthz, and small reads.
        status, _, body = api.get("/healthz")
        check(status == 200 and json.loads(body) == {"status": "ok", "role": "leader"}, f"/healthz: {status} {body}")
        check(big.is_alive(), "the held series answered before its worker was released")
        api.json("/api/v1/objectives")
        # 2. Fill the queue: 32 reads wait, so the 33rd is refused at once.
        others = [Fetch(api, "/api/v1/key-results/events-peak/series"),
                  Fetch(api, "/api/v1/key-results/events-avg/series"),
                  Fetch(api, "/api/v1/metrics")]
        d.wait_log(["event=api_read_queued", "waiting=4"])
        small = "/api/v1/key-results/events/series?from=2026-07-01&to=2026-07-01T00:10:00Z"
        for k in range(5, 33):
            others.append(Fetch(api, small))
            d.wait_log(["event=api_read_queued", f"waiting={k}"])
        status, headers, body = api.get(small)
        check(status == 503, f"the 33rd waiting read: {status} {body[:200]!r}, want 503")
        check(headers.get("retry-after") == "1", f"503 without Retry-After: {headers}")
        check(json.loads(body)["error"] == "busy", f"503 body: {body!r}")
        status, _, _ = api.get("/healthz")
        check(status == 200, f"/healthz with the read queue full: {status}")
        check(big.is_alive(), "the held series answered before its worker was released")
        # 3. Release the workers: every held read is answered, correctly.
        d.signal(signal.SIGUSR2)
        ts, want = expected_series()
        status, headers, body = big.wait()
        check(status == 200, f"big series: {status} {body[:300]!r}")
        check(headers.get("content-type", "").startswith("application/json"), f"{headers}")
        check_series("events", body, ts, want["events"])
        for f, kr in zip(others[:2], ("events-peak", "events-avg")):
            status, _, body = f.wait()
            check(status == 200, f"{kr} series: {status} {body[:300]!r}")
            check_series(kr, body, ts, want[kr])
        status, headers, body = others[2].wait()
        check(status == 200 and any(m["id"] == "events" for m in json.loads(body)["metrics"]),
              f"metric list: {status} {body[:200]!r}")
        for f in others[3:]:
            status, _, body = f.wait()
            check(status == 200, f"small series: {status} {body[:200]!r}")
            check(len(json.loads(body)["points"]) == 10, f"small series: {body[:200]!r}")
        code, _ = d.stop()
        check(code == 0, f"exit {code}")
    finally:
        d.kill()


def test_reload_and_stop_while_reads_wait(args, wd):
    """A reload replaces the config the held read points into (and the next
    evaluation drops the old one); the read still answers, from what it
    pinned. A stop answers the reads still waiting with 503 and exits 0."""
    cfg, api = setup(args, wd)
    ingest_points(args, wd, cfg)
    d = Daemon(args.okrd, cfg, env={"OKRD_TEST_HOLD_API_READS": "1"})
    try:
        d.wait_log("event=api_listening")
        api.wait_ready()
        held = Fetch(api, "/api/v1/key-results/events/series?from=2026-07-02&to=2026-07-03")
        page = Fetch(api, "/api/v1/metrics")
        d.wait_log(["event=api_read_queued", "waiting=2"])
        with open(cfg) as f:
            cfgdoc = json.load(f)
        cfgdoc["objectives"][0]["key_results"][0]["title"] = "Count every single event"
        cfgdoc["sources"][0]["rescan"] = "2h"  # restarted: it lets go of the old config too
        wd.config(cfgdoc)
        d.signal(signal.SIGHUP)
        d.wait_log("event=reloaded")
        d.wait_log("event=evaluated")  # the old config's last evaluation is replaced
        api.wait_for("/api/v1/objectives",
                     lambda doc: doc["objectives"][0]["key_results"][0]["title"]
                     == "Count every single event", "the reloaded title")
        d.signal(signal.SIGUSR2)
        status, _, body = held.wait()
        check(status == 200, f"held series after a reload: {status} {body[:300]!r}")
        pts = json.loads(body)["points"]
        check(len(pts) == 1440, f"one day of minutes: {len(pts)} points")
        day1 = math.fsum(value(i) for i in range(1440))
        check(math.isclose(pts[0]["value"], day1 + value(1440), rel_tol=1e-13),
              f"cycle sum at the first point of day 2: {pts[0]['value']}")
        status, _, body = page.wait()
        check(status == 200 and any(m["id"] == "events" for m in json.loads(body)["metrics"]),
              f"the metric list answers from the config it pinned: {status} {body[:200]!r}")
        # The workers run free now; a stop with reads running or waiting
        # answers them (200 or 503) and exits 0.
        fetches = [Fetch(api, "/api/v1/key-results/events/series") for _ in range(4)]
        d.wait_log(["event=api_read_queued"])
        code, _ = d.stop(deadline=DEADLINE)
        check(code == 0, f"exit {code} with reads in flight")
        for f in fetches:
            f.join(30)
            check(not f.is_alive(), "a read in flight at the stop was never answered")
            if f.error is None:
                check(f.result[0] in (200, 503), f"read at the stop: {f.result[0]}")
    finally:
        d.kill()


def test_stop_with_reads_held(args, wd):
    cfg, api = setup(args, wd)
    d = Daemon(args.okrd, cfg, env={"OKRD_TEST_HOLD_API_READS": "1"})
    try:
        d.wait_log("event=api_listening")
        api.wait_ready()
        held = [Fetch(api, "/api/v1/key-results/events/series"), Fetch(api, "/api/v1/metrics")]
        d.wait_log(["event=api_read_queued", "waiting=2"])
        code, _ = d.stop(deadline=DEADLINE)
        check(code == 0, f"exit {code}")
        for f in held:
            status, _, body = f.wait()
            check(status == 503 and json.loads(body)["error"] == "shutting_down",
                  f"a read waiting at the stop: {status} {body[:200]!r}")
    finally:
        d.kill()


if __name__ == "__main__":
    main([test_big_reads_off_the_loop, test_reload_and_stop_while_reads_wait,
          test_stop_with_reads_held])
