#!/usr/bin/env bash
# Two builds (or two sets of JVM flags) of Ballast compared, alternating on fresh clusters: each
# round starts 3 node processes of build A, creates and attaches a 3-replica volume, warms up (15 s
# of 64k random writes), measures 1M sequential writes QD8 and 4k random writes QD32 for 15 s
# each, stops everything; then the same with build B. Alternating fresh clusters cancels the order and volume-state effects a single
# nbd-bench.sh run per build has (it measured differences of 20% between two runs of one build).
# Each DIR is a checkout with its jar built (./mvnw -q -o package -DskipTests), e.g. from
# `git worktree add /tmp/old <commit>`. Removes what it made, also on failure, keeping the last
# cluster's node logs in /tmp/build-ab-logs. --opts-a/--opts-b add JVM flags to one side's nodes
# (e.g. a Ratis key, -Draft.server.x=y, which RaftServerSettings applies last): DIR_A may then be DIR_B.
# Usage: tests/bench/build-ab.sh DIR_A DIR_B [--rounds 3] [--size 1G] [--opts-a "FLAGS"] [--opts-b "FLAGS"]
set -uo pipefail
[ $# -ge 2 ] || { sed -n '2,10p' "$0"; exit 2; }
A="$1" B="$2"; shift 2
ROUNDS=3 SIZE=1G OPTS_A="" OPTS_B=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2;;
    --size) SIZE="$2"; shift 2;;
    --opts-a) OPTS_A="$2"; shift 2;;
    --opts-b) OPTS_B="$2"; shift 2;;
    *) echo "unknown argument: $1" >&2; exit 2;;
  esac
done
for d in "$A" "$B"; do [ -f "$d/csi/target/ballast.jar" ] || { echo "no built jar in $d/csi/target" >&2; exit 2; }; done
command -v fio >/dev/null || { echo "needs fio (apt-get install fio)" >&2; exit 2; }
D=$(mktemp -d /tmp/build-ab.XXXX)
cleanup() { pkill -9 -f "$D/n" 2>/dev/null; wait 2>/dev/null; rm -rf /tmp/build-ab-logs; mkdir -p /tmp/build-ab-logs; cp "$D"/*.log /tmp/build-ab-logs/ 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
echo "| round | A: $(git -C "$A" rev-parse --short HEAD) $OPTS_A, seqwrite | B: $(git -C "$B" rev-parse --short HEAD) $OPTS_B, seqwrite | A randwrite | B randwrite |"
echo "|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
  seq_row="| $round" rand_row=""
  for side in A B; do
    if [ "$side" = A ]; then dir="$A" opts="$OPTS_A"; else dir="$B" opts="$OPTS_B"; fi
    rm -rf "${D:?}"/*
    for i in 1 2 3; do
      (cd "$dir" && BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC $opts" exec bin/ballast node --data-dir "$D/n$i" --node-id "n$i" \
        --cluster-id ab --nbd-socket "$D/r$i.sock" --raft-listen "127.0.0.1:1810$i" --admin-listen "127.0.0.1:1800$i") \
        > "$D/n$i.log" 2>&1 &
    done
    for i in 1 2 3; do for _ in $(seq 300); do grep -q "ballast node ready" "$D/n$i.log" && break; sleep 0.1; done; done
    (cd "$dir" && bin/ballast volume create --admin 127.0.0.1:18001 --name r3 --size "$SIZE" --replica n1=127.0.0.1:18101 \
      --replica n2=127.0.0.1:18102 --replica n3=127.0.0.1:18103 && bin/ballast volume attach --admin 127.0.0.1:18001 --name r3) \
      >/dev/null || { echo "volume setup failed with $dir" >&2; exit 1; }
    uri="nbd+unix:///r3?socket=$D/r1.sock"
    fio --name=warm --size="$SIZE" --runtime=15 --time_based --randrepeat=0 --norandommap --ioengine=nbd --uri="$uri" \
      --rw=randwrite --bs=64k --iodepth=16 >/dev/null
    fio --name=seq --size="$SIZE" --runtime=15 --time_based --ramp_time=2 --ioengine=nbd --uri="$uri" --rw=write --bs=1m \
      --iodepth=8 --output-format=json --output="$D/seq.json" >/dev/null || { echo "fio failed (seqwrite) on $side" >&2; exit 1; }
    bw=$(python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['jobs'][0]['write']['bw_bytes']/1048576))" "$D/seq.json")
    fio --name=rand --size="$SIZE" --runtime=15 --time_based --ramp_time=2 --randrepeat=0 --norandommap --ioengine=nbd \
      --uri="$uri" --rw=randwrite --bs=4k --iodepth=32 --output-format=json --output="$D/rand.json" >/dev/null \
      || { echo "fio failed (randwrite) on $side" >&2; exit 1; }
    iops=$(python3 -c "import json,sys; print('%.1fk' % (json.load(open(sys.argv[1]))['jobs'][0]['write']['iops']/1000))" "$D/rand.json")
    seq_row="$seq_row | $bw MiB/s" rand_row="$rand_row | $iops IOPS"
    pkill -9 -f "$D/n" 2>/dev/null; wait 2>/dev/null; sleep 1
  done
  echo "$seq_row$rand_row |"
done
echo
echo "R3 seqwrite-1m-qd8 and randwrite-4k-qd32 after a 15 s warm-up, size $SIZE, $(nproc) cores"
