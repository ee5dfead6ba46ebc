package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRawClientConnections checks the two raw connection modes against a
// real server: one-connection keeps one connection for every request;
// invoker-style opens one per request, asks for keep-alive (so that the
// server does not close first) and closes it itself after the answer, as
// the invoker's NoConnectionReuseStrategy does.
func TestRawClientConnections(t *testing.T) {
	for _, tc := range []struct {
		name           string
		closeEach      bool
		wantDials      int64
		wantConnection string
	}{
		{name: "one-connection", closeEach: false, wantDials: 1, wantConnection: ""},
		{name: "invoker-style", closeEach: true, wantDials: 5, wantConnection: "Keep-Alive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opened, closed atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body := []byte(r.Header.Get("Connection"))
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				_, _ = w.Write(body)
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				switch s {
				case http.StateNew:
					opened.Add(1)
				case http.StateClosed:
					closed.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()

			var dials atomic.Int64
			c := newRawClient(srv.Listener.Addr().String(), time.Minute, &dials, tc.closeEach)
			defer c.close()
			for range 5 {
				resp, body, err := c.post("/run", []byte(`{"value":{}}`))
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, tc.wantConnection, string(body))
				assert.Empty(t, resp.Header.Get("Connection"), "the server must not have closed first")
			}
			assert.Equal(t, tc.wantDials, dials.Load())
			if tc.closeEach {
				// The server sees each connection end: the client closed it.
				require.Eventually(t, func() bool { return closed.Load() == tc.wantDials }, 2*time.Minute, 10*time.Millisecond)
			} else {
				assert.Zero(t, closed.Load(), "the one connection was closed")
			}
			assert.Equal(t, tc.wantDials, opened.Load())
		})
	}
}
