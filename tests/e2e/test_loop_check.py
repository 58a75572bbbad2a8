"""okrd check's data lints (DESIGN section 4) from a real store: a key result
whose metric only ever held 0 and 1, and a `last` over a metric with a
weekly pattern, are named; their look-alikes are not. `okrd check` is the
unit's ExecStartPre, so it now asks the store for summaries instead of
loading every history (issue 12 item 9); the warnings must be the same."""
import datetime
import os

from okrdtest import check, main, run

START = datetime.date(2026, 1, 5)  # a Monday


def setup(args, wd):
    cfg = wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": "", "timezone": "UTC"},
        "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
        "objectives": [{"id": "launch", "title": "Launch well", "cycle": "2026-Q1", "key_results": [
            {"id": "shipped", "title": "Ship the referral program", "metric": "shipped",
             "direction": "at_least", "target": 1},
            {"id": "visits", "title": "More weekday visits", "metric": "visits",
             "direction": "increase", "target": "+10%"},
            {"id": "signups", "title": "More signups", "metric": "signups",
             "direction": "increase", "target": "+10%"},
            {"id": "visits-avg", "title": "More visits, smoothed", "metric": "visits",
             "direction": "increase", "target": "+10%",
             "aggregate": {"fn": "avg", "window": "7d"}},
            {"id": "flag", "title": "Flag on", "metric": "flag",
             "direction": "at_least", "target": 1},
        ]}]})
    rows = ["metric,timestamp,value"]
    for d in range(70):
        day = START + datetime.timedelta(days=d)
        # several points a day: only each day's newest counts for the pattern
        for h in (6, 12, 18):
            ts = f"{day.isoformat()}T{h:02d}:00:00Z"
            weekend = day.weekday() >= 5
            rows.append(f"visits,{ts},{(400 if weekend else 1000) + d + h}")
            rows.append(f"signups,{ts},{100 + d * 2 + h}")
        rows.append(f"shipped,{day.isoformat()},{1 if d > 40 else 0}")
        rows.append(f"flag,{day.isoformat()},{d % 2}")
    # a 2 long ago, then 0/1 only: "only ever" means it is not binary
    rows.append("flag,2024-01-01,2")
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops",
            wd.file("history.csv", "\n".join(rows) + "\n"))
    check(r.returncode == 0, f"ingest: {r.returncode} {r.stderr}")
    return cfg


def warnings(args, cfg):
    r = run(args.okrd, "check", "-c", cfg)
    check(r.returncode == 0, f"check: {r.returncode} {r.stderr}")
    return [line for line in r.stderr.splitlines() if ": warning: " in line]


def test_data_lints_fire(args, wd):
    cfg = setup(args, wd)
    w = warnings(args, cfg)
    by_id = {}
    for line in w:
        kr_id = line.split(": warning: ", 1)[1].split(":", 1)[0]
        by_id.setdefault(kr_id, []).append(line)
    check(any("only ever holds 0 and 1" in x for x in by_id.get("shipped", [])),
          f"no binary lint for shipped: {w}")
    check(any("weekly pattern" in x for x in by_id.get("visits", [])),
          f"no weekly-pattern lint for visits (last): {w}")
    check("signups" not in by_id, f"signups has no pattern and is not binary: {w}")
    check("flag" not in by_id, f"flag held a 2 once: not binary: {w}")
    check("visits-avg" not in by_id, f"visits-avg is an average, not `last`: {w}")
    check(not any("only ever" in x for x in by_id.get("visits", [])), f"visits is not binary: {w}")


def test_no_store_no_data_lints(args, wd):
    cfg = wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "nothing-here"), "listen": ""},
        "objectives": [{"id": "o", "title": "O", "cycle": "2026-Q1", "key_results": [
            {"id": "a", "title": "A", "metric": "a", "direction": "increase", "target": 5},
            {"id": "b", "title": "B", "metric": "b", "direction": "increase", "target": 5}]}]})
    check(warnings(args, cfg) == [], "no store: no data lints")
    check(not os.path.exists(os.path.join(wd.path, "nothing-here")),
          "okrd check must not create the state_dir")


if __name__ == "__main__":
    main([test_data_lints_fire, test_no_store_no_data_lints])
