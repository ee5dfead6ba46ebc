package executor

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/epilogue-dev/epilogue/actionloop"
)

// drainLimit bounds how much one boundary drains, so an action that writes
// without pause cannot hold a response back. Everything written before the
// answer is in the pipe (at most its capacity, 64 KiB by default) or was
// already relayed, so the bound never cuts an activation's own output.
const drainLimit = 1 << 20

// relay copies one of the child's output pipes to the proxy's own stream.
//
// A goroutine relays output as it comes. At an activation boundary the
// proxy, holding mu, reads whatever is left in the pipe itself (non-blocking)
// before writing the sentinel: the action writes its logs before its answer
// and a pipe is FIFO, so once the answer has arrived, all of that output is
// either relayed already or still in the pipe. Reading and relaying happen
// under mu, so no byte can be read by one side and written after the other
// side's sentinel. In the common case a boundary costs one read that finds
// the pipe empty, and no goroutine wakes.
type relay struct {
	src  *os.File // read end of the child's pipe
	rc   syscall.RawConn
	fd   int
	sink *os.File // our copy of the write end, so the pipe never reports EOF early
	out  io.Writer
	done chan struct{} // closed when the relay goroutine returns

	mu        sync.Mutex
	buf       []byte // guarded by mu
	lineStart bool   // guarded by mu; the last byte written was '\n'
	prefix    []byte // guarded by mu; tag for post-response lines, nil while an activation runs
	closed    bool   // guarded by mu; fd must no longer be read
}

func newRelay(src, sink *os.File, out io.Writer) (*relay, error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &relay{src: src, rc: rc, sink: sink, out: out, done: make(chan struct{}), buf: make([]byte, 64<<10), lineStart: true}
	if err := rc.Control(func(fd uintptr) { r.fd = int(fd) }); err != nil {
		return nil, err
	}
	go r.run()
	return r, nil
}

func (r *relay) run() {
	defer close(r.done)
	// Read calls the function again each time the pipe becomes readable; it
	// returns once the function reports the end of the pipe.
	_ = r.rc.Read(func(uintptr) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		end, _ := r.drainLocked(-1)
		return end
	})
}

// drainLocked relays what the pipe holds without blocking, at most limit
// bytes (limit < 0: no bound). end reports EOF or a read error.
func (r *relay) drainLocked(limit int) (end bool, n int) {
	if r.closed {
		return true, 0
	}
	for limit < 0 || n < limit {
		k, err := syscall.Read(r.fd, r.buf)
		if k > 0 {
			r.emitLocked(r.buf[:k])
			n += k
			continue
		}
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			return false, n
		default: // k == 0: EOF
			return true, n
		}
	}
	return false, n
}

// emitLocked writes the action's bytes, tagging each line start while a prefix is set.
func (r *relay) emitLocked(b []byte) {
	if r.prefix == nil {
		_, _ = r.out.Write(b)
		r.lineStart = b[len(b)-1] == '\n'
		return
	}
	out := make([]byte, 0, len(b)+2*len(r.prefix))
	for len(b) > 0 {
		if r.lineStart {
			out = append(out, r.prefix...)
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b...)
			r.lineStart = false
			break
		}
		out = append(out, b[:i+1]...)
		r.lineStart = true
		b = b[i+1:]
	}
	_, _ = r.out.Write(out)
}

// begin ends the previous activation's post-response stretch; pending says
// the pipe may hold bytes (see boundary).
func (r *relay) begin(pending bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if pending {
		r.drainLocked(drainLimit)
	}
	r.endLineLocked()
	r.prefix = nil
}

// end writes the sentinel after everything the action wrote so far and tags
// later output with activationID; pending says the pipe may hold bytes.
func (r *relay) end(activationID string, pending bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if pending {
		r.drainLocked(drainLimit)
	}
	r.endLineLocked()
	_, _ = r.out.Write(sentinelLine)
	r.prefix = []byte(actionloop.PostResponsePrefix(activationID))
}

var sentinelLine = []byte(actionloop.Sentinel + "\n")

// boundary reports, in one poll of both pipes, which may hold bytes at an
// activation boundary. Every byte the action wrote before its answer is
// either still in its pipe, which the poll sees, or already read by the
// relay goroutine, which reads and writes under the relay's lock, so that
// taking the lock afterwards orders it before the sentinel. In the common
// case, an action that logged nothing, a boundary costs this one system
// call instead of a read per pipe. If the poll fails, both count as
// pending.
func boundary(out, errs *relay) (outPending, errPending bool) {
	fds := []unix.PollFd{{Fd: int32(out.fd), Events: unix.POLLIN}, {Fd: int32(errs.fd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return true, true
		}
		return fds[0].Revents != 0, fds[1].Revents != 0
	}
}

// endLineLocked terminates a partial line, so that a sentinel or the next
// activation's output starts on a line of its own.
func (r *relay) endLineLocked() {
	if !r.lineStart {
		_, _ = r.out.Write([]byte{'\n'})
		r.lineStart = true
	}
}

// close stops the relay after it has copied what is left in the pipe.
func (r *relay) close() {
	_ = r.sink.Close()
	select {
	case <-r.done: // EOF: every writer is gone
	case <-time.After(time.Second):
		// A descendant of the action still holds the pipe open.
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	_ = r.src.Close()
	<-r.done
}
