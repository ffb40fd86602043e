#!/usr/bin/env bash
# A/B of the checkpoint interval alone: two one-replica nodes side by side, the default log budget
# (a checkpoint every 64 MiB of entries) and --log-budget 4G (every ~1.9 GiB); fio 1M seqwrite QD8 on
# each in turn, three rounds after a warm-up; then the checkpoints taken and the raft/ sizes.
# Usage: tests/bench/log-budget-ab.sh   (uses target/ab, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/../.."
D="$PWD/target/ab"; rm -rf $D; mkdir -p $D
trap 'pkill -f "cluster-id ab" || true; sleep 1; rm -rf $D' EXIT
start() { BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC" bin/ballast node --data-dir "$D/$1" --node-id "$1" --cluster-id ab \
  --nbd-socket "$D/$1.sock" --raft-listen "127.0.0.1:$2" --admin-listen "127.0.0.1:$3" $4 > "$D/$1.log" 2>&1 &
  for _ in $(seq 300); do grep -q "ballast node ready" "$D/$1.log" && break; sleep 0.1; done; }
start a 17601 17611 ""
start b 17602 17612 "--log-budget 4G"
bin/ballast volume create --admin 127.0.0.1:17611 --name va --size 1G --replica a=127.0.0.1:17601 >/dev/null 2>&1
bin/ballast volume create --admin 127.0.0.1:17612 --name vb --size 1G --replica b=127.0.0.1:17602 >/dev/null 2>&1
bin/ballast volume attach --admin 127.0.0.1:17611 --name va >/dev/null 2>&1
bin/ballast volume attach --admin 127.0.0.1:17612 --name vb >/dev/null 2>&1
run() { fio --name=w --size=1G --runtime=$3 --time_based --ramp_time=2 --ioengine=nbd --uri="nbd+unix:///$1?socket=$D/$2.sock" \
  --rw=write --bs=1m --iodepth=8 --output-format=json --output=$D/o.json >/dev/null
  python3 -c "import json; print('%.0f' % (json.load(open('$D/o.json'))['jobs'][0]['write']['bw_bytes']/2**20))"; }
run va a 10 >/dev/null; run vb b 10 >/dev/null   # warm-up
for round in 1 2 3; do
  echo "round $round: default budget $(run va a 15) MiB/s, 4G budget $(run vb b 15) MiB/s"
done
echo "snapshots taken: a $(grep -c 'snapshot at' $D/a.log), b $(grep -c 'snapshot at' $D/b.log)"
du -s -B1M $D/a/raft $D/b/raft
