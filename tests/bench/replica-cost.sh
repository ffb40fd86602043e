#!/usr/bin/env bash
# Cost per volume (issue 15, part 5), measured from outside on 3 node processes (the default JVM
# flags of bin/ballast). 3-replica volumes of --size are created in steps (--steps 1,10,50: totals).
# After each step and --rest seconds of quiet (past the 60 s an idle pool thread lives), per node:
# threads (/proc/PID/task), resident memory and Java heap in use, both after a full GC (jcmd), and
# idle CPU over --idle seconds (utime+stime).
# Per replica = (value - value with no volume) / replicas on the node (every node holds one replica
# of every volume). Then 4k random writes on every volume at once (fio, one job per volume, each
# volume attached on the nodes in turn, queue depth ceil(32 / volumes) per volume, --runtime s).
# Prints a Markdown table; --out FILE also writes it there. Removes everything it made, also on failure.
# Usage: tests/bench/replica-cost.sh [--steps 1,10,50] [--size 64M] [--rest 70] [--idle 30] [--runtime 15] [--dir D] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/../.."

STEPS=1,10,50 SIZE=64M REST=70 IDLE=30 RUNTIME=15 DIR="$PWD/target/replica-cost" OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) STEPS="$2"; shift 2;;
    --size) SIZE="$2"; shift 2;;
    --rest) REST="$2"; shift 2;;
    --idle) IDLE="$2"; shift 2;;
    --runtime) RUNTIME="$2"; shift 2;;
    --dir) DIR="$2"; shift 2;;
    --out) OUT="$2"; shift 2;;
    -h|--help) sed -n '2,10p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2;;
  esac
done
command -v fio >/dev/null || { echo "needs fio (apt-get install fio)" >&2; exit 2; }
. bin/find-jdk
ballast_find_jdk
JCMD="$JAVA_HOME/bin/jcmd"
[ -x "$JCMD" ] || { echo "needs jcmd in $JAVA_HOME" >&2; exit 2; }
LAST=${STEPS##*,}
# fio touches at most what it writes; the reserve is each replica's log budget floor (256 MiB) for the last step.
need=$(( 3 * LAST * (256 << 20) / 4 + (2 << 30) ))
. tests/bench/workdir.sh
bench_workdir "$DIR" "$need"

for i in 1 2 3; do
  bin/ballast node --data-dir "$DIR/n$i" --node-id "n$i" --cluster-id cost --nbd-socket "$DIR/n$i.sock" \
    --raft-listen "127.0.0.1:1740$i" --admin-listen "127.0.0.1:1750$i" >> "$DIR/n$i.log" 2>&1 &
  PIDS[$i]=$!
done
for i in 1 2 3; do
  for _ in $(seq 600); do grep -q "ballast node ready" "$DIR/n$i.log" && break; sleep 0.1; done
  grep -q "ballast node ready" "$DIR/n$i.log" || { cat "$DIR/n$i.log" >&2; exit 1; }
done
REPLICAS="--replica n1=127.0.0.1:17401 --replica n2=127.0.0.1:17402 --replica n3=127.0.0.1:17403"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
measure() { # -> per node "threads rss_kib heap_kib cpu_pct", one line each
  sleep "$REST"
  declare -A t0=()
  for i in 1 2 3; do t0[$i]=$(ticks "${PIDS[$i]}"); done
  sleep "$IDLE"
  local hz; hz=$(getconf CLK_TCK)
  for i in 1 2 3; do
    local p="${PIDS[$i]}" cpu
    cpu=$(python3 -c "print('%.2f' % ((int('$(ticks "$p")') - int('${t0[$i]}')) * 100 / $hz / $IDLE))")
    "$JCMD" "$p" GC.run >/dev/null
    local heap; heap=$("$JCMD" "$p" GC.heap_info | awk 'match($0, /^[^ ].*total [0-9]+K, used [0-9]+K/) { match($0, /used [0-9]+K/); s += substr($0, RSTART + 5, RLENGTH - 6) } END { print s + 0 }')
    echo "$(ls "/proc/$p/task" | wc -l) $(awk '/VmRSS/ {print $2}' "/proc/$p/status") $heap $cpu"
  done
}
thread_kinds() { # pid -> "count name" for each kind of thread (group ids, volume names and numbers folded)
  "$JCMD" "$1" Thread.print | sed -n 's/^"\([^"]*\)".*/\1/p' \
    | sed -E 's/group-[0-9A-F]{12}/group-G/g; s/\bv[0-9]+\b/VOL/g; s/[0-9]+/N/g' | sort | uniq -c | sort -rn
}
randwrite() { # volumes -> aggregate IOPS over all of them
  local n="$1" qd=$(( (32 + $1 - 1) / $1 )) job="$DIR/randwrite.fio"
  printf '[global]\nioengine=nbd\nrw=randwrite\nbs=4k\niodepth=%s\nruntime=%s\ntime_based=1\nrandrepeat=0\nnorandommap=1\nsize=%s\ngroup_reporting=1\n' \
    "$qd" "$RUNTIME" "$SIZE" > "$job"
  for k in $(seq "$n"); do
    local home=$(( (k - 1) % 3 + 1 ))
    printf '[v%s]\nuri=nbd+unix:///v%s?socket=%s\n' "$k" "$k" "$DIR/n$home.sock" >> "$job"
  done
  fio "$job" --output-format=json --output="$DIR/fio.json" >/dev/null || { echo "fio failed: $job" >&2; return 1; }
  python3 -c "import json,sys; print('%.0f' % sum(j['write']['iops'] for j in json.load(open(sys.argv[1]))['jobs']))" "$DIR/fio.json"
}

echo "  no volume: resting ${REST}s, measuring ${IDLE}s" >&2
mapfile -t BASE < <(measure)
ROWS=()
made=0
for total in ${STEPS//,/ }; do
  echo "  creating volumes $((made + 1))..$total (3 replicas, $SIZE each)" >&2
  creating=()
  for k in $(seq $((made + 1)) "$total"); do
    # shellcheck disable=SC2086
    bin/ballast volume create --admin 127.0.0.1:1750$(( (k - 1) % 3 + 1 )) --name "v$k" --size "$SIZE" $REPLICAS >/dev/null &
    creating+=($!)
    if (( ${#creating[@]} == 5 )); then wait "${creating[@]}"; creating=(); fi # not `wait`: the nodes are children too
  done
  [ ${#creating[@]} -eq 0 ] || wait "${creating[@]}"
  made=$total
  echo "  $total volumes: resting ${REST}s, measuring ${IDLE}s" >&2
  mapfile -t NOW < <(measure)
  [ "$total" != "$LAST" ] || thread_kinds "${PIDS[1]}" > "$DIR/threads-n1.txt"
  for k in $(seq "$total"); do # attach each on a node in turn (a no-op for those attached before)
    bin/ballast volume attach --admin 127.0.0.1:1750$(( (k - 1) % 3 + 1 )) --name "v$k" >/dev/null
  done
  iops=$(randwrite "$total")
  for i in 1 2 3; do
    read -r t r h c <<< "${NOW[$((i - 1))]}"
    read -r bt br bh bc <<< "${BASE[$((i - 1))]}"
    ROWS+=("$(python3 -c "
t,r,h,c,bt,br,bh,bc,n=$t,$r,$h,$c,$bt,$br,$bh,$bc,$total
print('| %d | n$i | %d (+%.1f) | %.0f (+%.2f) | %.0f (+%.2f) | %.1f (+%.2f) | %s |' % (n, t, (t-bt)/n, r/1024, (r-br)/1024/n, h/1024, (h-bh)/1024/n, c, (c-bc)/n, '$iops' if '$i' == '1' else ''))")")
  done
done

{
  echo "| volumes | node | threads (+ per replica) | RSS MiB (+ per replica) | heap in use MiB (+ per replica) | idle CPU % of a core (+ per replica) | 4k randwrite IOPS, all volumes |"
  echo "|---|---|---|---|---|---|---|"
  for i in 1 2 3; do
    read -r bt br bh bc <<< "${BASE[$((i - 1))]}"
    python3 -c "print('| 0 | n$i | %d | %.0f | %.0f | %.1f | |' % ($bt, $br/1024, $bh/1024, $bc))"
  done
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "Threads of n1 with $LAST volumes, by kind (count, name with ids folded):"
  echo
  echo '```'
  head -25 "$DIR/threads-n1.txt"
  echo '```'
} | tee "${OUT:-/dev/null}"
