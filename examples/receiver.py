#!/usr/bin/env python3
"""A small webhook receiver for okrd (Python standard library only).

It verifies each request's Standard Webhooks signature (docs/webhooks.md),
rejects stale or forged ones with 401, and prints every event on one line:

    python3 examples/receiver.py --port 9471 --secret whsec_...
    12:00:03 kr.off_track   evt_01J...  Reduce churn rate to 3% is off track: ...

Point a webhook at it with "url": "http://127.0.0.1:9471/" and the same
"secret". --json prints each body in full; without --secret (or the
OKRD_WEBHOOK_SECRET environment variable) it accepts unsigned requests.
Use it to see what okrd sends, or as a template for your own receiver.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 5 * 60  # what the Standard Webhooks libraries accept


def verify(secret, headers, body):
    """Returns None when the signature is valid, else why not."""
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not (msg_id and ts and sigs):
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    try:
        ts_i = int(ts)
    except ValueError:
        return "webhook-timestamp is not an integer"
    if abs(time.time() - ts_i) > TOLERANCE_S:
        return "webhook-timestamp is more than 5 minutes away (a replay?)"
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    signed = f"{msg_id}.{ts}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for sig in sigs.split(" "):
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return None
    return "no matching v1 signature"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9471)
    p.add_argument("--secret", default=os.environ.get("OKRD_WEBHOOK_SECRET"),
                   help="the webhook's whsec_... secret (default: $OKRD_WEBHOOK_SECRET)")
    p.add_argument("--json", action="store_true", help="print every body in full")
    args = p.parse_args()
    seen = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if args.secret:
                why = verify(args.secret, self.headers, body)
                if why:
                    print(f"{time.strftime('%H:%M:%S')} REJECTED: {why}", flush=True)
                    self.send_response(401)
                    self.end_headers()
                    return
            try:
                event = json.loads(body)
            except ValueError:
                self.send_response(400)
                self.end_headers()
                return
            msg_id = self.headers.get("webhook-id", event.get("id", "?"))
            again = " (again: already received)" if msg_id in seen else ""
            seen.add(msg_id)
            summary = event.get("summary") or event.get("text") or ""
            print(f"{time.strftime('%H:%M:%S')} {event.get('type', 'slack'):<16} {msg_id}  "
                  f"{summary}{again}", flush=True)
            if args.json:
                print(json.dumps(event, indent=2), flush=True)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):  # one line per event is enough
            pass

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"receiver: listening on http://{args.host}:{args.port}/"
          f"{' (verifying signatures)' if args.secret else ' (unsigned)'}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
