"""Regressions found in review, each with the real binary (and, in CI, also
under ASan/UBSan):
- a reload that restarts a source which had outlived its config (use after
  free), and a reload that changes daemon.timezone restarts every source;
- a SIGHUP while okrd is stopping is ignored, not fatal;
- SIGTERM during a big CSV file stops within 5 s, stores nothing of the file
  and leaves it in the inbox, and the next start reads it whole;
- the API's previous_status is the status before the latest change."""
import os
import signal
import socket
import threading
import time

import apitest
from okrdtest import Daemon, check, main, run


def csv_config(wd, **daemon_extra):
    daemon = {"state_dir": os.path.join(wd.path, "state"), "listen": "", "log_level": "debug"}
    daemon.update(daemon_extra)
    return {"daemon": daemon,
            "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
            "objectives": [{"id": "o", "title": "Grow", "cycle": "2026-Q4", "key_results": [
                {"id": "dau-up", "title": "Increase DAU", "metric": "dau", "direction": "increase",
                 "baseline": 1000, "target": 1200}]}]}


def test_reload_restarts_a_source_from_an_old_config(args, wd):
    doc = csv_config(wd)
    cfg = wd.config(doc)
    d = Daemon(args.okrd, cfg)
    try:
        d.wait_log(["event=source_started", "source=drops"])
        # 1: an unrelated change; the source keeps running on the first config.
        doc["daemon"]["evaluate_every"] = "2s"
        wd.config(doc)
        d.signal(signal.SIGHUP)
        d.wait_log("event=reloaded")
        d.wait_log(["event=evaluated"])  # the evaluation on the new config lets go of the old one
        def restarted(change):
            starts = d.log().count("event=source_started source=drops")
            change()
            wd.config(doc)
            d.signal(signal.SIGHUP)
            d.wait_log(["event=source_stopped", "source=drops"])  # its log line reads its old config
            check(d.log().count("event=source_started source=drops") == starts + 1,
                  f"the source started again:\n{d.log()}")

        # 2: the source changes: the old one stops, a new one starts.
        restarted(lambda: doc["sources"][0].update(rescan="5s"))
        # 3: a new time zone restarts the (otherwise unchanged) source.
        restarted(lambda: doc["daemon"].update(timezone="Europe/Berlin"))
        check(d.alive(), "still running")
        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}\n{d.log()}")
    finally:
        d.kill()


def test_reload_removes_and_readds_a_webhook(args, wd):
    doc = csv_config(wd)
    hook = {"id": "team", "url": "http://127.0.0.1:9/hook"}
    for i in range(6):
        doc["webhooks"] = [hook] if i % 2 == 0 else []
        cfg = wd.config(doc)
        if i == 0:
            d = Daemon(args.okrd, cfg)
            d.wait_log("event=started")
            continue
        d.signal(signal.SIGHUP)
        d.wait_log(["event=reloaded", f"webhooks={len(doc['webhooks'])}"])
    try:
        check(d.alive(), "still running")
        code, _ = d.stop()
        check(code == 0, f"exit 0 (and, under ASan, no leak or bad access): {code}\n{d.log()}")
    finally:
        d.kill()


def test_sighup_while_stopping(args, wd):
    """A webhook that never answers keeps okrd in its 5 s delivery grace
    after SIGTERM; a SIGHUP then must not kill it."""
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(8)
    held = []
    stop = threading.Event()

    def accept():
        hang.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(hang.accept()[0])  # accepted, never answered
            except OSError:
                pass

    threading.Thread(target=accept, daemon=True).start()
    doc = csv_config(wd)
    doc["webhooks"] = [{"id": "slow", "url": f"http://127.0.0.1:{hang.getsockname()[1]}/h", "timeout": "30s"}]
    doc["alerts"] = {"for": "0s"}
    cfg = wd.config(doc)
    os.makedirs(os.path.join(wd.path, "inbox"), exist_ok=True)
    d = Daemon(args.okrd, cfg)
    try:
        d.wait_log(["event=source_started"])
        wd.file("inbox/dau.csv", "metric,timestamp,value\ndau,2026-10-01,1000\ndau,%d,1001\n" % int(time.time() - 60))
        end = time.monotonic() + 15
        while not held and time.monotonic() < end:
            time.sleep(0.05)  # waiting for the delivery attempt to connect, with a deadline
        check(held, f"a delivery attempt reached the hanging receiver:\n{d.log()}")
        d.signal(signal.SIGTERM)
        d.wait_log("event=stopping")
        d.signal(signal.SIGHUP)
        d.wait_log("event=signal_ignored")
        code = d.proc.wait(10)
        check(code == 0, f"SIGHUP during shutdown: exit 0, got {code}\n{d.log()}")
    finally:
        stop.set()
        d.kill()
        for c in held:
            c.close()
        hang.close()


def test_sigterm_during_a_big_file(args, wd):
    cfg = wd.config(csv_config(wd))
    inbox = os.path.join(wd.path, "inbox")
    os.makedirs(inbox, exist_ok=True)
    d = Daemon(args.okrd, cfg)
    try:
        d.wait_log(["event=source_started"])
        rows = ["metric,timestamp,value"] + [f"m{i % 50},{1700000000 + i},{i}" for i in range(3_000_000)]
        tmp = os.path.join(wd.path, "big.tmp")
        with open(tmp, "w") as f:
            f.write("\n".join(rows) + "\n")
        os.rename(tmp, os.path.join(inbox, "big.csv"))
        d.wait_log(["event=file_started", "big.csv"])
        code, took = d.stop(deadline=5.0)
        check(code == 0, f"exit 0: {code}")
        check(os.path.exists(os.path.join(inbox, "big.csv")), "the file is still in the inbox")
        r = run(args.okrd, "export", "-c", cfg, "--metric", "m0")
        check(r.stdout == "metric,timestamp,value\n", f"nothing of the file stored: {r.stdout[:200]!r}")
    finally:
        d.kill()
    d = Daemon(args.okrd, cfg)
    try:
        d.wait_log(["event=file_ingested", "big.csv"], deadline=120)
        d.stop()
    finally:
        d.kill()
    r = run(args.okrd, "export", "-c", cfg, "--metric", "m0")
    check(r.stdout.count("\n") == 60_001, f"read whole at the next start: {r.stdout.count(chr(10))} lines")


def test_previous_status_in_the_api(args, wd):
    port = apitest.free_port()
    cfg, _ = apitest.config(wd, f"127.0.0.1:{port}")
    api = apitest.Api(port=port)
    d = Daemon(args.okrd, cfg)
    try:
        _, start, today = apitest.this_quarter()
        api.wait_ready()
        status, _, body = api.push([{"metric": "dau", "timestamp": apitest.day(start, -1), "value": 1000},
                                    {"metric": "dau", "timestamp": today.isoformat(), "value": 1300}])
        check(status == 200, f"push: {status} {body}")
        end = time.monotonic() + 15
        while api.json("/api/v1/key-results/dau-up")["status"] != "achieved" and time.monotonic() < end:
            time.sleep(0.1)  # polling the API with a deadline
        status, _, body = api.push([{"metric": "dau", "timestamp": today.isoformat(), "value": 1001}])
        check(status == 200, f"push: {status} {body}")
        end = time.monotonic() + 15
        kr = api.json("/api/v1/key-results/dau-up")
        while kr["status"] == "achieved" and time.monotonic() < end:
            time.sleep(0.1)
            kr = api.json("/api/v1/key-results/dau-up")
        check(kr["status"] != "achieved", f"the status changed: {kr}")
        check(kr["previous_status"] == "achieved", f"previous_status: {kr}")
        d.stop()
    finally:
        d.kill()


if __name__ == "__main__":
    main([test_reload_restarts_a_source_from_an_old_config, test_reload_removes_and_readds_a_webhook,
          test_sighup_while_stopping,
          test_sigterm_during_a_big_file, test_previous_status_in_the_api])
