"""Log injection (issue 12, item 10): file names are attacker-chosen text.

CSV files whose names hold CR, ESC, BEL, a C1 control and invalid UTF-8 are
dropped into a csv_dir inbox of the real okrd (one good, one rejected).
stderr is read as raw bytes (Python's text mode would turn a raw CR into a
line break and hide it): every line must be valid UTF-8 without any control
character but its final newline, no forged line may appear, and the names
must show in the documented \\xNN form."""
import json
import os
import signal
import subprocess
import time

from okrdtest import DEADLINE, TestFailure, check, main

GOOD = b"evil\r\x1b[2Kts=0 level=error event=forged\xff.csv"
BAD = b"bad\x1b]0;owned\x07\xc2\x9b\xed\xa0\x80.csv"


def wait_bytes(path, needle, proc, deadline=DEADLINE):
    end = time.monotonic() + deadline
    while True:
        with open(path, "rb") as f:
            data = f.read()
        if needle in data:
            return data
        if time.monotonic() > end or proc.poll() is not None:
            raise TestFailure(f"no {needle!r} in the log within {deadline}s:\n{data!r}")
        time.sleep(0.05)


def bad_lines(data):
    """The log lines that carry raw control bytes or invalid UTF-8."""
    out = []
    for line in data.split(b"\n")[:-1]:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            out.append(line)
            continue
        if any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in text):
            out.append(line)
    return out


def test_control_bytes_in_file_names(args, wd):
    inbox = os.path.join(wd.path, "inbox")
    os.makedirs(inbox)
    cfg = wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": "",
                   "log_level": "debug"},
        "sources": [{"id": "drops", "type": "csv_dir", "path": inbox, "rescan": "1s",
                     "settle": "100ms"}]})
    log_path = os.path.join(wd.path, "stderr.log")
    env = dict(os.environ)
    for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM"):
        env.pop(k, None)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([args.okrd, "run", "-c", cfg], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=log)
    try:
        wait_bytes(log_path, b"event=source_started source=drops", proc)
        for name, text in ((GOOD, b"metric,date,value\ndau,2026-11-01,1000\n"),
                           (BAD, b"not,a\ncsv file at all\x00\x01")):
            tmp = os.path.join(os.fsencode(wd.path), b"drop.tmp")
            with open(tmp, "wb") as f:
                f.write(text)
            os.rename(tmp, os.path.join(os.fsencode(inbox), name))
        wait_bytes(log_path, b"event=file_ingested", proc)
        wait_bytes(log_path, b"event=file_rejected", proc)
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(10) == 0, "exit 0 on SIGTERM")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with open(log_path, "rb") as f:
        data = f.read()
    check(data.endswith(b"\n"), "the log ends with a whole line")
    bad = bad_lines(data)
    check(not bad, "raw control bytes or invalid UTF-8 in:\n" + "\n".join(map(repr, bad)))
    lines = data.decode("utf-8").split("\n")[:-1]
    check(all(l.startswith("ts=") for l in lines),
          "every line is a real log line (none forged):\n" + "\n".join(lines))
    ingested = [l for l in lines if "event=file_ingested" in l]
    check(len(ingested) == 1 and
          r"evil\x0d\x1b[2Kts=0 level=error event=forged\xff.csv" in ingested[0],
          f"the good file's name, escaped: {ingested}")
    rejected = [l for l in lines if "event=file_rejected" in l]
    check(len(rejected) == 1 and r"bad\x1b]0;owned\x07\xc2\x9b\xed\xa0\x80.csv" in rejected[0],
          f"the rejected file's name, escaped: {rejected}")


if __name__ == "__main__":
    main([test_control_bytes_in_file_names])
