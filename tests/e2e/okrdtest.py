"""Shared helpers for okrd's end-to-end tests (Python 3 standard library only).

Every test starts the real okrd binary (given as --okrd PATH) against real
files and local processes on 127.0.0.1. Waiting is always for an event (a
notify message, a log line, a file) with a deadline, never a fixed sleep.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

DEADLINE = 15.0  # seconds: generous for a loaded 2-core CI machine


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--okrd", required=True, help="path to the okrd binary")
    p.add_argument("--keep", action="store_true", help="keep the temp dir")
    return p.parse_args()


class TestFailure(Exception):
    pass


class Skip(Exception):
    """Raised by a test whose peer (a Debian or npm program) is not installed;
    CI installs every peer, so a skip there is a missing install step."""


def skip(why):
    raise Skip(why)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


class Workdir:
    """A fresh temp dir with helpers to write configs and files."""

    def __init__(self, keep=False):
        self.path = tempfile.mkdtemp(prefix="okrd-e2e-")
        self.keep = keep

    def file(self, name, text):
        p = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p + ".tmp", "w") as f:
            f.write(text)
        os.replace(p + ".tmp", p)  # atomic: a reload never sees half a file
        return p

    def config(self, obj, name="okrd.json"):
        return self.file(name, json.dumps(obj, indent=2) + "\n")

    def close(self):
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)


class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []

    def wait_for(self, pred, what, deadline=DEADLINE):
        """Returns the first message (a dict of KEY=VALUE) since the last call
        for which pred(msg) is true."""
        end = time.monotonic() + deadline
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TestFailure(f"timed out after {deadline}s waiting for {what}; "
                                  f"notify messages so far: {self.messages}")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            msg = dict(line.split("=", 1) for line in data.split("\n") if "=" in line)
            msg["_t"] = time.monotonic()  # arrival time, for tests of intervals
            self.messages.append(msg)
            if pred(msg):
                return msg

    def close(self):
        self.sock.close()


class Daemon:
    """okrd run, with stderr collected line by line on a thread."""

    def __init__(self, okrd, config, env=None):
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        e.pop("WATCHDOG_USEC", None)
        e.pop("JOURNAL_STREAM", None)
        e.update(env or {})
        self.proc = subprocess.Popen([okrd, "run", "-c", config], env=e,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.seen = 0

    def _read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_log(self, needle, deadline=DEADLINE):
        """Waits for a log line (after the previous match) containing every
        string in needle (a str or a list); returns it."""
        needles = [needle] if isinstance(needle, str) else needle
        end = time.monotonic() + deadline
        with self.cond:
            while True:
                for i in range(self.seen, len(self.lines)):
                    if all(n in self.lines[i] for n in needles):
                        self.seen = i + 1
                        return self.lines[i]
                left = end - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    raise TestFailure(f"no log line with {needles} within {deadline}s; "
                                      f"log:\n" + "\n".join(self.lines))
                self.cond.wait(left)

    def log(self):
        with self.cond:
            return "\n".join(self.lines)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, deadline=5.0):
        """SIGTERM and wait; returns (exit code, seconds taken)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(deadline)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise TestFailure(f"okrd did not exit within {deadline}s of SIGTERM; log:\n" + self.log())
        self.reader.join(5)
        return code, time.monotonic() - t0

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run(okrd, *args, env=None, input=None):
    """Runs an okrd command; returns CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([okrd, *args], env=e, input=input, capture_output=True,
                          text=True, timeout=120)


def main(tests):
    """Runs each test function(args, workdir); prints a line per test;
    exit 1 if any failed."""
    args = parse_args()
    failed = 0
    for t in tests:
        wd = Workdir(args.keep)
        t0 = time.monotonic()
        try:
            t(args, wd)
            print(f"ok   {t.__name__} ({time.monotonic() - t0:.2f}s)")
        except Skip as e:
            print(f"SKIP {t.__name__}: {e}")
        except Exception as e:  # report every failure, go on with the next test
            failed += 1
            print(f"FAIL {t.__name__}: {type(e).__name__}: {e}")
        finally:
            wd.close()
    print(f"{len(tests) - failed}/{len(tests)} passed")
    sys.exit(1 if failed else 0)
