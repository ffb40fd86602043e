#!/usr/bin/env bash
# Where a 3-replica volume's write path spends its CPU. Starts 3 node processes of this checkout
# (plaintext, or mutual TLS with --tls), creates and attaches a 3-replica volume on n1's NBD unix
# socket, warms up with the workload (--warmup seconds, default 60), then records the three nodes
# with perf (call graphs through frame pointers, the JIT's symbol map) for 20 s of the workload and
# prints the nodes' CPU per write, how busy the machine was, and CPU samples per GiB fio wrote by
# category (tests/bench/perf-categories.py): the JIT compilers, GC, the TLS layer (BoringSSL's
# crypto, copies, Netty's TLS code, the socket writes it makes) and everything else, then by code
# (kernel, Java, the JVM). Workloads: seq (1M writes QD8), rand (4k QD32), qd1 (4k QD1, an fsync
# after each). Samples per GiB compare across runs of one machine; the categories say where a
# difference lies. Needs perf and fio; removes what it made, also on failure.
# Usage: tests/bench/write-profile.sh [--tls] [--workload seq|rand|qd1] [--warmup 60] [--size 512M] [--dir /tmp] [--keep DIR]
#   --keep DIR keeps perf.data, the JIT maps' copy and perf script's output in DIR.
set -uo pipefail
cd "$(dirname "$0")/../.."
TLS="" WORKLOAD=seq WARMUP=60 SIZE=512M PARENT=/tmp KEEP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tls) TLS=1; shift;;
    --workload) WORKLOAD="$2"; shift 2;;
    --warmup) WARMUP="$2"; shift 2;;
    --size) SIZE="$2"; shift 2;;
    --dir) PARENT="$2"; shift 2;;
    --keep) KEEP="$2"; shift 2;;
    -h|--help) sed -n '2,13p' "$0"; exit 0;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2;;
  esac
done
case "$WORKLOAD" in
  seq) JOB="--rw=write --bs=1m --iodepth=8";;
  rand) JOB="--rw=randwrite --bs=4k --iodepth=32";;
  qd1) JOB="--rw=randwrite --bs=4k --iodepth=1 --fsync=1";;
  *) echo "--workload is seq, rand or qd1, not $WORKLOAD" >&2; exit 2;;
esac
for tool in perf fio; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install linux-perf fio)" >&2; exit 2; }
done
[ -f csi/target/ballast.jar ] || { echo "no built jar: run ./mvnw -q -o package -DskipTests first" >&2; exit 2; }
# jcmd of the JDK the nodes run on (bin/ballast finds it the same way).
. bin/find-jdk
ballast_find_jdk
JCMD="$JAVA_HOME/bin/jcmd"
. tests/bench/workdir.sh
# Three replicas of the volume, their Raft logs and journals: 4x the volume is ample.
bench_workdir "$PARENT/write-profile.$$" $(( 4 * $(numfmt --from=iec "$SIZE") ))
D="$BENCH_DIR"
cli_env=()
if [ -n "$TLS" ]; then
  bin/ballast certs ca --out "$D/tls/ca" --cluster-id wp >/dev/null || exit 1
  for i in 1 2 3; do bin/ballast certs issue --ca "$D/tls/ca" --name "n$i" --ip 127.0.0.1 --out "$D/tls/n$i" >/dev/null || exit 1; done
  bin/ballast certs issue --ca "$D/tls/ca" --name cli --out "$D/tls/cli" >/dev/null || exit 1
  cli_env=(BALLAST_TLS_DIR="$D/tls/cli")
fi
for i in 1 2 3; do
  tls_args=()
  [ -n "$TLS" ] && tls_args=(--tls-dir "$D/tls/n$i")
  # Frame pointers let perf walk through JIT-compiled frames.
  BALLAST_JAVA_OPTS="-Xmx1g -XX:+UseParallelGC -XX:+PreserveFramePointer" bin/ballast node --data-dir "$D/n$i" \
    --node-id "n$i" --cluster-id wp --nbd-socket "$D/r$i.sock" --raft-listen "127.0.0.1:1820$i" \
    --admin-listen "127.0.0.1:1830$i" "${tls_args[@]}" > "$D/n$i.log" 2>&1 &
  PIDS[n$i]=$!
done
for i in 1 2 3; do
  for _ in $(seq 300); do grep -q "ballast node ready" "$D/n$i.log" && break; sleep 0.1; done
  grep -q "ballast node ready" "$D/n$i.log" || { echo "node n$i did not start; its log: $D/n$i.log" >&2; tail -5 "$D/n$i.log" >&2; exit 1; }
done
env "${cli_env[@]}" bin/ballast volume create --admin 127.0.0.1:18301 --name wp --size "$SIZE" \
  --replica n1=127.0.0.1:18201 --replica n2=127.0.0.1:18202 --replica n3=127.0.0.1:18203 >/dev/null &&
  env "${cli_env[@]}" bin/ballast volume attach --admin 127.0.0.1:18301 --name wp >/dev/null ||
  { echo "volume setup failed" >&2; exit 1; }
uri="nbd+unix:///wp?socket=$D/r1.sock"
echo "warming up for $WARMUP s ($WORKLOAD)" >&2
# shellcheck disable=SC2086
fio --name=warm --size="$SIZE" --runtime="$WARMUP" --time_based --randrepeat=0 --norandommap --ioengine=nbd --uri="$uri" $JOB >/dev/null
# The three node JVMs (bin/ballast execs java).
nodes=$(pgrep -f "$D/n[123] " | tr '\n' ',' | sed 's/,$//')
# shellcheck disable=SC2086
fio --name=measure --size="$SIZE" --runtime=26 --time_based --randrepeat=0 --norandommap --ioengine=nbd --uri="$uri" $JOB \
  --output-format=json --output="$D/fio.json" >/dev/null & fio_pid=$!
sleep 3
echo "recording nodes $nodes for 20 s" >&2
# The nodes' CPU (user + system ticks) and the machine's (/proc/stat's cpu line) around the recording.
node_ticks() { for p in ${nodes//,/ }; do awk '{ print $14 + $15 }' "/proc/$p/stat"; done | awk '{ t += $1 } END { print t }'; }
ticks0=$(node_ticks); read -r _ u0 n0 s0 i0 w0 q0 sq0 _ < /proc/stat
perf record -q -F 297 -g -p "$nodes" -o "$D/perf.data" -- sleep 20 >/dev/null 2>&1 || { echo "perf record failed" >&2; exit 1; }
ticks1=$(node_ticks); read -r _ u1 n1 s1 i1 w1 q1 sq1 _ < /proc/stat
wait "$fio_pid" || { echo "fio failed" >&2; exit 1; }
for p in ${nodes//,/ }; do "$JCMD" "$p" Compiler.perfmap >/dev/null 2>&1; done
perf script -i "$D/perf.data" > "$D/perf.txt" 2>/dev/null
# fio ran 26 s and perf 20 s of it: GiB written during the recording, at fio's mean rate.
gib=$(python3 -c "import json; w = json.load(open('$D/fio.json'))['jobs'][0]['write']; print(w['bw_bytes'] * 20 / 2**30)")
mode=plaintext; [ -n "$TLS" ] && mode="mutual TLS"
ops=$(python3 -c "import json; w = json.load(open('$D/fio.json'))['jobs'][0]['write']; print(w['iops'] * 20)")
all=$(( (u1 + n1 + s1 + i1 + w1 + q1 + sq1) - (u0 + n0 + s0 + i0 + w0 + q0 + sq0) ))
echo "$WORKLOAD writes, $mode, $(python3 -c "print(f'{$gib * 1024 / 20:.0f}')") MiB/s, $(python3 -c "print(f'{$ops / 20:.0f}')") writes/s"
echo "the nodes' CPU per write: $(python3 -c "print(f'{($ticks1 - $ticks0) * 10000 / $ops:.0f}')") µs; the machine's $(nproc) cores were busy $(( 100 * (all - (i1 - i0) - (w1 - w0)) / all )) % (user $(( 100 * ((u1 + n1) - (u0 + n0)) / all )) %, system $(( 100 * ((s1 + q1 + sq1) - (s0 + q0 + sq0)) / all )) %)"
echo "perf samples per GiB written:"
python3 tests/bench/perf-categories.py "$gib" < "$D/perf.txt"
if [ -n "$KEEP" ]; then
  mkdir -p "$KEEP" && cp "$D/perf.data" "$D/perf.txt" "$D/fio.json" "$KEEP"/ && for p in ${nodes//,/ }; do cp "/tmp/perf-$p.map" "$KEEP"/ 2>/dev/null; done
fi
for p in ${nodes//,/ }; do rm -f "/tmp/perf-$p.map"; done
