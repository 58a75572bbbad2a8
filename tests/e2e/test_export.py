"""okrd ingest and okrd export: what goes in comes out, sorted, exactly, and
export's output ingests back unchanged into an empty store (DESIGN section 6)."""
import json
import os

from okrdtest import check, main, run


def config(wd, name, state):
    return wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, state), "listen": "", "timezone": "Europe/Berlin"},
        "sources": [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}],
    }, name)


INPUT = """metric,date,value
dau,2026-11-02,1040
wau,2026-11-01,7000.5
dau,2026-11-01,1000
dau,2026-11-03T10:30:00Z,0.1
churn_rate,2026-11-01,5.25
dau,2026-11-02,1041
big,2026-11-01,1e21
tiny,2026-11-01,-0.000123
"""


def test_roundtrip(args, wd):
    cfg = config(wd, "a.json", "state-a")
    csv = wd.file("in.csv", INPUT)
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", csv)
    check(r.returncode == 0, f"ingest exit 0: {r.returncode} {r.stdout} {r.stderr}")
    check("in.csv" in r.stdout and "8 rows" in r.stdout, f"one summary line per file: {r.stdout!r}")

    r = run(args.okrd, "export", "-c", cfg)
    check(r.returncode == 0, f"export exit 0: {r.stderr}")
    # Dates are midnight in Europe/Berlin (UTC+1 in November): 23:00Z the day before.
    expected = ("metric,timestamp,value\n"
                "big,2026-10-31T23:00:00Z,1e+21\n"
                "churn_rate,2026-10-31T23:00:00Z,5.25\n"
                "dau,2026-10-31T23:00:00Z,1000\n"
                "dau,2026-11-01T23:00:00Z,1041\n"       # the later row wins
                "dau,2026-11-03T10:30:00Z,0.1\n"
                "tiny,2026-10-31T23:00:00Z,-0.000123\n"
                "wau,2026-10-31T23:00:00Z,7000.5\n")
    check(r.stdout == expected, f"export output:\n{r.stdout}\nexpected:\n{expected}")

    # Into an empty store through a source with default options, and out again.
    cfg_b = config(wd, "b.json", "state-b")
    dump = wd.file("dump.csv", r.stdout)
    r2 = run(args.okrd, "ingest", "-c", cfg_b, "--source", "drops", dump)
    check(r2.returncode == 0, f"re-ingest: {r2.stderr}")
    r3 = run(args.okrd, "export", "-c", cfg_b)
    check(r3.stdout == r.stdout, f"round trip changed the data:\n{r3.stdout}")


def test_filters_and_json(args, wd):
    cfg = config(wd, "a.json", "state")
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("in.csv", INPUT))
    check(r.returncode == 0, r.stderr)
    r = run(args.okrd, "export", "-c", cfg, "--metric", "dau", "--metric", "wau",
            "--from", "2026-11-02", "--to", "2026-11-03T10:30:00Z")
    check(r.returncode == 0, r.stderr)
    check(r.stdout == "metric,timestamp,value\ndau,2026-11-01T23:00:00Z,1041\n",
          f"--from inclusive (Berlin midnight), --to exclusive, --metric filters:\n{r.stdout}")
    r = run(args.okrd, "export", "-c", cfg, "--json", "--metric", "dau")
    check(r.returncode == 0, r.stderr)
    doc = json.loads(r.stdout)
    check(doc == [{"metric": "dau", "timestamp": "2026-10-31T23:00:00Z", "value": 1000},
                  {"metric": "dau", "timestamp": "2026-11-01T23:00:00Z", "value": 1041},
                  {"metric": "dau", "timestamp": "2026-11-03T10:30:00Z", "value": 0.1}],
          f"--json document: {doc}")
    r = run(args.okrd, "export", "-c", cfg, "--json", "--metric", "nope")
    check(r.returncode == 0 and json.loads(r.stdout) == [], f"empty JSON array: {r.stdout!r}")
    r = run(args.okrd, "export", "-c", cfg, "--from", "yesterday")
    check(r.returncode == 2 and "--from" in r.stderr, f"bad --from is a usage error: {r.stderr}")
    r = run(args.okrd, "export", "-c", cfg, "--metric", "bad id")
    check(r.returncode == 2, f"bad --metric is a usage error: {r.stderr}")


def test_rejected_file_stores_nothing(args, wd):
    cfg = config(wd, "a.json", "state")
    ok = wd.file("ok.csv", "metric,date,value\ndau,2026-11-01,5\n")
    check(run(args.okrd, "ingest", "-c", cfg, "--source", "drops", ok).returncode == 0, "good file")
    bad = wd.file("bad.csv", "metric,date,value\ndau,2026-11-02,6\ndau,2026-02-30,7\nwau,2026-11-02,abc\n")
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", bad)
    check(r.returncode == 1, f"a rejected file exits 1: {r.returncode} {r.stdout} {r.stderr}")
    check("bad.csv" in r.stdout and "rejected" in r.stdout, f"summary says rejected: {r.stdout!r}")
    check("bad.csv:3:" in r.stderr and "bad.csv:4:3:" in r.stderr,
          f"errors name file:row:column: {r.stderr!r}")
    r = run(args.okrd, "export", "-c", cfg)
    check(r.stdout == "metric,timestamp,value\ndau,2026-10-31T23:00:00Z,5\n",
          f"nothing of the rejected file stored: {r.stdout!r}")
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "nope", ok)
    check(r.returncode == 2 and "nope" in r.stderr, f"unknown source: {r.returncode} {r.stderr}")
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", os.path.join(wd.path, "missing.csv"))
    check(r.returncode == 1 and "missing.csv" in r.stderr, f"missing file: {r.returncode} {r.stderr}")


def test_read_only_commands(args, wd):
    cfg = config(wd, "a.json", "state")
    r = run(args.okrd, "export", "-c", cfg)
    check(r.returncode == 3 and "no store" in r.stderr, f"export without a store: {r.returncode} {r.stderr}")
    check(not os.path.exists(os.path.join(wd.path, "state")), "export created nothing")
    run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file("in.csv", INPUT))
    before = sorted(os.listdir(os.path.join(wd.path, "state")))
    # status/export resolve no secrets: a missing ${env:} in a secret field is fine for them
    with open(cfg) as f:
        doc = json.load(f)
    doc["daemon"]["api_token"] = "${env:OKRD_TEST_UNSET_TOKEN}"
    cfg2 = wd.config(doc, "a.json")
    env = {k: v for k, v in os.environ.items() if k != "OKRD_TEST_UNSET_TOKEN"}
    r = run(args.okrd, "export", "-c", cfg2, env=env)
    check(r.returncode == 0, f"export resolves no secrets: {r.stderr}")
    r = run(args.okrd, "check", "-c", cfg2, env=env)
    check(r.returncode == 1 and "OKRD_TEST_UNSET_TOKEN" in r.stderr, f"check does: {r.stderr}")
    after = sorted(os.listdir(os.path.join(wd.path, "state")))
    check(before == after, f"read-only commands created no files: {before} -> {after}")


if __name__ == "__main__":
    main([test_roundtrip, test_filters_and_json, test_rejected_file_stores_nothing,
          test_read_only_commands])
