#!/usr/bin/env bash
# Rebuilds measured from outside, on 3 local node processes sharing one disk (volume r3 attached on n1):
#   1. Incremental: n3 is killed (-9); fio writes a hot range (4k random writes in the first
#      --hot of the volume) for --outage seconds, enough for the others to purge their logs past
#      n3; n3 is restarted. Reported: the bytes n3's rebuild copied against the volume's size.
#   2. Full copy under load: n3's data directory is wiped and it is added back (every block is
#      copied, paced by the nodes' --rebuild-rate) while fio runs 64k random writes QD8 on the
#      volume. Reported: fio's MiB/s during the copy against the same workload right before it.
# Prints a Markdown table; --out FILE also writes it there. Removes everything it made, also on failure.
# Usage: tests/bench/rebuild-bench.sh [--size 2G] [--hot 16M] [--outage 60] [--rebuild-rate 128M] [--dir D] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=2G HOT=16M OUTAGE=60 RATE=128M DIR="$PWD/target/rebuild-bench" OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2;;
    --hot) HOT="$2"; shift 2;;
    --outage) OUTAGE="$2"; shift 2;;
    --rebuild-rate) RATE="$2"; shift 2;;
    --dir) DIR="$2"; shift 2;;
    --out) OUT="$2"; shift 2;;
    -h|--help) sed -n '2,11p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2;;
  esac
done
command -v fio >/dev/null || { echo "needs fio (apt-get install fio)" >&2; exit 2; }
bytes() { python3 -c "import sys; s=sys.argv[1]; u='KMGT'; print(int(s[:-1]) << (10*(u.index(s[-1].upper())+1)) if s[-1].upper() in u else int(s))" "$1"; }
need=$(( $(bytes "$SIZE") * 3 + (2 << 30) ))
. tests/bench/workdir.sh
bench_workdir "$DIR" "$need"

start_node() { # i
  local i="$1"
  BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC" bin/ballast node --data-dir "$DIR/n$i" --node-id "n$i" \
    --cluster-id rebuild --nbd-socket "$DIR/n$i.sock" --raft-listen "127.0.0.1:1720$i" \
    --admin-listen "127.0.0.1:1730$i" --rebuild-rate "$RATE" >> "$DIR/n$i.log" 2>&1 &
  PIDS[$i]=$!
  for _ in $(seq 600); do grep -q "ballast node ready" "$DIR/n$i.log" && return; sleep 0.1; done
  cat "$DIR/n$i.log" >&2; exit 1
}
fio_mib() { # seconds fio-args... -> MiB/s written
  local t="$1"; shift
  local out="$DIR/fio-$RANDOM.json"
  fio --name=w --size="$SIZE" --runtime="$t" --time_based --randrepeat=0 --norandommap \
    --ioengine=nbd --uri="nbd+unix:///r3?socket=$DIR/n1.sock" --output-format=json --output="$out" "$@" >&2 \
    || { echo "fio failed: $*" >&2; cat "$out" >&2; return 1; }
  python3 -c "import json,sys; print('%.0f' % (json.load(open(sys.argv[1]))['jobs'][0]['write']['bw_bytes'] / 2**20))" "$out"
}
copied() { # n3's rebuild passes, from its log: "copying X of Y bytes (...)", joined
  grep -o "copying [0-9]* of [0-9]* bytes ([^)]*)" "$DIR/n3.log" | paste -sd ';' -
}

for i in 1 2 3; do start_node "$i"; done
bin/ballast volume create --admin 127.0.0.1:17301 --name r3 --size "$SIZE" \
  --replica n1=127.0.0.1:17201 --replica n2=127.0.0.1:17202 --replica n3=127.0.0.1:17203 >&2
bin/ballast volume attach --admin 127.0.0.1:17301 --name r3 >&2
echo "  fill (1M sequential) and warm-up" >&2
fio --name=fill --size="$SIZE" --ioengine=nbd --uri="nbd+unix:///r3?socket=$DIR/n1.sock" --rw=write --bs=1m \
  --iodepth=8 >/dev/null
fio_mib 15 --rw=randwrite --bs=64k --iodepth=8 >/dev/null

echo "  1. n3 down for $OUTAGE s while 4k writes hit the first $HOT" >&2
kill -9 "${PIDS[3]}"; wait "${PIDS[3]}" 2>/dev/null || true
outage_mib=$(fio_mib "$OUTAGE" --rw=randwrite --bs=4k --iodepth=16 --size="$HOT")
start_node 3
for _ in $(seq 600); do [ -n "$(copied)" ] && grep -q "rebuild from .* done" "$DIR/n3.log" && break; sleep 0.5; done
inc="$(copied || true)"
[ -n "$inc" ] || { echo "n3 did not rebuild (it caught up from the log?): raise --outage" >&2; tail -20 "$DIR/n3.log" >&2; exit 1; }

echo "  2. full copy of n3 under 64k random writes QD8" >&2
before=$(fio_mib 20 --rw=randwrite --bs=64k --iodepth=8)
kill -9 "${PIDS[3]}"; wait "${PIDS[3]}" 2>/dev/null || true
rm -rf "$DIR/n3"; : > "$DIR/n3.log"
start_node 3
t0=$(date +%s.%N)
( bin/ballast volume add-replica --admin 127.0.0.1:17301 --name r3 --replica n3=127.0.0.1:17203 >"$DIR/add.log" 2>&1;
  date +%s.%N > "$DIR/add.done" ) &
ADD=$!
during=$(fio_mib 20 --rw=randwrite --bs=64k --iodepth=8)
wait "$ADD" || { cat "$DIR/add.log" >&2; exit 1; }
copy_s=$(python3 -c "print('%.1f' % ($(cat "$DIR/add.done") - $t0))")
full="$(copied)"

table=$(cat <<T
| measure | value |
|---|---|
| incremental rebuild after $OUTAGE s down, 4k writes at $outage_mib MiB/s into the first $HOT | $inc |
| wiped replica added back, paced at $RATE/s: time, copy passes | ${copy_s} s: $full |
| 64k randwrite QD8 before the copy | $before MiB/s |
| 64k randwrite QD8 during the copy (first 20 s) | $during MiB/s |
T
)
echo "$table"
[ -n "$OUT" ] && echo "$table" > "$OUT"
exit 0
