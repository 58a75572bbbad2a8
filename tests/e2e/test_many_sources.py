"""Many HTTP sources at once: each source's health reaches the right place.

okrd finds a source's state by its id on every poll (the daemon's slot for
STATUS=, the alerts' memory of whether it is failing); those lookups are
indexed rather than searched (bench/poll_fanout: 1,000 sources made them a
million compares a round). Here 40 sources with ids in no sorted order, every
other one answering 500 with failing_after 1: exactly the failing ones send
one source.failing event each, and STATUS= counts the others up.
"""
import json
import os
import random
import time

import httpfixture
from okrdtest import Daemon, NotifySocket, check, main
from test_webhooks import SECRET, Receiver

N = 40


def test_health_per_source(args, wd):
    rng = random.Random(13)
    ids = [f"{rng.choice(['src', 'Src', 'a', 'z.q', 'm-9'])}-{k}" for k in range(N)]
    rng.shuffle(ids)
    bad = {sid for i, sid in enumerate(ids) if i % 2}
    ok = httpfixture.body({"v": 1})
    boom = httpfixture.status(500, text="boom")
    rec = Receiver()
    notify = NotifySocket(os.path.join(wd.path, "notify.sock"))
    with httpfixture.Fixture({"/ok": ok, "/bad": boom}) as fx:
        cfg = wd.config({
            "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": "",
                       "http_max_connections": 4},
            "sources": [{"id": sid, "type": "http_json", "interval": "1h", "failing_after": 1,
                         "url": fx.url("/bad" if sid in bad else "/ok") + f"?s={sid}",
                         "extract": [{"metric": f"m{i}", "value": "/v"}]}
                        for i, sid in enumerate(ids)],
            "webhooks": [{"id": "ops", "url": rec.url, "secret": SECRET,
                          "events": ["source.failing", "source.recovered"]}],
            "alerts": {"for": "0s"}})
        d = Daemon(args.okrd, cfg, env={"NOTIFY_SOCKET": notify.path})
        try:
            want = f"sources {N - len(bad)}/{N} up"
            notify.wait_for(lambda m: want in m.get("STATUS", ""), want, deadline=60)
            reqs = rec.wait(lambda r: len(r) >= len(bad), f"{len(bad)} source.failing events", 60)
            end = time.monotonic() + 60
            while True:  # every good source's first poll was stored
                log = d.log()
                missing = [s for s in ids if s not in bad and f"event=poll_ok source={s} " not in log]
                if not missing:
                    break
                check(time.monotonic() < end, f"no poll_ok for {missing}")
                time.sleep(0.05)
            events = [json.loads(r["body"]) for r in reqs]
            check(all(e["type"] == "source.failing" for e in events),
                  f"only source.failing: {[e['type'] for e in events]}")
            got = sorted(e["source"]["id"] for e in events)
            check(got == sorted(bad), f"one event per failing source: {got} vs {sorted(bad)}")
            code, _ = d.stop()
            check(code == 0, f"exit 0: {code}")
            check(len(rec.requests) == len(bad), f"no more events: {len(rec.requests)}")
        finally:
            d.kill()
            rec.close()
            notify.close()


if __name__ == "__main__":
    main([test_health_per_source])
