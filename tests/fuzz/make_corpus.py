#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/): one real request or
reply per message, in the targets' input form (tests/fuzz/fuzz_support.h): a selector byte, then
an XML-RPC <methodCall> body. Run it again when a message is added; the selectors follow the
order in which chord_protocol.cpp and dht_protocol.cpp register their commands and the order of
the targets' kReplies tables.

    tests/fuzz/make_corpus.py    (from anywhere; writes beside this script)
"""
import base64
import hashlib
import os
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))


def node(address, bits=160):
    digest = hashlib.sha1(address.encode()).hexdigest()
    return {"id": digest[: bits // 4], "address": address}


A, B, C = node("127.0.0.1:4001"), node("127.0.0.1:4002"), node("127.0.0.1:4003")
KEY_ID = hashlib.sha1(b"key").hexdigest()
RECORD = {"key": "greeting", "value": "hello", "version": "1732800000000001", "tombstone": False,
          "expires_at_ms": "0", "written_at_ms": "1732800000000"}
BINARY = xmlrpc.client.Binary(bytes(range(8)))


def write(target, seeds):
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    for selector, name, params in seeds:
        body = xmlrpc.client.dumps(tuple(params), "seed").encode()
        prefix = bytes([selector]) if selector is not None else b""
        with open(os.path.join(directory, name), "wb") as out:
            out.write(prefix + body)


def xmlrpc_seeds():
    calls = [("chord.ping", ()), ("dht.set", ("key", "value", 60)), ("dht.get", ("k\u00e9y \U0001F600",)),
             ("dht.set", ("bin", BINARY)), ("dht.put_many", ([RECORD],)),
             ("system.methodSignature", ("dht.get",)), ("chord.notify", (A,))]
    for i, (method, params) in enumerate(calls):
        path = os.path.join(HERE, "corpus", "xmlrpc_request_fuzz", f"{i:02}-{method}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(xmlrpc.client.dumps(params, method, encoding="utf-8").encode())


def chord_seeds():
    requests = [("ping", []), ("info", []), ("find_successor", [KEY_ID]), ("step", [KEY_ID]),
                ("neighbors", []), ("notify", [A]), ("leaving", [{"leaving": A, "predecessor": B,
                                                                   "successors": [C]}]),
                ("stats", []), ("metrics", [])]
    finger = {"index": 0, "start": KEY_ID, **B}
    replies = [("ping", {**A, "bits": 160}),
               ("info", {**A, "bits": 160, "joined": True, "predecessor": C, "successors": [B],
                         "fingers": [finger]}),
               ("find_successor", {**B, "hops": 2}), ("find_successor_of_hex", {**B, "hops": 1}),
               ("step", {"done": False, "nodes": [B, C], "successors": [B]}),
               ("neighbors", {"predecessor": C, "successors": [A, B]}),
               ("notify", {}), ("leaving", {}),
               ("stats", {"calls_served": 10, "connections_accepted": 2, "connections_evicted": 0,
                          "connections_refused": 0, "connections_open": 1,
                          "server_threads_started": 2, "calls_made": 5, "connections_opened": 1}),
               ("metrics", "# HELP chord_calls_total Calls.\n")]
    messages = len(requests) + len(replies)
    seeds = [(i, f"request-{name}", params) for i, (name, params) in enumerate(requests)]
    seeds += [(len(requests) + i, f"reply-{name}", [value]) for i, (name, value) in enumerate(replies)]
    # The same replies read by a client tool that does not know the ring's size (variant 1).
    seeds += [(messages + len(requests) + i, f"reply-{name}-any-bits", [value])
              for i, (name, value) in enumerate(replies)]
    write("chord_protocol_fuzz", seeds)


def dht_seeds():
    requests = [("set", ["key", "value", 60]), ("add", ["key", BINARY]), ("get", ["key"]),
                ("remove", ["key"]), ("locate", ["key"]), ("stats", []), ("keys", [10]),
                ("watch", ["key", "0", 1000]),
                ("owner_op", [{"op": "set", "key": "key", "value": "v", "ttl": 0}]),
                ("put_many", [[RECORD, {**RECORD, "key": "gone", "tombstone": True}]]),
                ("fetch", [["greeting", "other"]]), ("digest", ["00" * 20, "ff" * 20, 100]),
                ("need", [[{"key": "greeting", "version": "5"}]])]
    records = {"records": [RECORD], "answered": 1}
    replies = [("owner_reply", {"ok": True, "exists": False, "value": "v"}),
               ("put_many_reply", {"stored": 1}), ("fetch", records), ("fetch_from_each", records),
               ("digest", {"digests": [{"key": "a", "version": "3"}]}),
               ("need", {"keys": ["a"]}),
               ("set", {"stored": True, "node": B, "hops": 1}),
               ("add", {"stored": False, "exists": True, "node": B, "hops": 0}),
               ("get", {"found": True, "value": BINARY, "node": B, "hops": 2}),
               ("remove", {"removed": True, "node": B, "hops": 1}),
               ("locate", {"id": KEY_ID, "node": B, "hops": 1, "replicas": [C]}),
               ("stats", {"owned": 1, "replicas": 2, "tombstones": 0, "received": 3,
                          "received_as_owner": 1, "settled": True}),
               ("keys", {"keys": [{"key": "a", "owned": True}], "truncated": False}),
               ("watch", {"changed": True, "found": True, "value": "v", "version": "4", "node": B})]
    seeds = [(i, f"request-{name}", params) for i, (name, params) in enumerate(requests)]
    seeds += [(len(requests) + i, f"reply-{name}", [value]) for i, (name, value) in enumerate(replies)]
    write("dht_protocol_fuzz", seeds)


if __name__ == "__main__":
    xmlrpc_seeds()
    chord_seeds()
    dht_seeds()
