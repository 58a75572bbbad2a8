"""Check-ins posted through the API, followed to the webhooks (issue 14's
end-to-end list, DESIGN sections 5 and 8): the real okrd on 127.0.0.1,
check-ins POSTed with scoped tokens, receivers on 127.0.0.1 whose every
request is verified with the npm `standardwebhooks` package, alerts.for
"0s" and evaluate_every "1h" (so only the check-ins themselves, and the
timer okrd arms for an override's end, make the evaluations that matter).

  1. a key result off track by its data, overridden to on_track: one
     kr.check_in and one kr.back_on_track whose key_result has status
     on_track, computed_status off_track and the check-in; at `until` (a
     date-time seconds ahead) the override ends by itself: kr.off_track,
     in that order, and the API shows the data's status again;
  2. a manual key result (a metric no source feeds) moved only by check-in
     values: progress and status in GET /api/v1/key-results/{id} after
     each, and `okrd export` holds one point at each check-in's `at`;
  3. two check-ins on one key result at once, five rounds: consecutive
     seq, and the later one's (by seq) override is the key result's;
  4. invalid UTF-8 (several kinds) and NUL in a comment, each with a value
     and a status: 400 naming "comment", nothing stored (no check-in, no
     point, no event), /healthz 200 after every refusal; then a comment
     `<!channel> <script>` is stored as written, sent as written in JSON
     and escaped in the Slack body, where only the owner is as written.

Already covered elsewhere, so not repeated here: 421 for `Host:
evil.example` (test_auth.py), the CLI and the unix socket, every other
400/409/413 and 20 parallel posts' seq (test_checkins.py), overrides of
check-ins written by another process, facts not overridden and
okrd_kr_computed_status (test_checkin_events.py), reminders
(test_checkin_reminders.py), the form (test_dashboard_checkin.py).
"""
import datetime as dt
import json
import os
import threading
import time

from apitest import Api, free_port
from okrdtest import DEADLINE, Daemon, TestFailure, check, main, node_modules, run
from test_webhooks import SECRET, Receiver, node_verify

TOKENS = {"alice": "alice-checkin-t0ken", "bob": "bob-checkin-t0ken"}
OWNER = "<@U024BE7LH>"
OFF = 1010  # dau-up, 1000 -> 1200 with half the cycle gone: off track
PATH = "/api/v1/key-results/{}/check-ins"
EVENT_DEADLINE = 30.0  # a loaded 2-core CI machine


def iso(ts):
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s):
    return int(dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=dt.timezone.utc).timestamp())


class Flow:
    """One daemon: dau-up (fed 1010 by a csv_dir drop, off track) and launch
    (metric launch_pct, fed by nothing) in a cycle half gone; a JSON webhook
    and a Slack one (kr.check_in only), both signed."""

    def __init__(self, args, wd, data=True):
        self.rec, self.slack = Receiver(), Receiver()
        today = dt.date.today()
        self.start_d = (today - dt.timedelta(days=45)).isoformat()
        end_d = (today + dt.timedelta(days=44)).isoformat()
        self.port = free_port()
        inbox = os.path.join(wd.path, "inbox")
        os.makedirs(inbox, exist_ok=True)
        if data:
            with open(os.path.join(inbox, "start.csv"), "w") as f:
                f.write(f"metric,timestamp,value\ndau,{int(time.time()) - 3600},{OFF}\n")
        self.cfg = wd.config({
            "daemon": {"state_dir": os.path.join(wd.path, "state"),
                       "listen": f"127.0.0.1:{self.port}", "timezone": "UTC",
                       "log_level": "debug", "evaluate_every": "1h",
                       "api_tokens": [{"name": "alice", "token": TOKENS["alice"],
                                       "scopes": ["checkin", "read"]},
                                      {"name": "bob", "token": TOKENS["bob"],
                                       "scopes": ["checkin"]}]},
            "sources": [{"id": "drops", "type": "csv_dir", "path": inbox}],
            "objectives": [{"id": "growth", "title": "Grow", "owner": OWNER,
                            "cycle": {"start": self.start_d, "end": end_d},
                            "key_results": [
                                {"id": "dau-up", "title": "Increase DAU by 20%", "metric": "dau",
                                 "direction": "increase", "baseline": 1000, "target": 1200},
                                {"id": "launch", "title": "Roll out to 100% of customers",
                                 "metric": "launch_pct", "direction": "increase",
                                 "baseline": 0, "target": 100}]}],
            "webhooks": [{"id": "all", "url": self.rec.url, "secret": SECRET},
                         {"id": "slack", "url": self.slack.url, "secret": SECRET,
                          "format": "slack", "events": ["kr.check_in"]}],
            "alerts": {"for": "0s"},
        })
        self.d = Daemon(args.okrd, self.cfg)
        self.api = Api(port=self.port)
        try:
            self.d.wait_log("event=api_listening")
        except Exception:
            self.close()
            raise

    def post(self, kr, body=None, raw=None, token="alice"):
        data = raw if raw is not None else json.dumps(body).encode()
        st, _, out = self.api.request(
            "POST", PATH.format(kr), body=data,
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {TOKENS[token]}"})
        return st, json.loads(out) if out else None

    def kr(self, kr):
        return self.api.json(f"/api/v1/key-results/{kr}")

    def healthy(self, after):
        st, _, body = self.api.request("GET", "/healthz", validate=False)
        check(st == 200 and self.d.alive(), f"/healthz after {after}: {st} {body[:200]!r}")

    def close(self):
        self.d.kill()
        self.rec.close()
        self.slack.close()


def bodies(reqs, type_=None):
    out = [json.loads(r["body"]) for r in reqs if 200 <= r["status"] < 300]
    return [b for b in out if type_ is None or b.get("type") == type_]


def verify_all(args, wd, reqs):
    """Every request signed as the Standard Webhooks spec says, checked by
    the npm package (it is installed wherever the answers are checked
    against docs/openapi.yaml, so its absence is a failure, not a skip)."""
    os.environ.setdefault("OKRD_NODE_MODULES", node_modules())
    results = node_verify(args, wd, reqs)
    if results is None:
        raise TestFailure(f"node or the npm standardwebhooks package is missing (looked in "
                          f"{node_modules()}); scripts/test installs it")
    check(results == ["ok"] * len(reqs), f"standardwebhooks verify: {results}")


def test_override_back_on_track_until_it_ends(args, wd):
    f = Flow(args, wd)
    try:
        f.rec.wait(lambda r: bodies(r, "kr.off_track"), "kr.off_track from the data",
                   deadline=EVENT_DEADLINE)
        k = f.kr("dau-up")
        check(k["status"] == "off_track" == k["computed_status"] and k["check_in"] is None,
              f"before the check-in: {k}")
        # A date-time a few seconds ahead: the override ends on its own.
        until = int(time.time()) + 6
        st, doc = f.post("dau-up", {"status": "on_track", "confidence": 8, "until": iso(until),
                                    "comment": "the big launch lands next week"})
        check(st == 201, f"POST: {st} {doc}")
        ci = doc["check_in"]
        check(ci["status"] == "on_track" and ci["until"] == iso(until) and ci["author"] == "alice"
              and ci["seq"] == 1, f"the 201's check-in: {ci}")
        check(doc["key_result"]["status"] == "on_track"
              and doc["key_result"]["computed_status"] == "off_track"
              and doc["key_result"]["check_in"]["override_until"] == iso(until),
              f"the 201's key result: {doc['key_result']}")

        reqs = f.rec.wait(lambda r: bodies(r, "kr.check_in") and bodies(r, "kr.back_on_track"),
                          "kr.check_in and kr.back_on_track", deadline=EVENT_DEADLINE)
        back = bodies(reqs, "kr.back_on_track")[0]
        bk = back["key_result"]
        check(bk["id"] == "dau-up" and bk["status"] == "on_track"
              and bk["computed_status"] == "off_track" and bk["previous_status"] == "off_track",
              f"kr.back_on_track's key_result: {bk}")
        check(bk["check_in"] is not None and bk["check_in"]["id"] == ci["id"]
              and bk["check_in"]["override_until"] == iso(until)
              and bk["check_in"]["comment"] == ci["comment"]
              and bk["check_in"]["confidence"] == 8, f"its check_in: {bk['check_in']}")
        cin = bodies(reqs, "kr.check_in")[0]
        check(cin["check_in"]["id"] == ci["id"] and cin["key_result"]["status"] == "on_track"
              and cin["key_result"]["computed_status"] == "off_track", f"kr.check_in: {cin}")
        k = f.kr("dau-up")
        if time.time() < until - 1:  # the override surely holds: the API says so
            check(k["status"] == "on_track" and k["computed_status"] == "off_track"
                  and k["check_in"]["override_until"] == iso(until), f"GET while held: {k}")

        # until passes: the data's status returns with its event, no tick needed.
        reqs = f.rec.wait(lambda r: len(bodies(r, "kr.off_track")) >= 2,
                          "kr.off_track when the override ends",
                          deadline=max(0, until - time.time()) + EVENT_DEADLINE)
        off = bodies(reqs, "kr.off_track")[-1]
        ok = off["key_result"]
        check(ok["status"] == "off_track" == ok["computed_status"]
              and ok["previous_status"] == "on_track" and ok["check_in"]["id"] == ci["id"]
              and ok["check_in"]["override_until"] is None, f"kr.off_track after until: {ok}")
        check(parse_iso(off["occurred_at"]) >= until,
              f"raised at {off['occurred_at']}, not before until {iso(until)}")
        order = [b["type"] for b in bodies(reqs)]
        check(order == ["kr.off_track", "kr.check_in", "kr.back_on_track", "kr.off_track"],
              f"the events, in order: {order}")
        k = f.kr("dau-up")
        check(k["status"] == "off_track" == k["computed_status"]
              and k["check_in"]["id"] == ci["id"] and k["check_in"]["override_until"] is None,
              f"GET after until: {k}")
        # Exactly one of each, also after more evaluations (a check-in on
        # another key result evaluates again).
        st, _ = f.post("launch", {"comment": "nudge"})
        check(st == 201, f"a second check-in: {st}")
        reqs = f.rec.wait(lambda r: len(bodies(r, "kr.check_in")) >= 2,
                          "the second kr.check_in", deadline=EVENT_DEADLINE)
        types = [b["type"] for b in bodies(reqs)]
        check(types == ["kr.off_track", "kr.check_in", "kr.back_on_track", "kr.off_track",
                        "kr.check_in"], f"exactly one kr.check_in and kr.back_on_track: {types}")
        verify_all(args, wd, reqs)
    finally:
        f.close()


def wait_next_second(deadline=5.0):
    """Until the wall clock's second changes (two check-ins then have
    different `at`s): a poll of the clock with a deadline."""
    now = int(time.time())
    end = time.monotonic() + deadline
    while int(time.time()) == now:
        if time.monotonic() > end:
            raise TestFailure("the clock did not advance")
        time.sleep(0.01)


def test_manual_key_result_moves_by_values(args, wd):
    f = Flow(args, wd, data=False)
    try:
        k = f.api.wait_for("/api/v1/key-results/launch", lambda k: k["status"] == "no_data",
                           "launch evaluated with no data")
        check(k["value"] is None and k["progress"] is None, f"no data yet: {k}")
        # Half the cycle gone: progress 0.1 is off track, 0.4 at risk,
        # 0.6 on track (DESIGN section 4's thresholds 0.7 and 0.9 of pace).
        steps = [(10, "off_track"), (40, "at_risk"), (60, "on_track")]
        posted = []
        for value, want in steps:
            wait_next_second()
            st, doc = f.post("launch", {"value": value, "confidence": 5})
            check(st == 201 and doc["key_result"]["value"] == value
                  and doc["key_result"]["status"] == want, f"value {value}: {st} {doc}")
            ci = doc["check_in"]
            posted.append(ci)
            k = f.api.wait_for("/api/v1/key-results/launch",
                               lambda k: k["check_in"] and k["check_in"]["id"] == ci["id"],
                               f"the evaluation that sees check-in {ci['seq']}")
            check(k["value"] == value and abs(k["progress"] - value / 100) < 1e-9
                  and k["status"] == want == k["computed_status"]
                  and k["last_point_at"] == ci["at"],
                  f"GET after value {value}: status {k['status']}, progress {k['progress']}, "
                  f"want {want}: {k}")
        check([c["seq"] for c in posted] == [1, 2, 3], f"seq: {posted}")
        r = run(args.okrd, "export", "-c", f.cfg, "--metric", "launch_pct")
        want = "metric,timestamp,value\n" + "".join(
            f"launch_pct,{c['at']},{c['value']:g}\n" for c in posted)
        check(r.returncode == 0 and r.stdout == want,
              f"export: one point at each check-in's at:\n{r.stdout}\nwant:\n{want}{r.stderr}")
        # The objective's score moved with it; dau-up (no data either) did not.
        o = f.api.json("/api/v1/objectives")["objectives"][0]
        kl = next(x for x in o["key_results"] if x["id"] == "launch")
        check(kl["value"] == 60 and kl["status"] == "on_track", f"in /objectives: {kl}")
    finally:
        f.close()


def test_parallel_checkins_later_override_wins(args, wd):
    f = Flow(args, wd)
    try:
        f.rec.wait(lambda r: bodies(r, "kr.off_track"), "kr.off_track from the data",
                   deadline=EVENT_DEADLINE)
        rounds, seen = 5, []
        for rnd in range(rounds):
            statuses = ["at_risk", "on_track"] if rnd % 2 else ["on_track", "at_risk"]
            gate = threading.Barrier(2)
            out = [None, None]

            def one(i):
                try:
                    gate.wait(10)
                    out[i] = f.post("dau-up", {"status": statuses[i],
                                               "comment": f"round {rnd} from {i}"},
                                    token=("alice", "bob")[i])
                except Exception as e:  # reported below
                    out[i] = (0, repr(e))

            ts = [threading.Thread(target=one, args=(i,)) for i in range(2)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(30)
            check(all(o and o[0] == 201 for o in out), f"round {rnd}: {out}")
            cis = sorted((o[1]["check_in"] for o in out), key=lambda c: c["seq"])
            check([c["seq"] for c in cis] == [2 * rnd + 1, 2 * rnd + 2],
                  f"round {rnd}: consecutive seq: {[c['seq'] for c in cis]}")
            check(cis[0]["at"] <= cis[1]["at"], f"at never goes back: {cis}")
            later = cis[1]
            mine = next(o[1] for o in out if o[1]["check_in"]["id"] == later["id"])
            check(mine["key_result"]["status"] == later["status"]
                  and mine["key_result"]["check_in"]["id"] == later["id"],
                  f"the later one's 201: {mine['key_result']}")
            k = f.api.wait_for("/api/v1/key-results/dau-up",
                               lambda k: k["check_in"] and k["check_in"]["seq"] == later["seq"],
                               f"round {rnd}: the evaluation that sees seq {later['seq']}")
            check(k["check_in"]["id"] == later["id"] and k["status"] == later["status"]
                  and k["computed_status"] == "off_track"
                  and k["check_in"]["override_until"] == later["until"],
                  f"round {rnd}: the later override ({later['status']}, seq {later['seq']}) "
                  f"wins: status {k['status']}, check_in {k['check_in']}")
            seen += cis
        listed = f.api.json(PATH.format("dau-up"))["check_ins"]
        check([c["id"] for c in listed] == [c["id"] for c in reversed(seen)],
              f"GET newest first, as committed: {[c['seq'] for c in listed]}")
        reqs = f.rec.wait(lambda r: len(bodies(r, "kr.check_in")) >= 2 * rounds,
                          "one kr.check_in per check-in", deadline=EVENT_DEADLINE)
        ids = sorted(b["check_in"]["id"] for b in bodies(reqs, "kr.check_in"))
        check(ids == sorted(c["id"] for c in seen), f"kr.check_in ids: {ids}")
        verify_all(args, wd, reqs)
    finally:
        f.close()


BAD_COMMENTS = [  # raw bodies, each with a value and a status that must not be stored
    ("a Latin-1 byte", b'{"value": 77, "status": "on_track", "comment": "caf\xe9"}'),
    ("an overlong '/'", b'{"value": 77, "status": "on_track", "comment": "a\xc0\xafb"}'),
    ("a UTF-8 surrogate", b'{"value": 77, "status": "on_track", "comment": "\xed\xa0\x80"}'),
    ("a cut sequence", b'{"value": 77, "status": "on_track", "comment": "ab\xe2\x82"}'),
    ("a code point over U+10FFFF",
     b'{"value": 77, "status": "on_track", "comment": "\xf4\x90\x80\x80"}'),
    ("a 0xFF byte", b'{"comment": "\xff", "value": 77, "status": "on_track"}'),
    ("a stray continuation byte", b'{"value": 77, "status": "on_track", "comment": "\x80"}'),
    ("an escaped NUL", b'{"value": 77, "status": "on_track", "comment": "a\\u0000b"}'),
    ("an escaped NUL alone", b'{"value": 77, "status": "on_track", "comment": "\\u0000"}'),
]
MARKUP = "<!channel> <script>alert(1)</script> & <@U0BADBAD> *bold*"


def test_bad_comments_and_markup(args, wd):
    f = Flow(args, wd, data=False)
    try:
        f.api.wait_ready()
        for what, raw in BAD_COMMENTS:
            st, doc = f.post("launch", raw=raw)
            check(st == 400 and doc["error"] == "bad_request" and doc["field"] == "comment"
                  and doc["detail"], f"{what}: {st} {doc}, want 400 naming \"comment\"")
            f.healthy(what)
        # Not UTF-8 trouble inside the comment's bytes but still refused:
        # a raw NUL byte (not JSON) and an escaped lone surrogate.
        for what, raw in (("a raw NUL byte", b'{"value": 77, "comment": "a\x00b"}'),
                          ("a lone surrogate", b'{"value": 77, "comment": "\\ud800"}')):
            st, doc = f.post("launch", raw=raw)
            check(st == 400 and doc["error"] == "bad_request"
                  and doc["field"] in (None, "comment"), f"{what}: {st} {doc}")
            f.healthy(what)
        # The field named is the one holding the bad bytes, also when another
        # holds a U+FDD0 (the character okrd once marked bad bytes with).
        for what, raw in (("U+FDD0", '{"comment": "\ufdd0 note", "status": "x\udcff"}'),
                          ("\\ufdd0", '{"comment": "\\ufdd0", "status": "\udcff"}')):
            st, doc = f.post("launch", raw=raw.encode("utf-8", "surrogateescape"))
            check(st == 400 and doc["field"] == "status",
                  f"{what} in the comment, a bad byte in status: {st} {doc}")
            f.healthy(what)
        check(f.api.json(PATH.format("launch"))["check_ins"] == [], "no check-in stored")
        r = run(args.okrd, "export", "-c", f.cfg, "--metric", "launch_pct")
        check(r.returncode == 0 and r.stdout == "metric,timestamp,value\n",
              f"no point stored: {r.stdout!r} {r.stderr}")
        k = f.kr("launch")
        check(k["check_in"] is None and k["status"] == "no_data", f"launch untouched: {k}")

        st, doc = f.post("launch", {"comment": MARKUP, "confidence": 4})
        check(st == 201 and doc["check_in"]["comment"] == MARKUP, f"markup: {st} {doc}")
        f.healthy("a comment with markup")
        check(f.api.json(PATH.format("launch"))["check_ins"][0]["comment"] == MARKUP,
              "GET keeps the comment as written")
        sreqs = f.slack.wait(lambda r: r and r[-1]["status"] == 204, "the Slack kr.check_in",
                             deadline=EVENT_DEADLINE)
        check(len(sreqs) == 1, f"one Slack message, for the one stored check-in: {len(sreqs)}")
        raw = sreqs[0]["body"]
        msg = json.loads(raw)
        texts = []

        def walk(v):
            if isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
            elif isinstance(v, str):
                texts.append(v)
        walk(msg)
        every = "\n".join(texts)
        for bad in ("<!channel>", "<script", "</script>", "<@U0BADBAD>"):
            check(bad not in every, f"{bad!r} reached Slack unescaped: {every}")
        want = "&lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;@U0BADBAD&gt;"
        check(any(want in t for t in texts), f"the comment escaped in a block: {texts}")
        check(any(OWNER in t for t in texts), f"the owner as written (a mention pings): {texts}")
        # The JSON webhook carries the comment as written.
        reqs = f.rec.wait(lambda r: bodies(r, "kr.check_in"), "the JSON kr.check_in",
                          deadline=EVENT_DEADLINE)
        cin = bodies(reqs, "kr.check_in")
        check(len(cin) == 1 and cin[0]["check_in"]["comment"] == MARKUP,
              f"JSON kr.check_in: {cin}")
        verify_all(args, wd, reqs + sreqs)
    finally:
        f.close()


if __name__ == "__main__":
    main([test_override_back_on_track_until_it_ends, test_manual_key_result_moves_by_values,
          test_parallel_checkins_later_override_wins, test_bad_comments_and_markup])
