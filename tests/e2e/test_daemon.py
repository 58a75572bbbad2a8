"""okrd run's lifecycle: READY=1, watchdog pings, SIGHUP with a broken config
(old one kept, error logged with FILE:LINE:COL) and with a good one
(reloaded), SIGTERM (exit 0 within 5 s), and start-up refusals."""
import os
import signal

from okrdtest import Daemon, NotifySocket, StoreDb, check, main, on_postgresql, run


def base_config(wd, n_objectives=1):
    objectives = []
    for i in range(n_objectives):
        objectives.append({
            "id": f"obj{i}", "title": f"Objective {i}", "cycle": "2026-Q4",
            "key_results": [{"id": f"kr{i}", "title": f"Increase dau {i}", "metric": "dau",
                             "direction": "increase", "baseline": 1000, "target": 1200}]})
    return {"daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": ""},
            "objectives": objectives}


def test_lifecycle(args, wd):
    cfg = wd.config(base_config(wd))
    notify = NotifySocket(os.path.join(wd.path, "notify.sock"))
    d = Daemon(args.okrd, cfg, env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"})
    try:
        ready = notify.wait_for(lambda m: m.get("READY") == "1", "READY=1")
        status = ready.get("STATUS", "")
        for part in ("sources 0/0 up", "1 objectives", "1 key results", "off track", "at risk",
                     "deliveries pending"):
            check(part in status, f"STATUS= says {part!r}: {status}")
        check(StoreDb(wd, os.path.join(wd.path, "state")).rows(
                  "SELECT count(*) FROM store_meta" if on_postgresql() else
                  "SELECT count(*) FROM sqlite_master")[0][0] > 0,
              "the store exists once READY=1 is sent")
        # The watchdog is fed from a loop timer at half of WATCHDOG_USEC.
        notify.wait_for(lambda m: m.get("WATCHDOG") == "1", "WATCHDOG=1")
        notify.wait_for(lambda m: m.get("WATCHDOG") == "1", "a second WATCHDOG=1")

        # A broken config: logged with its position, the running one kept.
        wd.file("okrd.json", '{"daemon": {"state_dir": "x", "log_levl": "info"}}\n')
        d.signal(signal.SIGHUP)
        notify.wait_for(lambda m: m.get("RELOADING") == "1", "RELOADING=1")
        line = d.wait_log(["event=config", "okrd.json:1:", "log_levl"])
        check("did you mean" in line, f"a suggestion for the typo: {line}")
        d.wait_log("event=reload_failed")
        again = notify.wait_for(lambda m: m.get("READY") == "1", "READY=1 after a failed reload")
        check("1 objectives" in again.get("STATUS", ""), f"old config still running: {again}")
        check(d.alive(), "okrd survives a bad reload")

        # A good config with two objectives: reloaded.
        wd.config(base_config(wd, 2))
        d.signal(signal.SIGHUP)
        d.wait_log(["event=reloaded", "objectives=2"])
        after = notify.wait_for(lambda m: m.get("READY") == "1", "READY=1 after a reload")
        check("2 objectives" in after.get("STATUS", ""), f"new config running: {after}")

        code, took = d.stop()
        check(code == 0, f"SIGTERM exits 0, got {code}; log:\n{d.log()}")
        check(took < 5.0, f"SIGTERM exit within 5 s, took {took:.2f}s")
        notify.wait_for(lambda m: m.get("STOPPING") == "1", "STOPPING=1", deadline=1)
        d.wait_log("event=stopped")
    finally:
        d.kill()
        notify.close()


def test_sigint_and_no_watchdog(args, wd):
    cfg = wd.config(base_config(wd))
    notify = NotifySocket(os.path.join(wd.path, "notify.sock"))
    d = Daemon(args.okrd, cfg, env={"NOTIFY_SOCKET": notify.path})
    try:
        notify.wait_for(lambda m: m.get("READY") == "1", "READY=1")
        d.signal(signal.SIGINT)
        code = d.proc.wait(5)
        check(code == 0, f"SIGINT exits 0, got {code}")
        notify.wait_for(lambda m: m.get("STOPPING") == "1", "STOPPING=1", deadline=1)
        check(not any(m.get("WATCHDOG") for m in notify.messages),
              f"no watchdog pings without WATCHDOG_USEC: {notify.messages}")
    finally:
        d.kill()
        notify.close()


def test_watchdog_stops_when_loop_stalls(args, wd):
    """The watchdog is fed from a loop timer: a loop blocked on purpose (the
    test-only fault switch) stops the pings, so systemd would restart it."""
    cfg = wd.config(base_config(wd))
    notify = NotifySocket(os.path.join(wd.path, "notify.sock"))
    d = Daemon(args.okrd, cfg, env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000",
                                     "OKRD_TEST_STALL_ON_SIGUSR1": "2"})
    try:
        notify.wait_for(lambda m: m.get("READY") == "1", "READY=1")
        notify.wait_for(lambda m: m.get("WATCHDOG") == "1", "WATCHDOG=1")
        d.signal(signal.SIGUSR1)
        d.wait_log("event=stall")
        before = notify.wait_for(lambda m: m.get("WATCHDOG") == "1", "a ping")
        after = notify.wait_for(lambda m: m.get("WATCHDOG") == "1", "pings again after the stall")
        pings = [m["_t"] for m in notify.messages if m.get("WATCHDOG") == "1"]
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        check(max(gaps) >= 1.5, f"no ping while the loop was blocked for 2 s (pings every 0.1 s); "
                                f"largest gap {max(gaps):.2f}s")
        check(after["_t"] >= before["_t"], "pings resume")
        code, _ = d.stop()
        check(code == 0, f"exit 0 after a stall: {code}")
    finally:
        d.kill()
        notify.close()


def test_log_level_on_reload(args, wd):
    cfg_doc = base_config(wd)
    cfg = wd.config(cfg_doc)
    d = Daemon(args.okrd, cfg)
    try:
        d.wait_log("event=started")
        check("level=debug" not in d.log(), "no debug lines at log_level info")
        cfg_doc["daemon"]["log_level"] = "debug"
        wd.config(cfg_doc)
        d.signal(signal.SIGHUP)
        d.wait_log("event=reloaded")
        d.wait_log(["level=debug", "event=evaluated"])
        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}")
    finally:
        d.kill()


def test_bad_config_refused(args, wd):
    cfg = wd.file("okrd.json", '{"daemon": {"listen": ""},\n "objectivs": []}\n')
    r = run(args.okrd, "run", "-c", cfg)
    check(r.returncode == 1, f"run with a bad config exits 1, got {r.returncode}: {r.stderr}")
    check("okrd.json:2:" in r.stderr and "did you mean" in r.stderr and "objectives" in r.stderr,
          f"error names line 2 and suggests objectives: {r.stderr}")
    r = run(args.okrd, "check", "-c", cfg)
    check(r.returncode == 1, f"check exits 1, got {r.returncode}")
    check("okrd.json:2:2:" in r.stderr, f"check prints FILE:LINE:COL: {r.stderr}")


def test_usage(args, wd):
    r = run(args.okrd)
    check(r.returncode == 2 and "usage" in r.stderr, f"no command: exit 2 with usage: {r}")
    r = run(args.okrd, "frobnicate")
    check(r.returncode == 2 and "unknown command" in r.stderr, f"unknown command: exit 2: {r}")
    for cmd in ("run", "check", "status", "ingest", "export"):
        r = run(args.okrd, cmd, "--help")
        check(r.returncode == 0 and f"okrd {cmd}" in r.stdout, f"{cmd} --help: {r}")
    r = run(args.okrd, "help", "export")
    check(r.returncode == 0 and "okrd export" in r.stdout, f"help export: {r}")
    r = run(args.okrd, "version")
    check(r.returncode == 0 and r.stdout.startswith("okrd "), f"version: {r}")
    r = run(args.okrd, "check", "--bogus")
    check(r.returncode == 2, f"bad option: exit 2: {r}")


def test_state_dir_not_creatable(args, wd):
    blocker = wd.file("blocker", "a file, not a directory\n")
    cfg = base_config(wd)
    cfg["daemon"]["state_dir"] = os.path.join(blocker, "state")
    r = run(args.okrd, "run", "-c", wd.config(cfg))
    check(r.returncode == 3, f"an unusable state_dir is a runtime failure (3): {r.returncode} {r.stderr}")
    check("start_failed" in r.stderr and "state" in r.stderr, f"says why: {r.stderr}")


if __name__ == "__main__":
    main([test_lifecycle, test_sigint_and_no_watchdog, test_watchdog_stops_when_loop_stalls,
          test_log_level_on_reload, test_bad_config_refused, test_usage,
          test_state_dir_not_creatable])
