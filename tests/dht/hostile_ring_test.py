#!/usr/bin/env python3
"""A hostile client against a running ring of chord-node processes, over real XML-RPC, with
Python's standard xmlrpc.client, http.client and sockets only. Each reproduction reported
against a running ring must now get the right fault (docs/faults.md):

  1 bad_argument, 2 unknown_command, 3 not_found, 4 unavailable, 5 refused, 6 internal,
  7 not_owner.

Sections: malformed records on the peer command dht.put_many (a write acknowledged and never
visible), unchecked types, not the owner, emoji and odd Unicode, sizes, joining with the wrong
--id-bits, a ring with a secret (every peer command refused without the proof, every client
command open), and a crash of an owner after a write over the largest version.

Usage: hostile_ring_test.py PATH/TO/chord-node
Prints 'N passed, N failed' and exits 0 only if nothing failed.
"""
import http.client
import os
import random
import shutil
import socket
import sys
import tempfile
import time
import traceback
import xmlrpc.client

import ring_helpers
from ring_helpers import exit_status, ring_ok, spawn, stop_all

BITS = 16
FAST = ["--stabilize-ms", "100", "--fix-fingers-ms", "100", "--check-predecessor-ms", "200",
        "--repair-ms", "300", "--replicas", "3", "--successors", "4", "--log-level", "warning",
        "--bind", "127.0.0.1",
        # The defaults (5000, 200) in a plain build. A node's call time-out follows the round
        # trips of its earlier calls (between the two), and a sanitized node takes far longer to
        # parse a 1 MiB value than a small call's round trip: under ASan and TSan such a call
        # timed out after 1560 ms. So in sanitized builds every call waits the scaled maximum.
        "--call-timeout-ms", ring_helpers.scaled_ms(5000),
        "--min-call-timeout-ms", "200" if ring_helpers.TIME_SCALE == 1 else
        ring_helpers.scaled_ms(5000)]
MAX_VALUE = 1 << 20          # chord-node's default --max-value-bytes
MAX_KEY = 1024               # chord-node's default --max-key-bytes
MAX_VERSION = 1 << 62        # kMaxVersion (dht/dht_protocol.h)
GRIN = "\U0001F600"

BAD_ARGUMENT, UNKNOWN_COMMAND, NOT_FOUND, UNAVAILABLE, REFUSED, INTERNAL, NOT_OWNER = range(1, 8)

PEER_COMMANDS = {"dht.owner_op", "dht.put_many", "dht.put_batch", "dht.fetch", "dht.digest",
                 "dht.need", "chord.notify", "chord.leaving", "chord.step", "chord.neighbors"}

# Every call is bounded: a node that hangs fails the test instead of stalling it.
socket.setdefaulttimeout(60 * ring_helpers.TIME_SCALE)

PROCESSES = []   # every process started, killed at the end whatever happens
WORKDIR = tempfile.mkdtemp(prefix="hostile_ring_")


class Node(ring_helpers.NodeProcess):
    def __init__(self, binary, args, startup_s=20):
        super().__init__(binary, args + FAST, WORKDIR, PROCESSES, startup_s)


def proxy(address, transport=None):
    return ring_helpers.proxy(address, transport=transport)


def wait_for(predicate, seconds):
    """Polls predicate until it holds or the deadline passes; errors, missing fields among
    them, count as not yet."""
    return ring_helpers.wait_for(predicate, seconds,
                                 ring_helpers.RPC_ERRORS + (KeyError, IndexError))


def run_to_exit(command, log_path, seconds=20):
    """(proc, exit status) of a process expected to stop by itself, its stderr in log_path;
    status None (and the process killed) if it still ran after `seconds`."""
    with open(log_path, "w") as log:
        proc = spawn(command, stderr=log)
        PROCESSES.append(proc)
        status = exit_status(proc, seconds)
        if status is None:
            proc.kill()
            proc.wait(timeout=10)
    return proc, status


def start_ring(binary, size, extra=()):
    nodes = [Node(binary, ["--create", "--id-bits", str(BITS)] + list(extra))]
    for _ in range(size - 1):
        nodes.append(Node(binary, ["--join", nodes[-1].address, "--id-bits", str(BITS)] +
                          list(extra)))
    if not wait_for(lambda: ring_ok(nodes), 30):
        raise RuntimeError("the ring of %d nodes did not become correct" % size)
    return nodes


def call(fn, *args):
    """('ok', result) or ('fault', code, message) or ('error', exception)."""
    try:
        return ("ok", fn(*args))
    except xmlrpc.client.Fault as f:
        return ("fault", f.faultCode, f.faultString)
    except Exception as e:  # pylint: disable=broad-except
        return ("error", e)


def record(key, value, version, tombstone=False, expires="0", written=None):
    if written is None:
        written = str(int(time.time() * 1000))
    return {"key": key, "value": value, "version": version, "tombstone": tombstone,
            "expires_at_ms": expires, "written_at_ms": written}


def by_address(nodes, address):
    for node in nodes:
        if node.address == address:
            return node
    raise KeyError(address)


def fetch_value(node, key):
    """The value node holds of key (dht.fetch, a peer command), or None."""
    records = node.rpc.dht.fetch([key])["records"]
    for r in records:
        if r["key"] == key and not r["tombstone"]:
            return r["value"]
    return None


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s%s" % (what, (": " + str(detail)) if detail else ""))
        return ok

    def fault(self, outcome, code, what, names=None):
        """outcome (from call) must be a fault of `code` whose message contains `names`."""
        ok = (outcome[0] == "fault" and outcome[1] == code and
              (names is None or names in outcome[2]))
        return self.check(ok, "%s gets fault %d%s" % (what, code,
                                                      " naming %r" % names if names else ""),
                          "got %r" % (outcome,))

    def section(self, name, fn, *args):
        print("--", name)
        started = time.monotonic()
        try:
            fn(self, *args)
        except Exception:  # pylint: disable=broad-except
            self.failed += 1
            print("FAIL: %s raised:" % name)
            traceback.print_exc(file=sys.stdout)
        print("   (%.1f s)" % (time.monotonic() - started))


# ---------------------------------------------------------------------------------------------
# 1. A write acknowledged and never visible: records with malformed versions on dht.put_many.

def bad_versions(t, nodes):
    key = "hostile-version"
    owner = by_address(nodes, nodes[0].rpc.dht.locate(key)["node"]["address"])
    before = owner.rpc.dht.stats()
    for version in ["-1", "abc", "1e3", "+5", " 5", "5 ", "", "0x10", "99999999999999999999999",
                    "18446744073709551615", "18446744073709551616", str(MAX_VERSION + 1)]:
        t.fault(call(owner.rpc.dht.put_many, [record(key, "bad", version)]), BAD_ARGUMENT,
                "put_many with version %r" % version)
    t.fault(call(owner.rpc.dht.put_many, [record(key, "bad", 5)]), BAD_ARGUMENT,
            "put_many with version as an int")
    for field, value in [("expires_at_ms", "-1"), ("written_at_ms", "-1"),
                         ("expires_at_ms", str(1 << 63)), ("tombstone", "yes")]:
        bad = record(key, "bad", "7")
        bad[field] = value
        t.fault(call(owner.rpc.dht.put_many, [bad]), BAD_ARGUMENT,
                "put_many with %s %r" % (field, value))
    missing = record(key, "bad", "7")
    del missing["version"]
    t.fault(call(owner.rpc.dht.put_many, [missing]), BAD_ARGUMENT, "put_many without a version")

    # One bad record among good ones: nothing of the batch is stored.
    good = [record(key, "good", "5"), record(key + "-2", "good-2", "5")]
    for position in range(3):
        batch = list(good)
        batch.insert(position, record(key + "-bad", "x", "-1"))
        t.fault(call(owner.rpc.dht.put_many, batch), BAD_ARGUMENT,
                "a batch with a bad record at %d" % position)
    t.check(not owner.rpc.dht.get(key)["found"], "the good key of a refused batch was not stored")
    t.check(fetch_value(owner, key) is None, "the owner holds no record of the refused batch")
    after = owner.rpc.dht.stats()
    t.check((after["owned"], after["replicas"]) == (before["owned"], before["replicas"]),
            "stats unchanged by refused batches", "%r -> %r" % (before, after))

    # The key still works through the client commands.
    for node in nodes:
        answer = node.rpc.dht.set(key, "new via %s" % node.address)
        t.check(answer["stored"] is True, "set after the bad versions answers stored", answer)
        got = nodes[0].rpc.dht.get(key)
        t.check(got["found"] and got["value"] == "new via %s" % node.address,
                "get returns the new value after the bad versions", got)
    t.check(nodes[1].rpc.dht.remove(key)["removed"] is True, "remove answers removed")
    t.check(not nodes[2].rpc.dht.get(key)["found"], "get after remove: found false")


def key_owned_by(nodes, owner, prefix, other=False):
    """A key whose owner is `owner` (or, with other=True, any other node)."""
    for i in range(10000):
        key = "%s-%d" % (prefix, i)
        if (nodes[0].rpc.dht.locate(key)["node"]["address"] == owner.address) != other:
            return key
    raise RuntimeError("no key found for %s" % owner.address)


def copies(nodes, key, value):
    return sum(fetch_value(n, key) == value for n in nodes)


def largest_version(t, nodes):
    """Versions are microseconds of the owners' clocks. A record whose version is more than a
    day ahead of the receiver's clock (2^62 among them) is made up: accepting it would freeze the
    key, so it is refused (fault 1) and nothing of its batch is stored. A record an hour ahead is
    accepted, and later writes still win over it: they are seen by the owner and by the
    replicas, and survive the owner's crash. Nor does it spoil the versions of the owner's other
    keys."""
    key = "hostile-max-version"
    where = nodes[0].rpc.dht.locate(key)
    owner = by_address(nodes, where["node"]["address"])
    replicas = [by_address(nodes, r["address"]) for r in where["replicas"]]
    now_us = int(time.time() * 1e6)
    for version in [MAX_VERSION, now_us + 2 * 24 * 3600 * 10 ** 6]:
        t.fault(call(owner.rpc.dht.put_many, [record(key, "from the future", str(version))]),
                BAD_ARGUMENT, "put_many at version %d (more than a day ahead)" % version)
    t.check(not nodes[1].rpc.dht.get(key)["found"], "a refused future record is not stored")
    ahead = now_us + 3600 * 10 ** 6
    outcome = call(owner.rpc.dht.put_many, [record(key, "an hour ahead", str(ahead))])
    t.check(outcome[0] == "ok" and outcome[1]["stored"] == 1,
            "put_many at a version an hour ahead is accepted", outcome)
    got = nodes[1].rpc.dht.get(key)
    t.check(got["found"] and got["value"] == "an hour ahead",
            "get sees the record an hour ahead", got)
    answer = call(nodes[1].rpc.dht.set, key, "written after 2^62")
    t.check(answer[0] == "ok" and answer[1]["stored"] is True,
            "set after a record an hour ahead answers stored", answer)
    got = nodes[2].rpc.dht.get(key)
    t.check(got["found"] and got["value"] == "written after 2^62",
            "get after set over a version an hour ahead returns the new value", got)
    # The acknowledged write must reach the replicas too (by the write itself or by repair).
    for replica in replicas:
        t.check(wait_for(lambda r=replica: fetch_value(r, key) == "written after 2^62", 10),
                "replica %s holds the write made over a version an hour ahead"
                % replica.address,
                "it holds %r; the owner holds %r" % (call(fetch_value, replica, key),
                                                    owner.rpc.dht.fetch([key])["records"]))
    # The owner's other keys are not affected: a plain key of the same owner, written now,
    # reaches its replicas; so does one of another owner.
    same = key_owned_by(nodes, owner, "hostile-same-owner")
    elsewhere = key_owned_by(nodes, owner, "hostile-other-owner", other=True)
    for plain, whose in [(same, "the same owner"), (elsewhere, "another owner")]:
        nodes[0].rpc.dht.set(plain, "plain")
        t.check(wait_for(lambda k=plain: copies(nodes, k, "plain") >= 3, 10),
                "a plain key of %s written afterwards has 3 copies" % whose,
                "%d copies; the owner holds %r" % (
                    copies(nodes, plain, "plain"),
                    call(lambda k=plain: by_address(nodes, nodes[0].rpc.dht.locate(k)["node"][
                        "address"]).rpc.dht.fetch([k])["records"])))
    return key, owner


def crash_owner(t, nodes, key, owner):
    """Last: kill -9 the owner of the key written over a version an hour ahead; its successor
    takes over and must serve the acknowledged value."""
    owner.proc.kill()
    owner.proc.wait(timeout=10)
    alive = [n for n in nodes if n is not owner]
    ok = wait_for(lambda: all(n.rpc.dht.get(key)["found"] for n in alive), 20)
    got = [call(n.rpc.dht.get, key) for n in alive]
    t.check(ok and all(g[0] == "ok" and g[1].get("value") == "written after 2^62" for g in got),
            "after the owner's crash every node reads the write made over a version an hour "
            "ahead", got)


# ---------------------------------------------------------------------------------------------
# 2. Unchecked types.

def unchecked_types(t, nodes):
    key = "hostile-types"
    owner = by_address(nodes, nodes[0].rpc.dht.locate(key)["node"]["address"])
    for ttl in ["abc", 1.5, [1], {"a": 1}, True, xmlrpc.client.Binary(b"1"), -1, 10 ** 9,
                10 * 365 * 24 * 3600 + 1]:
        t.fault(call(owner.rpc.dht.owner_op, {"op": "set", "key": key, "value": "v", "ttl": ttl}),
                BAD_ARGUMENT, "owner_op with ttl %r" % (ttl,))
    t.fault(call(owner.rpc.dht.owner_op, {"op": "frobnicate", "key": key}), BAD_ARGUMENT,
            "owner_op with op 'frobnicate'")
    t.fault(call(owner.rpc.dht.owner_op, {"op": 3, "key": key}), BAD_ARGUMENT,
            "owner_op with op as an int")
    t.fault(call(owner.rpc.dht.owner_op, {"op": "set", "key": key}), BAD_ARGUMENT,
            "owner_op set without a value")
    t.fault(call(owner.rpc.dht.owner_op, {"op": "add", "key": key}), BAD_ARGUMENT,
            "owner_op add without a value")
    t.fault(call(owner.rpc.dht.owner_op, {"op": "get"}), BAD_ARGUMENT, "owner_op without a key")
    t.fault(call(owner.rpc.dht.owner_op, {"op": "get", "key": ""}), BAD_ARGUMENT,
            "owner_op with an empty key")
    t.fault(call(owner.rpc.dht.owner_op, {"op": "get", "key": 5}), BAD_ARGUMENT,
            "owner_op with an int key")
    t.fault(call(owner.rpc.dht.owner_op, "get"), BAD_ARGUMENT, "owner_op with a string request")
    t.fault(call(owner.rpc.dht.owner_op), BAD_ARGUMENT, "owner_op without arguments")
    t.check(not owner.rpc.dht.get(key)["found"], "nothing was stored by refused owner_ops")
    ok = call(owner.rpc.dht.owner_op, {"op": "set", "key": key, "value": "v", "ttl": 60})
    t.check(ok[0] == "ok" and ok[1]["ok"] is True, "a well-formed owner_op set on the owner", ok)

    for ttl in ["abc", -1, 10 ** 9, 1.5]:
        t.fault(call(nodes[1].rpc.dht.set, key, "v", ttl), BAD_ARGUMENT, "set with ttl %r" % ttl)
        t.fault(call(nodes[1].rpc.dht.add, key, "v", ttl), BAD_ARGUMENT, "add with ttl %r" % ttl)
    for limit in [-1, 100001, "10", 2.5]:
        t.fault(call(nodes[0].rpc.dht.keys, limit), BAD_ARGUMENT, "keys with limit %r" % limit)
    t.fault(call(nodes[0].rpc.dht.set, key), BAD_ARGUMENT, "set without a value")
    t.fault(call(nodes[0].rpc.dht.set, key, 5), BAD_ARGUMENT, "set with an int value")
    t.fault(call(nodes[0].rpc.dht.set, key, "v", 1, 2), BAD_ARGUMENT, "set with 4 arguments")
    t.fault(call(nodes[0].rpc.dht.get), BAD_ARGUMENT, "get without a key")
    t.fault(call(nodes[0].rpc.dht.get, 5), BAD_ARGUMENT, "get with an int key")
    t.fault(call(nodes[0].rpc.dht.get, ""), BAD_ARGUMENT, "get with an empty key")
    t.fault(call(nodes[0].rpc.dht.frobnicate, key), UNKNOWN_COMMAND, "an unknown command")
    t.fault(call(nodes[0].rpc.dht.digest, "zz", "0", 10), BAD_ARGUMENT, "digest with a bad id")
    t.fault(call(nodes[0].rpc.dht.digest, "0", "ffff", 0), BAD_ARGUMENT, "digest with limit 0")
    t.fault(call(nodes[0].rpc.dht.need, [{"key": key, "version": "-1"}]), BAD_ARGUMENT,
            "need with version -1")
    t.fault(call(nodes[0].rpc.dht.fetch, [key] * 5000), BAD_ARGUMENT, "fetch of 5000 keys")
    t.fault(call(nodes[0].rpc.chord.find_successor, "not hex"), BAD_ARGUMENT,
            "find_successor of 'not hex'")
    t.fault(call(nodes[0].rpc.chord.find_successor, "1" * 41), BAD_ARGUMENT,
            "find_successor of a 164-bit id")
    got = nodes[2].rpc.dht.get(key)
    t.check(got["found"] and got["value"] == "v", "the key still reads after the bad calls", got)


# ---------------------------------------------------------------------------------------------
# 3. Not the owner.

def not_owner(t, nodes):
    for i in range(5):
        key = "hostile-owner-%d" % i
        nodes[0].rpc.dht.set(key, "owned-%d" % i)
        where = nodes[1].rpc.dht.locate(key)
        owner = by_address(nodes, where["node"]["address"])
        successor = by_address(nodes, where["replicas"][0]["address"])
        t.fault(call(successor.rpc.dht.owner_op, {"op": "get", "key": key}), NOT_OWNER,
                "owner_op get on the owner's successor for %s" % key)
        for node in nodes:
            if node is owner:
                continue
            t.fault(call(node.rpc.dht.owner_op, {"op": "set", "key": key, "value": "stolen"}),
                    NOT_OWNER, "owner_op set on a node that does not own %s" % key)
        answer = call(owner.rpc.dht.owner_op, {"op": "get", "key": key})
        t.check(answer[0] == "ok" and answer[1]["ok"] and answer[1]["value"] == "owned-%d" % i,
                "owner_op get on the owner", answer)
        got = nodes[2].rpc.dht.get(key)
        t.check(got["found"] and got["value"] == "owned-%d" % i,
                "refused owner_ops stored nothing", got)


# ---------------------------------------------------------------------------------------------
# 4. Emoji and odd Unicode.

def raw_call(address, body):
    """POSTs an XML-RPC body as bytes; returns call()'s outcome for its answer."""
    host, port = address.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        connection.request("POST", "/RPC2", body, {"Content-Type": "text/xml"})
        response = connection.getresponse()
        data = response.read()
        if response.status != 200:
            return ("error", "HTTP %d %r" % (response.status, data[:200]))
        try:
            return ("ok", xmlrpc.client.loads(data)[0][0])
        except xmlrpc.client.Fault as f:
            return ("fault", f.faultCode, f.faultString)
    finally:
        connection.close()


def get_body(key_xml):
    return (b"<?xml version='1.0'?><methodCall><methodName>dht.get</methodName><params>"
            b"<param><value><string>" + key_xml + b"</string></value></param></params>"
            b"</methodCall>")


def unicode_keys(t, nodes):
    cases = {
        GRIN: "only an emoji",
        "emoji-" + GRIN + "-key": "value " + GRIN * 3,
        "\u4e2d\u6587\u952e-\u65e5\u672c\u8a9e": "\u503c \u3042\u3044\u3046 \U00020000",
        "cafe\u0301-e\u0308\u0323": "combining a\u030a\u0301 \u0915\u094d\u0937",
        "nonchar-\ufdd0": "value \ufdd0 \ufdd0\ufdd0",
        # The in-process form of U+10000 is U+FDD0 U+E000 U+E000: the two must stay distinct.
        "\ufdd0\ue000\ue000": "looks like the BMP form of U+10000",
        "\U00010000": "is U+10000",
        "mixed-a\U0001F600b\ufdd0c\U0010FFFDd": "\U0001F468\u200d\U0001F469\u200d\U0001F467",
        "\U0001F1EB\U0001F1F7 flag": "\U0001D11E clef",
    }
    for i, (key, value) in enumerate(cases.items()):
        answer = call(nodes[i % len(nodes)].rpc.dht.set, key, value)
        t.check(answer[0] == "ok" and answer[1]["stored"], "set of key %r" % key, answer)
    for node in nodes:
        for key, value in cases.items():
            got = call(node.rpc.dht.get, key)
            t.check(got[0] == "ok" and got[1]["found"] and got[1]["value"] == value,
                    "get of key %r through %s" % (key, node.address), got)
    # dht.keys lists the keys exactly (owned on one node each).
    listed = {}
    for node in nodes:
        for entry in node.rpc.dht.keys(100000)["keys"]:
            if entry["owned"]:
                listed[entry["key"]] = listed.get(entry["key"], 0) + 1
    for key in cases:
        t.check(listed.get(key) == 1, "dht.keys lists %r exactly once as owned" % key,
                listed.get(key))
    # The emoji as a character reference is the same key.
    outcome = raw_call(nodes[0].address, get_body(b"&#x1F600;"))
    t.check(outcome[0] == "ok" and outcome[1]["value"] == "only an emoji",
            "a character reference &#x1F600; names the emoji key", outcome)
    # Keys of exactly the limit in UTF-8 bytes, with 4-byte characters.
    at_limit = GRIN * (MAX_KEY // 4)
    answer = call(nodes[1].rpc.dht.set, at_limit, "at the key limit")
    t.check(answer[0] == "ok" and answer[1]["stored"],
            "a key of %d emoji (%d UTF-8 bytes) is stored" % (MAX_KEY // 4, MAX_KEY), answer)
    got = call(nodes[2].rpc.dht.get, at_limit)
    t.check(got[0] == "ok" and got[1]["found"] and got[1]["value"] == "at the key limit",
            "the key of emoji at the limit reads back", got)
    t.fault(call(nodes[1].rpc.dht.set, at_limit + "x", "v"), BAD_ARGUMENT,
            "a key one byte over the limit", "limit")
    # Control characters: xmlrpc.client sends them raw (invalid XML); the node must say
    # bad_argument either way (for the XML, or for the key).
    for bad in ["ctl\x01key", "\x00", "tab\x0bkey", "esc\x1b"]:
        t.fault(call(nodes[0].rpc.dht.set, bad, "v"), BAD_ARGUMENT,
                "set of a key with control character %r" % bad)
        t.fault(call(nodes[0].rpc.dht.get, bad), BAD_ARGUMENT,
                "get of a key with control character %r" % bad)
    t.fault(raw_call(nodes[0].address, get_body(b"ctl&#x1;key")), BAD_ARGUMENT,
            "a key with a control character as a character reference")
    t.fault(raw_call(nodes[0].address, get_body(b"bad-\xff\xfe-utf8")), BAD_ARGUMENT,
            "a key that is not UTF-8")
    t.fault(raw_call(nodes[0].address, get_body(b"\xed\xa0\x80-surrogate")), BAD_ARGUMENT,
            "a key holding an encoded surrogate")
    t.fault(raw_call(nodes[0].address, get_body(b"&#xD800;")), BAD_ARGUMENT,
            "a key that is a lone surrogate reference")
    # A string value with a control character also needs base64.
    t.fault(call(nodes[0].rpc.dht.set, "ctl-value", "a\x01b"), BAD_ARGUMENT,
            "a string value with a control character")
    answer = call(nodes[0].rpc.dht.set, "ctl-value", xmlrpc.client.Binary(b"a\x01b\x00\xff"))
    t.check(answer[0] == "ok" and answer[1]["stored"], "the same bytes as base64 are stored",
            answer)
    got = nodes[1].rpc.dht.get("ctl-value")
    t.check(got["found"] and isinstance(got["value"], xmlrpc.client.Binary) and
            got["value"].data == b"a\x01b\x00\xff", "the base64 value comes back as base64", got)
    # Python cannot even encode a lone surrogate as UTF-8: no request to send; skipped.


# ---------------------------------------------------------------------------------------------
# 5. Sizes.

def sizes(t, nodes):
    node = nodes[0]
    rpc = node.rpc
    for size in [5 * 1000 * 1000, 2 * 1000 * 1000, MAX_VALUE + 1]:
        outcome = call(rpc.dht.set, "big-%d" % size, "x" * size)
        t.fault(outcome, BAD_ARGUMENT, "a value of %d bytes through xmlrpc.client" % size,
                "limit")
        t.check(outcome[0] != "error", "no broken pipe or reset for %d bytes" % size, outcome)
        t.check(not rpc.dht.get("big-%d" % size)["found"], "the %d-byte value is not stored"
                % size)
    t.fault(call(rpc.dht.set, "big-binary", xmlrpc.client.Binary(b"\xff" * (MAX_VALUE + 1))),
            BAD_ARGUMENT, "a base64 value one byte over the limit", "limit")
    for name, value in [("ascii", "y" * MAX_VALUE), ("emoji", GRIN * (MAX_VALUE // 4)),
                        ("binary", xmlrpc.client.Binary(bytes(range(256)) * (MAX_VALUE // 256)))]:
        answer = call(rpc.dht.set, "exact-" + name, value)
        t.check(answer[0] == "ok" and answer[1]["stored"],
                "a %s value of exactly --max-value-bytes is stored" % name,
                answer if answer[0] != "ok" else "")
        got = call(nodes[1].rpc.dht.get, "exact-" + name)
        t.check(got[0] == "ok" and got[1]["found"] and got[1]["value"] == value,
                "the %s value of exactly --max-value-bytes reads back" % name,
                got[:2] if got[0] != "ok" else len(str(got[1].get("value"))))
    t.fault(call(rpc.dht.set, "emoji-over", GRIN * (MAX_VALUE // 4) + "x"), BAD_ARGUMENT,
            "an emoji value one byte over the limit", "limit")
    # The same ServerProxy keeps working.
    t.check(rpc.dht.set("after-big", "small")["stored"], "the same proxy works after the faults")
    t.check(rpc.dht.get("after-big")["value"] == "small", "and reads back")
    t.check("owned" in rpc.dht.stats(), "dht.stats through the same proxy")


# ---------------------------------------------------------------------------------------------
# 6. Joining with the wrong --id-bits.

def wrong_id_bits(t, binary, nodes):
    for bits in ["160", "8"]:
        log_path = os.path.join(WORKDIR, "wrong-bits-%s.log" % bits)
        proc, status = run_to_exit([binary, "--join", nodes[0].address, "--id-bits", bits] + FAST,
                                   log_path)
        with open(log_path, errors="replace") as f:
            text = f.read() + proc.stdout.read().decode(errors="replace")
        t.check(status is not None and status != 0,
                "a %s-bit node joining a %d-bit ring exits non-zero" % (bits, BITS), status)
        t.check("%d-bit ids" % BITS in text and "%s-bit ids" % bits in text,
                "its error names both sizes", text.strip()[-300:])
    t.check(ring_ok(nodes), "the ring is untouched by the refused joins")


# ---------------------------------------------------------------------------------------------
# 7. A ring with a secret.

def plausible_args(name, signature, any_key):
    """Arguments of the types of one signature: [result, arg1, ...]."""
    args = []
    for i, type_name in enumerate(signature[1:]):
        if type_name == "string":
            if name.startswith("system."):
                args.append("dht.get")
            elif name in ("chord.find_successor", "dht.digest") or name == "chord.step":
                args.append("%04x" % random.randrange(1 << BITS))
            else:
                args.append(any_key if i == 0 else "v")
        elif type_name == "int":
            args.append(10)
        elif type_name == "boolean":
            args.append(True)
        elif type_name == "double":
            args.append(1.0)
        elif type_name == "base64":
            args.append(xmlrpc.client.Binary(b"\x00v"))
        elif type_name == "array":
            args.append([any_key])
        elif type_name == "struct":
            args.append({"op": "get", "key": any_key})
        else:
            args.append("v")
    return args


def secret_ring(t, binary):
    secret_file = os.path.join(WORKDIR, "secret")
    with open(secret_file, "w") as f:
        f.write(os.urandom(24).hex() + "\n")
    other_file = os.path.join(WORKDIR, "other-secret")
    with open(other_file, "w") as f:
        f.write(os.urandom(24).hex() + "\n")
    nodes = start_ring(binary, 3, ["--secret-file", secret_file])
    rpc = nodes[0].rpc
    methods = rpc.system.listMethods()
    audience = {}
    for name in methods:
        help_text = rpc.system.methodHelp(name)
        last = help_text.strip().split("\n")[-1]
        t.check(last in ("Audience: client", "Audience: peer"),
                "methodHelp of %s ends with its audience" % name, last)
        audience[name] = last.split(": ")[-1]
    peers = {name for name, who in audience.items() if who == "peer"}
    t.check(PEER_COMMANDS <= peers, "peer commands listed as such",
            "missing %r" % sorted(PEER_COMMANDS - peers))
    t.check(not {n for n in peers if n.startswith("system.")}, "system.* are client commands")
    rpc.dht.set("probe-key", "probe")
    for name in methods:
        signatures = rpc.system.methodSignature(name)
        for signature in signatures + [["struct"], ["struct", "string", "int", "struct"]]:
            args = plausible_args(name, signature, "probe-key")
            outcome = call(getattr(rpc, name), *args)
            if audience[name] == "peer":
                t.fault(outcome, REFUSED, "peer command %s%r without proof" % (name, tuple(args)))
            else:
                t.check(outcome[0] == "ok" or (outcome[0] == "fault" and
                                               outcome[1] in (BAD_ARGUMENT, UNKNOWN_COMMAND,
                                                              NOT_FOUND)),
                        "client command %s%r without proof is served" % (name, tuple(args)),
                        outcome)
    if "system.multicall" in methods:
        outcome = call(rpc.system.multicall, [{"methodName": "dht.put_many",
                                               "params": [[record("mc", "v", "9")]]}])
        t.check(outcome[0] == "fault" or (outcome[0] == "ok" and
                                          outcome[1][0].get("faultCode") == REFUSED),
                "system.multicall does not open peer commands", outcome)
    t.check(not nodes[1].rpc.dht.get("mc")["found"], "nothing stored through multicall")

    # Joins with another secret, or none, fail; with the secret, succeed.
    for name, extra in [("another secret", ["--secret-file", other_file]), ("no secret", [])]:
        log_path = os.path.join(WORKDIR, "intruder-%s.log" % name.replace(" ", "-"))
        _, status = run_to_exit([binary, "--join", nodes[1].address, "--id-bits", str(BITS)] +
                                extra + FAST, log_path)
        with open(log_path, errors="replace") as f:
            text = f.read()
        t.check(status is not None and status != 0,
                "a node with %s cannot join the secret ring" % name,
                "status %r, log %r" % (status, text.strip()[-300:]))
    nodes.append(Node(binary, ["--join", nodes[2].address, "--id-bits", str(BITS),
                               "--secret-file", secret_file]))
    t.check(wait_for(lambda: ring_ok(nodes), 30), "a node with the secret joins (4 nodes)")

    # The DHT works on the secret ring: 200 keys through every node.
    rnd = random.Random(7)
    expected = {}
    for i in range(200):
        key = "secret-key-%d-%s" % (i, GRIN if i % 7 == 0 else "")
        value = xmlrpc.client.Binary(bytes([i % 256, 0, 255])) if i % 5 == 0 else "v%d" % i
        node = rnd.choice(nodes)
        answer = (node.rpc.dht.add if i % 2 else node.rpc.dht.set)(key, value)
        t.check(answer["stored"], "store %s on the secret ring" % key, answer)
        expected[key] = value
    t.check(not nodes[0].rpc.dht.add("secret-key-1-", "again")["stored"],
            "add of an existing key on the secret ring is refused")
    for i in range(0, 200, 10):
        key = "secret-key-%d-%s" % (i, GRIN if i % 7 == 0 else "")
        t.check(rnd.choice(nodes).rpc.dht.remove(key)["removed"], "remove %s" % key)
        expected[key] = None

    def wrong_reads():
        bad = []
        for node in nodes:
            for key, want in expected.items():
                got = node.rpc.dht.get(key)
                if want is None:
                    ok = not got["found"]
                elif isinstance(want, xmlrpc.client.Binary):
                    ok = got["found"] and isinstance(got["value"], xmlrpc.client.Binary) and \
                        got["value"].data == want.data
                else:
                    ok = got["found"] and got["value"] == want
                if not ok:
                    bad.append((node.address, key, got))
        return bad
    bad = wrong_reads()
    t.check(not bad, "200 keys read back through every node of the secret ring", bad[:5])
    live = sum(1 for v in expected.values() if v is not None)
    t.check(wait_for(lambda: sum(n.rpc.dht.stats()["replicas"] for n in nodes) == 2 * live, 30),
            "replication works between nodes that prove the secret (3 copies)",
            [n.rpc.dht.stats() for n in nodes])


# ---------------------------------------------------------------------------------------------

def main():
    binary = os.path.abspath(sys.argv[1])
    t = Checks()
    started = time.monotonic()
    try:
        nodes = start_ring(binary, 5)
        print("ring of %d nodes up in %.1f s" % (len(nodes), time.monotonic() - started))
        t.section("1. malformed versions on dht.put_many", bad_versions, nodes)
        outcome = []
        t.section("1b. a record at the largest version",
                  lambda t, n: outcome.append(largest_version(t, n)), nodes)
        t.section("2. unchecked types", unchecked_types, nodes)
        t.section("3. not the owner", not_owner, nodes)
        t.section("4. emoji and odd Unicode", unicode_keys, nodes)
        t.section("5. sizes", sizes, nodes)
        t.section("6. joining with the wrong --id-bits", wrong_id_bits, binary, nodes)
        t.section("7. a ring with a secret", secret_ring, binary)
        if outcome:
            t.section("1c. the owner of the key written over a version an hour ahead crashes", crash_owner, nodes,
                      *outcome[0])
        for node_log in sorted(os.listdir(WORKDIR)):
            path = os.path.join(WORKDIR, node_log)
            if node_log.endswith(".log") and os.path.getsize(path) and t.failed:
                with open(path, errors="replace") as f:
                    lines = f.read().strip().split("\n")
                print("-- %s (last lines)\n%s" % (node_log, "\n".join(lines[-5:])))
    except Exception:  # pylint: disable=broad-except
        t.failed += 1
        print("FAIL: the test could not run:")
        traceback.print_exc(file=sys.stdout)
    finally:
        stop_all(PROCESSES)
        shutil.rmtree(WORKDIR, ignore_errors=True)
    print("%d passed, %d failed (%.1f s)" % (t.passed, t.failed, time.monotonic() - started))
    return 0 if t.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
