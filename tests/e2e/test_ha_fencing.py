"""High availability on PostgreSQL, fencing (DESIGN section 10): two real
`okrd run` nodes on one PostgreSQL server the test starts itself.

  1. pg_terminate_backend of the leader's writer session while it ingests
     and delivers: the old leader steps down (role follower, log line
     ha_follower) as soon as it learns of it — the server's message on its
     idle writer session, or the error of its next statement or
     confirmation, within takeover_check (the server freed its lock at once,
     so the other node may already answer leader in that moment: the only
     window in which two nodes may answer leader, allowed below; the old one
     can write nothing then, its session being gone, and the new one
     delivers nothing before takeover_check + the webhook timeout), delivers
     nothing after that (the receivers record which
     node sent each request, and no request of the old leader's comes after
     the new leader's first one), evaluates and ingests nothing after it
     (its log), the other node takes over, and the old one rejoins as a
     follower over a new writer session;
  2. SIGSTOP the leader for 3 x takeover_check, then SIGCONT: its session
     and lock lived, so the other node never answered leader meanwhile;
     after SIGCONT the stopped node answers follower at once (its last
     confirmation is old) and the other takes over; both /healthz are
     polled throughout and never both answer leader.
"""
import signal
import time

from hatest import (pair, teardown, TAKEOVER_S, Drops, PgServer, Receiver, RolePoller,
                    wait_for)
from okrdtest import check, main

OFF, ON = 1010, 1150

# Log events only a node acting as the leader writes.
LEADER_EVENTS = ("event=kr_status", "event=evaluated", "event=file_ingested",
                 "event=csv_ingested", "event=webhook_delivered", "event=source_started")



def test_terminated_session_steps_down(args, wd):
    pg = PgServer(wd)
    receivers = [Receiver()]
    nodes, poller = [], None
    try:
        nodes = pair(args, wd, pg, receivers)
        poller = RolePoller(nodes)
        wait_for(lambda: poller.leader() is not None, "one leader")
        li = poller.leader()
        old, new = nodes[li], nodes[1 - li]
        drops = Drops(wd)
        value = OFF
        # The leader ingests and delivers ...
        for _ in range(6):
            value = ON if value == OFF else OFF
            drops.put(value)
            time.sleep(0.3)
        wait_for(lambda: any(q["path"].endswith("/" + old.name) for q in receivers[0].snapshot()),
                 "a delivery from the leader", deadline=30)
        pids = old.writer_pids()
        check(len(pids) == 1, f"one writer session of the leader: {pids}")
        # ... when its writer session is terminated (and files keep coming).
        t_term = time.monotonic()
        pg.sql(f"SELECT pg_terminate_backend({pids[0]})")
        overlap = (t_term, TAKEOVER_S + 0.5)
        for _ in range(6):
            value = ON if value == OFF else OFF
            drops.put(value)
            time.sleep(0.2)
        t_down = poller.wait_role(li, "follower", deadline=10, after=t_term)
        old.daemon.wait_log("event=ha_follower reason=")
        t_lead = poller.wait_role(1 - li, "leader", deadline=15, after=t_term)
        print(f"     old leader follower after {t_down - t_term:.2f}s, "
              f"new leader after {t_lead - t_term:.2f}s")
        # The old leader's step-down line, as its log's arrival time.
        step = [ts for ts, line in old.daemon.timed if "event=ha_follower reason=" in line][0]
        # Everything dropped goes in; every event is delivered.
        wait_for(lambda: not drops.pending(), "the inbox drained", deadline=60)
        events = [r[0] for r in pg.okrd_sql("SELECT id FROM outbox ORDER BY seq")]
        wait_for(lambda: set(events) <= {q["id"] for q in receivers[0].snapshot()},
                 "every event delivered", deadline=60)
        reqs = receivers[0].snapshot()
        from_old = [q for q in reqs if q["path"].endswith("/" + old.name)]
        from_new = [q for q in reqs if q["path"].endswith("/" + new.name)]
        check(from_new, "the new leader delivers")
        check(all(q["t"] <= step for q in from_old),
              f"the old leader sent nothing after it stepped down: "
              f"{[(round(q['t'] - step, 2), q['id']) for q in from_old if q['t'] > step]}; "
              f"its log after:\n" + "\n".join(old.daemon.lines_after(step)))
        check(all(q["t"] < min(r["t"] for r in from_new) for q in from_old),
              "every request of the old leader came before the new leader's first")
        after = [line for line in old.daemon.lines_after(step)
                 if any(e in line for e in LEADER_EVENTS)]
        check(not after, f"the old leader wrote or ingested nothing after stepping down: {after}")
        check(len(events) == len(set(events)), "no event id twice in the outbox")
        # It rejoins as a follower over a new writer session.
        wait_for(lambda: old.writer_pids() and old.writer_pids() != pids,
                 "a new writer session of the old leader", deadline=15)
        check(old.role() == "follower" and new.role() == "leader", "roles after the takeover")
        check(int(pg.okrd_sql("SELECT count(*) FROM points")[0][0]) == len(drops.points),
              "every dropped point stored once")
        both = poller.close(overlap)
        poller = None
        print(f"     both answered leader for {len(both)} polls right after the termination")
    finally:
        teardown(poller, nodes, receivers, pg)


def test_sigstop_never_two_leaders(args, wd):
    pg = PgServer(wd)
    nodes, poller = [], None
    try:
        nodes = pair(args, wd, pg)
        poller = RolePoller(nodes)
        wait_for(lambda: poller.leader() is not None, "one leader")
        li = poller.leader()
        stopped, other = nodes[li], nodes[1 - li]
        t_stop = time.monotonic()
        stopped.daemon.signal(signal.SIGSTOP)
        wait_for(lambda: time.monotonic() - t_stop >= 3 * TAKEOVER_S, "3 x takeover_check")
        during = [roles[1 - li] for t, roles in poller.samples if t >= t_stop]
        check(during and "leader" not in during,
              f"the other node never led while the leader's session lived: {set(during)}")
        t_cont = time.monotonic()
        stopped.daemon.signal(signal.SIGCONT)
        first = poller.wait_role(li, "follower", deadline=10, after=t_cont)
        answers = [roles[li] for t, roles in poller.samples if t_cont <= t <= first]
        check("leader" not in answers, f"after SIGCONT it never answered leader: {answers}")
        t_lead = poller.wait_role(1 - li, "leader", deadline=15, after=t_cont)
        print(f"     after SIGCONT: the other leads after {t_lead - t_cont:.2f}s")
        stopped.daemon.wait_log("event=ha_follower reason=")
        # and the stopped one competes again as a follower
        t = time.monotonic()
        wait_for(lambda: time.monotonic() - t > 2 * TAKEOVER_S, "a while")
        check(stopped.role() == "follower" and other.role() == "leader", "roles settle")
    finally:
        teardown(poller, nodes, [], pg)


if __name__ == "__main__":
    main([test_terminated_session_steps_down, test_sigstop_never_two_leaders])
