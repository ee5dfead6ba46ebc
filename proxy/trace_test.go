package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/epilogue-dev/epilogue/completion"
)

// workScript speaks the extension by hand, as the SDK does when traced: it
// returns the traceparent it was given, reports two pieces of work, answers,
// and ends the work ("flaky" failing) only once the file $GATE exists.
const workScript = `#!/bin/sh
echo '{"ok":true,"epilogue":1}' >&3
while read -r line; do
  seq=${line#*\"epilogue_seq\":}; seq=${seq%%,*}
  tp=""
  case "$line" in *epilogue_traceparent*) tp=${line#*\"epilogue_traceparent\":\"}; tp=${tp%%\"*};; esac
  echo "{\"epilogue\":\"work\",\"seq\":$seq,\"work\":1,\"name\":\"write\",\"start\":$(date +%s%N)}" >&3
  echo "{\"epilogue\":\"work\",\"seq\":$seq,\"work\":2,\"name\":\"flaky\",\"start\":$(date +%s%N)}" >&3
  echo "{\"epilogue\":\"response\",\"seq\":$seq,\"pending\":[\"flaky\",\"write\"],\"result\":{\"tp\":\"$tp\"}}" >&3
  i=0; while [ ! -e "$GATE" ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i+1)); done
  echo "{\"epilogue\":\"work\",\"seq\":$seq,\"work\":1,\"end\":$(date +%s%N)}" >&3
  echo "{\"epilogue\":\"work\",\"seq\":$seq,\"work\":2,\"end\":$(date +%s%N),\"error\":\"boom\"}" >&3
  echo "{\"epilogue\":\"done\",\"seq\":$seq,\"status\":\"error\",\"error\":\"flaky: boom\",\"errors\":[\"flaky: boom\"]}" >&3
done
`

const callerTraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

func tracedServer(t *testing.T, exp *tracetest.InMemoryExporter, edit ...func(*Config)) (*Server, string) {
	t.Helper()
	cfg := Config{ActionDir: filepath.Join(t.TempDir(), "action"), Stdout: io.Discard, Stderr: io.Discard,
		AckTimeout: time.Minute, WaitForAck: true, Instance: "i1"}
	if exp != nil {
		cfg.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	}
	for _, e := range edit {
		e(&cfg)
	}
	s, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	gate := filepath.Join(t.TempDir(), "gate")
	req := httptest.NewRequest(http.MethodPost, completion.InitPath, strings.NewReader(textInit(workScript, map[string]any{"GATE": gate})))
	req.Header.Set("traceparent", callerTraceParent)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	return s, gate
}

// runTraced posts a /run with the caller's traceparent, opens the gate once
// the answer is in, and waits for the activation's terminal record.
func runTraced(t *testing.T, s *Server, gate, id string) (tp string, rec completion.Activation) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, completion.RunPath,
		strings.NewReader(`{"value":{},"activation_id":"`+id+`","action_name":"/guest/pkg/act"}`))
	req.Header.Set("traceparent", callerTraceParent)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var out struct{ TP string }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	defer os.Remove(gate)
	rec, err := s.reg.Await(t.Context(), id)
	require.NoError(t, err)
	return out.TP, rec
}

func TestActivationSpanTree(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	s, gate := tracedServer(t, exp)
	tp, rec := runTraced(t, s, gate, "act-1")
	require.Equal(t, completion.PhaseFailed, rec.Phase)

	spans := map[string]tracetest.SpanStub{}
	for _, sp := range exp.GetSpans() {
		spans[sp.Name] = sp
	}
	require.Len(t, spans, 4, "init, the activation, write, flaky: %v", names(exp.GetSpans()))
	init, act, write, flaky := spans["init"], spans["/guest/pkg/act"], spans["write"], spans["flaky"]

	// The caller's context is the parent of /init and of the activation;
	// the work nests under the activation; the action got its traceparent.
	for _, sp := range []tracetest.SpanStub{init, act} {
		assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", sp.Parent.TraceID().String())
		assert.Equal(t, "b7ad6b7169203331", sp.Parent.SpanID().String())
		assert.True(t, sp.Parent.IsRemote())
	}
	for _, sp := range []tracetest.SpanStub{write, flaky} {
		assert.Equal(t, act.SpanContext.SpanID(), sp.Parent.SpanID(), "%s is the activation's child", sp.Name)
		assert.Equal(t, act.SpanContext.TraceID(), sp.SpanContext.TraceID())
	}
	assert.Equal(t, "00-"+act.SpanContext.TraceID().String()+"-"+act.SpanContext.SpanID().String()+"-01", tp)

	attrs := map[string]any{}
	for _, kv := range act.Attributes {
		attrs[string(kv.Key)] = kv.Value.AsInterface()
	}
	assert.Equal(t, "act-1", attrs["faas.invocation_id"])
	assert.Equal(t, "/guest/pkg/act", attrs["faas.name"])
	assert.Equal(t, true, attrs["faas.coldstart"])
	assert.Equal(t, "failed", attrs["epilogue.outcome"])
	assert.Equal(t, []string{"flaky: boom"}, attrs["epilogue.errors"])
	assert.Equal(t, codes.Error, act.Status.Code)

	// Order: the response event comes before the work ends (the gate opened
	// after the answer), and the activation ends after its work.
	require.Len(t, act.Events, 1)
	assert.Equal(t, EventResponse, act.Events[0].Name)
	for _, sp := range []tracetest.SpanStub{write, flaky} {
		assert.True(t, act.Events[0].Time.Before(sp.EndTime), "response before %s ended", sp.Name)
		assert.False(t, sp.EndTime.After(act.EndTime), "%s ended before the activation", sp.Name)
		assert.True(t, sp.StartTime.Before(act.Events[0].Time), "%s started before the response", sp.Name)
	}
	assert.Equal(t, codes.Unset, write.Status.Code)
	assert.Equal(t, codes.Error, flaky.Status.Code)
	assert.Equal(t, "boom", flaky.Status.Description)
	assert.False(t, init.EndTime.After(act.StartTime), "/init ended before /run began")

	// The next activation is warm.
	exp.Reset()
	runTraced(t, s, gate, "act-2")
	for _, sp := range exp.GetSpans() {
		if sp.Name == "/guest/pkg/act" {
			for _, kv := range sp.Attributes {
				if kv.Key == "faas.coldstart" {
					assert.False(t, kv.Value.AsBool())
				}
			}
		}
	}
}

// Untraced, the action gets no traceparent, and work frames from an action
// that sends them anyway are ignored, not counted as strays.
func TestUntracedRunCarriesNoTraceParent(t *testing.T) {
	s, gate := tracedServer(t, nil)
	tp, rec := runTraced(t, s, gate, "act-1")
	assert.Empty(t, tp)
	assert.Equal(t, completion.PhaseFailed, rec.Phase)
	assert.Zero(t, s.Snapshot().StrayLines)
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, sp := range spans {
		out = append(out, sp.Name)
	}
	return out
}

// The spans reach the exporter before the runtime says it is idle: that
// answer lets the platform pause the container, which would freeze spans
// still waiting in the batcher.
func TestIdleStatusFlushesSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	cfg := Config{ActionDir: filepath.Join(t.TempDir(), "action"), Stdout: io.Discard, Stderr: io.Discard,
		AckTimeout: time.Minute, WaitForAck: true,
		// A batcher that, left alone, would not export within the test.
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Hour)))}
	s, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	gate := filepath.Join(t.TempDir(), "gate")
	w := do(s, http.MethodPost, completion.InitPath, textInit(workScript, map[string]any{"GATE": gate}))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	runTraced(t, s, gate, "act-1")
	require.Empty(t, exp.GetSpans(), "nothing exported before the idle answer")

	w = do(s, http.MethodGet, completion.StatusPath, "")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `"state":"idle"`)
	assert.Len(t, exp.GetSpans(), 4, "init, the activation and its two pieces of work: %v", names(exp.GetSpans()))
}
