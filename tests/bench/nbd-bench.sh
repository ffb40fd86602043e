#!/usr/bin/env bash
# Benchmarks Ballast's NBD path side by side with two references, in one run, on one disk:
#   A  fio directly on a file (libaio, direct=1): the physical limit
#   B  nbdkit's file plugin exporting a file, driven by fio's nbd engine: same protocol, no Ballast
#   C  Ballast (`ballast node`, one local replica), driven by fio's nbd engine
# Workloads: 1M seqwrite QD8 (also fills the file), 4k randwrite QD32, 4k randread QD32,
# 4k write QD1 with fsync after every write (NBD FLUSH).
# Prints a Markdown table with ratios; pass --out FILE to also write it there.
#
# With --replicated, also:
#   R1 Ballast with Raft, 1 replica     R3 Ballast with Raft, 3 replicas (3 node processes, one disk)
#
# Usage: tests/bench/nbd-bench.sh [--size 2G] [--runtime 20] [--dir /path/on/disk] [--out FILE] [--replicated]
# BENCH_NODE_OPTS adds JVM options to every Ballast node, e.g. -Draft.server.log.append-entries.compose.enabled=true
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=2G RUNTIME=20 DIR="$PWD/target/bench" OUT="" REPLICATED=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2;;
    --runtime) RUNTIME="$2"; shift 2;;
    --dir) DIR="$2"; shift 2;;
    --out) OUT="$2"; shift 2;;
    --replicated) REPLICATED=1; shift;;
    -h|--help) sed -n '2,14p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2;;
  esac
done
for tool in fio nbdkit python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install fio nbdkit python3)" >&2; exit 2; }
done

rm -rf "$DIR"; mkdir -p "$DIR/results"
RAFT_PIDS=()
cleanup() {
  # `|| true`: under set -e a failed kill (the process already gone) ended the trap here, leaving
  # the images behind and the script's status 1.
  [ -n "${NBDKIT_PID:-}" ] && kill "$NBDKIT_PID" 2>/dev/null || true
  [ -n "${NODE_PID:-}" ] && kill "$NODE_PID" 2>/dev/null || true
  [ ${#RAFT_PIDS[@]} -gt 0 ] && kill "${RAFT_PIDS[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  # The images and the nodes' data (several GiB): gone, also after a failure; fio's results stay.
  find "$DIR" -mindepth 1 -maxdepth 1 ! -name results -exec rm -rf {} + 2>/dev/null || true
}
trap cleanup EXIT

# name:fio-args
WORKLOADS=(
  "seqwrite-1m-qd8:--rw=write --bs=1m --iodepth=8"
  "randwrite-4k-qd32:--rw=randwrite --bs=4k --iodepth=32"
  "randread-4k-qd32:--rw=randread --bs=4k --iodepth=32"
  "write-4k-qd1-fsync:--rw=randwrite --bs=4k --iodepth=1 --fsync=1"
)

run_fio() { # target workload-name args...
  local target="$1" wl="$2"; shift 2
  fio --name="$wl" --size="$SIZE" --runtime="$RUNTIME" --time_based --ramp_time=2 \
      --randrepeat=0 --norandommap --group_reporting --output-format=json \
      --output="$DIR/results/$target-$wl.json" "$@" >/dev/null
}

echo "starting B (nbdkit file) and C (ballast node)" >&2
fallocate -l "$SIZE" "$DIR/a.img"
truncate -s "$SIZE" "$DIR/b.img"
nbdkit --foreground --exit-with-parent -U "$DIR/b.sock" file "$DIR/b.img" & NBDKIT_PID=$!
BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC ${BENCH_NODE_OPTS:-}" bin/ballast node \
  --data-dir "$DIR/c-data" --nbd-socket "$DIR/c.sock" --volume "bench:$SIZE" > "$DIR/c-node.log" 2>&1 & NODE_PID=$!
for _ in $(seq 300); do [ -S "$DIR/b.sock" ] && grep -q "ballast node ready" "$DIR/c-node.log" && break; sleep 0.1; done
grep -q "ballast node ready" "$DIR/c-node.log" || { cat "$DIR/c-node.log" >&2; exit 1; }

TARGETS="A B C"
if [ -n "$REPLICATED" ]; then
  TARGETS="A B C R1 R3"
  for i in 1 2 3; do
    BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC ${BENCH_NODE_OPTS:-}" bin/ballast node --data-dir "$DIR/r-n$i" --node-id "n$i" \
      --cluster-id bench --nbd-socket "$DIR/r$i.sock" --raft-listen "127.0.0.1:1710$i" \
      --admin-listen "127.0.0.1:1700$i" > "$DIR/r-n$i.log" 2>&1 & RAFT_PIDS+=($!)
  done
  for i in 1 2 3; do
    for _ in $(seq 300); do grep -q "ballast node ready" "$DIR/r-n$i.log" && break; sleep 0.1; done
  done
  bin/ballast volume create --admin 127.0.0.1:17001 --name r1 --size "$SIZE" --replica n1=127.0.0.1:17101 >&2
  bin/ballast volume create --admin 127.0.0.1:17001 --name r3 --size "$SIZE" \
    --replica n1=127.0.0.1:17101 --replica n2=127.0.0.1:17102 --replica n3=127.0.0.1:17103 >&2
  bin/ballast volume attach --admin 127.0.0.1:17001 --name r1 >&2
  bin/ballast volume attach --admin 127.0.0.1:17001 --name r3 >&2
fi

# Warm-up, not recorded: the JVMs' JIT compiles the hot paths during the first ~10-20 s of load
# (C2 took a third of a node's CPU in the first minute on 2 cores), which would otherwise be
# billed to whichever workload runs first.
echo "  warm-up (not recorded)" >&2
warm() { fio --name=warm --size="$SIZE" --runtime="$1" --time_based --randrepeat=0 --norandommap \
  --ioengine=nbd --uri="$2" --rw=randwrite --bs=64k --iodepth=16 >/dev/null; }
warm 10 "nbd+unix:///bench?socket=$DIR/c.sock"
if [ -n "$REPLICATED" ]; then
  warm 10 "nbd+unix:///r1?socket=$DIR/r1.sock"
  warm 15 "nbd+unix:///r3?socket=$DIR/r1.sock"
fi

# Workloads in the outer loop, targets in the inner one: A, B and C of one workload run back to
# back, so background load drifting during the run hits all three alike.
for entry in "${WORKLOADS[@]}"; do
  wl="${entry%%:*}" args="${entry#*:}"
  echo "  $wl: A B C" >&2
  # shellcheck disable=SC2086
  run_fio A "$wl" --ioengine=libaio --direct=1 --filename="$DIR/a.img" $args
  # shellcheck disable=SC2086
  run_fio B "$wl" --ioengine=nbd --uri="nbd+unix:///?socket=$DIR/b.sock" $args
  # shellcheck disable=SC2086
  run_fio C "$wl" --ioengine=nbd --uri="nbd+unix:///bench?socket=$DIR/c.sock" $args
  if [ -n "$REPLICATED" ]; then
    # shellcheck disable=SC2086
    run_fio R1 "$wl" --ioengine=nbd --uri="nbd+unix:///r1?socket=$DIR/r1.sock" $args
    # shellcheck disable=SC2086
    run_fio R3 "$wl" --ioengine=nbd --uri="nbd+unix:///r3?socket=$DIR/r1.sock" $args
  fi
done
[ ${#RAFT_PIDS[@]} -gt 0 ] && kill "${RAFT_PIDS[@]}"
kill "$NBDKIT_PID" "$NODE_PID"; wait 2>/dev/null || true; NBDKIT_PID="" NODE_PID=""

python3 - "$DIR/results" "$SIZE" "$RUNTIME" $TARGETS > "$DIR/table.md" <<'PY'
import json, sys, os, platform, subprocess
res, size, runtime = sys.argv[1:4]
targets = sys.argv[4:]
wls = ["seqwrite-1m-qd8", "randwrite-4k-qd32", "randread-4k-qd32", "write-4k-qd1-fsync"]
def load(t, w):
    j = json.load(open(os.path.join(res, f"{t}-{w}.json")))["jobs"][0]
    d = j["read"] if w.startswith("randread") else j["write"]
    p50 = d["clat_ns"]["percentile"].get("50.000000", 0) / 1000
    p99 = d["clat_ns"]["percentile"].get("99.000000", 0) / 1000
    return d["iops"], d["bw_bytes"] / 2**20, p50, p99
names = {"A": "A: fio on file", "B": "B: nbdkit file", "C": "C: Ballast local", "R1": "R1: Ballast 1 replica",
         "R3": "R3: Ballast 3 replicas"}
ratios = [t for t in targets if t not in ("A", "B")]
print("| workload | " + " | ".join(names[t] for t in targets) + " | " + " | ".join(f"{t}/B" for t in ratios) + " | C/A |")
print("|---" * (1 + len(targets) + len(ratios) + 1) + "|")
for w in wls:
    r = {t: load(t, w) for t in targets}
    if w.startswith("seq"):
        cell = lambda x: f"{x[1]:.0f} MiB/s"
        metric = 1
    elif "qd1" in w:
        cell = lambda x: f"{x[0]:.0f} IOPS, p50 {x[2]:.0f} µs, p99 {x[3]:.0f} µs"
        metric = 0
    else:
        cell = lambda x: f"{x[0]/1000:.1f}k IOPS"
        metric = 0
    b = r["B"][metric]
    print(f"| {w} | " + " | ".join(cell(r[t]) for t in targets) + " | "
          + " | ".join(f"{r[t][metric]/b:.2f}x" for t in ratios) + f" | {r['C'][metric]/r['A'][metric]:.2f}x |")
print()
print(f"size {size}, {runtime} s per workload after 2 s ramp, {os.cpu_count()} cores, kernel {platform.release()}")
PY
cat "$DIR/table.md"
[ -n "$OUT" ] && cp "$DIR/table.md" "$OUT"
exit 0
