package pool

import (
	"context"
	"encoding/base64"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/backend"
	"github.com/epilogue-dev/epilogue/standalone/backend/process"
	"github.com/epilogue-dev/epilogue/tests/otlpsink"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// traceSuite runs the pool on the process backend: real epilogue-proxy
// runtimes, the test action.
func traceSuite(t *testing.T) *suite {
	exe, err := os.ReadFile(testenv.BuildStatic(t, "./tests/testaction"))
	require.NoError(t, err)
	return &suite{code: base64.StdEncoding.EncodeToString(exe), gateHost: "127.0.0.1", newBackend: func(t *testing.T) backend.Backend {
		b, err := process.New(process.Config{ProxyPath: testenv.BuildStatic(t, "./cmd/epilogue-proxy"), WorkDir: t.TempDir()})
		require.NoError(t, err)
		closeAtEnd(t, b)
		return b
	}}
}

var callerSpan = trace.NewSpanContext(trace.SpanContextConfig{
	TraceID: trace.TraceID{0x4b, 0xf9, 1}, SpanID: trace.SpanID{0x00, 0xf0, 2}, TraceFlags: trace.FlagsSampled, Remote: true})

// invokeHeld invokes an activation that lingers until the test opens its
// gate, as the REST caller callerSpan, and returns once its record is final.
func invokeHeld(t *testing.T, s *suite, p *Pool) *Invocation {
	g := s.gate(t)
	inv, err := p.Invoke(trace.ContextWithRemoteSpanContext(context.Background(), callerSpan),
		Request{Action: s.action("traced"), Params: []byte(held(g, "w")), Subject: "guest"})
	require.NoError(t, err)
	wait(t, inv)
	g.WaitArrived(t, "w", activationBound)
	g.Open("w")
	completed(t, p, inv)
	return inv
}

// TestTraceTree: the caller's span parents the invocation; the container's
// creation is its child; the reclaim wait is linked to it and decided
// done, and ends before the pause it allowed, the invocation's child.
func TestTraceTree(t *testing.T) {
	s := traceSuite(t)
	exp := tracetest.NewInMemoryExporter()
	p := s.newPool(t, Config{PauseGrace: Immediately, TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))})
	inv := invokeHeld(t, s, p)
	eventuallyStates(t, p, "paused")

	byName := map[string]tracetest.SpanStub{}
	for _, sp := range exp.GetSpans() {
		byName[sp.Name] = sp
	}
	invoke, ok := byName["invoke /guest/traced"]
	require.True(t, ok, "spans: %v", exp.GetSpans())
	assert.Equal(t, callerSpan.SpanID(), invoke.Parent.SpanID(), "the caller's span parents the invocation")
	assert.Equal(t, callerSpan.TraceID(), invoke.SpanContext.TraceID())
	attrs := attrMap(invoke.Attributes)
	assert.Equal(t, true, attrs["faas.coldstart"])
	assert.Contains(t, attrs, "epilogue.wait_ms")
	assert.Contains(t, attrs, "epilogue.init_ms")
	assert.Equal(t, "done", attrs["epilogue.completion"])
	assert.Equal(t, inv.ID(), attrs["faas.invocation_id"])

	create := byName["container create"]
	assert.Equal(t, invoke.SpanContext.SpanID(), create.Parent.SpanID(), "the cold start's create is the invocation's child")

	wait := byName["reclaim wait"]
	require.Len(t, wait.Links, 1)
	assert.Equal(t, invoke.SpanContext, wait.Links[0].SpanContext, "the reclaim wait is linked to the activation it waited for")
	assert.Equal(t, reclaim.Done, attrMap(wait.Attributes)["epilogue.reclaim.decision"])
	assert.False(t, wait.EndTime.After(invoke.EndTime), "the wait ended before the invocation's record was final")

	pause, ok := byName["container pause"]
	require.True(t, ok, "spans: %v", exp.GetSpans())
	assert.Equal(t, reclaim.Done, attrMap(pause.Attributes)["epilogue.reclaim.decision"])
	assert.False(t, pause.StartTime.Before(wait.EndTime), "the pause came after the wait")
	assert.Equal(t, invoke.SpanContext.SpanID(), pause.Parent.SpanID(), "the pause is the child of the invocation whose end started its grace")
	assert.Equal(t, invoke.SpanContext.TraceID(), pause.SpanContext.TraceID(), "one trace reads from the invoke to the pause")
}

// TestRuntimeSpansNestUnderTheInvocation: the runtime's spans, exported by
// the proxy itself to a real OTLP receiver, are the invocation's children:
// containerclient carried the traceparent on /init and /run.
func TestRuntimeSpansNestUnderTheInvocation(t *testing.T) {
	sink := otlpsink.New()
	defer sink.Close()
	s := traceSuite(t)
	exp := tracetest.NewInMemoryExporter()
	p := s.newPool(t, Config{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)),
		RuntimeEnv: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": sink.URL}})
	inv := invokeHeld(t, s, p)
	var invoke tracetest.SpanStub
	for _, sp := range exp.GetSpans() {
		if attrMap(sp.Attributes)["faas.invocation_id"] == inv.ID() && sp.Name == "invoke /guest/traced" {
			invoke = sp
		}
	}
	require.True(t, invoke.SpanContext.IsValid())
	want := invoke.SpanContext.SpanID().String()
	spans, ok := sink.WaitFor(activationBound, func(spans []otlpsink.Span) bool {
		n := 0
		for _, sp := range spans {
			if sp.ParentSpanID == want && (sp.Name == "init" || sp.Name == "/guest/traced") {
				n++
			}
		}
		return n == 2
	})
	assert.True(t, ok, "the proxy's /init and activation spans under %s: %+v", want, spans)
}

func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}
