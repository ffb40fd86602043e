#!/usr/bin/env bash
# A diskless frontend against a local-replica one, in one run on one 3-replica volume (issue 13):
# four node processes, the volume's replicas on n1-n3; the volume is attached on n1 (a replica
# there, and the leader moves there) and then on n4 (no replica: reads and writes go to the leader),
# alternately, two passes each. fio's nbd engine, after a warm-up per attach. Prints a Markdown
# table; --out FILE also writes it there. Deletes the nodes' data at the end.
# --opts-b "JVM options": a fifth node, n5, with no replica either, started with those options and
# attached in turn after n4 (e.g. "-Dballast.diskless.readsPerQuery=1 -Dballast.diskless.queriesInFlight=64",
# one query per read as before read bursts): a same-run comparison of two diskless settings.
#
# Usage: tests/bench/diskless-bench.sh [--size 1G] [--runtime 15] [--dir DIR] [--out FILE] [--opts-b OPTS]
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=1G RUNTIME=15 DIR="$PWD/target/diskless-bench" OUT="" OPTS_B=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2;;
    --runtime) RUNTIME="$2"; shift 2;;
    --dir) DIR="$2"; shift 2;;
    --out) OUT="$2"; shift 2;;
    --opts-b) OPTS_B="$2"; shift 2;;
    -h|--help) sed -n '2,11p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2;;
  esac
done
command -v fio >/dev/null || { echo "needs fio (apt-get install fio)" >&2; exit 2; }
rm -rf "$DIR"; mkdir -p "$DIR/results"
PIDS=()
cleanup() { [ ${#PIDS[@]} -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$DIR"/n?; }
trap cleanup EXIT

NODES=(1 2 3 4)
[ -n "$OPTS_B" ] && NODES+=(5)
for i in "${NODES[@]}"; do
  extra=""; [ "$i" = 5 ] && extra="$OPTS_B"
  BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC $extra" bin/ballast node --data-dir "$DIR/n$i" --node-id "n$i" \
    --cluster-id dlbench --nbd-socket "$DIR/n$i.sock" --raft-listen "127.0.0.1:1840$i" \
    --admin-listen "127.0.0.1:1830$i" > "$DIR/n$i.log" 2>&1 & PIDS+=($!)
done
for i in "${NODES[@]}"; do
  for _ in $(seq 600); do grep -q "ballast node ready" "$DIR/n$i.log" && break; sleep 0.1; done
done
REPLICAS=(--replica n1=127.0.0.1:18401 --replica n2=127.0.0.1:18402 --replica n3=127.0.0.1:18403)
bin/ballast volume create --admin 127.0.0.1:18301 --name r3 --size "$SIZE" "${REPLICAS[@]}" >&2

WORKLOADS=(
  "randwrite-4k-qd32:--rw=randwrite --bs=4k --iodepth=32"
  "randread-4k-qd32:--rw=randread --bs=4k --iodepth=32"
  "seqwrite-1m-qd8:--rw=write --bs=1m --iodepth=8"
  "write-4k-qd1-fsync:--rw=randwrite --bs=4k --iodepth=1 --fsync=1"
  "read-4k-qd1:--rw=randread --bs=4k --iodepth=1"
  "randrw-4k-qd32:--rw=randrw --rwmixread=70 --bs=4k --iodepth=32"
)
run() { # where pass
  local where="$1" pass="$2" node sock
  case "$where" in local) node=1;; diskless) node=4;; disklessB) node=5;; esac
  sock="$DIR/n$node.sock"
  bin/ballast volume attach --admin "127.0.0.1:1830$node" --name r3 "${REPLICAS[@]}" >/dev/null
  local uri="nbd+unix:///r3?socket=$sock"
  if [ "$pass" = 1 ] && [ "$where" = local ]; then
    fio --name=fill --ioengine=nbd --uri="$uri" --size="$SIZE" --rw=write --bs=1m --iodepth=8 >/dev/null
  fi
  fio --name=warm --ioengine=nbd --uri="$uri" --size="$SIZE" --runtime=8 --time_based --rw=randrw --bs=16k \
      --iodepth=16 --randrepeat=0 --norandommap >/dev/null
  for entry in "${WORKLOADS[@]}"; do
    wl="${entry%%:*}" args="${entry#*:}"
    # shellcheck disable=SC2086
    fio --name="$wl" --ioengine=nbd --uri="$uri" --size="$SIZE" --runtime="$RUNTIME" --time_based --ramp_time=2 \
        --randrepeat=0 --norandommap --group_reporting --output-format=json \
        --output="$DIR/results/$where-$pass-$wl.json" $args >/dev/null
  done
  bin/ballast volume detach --admin "127.0.0.1:1830$node" --name r3 >/dev/null
}
for pass in 1 2; do
  echo "  pass $pass: local (n1)" >&2; run local "$pass"
  echo "  pass $pass: diskless (n4)" >&2; run diskless "$pass"
  if [ -n "$OPTS_B" ]; then echo "  pass $pass: diskless B (n5: $OPTS_B)" >&2; run disklessB "$pass"; fi
done

python3 - "$DIR/results" "$SIZE" "$RUNTIME" "$OPTS_B" > "$DIR/table.md" <<'PY'
import json, sys, os
res, size, runtime, opts_b = sys.argv[1:5]
wls = ["randwrite-4k-qd32", "randread-4k-qd32", "seqwrite-1m-qd8", "write-4k-qd1-fsync", "read-4k-qd1", "randrw-4k-qd32"]
def load(where, p, w):
    j = json.load(open(os.path.join(res, f"{where}-{p}-{w}.json")))["jobs"][0]
    if w.startswith("randrw"):  # reads and writes together, reads' latency
        return j["read"]["iops"] + j["write"]["iops"], 0, j["read"]["clat_ns"]["percentile"].get("50.000000", 0) / 1000
    d = j["read"] if "read" in w else j["write"]
    return d["iops"], d["bw_bytes"] / 2**20, d["clat_ns"]["percentile"].get("50.000000", 0) / 1000
b = bool(opts_b)
print("| workload | pass | local replica (n1) | diskless (n4) |" + (" diskless B (n5) |" if b else "")
      + " diskless / local |" + (" B / diskless |" if b else ""))
print("|---|---|---|---|---|" + ("---|---|" if b else ""))
for w in wls:
    for p in (1, 2):
        l, d = load("local", p, w), load("diskless", p, w)
        if w.startswith("seq"):
            cell = lambda x: f"{x[1]:.0f} MiB/s"; m = 1
        elif "qd1" in w or w.startswith("randrw"):
            cell = lambda x: f"{x[0]:.0f} IOPS, p50 {x[2]:.0f} µs"; m = 0
        else:
            cell = lambda x: f"{x[0]/1000:.1f}k IOPS"; m = 0
        row = f"| {w} | {p} | {cell(l)} | {cell(d)} |"
        if b:
            e = load("disklessB", p, w)
            row += f" {cell(e)} | {d[m]/l[m]:.2f}x | {e[m]/d[m]:.2f}x |"
        else:
            row += f" {d[m]/l[m]:.2f}x |"
        print(row)
print(f"\n3 replicas (n1-n3) and a fourth node on one disk, size {size}, {runtime} s per workload after a 2 s ramp, {os.cpu_count()} cores"
      + (f"; n5 with {opts_b}" if b else "") + "; randrw: 70 % reads, IOPS of both, p50 of reads")
PY
cat "$DIR/table.md"
[ -n "$OUT" ] && cp "$DIR/table.md" "$OUT"
exit 0
