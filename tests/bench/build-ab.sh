#!/usr/bin/env bash
# Two builds (or two sets of JVM flags, or plaintext against mutual TLS) of Ballast compared,
# alternating on fresh clusters: each round starts 3 node processes of build A, creates and attaches
# a 3-replica volume, warms up (--warmup seconds, default 15, of the three workloads), measures 1M
# sequential writes QD8 and 4k random writes QD32 for 15 s each and 4k writes QD1 with a flush after each for 10 s, stops
# everything; then the same with build B. Alternating fresh clusters cancels the order and
# volume-state effects a single nbd-bench.sh run per build has (it measured differences of 20%
# between two runs of one build). CPU-s/GiB: the three node processes' user+system CPU during the
# workload (/proc/PID/stat) per GiB fio wrote. Disk x: bytes the disk under the nodes' data received
# (/proc/diskstats, sync before and after) per byte fio wrote; "-" where that is not a plain disk.
# Each DIR is a checkout with its jar built (./mvnw -q -o package -DskipTests), e.g. from
# `git worktree add /tmp/old <commit>`. Removes what it made, also on failure, keeping the last
# cluster's node logs in /tmp/build-ab-logs. --opts-a/--opts-b add JVM flags to one side's nodes
# (e.g. a Ratis key, -Draft.server.x=y, which RaftServerSettings applies last): DIR_A may then be DIR_B.
# --tls-a/--tls-b run that side with mutual TLS (certificates made by the side's `ballast certs`).
# --dir PARENT puts the nodes' data in a fresh directory under PARENT (default /tmp), e.g. on a
# scratch xfs where issue 15's nbd-bench.sh --xfs measures, so "disk x" counts that filesystem.
# Usage: tests/bench/build-ab.sh DIR_A DIR_B [--rounds 3] [--size 1G] [--warmup 15] [--opts-a "FLAGS"] [--opts-b "FLAGS"] [--tls-a] [--tls-b] [--dir PARENT]
set -uo pipefail
[ $# -ge 2 ] || { sed -n '2,18p' "$0"; exit 2; }
A="$1" B="$2"; shift 2
ROUNDS=3 SIZE=1G WARMUP=15 OPTS_A="" OPTS_B="" TLS_A="" TLS_B="" PARENT=/tmp
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2;;
    --size) SIZE="$2"; shift 2;;
    --warmup) WARMUP="$2"; shift 2;;
    --opts-a) OPTS_A="$2"; shift 2;;
    --opts-b) OPTS_B="$2"; shift 2;;
    --tls-a) TLS_A=1; shift;;
    --tls-b) TLS_B=1; shift;;
    --dir) PARENT="$2"; shift 2;;
    *) echo "unknown argument: $1" >&2; exit 2;;
  esac
done
for d in "$A" "$B"; do [ -f "$d/csi/target/ballast.jar" ] || { echo "no built jar in $d/csi/target" >&2; exit 2; }; done
command -v fio >/dev/null || { echo "needs fio (apt-get install fio)" >&2; exit 2; }
D=$(mktemp -d "$PARENT/build-ab.XXXX") || { echo "cannot make a directory under $PARENT" >&2; exit 2; }
cleanup() { pkill -9 -f "$D/n" 2>/dev/null; wait 2>/dev/null; rm -rf /tmp/build-ab-logs; mkdir -p /tmp/build-ab-logs; cp "$D"/*.log /tmp/build-ab-logs/ 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
# The CPU seconds (user + system) the node processes have used so far.
node_cpu() {
  local t=0 pid
  for pid in $(pgrep -f "$D/n[123] "); do
    t=$(awk -v t="$t" '{ print t + ($14 + $15) / 100 }' "/proc/$pid/stat" 2>/dev/null || echo "$t")
  done
  echo "$t"
}
# The block device under the nodes' data, as /proc/diskstats names it ("" when it is not a plain disk).
. "$(dirname "$0")/diskstats.sh"
DISK=$(bench_disk_of "$D")
# measure JOB FIO-ARGS...: runs one measured workload; prints "VALUE CPU-S/GIB US-PER-OP DISK-X" (VALUE: MiB/s for bs=1m, else IOPS).
measure() {
  local job="$1"; shift
  local before after disk0 disk1
  sync; disk0=$(bench_disk_bytes "$DISK")
  before=$(node_cpu)
  fio --name="$job" --size="$SIZE" --time_based --randrepeat=0 --norandommap --ioengine=nbd --uri="$uri" \
    "$@" --output-format=json --output="$D/$job.json" >/dev/null || { echo "fio failed ($job) on $side" >&2; exit 1; }
  after=$(node_cpu)
  sync; disk1=$(bench_disk_bytes "$DISK")
  python3 - "$D/$job.json" "$before" "$after" "$(( disk1 - disk0 ))" "$DISK" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
w = job["write"]
big = job["job options"].get("bs") == "1m"
value = f"{w['bw_bytes'] / 2**20:.0f}" if big else f"{w['iops'] / 1000:.1f}k" if w["iops"] >= 1000 else f"{w['iops']:.0f}"
cpu = (float(sys.argv[3]) - float(sys.argv[2])) / max(w["io_bytes"] / 2**30, 1e-9)
disk = f"{int(sys.argv[4]) / max(w['io_bytes'], 1):.1f}x" if sys.argv[5] else "-"
print(value, f"{cpu:.1f}", f"{1e6 / w['iops']:.0f}" if w["iops"] else "-", disk)
PY
}
# The three workloads, warmed up and then measured (fio arguments).
SEQ="--rw=write --bs=1m --iodepth=8" RAND="--rw=randwrite --bs=4k --iodepth=32" QD1="--rw=randwrite --bs=4k --iodepth=1 --fsync=1"
echo "| round | side | seqwrite 1M QD8 | CPU-s/GiB | disk x | randwrite 4k QD32 | CPU-s/GiB | disk x | QD1 write+flush |"
echo "|---|---|---|---|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
  for side in A B; do
    if [ "$side" = A ]; then dir="$A" opts="$OPTS_A" tls="$TLS_A"; else dir="$B" opts="$OPTS_B" tls="$TLS_B"; fi
    rm -rf "${D:?}"/*
    tls_args=() cli_env=()
    if [ -n "$tls" ]; then
      (cd "$dir" && bin/ballast certs ca --out "$D/tls/ca" --cluster-id ab && for i in 1 2 3; do
        bin/ballast certs issue --ca "$D/tls/ca" --name "n$i" --ip 127.0.0.1 --out "$D/tls/n$i" || exit 1; done &&
        bin/ballast certs issue --ca "$D/tls/ca" --name cli --out "$D/tls/cli") >/dev/null || { echo "certificates failed" >&2; exit 1; }
      cli_env=(BALLAST_TLS_DIR="$D/tls/cli")
    fi
    for i in 1 2 3; do
      [ -n "$tls" ] && tls_args=(--tls-dir "$D/tls/n$i")
      (cd "$dir" && BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC $opts" exec bin/ballast node --data-dir "$D/n$i" --node-id "n$i" \
        --cluster-id ab --nbd-socket "$D/r$i.sock" --raft-listen "127.0.0.1:1810$i" --admin-listen "127.0.0.1:1800$i" "${tls_args[@]}") \
        > "$D/n$i.log" 2>&1 &
    done
    for i in 1 2 3; do for _ in $(seq 300); do grep -q "ballast node ready" "$D/n$i.log" && break; sleep 0.1; done; done
    (cd "$dir" && env "${cli_env[@]}" bin/ballast volume create --admin 127.0.0.1:18001 --name r3 --size "$SIZE" \
      --replica n1=127.0.0.1:18101 --replica n2=127.0.0.1:18102 --replica n3=127.0.0.1:18103 &&
      env "${cli_env[@]}" bin/ballast volume attach --admin 127.0.0.1:18001 --name r3) \
      >/dev/null || { echo "volume setup failed with $dir" >&2; exit 1; }
    uri="nbd+unix:///r3?socket=$D/r1.sock"
    # The warm-up runs the measured workloads, a third of it each (the JIT compiles what they run).
    for args in "$SEQ" "$RAND" "$QD1"; do
      # shellcheck disable=SC2086
      fio --name=warm --size="$SIZE" --runtime=$(( (WARMUP + 2) / 3 )) --time_based --randrepeat=0 --norandommap --ioengine=nbd \
        --uri="$uri" $args >/dev/null
    done
    # shellcheck disable=SC2086
    seq=$(measure seq --runtime=15 $SEQ)
    # shellcheck disable=SC2086
    rand=$(measure rand --runtime=15 $RAND)
    # shellcheck disable=SC2086
    qd1=$(measure qd1 --runtime=10 $QD1)
    echo "| $round | $side | $(cut -d' ' -f1 <<<"$seq") MiB/s | $(cut -d' ' -f2 <<<"$seq") | $(cut -d' ' -f4 <<<"$seq") | $(cut -d' ' -f1 <<<"$rand") IOPS | $(cut -d' ' -f2 <<<"$rand") | $(cut -d' ' -f4 <<<"$rand") | $(cut -d' ' -f1 <<<"$qd1") IOPS ($(cut -d' ' -f3 <<<"$qd1") µs) |"
    pkill -9 -f "$D/n" 2>/dev/null; wait 2>/dev/null; sleep 1
  done
done
echo
echo "A: $(git -C "$A" rev-parse --short HEAD) $OPTS_A${TLS_A:+ TLS}; B: $(git -C "$B" rev-parse --short HEAD) $OPTS_B${TLS_B:+ TLS}"
echo "R3 after a $WARMUP s warm-up, size $SIZE, $(nproc) cores"
