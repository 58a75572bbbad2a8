"""Who may call what, against the real daemon (DESIGN section 8, "Tokens and
scopes" and "Browsers"): scoped tokens from daemon.api_tokens on a loopback
and a non-loopback listener (exact status codes, WWW-Authenticate on 401),
403 when no token has the scope, 421 for a foreign Host on a loopback
listener on every endpoint, no CORS headers anywhere, a reload that swaps
the tokens, and a non-loopback listen without any token refused by both
`okrd check` and `okrd run` (exit 1). Owners show in the key-result object."""
import json
import os
import signal

from apitest import Api, config, find_kr, free_port, start, this_quarter
from okrdtest import check, main, run

VIEWER, CI, PEOPLE = "viewer-t0ken", "ci-t0ken", "people-t0ken"
TOKENS = [{"name": "viewer", "token": VIEWER, "scopes": ["read"]},
          {"name": "ci", "token": CI, "scopes": ["push"]},
          {"name": "people", "token": "${env:OKRD_T_PEOPLE}", "scopes": ["checkin", "read"]}]
ENV = {"OKRD_T_PEOPLE": PEOPLE}


def scoped_config(wd, listen, tokens=TOKENS, api_token=None):
    path, krs = config(wd, listen, token=api_token)
    c = json.load(open(path))
    if tokens is not None:
        c["daemon"]["api_tokens"] = tokens
    # an owner of its own on one key result; the others inherit "growth & co"
    c["objectives"][1]["key_results"][1]["owner"] = "<@U024BE7LH>"
    return wd.config(c), krs


def start_env(okrd, cfg):
    os.environ.update(ENV)  # the daemon inherits it (Daemon passes os.environ)
    return start(okrd, cfg)


def push(api, token, host=None):
    h = {"Content-Type": "application/json"}
    if token:
        h["Authorization"] = f"Bearer {token}"
    if host:
        h["Host"] = host
    _, start_day, _ = this_quarter()
    body = json.dumps([{"metric": "dau", "timestamp": start_day.isoformat(), "value": 1000}])
    status, headers, data = api.request("POST", "/api/v1/points", body=body.encode(), headers=h)
    return status, headers, json.loads(data) if data else None


def no_cors(headers, what):
    check(not [k for k in headers if k.startswith("access-control-")],
          f"{what}: no CORS headers: {headers}")


def test_scoped_tokens_on_loopback(args, wd):
    port = free_port()
    cfg, krs = scoped_config(wd, f"127.0.0.1:{port}")
    d = start_env(args.okrd, cfg)
    api = Api(port=port)
    try:
        doc = api.wait_ready()
        check(find_kr(doc, "dau-up")["owner"] == "growth & co", "owner defaults to the objective's")
        check(find_kr(doc, "reviews")["owner"] == "<@U024BE7LH>", "a key result's own owner")
        check(find_kr(doc, "nothing")["owner"] is None, "no owner: null")

        # reads on loopback are exempt: any token (even a wrong one) ignored
        for tok in (None, "wrong", CI):
            status, h, _ = api.get("/api/v1/objectives", token=tok)
            check(status == 200, f"loopback read with {tok}: {status}")

        # push: 401 missing, 401 unknown, 403 without the scope, 200 with it
        status, h, e = push(api, None)
        check(status == 401 and h.get("www-authenticate", "").startswith("Bearer") and
              e["error"] == "no_token" and set(e) == {"error", "detail"}, f"no token: {status} {h} {e}")
        status, h, e = push(api, "wrong-token")
        check(status == 401 and h.get("www-authenticate", "").startswith("Bearer") and
              e["error"] == "bad_token", f"wrong token: {status} {h} {e}")
        status, h, e = push(api, VIEWER)
        check(status == 403 and e["error"] == "forbidden" and "viewer" in e["detail"] and
              "push" in e["detail"] and "www-authenticate" not in h, f"read token pushing: {status} {e}")
        status, h, e = push(api, PEOPLE)
        check(status == 403 and e["error"] == "forbidden", f"checkin token pushing: {status} {e}")
        status, h, e = push(api, CI)
        check(status == 200 and e == {"stored": 1}, f"push token: {status} {e}")
        no_cors(h, "push")
        for secret in (VIEWER, CI, PEOPLE):
            check(secret not in d.log(), "no token value in the log")
        d.stop()
    finally:
        d.kill()


def test_no_token_has_the_scope(args, wd):
    port = free_port()
    cfg, _ = scoped_config(wd, f"127.0.0.1:{port}", tokens=[TOKENS[0]])
    d = start_env(args.okrd, cfg)
    api = Api(port=port)
    try:
        api.wait_ready()
        for tok in (None, "wrong", VIEWER):
            status, h, e = push(api, tok)
            check(status == 403 and e["error"] == "push_disabled" and "push" in e["detail"] and
                  "www-authenticate" not in h, f"no push-scoped token configured, sent {tok}: {status} {e}")
        d.stop()
    finally:
        d.kill()


def test_foreign_host_is_misdirected(args, wd):
    port = free_port()
    cfg, _ = scoped_config(wd, f"127.0.0.1:{port}")
    d = start_env(args.okrd, cfg)
    api = Api(port=port)
    try:
        api.wait_ready()
        # DNS rebinding: the browser names the attacker's host
        for method, path in (("GET", "/healthz"), ("GET", "/"), ("GET", "/api/v1/objectives"),
                             ("GET", "/metrics"), ("GET", "/api/v1/key-results/dau-up"),
                             ("GET", "/no/such/path"), ("DELETE", "/api/v1/objectives")):
            for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example",
                         "localhost.evil.example"):
                status, h, body = api.request(method, path, headers={"Host": host})
                check(status == 421 and json.loads(body)["error"] == "misdirected_request",
                      f"{method} {path} Host {host}: {status} {body[:200]!r}")
                no_cors(h, f"421 for {path}")
        status, _, e = push(api, CI, host="evil.example")
        check(status == 421 and e["error"] == "misdirected_request", f"a push via a foreign Host: {status}")
        # loopback names, with or without a port, in any case
        for host in ("localhost", f"localhost:{port}", f"LOCALHOST:{port}", f"127.0.0.1:{port}",
                     f"[::1]:{port}"):
            status, _, _ = api.request("GET", "/healthz", headers={"Host": host})
            check(status == 200, f"Host {host}: {status}")
        status, _, e = push(api, CI, host=f"localhost:{port}")
        check(status == 200, f"a push via localhost: {status} {e}")
        d.stop()
    finally:
        d.kill()


def test_no_cors_anywhere(args, wd):
    port = free_port()
    cfg, _ = scoped_config(wd, f"127.0.0.1:{port}")
    d = start_env(args.okrd, cfg)
    api = Api(port=port)
    try:
        api.wait_ready()
        origin = {"Origin": "https://evil.example"}
        for method, path in (("GET", "/"), ("GET", "/api/v1/objectives"), ("GET", "/metrics"),
                             ("GET", "/healthz"), ("GET", "/api/v1/deliveries"), ("GET", "/nope"),
                             ("OPTIONS", "/api/v1/points"), ("OPTIONS", "/api/v1/objectives")):
            status, h, _ = api.request(method, path, headers=dict(origin, **{
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization"}))
            no_cors(h, f"{method} {path} ({status})")
            if method == "OPTIONS":
                check(status == 405, f"a preflight is just a wrong method: {status}")
        d.stop()
    finally:
        d.kill()


def test_non_loopback_listener(args, wd):
    port = free_port()
    # api_tokens alone (no api_token) are enough to listen beyond loopback
    cfg, _ = scoped_config(wd, f"0.0.0.0:{port}")
    d = start_env(args.okrd, cfg)
    api = Api(port=port)
    try:
        check(api.get("/healthz")[0] == 200, "/healthz needs no token")
        api.wait_ready(token=VIEWER)
        # the dashboard page: served without a token (or with any), no data in it
        for tok in (None, "wrong", CI):
            for page_path in ("/", "/retro"):
                status, _, page = api.get(page_path, token=tok)
                check(status == 200 and b"dau-up" not in page,
                      f"{page_path} with token {tok}: {status}")
        for path in ("/api/v1/objectives", "/metrics"):
            status, h, body = api.get(path)
            check(status == 401 and h.get("www-authenticate", "").startswith("Bearer"),
                  f"{path} without a token: {status}")
            check(api.get(path, token="wrong")[0] == 401, f"{path} with a wrong token")
            status, _, body = api.get(path, token=CI)
            check(status == 403 and json.loads(body)["error"] == "forbidden",
                  f"{path} with a push-only token: {status} {body[:200]!r}")
            check(api.get(path, token=VIEWER)[0] == 200, f"{path} with the read token")
            check(api.get(path, token=PEOPLE)[0] == 200, f"{path} with a read+checkin token")
        # the Host rule is for loopback listeners only
        status, _, _ = api.request("GET", "/api/v1/objectives",
                                   headers={"Host": "okrd.example", "Authorization": f"Bearer {VIEWER}"})
        check(status == 200, f"non-loopback listener, any Host: {status}")
        status, _, e = push(api, CI)
        check(status == 200, f"push token: {status} {e}")
        status, _, e = push(api, VIEWER)
        check(status == 403, f"read token pushing: {status} {e}")
        d.stop()
    finally:
        d.kill()

    # a non-loopback listener whose tokens have no read scope: 403 for reads
    cfg, _ = scoped_config(wd, f"0.0.0.0:{port}", tokens=[TOKENS[1]])
    d = start_env(args.okrd, cfg)
    try:
        status, _, body = api.get("/api/v1/objectives", token=CI)
        check(status == 403 and json.loads(body)["error"] == "read_disabled",
              f"no token has read: {status} {body[:200]!r}")
        check(api.get("/api/v1/objectives")[0] == 403, "...whatever is sent")
        d.stop()
    finally:
        d.kill()


def test_reload_swaps_tokens(args, wd):
    port = free_port()
    cfg, _ = scoped_config(wd, f"127.0.0.1:{port}")
    d = start_env(args.okrd, cfg)
    api = Api(port=port)
    try:
        api.wait_ready()
        check(push(api, CI)[0] == 200, "the push token before the reload")
        c = json.load(open(cfg))
        c["daemon"]["api_tokens"] = [{"name": "ci2", "token": "new-ci-t0ken", "scopes": ["push"]}]
        with open(cfg, "w") as f:
            json.dump(c, f)
        d.signal(signal.SIGHUP)
        d.wait_log("event=reloaded")
        status, _, e = push(api, CI)
        check(status == 401 and e["error"] == "bad_token", f"the old token after the reload: {status}")
        check(push(api, "new-ci-t0ken")[0] == 200, "the new token after the reload")
        d.stop()
    finally:
        d.kill()


def test_refuses_to_start_without_a_token(args, wd):
    for listen in (f"0.0.0.0:{free_port()}", f"[::]:{free_port()}", f"okrd.example:{free_port()}"):
        cfg, _ = scoped_config(wd, listen, tokens=None)
        for cmd in ("check", "run"):
            r = run(args.okrd, cmd, "-c", cfg)
            check(r.returncode == 1 and "daemon.listen" in r.stderr and "not a loopback" in r.stderr
                  and "api_tokens" in r.stderr, f"okrd {cmd} with listen {listen}: {r.returncode} {r.stderr}")
    # with an api_tokens entry it passes the check
    cfg, _ = scoped_config(wd, f"0.0.0.0:{free_port()}")
    r = run(args.okrd, "check", "-c", cfg, env=ENV)
    check(r.returncode == 0, f"okrd check with a token: {r.returncode} {r.stderr}")


if __name__ == "__main__":
    main([test_scoped_tokens_on_loopback, test_no_token_has_the_scope,
          test_foreign_host_is_misdirected, test_no_cors_anywhere, test_non_loopback_listener,
          test_reload_swaps_tokens, test_refuses_to_start_without_a_token])
