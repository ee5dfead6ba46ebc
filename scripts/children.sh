# Sourced by the scripts that start long-running children (demo.sh, demo-durable.sh,
# observe.sh): each appends the pid of what it starts to pids; at exit every
# child is stopped and waited for, and the script's $work directory removed.
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
