package faultnet

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one proxied connection: the accepted client socket and the socket
// dialed to the target.
type conn struct {
	client, server *net.TCPConn
	// done is closed by the first shutdown; every wait of the pumps selects
	// on it, so a shutdown ends them all.
	done chan struct{}
	once sync.Once
	// resets is the proxy's count of injected resets.
	resets *atomic.Int64
}

func newConn(client, server *net.TCPConn, resets *atomic.Int64) *conn {
	return &conn{client: client, server: server, done: make(chan struct{}), resets: resets}
}

// ending is how a conn is shut.
type ending int

const (
	// endClose closes both sockets: the peers see EOF.
	endClose ending = iota
	// endAbort passes a failure on: both peers see a reset.
	endAbort
	// endInjected is a reset the proxy was told to make: as endAbort,
	// and counted in Stats.Resets.
	endInjected
)

// shutdown closes both sockets; an abort first sets SO_LINGER to 0 so that
// the close sends an RST instead of a FIN. It reports whether this call did
// it (false: c was already shut).
func (c *conn) shutdown(how ending) bool {
	did := false
	c.once.Do(func() {
		did = true
		if how == endInjected {
			// Counted before the RST leaves, so that a peer that sees the
			// reset also sees it in Stats.
			c.resets.Add(1)
		}
		close(c.done)
		if how != endClose {
			// A failed SetLinger leaves an orderly close: the peer sees EOF
			// instead of a reset, which the caller can tell from its read.
			_ = c.client.SetLinger(0)
			_ = c.server.SetLinger(0)
		}
		_ = c.client.Close()
		_ = c.server.Close()
	})
	return did
}

// forward runs both directions and returns when all four pumps have ended;
// then both sockets are closed.
func (c *conn) forward(p *Proxy) {
	up := &pump{p: p, c: c, src: c.client, dst: c.server, forwarded: &p.bytesUp, injectResets: true}
	down := &pump{p: p, c: c, src: c.server, dst: c.client, forwarded: &p.bytesDown}
	var wg sync.WaitGroup
	for _, pm := range []*pump{up, down} {
		pm.queue = make(chan chunk, queueChunks)
		wg.Go(pm.readLoop)
		wg.Go(pm.writeLoop)
	}
	wg.Wait()
	c.shutdown(endClose)
}

// chunk is the bytes of one read and when they may be written.
type chunk struct {
	data []byte
	due  time.Time
}

// pump is one direction of a conn: readLoop reads src into queue, writeLoop
// writes queue to dst once each chunk's latency and any stall have passed.
// Splitting the two keeps reading while a chunk waits (so latency is added
// once per chunk, not once per chunk in turn) while the single writer keeps
// the order.
type pump struct {
	p        *Proxy
	c        *conn
	src, dst *net.TCPConn
	queue    chan chunk
	// forwarded counts the bytes written to dst.
	forwarded *atomic.Int64
	// injectResets draws the reset probability per chunk (client→server
	// only).
	injectResets bool
	// readErr is why readLoop stopped; written before queue is closed, read
	// by writeLoop only after it sees queue closed.
	readErr error
}

func (pm *pump) readLoop() {
	defer close(pm.queue)
	buf := make([]byte, chunkSize)
	for {
		n, err := pm.src.Read(buf)
		if n > 0 {
			if pm.injectResets && pm.p.drawReset() {
				pm.c.shutdown(endInjected)
				pm.readErr = errReset
				return
			}
			ch := chunk{
				data: append([]byte(nil), buf[:n]...),
				due:  time.Now().Add(time.Duration(pm.p.latency.Load())),
			}
			select {
			case pm.queue <- ch:
			case <-pm.c.done:
				pm.readErr = net.ErrClosed
				return
			}
		}
		if err != nil {
			pm.readErr = err
			return
		}
	}
}

// errReset marks a pump stopped by an injected reset.
var errReset = errors.New("faultnet: injected reset")

func (pm *pump) writeLoop() {
	for ch := range pm.queue {
		if !pm.p.hold(ch.due, pm.c.done) {
			// Shutting: readLoop sees done too and closes queue; drain
			// so that it never blocks on a full queue.
			continue
		}
		n, err := pm.dst.Write(ch.data)
		pm.forwarded.Add(int64(n))
		if err != nil {
			// The far side is gone abnormally; pass that on as a reset
			// rather than a clean end the other peer could mistake for a
			// complete reply.
			pm.c.shutdown(endAbort)
		}
	}
	if errors.Is(pm.readErr, io.EOF) {
		// An orderly end of this direction: pass the FIN on and let the
		// other direction finish, as a TCP half-close does.
		_ = pm.dst.CloseWrite()
		return
	}
	// A read error (a peer's reset, or our own shutdown): abort both sides
	// so the other peer sees the failure too. No-op if already shut.
	pm.c.shutdown(endAbort)
}
