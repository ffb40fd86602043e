#!/usr/bin/env bash
# The read fence's cost (issue 19), measured A/B in one run on one 3-replica volume: the same three
# node processes and data, restarted alternately with the fence off (-Dballast.unsafe.readFence=off,
# the behaviour before the fence) and on, two passes each. Workloads through fio's nbd engine:
# 4k randread QD32 (IOPS) and 4k randread QD1 (latency), after a warm-up.
# Prints a Markdown table; pass --out FILE to also write it there. Deletes its folder at the end.
#
# Usage: tests/bench/read-fence-bench.sh [--size 1G] [--runtime 15] [--dir /path/on/disk] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=1G RUNTIME=15 DIR="$PWD/target/fence-bench" OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2;;
    --runtime) RUNTIME="$2"; shift 2;;
    --dir) DIR="$2"; shift 2;;
    --out) OUT="$2"; shift 2;;
    -h|--help) sed -n '2,8p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2;;
  esac
done
for tool in fio python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install fio python3)" >&2; exit 2; }
done

rm -rf "$DIR"; mkdir -p "$DIR/results"
PIDS=()
stop_nodes() { [ ${#PIDS[@]} -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null || true; PIDS=(); }
cleanup() { stop_nodes; rm -rf "$DIR/n1" "$DIR/n2" "$DIR/n3"; }
trap cleanup EXIT

start_nodes() { # fence mode: on|off
  for i in 1 2 3; do
    BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC -Dballast.unsafe.readFence=$1" bin/ballast node \
      --data-dir "$DIR/n$i" --node-id "n$i" --cluster-id fencebench --nbd-socket "$DIR/n$i.sock" \
      --raft-listen "127.0.0.1:1820$i" --admin-listen "127.0.0.1:1810$i" >> "$DIR/n$i.log" 2>&1 & PIDS+=($!)
  done
  for i in 1 2 3; do
    for _ in $(seq 600); do [ "$(grep -c "ballast node ready" "$DIR/n$i.log")" -ge "$2" ] && break; sleep 0.1; done
  done
}

URI="nbd+unix:///r3?socket=$DIR/n1.sock"
run_fio() { # name args...
  local name="$1"; shift
  fio --name="$name" --ioengine=nbd --uri="$URI" --size="$SIZE" --runtime="$RUNTIME" --time_based --ramp_time=2 \
      --randrepeat=0 --norandommap --group_reporting --output-format=json --output="$DIR/results/$name.json" "$@" >/dev/null
}

echo "creating and filling r3 ($SIZE, 3 replicas)" >&2
start_nodes off 1
bin/ballast volume create --admin 127.0.0.1:18101 --name r3 --size "$SIZE" \
  --replica n1=127.0.0.1:18201 --replica n2=127.0.0.1:18202 --replica n3=127.0.0.1:18203 >&2
bin/ballast volume attach --admin 127.0.0.1:18101 --name r3 >&2
fio --name=fill --ioengine=nbd --uri="$URI" --size="$SIZE" --rw=write --bs=1m --iodepth=8 >/dev/null
stop_nodes

starts=1
for pass in 1 2; do
  for mode in off on; do
    starts=$((starts + 1))
    echo "  pass $pass, fence $mode" >&2
    start_nodes "$mode" "$starts"
    bin/ballast volume attach --admin 127.0.0.1:18101 --name r3 >/dev/null
    fio --name=warm --ioengine=nbd --uri="$URI" --size="$SIZE" --runtime=8 --time_based --rw=randread --bs=4k \
        --iodepth=32 --randrepeat=0 --norandommap >/dev/null
    run_fio "$mode-$pass-randread-qd32" --rw=randread --bs=4k --iodepth=32
    run_fio "$mode-$pass-randread-qd1" --rw=randread --bs=4k --iodepth=1
    stop_nodes
  done
done

python3 - "$DIR/results" "$SIZE" "$RUNTIME" > "$DIR/table.md" <<'PY'
import json, sys, os
res, size, runtime = sys.argv[1:4]
def load(name):
    r = json.load(open(os.path.join(res, name + ".json")))["jobs"][0]["read"]
    pct = r["clat_ns"]["percentile"]
    return r["iops"], pct.get("50.000000", 0) / 1000, pct.get("99.000000", 0) / 1000
print("| pass | fence | 4k randread QD32 | 4k randread QD1 | QD1 p50 | QD1 p99 |")
print("|---|---|---|---|---|---|")
for p in (1, 2):
    for m in ("off", "on"):
        q32, q1 = load(f"{m}-{p}-randread-qd32"), load(f"{m}-{p}-randread-qd1")
        print(f"| {p} | {m} | {q32[0]/1000:.1f}k IOPS | {q1[0]/1000:.2f}k IOPS | {q1[1]:.0f} µs | {q1[2]:.0f} µs |")
for p in (1, 2):
    off32, on32 = load(f"off-{p}-randread-qd32"), load(f"on-{p}-randread-qd32")
    off1, on1 = load(f"off-{p}-randread-qd1"), load(f"on-{p}-randread-qd1")
    print(f"\npass {p}: on/off QD32 IOPS {on32[0]/off32[0]:.2f}x, QD1 p50 {on1[1]/off1[1]:.2f}x", end="")
print(f"\n\n3 replicas on one disk, size {size}, {runtime} s per workload after a 2 s ramp and an 8 s warm-up, {os.cpu_count()} cores")
PY
cat "$DIR/table.md"
[ -n "$OUT" ] && cp "$DIR/table.md" "$OUT"
exit 0
