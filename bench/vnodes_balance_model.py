#!/usr/bin/env python3
"""How typical a ring's balance is: keys per process over many random rings, computed.

  bench/vnodes_balance_model.py [--processes 8] [--vnodes 1 16] [--keys 10000] [--rings 1000]

No nodes are started. Each ring gives PROCESSES x VNODES members distinct random ports on
127.0.0.1 (as create_chord does with free ports); a member's id is SHA-1 of "127.0.0.1:PORT"
and key i ("key-%07d", as bench/vnodes_balance.py loads them) belongs to the first member at or
after SHA-1 of the key, as in chord-node. Prints, per VNODES, the distribution over the rings
of (99th percentile of keys per process, nearest rank) / mean, and how many rings meet <= 2.
"""
import argparse
import bisect
import hashlib
import math
import random


def sha1(text):
    return int.from_bytes(hashlib.sha1(text.encode()).digest(), "big")


def ratio(per_process):
    ordered = sorted(per_process)
    p99 = ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
    return p99 / (sum(ordered) / len(ordered))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--vnodes", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--keys", type=int, default=10000)
    parser.add_argument("--rings", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    keys = sorted(sha1("key-%07d" % i) for i in range(args.keys))
    rnd = random.Random(args.seed)
    for vnodes in args.vnodes:
        ratios = []
        for _ in range(args.rings):
            ports = rnd.sample(range(32768, 61000), args.processes * vnodes)
            ring = sorted((sha1(f"127.0.0.1:{port}"), i // vnodes) for i, port in enumerate(ports))
            ids = [member_id for member_id, _ in ring]
            per_process = [0] * args.processes
            for key in keys:
                at = bisect.bisect_left(ids, key) % len(ids)
                per_process[ring[at][1]] += 1
            ratios.append(ratio(per_process))
        ratios.sort()
        met = sum(r <= 2 for r in ratios)
        print(f"vnodes {vnodes}: p99/mean over {args.rings} rings: median {ratios[len(ratios) // 2]:.2f}, "
              f"95th pct {ratios[int(0.95 * len(ratios))]:.2f}, max {ratios[-1]:.2f}; "
              f"<= 2 in {met} of {args.rings}", flush=True)


if __name__ == "__main__":
    main()
