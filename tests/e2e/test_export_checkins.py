"""okrd export --check-ins (DESIGN section 8): every check-in, sorted by key
result, cycle and seq, as CSV (RFC 4180 quoting of the comment, empty fields
for what a check-in lacks) or as JSON (null for it), --from/--to on `at`.

The store is made by the real binary (`okrd ingest`), the check-ins are
written into its checkins table with Python's sqlite3 (or psql), as the daemon's store
would hold them, and the output is compared byte for byte."""
import csv
import io
import json
import os
import subprocess

from okrdtest import StoreDb, check, main, run

COLUMNS = ("id", "key_result", "cycle_start", "seq", "at_s", "author", "confidence", "status",
           "until_s", "value", "grade", "comment")

# 2026-10-04T22:30:00Z is 00:30 on 5 October in Berlin (UTC+2 until 25 October).
ROWS = [
    # inserted out of order: the order of the output comes from the export
    ("chk_01JB0000000000000000000002", "dau-up", "2026-10-01", 2, 1791798600, "bob",
     None, "at_risk", 1792994400, None, None, None),
    ("chk_01JB0000000000000000000001", "dau-up", "2026-10-01", 1, 1791153000, "alice",
     7, None, None, 1040, None, 'Two deals slipped, the "big" ones\nsee CRM'),
    ("chk_01JB0000000000000000000003", "dau-up", "2026-07-01", 1, 1790764800, "carol",
     None, None, None, None, 0.7, "Q3: €1.2M, été"),
    ("chk_01JB0000000000000000000004", "arr-up", "2026-10-01", 1, 1792231200, "api",
     0, None, None, 0.1, None, ""),
    ("chk_01JB0000000000000000000005", "arr-up", "2026-10-01", 2, 1792317600, "api",
     10, "on_track", 1793318400, 1e21, None, "tab\there"),
]

CSV_HEADER = "key_result,cycle_start,seq,at,author,confidence,status,until,value,grade,comment\n"
CSV_ROWS = [
    "arr-up,2026-10-01,1,2026-10-17T10:00:00Z,api,0,,,0.1,,\"\"\n",
    "arr-up,2026-10-01,2,2026-10-18T10:00:00Z,api,10,on_track,2026-10-30T00:00:00Z,1e+21,,tab\there\n",
    "dau-up,2026-07-01,1,2026-09-30T10:40:00Z,carol,,,,,0.7,\"Q3: €1.2M, été\"\n",
    "dau-up,2026-10-01,1,2026-10-04T22:30:00Z,alice,7,,,1040,,"
    "\"Two deals slipped, the \"\"big\"\" ones\nsee CRM\"\n",
    "dau-up,2026-10-01,2,2026-10-12T09:50:00Z,bob,,at_risk,2026-10-26T06:00:00Z,,,\n",
]

JSON_ROWS = [
    {"key_result": "arr-up", "cycle_start": "2026-10-01", "seq": 1, "at": "2026-10-17T10:00:00Z",
     "author": "api", "confidence": 0, "status": None, "until": None, "value": 0.1,
     "grade": None, "comment": ""},
    {"key_result": "arr-up", "cycle_start": "2026-10-01", "seq": 2, "at": "2026-10-18T10:00:00Z",
     "author": "api", "confidence": 10, "status": "on_track", "until": "2026-10-30T00:00:00Z",
     "value": 1e21, "grade": None, "comment": "tab\there"},
    {"key_result": "dau-up", "cycle_start": "2026-07-01", "seq": 1, "at": "2026-09-30T10:40:00Z",
     "author": "carol", "confidence": None, "status": None, "until": None, "value": None,
     "grade": 0.7, "comment": "Q3: €1.2M, été"},
    {"key_result": "dau-up", "cycle_start": "2026-10-01", "seq": 1, "at": "2026-10-04T22:30:00Z",
     "author": "alice", "confidence": 7, "status": None, "until": None, "value": 1040,
     "grade": None, "comment": 'Two deals slipped, the "big" ones\nsee CRM'},
    {"key_result": "dau-up", "cycle_start": "2026-10-01", "seq": 2, "at": "2026-10-12T09:50:00Z",
     "author": "bob", "confidence": None, "status": "at_risk", "until": "2026-10-26T06:00:00Z",
     "value": None, "grade": None, "comment": None},
]


def store_with_checkins(args, wd):
    """A store made by okrd (ingest creates and migrates it), with ROWS."""
    state = os.path.join(wd.path, "state")
    cfg = wd.config({
        "daemon": {"state_dir": state, "listen": "", "timezone": "Europe/Berlin"},
        "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
    })
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops",
            wd.file("in.csv", "metric,date,value\ndau,2026-10-01,1000\n"))
    check(r.returncode == 0, f"ingest made the store: {r.returncode} {r.stderr}")
    db = StoreDb(wd, state)
    for row in ROWS:
        db.execute(f"INSERT INTO checkins({', '.join(COLUMNS)}) "
                   f"VALUES ({', '.join('?' * len(COLUMNS))})", row)
    return cfg


def export(args, cfg, *extra):
    """stdout as bytes, decoded strictly: no newline translation, no
    tolerance for invalid UTF-8."""
    r = subprocess.run([args.okrd, "export", "-c", cfg, *extra], capture_output=True, timeout=60)
    check(r.returncode == 0, f"export {extra}: exit {r.returncode}: {r.stderr!r}")
    return r.stdout.decode("utf-8")


def test_csv(args, wd):
    cfg = store_with_checkins(args, wd)
    out = export(args, cfg, "--check-ins")
    expected = CSV_HEADER + "".join(CSV_ROWS)
    check(out == expected, f"CSV output:\n{out!r}\nexpected:\n{expected!r}")
    # It reads back, field for field, with a standard CSV reader.
    rows = list(csv.reader(io.StringIO(out, newline="")))
    check(len(rows) == 6 and all(len(r) == 11 for r in rows), f"11 fields per row: {rows}")
    check(rows[4][10] == 'Two deals slipped, the "big" ones\nsee CRM', f"comment: {rows[4]}")
    check(rows[1][10] == "" and rows[5][10] == "", "an empty and an absent comment read as ''")

    # The points are still the points.
    r = run(args.okrd, "export", "-c", cfg)
    check(r.stdout == "metric,timestamp,value\ndau,2026-09-30T22:00:00Z,1000\n",
          f"plain export is unchanged: {r.stdout!r}")


def test_json(args, wd):
    cfg = store_with_checkins(args, wd)
    out = export(args, cfg, "--check-ins", "--json")
    check(json.loads(out) == JSON_ROWS, f"JSON document:\n{out}")
    # One object per line, keys in the documented order, like the points export.
    lines = out.split("\n")
    check(lines[0] == "[" and lines[-2] == "]" and lines[-1] == "" and len(lines) == 8,
          f"layout: {lines}")
    check(lines[1] == '  {"key_result": "arr-up", "cycle_start": "2026-10-01", "seq": 1, '
                      '"at": "2026-10-17T10:00:00Z", "author": "api", "confidence": 0, '
                      '"status": null, "until": null, "value": 0.1, "grade": null, '
                      '"comment": ""},', f"first line: {lines[1]!r}")
    check(lines[2].endswith('"value": 1e+21, "grade": null, "comment": "tab\\there"},'),
          f"shortest number form and escapes: {lines[2]!r}")
    check('"comment": "Q3: €1.2M, été"}' in lines[3], f"UTF-8 as is: {lines[3]!r}")


def test_from_to_and_empty(args, wd):
    cfg = store_with_checkins(args, wd)
    # --from is midnight in Berlin (22:00Z the day before): alice's 22:30Z
    # check-in is in; --to is exclusive: bob's at 09:50Z is out.
    out = export(args, cfg, "--check-ins", "--from", "2026-10-05", "--to", "2026-10-12T09:50:00Z")
    check(out == CSV_HEADER + CSV_ROWS[3], f"--from/--to on at:\n{out!r}")
    out = export(args, cfg, "--check-ins", "--from", "2026-10-12T09:50:00Z", "--to", "2026-10-18")
    check(out == CSV_HEADER + CSV_ROWS[0] + CSV_ROWS[4], f"--from inclusive:\n{out!r}")
    out = export(args, cfg, "--check-ins", "--json", "--from", "2027-01-01")
    check(out == "[]\n", f"nothing in range is an empty array: {out!r}")
    out = export(args, cfg, "--check-ins", "--to", "2026-01-01")
    check(out == CSV_HEADER, f"nothing in range is the header alone: {out!r}")

    r = run(args.okrd, "export", "-c", cfg, "--check-ins", "--metric", "dau")
    check(r.returncode == 2 and "--check-ins" in r.stderr, f"--metric with --check-ins: {r.stderr}")
    r = run(args.okrd, "export", "-c", cfg, "--check-ins", "--from", "soon")
    check(r.returncode == 2 and "--from" in r.stderr, f"bad --from: {r.stderr}")


def test_store_without_checkins(args, wd):
    """A store that never saw a check-in exports the header alone."""
    state = os.path.join(wd.path, "state")
    cfg = wd.config({"daemon": {"state_dir": state, "listen": ""},
                     "sources": [{"id": "drops", "type": "csv_dir",
                                  "path": os.path.join(wd.path, "inbox")}]})
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops",
            wd.file("in.csv", "metric,date,value\ndau,2026-10-01,1000\n"))
    check(r.returncode == 0, r.stderr)
    check(export(args, cfg, "--check-ins") == CSV_HEADER, "header only")
    check(export(args, cfg, "--check-ins", "--json") == "[]\n", "empty array")


if __name__ == "__main__":
    main([test_csv, test_json, test_from_to_and_empty, test_store_without_checkins])
