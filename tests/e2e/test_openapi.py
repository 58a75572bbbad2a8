"""docs/openapi.yaml (DESIGN section 6): CI lints it with the npm
@redocly/cli (redocly.yaml: the recommended rules, every warning an error),
and every answer the end-to-end tests receive through apitest.Api is
validated against it (okrdtest.validate_answer -> openapi_validate.js, ajv 8
with JSON Schema 2020-12). Here: the lint passes and fails when it should,
the validator rejects answers and documents that are wrong, and a live walk
gets a validated 2xx from every documented operation. Without node or the
npm packages these tests FAIL: scripts/test installs them."""
import json
import os

from apitest import Api, config, free_port, history_csv, start
from okrdtest import (OPENAPI, REPO, OpenApiValidator, TestFailure, check, main, redocly, run)


def lint(path, cwd=REPO):
    return redocly("lint", "--config", os.path.join(REPO, "redocly.yaml"), path, cwd=cwd)


def test_lint(args, wd):
    r = lint(OPENAPI)
    check(r.returncode == 0, f"redocly lint docs/openapi.yaml failed:\n{r.stdout}{r.stderr}")


def test_lint_rejects_a_broken_document(args, wd):
    text = open(OPENAPI).read()
    # One operation without any 4xx answer (a warning in "recommended",
    # an error in "recommended-strict"), one dangling $ref.
    healthz_errors = ('        "421":\n          $ref: "#/components/responses/Misdirected"\n'
                      '        "503":\n          $ref: "#/components/responses/Unavailable"\n'
                      '  /metrics:\n')
    check(healthz_errors in text, "the /healthz responses as this test expects them")
    broken = text.replace(healthz_errors, "  /metrics:\n", 1)
    r = lint(wd.file("no4xx.yaml", broken), cwd=wd.path)
    check(r.returncode != 0 and "operation-4xx-response" in r.stdout + r.stderr,
          f"an operation without a 4xx answer is a lint error:\n{r.stdout}{r.stderr}")
    broken = text.replace('$ref: "#/components/schemas/Stored"', '$ref: "#/components/schemas/Stord"')
    r = lint(wd.file("dangling.yaml", broken), cwd=wd.path)
    check(r.returncode != 0 and "no-unresolved-refs" in r.stdout + r.stderr,
          f"a dangling $ref is a lint error:\n{r.stdout}{r.stderr}")


JSON = {"content-type": "application/json"}
KR = {"id": "dau-up", "title": "Increase DAU", "owner": None, "metric": "dau",
      "direction": "increase", "baseline": 1000, "target": 1200, "value": 1040, "progress": 0.2,
      "expected": 0.55, "projected_score": 0.36, "status": "off_track",
      "previous_status": "at_risk", "stale": False,
      "cycle": {"start": "2026-10-01", "end": "2026-12-31"},
      "last_point_at": "2026-11-21T00:00:00Z", "score": None, "computed_status": "off_track",
      "check_in": None,
      "forecast": {"probability": 0.34, "p10": 1105.2, "p50": 1160, "p90": 1214.8, "of": "value"}}
CHECK_IN = {"id": "chk_01JAAAAAAAAAAAAAAAAAAAAAAA", "key_result": "dau-up",
            "cycle_start": "2026-10-01", "seq": 1, "at": "2026-11-21T10:00:00Z", "author": "alice",
            "confidence": 6, "comment": "Two deals slipped", "status": "at_risk",
            "until": "2026-12-05T10:00:00Z", "value": None, "grade": None,
            "override_until": "2026-12-05T10:00:00Z"}
DELIVERY = {"event_id": "evt_01JAAAAAAAAAAAAAAAAAAAAAAA", "type": "kr.off_track",
            "webhook": "growth-slack", "state": "pending", "objective": "engagement",
            "key_result": "dau-up", "attempts": 3, "last_status": 503, "last_error": "HTTP 503",
            "next_attempt_at": "2026-11-22T10:05:00Z", "occurred_at": "2026-11-22T10:00:00Z",
            "created_at": "2026-11-22T10:00:00Z", "delivered_at": None, "orphaned": True}


def with_(d, **changes):
    d = dict(d)
    for k, v in changes.items():
        if v is KeyError:
            d.pop(k)
        else:
            d[k] = v
    return d


def test_validator_rejects_wrong_answers(args, wd):
    v = OpenApiValidator()
    try:
        def ask(method, path, status, body, headers=None):
            h = dict(JSON if headers is None else headers)
            if headers is None and status == 200 and method in ("GET", "HEAD"):
                h["cache-control"] = "no-store"
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            return v.check(method, path, status, h, raw)

        def good(*a, **kw):
            err = ask(*a, **kw)
            check(err is None, f"{a[:3]}: a right answer is refused: {err}")

        def bad(want, *a, **kw):
            err = ask(*a, **kw)
            check(err is not None and want in err, f"{a[:3]}: want an error naming {want!r}, "
                  f"got {err!r}")

        kr = "/api/v1/key-results/dau-up"
        good("GET", kr, 200, KR)
        good("GET", kr, 200, with_(KR, owner=KeyError))  # owner is optional (before h-auth)
        good("GET", kr, 200, with_(KR, owner="<@U024BE7LH>", last_point_at=None, value=1040.5))
        bad("must NOT have additional properties: \"confidence\"", "GET", kr, 200,
            with_(KR, confidence=6))
        good("GET", kr, 200, with_(KR, status="at_risk", check_in=CHECK_IN))
        bad("must have required property 'computed_status'", "GET", kr, 200,
            with_(KR, computed_status=KeyError))
        bad("/check_in/confidence", "GET", kr, 200,
            with_(KR, check_in=with_(CHECK_IN, confidence=11)))
        bad("/check_in", "GET", kr, 200, with_(KR, check_in=with_(CHECK_IN, status="achieved")))
        # DESIGN section 9: the forecast object, or null
        good("GET", kr, 200, with_(KR, forecast=None))
        good("GET", kr, 200, with_(KR, forecast={"probability": 1, "p10": 0.9, "p50": 0.95,
                                                 "p90": 1, "of": "share"}))
        bad("must have required property 'forecast'", "GET", kr, 200, with_(KR, forecast=KeyError))
        bad("/forecast/probability must be <= 1", "GET", kr, 200,
            with_(KR, forecast=dict(KR["forecast"], probability=1.5)))
        bad("/forecast/of must be equal to one of the allowed values", "GET", kr, 200,
            with_(KR, forecast=dict(KR["forecast"], of="days")))
        bad("/forecast must have required property 'p50'", "GET", kr, 200,
            with_(KR, forecast=with_(KR["forecast"], p50=KeyError)))
        series = kr + "/series"
        band = [{"timestamp": "2026-11-21T10:00:00Z", "p10": 1030, "p50": 1040, "p90": 1050.5}]
        good("GET", series, 200, {"points": [], "pace": [], "history": [], "forecast_band": band})
        bad("must have required property 'forecast_band'", "GET", series, 200,
            {"points": [], "pace": [], "history": []})
        bad("/forecast_band/0 must have required property 'p90'", "GET", series, 200,
            {"points": [], "pace": [], "history": [],
             "forecast_band": [with_(band[0], p90=KeyError)]})
        bad("must have required property 'stale'", "GET", kr, 200, with_(KR, stale=KeyError))
        bad("/stale must be boolean", "GET", kr, 200, with_(KR, stale=None))
        bad("/value must be number,null", "GET", kr, 200, with_(KR, value="1040"))
        bad("/status must be equal to one of the allowed values", "GET", kr, 200,
            with_(KR, status="unknown"))
        bad("/last_point_at", "GET", kr, 200, with_(KR, last_point_at="2026-11-21 00:00:00"))
        bad("/cycle/end", "GET", kr, 200, with_(KR, cycle={"start": "2026-10-01", "end": "Q4"}))
        bad("the required header Cache-Control is missing", "GET", kr, 200, KR, headers=JSON)
        bad("Content-Type", "GET", kr, 200, KR, headers={"content-type": "text/plain",
                                                        "cache-control": "no-store"})
        bad("not JSON", "GET", kr, 200, b"{\"id\": ")
        bad("status 418 is not documented", "GET", kr, 418, {"error": "teapot", "detail": "x"})
        good("GET", kr, 404, {"error": "not_found", "detail": "no key result"})
        bad("/error must be equal to constant", "GET", kr, 404, {"error": "missing", "detail": "x"})
        bad("must NOT have additional properties", "GET", kr, 404,
            {"error": "not_found", "detail": "x", "index": 0})
        # An id that is no valid id is an unknown path: 404 only.
        good("GET", "/api/v1/key-results/bad%20id", 404, {"error": "not_found", "detail": "x"})
        bad("not a documented path", "GET", "/api/v1/key-results/bad%20id", 200, KR)

        ok_dl = {"deliveries": [DELIVERY], "orphaned": 1}
        good("GET", "/api/v1/deliveries", 200, ok_dl)
        good("GET", "/api/v1/deliveries", 200, with_(ok_dl, truncated=True))
        bad("must have required property 'orphaned'", "GET", "/api/v1/deliveries", 200,
            {"deliveries": [DELIVERY]})
        bad("/deliveries/0 must have required property 'orphaned'", "GET", "/api/v1/deliveries",
            200, {"deliveries": [with_(DELIVERY, orphaned=KeyError)], "orphaned": 0})
        bad("/deliveries/0/event_id", "GET", "/api/v1/deliveries", 200,
            {"deliveries": [with_(DELIVERY, event_id="01J")], "orphaned": 0})
        bad("/truncated must be equal to constant", "GET", "/api/v1/deliveries", 200,
            with_(ok_dl, truncated=False))

        pts = "/api/v1/points"
        good("POST", pts, 200, {"stored": 3})
        good("POST", pts, 400, {"error": "bad_point", "detail": "point 2: ...", "index": 2})
        good("POST", pts, 400, {"error": "bad_json", "detail": "line 1 column 2"})
        bad("/index must be >= 0", "POST", pts, 400, {"error": "bad_point", "detail": "x",
                                                     "index": -1})
        bad("/stored must be integer", "POST", pts, 200, {"stored": "3"})
        good("POST", pts, 413, {"error": "too_large", "detail": "over 1 MiB"})
        bad("the required header WWW-Authenticate is missing", "POST", pts, 401,
            {"error": "no_token", "detail": "x"})
        good("POST", pts, 401, {"error": "bad_token", "detail": "x"},
             headers=dict(JSON, **{"www-authenticate": 'Bearer realm="okrd"'}))
        good("POST", pts, 403, {"error": "push_disabled", "detail": "x"})
        good("POST", pts, 421, {"error": "misdirected_request", "detail": "x"})

        # What any request may get: 405 with Allow, 404, 421, 503; nothing else.
        good("DELETE", "/healthz", 405, {"error": "method_not_allowed", "detail": "x"},
             headers=dict(JSON, allow="GET, HEAD"))
        bad("a 405 without Allow", "DELETE", "/healthz", 405,
            {"error": "method_not_allowed", "detail": "x"})
        bad("is not documented", "DELETE", "/healthz", 200, {"status": "ok"})
        good("GET", "/nope", 404, {"error": "not_found", "detail": "x"})
        good("GET", "/healthz", 503, {"error": "shutting_down", "detail": "x"})
        bad("/error must be equal to one of the allowed values", "GET", "/healthz", 503,
            {"error": "resting", "detail": "x"})
        # HEAD is GET without a body; text answers are checked by type.
        good("HEAD", "/healthz", 200, b"")
        good("GET", "/metrics", 200, b"okrd_outbox_pending 0\n",
             headers={"content-type": "text/plain; version=0.0.4; charset=utf-8",
                      "cache-control": "no-store"})
        bad("the required header Content-Security-Policy is missing", "GET", "/", 200,
            b"<!doctype html>", headers={"content-type": "text/html; charset=utf-8",
                                         "cache-control": "no-store"})
    finally:
        v.close()


def test_validator_refuses_a_wrong_document(args, wd):
    text = open(OPENAPI).read()
    # A typo in a schema keyword: ajv's strict mode refuses it, rather than
    # silently accepting every answer.
    typo = text.replace("\n      additionalProperties: false", "\n      additionalProperty: false", 1)
    check(typo != text, "the document has additionalProperties")
    try:
        OpenApiValidator(wd.file("typo.yaml", typo)).close()
        raise AssertionError("a schema with an unknown keyword was accepted")
    except TestFailure as e:
        check("additionalProperty" in str(e), f"the refusal names the keyword: {e}")
    # A required property that no property defines.
    bad = text.replace("required: [stored]", "required: [stored, written]", 1)
    check(bad != text, "the document has Stored")
    try:
        OpenApiValidator(wd.file("required.yaml", bad)).close()
        raise AssertionError("a schema requiring an undefined property was accepted")
    except TestFailure as e:
        check("written" in str(e), f"the refusal names the property: {e}")


def test_every_operation_answers_as_documented(args, wd):
    """A live daemon: each documented operation gets a 2xx, and each answer
    goes through Api, hence through the validator."""
    port = free_port()
    cfg, _ = config(wd, f"127.0.0.1:{port}")
    csv = wd.file("h.csv", history_csv())
    c = json.load(open(cfg))
    c["sources"] = [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}]
    os.makedirs(os.path.join(wd.path, "inbox"))
    cfg = wd.config(c)
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", csv)
    check(r.returncode == 0, f"ingest: {r.stderr}")
    bundle = os.path.join(wd.path, "openapi.json")
    r = redocly("bundle", OPENAPI, "--output", bundle)
    check(r.returncode == 0, f"bundle: {r.stdout}{r.stderr}")
    spec = json.load(open(bundle))
    api = Api(port=port)
    d = start(args.okrd, cfg)
    try:
        api.wait_ready()
        seen = set()
        for tpl, item in spec["paths"].items():
            path = tpl.replace("{id}", "dau-up")
            for method in item:
                if method not in ("get", "post"):
                    continue
                if method == "post":
                    status, _, body = api.push([{"metric": "dau", "timestamp": "2026-11-21",
                                                 "value": 1040}])
                else:
                    status, _, body = api.get(path)
                    hstatus, _, hbody = api.request("HEAD", path)
                    check(hstatus == status and hbody == b"", f"HEAD {path}: {hstatus}")
                check(200 <= status < 300, f"{method.upper()} {path}: {status} {body[:300]!r}")
                seen.add((method, tpl))
        today = {("get", "/healthz"), ("get", "/metrics"), ("get", "/api/v1/objectives"),
                 ("get", "/api/v1/key-results/{id}"), ("get", "/api/v1/key-results/{id}/series"),
                 ("get", "/api/v1/deliveries"), ("post", "/api/v1/points"), ("get", "/")}
        check(today <= seen, f"the document keeps every endpoint: missing {today - seen}")
        # With ?state= and ?from=/to= too.
        for q in ("?state=pending", "?state=delivered", "?state=dead", "?state="):
            api.json("/api/v1/deliveries" + q)
        api.json("/api/v1/key-results/dau-up/series?from=2000-01-01&to=2100-01-01")
    finally:
        code, _ = d.stop()
        check(code == 0, f"okrd exit {code}")


if __name__ == "__main__":
    main([test_lint, test_lint_rejects_a_broken_document, test_validator_rejects_wrong_answers,
          test_validator_refuses_a_wrong_document, test_every_operation_answers_as_documented])
