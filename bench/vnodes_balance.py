#!/usr/bin/env python3
"""Keys per process with and without virtual nodes (issue 12), on a real local ring.

  bench/vnodes_balance.py [--processes 8] [--vnodes 16] [--keys 20000] [--build build]
                          [-- NODE SETTINGS...]

Starts `create_chord PROCESSES --vnodes VNODES --base-port P --no-shell`, loads KEYS keys with
`chord --ring FILE load`, asks every member for dht.stats and prints the keys owned per process
(process i holds ports P+i*VNODES .. P+i*VNODES+VNODES-1) and per member: mean, 1st and 99th
percentile (nearest rank: with 8 processes the 99th is the largest), max/mean; then each
process's resident memory and thread count. Everything started here is stopped, and the work
directory removed, on any exit.
"""
import argparse
import math
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

from ports import free_base_port  # bench/ports.py, beside this script

PROCS = []
WORK = None


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            p.wait(timeout=10)
    if WORK and os.path.isdir(WORK):
        shutil.rmtree(WORK, ignore_errors=True)


def read_until(stream, marker, seconds):
    """Lines of a child's stdout until one starts with `marker` (None on time-out or exit)."""
    deadline = time.monotonic() + seconds
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], 1)
        if not ready:
            continue
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            return None
        data += chunk
        for line in data.decode(errors="replace").splitlines():
            if line.startswith(marker):
                return line
    return None


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(name, values):
    mean = sum(values) / len(values)
    p99 = percentile(values, 99)
    print(f"{name}: n={len(values)} mean={mean:.1f} p1={percentile(values, 1)} p99={p99} "
          f"max={max(values)} min={min(values)} p99/mean={p99 / mean:.2f}", flush=True)


def proc_status(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main():
    global WORK
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--vnodes", type=int, default=16)
    parser.add_argument("--keys", type=int, default=20000)
    parser.add_argument("--build", default="build")
    parser.add_argument("node_settings", nargs="*",
                        help="passed on to create_chord after --, e.g. -- --stabilize-ms 1000")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda n, f: (cleanup(), sys.exit(1)))
    WORK = tempfile.mkdtemp(prefix="vnodes-balance-")
    try:
        return run(args)
    finally:
        cleanup()


def run(args):
    members = args.processes * args.vnodes
    base = free_base_port(members)
    ring_file = os.path.join(WORK, "ring.txt")
    t0 = time.time()
    launcher = subprocess.Popen(
        [os.path.join(args.build, "tools/create_chord"), str(args.processes),
         "--vnodes", str(args.vnodes), "--base-port", str(base), "--no-shell",
         "--ring-file", ring_file, "--log-level", "warning"] + args.node_settings,
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
    PROCS.append(launcher)
    if read_until(launcher.stdout, "ring file:", 300) is None:
        print("the ring did not come up", file=sys.stderr)
        return 1
    print(f"ring of {members} members ({args.processes} processes x {args.vnodes}) correct "
          f"after {time.time() - t0:.1f} s", flush=True)
    data = os.path.join(WORK, "data.tsv")
    with open(data, "w") as f:
        for i in range(args.keys):
            f.write(f"key-{i:07d}\tvalue-{i}\n")
    t0 = time.time()
    subprocess.run([os.path.join(args.build, "tools/chord"), "--ring", ring_file, "load", data],
                   check=True, stdout=subprocess.DEVNULL, timeout=600)
    print(f"loaded {args.keys} keys in {time.time() - t0:.1f} s", flush=True)
    owned = {}
    for address in [l.strip() for l in open(ring_file) if l.strip()]:
        stats = xmlrpc.client.ServerProxy(f"http://{address}/RPC2").dht.stats()
        owned[int(address.rsplit(":", 1)[1])] = stats["owned"]
    per_process = [0] * args.processes
    for port, count in owned.items():
        per_process[(port - base) // args.vnodes] += count
    print(f"keys owned in all: {sum(owned.values())} of {args.keys}")
    summary("keys per process", per_process)
    summary("keys per member", list(owned.values()))
    pids = open(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read().split()
    for pid in pids:
        print(f"process {pid}: rss={proc_status(pid, 'VmRSS') / 1024:.1f} MiB "
              f"threads={proc_status(pid, 'Threads')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
