"""The alerts outbox end to end (DESIGN section 5, "Delivery"; issue 12 items
1 and 2): the real okrd, CSV drops renamed into a csv_dir inbox to move a
key result across thresholds (alerts.for "0s"), and standard-library
receivers on 127.0.0.1.

  1. A burst of status changes: every committed event reaches both webhooks,
     in order, within a second of its commit — a new event that arrives
     while a webhook is sending or recording never waits for a timer.
  2. A reload that removes (or renames) a webhook keeps its queue: the
     pending deliveries wait, orphaned (counted in `okrd status` and the
     API), and go out in order when a webhook with that id comes back, at
     another URL.
  3. An orphan dies only by the max_age recorded with it, not by the reload.

Every wait is for an event with a deadline; the commit time of an event is
when its `kr_status` log line arrived (the line is written after the commit).
"""
import json
import os
import signal
import socket
import time
import urllib.request

from okrdtest import Daemon, TestFailure, check, main, run, validate_answer
from test_webhooks import OFF, ON, Drops, Receiver, config, types


class TimedDaemon(Daemon):
    """Daemon whose log lines carry their arrival time (monotonic seconds)."""

    def _read(self):
        self.times = []
        for line in self.proc.stderr:
            with self.cond:
                self.times.append(time.monotonic())
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_log_t(self, needle, deadline=15.0):
        """wait_log, returning (line, arrival time)."""
        line = self.wait_log(needle, deadline)
        with self.cond:
            return line, self.times[self.seen - 1]

    def transitions(self):
        """(arrival time, to-status) of every kr_status line that raises an
        event here: any change between off_track and on_track, and the first
        off_track (no_data -> off_track). An evaluation that sees the first two
        files at once goes no_data -> on_track, which raises nothing."""
        with self.cond:
            out = []
            for t, line in zip(getattr(self, "times", []), self.lines):
                if "event=kr_status" in line and "from=none" not in line:
                    frm = line.split("from=")[1].split()[0]
                    to = line.split("to=")[1].split()[0]
                    if frm == "no_data" and to == "on_track":
                        continue  # DESIGN 6: back_on_track only from at_risk/off_track
                    out.append((t, to))
            return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        body = r.read()
        validate_answer("GET", path, r.status, {k.lower(): v for k, v in r.getheaders()}, body)
        return json.loads(body.decode())


def poll(what, fn, deadline=15.0):
    """Calls fn() until it returns something true; returns it."""
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        time.sleep(0.05)  # polling a condition with a deadline, not waiting for time
    raise TestFailure(f"timed out after {deadline}s waiting for {what}; last: {last}")


def status(args, cfg):
    return run(args.okrd, "status", "-c", cfg).stdout


def kr_last_point(port):
    doc = api_json(port, "/api/v1/objectives")
    for o in doc["objectives"]:
        for k in o["key_results"]:
            if k["id"] == "dau-up":
                return k.get("last_point_at")
    return None


def burst(args, wd, one_by_one):
    a, b = Receiver(lambda n, r: (200, {})), Receiver(lambda n, r: (200, {}))
    port = free_port()
    cfg = config(wd, [{"id": "a", "url": a.url}, {"id": "b", "url": b.url}],
                 listen=f"127.0.0.1:{port}")
    drops = Drops(wd)
    d = TimedDaemon(args.okrd, cfg)
    try:
        d.wait_log("event=kr_status")  # the first evaluation (no data yet)
        for i in range(40):
            drops.put(OFF if i % 2 == 0 else ON)
            if one_by_one:  # the next file as soon as this one changed the status
                d.wait_log(["event=kr_status", "to=" + ("off_track" if i % 2 == 0 else "on_track")])
        # The daemon's view includes the last file: every transition is committed.
        last = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(drops.ts))
        poll("an evaluation that saw the last file", lambda: kr_last_point(port) == last)
        events = [x for x in api_json(port, "/api/v1/deliveries")["deliveries"]
                  if x["webhook"] == "a"]
        if one_by_one:
            check(len(events) == 40, f"40 events: {len(events)}")
        check(len(events) >= 2, f"events: {events}")
        trans = poll("a kr_status line per event",
                     lambda: (lambda t: t if len(t) == len(events) else None)(d.transitions()))
        want = [x["type"] for x in events]
        check(want == ["kr.off_track" if to == "off_track" else "kr.back_on_track"
                       for _, to in trans], f"one event per transition: {want} vs {trans}")
        for rec in (a, b):
            # A lost kick would leave an event for the 6 h housekeeping timer.
            rec.wait(lambda r: len(r) >= len(events), f"{len(events)} events", 20)
        ra, rb = a.delivered(), b.delivered()
        check([r["id"] for r in ra] == [x["event_id"] for x in events],
              f"webhook a got every event, in order of creation, once: {types(ra)} vs {want}")
        check([r["id"] for r in rb] == [x["event_id"] for x in events],
              f"webhook b got every event, in order of creation, once: {types(rb)} vs {want}")
        for name, reqs in (("a", ra), ("b", rb)):
            late = [(i, round(r["t"] - t, 3)) for i, (r, (t, _)) in enumerate(zip(reqs, trans))
                    if r["t"] - t > 1.0]
            check(not late, f"webhook {name}: events received more than 1 s after their commit "
                            f"(index, seconds): {late}")
        check("webhook deliveries" not in status(args, cfg), "nothing pending or dead")
        code, _ = d.stop()
        check(code == 0, f"clean exit: {code}")
    finally:
        d.kill()
        a.close()
        b.close()


def test_burst_of_40_transitions_two_webhooks(args, wd):
    """40 files renamed in back to back: as many kicks as the daemon makes
    meet busy senders."""
    burst(args, wd, one_by_one=False)


def test_40_transitions_one_by_one_two_webhooks(args, wd):
    """Each file renamed in as soon as the previous one changed the status:
    exactly 40 events, most committed while a sender is mid-delivery."""
    burst(args, wd, one_by_one=True)


def test_removed_webhook_keeps_its_queue_until_it_returns(args, wd):
    down = Receiver(lambda n, r: (503, {}))  # "team" as it was: down
    ops = Receiver(lambda n, r: (204, {}))   # a webhook that stays configured
    back = Receiver(lambda n, r: (204, {}))  # "team" when it returns, at a new URL
    renamed = Receiver(lambda n, r: (204, {}))
    port = free_port()
    listen = f"127.0.0.1:{port}"
    hooks = lambda team_url, team_id="team": (  # noqa: E731
        [{"id": "ops", "url": ops.url}] + ([{"id": team_id, "url": team_url}] if team_url else []))
    cfg = config(wd, hooks(down.url), listen=listen)
    drops = Drops(wd)
    d = TimedDaemon(args.okrd, cfg)
    try:
        drops.put(OFF)
        down.wait(lambda r: len(r) >= 1, "team's first attempt")
        drops.put(ON)
        d.wait_log(["event=kr_status", "to=on_track"])
        drops.put(OFF)
        d.wait_log(["event=kr_status", "from=on_track", "to=off_track"])
        first3 = [r["id"] for r in ops.wait(lambda r: len(r) >= 3, "ops got three events")]

        # Reload 1: "team" renamed to "team-v2" — team's three events are orphaned.
        config(wd, hooks(renamed.url, "team-v2"), listen=listen)
        d.signal(signal.SIGHUP)
        d.wait_log(["event=reloaded", "webhooks=2"])
        # A fourth event while team is gone goes to ops and team-v2 only. Its
        # arrival at ops also means the reload's housekeeping job (queued
        # before it on the one writer) has run: the old code dead-lettered
        # the orphans right there.
        drops.put(ON)
        ops.wait(lambda r: len(r) >= 4, "ops got the fourth event")
        renamed.wait(lambda r: len(r) >= 1, "team-v2 got the fourth event")
        dl = api_json(port, "/api/v1/deliveries?state=pending")
        team = [x for x in dl["deliveries"] if x["webhook"] == "team"]
        check([x["event_id"] for x in team] == first3 and all(x["orphaned"] for x in team),
              f"team's three deliveries wait, pending and orphaned: {dl}")
        check(dl["orphaned"] == 3, f"the API counts three orphaned: {dl.get('orphaned')}")
        st = status(args, cfg)
        check("3 pending, 0 dead-lettered, 3 orphaned" in st and "webhook=team (orphaned" in st,
              f"okrd status counts and marks them:\n{st}")
        check("event=webhook_removed webhook=team" in d.log(), "the removal is logged")

        # Reload 2: "team" is back (another URL: the id names the receiver).
        config(wd, hooks(back.url), listen=listen)
        d.signal(signal.SIGHUP)
        got = back.wait(lambda r: len(r) >= 3, "team's queue delivered at its new URL", 20)
        check([r["id"] for r in got] == first3,
              f"in order of creation, each once: {[r['id'] for r in got]} vs {first3}")
        check(types(got) == ["kr.off_track", "kr.back_on_track", "kr.off_track"], types(got))
        drops.put(OFF)  # a fifth event, routed to team again
        got = back.wait(lambda r: len(r) >= 4, "team gets new events again", 20)
        check(len(got) == 4 and got[3]["id"] not in first3 and
              got[3]["id"] != renamed.requests[0]["id"],
              "the event raised while team was gone was never routed to it")
        dl = poll("nothing pending", lambda: (lambda x: x if not x["deliveries"] else None)(
            api_json(port, "/api/v1/deliveries?state=pending")))
        check(dl["orphaned"] == 0, f"no orphans left: {dl}")
        check(not api_json(port, "/api/v1/deliveries?state=dead")["deliveries"], "nothing dead")
        code, _ = d.stop()
        check(code == 0, f"clean exit: {code}")
    finally:
        d.kill()
        for r in (down, ops, back, renamed):
            r.close()


def test_orphan_dies_only_by_its_recorded_max_age(args, wd):
    # A receiver that accepts the connection and never answers: the attempt
    # is in flight when the reload removes the webhook.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
    port = free_port()
    listen = f"127.0.0.1:{port}"
    cfg = config(wd, [{"id": "team", "url": url, "timeout": "60s", "max_age": "6s"}], listen=listen)
    drops = Drops(wd)
    d = TimedDaemon(args.okrd, cfg)
    try:
        drops.put(OFF)
        _, t_commit = d.wait_log_t(["event=kr_status", "to=off_track"])
        config(wd, [], listen=listen)
        d.signal(signal.SIGHUP)
        d.wait_log(["event=reloaded", "webhooks=0"])
        st = status(args, cfg)
        check("1 pending, 0 dead-lettered, 1 orphaned" in st,
              f"orphaned, waiting, after the reload:\n{st}")
        line, t_dead = d.wait_log_t(["event=webhook_dead_letter", "webhook=team"], 20)
        check("max_age" in line, f"dead by max_age: {line}")
        # created_at is whole seconds: the 6 s may start up to 1 s before the commit.
        check(t_dead - t_commit >= 5.0, f"dead {t_dead - t_commit:.2f}s after its creation, "
                                        "before its max_age of 6s")
        dead = api_json(port, "/api/v1/deliveries?state=dead")["deliveries"]
        check(len(dead) == 1 and "max_age" in dead[0]["last_error"] and not dead[0]["orphaned"],
              f"the API shows it dead-lettered: {dead}")
        st = status(args, cfg)
        check("0 pending, 1 dead-lettered, 0 orphaned" in st, f"status:\n{st}")
    finally:
        d.kill()
        silent.close()


if __name__ == "__main__":
    main([test_burst_of_40_transitions_two_webhooks, test_40_transitions_one_by_one_two_webhooks,
          test_removed_webhook_keeps_its_queue_until_it_returns,
          test_orphan_dies_only_by_its_recorded_max_age])
