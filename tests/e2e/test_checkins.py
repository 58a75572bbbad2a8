"""Check-ins through the API and `okrd checkin` (DESIGN sections 6 and 8),
against the real daemon on 127.0.0.1 (and a unix socket): who may post
(401/403 by token and scope, never exempt on loopback), every 400 with the
field named as written, the 409s of a cycle that has ended / not ended,
404, 413, seq and at under 20 parallel posts, a value stored as a point
(seen in `okrd export`) in the same transaction, the 201's key result with
an override (status vs computed_status), GET's order and defaults, and the
CLI's output and exit codes 0/1/2/3 with the token from $OKRD_TOKEN and
--token-file. Every answer is validated against docs/openapi.yaml (apitest.Api)."""
import datetime
import http.client
import json
import os
import threading

from apitest import Api, free_port
from okrdtest import Daemon, check, main, run, validate_answer

TOKENS = {"alice": "alice-checkin-token", "bob": "bob-checkin-token",
          "reader": "reader-token", "pusher": "pusher-token"}
SCOPES = {"alice": ["checkin"], "bob": ["checkin", "read"], "reader": ["read"],
          "pusher": ["push"]}
TODAY = datetime.datetime.now(datetime.timezone.utc).date()
NOW = TODAY  # the daemon's clock is the system's
CUR = {"start": (TODAY - datetime.timedelta(days=60)).isoformat(),
       "end": (TODAY + datetime.timedelta(days=30)).isoformat()}
OLD = {"start": (TODAY - datetime.timedelta(days=150)).isoformat(),
       "end": (TODAY - datetime.timedelta(days=61)).isoformat()}
PATH = "/api/v1/key-results/{}/check-ins"


def config(wd, listen, tokens=("alice", "bob", "reader", "pusher")):
    cfg = {
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": listen,
                   "timezone": "UTC", "evaluate_every": "1s", "log_level": "debug",
                   "api_tokens": [{"name": n, "token": TOKENS[n], "scopes": SCOPES[n]}
                                  for n in tokens]},
        "metrics": [{"id": "dau"}, {"id": "adoption", "ratio": ["users_f", "users_all"]}],
        "objectives": [
            {"id": "growth", "title": "Grow", "owner": "growth team", "cycle": CUR,
             "key_results": [
                 {"id": "dau-up", "title": "DAU", "metric": "dau", "direction": "increase",
                  "baseline": 1000, "target": 1200},
                 {"id": "deals", "title": "Close deals", "metric": "deals",
                  "direction": "increase", "baseline": 0, "target": 10},
                 {"id": "adopt", "title": "Adoption", "metric": "adoption",
                  "direction": "increase", "baseline": 10, "target": 40}]},
            {"id": "last", "title": "Last cycle", "cycle": OLD, "key_results": [
                {"id": "old-kr", "title": "Old", "metric": "old_metric",
                 "direction": "increase", "baseline": 0, "target": 5}]},
        ],
    }
    return wd.config(cfg)


def start(args, wd, **kw):
    port = free_port()
    cfg = config(wd, f"127.0.0.1:{port}", **kw)
    d = Daemon(args.okrd, cfg)
    try:
        d.wait_log("event=api_listening")
    except Exception:
        d.kill()
        raise
    return d, Api(port=port), cfg, port


def post(api, kr, body, token="alice", raw=None, headers=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = f"Bearer {TOKENS.get(token, token)}"
    h.update(headers or {})
    data = raw if raw is not None else json.dumps(body).encode()
    status, hdrs, out = api.request("POST", PATH.format(kr), body=data, headers=h)
    doc = json.loads(out) if out and hdrs.get("content-type", "").startswith("application/json") \
        else None
    return status, hdrs, doc


def early(api, kr, token=None, length=20):
    """A POST answered from its headers alone (401, 403, 413 by
    Content-Length): the headers go with "Expect: 100-continue" and no body,
    so the answer is read before any body is sent -- a client that sent it
    anyway could meet the closed connection (EPIPE) first."""
    c = api.conn()
    try:
        c.putrequest("POST", PATH.format(kr))
        c.putheader("Content-Type", "application/json")
        c.putheader("Content-Length", str(length))
        c.putheader("Expect", "100-continue")
        if token:
            c.putheader("Authorization", f"Bearer {TOKENS.get(token, token)}")
        c.endheaders()
        r = c.getresponse()
        data = r.read()
        headers = {k.lower(): v for k, v in r.getheaders()}
    finally:
        c.close()
    check(r.status != 100, "okrd answers a refused POST before its body")
    validate_answer("POST", PATH.format(kr), r.status, headers, data)
    return r.status, headers, json.loads(data)


def listed(api, kr, query="", token=None):
    doc = api.json(PATH.format(kr) + query, token)
    return doc["check_ins"]


def stop(d):
    code, _ = d.stop()
    check(code == 0, f"okrd exit {code}; log:\n{d.log()}")


def test_who_may_post(args, wd):
    d, api, _, _ = start(args, wd)
    try:
        body = {"confidence": 6}
        st, h, doc = early(api, "dau-up", token=None)
        check(st == 401 and doc["error"] == "no_token" and h.get("www-authenticate", "")
              .startswith("Bearer"), f"no token on loopback: {st} {doc} {h}")
        st, h, doc = early(api, "dau-up", token="not-a-token")
        check(st == 401 and doc["error"] == "bad_token" and "www-authenticate" in h,
              f"unknown token: {st} {doc}")
        for who in ("reader", "pusher"):
            st, _, doc = early(api, "dau-up", token=who)
            check(st == 403 and doc["error"] == "forbidden" and f'"{who}"' in doc["detail"]
                  and "checkin" in doc["detail"], f"{who} token: {st} {doc}")
        # An unknown key result is 404 only once the token may post.
        st, _, doc = early(api, "nope", token="reader")
        check(st == 403, f"a read token on an unknown key result: {st} {doc}")
        st, _, doc = post(api, "nope", body)
        check(st == 404 and doc["error"] == "not_found" and "nope" in doc["detail"],
              f"unknown key result: {st} {doc}")
        st, _, doc = post(api, "dau-up", body)
        check(st == 201 and doc["check_in"]["author"] == "alice", f"alice: {st} {doc}")
        st, _, doc = post(api, "dau-up", {"comment": "bob too"}, token="bob")
        check(st == 201 and doc["check_in"]["author"] == "bob" and doc["check_in"]["seq"] == 2,
              f"bob: {st} {doc}")
        # Reads are exempt on loopback, with or without a token.
        check(len(listed(api, "dau-up")) == 2, "GET without a token on loopback")
        check(len(listed(api, "dau-up", token=TOKENS["pusher"])) == 2, "GET ignores a token")
        st, h, _ = api.request("PUT", PATH.format("dau-up"), body=b"{}")
        check(st == 405 and h.get("allow") == "GET, HEAD, POST", f"PUT: {st} {h}")
    finally:
        stop(d)
    # No token has the checkin scope: 403 checkin_disabled, whatever is sent.
    d, api, _, _ = start(args, wd, tokens=("reader", "pusher"))
    try:
        for tok in (None, "reader", "not-a-token"):
            st, _, doc = early(api, "dau-up", token=tok)
            check(st == 403 and doc["error"] == "checkin_disabled", f"{tok}: {st} {doc}")
    finally:
        stop(d)


BAD = [  # (key result, body or raw bytes, field as written or None)
    ("dau-up", b"", None),
    ("dau-up", b"{\"confidence\": ", None),
    ("dau-up", b"[{\"confidence\": 6}]", None),
    ("dau-up", b"{}", None),
    ("dau-up", b"{\"confidence\": 6, \"confidence\": 7}", "confidence"),  # a duplicate key
    ("dau-up", b"{\"value\": 1e999}", "value"),           # valid JSON, no double holds it
    ("dau-up", {"until": "2030-01-01", "cycle": "2026-Q3"}, "until"),
    ("dau-up", {"author": "mallory", "confidence": 6}, "author"),
    ("dau-up", {"confidence": 6, "Comment": "x"}, "Comment"),
    ("dau-up", {"confidence": "6"}, "confidence"),
    ("dau-up", {"confidence": 6.5}, "confidence"),
    ("dau-up", {"confidence": 11}, "confidence"),
    ("dau-up", {"confidence": -1}, "confidence"),
    ("dau-up", {"confidence": None}, "confidence"),
    ("dau-up", {"comment": 5}, "comment"),
    ("dau-up", {"comment": "x" * 4001}, "comment"),
    ("dau-up", {"comment": "\u00e9" * 2001}, "comment"),  # 4,002 bytes of UTF-8
    ("dau-up", {"comment": "a\u0000b"}, "comment"),
    ("dau-up", b"{\"comment\": \"caf\xe9\"}", "comment"),
    ("dau-up", {"status": "done"}, "status"),
    ("dau-up", {"status": "ON_TRACK"}, "status"),
    ("dau-up", {"status": True}, "status"),
    ("dau-up", {"until": "2030-01-01", "confidence": 3}, "until"),
    ("dau-up", {"status": "at_risk", "until": "soon"}, "until"),
    ("dau-up", {"status": "at_risk", "until": 1893456000}, "until"),
    ("dau-up", {"status": "at_risk", "until": "2001-01-01"}, "until"),   # not after at
    ("dau-up", {"status": "at_risk", "until": "2999-01-01"}, "until"),   # after e
    ("dau-up", {"value": "1040"}, "value"),
    ("dau-up", {"value": [1]}, "value"),
    ("adopt", {"value": 0.3}, "value"),                                 # a ratio metric
    ("dau-up", {"grade": 1.5}, "grade"),
    ("dau-up", {"grade": -0.1}, "grade"),
    ("dau-up", {"grade": "0.7"}, "grade"),
    ("dau-up", {"cycle": "2026-Q3", "comment": "x"}, "cycle"),
    ("old-kr", {"grade": 0.5, "cycle": "Q3"}, "cycle"),
    ("old-kr", {"grade": 0.5, "cycle": {"start": "2026-01-01"}}, "cycle"),
]


def test_bad_bodies_are_400_and_store_nothing(args, wd):
    d, api, cfg, port = start(args, wd)
    try:
        for kr, body, field in BAD:
            raw = body if isinstance(body, bytes) else None
            st, _, doc = post(api, kr, body, raw=raw)
            check(st == 400 and doc and doc["error"] == "bad_request" and "field" in doc
                  and doc["field"] == field and doc["detail"],
                  f"{kr} {body!r:.80}: {st} {doc}, want 400 with field {field!r}")
        # 4,000 bytes is the limit, not over it.
        st, _, doc = post(api, "deals", {"comment": "\u00e9" * 2000})
        check(st == 201 and len(doc["check_in"]["comment"]) == 2000, f"4,000 bytes: {st}")
        # 413: over 64 KiB, told by Content-Length or found while reading chunks.
        st, _, doc = early(api, "dau-up", token="alice", length=64 * 1024 + 1)
        check(st == 413 and doc["error"] == "too_large", f"64 KiB + 1: {st} {doc}")
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.putrequest("POST", PATH.format("dau-up"))
        c.putheader("Authorization", f"Bearer {TOKENS['alice']}")
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        for _ in range(20):
            chunk = b"x" * 4096
            c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        c.send(b"0\r\n\r\n")
        r = c.getresponse()
        check(r.status == 413, f"a chunked body over 64 KiB: {r.status}")
        c.close()
        # Nothing of the refused bodies was stored; the daemon still serves.
        check(listed(api, "dau-up") == [], "refused check-ins left nothing")
        check(listed(api, "adopt") == [], "the refused ratio value left nothing")
        r = run(args.okrd, "export", "-c", cfg)
        check(r.returncode == 0 and r.stdout == "metric,timestamp,value\n",
              f"no point stored: {r.stdout!r} {r.stderr}")
        check(d.alive(), "okrd keeps running")
    finally:
        stop(d)


def test_cycle_ended_or_not(args, wd):
    d, api, _, _ = start(args, wd)
    try:
        st, _, doc = post(api, "dau-up", {"grade": 0.7})
        check(st == 409 and doc["error"] == "cycle_not_ended", f"grade before e: {st} {doc}")
        for body in ({"status": "on_track"}, {"value": 3}, {"value": 3, "comment": "late"},
                     {"status": "at_risk", "until": OLD["end"]}):
            st, _, doc = post(api, "old-kr", body)
            check(st == 409 and doc["error"] == "cycle_ended", f"{body} after e: {st} {doc}")
        st, _, doc = post(api, "old-kr", {"grade": 0.6, "comment": "fair", "confidence": 4})
        check(st == 201 and doc["check_in"]["grade"] == 0.6 and doc["check_in"]["seq"] == 1,
              f"grade after e: {st} {doc}")
        # The current cycle named, by range: the same; another cycle: no archive.
        st, _, doc = post(api, "old-kr", {"grade": 0.8, "cycle": OLD})
        check(st == 201 and doc["check_in"]["seq"] == 2, f"grade with its cycle: {st} {doc}")
        st, _, doc = post(api, "old-kr", {"grade": 0.8, "cycle": "2001-Q1"})
        check(st == 404 and doc["error"] == "not_found", f"a cycle with no archive: {st} {doc}")
        st, _, doc = post(api, "dau-up", {"grade": 0.8, "cycle": OLD})
        check(st == 404, f"another cycle of a running key result: {st} {doc}")
        # A comment after the end is fine; it belongs to the cycle.
        st, _, doc = post(api, "old-kr", {"comment": "retro notes"})
        check(st == 201 and doc["check_in"]["cycle_start"] == OLD["start"], f"{st} {doc}")
        ins = listed(api, "old-kr")
        check([c["seq"] for c in ins] == [3, 2, 1], f"old-kr's check-ins newest first: {ins}")
        # until: a date is the midnight that ends it; the cycle's last day is e.
        day = (TODAY + datetime.timedelta(days=3)).isoformat()
        st, _, doc = post(api, "deals", {"status": "on_track", "until": day})
        want = (TODAY + datetime.timedelta(days=4)).isoformat() + "T00:00:00Z"
        check(st == 201 and doc["check_in"]["until"] == want, f"until {day}: {st} {doc}")
        st, _, doc = post(api, "deals", {"status": "on_track", "until": CUR["end"]})
        e = (datetime.date.fromisoformat(CUR["end"]) + datetime.timedelta(days=1)).isoformat()
        check(st == 201 and doc["check_in"]["until"] == e + "T00:00:00Z", f"until e: {doc}")
        st, _, doc = post(api, "deals", {"status": "at_risk"})
        at = datetime.datetime.fromisoformat(doc["check_in"]["at"].replace("Z", "+00:00"))
        until = datetime.datetime.fromisoformat(doc["check_in"]["until"].replace("Z", "+00:00"))
        check(st == 201 and until - at == datetime.timedelta(days=14),
              f"the default until is at + 14d: {doc['check_in']}")
    finally:
        stop(d)


def test_parallel_posts_get_consecutive_seq(args, wd):
    d, api, _, _ = start(args, wd)
    try:
        results, errors = [], []

        def one(i):
            try:
                st, _, doc = post(api, "dau-up", {"confidence": i % 11, "comment": f"post {i}"},
                                  token="alice" if i % 2 else "bob")
                results.append((st, doc))
            except Exception as e:  # reported below, with the others
                errors.append(e)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        check(not errors, f"requests failed: {errors}")
        check(len(results) == 20 and all(st == 201 for st, _ in results),
              f"every post stored: {[st for st, _ in results]}")
        cis = sorted((doc["check_in"] for _, doc in results), key=lambda c: c["seq"])
        check([c["seq"] for c in cis] == list(range(1, 21)), f"seq 1..20: {[c['seq'] for c in cis]}")
        ats = [c["at"] for c in cis]
        check(ats == sorted(ats), f"at never decreases with seq: {ats}")
        check(len({c["id"] for c in cis}) == 20, "ids are unique")
        ins = listed(api, "dau-up")
        check([c["seq"] for c in ins] == list(range(20, 0, -1)), f"GET newest first: "
              f"{[c['seq'] for c in ins]}")
        check(ins[0] == cis[-1], f"GET returns what the 201 said: {ins[0]} vs {cis[-1]}")
    finally:
        stop(d)


def test_value_override_and_listing(args, wd):
    d, api, cfg, _ = start(args, wd)
    try:
        # 1001 of 1000 -> 1200 two thirds into the cycle: off track by the data.
        st, _, doc = post(api, "dau-up", {"value": 1001, "status": "on_track", "confidence": 7,
                                          "comment": "<!channel> we have a plan"})
        check(st == 201, f"{st} {doc}")
        ci, kr = doc["check_in"], doc["key_result"]
        check(kr["id"] == "dau-up" and kr["value"] == 1001, f"the value moved the key result: {kr}")
        check(kr["status"] == "on_track" and kr["computed_status"] == "off_track",
              f"override: status {kr['status']}, computed {kr['computed_status']}")
        check(kr["check_in"]["id"] == ci["id"] and kr["check_in"]["override_until"] == ci["until"],
              f"the key result carries the check-in and its override: {kr['check_in']}")
        check(ci["value"] == 1001 and ci["confidence"] == 7 and ci["author"] == "alice"
              and ci["comment"] == "<!channel> we have a plan", f"{ci}")
        r = run(args.okrd, "export", "-c", cfg, "--metric", "dau")
        check(r.returncode == 0 and f"dau,{ci['at']},1001\n" in r.stdout,
              f"the value is a point stamped at: {r.stdout!r} {r.stderr}")
        # The API's key result follows once the evaluation it triggered ran.
        api.wait_for("/api/v1/key-results/dau-up",
                     lambda k: k["status"] == "on_track" and k["computed_status"] == "off_track",
                     "the override in GET /api/v1/key-results/dau-up")
        # A later check-in without status ends the override.
        st, _, doc = post(api, "dau-up", {"comment": "no override"})
        kr = doc["key_result"]
        check(st == 201 and kr["status"] == "off_track" == kr["computed_status"]
              and kr["check_in"]["override_until"] is None and kr["check_in"]["seq"] == 2,
              f"override ended: {kr}")
        # A manual key result moves by check-in values alone.
        st, _, doc = post(api, "deals", {"value": 4})
        check(st == 201 and doc["key_result"]["value"] == 4
              and doc["key_result"]["progress"] == 0.4, f"deals: {doc}")
        # GET: the current cycle's by default; ?from=&to= by time.
        ins = listed(api, "dau-up")
        check([c["seq"] for c in ins] == [2, 1], f"newest first: {ins}")
        check(listed(api, "dau-up", f"?from={TODAY + datetime.timedelta(days=1)}") == [],
              "?from= tomorrow: none")
        got = listed(api, "dau-up", f"?from={TODAY}&to={TODAY + datetime.timedelta(days=1)}")
        check([c["seq"] for c in got] == [2, 1], f"today's: {got}")
        check(listed(api, "old-kr") == [], "another key result's list is its own")
        st, _, _ = api.get(PATH.format("dau-up") + "?from=yesterday")
        check(st == 400, f"a bad ?from=: {st}")
        st, _, _ = api.get(PATH.format("nope"))
        check(st == 404, f"GET an unknown key result: {st}")
    finally:
        stop(d)


def cli(args, cfg, *argv, env=None):
    e = {"OKRD_TOKEN": ""}
    e.update(env or {})
    return run(args.okrd, "checkin", "-c", cfg, *argv, env=e)


def test_cli(args, wd):
    d, api, cfg, _ = start(args, wd)
    try:
        r = cli(args, cfg, "dau-up", "--value", "1001", "--status", "on_track", "--comment",
                "from the CLI", env={"OKRD_TOKEN": TOKENS["alice"]})
        check(r.returncode == 0 and r.stdout == "dau-up: on_track (computed: off_track)\n",
              f"override: {r.returncode} {r.stdout!r} {r.stderr!r}")
        tok = wd.file("tok", TOKENS["bob"] + "\n") or os.path.join(wd.path, "tok")
        r = cli(args, cfg, "dau-up", "--confidence", "3", "--token-file", tok)
        check(r.returncode == 0 and r.stdout == "dau-up: off_track\n",
              f"token file, no override: {r.returncode} {r.stdout!r} {r.stderr!r}")
        ins = listed(api, "dau-up")
        check([(c["seq"], c["author"]) for c in ins] == [(2, "bob"), (1, "alice")]
              and ins[1]["comment"] == "from the CLI" and ins[0]["confidence"] == 3, f"{ins}")
        # --token-file wins over $OKRD_TOKEN; only ONE newline is dropped.
        r = cli(args, cfg, "deals", "--comment", "x", "--token-file", tok,
                env={"OKRD_TOKEN": "wrong"})
        check(r.returncode == 0, f"--token-file over the env: {r.stderr}")
        two = wd.file("tok2", TOKENS["bob"] + "\n\n") or os.path.join(wd.path, "tok2")
        r = cli(args, cfg, "deals", "--comment", "x", "--token-file", two)
        check(r.returncode == 1, f"a token with a newline left: {r.returncode} {r.stderr}")
        # Refusals: exit 1 with the daemon's detail.
        r = cli(args, cfg, "dau-up", "--grade", "0.5", env={"OKRD_TOKEN": TOKENS["alice"]})
        check(r.returncode == 1 and "grade is for a cycle that has ended" in r.stderr
              and r.stdout == "", f"409: {r.returncode} {r.stderr!r}")
        r = cli(args, cfg, "dau-up", "--confidence", "12", env={"OKRD_TOKEN": TOKENS["alice"]})
        check(r.returncode == 1 and "confidence" in r.stderr, f"400: {r.stderr!r}")
        r = cli(args, cfg, "nope", "--confidence", "1", env={"OKRD_TOKEN": TOKENS["alice"]})
        check(r.returncode == 1 and "nope" in r.stderr, f"404: {r.stderr!r}")
        r = cli(args, cfg, "dau-up", "--confidence", "1", env={"OKRD_TOKEN": "bad"})
        check(r.returncode == 1 and "401" in r.stderr, f"401: {r.returncode} {r.stderr!r}")
        r = cli(args, cfg, "dau-up", "--confidence", "1")
        check(r.returncode == 1 and "401" in r.stderr, f"no token: {r.returncode} {r.stderr!r}")
        r = cli(args, cfg, "dau-up", "--confidence", "1", env={"OKRD_TOKEN": TOKENS["reader"]})
        check(r.returncode == 1 and "403" in r.stderr, f"403: {r.returncode} {r.stderr!r}")
        # Usage: exit 2, nothing posted.
        for argv in ((), ("dau-up",), ("dau-up", "--until", "2030-01-01", "--comment", "x"),
                     ("dau-up", "--cycle", "2026-Q3", "--comment", "x"),
                     ("dau-up", "--confidence", "six"), ("dau-up", "extra", "--confidence", "1"),
                     ("dau-up", "--bogus")):
            r = cli(args, cfg, *argv, env={"OKRD_TOKEN": TOKENS["alice"]})
            check(r.returncode == 2, f"usage {argv}: {r.returncode} {r.stderr!r}")
        check(len(listed(api, "dau-up")) == 2, "refused and bad commands posted nothing")
    finally:
        stop(d)
    # No daemon answers: exit 3.
    r = cli(args, cfg, "dau-up", "--confidence", "1", env={"OKRD_TOKEN": TOKENS["alice"]})
    check(r.returncode == 3 and "no daemon answers" in r.stderr, f"stopped: {r.returncode} "
          f"{r.stderr!r}")


def test_cli_over_a_unix_socket(args, wd):
    sock = os.path.join(wd.path, "api.sock")
    cfg = config(wd, f"unix:{sock}")
    d = Daemon(args.okrd, cfg)
    try:
        d.wait_log("event=api_listening")
        r = cli(args, cfg, "deals", "--value", "2", "--confidence", "5",
                env={"OKRD_TOKEN": TOKENS["alice"]})
        check(r.returncode == 0 and r.stdout.startswith("deals: "),
              f"unix socket: {r.returncode} {r.stdout!r} {r.stderr!r}")
        api = Api(unix=sock)
        ins = api.json(PATH.format("deals"))["check_ins"]
        check(len(ins) == 1 and ins[0]["value"] == 2, f"{ins}")
        st, _, doc = early(api, "deals", token=None)
        check(st == 401, f"a POST on a unix socket needs a token too: {st} {doc}")
        for tok in ("wrong", TOKENS["reader"]):
            r = cli(args, cfg, "deals", "--confidence", "5", env={"OKRD_TOKEN": tok})
            check(r.returncode == 1 and "refused" in r.stderr,
                  f"a refusal over the socket: {r.returncode} {r.stderr!r}")
    finally:
        stop(d)
    r = cli(args, cfg, "deals", "--confidence", "1", env={"OKRD_TOKEN": TOKENS["alice"]})
    check(r.returncode == 3, f"no socket: {r.returncode} {r.stderr!r}")


if __name__ == "__main__":
    main([test_who_may_post, test_bad_bodies_are_400_and_store_nothing, test_cycle_ended_or_not,
          test_parallel_posts_get_consecutive_seq, test_value_override_and_listing, test_cli,
          test_cli_over_a_unix_socket])
