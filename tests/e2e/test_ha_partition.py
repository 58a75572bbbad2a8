"""A leader whose host vanishes (DESIGN section 10): "when its host
vanishes, [another node answers role: leader] within 3 x takeover_check",
thanks to the keepalives and tcp_user_timeout okrd sets on its sessions, and
the leader itself stops acting within takeover_check of its last
confirmation.

Node a runs in a network namespace of its own, joined to this host by a
veth pair, and reaches PostgreSQL (started by the test, listening on the
host's end too) over TCP; node b runs here on the unix socket. With a the
leader and b a follower, the test takes the host's end of the veth pair
down: from then on packets between a and the server vanish without an
error, as when a host loses power or its network. b must answer leader
within 3 x takeover_check; a's log must show it stepped down (no
confirmation) before b's /healthz first answered leader; a file dropped
after the cut is ingested by b. With the link back, a rejoins as a
follower and b keeps leading.

Needs root (a network namespace, as CI runs); skipped otherwise, saying so.
"""
import os
import subprocess
import time

from hatest import (BINDIR, TAKEOVER_S, teardown, Drops, Node, PgServer, RolePoller,
                    wait_for)
from okrdtest import check, main, skip

PASSWORD = "okrd-test-password"  # tests/pg/pgserver's TCP password


class Netns:
    """A network namespace joined to this host by a veth pair: the host's
    end HOST_IP, the namespace's end NS_IP (a /30 of 10.213.0.0/16)."""

    def __init__(self):
        n = os.getpid() % 250 + 1
        self.name = f"okrd-part-{os.getpid()}"
        self.host_if, self.ns_if = f"okph{os.getpid() % 100000}", f"okpn{os.getpid() % 100000}"
        self.host_ip, self.ns_ip = f"10.213.{n}.1", f"10.213.{n}.2"
        if os.geteuid() != 0:
            skip("needs root to make a network namespace (CI runs as root)")
        self.made = False
        self.ip("netns", "add", self.name)
        self.made = True
        self.ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        self.ip("link", "set", self.ns_if, "netns", self.name)
        self.ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
        self.ip("link", "set", self.host_if, "up")
        self.ip("netns", "exec", self.name, "ip", "addr", "add", f"{self.ns_ip}/30", "dev",
                self.ns_if)
        self.ip("netns", "exec", self.name, "ip", "link", "set", self.ns_if, "up")
        self.ip("netns", "exec", self.name, "ip", "link", "set", "lo", "up")

    def ip(self, *argv):
        r = subprocess.run(["ip", *argv], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"ip {' '.join(argv)}: {r.stderr.strip()}")

    def wrapper(self, wd, okrd):
        """An executable that runs okrd inside the namespace (same pid)."""
        path = os.path.join(wd.path, "okrd-in-netns")
        with open(path, "w") as f:
            f.write(f"#!/bin/sh\nexec ip netns exec {self.name} {okrd} \"$@\"\n")
        os.chmod(path, 0o755)
        return path

    def link(self, up):
        self.ip("link", "set", self.host_if, "up" if up else "down")

    def close(self):
        if self.made:
            subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=30)
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=30)


def listen_on(pg, net):
    """The test's server also listens on the host's end of the veth pair,
    with a password for the namespace's address."""
    with open(os.path.join(pg.dir, "cluster")) as f:  # where pgserver put it
        cluster = f.read().strip()
    data = os.path.join(cluster, "data")
    with open(os.path.join(data, "pg_hba.conf"), "a") as f:
        f.write(f"host all all {net.ns_ip}/32 scram-sha-256\n")
    pg.sql(f"ALTER SYSTEM SET listen_addresses = '127.0.0.1,{net.host_ip}'")
    r = subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(BINDIR, "pg_ctl"),
                        "-D", data, "restart", "-w", "-m", "fast",
                        "-l", os.path.join(cluster, "log")],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"pg_ctl restart: {r.stdout}{r.stderr}")


def test_vanished_host(args, wd):
    net = Netns()
    pg, nodes, poller = None, [], None
    try:
        pg = PgServer(wd)
        listen_on(pg, net)
        url = (f"host={net.host_ip} port={pg.port} user=postgres password={PASSWORD} "
               "dbname=okrd_ha")
        a = Node(args, wd, "a", pg, host=net.ns_ip, url=url, okrd=net.wrapper(wd, args.okrd))
        b = Node(args, wd, "b", pg)
        nodes = [a, b]
        a.start()
        a.daemon.wait_log("started")
        wait_for(lambda: a.role() == "leader", "node a (in the namespace) leading", deadline=15)
        b.start()
        b.daemon.wait_log("started")
        poller = RolePoller(nodes)
        poller.wait_role(1, "follower")

        t_cut = time.monotonic()
        net.link(False)
        Drops(wd).put(1100)  # for whoever leads now
        t_lead = poller.wait_role(1, "leader", deadline=30, after=t_cut)
        took = t_lead - t_cut
        print(f"     b answered leader {took:.2f}s after the link went down "
              f"(takeover_check {TAKEOVER_S:.0f}s)")
        check(took <= 3 * TAKEOVER_S, f"b answered leader after {took:.2f}s (DESIGN: within "
                                      f"3 x takeover_check = {3 * TAKEOVER_S:.0f}s)")
        a.daemon.wait_log(["event=ha_follower", "reason=no_confirmation"])
        step = [t for t, line in a.daemon.timed if "event=ha_follower" in line][0]
        print(f"     a stepped down {step - t_cut:.2f}s after the cut")
        check(step < t_lead, f"a stepped down ({step - t_cut:.2f}s) before b answered leader "
                             f"({took:.2f}s)")
        b.daemon.wait_log("event=file_ingested")

        net.link(True)
        wait_for(lambda: a.role() == "follower", "a back, as a follower", deadline=30)
        check(b.role() == "leader", "b keeps leading")
    finally:
        try:
            if pg:
                teardown(poller, nodes, [], pg)
        finally:
            net.close()


if __name__ == "__main__":
    main([test_vanished_host])
