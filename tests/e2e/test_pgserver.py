"""tests/pg/pgserver, the PostgreSQL server the *_pg tests share (DESIGN
section 10): `start DIR` makes a UTF8, C-locale cluster in DIR that accepts
connections when it returns (trust on its unix socket in DIR, a password
over 127.0.0.1), writes DIR/conninfo and DIR/conninfo_tcp, is a no-op when
the same server runs and refuses another port in a running DIR; `stop DIR`
stops it and removes DIR, and is a no-op then. Missing binaries name the
Debian package; port 5432 and a socket path over 107 bytes are refused.
A server of its own on a free port, in a temp dir."""
import os
import socket
import subprocess
import sys

from okrdtest import PG_BINDIR, check, main, skip

PGSERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg", "pgserver")


def pgserver(*argv, env=None):
    return subprocess.run([sys.executable, PGSERVER, *argv], capture_output=True, text=True,
                          timeout=180, env=dict(os.environ, **(env or {})))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(conninfo, sql):
    return subprocess.run([os.path.join(PG_BINDIR, "psql"), "-X", "-A", "-t", "-d", conninfo,
                           "-c", sql], capture_output=True, text=True, timeout=60)


def test_start_stop(args, wd):
    if not os.access(os.path.join(PG_BINDIR, "initdb"), os.X_OK):
        skip(f"{PG_BINDIR}/initdb is missing (scripts/debian-packages.txt lists postgresql-15)")
    os.chmod(wd.path, 0o755)  # run as root, the server's user postgres must enter it
    d = os.path.join(wd.path, "pg")
    port = free_port()
    r = pgserver("conninfo", d, "--port", str(port))
    check(r.stdout.strip() == f"host={d} port={port} user=postgres dbname=postgres",
          f"conninfo before start: {r.stdout}{r.stderr}")
    r = pgserver("start", d, "--port", str(port))
    try:
        check(r.returncode == 0, f"start: exit {r.returncode}: {r.stdout}{r.stderr}")
        with open(os.path.join(d, "conninfo")) as f:
            conninfo = f.read().strip()
        check(conninfo == f"host={d} port={port} user=postgres dbname=postgres",
              f"conninfo: {conninfo!r}")
        # accepting connections as soon as start returned: no wait here
        q = psql(conninfo, "SELECT current_setting('server_encoding'), "
                           "current_setting('lc_collate'), current_setting('fsync')")
        check(q.returncode == 0 and q.stdout.strip() == "UTF8|C|off",
              f"over the socket: {q.returncode} {q.stdout}{q.stderr}")
        with open(os.path.join(d, "conninfo_tcp")) as f:
            tcp = f.read().strip()
        check(tcp.startswith(f"host=127.0.0.1 port={port} ") and "password=" in tcp, tcp)
        q = psql(tcp, "SELECT inet_server_addr()")
        check(q.returncode == 0 and q.stdout.strip() == "127.0.0.1",
              f"over TCP with the password: {q.stdout}{q.stderr}")
        bad = " ".join(w if not w.startswith("password=") else "password=wrong"
                       for w in tcp.split())
        q = psql(bad, "SELECT 1")
        check(q.returncode != 0 and "password authentication failed" in q.stderr,
              f"a wrong password over TCP: {q.returncode} {q.stderr}")
        r = pgserver("start", d, "--port", str(port))
        check(r.returncode == 0 and "already running" in r.stdout,
              f"start again: {r.returncode} {r.stdout}{r.stderr}")
        r = pgserver("start", d, "--port", str(free_port()))
        check(r.returncode == 1 and "already runs" in r.stderr and "stop" in r.stderr,
              f"another port in a running DIR: {r.returncode} {r.stderr}")
        r = pgserver("status", d)
        check(r.returncode == 0 and r.stdout.strip() == conninfo, f"status: {r.stdout}")
    finally:
        r = pgserver("stop", d)
    check(r.returncode == 0 and not os.path.exists(d), f"stop: {r.returncode} {r.stderr}")
    check(psql(conninfo, "SELECT 1").returncode != 0, "the server is gone")
    r = pgserver("stop", d)
    check(r.returncode == 0, f"stop again: {r.returncode} {r.stderr}")
    r = pgserver("status", d)
    check(r.returncode == 3, f"status of nothing: {r.returncode}")


def test_dir_the_server_cannot_enter(args, wd):
    """Run as root, a DIR the user postgres cannot enter (a checkout under
    /root): cluster and socket go to /tmp/okrd-pg-HASH, removed by stop."""
    if os.geteuid() != 0:
        skip("only root runs the server as another user")
    if not os.access(os.path.join(PG_BINDIR, "initdb"), os.X_OK):
        skip(f"{PG_BINDIR}/initdb is missing (scripts/debian-packages.txt lists postgresql-15)")
    os.chmod(wd.path, 0o700)
    d = os.path.join(wd.path, "pg")
    port = free_port()
    want = pgserver("conninfo", d, "--port", str(port)).stdout.strip()
    check(want.startswith("host=/tmp/okrd-pg-") and f" port={port} " in want, want)
    spare = want.split()[0][5:]
    r = pgserver("start", d, "--port", str(port))
    try:
        check(r.returncode == 0, f"start: exit {r.returncode}: {r.stdout}{r.stderr}")
        with open(os.path.join(d, "conninfo")) as f:
            check(f.read().strip() == want, "the conninfo it said")
        q = psql(want, "SELECT 1")
        check(q.returncode == 0 and q.stdout.strip() == "1", f"{q.stdout}{q.stderr}")
    finally:
        r = pgserver("stop", d)
    check(r.returncode == 0 and not os.path.exists(d) and not os.path.exists(spare),
          f"stop removed {d} and {spare}: {r.returncode} {r.stderr}")


def test_refusals(args, wd):
    d = os.path.join(wd.path, "pg")
    r = pgserver("start", d, "--port", "15599", env={"OKRD_PG_BINDIR": "/nonexistent/bin"})
    check(r.returncode == 1 and "/nonexistent/bin/initdb is missing" in r.stderr
          and "postgresql-15" in r.stderr, f"no binaries: {r.returncode} {r.stderr}")
    r = pgserver("start", d, "--port", "5432")
    check(r.returncode == 1 and "5432" in r.stderr, f"port 5432: {r.returncode} {r.stderr}")
    long_dir = os.path.join(wd.path, "x" * 120)
    r = pgserver("start", d, "--port", "15599", "--socket-dir", long_dir)
    check(r.returncode == 1 and "107" in r.stderr and "--socket-dir" in r.stderr,
          f"a socket path too long: {r.returncode} {r.stderr}")
    check(not os.path.exists(d), "nothing made by a refused start")


if __name__ == "__main__":
    main([test_start_stop, test_dir_the_server_cannot_enter, test_refusals])
