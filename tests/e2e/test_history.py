"""Daily history, its backfill and the definitions archive end to end
(DESIGN section 9; archived-cycle grades, section 8), on the test clock
(OKRD_TEST_CLOCK: the daemon's clock starts at the given instant and runs
at the real pace).

  1. started on 2026-10-05 12:00 with points since 2026-10-01 and no
     history: 10-01..10-04 are backfilled, 10-05 is today's row; every row
     carries both statuses; a check-in's override shows in today's row as
     the effective status beside the computed one;
  2. stopped, started again three days later (10-09 12:00): 10-06..10-08
     are backfilled and 10-05 is rewritten at its last second, each exactly
     `okrd status --at DAYT23:59:59` (the override included);
  3. definitions: one version per objective and key result; a restart with
     the same config adds none; a reload with a changed title adds one for
     that key result only;
  4. a grade with "cycle" for the archived past cycle of a key result whose
     config moved on: 201, stored under that cycle's start; a cycle the
     archive does not hold: 404.
"""
import json
import os
import signal

from apitest import TOKEN, Api, free_port
from okrdtest import Daemon, StoreDb, check, main, run

FIELDS = {"date", "status", "computed_status", "progress", "expected", "score", "probability"}


def write_config(wd, port, dau_title="DAU up", support_cycle="2026-Q3"):
    return wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": f"127.0.0.1:{port}",
                   "timezone": "UTC", "evaluate_every": "1s", "api_token": TOKEN},
        "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
        "objectives": [
            {"id": "growth", "title": "Grow", "owner": "ann",
             "cycle": {"start": "2026-10-01", "end": "2026-10-31"},
             "key_results": [
                 {"id": "dau-up", "title": dau_title, "metric": "dau", "direction": "increase",
                  "baseline": 1000, "target": 1200},
                 {"id": "signups", "title": "Signups", "metric": "signups",
                  "direction": "increase", "baseline": 10, "target": 20}]},
            {"id": "support", "title": "Support", "cycle": support_cycle,
             "key_results": [{"id": "csat-kr", "title": "CSAT", "metric": "csat",
                              "direction": "at_least", "target": 8}]}],
    })


def start(args, cfg, now):
    d = Daemon(args.okrd, cfg, env={"OKRD_TEST_CLOCK": now})
    try:
        d.wait_log("event=api_listening")
    except Exception:
        d.kill()
        raise
    return d


def stop(d):
    code, _ = d.stop()
    check(code == 0, f"okrd exit {code}; log:\n{d.log()}")


def history(api, kr="dau-up"):
    return api.json(f"/api/v1/key-results/{kr}/series", TOKEN)["history"]


def status_at(args, cfg, date):
    r = run(args.okrd, "status", "-c", cfg, "--at", f"{date}T23:59:59Z", "--json")
    check(r.returncode == 0, f"okrd status --at {date}: {r.returncode} {r.stderr}")
    doc = json.loads(r.stdout)
    return {k["id"]: k for o in doc["objectives"] for k in o["key_results"]}


def same_as_status(args, cfg, rows, dates):
    by_date = {r["date"]: r for r in rows}
    for date in dates:
        check(date in by_date, f"no history row for {date}: {rows}")
        want = status_at(args, cfg, date)
        for kr in ("dau-up",):
            row, k = by_date[date], want[kr]
            got = {f: row[f] for f in ("status", "computed_status", "progress", "expected",
                                        "score")}
            exp = {f: k[f] for f in ("status", "computed_status", "progress", "expected",
                                      "score")}
            check(got == exp, f"{kr} {date}: history {got} != status --at {exp}")


def definitions(wd, state):
    return StoreDb(wd, state).rows("SELECT kind, id, cycle_start, version, json FROM definitions"
                                   " ORDER BY kind, id, cycle_start, version")


def versions(defs, kind, kr_id):
    return [v for k, i, _, v, _ in defs if k == kind and i == kr_id]


def test_history_backfill_archive(args, wd):
    os.makedirs(os.path.join(wd.path, "inbox"))
    state = os.path.join(wd.path, "state")
    port = free_port()
    api = Api(port=port)
    cfg = write_config(wd, port)
    csv = wd.file("in.csv", "metric,timestamp,value\n"
                  "dau,2026-10-01T00:00:00Z,1000\ndau,2026-10-02T08:00:00Z,1040\n"
                  "dau,2026-10-03T08:00:00Z,1010\ndau,2026-10-04T08:00:00Z,1060\n"
                  "dau,2026-10-06T08:00:00Z,1100\ndau,2026-10-07T08:00:00Z,1090\n"
                  "dau,2026-10-08T08:00:00Z,1130\ncsat,2026-09-15T00:00:00Z,9\n")
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", csv)
    check(r.returncode == 0, f"ingest: {r.stdout} {r.stderr}")

    # 1. The first start: the cycle's past days are backfilled.
    d = start(args, cfg, "2026-10-05T12:00:00Z")
    try:
        d.wait_log(["event=history_backfilled", "days=4", "key_results=2"])
        api.wait_ready(TOKEN)
        rows = api.wait_for("/api/v1/key-results/dau-up/series",
                            lambda doc: len(doc["history"]) == 5, "five days of history",
                            TOKEN)["history"]
        check([x["date"] for x in rows] == [f"2026-10-0{i}" for i in range(1, 6)],
              f"one row per day from the cycle's start: {rows}")
        check(all(set(x) == FIELDS for x in rows), f"every field: {rows}")
        same_as_status(args, cfg, rows, [f"2026-10-0{i}" for i in range(1, 5)])
        sig = history(api, "signups")
        check(len(sig) == 5 and all(x["status"] == x["computed_status"] == "no_data" and
                                    x["progress"] is None for x in sig), f"signups: {sig}")
        check(rows[4]["status"] == rows[4]["computed_status"] == "on_track",
              f"today before the check-in: {rows[4]}")
        # A check-in's override: today's row has it as the effective status.
        body = json.dumps({"status": "at_risk", "until": "2026-10-20", "comment": "slipping"})
        st, _, out = api.request("POST", "/api/v1/key-results/dau-up/check-ins",
                                 body=body.encode(),
                                 headers={"Authorization": f"Bearer {TOKEN}",
                                          "Content-Type": "application/json"})
        check(st == 201, f"check-in: {st} {out[:300]!r}")
        rows = api.wait_for("/api/v1/key-results/dau-up/series",
                            lambda doc: doc["history"][-1]["status"] == "at_risk",
                            "the override in today's row", TOKEN)["history"]
        check(rows[-1]["computed_status"] == "on_track", f"computed beside it: {rows[-1]}")
        defs = definitions(wd, state)
        for kind, i in (("objective", "growth"), ("objective", "support"),
                        ("key_result", "dau-up"), ("key_result", "signups"),
                        ("key_result", "csat-kr")):
            check(versions(defs, kind, i) == [1], f"{kind} {i} recorded once: {defs}")
        dau = json.loads([j for k, i, _, _, j in defs if i == "dau-up"][0])
        check(dau["title"] == "DAU up" and dau["owner"] == "ann" and dau["baseline"] == 1000 and
              dau["target"] == 1200 and dau["cycle"] == {"start": "2026-10-01",
                                                         "end": "2026-10-31"} and
              dau["thresholds"]["at_risk"] == 0.9, f"dau-up's definition: {dau}")
    finally:
        stop(d)

    # 2. Three days later: the days okrd missed, from the stored points.
    d = start(args, cfg, "2026-10-09T12:00:00Z")
    try:
        d.wait_log(["event=history_backfilled", "days=3", "last_days_final=2"])
        api.wait_ready(TOKEN)
        rows = api.wait_for("/api/v1/key-results/dau-up/series",
                            lambda doc: len(doc["history"]) == 9, "nine days of history",
                            TOKEN)["history"]
        check([x["date"] for x in rows] == [f"2026-10-0{i}" for i in range(1, 10)],
              f"no day missing: {rows}")
        same_as_status(args, cfg, rows, [f"2026-10-0{i}" for i in range(1, 9)])
        check(all(x["status"] == "at_risk" for x in rows[4:8]),
              f"the override held on the missed days: {rows[4:8]}")
        # 3. Same config: no new version. A changed title: one, for it only.
        check(definitions(wd, state) == defs, "a restart with the same config archives nothing new")
        write_config(wd, port, dau_title="DAU up (web and app)", support_cycle="2026-Q4")
        d.signal(signal.SIGHUP)
        d.wait_log("event=definitions_recorded")
        defs = definitions(wd, state)
        check(versions(defs, "key_result", "dau-up") == [1, 2], f"a new version: {defs}")
        check(json.loads([j for k, i, _, v, j in defs if i == "dau-up" and v == 2][0])["title"]
              == "DAU up (web and app)", f"the new title: {defs}")
        check(versions(defs, "objective", "growth") == [1] and
              versions(defs, "key_result", "signups") == [1], f"the others unchanged: {defs}")
        check(sorted(c for k, i, c, _, _ in defs if i == "csat-kr") == ["2026-07-01",
                                                                        "2026-10-01"],
              f"csat-kr archived in both cycles: {defs}")
        # 4. Grades for the archived cycle of csat-kr (its config is in Q4 now).
        def grade(cycle):
            body = json.dumps({"grade": 0.7, "cycle": cycle, "comment": "Q3 was fine"})
            st, _, out = api.request("POST", "/api/v1/key-results/csat-kr/check-ins",
                                     body=body.encode(),
                                     headers={"Authorization": f"Bearer {TOKEN}",
                                              "Content-Type": "application/json"})
            return st, json.loads(out)
        api.wait_for("/api/v1/key-results/csat-kr", lambda k: k["cycle"]["start"] == "2026-10-01",
                     "the reload", TOKEN)
        st, doc = grade("2026-Q3")
        check(st == 201 and doc["check_in"]["cycle_start"] == "2026-07-01" and
              doc["check_in"]["grade"] == 0.7, f"grade of the archived Q3: {st} {doc}")
        st, doc = grade({"start": "2026-07-01", "end": "2026-09-30"})
        check(st == 201 and doc["check_in"]["seq"] == 2, f"the same cycle as a range: {st} {doc}")
        st, doc = grade("2026-Q2")
        check(st == 404 and doc["error"] == "not_found", f"a cycle with no archive: {st} {doc}")
    finally:
        stop(d)


if __name__ == "__main__":
    main([test_history_backfill_archive])
