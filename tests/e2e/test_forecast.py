"""The forecast of DESIGN section 9 end to end: `okrd status --json` carries a
"forecast" object for every key result (null where section 9 says so), whose
numbers this test computes on its own from the same series -- the
least-squares line and Student's t through the regularized incomplete beta
function (a continued fraction, not okrd's closed form), the Binomial sums in
exact rationals -- then the `likely` column and the "(computed: X)" and
"graded 0.70 by alice" notes of the `okrd status` table, and the
okrd_kr_forecast_probability gauge of /metrics from the running daemon."""
import datetime
import json
import math
import os
import re
from fractions import Fraction

from apitest import Api, free_port
from okrdtest import Daemon, check, main, run

T_AT = "2026-11-15T23:59:59Z"          # the last second of day 45 of Q4
DAY0 = datetime.date(2026, 10, 1)
END = datetime.datetime(2027, 1, 1, tzinfo=datetime.timezone.utc)
NOISY = [1100, 1112, 1105, 1121, 1118, 1130, 1127, 1141, 1138, 1150, 1149, 1163, 1158, 1170]
CHURN = [5.0, 4.9, 4.95, 4.8, 4.82, 4.7, 4.75, 4.6, 4.62, 4.5, 4.55, 4.4, 4.45, 4.3]
TOKENS = {"alice": "alice-checkin-token", "reader": "reader-token"}


def met(d):
    return d % 4 != 3


def history():
    rows = ["metric,date,value"]
    for d in range(46):                                   # 2026-10-01 .. 2026-11-15
        day = (DAY0 + datetime.timedelta(days=d)).isoformat()
        rows.append(f"line,{day},{100 + 2 * d}")
        rows.append(f"csat,{day},{8.5 if met(d) else 7.0}")
    for k in range(14):                                   # 2026-11-02 .. 2026-11-15
        day = (DAY0 + datetime.timedelta(days=32 + k)).isoformat()
        rows.append(f"noisy,{day},{NOISY[k]}")
        rows.append(f"churn,{day},{CHURN[k]}")
    rows.append("old,2026-08-01,3")
    return "\n".join(rows) + "\n"


def setup(wd, listen=""):
    kr = lambda i, m, d, t, **kw: dict({"id": i, "title": i, "metric": m, "direction": d,
                                        "target": t}, **kw)
    daemon = {"state_dir": os.path.join(wd.path, "state"), "listen": listen, "timezone": "UTC",
              "evaluate_every": "1s",
              "api_tokens": [{"name": "alice", "token": TOKENS["alice"], "scopes": ["checkin"]},
                             {"name": "reader", "token": TOKENS["reader"], "scopes": ["read"]}]}
    return wd.config({
        "daemon": daemon,
        "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
        "objectives": [
            {"id": "q4", "title": "Q4", "cycle": "2026-Q4", "key_results": [
                kr("line-up", "line", "increase", 200, baseline=100),
                kr("line-far", "line", "increase", 400, baseline=100),
                kr("noisy-up", "noisy", "increase", 1400, baseline=1000),
                kr("churn-down", "churn", "decrease", 2.1, baseline=5.2),
                kr("csat", "csat", "at_least", 8, at_risk=0.75),
                kr("nothing", "nothing_yet", "increase", 10, baseline=0)]},
            {"id": "q3", "title": "Q3", "cycle": "2026-Q3", "key_results": [
                kr("old-kr", "old", "increase", 5, baseline=0)]}]})


# ---- the reference, written from DESIGN section 9 alone ----

def betacf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((a + m2 - 1) * (a + m2)),
                    -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return h


def betai(a, b, x):
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    bt = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
                  + b * math.log(1 - x))
    if x < (a + 1) / (a + b + 2):
        return bt * betacf(a, b, x) / a
    return 1.0 - bt * betacf(b, a, 1 - x) / b


def t_cdf(nu, t):
    tail = 0.5 * betai(nu / 2, 0.5, nu / (nu + t * t))
    return 1 - tail if t >= 0 else tail


def t_quantile(nu, p):
    lo, hi = -1e3, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_cdf(nu, mid) < p else (lo, mid)
    return (lo + hi) / 2


def value_forecast(ys, target, increase):
    """ys: v at the end of each of the 14 trend days, x = -13 .. 0 (days from
    t, t being the last second of the last day)."""
    xs = list(range(-len(ys) + 1, 1))
    n = len(xs)
    xb, yb = sum(xs) / n, sum(ys) / n
    sxx = sum((x - xb) ** 2 for x in xs)
    b = sum((x - xb) * (y - yb) for x, y in zip(xs, ys)) / sxx
    a = yb - b * xb
    xe = (END - datetime.datetime(2026, 11, 15, 23, 59, 59, tzinfo=datetime.timezone.utc)
          ).total_seconds() / 86400
    yhat = a + b * xe
    nu = n - 2
    s = math.sqrt(sum((y - a - b * x) ** 2 for x, y in zip(xs, ys)) / nu)
    if s <= 1e-9 * max(1, max(abs(y) for y in ys)):
        p = 1.0 if (yhat >= target if increase else yhat <= target) else 0.0
        return {"probability": p, "p10": yhat, "p50": yhat, "p90": yhat, "of": "value"}
    se = s * math.sqrt(1 + 1 / n + (xe - xb) ** 2 / sxx)
    z = (target - yhat) / se
    q90 = t_quantile(nu, 0.9)
    return {"probability": 1 - t_cdf(nu, z) if increase else t_cdf(nu, z),
            "p10": yhat - q90 * se, "p50": yhat, "p90": yhat + q90 * se, "of": "value"}


def share_forecast(at_risk):
    D = 46                                               # 2026-10-01 .. 2026-11-15
    M = sum(met(d) for d in range(46))
    R = (datetime.date(2026, 12, 31) - datetime.date(2026, 11, 15)).days
    q = Fraction(sum(met(d) for d in range(32, 46)), 14)
    pmf = [math.comb(R, x) * q ** x * (1 - q) ** (R - x) for x in range(R + 1)]
    prob = sum(pmf[x] for x in range(R + 1) if (M + x) / (D + R) >= at_risk)
    out = {"probability": float(prob), "of": "share"}
    for name, p in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
        cdf = Fraction(0)
        for x in range(R + 1):
            cdf += pmf[x]
            if cdf >= Fraction(p) - Fraction(1, 10 ** 12):
                out[name] = (M + x) / (D + R)
                break
    return out


def close(got, want, what):
    if want is None or got is None:
        check(got is None and want is None, f"{what}: {got!r}, computed {want!r}")
        return
    check(set(got) == set(want), f"{what}: keys {sorted(got)}")
    check(got["of"] == want["of"], f"{what}: of {got['of']}")
    for k in ("probability", "p10", "p50", "p90"):
        check(abs(got[k] - want[k]) <= 1e-9 * max(1, abs(want[k])),
              f"{what}: {k} = {got[k]!r}, computed {want[k]!r}")


def kr(doc, i):
    return next(k for o in doc["objectives"] for k in o["key_results"] if k["id"] == i)


def status_json(args, cfg, at):
    r = run(args.okrd, "status", "-c", cfg, "--json", "--at", at)
    check(r.returncode == 0, f"status --json --at {at}: {r.stderr}")
    return json.loads(r.stdout)


def ingest(args, wd, cfg):
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("h.csv", history()))
    check(r.returncode == 0, r.stderr)


def test_forecast_in_status_json(args, wd):
    cfg = setup(wd)
    ingest(args, wd, cfg)
    doc = status_json(args, cfg, T_AT)
    for o in doc["objectives"]:
        for k in o["key_results"]:
            check(list(k)[-1] == "forecast", f"{k['id']}: forecast is the last key: {list(k)}")
    line = [100 + 2 * d for d in range(32, 46)]
    # a perfect line: the exact-line rule, every quantile the end value
    up = kr(doc, "line-up")["forecast"]
    close(up, value_forecast(line, 200, True), "line-up")
    check(up["probability"] == 1 and up["p10"] == up["p50"] == up["p90"], f"exact line: {up}")
    check(abs(up["p50"] - (190 + 2 * (46 + 1 / 86400))) < 1e-9, f"line-up p50 {up['p50']}")
    far = kr(doc, "line-far")["forecast"]
    check(far["probability"] == 0 and far["p10"] == far["p90"], f"line-far: {far}")
    # noisy series against the reference
    close(kr(doc, "noisy-up")["forecast"], value_forecast(NOISY, 1400, True), "noisy-up")
    close(kr(doc, "churn-down")["forecast"], value_forecast(CHURN, 2.1, False), "churn-down")
    p = kr(doc, "noisy-up")["forecast"]["probability"]
    check(0.01 < p < 0.99, f"noisy-up: a probability worth testing: {p}")
    # a level: Binomial(R, q) over the remaining days
    cs = kr(doc, "csat")["forecast"]
    close(cs, share_forecast(0.75), "csat")
    check(0.01 < cs["probability"] < 0.99, f"csat: a probability worth testing: {cs}")
    # null: no data; an ended cycle; before the start
    check(kr(doc, "nothing")["forecast"] is None, "no_data: null")
    check(kr(doc, "old-kr")["forecast"] is None, "an ended cycle: null")
    before = status_json(args, cfg, "2026-09-30T12:00:00Z")
    check(all(k["forecast"] is None for k in before["objectives"][0]["key_results"]),
          "before the cycle starts: null")
    after = status_json(args, cfg, "2027-01-01")
    check(kr(after, "line-up")["forecast"] is None, "from e on: null")


def test_status_table_and_metrics(args, wd):
    port = free_port()
    cfg = setup(wd, f"127.0.0.1:{port}")
    ingest(args, wd, cfg)
    r = run(args.okrd, "status", "-c", cfg, "--at", T_AT)
    check(r.returncode == 0, r.stderr)
    rows = {l.split()[0]: l for l in r.stdout.splitlines() if l.startswith("  ")}
    check(re.search(r"likely\s+100%\s+on_track", rows["line-up"]), f"line-up row: {rows['line-up']}")
    check(re.search(r"likely\s+0%", rows["line-far"]), f"line-far row: {rows['line-far']}")
    cs = share_forecast(0.75)["probability"]
    check(re.search(rf"likely\s+{cs * 100:.0f}%", rows["csat"]), f"csat row ({cs}): {rows['csat']}")
    check(re.search(r"likely\s+-\s+no_data", rows["nothing"]), f"nothing row: {rows['nothing']}")

    # The daemon on a clock at noon of the same day: a level's forecast only
    # depends on the day, so the gauge is the reference's.
    d = Daemon(args.okrd, cfg, env={"OKRD_TEST_CLOCK": "2026-11-15T12:00:00Z"})
    try:
        d.wait_log("event=api_listening")
        api = Api(port=port)
        api.wait_for("/api/v1/objectives", lambda x: kr(x, "csat")["forecast"] is not None,
                     "the first evaluation")
        status, _, body = api.get("/metrics")
        check(status == 200, f"/metrics: {status}")
        text = body.decode()
        check("# TYPE okrd_kr_forecast_probability gauge" in text, "the family is there")
        got = {m.group(1): float(m.group(2)) for m in re.finditer(
            r'^okrd_kr_forecast_probability\{objective="q4",key_result="([^"]+)"\} (\S+)$',
            text, re.M)}
        check(abs(got.get("csat", -1) - cs) < 1e-9, f"csat gauge {got.get('csat')} vs {cs}")
        # at noon the last day's x is 0.5 day from the others': nearly a line
        check(got.get("line-far", 1) < 1e-9 and got.get("line-up", 0) > 1 - 1e-9,
              f"line gauges: {got}")
        check("nothing" not in got and 'key_result="old-kr"' not in
              "".join(l for l in text.splitlines() if l.startswith("okrd_kr_forecast")),
              f"null forecasts are omitted: {sorted(got)}")
        # An override and a given grade show beside the status in the table.
        h = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKENS['alice']}"}
        st, _, out = api.request("POST", "/api/v1/key-results/line-up/check-ins",
                                 body=json.dumps({"status": "off_track",
                                                  "until": "2026-11-30"}).encode(), headers=h)
        check(st == 201, f"override check-in: {st} {out[:300]!r}")
        st, _, out = api.request("POST", "/api/v1/key-results/old-kr/check-ins",
                                 body=json.dumps({"grade": 0.7}).encode(), headers=h)
        check(st == 201, f"grade check-in: {st} {out[:300]!r}")
        r = run(args.okrd, "status", "-c", cfg, "--at", "2026-11-15T13:00:00Z")
        check(r.returncode == 0, r.stderr)
        rows = {l.split()[0]: l for l in r.stdout.splitlines() if l.startswith("  ")}
        check(re.search(r"off_track\s*\(computed: on_track\)", rows["line-up"]),
              f"the override and the computed status: {rows['line-up']}")
        check("graded 0.70 by alice" in rows["old-kr"], f"the given grade: {rows['old-kr']}")
        check("(computed:" not in rows["line-far"], f"no override: {rows['line-far']}")
        code, _ = d.stop()
        check(code == 0, f"exit {code}")
    finally:
        d.kill()



# ---- a general reference: any t (mid-day too), trend days before s, gaps ----

def _ts(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _v_last(pts, t):
    vals = [v for p, v in pts if p <= t]
    return vals[-1] if vals else None


def _trend_points(pts, t, days):
    """v at the end of each of the last `days` days up to t's own day (at t
    for that day), where defined; x in days from t (UTC)."""
    d0 = t - t % 86400
    out = []
    for k in range(days - 1, -1, -1):
        at = min(d0 - k * 86400 + 86399, t)
        v = _v_last(pts, at)
        if v is not None:
            out.append(((at - t) / 86400, v))
    return out


def value_forecast_at(pts, t, e, target, increase, days=14):
    xy = _trend_points(pts, t, days)
    if len(xy) < 3:
        return None
    xs, ys = [x for x, _ in xy], [y for _, y in xy]
    n = len(xs)
    xb, yb = sum(xs) / n, sum(ys) / n
    sxx = sum((x - xb) ** 2 for x in xs)
    b = sum((x - xb) * (y - yb) for x, y in xy) / sxx
    a = yb - b * xb
    xe = (e - t) / 86400
    yhat, nu = a + b * xe, n - 2
    s = math.sqrt(sum((y - a - b * x) ** 2 for x, y in xy) / nu)
    if s <= 1e-9 * max(1, max(abs(y) for y in ys)):
        p = 1.0 if (yhat >= target if increase else yhat <= target) else 0.0
        return {"probability": p, "p10": yhat, "p50": yhat, "p90": yhat, "of": "value"}
    se = s * math.sqrt(1 + 1 / n + (xe - xb) ** 2 / sxx)
    z = (target - yhat) / se
    q90 = t_quantile(nu, 0.9)
    return {"probability": 1 - t_cdf(nu, z) if increase else t_cdf(nu, z),
            "p10": yhat - q90 * se, "p50": yhat, "p90": yhat + q90 * se, "of": "value"}


def share_forecast_at(pts, t, s, e, target, at_risk, days=14):
    d0 = t - t % 86400
    D = M = 0
    for day in range(s, d0 + 1, 86400):
        v = _v_last(pts, min(day + 86399, t))
        if v is not None:
            D, M = D + 1, M + (v >= target)
    trend = [y for _, y in _trend_points(pts, t, days)]
    R = (e - d0 - 86400) // 86400
    if not trend or D + R == 0:
        return None
    q = Fraction(sum(y >= target for y in trend), len(trend))
    pmf = [math.comb(R, x) * q ** x * (1 - q) ** (R - x) for x in range(R + 1)]
    out = {"probability": float(sum(pmf[x] for x in range(R + 1)
                                    if (M + x) / (D + R) >= at_risk)), "of": "share"}
    for name, p in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
        cdf = Fraction(0)
        for x in range(R + 1):
            cdf += pmf[x]
            if cdf >= Fraction(p) - Fraction(1, 10 ** 12):
                out[name] = (M + x) / (D + R)
                break
    return out


def test_trend_days_before_the_start(args, wd):
    """The trend days are the last trend_window days up to t's own day, also
    those before s (section 9: "they may lie before s"), whatever the
    projection; t mid-day, two points a day, a day without points."""
    s, e = _ts("2026-11-10T00:00:00Z"), _ts("2026-12-01T00:00:00Z")
    up, lvl = [], []
    for d in range(-6, 8):
        if d in (-3, 2):
            continue
        day = s + d * 86400
        up += [(day + 3 * 3600, 100 + 3 * d + (d * 7 % 5)), (day + 15 * 3600, 101 + 3 * d + (d % 3))]
        lvl.append((day + 9 * 3600, 8.5 if d % 3 else 7.0))
    rows = ["metric,timestamp,value"] + [
        f"{m},{datetime.datetime.fromtimestamp(p, datetime.timezone.utc):%Y-%m-%dT%H:%M:%SZ},{v}"
        for m, pts in (("up", up), ("lvl", lvl)) for p, v in pts]
    daemon = {"state_dir": os.path.join(wd.path, "state"), "listen": "", "timezone": "UTC"}
    kr = lambda i, m, d, t, **kw: dict({"id": i, "title": i, "metric": m, "direction": d,
                                        "target": t}, **kw)
    cfg = wd.config({
        "daemon": daemon,
        "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
        "objectives": [{"id": "nov", "title": "Nov", "cycle": {"start": "2026-11-10",
                                                               "end": "2026-11-30"},
                        "key_results": [
                            kr("up", "up", "increase", 200, baseline=90),
                            kr("down", "up", "decrease", 50, baseline=300),
                            kr("up5", "up", "increase", 170, baseline=90, trend_window="5d"),
                            kr("lvl", "lvl", "at_least", 8, at_risk=0.6, off_track=0.5)]}]})
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("n.csv", "\n".join(rows) + "\n"))
    check(r.returncode == 0, r.stderr)
    for at in ("2026-11-10T00:00:00Z", "2026-11-12T06:00:00Z", "2026-11-15T09:00:00Z"):
        t = _ts(at)
        doc = status_json(args, cfg, at)
        close(kr_of(doc, "up")["forecast"], value_forecast_at(up, t, e, 200, True), f"up at {at}")
        close(kr_of(doc, "down")["forecast"], value_forecast_at(up, t, e, 50, False), f"down at {at}")
        close(kr_of(doc, "up5")["forecast"], value_forecast_at(up, t, e, 170, True, 5), f"up5 at {at}")
        close(kr_of(doc, "lvl")["forecast"], share_forecast_at(lvl, t, s, e, 8, 0.6), f"lvl at {at}")


def kr_of(doc, i):
    return kr(doc, i)

if __name__ == "__main__":
    main([test_forecast_in_status_json, test_status_table_and_metrics,
          test_trend_days_before_the_start])
