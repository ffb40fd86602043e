#!/usr/bin/env bash
# Benchmarks a Ballast volume mounted as ext4 the way a pod sees it (CSI Node service: loop device
# over a FUSE file served by the node, ext4 on it) side by side with fio on a local file of the
# host filesystem on the same disk, in one run:
#   A   fio on a file of the host filesystem (libaio, direct=1): the physical limit
#   M1  fio on a file in a mounted Ballast volume, 1 replica  (`ballast dev up --nodes 1`)
#   M3  fio on a file in a mounted Ballast volume, 3 replicas (`ballast dev up`, 3 nodes on one disk)
# Workloads: 1M seqwrite QD8 (also fills the file), 4k randwrite QD32, 4k randread QD32, 4k write
# QD1 with fsync after every write. Needs root, /dev/fuse and loop devices (as the Node service).
# Prints a Markdown table with ratios; pass --out FILE to also write it there.
#
# Usage: tests/bench/fs-bench.sh [--size 1G] [--runtime 10] [--dir /path/on/disk] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=1G RUNTIME=10 DIR="$PWD/target/fsbench" OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2;;
    --runtime) RUNTIME="$2"; shift 2;;
    --dir) DIR="$2"; shift 2;;
    --out) OUT="$2"; shift 2;;
    -h|--help) sed -n '2,13p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2;;
  esac
done
command -v fio >/dev/null || { echo "needs fio (apt-get install fio)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (loop devices, FUSE, mount)" >&2; exit 2; }

rm -rf "$DIR"; mkdir -p "$DIR/results" "$DIR/a"
PIDS=()
cleanup() { [ ${#PIDS[@]} -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

VOLUME_SIZE=$(( $(numfmt --from=iec "$SIZE") * 2 ))
start_cluster() { # name nodes base-port
  BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC" bin/ballast dev up --dir "$DIR/$1" --nodes "$2" --base-port "$3" \
    --volume "vol1:$VOLUME_SIZE" > "$DIR/$1.out" 2>&1 & PIDS+=($!)
  for _ in $(seq 600); do grep -q "mounted as ext4" "$DIR/$1.out" && return; sleep 0.2; done
  cat "$DIR/$1.out" >&2; exit 1
}
echo "starting M1 (1 node) and M3 (3 nodes)" >&2
start_cluster m1 1 17600
start_cluster m3 3 17700

WORKLOADS=(
  "seqwrite-1m-qd8:--rw=write --bs=1m --iodepth=8"
  "randwrite-4k-qd32:--rw=randwrite --bs=4k --iodepth=32"
  "randread-4k-qd32:--rw=randread --bs=4k --iodepth=32"
  "write-4k-qd1-fsync:--rw=randwrite --bs=4k --iodepth=1 --fsync=1"
)
run_fio() { # target workload-name file args...
  local target="$1" wl="$2" file="$3"; shift 3
  fio --name="$wl" --filename="$file" --size="$SIZE" --runtime="$RUNTIME" --time_based --ramp_time=2 \
      --ioengine=libaio --direct=1 --randrepeat=0 --norandommap --group_reporting --output-format=json \
      --output="$DIR/results/$target-$wl.json" "$@" >/dev/null
}
declare -A FILE=([A]="$DIR/a/fio.dat" [M1]="$DIR/m1/mnt/vol1/fio.dat" [M3]="$DIR/m3/mnt/vol1/fio.dat")

# Warm-up, not recorded (JIT of the nodes' hot paths), which also allocates the files.
echo "  warm-up (not recorded)" >&2
for t in M1 M3; do
  fio --name=warm --filename="${FILE[$t]}" --size="$SIZE" --runtime=10 --time_based --ioengine=libaio --direct=1 \
      --rw=randwrite --bs=64k --iodepth=16 >/dev/null
done
for entry in "${WORKLOADS[@]}"; do
  wl="${entry%%:*}" args="${entry#*:}"
  echo "  $wl: A M1 M3" >&2
  for t in A M1 M3; do
    # shellcheck disable=SC2086
    run_fio "$t" "$wl" "${FILE[$t]}" $args
  done
done
kill -TERM "${PIDS[@]}"; wait 2>/dev/null || true; PIDS=()

python3 - "$DIR/results" "$SIZE" "$RUNTIME" <<'PY' > "$DIR/table.md"
import json, sys, os, platform
res, size, runtime = sys.argv[1:4]
wls = ["seqwrite-1m-qd8", "randwrite-4k-qd32", "randread-4k-qd32", "write-4k-qd1-fsync"]
targets = ["A", "M1", "M3"]
names = {"A": "A: fio on a host file", "M1": "M1: mounted, 1 replica", "M3": "M3: mounted, 3 replicas"}
def load(t, w):
    j = json.load(open(os.path.join(res, f"{t}-{w}.json")))["jobs"][0]
    d = j["read"] if w.startswith("randread") else j["write"]
    return d["iops"], d["bw_bytes"] / 2**20, d["clat_ns"]["percentile"].get("50.000000", 0) / 1000
print("| workload | " + " | ".join(names[t] for t in targets) + " | M1/A | M3/A |")
print("|---" * 6 + "|")
for w in wls:
    r = {t: load(t, w) for t in targets}
    if w.startswith("seq"):
        cell, m = (lambda x: f"{x[1]:.0f} MiB/s"), 1
    elif "qd1" in w:
        cell, m = (lambda x: f"{x[0]:.0f} IOPS, p50 {x[2]:.0f} µs"), 0
    else:
        cell, m = (lambda x: f"{x[0]/1000:.1f}k IOPS"), 0
    print(f"| {w} | " + " | ".join(cell(r[t]) for t in targets)
          + f" | {r['M1'][m]/r['A'][m]:.2f}x | {r['M3'][m]/r['A'][m]:.2f}x |")
print()
print(f"file {size}, {runtime} s per workload after 2 s ramp, {os.cpu_count()} cores, kernel {platform.release()}")
PY
cat "$DIR/table.md"
[ -n "$OUT" ] && cp "$DIR/table.md" "$OUT"
exit 0
