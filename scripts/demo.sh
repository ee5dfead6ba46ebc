#!/usr/bin/env bash
# The Epilogue demo: `epilogue standalone` (the process backend: no Docker
# needed), examples/async-write deployed as wsk would deploy it, and a real
# redis-server. The action acknowledges an order at once and writes it to
# Redis after its response. Run it twice: under Epilogue's semantics, then
# under stock OpenWhisk's with a short pause grace, and see which write lands.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
auth=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
zip=out/demo/async-write.zip
delay_ms=1000
# shellcheck source=scripts/demo-lib.sh
. scripts/demo-lib.sh
# quote ARG: ARG as a shell word (single-quoted unless it is plain).
quote() {
  if [[ $1 =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then printf '%s' "$1"; else printf "'%s'" "${1//\'/\'\\\'\'}"; fi
}
# show ARGS...: prints the command ARGS as it is run, the key as $AUTH.
show() {
  local line="" a
  for a in "$@"; do line+=" $(quote "$a")"; done
  printf '$%s\n' "${line//$auth/\$AUTH}"
}
# run_shown ARGS...: shows the command, then runs exactly it.
run_shown() { show "$@"; "$@"; }
# field NAME JSON: the first value of "NAME" in JSON (a number or a string).
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$2" | head -1; }
# pool URL: the pool's containers and what it did, in one line.
pool() {
  local snap
  snap=$(curl -sS "$1/epilogue/pool")
  printf 'containers: %s   pauses=%s removals=%s\n' \
    "$(grep -o '"name":"[^"]*","state":"[^"]*"' <<<"$snap" | sed 's/"name":"\([^"]*\)","state":"\([^"]*\)"/\1 is \2/' | paste -sd, - | sed 's/^$/none/')" \
    "$(field pauses "$snap")" "$(field removals "$snap")"
}
# annotation KEY JSON: the value of annotation KEY in an activation record.
annotation() { sed -n "s/.*{\"key\":\"$1\",\"value\":\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$2" | head -1; }

need redis-server redis-cli curl

step "Start a real redis-server on a free loopback port"
start_redis --save '' --appendonly no
redis="127.0.0.1:$redis_port"
echo "redis-server on $redis"
echo "AUTH=$auth   (OpenWhisk's default guest key: export it to run the commands below yourself)"

# run SEMANTICS ORDER FLAGS...: one standalone server, one invocation.
run() {
  local semantics=$1 order=$2; shift 2
  local data=$work/data-$semantics out=$work/standalone-$semantics.out
  step "epilogue standalone --semantics $semantics${*:+ $*}"
  local server=(bin/epilogue standalone --port 0 --data "$data" --semantics "$semantics" --prewarm 0 "$@")
  show "${server[@]}"
  "${server[@]}" >"$out" 2>"$work/standalone-$semantics.err" &
  local pid=$!
  pids+=("$pid")
  local url=""
  for _ in $(seq 100); do
    url=$(sed -n 's/.*OpenWhisk.s API at \(http[^ ]*\).*/\1/p' "$out")
    [ -n "$url" ] && break
    sleep 0.05
  done
  [ -n "$url" ] || { echo "demo: epilogue standalone did not start:" >&2; cat "$work/standalone-$semantics.err" >&2; exit 1; }
  sed -n 1,2p "$out"
  local api=$url/api/v1/namespaces/_

  echo
  echo "# wsk action create async-write --docker epilogue/action-go $zip   sends:"
  printf '{"namespace":"_","name":"async-write","exec":{"kind":"blackbox","code":"%s","image":"epilogue/action-go"}}' "$(base64 -w0 "$zip")" >"$work/action.json"
  # The command is shown whole; only the answer (which echoes the code) is cut.
  local put=(curl -sS -u "$auth" -X PUT "$api/actions/async-write?overwrite=false" -H 'Content-Type: application/json' --data-binary @"$work/action.json")
  show "${put[@]}"
  "${put[@]}" >"$work/put.out"
  echo "$(cut -c1-120 "$work/put.out")…"

  echo
  echo "# wsk action invoke async-write -b -p id $order -p redis $redis -p delay_ms $delay_ms   sends:"
  local body="{\"id\":\"$order\",\"redis\":\"$redis\",\"delay_ms\":$delay_ms}"
  local act invoke=(curl -sS -u "$auth" -X POST "$api/actions/async-write?blocking=true" -H 'Content-Type: application/json' -d "$body")
  show "${invoke[@]}"
  act=$("${invoke[@]}")
  local id duration init
  id=$(field activationId "$act")
  duration=$(field duration "$act")
  init=$(annotation initTime "$act")
  echo "activation $id: result $(sed -n 's/.*"result":\({[^}]*}\).*/\1/p' <<<"$act"), duration ${duration} ms (${init:-0} ms of it the cold start's /init)"

  step "$semantics: the pool after the response, then $(( delay_ms * 3 / 1000 )) s later"
  show curl -sS "$url/epilogue/pool"
  pool "$url"
  sleep "$(( delay_ms * 3 / 1000 ))"
  pool "$url"

  local rec completion post landed
  rec=$(curl -sS -u "$auth" "$api/activations/$id")
  completion=$(annotation completion "$rec")
  post=$(annotation postResponseDuration "$rec")
  landed=$(redis-cli -p "$redis_port" get "epilogue:ack:$order")
  echo
  echo "record: completion=${completion:-(none)} postResponseDuration=${post:-(none)}"
  show redis-cli -p "$redis_port" get "epilogue:ack:$order"
  echo "${landed:-(nil)}"
  summary+=("$(printf '%-10s %11s %15s %20s   %s' "$semantics" "$(( duration - ${init:-0} )) ms" "${post:+$post ms}" "${completion:-(none)}" "$([ "$landed" = 1 ] && echo 'landed' || echo 'LOST')")")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

summary=()
run epilogue order-1
run vanilla order-2 --pause-grace 50ms --idle-timeout 2s

step "What each semantics did with an acknowledged write ($delay_ms ms of I/O after the response)"
printf '%-10s %11s %15s %20s   %s\n' semantics "response*" "post-response" "record's completion" write
printf '%s\n' "${summary[@]}"
cat <<EOF
* the activation's duration without its cold start's /init

Under epilogue the answer went out at once and the container stayed unpaused
until the write had landed; only then did the pause grace start. Under stock
OpenWhisk semantics the container was paused 50 ms after the answer, with the
write still pending, and removed at the idle timeout: the client holds an
acknowledgement for a write that never happened, and no record says so.
EOF
