"""A polled batch whose COMMIT fails is a failed poll (issue 12, item 3).

The real okrd polls a local HTTP source whose every answer is good, while
the store's writer fails its first two commits as a full disk would
(OKRD_TEST_FAIL_COMMIT=2, store/store_writer.c). Those two polls must count
as failures: logged with the store's error, failing_after (2) reached, a
source.failing webhook event with the error, the source retried with the
backoff; the poll after them stores its point and recovers the source. The
values the source answers number its requests, so the stored points show
which polls were kept: none of the first two, and the third one."""
import json
import os

import httpfixture
from okrdtest import Daemon, check, main, run
from test_webhooks import SECRET, Receiver

DISK_FULL = "store: commit: database or disk is full"


def test_failed_commit_is_a_failed_poll(args, wd):
    served = []

    @httpfixture.by_request
    def api(req):
        served.append(req["at"])
        return httpfixture.body({"v": len(served)})

    rec = Receiver()
    with httpfixture.Fixture({"/api": api}) as fx:
        cfg = wd.config({
            "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": ""},
            "sources": [{"id": "disk", "type": "http_json", "interval": "1s",
                         "failing_after": 2, "url": fx.url("/api"),
                         "extract": [{"metric": "m", "value": "/v"}]}],
            "webhooks": [{"id": "ops", "url": rec.url, "secret": SECRET,
                          "events": ["source.failing", "source.recovered"]}],
            "alerts": {"for": "0s"}})
        d = Daemon(args.okrd, cfg, env={"OKRD_TEST_FAIL_COMMIT": "2"})
        try:
            line = d.wait_log(["event=poll_failed", "source=disk"], 30)
            check(DISK_FULL in line and "failure 1;" in line, f"first failure: {line}")
            line = d.wait_log(["event=source_failing", "source=disk"], 30)
            check(DISK_FULL in line and "2 consecutive failures" in line,
                  f"failing_after reached: {line}")
            d.wait_log(["event=poll_recovered", "source=disk"], 30)
            reqs = rec.wait(lambda r: len(r) >= 2, "source.failing then source.recovered", 30)
            evs = [json.loads(r["body"]) for r in reqs]
            check([e["type"] for e in evs] == ["source.failing", "source.recovered"],
                  f"events: {[e['type'] for e in evs]}")
            src = evs[0]["source"]
            check(src["consecutive_failures"] == 2 and DISK_FULL in (src["last_error"] or ""),
                  f"source.failing: {src}")
            # Retried with the backoff: after two failures the delay doubles
            # (2 s, -10% jitter at most); a timer never fires early.
            check(len(served) >= 3, f"{len(served)} requests")
            gap = served[2] - served[1]
            check(gap >= 1.75, f"3rd poll {gap:.2f}s after the 2nd: no backoff")
            code, _ = d.stop()
            check(code == 0, f"exit 0: {code}\n{d.log()}")
            check("event=poll_ok" not in d.log(), "no poll counted ok before the store worked:\n"
                  + d.log())
        finally:
            d.kill()
            rec.close()
    r = run(args.okrd, "export", "-c", cfg, "--json")
    check(r.returncode == 0, f"export: {r.stderr}")
    values = sorted(p["value"] for p in json.loads(r.stdout) if p["metric"] == "m")
    check(values and values[0] == 3, f"stored values {values}: polls 1 and 2 lost, 3 kept")
    check(values == list(range(3, 3 + len(values))), f"stored values {values}")


if __name__ == "__main__":
    main([test_failed_commit_is_a_failed_poll])
