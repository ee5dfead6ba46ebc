package faultnet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds of the proxy. Each is a wait or a buffer that would otherwise be
// unbounded.
const (
	// DialTimeout bounds the dial to the target for one accepted
	// connection; past it the client connection is closed.
	DialTimeout = 5 * time.Second
	// CloseTimeout bounds how long Close waits for the proxy's goroutines.
	CloseTimeout = 5 * time.Second
	// chunkSize is the largest read, so the largest unit a fault acts on.
	chunkSize = 32 << 10
	// queueChunks is how many chunks one direction of one connection holds
	// while they wait out latency or a stall. Past it the proxy stops
	// reading and TCP flow control pushes back on the sender, so a stall
	// costs at most queueChunks*chunkSize bytes per direction.
	queueChunks = 8
	// maxAcceptBackoff caps the wait after a failed Accept (as net/http
	// does), so a burst of EMFILE does not spin.
	maxAcceptBackoff = time.Second
)

// ErrCloseTimeout is returned by Close when the proxy's goroutines did not
// all end within CloseTimeout.
var ErrCloseTimeout = errors.New("faultnet: close timed out")

// Stats counts what the proxy did since Listen.
type Stats struct {
	// Connections is how many client connections were accepted.
	Connections int64
	// DialFailures is how many of them were closed because the target
	// could not be dialed within DialTimeout.
	DialFailures int64
	// Resets is how many connections the proxy reset (ResetAll or the
	// reset probability); resets by a peer are not counted.
	Resets int64
	// BytesUp and BytesDown are the bytes forwarded client→server and
	// server→client.
	BytesUp   int64
	BytesDown int64
}

// Proxy forwards every accepted TCP connection to one target, injecting the
// faults it is told to. All its methods are safe for concurrent use.
type Proxy struct {
	ln     *net.TCPListener
	target string
	// ctx is cancelled by Close: it aborts dials in progress and tells the
	// accept loop that its Accept error is the end.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts every goroutine the proxy started: the accept loop and one
	// handler per connection (each handler waits for its own pumps).
	wg sync.WaitGroup

	latency atomic.Int64 // time.Duration added to every chunk

	connections, dialFailures, resets, bytesUp, bytesDown atomic.Int64

	mu sync.Mutex
	// conns are the open connections; guarded by mu.
	conns map[*conn]struct{}
	// closed is set by Close; guarded by mu. A connection that registers
	// after it is shut at once.
	closed bool
	// stallUntil is when the current stall ends (zero: none), and
	// stallChanged is closed and replaced whenever Stall moves it, so that
	// chunks already waiting re-read it; both guarded by mu.
	stallUntil   time.Time
	stallChanged chan struct{}
	// resetProb and rng draw the per-chunk reset; guarded by mu because
	// *rand.Rand is not safe for concurrent use.
	resetProb float64
	rng       *rand.Rand

	closeOnce sync.Once
	closeErr  error
}

// Listen starts a proxy on listenAddr (a host:port such as "127.0.0.1:0",
// or a Docker bridge gateway such as "172.17.0.1:0" so that containers can
// reach it) that forwards every accepted connection to target (host:port).
// No fault is on until one is set. Call Close when done.
func Listen(listenAddr, target string) (*Proxy, error) {
	if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("faultnet: target %q: %w; pass the host:port of the server to forward to, e.g. the redis-server's 127.0.0.1:6379", target, err)
	}
	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return nil, fmt.Errorf("faultnet: listen on %q: %w; pass a local host:port, e.g. 127.0.0.1:0 (any free port) or the Docker bridge gateway 172.17.0.1:0 for containers", listenAddr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		ln:           ln.(*net.TCPListener),
		target:       target,
		ctx:          ctx,
		cancel:       cancel,
		conns:        make(map[*conn]struct{}),
		stallChanged: make(chan struct{}),
	}
	p.wg.Go(p.acceptLoop)
	return p, nil
}

// Addr is the host:port clients dial to go through the proxy.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays every chunk forwarded in either direction by d, counted
// from when the proxy read it; 0 (or less) turns latency off. Chunks of one
// connection keep their order and are pipelined, so latency does not cut
// throughput, and connections do not wait for each other. A chunk already
// read keeps the latency it was read with.
func (p *Proxy) SetLatency(d time.Duration) { p.latency.Store(int64(max(d, 0))) }

// Stall holds all forwarding, both directions, on existing and new
// connections, from now until d has passed; bytes wait, none are dropped.
// A later Stall replaces the end of the current one (Stall(0) ends it now).
// Connections are still accepted and dialed during a stall.
func (p *Proxy) Stall(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stallUntil = time.Now().Add(d)
	close(p.stallChanged)
	p.stallChanged = make(chan struct{})
}

// ResetAll aborts every open connection with a TCP RST to both the client
// and the target, and returns how many it reset.
// A connection still dialing the target is not open yet.
func (p *Proxy) ResetAll() int {
	n := 0
	for _, c := range p.openConns() {
		if c.shutdown(endInjected) {
			n++
		}
	}
	return n
}

// SetResetProbability makes each client→server chunk reset its connection
// (RST to both sides, the chunk not forwarded) with probability prob,
// clamped to [0, 1]. The draws come from a generator seeded with seed and
// shared by all connections, so a run replays exactly only when its
// connections write in the same order.
func (p *Proxy) SetResetProbability(prob float64, seed int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resetProb = min(max(prob, 0), 1)
	p.rng = rand.New(rand.NewPCG(uint64(seed), 0))
}

// Stats returns the counters so far.
func (p *Proxy) Stats() Stats {
	return Stats{
		Connections:  p.connections.Load(),
		DialFailures: p.dialFailures.Load(),
		Resets:       p.resets.Load(),
		BytesUp:      p.bytesUp.Load(),
		BytesDown:    p.bytesDown.Load(),
	}
}

// Close stops accepting, closes every connection (a plain close, not a
// reset), ends any stall or latency wait, and waits up to CloseTimeout for
// every goroutine the proxy started. It is safe to call more than once;
// later calls return the first one's result.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() { p.closeErr = p.close() })
	return p.closeErr
}

func (p *Proxy) close() error {
	// Set before the snapshot: a connection that registers later is shut
	// by register's check instead.
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()

	p.cancel()
	err := p.ln.Close()
	for _, c := range p.openConns() {
		c.shutdown(endClose)
	}

	finished := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(finished)
	}()
	timer := time.NewTimer(CloseTimeout)
	defer timer.Stop()
	select {
	case <-finished:
	case <-timer.C:
		return fmt.Errorf("%w: goroutines still running after %v; a goroutine dump (SIGQUIT) shows which pump is stuck", ErrCloseTimeout, CloseTimeout)
	}
	if err != nil {
		return fmt.Errorf("faultnet: close listener %s: %w", p.Addr(), err)
	}
	return nil
}

// acceptLoop accepts until Close and starts a handler per connection.
func (p *Proxy) acceptLoop() {
	var backoff time.Duration
	for {
		client, err := p.ln.AcceptTCP()
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			// A transient failure (out of file descriptors, an aborted
			// handshake): wait and retry rather than stop serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), maxAcceptBackoff)
			timer := time.NewTimer(backoff)
			select {
			case <-timer.C:
			case <-p.ctx.Done():
				timer.Stop()
				return
			}
			continue
		}
		backoff = 0
		p.connections.Add(1)
		p.wg.Go(func() { p.handle(client) })
	}
}

// handle dials the target for one client, forwards both ways until both
// directions end, then closes both sockets.
func (p *Proxy) handle(client *net.TCPConn) {
	dialer := net.Dialer{Timeout: DialTimeout}
	nc, err := dialer.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		// The client sees its connection close at once, as it would if the
		// target refused it directly.
		p.dialFailures.Add(1)
		_ = client.Close()
		return
	}
	c := newConn(client, nc.(*net.TCPConn), &p.resets)
	if !p.register(c) {
		c.shutdown(endClose)
		return
	}
	defer p.deregister(c)
	c.forward(p)
}

// openConns is a snapshot of the open connections, to shut outside mu.
func (p *Proxy) openConns() []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	open := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		open = append(open, c)
	}
	return open
}

// register adds c to the open connections, or reports false if the proxy is
// closed.
func (p *Proxy) register(c *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) deregister(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// drawReset reports whether the next client→server chunk resets its
// connection.
func (p *Proxy) drawReset() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rng != nil && p.rng.Float64() < p.resetProb
}

// hold waits until a chunk due at due may be written: the later of due and
// the end of the current stall, re-read whenever Stall moves it. It reports
// false if done closed first (the connection or the proxy is shutting).
func (p *Proxy) hold(due time.Time, done <-chan struct{}) bool {
	for {
		p.mu.Lock()
		until, changed := p.stallUntil, p.stallChanged
		p.mu.Unlock()
		until = later(until, due)
		wait := time.Until(until)
		if wait <= 0 {
			return true
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-changed:
			timer.Stop()
		case <-done:
			timer.Stop()
			return false
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
