"""okrd run on PostgreSQL at start-up (DESIGN section 10): "okrd retries
connecting at start-up with backoff (READY only once the store is open)".

  1. The server is down when okrd starts: okrd logs store_unavailable with
     growing retry_in_ms, serves nothing and is not "started" (no /healthz);
     once the test starts the server on that port, okrd opens the store, logs
     "started" and answers /healthz as the leader.
  2. A wrong password is an answer, not an outage: `okrd run` exits 3 at once
     (no retry), saying the authentication failed, and never prints the
     password.
"""
import json
import os
import subprocess
import time
import urllib.request

from hatest import PGSERVER, PgServer, free_port
from okrdtest import Daemon, check, main

def config(wd, url, port):
    return wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": f"127.0.0.1:{port}"},
        "store": {"backend": "postgresql", "url": url},
        "sources": [],
        "objectives": [],
    })


def healthz(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return json.loads(r.read())
    except OSError:
        return None


def test_server_down_at_start(args, wd):
    pgdir = os.path.join(wd.path, "pg")
    port = free_port()  # nothing listens there yet; the server comes up on it later
    r = subprocess.run(["python3", PGSERVER, "conninfo", pgdir, "--port", str(port)],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"pgserver conninfo: {r.stderr}")
    api = free_port()
    d = Daemon(args.okrd, config(wd, r.stdout.strip(), api))
    pg = None
    try:
        d.wait_log(["event=store_unavailable", "attempt=1", "retry_in_ms=250"])
        d.wait_log(["event=store_unavailable", "attempt=2", "retry_in_ms=500"])
        check("event=started" not in d.log(), f"started without a store:\n{d.log()}")
        check(healthz(api) is None, "/healthz answered before the store was open")
        pg = PgServer(wd, port)  # the server comes up: okrd goes on by itself
        d.wait_log("event=started", deadline=60)
        deadline = time.monotonic() + 30
        h = healthz(api)
        while (h is None or h.get("role") != "leader") and time.monotonic() < deadline:
            time.sleep(0.1)
            h = healthz(api)
        check(h == {"status": "ok", "role": "leader"}, f"/healthz after the store opened: {h}")
        code, _ = d.stop()
        check(code == 0, f"exit {code}")
    finally:
        d.kill()
        if pg:
            pg.stop()


def test_wrong_password_exits_3(args, wd):
    pg = PgServer(wd)
    try:
        with open(os.path.join(pg.dir, "conninfo_tcp")) as f:
            tcp = f.read().strip()
        secret = "not-the-password-Zq7"
        words = [w for w in tcp.split() if not w.startswith("password=")]
        url = " ".join(words + [f"password={secret}"])
        t0 = time.monotonic()
        r = subprocess.run([args.okrd, "run", "-c", config(wd, url, free_port())],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 3, f"exit {r.returncode}, want 3:\n{r.stderr}")
        check("password authentication failed" in r.stderr, f"no reason given:\n{r.stderr}")
        check("store_unavailable" not in r.stderr, f"a wrong password was retried:\n{r.stderr}")
        check(secret not in r.stderr + r.stdout, "the password was printed")
        print(f"     refused in {time.monotonic() - t0:.2f}s")
    finally:
        pg.stop()


if __name__ == "__main__":
    main([test_server_down_at_start, test_wrong_password_exits_3])
