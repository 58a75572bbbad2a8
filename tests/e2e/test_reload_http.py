"""A reload applies a changed daemon.http_max_connections (issue 12, item 12).

Three http_json sources poll a local server that never answers (their
timeout is far beyond this test). With http_max_connections 1, one request
reaches the server and two wait in okrd's queue. A reload to 3 must say so
in the log and hand the two waiting requests to curl at once: the server
sees all three, long before the first could time out. Without the change
applied, the two would wait for that timeout (60 s)."""
import os
import signal

from httpfixture import Fixture, hang
from okrdtest import Daemon, check, main


def config(wd, fx, max_conn):
    return wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": "",
                   "http_max_connections": max_conn},
        "sources": [{"id": f"s{i}", "type": "http_json", "url": fx.url(f"/hang{i}"),
                     "interval": "1s", "timeout": "60s",
                     "extract": [{"metric": f"m{i}", "value": "/v"}]} for i in range(3)]})


def test_reload_raises_the_cap(args, wd):
    with Fixture({f"/hang{i}": hang for i in range(3)}) as fx:
        cfg = config(wd, fx, 1)
        d = Daemon(args.okrd, cfg)
        try:
            for i in range(3):
                d.wait_log(["event=source_started", f"source=s{i}"])
            fx.wait_requests(None, 1)
            check(len(fx.requests()) == 1,
                  f"cap 1: one request at a time, got {[r['path'] for r in fx.requests()]}")
            config(wd, fx, 3)
            d.signal(signal.SIGHUP)
            line = d.wait_log(["event=reload", "http_max_connections=3"])
            check("previous=1" in line, f"reload line: {line}")
            d.wait_log("event=reloaded")
            got = fx.wait_requests(None, 3, deadline=15)
            check(sorted(r["path"] for r in got) == ["/hang0", "/hang1", "/hang2"],
                  f"every source's request reached the server: {[r['path'] for r in got]}")
            check("source_stopped" not in d.log(), "the sources kept running:\n" + d.log())
            # Lowering it is logged as well (running transfers are left alone).
            config(wd, fx, 2)
            d.signal(signal.SIGHUP)
            line = d.wait_log(["event=reload", "http_max_connections=2"])
            check("previous=3" in line, f"reload line: {line}")
            code, _ = d.stop()
            check(code == 0, f"exit 0: {code}\n{d.log()}")
        finally:
            d.kill()


if __name__ == "__main__":
    main([test_reload_raises_the_cap])
