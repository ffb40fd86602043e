#!/usr/bin/env bash
# What a scheduled scrub costs the volumes' own I/O. Starts two 3-node clusters of this checkout
# side by side: A with scheduled scrubs off (--scrub-interval 0), B scrubbing without a break (an
# interval of 1 s, checked every second, so each node starts its next paced pass as soon as one
# ends) at --rate (default 32M, the node's default pace). Each gets a 3-replica volume of --size
# (default 1G) filled with data, attached on its n1. After a warm-up, rounds alternate A and B
# (4k randread QD32, then 4k randwrite QD32, --runtime s each, default 20) and the script prints
# each round's IOPS and B's over A's per workload, and how many scheduled passes B's nodes
# finished (their logs' "scrub verified" lines). Needs fio; removes what it made, also on failure.
# Usage: tests/bench/scrub-cost.sh [--rate 32M] [--size 1G] [--rounds 2] [--runtime 20] [--dir /tmp]
set -uo pipefail
cd "$(dirname "$0")/../.."
RATE=32M SIZE=1G ROUNDS=2 RUNTIME=20 PARENT=/tmp
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) RATE="$2"; shift 2;;
    --size) SIZE="$2"; shift 2;;
    --rounds) ROUNDS="$2"; shift 2;;
    --runtime) RUNTIME="$2"; shift 2;;
    --dir) PARENT="$2"; shift 2;;
    -h|--help) sed -n '2,10p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2;;
  esac
done
for tool in fio; do
  command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done
[ -f csi/target/ballast.jar ] || { echo "no built jar: run ./mvnw -q -o package -DskipTests first" >&2; exit 2; }
. tests/bench/workdir.sh
# Two clusters, three replicas each, with their Raft logs and journals: 8x the volume is ample.
bench_workdir "$PARENT/scrub-cost.$$" $(( 8 * $(numfmt --from=iec "$SIZE") ))
D="$BENCH_DIR"

start_cluster() { # NAME BASE_PORT SCRUB_ARGS...
  local name=$1 base=$2; shift 2
  for i in 1 2 3; do
    BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC -Dballast.scrub.checkSeconds=1" bin/ballast node \
      --data-dir "$D/$name/n$i" --node-id "n$i" --cluster-id "$name" --nbd-socket "$D/$name/r$i.sock" \
      --raft-listen "127.0.0.1:$((base + i))" --admin-listen "127.0.0.1:$((base + 10 + i))" \
      --metrics-listen "127.0.0.1:$((base + 20 + i))" "$@" > "$D/$name-n$i.log" 2>&1 &
    PIDS[$name$i]=$!
  done
}
mkdir -p "$D/A" "$D/B"
start_cluster A 18400 --scrub-interval 0
start_cluster B 18500 --scrub-interval 1s --scrub-rate "$RATE"
for name in A B; do
  for i in 1 2 3; do
    for _ in $(seq 300); do grep -q "ballast node ready" "$D/$name-n$i.log" && break; sleep 0.1; done
    grep -q "ballast node ready" "$D/$name-n$i.log" || { echo "node $name/n$i did not start: $D/$name-n$i.log" >&2; exit 1; }
  done
done
base_of() { [ "$1" = A ] && echo 18400 || echo 18500; }
for name in A B; do
  b=$(base_of $name)
  bin/ballast volume create --admin "127.0.0.1:$((b + 11))" --name v --size "$SIZE" \
    --replica "n1=127.0.0.1:$((b + 1))" --replica "n2=127.0.0.1:$((b + 2))" --replica "n3=127.0.0.1:$((b + 3))" >/dev/null &&
    bin/ballast volume attach --admin "127.0.0.1:$((b + 11))" --name v >/dev/null ||
    { echo "volume setup on $name failed" >&2; exit 1; }
  # Data in every block: a scrub of holes would read nothing.
  fio --name=fill --size="$SIZE" --rw=write --bs=1m --iodepth=8 --ioengine=nbd --uri="nbd+unix:///v?socket=$D/$name/r1.sock" \
    >/dev/null || { echo "fill of $name failed" >&2; exit 1; }
done
run() { # CLUSTER JOB NAME SECONDS: IOPS
  local rw=$2
  fio --name="$3" --size="$SIZE" --rw="$rw" --bs=4k --iodepth=32 --runtime="$4" --time_based --randrepeat=0 --norandommap \
    --ioengine=nbd --uri="nbd+unix:///v?socket=$D/$1/r1.sock" --output-format=json --output="$D/fio.json" >/dev/null ||
    { echo "fio on $1 failed" >&2; exit 1; }
  python3 -c "import json; j = json.load(open('$D/fio.json'))['jobs'][0]; print(round(j['read']['iops'] + j['write']['iops']))"
}
echo "warming up both clusters (randwrite then randread, 15 s each)" >&2
for name in A B; do run $name randwrite warm 15 >/dev/null; run $name randread warm 15 >/dev/null; done
declare -A SUM=()
for round in $(seq "$ROUNDS"); do
  for rw in randread randwrite; do
    for name in A B; do
      iops=$(run $name $rw measure "$RUNTIME")
      echo "round $round $rw $name: $iops IOPS"
      SUM[$rw$name]=$(( ${SUM[$rw$name]:-0} + iops ))
    done
  done
done
for rw in randread randwrite; do
  echo "$rw: scrubbing (B) / not (A) = $(python3 -c "print(f'{${SUM[${rw}B]} / ${SUM[${rw}A]}:.2f}')")"
done
echo "scheduled passes of the $SIZE volume B's three nodes finished over the run: $(cat "$D"/B-n*.log | grep -c "scrub verified")"
