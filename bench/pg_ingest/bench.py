#!/usr/bin/env python3
"""bench/pg_ingest: a 1,000,000-row long-format CSV file (100 metrics, minute
timestamps; the file of bench/csv_ingest) into PostgreSQL, two ways, in one
run on one machine, each into a fresh database of the same server:

  (a) `okrd ingest` into a PostgreSQL store (store.backend postgresql): it
      parses, validates and upserts (metric ids, points, metric sources, the
      ingest log) in one transaction;
  (b) the reference: `psql -c "\\copy points FROM FILE (FORMAT csv, HEADER)"`
      into an equivalent table `points (metric text COLLATE "C", ts bigint,
      value double precision, PRIMARY KEY (metric, ts))`.

Prints rows/s of each and the ratio \\copy time / okrd time (goal >= 0.8,
issue 16). Asserts nothing: see bench/README.md. Python 3 standard library.

The server: --pg CONNINFO (any database of it; the bench creates and drops
its own two databases), else a throw-away one started with tests/pg/pgserver
on --port (default 15550) and stopped at the end.

usage: bench.py --okrd PATH [--rows N] [--pg CONNINFO | --port N] [--keep]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "csv_ingest"))
from bench import generate  # noqa: E402  (the same input as bench/csv_ingest)

PG_BINDIR = os.environ.get("OKRD_PG_BINDIR", "/usr/lib/postgresql/15/bin")


def psql(conninfo, *args, dbname=None):
    if dbname:
        conninfo = " ".join([w for w in conninfo.split() if not w.startswith("dbname=")] +
                            [f"dbname={dbname}"])
    r = subprocess.run([os.path.join(PG_BINDIR, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-d", conninfo, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"psql {' '.join(args)}: {r.stderr}")
    return r.stdout


def fresh_db(conninfo, name):
    psql(conninfo, "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', dbname="postgres")
    psql(conninfo, "-c", f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0",
         dbname="postgres")


def bench_copy(conninfo, csv_path):
    fresh_db(conninfo, "okrd_bench_ref")
    psql(conninfo, "-c", 'CREATE TABLE points (metric text COLLATE "C", ts bigint, '
         "value double precision, PRIMARY KEY (metric, ts))", dbname="okrd_bench_ref")
    t0 = time.monotonic()
    psql(conninfo, "-c", f"\\copy points FROM '{csv_path}' WITH (FORMAT csv, HEADER true)",
         dbname="okrd_bench_ref")
    took = time.monotonic() - t0
    n = int(psql(conninfo, "-A", "-t", "-c", "SELECT count(*) FROM points",
                 dbname="okrd_bench_ref").strip())
    return took, n


def bench_okrd(okrd, work, conninfo, csv_path, rows):
    fresh_db(conninfo, "okrd_bench_store")
    url = " ".join([w for w in conninfo.split() if not w.startswith("dbname=")] +
                   ["dbname=okrd_bench_store"])
    cfg = os.path.join(work, "okrd.json")
    with open(cfg, "w") as f:
        json.dump({"daemon": {"state_dir": os.path.join(work, "state"), "listen": ""},
                   "store": {"backend": "postgresql", "url": url},
                   "sources": [{"id": "bench", "type": "csv_dir",
                                "path": os.path.join(work, "inbox")}]}, f)
    # The schema is created by a first, one-row ingest (another metric), so
    # the figure is the file's alone.
    warm = os.path.join(work, "warm.csv")
    with open(warm, "w") as f:
        f.write("metric,timestamp,value\nwarm_up,1790000000,1\n")
    r = subprocess.run([okrd, "ingest", "-c", cfg, "--source", "bench", warm],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"okrd ingest (warm-up) failed: {r.returncode} {r.stdout} {r.stderr}")
    t0 = time.monotonic()
    r = subprocess.run([okrd, "ingest", "-c", cfg, "--source", "bench", csv_path],
                       capture_output=True, text=True)
    took = time.monotonic() - t0
    if r.returncode != 0 or f"{rows} rows" not in r.stdout:
        sys.exit(f"okrd ingest failed: {r.returncode} {r.stdout} {r.stderr}")
    return took


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--okrd", required=True)
    p.add_argument("--rows", type=int, default=1000000)
    p.add_argument("--pg", help="conninfo of a running server (default: start one)")
    p.add_argument("--port", type=int, default=15550)
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="okrd-bench-pg-")
    os.chmod(work, 0o755)  # the server (user postgres) reads nothing here; psql does
    server = None
    try:
        conninfo = a.pg
        if not conninfo:
            server = os.path.join(work, "pg")
            r = subprocess.run([os.path.join(ROOT, "tests", "pg", "pgserver"), "start", server,
                                "--port", str(a.port)], capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"pgserver start: {r.stdout}{r.stderr}")
            conninfo = subprocess.run([os.path.join(ROOT, "tests", "pg", "pgserver"), "conninfo",
                                       server, "--port", str(a.port)], capture_output=True,
                                      text=True).stdout.strip()
        csv_path = os.path.join(work, "input.csv")
        generate(csv_path, a.rows)
        size_mb = os.path.getsize(csv_path) / 1e6
        print(f"input: {a.rows} rows, {size_mb:.1f} MB, 100 metrics, minute timestamps")
        ref_s, ref_rows = bench_copy(conninfo, csv_path)
        if ref_rows != a.rows:
            sys.exit(f"\\copy stored {ref_rows} rows, want {a.rows}")
        okrd_s = bench_okrd(a.okrd, work, conninfo, csv_path, a.rows)
        print(f"psql \\copy (reference):  {ref_s:6.2f} s  {a.rows / ref_s:10,.0f} rows/s")
        print(f"okrd ingest, PostgreSQL:  {okrd_s:6.2f} s  {a.rows / okrd_s:10,.0f} rows/s"
              f"  ratio {ref_s / okrd_s:.2f} of \\copy")
        print("goal: ratio >= 0.8 (okrd parses, validates and upserts; \\copy only inserts)")
    finally:
        if server:
            subprocess.run([os.path.join(ROOT, "tests", "pg", "pgserver"), "stop", server],
                           capture_output=True)
        if a.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
