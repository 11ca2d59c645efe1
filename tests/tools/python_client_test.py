#!/usr/bin/env python3
"""Five chord-node processes queried with Python's standard xmlrpc.client only.

Usage: python_client_test.py PATH/TO/chord-node
Checks the public contract: chord.info fields, a correct ring, and that every node answers
chord.find_successor with the true owner. Exits 0 on success; prints 'N passed, N failed'.
"""
import hashlib
import random
import signal
import subprocess
import sys
import time
import xmlrpc.client

FAST = ["--stabilize-ms", "100", "--fix-fingers-ms", "50", "--log-level", "warning"]


def start(binary, args):
    proc = subprocess.Popen([binary] + args + FAST, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()  # chord-node: id HEX address HOST:PORT
    if len(line) != 5:
        raise RuntimeError("node did not start: %r" % line)
    return proc, line[2], line[4]


def proxy(address):
    return xmlrpc.client.ServerProxy("http://" + address, allow_none=True)


def ring_ok(nodes):
    ordered = sorted(nodes, key=lambda n: n[1])
    for i, (_, _, address) in enumerate(ordered):
        info = proxy(address).chord.info()
        want_succ = ordered[(i + 1) % len(ordered)][2]
        want_pred = ordered[i - 1][2]
        if not info["successors"] or info["successors"][0]["address"] != want_succ:
            return False
        if info.get("predecessor", {}).get("address") != want_pred:
            return False
    return True


def main():
    binary = sys.argv[1]
    passed = failed = 0
    nodes = []
    try:
        nodes.append(start(binary, ["--create"]))
        for _ in range(4):
            nodes.append(start(binary, ["--join", nodes[0][2]]))
        deadline = time.monotonic() + 30
        while not ring_ok(nodes) and time.monotonic() < deadline:
            time.sleep(0.05)  # polling a live ring with a deadline
        if ring_ok(nodes):
            passed += 1
        else:
            failed += 1
            print("FAIL: the ring did not become correct")
        info = proxy(nodes[0][2]).chord.info()
        if all(k in info for k in ("id", "address", "predecessor", "successors", "fingers")):
            passed += 1
        else:
            failed += 1
            print("FAIL: chord.info lacks a field:", sorted(info))
        ids = sorted((int(n[1], 16), n[2]) for n in nodes)
        wrong = 0
        rnd = random.Random(5)
        for _ in range(100):
            key = hashlib.sha1(str(rnd.random()).encode()).hexdigest()
            owner = next((a for i, a in ids if i >= int(key, 16)), ids[0][1])
            for _, _, address in nodes:
                answer = proxy(address).chord.find_successor(key)
                if answer["address"] != owner or answer["hops"] < 0:
                    wrong += 1
        if wrong == 0:
            passed += 1
        else:
            failed += 1
            print("FAIL: %d find_successor answers were not the true owner" % wrong)
        try:
            proxy(nodes[0][2]).chord.find_successor("not-hex")
            failed += 1
            print("FAIL: a malformed id was accepted")
        except xmlrpc.client.Fault as fault:
            if fault.faultCode == 1:
                passed += 1
            else:
                failed += 1
                print("FAIL: wrong fault code", fault.faultCode)
    finally:
        for proc, _, _ in nodes:
            proc.send_signal(signal.SIGTERM)
        for proc, _, _ in nodes:
            try:
                if proc.wait(timeout=15) != 0:
                    failed += 1
                    print("FAIL: a node exited with", proc.returncode)
            except subprocess.TimeoutExpired:
                proc.kill()
                failed += 1
                print("FAIL: a node did not exit after SIGTERM")
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
