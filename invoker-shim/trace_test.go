package invokershim_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	invokershim "github.com/epilogue-dev/epilogue/invoker-shim"
	"github.com/epilogue-dev/epilogue/reclaim"
)

// tracedShim starts a shim whose spans go to an in-memory exporter.
func tracedShim(t *testing.T, e env, edit ...func(*invokershim.Config)) (*shim, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	sh := startShim(t, e, t.TempDir(), append([]func(*invokershim.Config){func(c *invokershim.Config) {
		c.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	}}, edit...)...)
	return sh, exp
}

// spanNamed waits until a span named name has ended and returns it.
func spanNamed(t *testing.T, exp *tracetest.InMemoryExporter, name string) tracetest.SpanStub {
	t.Helper()
	var found tracetest.SpanStub
	require.Eventually(t, func() bool {
		for _, sp := range exp.GetSpans() {
			if sp.Name == name {
				found = sp
				return true
			}
		}
		return false
	}, stateBound, poll, "no span %q", name)
	return found
}

func attrs(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// pauseWithWork pauses a traced shim's runtime container while its work is
// held at the gate "work".
func pauseWithWork(t *testing.T, e env) (sh *shim, exp *tracetest.InMemoryExporter, gs *gates, id string) {
	sh, exp = tracedShim(t, e)
	gs = newGates(t, e)
	id, _, _ = sh.gated(t, e, gs, "work")
	sh.mustDocker(t, "pause", id)
	return sh, exp, gs, id
}

// A deferred pause: the intercepted call's span ends when the invoker is
// answered, long before the reclaim's span, which ends done once the work
// is (the gate opened after the pause was answered).
func TestTraceDeferredPause(t *testing.T) {
	e := setup(t)
	t.Parallel()
	_, exp, gs, id := pauseWithWork(t, e)
	call := spanNamed(t, exp, "docker pause")
	gs.openGate("work")
	require.Eventually(t, func() bool { return paused(t, e, id) }, stateBound, poll)

	rec := spanNamed(t, exp, "reclaim pause")
	assert.Equal(t, "done", attrs(rec.Attributes)["epilogue.reclaim.decision"])
	assert.Equal(t, codes.Unset, rec.Status.Code)
	assert.True(t, call.EndTime.Before(rec.EndTime), "the invoker was answered before the deferred pause was sent")
	assert.EqualValues(t, 204, attrs(call.Attributes)["http.response.status_code"])
	assert.Equal(t, "POST", attrs(call.Attributes)["http.request.method"])
	names := map[string]bool{}
	for _, sp := range exp.GetSpans() {
		names[sp.Name] = true
	}
	assert.True(t, names["docker create"], "the intercepted create has a span: %v", names)
}

// A pause whose work outlives the bound is forced: its span says so, with
// the activation it cut, and is an error.
func TestTraceForcedPause(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh, exp := tracedShim(t, e, func(c *invokershim.Config) {
		c.Bounds = reclaim.Bounds{MaxLinger: 500 * time.Millisecond, CancelGrace: 100 * time.Millisecond}
	})
	id, _, act := sh.gated(t, e, newGates(t, e), "work") // never opened
	sh.mustDocker(t, "pause", id)
	rec := spanNamed(t, exp, "reclaim pause")
	a := attrs(rec.Attributes)
	assert.Equal(t, "forced", a["epilogue.reclaim.decision"])
	assert.Contains(t, a["epilogue.reclaim.activations"], act)
	assert.Equal(t, codes.Error, rec.Status.Code)
}

// An unpause that cancels a deferred pause: both calls have their span, and
// the reclaim ends cancelled, not as an error.
func TestTraceCancelledPause(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh, exp, gs, id := pauseWithWork(t, e)
	sh.mustDocker(t, "unpause", id)
	spanNamed(t, exp, "docker unpause")
	rec := spanNamed(t, exp, "reclaim pause")
	assert.Equal(t, "cancelled", attrs(rec.Attributes)["epilogue.reclaim.decision"])
	assert.Equal(t, codes.Unset, rec.Status.Code)
	gs.openGate("work")
}
