"""Every CSV fixture in tests/fixtures/csv/ through the real binary.

A fixture is a file there that is not a sidecar; its stem (the name up to the
first dot) names its sidecars:
  STEM.options.json  {"timezone": daemon.timezone (default UTC),
                      "source": the csv_dir source's options} (optional)
  STEM.expected      a good file: the exact points `okrd export` must print
                     after `okrd ingest` (metric,timestamp-UTC,value lines,
                     sorted as export sorts them, without its header)
  STEM.report.json   a bad file: the report it must be rejected with
                     ({"file", "errors": [{row, column, value, reason}],
                     "rows_read", "rows_ok"}); `okrd ingest` must exit 1, print
                     exactly those errors on stderr, and leave the store as it
                     was (`okrd export` unchanged)
tests/unit/test_csv_fixtures.c reads the same files with the reader itself
and checks the JSON report byte for byte; this test checks the commands.

Also `okrd ingest`'s progress line: on a terminal (a pty) for a file over
10 MB, never on a pipe.
"""
import json
import os
import pty
import re
import select
import subprocess
import time

from okrdtest import DEADLINE, check, main, run

FIXTURES = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         "..", "fixtures", "csv"))
SIDECARS = (".expected", ".options.json", ".report.json")
EXPORT_HEADER = "metric,timestamp,value\n"
# Something already stored before a bad file comes, so "unchanged" means more
# than "still empty".
BASELINE = "metric,date,value\ndau,2025-01-01,7\nbaseline,2025-01-02,1.5\n"


def fixtures():
    """(file name, stem) of every fixture, sorted."""
    for name in sorted(os.listdir(FIXTURES)):
        if not name.endswith(SIDECARS):
            yield name, name.split(".", 1)[0]


def sidecar(stem, ext):
    p = os.path.join(FIXTURES, stem + ext)
    return p if os.path.exists(p) else None


def config(wd, stem):
    opts = {}
    if sidecar(stem, ".options.json"):
        with open(sidecar(stem, ".options.json"), encoding="utf-8") as f:
            opts = json.load(f)
    src = {"id": "fx", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}
    src.update(opts.get("source", {}))
    return wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state-" + stem), "listen": "",
                   "timezone": opts.get("timezone", "UTC")},
        "sources": [src],
    }, stem + ".json")


def export(args, cfg):
    r = run(args.okrd, "export", "-c", cfg)
    check(r.returncode == 0, f"okrd export: exit {r.returncode}: {r.stderr}")
    return r.stdout


def stderr_line(e):
    """How `okrd ingest` prints one report error (after "FILE:")."""
    if e["column"] is None:
        return f"{e['row']}: {e['reason']}"
    return f"{e['row']}:{e['column']}: {e['reason']} (value \"{e['value']}\")"


def test_every_fixture_has_one_answer(args, wd):
    names = set(os.listdir(FIXTURES))
    stems = {stem for _, stem in fixtures()}
    check(len(stems) >= 20, f"the fixtures are missing: {FIXTURES} has {sorted(names)}")
    for name, stem in fixtures():
        answers = [ext for ext in (".expected", ".report.json") if sidecar(stem, ext)]
        check(len(answers) == 1, f"{name}: wants exactly one of {stem}.expected or "
                                 f"{stem}.report.json, has {answers}")
        check(stem.startswith("bad_") == (answers[0] == ".report.json"),
              f"{name}: bad_* fixtures (and only they) have a report")
    for n in names:
        if n.endswith(SIDECARS):
            check(n.split(".", 1)[0] in stems, f"{n}: a sidecar without a fixture")


def test_good_fixtures(args, wd):
    failures = []
    n = 0
    for name, stem in fixtures():
        if not sidecar(stem, ".expected"):
            continue
        n += 1
        with open(sidecar(stem, ".expected"), encoding="utf-8") as f:
            expected = EXPORT_HEADER + f.read()
        cfg = config(wd, stem)
        r = run(args.okrd, "ingest", "-c", cfg, "--source", "fx", os.path.join(FIXTURES, name))
        if r.returncode != 0 or r.stderr:
            failures.append(f"{name}: ingest exit {r.returncode}, stderr:\n{r.stderr}")
            continue
        got = export(args, cfg)
        if got != expected:
            failures.append(f"{name}: export printed\n{got}expected\n{expected}")
    check(n >= 10, f"only {n} good fixtures found in {FIXTURES}")
    check(not failures, "\n".join(failures))


def test_bad_fixtures(args, wd):
    failures = []
    n = 0
    base = wd.file("baseline.csv", BASELINE)
    for name, stem in fixtures():
        if not sidecar(stem, ".report.json"):
            continue
        n += 1
        with open(sidecar(stem, ".report.json"), encoding="utf-8") as f:
            report = json.load(f)
        cfg = config(wd, stem)
        r = run(args.okrd, "ingest", "-c", cfg, "--source", "fx", base)
        check(r.returncode == 0, f"{name}: the baseline: {r.stderr}")
        before = export(args, cfg)
        path = os.path.join(FIXTURES, name)
        r = run(args.okrd, "ingest", "-c", cfg, "--source", "fx", path)
        want = [f"{path}:{stderr_line(e)}" for e in report["errors"]]
        got = r.stderr.splitlines()
        summary = (f"{path}: rejected, {report['rows_read']} rows read, "
                   f"{len(report['errors'])} errors, nothing stored\n")
        if r.returncode != 1:
            failures.append(f"{name}: exit {r.returncode}, want 1")
        if got != want:
            failures.append(f"{name}: stderr\n" + "\n".join(got) + "\nwant\n" + "\n".join(want))
        if r.stdout != summary:
            failures.append(f"{name}: stdout {r.stdout!r}, want {summary!r}")
        after = export(args, cfg)
        if after != before:
            failures.append(f"{name}: the store changed:\n{after}was\n{before}")
    check(n >= 8, f"only {n} bad fixtures found in {FIXTURES}")
    check(not failures, "\n".join(failures))


def test_late_nul_stores_nothing_even_with_skip_row(args, wd):
    """A NUL byte far into a file (past the first 8000 bytes, after 600 good
    rows) rejects it whole: on_error skip_row keeps good rows, not files
    that are not text."""
    cfg = wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": ""},
        "sources": [{"id": "fx", "type": "csv_dir", "path": os.path.join(wd.path, "inbox"),
                     "on_error": "skip_row"}],
    })
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "fx", wd.file("baseline.csv", BASELINE))
    check(r.returncode == 0, r.stderr)
    before = export(args, cfg)
    rows = "".join(f"dau,2026-11-01T00:{i // 60:02d}:{i % 60:02d}Z,{i}\n" for i in range(600))
    path = wd.file("late.csv", "metric,timestamp,value\n" + rows + "dau,2026-11-02,1\0\n")
    check(os.path.getsize(path) > 8000, "the NUL must come after the text probe")
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "fx", path)
    check(r.returncode == 1, f"exit {r.returncode}: {r.stdout} {r.stderr}")
    check(r.stderr == f"{path}:602: not a text file: NUL byte at line 602\n", r.stderr)
    check(export(args, cfg) == before, "nothing of the file was stored")


# ---- the progress line ----

BIG_MIN = 11 * 1024 * 1024  # over 10 MB however one counts a megabyte
PROGRESS = re.compile(r"big\.csv: (\d+)% \((\d+\.\d) of (\d+\.\d) MB\)")


def big_file(wd):
    """A long-layout file of just over 11 MiB, written in one go."""
    lines = ["metric,timestamp,value\n"]
    size = len(lines[0])
    i = 0
    while size < BIG_MIN:
        line = f"m{i % 100},{1790000000 + 60 * (i // 100)},{i}\n"
        lines.append(line)
        size += len(line)
        i += 1
    return wd.file("big.csv", "".join(lines)), i


def run_on_pty(argv, deadline=DEADLINE * 4):
    """Runs argv with stdout and stderr on a new pty; returns (exit code,
    everything the terminal got)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    end = time.monotonic() + deadline
    try:
        while True:
            left = end - time.monotonic()
            check(left > 0, f"{argv} did not finish within {deadline}s; so far: {out[-500:]!r}")
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            out += data
        code = proc.wait(deadline)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return code, out.decode("utf-8", "replace")


def test_progress_on_a_terminal(args, wd):
    cfg = config(wd, "big")
    big, rows = big_file(wd)
    code, out = run_on_pty([args.okrd, "ingest", "-c", cfg, "--source", "fx", big])
    check(code == 0, f"exit {code}: {out[-500:]!r}")
    shown = PROGRESS.findall(out)
    check(shown, f"no progress line on the terminal: {out[-500:]!r}")
    total = f"{os.path.getsize(big) / 1e6:.1f}"
    check(all(t == total for _, _, t in shown), f"the total is the file's size, {total} MB: {shown}")
    pcts = [int(p) for p, _, _ in shown]
    check(pcts == sorted(pcts) and pcts[-1] == 100, f"percentages rise to 100: {pcts}")
    check(len(shown) <= 101, f"at most one line per 1%: {len(shown)}")
    # The line is redrawn in place (\r) and ended before the summary.
    summary = f"{big}: ingested, {rows} rows, {rows} points stored"
    check(re.search(r"\rbig\.csv: \d+%", out.replace(big, "big.csv")) is not None,
          f"redrawn with a carriage return: {out[-300:]!r}")
    check(re.search(r"MB\)\r?\n" + re.escape(summary), out) is not None,
          f"the progress line ends before the summary: {out[-300:]!r}")


def test_no_progress_without_a_terminal(args, wd):
    cfg = config(wd, "big")
    big, rows = big_file(wd)
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "fx", big)
    check(r.returncode == 0, f"exit {r.returncode}: {r.stderr}")
    check(r.stderr == "", f"no progress on a pipe: {r.stderr[:300]!r}")
    check(r.stdout == f"{big}: ingested, {rows} rows, {rows} points stored\n", r.stdout)


def test_no_progress_for_small_files(args, wd):
    cfg = config(wd, "small")
    small = wd.file("small.csv", "metric,date,value\ndau,2026-11-01,1\n")
    code, out = run_on_pty([args.okrd, "ingest", "-c", cfg, "--source", "fx", small])
    check(code == 0, out)
    check("%" not in out and "\r\n" in out and out.count("\n") == 1,
          f"a small file prints its summary only: {out!r}")


if __name__ == "__main__":
    main([test_every_fixture_has_one_answer, test_good_fixtures, test_bad_fixtures,
          test_late_nul_stores_nothing_even_with_skip_row, test_progress_on_a_terminal, test_no_progress_without_a_terminal,
          test_no_progress_for_small_files])
