#!/usr/bin/env bash
# `make observe`: epilogue standalone exporting its traces (and its
# runtimes') to a Jaeger all-in-one, Prometheus scraping its /metrics, a
# real redis-server and a short demo workload of examples/async-write; then
# prints where to look and runs until Ctrl-C, which stops every child.
#
# Everything listens on 127.0.0.1; the ports are the usual ones unless set:
#   JAEGER_QUERY_PORT (16686), JAEGER_OTLP_HTTP_PORT (4318),
#   PROMETHEUS_PORT (9090), STANDALONE_PORT (3233)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
auth=23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP
zip=out/observe/async-write.zip
tracetree=out/observe/tracetree
prometheus=${PROMETHEUS:-prometheus}
export JAEGER_QUERY_PORT=${JAEGER_QUERY_PORT:-16686} JAEGER_QUERY_GRPC_PORT=${JAEGER_QUERY_GRPC_PORT:-16685}
export JAEGER_OTLP_HTTP_PORT=${JAEGER_OTLP_HTTP_PORT:-4318} JAEGER_OTLP_GRPC_PORT=${JAEGER_OTLP_GRPC_PORT:-4317}
prom_port=${PROMETHEUS_PORT:-9090}
api_port=${STANDALONE_PORT:-3233}
source scripts/children.sh
trap 'echo; echo "observe: stopping"; exit 0' INT TERM

fail() { echo "observe: $*" >&2; exit 1; }
for f in bin/jaeger bin/epilogue bin/epilogue-proxy "$zip"; do
  [ -x "$f" ] || [ -f "$f" ] || fail "$f is missing: run 'make observe' (it builds everything first)"
done
command -v "$prometheus" >/dev/null || fail "prometheus is missing: run 'make deps' (or apt-get install -y prometheus), or set PROMETHEUS to its path"
for cmd in redis-server redis-cli curl; do
  command -v "$cmd" >/dev/null || fail "$cmd is missing: run 'make deps' (or apt-get install -y redis-server curl)"
done
for p in "$JAEGER_QUERY_PORT" "$JAEGER_QUERY_GRPC_PORT" "$JAEGER_OTLP_HTTP_PORT" "$JAEGER_OTLP_GRPC_PORT" "$prom_port" "$api_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    fail "port $p on 127.0.0.1 is taken: stop what listens there, or choose other ports (JAEGER_QUERY_PORT, JAEGER_OTLP_HTTP_PORT, PROMETHEUS_PORT, STANDALONE_PORT)"
  fi
done

# until_up WHAT PID LOG CMD...: waits up to 60 s for CMD to succeed, failing
# with LOG if process PID exits first.
until_up() {
  local what=$1 pid=$2 log=$3; shift 3
  for _ in $(seq 600); do
    "$@" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$what exited at start (its output is above)"; }
    sleep 0.1
  done
  cat "$log" >&2
  fail "$what did not answer within 60 s (its output is above)"
}

redis_port=$(( 20000 + RANDOM % 40000 ))
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
until_up redis-server "$!" "$work/redis.log" redis-cli -p "$redis_port" ping

bin/jaeger --config tools/jaeger/jaeger.yaml >"$work/jaeger.log" 2>&1 &
pids+=($!)
jaeger=http://127.0.0.1:$JAEGER_QUERY_PORT
until_up Jaeger "$!" "$work/jaeger.log" curl -sSf "$jaeger/api/services"

standalone=http://127.0.0.1:$api_port
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: epilogue-standalone
    static_configs:
      - targets: ['127.0.0.1:$api_port']
EOF
"$prometheus" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
until_up Prometheus "$!" "$work/prometheus.log" curl -sSf "http://127.0.0.1:$prom_port/-/ready"

OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$JAEGER_OTLP_HTTP_PORT OTEL_BSP_SCHEDULE_DELAY=500 \
  bin/epilogue standalone --port "$api_port" --data "$work/data" --pause-grace 1s >"$work/standalone.log" 2>&1 &
pids+=($!)
until_up "epilogue standalone" "$!" "$work/standalone.log" curl -sSf "$standalone/epilogue/pool"

echo "== the demo workload: examples/async-write, acknowledged at once, written to Redis after the response"
api=$standalone/api/v1/namespaces/_
printf '{"namespace":"_","name":"async-write","exec":{"kind":"blackbox","code":"%s","image":"epilogue/action-go"}}' "$(base64 -w0 "$zip")" >"$work/action.json"
curl -sSf -u "$auth" -X PUT "$api/actions/async-write?overwrite=true" -H 'Content-Type: application/json' --data-binary @"$work/action.json" >/dev/null
last=""
for i in 1 2 3 4 5; do
  trace=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  last=$trace
  answer=$(curl -sSf -u "$auth" -X POST "$api/actions/async-write?blocking=true" -H 'Content-Type: application/json' \
    -H "traceparent: 00-$trace-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')-01" \
    -d "{\"id\":\"order-$i\",\"redis\":\"127.0.0.1:$redis_port\",\"delay_ms\":300}")
  echo "order-$i: $(sed -n 's/.*"result":\({[^}]*}\).*/\1/p' <<<"$answer")   trace $trace"
done

echo
echo "== the last invocation's trace, as Jaeger holds it (once its container has paused: the pause follows the last activation)"
"$tracetree" -jaeger "$jaeger" -trace "$last" -until "container pause" -wait 60s || echo "observe: (the services keep running: look at the trace in Jaeger yourself)"

cat <<EOF

== Open
Jaeger         $jaeger/api/traces/$last   (the query API: a Jaeger built from its Go module has no UI
               assets; $tracetree -jaeger $jaeger -trace ID draws any trace as above)
               $jaeger/api/traces?service=epilogue-standalone   (the latest traces)
Prometheus     http://127.0.0.1:$prom_port   (scrapes $standalone/metrics every 5 s)
standalone     $standalone   (wsk property set --apihost $standalone --auth \$AUTH; the pool: $standalone/epilogue/pool)
redis-server   127.0.0.1:$redis_port

AUTH=$auth
Ctrl-C stops everything.
EOF
wait
