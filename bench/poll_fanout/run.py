#!/usr/bin/env python3
"""bench/poll_fanout: okrd polling 1,000 http_json sources vs curl --parallel.

Starts nginx (Debian's, with its own prefix and config in a temp dir) serving
1,000 small static JSON files on 127.0.0.1, then in the same run:
  1. okrd with 1,000 http_json sources (one per file, interval 1h, the default
     http_max_connections 64): the time from its "started" log line to the
     1,000th "polled" line (a poll is done when its points are committed);
  2. curl --parallel --parallel-max 64 fetching the same 1,000 URLs;
and prints both times and their ratio, okrd's RSS after the round, and
okrd's CPU time over IDLE seconds (default 60) between polls.

usage: run.py --okrd PATH [--sources 1000] [--idle 60] [--keep]
Not part of ctest. Python 3 standard library, nginx and curl.
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


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_nginx(d, port, n):
    www = os.path.join(d, "www")
    os.makedirs(www)
    for i in range(n):
        with open(os.path.join(www, f"s{i}.json"), "w") as f:
            json.dump({"data": {"value": i, "date": "2026-11-22"}}, f)
    for t in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
        os.makedirs(os.path.join(d, t), exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # temp dirs are 0700
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""{user}daemon off;
worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  keepalive_requests 100000;
  types {{ application/json json; }}
  server {{ listen 127.0.0.1:{port} backlog=4096; root {www}; }}
}}
""")
    p = subprocess.Popen(["nginx", "-p", d, "-c", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit("nginx did not start; see " + d + "/logs/error.log")


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def run_okrd(okrd, d, urls, idle_s):
    cfg = {"daemon": {"state_dir": os.path.join(d, "state"), "listen": "", "log_level": "debug"},
           "sources": [{"id": f"s{i}", "type": "http_json", "url": u, "interval": "1h",
                        "extract": [{"metric": f"m{i}", "value": "/data/value",
                                     "timestamp": "/data/date"}]}
                       for i, u in enumerate(urls)]}
    path = os.path.join(d, "okrd.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    env = dict(os.environ)
    for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM"):
        env.pop(k, None)
    p = subprocess.Popen([okrd, "run", "-c", path], stderr=subprocess.PIPE, text=True, env=env)
    t_started = None
    polled = 0
    failed = []
    done = threading.Event()
    result = {}

    def reader():
        nonlocal t_started, polled
        for line in p.stderr:
            if t_started is None and "event=started" in line:
                t_started = time.monotonic()
            elif "event=polled" in line:
                polled += 1
                if polled == len(urls):
                    result["t_done"] = time.monotonic()
                    done.set()
            elif "event=poll_failed" in line or "level=error" in line:
                failed.append(line.strip())
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    done.wait(120)
    if "t_done" not in result:
        p.kill()
        sys.exit(f"okrd polled {polled}/{len(urls)} within 120s; failures: {failed[:5]}")
    round_s = result["t_done"] - t_started
    mem = rss_kb(p.pid)
    c0 = cpu_ms(p.pid)
    time.sleep(idle_s)  # measuring idleness: nothing to wait for but time
    idle_cpu = cpu_ms(p.pid) - c0
    p.send_signal(signal.SIGTERM)
    p.wait(10)
    return round_s, mem, idle_cpu, failed


def run_curl(d, urls):
    k = os.path.join(d, "curl.conf")
    with open(k, "w") as f:
        for u in urls:
            f.write(f'url = "{u}"\noutput = "/dev/null"\n')
    t0 = time.monotonic()
    subprocess.run(["curl", "--parallel", "--parallel-max", "64", "--no-progress-meter", "-K", k],
                   check=True, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--okrd", required=True)
    ap.add_argument("--sources", type=int, default=1000)
    ap.add_argument("--idle", type=int, default=60)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    for tool in ("nginx", "curl"):
        if not shutil.which(tool):
            sys.exit(f"needs {tool} (apt-get install {tool})")
    d = tempfile.mkdtemp(prefix="okrd-bench-")
    port = free_port()
    nginx = start_nginx(d, port, a.sources)
    try:
        urls = [f"http://127.0.0.1:{port}/s{i}.json" for i in range(a.sources)]
        run_curl(d, urls)  # warm the page cache and nginx
        curl_s = run_curl(d, urls)
        round_s, mem, idle_cpu, failed = run_okrd(a.okrd, d, urls, a.idle)
        curl_s2 = run_curl(d, urls)
        curl_best = min(curl_s, curl_s2)
        print(f"sources:                 {a.sources}")
        print(f"okrd one round:          {round_s * 1000:.1f} ms (HTTP + storing every poll; the writer group-commits them)")
        print(f"curl --parallel-max 64:  {curl_best * 1000:.1f} ms (best of 2: "
              f"{curl_s * 1000:.1f}, {curl_s2 * 1000:.1f})")
        print(f"ratio okrd/curl:         {round_s / curl_best:.2f}x (goal <= 1.2x)")
        print(f"okrd RSS after round:    {mem.get('VmRSS', 0) / 1024:.1f} MB "
              f"(peak {mem.get('VmHWM', 0) / 1024:.1f} MB; goal < 30 MB)")
        print(f"okrd CPU over {a.idle}s idle: {idle_cpu:.0f} ms (goal < 50 ms)")
        if failed:
            print(f"poll failures: {len(failed)}; first: {failed[0]}")
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(10)
        except subprocess.TimeoutExpired:
            nginx.kill()
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
