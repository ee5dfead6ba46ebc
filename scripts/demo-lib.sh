# Shared by the demos (scripts/demo.sh, scripts/demo-durable.sh): sourced,
# not run, after `work` names the demo's temporary directory.

# Every background process the demo starts; killed, and $work removed, at exit.
# shellcheck source=scripts/children.sh
. scripts/children.sh

# Bold headings on a terminal only: a log file gets no escape codes.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }

# need CMD...: fails the demo with a hint when a command is missing.
need() {
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null || { echo "demo: $cmd is missing: run 'make deps' (or apt-get install -y redis-server curl)" >&2; exit 1; }
  done
}

# start_redis PERSISTENCE...: a redis-server on a free loopback port, its
# files in $work, with the given persistence flags; sets redis_port.
start_redis() {
  for _ in 1 2 3 4 5; do
    redis_port=$(( 20000 + RANDOM % 40000 ))
    redis-server --port "$redis_port" --bind 127.0.0.1 "$@" --dir "$work" >"$work/redis.log" 2>&1 &
    local redis_pid=$!
    for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
    if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then pids+=("$redis_pid"); return; fi
    kill "$redis_pid" 2>/dev/null || true
  done
  echo "demo: redis-server did not start:" >&2
  cat "$work/redis.log" >&2
  exit 1
}
