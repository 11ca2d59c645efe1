#!/usr/bin/env python3
"""Chord across hosts: four chord-node processes, each in its own network namespace with its own
address, joined by veth pairs to a bridge in a fifth ("hub") namespace; the test talks to them
from a sixth ("client") namespace on the same bridge.

Usage: netns_ring_test.py PATH/TO/chord-node
Each node binds 0.0.0.0 and advertises 10.213.0.N (--advertise). The test builds the ring, sets
50 keys and reads them back through other nodes, cuts one node's link (its port on the bridge
goes down), checks the other three keep answering every key and that the cut node finds itself
alone, overwrites every key through the other three, brings the link back, reads every key
through the returned node for 5 s (never an old value: before this, 473 of 4,450 such reads
were stale) and checks the ring is whole again with the returned node in it.

Needs root (network namespaces): exits 77 (ctest's SKIP_RETURN_CODE) with a message when not
root or when `ip netns add` fails. Namespaces are named after this process's pid and deleted,
with every process started, in a finally block (and on SIGTERM/SIGINT).
Exits 0 on success; prints 'N passed, N failed'.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

SKIP = 77
NODES = 4
SUBNET = "10.213.0."  # a private range unlikely to be in use on a test host
CLIENT_HOST = SUBNET + "100"
PORT = 4000
KEYS = 50
REREAD_S = 5  # reads through a node back from a cut, right after the link returns
# Short periods and time-outs: a cut link is noticed in a few seconds.
FAST = ["--stabilize-ms", "100", "--fix-fingers-ms", "100", "--check-predecessor-ms", "200",
        "--connect-timeout-ms", "300", "--call-timeout-ms", "1000", "--repair-ms", "300",
        "--log-level", "info"]


def helper():
    """Client mode, run inside the client namespace: one JSON call per stdin line
    ({address, method, params}), one JSON answer per stdout line ({ok} or {error})."""
    socket.setdefaulttimeout(2)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            proxy = xmlrpc.client.ServerProxy("http://" + request["address"], allow_none=True)
            value = getattr(proxy, request["method"])(*request["params"])
            answer = {"ok": value}
        except (OSError, xmlrpc.client.Error) as error:  # a cut node: the caller retries
            answer = {"error": str(error)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def run(*command, check=True):
    """Runs an `ip` command; raises on failure when check."""
    done = subprocess.run(list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=20, check=False)
    if check and done.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(command), done.stderr.strip()))
    return done


class Network:
    """The namespaces, bridge and veth pairs of one run; Close() deletes them all."""

    def __init__(self):
        tag = str(os.getpid())
        self.hub = "chub-" + tag
        self.client = "ccli-" + tag
        self.nodes = ["cn%d-%s" % (i, tag) for i in range(NODES)]
        self.made = []

    def add_namespace(self, name):
        run("ip", "netns", "add", name)
        self.made.append(name)

    def Build(self):
        self.add_namespace(self.hub)
        run("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.hub, "link", "set", "br0", "up")
        for index, name in enumerate(self.nodes + [self.client]):
            host = CLIENT_HOST if name == self.client else self.host(index)
            self.add_namespace(name)
            # Both ends are created in their namespaces: nothing ever appears in this one.
            run("ip", "link", "add", "eth0", "netns", name, "type", "veth", "peer", "name",
                "p%d" % index, "netns", self.hub)
            run("ip", "-n", self.hub, "link", "set", "p%d" % index, "master", "br0", "up")
            run("ip", "-n", name, "addr", "add", host + "/24", "dev", "eth0")
            run("ip", "-n", name, "link", "set", "eth0", "up")
            run("ip", "-n", name, "link", "set", "lo", "up")

    @staticmethod
    def host(index):
        return SUBNET + str(index + 1)

    def SetLink(self, index, up):
        run("ip", "-n", self.hub, "link", "set", "p%d" % index, "up" if up else "down")

    def Close(self):
        for name in reversed(self.made):
            run("ip", "netns", "del", name, check=False)
        self.made = []


class Client:
    """The helper process in the client namespace."""

    def __init__(self, namespace):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, os.path.abspath(__file__),
             "--helper"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def call(self, address, method, *params):
        """The call's value, or None if it failed (unreachable, fault)."""
        request = {"address": address, "method": method, "params": list(params)}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        return answer.get("ok")

    def Close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def wait_for(predicate, seconds, step=0.2):
    """Polls a live ring until predicate() holds or the deadline passes; its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)  # polling real processes with a deadline


def ring_whole(client, addresses):
    """True if the nodes at `addresses` form one ring: each one's successor and predecessor are
    its neighbours in id order."""
    infos = []
    for address in addresses:
        info = client.call(address, "chord.info")
        if not info:
            return False
        infos.append(info)
    infos.sort(key=lambda info: int(info["id"], 16))
    for i, info in enumerate(infos):
        want_succ = infos[(i + 1) % len(infos)]["address"]
        want_pred = infos[i - 1]["address"]
        if not info["successors"] or info["successors"][0]["address"] != want_succ:
            return False
        if (info.get("predecessor") or {}).get("address") != want_pred:
            return False
    return True


def all_keys_readable(client, addresses, values):
    """True if every key reads back with its value through each node of `addresses`."""
    for i, (key, value) in enumerate(sorted(values.items())):
        for shift in range(len(addresses)):
            answer = client.call(addresses[(i + shift) % len(addresses)], "dht.get", key)
            if not answer or not answer.get("found") or answer.get("value") != value:
                return False
    return True


def read_back_through(client, address, old_values, new_values, seconds):
    """(stale, reads): reads of every key through `address`, over and over for `seconds`, and
    how many of them returned the old value of a key overwritten since."""
    stale = reads = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for key, old in sorted(old_values.items()):
            answer = client.call(address, "dht.get", key)
            reads += 1
            if key in new_values and answer and answer.get("found") and answer.get("value") == old:
                stale += 1
    return stale, reads


def start_node(network, index, logs, join):
    address = network.host(index) + ":%d" % PORT
    log = open(os.path.join(logs, "node%d.log" % index), "w")
    start = ["--create"] if join is None else ["--join", join]
    proc = subprocess.Popen(
        ["ip", "netns", "exec", network.nodes[index], BINARY, "--bind", "0.0.0.0", "--port",
         str(PORT), "--advertise", network.host(index)] + start + FAST,
        stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True)
    log.close()
    line = proc.stdout.readline().split()  # chord-node: id HEX address HOST:PORT
    if len(line) != 5 or line[4] != address:
        raise RuntimeError("node %d did not start as %s: %r" % (index, address, line))
    return proc


def stop(procs):
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def scenario(network, client, procs, logs, results):
    addresses = [network.host(i) + ":%d" % PORT for i in range(NODES)]

    def check(ok, what):
        results.append((ok, what))
        print(("ok  " if ok else "FAIL") + ": " + what, flush=True)
        return ok

    procs.append(start_node(network, 0, logs, None))
    for index in range(1, NODES):
        procs.append(start_node(network, index, logs, addresses[0]))
    if not check(wait_for(lambda: ring_whole(client, addresses), 20),
                 "four nodes in four namespaces form one ring"):
        return
    values = {}
    for i in range(KEYS):
        key, value = "key-%d" % i, "value-%d" % i
        answer = client.call(addresses[i % NODES], "dht.set", key, value)
        if answer and answer.get("stored"):
            values[key] = value
    check(len(values) == KEYS, "%d of %d keys set through the four nodes" % (len(values), KEYS))
    check(wait_for(lambda: all_keys_readable(client, addresses, values), 10),
          "every key reads back through every node")

    cut = 0  # the node the others joined through: they must do without it
    rest = addresses[1:]
    network.SetLink(cut, False)
    started = time.monotonic()
    check(wait_for(lambda: ring_whole(client, rest), 30), "the other three close the ring")
    check(wait_for(lambda: all_keys_readable(client, rest, values), 20),
          "every key reads through each of the other three (%.1f s after the cut)"
          % (time.monotonic() - started))
    alone = ["ip", "netns", "exec", network.nodes[cut], sys.executable, "-c",
             "import xmlrpc.client,socket; socket.setdefaulttimeout(2); "
             "print(len(xmlrpc.client.ServerProxy('http://127.0.0.1:%d').chord.info()"
             "['successors']))" % PORT]
    check(wait_for(lambda: run(*alone, check=False).stdout.strip() == "0", 20, 0.5),
          "the cut node finds itself alone")

    # Overwritten while it is cut off: once back, the cut node must never answer an old value
    # (it may refuse while it catches up).
    new_values = {}
    for i, key in enumerate(sorted(values)):
        answer = client.call(rest[i % len(rest)], "dht.set", key, "new-%d" % i)
        if answer and answer.get("stored"):
            new_values[key] = "new-%d" % i
    check(len(new_values) == len(values), "%d of %d keys overwritten through the other three"
          % (len(new_values), len(values)))
    network.SetLink(cut, True)
    started = time.monotonic()
    stale, reads = read_back_through(client, addresses[cut], values, new_values, REREAD_S)
    check(stale == 0, "no stale read through the returned node: %d of %d reads in the %d s after "
          "the link came back" % (stale, reads, REREAD_S))
    values = new_values
    whole = wait_for(lambda: ring_whole(client, addresses), 60)
    check(whole, "the ring is whole again with the returned node (%.1f s after the link came "
          "back)" % (time.monotonic() - started))
    check(wait_for(lambda: all_keys_readable(client, addresses, values), 20),
          "every key reads through every node, the returned one included")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--helper":
        return helper()
    global BINARY
    BINARY = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("SKIP: network namespaces need root (run as root, e.g. in CI)")
        return SKIP
    network = Network()
    try:
        network.add_namespace(network.hub)
    except (RuntimeError, OSError) as error:
        print("SKIP: cannot create a network namespace here: %s" % error)
        network.Close()
        return SKIP
    network.Close()

    # SIGTERM (e.g. ctest's time-out) and SIGINT unwind through the finally below.
    def interrupted(signum, _frame):
        raise SystemExit("interrupted by signal %d" % signum)

    signal.signal(signal.SIGTERM, interrupted)
    results, procs, client = [], [], None
    logs = tempfile.mkdtemp(prefix="netns_ring_test.")
    try:
        network.Build()
        client = Client(network.client)
        scenario(network, client, procs, logs, results)
    except Exception as error:  # pylint: disable=broad-except
        results.append((False, "error: %s" % error))
        print("FAIL: %s" % error)
    finally:
        stop(procs)
        if client:
            client.Close()
        network.Close()
    failed = sum(1 for ok, _ in results if not ok)
    if failed:
        for name in sorted(os.listdir(logs)):
            with open(os.path.join(logs, name)) as log:
                print("--- %s (last lines)\n%s" % (name, "".join(log.readlines()[-30:])))
    for name in os.listdir(logs):
        os.unlink(os.path.join(logs, name))
    os.rmdir(logs)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 0 if failed == 0 and results else 1


if __name__ == "__main__":
    sys.exit(main())
