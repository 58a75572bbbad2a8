"""The flock `okrd run` holds on STATE_DIR/okrd.lock (DESIGN section 10): a
second daemon on one state_dir is refused at once (exit 3, naming the lock
file and the holder's pid), also after a reload; SIGKILL releases it (a new
daemon starts); `okrd ingest` writes beside the daemon without the lock;
read-only commands never create the lock file. And the `store` section in
this build: backend "postgresql" is a precise config error for check and
run, and `okrd backup` says to use pg_dump (exit 2)."""
import os
import signal
import stat
import subprocess

from okrdtest import DEADLINE, Daemon, NotifySocket, check, main, on_postgresql, run

CSV = "metric,timestamp,value\ndau,2026-10-01,1000\ndau,2026-10-02,1010\n"


def config(wd, store=None):
    doc = {"daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": ""},
           "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
           "objectives": [{"id": "o", "title": "O", "cycle": "2026-Q4", "key_results": [
               {"id": "kr", "title": "dau", "metric": "dau", "direction": "increase",
                "baseline": 1000, "target": 1200}]}]}
    if store is not None:
        doc["store"] = store
    os.makedirs(os.path.join(wd.path, "inbox"), exist_ok=True)
    return wd.config(doc)


def lock_path(wd):
    return os.path.join(wd.path, "state", "okrd.lock")


def start(args, wd, cfg, name):
    notify = NotifySocket(os.path.join(wd.path, name + ".sock"))
    d = Daemon(args.okrd, cfg, env={"NOTIFY_SOCKET": notify.path})
    notify.wait_for(lambda m: m.get("READY") == "1", f"READY=1 from {name}")
    return d, notify


def refused(args, cfg, holder_pid, lock):
    """A second okrd run must exit at once (3) naming the lock and the pid."""
    try:
        r = subprocess.run([args.okrd, "run", "-c", cfg], capture_output=True, text=True,
                           timeout=DEADLINE, stdin=subprocess.DEVNULL,
                           env={k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"})
    except subprocess.TimeoutExpired:
        raise AssertionError("a second okrd run on the same state_dir kept running")
    check(r.returncode == 3, f"second daemon: exit {r.returncode}, want 3; stderr:\n{r.stderr}")
    check(lock in r.stderr and f"pid {holder_pid}" in r.stderr and "event=start_failed" in r.stderr,
          f"the refusal names {lock} and pid {holder_pid}:\n{r.stderr}")
    check("store=" not in r.stderr and "event=started" not in r.stderr,
          f"the refused daemon opened nothing:\n{r.stderr}")


def test_second_daemon_refused(args, wd):
    cfg = config(wd)
    d, notify = start(args, wd, cfg, "first")
    try:
        lock = lock_path(wd)
        st = os.stat(lock)
        check(stat.S_IMODE(st.st_mode) == 0o600, f"okrd.lock mode {oct(st.st_mode)}, want 0600")
        with open(lock) as f:
            check(f.read().strip() == str(d.proc.pid), "the lock file holds the daemon's pid")
        refused(args, cfg, d.proc.pid, lock)
        # A reload keeps the lock.
        d.signal(signal.SIGHUP)
        d.wait_log("event=reloaded")
        refused(args, cfg, d.proc.pid, lock)
        check(d.alive(), "the first daemon is untouched by the refused one")
        code, _ = d.stop()
        check(code == 0, f"first daemon exit {code}")
        check(os.path.exists(lock), "okrd.lock is never deleted")
        # Released on exit: the next one starts.
        d2, n2 = start(args, wd, cfg, "second")
        code, _ = d2.stop()
        check(code == 0, f"the daemon after a clean stop: exit {code}\n{d2.log()}")
        n2.close()
    finally:
        d.kill()
        notify.close()


def test_sigkill_releases(args, wd):
    cfg = config(wd)
    d, notify = start(args, wd, cfg, "first")
    d2 = n2 = None
    try:
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(DEADLINE)
        check(os.path.exists(lock_path(wd)), "the killed daemon's lock file is still there")
        d2, n2 = start(args, wd, cfg, "second")
        with open(lock_path(wd)) as f:
            check(f.read().strip() == str(d2.proc.pid), "the new daemon wrote its pid")
        refused(args, cfg, d2.proc.pid, lock_path(wd))
        code, _ = d2.stop()
        check(code == 0, f"exit {code}")
    finally:
        d.kill()
        notify.close()
        if d2:
            d2.kill()
            n2.close()


def test_ingest_beside_daemon(args, wd):
    cfg = config(wd)
    d, notify = start(args, wd, cfg, "first")
    try:
        r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("a.csv", CSV))
        check(r.returncode == 0, f"ingest beside the daemon: exit {r.returncode}\n{r.stderr}")
        r = run(args.okrd, "export", "-c", cfg)
        check(r.returncode == 0 and "dau,2026-10-02T00:00:00Z,1010" in r.stdout,
              f"export beside the daemon: {r.returncode}\n{r.stdout}{r.stderr}")
        r = run(args.okrd, "status", "-c", cfg)
        check(r.returncode == 0 and "kr" in r.stdout, f"status beside the daemon: {r.stderr}")
        check(d.alive(), "the daemon runs on")
        code, _ = d.stop()
        check(code == 0, f"exit {code}")
    finally:
        d.kill()
        notify.close()


def test_read_only_commands_create_no_lock(args, wd):
    cfg = config(wd)
    state = os.path.join(wd.path, "state")
    # ingest makes the store (a writer, but not the daemon: no lock file)
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("a.csv", CSV))
    check(r.returncode == 0, f"ingest: {r.stderr}")
    check(not os.path.exists(lock_path(wd)), "okrd ingest created okrd.lock")
    os.makedirs(state, exist_ok=True)  # PostgreSQL: the store is elsewhere
    before = sorted(n for n in os.listdir(state) if not n.endswith("-shm"))
    os.chmod(state, 0o555)
    try:
        # (okrd backup copies a SQLite store only: on PostgreSQL it exits 2)
        for cmd in [["status"], ["export"], ["metrics"], ["retro", "--cycle", "2026-Q4"]] + \
                ([] if on_postgresql() else [["backup", os.path.join(wd.path, "copy.db")]]):
            r = run(args.okrd, cmd[0], "-c", cfg, *cmd[1:])
            check(r.returncode in (0, 1), f"okrd {' '.join(cmd)}: exit {r.returncode}\n{r.stderr}")
            check(not os.path.exists(lock_path(wd)), f"okrd {cmd[0]} created okrd.lock")
    finally:
        os.chmod(state, 0o750)
    after = sorted(n for n in os.listdir(state) if not n.endswith("-shm"))
    check(before == after, f"read-only commands created files: {before} -> {after}")


def test_store_postgresql_backup(args, wd):
    """okrd backup on a PostgreSQL config says to use pg_dump (exit 2),
    never printing the URL's password, and writes nothing."""
    cfg = config(wd, {"backend": "postgresql", "url": "${env:OKRD_TEST_PG_URL}",
                      "ha": {"takeover_check": "3s"}})
    env = {"OKRD_TEST_PG_URL": "postgresql://okrd:hunter2secret@127.0.0.1/okrd"}
    r = run(args.okrd, "backup", "-c", cfg, os.path.join(wd.path, "copy.db"), env=env)
    check(r.returncode == 2 and "pg_dump" in r.stderr and "hunter2secret" not in r.stderr,
          f"backup with postgresql: exit {r.returncode}\n{r.stderr}")
    check(not os.path.exists(os.path.join(wd.path, "copy.db")), "backup wrote nothing")
    # the key without a url: required
    cfg = config(wd, {"backend": "postgresql"})
    r = run(args.okrd, "check", "-c", cfg)
    check(r.returncode == 1 and "url" in r.stderr, f"missing url: {r.stderr}")


if __name__ == "__main__":
    main([test_second_daemon_refused, test_sigkill_releases, test_ingest_beside_daemon,
          test_read_only_commands_create_no_lock, test_store_postgresql_backup])
