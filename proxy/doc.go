// Package proxy is Epilogue's OpenWhisk action proxy: the HTTP server inside
// the runtime container. Toward the invoker it is the upstream ActionLoop
// proxy (POST /init, POST /run, the same status codes, bodies, log sentinels
// and limits), without upstream's defects. Beyond upstream it answers /run the
// moment the action responds and keeps track of the work the action still
// has pending, which it serves at GET /epilogue/status and
// GET /epilogue/await and pushes to EPILOGUE_NOTIFY_URL; it counts what it
// ran (metrics.go: in the status, and as OTLP metrics when handed a
// MeterProvider).
//
// The proxy owns the HTTP surface and the policy of when a /run may start
// (Semantics). It delegates the executable's pipes to proxy/executor, the
// unpacking of /init code to proxy/archive, the activation state machine to
// proxy/activation, and the bytes on the pipes to actionloop.
package proxy
