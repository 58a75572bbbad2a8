"""Secrets from systemd credentials (${cred:NAME} read from
$CREDENTIALS_DIRECTORY): they are used — the API accepts a push with the
credential's token — and never printed: not by okrd check, not in the
daemon's log, not in error messages about them (DESIGN sections 2 and 7)."""
import json
import os
import socket
import urllib.error
import urllib.request

from okrdtest import Daemon, check, main, run

TOKEN = "tok-3f9a1c77e0b24d6f9e51"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WEBHOOK_URL = "http://127.0.0.1:9/hooks/T000/B000/secretpath"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup(wd, port):
    creds = os.path.join(wd.path, "creds")
    os.makedirs(creds)
    for name, value in (("api-token", TOKEN + "\n"), ("webhook-secret", WEBHOOK_SECRET),
                        ("webhook-url", WEBHOOK_URL)):
        with open(os.path.join(creds, name), "w") as f:
            f.write(value)
    cfg = wd.config({
        "daemon": {"state_dir": os.path.join(wd.path, "state"), "listen": f"127.0.0.1:{port}",
                   "api_token": "${cred:api-token}"},
        "objectives": [{"id": "o", "title": "Grow", "cycle": "2026-Q4", "key_results": [
            {"id": "dau-up", "title": "Increase DAU", "metric": "dau", "direction": "increase",
             "target": "+20%"}]}],
        "webhooks": [{"id": "team", "url": "${cred:webhook-url}", "secret": "${cred:webhook-secret}"}]})
    return cfg, creds


def no_secret_in(text, where):
    for secret in (TOKEN, WEBHOOK_SECRET, WEBHOOK_URL, "secretpath", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"):
        check(secret not in text, f"a secret value appears in {where}:\n{text}")


def test_check_uses_and_hides_credentials(args, wd):
    cfg, creds = setup(wd, free_port())
    env = {"CREDENTIALS_DIRECTORY": creds}
    r = run(args.okrd, "check", "-c", cfg, env=env)
    check(r.returncode == 0, f"check with credentials: {r.returncode} {r.stderr}")
    no_secret_in(r.stdout + r.stderr, "okrd check")
    os.remove(os.path.join(creds, "api-token"))
    r = run(args.okrd, "check", "-c", cfg, env=env)
    check(r.returncode == 1 and "${cred:api-token}" in r.stderr, f"missing credential named: {r.stderr}")
    no_secret_in(r.stdout + r.stderr, "okrd check's error")
    r = run(args.okrd, "check", "-c", cfg, env={"CREDENTIALS_DIRECTORY": ""})
    check(r.returncode == 1 and "CREDENTIALS_DIRECTORY" in r.stderr,
          f"no credentials directory is an error that says so: {r.stderr}")
    # Read-only commands resolve no secrets: they work without the credentials.
    r = run(args.okrd, "status", "-c", cfg, "--json", env={"CREDENTIALS_DIRECTORY": ""})
    check(r.returncode in (0, 3), f"status resolves no secrets: {r.stderr}")
    check("${cred" not in r.stderr, f"status does not complain about credentials: {r.stderr}")


def test_daemon_uses_credentials(args, wd):
    port = free_port()
    cfg, creds = setup(wd, port)
    d = Daemon(args.okrd, cfg, env={"CREDENTIALS_DIRECTORY": creds})
    try:
        d.wait_log("event=started")
        body = json.dumps([{"metric": "dau", "timestamp": "2026-11-21", "value": 1040}]).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/points", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            check(resp.status == 200, f"push with the credential's token: {resp.status}")
            check(json.load(resp) == {"stored": 1}, "stored")
        bad = urllib.request.Request(req.full_url, data=body, method="POST",
                                     headers={"Authorization": "Bearer nope"})
        try:
            urllib.request.urlopen(bad, timeout=10)
            check(False, "a wrong token is refused")
        except urllib.error.HTTPError as e:
            check(e.code == 401, f"wrong token: 401, got {e.code}")
        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}")
        no_secret_in(d.log(), "the daemon's log")
    finally:
        d.kill()


if __name__ == "__main__":
    main([test_check_uses_and_hides_credentials, test_daemon_uses_credentials])
