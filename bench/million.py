#!/usr/bin/env python3
"""A million keys (issue 11): the whole scenario on a local ring, with figures.

  bench/million.py [--keys 1000000] [--build build] [--memory] [--skip-join] ...

Steps, each with a bounded wait, each printing its figures:
  1. a data file of KEYS lines key<TAB>value (VALUE_BYTES random letters);
  2. `create_chord 8 --data-dir ROOT` (or the memory engine with --memory);
  3. `chord load DATAFILE`: keys/s;
  4. a sample of 10,000 keys read through random nodes (dht.get);
  5. three copies of every key (the sum of owned + replicas over the nodes, dht.stats), then
     the idle CPU of the whole ring for IDLE_S seconds, resident memory per node and per key;
  6. kill -9 of one node: the time until three copies of every key exist again among the
     others, the records received meanwhile (from /metrics) against the node's share; then the
     node restarted on its directory: its rejoin, and a sample of its keys read through it;
  7. (data dir only) all 8 stopped and started again from their directories: every key of the
     ring dumped (`chord dump`) and counted against KEYS;
  8. a ninth node joins the loaded ring: records moved, its share against K/N, and gets of
     random keys during the move (all must be answered).
Every process started here is stopped, and every directory removed, on any exit.
"""
import argparse
import atexit
import os
import random
import re
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client

from ports import free_base_port  # bench/ports.py, beside this script

PROCS = []  # every Popen started here, stopped at exit
WORK = None
T0 = time.time()


def log(text):
    print(f"[{time.time() - T0:7.1f}s] {text}", flush=True)


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    if WORK and os.path.isdir(WORK):
        shutil.rmtree(WORK, ignore_errors=True)


def on_signal(number, _frame):
    cleanup()
    sys.exit(128 + number)


def start(args, **kw):
    # Own process group: one kill reaches the launcher and the nodes it started.
    p = subprocess.Popen(args, start_new_session=True, **kw)
    PROCS.append(p)
    return p


def proxy(address, timeout=30):
    class T(xmlrpc.client.Transport):
        def make_connection(self, host):
            c = super().make_connection(host)
            c.timeout = timeout
            return c
    return xmlrpc.client.ServerProxy(f"http://{address}/RPC2", transport=T(), allow_none=True)


def wait_until(what, predicate, limit_s, step_s=0.5):
    """Waits up to limit_s for predicate() to be true; returns seconds taken or None."""
    start_t = time.time()
    while time.time() - start_t < limit_s:
        try:
            if predicate():
                return time.time() - start_t
        except (OSError, xmlrpc.client.Error):
            pass
        time.sleep(step_s)
    log(f"gave up after {limit_s} s waiting for {what}")
    return None


def gen_data(path, keys, value_bytes):
    r = random.Random(11)
    letters = string.ascii_letters + string.digits
    with open(path, "w") as f:
        for i in range(keys):
            f.write("key-%07d\t%s\n" % (i, "".join(r.choices(letters, k=value_bytes))))


def ring_file_members(path):
    return [l.strip() for l in open(path) if l.strip()]


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def node_address(pid):
    args = open(f"/proc/{pid}/cmdline").read().split("\0")
    for i, a in enumerate(args):
        if a == "--port" and i + 1 < len(args):
            return f"127.0.0.1:{args[i + 1]}"
    return None


def cpu_ticks(pids):
    total = 0
    for p in pids:
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            total += int(f[11]) + int(f[12])
        except OSError:
            pass
    return total


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stats(addresses):
    out = {}
    for a in addresses:
        try:
            out[a] = proxy(a, 10).dht.stats()
        except (OSError, xmlrpc.client.Error):
            out[a] = None
    return out


def copies(addresses):
    return sum(s["owned"] + s["replicas"] for s in stats(addresses).values() if s)


def metric(address, name):
    import urllib.request
    try:
        text = urllib.request.urlopen(f"http://{address}/metrics", timeout=10).read().decode()
    except OSError:
        return 0
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else 0


def received(addresses):
    return sum(metric(a, "chord_dht_records_received_total") for a in addresses)


def sample_gets(addresses, keys, values, count, threads=8):
    """Reads `count` random keys of `keys` through random nodes; returns (ok, failed, s)."""
    rnd = random.Random(5)
    chosen = [rnd.choice(keys) for _ in range(count)]
    ok = [0] * threads
    start_t = time.time()

    def work(t):
        proxies = [proxy(a, 10) for a in addresses]
        r = random.Random(t)
        for k in chosen[t::threads]:
            try:
                reply = r.choice(proxies).dht.get(k)
                if reply.get("found") and (values is None or reply.get("value") == values[k]):
                    ok[t] += 1
            except (OSError, xmlrpc.client.Error):
                pass
    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    return sum(ok), count - sum(ok), time.time() - start_t


def start_ring(a, root, ring_file, extra=()):
    # Fixed ports (node i on BASE+i), so that each node's address shows in its command line and
    # a ring started again from its directories comes back on the same ones.
    if not getattr(a, "base_port", None):
        a.base_port = free_base_port(a.nodes + 2)
    args = [f"{a.build}/tools/create_chord", str(a.nodes), "--no-shell", "--ring-file", ring_file,
            "--base-port", str(a.base_port),
            "--log-level", "warning", "--node-binary", f"{a.build}/tools/chord-node",
            "--startup-timeout-s", "120", *extra]
    if root:
        args += ["--data-dir", root]
    launcher = start(args, stdout=subprocess.DEVNULL, stderr=open(f"{WORK}/create_chord.log", "a"),
                     stdin=subprocess.DEVNULL)
    if wait_until("the ring file", lambda: os.path.exists(ring_file) and
                  len(ring_file_members(ring_file)) == a.nodes, 180) is None:
        raise SystemExit("the ring did not start")
    pids = {node_address(p): p for p in children(launcher.pid)}
    if len(pids) != a.nodes:
        raise SystemExit(f"found {len(pids)} node processes, not {a.nodes}")
    return launcher, pids


def stop_ring(launcher):
    launcher.send_signal(signal.SIGTERM)
    try:
        launcher.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait(timeout=10)


def main():
    global WORK
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--keys", type=int, default=1000000)
    p.add_argument("--value-bytes", type=int, default=100)
    p.add_argument("--nodes", type=int, default=8)
    p.add_argument("--build", default="build")
    p.add_argument("--memory", action="store_true", help="nodes without --data-dir")
    p.add_argument("--sample", type=int, default=10000)
    p.add_argument("--idle-s", type=int, default=20)
    p.add_argument("--load-timeout-s", type=int, default=1800)
    p.add_argument("--repair-wait-s", type=int, default=300)
    p.add_argument("--call-timeout-ms", type=int, default=30000)
    p.add_argument("--skip", default="", help="comma-separated steps to skip: kill,restart,join")
    p.add_argument("--work", default=None, help="directory for the temporary files (default: /tmp)")
    a = p.parse_args()
    a.build = os.path.realpath(a.build)
    skip = set(filter(None, a.skip.split(",")))
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    WORK = tempfile.mkdtemp(prefix="million-", dir=a.work)
    log(f"machine load: {open('/proc/loadavg').read().strip()}")

    data = f"{WORK}/data.tsv"
    gen_data(data, a.keys, a.value_bytes)
    keys = [f"key-{i:07d}" for i in range(a.keys)]
    values = {}
    with open(data) as f:
        for line in f:
            k, v = line.rstrip("\n").split("\t", 1)
            values[k] = v
    log(f"data: {a.keys} keys, {os.path.getsize(data) / 2**20:.1f} MiB")

    root = None if a.memory else f"{WORK}/ring"
    ring_file = f"{WORK}/ring.txt"
    launcher, pids = start_ring(a, root, ring_file)
    members = ring_file_members(ring_file)
    log(f"ring of {len(members)} nodes ({'memory' if a.memory else 'data dir ' + root})")

    chord = [f"{a.build}/tools/chord", "--ring", ring_file, "--call-timeout-ms",
             str(a.call_timeout_ms)]
    t = time.time()
    c0 = os.times()
    ring0 = cpu_ticks(pids.values())
    load = subprocess.run(chord + ["load", data], capture_output=True, text=True,
                          timeout=a.load_timeout_s)
    c1 = os.times()
    load_s = time.time() - t
    ring_cpu = (cpu_ticks(pids.values()) - ring0) / os.sysconf("SC_CLK_TCK")
    log(f"load: {load.stdout.strip()} {load.stderr.strip()[-300:]}")
    log(f"load: {a.keys} keys in {load_s:.1f} s = {a.keys / load_s:.0f} keys/s (exit {load.returncode}); "
        f"ring CPU {ring_cpu:.1f} s ({ring_cpu * 1e6 / a.keys:.0f} us/key), "
        f"client CPU {c1.children_user + c1.children_system - c0.children_user - c0.children_system:.1f} s; "
        f"load avg {open('/proc/loadavg').read().split()[0]}")

    misses = sum(metric(m, "chord_dht_replica_misses_total") for m in members)
    log(f"load: {misses:.0f} copies to replicas missed (repair restores them)")
    ok, failed, s = sample_gets(members, keys, values, a.sample)
    log(f"sample: {ok} of {a.sample} read with the right value through random nodes ({s:.1f} s)")

    need = 3 * a.keys
    took = wait_until("three copies of every key", lambda: copies(members) >= need, a.repair_wait_s, 2)
    log(f"copies: {copies(members)} of {need} after {took if took is not None else 'timeout'} s more")
    tick = os.sysconf("SC_CLK_TCK")
    i0 = cpu_ticks(pids.values())
    time.sleep(a.idle_s)
    idle = (cpu_ticks(pids.values()) - i0) / tick / a.idle_s
    rss = {addr: rss_kib(pid) for addr, pid in pids.items()}
    total_rss = sum(rss.values())
    log(f"idle: {idle:.3f} cores for the ring over {a.idle_s} s; load avg "
        f"{open('/proc/loadavg').read().split()[0]}")
    log(f"memory: {total_rss / 1024:.0f} MiB resident in all, per node "
        + ", ".join(f"{v / 1024:.0f}" for v in rss.values())
        + f" MiB; {total_rss * 1024 / a.keys:.0f} bytes per key (all copies)")

    if "kill" not in skip:
        victim = members[3]
        share = stats([victim])[victim]
        share_n = share["owned"] + share["replicas"] if share else 0
        cmdline = open(f"/proc/{pids[victim]}/cmdline").read().split("\0")[:-1]
        others = [m for m in members if m != victim]
        r0 = received(others)
        os.kill(pids[victim], signal.SIGKILL)
        t = time.time()
        # Each poll asks 7 nodes for dht.stats, a scan of their records: not too often.
        took = wait_until("three copies among the others", lambda: copies(others) >= need,
                          a.repair_wait_s, 3)
        moved = received(others) - r0
        record_bytes = 12 + a.value_bytes
        log(f"kill -9 {victim}: three copies again after "
            f"{'%.1f s' % took if took is not None else 'not within %d s' % a.repair_wait_s}"
            f" ({copies(others)} of {need}); records received {moved:.0f} "
            f"(~{moved * record_bytes / 2**20:.1f} MiB of keys+values) vs its share {share_n}")
        if "restart" not in skip:
            node = start(cmdline, stdout=subprocess.DEVNULL,
                         stderr=open(f"{WORK}/restarted.log", "w"), stdin=subprocess.DEVNULL)
            pids[victim] = node.pid
            took = wait_until("the restarted node to rejoin",
                              lambda: proxy(victim, 5).chord.info()["joined"], 60)
            log(f"restart: {victim} rejoined after {took} s")
            mine = [k for k in random.Random(3).sample(keys, min(len(keys), 20000))]
            took = wait_until("its keys back", lambda: copies(members) >= need, a.repair_wait_s, 3)
            ok, failed, s = sample_gets([victim], mine, values, 2000)
            st = stats([victim])[victim]
            log(f"restart: copies {copies(members)} of {need} after {took} s; it holds "
                f"{st['owned'] if st else '?'} owned + {st['replicas'] if st else '?'} replicas; "
                f"{ok} of 2000 random keys read through it")

    if root and "restart" not in skip:
        # Every node was started by the launcher except a restarted one: stop it too.
        for pr in PROCS:
            if pr is not launcher and pr.poll() is None:
                pr.send_signal(signal.SIGUSR1)
                pr.wait(timeout=30)
        stop_ring(launcher)
        os.remove(ring_file)
        t = time.time()
        launcher, pids = start_ring(a, root, ring_file)
        members = ring_file_members(ring_file)
        log(f"stop all, start again: ring up after {time.time() - t:.1f} s")
        out = f"{WORK}/dump.tsv"
        took = wait_until("every key in a dump", lambda: dump_count(chord, out) >= a.keys, 120, 2)
        n, distinct, right = dump_check(out, values)
        log(f"after the restart of all: dump has {n} lines, {distinct} distinct keys, "
            f"{right} of {a.keys} with the loaded value")

    if "join" not in skip:
        join_test(a, root, members, keys, pids)
    log("done")


def dump_count(chord, out):
    with open(out, "w") as f:
        r = subprocess.run(chord + ["dump"], stdout=f, stderr=subprocess.PIPE, text=True, timeout=600)
    n = sum(1 for _ in open(out))
    log(f"dump: {n} lines ({r.stderr.strip()})")
    return n


def dump_check(out, values):
    seen = {}
    n = 0
    for line in open(out):
        n += 1
        k, v = line.rstrip("\n").split("\t", 1)
        seen[k] = v
    right = sum(1 for k, v in seen.items() if values.get(k) == v)
    return n, len(seen), right


def join_test(a, root, members, keys, pids):
    r0 = received(members)
    args = [f"{a.build}/tools/chord-node", "--join", members[0], "--bind", "127.0.0.1",
            "--port", str(a.base_port + a.nodes), "--log-level", "warning"]
    if root:
        args += ["--data-dir", f"{root}/node-joined"]
    stop = threading.Event()
    answered = [0, 0]  # ok, failed

    def reader():
        proxies = [proxy(m, 10) for m in members]
        r = random.Random(9)
        while not stop.is_set():
            try:
                reply = r.choice(proxies).dht.get(r.choice(keys))
                answered[0 if reply.get("found") else 1] += 1
            except (OSError, xmlrpc.client.Error):
                answered[1] += 1
    readers = [threading.Thread(target=reader) for _ in range(4)]
    [t.start() for t in readers]
    t = time.time()
    node = start(args, stdout=subprocess.DEVNULL, stderr=open(f"{WORK}/joined.log", "w"),
                 stdin=subprocess.DEVNULL)
    addr = None

    def joined():
        nonlocal addr
        for m in members:
            info = proxy(m, 5).chord.info()
            if info["predecessor"] and info["predecessor"]["address"] not in members:
                addr = info["predecessor"]["address"]
                return True
        return False
    wait_until("the newcomer to be some node's predecessor", joined, 60)
    everyone = members + ([addr] if addr else [])
    need = 3 * a.keys
    share = a.keys / len(everyone)

    def settled():
        st = stats([addr])[addr] if addr else None
        return st and st["settled"] and copies(everyone) >= need
    took = wait_until("the join to settle", settled, a.repair_wait_s, 1)
    time.sleep(5)  # a few more repair rounds, for hand-overs
    stop.set()
    [t.join(timeout=30) for t in readers]
    st = stats([addr])[addr] if addr else None
    moved = received(everyone) - r0
    held = st["owned"] + st["replicas"] if st else 0
    log(f"join: settled after {took} s; newcomer owns {st['owned'] if st else '?'} "
        f"(K/N = {share:.0f}; its id decides its share), holds {st['replicas'] if st else '?'} "
        f"replicas; records received in the ring {moved:.0f} = {moved / share:.2f} x K/N = "
        f"{moved / max(held, 1):.2f} x what the newcomer holds; gets during the move: "
        f"{answered[0]} found, {answered[1]} failed or not found")


if __name__ == "__main__":
    main()
