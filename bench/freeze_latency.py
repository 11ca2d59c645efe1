#!/usr/bin/env python3
"""Latency of gets and sets through the other nodes while one node of a ring is frozen.

Starts --nodes chord-node processes (8), writes --keys keys, then --freezes times freezes one
node (SIGSTOP) for --freeze-s seconds while --threads clients get (and, one call in four, set)
random keys through the live unfrozen nodes, then resumes it (SIGCONT) and lets the ring settle.
Prints the p50, p99 and maximum latency of the gets and of the sets made during the freezes,
and how many failed. A benchmark: it prints figures and checks nothing.

Usage: freeze_latency.py PATH/TO/chord-node [--nodes 8] [--freezes 3] [--freeze-s 10] [--seed N]
"""
import argparse
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "dht"))
import ring_helpers  # noqa: E402  pylint: disable=wrong-import-position
from ring_helpers import proxy, ring_ok, stop_all  # noqa: E402

ERRORS = ring_helpers.RPC_ERRORS + (KeyError, IndexError)


class Node(ring_helpers.NodeProcess):
    def __init__(self, binary, args, procs):
        super().__init__(binary, args + ["--log-level", "error", "--bind", "127.0.0.1"], None,
                         procs)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def clients(nodes, keys, seconds, threads, seed):
    """(get latencies, set latencies, failures) of calls through `nodes` for `seconds`."""
    gets, sets, failed = [], [], [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def client(index):
        rng = random.Random(seed * 100 + index)
        proxies = {n.address: proxy(n.address) for n in nodes}
        while time.monotonic() < end:
            rpc = proxies[rng.choice(nodes).address]
            key = rng.choice(keys)
            writes = rng.random() < 0.25
            start = time.monotonic()
            try:
                if writes:
                    rpc.dht.set(key, "v%d" % rng.randrange(1 << 30))
                else:
                    rpc.dht.get(key)
                ok = True
            except ERRORS:
                ok = False
            took = time.monotonic() - start
            with lock:
                (sets if writes else gets).append(took)
                failed[0] += 0 if ok else 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return gets, sets, failed[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chord_node")
    parser.add_argument("--nodes", type=int, default=8)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--freezes", type=int, default=3)
    parser.add_argument("--freeze-s", type=float, default=10)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--node-arg", action="append", default=[],
                        help="an extra chord-node argument (repeatable)")
    args = parser.parse_args()
    import socket
    socket.setdefaulttimeout(60)
    procs = []
    rng = random.Random(args.seed)
    try:
        nodes = [Node(args.chord_node, ["--create"] + args.node_arg, procs)]
        for _ in range(args.nodes - 1):
            nodes.append(Node(args.chord_node, ["--join", nodes[-1].address] + args.node_arg,
                              procs))
        if not ring_helpers.wait_for(lambda: ring_ok(nodes), 60, ERRORS):
            print("the ring did not settle")
            return 1
        keys = ["freeze-%d" % i for i in range(args.keys)]
        for key in keys:
            nodes[0].rpc.dht.set(key, "initial")
        gets, sets, failed = [], [], 0
        for round_ in range(args.freezes):
            victim = rng.choice(nodes)
            others = [n for n in nodes if n is not victim]
            victim.proc.send_signal(signal.SIGSTOP)
            g, s, f = clients(others, keys, args.freeze_s, args.threads, args.seed + round_)
            victim.proc.send_signal(signal.SIGCONT)
            gets += g
            sets += s
            failed += f
            ring_helpers.wait_for(lambda: ring_ok(nodes), 30, ERRORS)
        for name, values in [("gets", gets), ("sets", sets)]:
            print("%s during freezes: %d, p50 %.0f ms, p99 %.0f ms, max %.0f ms" % (
                name, len(values), 1000 * percentile(values, 0.5),
                1000 * percentile(values, 0.99), 1000 * max(values, default=0)))
        print("failed calls during freezes: %d" % failed)
        return 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
        stop_all(procs, 10)


if __name__ == "__main__":
    sys.exit(main())
