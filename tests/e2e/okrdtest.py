"""Shared helpers for okrd's end-to-end tests (Python 3 standard library only).

Every test starts the real okrd binary (given as --okrd PATH) against real
files and local processes on 127.0.0.1. Waiting is always for an event (a
notify message, a log line, a file) with a deadline, never a fixed sleep.
"""
import argparse
import atexit
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


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPENAPI = os.path.join(REPO, "docs", "openapi.yaml")
NPM_PACKAGES = ("@redocly/cli", "ajv", "ajv-formats")


def node_modules():
    """The npm packages the tests use (scripts/test installs them into
    build/e2e-node): $OKRD_NODE_MODULES, else e2e-node/node_modules beside
    the okrd binary given as --okrd."""
    if os.environ.get("OKRD_NODE_MODULES"):
        return os.environ["OKRD_NODE_MODULES"]
    okrd = next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == "--okrd"), None)
    okrd = okrd or next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--okrd=")), "")
    return os.path.join(os.path.dirname(os.path.abspath(okrd)), "e2e-node", "node_modules")


def redocly(*args, cwd=REPO):
    """Runs the npm @redocly/cli; returns CompletedProcess (text)."""
    mods = node_modules()
    bin_ = os.path.join(mods, "@redocly", "cli", "bin", "cli.js")
    node = shutil.which("node") or shutil.which("nodejs")
    if not node or not os.path.exists(bin_):
        raise TestFailure(f"node or the npm @redocly/cli is missing (looked in {mods}); "
                          "scripts/test installs it into build/e2e-node, or set OKRD_NODE_MODULES")
    env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
               NO_COLOR="1")
    return subprocess.run([node, bin_, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


class OpenApiValidator:
    """tests/e2e/openapi_validate.js, started once: docs/openapi.yaml is
    bundled to JSON by redocly, then every answer is sent over a pipe and
    checked against the schema of its path, method and status. Without node,
    ajv, ajv-formats or @redocly/cli this FAILS (never skips): the check is
    what keeps the document true."""

    def __init__(self, spec=OPENAPI):
        mods = node_modules()
        missing = [p for p in NPM_PACKAGES if not os.path.isdir(os.path.join(mods, p))]
        node = shutil.which("node") or shutil.which("nodejs")
        if not node or missing:
            raise TestFailure(f"cannot check answers against docs/openapi.yaml: "
                              f"{'node' if not node else ', '.join(missing)} missing (looked in "
                              f"{mods}); scripts/test installs them into build/e2e-node, or set "
                              "OKRD_NODE_MODULES")
        self.dir = tempfile.mkdtemp(prefix="okrd-openapi-")
        bundle = os.path.join(self.dir, "openapi.json")
        r = redocly("bundle", os.path.abspath(spec), "--output", bundle)
        if r.returncode != 0 or not os.path.exists(bundle):
            raise TestFailure(f"redocly bundle {spec} failed:\n{r.stdout}{r.stderr}")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "openapi_validate.js")
        self.proc = subprocess.Popen([node, script, bundle], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=dict(os.environ, NODE_PATH=mods))
        first = self.proc.stdout.readline()
        if first.strip() != "ready":
            self.proc.wait(10)
            raise TestFailure(f"openapi_validate.js did not start: {first}{self.proc.stderr.read()}")
        self.lock = threading.Lock()

    def check(self, method, path, status, headers, body):
        """None if the answer matches the document, else ajv's (or the
        validator's) reason."""
        ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
        text = None
        if ctype == "application/json" and body:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as e:
                return f"a JSON body that is not UTF-8: {e}"
        msg = json.dumps({"method": method, "path": path.split("?", 1)[0], "status": status,
                          "headers": headers, "body": text})
        with self.lock:
            if self.proc.poll() is not None:
                return f"openapi_validate.js has exited: {self.proc.stderr.read()}"
            self.proc.stdin.write(msg + "\n")
            self.proc.stdin.flush()
            reply = self.proc.stdout.readline()
        if not reply:
            return f"openapi_validate.js stopped answering: {self.proc.stderr.read()}"
        r = json.loads(reply)
        return None if r["ok"] else r["error"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


_validator = None
_validator_lock = threading.Lock()


def validate_answer(method, path, status, headers, body):
    """Fails the test (TestFailure naming the request, status and ajv's
    error) when an answer of okrd's API does not match docs/openapi.yaml.
    headers: lower-case names. Every request of apitest.Api goes through it."""
    global _validator
    with _validator_lock:
        if _validator is None:
            _validator = OpenApiValidator()
            atexit.register(_validator.close)
        v = _validator
    err = v.check(method, path, status, headers, body)
    if err:
        raise TestFailure(f"{method} {path} -> {status}: the answer does not match "
                          f"docs/openapi.yaml: {err}; body: {body[:300]!r}")


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
