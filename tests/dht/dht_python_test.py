#!/usr/bin/env python3
"""The DHT contract through Python's standard xmlrpc.client only, across joins, graceful
leaves and the crash (kill -9) of replicas-1 = 2 adjacent chord-node processes.

Usage: dht_python_test.py PATH/TO/chord-node
Prints 'N passed, N failed' and exits 0 only if nothing failed.
"""
import random
import signal
import subprocess
import sys
import time
import xmlrpc.client

FAST = ["--stabilize-ms", "100", "--fix-fingers-ms", "100", "--check-predecessor-ms", "200",
        "--repair-ms", "300", "--replicas", "3", "--successors", "6", "--log-level", "warning"]


class Node:
    def __init__(self, binary, args):
        self.proc = subprocess.Popen([binary] + args + FAST, stdout=subprocess.PIPE, text=True)
        words = self.proc.stdout.readline().split()  # chord-node: id HEX address HOST:PORT
        if len(words) != 5:
            raise RuntimeError("node did not start: %r" % words)
        self.id, self.address = words[2], words[4]
        self.rpc = xmlrpc.client.ServerProxy("http://" + self.address)


def value_of(i):
    if i % 5 == 0:
        return xmlrpc.client.Binary(bytes([i % 256, 0, 255, 10]) * 3)
    return "value-%d" % i


def same(a, b):
    if isinstance(a, xmlrpc.client.Binary) or isinstance(b, xmlrpc.client.Binary):
        return (isinstance(a, xmlrpc.client.Binary) and isinstance(b, xmlrpc.client.Binary)
                and a.data == b.data)
    return a == b


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (OSError, xmlrpc.client.Error):
            pass
        time.sleep(0.1)  # polling live processes with a deadline
    return False


def ring_ok(nodes):
    ordered = sorted(nodes, key=lambda n: n.id)
    for i, node in enumerate(ordered):
        info = node.rpc.chord.info()
        if info["successors"][0]["address"] != ordered[(i + 1) % len(ordered)].address:
            return False
        if info.get("predecessor", {}).get("address") != ordered[i - 1].address:
            return False
    return True


def copies_ok(nodes, live_keys):
    owned = sum(n.rpc.dht.stats()["owned"] for n in nodes)
    replicas = sum(n.rpc.dht.stats()["replicas"] for n in nodes)
    return owned == live_keys and replicas == 2 * live_keys


def main():
    binary = sys.argv[1]
    passed = failed = 0
    nodes = []

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
            nodes.append(Node(binary, ["--join", rnd.choice(nodes).address]))
        check(wait_for(lambda: ring_ok(nodes), 30), "8-node ring after joins")
        check(unreadable(expected, nodes) == 0, "every key through every node after joins")
        check(wait_for(lambda: copies_ok(nodes, live), 30), "3 copies after joins")

        # Two graceful leaves.
        for _ in range(2):
            leaving = nodes.pop(rnd.randrange(len(nodes)))
            leaving.proc.send_signal(signal.SIGTERM)
            check(leaving.proc.wait(timeout=15) == 0, "graceful leave exits 0")
        check(wait_for(lambda: ring_ok(nodes), 30), "6-node ring after leaves")
        check(unreadable(expected, nodes) == 0, "every key through every node after leaves")
        check(wait_for(lambda: copies_ok(nodes, live), 30), "3 copies after leaves")

        # kill -9 of two adjacent nodes.
        ordered = sorted(nodes, key=lambda n: n.id)
        first = rnd.randrange(len(ordered))
        victims = [ordered[first], ordered[(first + 1) % len(ordered)]]
        for victim in victims:
            victim.proc.kill()
            victim.proc.wait(timeout=15)
            nodes.remove(victim)
        check(wait_for(lambda: unreadable(expected, nodes) == 0, 30),
              "every key through every surviving node after kill -9 of 2 adjacent nodes")
        check(wait_for(lambda: ring_ok(nodes), 30), "ring healed after the crash")
        check(wait_for(lambda: copies_ok(nodes, live), 30), "3 copies restored after the crash")
        check(unreadable(expected, nodes) == 0, "removed keys stayed removed")
    finally:
        for node in nodes:
            node.proc.send_signal(signal.SIGTERM)
        for node in nodes:
            try:
                node.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                node.proc.kill()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
