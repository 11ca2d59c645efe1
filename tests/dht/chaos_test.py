#!/usr/bin/env python3
"""Chaos against a ring of real chord-node processes: no acknowledged write is lost or read
stale.

A ring of --nodes chord-node processes (12) takes writes from 4 writer threads, each recording
every acknowledged write (key, value, sequence, time) of its own keys, while a seeded random
schedule, for --duration seconds, kills a node with SIGKILL, stops one with SIGTERM (a graceful
leave), starts a new node that joins, or freezes one with SIGSTOP for a few seconds before
SIGCONT. Never `replicas` nodes adjacent in the ring are down (killed, leaving or frozen and not
yet repaired) at once, so no key loses all its copies. Writers call live, unfrozen nodes only:
the latencies measured during freezes are those of calls through the other nodes.

Afterwards, once the ring is whole again (bounded wait), every acknowledged write must read back
its latest value through every live node (repair gets a bounded time). The test prints the seed
(replay a failure with --seed), the writes acknowledged, lost and stale, and the p99 and maximum
latency of the operations started during freezes; it exits non-zero on any lost or stale write,
or if the ring could not be built. Reads during the run never go back in time either: a get that
returns an older value than one acknowledged before the get started ("stale reads during the
run") fails the test too.

Every process started is killed at the end, also on failure; a watchdog ends the whole test
(killing them) after --duration plus a fixed margin whatever happens.

Usage: chaos_test.py PATH/TO/chord-node [--duration S] [--seed N] [--nodes N]
"""
import argparse
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import xmlrpc.client

import ring_helpers
from ring_helpers import ring_ok, stop_all

WRITERS = 4
KEYS_PER_WRITER = 40
REPLICAS = 3          # chord-node's default --replicas
CALL_TIMEOUT_S = 30   # a writer's call that takes longer counts as failed
SETTLE_S = 10         # a node killed or left counts as down this long (maintenance repairs it)
REPAIR_S = 60         # after the run: time for the ring and the replicas to be whole again
MARGIN_S = 240        # watchdog: --duration plus this, then everything is killed
MIN_NODES = 9
MAX_NODES = 15
ARGS = ["--log-level", "warning", "--bind", "127.0.0.1"]

PROCESSES = []
WORKDIR = tempfile.mkdtemp(prefix="chaos_")


def proxy(address, seconds=CALL_TIMEOUT_S):
    return ring_helpers.proxy(address, seconds)


class Node(ring_helpers.NodeProcess):
    """A chord-node process, with what the schedule knows of it."""

    def __init__(self, binary, args):
        super().__init__(binary, args + ARGS, WORKDIR, PROCESSES, rpc_seconds=10)
        self.frozen = False
        self.down_since = None  # when it was killed or left


def percentile(values, fraction):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Chaos:
    def __init__(self, binary, seed, size):
        self.binary = binary
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.nodes = []        # every node ever started; guarded by lock
        self.acked = {}        # key -> (sequence, value, time) of its latest acknowledged write
        self.failed_writes = 0
        self.acked_writes = 0
        self.ops = []          # (start, seconds, kind) of every writer operation
        self.freezes = []      # (start, end, address) of every freeze
        self.stale_in_run = []
        self.events = {"kill9": 0, "term": 0, "join": 0, "freeze": 0}
        self.stop = threading.Event()
        first = Node(binary, ["--create"])
        self.nodes.append(first)
        for _ in range(size - 1):
            self.nodes.append(Node(binary, ["--join", self.nodes[-1].address]))
        if not ring_helpers.wait_for(lambda: ring_ok(self.live()), 60,
                                     ring_helpers.RPC_ERRORS + (KeyError, IndexError)):
            raise RuntimeError("the ring of %d nodes did not become correct" % size)

    # ---- State ----------------------------------------------------------------------------

    def live(self):
        return [n for n in self.nodes if n.down_since is None]

    def usable(self):
        """Live, unfrozen nodes: those writers call."""
        with self.lock:
            return [n for n in self.nodes if n.down_since is None and not n.frozen]

    def down(self, node, now):
        return node.frozen or (node.down_since is not None and now - node.down_since < SETTLE_S)

    def may_take_down(self, victim, now):
        """False if taking `victim` down would leave REPLICAS nodes adjacent in the ring down."""
        ring = sorted([n for n in self.nodes if n.down_since is None or self.down(n, now)],
                      key=lambda n: n.id)
        flags = [n is victim or self.down(n, now) for n in ring]
        if len(flags) < REPLICAS or sum(flags) >= len(flags):
            return False
        run = 0
        for flag in flags + flags[:REPLICAS]:  # around the ring
            run = run + 1 if flag else 0
            if run >= REPLICAS:
                return False
        return True

    # ---- Writers ----------------------------------------------------------------------------

    def writer(self, index):
        rng = random.Random(self.random.random())
        sequence = 0
        proxies = {}
        while not self.stop.is_set():
            nodes = self.usable()
            if not nodes:
                time.sleep(0.05)  # every node busy with chaos: try again shortly
                continue
            node = rng.choice(nodes)
            rpc = proxies.setdefault(node.address, proxy(node.address))
            key = "chaos-w%d-k%d" % (index, rng.randrange(KEYS_PER_WRITER))
            if rng.random() < 0.5:
                sequence += 1
                self.write(rpc, key, sequence, index)
            else:
                self.read(rpc, key)

    def write(self, rpc, key, sequence, index):
        value = "%s-s%d" % (key, sequence)
        start = time.monotonic()
        try:
            ok = rpc.dht.set(key, value)["stored"] is True
        except (OSError, xmlrpc.client.Error, KeyError):
            ok = False
        end = time.monotonic()
        with self.lock:
            self.ops.append((start, end - start, "set"))
            if ok:
                self.acked_writes += 1
                self.acked[key] = (sequence, value, end)
            else:
                self.failed_writes += 1

    def read(self, rpc, key):
        with self.lock:
            before = self.acked.get(key)
        start = time.monotonic()
        try:
            got = rpc.dht.get(key)
        except (OSError, xmlrpc.client.Error):
            got = None
        end = time.monotonic()
        with self.lock:
            self.ops.append((start, end - start, "get"))
            if got is not None and before is not None and sequence_of(got) < before[0]:
                answered_by = got.get("node", {}).get("address", "?")
                self.stale_in_run.append((start, key, got.get("value"), before[1], answered_by))

    # ---- The schedule -------------------------------------------------------------------------

    def run(self, duration):
        threads = [threading.Thread(target=self.writer, args=(i,)) for i in range(WRITERS)]
        for thread in threads:
            thread.start()
        try:
            end = time.monotonic() + duration
            kinds = ["kill9", "term", "join", "freeze"]
            self.random.shuffle(kinds)  # each kind at least once, first
            while time.monotonic() < end:
                time.sleep(min(self.random.uniform(2, 5), max(0, end - time.monotonic())))
                if time.monotonic() >= end:
                    break
                kind = kinds.pop(0) if kinds else self.random.choice(
                    ["kill9", "kill9", "term", "join", "freeze", "freeze"])
                self.event(kind, min(end, time.monotonic() + 8))
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(CALL_TIMEOUT_S + 10)

    def event(self, kind, freeze_until):
        now = time.monotonic()
        live = self.live()
        if kind == "join" or (kind != "freeze" and len(live) <= MIN_NODES):
            if len(live) >= MAX_NODES:
                return
            via = self.random.choice([n for n in live if not n.frozen])
            node = Node(self.binary, ["--join", via.address])
            with self.lock:
                self.nodes.append(node)
            self.events["join"] += 1
            print("  %6.1f s join %s (%s) via %s" % (self.elapsed(), node.name, node.address,
                                                      via.address), flush=True)
            return
        candidates = [n for n in live if self.may_take_down(n, now)]
        if not candidates:
            return
        victim = self.random.choice(candidates)
        if kind == "freeze":
            self.freeze(victim, self.random.uniform(4, 8), freeze_until)
            return
        with self.lock:
            victim.down_since = now
        victim.proc.send_signal(signal.SIGKILL if kind == "kill9" else signal.SIGTERM)
        self.events[kind] += 1
        print("  %6.1f s %s %s (%s)" % (self.elapsed(), kind, victim.name, victim.address),
              flush=True)

    def freeze(self, victim, seconds, until):
        seconds = max(1.0, min(seconds, until - time.monotonic()))
        with self.lock:
            victim.frozen = True
        start = time.monotonic()
        victim.proc.send_signal(signal.SIGSTOP)
        time.sleep(seconds)  # the freeze itself
        victim.proc.send_signal(signal.SIGCONT)
        end = time.monotonic()
        with self.lock:
            victim.frozen = False
            self.freezes.append((start, end, victim.address))
        self.events["freeze"] += 1
        print("  %6.1f s froze %s (%s) for %.1f s" % (self.elapsed(), victim.name,
                                                       victim.address, end - start), flush=True)

    def elapsed(self):
        return time.monotonic() - self.started

    # ---- The check ------------------------------------------------------------------------------

    def verify(self):
        """(lost, stale): acknowledged writes no live node finds / some live node reads older,
        after repair was given REPAIR_S."""
        live = self.live()
        ring_whole = ring_helpers.wait_for(lambda: ring_ok(live), REPAIR_S,
                                           ring_helpers.RPC_ERRORS + (KeyError, IndexError))
        print("ring whole again: %s (%d live nodes)" % (ring_whole, len(live)), flush=True)
        deadline = time.monotonic() + REPAIR_S
        pending = {(key, node.address) for key in self.acked for node in live}
        by_address = {n.address: n for n in live}
        lost, stale = {}, {}
        while pending and time.monotonic() < deadline:
            lost, stale = {}, {}
            for key, address in sorted(pending):
                try:
                    got = by_address[address].rpc.dht.get(key)
                except (OSError, xmlrpc.client.Error) as e:
                    got = {"error": str(e)}
                want = self.acked[key]
                if "error" in got or not got.get("found"):
                    lost[(key, address)] = got
                elif sequence_of(got) < want[0]:
                    stale[(key, address)] = got
            pending = set(lost) | set(stale)
            if pending:
                time.sleep(1)  # repair runs in the nodes: read again shortly
        for (key, address), got in sorted(lost.items())[:10]:
            print("LOST: %s via %s: %r (acknowledged %r)" % (key, address, got,
                                                             self.acked[key][1]))
        for (key, address), got in sorted(stale.items())[:10]:
            print("STALE: %s via %s: %r (acknowledged %r)" % (key, address, got.get("value"),
                                                              self.acked[key][1]))
        return {k for k, _ in lost}, {k for k, _ in stale}

    def report(self, lost, stale):
        during = [seconds for start, seconds, _ in self.ops
                  if any(a <= start < b for a, b, _ in self.freezes)]
        gets = [seconds for start, seconds, kind in self.ops
                if kind == "get" and any(a <= start < b for a, b, _ in self.freezes)]
        print("events: %s" % ", ".join("%s %d" % item for item in sorted(self.events.items())))
        print("writes acknowledged %d (failed %d) over %d keys; lost %d, stale %d" % (
            self.acked_writes, self.failed_writes, len(self.acked), len(lost), len(stale)))
        print("operations during freezes: %d, p99 %.0f ms, max %.0f ms (gets: %d, p99 %.0f ms, "
              "max %.0f ms)" % (len(during), 1000 * percentile(during, 0.99),
                                1000 * max(during, default=0), len(gets),
                                1000 * percentile(gets, 0.99), 1000 * max(gets, default=0)))
        every = [seconds for _, seconds, _ in self.ops]
        print("all operations: %d, p99 %.0f ms, max %.0f ms" % (
            len(every), 1000 * percentile(every, 0.99), 1000 * max(every, default=0)))
        print("stale reads during the run: %d" % len(self.stale_in_run))
        # Issue 9, point 3: a node answering from its old copy just after it was resumed.
        after_resume = 0
        for start, key, value, acked, node in self.stale_in_run:
            resumed = [end for _, end, address in self.freezes
                       if address == node and 0 <= start - end < 10]
            after_resume += 1 if resumed else 0
        print("  of which answered by a node resumed from a freeze less than 10 s before: %d"
              % after_resume)
        for start, key, value, acked, node in self.stale_in_run[:5]:
            print("  at %.1f s: %s read %r (acknowledged %r), answered by %s" % (
                start - self.started, key, value, acked, node))


def sequence_of(got):
    """The writer's sequence number in a get answer's value, 0 if not found."""
    if not got.get("found"):
        return 0
    value = got.get("value", "")
    return int(value.rsplit("-s", 1)[1]) if "-s" in value else 0


def watchdog(seconds):
    """Kills every process and ends the test if it is still running after `seconds`."""
    def fire():
        print("FAIL: the chaos test overran its %d s bound; killing everything" % seconds,
              flush=True)
        for proc in PROCESSES:
            if proc.poll() is None:
                proc.kill()
        os._exit(3)
    timer = threading.Timer(seconds, fire)
    timer.daemon = True  # a timer, cancelled at the end; never outlives the test's main
    timer.start()
    return timer


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chord_node")
    parser.add_argument("--duration", type=float, default=75, help="seconds of chaos (75)")
    parser.add_argument("--seed", type=int, default=None, help="the schedule's seed (random)")
    parser.add_argument("--nodes", type=int, default=12, help="nodes at the start (12)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    print("chaos: seed %d, %d nodes, %.0f s (replay: --seed %d)" % (seed, args.nodes,
                                                                   args.duration, seed),
          flush=True)
    socket.setdefaulttimeout(CALL_TIMEOUT_S)
    timer = watchdog(args.duration + MARGIN_S)
    status = 1
    try:
        chaos = Chaos(args.chord_node, seed, args.nodes)
        chaos.started = time.monotonic()
        chaos.run(args.duration)
        lost, stale = chaos.verify()
        chaos.report(lost, stale)
        status = 1 if lost or stale or chaos.stale_in_run or chaos.acked_writes == 0 else 0
        print("PASS" if status == 0 else "FAIL (seed %d)" % seed)
    finally:
        for proc in PROCESSES:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)  # a frozen node could not act on SIGTERM
        stop_all(PROCESSES, 10)
        timer.cancel()
        if status == 0:
            shutil.rmtree(WORKDIR, ignore_errors=True)
        else:
            print("node logs kept in %s" % WORKDIR)
    return status


if __name__ == "__main__":
    sys.exit(main())
