"""Network partitions for the fault suite (FAULTS.md 25, 26): a process runs in a network
namespace of its own, joined to the root namespace by a veth pair, and is cut from MariaDB by an
nftables drop rule inside its namespace, then healed by deleting the rule.

The round's MariaDB, Redis and fake upstream listen on loopback only (tests/servers, shared by
the rounds of a driver run, binds 127.0.0.1), which a namespace cannot reach. Rather than
restart them on another address, a small TCP relay in the driver listens on the root end of
the veth and forwards to loopback: the namespace reaches each server at <root end>:<relay
port>. The cut is still a real partition: the drop rule sits in the namespace, so packets to
MariaDB vanish (no RST, no FIN: the client sees its connect or read time out, as across a
broken link), while Redis and the upstream stay reachable.

Needs root (ip netns, nft). Names are unique per driver process and namespace; everything is
deleted by close(), which the round calls even when the scenario fails.
"""

import itertools
import os
import socket
import subprocess
import threading

_seq = itertools.count(1)


def _run(*args):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise OSError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


class Relay:
    """Forwards TCP connections accepted on (host, 0) to 127.0.0.1:target; self.port is the
    port it listens on."""

    def __init__(self, host, target):
        self.target = target
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.closed = False
        self.conns = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.lsock.close()
        with self.lock:
            for s in self.conns:
                try:
                    s.close()
                except OSError:
                    pass


class Netns:
    """A network namespace joined to the root one by a veth pair, with relays to the loopback
    servers. ns.addr is the root end's address, as seen from inside; ns.prefix() is the
    command prefix that runs a program inside."""

    def __init__(self):
        n = next(_seq)
        tag = f"{os.getpid() % 100000:05d}{n:02d}"
        self.name = f"jfchaos-{tag}"
        self.host_if, self.ns_if = f"jfh{tag}", f"jfn{tag}"  # <= 15 characters
        # A /30 of 10.231.0.0/16 from the driver's pid and the namespace's number.
        k = (os.getpid() * 8 + n) % 16384
        base = f"10.231.{k // 64}.{(k % 64) * 4}"
        a, b, c, d = base.split(".")
        self.addr = f"{a}.{b}.{c}.{int(d) + 1}"
        self.ns_addr = f"{a}.{b}.{c}.{int(d) + 2}"
        self.relays = {}
        self.cut_ports = []
        self.made = False
        try:
            _run("ip", "netns", "add", self.name)
            self.made = True
            _run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
            _run("ip", "link", "set", self.ns_if, "netns", self.name)
            _run("ip", "addr", "add", f"{self.addr}/30", "dev", self.host_if)
            _run("ip", "link", "set", self.host_if, "up")
            _run("ip", "-n", self.name, "addr", "add", f"{self.ns_addr}/30", "dev", self.ns_if)
            _run("ip", "-n", self.name, "link", "set", self.ns_if, "up")
            _run("ip", "-n", self.name, "link", "set", "lo", "up")
        except (OSError, subprocess.TimeoutExpired):
            self.close()
            raise

    def relay(self, target):
        """The port inside the namespace reaches 127.0.0.1:target through (created once)."""
        if target not in self.relays:
            self.relays[target] = Relay(self.addr, target)
        return self.relays[target].port

    def prefix(self):
        return ["ip", "netns", "exec", self.name]

    def cut(self, target):
        """Drops every packet between the namespace and the relay of target (both ways)."""
        port = self.relay(target)
        rules = (f"add table inet jfcut\n"
                 f"add chain inet jfcut out {{ type filter hook output priority 0; }}\n"
                 f"add chain inet jfcut in {{ type filter hook input priority 0; }}\n"
                 f"add rule inet jfcut out ip daddr {self.addr} tcp dport {port} drop\n"
                 f"add rule inet jfcut in ip saddr {self.addr} tcp sport {port} drop\n")
        subprocess.run(self.prefix() + ["nft", "-f", "-"], input=rules, text=True, check=True,
                       capture_output=True, timeout=30)
        self.cut_ports.append(port)

    def heal(self):
        if self.cut_ports:
            _run(*self.prefix(), "nft", "delete", "table", "inet", "jfcut")
            self.cut_ports = []

    def close(self):
        for r in self.relays.values():
            r.close()
        self.relays = {}
        if self.made:
            # Deleting the namespace deletes its veth end, and with it the root end, and its
            # nftables tables.
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=30)
            self.made = False
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=30)
