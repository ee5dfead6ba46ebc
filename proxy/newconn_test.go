package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
)

// serveLoopback serves s on a fresh loopback listener until the test ends.
func serveLoopback(t testing.TB, s *Server) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			assert.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10 s of its context's end")
		}
	})
	return ln
}

// statusOnNewConn sends GET /epilogue/status on a connection of its own, as
// the invoker sends each request, and returns the status code.
func statusOnNewConn(t testing.TB, addr string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(c, "GET "+completion.StatusPath+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	return resp.StatusCode
}

// BenchmarkStatusNewConnection is one GET /epilogue/status per connection,
// as the invoker sends /run: the per-connection cost of the server.
func BenchmarkStatusNewConnection(b *testing.B) {
	s := newTestServer(b)
	addr := serveLoopback(b, s).Addr().String()
	b.ReportAllocs()
	for b.Loop() {
		if code := statusOnNewConn(b, addr); code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
	}
}
