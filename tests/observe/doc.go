// Package observe holds the end-to-end test of tracing against a real
// Jaeger: the all-in-one binary built from tools/jaeger (a module of its own,
// so its dependencies stay out of the product's go.mod) runs on loopback
// with in-memory storage, `epilogue standalone` exports to it over OTLP, and
// the test reads the trace of an async-write invocation back from Jaeger's
// query API: invoke → /run → response → tracked work → done → pause.
//
// Its non-test code reads a trace from Jaeger's query API (Fetch) and draws
// it as a text span tree (Render); tracetree is the command `make observe`
// prints traces with (a Jaeger built from its Go module has no UI assets).
//
// Without bin/jaeger (or $EPILOGUE_JAEGER) or redis-server the test skips;
// with CI=true it fails (see package testenv). Run it with:
//
//	make bin/jaeger && go test -race -count=1 ./tests/observe
package observe
