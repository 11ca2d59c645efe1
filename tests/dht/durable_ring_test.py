#!/usr/bin/env python3
"""Durable storage (--data-dir) and batched writes, with real processes:

  - a data directory in use by another node, or unusable, is refused with a clear message and
    a non-zero exit, and nothing in it changes;
  - dht.set_many acknowledges each key; a node killed with -9 and restarted on its directory
    comes back with the same id and address and serves the keys it held (repair off, so they
    come from its disk);
  - `create_chord N --data-dir ROOT` stopped and started again brings the same ring back with
    its keys; `chord load` and `chord dump` round-trip a file, and a bad line fails the load;
  - 20,000 keys loaded go in batches (dht.set_many, dht.put_batch), none key by key.

Usage: durable_ring_test.py PATH/TO/chord-node PATH/TO/create_chord PATH/TO/chord
Prints 'N passed, N failed' and exits 0 only if nothing failed.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
import ring_helpers
from ring_helpers import exit_status, read_line, ring_ok, spawn, stop_all, wait_for

FAST = ["--id-bits", "32", "--stabilize-ms", "100", "--fix-fingers-ms", "100",
        "--check-predecessor-ms", "200", "--replicas", "3", "--successors", "4",
        "--log-level", "warning"]
socket.setdefaulttimeout(60)

PROCESSES = []
WORKDIR = tempfile.mkdtemp(prefix="durable_ring_")
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


class Node(ring_helpers.NodeProcess):
    def __init__(self, binary, args):
        super().__init__(binary, args + FAST, WORKDIR, PROCESSES, startup_s=30)


def snapshot(directory):
    """(name, size, mtime) of every file of a directory, to show that nothing changed."""
    out = []
    for name in sorted(os.listdir(directory)):
        st = os.stat(os.path.join(directory, name))
        out.append((name, st.st_size, st.st_mtime_ns))
    return out


def refused(binary, args):
    """Runs a node that must refuse to start: (exit status, stderr)."""
    proc = subprocess.run([binary] + args + FAST, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60)
    return proc.returncode, proc.stderr.decode(errors="replace")


def test_refusals(binary):
    data = os.path.join(WORKDIR, "locked")
    first = Node(binary, ["--create", "--data-dir", data])
    first.rpc.dht.set("kept", "yes")
    before = snapshot(data)
    code, err = refused(binary, ["--create", "--data-dir", data])
    check(code != 0, "a second node on a directory in use exits non-zero (got %d)" % code)
    check("another chord-node" in err, "the refusal says why: %r" % err)
    check(snapshot(data) == before, "nothing in the directory in use changed")
    check(first.rpc.dht.get("kept")["found"], "the first node goes on serving")
    blocker = os.path.join(WORKDIR, "a-file")
    with open(blocker, "w") as f:
        f.write("not a directory\n")
    code, err = refused(binary, ["--create", "--data-dir", os.path.join(blocker, "node")])
    check(code != 0 and "data directory" in err, "an unusable directory is refused: %r" % err)
    first.proc.send_signal(signal.SIGTERM)
    check(exit_status(first.proc, 30) == 0, "the first node leaves cleanly")


def set_many(node, items):
    reply = node.rpc.dht.set_many([{"key": k, "value": v} for k, v in items])
    return [r["code"] for r in reply["results"]]


def test_kill_and_restart(binary):
    dirs = [os.path.join(WORKDIR, "kill-%d" % i) for i in range(3)]
    nodes = [Node(binary, ["--create", "--data-dir", dirs[0]])]
    for d in dirs[1:]:
        nodes.append(Node(binary, ["--join", nodes[0].address, "--data-dir", d]))
    check(wait_for(lambda: ring_ok(nodes), 30), "3-node ring with data dirs")
    items = [("key-%d" % i, "value-%d" % i) for i in range(300)]
    codes = []
    for start in range(0, len(items), 100):
        codes += set_many(random.choice(nodes), items[start:start + 100])
    check(codes == [0] * len(items), "dht.set_many stores every key: %r" % codes[:10])
    victim = nodes[1]
    held = victim.rpc.dht.stats()
    victim.proc.kill()
    victim.proc.wait(timeout=30)
    # Restarted on its directory without --port and with repair off: identity and keys come
    # from its disk alone.
    back = Node(binary, ["--join", nodes[0].address, "--data-dir", dirs[1],
                         "--repair-ms", "3600000"])
    check((back.id, back.address) == (victim.id, victim.address),
          "same id and address after kill -9: %r" % ((back.id, back.address),))
    after = back.rpc.dht.stats()
    check(after["owned"] + after["replicas"] == held["owned"] + held["replicas"],
          "the restarted node holds its keys: %r vs %r" % (after, held))
    nodes[1] = back
    check(wait_for(lambda: ring_ok(nodes), 30), "the ring takes it back")
    missing = [k for k, v in items if back.rpc.dht.get(k).get("value") != v]
    check(not missing, "every key readable through the restarted node: %r" % missing[:5])
    stop_all([n.proc for n in nodes])


class CreateChord:
    def __init__(self, create_chord, binary, count, root, ring_file):
        self.log_path = os.path.join(WORKDIR, "create_chord-%d.log" % len(PROCESSES))
        self.proc = spawn([create_chord, str(count), "--no-shell", "--ring-file", ring_file,
                           "--node-binary", binary, "--data-dir", root] + FAST,
                          stderr=open(self.log_path, "w"))
        PROCESSES.append(self.proc)
        line = ""
        while not line.startswith("ring file:"):
            line = read_line(self.proc.stdout, 90)
            if not line:
                raise RuntimeError("create_chord did not start: " + open(self.log_path).read())
        with open(ring_file) as f:
            self.addresses = sorted(a.strip() for a in f if a.strip())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return exit_status(self.proc, 60)


def chord(tool, ring_file, *args, stdin=None):
    proc = subprocess.run([tool, "--ring", ring_file] + list(args), input=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(
        errors="replace")


def test_create_chord_restart_and_load(binary, create_chord, tool):
    root = os.path.join(WORKDIR, "ring")
    ring_file = os.path.join(WORKDIR, "ring.txt")
    data = os.path.join(WORKDIR, "data.tsv")
    lines = ["k%05d\tvalue %d \u00e9\u20ac with\ttab" % (i, i) for i in range(3000)]
    with open(data, "w") as f:
        f.write("\n".join(lines) + "\n")
    ring = CreateChord(create_chord, binary, 4, root, ring_file)
    code, out, err = chord(tool, ring_file, "load", data)
    check(code == 0 and "loaded 3000 keys" in out and "0 failed" in out,
          "load of 3000 keys: %d %r %r" % (code, out, err))
    code, out, err = chord(tool, ring_file, "dump")
    check(code == 0 and sorted(out.splitlines()) == sorted(lines),
          "dump gives back every key once: %d, %d lines, %r" % (code, len(out.splitlines()), err))
    code, out, err = chord(tool, ring_file, "load", "-", stdin=b"fine\tyes\nno tab here\n")
    check(code == 1 and "1 failed" in out, "a bad line fails the load: %d %r" % (code, out))
    addresses = ring.addresses
    check(ring.stop() == 0, "create_chord stops")
    check(sorted(os.listdir(root)) == ["node-%d" % i for i in range(4)], "one directory a node")
    ring = CreateChord(create_chord, binary, 4, root, ring_file)
    check(ring.addresses == addresses, "the same ring comes back: %r" % ring.addresses)
    code, out, err = chord(tool, ring_file, "dump")
    check(code == 0 and sorted(out.splitlines()) == sorted(lines + ["fine\tyes"]),
          "every key is back after the restart: %d lines, %r" % (len(out.splitlines()), err))
    check(ring.stop() == 0, "create_chord stops again")


def calls(addresses, command):
    """chord_calls_total of `command`, summed over the nodes (GET /metrics)."""
    import re
    import urllib.request
    total = 0
    for address in addresses:
        text = urllib.request.urlopen("http://%s/metrics" % address, timeout=30).read().decode()
        m = re.search(r'^chord_calls_total\{command="%s"\} (\d+)$' % re.escape(command), text,
                      re.M)
        total += int(m.group(1)) if m else 0
    return total


def test_load_goes_in_batches(binary, create_chord, tool):
    # 20,000 keys through `chord load`: owners take them in dht.set_many calls and copy them in
    # dht.put_batch calls; no key may fall back to a call of its own (dht.owner_op), as all
    # did once a batch timed out. Speed is bench/million.py's business, not this test's.
    root = os.path.join(WORKDIR, "batch-ring")
    ring_file = os.path.join(WORKDIR, "batch-ring.txt")
    data = os.path.join(WORKDIR, "batch.tsv")
    keys = 20000
    with open(data, "w") as f:
        for i in range(keys):
            f.write("b%06d\t%s\n" % (i, "v" * 100))
    ring = CreateChord(create_chord, binary, 4, root, ring_file)
    before = calls(ring.addresses, "dht.owner_op")
    code, out, err = chord(tool, ring_file, "--call-timeout-ms", "60000", "load", data)
    check(code == 0 and "loaded %d keys" % keys in out and "0 failed" in out,
          "load of %d keys: %d %r %r" % (keys, code, out, err))
    set_many = calls(ring.addresses, "dht.set_many")
    per_key = calls(ring.addresses, "dht.owner_op") - before
    check(0 < set_many <= 4 * keys // 1000, "the keys went in batches: %d set_many" % set_many)
    check(per_key <= keys // 100, "no fall-back to per-key calls: %d owner_op" % per_key)
    check(calls(ring.addresses, "dht.put_batch") > 0, "copies went as dht.put_batch")
    check(ring.stop() == 0, "create_chord stops")


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    binary, create_chord, tool = (os.path.abspath(a) for a in sys.argv[1:])
    try:
        for test in (lambda: test_refusals(binary), lambda: test_kill_and_restart(binary),
                     lambda: test_create_chord_restart_and_load(binary, create_chord, tool),
                     lambda: test_load_goes_in_batches(binary, create_chord, tool)):
            try:
                test()
            except Exception:  # pylint: disable=broad-except
                traceback.print_exc()
                check(False, "the test ran to its end")
    finally:
        stop_all(PROCESSES)
        shutil.rmtree(WORKDIR, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
