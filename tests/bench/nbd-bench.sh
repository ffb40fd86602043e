#!/usr/bin/env bash
# Benchmarks Ballast's NBD path side by side with references, in one run, on one disk:
#   A  fio directly on a file (libaio, direct=1): the physical limit
#   B  nbdkit's file plugin exporting a file, driven by fio's nbd engine: same protocol, no Ballast
#   C  Ballast (`ballast node`, one local replica), driven by fio's nbd engine
# With --replicated, also:
#   R1 Ballast with Raft, 1 replica     R3 Ballast with Raft, 3 replicas (3 node processes, one disk)
# With --ceph (implies --replicated), also Ceph RBD from Debian's packages (tests/bench/ceph-rbd.sh:
# one monitor, three BlueStore OSDs on files of this disk), driven by fio's rbd engine:
#   K1 a pool of 1 copy                 K3 a pool of 3 copies
# (skipped with a message when the packages are missing).
#
# Every system is first filled once (1M sequential writes over the whole volume, not recorded),
# which puts data under the reads, then warmed up for --warmup seconds (default 120, not recorded:
# an equal share each of the workloads below but the cold read), which lets the JVMs' JIT finish.
# Workloads: 1M seqwrite QD8, 4k randwrite QD32, 4k randread QD32 (warm), the same with the page
# cache dropped before each system (cold; needs root), 4k write QD1 with fsync after every write
# (NBD FLUSH). For every system and write workload it also reports the bytes the disk received per
# byte fio wrote (/proc/diskstats, sync before and after) and the CPU-seconds its server processes
# used per GiB fio moved.
# Refuses to start when the disk lacks room for the run; deletes what it made, also on failure.
#
# With --xfs (root, xfsprogs) every system runs on a scratch xfs with reflink made in --dir (a loop
# device over a sparse file), where Ballast's large writes land once per replica; removed after.
# Usage: tests/bench/nbd-bench.sh [--size 2G] [--runtime 20] [--warmup 120] [--dir /path/on/disk] [--out FILE] [--replicated] [--ceph] [--xfs]
# BENCH_NODE_OPTS adds JVM options to every Ballast node, e.g. -Draft.server.log.appender.wait-time.min=0ms
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=2G RUNTIME=20 WARMUP=120 DIR="$PWD/target/bench" OUT="" REPLICATED="" CEPH="" XFS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2;;
    --runtime) RUNTIME="$2"; shift 2;;
    --warmup) WARMUP="$2"; shift 2;;
    --dir) DIR="$2"; shift 2;;
    --out) OUT="$2"; shift 2;;
    --replicated) REPLICATED=1; shift;;
    --ceph) CEPH=1 REPLICATED=1; shift;;
    --xfs) XFS=1; shift;;
    -h|--help) sed -n '2,26p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2;;
  esac
done
for tool in fio nbdkit python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install fio nbdkit python3)" >&2; exit 2; }
done

# Room: A, B and C hold a volume each; R1 and R3 four copies plus each replica's Raft log budget
# (max(256 MiB, 10%)); Ceph three OSD block files, allocated whole (ceph-rbd.sh). Plus 2 GiB to spare.
bytes=$(numfmt --from=iec "$SIZE")
log_budget=$(( bytes / 10 > (256 << 20) ? bytes / 10 : (256 << 20) ))
need=$(( 3 * bytes + (2 << 30) ))
[ -n "$REPLICATED" ] && need=$(( need + 4 * (bytes + log_budget) ))
[ -n "$CEPH" ] && need=$(( need + 3 * (bytes * 3 / 2 + (2 << 30)) ))
mkdir -p "$DIR"
free=$(df --output=avail -B1 "$DIR" | tail -1)
if [ "$free" -lt "$need" ]; then
  echo "not enough room in $DIR: the run needs about $(numfmt --to=iec "$need"), $(numfmt --to=iec "$free") free (try a smaller --size)" >&2
  exit 2
fi

rm -rf "$DIR"; mkdir -p "$DIR/results"
DATA="$DIR" LOOP=""
RAFT_PIDS=()
cleanup() {
  # `|| true`: under set -e a failed kill (the process already gone) ended the trap here, leaving
  # the images behind and the script's status 1.
  [ -n "${NBDKIT_PID:-}" ] && kill "$NBDKIT_PID" 2>/dev/null || true
  [ -n "${NODE_PID:-}" ] && kill "$NODE_PID" 2>/dev/null || true
  [ ${#RAFT_PIDS[@]} -gt 0 ] && kill "${RAFT_PIDS[@]}" 2>/dev/null || true
  [ -n "$CEPH" ] && tests/bench/ceph-rbd.sh down "$DATA/ceph" || true
  wait 2>/dev/null || true
  if [ -n "$LOOP" ]; then
    umount "$DATA" 2>/dev/null || umount -l "$DATA" 2>/dev/null || true
    losetup -d "$LOOP" 2>/dev/null || true
  fi
  # The images and the nodes' data (several GiB): gone, also after a failure; fio's results stay.
  find "$DIR" -mindepth 1 -maxdepth 1 ! -name results ! -name table.md -exec rm -rf {} + 2>/dev/null || true
}
trap cleanup EXIT

# --xfs: everything on a scratch xfs with reflink (where Ballast's large writes land once per
# replica), on a loop device with direct I/O over a sparse file in $DIR; unmounted and deleted after.
if [ -n "$XFS" ]; then
  [ "$(id -u)" = 0 ] || { echo "--xfs needs root (losetup, mount)" >&2; exit 2; }
  command -v mkfs.xfs >/dev/null || { echo "--xfs needs mkfs.xfs (apt-get install xfsprogs)" >&2; exit 2; }
  truncate -s "$need" "$DIR/xfs.img"
  mkfs.xfs -q -m reflink=1 "$DIR/xfs.img"
  LOOP=$(losetup -f --show --direct-io=on "$DIR/xfs.img")
  DATA="$DIR/xfs"; mkdir -p "$DATA"
  mount "$LOOP" "$DATA"
fi

# name:fio-args
WORKLOADS=(
  "seqwrite-1m-qd8:--rw=write --bs=1m --iodepth=8"
  "randwrite-4k-qd32:--rw=randwrite --bs=4k --iodepth=32"
  "randread-4k-qd32:--rw=randread --bs=4k --iodepth=32"
  "randread-4k-qd32-cold:--rw=randread --bs=4k --iodepth=32"
  "write-4k-qd1-fsync:--rw=randwrite --bs=4k --iodepth=1 --fsync=1"
)
COLD=1
if ! { [ -w /proc/sys/vm/drop_caches ] && sync && echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null; then
  echo "not root: the cold-cache randread is skipped (it drops the page cache)" >&2
  COLD=""
fi

# The block device the data lives on, as /proc/diskstats names it ("" when it is not a plain disk;
# with --xfs the loop device, i.e. what xfs wrote).
. tests/bench/diskstats.sh
DISK=$(bench_disk_of "$DATA")
TICKS=$(getconf CLK_TCK)
# CPU-seconds (user + system) the given processes have used so far.
cpu_of() {
  local t=0 pid
  for pid in "$@"; do
    t=$(awk -v t="$t" -v hz="$TICKS" '{ print t + ($14 + $15) / hz }' "/proc/$pid/stat" 2>/dev/null || echo "$t")
  done
  echo "$t"
}
# The server processes of a system, whose CPU its rows are charged (none for A: fio's own).
pids_of() {
  case "$1" in
    B) echo "$NBDKIT_PID";;
    C) echo "$NODE_PID";;
    R1) echo "${RAFT_PIDS[0]}";;  # n1 holds R1's only replica
    R3) echo "${RAFT_PIDS[@]}";;
    K1|K3) tests/bench/ceph-rbd.sh pids "$DATA/ceph";;
  esac
}
# fio's target arguments for a system.
target_args() {
  case "$1" in
    A) echo "--ioengine=libaio --direct=1 --filename=$DATA/a.img";;
    B) echo "--ioengine=nbd --uri=nbd+unix:///?socket=$DATA/b.sock";;
    C) echo "--ioengine=nbd --uri=nbd+unix:///bench?socket=$DATA/c.sock";;
    R1) echo "--ioengine=nbd --uri=nbd+unix:///r1?socket=$DATA/r1.sock";;
    R3) echo "--ioengine=nbd --uri=nbd+unix:///r3?socket=$DATA/r1.sock";;
    K1) echo "--ioengine=rbd --clientname=admin --pool=rbd1 --rbdname=img";;
    K3) echo "--ioengine=rbd --clientname=admin --pool=rbd3 --rbdname=img";;
  esac
}

# run_fio TARGET WORKLOAD ARGS...: one measured run, with what it cost beside fio's json.
run_fio() {
  local target="$1" wl="$2"; shift 2
  local pids cpu0 cpu1 disk0 disk1
  [[ "$wl" == *-cold ]] && { sync; echo 3 > /proc/sys/vm/drop_caches; }
  # shellcheck disable=SC2046
  pids=$(pids_of "$target")
  sync; disk0=$(bench_disk_bytes "$DISK")
  # shellcheck disable=SC2086
  cpu0=$(cpu_of $pids)
  # shellcheck disable=SC2046
  # No ramp time: every system was warmed up, and fio's byte count must cover all the disk
  # writes and CPU time measured around it.
  fio --name="$wl" --size="$SIZE" --runtime="$RUNTIME" --time_based \
      --randrepeat=0 --norandommap --group_reporting --output-format=json \
      --output="$DIR/results/$target-$wl.json" $(target_args "$target") "$@" >/dev/null
  # shellcheck disable=SC2086
  cpu1=$(cpu_of $pids)
  sync; disk1=$(bench_disk_bytes "$DISK")
  echo "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }') $(( disk1 - disk0 ))" > "$DIR/results/$target-$wl.cost"
}

echo "starting B (nbdkit file) and C (ballast node)" >&2
fallocate -l "$SIZE" "$DATA/a.img"
truncate -s "$SIZE" "$DATA/b.img"
nbdkit --foreground --exit-with-parent -U "$DATA/b.sock" file "$DATA/b.img" & NBDKIT_PID=$!
BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC ${BENCH_NODE_OPTS:-}" bin/ballast node \
  --data-dir "$DATA/c-data" --nbd-socket "$DATA/c.sock" --volume "bench:$SIZE" > "$DATA/c-node.log" 2>&1 & NODE_PID=$!
for _ in $(seq 300); do [ -S "$DATA/b.sock" ] && grep -q "ballast node ready" "$DATA/c-node.log" && break; sleep 0.1; done
grep -q "ballast node ready" "$DATA/c-node.log" || { cat "$DATA/c-node.log" >&2; exit 1; }

TARGETS="A B C"
if [ -n "$REPLICATED" ]; then
  TARGETS="A B C R1 R3"
  for i in 1 2 3; do
    BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC ${BENCH_NODE_OPTS:-}" bin/ballast node --data-dir "$DATA/r-n$i" --node-id "n$i" \
      --cluster-id bench --nbd-socket "$DATA/r$i.sock" --raft-listen "127.0.0.1:1710$i" \
      --admin-listen "127.0.0.1:1700$i" > "$DATA/r-n$i.log" 2>&1 & RAFT_PIDS+=($!)
  done
  for i in 1 2 3; do
    for _ in $(seq 300); do grep -q "ballast node ready" "$DATA/r-n$i.log" && break; sleep 0.1; done
  done
  bin/ballast volume create --admin 127.0.0.1:17001 --name r1 --size "$SIZE" --replica n1=127.0.0.1:17101 >&2
  bin/ballast volume create --admin 127.0.0.1:17001 --name r3 --size "$SIZE" \
    --replica n1=127.0.0.1:17101 --replica n2=127.0.0.1:17102 --replica n3=127.0.0.1:17103 >&2
  bin/ballast volume attach --admin 127.0.0.1:17001 --name r1 >&2
  bin/ballast volume attach --admin 127.0.0.1:17001 --name r3 >&2
fi
if [ -n "$CEPH" ]; then
  echo "starting Ceph (K1, K3)" >&2
  status=0
  tests/bench/ceph-rbd.sh up "$DATA/ceph" "$SIZE" || status=$?
  if [ "$status" -eq 0 ]; then
    export CEPH_CONF="$DATA/ceph/ceph.conf"
    TARGETS="$TARGETS K1 K3"
  elif [ "$status" -eq 3 ]; then
    echo "Ceph skipped (see above)" >&2
  else
    exit 1
  fi
fi

# Fill and warm-up, not recorded. The fill puts data under the reads below. The warm-up is for the
# JVMs' JIT: with three node JVMs on 2 cores, C2 was still compiling Ratis's large methods (100-800 ms
# each) 25-45 s into a load, 22 % of all CPU during a measured 4k randwrite; after 120 s of warm-up
# it was under 1 %, and the same workload ran 27 % faster with half the user CPU (perf, docs/
# benchmarks.md). Every system gets the same warm-up, so that none is measured cold.
for t in $TARGETS; do
  echo "  fill and ${WARMUP} s warm-up of $t (not recorded)" >&2
  # shellcheck disable=SC2046
  fio --name=fill --size="$SIZE" --rw=write --bs=1m --iodepth=8 $(target_args "$t") >/dev/null
  warm=()
  for entry in "${WORKLOADS[@]}"; do [[ "${entry%%:*}" == *-cold ]] || warm+=("${entry#*:}"); done
  for args in "${warm[@]}"; do
    [ "$WARMUP" -gt 0 ] || break
    # shellcheck disable=SC2046,SC2086
    fio --name=warm --size="$SIZE" --runtime=$(( (WARMUP + ${#warm[@]} - 1) / ${#warm[@]} )) --time_based \
        --randrepeat=0 --norandommap $(target_args "$t") $args >/dev/null
  done
done

# Workloads in the outer loop, targets in the inner one: the systems of one workload run back to
# back, so background load drifting during the run hits all of them alike.
for entry in "${WORKLOADS[@]}"; do
  wl="${entry%%:*}" args="${entry#*:}"
  [[ "$wl" == *-cold ]] && [ -z "$COLD" ] && continue
  echo "  $wl: $TARGETS" >&2
  for t in $TARGETS; do
    # shellcheck disable=SC2086
    run_fio "$t" "$wl" $args
  done
done
[ ${#RAFT_PIDS[@]} -gt 0 ] && kill "${RAFT_PIDS[@]}"
kill "$NBDKIT_PID" "$NODE_PID"; wait "$NBDKIT_PID" "$NODE_PID" "${RAFT_PIDS[@]}" 2>/dev/null || true
NBDKIT_PID="" NODE_PID="" RAFT_PIDS=()

BENCH_WARMUP="$WARMUP" python3 tests/bench/nbd-bench-table.py "$DIR/results" "$SIZE" "$RUNTIME" "${DISK:--}" $TARGETS > "$DIR/table.md"
cat "$DIR/table.md"
[ -n "$OUT" ] && cp "$DIR/table.md" "$OUT"
exit 0
