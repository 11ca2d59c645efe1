#!/bin/bash
# Idle CPU of a ring: starts `create_chord 8`, writes KEYS keys of 200 bytes (8 Python
# clients, dht.set), waits 15 s for repair to settle, then reports the CPU (user + system) all
# 8 nodes used in 20 s with no client talking to them, and their total resident memory.
# usage: bench/idle_cpu.sh KEYS [BUILD_DIR]   (docs/PERFORMANCE.md)
set -u
B=$(realpath "${2:-build}")
WORK=$(mktemp -d)
cd "$WORK"
$B/tools/create_chord 8 --ring-file "$WORK/ring.txt" --no-shell < /dev/null > out.txt 2>&1 &
CC=$!
sleep 8
python3 - "$1" <<'PY'
import sys, xmlrpc.client, threading, random
nodes=[l.strip() for l in open('ring.txt') if l.strip()]
n=int(sys.argv[1]); val='v'*200
def work(t):
    p=[xmlrpc.client.ServerProxy('http://'+a+'/RPC2') for a in nodes]
    for i in range(t, n, 8):
        p[i%len(p)].dht.set('key%d'%i, val)
ts=[threading.Thread(target=work,args=(t,)) for t in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
print('loaded', n)
PY
sleep 15
pids=$(pgrep -P $CC | tr "\n" " ")
tick=$(getconf CLK_TCK)
sum() { local t=0; for p in $pids; do t=$((t+$(awk '{print $14+$15}' /proc/$p/stat))); done; echo $t; }
t0=$(sum); sleep 20; t1=$(sum)
echo "keys $1 idle cores: $(echo "($t1-$t0)/$tick/20" | bc -l)"
for p in $pids; do grep VmRSS /proc/$p/status; done | awk '{s+=$2} END {print "RSS total MiB", s/1024}'
kill $CC; sleep 3; for p in $pids; do kill $p 2>/dev/null; done
cd / && rm -rf "$WORK"; true
