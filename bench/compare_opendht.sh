#!/usr/bin/env bash
# One run, same machine: this project's chord-bench and OpenDHT (Debian python3-opendht, through
# ../shared/peers/opendht_bench.py or $OPENDHT_BENCH) on the same workload shape: N nodes on
# loopback, 100-byte values, 8 concurrent clients, then 1 client for latency.
#
#   bench/compare_opendht.sh [NODES=16] [OPS=4000]
#
# Needs a build in $BUILD_DIR (default ./build). Prints both tools' own lines; docs/PERFORMANCE.md
# explains how to read them.
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${1:-16}
OPS=${2:-4000}
BUILD_DIR=${BUILD_DIR:-build}
OPENDHT_BENCH=${OPENDHT_BENCH:-../shared/peers/opendht_bench.py}
RING_DIR=$(mktemp -d)
LAUNCHER=""
cleanup() {
  if [ -n "$LAUNCHER" ]; then
    kill -INT "$LAUNCHER" 2>/dev/null || true
    wait "$LAUNCHER" 2>/dev/null || true
  fi
  rm -rf "$RING_DIR"
}
trap cleanup EXIT

"$BUILD_DIR/tools/create_chord" "$NODES" --no-shell --ring-file "$RING_DIR/ring.txt" \
  >"$RING_DIR/launcher.log" 2>&1 &
LAUNCHER=$!
for _ in $(seq 1 100); do
  [ -s "$RING_DIR/ring.txt" ] && [ "$(wc -l <"$RING_DIR/ring.txt")" -ge "$NODES" ] && break
  sleep 0.2
done
sleep 5  # let stabilization and finger fixing settle
echo "== chord-bench, $NODES nodes, 8 clients"
"$BUILD_DIR/bench/chord-bench" --ring "$RING_DIR/ring.txt" --threads 8 --ops "$OPS"
echo "== chord-bench, $NODES nodes, 1 client"
"$BUILD_DIR/bench/chord-bench" --ring "$RING_DIR/ring.txt" --threads 1 --ops "$((OPS / 4))"
echo "== idle node memory (after the runs)"
for pid in $(pgrep -P "$LAUNCHER" chord-node | head -3); do
  awk -v pid="$pid" '/^Rss:/{r=$2} /^Pss:/{p=$2} END{printf "chord-node %s: RSS %d KiB, PSS %d KiB\n", pid, r, p}' \
    "/proc/$pid/smaps_rollup"
done
kill -INT "$LAUNCHER"
wait "$LAUNCHER" 2>/dev/null || true
LAUNCHER=""
echo "== OpenDHT, $NODES nodes, window 8"
python3 "$OPENDHT_BENCH" --nodes "$NODES" --keys "$OPS" --window 8
echo "== OpenDHT, $NODES nodes, window 1"
python3 "$OPENDHT_BENCH" --nodes "$NODES" --keys "$((OPS / 4))" --window 1
