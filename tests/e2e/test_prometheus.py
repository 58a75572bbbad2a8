"""The prometheus source against a real Prometheus (Debian's `prometheus`
package): started on a free 127.0.0.1 port with a throwaway TSDB, scraping
itself. okrd queries a constant (vector(42.5)) and live series of Prometheus
itself; the stored values and timestamps must match Prometheus' own API
answer. A second source checks the error paths against the real server: a
PromQL syntax error (Prometheus' text is logged), more than one series (the
count is named), and NaN (skipped and reported).

Skips (exit 0, with a SKIP line) only when the prometheus binary is absent;
CI installs it (scripts/debian-packages.txt)."""
import calendar
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

from okrdtest import DEADLINE, Daemon, check, main, run, skip


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Prometheus:
    def __init__(self, binary, wd):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        conf = wd.file("prometheus.yml",
                       "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                       "scrape_configs:\n  - job_name: prometheus\n    static_configs:\n"
                       f"      - targets: ['127.0.0.1:{self.port}']\n")
        self.log = open(os.path.join(wd.path, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={conf}", f"--storage.tsdb.path={wd.path}/tsdb",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)

    def query(self, q, at=None):
        params = {"query": q}
        if at is not None:
            params["time"] = str(at)
        url = f"{self.base}/api/v1/query?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)

    def wait_ready(self):
        """Ready (/-/ready) and the first self-scrape stored (up == 1)."""
        end = time.monotonic() + 60
        while time.monotonic() < end:
            check(self.proc.poll() is None, "prometheus exited; see prometheus.log")
            try:
                doc = self.query('up{job="prometheus"}')
                if doc["data"]["result"] and doc["data"]["result"][0]["value"][1] == "1":
                    return
            except OSError:
                pass
            time.sleep(0.2)  # polling a starting server; bounded by the deadline
        raise AssertionError("prometheus not ready within 60s")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


QUERIES = [
    {"metric": "const", "query": "vector(42.5)"},
    {"metric": "up_self", "query": 'sum(up{job="prometheus"})'},
    {"metric": "build_info", "query": "count(prometheus_build_info)"},
    {"metric": "scalar_pi", "query": "scalar(vector(3.14159))"},
]


def test_real_prometheus(args, wd):
    binary = shutil.which("prometheus")
    if not binary:
        skip("no `prometheus` binary on PATH (apt-get install prometheus; CI installs it)")
    prom = Prometheus(binary, wd)
    try:
        prom.wait_ready()
        cfg = wd.config({
            "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": ""},
            "sources": [
                {"id": "prom", "type": "prometheus", "url": prom.base, "interval": "1s",
                 "queries": QUERIES},
                {"id": "prom-bad", "type": "prometheus", "url": prom.base, "interval": "1s",
                 "queries": [{"metric": "syntax", "query": "sum(rate(x[5m]"},
                             {"metric": "two", "query": 'up{job="prometheus"} or vector(7)'},
                             {"metric": "nan", "query": "vector(0) / 0"}]},
            ]})
        d = Daemon(args.okrd, cfg)
        try:
            d.wait_log(["event=poll_ok", "source=prom"], deadline=DEADLINE)
            d.seen = 0  # the two sources log in any order
            line = d.wait_log(["event=query_skipped", "source=prom-bad", "nan"])
            check("NaN" in line, f"NaN reported: {line}")
            d.seen = 0
            line = d.wait_log(["event=poll_failed", "source=prom-bad"])
            check("Prometheus error (bad_data)" in line and "parse error" in line,
                  f"Prometheus' error text in the log: {line}")
            # A few seconds of polls, so the newest stored point is well after
            # the first self-scrape (the first may precede it within a second).
            d.wait_log(["event=source_failing", "source=prom-bad"])
            code, _ = d.stop()
            check(code == 0, "exit 0")
        finally:
            d.kill()
        r = run(args.okrd, "export", "-c", cfg, "--json")
        check(r.returncode == 0, r.stderr)
        pts = json.loads(r.stdout)
        for q in QUERIES:
            mine = [p for p in pts if p["metric"] == q["metric"]]
            check(mine, f"{q['metric']}: stored")
            p = mine[-1]
            ts = calendar.timegm(time.strptime(p["timestamp"], "%Y-%m-%dT%H:%M:%SZ"))
            # Prometheus' own answer at the stored (floored) second.
            doc = prom.query(q["query"], at=ts)
            res = doc["data"]["result"]
            check(res, f"{q['metric']}: Prometheus has no answer at {ts}: {doc}")
            value = res[1] if doc["data"]["resultType"] == "scalar" else res[0]["value"][1]
            check(float(value) == p["value"],
                  f"{q['metric']}: okrd stored {p['value']}, Prometheus says {value}")
        check(not [p for p in pts if p["metric"] in ("syntax", "two", "nan")],
              "nothing stored for the failing queries")
    finally:
        prom.stop()


def test_two_series_named(args, wd):
    binary = shutil.which("prometheus")
    if not binary:
        skip("no `prometheus` binary on PATH")
    prom = Prometheus(binary, wd)
    try:
        prom.wait_ready()
        cfg = wd.config({
            "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": ""},
            "sources": [{"id": "p2", "type": "prometheus", "url": prom.base, "interval": "1s",
                         "queries": [{"metric": "two",
                                      "query": 'up{job="prometheus"} or vector(7)'}]}]})
        d = Daemon(args.okrd, cfg)
        try:
            line = d.wait_log(["event=poll_failed", "source=p2"])
            check("returned 2 series" in line, f"the count named: {line}")
            d.stop()
        finally:
            d.kill()
    finally:
        prom.stop()


if __name__ == "__main__":
    main([test_real_prometheus, test_two_series_named])
