"""A csv_dir inbox with a backlog of 20,000 tiny files (issue 12 item 8,
DESIGN section 1: nothing whose cost grows with the inbox runs on the loop in
one piece). Before, every scan walked the queue once per directory entry on
the loop: a scan of 20,000 names held it ~1 s, so with a rescan due sooner
than that the loop did little but scan (here: 88 of 21,000 files in three
minutes). Now the scan lists the folder off the loop and merges its names in
steps through a hash set.

Checked: the whole backlog (plus files renamed in while it drains) is
ingested exactly once, in one drain, while /healthz keeps answering 200.
No timing is asserted: the deadline only bounds a hang."""
import http.client
import json
import os
import threading
import time

from apitest import free_port
from okrdtest import Daemon, StoreDb, check, main, run

N = 20000      # present at start-up
LATE = 1000    # renamed in while the backlog drains
T0 = 1790000000


def text(i):
    return f"metric,timestamp,value\nbacklog,{T0 + i * 60},{i}\n"


class Healthz:
    """Polls /healthz until stopped; keeps (start, end, status or error)."""

    def __init__(self, port):
        self.port = port
        self.answers = []
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            t = time.monotonic()
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                c.request("GET", "/healthz")
                status = c.getresponse().status
                c.close()
            except OSError as e:
                status = repr(e)
            self.answers.append((t, time.monotonic(), status))
            time.sleep(0.02)


def test_backlog_drains(args, wd):
    inbox = os.path.join(wd.path, "inbox")
    os.makedirs(inbox)
    for i in range(N):
        with open(os.path.join(inbox, f"f{i:05d}.csv"), "w") as f:
            f.write(text(i))
    port = free_port()
    cfg = wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": f"127.0.0.1:{port}",
                   "log_level": "info"},
        # A rescan every 200 ms, far more often than the old quadratic scan of
        # 20,000 names took (~1 s): each one lists all that is left.
        "sources": [{"id": "drops", "type": "csv_dir", "path": inbox, "rescan": "200ms"}],
    })
    d = Daemon(args.okrd, cfg)
    hz = None
    try:
        d.wait_log("event=started")
        hz = Healthz(port)
        d.wait_log("event=file_ingested", deadline=60)
        t_first = time.monotonic()
        for i in range(N, N + LATE):
            tmp = os.path.join(wd.path, "late.tmp")
            with open(tmp, "w") as f:
                f.write(text(i))
            os.rename(tmp, os.path.join(inbox, f"f{i:05d}.csv"))
        # Done when archive/ holds every file (deadline: a hang, not a speed).
        archive = os.path.join(inbox, "archive")
        end = time.monotonic() + 180
        while len(os.listdir(archive)) < N + LATE and time.monotonic() < end and d.alive():
            time.sleep(0.2)
        t_last = time.monotonic()
        hz.stop = True
        hz.thread.join(70)
        left = sorted(n for n in os.listdir(inbox) if n not in ("archive", "rejected"))
        check(not left, f"{len(left)} files still in the inbox, e.g. {left[:3]}")
        code, _ = d.stop(deadline=30)
        check(code == 0, f"exit 0: {code}")
    finally:
        if hz:
            hz.stop = True
        d.kill()

    # Exactly once: one file_ingested line per file, no duplicate, no
    # rejection; archive/ holds each name once; one log row and one point each.
    want = {f"f{i:05d}.csv" for i in range(N + LATE)}
    ingested = {}
    for line in d.log().splitlines():
        check("event=file_duplicate" not in line and "event=file_rejected" not in line,
              f"every file read once, whole: {line}")
        if "event=file_ingested" in line:
            name = line.split('msg="', 1)[1].split(":", 1)[0]
            ingested[name] = ingested.get(name, 0) + 1
    check(set(ingested) == want, f"{len(ingested)} of {len(want)} files ingested")
    twice = [n for n, k in ingested.items() if k != 1]
    check(not twice, f"ingested more than once: {twice[:5]}")
    archived = os.listdir(os.path.join(inbox, "archive"))
    check(sorted(archived) == sorted(want), f"archive/ holds {len(archived)} names")
    rows = StoreDb(wd, os.path.join(wd.path, "state")).rows(
        "SELECT count(*), count(DISTINCT name) FROM ingest_log WHERE outcome = 'ingested'")[0]
    check(rows == (N + LATE, N + LATE), f"ingest log rows, names: {rows}")
    r = run(args.okrd, "export", "-c", cfg, "--metric", "backlog")
    check(r.returncode == 0, f"export: {r.stderr}")
    check(len(r.stdout.splitlines()) == N + LATE + 1, "one point per file")

    # /healthz answered all along: every request during the drain got 200.
    during = [a for a in hz.answers if a[1] >= t_first and a[0] <= t_last]
    bad = [a for a in during if a[2] != 200]
    check(len(during) >= 5 and not bad,
          f"/healthz during the drain: {len(during)} answers, not 200: {bad[:3]}")
    if os.environ.get("OKRD_TEST_VERBOSE"):
        worst = max(a[1] - a[0] for a in during)
        print(f"  drained {N + LATE} files in {t_last - t_first:.1f}s after the first; "
              f"/healthz {len(during)} answers, slowest {worst * 1000:.0f} ms")


if __name__ == "__main__":
    main([test_backlog_drains])
