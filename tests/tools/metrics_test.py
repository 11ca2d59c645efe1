#!/usr/bin/env python3
"""GET /metrics of real chord-node processes, read as Prometheus would read it.

Usage: metrics_test.py PATH/TO/chord-node
Starts a 2-node ring on 127.0.0.1, stores keys and makes a few calls (one of them a fault), then
parses every node's /metrics with a strict reader of the text exposition format (version
0.0.4): each sample line is NAME{LABELS} VALUE, every family has one TYPE line before its
samples, histograms have cumulative buckets ending in +Inf equal to _count. Checks the figures
the issue asks for: calls and faults per command, latency histograms, keys owned and replicated,
connections, repair and transfer counters, ring neighbours. Also: POST /metrics is 405, and the
XML-RPC endpoint still works on the same connection port. Every process started is stopped.
Prints 'N passed, N failed'; exits 0 on success.
"""
import http.client
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
SAMPLE = re.compile(r"^(%s)(\{(%s(?:,%s)*)?\})? (\S+)$" % (NAME, LABEL, LABEL))
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse(text, check):
    """{family: {"type": t, "samples": [(name, {labels}, value)]}}; reports format errors."""
    families, current = {}, None
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            check(len(parts) == 4 and parts[3] in ("counter", "gauge", "histogram"),
                  "line %d: bad TYPE line %r" % (number, line))
            check(parts[2] not in families, "line %d: second TYPE for %s" % (number, parts[2]))
            current = parts[2]
            families[current] = {"type": parts[3], "samples": []}
            continue
        match = SAMPLE.match(line)
        check(match is not None, "line %d: not a sample: %r" % (number, line))
        if not match:
            continue
        name, labels, value = match.group(1), dict(LABEL_PAIR.findall(match.group(3) or "")), None
        try:
            value = float(match.group(4))
        except ValueError:
            check(False, "line %d: bad value %r" % (number, match.group(4)))
            continue
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[:-len(suffix)] in families:
                family = name[:-len(suffix)]
        check(family == current, "line %d: %s outside its family's block (TYPE first)" %
              (number, name))
        if family in families:
            families[family]["samples"].append((name, labels, value))
    return families


def value(families, family, sample=None, **labels):
    """The value of `sample` (default: the family's own name) with these labels, or None."""
    for name, have, v in families.get(family, {}).get("samples", []):
        if name == (sample or family) and all(have.get(k) == w for k, w in labels.items()):
            return v
    return None


def check_histograms(families, check):
    for family, data in families.items():
        if data["type"] != "histogram":
            continue
        series = {}
        for name, labels, v in data["samples"]:
            key = tuple(sorted((k, w) for k, w in labels.items() if k != "le"))
            series.setdefault(key, {"buckets": [], "count": None})
            if name.endswith("_bucket"):
                series[key]["buckets"].append((labels.get("le"), v))
            elif name.endswith("_count"):
                series[key]["count"] = v
        for key, s in series.items():
            bounds = [math.inf if le == "+Inf" else float(le) for le, _ in s["buckets"]]
            counts = [v for _, v in s["buckets"]]
            check(bounds == sorted(bounds) and bounds and bounds[-1] == math.inf,
                  "%s%r: buckets not ascending to +Inf" % (family, key))
            check(counts == sorted(counts), "%s%r: buckets not cumulative" % (family, key))
            check(counts and counts[-1] == s["count"], "%s%r: +Inf bucket != _count" %
                  (family, key))


def get_metrics(address):
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    body = response.read().decode("utf-8")
    content_type = response.getheader("Content-Type", "")
    connection.request("POST", "/metrics", body="x")
    refused = connection.getresponse()
    refused.read()
    connection.close()
    return response.status, content_type, body, refused.status


def wait_for(predicate, limit_s):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)  # polling a node's state, with a deadline
    return False


def main():
    node_binary = sys.argv[1]
    results = {"passed": 0, "failed": 0}

    def check(ok, message):
        results["passed" if ok else "failed"] += 1
        if not ok:
            print("FAIL:", message)
        return ok

    fast = ["--stabilize-ms", "100", "--fix-fingers-ms", "100", "--check-predecessor-ms", "200",
            "--repair-ms", "200", "--log-level", "error"]
    ports = [free_port(), free_port()]
    addresses = ["127.0.0.1:%d" % p for p in ports]
    nodes = []
    try:
        nodes.append(subprocess.Popen([node_binary, "--create", "--port", str(ports[0])] + fast,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        proxies = [xmlrpc.client.ServerProxy("http://%s/RPC2" % a) for a in addresses]
        check(wait_for(lambda: _answers(proxies[0]), 20), "the first node did not start")
        nodes.append(subprocess.Popen([node_binary, "--join", addresses[0], "--port",
                                       str(ports[1])] + fast,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        check(wait_for(lambda: _ring_of_two(proxies), 30), "the ring of two did not form")
        for i in range(20):
            proxies[i % 2].dht.set("metrics-key-%d" % i, "value %d" % i)
        try:
            proxies[0].dht.get("")  # an empty key: a bad_argument fault, counted
        except xmlrpc.client.Fault:
            pass
        # Repair copies every key to the other node (2 nodes, 3 replicas: both hold all), and
        # each node has run a repair step.
        wait_for(lambda: _total_keys(proxies) >= 40, 20)
        for address in addresses:
            wait_for(lambda: _repair_steps(address) >= 1, 20)
        for address in addresses:
            status, content_type, body, post_status = get_metrics(address)
            check(status == 200, "%s: GET /metrics answered %d" % (address, status))
            check(content_type.startswith("text/plain") and "version=0.0.4" in content_type,
                  "%s: Content-Type %r" % (address, content_type))
            check(post_status == 405, "%s: POST /metrics answered %d" % (address, post_status))
            families = parse(body, check)
            check_histograms(families, check)
            for family, kind in [("chord_calls_total", "counter"),
                                 ("chord_call_faults_total", "counter"),
                                 ("chord_call_duration_seconds", "histogram"),
                                 ("chord_server_connections_open", "gauge"),
                                 ("chord_server_connections_accepted_total", "counter"),
                                 ("chord_ring_successor", "gauge"),
                                 ("chord_ring_predecessor", "gauge"),
                                 ("chord_dht_keys_owned", "gauge"),
                                 ("chord_dht_keys_replicated", "gauge"),
                                 ("chord_dht_repair_steps_total", "counter"),
                                 ("chord_dht_records_sent_total", "counter"),
                                 ("chord_dht_records_received_total", "counter")]:
                check(families.get(family, {}).get("type") == kind,
                      "%s: %s missing or not a %s" % (address, family, kind))
            other = addresses[1 - addresses.index(address)]
            check(value(families, "chord_ring_successor", position="0", address=other) == 1,
                  "%s: successor 0 is not %s" % (address, other))
            check(value(families, "chord_ring_predecessor", address=other) == 1,
                  "%s: predecessor is not %s" % (address, other))
            owned = value(families, "chord_dht_keys_owned") or 0
            replicated = value(families, "chord_dht_keys_replicated") or 0
            check(owned + replicated == 20, "%s: owns %s and replicates %s of 20 keys" %
                  (address, owned, replicated))
            check((value(families, "chord_dht_repair_steps_total") or 0) >= 1,
                  "%s: no repair step counted" % address)
            check((value(families, "chord_calls_total", command="dht.set") or 0) >= 10,
                  "%s: dht.set calls not counted" % address)
        status, _, body, _ = get_metrics(addresses[0])
        families = parse(body, check)
        check(value(families, "chord_call_faults_total", command="dht.get",
                    code="bad_argument") == 1, "the bad dht.get was not counted as a fault")
        check((value(families, "chord_call_duration_seconds",
                           "chord_call_duration_seconds_count", command="dht.get") or 0) >= 1,
              "dht.get has no latency histogram")
        check(_answers(proxies[0]), "XML-RPC stopped working after /metrics")
    finally:
        for process in nodes:
            process.send_signal(signal.SIGTERM)
        for process in nodes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 0 if results["failed"] == 0 else 1


def _answers(proxy):
    try:
        proxy.chord.ping()
        return True
    except (OSError, xmlrpc.client.Error):
        return False


def _ring_of_two(proxies):
    try:
        infos = [p.chord.info() for p in proxies]
    except (OSError, xmlrpc.client.Error):
        return False
    return all(i.get("predecessor") and i.get("successors") for i in infos) and \
        infos[0]["successors"][0]["address"] != infos[0]["address"]


def _repair_steps(address):
    try:
        families = parse(get_metrics(address)[2], lambda ok, message: ok)
    except OSError:
        return 0
    return value(families, "chord_dht_repair_steps_total") or 0


def _total_keys(proxies):
    try:
        return sum(p.dht.stats()["owned"] + p.dht.stats()["replicas"] for p in proxies)
    except (OSError, xmlrpc.client.Error, KeyError):
        return 0


if __name__ == "__main__":
    sys.exit(main())
