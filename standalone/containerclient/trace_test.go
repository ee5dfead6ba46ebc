package containerclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
)

// The span in the call's context reaches the runtime as its traceparent, on
// /init and /run alike; a call without one adds no header.
func TestTraceParentFollowsTheContext(t *testing.T) {
	got := make(chan []string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Values("traceparent")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	c := New(strings.TrimPrefix(srv.URL, "http://"), Config{})
	defer c.Close()
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2}, SpanID: trace.SpanID{3, 4}, TraceFlags: trace.FlagsSampled})
	traced := trace.ContextWithSpanContext(context.Background(), sc)
	const want = "00-01020000000000000000000000000000-0304000000000000-01"

	_, err := c.Init(traced, InitRequest{Name: "a", Main: "main"}, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, []string{want}, <-got)
	_, err = c.Run(traced, RunRequest{ActivationID: "x"}, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, []string{want}, <-got)
	_, err = c.Run(context.Background(), RunRequest{ActivationID: "y"}, time.Minute)
	require.NoError(t, err)
	assert.Empty(t, <-got)
}
