"""Writes posted to a follower (DESIGN section 10): "a push or a check-in
posted to a follower is committed by that follower and NOTIFY wakes the
leader, whose evaluation writes its events (only the leader writes the
outbox)". Two real `okrd run` nodes on one PostgreSQL server the test
starts itself, one webhook receiver that records which node sent each
request.

A point pushed to the follower (POST /api/v1/points) that puts dau-up off
track: the follower answers 200, and kr.off_track arrives from the LEADER;
a check-in posted to the follower (POST .../check-ins): 201, and
kr.check_in arrives from the leader; the follower sent nothing; the outbox
holds each event once; both nodes answer the check-in in the key result.
"""
import json
import time
import urllib.error
import urllib.request

from hatest import pair, TOKEN, teardown, PgServer, Receiver, RolePoller, wait_for
from okrdtest import check, main

OFF = 1010  # dau-up (1000 -> 1200) behind its pace at mid-cycle


def post(node, path, doc):
    req = urllib.request.Request(f"http://127.0.0.1:{node.port}{path}", method="POST",
                                 data=json.dumps(doc).encode(),
                                 headers={"Authorization": f"Bearer {TOKEN}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def get(node, path):
    req = urllib.request.Request(f"http://127.0.0.1:{node.port}{path}",
                                 headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def types_from(rec, node):
    return [json.loads(r["body"])["type"] for r in rec.snapshot()
            if r["path"].endswith("/" + node.name)]


def test_push_and_checkin_on_the_follower(args, wd):
    pg = PgServer(wd)
    rec = Receiver()
    nodes, poller = [], None
    try:
        nodes = pair(args, wd, pg, [rec])
        poller = RolePoller(nodes)
        wait_for(lambda: poller.leader() is not None, "one leader")
        li = poller.leader()
        leader, follower = nodes[li], nodes[1 - li]
        leader.daemon.wait_log("ha_deliveries")  # the new leader's wait is over

        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        st, doc = post(follower, "/api/v1/points", [{"metric": "dau", "timestamp": ts,
                                                      "value": OFF}])
        check(st == 200, f"the follower took the push: {st} {doc}")
        try:
            wait_for(lambda: "kr.off_track" in types_from(rec, leader),
                     "kr.off_track from the leader", deadline=30)
        except Exception:
            print("LEADER\n" + leader.daemon.log() + "\nFOLLOWER\n" + follower.daemon.log())
            print(rec.snapshot())
            raise

        st, doc = post(follower, "/api/v1/key-results/dau-up/check-ins",
                       {"confidence": 4, "comment": "posted to the follower"})
        check(st == 201, f"the follower took the check-in: {st} {doc}")
        wait_for(lambda: "kr.check_in" in types_from(rec, leader),
                 "kr.check_in from the leader", deadline=30)

        check(types_from(rec, follower) == [],
              f"the follower delivered nothing: {types_from(rec, follower)}")
        ids = [r["id"] for r in rec.snapshot()]
        check(len(ids) == len(set(ids)), f"each event once: {ids}")
        outbox = [r[0] for r in pg.okrd_sql("SELECT type FROM outbox ORDER BY seq")]
        check(outbox.count("kr.off_track") == 1 and outbox.count("kr.check_in") == 1,
              f"each event once in the outbox: {outbox}")
        for n in nodes:
            wait_for(lambda n=n: (get(n, "/api/v1/key-results/dau-up").get("check_in") or {})
                     .get("comment") == "posted to the follower",
                     f"node {n.name} shows the check-in", deadline=15)
    finally:
        teardown(poller, nodes, [rec], pg)


if __name__ == "__main__":
    main([test_push_and_checkin_on_the_follower])
