#!/usr/bin/env bash
# The cost of a volume, measured from outside, on 3 local node processes sharing one disk: for
# each count in --volumes (default "1 10 50") it creates that many volumes of 3 replicas (each on
# all 3 nodes, 64 MiB, not attached), lets them idle, then per node: threads, resident memory and
# idle CPU (over --idle seconds, from /proc), and which threads there are (by name, numbers
# folded). The difference between two counts, divided by the volumes added, is the cost of one
# idle replica. Then --write volumes are attached on n1 and written at once (fio 4k randwrite,
# one job per volume) for the aggregate IOPS. Prints Markdown; --out FILE also writes it there.
# Removes everything it made, also on failure.
# Usage: tests/bench/replica-cost.sh [--volumes "1 10 50"] [--idle 30] [--write 10] [--runtime 20] [--dir D] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/../.."

COUNTS="1 10 50" IDLE=30 WRITE=10 RUNTIME=20 DIR="$PWD/target/replica-cost" OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --volumes) COUNTS="$2"; shift 2;;
    --idle) IDLE="$2"; shift 2;;
    --write) WRITE="$2"; shift 2;;
    --runtime) RUNTIME="$2"; shift 2;;
    --dir) DIR="$2"; shift 2;;
    --out) OUT="$2"; shift 2;;
    -h|--help) sed -n '2,10p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2;;
  esac
done
command -v fio >/dev/null || { echo "needs fio (apt-get install fio)" >&2; exit 2; }
max=$(for c in $COUNTS; do echo "$c"; done | sort -n | tail -1)
need=$(( max * 3 * (64 << 20) + (2 << 30) ))  # sparse volumes, but room for their logs
free=$(( $(df -B1 --output=avail "$(dirname "$DIR")" | tail -1) ))
[ "$free" -gt "$need" ] || { echo "needs $((need >> 30)) GiB free under $(dirname "$DIR"), has $((free >> 30))" >&2; exit 2; }

rm -rf "$DIR"; mkdir -p "$DIR"
declare -A PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

start_node() { # i
  local i="$1"
  BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC" bin/ballast node --data-dir "$DIR/n$i" --node-id "n$i" \
    --cluster-id cost --nbd-socket "$DIR/n$i.sock" --raft-listen "127.0.0.1:1740$i" \
    --admin-listen "127.0.0.1:1750$i" >> "$DIR/n$i.log" 2>&1 &
  PIDS[$i]=$!
  for _ in $(seq 600); do grep -q "ballast node ready" "$DIR/n$i.log" && return; sleep 0.1; done
  cat "$DIR/n$i.log" >&2; exit 1
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, clock ticks
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
rss_mib() { awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
# Thread names with digits and group ids folded, most frequent first: "12 x n1@group-*-StateMachineUpdater".
thread_kinds() {
  cat /proc/"$1"/task/*/comm 2>/dev/null | sed -E 's/[0-9A-F]{12}/*/g; s/[0-9]+/N/g' | sort | uniq -c | sort -rn \
    | awk '{c=$1; $1=""; printf "%s x%s; ", c, $0}' | cut -c1-600
}

for i in 1 2 3; do start_node "$i"; done
HZ=$(getconf CLK_TCK)
made=0
rows=()
kinds=""
for count in $COUNTS; do
  echo "  $count volumes" >&2
  while [ "$made" -lt "$count" ]; do
    made=$((made + 1))
    bin/ballast volume create --admin 127.0.0.1:17501 --name "v$made" --size 64M \
      --replica n1=127.0.0.1:17401 --replica n2=127.0.0.1:17402 --replica n3=127.0.0.1:17403 >/dev/null
  done
  sleep 10  # elections and first checkpoints settle
  declare -A t0=()
  for i in 1 2 3; do t0[$i]=$(ticks "${PIDS[$i]}"); done
  sleep "$IDLE"
  for i in 1 2 3; do
    p=${PIDS[$i]}
    cpu=$(awk -v a="${t0[$i]}" -v b="$(ticks "$p")" -v hz="$HZ" -v s="$IDLE" 'BEGIN {printf "%.1f", 100 * (b - a) / hz / s}')
    rows+=("| $count | n$i | $(threads "$p") | $(rss_mib "$p") | $cpu |")
  done
  kinds="$kinds"$'\n'"- $count volumes, n1: $(thread_kinds "${PIDS[1]}")"
done

echo "  aggregate 4k randwrite across $WRITE volumes attached on n1" >&2
jobs=()
for v in $(seq 1 "$WRITE"); do
  bin/ballast volume attach --admin 127.0.0.1:17501 --name "v$v" >/dev/null
  jobs+=(--name="v$v" --uri="nbd+unix:///v$v?socket=$DIR/n1.sock")
done
fio --ioengine=nbd --rw=randwrite --bs=4k --iodepth=8 --size=32m --runtime=5 --time_based --group_reporting \
  "${jobs[@]}" >/dev/null  # warm-up
fio --ioengine=nbd --rw=randwrite --bs=4k --iodepth=8 --size=32m --runtime="$RUNTIME" --time_based --group_reporting \
  --output-format=json --output="$DIR/agg.json" "${jobs[@]}" >/dev/null
iops=$(python3 -c "import json,sys; print('%.0f' % json.load(open(sys.argv[1]))['jobs'][0]['write']['iops'])" "$DIR/agg.json")

{
  echo "| volumes (3 replicas each) | node | threads | RSS MiB | idle CPU % of a core |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Aggregate 4k randwrite QD8 per volume, $WRITE volumes attached on n1 at once: $iops IOPS."
  echo
  echo "Threads by kind (names with numbers and group ids folded):$kinds"
} | tee ${OUT:+"$OUT"}
