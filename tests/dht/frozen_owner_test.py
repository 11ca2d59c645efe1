#!/usr/bin/env python3
"""Reads never go back in time: the frozen-owner scenario against real chord-node processes.

Each run freezes (SIGSTOP) the owner V of 200 keys, waits until its successor has taken over
V's range, overwrites every key through the other nodes (each write acknowledged), then resumes
V (SIGCONT) with reads already queued at V and reads going through the other nodes at once.
A read that returns the value from before the freeze went back in time: the test counts them
and fails unless there are none. It also counts reads that failed (they must not either).

Usage: frozen_owner_test.py PATH/TO/chord-node [--runs N] [--keys N] [--min-freeze S]
                             [--extra-args "..."]
Prints one line per run ('run 1: 700 reads, 0 stale, 0 failed, ...') and exits 0 only if no
read was stale or failed.
"""
import argparse
import concurrent.futures
import hashlib
import os
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback

import ring_helpers
from ring_helpers import proxy, ring_ok, stop_all

BITS = 16
# Short call time-outs so that the successor takes over a frozen node's range within seconds;
# a node that stopped running for more than --suspect-gap-ms compares with its replicas.
FAST = ["--stabilize-ms", "100", "--fix-fingers-ms", "100", "--check-predecessor-ms", "200",
        "--repair-ms", "300", "--replicas", "3", "--successors", "4", "--log-level", "warning",
        "--call-timeout-ms", "1000", "--connect-timeout-ms", "500", "--bind", "127.0.0.1"]
NODES = 5
READERS_AT_OWNER = 4   # threads whose reads wait at the frozen owner, answered once it resumes
READERS_ELSEWHERE = 3  # threads reading through the other nodes from the moment it resumes

socket.setdefaulttimeout(30)  # every call is bounded: a hung node fails the test
PROCESSES = []
WORKDIR = tempfile.mkdtemp(prefix="frozen_owner_")


class Node(ring_helpers.NodeProcess):
    def __init__(self, binary, args):
        super().__init__(binary, args + FAST, WORKDIR, PROCESSES)


def wait_for(predicate, seconds):
    return ring_helpers.wait_for(predicate, seconds,
                                 ring_helpers.RPC_ERRORS + (KeyError, IndexError))


def key_id(key):
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % (1 << BITS)


def owner_of(nodes, key):
    """The node whose id is the first at or after the key's id (Chord's successor)."""
    ordered = sorted(nodes, key=lambda n: n.id)
    kid = key_id(key)
    return next((n for n in ordered if n.id >= kid), ordered[0])


def successor_of(nodes, node):
    ordered = sorted(nodes, key=lambda n: n.id)
    return ordered[(ordered.index(node) + 1) % len(ordered)]


def predecessor_of(nodes, node):
    ordered = sorted(nodes, key=lambda n: n.id)
    return ordered[ordered.index(node) - 1]


def write_all(nodes, keys, value, pool, tries=10):
    """Sets every key to value(key) through `nodes` in turn, retrying a failed write (each try
    bounded); returns the keys that were never acknowledged."""
    def write(i, key):
        for attempt in range(tries):
            node = nodes[(i + attempt) % len(nodes)]
            try:
                if proxy(node.address).dht.set(key, value(key))["stored"]:
                    return None
            except ring_helpers.RPC_ERRORS:
                time.sleep(0.1)  # retrying a write against a ring that is moving
        return key
    return [k for k in pool.map(write, range(len(keys)), keys) if k is not None]


def read_keys(address, keys, old, new, start):
    """Reads keys through address once `start` is set; (stale, failed, fresh) counts."""
    rpc = proxy(address)
    start.wait(60)
    stale = failed = fresh = 0
    for key in keys:
        try:
            answer = rpc.dht.get(key)
            value = answer.get("value") if answer.get("found") else None
        except ring_helpers.RPC_ERRORS:
            failed += 1
            continue
        if value == old(key):
            stale += 1
        elif value == new(key):
            fresh += 1
        else:
            failed += 1
    return stale, failed, fresh


def one_run(run, nodes, keys_per_run, min_freeze_s):
    victim = nodes[(run * 2 + 1) % len(nodes)]
    others = [n for n in nodes if n is not victim]
    successor = successor_of(nodes, victim)
    predecessor = predecessor_of(nodes, victim)
    keys = []
    for i in range(100000):
        key = "frozen-%d-%d" % (run, i)
        if owner_of(nodes, key) is victim:
            keys.append(key)
            if len(keys) == keys_per_run:
                break
    sample = keys[0]
    if nodes[0].rpc.dht.locate(sample)["node"]["address"] != victim.address:
        raise RuntimeError("the ring does not place %s on %s" % (sample, victim.address))
    old = lambda k: "old-" + k  # noqa: E731
    new = lambda k: "new-" + k  # noqa: E731
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        missed = write_all(others, keys, old, pool)
        if missed:
            raise RuntimeError("%d first writes not acknowledged" % len(missed))
        frozen_at = time.monotonic()
        victim.proc.send_signal(signal.SIGSTOP)
        try:
            # The successor takes the range over once it has dropped the frozen predecessor, and
            # the predecessor routes around it once it has dropped it as successor.
            took_over = wait_for(lambda: successor.rpc.chord.info().get(
                "predecessor", {}).get("address") != victim.address and
                predecessor.rpc.chord.info()["successors"][0]["address"] != victim.address, 30)
            if not took_over:
                raise RuntimeError("the ring did not route around the frozen node")
            missed = write_all(others, keys, new, pool)
            if missed:
                raise RuntimeError("%d overwrites not acknowledged" % len(missed))
            time.sleep(max(0.0, min_freeze_s - (time.monotonic() - frozen_at)))  # --min-freeze
            start = threading.Event()
            slices = [keys[i::READERS_AT_OWNER] for i in range(READERS_AT_OWNER)]
            futures = [pool.submit(read_keys, victim.address, s, old, new, start) for s in slices]
            for i in range(READERS_ELSEWHERE):
                node = others[i % len(others)]
                futures.append(pool.submit(read_keys, node.address, keys, old, new, start))
            start.set()
            time.sleep(0.3)  # the readers at the owner are queued at its frozen server now
        finally:
            frozen_s = time.monotonic() - frozen_at
            victim.proc.send_signal(signal.SIGCONT)
        stale = failed = fresh = 0
        for future in futures:
            s, f, ok = future.result(timeout=120)
            stale, failed, fresh = stale + s, failed + f, fresh + ok
    reads = stale + failed + fresh
    print("run %d: %d reads, %d stale, %d failed (owner %s frozen %.1f s)" %
          (run + 1, reads, stale, failed, victim.address, frozen_s), flush=True)
    # Let the ring take the resumed node back before the next run.
    if not wait_for(lambda: ring_ok(nodes), 30):
        raise RuntimeError("the ring did not take the resumed node back")
    return stale, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--min-freeze", type=float, default=0,
                        help="keep the owner frozen at least this many seconds (the issue: 12)")
    parser.add_argument("--extra-args", default="--suspect-gap-ms 1000",
                        help="more chord-node options (default: %(default)s)")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    extra = shlex.split(args.extra_args)
    started = time.monotonic()
    total_stale = total_failed = 0
    ok = False
    try:
        nodes = [Node(binary, ["--create", "--id-bits", str(BITS)] + extra)]
        for _ in range(NODES - 1):
            nodes.append(Node(binary, ["--join", nodes[-1].address, "--id-bits", str(BITS)] +
                              extra))
        if not wait_for(lambda: ring_ok(nodes), 30):
            raise RuntimeError("the ring of %d nodes did not become correct" % NODES)
        for run in range(args.runs):
            stale, failed = one_run(run, nodes, args.keys, args.min_freeze)
            total_stale += stale
            total_failed += failed
        ok = total_stale == 0 and total_failed == 0
    except Exception:  # pylint: disable=broad-except
        print("FAIL: the test could not run:")
        traceback.print_exc(file=sys.stdout)
    finally:
        for proc in PROCESSES:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)  # a frozen node cannot take SIGTERM
        stop_all(PROCESSES)
        shutil.rmtree(WORKDIR, ignore_errors=True)
    print("%s: %d stale, %d failed reads in %d runs (%.1f s)" %
          ("PASS" if ok else "FAIL", total_stale, total_failed, args.runs,
           time.monotonic() - started))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
