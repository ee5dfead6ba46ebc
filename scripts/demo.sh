#!/usr/bin/env bash
# The Epilogue demo: start the proxy as OpenWhisk would, initialise the
# examples/linger action (built with `epilogue build`), which answers at once
# and keeps working for 1.5 s, run it, and show the response arriving long
# before the activation is done.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080)
url=http://127.0.0.1:$port
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; }

step "Start epilogue-proxy (as the invoker starts the runtime container)"
show "OW_WAIT_FOR_ACK=1 EPILOGUE_LISTEN=127.0.0.1:$port bin/epilogue-proxy"
(cd "$work" && OW_WAIT_FOR_ACK=1 EPILOGUE_LISTEN=127.0.0.1:$port exec "$root/bin/epilogue-proxy" >proxy.stdout 2>proxy.stderr) &
pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "$url/epilogue/status" && break; sleep 0.05; done

step "POST /init: examples/linger, built with: bin/epilogue build examples/linger -o linger.zip"
printf '{"value":{"name":"linger","main":"main","binary":true,"code":"%s"}}' "$(base64 -w0 out/demo/linger.zip)" >"$work/init.json"
show "curl -X POST $url/init -d @init.json"
curl -sS -X POST "$url/init" -H 'Content-Type: application/json' --data-binary @"$work/init.json"

deadline=$(( $(date +%s%3N) + 60000 ))
step "POST /run: the action answers at once, then its tracked work (sdk.Go) runs for 1500 ms"
show "curl -i -X POST $url/run -d '{\"value\":{\"linger_ms\":1500},\"activation_id\":\"demo-1\",\"deadline\":\"$deadline\"}'"
curl -sS -i -X POST "$url/run" -H 'Content-Type: application/json' \
  -d "{\"value\":{\"linger_ms\":1500},\"activation_id\":\"demo-1\",\"deadline\":\"$deadline\"}" \
  -w '(answered in %{time_total} s)\n' | grep -v '^Date:'

step "GET /epilogue/status: answered, but not done"
show "curl $url/epilogue/status"
curl -sS "$url/epilogue/status"

step "GET /epilogue/await: blocks until the activation is really done"
show "curl '$url/epilogue/await?activation=demo-1&timeout=10s'"
curl -sS "$url/epilogue/await?activation=demo-1&timeout=10s" -w '(done after %{time_total} s more)\n'

step "The action's log as the invoker collects it (the sentinel ends the activation; later lines carry its id)"
sleep 0.1
show "cat proxy.stdout"
cat "$work/proxy.stdout"
