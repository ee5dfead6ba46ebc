package faultnet_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/internal/faultnet"
)

// ioTimeout bounds every read and write a test makes, so that a proxy bug
// fails the test instead of hanging it.
const ioTimeout = 5 * time.Second

// startEcho runs a real TCP echo server (each connection copies what it
// reads back, then closes after EOF) and returns its address. Cleanup
// closes it and waits for its goroutines.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn // guarded by mu
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				_, _ = io.Copy(c, c)
				_ = c.Close()
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		waitBounded(t, &wg, "echo server goroutines")
	})
	return ln.Addr().String()
}

func waitBounded(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(ioTimeout):
		t.Fatalf("%s still running after %v", what, ioTimeout)
	}
}

// startProxy starts a proxy on loopback in front of target; Cleanup closes
// it (Close is idempotent, so a test may close it first).
func startProxy(t *testing.T, target string) *faultnet.Proxy {
	t.Helper()
	p, err := faultnet.Listen("127.0.0.1:0", target)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// roundTrip writes msg and reads back as many bytes, within ioTimeout.
func roundTrip(c net.Conn, msg []byte) ([]byte, error) {
	if err := c.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		return nil, err
	}
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	got := make([]byte, len(msg))
	_, err := io.ReadFull(c, got)
	return got, err
}

// sendAll writes payload and then half-closes, as a client done sending
// does, from its own goroutine: a large payload fills every buffer on the
// way to the echo server and back unless the test reads meanwhile. The
// first error is sent on the channel (nil if none).
func sendAll(c *net.TCPConn, payload []byte) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(payload)
		if err == nil {
			err = c.CloseWrite()
		}
		done <- err
	}()
	return done
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestPassThrough(t *testing.T) {
	tests := []struct {
		name string
		size int
	}{
		{name: "one byte", size: 1},
		{name: "exactly one chunk", size: 32 << 10},
		{name: "1 MiB spans many chunks", size: 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, startEcho(t))
			c := dial(t, p.Addr())
			payload := randomBytes(tt.size)
			require.NoError(t, c.SetDeadline(time.Now().Add(ioTimeout)))

			sent := sendAll(c, payload)
			// The FIN must travel through the proxy to the echo server and
			// the echo server's FIN back, or ReadAll would time out.
			got, err := io.ReadAll(c)
			require.NoError(t, err)
			require.NoError(t, <-sent)
			require.Len(t, got, len(payload))
			require.True(t, bytes.Equal(payload, got), "echoed bytes differ from the payload")

			// Close waits for the pumps, so the counters are final.
			require.NoError(t, p.Close())
			require.Equal(t, faultnet.Stats{
				Connections: 1,
				BytesUp:     int64(tt.size),
				BytesDown:   int64(tt.size),
			}, p.Stats())
		})
	}
}

func TestLatencyDelaysEachDirection(t *testing.T) {
	const latency = 50 * time.Millisecond
	p := startProxy(t, startEcho(t))
	c := dial(t, p.Addr())
	_, err := roundTrip(c, []byte("warm up")) // the dial is not part of the measure
	require.NoError(t, err)

	p.SetLatency(latency)
	start := time.Now()
	got, err := roundTrip(c, []byte("ping"))
	elapsed := time.Since(start)

	require.NoError(t, err)
	require.Equal(t, []byte("ping"), got)
	// Up and down are each delayed; only a lower bound, a loaded machine
	// may take any longer.
	require.GreaterOrEqual(t, elapsed, 2*latency)
}

func TestLatencyKeepsOrder(t *testing.T) {
	p := startProxy(t, startEcho(t))
	p.SetLatency(20 * time.Millisecond)
	c := dial(t, p.Addr())
	require.NoError(t, c.SetDeadline(time.Now().Add(ioTimeout)))

	// Many small writes become many chunks, each waiting its own latency;
	// the pipeline must keep them in order.
	var want bytes.Buffer
	for i := range 200 {
		msg := []byte{byte(i), byte(i >> 8)}
		want.Write(msg)
		_, err := c.Write(msg)
		require.NoError(t, err)
	}
	got := make([]byte, want.Len())
	_, err := io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, want.Bytes(), got)
}

func TestStallHoldsTrafficAndLosesNothing(t *testing.T) {
	const stall = 300 * time.Millisecond
	p := startProxy(t, startEcho(t))
	c := dial(t, p.Addr())
	_, err := roundTrip(c, []byte("warm up"))
	require.NoError(t, err)

	start := time.Now()
	p.Stall(stall)
	payload := randomBytes(100 << 10)
	sent := sendAll(c, payload)

	// A read that gives up before the stall ends gets nothing.
	require.NoError(t, c.SetReadDeadline(time.Now().Add(stall/3)))
	n, err := c.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.Equal(t, 0, n)

	// After the stall, every byte arrives, in order.
	require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
	got := make([]byte, len(payload))
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), stall)
	require.True(t, bytes.Equal(payload, got), "bytes after the stall differ from the payload")
	require.NoError(t, <-sent)
}

func TestResetAllSendsRST(t *testing.T) {
	p := startProxy(t, startEcho(t))
	c := dial(t, p.Addr())
	_, err := roundTrip(c, []byte("before"))
	require.NoError(t, err)

	require.Equal(t, 1, p.ResetAll())

	require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
	_, err = c.Read(make([]byte, 1))
	require.ErrorIs(t, err, syscall.ECONNRESET)
	require.Equal(t, int64(1), p.Stats().Resets)
	// Nothing is left to reset, and a reset is counted once.
	require.Equal(t, 0, p.ResetAll())
	require.Equal(t, int64(1), p.Stats().Resets)
}

func TestResetProbability(t *testing.T) {
	const writes = 20
	tests := []struct {
		name string
		prob float64
		// wantRoundTrips is how many of the writes are echoed before the
		// first reset (writes: none resets).
		wantRoundTrips int
		wantResets     int64
	}{
		{name: "probability 1 resets on the first write", prob: 1, wantRoundTrips: 0, wantResets: 1},
		{name: "probability 0 never resets", prob: 0, wantRoundTrips: writes, wantResets: 0},
		{name: "above 1 is clamped to 1", prob: 7, wantRoundTrips: 0, wantResets: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, startEcho(t))
			p.SetResetProbability(tt.prob, 42)
			c := dial(t, p.Addr())

			roundTrips := 0
			var lastErr error
			for range writes {
				if _, lastErr = roundTrip(c, []byte("ping")); lastErr != nil {
					break
				}
				roundTrips++
			}

			require.Equal(t, tt.wantRoundTrips, roundTrips)
			if tt.wantResets > 0 {
				require.ErrorIs(t, lastErr, syscall.ECONNRESET)
			}
			require.Equal(t, tt.wantResets, p.Stats().Resets)
		})
	}
}

func TestCloseDuringStallIsPromptAndLeavesNoGoroutines(t *testing.T) {
	echo := startEcho(t)
	before := runtime.NumGoroutine()

	p, err := faultnet.Listen("127.0.0.1:0", echo)
	require.NoError(t, err)
	c := dial(t, p.Addr())
	_, err = roundTrip(c, []byte("warm up"))
	require.NoError(t, err)
	// Long enough that a Close waiting for the stall would hit the bound
	// below, not merely be slow.
	p.Stall(time.Hour)
	_, err = c.Write([]byte("held"))
	require.NoError(t, err)

	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(ioTimeout):
		t.Fatalf("Close did not return within %v during a stall", ioTimeout)
	}

	// The proxy closed the client's connection: the read ends (EOF, or a
	// reset if the held bytes were still unread in the proxy's socket)
	// rather than waiting out the stall.
	require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err)
	require.NotErrorIs(t, err, os.ErrDeadlineExceeded)
	require.NoError(t, c.Close())

	// Eventually runs the condition in a goroutine of its own: hence +1.
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+1 },
		ioTimeout, 10*time.Millisecond, "goroutines left after Close (before: %d)", before)
}

func TestDialFailureClosesClient(t *testing.T) {
	// A port nothing listens on: take one, then free it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	target := ln.Addr().String()
	require.NoError(t, ln.Close())

	p := startProxy(t, target)
	c := dial(t, p.Addr())
	require.NoError(t, c.SetReadDeadline(time.Now().Add(ioTimeout)))
	_, err = c.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF)

	require.NoError(t, p.Close())
	require.Equal(t, faultnet.Stats{Connections: 1, DialFailures: 1}, p.Stats())
}

func TestListenRejectsBadAddresses(t *testing.T) {
	tests := []struct {
		name       string
		listenAddr string
		target     string
		// wantHint is the part of the message that says what to pass.
		wantHint string
	}{
		{name: "listen address without a port", listenAddr: "not-an-address", target: "127.0.0.1:6379", wantHint: "pass a local host:port, e.g. 127.0.0.1:0"},
		{name: "listen address not on this host", listenAddr: "192.0.2.1:0", target: "127.0.0.1:6379", wantHint: "pass a local host:port, e.g. 127.0.0.1:0"},
		{name: "target without a port", listenAddr: "127.0.0.1:0", target: "localhost", wantHint: "pass the host:port of the server to forward to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := faultnet.Listen(tt.listenAddr, tt.target)
			require.Nil(t, p)
			require.ErrorContains(t, err, tt.wantHint)
		})
	}
}

func TestCloseIsIdempotentAndStopsAccepting(t *testing.T) {
	p := startProxy(t, startEcho(t))
	addr := p.Addr()
	require.NoError(t, p.Close())
	require.NoError(t, p.Close())

	_, err := net.DialTimeout("tcp", addr, ioTimeout)
	require.True(t, errors.Is(err, syscall.ECONNREFUSED), "dial after Close: got %v; want ECONNREFUSED", err)
}
