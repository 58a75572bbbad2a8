"""The csv_dir source end to end with the real `okrd run` (DESIGN section 3):
files dropped by rename() and written in place, files present at start-up,
a rejected file's report, a newer correction overriding an older value, a
file changed while it is read being read again, and crash safety: SIGKILL
while a large file is being ingested, restart, every point exactly once;
a skipped-rows report that survives a crash between commit and move; the
WAL fsynced before every move (under strace). The ingest log is per source:
the same bytes in two inboxes are read by both.
Also `okrd ingest` with on_error skip_row (lists the skipped rows, exit 0).

Waits are for log lines and files with a deadline. The one deliberate pause
is the crash test's random delay before SIGKILL: its point is to kill at an
arbitrary moment of the ingest, not to wait for anything."""
import json
import os
import random
import re
import shutil
import signal
import time

from okrdtest import Daemon, StoreDb, check, main, run, sqlite_only

NOV1 = "2026-11-01T00:00:00Z"


class Place:
    """A folder with its own config, inbox and state (wd.path, or one per
    round of the crash test), its store in the Workdir's care."""

    def __init__(self, path, owner):
        self.path = path
        self.owner = owner

    def with_store(self, doc):
        return self.owner.with_store(doc)

    def store(self):
        return StoreDb(self.owner, os.path.join(self.path, "state"))


def config(wd, **csv):
    src = {"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox"),
           "rescan": "1s", "settle": "100ms"}
    src.update(csv)
    path = os.path.join(wd.path, "okrd.json")
    with open(path + ".tmp", "w") as f:
        json.dump(wd.with_store({
            "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": "",
                       "log_level": "debug"},
            "sources": [src],
        }), f, indent=2)
    os.replace(path + ".tmp", path)
    return path


def inbox(wd, *parts):
    return os.path.join(wd.path, "inbox", *parts)


def drop(wd, name, text):
    """Writes beside the inbox, then rename()s in: what producers should do."""
    tmp = os.path.join(wd.path, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, inbox(wd, name))


def export(args, cfg, *extra):
    r = run(args.okrd, "export", "-c", cfg, *extra)
    check(r.returncode == 0, f"export: {r.returncode} {r.stderr}")
    return r.stdout


def start(args, cfg):
    d = Daemon(args.okrd, cfg)
    d.wait_log(["event=source_started", "source=drops"])
    return d


def test_drop_by_rename_and_in_place(args, wd):
    cfg = config(wd)
    d = start(args, cfg)
    try:
        drop(wd, "a.csv", "metric,date,value\ndau,2026-11-01,1000\ndau,2026-11-02,1040\n")
        line = d.wait_log(["event=file_ingested", "a.csv"])
        check("2 rows, 2 points stored" in line and "archive/a.csv" in line, line)
        check(os.path.exists(inbox(wd, "archive", "a.csv")), "a.csv archived")
        check(not os.path.exists(inbox(wd, "a.csv")), "a.csv left the inbox")

        # In place: two writes, then close (IN_CLOSE_WRITE).
        with open(inbox(wd, "b.csv"), "w") as f:
            f.write("metric,date,value\nwau,2026-11-01,70")
            f.flush()
            f.write("00\n")
        d.wait_log(["event=file_ingested", "b.csv", "1 rows"])
        check(export(args, cfg) == "metric,timestamp,value\n"
              f"dau,{NOV1},1000\ndau,2026-11-02T00:00:00Z,1040\nwau,{NOV1},7000\n",
              "both files stored")
        code, _ = d.stop()
        check(code == 0, f"exit 0 on SIGTERM: {code}")
        log = d.log()
        check(log.count("event=file_ingested") == 2 and "event=file_duplicate" not in log,
              f"each file handled once:\n{log}")
    finally:
        d.kill()


def test_startup_and_correction(args, wd):
    cfg = config(wd)
    os.makedirs(inbox(wd))
    # Present before start: the older one is read first, whatever the names.
    with open(inbox(wd, "z-old.csv"), "w") as f:
        f.write("metric,date,value\ndau,2026-11-01,100\ndau,2026-11-02,200\n")
    with open(inbox(wd, "a-fix.csv"), "w") as f:
        f.write("metric,date,value\ndau,2026-11-01,110\n")
    now = time.time()
    os.utime(inbox(wd, "z-old.csv"), (now - 60, now - 60))
    os.utime(inbox(wd, "a-fix.csv"), (now - 30, now - 30))
    d = start(args, cfg)
    try:
        d.wait_log(["event=file_ingested", "z-old.csv"])
        d.wait_log(["event=file_ingested", "a-fix.csv"])
        check(export(args, cfg) == "metric,timestamp,value\n"
              f"dau,{NOV1},110\ndau,2026-11-02T00:00:00Z,200\n", "the correction won")
        # A newer corrected file dropped later overrides again.
        drop(wd, "fix2.csv", "metric,date,value\ndau,2026-11-02,210\n")
        d.wait_log(["event=file_ingested", "fix2.csv"])
        check(export(args, cfg) == "metric,timestamp,value\n"
              f"dau,{NOV1},110\ndau,2026-11-02T00:00:00Z,210\n", "the later file won")
    finally:
        d.kill()


def test_rejected_report(args, wd):
    cfg = config(wd)
    d = start(args, cfg)
    try:
        drop(wd, "ok.csv", "metric,date,value\ndau,2026-11-01,5\n")
        d.wait_log(["event=file_ingested", "ok.csv"])
        drop(wd, "bad.csv", "metric,date,value\ndau,2026-11-02,6\n"
                            "dau,2026-02-30,7\nwau,2026-11-02,abc\n")
        line = d.wait_log(["event=file_rejected", "bad.csv"])
        check("level=warning" in line and "row 3" in line and "bad.csv.error.json" in line,
              f"the first reason and the report path: {line}")
        report = inbox(wd, "rejected", "bad.csv.error.json")
        check(os.path.exists(inbox(wd, "rejected", "bad.csv")), "bad.csv in rejected/")
        with open(report) as f:
            doc = json.load(f)
        check(doc["file"] == "bad.csv" and len(doc["sha256"]) == 64, f"file, sha256: {doc}")
        check(doc["rows_read"] == 3 and doc["rows_ok"] == 1, f"counts: {doc}")
        errs = doc["errors"]
        check(len(errs) == 2, f"two errors: {errs}")
        check(errs[0]["row"] == 3 and errs[0]["column"] == 2 and errs[0]["value"] == "2026-02-30",
              f"the impossible date: {errs[0]}")
        check(errs[1]["row"] == 4 and errs[1]["column"] == 3 and errs[1]["value"] == "abc"
              and "number" in errs[1]["reason"], f"the bad number: {errs[1]}")
        check(export(args, cfg) == f"metric,timestamp,value\ndau,{NOV1},5\n",
              "nothing of bad.csv stored")
    finally:
        d.kill()


def test_skip_row(args, wd):
    cfg = config(wd, on_error="skip_row")
    text = "metric,date,value\ndau,2026-11-01,5\nwau,2026-11-01,x\ndau,2026-11-02,6\n"
    # okrd ingest: lists the skipped rows, stores the rest, exits 0.
    path = wd.file("cli.csv", text)
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", path)
    check(r.returncode == 0, f"skip_row ingest exits 0: {r.returncode} {r.stdout} {r.stderr}")
    check(f"{path}:3:3:" in r.stderr, f"the skipped row is listed: {r.stderr!r}")
    check("partial" in r.stdout and "1 rows skipped" in r.stdout, f"summary: {r.stdout!r}")

    d = start(args, cfg)
    try:
        drop(wd, "p.csv", text.replace(",5\n", ",50\n"))
        line = d.wait_log(["event=file_partial", "p.csv"])
        check("1 bad rows skipped" in line, line)
        check(os.path.exists(inbox(wd, "archive", "p.csv")), "p.csv archived")
        with open(inbox(wd, "archive", "p.csv.error.json")) as f:
            doc = json.load(f)
        check(doc["errors"][0]["row"] == 3 and doc["errors"][0]["column"] == 3,
              f"report beside it: {doc}")
        check(export(args, cfg) == f"metric,timestamp,value\ndau,{NOV1},50\n"
              "dau,2026-11-02T00:00:00Z,6\n", "good rows stored")
    finally:
        d.kill()


def test_skip_row_report_after_crash(args, wd):
    """A crash between COMMIT and the move: the file is still in the inbox
    after restart, a duplicate, and its report must still be written (the
    ingest log kept it with the file). The crash is made certain by putting
    the archived file back and deleting its report while okrd is down."""
    cfg = config(wd, on_error="skip_row")
    text = "metric,date,value\ndau,2026-11-01,5\nwau,2026-11-01,x\n"
    d = start(args, cfg)
    try:
        drop(wd, "p.csv", text)
        d.wait_log(["event=file_partial", "p.csv"])
        with open(inbox(wd, "archive", "p.csv.error.json")) as f:
            first = json.load(f)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
    finally:
        d.kill()
    os.rename(inbox(wd, "archive", "p.csv"), inbox(wd, "p.csv"))
    os.unlink(inbox(wd, "archive", "p.csv.error.json"))
    d = start(args, cfg)
    try:
        line = d.wait_log(["p.csv", "level=info"])
        check("event=file_duplicate" in line and "p.csv.error.json" in line,
              f"a duplicate, archived with its report: {line}")
        with open(inbox(wd, "archive", "p.csv.error.json")) as f:
            again = json.load(f)
        check(again == first, f"the report after the crash: {again}, want {first}")
        check(export(args, cfg) == f"metric,timestamp,value\ndau,{NOV1},5\n", "stored once")
    finally:
        d.kill()


def test_same_bytes_two_sources(args, wd):
    """The same daily export dropped into two inboxes whose sources map its
    column to different metrics: each source reads it (DESIGN section 3: the
    ingest log is keyed by (source, sha256))."""
    def src(sid, metric):
        return {"id": sid, "type": "csv_dir", "path": os.path.join(wd.path, sid),
                "layout": "wide", "columns": {"timestamp": "day", "metrics": {"Users": metric}},
                "rescan": "1s"}
    cfg = wd.config({"daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": "",
                                "log_level": "debug"},
                     "sources": [src("web", "dau"), src("app", "signups")]})
    d = Daemon(args.okrd, cfg)
    try:
        for sid in ("web", "app"):
            d.seen = 0  # either may start first
            d.wait_log(["event=source_started", f"source={sid}"])
        text = "day,Users\n2026-11-01,120\n"
        for sid in ("web", "app"):
            tmp = os.path.join(wd.path, f"{sid}.tmp")
            with open(tmp, "w") as f:
                f.write(text)
            os.rename(tmp, os.path.join(wd.path, sid, "daily.csv"))
            d.seen = 0
            line = d.wait_log([f"source={sid}", "daily.csv", "level=info"])
            check("event=file_ingested" in line, f"{sid} reads its copy: {line}")
        check(export(args, cfg) == "metric,timestamp,value\n"
              f"dau,{NOV1},120\nsignups,{NOV1},120\n", "both sources' metrics stored")
    finally:
        d.kill()


TRACED = ("pwrite64", "write", "fsync", "fdatasync", "rename", "renameat",
          "renameat2", "link", "linkat")


def strace_events(path):
    """(syscall, args text) per traced call, in the order strace saw them
    start (a call another thread interrupted is listed where it began)."""
    events = []
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^\d+ +(\w+)\((.*)$", line.rstrip("\n"))
            if m and m.group(1) in TRACED:
                events.append((m.group(1), m.group(2)))
    return events


def test_durable_before_move(args, wd):
    """DESIGN section 3: the commit is made durable (an fsync of the WAL)
    before the file leaves the inbox, whatever `synchronous` is otherwise,
    so a power loss cannot keep the move and undo the commit. Checked with
    strace: before every move of an inbox file to archive/ or rejected/, an
    fsync/fdatasync of okrd.db-wal follows the last write to it. Covers a
    duplicate left in the inbox by a crash (the first move of the traced
    process: its row is the earlier process's commit), an ingested file and
    a rejected one."""
    sqlite_only("traces the fsync of okrd.db-wal; PostgreSQL's commit is durable at the server "
                "(synchronous_commit = on)")
    strace = shutil.which("strace")
    check(strace is not None, "strace is not installed: this test needs it to see the fsync "
          "before the move (scripts/debian-packages.txt lists it)")
    cfg = config(wd)
    text = "metric,date,value\ndau,2026-11-01,5\n"
    d = start(args, cfg)
    try:
        drop(wd, "a.csv", text)
        d.wait_log(["event=file_ingested", "a.csv"])
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
    finally:
        d.kill()
    # As if the crash came between the commit and the move.
    os.rename(inbox(wd, "archive", "a.csv"), inbox(wd, "a.csv"))
    trace = os.path.join(wd.path, "trace")
    wrapper = os.path.join(wd.path, "okrd-under-strace")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\n"
                f"exec {strace} -f -qq -y -s 4096 -e trace={','.join(TRACED)} -o {trace} "
                f"{os.path.abspath(args.okrd)} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    d = Daemon(wrapper, cfg)
    try:
        d.wait_log(["event=file_duplicate", "a.csv"], deadline=30)
        drop(wd, "b.csv", "metric,date,value\ndau,2026-11-02,6\n")
        d.wait_log(["event=file_ingested", "b.csv"], deadline=30)
        drop(wd, "c.csv", "metric,date,value\ndau,2026-11-02,x\n")
        d.wait_log(["event=file_rejected", "c.csv"], deadline=30)
        # strace leaves its tracee running when it is signalled: stop okrd.
        with open(f"/proc/{d.proc.pid}/task/{d.proc.pid}/children") as f:
            okrd_pid = int(f.read().split()[0])
        os.kill(okrd_pid, signal.SIGTERM)
        d.proc.wait(30)
    finally:
        d.kill()
    events = strace_events(trace)
    wal = "/okrd.db-wal"
    inbox_dir = inbox(wd)
    # A move needs a sync of the WAL after the WAL's last write, and the
    # first move one of its own (synced starts False): a duplicate's row may
    # be an earlier process's commit, which this trace cannot see written.
    # Files moved together after one sync (a batch) are all covered by it.
    moves = {}
    synced = False
    for call, rest in events:
        fd = re.match(r"\d+<([^>]*)>", rest)  # strace -y: 10</path/okrd.db-wal>
        on_wal = fd is not None and fd.group(1).endswith(wal)
        if call in ("pwrite64", "write") and on_wal:
            synced = False
        elif call in ("fsync", "fdatasync") and on_wal:
            synced = True
        elif call.startswith(("rename", "link")):
            m = re.search(r'"([^"]*)",.*"([^"]*)"', rest)
            if m and os.path.dirname(m.group(1)) == inbox_dir and \
                    os.path.dirname(os.path.dirname(m.group(2))) == inbox_dir:
                moves[os.path.basename(m.group(1))] = synced
    check(sorted(moves) == ["a.csv", "b.csv", "c.csv"],
          f"three moves seen in the trace: {moves} ({len(events)} events)")
    unsynced = [n for n, ok in moves.items() if not ok]
    check(not unsynced, f"moved out of the inbox with the WAL written since its last fsync: "
          f"{unsynced}")


def big_text(n, base):
    rows = ["metric,timestamp,value"]
    t0 = 1790000000
    for i in range(n):
        rows.append(f"m{i % 100},{t0 + (i // 100) * 60},{base + i}")
    return "\n".join(rows) + "\n"


def test_changed_while_read(args, wd):
    cfg = config(wd)
    d = start(args, cfg)
    try:
        for attempt in range(4):
            n = 300000 * (attempt + 1)
            name = f"grow{attempt}.csv"
            tmp = os.path.join(wd.path, name)
            with open(tmp, "w") as f:
                f.write(big_text(n, 0))
            # Keep a handle on the inode: appending through it works wherever
            # the name has gone.
            with open(tmp, "a") as f:
                os.rename(tmp, inbox(wd, name))
                d.wait_log(["event=file_started", name])
                f.write("late,1790000000,1\n")
            line = d.wait_log(["event=file_", name, "level=info"], deadline=60)
            changed = any("event=file_changed" in l and name in l for l in d.log().splitlines())
            if changed:
                check("event=file_ingested" in line and f"{n + 1} rows" in line,
                      f"read again, whole: {line}")
                check(export(args, cfg, "--metric", "late") ==
                      "metric,timestamp,value\nlate,2026-09-21T14:13:20Z,1\n", "the late row")
                return
            # The append landed before the read began or after the commit:
            # inconclusive, try a bigger file.
        raise AssertionError("could not change a file while it was read in 4 attempts")
    finally:
        d.kill()


def ingest_log(sw):
    return sw.store().rows("SELECT name, outcome, rows FROM ingest_log ORDER BY id")


def check_big(args, cfg, sw, n, base, what, archived=("big.csv",)):
    out = export(args, cfg).splitlines()
    check(len(out) == n + 1, f"{what}: {len(out) - 1} points, want {n}")
    got = {}
    for line in out[1:]:
        m, ts, v = line.split(",")
        got[(m, ts)] = v
    check(len(got) == n, f"{what}: {len(got)} distinct points")
    bad = []
    for line in big_text(n, base).splitlines()[1:]:
        m, ts, v = line.split(",")
        if got.get((m, iso(int(ts)))) != v:
            bad.append(line)
    check(not bad, f"{what}: {len(bad)} wrong values, e.g. {bad[:3]}")
    check(sorted(os.listdir(inbox(sw, "archive"))) == sorted(archived),
          f"{what}: archive holds {os.listdir(inbox(sw, 'archive'))}")
    check(not os.path.exists(inbox(sw, "big.csv")), f"{what}: inbox empty")
    log = ingest_log(sw)
    check(log == [("big.csv", "ingested", n)], f"{what}: ingest log {log}")


def test_crash_safety(args, wd):
    n = 200000
    rng = random.Random(os.environ.get("OKRD_TEST_SEED", "okrd"))
    verbose = os.environ.get("OKRD_TEST_VERBOSE")
    took = None
    for rnd in range(5):
        base = rnd * 1000000
        sw = Place(os.path.join(wd.path, f"round{rnd}"), wd)
        os.makedirs(sw.path)
        cfg = config(sw)
        d = start(args, cfg)
        try:
            drop(sw, "big.csv", big_text(n, base))
            d.wait_log(["event=file_started", "big.csv"])
            t0 = time.monotonic()
            if took is None:
                # Round 0 measures how long the file takes, uninterrupted,
                # so the kills below land anywhere in that span.
                d.wait_log(["event=file_ingested", "big.csv"], deadline=60)
                took = time.monotonic() - t0
            else:
                # The random moment of the kill (the one deliberate pause).
                time.sleep(rng.uniform(0, took * 1.1))
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait()
        finally:
            d.kill()
        in_inbox = os.path.exists(inbox(sw, "big.csv"))
        if rnd == 0:
            # A crash between COMMIT and the move leaves a committed file in
            # the inbox: put it back by hand to make that moment certain.
            os.rename(inbox(sw, "archive", "big.csv"), inbox(sw, "big.csv"))
            in_inbox = True
        d = start(args, cfg)
        try:
            if in_inbox:
                line = d.wait_log(["big.csv", "level=info"], deadline=60)
                if verbose:
                    print(f"  round {rnd}: after restart: {line}")
                if rnd == 0:
                    check("event=file_duplicate" in line, f"committed file not read again: {line}")
            elif verbose:
                print(f"  round {rnd}: archived before the kill")
            code, _ = d.stop(deadline=30)
            check(code == 0, f"exit 0: {code}")
        finally:
            d.kill()
        check_big(args, cfg, sw, n, base, f"round {rnd}")
    if verbose:
        print(f"  an uninterrupted {n}-row file took {took:.2f}s")


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


if __name__ == "__main__":
    main([test_drop_by_rename_and_in_place, test_startup_and_correction, test_rejected_report,
          test_skip_row, test_skip_row_report_after_crash, test_same_bytes_two_sources,
          test_durable_before_move, test_changed_while_read, test_crash_safety])
