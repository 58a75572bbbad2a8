"""The local HTTP API against the real daemon (DESIGN section 6): every
endpoint's status codes and bodies, push (tokens, validation, all or nothing,
size limit, re-evaluation), /metrics through promtool, the listen forms
(loopback, non-loopback with a token, a Unix socket, IPv6), and abuse (many
connections, slow clients, a 100 KB request line) while the daemon keeps
answering /healthz and evaluating. The dashboard is test_dashboard.py."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from apitest import (TOKEN, Api, config, find_kr, free_port, history_csv, start,
                     this_quarter, day)
from okrdtest import DEADLINE, TestFailure, check, main, run


def ingest(args, wd, cfg, text, name="h.csv"):
    # The config has no csv_dir source: `okrd ingest` needs one to name.
    r = run(args.okrd, "ingest", "-c", cfg, "--source", "drops", wd.file(name, text))
    check(r.returncode == 0, f"ingest: {r.returncode} {r.stderr}")


def with_drops(wd, cfg_path):
    cfg = json.load(open(cfg_path))
    cfg["sources"] = [{"id": "drops", "type": "csv_dir", "path": os.path.join(wd.path, "inbox")}]
    os.makedirs(os.path.join(wd.path, "inbox"), exist_ok=True)
    return wd.config(cfg)


def raw_request(port, head, body, timeout=10):
    """Sends HEAD (and BODY, if any); returns what came back until close
    (b"" when the server reset the connection first)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    data = b""
    try:
        s.sendall(head)
        if body:
            s.sendall(body)
        while True:  # until close, or the end of the first answer
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head_end = data.find(b"\r\n\r\n")
            if head_end >= 0:
                m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", data[:head_end])
                if m and len(data) >= head_end + 4 + int(m.group(1)):
                    break
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    return data


def setup(args, wd, **kw):
    port = free_port()
    cfg, krs = config(wd, f"127.0.0.1:{port}", **kw)
    cfg = with_drops(wd, cfg)
    return cfg, krs, Api(port=port)


def export(args, cfg, *metrics):
    a = ["export", "-c", cfg, "--json"]
    for m in metrics:
        a += ["--metric", m]
    r = run(args.okrd, *a)
    check(r.returncode == 0, f"export: {r.stderr}")
    return json.loads(r.stdout)


def test_read_endpoints(args, wd):
    cfg, krs, api = setup(args, wd)
    ingest(args, wd, cfg, history_csv())
    d = start(args.okrd, cfg)
    try:
        doc = api.wait_ready()
        # /healthz
        status, h, body = api.get("/healthz")
        check(status == 200 and json.loads(body) == {"status": "ok", "role": "leader"}, f"healthz: {status} {body}")
        status, h, body = api.request("HEAD", "/healthz")
        check(status == 200 and body == b"", f"HEAD healthz: {status} {body}")

        # /api/v1/objectives is exactly `okrd status --json` at the same instant
        doc = api.wait_for("/api/v1/objectives",
                           lambda x: find_kr(x, "dau-up")["value"] is not None, "dau-up evaluated")
        r = run(args.okrd, "status", "-c", cfg, "--json", "--at", doc["at"])
        check(r.returncode == 0, r.stderr)
        cli = json.loads(r.stdout)
        for o in doc["objectives"] + cli["objectives"]:
            for k in o["key_results"]:
                k.pop("previous_status")  # the daemon's knows the stored history
        check(doc == cli, f"API and CLI differ:\n{json.dumps(doc)}\n{json.dumps(cli)}")
        check([o["id"] for o in doc["objectives"]] == ["company", "engagement"], "objective order")

        # /api/v1/key-results/{id}
        k = api.json("/api/v1/key-results/dau-up")
        check(k["id"] == "dau-up" and k["baseline"] == 1000 and k["metric"] == "dau", f"kr: {k}")
        e = api.json("/api/v1/key-results/no-such-kr", want=404)
        check(set(e) == {"error", "detail"} and e["error"] == "not_found" and "no-such-kr" in e["detail"],
              f"404 body: {e}")
        api.json("/api/v1/key-results/bad%20id", want=404)

        # /series: points (v(t), so a cycle sum is a burn-up), pace, history
        s = api.json("/api/v1/key-results/reviews/series")
        check(set(s) == {"points", "pace", "history", "forecast_band"}, f"series keys: {sorted(s)}")
        # DESIGN section 9: a value forecast's band per day up to the cycle
        # end, ending on the forecast's own p10/p50/p90
        fc = find_kr(api.json("/api/v1/objectives"), "reviews")["forecast"]
        band = s["forecast_band"]
        if fc and fc["of"] == "value":
            last = band[-1] if band else {}
            check(len(band) >= 2 and all(abs(last[k] - fc[k]) <= 1e-6 * max(1, abs(fc[k]))
                                         for k in ("p10", "p50", "p90")),
                  f"the band ends on the forecast {fc}: {band[-1:]}")
            check(all(b["p10"] <= b["p50"] <= b["p90"] for b in band), "p10 <= p50 <= p90")
        else:
            check(band == [], f"no band without a value forecast: {band[:2]}")
        vals = [p["value"] for p in s["points"]]
        check(len(vals) >= 2 and vals == sorted(vals), f"a cycle sum only grows: {vals}")
        check(all(set(p) == {"timestamp", "value"} for p in s["points"]), "point keys")
        _, start_day, today = this_quarter()
        check(s["points"][0]["timestamp"] == f"{start_day.isoformat()}T00:00:00Z",
              f"first point at the cycle start: {s['points'][0]}")
        check(s["pace"][0] == {"timestamp": f"{start_day.isoformat()}T00:00:00Z", "expected_value": 0},
              f"pace starts at the baseline: {s['pace']}")
        check(s["pace"][-1]["expected_value"] == 100, f"pace ends at the target: {s['pace']}")
        check(s["history"] and s["history"][-1]["date"] == today.isoformat() and
              set(s["history"][-1]) == {"date", "status", "computed_status", "progress", "expected",
                                        "score", "probability"}, f"history: {s['history']}")
        s2 = api.json("/api/v1/key-results/dau-up/series?from=" + day(start_day, 1) + "&to=" +
                      today.isoformat())
        check(all(day(start_day, 1) <= p["timestamp"][:10] < today.isoformat() for p in s2["points"]),
              f"from inclusive, to exclusive: {s2['points']}")
        s3 = api.json("/api/v1/key-results/dau-up/series")
        check(len(s3["points"]) > len(s2["points"]), "the default range is the whole cycle")
        e = api.json("/api/v1/key-results/dau-up/series?from=yesterday", want=400)
        check(e["error"] == "bad_query" and "from" in e["detail"], f"bad from: {e}")
        api.json(f"/api/v1/key-results/dau-up/series?from={today}&to={day(start_day, 0)}", want=400)
        api.json("/api/v1/key-results/nope/series", want=404)

        # /api/v1/deliveries
        dl = api.json("/api/v1/deliveries?state=pending")
        check(isinstance(dl.get("deliveries"), list), f"deliveries: {dl}")
        api.json("/api/v1/deliveries?state=dead")
        e = api.json("/api/v1/deliveries?state=sideways", want=400)
        check(e["error"] == "bad_query", f"bad state: {e}")

        # unknown paths, wrong methods
        for path in ("/nope", "/api/v1/objectives/", "/api/v2/objectives", "/api/v1/key-results/x/y"):
            status, h, body = api.get(path)
            e = json.loads(body)
            check(status == 404 and set(e) == {"error", "detail"}, f"{path}: {status} {body}")
        for method, path, allow in (("POST", "/healthz", "GET, HEAD"), ("DELETE", "/metrics", "GET, HEAD"),
                                    ("PUT", "/api/v1/objectives", "GET, HEAD"),
                                    ("GET", "/api/v1/points", "POST")):
            status, h, body = api.request(method, path, body=b"" if method != "GET" else None)
            check(status == 405 and h.get("allow") == allow and json.loads(body)["error"] ==
                  "method_not_allowed", f"{method} {path}: {status} {h} {body}")

        # keep-alive: several requests on one connection
        c = api.conn()
        for _ in range(3):
            c.request("GET", "/healthz")
            r = c.getresponse()
            check(r.status == 200 and r.read() == b'{"status":"ok","role":"leader"}\n', "keep-alive answer")
        c.close()

        # /metrics: format, values equal the JSON, promtool
        status, h, body = api.get("/metrics")
        text = body.decode()
        check(status == 200 and h["content-type"].startswith("text/plain; version=0.0.4"),
              f"metrics: {status} {h}")
        check("NaN" not in text, "no NaN samples")
        k = find_kr(api.json("/api/v1/objectives"), "csat")
        check(f'okrd_kr_status{{objective="engagement",key_result="csat",status="{k["status"]}"}} 1'
              in text, "the current status is 1")
        check(text.count('okrd_kr_status{objective="engagement",key_result="csat",') == 8,
              "one sample per status")
        check('okrd_kr_progress{objective="company",key_result="nothing"}' not in text,
              "no_data: undefined progress is omitted")
        for needle in ('okrd_points_ingested_total{source="push"} 0', 'okrd_source_up{source="drops"} 1',
                       'okrd_webhook_deliveries_total{webhook="growth-slack",result="delivered"} 0',
                       'okrd_webhook_deliveries_total{webhook="growth-slack",result="dead"} 0',
                       "okrd_outbox_pending ", "process_resident_memory_bytes ",
                       "process_cpu_seconds_total ", "process_start_time_seconds ", "process_open_fds "):
            check(needle in text, f"{needle!r} in /metrics:\n{text}")
        promtool = shutil.which("promtool")
        if promtool:
            p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                               timeout=60)
            check(p.returncode == 0, f"promtool check metrics: {p.stdout} {p.stderr}")
        else:
            print("skip promtool check metrics: promtool is not installed (Debian package prometheus)")

        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}")
    finally:
        d.kill()


def test_push(args, wd):
    cfg, krs, api = setup(args, wd)
    d = start(args.okrd, cfg)
    try:
        api.wait_ready()
        _, start_day, today = this_quarter()
        pts = [{"metric": "dau", "timestamp": day(start_day, -1), "value": 1000},
               {"metric": "dau", "timestamp": today.isoformat(), "value": 1100},
               {"metric": "pushed.only", "timestamp": f"{today.isoformat()}T10:00:00Z", "value": 1.5}]

        status, h, body = api.push(pts, token=None)
        check(status == 401 and "bearer" in h.get("www-authenticate", "").lower() and
              json.loads(body)["error"] == "no_token", f"no token: {status} {h} {body}")
        status, h, body = api.push(pts, token="wrong")
        check(status == 401 and "bearer" in h.get("www-authenticate", "").lower() and
              json.loads(body)["error"] == "bad_token", f"wrong token: {status} {h} {body}")
        status, h, body = api.push(pts, token=TOKEN[:-1])
        check(status == 401, f"a prefix of the token: {status}")
        check(export(args, cfg) == [], "nothing stored by refused pushes")

        status, h, body = api.push(pts)
        check(status == 200 and json.loads(body) == {"stored": 3}, f"good push: {status} {body}")
        got = export(args, cfg, "dau", "pushed.only")
        check(len(got) == 3 and {"metric": "pushed.only", "timestamp": f"{today.isoformat()}T10:00:00Z",
                                  "value": 1.5} in got, f"export after push: {got}")
        # the commit triggers an evaluation: the key result moves within seconds
        api.wait_for("/api/v1/key-results/dau-up", lambda k: k["value"] == 1100, "dau-up = 1100")
        status, _, body = api.get("/metrics")
        check('okrd_points_ingested_total{source="push"} 3' in body.decode(), "push counted")

        # malformed bodies: 400, nothing stored
        for raw, code in ((b"[{\"metric\": ", "bad_json"), (b"{\"metric\": \"dau\"}", "bad_body"),
                          (b"", "bad_json")):
            status, _, body = api.push(None, raw=raw)
            e = json.loads(body)
            check(status == 400 and e["error"] == code and "index" not in e, f"{raw!r}: {status} {e}")
        half = [{"metric": "halfbad", "timestamp": today.isoformat(), "value": 1},
                {"metric": "halfbad", "timestamp": "2026-02-30", "value": 2},
                {"metric": "halfbad", "timestamp": today.isoformat(), "value": "3"}]
        status, _, body = api.push(half)
        e = json.loads(body)
        check(status == 400 and e["index"] == 1 and e["error"] == "bad_point" and "February" in e["detail"],
              f"half-bad batch: {status} {e}")
        check(export(args, cfg, "halfbad") == [], "a half-bad batch stores nothing")
        status, _, body = api.push([{"metric": "bad id!", "timestamp": 1, "value": 1}])
        check(status == 400 and json.loads(body)["index"] == 0, f"bad metric id: {body}")

        # over 1 MiB: 413 (Content-Length known) before the body is read
        big = json.dumps([{"metric": "big", "timestamp": 1700000000 + i, "value": i}
                          for i in range(30000)]).encode()
        check(len(big) > 1 << 20, f"the big body is {len(big)} bytes")
        head = b"POST /api/v1/points HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n" % TOKEN.encode()
        answer = raw_request(api.port, head + b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                             % len(big), None)
        check(answer.startswith(b"HTTP/1.1 413 ") and b'"error":"too_large"' in answer,
              f"big with Expect: 100-continue: {answer[:300]!r}")
        answer = raw_request(api.port, head + b"Content-Length: %d\r\n\r\n" % len(big), big)
        check(answer == b"" or answer.startswith(b"HTTP/1.1 413 "), f"big: {answer[:300]!r}")
        # chunked (no Content-Length): found out while reading, answered at the end
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 65536]), big[i:i + 65536])
                          for i in range(0, len(big), 65536)) + b"0\r\n\r\n"
        answer = raw_request(api.port, head + b"Transfer-Encoding: chunked\r\n\r\n", chunks)
        check(answer.startswith(b"HTTP/1.1 413 ") and b'"error":"too_large"' in answer,
              f"chunked big: {answer[:300]!r}")
        check(export(args, cfg, "big") == [], "an oversized body stores nothing")
        # an empty batch is fine
        status, _, body = api.push([])
        check(status == 200 and json.loads(body) == {"stored": 0}, f"empty: {status} {body}")
        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}")
    finally:
        d.kill()


def test_push_without_token_configured(args, wd):
    cfg, krs, api = setup(args, wd, token=None)
    d = start(args.okrd, cfg)
    try:
        api.wait_ready()
        status, _, body = api.push([{"metric": "a", "timestamp": 1, "value": 1}], token="anything")
        e = json.loads(body)
        check(status == 403 and e["error"] == "push_disabled" and "api_token" in e["detail"],
              f"403: {status} {e}")
        check(api.get("/api/v1/objectives")[0] == 200, "loopback reads need no token")
        d.stop()
    finally:
        d.kill()


def test_non_loopback_needs_token(args, wd):
    port = free_port()
    cfg, _ = config(wd, f"0.0.0.0:{port}", token=None)
    r = run(args.okrd, "run", "-c", cfg)
    check(r.returncode == 1 and "api_token" in r.stderr and "loopback" in r.stderr,
          f"refuses to start: {r.returncode} {r.stderr}")
    cfg, _ = config(wd, f"0.0.0.0:{port}")
    d = start(args.okrd, cfg)
    api = Api(port=port)
    try:
        check(api.get("/healthz")[0] == 200, "/healthz needs no token")
        for path in ("/api/v1/objectives", "/metrics", "/api/v1/deliveries"):
            status, h, body = api.get(path)
            check(status == 401 and "bearer" in h.get("www-authenticate", "").lower(),
                  f"{path} without token: {status}")
            check(api.get(path, token="nope")[0] == 401, f"{path} with a wrong token")
        # the dashboard page is served to anyone, and holds no data
        status, _, page = api.get("/")
        check(status == 200 and b"dau-up" not in page and b"daily" not in page,
              f"/ without token: {status}, data-less")
        api.wait_ready(token=TOKEN)
        check(api.get("/metrics", token=TOKEN)[0] == 200, "with the token")
        d.stop()
    finally:
        d.kill()


def test_unix_socket(args, wd):
    path = os.path.join(wd.path, "api.sock")
    # a stale socket file, as a killed okrd leaves it
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    cfg, _ = config(wd, f"unix:{path}")
    d = start(args.okrd, cfg)
    api = Api(unix=path)
    try:
        check(oct(os.stat(path).st_mode & 0o777) == "0o660", "socket mode 0660")
        api.wait_ready()
        status, _, body = api.push([{"metric": "u", "timestamp": 1700000000, "value": 2}])
        check(status == 200, f"push over the socket: {status} {body}")
        check(api.get("/metrics")[0] == 200, "metrics over the socket")
        code, _ = d.stop()
        check(code == 0, f"exit 0: {code}")
        check(not os.path.exists(path), "the socket file is removed at exit")
    finally:
        d.kill()
    # a regular file in the way is never removed
    with open(path, "w") as f:
        f.write("not a socket")
    r = run(args.okrd, "run", "-c", cfg)
    check(r.returncode == 3 and "not a socket" in r.stderr, f"{r.returncode} {r.stderr}")
    check(os.path.exists(path), "the file was left alone")


def test_ipv6(args, wd):
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
            port = s.getsockname()[1]
    except OSError as e:
        print(f"skip: no IPv6 loopback here ({e})")
        return
    cfg, _ = config(wd, f"[::1]:{port}", token=None)
    d = start(args.okrd, cfg)
    try:
        check(f"address=[::1]:{port}" in d.log(), "the log names the address")
        api = Api(host="::1", port=port)
        api.wait_ready()
        d.stop()
    finally:
        d.kill()


def test_abuse(args, wd):
    cfg, krs, api = setup(args, wd)
    d = start(args.okrd, cfg)
    socks = []
    stop = threading.Event()
    try:
        first = api.wait_ready()

        # 200 connections that sent half a request and wait
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", api.port), timeout=10)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            socks.append(s)

        # a slow client: one byte every 20 ms
        slow_result = {}

        def slow():
            try:
                s = socket.create_connection(("127.0.0.1", api.port), timeout=20)
                req = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                for b in req:
                    if stop.is_set():
                        return
                    s.sendall(bytes([b]))
                    stop.wait(0.02)
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                slow_result["status"] = data.split(b" ", 2)[1]
                s.close()
            except OSError as e:
                slow_result["error"] = e

        t = threading.Thread(target=slow, daemon=True)
        t.start()

        # a 100 KB request line: refused by libmicrohttpd, the daemon lives on
        s = socket.create_connection(("127.0.0.1", api.port), timeout=10)
        try:
            s.sendall(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = s.recv(200)
            check(head == b"" or head.split(b" ")[1] in (b"414", b"431", b"400"),
                  f"100 KB request line: {head[:100]!r}")
        except (ConnectionResetError, BrokenPipeError):
            pass
        finally:
            s.close()
        # and 100 KB of headers
        s = socket.create_connection(("127.0.0.1", api.port), timeout=10)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 100000 + b"\r\n\r\n")
            head = s.recv(200)
            check(head == b"" or head.split(b" ")[1] in (b"431", b"400", b"413"), f"big header: {head!r}")
        except (ConnectionResetError, BrokenPipeError):
            pass
        finally:
            s.close()

        # /healthz keeps answering, quickly, on fresh connections
        worst = 0
        for _ in range(20):
            t0 = time.monotonic()
            status, _, _ = api.get("/healthz", timeout=5)
            worst = max(worst, time.monotonic() - t0)
            check(status == 200, f"healthz during abuse: {status}")
        check(worst < 1.0, f"healthz took {worst:.3f}s during abuse")

        # the daemon keeps storing and evaluating
        _, _, today = this_quarter()
        status, _, body = api.push([{"metric": "dau", "timestamp": today.isoformat(), "value": 5}])
        check(status == 200, f"push during abuse: {status} {body}")
        api.wait_for("/api/v1/objectives", lambda x: x["at"] > first["at"],
                     "an evaluation after the first")
        t.join(DEADLINE)
        check(slow_result.get("status") == b"200", f"the slow client got its answer: {slow_result}")
        check(d.alive(), "okrd is alive")
    finally:
        stop.set()
        for s in socks:
            s.close()
        try:
            code, took = d.stop()
            check(code == 0 and took < 5, f"clean stop after abuse: {code} in {took:.2f}s")
        finally:
            d.kill()


def test_reload_token(args, wd):
    cfg, krs, api = setup(args, wd)
    d = start(args.okrd, cfg)
    try:
        api.wait_ready()
        c = json.load(open(cfg))
        c["daemon"]["api_token"] = "new-token"
        wd.config(c)
        d.signal(signal.SIGHUP)
        d.wait_log("event=reloaded")
        pt = [{"metric": "r", "timestamp": 1700000000, "value": 1}]
        check(api.push(pt)[0] == 401, "the old token is refused after a reload")
        check(api.push(pt, token="new-token")[0] == 200, "the new one works")
        d.stop()
    finally:
        d.kill()


if __name__ == "__main__":
    main([test_read_endpoints, test_push, test_push_without_token_configured,
          test_non_loopback_needs_token, test_unix_socket, test_ipv6, test_abuse,
          test_reload_token])
