#!/usr/bin/env bash
# The durable-task demo: a real redis-server that fsyncs every write
# (appendonly yes, appendfsync always), `epilogue standalone` with the task
# recoverer built in, and examples/durable-order. An order is answered at
# once and charged in a durable task; the demo kills the charge's container
# mid-task, and the recoverer runs the charge again in a new activation whose
# record says recoveryOf. The revenue is added once: the charge is keyed by
# the task's id.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
auth=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
zip=out/demo/durable-order.zip
lease=2s
# shellcheck source=scripts/demo-lib.sh
. scripts/demo-lib.sh
say() { printf '$ %s\n' "$*"; }
need redis-server redis-cli curl

step "A redis-server that fsyncs its append-only file before every reply"
start_redis --save '' --appendonly yes --appendfsync always
port=$redis_port
redis=127.0.0.1:$port
say "redis-server --port $port --appendonly yes --appendfsync always"

step "epilogue standalone with the task recoverer built in"
say "epilogue standalone --port 0 --prewarm 0 --tasks-redis $redis --tasks-lease $lease"
bin/epilogue standalone --port 0 --data "$work/data" --prewarm 0 --tasks-redis "$redis" --tasks-lease "$lease" >"$work/standalone.out" 2>"$work/standalone.err" &
pids+=("$!")
url=""
for _ in $(seq 200); do
  url=$(sed -n 's/.*OpenWhisk.s API at \(http[^ ]*\).*/\1/p' "$work/standalone.out")
  [ -n "$url" ] && break
  sleep 0.05
done
[ -n "$url" ] || { echo "demo-durable: epilogue standalone did not start:" >&2; cat "$work/standalone.err" >&2; exit 1; }
api=$url/api/v1/namespaces/_

step "The action, with its task store bound as a parameter"
say "wsk action create order --docker epilogue/action-go $zip -p EPILOGUE_TASKS_REDIS $redis -p EPILOGUE_TASKS_LEASE $lease"
printf '{"exec":{"kind":"blackbox","code":"%s","image":"epilogue/action-go"},"parameters":[{"key":"EPILOGUE_TASKS_REDIS","value":"%s"},{"key":"EPILOGUE_TASKS_LEASE","value":"%s"}]}' \
  "$(base64 -w0 "$zip")" "$redis" "$lease" >"$work/action.json"
curl -sS -o /dev/null -u "$auth" -X PUT "$api/actions/order?overwrite=true" -H 'Content-Type: application/json' --data-binary @"$work/action.json"

step "An order: answered at once, charged in a durable task (3 s of work after the charge)"
say "wsk action invoke order -b -p id order-1 -p amount 30 -p redis $redis -p delay_ms 3000"
act=$(curl -sS -u "$auth" -X POST "$api/actions/order?blocking=true" -H 'Content-Type: application/json' \
  -d "{\"id\":\"order-1\",\"amount\":30,\"redis\":\"$redis\",\"delay_ms\":3000}")
id=$(sed -n 's/.*"activationId":"\([^"]*\)".*/\1/p' <<<"$act")
echo "activation $id: $(sed -n 's/.*"result":\({[^}]*}\).*/\1/p' <<<"$act")"
say "epilogue tasks list --redis $redis"
bin/epilogue tasks list --redis "$redis"
echo "revenue of order-1: $(redis-cli -p "$port" get epilogue:revenue:order-1)   (charged; not yet acknowledged)"

step "Kill the charge's container (SIGKILL to its proxy's process group)"
pid=""
for _ in $(seq 100); do
  pid=$(curl -sS "$url/epilogue/pool" | grep -o "{[^{}]*\"lingering\":\[[^]]*\"$id\"[^]]*\][^{}]*}" | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' | head -1)
  [ -n "$pid" ] && break
  sleep 0.05
done
[ -n "$pid" ] || { echo "demo-durable: no container lingers on $id" >&2; exit 1; }
say "kill -KILL -- -$pid"
kill -KILL -- "-$pid"

step "The recoverer takes the task once its $lease lease lapses, and runs it again"
for _ in $(seq 600); do
  [ "$(redis-cli -p "$port" xlen '{epilogue}:tasks')" = 0 ] && break
  sleep 0.1
done
say "epilogue tasks list --redis $redis"
bin/epilogue tasks list --redis "$redis"
say "wsk activation list order   (the recovery's result)"
curl -sS -u "$auth" "$api/activations?name=order&docs=true" | grep -o '"result":{[^}]*"recoveryOf"[^}]*}' || echo "(no recovery recorded)"
echo "revenue of order-1: $(redis-cli -p "$port" get epilogue:revenue:order-1)   (the charge ran twice and was added once)"
