"""Shared helpers for okrd's end-to-end tests (Python 3 standard library only).

Every test starts the real okrd binary (given as --okrd PATH) against real
files and local processes on 127.0.0.1. Waiting is always for an event (a
notify message, a log line, a file) with a deadline, never a fixed sleep.

The store backend (DESIGN section 10): OKRD_E2E_STORE=postgresql, with
OKRD_TEST_PG a libpq conninfo of a running server (ctest's `pg` fixture,
tests/pg/pgserver, sets both for the e2e_*_pg tests), runs every test on
PostgreSQL: each config written through Workdir.config gets a "store"
section naming a database of its own (one per state_dir, made on first use
and dropped with the Workdir). What only the SQLite store has (its file, its
WAL, `okrd backup`) is skipped there with sqlite_only(WHY).
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
    """Raised by a test whose peer (a Debian or npm program) is not installed
    (CI installs every peer, so a skip there is a missing install step), or
    that tests what only the other store backend has (sqlite_only)."""


def skip(why):
    raise Skip(why)


# ---- the store backend the tests run on (DESIGN section 10) ----

STORE = os.environ.get("OKRD_E2E_STORE") or "sqlite"
if STORE not in ("sqlite", "postgresql"):
    sys.exit(f"OKRD_E2E_STORE={STORE!r}: want sqlite or postgresql")
PG_BINDIR = os.environ.get("OKRD_PG_BINDIR", "/usr/lib/postgresql/15/bin")


def on_postgresql():
    return STORE == "postgresql"


def sqlite_only(why):
    """Skips the calling test when the suite runs on PostgreSQL: for what
    only the SQLite store has. WHY says what ("reads okrd.db with sqlite3")."""
    if on_postgresql():
        raise Skip(f"SQLite store only: {why}")


def postgresql_only(why):
    """Skips the calling test when the suite runs on SQLite."""
    if not on_postgresql():
        raise Skip(f"PostgreSQL store only: {why}")


def pg_conninfo():
    """OKRD_TEST_PG, the conninfo of the test server (database postgres)."""
    ci = os.environ.get("OKRD_TEST_PG")
    if not ci:
        raise TestFailure("OKRD_E2E_STORE=postgresql needs OKRD_TEST_PG, the conninfo of a running "
                          "server: ctest's pg fixture sets it, or `tests/pg/pgserver start DIR` "
                          "writes it to DIR/conninfo")
    return ci


def pg_url(dbname):
    """The test server's conninfo with dbname DBNAME (a store.url)."""
    words = [w for w in pg_conninfo().split() if not w.startswith("dbname=")]
    return " ".join(words + [f"dbname={dbname}"])


def psql(sql, dbname="postgres"):
    """Runs SQL (one or more statements) with psql on the test server's
    database DBNAME; returns its output (unaligned, tuples only). Fails the
    test with psql's message on an error."""
    exe = os.path.join(PG_BINDIR, "psql")
    if not os.access(exe, os.X_OK):
        exe = shutil.which("psql")
    if not exe:
        raise TestFailure(f"psql is missing ({PG_BINDIR}/psql): install postgresql-15")
    r = subprocess.run([exe, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                        pg_url(dbname), "-c", sql], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PGCLIENTENCODING="UTF8"))
    if r.returncode != 0:
        raise TestFailure(f"psql on {dbname}: {sql!r}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def pg_query(dbname, sql):
    """The rows of a query on database DBNAME as a list of tuples, values
    typed as JSON types them (numbers, text, null, booleans)."""
    out = psql(f"SELECT coalesce(json_agg(row_to_json(q)), '[]') FROM ({sql}) q", dbname)
    # (pairs, not a dict: two columns may share a name, as count(*) and
    # count(DISTINCT x) do, and json keeps both)
    return [tuple(v for _, v in r) for r in json.loads(out, object_pairs_hook=list)]


_pg_databases = 0


def pg_create_database():
    """A fresh, empty database on the test server; returns its name."""
    global _pg_databases
    _pg_databases += 1
    name = f"okrd_e2e_{os.getpid()}_{_pg_databases}"
    # A name left by a killed run of the same pid is dropped first.
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
    return name


def pg_drop_database(name):
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


class Workdir:
    """A fresh temp dir with helpers to write configs and files."""

    def __init__(self, keep=False):
        self.path = tempfile.mkdtemp(prefix="okrd-e2e-")
        self.keep = keep
        self.databases = {}  # PostgreSQL: state_dir -> database name

    def file(self, name, text):
        p = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p + ".tmp", "w") as f:
            f.write(text)
        os.replace(p + ".tmp", p)  # atomic: a reload never sees half a file
        return p

    def config(self, obj, name="okrd.json"):
        """Writes an okrd config (or any JSON file) NAME. On PostgreSQL an
        okrd config (one with a "daemon" section and no "store") gets the
        store of its state_dir (store_section)."""
        return self.file(name, json.dumps(self.with_store(obj), indent=2) + "\n")

    def with_store(self, doc):
        """DOC, on PostgreSQL with the "store" section of its state_dir added
        when it is an okrd config (a "daemon" section) without one; for a
        test that writes its config itself."""
        if on_postgresql() and isinstance(doc, dict) and isinstance(doc.get("daemon"), dict) \
                and "store" not in doc:
            doc = dict(doc, store=self.store_section(doc["daemon"].get("state_dir")))
        return doc

    def store_section(self, state_dir):
        """The config's "store" section for the store of STATE_DIR: on
        PostgreSQL a database of its own, made on first use (the same one for
        every config naming that state_dir, as the SQLite store is one per
        state_dir); on SQLite none (an empty section, the default)."""
        if not on_postgresql():
            return {}
        key = os.path.abspath(os.path.join(self.path, state_dir)) if state_dir else None
        if key not in self.databases:
            self.databases[key] = pg_create_database()
        return {"backend": "postgresql", "url": pg_url(self.databases[key])}

    def database(self, state_dir):
        """PostgreSQL: the name of STATE_DIR's database (made if new)."""
        self.store_section(state_dir)
        return self.databases[os.path.abspath(os.path.join(self.path, state_dir))]

    def close(self):
        if not self.keep:
            for name in self.databases.values():
                try:
                    pg_drop_database(name)
                except TestFailure as e:
                    print(f"     could not drop {name}: {e}")
            shutil.rmtree(self.path, ignore_errors=True)


def _sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def _bind(sql, params):
    """SQL with each ? outside quotes replaced by the next of PARAMS as a
    PostgreSQL literal (psql has no placeholders for -c)."""
    out, quote, it = [], None, iter(params)
    for c in sql:
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "?":
            out.append(_sql_literal(next(it)))
            continue
        out.append(c)
    return "".join(out)


class StoreDb:
    """A look under the hood of the store of a state_dir, for checks the API
    does not show and rows another process writes: sqlite3 on
    STATE_DIR/okrd.db, or psql on its PostgreSQL database (the tables are
    the same, DESIGN section 10). SQL with ? placeholders."""

    def __init__(self, wd, state_dir):
        self.wd = wd
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, "okrd.db")

    def rows(self, sql, params=()):
        """The rows of a query, as tuples."""
        if on_postgresql():
            return pg_query(self.wd.database(self.state_dir), _bind(sql, params))
        import sqlite3
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return [tuple(r) for r in con.execute(sql, params).fetchall()]
        finally:
            con.close()

    def write_mark(self):
        """What moves with every committed write to the store: the change_seq
        on PostgreSQL (DESIGN section 10); on SQLite the mtime and size of
        okrd.db and its WAL (a reader may write the -shm index: no change)."""
        if on_postgresql():
            return self.rows("SELECT change_seq FROM store_meta")
        return [(n, os.stat(p).st_mtime_ns, os.stat(p).st_size)
                for n in ("okrd.db", "okrd.db-wal")
                for p in [os.path.join(self.state_dir, n)] if os.path.exists(p)]

    def execute(self, sql, params=()):
        """One write transaction, committed, as another writer of the store
        would make it: on PostgreSQL it bumps store_meta.change_seq and
        sends NOTIFY okrd, as every okrd writer does (DESIGN section 10);
        SQLite's data_version moves by itself."""
        if on_postgresql():
            psql("BEGIN; " + _bind(sql, params) + "; WITH u AS (UPDATE store_meta SET change_seq "
                 "= change_seq + 1 RETURNING change_seq) SELECT pg_notify('okrd', "
                 "change_seq::text) FROM u; COMMIT", self.wd.database(self.state_dir))
            return
        import sqlite3
        con = sqlite3.connect(self.path, timeout=10)
        try:
            con.execute(sql, params)
            con.commit()
        finally:
            con.close()


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
