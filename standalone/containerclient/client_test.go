package containerclient

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
)

// bound is far above any wait these tests expect, however busy the machine;
// only the tests of a limit wait it out, with a short one of their own.
const bound = time.Minute

// shortLimit is the limit of a request that must time out.
const shortLimit = 300 * time.Millisecond

func addrOf(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

// hang never answers: it reads the request (so that the server notices the
// client going away) and waits for that, at most bound.
func hang(_ http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(bound):
	}
}

// TestInitRetriesUntilListening: the invoker's /init retries connection
// refused every 50 ms, so a proxy that starts listening late still gets it.
func TestInitRetriesUntilListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens: connections are refused

	got := make(chan []byte, 1)
	go func() {
		time.Sleep(200 * time.Millisecond) // the proxy is slow to start
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			got <- []byte(err.Error())
			return
		}
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- b
			_, _ = io.WriteString(w, `{"ok":true}`)
		}))
	}()
	c := New(addr, Config{})
	defer c.Close()
	r, err := c.Init(context.Background(), InitRequest{Name: "a", Main: "main", Binary: true, Code: "UEs=", Env: map[string]string{"__OW_NAMESPACE": "guest"}}, bound)
	require.NoError(t, err)
	assert.True(t, r.OK())
	assert.GreaterOrEqual(t, r.Elapsed, 150*time.Millisecond)
	assert.JSONEq(t, `{"value":{"name":"a","main":"main","binary":true,"code":"UEs=","env":{"__OW_NAMESPACE":"guest"}}}`, string(<-got))
}

func TestInitGivesUpAtTheLimit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	c := New(addr, Config{})
	_, err = c.Init(context.Background(), InitRequest{}, shortLimit)
	assert.ErrorIs(t, err, ErrTimeout)
}

func TestRun(t *testing.T) {
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		w.Header().Set(completion.HeaderPhase, "responded")
		_, _ = io.WriteString(w, "{\"ok\":true}\n")
	}))
	defer srv.Close()
	c := New(addrOf(srv), Config{})
	deadline := time.UnixMilli(1_700_000_000_123)
	r, err := c.Run(context.Background(), RunRequest{
		Value: json.RawMessage(`{"k":"v"}`), Namespace: "guest", ActionName: "/guest/a", ActionVersion: "0.0.1",
		ActivationID: "id1", TransactionID: "tx1", Deadline: deadline,
	}, bound)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, r.StatusCode)
	assert.Equal(t, completion.PhaseResponded, r.Phase)
	assert.False(t, r.Truncated())
	assert.Equal(t, "{\"ok\":true}\n", string(r.Body))
	assert.Equal(t, map[string]any{
		"value": map[string]any{"k": "v"}, "namespace": "guest", "action_name": "/guest/a", "action_version": "0.0.1",
		"activation_id": "id1", "transaction_id": "tx1", "deadline": "1700000000123",
	}, body, "no api_key unless provided; the deadline is a string of epoch ms")
}

func TestRunOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		maxBody int
		check   func(t *testing.T, r Reply, err error)
		limit   time.Duration // 0: bound
	}{
		{"non-200 is a reply", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, `{"error":"boom"}`)
		}, 0, func(t *testing.T, r Reply, err error) {
			require.NoError(t, err)
			assert.Equal(t, http.StatusBadGateway, r.StatusCode)
			assert.False(t, r.OK())
		}, 0},
		{"too long is truncated and measured", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, strings.Repeat("x", 100))
		}, 10, func(t *testing.T, r Reply, err error) {
			require.NoError(t, err)
			assert.True(t, r.Truncated())
			assert.Len(t, r.Body, 10)
			assert.EqualValues(t, 100, r.Length)
		}, 0},
		{"no answer in time", hang, 0, func(t *testing.T, _ Reply, err error) {
			assert.ErrorIs(t, err, ErrTimeout)
		}, shortLimit},
		{"connection dropped", func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			require.NoError(t, err)
			_ = conn.Close()
		}, 0, func(t *testing.T, _ Reply, err error) {
			assert.ErrorIs(t, err, ErrUnreachable)
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			c := New(addrOf(srv), Config{MaxBody: tt.maxBody})
			defer c.Close()
			limit := tt.limit
			if limit == 0 {
				limit = bound
			}
			r, err := c.Run(context.Background(), RunRequest{}, limit)
			tt.check(t, r, err)
		})
	}
}

// TestRunCallerCancels: the caller's own cancellation is not a timeout.
func TestRunCallerCancels(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hang))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := New(addrOf(srv), Config{}).Run(ctx, RunRequest{}, bound)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrTimeout)
}

// timeoutErr is a net.Error that timed out, as a dial past its deadline.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestRefused: what /init retries: a proxy not listening yet, or a container
// whose network drops the connect; not an exchange that failed once begun.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"unreachable", &net.OpError{Op: "dial", Err: syscall.EHOSTUNREACH}, true},
		{"connect timed out", &url.Error{Op: "Post", URL: "http://x/init", Err: &net.OpError{Op: "dial", Err: timeoutErr{}}}, true},
		{"read timed out", &net.OpError{Op: "read", Err: timeoutErr{}}, false},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, false},
		{"eof", io.ErrUnexpectedEOF, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, refused(tc.err))
		})
	}
}
