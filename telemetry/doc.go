// Package telemetry owns Epilogue's OpenTelemetry setup: which exporters the
// standard OTEL_* environment variables ask for (traces, and, for a binary
// that asks WithMetrics, metrics), the resource naming the
// service, the W3C tracecontext propagator, and a bounded flush at exit.
//
// Tracing is off unless the environment configures an OTLP endpoint (or
// OTEL_TRACES_EXPORTER=otlp): Setup then returns a no-op tracer provider,
// starts no goroutine and opens no connection, so a binary that links this
// package costs nothing on its hot paths while tracing is off. Callers ask
// Enabled (or check for a nil provider in their own configuration) before
// building span attributes.
//
// The package does not decide what is traced: the proxy, the standalone
// server and the shim create their own spans from the provider they are
// handed. It never imports them.
package telemetry
