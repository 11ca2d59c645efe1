#!/usr/bin/env python3
"""Neighbours are verified: forged chord.notify and chord.leaving calls from a client against
a running ring of chord-node processes (no secret, so the peer commands are open to anyone).

A client keeps sending, for several seconds, notifies that name the victim's id minus one at
another live node's address (and at an address where nothing answers), and leaving notices
that say the victim's predecessor or successor left (to the victim) or that the victim left (to
its neighbours). Meanwhile writers set and read back keys of the victim's range through every
node. Each forgery must be refused (fault 5) and no get or set may fail or read a value other
than the last one acknowledged; the ring must be correct at the end.

Usage: forged_neighbour_test.py PATH/TO/chord-node [--seconds S]
Prints the counts and exits 0 only if every forgery was refused and no operation failed.
"""
import argparse
import concurrent.futures
import hashlib
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
import xmlrpc.client

import ring_helpers
from ring_helpers import proxy, ring_ok, stop_all

BITS = 16
FAST = ["--stabilize-ms", "100", "--fix-fingers-ms", "100", "--check-predecessor-ms", "200",
        "--repair-ms", "300", "--replicas", "3", "--successors", "4", "--log-level", "warning",
        "--call-timeout-ms", ring_helpers.scaled_ms(1000),
        "--connect-timeout-ms", ring_helpers.scaled_ms(500), "--bind", "127.0.0.1"]
NODES = 5
KEYS = 60
WRITERS = 4
REFUSED = 5

socket.setdefaulttimeout(30 * ring_helpers.TIME_SCALE)
PROCESSES = []
WORKDIR = tempfile.mkdtemp(prefix="forged_neighbour_")


class Node(ring_helpers.NodeProcess):
    def __init__(self, binary, args):
        super().__init__(binary, args + FAST, WORKDIR, PROCESSES)

    def ref(self, node_id=None):
        return {"id": "%04x" % (self.id if node_id is None else node_id),
                "address": self.address}


def key_id(key):
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % (1 << BITS)


def in_range(kid, low, high):
    """kid in (low, high] on the ring."""
    return low < kid <= high if low < high else kid > low or kid <= high


def forgeries(ordered, victim_index):
    """(target node, method name, argument) of every forged call."""
    n = len(ordered)
    victim = ordered[victim_index]
    pred = ordered[victim_index - 1]
    succ = ordered[(victim_index + 1) % n]
    other = ordered[(victim_index + 3) % n]  # neither neighbour of the victim
    just_before = (victim.id - 1) % (1 << BITS)
    dead = {"id": "%04x" % ((victim.id - 2) % (1 << BITS)), "address": "127.0.0.1:1"}
    return [
        (victim, "chord.notify", other.ref(just_before)),
        (victim, "chord.notify", dead),
        (succ, "chord.notify", other.ref((victim.id + 1) % (1 << BITS))),
        (victim, "chord.leaving", {"leaving": pred.ref(), "predecessor": other.ref(),
                                   "successors": [victim.ref()]}),
        (victim, "chord.leaving", {"leaving": succ.ref(), "predecessor": victim.ref(),
                                   "successors": [other.ref()]}),
        (pred, "chord.leaving", {"leaving": victim.ref(), "predecessor": pred.ref(),
                                 "successors": [other.ref()]}),
        (succ, "chord.leaving", {"leaving": victim.ref(), "predecessor": other.ref(),
                                 "successors": [succ.ref()]}),
    ]


def forge(calls, stop, counts):
    """Sends every forgery in turn until stop is set; counts refused and accepted ones."""
    while not stop.is_set():
        for target, method, argument in calls:
            try:
                getattr(proxy(target.address), method)(argument)
                counts["accepted"] += 1
                print("accepted: %s to %s: %r" % (method, target.address, argument), flush=True)
            except xmlrpc.client.Fault as fault:
                counts["refused" if fault.faultCode == REFUSED else "other"] += 1
            except ring_helpers.RPC_ERRORS:
                counts["other"] += 1
        stop.wait(0.2)  # a forgery round every 0.2 s, bounded by the test's duration


def write_and_read(nodes, keys, stop, writer):
    """Sets each key to a fresh value and reads it back, through the nodes in turn, until stop;
    returns (operations, failures)."""
    ops = failures = 0
    turn = writer
    while not stop.is_set():
        for key in keys:
            turn += 1
            value = "%s-%d-%d" % (key, writer, turn)
            for step in ("set", "get"):
                node = nodes[(turn + (step == "get")) % len(nodes)]
                ops += 1
                try:
                    if step == "set":
                        ok = proxy(node.address).dht.set(key, value)["stored"]
                    else:
                        answer = proxy(node.address).dht.get(key)
                        ok = answer["found"] and answer["value"] == value
                except (ring_helpers.RPC_ERRORS + (KeyError,)) as e:
                    ok = False
                    print("%s %s through %s: %s" % (step, key, node.address, e), flush=True)
                if not ok:
                    failures += 1
    return ops, failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    started = time.monotonic()
    ok = False
    try:
        nodes = [Node(binary, ["--create", "--id-bits", str(BITS)])]
        for _ in range(NODES - 1):
            nodes.append(Node(binary, ["--join", nodes[-1].address, "--id-bits", str(BITS)]))
        if not ring_helpers.wait_for(lambda: ring_ok(nodes), 30):
            raise RuntimeError("the ring of %d nodes did not become correct" % NODES)
        ordered = sorted(nodes, key=lambda n: n.id)
        victim_index = 2
        victim, pred = ordered[victim_index], ordered[victim_index - 1]
        keys = [k for k in ("forged-%d" % i for i in range(20000))
                if in_range(key_id(k), pred.id, victim.id)][:KEYS]
        per_writer = [keys[w::WRITERS] for w in range(WRITERS)]
        stop = threading.Event()
        counts = {"refused": 0, "accepted": 0, "other": 0}
        with concurrent.futures.ThreadPoolExecutor(WRITERS + 1) as pool:
            forger = pool.submit(forge, forgeries(ordered, victim_index), stop, counts)
            writers = [pool.submit(write_and_read, nodes, per_writer[w], stop, w)
                       for w in range(WRITERS)]
            stop.wait(args.seconds)
            stop.set()
            forger.result(timeout=60)
            results = [w.result(timeout=120) for w in writers]
        ops = sum(r[0] for r in results)
        failures = sum(r[1] for r in results)
        ring_right = ring_helpers.wait_for(lambda: ring_ok(nodes), 10)
        print("forgeries: %d refused, %d accepted, %d other errors; %d gets and sets in the "
              "victim's range, %d failed; ring %s" %
              (counts["refused"], counts["accepted"], counts["other"], ops, failures,
               "correct" if ring_right else "WRONG"))
        ok = (counts["accepted"] == 0 and counts["other"] == 0 and counts["refused"] > 0 and
              failures == 0 and ops > 0 and ring_right)
    except Exception:  # pylint: disable=broad-except
        print("FAIL: the test could not run:")
        traceback.print_exc(file=sys.stdout)
    finally:
        stop_all(PROCESSES)
        shutil.rmtree(WORKDIR, ignore_errors=True)
    print("%s (%.1f s)" % ("PASS" if ok else "FAIL", time.monotonic() - started))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
