"""Helpers for the high-availability tests (DESIGN section 10): a throw-away
PostgreSQL server (tests/pg/pgserver), okrd nodes that share it, a poller
that watches every node's /healthz role and proves there is never a moment
with two leaders, and webhook receivers that verify Standard Webhooks
signatures and record which node sent each request.

Python 3 standard library only; every wait is for a condition, with a
deadline.
"""
import atexit
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from okrdtest import REPO, Daemon, TestFailure, check, skip

PGSERVER = os.path.join(REPO, "tests", "pg", "pgserver")
BINDIR = os.environ.get("OKRD_PG_BINDIR", "/usr/lib/postgresql/15/bin")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOKEN = "ha-t0ken-for-tests"  # daemon.api_token: every scope (push, checkin, read)
TAKEOVER_S = 2.0


class PgServer:
    """pgserver start DIR on PORT (default: a port free now, so that two test
    runs on one machine never meet); a fresh database per test (`db`)."""

    def __init__(self, wd, port=None):
        if port is None:
            port = free_port()
        if not os.access(os.path.join(BINDIR, "postgres"), os.X_OK):
            skip(f"no PostgreSQL server binaries in {BINDIR} (Debian package postgresql-15)")
        self.dir = os.path.join(wd.path, "pg")
        self.port = port
        r = subprocess.run(["python3", PGSERVER, "start", self.dir, "--port", str(port)],
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"pgserver start: {r.stdout}{r.stderr}")
        atexit.register(self.stop)  # also when a check in a finally block fails
        with open(os.path.join(self.dir, "conninfo")) as f:
            self.conninfo = f.read().strip()
        self.sql("CREATE DATABASE okrd_ha")
        self.url = self.conninfo.replace("dbname=postgres", "dbname=okrd_ha")

    def sql(self, query, db="postgres"):
        """Runs QUERY with psql; returns the rows as lists of strings."""
        info = self.conninfo.replace("dbname=postgres", f"dbname={db}")
        r = subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(BINDIR, "psql"),
                            info, "-AtX", "-F", "\t", "-c", query] if os.geteuid() == 0 else
                           [os.path.join(BINDIR, "psql"), info, "-AtX", "-F", "\t", "-c", query],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, f"psql {query!r}: {r.stderr}")
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def okrd_sql(self, query):
        return self.sql(query, db="okrd_ha")

    def stop(self):
        if os.path.exists(self.dir):
            subprocess.run(["python3", PGSERVER, "stop", self.dir], capture_output=True,
                           timeout=120)


def teardown(poller, nodes, receivers, pg):
    """Stops everything, whatever fails; then raises the poller's verdict."""
    failure = None
    if poller:
        try:
            poller.close()
        except TestFailure as e:
            failure = e
    for n in nodes:
        n.kill()
    for r in receivers:
        r.close()
    pg.stop()
    if failure:
        raise failure


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TimedDaemon(Daemon):
    """A Daemon whose log lines carry their arrival time (monotonic)."""

    def _read(self):
        self.timed = []
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.timed.append((time.monotonic(), line.rstrip("\n")))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def lines_after(self, t):
        with self.cond:
            return [line for (ts, line) in getattr(self, "timed", []) if ts > t]


class Node:
    """One okrd node of the pair: its own state_dir and API port, the
    shared store, inbox and webhooks (each node's webhook URL carries its
    name, so a receiver knows who sent what)."""

    def __init__(self, args, wd, name, pg, receivers=(), kr_target=1200, host="127.0.0.1",
                 url=None, okrd=None):
        self.args, self.wd, self.name, self.pg = args, wd, name, pg
        self.host = host          # where its API listens (another network namespace's address)
        self.okrd = okrd or args.okrd  # a wrapper that runs okrd elsewhere, or okrd itself
        self.port = free_port()
        today = dt.date.today()
        start, end = today - dt.timedelta(days=45), today + dt.timedelta(days=44)
        self.config = wd.config({
            "daemon": {"state_dir": os.path.join(wd.path, f"state-{name}"),
                       "listen": f"{host}:{self.port}", "api_token": TOKEN},
            "store": {"backend": "postgresql", "url": url or pg.url,
                      "ha": {"takeover_check": f"{int(TAKEOVER_S)}s"}},
            "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox"),
                         "settle": "200ms"}],
            "objectives": [{"id": "growth", "title": "Grow",
                            "cycle": {"start": start.isoformat(), "end": end.isoformat()},
                            "key_results": [{"id": "dau-up", "title": "Increase DAU by 20%",
                                             "metric": "dau", "direction": "increase",
                                             "baseline": 1000, "target": kr_target}]}],
            "webhooks": [{"id": f"hook{i}", "url": f"{r.url}/{name}", "secret": SECRET,
                          "timeout": "2s"} for i, r in enumerate(receivers)],
            "alerts": {"for": "0s"},
        }, name=f"okrd-{name}.json")
        self.daemon = None

    def start(self, env=None):
        self.daemon = TimedDaemon(self.okrd, self.config, env=env)
        return self

    def role(self, timeout=0.5):
        """'leader', 'follower', or None (no answer: stopped, dead, starting)."""
        try:
            with urllib.request.urlopen(f"http://{self.host}:{self.port}/healthz",
                                        timeout=timeout) as r:
                return json.loads(r.read())["role"]
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            return None

    def metric_leader(self):
        with urllib.request.urlopen(f"http://{self.host}:{self.port}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("okrd_ha_leader "):
                    return float(line.split()[1])
        return None

    def writer_pids(self):
        pid = self.daemon.proc.pid
        return [int(r[0]) for r in self.pg.sql(
            f"SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'okrd % {pid} writer'")]

    def kill(self):
        if self.daemon:
            self.daemon.kill()

    def stop(self):
        if self.daemon and self.daemon.alive():
            self.daemon.stop(deadline=15.0)


def pair(args, wd, pg, receivers=(), env_b=None):
    """Nodes a and b on PG, started in that order (each until "started"),
    so a usually leads; ENV_B: node b's extra environment."""
    nodes = [Node(args, wd, "a", pg, receivers), Node(args, wd, "b", pg, receivers)]
    nodes[0].start()
    nodes[0].daemon.wait_log("started")
    nodes[1].start(env=env_b)
    nodes[1].daemon.wait_log("started")
    return nodes


def wait_for(pred, what, deadline=30.0, every=0.05):
    end = time.monotonic() + deadline
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise TestFailure(f"timed out after {deadline}s waiting for {what}")
        time.sleep(every)


class RolePoller:
    """Polls every node's /healthz on a thread; records (t, roles) and
    notes any instant at which two nodes answered leader. Each round asks
    every node, then sleeps 20 ms."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.samples = []
        self.two_leaders = []
        self.stop_flag = False
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_flag:
            t = time.monotonic()
            roles = [n.role(timeout=0.3) for n in self.nodes]
            with self.cond:
                self.samples.append((t, roles))
                if roles.count("leader") > 1:
                    self.two_leaders.append((t, roles))
                self.cond.notify_all()
            time.sleep(0.02)

    def leader(self):
        """The index of the node the last round saw as the only leader."""
        with self.cond:
            if not self.samples:
                return None
            roles = self.samples[-1][1]
        return roles.index("leader") if roles.count("leader") == 1 else None

    def wait_role(self, i, role, deadline=30.0, after=0.0):
        """Waits until a round that started after AFTER saw node I answer
        ROLE; returns that round's start time."""
        end = time.monotonic() + deadline
        with self.cond:
            while True:
                for t, roles in self.samples:
                    if t >= after and roles[i] == role:
                        return t
                left = end - time.monotonic()
                if left <= 0:
                    raise TestFailure(f"node {self.nodes[i].name} did not answer role {role} "
                                      f"within {deadline}s; last: {self.samples[-3:]}")
                self.cond.wait(left)

    def close(self, overlap=None):
        """Stops polling; fails if two nodes ever answered leader at once,
        but within OVERLAP = (t0, seconds): a window in which that is
        expected (see test_ha_fencing.py)."""
        self.stop_flag = True
        self.thread.join(5)
        bad = [(t, r) for t, r in self.two_leaders
               if not (overlap and overlap[0] <= t <= overlap[0] + overlap[1])]
        check(not bad, f"two nodes answered role leader at once: {bad[:5]}")
        return [t for t, r in self.two_leaders if (t, r) not in bad]


def verify_signature(req):
    """Standard Webhooks: v1,base64(HMAC-SHA256(key, id.timestamp.body))."""
    key = base64.b64decode(SECRET[len("whsec_"):])
    h = req["headers"]
    msg = f"{h['webhook-id']}.{h['webhook-timestamp']}.{req['body']}".encode()
    want = base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
    sigs = [s.split(",", 1)[1] for s in h.get("webhook-signature", "").split() if "," in s]
    return want in sigs


class Receiver:
    """A webhook endpoint on 127.0.0.1:0 answering 204 (or ANSWER) to every
    POST whose signature verifies (401 otherwise); records t, path (the
    sending node), id, type, status."""

    def __init__(self, answer=204):
        self.requests = []
        self.cond = threading.Condition()
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                req = {"t": time.monotonic(), "path": self.path,
                       "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                req["id"] = req["headers"].get("webhook-id")
                req["ok_sig"] = verify_signature(req)
                req["status"] = answer if req["ok_sig"] else 401
                with rec.cond:
                    rec.requests.append(req)
                    rec.cond.notify_all()
                self.send_response(req["status"])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def snapshot(self):
        with self.cond:
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Drops:
    """Writes CSV files into the shared inbox (renamed in whole), each with
    one new point of dau a second after the previous one."""

    def __init__(self, wd):
        self.inbox = os.path.join(wd.path, "inbox")
        os.makedirs(self.inbox, exist_ok=True)
        self.ts = int(time.time()) - 7200
        self.n = 0
        self.points = []

    def put(self, value):
        self.ts += 1
        self.n += 1
        tmp = os.path.join(self.inbox, f".drop{self.n}.tmp")
        with open(tmp, "w") as f:
            f.write(f"metric,timestamp,value\ndau,{self.ts},{value}\n")
        os.rename(tmp, os.path.join(self.inbox, f"drop{self.n}.csv"))
        self.points.append((self.ts, value))

    def pending(self):
        return [f for f in os.listdir(self.inbox) if f.endswith(".csv")]
