# Sourced by the bench scripts that count the bytes a disk received during a workload.

# The block device under DIR, as /proc/diskstats names it; empty when that is not a plain disk.
bench_disk_of() {
  local d; d=$(basename "$(df --output=source "$1" | tail -1)")
  if grep -qw "$d" /proc/diskstats; then echo "$d"; fi
}

# Bytes written to DISK since boot (/proc/diskstats); 0 for an empty DISK.
bench_disk_bytes() {
  if [ -n "$1" ]; then awk -v d="$1" '$3 == d { printf "%.0f\n", $10 * 512 }' /proc/diskstats; else echo 0; fi
}
