#!/usr/bin/env python3
"""chord-bench --json against a 3-node ring started by create_chord.

Usage: bench_test.py PATH/TO/create_chord PATH/TO/chord-node PATH/TO/chord-bench
Checks --version, that stdout is one JSON object holding the five phases in order with every
figure, that no operation failed, and that the ceiling (chord.ping on one node) comes out at 1.00
RPCs per operation once the snapshot calls and the ring's own traffic are taken off. That traffic
is estimated from idle windows, not counted, so 1.00 is checked within 0.05, or within three
times the spread of the background calls expected in the phase when the machine is so loaded
that the phase lasts long. Every process started is stopped. Exits 0 on success; prints
'N passed, N failed'.
"""
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# Slow maintenance and no repair during the test: little background traffic for chord-bench to
# estimate and take off (a few calls per second); 3 nodes still settle in a few seconds.
RING = ["--stabilize-ms", "2000", "--fix-fingers-ms", "5000", "--check-predecessor-ms", "5000",
        "--repair-ms", "600000", "--log-level", "error"]
BENCH = ["--ops", "50", "--threads", "2", "--warmup", "20", "--idle-ms", "500", "--json"]


def wait_for_ring(ring_file, launcher, count, limit_s):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and launcher.poll() is None:
        if os.path.exists(ring_file):
            with open(ring_file) as f:
                if len([line for line in f if line.strip()]) == count:
                    return True
        time.sleep(0.1)  # polling for the launcher's ring file, with a deadline
    return False


def check_report(report, check):
    phases = report.get("phases", [])
    check([p.get("phase") for p in phases] == ["ceiling", "spread", "lookup", "set", "get"],
          "phases in order: %r" % [p.get("phase") for p in phases])
    check(report.get("nodes") == 3 and report.get("ops") == 50 and report.get("threads") == 2,
          "run parameters: %r" % {k: v for k, v in report.items() if k != "phases"})
    for p in phases:
        check(p.get("ops") == 50 and p.get("failures") == 0,
              "%s: %s ops, %s failures (%s)" % (p.get("phase"), p.get("ops"), p.get("failures"),
                                                 p.get("first_error")))
        for field in ("ops_per_s", "p50_ms", "p99_ms", "p999_ms", "rpc_per_op", "efficiency",
                      "connections_per_1k_calls", "threads_per_1k_calls"):
            check(isinstance(p.get(field), (int, float)), "%s: %s is %r" %
                  (p.get("phase"), field, p.get(field)))
    if len(phases) == 4:
        ceiling = phases[0].get("rpc_per_op") or 0
        expected = (phases[0].get("background_calls_per_s") or 0) * phases[0].get("seconds", 0)
        tolerance = max(0.05, 3 * math.sqrt(expected) / 50)
        check(abs(ceiling - 1.0) <= tolerance,
              "ceiling rpc/op is %r, not 1.00 (within %.3f)" % (ceiling, tolerance))
        check(phases[0].get("mean_hops") is None, "the ceiling has no hops")
        lookup = phases[1].get("rpc_per_op") or 0
        check(lookup >= 0.95, "lookup rpc/op is %r, below 1" % lookup)


def main():
    create_chord, node, bench = sys.argv[1:4]
    results = {"passed": 0, "failed": 0}

    def check(ok, message):
        results["passed" if ok else "failed"] += 1
        if not ok:
            print("FAIL:", message)

    version = subprocess.run([bench, "--version"], capture_output=True, text=True, timeout=30)
    check(version.returncode == 0 and version.stdout.startswith("chord-bench "),
          "--version printed %r" % version.stdout)
    directory = tempfile.mkdtemp(prefix="chord_bench_test.")
    ring_file = os.path.join(directory, "ring.txt")
    log = open(os.path.join(directory, "create_chord.log"), "w")
    launcher = subprocess.Popen(
        [create_chord, "3", "--no-shell", "--ring-file", ring_file, "--node-binary", node] + RING,
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        ready = wait_for_ring(ring_file, launcher, 3, 90)
        check(ready, "the ring did not come up")
        if ready:
            run = subprocess.run([bench, "--ring", ring_file] + BENCH, capture_output=True,
                                 text=True, timeout=120)
            check(run.returncode == 0, "chord-bench exited %d: %s" % (run.returncode, run.stderr))
            try:
                check_report(json.loads(run.stdout), check)
            except ValueError as e:
                check(False, "stdout is not one JSON object (%s): %r" % (e, run.stdout))
    finally:
        launcher.send_signal(signal.SIGTERM)  # the launcher stops its nodes
        try:
            launcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            launcher.kill()  # its nodes get SIGTERM when it dies
            launcher.wait()
        log.close()
        if results["failed"]:
            with open(os.path.join(directory, "create_chord.log")) as f:
                print(f.read()[-2000:])
        shutil.rmtree(directory, ignore_errors=True)
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 0 if results["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
