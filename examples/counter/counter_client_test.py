#!/usr/bin/env python3
"""Three counter-node processes driven with Python's standard xmlrpc.client only.

Usage: counter_client_test.py PATH/TO/counter-node
Increments one counter through every node, checks every node reads the total from the same
owner, checks a wrong call gets a fault naming the argument, and that SIGTERM makes each node
leave and exit 0. Exits 0 on success.
"""
import select
import signal
import subprocess
import sys
import time
import xmlrpc.client

FAST = ["--stabilize-ms", "50", "--fix-fingers-ms", "50", "--log-level", "warning"]


def start(binary, args, deadline_s=20):
    proc = subprocess.Popen([binary] + args + FAST, stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], deadline_s)
    line = proc.stdout.readline().split() if ready else []
    if len(line) != 5 or line[0] != "counter-node:":
        proc.kill()
        raise RuntimeError("counter-node did not start: %r" % line)
    return proc, line[2], line[4]  # process, id, address


def proxy(address):
    return xmlrpc.client.ServerProxy("http://" + address)


def ring_ok(nodes):
    ordered = sorted(nodes, key=lambda n: n[1])
    for i, (_, _, address) in enumerate(ordered):
        info = proxy(address).chord.info()
        if not info["successors"] or info["successors"][0]["address"] != ordered[(i + 1) % len(ordered)][2]:
            return False
        if info.get("predecessor", {}).get("address") != ordered[i - 1][2]:
            return False
    return True


def main():
    binary = sys.argv[1]
    failures = []
    nodes = []
    try:
        nodes.append(start(binary, ["--create"]))
        for _ in range(2):
            nodes.append(start(binary, ["--join", nodes[0][2]]))
        deadline = time.monotonic() + 30
        while not ring_ok(nodes) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a live ring with a deadline
        if not ring_ok(nodes):
            failures.append("the ring did not become correct")

        for _, _, address in nodes:
            for _ in range(10):
                reply = proxy(address).counter.incr("visits", 1)
                if set(reply) != {"value", "owner", "hops"}:
                    failures.append("counter.incr answered %r" % reply)
        owners = set()
        for _, _, address in nodes:
            reply = proxy(address).counter.get("visits")
            owners.add(reply["owner"])
            if reply["value"] != 30:
                failures.append("counter.get via %s: %r, want 30" % (address, reply))
        if len(owners) != 1:
            failures.append("nodes disagree on the owner: %r" % owners)

        try:
            proxy(nodes[0][2]).counter.incr("visits", "one")
            failures.append("a string delta was accepted")
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != 1 or "argument 2" not in fault.faultString:
                failures.append("unexpected fault %d %r" % (fault.faultCode, fault.faultString))
        help_text = proxy(nodes[0][2]).system.methodHelp("counter.incr")
        if not help_text.startswith("counter.incr(name: string, delta: int)"):
            failures.append("help text: %r" % help_text)
    finally:
        for proc, _, address in reversed(nodes):
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = "killed"
            if code != 0:
                failures.append("%s exited with %s" % (address, code))
    for failure in failures:
        print("FAIL:", failure)
    print("counter_client_test: %s" % ("ok" if not failures else "%d failures" % len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
