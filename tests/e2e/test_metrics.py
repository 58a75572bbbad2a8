"""okrd metrics and GET /api/v1/metrics (DESIGN section 6, issue 14 item 9):
every stored metric id with its point count, first and last point, last
value, the sources that fed it and the key results that use it, `unlinked`
when none does; ids the config names without data are listed too. The
command is read-only like status (nothing created or touched in state_dir,
no secret resolved, works beside the running daemon), and the API serves
exactly its --json document, built on a read worker (off the loop)."""
import json
import os
import re
import signal
import threading

from apitest import TOKEN, Api, free_port
from okrdtest import Daemon, StoreDb, check, main, run

CSV = """metric,timestamp,value
dau,2026-11-02,1040
dau,2026-11-01,1000
feature_users,2026-11-01,300
wau,2026-11-01,7000.5
"""


def config(wd, listen="", token=None, state="state"):
    daemon = {"state_dir": os.path.join(wd.path, state), "listen": listen, "timezone": "UTC",
              "evaluate_every": "1s", "log_level": "debug"}
    if token:
        daemon["api_token"] = token
    os.makedirs(os.path.join(wd.path, "inbox"), exist_ok=True)
    kr = lambda i, m: {"id": i, "title": i, "metric": m, "direction": "increase", "target": 2000}
    return wd.config({
        "daemon": daemon,
        "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
        "metrics": [{"id": "adoption", "ratio": ["feature_users", "dau"], "scale": 100, "unit": "%"},
                    {"id": "dau", "unit": "users"}],
        "objectives": [{"id": "grow", "title": "Grow", "cycle": "2026-Q4", "key_results": [
            kr("kr-dau", "dau"), kr("kr-adopt", "adoption"), kr("kr-typo", "signupz")]}],
    })


def entry(id_, points=0, first=None, last=None, value=None, unit=None, sources=(), krs=(),
          configured=True, ratio=None, in_ratios=()):
    return {"id": id_, "points": points, "first_point_at": first, "last_point_at": last,
            "last_value": value, "unit": unit, "sources": list(sources), "key_results": list(krs),
            "unlinked": not krs, "configured": configured, "ratio": ratio,
            "in_ratios": list(in_ratios)}


# What CSV holds, joined with config(): the ratio and the misspelt metric
# have no points; wau is stored but no key result names it.
EXPECTED = {"metrics": [
    entry("adoption", unit="%", krs=["kr-adopt"],
          ratio={"numerator": "feature_users", "denominator": "dau", "scale": 100}),
    entry("dau", 2, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", 1040, "users", ["drops"],
          ["kr-dau", "kr-adopt"], in_ratios=["adoption"]),
    entry("feature_users", 1, "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z", 300, None, ["drops"],
          ["kr-adopt"], in_ratios=["adoption"]),
    entry("signupz", krs=["kr-typo"]),
    entry("wau", 1, "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z", 7000.5, None, ["drops"],
          configured=False),
]}


def state_files(wd, state):
    """Names, and the database's and WAL's mtime and size (a reader may
    write SQLite's shared-memory index, okrd.db-shm: that is no change);
    the store's write mark (on PostgreSQL its change_seq)."""
    names = sorted(os.listdir(state)) if os.path.isdir(state) else []
    return ({n: None if n.endswith("-shm") else
             (os.stat(os.path.join(state, n)).st_mtime_ns, os.stat(os.path.join(state, n)).st_size)
             for n in names}, StoreDb(wd, state).write_mark())


def test_json_and_table(args, wd):
    cfg = config(wd)
    state = os.path.join(wd.path, "state")
    r = run(args.okrd, "metrics", "-c", cfg)
    check(r.returncode == 3 and "no store" in r.stderr, f"without a store: {r.returncode} {r.stderr}")
    check(not os.path.exists(state), "metrics created no state_dir")
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("in.csv", CSV))
    check(r.returncode == 0, f"ingest: {r.stderr}")
    before = state_files(wd, state)

    # A secret it cannot resolve does not matter: it resolves none.
    doc = json.load(open(cfg))
    doc["daemon"]["api_token"] = "${env:OKRD_TEST_UNSET_TOKEN}"
    cfg = wd.config(doc)
    env = {k: v for k, v in os.environ.items() if k not in ("OKRD_TEST_UNSET_TOKEN", "NO_COLOR")}
    r = run(args.okrd, "metrics", "-c", cfg, "--json", env=env)
    check(r.returncode == 0, f"metrics --json: {r.returncode} {r.stderr}")
    got = json.loads(r.stdout)
    check(got == EXPECTED, f"metrics --json:\n{json.dumps(got, indent=1)}\nwant:\n"
          f"{json.dumps(EXPECTED, indent=1)}")

    r = run(args.okrd, "metrics", "-c", cfg, env=env)
    check(r.returncode == 0, f"metrics: {r.returncode} {r.stderr}")
    check("\033[" not in r.stdout, f"no colour when stdout is no terminal: {r.stdout!r}")
    lines = r.stdout.rstrip("\n").split("\n")
    header = lines[0]
    cols = ["METRIC", "POINTS", "FIRST", "LAST", "LAST VALUE", "SOURCES", "KEY RESULTS"]
    check(re.fullmatch(r"METRIC +POINTS  FIRST +LAST +LAST VALUE  SOURCES +KEY RESULTS", header),
          f"header: {header!r}")
    rows = {l.split()[0]: l for l in lines[1:]}
    check(sorted(rows) == [m["id"] for m in EXPECTED["metrics"]], f"one row per metric: {lines}")
    # Aligned: every text column starts where its header does, each number
    # column ends where its header ends.
    start = {c: header.index(c) for c in ("FIRST", "SOURCES", "KEY RESULTS")}
    start["LAST"] = header.index("LAST ")
    want_cells = {
        "dau": {"FIRST": "2026-11-01T00:00:00Z", "LAST": "2026-11-02T00:00:00Z",
                "SOURCES": "drops", "KEY RESULTS": "kr-dau, kr-adopt"},
        "wau": {"FIRST": "2026-11-01T00:00:00Z", "SOURCES": "drops", "KEY RESULTS": "unlinked"},
        "adoption": {"FIRST": "-", "SOURCES": "ratio feature_users / dau",
                     "KEY RESULTS": "kr-adopt"},
        "signupz": {"FIRST": "-", "SOURCES": "-", "KEY RESULTS": "kr-typo"},
    }
    for mid, cells in want_cells.items():
        line = rows[mid]
        for col, text in cells.items():
            at = start[col]
            check(line[at:at + len(text)] == text and line[at - 1] == " ",
                  f"{mid}: {col} should read {text!r} at column {at}: {line!r}")
    ends = {c: header.index(c) + len(c) for c in ("POINTS", "LAST VALUE")}
    for mid, pts, val in (("dau", "2", "1040 users"), ("wau", "1", "7000.5"), ("signupz", "0", "-")):
        line = rows[mid]
        check(line[:ends["POINTS"]].endswith(" " + pts), f"{mid}: points {pts}: {line!r}")
        check(line[:ends["LAST VALUE"]].endswith(" " + val), f"{mid}: last value {val}: {line!r}")
    check(state_files(wd, state) == before, f"state_dir untouched: {before} -> {state_files(wd, state)}")

    r = run(args.okrd, "metrics", "-c", cfg, "extra", env=env)
    check(r.returncode == 2 and "extra" in r.stderr, f"usage error: {r.returncode} {r.stderr}")


class Fetch(threading.Thread):
    """One GET on its own thread, to be held by the read workers."""

    def __init__(self, api, path):
        super().__init__(daemon=True)
        self.api, self.path, self.result, self.error = api, path, None, None
        self.start()

    def run(self):
        try:
            self.result = self.api.get(self.path, timeout=60)
        except Exception as e:  # reported by wait()
            self.error = e

    def wait(self):
        self.join(60)
        check(not self.is_alive() and self.error is None, f"GET {self.path}: {self.error}")
        return self.result


def test_api_equals_cli_beside_the_daemon(args, wd):
    port = free_port()
    cfg = config(wd, f"127.0.0.1:{port}", TOKEN)
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("in.csv", CSV))
    check(r.returncode == 0, f"ingest: {r.stderr}")
    api = Api(port=port)
    # The read workers hold every job until SIGUSR2: the list is provably
    # built off the loop while /healthz answers.
    d = Daemon(args.okrd, cfg, env={"OKRD_TEST_HOLD_API_READS": "1"})
    try:
        d.wait_log("event=api_listening")
        api.wait_ready()
        held = Fetch(api, "/api/v1/metrics")
        d.wait_log(["event=api_read_queued", "read=metrics"])
        status, _, _ = api.get("/healthz")
        check(status == 200, f"/healthz while the metric list waits: {status}")
        check(held.is_alive(), "the metric list answered before a worker took it")
        d.signal(signal.SIGUSR2)
        status, headers, body = held.wait()
        check(status == 200, f"GET /api/v1/metrics: {status} {body[:300]!r}")
        check(headers.get("content-type", "").startswith("application/json"), f"{headers}")
        check(json.loads(body) == EXPECTED, f"API document: {body!r}")

        # A push is recorded as source "push"; the CLI beside the daemon
        # (read-only, the daemon's WAL open) prints the same document.
        status, _, body = api.push([{"metric": "dau", "timestamp": "2026-11-03", "value": 1100},
                                    {"metric": "pushed_only", "timestamp": "2026-11-03", "value": 1}])
        check(status == 200, f"push: {status} {body!r}")
        doc = api.json("/api/v1/metrics")
        by_id = {m["id"]: m for m in doc["metrics"]}
        check(by_id["dau"]["sources"] == ["drops", "push"] and by_id["dau"]["points"] == 3
              and by_id["dau"]["last_value"] == 1100
              and by_id["dau"]["last_point_at"] == "2026-11-03T00:00:00Z", f"dau: {by_id['dau']}")
        check(by_id["pushed_only"] == entry("pushed_only", 1, "2026-11-03T00:00:00Z",
                                            "2026-11-03T00:00:00Z", 1, None, ["push"],
                                            configured=False), f"pushed_only: {by_id}")
        r = run(args.okrd, "metrics", "-c", cfg, "--json")
        check(r.returncode == 0, f"metrics beside the daemon: {r.returncode} {r.stderr}")
        check(json.loads(r.stdout) == doc, f"CLI {r.stdout} != API {doc}")

        status, headers, _ = api.request("POST", "/api/v1/metrics", body=b"{}")
        check(status == 405 and "GET" in headers.get("allow", ""), f"POST: {status} {headers}")
        check(d.alive(), "the daemon kept running")
        code, _ = d.stop()
        check(code == 0, f"exit {code}")
    finally:
        d.kill()


if __name__ == "__main__":
    main([test_json_and_table, test_api_equals_cli_beside_the_daemon])
