"""Helpers for the HTTP API end-to-end tests (test_api.py, test_dashboard.py):
a free port, a config whose cycle contains today, plain HTTP over TCP or a
Unix socket, and waiting for the daemon's API with a deadline. Every answer
Api receives is validated against docs/openapi.yaml (okrdtest.validate_answer)."""
import datetime
import http.client
import json
import os
import socket
import time

from okrdtest import DEADLINE, Daemon, TestFailure, check, validate_answer

TOKEN = "t0ken-for-tests"


def free_port():
    """A port nobody listens on right now (okrd's config cannot say port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def this_quarter():
    """(cycle string, start date, today) for the quarter containing today (UTC)."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    q = (today.month - 1) // 3
    start = datetime.date(today.year, 3 * q + 1, 1)
    return f"{today.year}-Q{q + 1}", start, today


def day(d, offset):
    return (d + datetime.timedelta(days=offset)).isoformat()


def config(wd, listen, token=TOKEN, evaluate_every="1s", extra_krs=()):
    """Two objectives, four key results over this quarter; returns (path, kr ids)."""
    cycle, _, _ = this_quarter()
    daemon = {"state_dir": os.path.join(wd.path, "state"), "listen": listen, "timezone": "UTC",
              "evaluate_every": evaluate_every, "log_level": "debug"}
    if token is not None:
        daemon["api_token"] = token
    krs = [
        {"id": "dau-up", "title": "Increase <b>daily</b> active users & \"more\"", "metric": "dau",
         "direction": "increase", "target": "+20%"},
        {"id": "reviews", "title": "Generate 100 positive reviews", "metric": "reviews",
         "direction": "increase", "aggregate": {"fn": "sum", "window": "cycle"}, "target": 100},
        {"id": "csat", "title": "Keep CSAT at 8/10 or higher", "metric": "csat",
         "direction": "at_least", "target": 8},
    ] + list(extra_krs)
    cfg = {
        "daemon": daemon,
        "metrics": [{"id": "dau", "unit": "users"}],
        "webhooks": [{"id": "growth-slack", "url": "http://127.0.0.1:9/hook"}],
        "objectives": [
            {"id": "company", "title": "Grow the <company>", "cycle": cycle, "key_results": [
                {"id": "nothing", "title": "Measure something new", "metric": "nothing_yet",
                 "direction": "increase", "target": 100}]},
            {"id": "engagement", "title": "Improve user engagement", "parent": "company",
             "owner": "growth & co", "cycle": cycle, "key_results": krs},
        ],
    }
    return wd.config(cfg), ["nothing"] + [k["id"] for k in krs]


def history_csv():
    """Points before and inside this quarter (at most today)."""
    _, start, today = this_quarter()
    elapsed = (today - start).days
    rows = ["metric,timestamp,value", f"dau,{day(start, -1)},1000"]
    for i, d in enumerate(range(0, elapsed + 1, max(1, elapsed // 4 or 1))):
        rows.append(f"dau,{day(start, d)},{1000 + 20 * (i + 1)}")
        rows.append(f"reviews,{day(start, d)},{5 + i}")
        rows.append(f"csat,{day(start, d)},{8.4 if i % 2 == 0 else 7.8}")
    return "\n".join(rows) + "\n"


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Api:
    """Requests against one daemon; every call is a fresh connection."""

    def __init__(self, host="127.0.0.1", port=None, unix=None):
        self.host, self.port, self.unix = host, port, unix

    def conn(self, timeout=10):
        if self.unix:
            return UnixHTTPConnection(self.unix, timeout=timeout)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=10, validate=True):
        """(status, headers with lower-case names, body bytes). Every answer
        is checked against docs/openapi.yaml (validate=False only for a
        request that is not one of okrd's API calls)."""
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            headers = {k.lower(): v for k, v in r.getheaders()}
        finally:
            c.close()
        if validate:
            validate_answer(method, path, r.status, headers, data)
        return r.status, headers, data

    def get(self, path, token=None, **kw):
        h = {"Authorization": f"Bearer {token}"} if token else {}
        return self.request("GET", path, headers=h, **kw)

    def json(self, path, token=None, want=200):
        status, headers, body = self.get(path, token)
        check(status == want, f"GET {path}: {status} {body[:300]!r}, want {want}")
        check(headers.get("content-type", "").startswith("application/json"),
              f"GET {path}: content-type {headers.get('content-type')}")
        return json.loads(body)

    def push(self, points, token=TOKEN, raw=None):
        h = {"Content-Type": "application/json"}
        if token:
            h["Authorization"] = f"Bearer {token}"
        body = raw if raw is not None else json.dumps(points).encode()
        return self.request("POST", "/api/v1/points", body=body, headers=h)

    def wait_ready(self, token=None, deadline=DEADLINE):
        """Until GET /api/v1/objectives answers 200 (the first evaluation is in)."""
        end = time.monotonic() + deadline
        last = None
        while time.monotonic() < end:
            try:
                status, _, body = self.get("/api/v1/objectives", token)
                if status == 200:
                    return json.loads(body)
                last = (status, body[:200])
            except OSError as e:
                last = e
            time.sleep(0.05)  # polling a socket for readiness, with a deadline
        raise TestFailure(f"the API did not become ready within {deadline}s: {last}")

    def wait_for(self, path, pred, what, token=None, deadline=DEADLINE):
        """Polls GET path until pred(doc) is true; returns the doc."""
        end = time.monotonic() + deadline
        doc = None
        while time.monotonic() < end:
            status, _, body = self.get(path, token)
            if status == 200:
                doc = json.loads(body)
                if pred(doc):
                    return doc
            time.sleep(0.05)
        raise TestFailure(f"timed out after {deadline}s waiting for {what}; last: {doc}")


def start(okrd, cfg, wd=None):
    d = Daemon(okrd, cfg)
    try:
        d.wait_log("event=api_listening")
    except Exception:
        d.kill()
        raise
    return d


def find_kr(doc, kr_id):
    for o in doc["objectives"]:
        for k in o["key_results"]:
            if k["id"] == kr_id:
                return k
    raise TestFailure(f"no key result {kr_id} in {doc}")
