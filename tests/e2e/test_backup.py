"""okrd backup DEST (DESIGN section 6): a consistent copy of the whole store
while the daemon runs. A backup taken while points are being pushed holds a
whole prefix of the pushes (each push is one transaction: all of it or none),
a backup taken once the pushes stop restores (copied to a fresh
state_dir/okrd.db) to exactly the same `okrd export` output as the running
store; the source's state_dir gains no file; DEST is never overwritten;
bad arguments get their exit codes (1 bad input, 2 usage, 3 runtime).
On PostgreSQL (OKRD_E2E_STORE) `okrd backup` says to use pg_dump, exit 2
(DESIGN section 10), and the SQLite tests skip."""
import datetime
import json
import os
import shutil
import threading

from apitest import Api, config, free_port, history_csv, start
from okrdtest import check, main, postgresql_only, run, sqlite_only

BATCH = 40  # points per push, over two metrics


def batch(i):
    """Push number i: BATCH points of its own (metric, timestamp)s."""
    t0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    return [{"metric": "live_a" if k % 2 else "live_b",
             "timestamp": (t0 + datetime.timedelta(seconds=i * 100 + k)).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "value": i * 1000 + k} for k in range(BATCH)]


def restore(args, wd, backup, name):
    """A config whose state_dir holds a copy of BACKUP as okrd.db."""
    state = os.path.join(wd.path, name)
    os.makedirs(state)
    shutil.copyfile(backup, os.path.join(state, "okrd.db"))
    return wd.config({"daemon": {"state_dir": state, "listen": ""}}, name + ".json")


def export(args, cfg):
    r = run(args.okrd, "export", "-c", cfg)
    check(r.returncode == 0, f"export -c {cfg}: {r.returncode} {r.stderr}")
    return r.stdout


def test_backup_while_pushing_and_restore(args, wd):
    sqlite_only("okrd backup copies the SQLite store")
    port = free_port()
    cfg, _ = config(wd, f"127.0.0.1:{port}")
    os.makedirs(os.path.join(wd.path, "inbox"))
    with open(cfg) as f:
        doc = json.load(f)
    doc["sources"] = [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}]
    wd.config(doc)
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("h.csv", history_csv()))
    check(r.returncode == 0, r.stderr)
    api = Api(port=port)
    d = start(args.okrd, cfg)
    try:
        api.wait_ready()
        stop, pushed, errors = threading.Event(), [], []

        def pusher():
            i = 0
            while not stop.is_set():
                status, _, body = api.push(batch(i))
                if status != 200:
                    errors.append((status, body))
                    return
                pushed.append(i)
                i += 1

        t = threading.Thread(target=pusher)
        t.start()
        try:
            # wait for some pushes, back up in the middle of them
            while len(pushed) < 5 and not errors and t.is_alive():
                threading.Event().wait(0.01)
            live = wd.path + "/live.db"
            r = run(args.okrd, "backup", "-c", cfg, live)
            during = len(pushed)
        finally:
            while len(pushed) < during + 5 and not errors and t.is_alive():
                threading.Event().wait(0.01)  # pushes went on after the backup
            stop.set()
            t.join(30)
        check(not errors, f"pushes failed: {errors[:3]}")
        check(r.returncode == 0, f"backup while pushing: exit {r.returncode}: {r.stderr}")
        check(live in r.stdout and "okrd.db" in r.stdout, f"a summary line: {r.stdout!r}")
        check(oct(os.stat(live).st_mode & 0o777) == "0o600", "mode 0600")

        # The copy is the store as of one commit: a whole prefix of pushes.
        rows = export(args, restore(args, wd, live, "restored-live")).splitlines()
        live_rows = [l for l in rows if l.startswith("live_")]
        check(len(live_rows) % BATCH == 0, f"only whole pushes: {len(live_rows)} rows")
        k = len(live_rows) // BATCH
        # pushes answered before the backup began are in it; those answered
        # after it ended are not (one more may have committed unanswered)
        check(5 <= k <= during + 1, f"{k} pushes in the copy; 5 were answered before the "
                                    f"backup, {during} by its end")
        want = sorted(f"{p['metric']},{p['timestamp']},{p['value']}" for i in range(k) for p in batch(i))
        check(sorted(live_rows) == want, "the copy holds exactly pushes 0..k-1")
        check([l for l in rows if not l.startswith("live_")] ==
              [l for l in export(args, cfg).splitlines() if not l.startswith("live_")],
              "and everything stored before them")

        # Pushes stopped: a backup restores to exactly what the daemon has.
        final = wd.path + "/final.db"
        r = run(args.okrd, "backup", "-c", cfg, final)
        check(r.returncode == 0, f"backup: {r.stderr}")
        original = export(args, cfg)
        check(original.count("\n") > len(pushed) * BATCH, "the export holds every push")
        check(export(args, restore(args, wd, final, "restored-final")) == original,
              "the restored store exports the same points")
        check(d.alive(), "the daemon kept running")
        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}")
    finally:
        d.kill()


def test_creates_nothing_in_state_dir(args, wd):
    sqlite_only("okrd backup copies the SQLite store")
    state = os.path.join(wd.path, "state")
    cfg = wd.config({"daemon": {"state_dir": state, "listen": ""},
                     "sources": [{"id": "drops", "type": "csv_dir",
                                  "path": os.path.join(wd.path, "inbox")}]})
    os.makedirs(os.path.join(wd.path, "inbox"))
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("h.csv", history_csv()))
    check(r.returncode == 0, r.stderr)
    for extra in ("okrd.db-wal", "okrd.db-shm"):  # as a stopped store copied elsewhere
        p = os.path.join(state, extra)
        if os.path.exists(p):
            os.unlink(p)
    before = {n: os.stat(os.path.join(state, n)).st_mtime_ns for n in os.listdir(state)}
    r = run(args.okrd, "backup", "-c", cfg, os.path.join(wd.path, "b.db"))
    check(r.returncode == 0, f"backup: {r.stderr}")
    after = {n: os.stat(os.path.join(state, n)).st_mtime_ns for n in os.listdir(state)}
    check(after == before, f"state_dir unchanged: {before} -> {after}")
    check(export(args, restore(args, wd, os.path.join(wd.path, "b.db"), "r")) == export(args, cfg),
          "the copy exports the same points")


def test_bad_arguments(args, wd):
    sqlite_only("okrd backup copies the SQLite store")
    state = os.path.join(wd.path, "state")
    cfg = wd.config({"daemon": {"state_dir": state, "listen": ""},
                     "sources": [{"id": "drops", "type": "csv_dir",
                                  "path": os.path.join(wd.path, "inbox")}]})
    os.makedirs(os.path.join(wd.path, "inbox"))

    # no store yet: a runtime failure, and no file made
    dest = os.path.join(wd.path, "b.db")
    r = run(args.okrd, "backup", "-c", cfg, dest)
    check(r.returncode == 3 and "no store at" in r.stderr, f"no store: {r.returncode} {r.stderr}")
    check(not os.path.exists(dest), "no file when there is no store")

    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("h.csv", history_csv()))
    check(r.returncode == 0, r.stderr)

    # DEST exists: refused, untouched
    existing = wd.file("existing.db", "keep me\n")
    r = run(args.okrd, "backup", "-c", cfg, existing)
    check(r.returncode == 1, f"existing DEST: exit {r.returncode}: {r.stderr}")
    check(existing in r.stderr and "already exists" in r.stderr, f"message: {r.stderr}")
    with open(existing) as f:
        check(f.read() == "keep me\n", "the existing file is untouched")

    # DEST's directory is missing
    missing = os.path.join(wd.path, "no", "such", "b.db")
    r = run(args.okrd, "backup", "-c", cfg, missing)
    check(r.returncode == 1, f"missing directory: exit {r.returncode}: {r.stderr}")
    check(os.path.join(wd.path, "no", "such") in r.stderr and
          "No such file or directory" in r.stderr, f"message names the directory: {r.stderr}")

    # DEST is a directory
    r = run(args.okrd, "backup", "-c", cfg, wd.path)
    check(r.returncode == 1 and "is a directory" in r.stderr, f"a directory: {r.returncode} {r.stderr}")

    # usage: no DEST, two DESTs, an unknown option
    for argv in ([], [dest, dest + "2"], ["--bogus", dest]):
        r = run(args.okrd, "backup", "-c", cfg, *argv)
        check(r.returncode == 2 and "usage: okrd backup" in r.stderr,
              f"usage error for {argv}: {r.returncode} {r.stderr}")
    r = run(args.okrd, "backup", "--help")
    check(r.returncode == 0 and "usage: okrd backup" in r.stdout, "--help")

    # a bad config: exit 1
    bad = wd.file("bad.json", "{\"daemon\": {\"state_dir\": 3}}\n")
    r = run(args.okrd, "backup", "-c", bad, dest)
    check(r.returncode == 1, f"bad config: {r.returncode} {r.stderr}")

    check(sorted(os.listdir(wd.path)) == sorted(["bad.json", "existing.db", "h.csv", "inbox",
                                                  "okrd.json", "state"]),
          f"no stray (temporary) file left: {os.listdir(wd.path)}")


def test_postgresql_says_pg_dump(args, wd):
    postgresql_only("okrd backup on a PostgreSQL store")
    state = os.path.join(wd.path, "state")
    cfg = wd.config({"daemon": {"state_dir": state, "listen": ""},
                     "sources": [{"id": "drops", "type": "csv_dir",
                                  "path": os.path.join(wd.path, "inbox")}]})
    os.makedirs(os.path.join(wd.path, "inbox"))
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("h.csv", history_csv()))
    check(r.returncode == 0, r.stderr)
    dest = os.path.join(wd.path, "b.db")
    r = run(args.okrd, "backup", "-c", cfg, dest)
    with open(cfg) as f:
        url = json.load(f)["store"]["url"]
    check(r.returncode == 2 and "pg_dump" in r.stderr and url not in r.stderr,
          f"backup on PostgreSQL: exit {r.returncode}: {r.stderr}")
    check(not os.path.exists(dest), "backup wrote nothing")


if __name__ == "__main__":
    main([test_backup_while_pushing_and_restore, test_creates_nothing_in_state_dir,
          test_bad_arguments, test_postgresql_says_pg_dump])
