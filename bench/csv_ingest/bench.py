#!/usr/bin/env python3
"""bench/csv_ingest: a 1,000,000-row long-format CSV file (100 metrics, minute
timestamps) into a fresh store, three ways, in one run on one machine:

  (a) through the inbox of a running `okrd run` (rename() in, until the
      file_ingested log line), with the daemon's peak RSS (VmHWM);
  (b) `okrd ingest` of the same file, with its peak RSS (getrusage);
  (c) the reference: sqlite3's `.import` of the same file into an equivalent
      table `(metric TEXT, ts INTEGER, value REAL, PRIMARY KEY(metric, ts))
      WITHOUT ROWID`, WAL, synchronous=NORMAL, like okrd's store.

Prints rows/s of each and the ratio okrd / .import (goal >= 2.0, issue 13;
it was >= 1.0 in issue 5), and the peak RSS (goal < 64 MB: the file is streamed, never held whole). Asserts
nothing: see bench/README.md. Python 3 standard library only.

usage: bench.py --okrd PATH [--rows N] [--sqlite3 PATH] [--keep]
"""
import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time


def generate(path, rows):
    rng = random.Random(42)
    t0 = 1790000000
    with open(path, "w") as f:
        f.write("metric,timestamp,value\n")
        buf = []
        for i in range(rows):
            buf.append(f"metric_{i % 100:03d},{t0 + (i // 100) * 60},{rng.randint(0, 10**6) / 100}\n")
            if len(buf) == 10000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))


def write_config(work):
    cfg = os.path.join(work, "okrd.json")
    with open(cfg, "w") as f:
        json.dump({"daemon": {"state_dir": os.path.join(work, "state"), "listen": ""},
                   "sources": [{"id": "bench", "type": "csv_dir",
                                "path": os.path.join(work, "inbox")}]}, f)
    return cfg


def vm_hwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def bench_daemon(okrd, work, csv_path, rows):
    cfg = write_config(work)
    proc = subprocess.Popen([okrd, "run", "-c", cfg], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines, cond = [], threading.Condition()

    def reader():
        for line in proc.stderr:
            with cond:
                lines.append(line)
                cond.notify_all()
        with cond:
            cond.notify_all()

    threading.Thread(target=reader, daemon=True).start()

    def wait_for(needle, deadline):
        end = time.monotonic() + deadline
        with cond:
            while True:
                for line in lines:
                    if needle in line:
                        return line
                left = end - time.monotonic()
                if left <= 0 or proc.poll() is not None:
                    sys.exit(f"no log line with {needle!r}; log:\n{''.join(lines)}")
                cond.wait(left)

    try:
        wait_for("event=source_started", 30)
        idle_kb = vm_hwm_kb(proc.pid)
        staged = os.path.join(work, "bench.csv")
        shutil.copyfile(csv_path, staged)  # same file system as the inbox: rename is atomic
        t0 = time.monotonic()
        os.rename(staged, os.path.join(work, "inbox", "bench.csv"))
        line = wait_for("event=file_ingested", 600)
        took = time.monotonic() - t0
        peak_kb = vm_hwm_kb(proc.pid)
        if f"{rows} rows" not in line:
            sys.exit(f"unexpected outcome: {line}")
    finally:
        proc.terminate()
        proc.wait(30)
    return took, idle_kb, peak_kb


def bench_cli(okrd, work, csv_path, rows):
    cfg = write_config(work)
    t0 = time.monotonic()
    r = subprocess.run([okrd, "ingest", "-c", cfg, "--source", "bench", csv_path],
                       capture_output=True, text=True)
    took = time.monotonic() - t0
    if r.returncode != 0 or f"{rows} rows" not in r.stdout:
        sys.exit(f"okrd ingest failed: {r.returncode} {r.stdout} {r.stderr}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return took, peak_kb


def bench_sqlite(sqlite3, work, csv_path):
    db = os.path.join(work, "ref.db")
    script = (
        "PRAGMA journal_mode=WAL;\n"
        "PRAGMA synchronous=NORMAL;\n"
        "CREATE TABLE points (metric TEXT, ts INTEGER, value REAL,"
        " PRIMARY KEY (metric, ts)) WITHOUT ROWID;\n"
        f".import --csv --skip 1 '{csv_path}' points\n"
    )
    t0 = time.monotonic()
    r = subprocess.run([sqlite3, db], input=script, capture_output=True, text=True)
    took = time.monotonic() - t0
    if r.returncode != 0 or "error" in r.stderr.lower():
        sys.exit(f"sqlite3 failed: {r.stderr}")
    n = subprocess.run([sqlite3, db, "SELECT count(*) FROM points"], capture_output=True,
                       text=True).stdout.strip()
    return took, int(n)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--okrd", required=True)
    p.add_argument("--rows", type=int, default=1000000)
    p.add_argument("--sqlite3", default=shutil.which("sqlite3") or "sqlite3")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="okrd-bench-csv-")
    try:
        csv_path = os.path.join(work, "input.csv")
        generate(csv_path, a.rows)
        size_mb = os.path.getsize(csv_path) / 1e6
        print(f"input: {a.rows} rows, {size_mb:.1f} MB, 100 metrics, minute timestamps")

        ref_s, ref_rows = bench_sqlite(a.sqlite3, os.path.join(work), csv_path)
        if ref_rows != a.rows:
            sys.exit(f".import stored {ref_rows} rows, want {a.rows}")

        d_work = os.path.join(work, "daemon")
        os.makedirs(d_work)
        d_s, idle_kb, peak_kb = bench_daemon(a.okrd, d_work, csv_path, a.rows)

        c_work = os.path.join(work, "cli")
        os.makedirs(c_work)
        c_s, c_peak_kb = bench_cli(a.okrd, c_work, csv_path, a.rows)

        ref_rate = a.rows / ref_s
        print(f"sqlite3 .import (reference):  {ref_s:6.2f} s  {ref_rate:10,.0f} rows/s")
        print(f"okrd run, inbox drop:         {d_s:6.2f} s  {a.rows / d_s:10,.0f} rows/s"
              f"  ratio {a.rows / d_s / ref_rate:.2f}"
              f"  daemon peak RSS {peak_kb / 1024:.1f} MB (idle {idle_kb / 1024:.1f} MB)")
        print(f"okrd ingest:                  {c_s:6.2f} s  {a.rows / c_s:10,.0f} rows/s"
              f"  ratio {a.rows / c_s / ref_rate:.2f}  peak RSS {c_peak_kb / 1024:.1f} MB")
        print("goals: ratio >= 2.0 (okrd parses, validates and upserts; .import only inserts),"
              " peak RSS < 64 MB")
    finally:
        if a.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
