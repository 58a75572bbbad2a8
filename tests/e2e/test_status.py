"""okrd status (--json, --at) against a CSV history ingested with okrd ingest,
and the daemon's own evaluation: the first one at start-up, and a new one when
another process (okrd ingest) writes the store (DESIGN sections 4 and 6)."""
import json
import os
import signal

from okrdtest import Daemon, check, main, run

HISTORY = """metric,date,value
dau,2026-09-30,1000
dau,2026-10-10,1020
dau,2026-11-15,1100
dau,2026-12-20,1250
csat,2026-10-01,8.5
csat,2026-10-02,7.9
csat,2026-10-03,8.2
reviews,2026-10-02,10
reviews,2026-10-20,15
"""

KR_KEYS = {"id", "title", "metric", "direction", "baseline", "target", "value", "progress",
           "expected", "projected_score", "status", "computed_status", "previous_status", "stale",
           "cycle", "last_point_at", "score", "owner", "check_in", "forecast"}


def setup(wd, evaluate_every=None):
    daemon = {"state_dir": os.path.join(wd.path, "state"), "listen": "", "timezone": "UTC"}
    if evaluate_every:
        daemon["evaluate_every"] = evaluate_every
    cfg = wd.config({
        "daemon": daemon,
        "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
        "objectives": [
            {"id": "company", "title": "Grow", "cycle": "2026-Q4", "key_results": []},
            {"id": "engagement", "title": "Improve user engagement", "parent": "company",
             "owner": "growth", "cycle": "2026-Q4", "key_results": [
                 {"id": "dau-up", "title": "Increase daily active users by 20%", "metric": "dau",
                  "direction": "increase", "target": "+20%"},
                 {"id": "reviews", "title": "Generate 100 positive reviews", "metric": "reviews",
                  "direction": "increase", "aggregate": {"fn": "sum", "window": "cycle"}, "target": 100},
                 {"id": "csat", "title": "Keep CSAT at 8/10 or higher", "metric": "csat",
                  "owner": "<@U024BE7LH>", "direction": "at_least", "target": 8},
                 {"id": "nothing", "title": "Measure something new", "metric": "nothing_yet",
                  "direction": "increase", "target": "+10%"}]}]})
    return cfg


def status_json(args, cfg, at):
    r = run(args.okrd, "status", "-c", cfg, "--json", "--at", at)
    check(r.returncode == 0, f"status --json --at {at}: {r.returncode} {r.stderr}")
    return json.loads(r.stdout)


def kr(doc, kr_id):
    for o in doc["objectives"]:
        for k in o["key_results"]:
            if k["id"] == kr_id:
                return k
    raise AssertionError(f"no key result {kr_id} in {doc}")


def close(a, b):
    return a is not None and abs(a - b) < 1e-9


def test_status_json_contract(args, wd):
    cfg = setup(wd)
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("h.csv", HISTORY))
    check(r.returncode == 0, r.stderr)

    # Mid-cycle: 46 of 92 days gone.
    doc = status_json(args, cfg, "2026-11-16")
    check(doc["at"] == "2026-11-16T00:00:00Z", f"at: {doc['at']}")
    check([o["id"] for o in doc["objectives"]] == ["company", "engagement"], "objectives in order")
    eng = doc["objectives"][1]
    check(set(eng) == {"id", "title", "parent", "score", "projected_score", "status", "key_results"},
          f"objective keys: {sorted(eng)}")
    check(eng["parent"] == "company" and doc["objectives"][0]["parent"] is None, "parents")
    for k in eng["key_results"]:
        check(set(k) == KR_KEYS, f"key result keys of {k['id']}: {sorted(k)}")
        # DESIGN section 8: its own owner, else the objective's
        check(k["owner"] == ("<@U024BE7LH>" if k["id"] == "csat" else "growth"),
              f"owner of {k['id']}: {k['owner']!r}")
    d = kr(doc, "dau-up")
    check(d["baseline"] == 1000 and d["target"] == 1200 and d["value"] == 1100, f"dau numbers: {d}")
    check(close(d["progress"], 0.5) and close(d["expected"], 0.5) and close(d["projected_score"], 1.0),
          f"dau pace: {d}")
    check(d["status"] == "on_track" and close(d["score"], 0.5), f"dau status: {d}")
    # no check-in: the computed status is the status (DESIGN section 8)
    check(d["computed_status"] == "on_track" and d["check_in"] is None, f"dau check-in: {d}")
    check(d["cycle"] == {"start": "2026-10-01", "end": "2026-12-31"}, f"cycle: {d['cycle']}")
    check(d["last_point_at"] == "2026-11-15T00:00:00Z" and d["stale"] is False, f"fresh: {d}")
    # DESIGN section 9: the last days hold one value (1100 since 2026-11-15,
    # 1020 before): 2 of the 14 trend days at 1100 -> a value forecast
    check(d["forecast"] is not None and d["forecast"]["of"] == "value", f"dau forecast: {d}")
    check(kr(doc, "csat")["forecast"]["of"] == "share", f"csat forecast: {kr(doc, 'csat')}")
    check(d["direction"] == "increase" and d["metric"] == "dau", "configured text as configured")
    rv = kr(doc, "reviews")
    check(rv["baseline"] == 0 and rv["value"] == 25 and close(rv["progress"], 0.25), f"reviews: {rv}")
    check(rv["status"] == "off_track", f"25 of 100 at half time projects 0.5: off_track: {rv}")
    c = kr(doc, "csat")
    check(c["progress"] is None and c["expected"] is None, f"at_least has no progress/expected: {c}")
    check(c["target"] == 8 and c["status"] == "on_track", f"csat: {c}")
    n = kr(doc, "nothing")
    check(n["status"] == "no_data", f"no data: {n}")
    for key in ("value", "progress", "expected", "projected_score", "score", "baseline", "target",
                "last_point_at", "forecast"):
        check(n[key] is None, f"{key} is null without data: {n}")

    # Too early to judge, then stale, then the final grades after the end.
    check(kr(status_json(args, cfg, "2026-10-05"), "dau-up")["status"] == "pending", "pending early")
    check(kr(status_json(args, cfg, "2026-11-20"), "dau-up")["stale"] is True, "2 days without data: stale")
    end = status_json(args, cfg, "2027-01-05T12:00:00Z")
    check(kr(end, "dau-up")["status"] == "achieved" and kr(end, "dau-up")["score"] == 1,
          f"final: {kr(end, 'dau-up')}")
    check(kr(end, "reviews")["status"] == "missed" and close(kr(end, "reviews")["score"], 0.25),
          f"final grade: {kr(end, 'reviews')}")


def test_status_table(args, wd):
    cfg = setup(wd)
    run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("h.csv", HISTORY))
    r = run(args.okrd, "status", "-c", cfg, "--at", "2026-11-16")
    check(r.returncode == 0, r.stderr)
    for needle in ("engagement", "dau-up", "on_track", "off_track", "no_data", "50%",
                   "Increase daily active users by 20%"):
        check(needle in r.stdout, f"{needle!r} in the table:\n{r.stdout}")
    check("\033[" not in r.stdout, "no colour codes when stdout is not a terminal")
    check(r.stdout.index("company") < r.stdout.index("engagement"), "parents before children")
    r = run(args.okrd, "status", "-c", cfg, "--at", "soon")
    check(r.returncode == 2 and "--at" in r.stderr, f"bad --at: {r.returncode} {r.stderr}")


def test_daemon_evaluates(args, wd):
    cfg = setup(wd)
    run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("h.csv", HISTORY))
    d = Daemon(args.okrd, cfg)
    try:
        # The first evaluation at start-up records every key result's state.
        d.wait_log(["event=kr_status", "key_result=dau-up", "from=none"])
        d.wait_log(["event=kr_status", "key_result=nothing", "to=no_data"])
        # Another process writes the store: the daemon notices (data_version)
        # and evaluates again; the new metric moves "nothing" out of no_data.
        r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops",
                wd.file("more.csv", "metric,date,value\nnothing_yet,2026-09-30,10\nnothing_yet,2026-11-20,11\n"))
        check(r.returncode == 0, r.stderr)
        d.wait_log(["event=kr_status", "key_result=nothing", "from=no_data"], deadline=30)
        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}")
    finally:
        d.kill()


def test_check_lints(args, wd):
    """okrd check warns about OKR practice (DESIGN section 4) and still exits 0."""
    def kr_(i, metric="dau"):
        return {"id": f"k{i}", "title": f"Key result {i}", "metric": metric,
                "direction": "increase", "baseline": 0, "target": 10}
    cfg = wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": ""},
        "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
        "objectives": [
            {"id": "lonely", "title": "One key result", "cycle": "2026-Q4", "key_results": [kr_(1)]},
            {"id": "crowded", "title": "Six key results", "cycle": "2026-Q4",
             "key_results": [kr_(i) for i in range(2, 8)]},
            {"id": "forever", "title": "A long cycle", "cycle": {"start": "2026-01-01", "end": "2027-06-30"},
             "key_results": [kr_(8, "shipped"), kr_(9)]}]})
    rows = "".join(f"shipped,2026-10-{d:02d},{d % 2}\n" for d in range(1, 20))
    run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("s.csv", "metric,date,value\n" + rows))
    r = run(args.okrd, "check", "-c", cfg)
    check(r.returncode == 0, f"lints are warnings, exit 0: {r.returncode} {r.stderr}")
    warnings = [l for l in r.stderr.splitlines() if ": warning: " in l]
    for needle in ("lonely", "crowded", "forever", "k8"):
        check(any(needle in w for w in warnings), f"a warning about {needle}:\n{r.stderr}")
    check(all(w.split(":")[1].isdigit() for w in warnings), f"warnings carry FILE:LINE:COL: {warnings}")
    # A config that deserves none gets none.
    good = wd.config({"daemon": {"state_dir": os.path.join(wd.path, "state2"), "listen": ""},
                      "objectives": [{"id": "ok", "title": "Fine", "cycle": "2026-Q4",
                                      "key_results": [kr_(1), kr_(2), kr_(3)]}]}, "good.json")
    r = run(args.okrd, "check", "-c", good)
    check(r.returncode == 0 and "warning" not in r.stderr, f"no lint on a good config: {r.stderr}")


if __name__ == "__main__":
    main([test_status_json_contract, test_status_table, test_daemon_evaluates, test_check_lints])
