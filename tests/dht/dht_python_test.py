#!/usr/bin/env python3
"""The DHT contract through Python's standard xmlrpc.client only, across joins, graceful
leaves and the crash (kill -9) of replicas-1 = 2 adjacent chord-node processes.

Usage: dht_python_test.py PATH/TO/chord-node [--create-chord PATH/TO/create_chord]

With --create-chord the ring is a ring with a secret, as a user starts it: `create_chord 6
--secret-file F --no-shell` with a random secret in F; the nodes that join later get
--secret-file F too, and the graceful leaves and crashes hit create_chord's nodes as well
(found by the port they listen on). The client calls are not signed: client commands stay open
on a ring with a secret, and the peers' own calls prove it.

Prints 'N passed, N failed' and exits 0 only if nothing failed.
"""
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
import xmlrpc.client

from ring_helpers import (exit_status, node_identity, read_line, ring_ok, spawn, stop_all,
                          wait_for)

# Every call is bounded: a node that hangs fails the test instead of stalling it.
socket.setdefaulttimeout(60)

FAST = ["--stabilize-ms", "100", "--fix-fingers-ms", "100", "--check-predecessor-ms", "200",
        "--repair-ms", "300", "--replicas", "3", "--successors", "6", "--log-level", "warning"]


class Node:
    """A chord-node this test started."""

    def __init__(self, binary, args):
        self.proc = spawn([binary] + args + FAST)
        line = read_line(self.proc.stdout, 20)
        identity = node_identity(line)
        if identity is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise RuntimeError("node did not start: %r" % line.split())
        self.id, self.address = identity
        self.rpc = xmlrpc.client.ServerProxy("http://" + self.address)

    def signal(self, number):
        self.proc.send_signal(number)

    def wait_exit(self, seconds):
        """The exit code, or None if still running after `seconds`."""
        return exit_status(self.proc, seconds)


def proc_children(pid):
    children = set()
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                children.update(int(c) for c in f.read().split())
    except OSError:
        pass
    if not children:  # no children files: scan every process's parent
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/stat" % entry) as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                            children.add(int(entry))
                except (OSError, IndexError, ValueError):
                    pass
    return children


def listening_ports_by_pid(pids):
    """{port: pid} of the TCP sockets in LISTEN state held by the given processes."""
    inode_port = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    if fields[3] == "0A":  # LISTEN
                        inode_port[fields[9]] = int(fields[1].rsplit(":", 1)[1], 16)
        except OSError:
            pass
    ports = {}
    for pid in pids:
        try:
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inode_port:
                    ports[inode_port[link[8:-1]]] = pid
        except OSError:
            pass
    return ports


class LaunchedNode:
    """A chord-node that create_chord started (a child of create_chord, not of this test)."""

    def __init__(self, address, pid):
        self.address, self.pid = address, pid
        self.rpc = xmlrpc.client.ServerProxy("http://" + self.address)
        self.id = int(self.rpc.chord.info()["id"], 16)

    def signal(self, number):
        os.kill(self.pid, number)

    def wait_exit(self, seconds):
        """The exit code read from the zombie (create_chord reaps its nodes only when it stops),
        0 if it is gone already, or None if still running after `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with open("/proc/%d/stat" % self.pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                return 0  # reaped already: its exit code is not ours to read
            if fields[0] in ("Z", "X"):
                status = int(fields[-1])  # exit_code, as waitpid reports it
                return status >> 8 if status & 0x7f == 0 else -(status & 0x7f)
            time.sleep(0.05)  # polling a live process with a deadline
        return None


class CreateChordRing:
    """`create_chord N --secret-file F --no-shell` and the nodes it started."""

    def __init__(self, create_chord, node_binary, count, secret_file, workdir):
        ring_file = os.path.join(workdir, "ring.txt")
        self.stderr = open(os.path.join(workdir, "create_chord.log"), "w")
        self.proc = spawn([create_chord, str(count), "--no-shell", "--ring-file", ring_file,
                           "--node-binary", node_binary, "--secret-file", secret_file] + FAST,
                          stderr=self.stderr)
        try:
            self.nodes = self._find_nodes(ring_file)
        except Exception:
            self.stop()
            raise

    def _find_nodes(self, ring_file):
        deadline = time.monotonic() + 90
        line = ""
        while not line.startswith("ring file:") and time.monotonic() < deadline:
            line = read_line(self.proc.stdout, deadline - time.monotonic())
            if not line and self.proc.poll() is not None:
                break
        if not line.startswith("ring file:"):
            raise RuntimeError("create_chord did not start its ring: %s" % self.log())
        with open(ring_file) as f:
            addresses = [a.strip() for a in f if a.strip()]
        ports = listening_ports_by_pid(proc_children(self.proc.pid))
        nodes = []
        for address in addresses:
            port = int(address.rsplit(":", 1)[1])
            if port not in ports:
                raise RuntimeError("no process of create_chord listens on %s" % address)
            nodes.append(LaunchedNode(address, ports[port]))
        return nodes

    def log(self):
        self.stderr.flush()
        with open(self.stderr.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        if exit_status(self.proc, 60) is None:
            self.proc.kill()  # its nodes get SIGKILL with it (PR_SET_PDEATHSIG)
            self.proc.wait(timeout=10)


def value_of(i):
    if i % 5 == 0:
        return xmlrpc.client.Binary(bytes([i % 256, 0, 255, 10]) * 3)
    return "value-%d" % i


def same(a, b):
    if isinstance(a, xmlrpc.client.Binary) or isinstance(b, xmlrpc.client.Binary):
        return (isinstance(a, xmlrpc.client.Binary) and isinstance(b, xmlrpc.client.Binary)
                and a.data == b.data)
    return a == b


def copies_ok(nodes, live_keys):
    owned = sum(n.rpc.dht.stats()["owned"] for n in nodes)
    replicas = sum(n.rpc.dht.stats()["replicas"] for n in nodes)
    return owned == live_keys and replicas == 2 * live_keys


def main():
    binary = os.path.abspath(sys.argv[1])
    create_chord = None
    if len(sys.argv) == 4 and sys.argv[2] == "--create-chord":
        create_chord = os.path.abspath(sys.argv[3])
    elif len(sys.argv) != 2:
        print(__doc__)
        return 2
    passed = failed = 0
    nodes = []
    ring = None
    workdir = tempfile.mkdtemp(prefix="dht_python_test_")
    secret_args = []

    def check(ok, what):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
            print("FAIL:", what)

    def unreadable(keys, through):
        bad = 0
        for node in through:
            for i in keys:
                answer = node.rpc.dht.get("key-%d" % i)
                want = expected[i]
                wrong = answer["found"] if want is None else (
                    not answer["found"] or not same(answer["value"], want))
                if wrong:
                    bad += 1
                    if bad <= 5:
                        print("  key-%d through %s: %r" % (i, node.address, answer))
        return bad

    try:
        if create_chord:
            secret_file = os.path.join(workdir, "secret")
            with open(secret_file, "w") as f:
                f.write(os.urandom(32).hex() + "\n")
            secret_args = ["--secret-file", secret_file]
            ring = CreateChordRing(create_chord, binary, 6, secret_file, workdir)
            nodes.extend(ring.nodes)
        else:
            nodes.append(Node(binary, ["--create"]))
            for _ in range(5):
                nodes.append(Node(binary, ["--join", nodes[-1].address]))
        check(wait_for(lambda: ring_ok(nodes), 30), "6-node ring")
        rnd = random.Random(9)
        expected = {}
        for i in range(600):
            answer = rnd.choice(nodes).rpc.dht.set("key-%d" % i, value_of(i))
            check(answer["stored"] and "node" in answer and answer["hops"] >= 0, "set key-%d" % i)
            expected[i] = value_of(i)
        for i in range(0, 600, 20):
            check(rnd.choice(nodes).rpc.dht.remove("key-%d" % i)["removed"], "remove key-%d" % i)
            expected[i] = None
        a = nodes[0].rpc.dht.add("key-1", "other")
        check(not a["stored"] and a["exists"], "add on an existing key")
        live = sum(1 for v in expected.values() if v is not None)

        # Two joins.
        for _ in range(2):
            nodes.append(Node(binary, ["--join", rnd.choice(nodes).address] + secret_args))
        check(wait_for(lambda: ring_ok(nodes), 30), "8-node ring after joins")
        check(unreadable(expected, nodes) == 0, "every key through every node after joins")
        check(wait_for(lambda: copies_ok(nodes, live), 30), "3 copies after joins")

        # Two graceful leaves.
        for _ in range(2):
            leaving = nodes.pop(rnd.randrange(len(nodes)))
            print("leave:", leaving.address, type(leaving).__name__)
            leaving.signal(signal.SIGTERM)
            check(leaving.wait_exit(15) == 0, "graceful leave exits 0")
        check(wait_for(lambda: ring_ok(nodes), 30), "6-node ring after leaves")
        check(unreadable(expected, nodes) == 0, "every key through every node after leaves")
        check(wait_for(lambda: copies_ok(nodes, live), 30), "3 copies after leaves")

        # kill -9 of two adjacent nodes.
        ordered = sorted(nodes, key=lambda n: n.id)
        first = rnd.randrange(len(ordered))
        victims = [ordered[first], ordered[(first + 1) % len(ordered)]]
        for victim in victims:
            print("kill -9:", victim.address, type(victim).__name__)
            victim.signal(signal.SIGKILL)
            check(victim.wait_exit(15) is not None, "kill -9 ends the node")
            nodes.remove(victim)
        check(wait_for(lambda: unreadable(expected, nodes) == 0, 30),
              "every key through every surviving node after kill -9 of 2 adjacent nodes")
        check(wait_for(lambda: ring_ok(nodes), 30), "ring healed after the crash")
        check(wait_for(lambda: copies_ok(nodes, live), 30), "3 copies restored after the crash")
        check(unreadable(expected, nodes) == 0, "removed keys stayed removed")
    finally:
        stop_all([node.proc for node in nodes if isinstance(node, Node)])
        if ring:
            ring.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
