#!/usr/bin/env bash
# MB/s of a 100 MB file through chord-fs, against `chord put-file`/`get-file` and a local copy.
#   bench/fs_bench.sh [BUILD_DIR] [SIZE_MB] [extra chord-fs options...]
# Starts a 5-node ring (create_chord), mounts it twice (two entry nodes), and times:
#   local cp                    cp FILE (local disk) to another local file, then sync
#   mount write                 cp FILE into mount 1 (the time includes the close, which stores it)
#   mount read (cold)           cat through mount 2 (nothing cached there)
#   mount read (warm)           cat through mount 2 again (kernel page cache, same version)
#   put-file / get-file         chord put-file / get-file of the same file
# Everything it starts is stopped and unmounted on exit.
set -euo pipefail
BUILD=${1:-build}
MB=${2:-100}
shift $(( $# > 2 ? 2 : $# ))
WORK=$(mktemp -d /tmp/chord_fs_bench.XXXXXX)
RING_PID=""
cleanup() {
  for m in "$WORK/m1" "$WORK/m2"; do mountpoint -q "$m" && fusermount3 -u "$m"; done
  [ -n "$RING_PID" ] && kill "$RING_PID" && wait "$RING_PID" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
"$BUILD/tools/create_chord" 5 --no-shell --ring-file "$WORK/ring.txt" --log-level error \
  >"$WORK/ring.log" 2>&1 &
RING_PID=$!
for _ in $(seq 100); do [ "$(grep -c . "$WORK/ring.txt" 2>/dev/null)" = 5 ] && break; sleep 0.2; done
mkdir "$WORK/m1" "$WORK/m2"
"$BUILD/tools/chord-fs" "$WORK/m1" --ring "$WORK/ring.txt" --node "$(sed -n 1p "$WORK/ring.txt")" "$@"
"$BUILD/tools/chord-fs" "$WORK/m2" --ring "$WORK/ring.txt" --node "$(sed -n 2p "$WORK/ring.txt")" "$@"
head -c "${MB}M" /dev/urandom >"$WORK/file.bin"

rate() {  # label, then the command; prints MB/s
  local label=$1; shift
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  printf '%-22s %6.1f MB/s  (%.2f s)\n' "$label" "$(echo "$MB / ($end - $start)" | bc -l)" \
    "$(echo "$end - $start" | bc -l)"
}
rate "local cp" sh -c "cp '$WORK/file.bin' '$WORK/copy.bin' && sync"
rate "mount write" cp "$WORK/file.bin" "$WORK/m1/file.bin"
rate "mount read (cold)" sh -c "cat '$WORK/m2/file.bin' >/dev/null"
rate "mount read (warm)" sh -c "cat '$WORK/m2/file.bin' >/dev/null"
rate "chord put-file" sh -c "'$BUILD/tools/chord' --ring '$WORK/ring.txt' put-file '$WORK/file.bin' p.bin >/dev/null"
rate "chord get-file" sh -c "'$BUILD/tools/chord' --ring '$WORK/ring.txt' get-file p.bin '$WORK/got.bin' >/dev/null"
cmp "$WORK/file.bin" "$WORK/m2/file.bin" && cmp "$WORK/file.bin" "$WORK/got.bin" && echo "contents verified"
uptime
