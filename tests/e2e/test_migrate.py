"""okrd migrate (DESIGN section 10) end to end, on a PostgreSQL server of the
test's own (ctest's `pg` fixture, tests/pg/pgserver; OKRD_TEST_PG).

A SQLite store is made with every kind of row the daemon writes: `okrd run`
on the test clock (2026-10-05 12:00, a Monday) with a CSV source (`okrd
ingest` of a history, and a file dropped into the inbox), an http_json
source that answers 503 (source health, source.failing), a webhook receiver
that fails the first delivery once (a retried, then delivered delivery),
a check-in with tabs, newlines and a backslash in its comment, a push, the
daily history backfilled since the cycle began, a past cycle's definitions
(the archive), a reminder slot. Then:

  - migrate refuses while `okrd run` holds state_dir/okrd.lock (exit 3,
    naming the lock), and the target stays untouched;
  - a wrong password: exit 3, a message naming the failure, never the
    password;
  - migrate copies: exit 0, per table the same count on both sides, every
    table the daemon wrote non-empty; `okrd export`, `okrd export
    --check-ins` and `okrd status --json` give byte-identical output on the
    SQLite config and on the same config with store.backend postgresql;
    the outbox's sequence continues after the copied seq numbers;
  - a second migrate into the now non-empty store refuses (exit 3, naming
    the table) and changes nothing.
"""
import json
import os
import re
import sqlite3
import threading

from apitest import TOKEN, Api, free_port
from httpfixture import Fixture, body, status
from okrdtest import (Daemon, check, main, pg_conninfo, pg_create_database, pg_query,
                      pg_url, run)

CLOCK = "2026-10-05T12:00:00Z"
TABLES = ["metrics", "points", "metric_sources", "source_health", "ingest_log", "kr_state",
          "kr_history", "definitions", "alert_kr", "alert_source", "alert_meta", "outbox",
          "deliveries", "checkins", "webhooks_disabled"]
COMMENT = "slipped a week:\tsee\nthe \\ops channel"


class FailOnce:
    """A webhook receiver that answers 500 to its first request, then 200."""

    def __init__(self):
        self.n = 0
        self.lock = threading.Lock()

    def __call__(self, h):
        with self.lock:
            self.n += 1
            first = self.n == 1
        (status(500) if first else body({"ok": True}))(h)


def sqlite_config(wd, port, fx):
    return {
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": f"127.0.0.1:{port}",
                   "timezone": "UTC", "evaluate_every": "1s", "api_token": TOKEN,
                   "log_level": "debug"},
        "sources": [
            {"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox"),
             "settle": "200ms", "on_error": "skip_row"},
            {"id": "analytics", "type": "http_json", "interval": "1s", "failing_after": 1,
             "url": fx.url("/api"), "extract": [{"metric": "visits", "value": "/v"}]}],
        "objectives": [
            {"id": "growth", "title": "Grow", "owner": "ann",
             "cycle": {"start": "2026-10-01", "end": "2026-12-31"},
             "key_results": [
                 {"id": "dau-up", "title": "DAU up", "metric": "dau", "direction": "increase",
                  "baseline": 1000, "target": 1200},
                 {"id": "signups", "title": "Signups", "metric": "signups",
                  "direction": "increase", "baseline": 10, "target": 20}]},
            {"id": "support", "title": "Support", "cycle": "2026-Q3",
             "key_results": [{"id": "csat-q3", "title": "CSAT", "metric": "csat",
                              "direction": "at_least", "target": 8}]}],
        "webhooks": [{"id": "hook", "url": fx.url("/hook"),
                      "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                     {"id": "gone", "url": fx.url("/gone")}],  # 410: disabled
        "alerts": {"for": "0s"},
        "checkins": {"remind": "monday 09:00"},
    }


def history_csv():
    rows = ["metric,timestamp,value"]
    for d, v in [("2026-09-30", 1000), ("2026-10-01", 1001), ("2026-10-02", 1003.5),
                 ("2026-10-03", 1002), ("2026-10-04", 1004), ("2026-10-05T08:00:00Z", 1005)]:
        rows.append(f"dau,{d},{v}")
    for i in range(1, 31):
        rows.append(f"csat,2026-09-{i:02d},{7 if i % 7 == 0 else 9}")
    return "\n".join(rows) + "\n"


def outputs(args, cfg):
    """What must read the same on both stores: the points, the check-ins,
    the status document as of the test clock."""
    out = {}
    for name, cmd in [("export", ["export"]), ("export_json", ["export", "--json"]),
                      ("checkins", ["export", "--check-ins", "--json"]),
                      ("status", ["status", "--json", "--at", CLOCK])]:
        r = run(args.okrd, cmd[0], "-c", cfg, *cmd[1:], env={"OKRD_TEST_CLOCK": CLOCK})
        check(r.returncode == 0, f"okrd {' '.join(cmd)} -c {cfg}: exit {r.returncode}\n{r.stderr}")
        out[name] = r.stdout
    return out


def make_store(args, wd):
    """Runs okrd on the SQLite store until every kind of row is there;
    returns the SQLite config's path and the config document."""
    os.makedirs(os.path.join(wd.path, "inbox"))
    port = free_port()
    fx = Fixture({"/hook": FailOnce(), "/api": status(503), "/gone": status(410)})
    fx.__enter__()
    wd.fixture = fx
    doc = sqlite_config(wd, port, fx)
    cfg = wd.config(doc, "sqlite.json")
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("h.csv", history_csv()))
    check(r.returncode == 0, f"ingest: {r.stdout} {r.stderr}")
    api = Api(port=port)
    d = Daemon(args.okrd, cfg, env={"OKRD_TEST_CLOCK": CLOCK})
    try:
        d.wait_log("event=api_listening")
        # a file through the inbox, one row of it skipped (a partial ingest)
        with open(os.path.join(wd.path, "inbox", "drop.csv"), "w") as f:
            f.write("metric,timestamp,value\nsignups,2026-10-02,11\nsignups,2026-10-03,oops\n")
        d.wait_log(["event=file_partial", "drop.csv"])
        r = run(args.okrd, "checkin", "-c", cfg, "dau-up", "--confidence", "6", "--comment",
                COMMENT, "--status", "at_risk", env={"OKRD_TOKEN": TOKEN})
        check(r.returncode == 0, f"checkin: {r.returncode} {r.stdout} {r.stderr}")
        st, _, b = api.request("POST", "/api/v1/points", body=json.dumps(
            [{"metric": "pushed", "timestamp": "2026-10-04T10:00:00Z", "value": -0.25}]),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        check(st == 200, f"push: {st} {b}")
        # the first delivery failed once and was retried (5 s later); wait
        # until every event is delivered

        def settled():
            pend = [x for x in api.json("/api/v1/deliveries?state=pending", TOKEN)["deliveries"]
                    if x["webhook"] == "hook"]  # "gone"'s wait: it answered 410
            done = api.json("/api/v1/deliveries?state=delivered", TOKEN)["deliveries"]
            types = {x["type"] for x in done}
            return not pend and any(x["attempts"] >= 2 for x in done) and \
                {"source.failing", "kr.check_in", "checkin.due"} <= types
        wait_until(settled, "every delivery delivered, one after a retry, source.failing, "
                   "kr.check_in and checkin.due among them", 60, d)
        check("event=webhook_disabled webhook=gone" in d.log(), "gone answered 410")
    finally:
        code, _ = d.stop()
    check(code == 0, f"okrd run exit {code}; log:\n{d.log()}")
    return cfg, doc


def wait_until(pred, what, deadline, d):
    import time
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.2)  # poll interval, bounded by the deadline
    raise AssertionError(f"not within {deadline}s: {what}; log:\n{d.log()}")


def pg_config(wd, doc, url, name):
    return wd.config(dict(doc, store={"backend": "postgresql", "url": url}), name)


def counts(stdout):
    """The table of `okrd migrate`: {table: (sqlite, postgresql)}."""
    got = {}
    for line in stdout.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)\s+(\d+)$", line)
        if m:
            got[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return got


def test_migrate(args, wd):
    pg_conninfo()  # fails the test clearly without a server (OKRD_TEST_PG)
    try:
        cfg, doc = make_store(args, wd)
        before = outputs(args, cfg)
        dbname = pg_create_database()
        url = pg_url(dbname)
        pgcfg = pg_config(wd, doc, url, "pg.json")

        # 1. refused while a daemon runs on the SQLite store
        d = Daemon(args.okrd, cfg, env={"OKRD_TEST_CLOCK": CLOCK})
        try:
            d.wait_log("event=api_listening")
            r = run(args.okrd, "migrate", "-c", pgcfg)
            check(r.returncode == 3 and "okrd.lock" in r.stderr and str(d.proc.pid) in r.stderr,
                  f"migrate beside okrd run: exit {r.returncode}\n{r.stdout}{r.stderr}")
        finally:
            d.stop()
        tables = pg_query(dbname, "SELECT count(*) FROM information_schema.tables "
                                  "WHERE table_schema = 'public'")
        check(tables == [(0,)], f"a refused migrate left the target untouched: {tables} tables")

        # 2. a wrong password (TCP, scram): exit 3, the password never printed
        port = re.search(r"\bport=(\d+)", pg_conninfo()).group(1)
        secret = "wr0ng-pa55-Zq9"
        badcfg = pg_config(wd, doc, f"postgresql://postgres:{secret}@127.0.0.1:{port}/{dbname}",
                           "bad.json")
        r = run(args.okrd, "migrate", "-c", badcfg)
        check(r.returncode == 3 and "password" in r.stderr,
              f"wrong password: exit {r.returncode}\n{r.stdout}{r.stderr}")
        check(secret not in r.stdout + r.stderr, f"the password was printed:\n{r.stderr}")

        # Events pruned by retention took their seq numbers with them: SQLite's
        # counter stands above the rows left, and PostgreSQL must go on from it.
        db = sqlite3.connect(os.path.join(wd.path, "state", "okrd.db"))
        with db:
            counter = db.execute("SELECT max(seq) FROM outbox").fetchone()[0] + 100
            db.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbox'", (counter,))
        db.close()

        # 3. the copy
        r = run(args.okrd, "migrate", "-c", pgcfg)
        check(r.returncode == 0, f"migrate: exit {r.returncode}\n{r.stdout}{r.stderr}")
        check(url not in r.stdout + r.stderr, "the URL was printed")
        got = counts(r.stdout)
        check(sorted(got) == sorted(TABLES), f"a count per table: {sorted(got)}\n{r.stdout}")
        for t, (a, b) in got.items():
            check(a == b, f"{t}: {a} rows in SQLite, {b} in PostgreSQL")
        empty = [t for t in TABLES if got[t][0] == 0]
        check(not empty, f"the fixture wrote every table; empty: {empty}\n{r.stdout}")
        for t in TABLES:
            n = pg_query(dbname, f"SELECT count(*) FROM {t}")[0][0]
            check(n == got[t][1], f"{t}: {n} rows in the database, {got[t][1]} printed")
        after = outputs(args, pgcfg)
        for k in before:
            check(before[k] == after[k], f"okrd {k} differs after the migration:\n"
                  f"--- sqlite\n{before[k]}\n--- postgresql\n{after[k]}")
        # the next event the store numbers itself follows the copied ones
        seq = pg_query(dbname, "SELECT pg_sequence_last_value(pg_get_serial_sequence("
                               "'outbox', 'seq')::regclass), (SELECT max(seq) FROM outbox)")
        check(seq[0][0] is not None and seq[0][0] >= seq[0][1],
              f"outbox sequence {seq[0][0]} behind the copied max seq {seq[0][1]}")
        got_counter = pg_query(dbname, "SELECT outbox_seq FROM store_meta")[0][0]
        check(got_counter == counter, f"the outbox counter: {got_counter}, SQLite's was {counter}")

        # 4. into a store that is no longer empty: refused, nothing changes
        r = run(args.okrd, "migrate", "-c", pgcfg)
        check(r.returncode == 3 and "not empty" in r.stderr and "table metrics" in r.stderr,
              f"second migrate: exit {r.returncode}\n{r.stdout}{r.stderr}")
        n = pg_query(dbname, "SELECT count(*) FROM points")[0][0]
        check(n == got["points"][1], f"points after the refused migrate: {n}")
        check(outputs(args, pgcfg) == after, "a refused migrate changed what the store answers")
    finally:
        if getattr(wd, "fixture", None):
            wd.fixture.__exit__(None, None, None)


def test_migrate_usage(args, wd):
    """A config on SQLite names no PostgreSQL store: exit 2; a missing SQLite
    store: exit 3; an unknown argument: exit 2."""
    cfg = wd.config({"daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": ""}},
                    "sq.json")
    r = run(args.okrd, "migrate", "-c", cfg)
    check(r.returncode == 2 and "postgresql" in r.stderr, f"sqlite config: {r.returncode} {r.stderr}")
    r = run(args.okrd, "migrate", "-c", cfg, "extra")
    check(r.returncode == 2 and "extra" in r.stderr, f"extra argument: {r.returncode} {r.stderr}")
    pg = wd.config({"daemon": {"state_dir": os.path.join(wd.path, "nothing"), "listen": ""},
                    "store": {"backend": "postgresql", "url": pg_url("postgres")}}, "pg.json")
    r = run(args.okrd, "migrate", "-c", pg)
    check(r.returncode == 3 and "no SQLite store" in r.stderr,
          f"missing SQLite store: {r.returncode} {r.stderr}")
    check(not os.path.exists(os.path.join(wd.path, "nothing")), "migrate created no state_dir")


if __name__ == "__main__":
    main([test_migrate, test_migrate_usage])
