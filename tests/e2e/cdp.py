"""Headless Chromium driven over the DevTools protocol, Python stdlib only:
a minimal WebSocket client (RFC 6455: masked client frames, fragmented and
64-bit-length server frames), one page target, Runtime.evaluate, polling a
condition with a deadline, screenshots. Used by the dashboard tests, which
must type a token and press buttons (--dump-dom cannot)."""
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request

from okrdtest import DEADLINE, TestFailure, check


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class WebSocket:
    def __init__(self, url, timeout=60):
        m = re.fullmatch(r"ws://([^/:]+):(\d+)(/.*)", url)
        check(m, f"a ws:// URL: {url}")
        self.sock = socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {m.group(3)} HTTP/1.1\r\nHost: {m.group(1)}:{m.group(2)}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise TestFailure("DevTools closed the WebSocket handshake")
            head += chunk
        check(head.startswith(b"HTTP/1.1 101"), f"WebSocket upgrade: {head[:200]!r}")
        self.buf = b""

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise TestFailure("DevTools closed the WebSocket")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, text):
        data = text.encode()
        n = len(data)
        head = bytes([0x81])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        """One whole text message (continuation frames joined)."""
        parts = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            data = self._read(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            op = b0 & 0x0F
            if op == 0x8:
                raise TestFailure("DevTools closed the WebSocket")
            if op in (0x9, 0xA):  # ping/pong: nothing to do for this client
                continue
            parts.append(data)
            if b0 & 0x80:
                return b"".join(parts).decode()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Browser:
    """One headless Chromium with one page. Console messages and CSP
    violations are collected (self.log, page's window.__csp)."""

    def __init__(self, exe, width=1280, height=1800):
        self.profile = tempfile.TemporaryDirectory(prefix="okrd-chromium-", ignore_cleanup_errors=True)
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             f"--user-data-dir={self.profile.name}", f"--window-size={width},{height}",
             "--hide-scrollbars", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log, self.next_id = [], 0
        port = None
        end = time.monotonic() + DEADLINE
        # Chromium prints its DevTools port on stderr; the rest of stderr is
        # drained by a thread so the browser never blocks on a full pipe.
        while time.monotonic() < end:
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            self.close()
            raise TestFailure("chromium did not say where DevTools listens")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30))
        page = [t for t in targets if t.get("type") == "page"]
        check(page, f"a page target: {targets}")
        self.ws = WebSocket(page[0]["webSocketDebuggerUrl"])
        self.call("Runtime.enable")
        self.call("Log.enable")
        self.call("Page.enable")
        # Runs before the page's own script (CDP-injected, so the page's CSP
        # does not apply to it): records every CSP violation the page hits.
        self.call("Page.addScriptToEvaluateOnNewDocument", source=(
            "window.__csp=[];document.addEventListener('securitypolicyviolation',"
            "function(e){window.__csp.push(e.violatedDirective+' '+e.blockedURI)});"
            "window.alert=function(m){window.__alerts=(window.__alerts||[]).concat([String(m)])};"))
        self.viewport(width, height)

    def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise TestFailure(f"{method}: {msg['error']}")
                return msg.get("result", {})
            m = msg.get("method")
            if m == "Log.entryAdded":
                self.log.append(msg["params"]["entry"].get("text", ""))
            elif m == "Runtime.exceptionThrown":
                d = msg["params"]["exceptionDetails"]
                self.log.append("exception: " + d.get("text", "") + " " +
                                str(d.get("exception", {}).get("description", "")))
            elif m == "Runtime.consoleAPICalled":
                self.log.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                      for a in msg["params"].get("args", [])))

    def js(self, expr):
        """The value of EXPR (JSON-able; a promise is awaited)."""
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise TestFailure(f"{expr[:80]}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def go(self, url):
        self.call("Page.navigate", url=url)
        self.wait("document.readyState === 'complete' && location.href === " + json.dumps(url),
                  f"{url} loaded")

    def wait(self, expr, what, deadline=DEADLINE):
        end = time.monotonic() + deadline
        last = None
        while time.monotonic() < end:
            last = self.js(expr)
            if last:
                return last
            time.sleep(0.05)  # polling the page for a condition, with a deadline
        raise TestFailure(f"timed out after {deadline}s waiting for {what} (last {last!r}); "
                          f"console: {self.log[-5:]}")

    def viewport(self, width, height, mobile=False):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=mobile)

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
        return path

    def csp_problems(self):
        v = self.js("window.__csp || []") or []
        return v + [line for line in self.log
                    if "Content Security Policy" in line or "Refused to" in line]

    def close(self):
        if getattr(self, "ws", None):
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.profile.cleanup()
