package sdk_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/sdk"
)

const testTraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

// A traced request: the action sees the traceparent, its HTTP requests
// carry it, and each tracked piece of work (not the handler) is reported by
// a start and an end frame, the ends before the done frame.
func TestTracedActivationReportsWork(t *testing.T) {
	headers := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers <- r.Header.Get("traceparent")
	}))
	defer srv.Close()
	gate := make(chan struct{})
	seen := make(chan string, 1)
	a := start(t, true, func(ctx context.Context, in obj) (obj, error) {
		seen <- sdk.TraceParent(ctx)
		sdk.Go(ctx, "write", func(ctx context.Context) error { <-gate; return nil })
		sdk.Go(ctx, "flaky", func(ctx context.Context) error { <-gate; return errors.New("boom") })
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		resp, err := sdk.HTTPClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return obj{"accepted": true}, nil
	})
	seq := a.run(obj{}, map[string]any{actionloop.TraceKey: testTraceParent})
	assert.Equal(t, testTraceParent, <-seen)
	assert.Equal(t, testTraceParent, <-headers, "the tracked HTTP client sends the traceparent")

	starts := map[uint64]string{}
	ends := map[uint64]actionloop.Frame{}
	var responded bool
	for f := a.frame(); f.Kind != actionloop.KindDone; f = a.frame() {
		require.Equal(t, seq, f.Seq)
		switch {
		case f.Kind == actionloop.KindResponse:
			responded = true
			close(gate) // the work ends only after the response, by construction
		case f.Kind == actionloop.KindWork && f.Start > 0:
			require.NotContains(t, starts, f.Work, "a work number is used once")
			starts[f.Work] = f.Name
		case f.Kind == actionloop.KindWork:
			require.Contains(t, starts, f.Work, "a work ends after it started")
			ends[f.Work] = f
		}
	}
	require.True(t, responded)
	require.Len(t, starts, 3, "write, flaky and the HTTP request; never the handler: %v", starts)
	require.Len(t, ends, 3, "every work ended before the done frame")
	byName := map[string]actionloop.Frame{}
	for id, name := range starts {
		byName[name] = ends[id]
	}
	assert.Contains(t, byName, "write")
	assert.Empty(t, byName["write"].Error)
	assert.Equal(t, "boom", byName["flaky"].Error)
	assert.Contains(t, byName, "http GET "+srv.URL)
}

// Without a traceparent nothing changes: no work frames, no header.
func TestUntracedActivationSendsNoWorkFrames(t *testing.T) {
	headers := make(chan []string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers <- r.Header.Values("traceparent")
	}))
	defer srv.Close()
	gate := make(chan struct{})
	a := start(t, true, func(ctx context.Context, in obj) (obj, error) {
		assert.Empty(t, sdk.TraceParent(ctx))
		sdk.Go(ctx, "write", func(ctx context.Context) error {
			<-gate
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			if err != nil {
				return err
			}
			resp, err := sdk.HTTPClient.Do(req)
			if err == nil {
				_ = resp.Body.Close()
			}
			return err
		})
		return obj{}, nil
	})
	a.run(obj{}, nil)
	f := a.frame()
	require.Equal(t, actionloop.KindResponse, f.Kind)
	close(gate)
	done, _ := a.done()
	assert.Equal(t, actionloop.StatusOK, done.Status)
	assert.Empty(t, <-headers)
	assert.Empty(t, sdk.TraceParent(context.Background()))
}
