# Sourced by the bench scripts that run node processes: one work directory, refused when its disk
# lacks the room a run needs, and removed on exit (also on failure) with every process in PIDS.
bench_workdir() { # DIR NEED_BYTES
  rm -rf "$1"; mkdir -p "$1"
  local free; free=$(( $(df -B1 --output=avail "$1" | tail -1) ))
  [ "$free" -gt "$2" ] || { echo "needs $(($2 >> 30)) GiB free under $1, has $((free >> 30))" >&2; rm -rf "$1"; exit 2; }
  declare -gA PIDS=()
  BENCH_DIR="$1"
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$BENCH_DIR"
}
