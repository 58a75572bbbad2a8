"""A 410-disabled webhook across a takeover (DESIGN sections 5 and 10): two
real `okrd run` nodes on one PostgreSQL server the test starts itself, two
webhooks ("hook0" accepts, "hook1" answers 410 Gone).

The leader's first event dead-letters at hook1 and disables it; the leader
is SIGKILLed; the other node takes over and, the 410 being recorded in the
store after its own start, keeps hook1 disabled (its log says so): the next
event reaches hook0 from the new leader and waits for hook1, which is never
asked. A reload of the new leader enables hook1 and the waiting event goes
out (answered 410 again). A node that started after the 410 would enable
it: that is the restart case, which test_webhooks proves on both backends.
"""
import signal

from hatest import pair, teardown, Drops, PgServer, Receiver, RolePoller, wait_for
from okrdtest import check, main, run

OFF, ON = 1010, 1150


def ids_from(rec, node):
    return [r["id"] for r in rec.snapshot() if r["path"].endswith("/" + node.name)]


def test_410_stays_disabled_after_takeover(args, wd):
    pg = PgServer(wd)
    ok, gone = Receiver(), Receiver(answer=410)
    receivers = [ok, gone]
    nodes, poller = [], None
    try:
        nodes = pair(args, wd, pg, receivers)
        poller = RolePoller(nodes)
        wait_for(lambda: poller.leader() is not None, "one leader")
        li = poller.leader()
        old, new = nodes[li], nodes[1 - li]
        drops = Drops(wd)
        drops.put(OFF)  # kr.off_track
        old.daemon.wait_log(["event=webhook_disabled", "webhook=hook1"])
        wait_for(lambda: len(ids_from(ok, old)) == 1, "hook0 got the first event")
        check(len(gone.snapshot()) == 1, f"hook1 asked once: {len(gone.snapshot())}")
        # The answer is recorded (a kill before that would have the next
        # leader send the event again, at least once, and meet the 410 itself).
        wait_for(lambda: "1 dead-lettered" in run(args.okrd, "status", "-c", old.config).stdout,
                 "the 410 recorded", deadline=15, every=0.2)

        old.kill()
        poller.wait_role(1 - li, "leader", deadline=15)
        line = new.daemon.wait_log(["event=webhook_disabled", "webhook=hook1", "disabled_at="])
        check("recorded in the store" in line, f"the new leader says why: {line}")
        drops.put(ON)  # kr.back_on_track, by the new leader
        wait_for(lambda: len(ids_from(ok, new)) >= 1, "hook0 got the second event",
                 deadline=60)
        check(len(gone.snapshot()) == 1,
              f"the new leader never asked the disabled hook1: {len(gone.snapshot())} requests")
        st = run(args.okrd, "status", "-c", new.config).stdout
        check("1 pending, 1 dead-lettered" in st, f"hook1's second event waits:\n{st}")

        # A reload of the leader enables it: the waiting event goes out.
        new.daemon.signal(signal.SIGHUP)
        wait_for(lambda: len(ids_from(gone, new)) == 1, "hook1 asked again after the reload",
                 deadline=60)
        second = [r for r in ok.snapshot() if r["path"].endswith("/" + new.name)][0]
        check(ids_from(gone, new) == [second["id"]],
              f"hook1 got the waiting event: {ids_from(gone, new)} vs {second['id']}")
    finally:
        teardown(poller, nodes, receivers, pg)


if __name__ == "__main__":
    main([test_410_stays_disabled_after_takeover])
