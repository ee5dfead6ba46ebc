package conformance

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/tests/otlpsink"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// TestTracesReachAnOTLPCollector drives the real epilogue-proxy binary with
// an SDK action (examples/telemetry: after answering, it POSTs to the
// "collector" the test serves, as tracked work through sdk.HTTPClient),
// tracing configured by the environment alone, and reads the spans a real
// OTLP/HTTP receiver decoded: the caller's traceparent is the activation
// span's parent, the action's work and its HTTP request are the
// activation's children, and the request carried the activation's context.
// The same endpoint receives its OTLP metrics.
func TestTracesReachAnOTLPCollector(t *testing.T) {
	t.Parallel()
	sink := otlpsink.New()
	defer sink.Close()

	release := make(chan struct{})
	gateHeaders := make(chan string, 1)
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gateHeaders <- r.Header.Get("traceparent") // the action's tracked POST, held until release
		select {
		case <-release:
		case <-time.After(time.Minute):
		}
	}))
	defer gate.Close()
	defer close(release)

	exe, err := os.ReadFile(testenv.BuildStatic(t, "./examples/telemetry"))
	require.NoError(t, err)
	p := startProxy(t, withEnv("OW_WAIT_FOR_ACK=1", "OTEL_EXPORTER_OTLP_ENDPOINT="+sink.URL,
		"OTEL_SERVICE_NAME=proxy-under-test", "OTEL_BSP_SCHEDULE_DELAY=50", "OTEL_METRIC_EXPORT_INTERVAL=100",
		completion.EnvBusyPoll+"=10ms"))
	code := base64.StdEncoding.EncodeToString(zipBytes(t, false, entry{Name: "exec", Body: exe, Mode: 0o755}))
	p.mustInit(t, initBody(t, code, true, "main", nil))

	const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req, err := http.NewRequest(http.MethodPost, p.url+"/run",
		strings.NewReader(runBody(t, obj{"collector": gate.URL}, "activation_id=act-e2e", "action_name=/guest/traced")))
	require.NoError(t, err)
	req.Header.Set("traceparent", caller)
	resp, err := p.client.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	var sent string
	select {
	case sent = <-gateHeaders:
	case <-time.After(time.Minute):
		t.Fatal("the action's tracked request never reached the gate")
	}
	release <- struct{}{}

	const want = 3 // the activation, "export spans", "http POST gate"
	spans, ok := sink.WaitFor(time.Minute, func(s []otlpsink.Span) bool {
		n, init := 0, false
		for _, sp := range s {
			if sp.TraceID == "4bf92f3577b34da6a3ce929d0e0e4736" {
				n++
			}
			init = init || sp.Name == "init"
		}
		return n >= want && init
	})
	require.True(t, ok, "spans received: %+v; proxy stderr: %s", spans, p.stderr.String())
	byName := map[string]otlpsink.Span{}
	for _, sp := range spans {
		byName[sp.Name] = sp
	}
	act, ok := byName["/guest/traced"]
	require.True(t, ok, "no activation span in %+v", spans)
	assert.Equal(t, "proxy-under-test", act.Service)
	assert.Equal(t, "00f067aa0ba902b7", act.ParentSpanID, "the caller's traceparent is the parent")
	assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, act.Kind)
	assert.Equal(t, "act-e2e", act.Attrs["faas.invocation_id"])
	assert.Equal(t, true, act.Attrs["faas.coldstart"])
	assert.Equal(t, "done", act.Attrs["epilogue.outcome"])
	assert.Equal(t, "00-"+act.TraceID+"-"+act.SpanID+"-01", sent, "the action got its activation's context; its tracked HTTP client sent it")
	require.Len(t, act.Events, 1)
	assert.Equal(t, "response", act.Events[0].Name)

	for _, name := range []string{"export spans", "http POST " + gate.URL} {
		w, ok := byName[name]
		require.True(t, ok, "no span %q in %+v", name, spans)
		assert.Equal(t, act.SpanID, w.ParentSpanID, "%s is the activation's child", name)
		assert.True(t, act.Events[0].Time.Before(w.End), "%s ended after the response (the gate opened then)", name)
		assert.False(t, w.End.After(act.End), "%s ended before the activation", name)
		assert.Equal(t, tracepb.Status_STATUS_CODE_UNSET, w.StatusCode)
	}
	init := byName["init"]
	assert.False(t, init.End.After(act.Start), "/init ended before /run began")

	// The same endpoint receives the runtime's metrics: the activation,
	// counted done once its work ended, and with busy polling on, its
	// spins (how many, one activation cannot say: its history is short).
	require.Eventually(t, func() bool {
		var done, spins, spinning bool
		for _, pt := range sink.Points() {
			if pt.Service != "proxy-under-test" {
				continue
			}
			done = done || pt.Name == "epilogue.proxy.activations" && pt.Attrs["outcome"] == "done" && pt.Value == 1
			spins = spins || pt.Name == "epilogue.proxy.busy_poll.spins" && pt.Attrs["outcome"] == "caught"
			spinning = spinning || pt.Name == "epilogue.proxy.busy_poll.time"
		}
		return done && spins && spinning
	}, time.Minute, 20*time.Millisecond, "metric points received: %+v", sink.Points())
}
