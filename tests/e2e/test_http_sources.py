"""The http_json and prometheus sources against a local server: every preset
in examples/sources/ ingests its recorded response exactly; the failure matrix
(missing pointer, invalid JSON, 500, 429 + Retry-After, a response that never
completes, an oversized body, a slow drip, a connection reset) is logged once
per change of state without URLs, backs off, and never stops the healthy
source beside it; a reload starts, stops and keeps sources as it should."""
import json
import os
import shutil
import signal

from httpfixture import (Fixture, body, by_request, drip, hang, oversized, recorded, reset,
                         status)
from okrdtest import Daemon, check, main, run

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                        "sources")


def daemon_config(wd, sources=None, level="info"):
    cfg = {"daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": "",
                      "log_level": level}}
    if sources is not None:
        cfg["sources"] = sources
    return wd.config(cfg)


def export(okrd, cfg, env=None):
    r = run(okrd, "export", "-c", cfg, "--json", env=env)
    check(r.returncode == 0, f"export: {r.stderr}")
    return [(p["metric"], p["timestamp"], p["value"]) for p in json.loads(r.stdout)]


@by_request
def prometheus_api(req):
    q = req["query"].get("query", [""])[0]
    if q.startswith("histogram_quantile"):
        return body(recorded("prometheus_p95.json"))
    return body(recorded("prometheus_error_rate.json"))


PRESET_ROUTES = {
    "/plausible/api/v1/stats/aggregate": body(recorded("plausible_v1_aggregate.json")),
    "/plausible/api/v1/stats/timeseries": body(recorded("plausible_v1_timeseries.json")),
    "/plausible/api/v2/query": body(recorded("plausible_v2_query.json")),
    "/ga4/v1beta/properties/123456789:runReport": body(recorded("ga4_run_report.json")),
    "/posthog/api/projects/12345/query/": body(recorded("posthog_hogql.json")),
    "/mixpanel/api/query/insights": body(recorded("mixpanel_insights.json")),
    "/datadog/api/v1/query": body(recorded("datadog_query.json")),
    "/prom/api/v1/query": prometheus_api,
}

# What each recorded response must become (timestamps in UTC).
EXPECTED = sorted([
    ("bounce_rate_30d", None, 51.2), ("visitors_30d", None, 12893),
    ("visitors", "2026-11-19T00:00:00Z", 402), ("visitors", "2026-11-20T00:00:00Z", 388),
    ("visitors", "2026-11-22T00:00:00Z", 455),
    ("pageviews", "2026-11-19T00:00:00Z", 1310), ("pageviews", "2026-11-20T00:00:00Z", 1255),
    ("pageviews", "2026-11-22T00:00:00Z", 1498),
    ("visitors_v2", "2026-11-20T00:00:00Z", 402), ("visitors_v2", "2026-11-21T00:00:00Z", 455),
    ("visits_v2", "2026-11-20T00:00:00Z", 512), ("visits_v2", "2026-11-21T00:00:00Z", 590),
    ("ga4_active_users", "2026-11-21T00:00:00Z", 1523),
    ("ga4_active_users", "2026-11-22T00:00:00Z", 1488),
    ("ga4_engagement_rate", "2026-11-21T00:00:00Z", 0.6134),
    ("ga4_engagement_rate", "2026-11-22T00:00:00Z", 0.5987),
    ("signups", "2026-11-20T00:00:00Z", 51), ("signups", "2026-11-21T00:00:00Z", 47),
    ("signups", "2026-11-22T00:00:00Z", 63),
    ("logins", "2026-11-20T08:00:00Z", 9852), ("logins", "2026-11-21T08:00:00Z", 10124),
    ("logins", "2026-11-22T08:00:00Z", 9630),
    ("web_p95_seconds", "2026-11-20T00:00:00Z", 0.412),
    ("web_p95_seconds", "2026-11-21T00:00:00Z", 0.398),
    ("p95_latency_ms", "2026-11-22T18:00:00Z", 182.5),
    ("error_rate", "2026-11-22T18:00:00Z", 0.0125),
], key=lambda p: (p[0], p[1] or ""))

PRESET_SOURCES = ["plausible-aggregate", "plausible-timeseries", "plausible-v2", "ga4",
                  "posthog", "mixpanel", "datadog", "prom"]


def test_presets(args, wd):
    """Each example config, as a conf.d drop-in, against its recorded response."""
    with Fixture(PRESET_ROUTES) as f:
        env = {"PLAUSIBLE_URL": f.url("/plausible"), "PLAUSIBLE_TOKEN": "tok-plausible",
               "GA4_URL": f.url("/ga4"), "GA4_TOKEN": "tok-ga4",
               "POSTHOG_URL": f.url("/posthog"), "POSTHOG_TOKEN": "tok-posthog",
               "MIXPANEL_URL": f.url("/mixpanel"), "MIXPANEL_BASIC": "dTpw",
               "DATADOG_URL": f.url("/datadog"), "DD_API_KEY": "k1", "DD_APP_KEY": "k2",
               "PROMETHEUS_URL": f.url("/prom/"), "PROMETHEUS_PASSWORD": "pw"}
        os.makedirs(os.path.join(wd.path, "conf.d"))
        for name in sorted(os.listdir(EXAMPLES)):
            if name.endswith(".json"):
                src = os.path.join(EXAMPLES, name)
                r = run(args.okrd, "check", "-c", src, env=env)
                check(r.returncode == 0, f"okrd check {name}: {r.stdout}{r.stderr}")
                shutil.copy(src, os.path.join(wd.path, "conf.d", name))
        cfg = daemon_config(wd)
        d = Daemon(args.okrd, cfg, env=env)
        try:
            for sid in PRESET_SOURCES:
                d.wait_log(["event=poll_ok", f"source={sid}"])
                d.seen = 0  # sources finish in any order
            check("poll_failed" not in d.log(), f"no failures:\n{d.log()}")
            code, _ = d.stop()
            check(code == 0, f"exit 0:\n{d.log()}")
        finally:
            d.kill()
        got = export(args.okrd, cfg)
        got_cmp = sorted(((m, None if m.endswith("_30d") else ts, v) for m, ts, v in got),
                         key=lambda p: (p[0], p[1] or ""))
        check(got_cmp == EXPECTED, "stored points:\n" + "\n".join(map(str, got_cmp)))
        # What okrd sent: methods, bodies, headers with the resolved secrets.
        ga4 = f.requests("/ga4/v1beta/properties/123456789:runReport")[0]
        check(ga4["method"] == "POST" and ga4["headers"].get("Authorization") == "Bearer tok-ga4",
              f"GA4 request: {ga4['method']} {ga4['headers']}")
        check(json.loads(ga4["body"])["dimensions"] == [{"name": "date"}], "GA4 body verbatim")
        check(ga4["headers"].get("Content-Type") == "application/json", "Content-Type from headers")
        prom = f.requests("/prom/api/v1/query")
        check(len(prom) >= 2, "one request per query")
        check(prom[0]["headers"].get("Authorization") == "Basic b2tyZDpwdw==",
              f"basic_auth okrd:pw: {prom[0]['headers']}")
        check(f.requests("/plausible/api/v1/stats/aggregate")[0]["query"]["metrics"] ==
              ["visitors,bounce_rate"], "query string kept")


SECRET = "k3y-SECRET-123"


def test_failure_matrix(args, wd):
    """Each failure is logged once when it starts (and once more when the source
    counts as failing), with the source id and reason and no URL; backoff and
    Retry-After spread the retries; the healthy source keeps its schedule."""
    routes = {
        "/good": body({"data": {"dau": "1040.5"}}),      # a numeric string
        "/missing": body({"data": {}}),
        "/invalid": body("{\"data\": ", content_type="application/json"),
        "/500": status(500),
        "/429": status(429, {"Retry-After": "3"}),
        "/hang": hang,
        "/big": oversized(2_000_000),
        "/drip": drip(json.dumps({"data": {"dau": 1}}) + " " * 40, 0.1),
        "/reset": reset,
        "/nonnum": body({"data": {"dau": "n/a"}}),
    }
    with Fixture(routes) as f:
        def src(sid, path, metric="x"):
            return {"id": sid, "type": "http_json", "interval": "1s", "timeout": "1s",
                    "max_bytes": 65536, "url": f.url(path) + "?key=" + SECRET,
                    "headers": {"X-Api-Key": SECRET},
                    "extract": [{"metric": metric, "value": "/data/dau"}]}
        names = {"missing": "no key", "invalid": "invalid JSON", "500": "HTTP 500",
                 "429": "Retry-After 3s", "hang": "timed out", "big": "max_bytes",
                 "drip": "timed out", "reset": "", "nonnum": "not a number"}
        sources = [src("good", "/good", "dau")] + [src(f"bad-{n}", f"/{n}") for n in names]
        cfg = daemon_config(wd, sources)
        d = Daemon(args.okrd, cfg)
        try:
            d.wait_log(["event=poll_ok", "source=good"])
            for n, why in names.items():
                d.seen = 0
                line = d.wait_log(["event=poll_failed", f"source=bad-{n}"])
                check(why in line, f"{n}: reason {why!r} in {line}")
            for n in names:
                d.seen = 0
                d.wait_log(["event=source_failing", f"source=bad-{n}"], deadline=30)
            good = f.requests("/good")
            check(len(good) >= 4, f"the good source kept polling: {len(good)} polls")
            check(d.alive(), "okrd is alive")
            log = d.log()
            check(SECRET not in log, "no URL or header value in the log")
            for n in names:
                lines = [l for l in log.splitlines() if f"source=bad-{n} " in l + " "
                         and ("poll_failed" in l or "source_failing" in l)]
                check(len(lines) == 2, f"{n}: one line per change of state, got:\n" +
                      "\n".join(lines))
            # Backoff: intervals grow 1s, 2s, 4s...; Retry-After 3s is honoured.
            t429 = [r["at"] for r in f.requests("/429")]
            gaps = [b - a for a, b in zip(t429, t429[1:])]
            check(gaps and min(gaps) >= 2.8, f"Retry-After 3 honoured: gaps {gaps}")
            t500 = [r["at"] for r in f.requests("/500")]
            g500 = [b - a for a, b in zip(t500, t500[1:])]
            check(len(g500) >= 2 and g500[1] > g500[0] * 1.5, f"backoff grows: {g500}")
            code, _ = d.stop()
            check(code == 0, "exit 0")
        finally:
            d.kill()
        pts = export(args.okrd, cfg)
        check(pts and all(p[0] == "dau" and p[2] == 1040.5 for p in pts),
              f"only the good source's points: {pts[:5]}")


def test_reload(args, wd):
    """SIGHUP: an added source starts, a removed one stops, an unchanged one
    keeps running (one poll_ok line: it was not restarted)."""
    with Fixture({"/a": body({"v": 1}), "/b": body({"v": 2}), "/c": body({"v": 3})}) as f:
        def src(sid):
            return {"id": sid, "type": "http_json", "interval": "1s",
                    "url": f.url("/" + sid), "extract": [{"metric": sid, "value": "/v"}]}
        cfg = daemon_config(wd, [src("a"), src("b")])
        d = Daemon(args.okrd, cfg)
        try:
            d.wait_log(["event=poll_ok", "source=a"])
            d.seen = 0
            d.wait_log(["event=poll_ok", "source=b"])
            daemon_config(wd, [src("a"), src("c")])
            d.signal(signal.SIGHUP)
            d.wait_log(["event=poll_ok", "source=c"])
            n_b = len(f.requests("/b"))
            n_a = len(f.requests("/a"))
            f.wait_requests("/a", n_a + 2)
            check(len(f.requests("/b")) <= n_b + 1, "the removed source stopped polling")
            check(d.log().count("event=poll_ok source=a") == 1, "a was not restarted:\n" + d.log())
            code, _ = d.stop()
            check(code == 0, "exit 0")
        finally:
            d.kill()


if __name__ == "__main__":
    main([test_presets, test_failure_matrix, test_reload])
