#!/usr/bin/env bash
# A throwaway Ceph cluster on this machine, the reference Ballast's benchmarks compare against:
# one monitor and three BlueStore OSDs, each OSD's block device a file in DIR (BlueStore writes it
# with O_DIRECT, as it would a disk; vstart.sh, Ceph's own developer cluster, does the same), two
# RBD pools, `rbd3` with 3 copies (one per OSD) and `rbd1` with one, and an image `img` of SIZE in
# each. Built from Debian's packages (ceph-mon ceph-osd ceph-common, and fio's rbd engine); no
# manager, no authentication (Ballast's side of the benchmark runs plaintext too), the client cache
# off (fio's rbd engine then waits for the OSDs as the NBD engine waits for Ballast).
#
# Usage: tests/bench/ceph-rbd.sh up DIR SIZE     start it; clients use CEPH_CONF=DIR/ceph.conf
#        tests/bench/ceph-rbd.sh pids DIR        the daemons' pids (for CPU accounting)
#        tests/bench/ceph-rbd.sh down DIR        stop every daemon and delete DIR
# Exit status 3 from `up`: the packages are missing (the message says which).
set -euo pipefail
cmd="${1:-}" DIR="${2:-}"
[ -n "$cmd" ] && [ -n "$DIR" ] || { sed -n '2,13p' "$0"; exit 2; }

pids() { for f in "$DIR"/run/*.pid; do [ -f "$f" ] && cat "$f"; done; true; }

case "$cmd" in
  pids) pids; exit 0;;
  down)
    for pid in $(pids); do kill "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
      alive=""; for pid in $(pids); do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ -z "$alive" ] && break; sleep 0.2
    done
    for pid in $(pids); do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$DIR"
    exit 0;;
  up) ;;
  *) echo "unknown command: $cmd" >&2; exit 2;;
esac

SIZE="${3:?size, e.g. 2G}"
missing=()
for tool in ceph-mon ceph-osd ceph monmaptool ceph-authtool rbd; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Ceph not installed (no ${missing[*]}): apt-get install ceph-mon ceph-osd ceph-common" >&2
  exit 3
fi
fio --enghelp 2>/dev/null | grep -qw rbd || { echo "this fio has no rbd engine (Debian's has: apt-get install fio)" >&2; exit 3; }

mkdir -p "$DIR"/{run,log}
# The daemons' and commands' chatter goes to a log, shown when a step fails.
exec 3>&2 2>"$DIR/log/setup.log"
trap 'echo "Ceph setup failed; its log:" >&3; cat "$DIR/log/setup.log" >&3' ERR
PORT="${CEPH_MON_PORT:-13300}"
FSID=$(cat /proc/sys/kernel/random/uuid)
# Each OSD's block file (BlueStore allocates all of it): its share of the two pools' four copies
# (SIZE x 4/3) plus room for BlueStore's metadata and allocation slack. nbd-bench.sh counts on this.
bytes=$(numfmt --from=iec "$SIZE")
block=$(( bytes * 3 / 2 + (2 << 30) ))
cat > "$DIR/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$PORT
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
keyring = $DIR/keyring
mon data = $DIR/\$name
osd data = $DIR/\$name
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd pool default size = 3
osd pool default min size = 1
# Three OSDs on one host: replicas go to different OSDs, not hosts.
osd crush chooseleaf type = 0
osd objectstore = bluestore
bluestore block create = true
bluestore block size = $block
bluestore fsck on mkfs = false
osd memory target = 2147483648
[client]
rbd cache = false
CONF
export CEPH_CONF="$DIR/ceph.conf"

ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$DIR/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$PORT]" "$DIR/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" >/dev/null
ceph-mon -i a
ceph osd set-require-min-compat-client luminous >/dev/null 2>&1 || true

for _ in 1 2 3; do
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(ceph osd new "$uuid")
  mkdir -p "$DIR/osd.$id"
  ceph-osd -i "$id" --mkfs --osd-uuid "$uuid" >"$DIR/log/mkfs.$id.log" 2>&1 \
    || { cat "$DIR/log/mkfs.$id.log" >&3; exit 1; }
  ceph-osd -i "$id"
done
for _ in $(seq 120); do
  ceph osd stat 2>/dev/null | grep -q "3 up" && break; sleep 1
done
ceph osd stat | grep -q "3 up" || { echo "the OSDs did not come up; logs in $DIR/log" >&3; ceph osd stat >&3; exit 1; }

for pool in rbd3 rbd1; do
  ceph osd pool create "$pool" 32 32 >/dev/null
  ceph osd pool application enable "$pool" rbd >/dev/null
done
ceph osd pool set rbd1 size 1 --yes-i-really-mean-it >/dev/null
for pool in rbd3 rbd1; do
  timeout 120 rbd create --size "$SIZE" "$pool/img"
done
