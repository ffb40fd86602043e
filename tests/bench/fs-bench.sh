#!/usr/bin/env bash
# Benchmarks a Ballast volume mounted as ext4 the way a pod sees it (CSI Node service: loop device
# over a FUSE file served by the node, ext4 on it) side by side with fio on a local file of the
# host filesystem on the same disk, in one run:
#   A   fio on a file of the host filesystem (libaio, direct=1): the physical limit
#   M1  fio on a file in a mounted Ballast volume, 1 replica  (`ballast dev up --nodes 1`)
#   M3  fio on a file in a mounted Ballast volume, 3 replicas (`ballast dev up`, 3 nodes on one disk)
#   M3E with --encrypted: the same as M3 on an encrypted volume (`ballast dev up --passphrase-file`),
#       with the CPU-seconds per GiB of M3 and M3E (utime+stime of the dev cluster's process)
# Workloads: 1M seqwrite QD8 (also fills the file), 4k randwrite QD32, 4k randread QD32, 4k write
# QD1 with fsync after every write. Needs root, /dev/fuse and loop devices (as the Node service).
# Prints a Markdown table with ratios; pass --out FILE to also write it there.
#
# Usage: tests/bench/fs-bench.sh [--size 1G] [--runtime 10] [--dir /path/on/disk] [--encrypted] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=1G RUNTIME=10 DIR="$PWD/target/fsbench" OUT="" ENCRYPTED=0
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2;;
    --runtime) RUNTIME="$2"; shift 2;;
    --dir) DIR="$2"; shift 2;;
    --out) OUT="$2"; shift 2;;
    --encrypted) ENCRYPTED=1; shift;;
    -h|--help) sed -n '2,15p' "$0"; exit 0;;
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
declare -A PID=()
start_cluster() { # name nodes base-port [dev up arguments]
  local name="$1" nodes="$2" port="$3"; shift 3
  BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC" bin/ballast dev up --dir "$DIR/$name" --nodes "$nodes" --base-port "$port" \
    --volume "vol1:$VOLUME_SIZE" "$@" > "$DIR/$name.out" 2>&1 & PIDS+=($!); PID[$name]=$!
  for _ in $(seq 600); do grep -q "mounted as ext4" "$DIR/$name.out" && return; sleep 0.2; done
  cat "$DIR/$name.out" >&2; exit 1
}
echo "starting M1 (1 node) and M3 (3 nodes)" >&2
start_cluster m1 1 17600
start_cluster m3 3 17700
TARGETS=(M1 M3)
if [ "$ENCRYPTED" = 1 ]; then
  echo "starting M3E (3 nodes, encrypted volume)" >&2
  echo "fs-bench passphrase" > "$DIR/passphrase"
  start_cluster m3e 3 17800 --passphrase-file "$DIR/passphrase"
  TARGETS+=(M3E)
fi

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
declare -A FILE=([A]="$DIR/a/fio.dat" [M1]="$DIR/m1/mnt/vol1/fio.dat" [M3]="$DIR/m3/mnt/vol1/fio.dat" [M3E]="$DIR/m3e/mnt/vol1/fio.dat")
# CPU ticks (user + system) of a dev cluster's process: all its nodes and its controller.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Warm-up, not recorded (JIT of the nodes' hot paths), which also allocates the files.
echo "  warm-up (not recorded)" >&2
for t in "${TARGETS[@]}"; do
  fio --name=warm --filename="${FILE[$t]}" --size="$SIZE" --runtime=10 --time_based --ioengine=libaio --direct=1 \
      --rw=randwrite --bs=64k --iodepth=16 >/dev/null
done
for entry in "${WORKLOADS[@]}"; do
  wl="${entry%%:*}" args="${entry#*:}"
  echo "  $wl: A ${TARGETS[*]}" >&2
  for t in A "${TARGETS[@]}"; do
    pid=""; [ "$t" != A ] && pid=${PID[${t,,}]}
    before=0; [ -n "$pid" ] && before=$(cpu_ticks "$pid")
    # shellcheck disable=SC2086
    run_fio "$t" "$wl" "${FILE[$t]}" $args
    if [ -n "$pid" ]; then echo $(( $(cpu_ticks "$pid") - before )) > "$DIR/results/$t-$wl.cpu"; fi
  done
done
kill -TERM "${PIDS[@]}"; wait 2>/dev/null || true; PIDS=()

python3 - "$DIR/results" "$SIZE" "$RUNTIME" "${TARGETS[@]}" <<'PY' > "$DIR/table.md"
import json, sys, os, platform
res, size, runtime = sys.argv[1:4]
wls = ["seqwrite-1m-qd8", "randwrite-4k-qd32", "randread-4k-qd32", "write-4k-qd1-fsync"]
targets = ["A"] + sys.argv[4:]
enc = "M3E" in targets
names = {"A": "A: fio on a host file", "M1": "M1: mounted, 1 replica", "M3": "M3: mounted, 3 replicas",
         "M3E": "M3E: mounted, 3 replicas, encrypted"}
tick = os.sysconf("SC_CLK_TCK")
def load(t, w):
    j = json.load(open(os.path.join(res, f"{t}-{w}.json")))["jobs"][0]
    d = j["read"] if w.startswith("randread") else j["write"]
    return d["iops"], d["bw_bytes"] / 2**20, d["clat_ns"]["percentile"].get("50.000000", 0) / 1000, d["io_bytes"]
def cpu_per_gib(t, w):
    # CPU over the whole run (ramp included) per GiB measured after the ramp: a slight over-estimate, alike for both
    f = os.path.join(res, f"{t}-{w}.cpu")
    return int(open(f).read()) / tick / (load(t, w)[3] / 2**30) if os.path.exists(f) else 0
extra = " | M3E/M3 | CPU-s/GiB M3 | CPU-s/GiB M3E" if enc else ""
print("| workload | " + " | ".join(names[t] for t in targets) + " | M1/A | M3/A" + extra + " |")
print("|---" * (len(targets) + 3 + (3 if enc else 0)) + "|")
for w in wls:
    r = {t: load(t, w) for t in targets}
    if w.startswith("seq"):
        cell, m = (lambda x: f"{x[1]:.0f} MiB/s"), 1
    elif "qd1" in w:
        cell, m = (lambda x: f"{x[0]:.0f} IOPS, p50 {x[2]:.0f} µs"), 0
    else:
        cell, m = (lambda x: f"{x[0]/1000:.1f}k IOPS"), 0
    more = f" | {r['M3E'][m]/r['M3'][m]:.2f}x | {cpu_per_gib('M3', w):.1f} | {cpu_per_gib('M3E', w):.1f}" if enc else ""
    print(f"| {w} | " + " | ".join(cell(r[t]) for t in targets)
          + f" | {r['M1'][m]/r['A'][m]:.2f}x | {r['M3'][m]/r['A'][m]:.2f}x{more} |")
print()
print(f"file {size}, {runtime} s per workload after 2 s ramp, {os.cpu_count()} cores, kernel {platform.release()}")
PY
cat "$DIR/table.md"
[ -n "$OUT" ] && cp "$DIR/table.md" "$OUT"
exit 0
