"""A local HTTP server for the HTTP-source tests (Python 3 standard library).

A ThreadingHTTPServer on 127.0.0.1, port 0, answering each path (query string
ignored) with a behaviour from a table the test gives: a JSON body, a status
with headers, or one of the misbehaviours a real API shows - a response that
never completes, a body larger than max_bytes (chunked, no Content-Length), a
slow drip, a connection reset. Every request is recorded (method, path,
query, headers, body, time) so tests can assert on backoff and on what okrd
sent.
"""
import json
import os
import socket
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESPONSES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                         "examples", "sources", "responses")


def recorded(name):
    """The body of examples/sources/responses/NAME."""
    with open(os.path.join(RESPONSES, name), "rb") as f:
        return f.read()


# Behaviours: each is a function(handler) that answers the request.

def body(data, status=200, headers=None, content_type="application/json"):
    if isinstance(data, (dict, list)):
        data = json.dumps(data)
    if isinstance(data, str):
        data = data.encode()

    def answer(h):
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
    return answer


def status(code, headers=None, text="error"):
    return body(text, status=code, headers=headers, content_type="text/plain")


def hang(h):
    """Reads the request, never answers (until the server stops)."""
    h.server.stopping.wait()
    h.close_connection = True


def oversized(n_bytes):
    """A chunked body of n_bytes: no Content-Length for curl to refuse early."""
    def answer(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        chunk = b"[" + b"1," * 8191 + b"1]"
        sent = 0
        try:
            while sent < n_bytes and not h.server.stopping.is_set():
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            h.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # okrd aborted the transfer: expected
        h.close_connection = True
    return answer


def drip(data, every_s):
    """A Content-Length body sent one byte every every_s seconds."""
    data = data.encode() if isinstance(data, str) else data

    def answer(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        try:
            for i in range(len(data)):
                if h.server.stopping.wait(every_s):
                    break
                h.wfile.write(data[i:i + 1])
                h.wfile.flush()
        except OSError:
            pass
        h.close_connection = True
    return answer


def reset(h):
    """Closes the connection with a TCP RST before any answer."""
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.close_connection = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _serve(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        req = {"method": self.command, "path": u.path, "query": urllib.parse.parse_qs(u.query),
               "raw_query": u.query, "headers": dict(self.headers.items()), "body": data,
               "at": time.monotonic()}
        with self.server.lock:
            self.server.requests.append(req)
        routes = self.server.routes
        fn = routes.get(u.path)
        if fn is None:
            fn = next((v for k, v in routes.items() if callable(k) and k(req)), None)
        if fn is None:
            fn = status(404, text="no route")
        if getattr(fn, "wants_request", False):
            fn = fn(req)
        fn(self)

    do_GET = _serve
    do_POST = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 drops SYNs when many sources start at once

    def handle_error(self, request, client_address):
        pass  # resets and aborted transfers are what these tests provoke


class Fixture:
    """with Fixture({path: behaviour}) as f: f.url("/x") ..."""

    def __init__(self, routes):
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.routes = routes
        self.server.requests = []
        self.server.lock = threading.Lock()
        self.server.stopping = threading.Event()
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def requests(self, path=None):
        with self.server.lock:
            return [r for r in self.server.requests if path is None or r["path"] == path]

    def wait_requests(self, path, n, deadline=15.0):
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            got = self.requests(path)
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{path}: {len(self.requests(path))} requests, wanted {n} "
                             f"within {deadline}s")


def by_request(fn):
    """Marks fn(req) -> behaviour: the behaviour depends on the request."""
    fn.wants_request = True
    return fn
