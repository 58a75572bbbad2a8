"""source.failing and source.recovered end to end: a real okrd polls a local
HTTP source that starts answering 500; after failing_after consecutive
failures one source.failing event reaches the webhook (once, not per poll),
and the first success afterwards sends source.recovered (DESIGN section 5).
The source's URL carries a secret token: it appears in neither the events
nor the log."""
import json
import os

import httpfixture
from okrdtest import Daemon, check, main
from test_webhooks import SECRET, Receiver

TOKEN = "srcsecret-6c1e"


def test_failing_then_recovered(args, wd):
    state = {"ok": False}

    @httpfixture.by_request
    def api(req):
        return httpfixture.body({"v": 5}) if state["ok"] else httpfixture.status(500, text="boom")

    rec = Receiver()
    with httpfixture.Fixture({"/api": api}) as fx:
        cfg = wd.config({
            "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": ""},
            "sources": [{"id": "analytics", "type": "http_json", "interval": "1s",
                         "failing_after": 2, "url": fx.url("/api") + "?token=" + TOKEN,
                         "extract": [{"metric": "m", "value": "/v"}]}],
            "webhooks": [{"id": "ops", "url": rec.url, "secret": SECRET,
                          "events": ["source.failing", "source.recovered"]}],
            "alerts": {"for": "0s"}})
        d = Daemon(args.okrd, cfg)
        try:
            reqs = rec.wait(lambda r: len(r) >= 1, "source.failing", 30)
            ev = json.loads(reqs[0]["body"])
            check(ev["type"] == "source.failing", f"first event: {ev}")
            check(ev["source"]["id"] == "analytics" and ev["source"]["consecutive_failures"] >= 2,
                  f"source object: {ev['source']}")
            check("analytics is failing" in ev["summary"], f"summary: {ev['summary']}")
            # More failing polls do not repeat the event.
            polls = len(fx.requests("/api"))
            fx.wait_requests("/api", polls + 1, deadline=20)
            state["ok"] = True
            reqs = rec.wait(lambda r: len(r) >= 2, "source.recovered", 40)
            ev2 = json.loads(reqs[1]["body"])
            check(ev2["type"] == "source.recovered", f"second event: {ev2}")
            check(ev2["source"]["consecutive_failures"] == 0, f"recovered: {ev2['source']}")
            check(len(reqs) == 2, f"exactly two events: {[json.loads(r['body'])['type'] for r in reqs]}")
            code, _ = d.stop()
            check(code == 0, f"exit 0: {code}")
            text = d.log() + "".join(r["body"] for r in reqs)
            check(TOKEN not in text, "the source URL's token appears in no event and no log line")
        finally:
            d.kill()
            rec.close()


def test_state_survives_a_restart(args, wd):
    """The leader reads every source's alert state once when it starts: a
    source that failed before a restart and succeeds at its first poll
    after it raises source.recovered; a healthy one raises nothing."""
    state = {"ok": False}

    @httpfixture.by_request
    def api(req):
        return httpfixture.body({"v": 5}) if state["ok"] else httpfixture.status(500, text="boom")

    @httpfixture.by_request
    def fine(req):
        return httpfixture.body({"v": 1})

    rec = Receiver()
    with httpfixture.Fixture({"/api": api, "/ok": fine}) as fx:
        cfg = wd.config({
            "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": ""},
            "sources": [{"id": "analytics", "type": "http_json", "interval": "1s",
                         "failing_after": 2, "url": fx.url("/api"),
                         "extract": [{"metric": "m", "value": "/v"}]},
                        {"id": "healthy", "type": "http_json", "interval": "1s",
                         "url": fx.url("/ok"), "extract": [{"metric": "h", "value": "/v"}]}],
            "webhooks": [{"id": "ops", "url": rec.url, "secret": SECRET,
                          "events": ["source.failing", "source.recovered"]}],
            "alerts": {"for": "0s"}})
        d = Daemon(args.okrd, cfg)
        try:
            rec.wait(lambda r: len(r) >= 1, "source.failing", 30)
            code, _ = d.stop()
            check(code == 0, f"exit 0: {code}")
        finally:
            d.kill()
        # Back while okrd was down: its first report after the restart is a
        # success, which must raise source.recovered (the state read at start
        # says failing; taking "no job needed" for it would lose the event).
        state["ok"] = True
        d = Daemon(args.okrd, cfg)
        try:
            reqs = rec.wait(lambda r: len(r) >= 2, "source.recovered", 40)
            types = [json.loads(r["body"])["type"] for r in reqs]
            check(types == ["source.failing", "source.recovered"], f"events: {types}")
            check(all(json.loads(r["body"])["source"]["id"] == "analytics" for r in reqs),
                  "the healthy source raised nothing")
            polls = len(fx.requests("/ok"))
            fx.wait_requests("/ok", polls + 2, deadline=20)
            types = [json.loads(r["body"])["type"] for r in rec.wait(lambda r: True, "events")]
            check(len(types) == 2, f"nothing more: {types}")
            code, _ = d.stop()
            check(code == 0, f"exit 0: {code}")
        finally:
            d.kill()
            rec.close()


if __name__ == "__main__":
    main([test_failing_then_recovered, test_state_survives_a_restart])
