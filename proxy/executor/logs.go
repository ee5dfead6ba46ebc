package executor

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/epilogue-dev/epilogue/actionloop"
)

// Marker kinds.
const (
	markSentinel = 'S' // end of an activation's log: write the sentinel, start tagging
	markBegin    = 'B' // a new activation starts: stop tagging
)

// PostResponsePrefix is put in front of every log line an activation writes
// after its response, so that the line can be attributed although it appears
// after the activation's sentinel.
func PostResponsePrefix(activationID string) string {
	return "[activation " + activationID + "] "
}

// relay copies one of the child's output pipes to the proxy's own stream,
// turning markers into sentinels and tagging post-response lines.
type relay struct {
	src  *os.File // read end of the child's pipe
	sink *os.File // the proxy's copy of the write end, for markers
	out  io.Writer
	tag  []byte // marker prefix: NUL ESC + random token; unguessable by the action

	mu      sync.Mutex
	next    uint64            // guarded by mu; last marker number handed out
	owners  map[uint64]string // guarded by mu; marker number → activation id
	passed  uint64            // guarded by mu; last marker the relay has acted on
	advance chan struct{}     // guarded by mu; closed and replaced when passed grows
	done    chan struct{}     // closed when the relay goroutine returns

	// Only the relay goroutine touches these.
	lineStart bool
	prefix    []byte
}

func newRelay(src, sink *os.File, out io.Writer) *relay {
	tok := make([]byte, 8)
	_, _ = rand.Read(tok)
	tag := append([]byte{0, 0x1b}, []byte(hex.EncodeToString(tok))...)
	r := &relay{src: src, sink: sink, out: out, tag: tag, owners: map[uint64]string{},
		advance: make(chan struct{}), done: make(chan struct{}), lineStart: true}
	go r.run()
	return r
}

// markerLen is len(tag) + 16 hex digits of the marker number + the kind.
func (r *relay) markerLen() int { return len(r.tag) + 16 + 1 }

// mark writes a marker into the pipe and returns its number.
func (r *relay) mark(kind byte, owner string) (uint64, error) {
	r.mu.Lock()
	r.next++
	n := r.next
	r.owners[n] = owner
	r.mu.Unlock()
	m := make([]byte, 0, r.markerLen())
	m = append(m, r.tag...)
	m = append(m, []byte(padHex(n))...)
	m = append(m, kind)
	_, err := r.sink.Write(m)
	return n, err
}

func padHex(n uint64) string {
	s := strconv.FormatUint(n, 16)
	return "0000000000000000"[len(s):] + s
}

// waitPassed blocks until marker n has been acted on, the relay has stopped,
// or the timeout passes.
func (r *relay) waitPassed(n uint64, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		r.mu.Lock()
		passed, advance := r.passed, r.advance
		r.mu.Unlock()
		if passed >= n {
			return true
		}
		select {
		case <-advance:
		case <-r.done:
			return false
		case <-t.C:
			return false
		}
	}
}

func (r *relay) run() {
	defer close(r.done)
	buf := make([]byte, 64<<10)
	var carry []byte
	for {
		n, err := r.src.Read(buf)
		if n > 0 {
			data := buf[:n]
			if len(carry) > 0 {
				data = append(carry, data...)
				carry = nil
			}
			carry = r.scan(data)
		}
		if err != nil {
			if len(carry) > 0 {
				r.emit(carry)
			}
			return
		}
	}
}

// scan emits data, acting on complete markers, and returns a trailing
// fragment that may be the start of a marker (to be completed by the next read).
func (r *relay) scan(data []byte) []byte {
	ml := r.markerLen()
	for len(data) > 0 {
		i := bytes.Index(data, r.tag)
		if i < 0 {
			keep := partialTagSuffix(data, r.tag)
			r.emit(data[:len(data)-keep])
			return append([]byte(nil), data[len(data)-keep:]...)
		}
		if len(data)-i < ml {
			r.emit(data[:i])
			return append([]byte(nil), data[i:]...)
		}
		r.emit(data[:i])
		m := data[i : i+ml]
		n, err := strconv.ParseUint(string(m[len(r.tag):len(r.tag)+16]), 16, 64)
		if err == nil {
			r.act(n, m[ml-1])
		}
		data = data[i+ml:]
	}
	return nil
}

// partialTagSuffix returns how many trailing bytes of data could begin tag.
func partialTagSuffix(data, tag []byte) int {
	max := min(len(tag)-1, len(data))
	for k := max; k > 0; k-- {
		if bytes.Equal(data[len(data)-k:], tag[:k]) {
			return k
		}
	}
	return 0
}

func (r *relay) act(n uint64, kind byte) {
	r.mu.Lock()
	owner := r.owners[n]
	delete(r.owners, n)
	r.mu.Unlock()
	switch kind {
	case markSentinel:
		var b []byte
		if !r.lineStart {
			b = append(b, '\n')
		}
		b = append(b, actionloop.Sentinel+"\n"...)
		_, _ = r.out.Write(b)
		r.lineStart = true
		r.prefix = []byte(PostResponsePrefix(owner))
	case markBegin:
		if !r.lineStart {
			_, _ = r.out.Write([]byte{'\n'})
			r.lineStart = true
		}
		r.prefix = nil
	}
	r.mu.Lock()
	r.passed = n
	close(r.advance)
	r.advance = make(chan struct{})
	r.mu.Unlock()
}

// emit writes the action's bytes, tagging each line start while a prefix is set.
func (r *relay) emit(b []byte) {
	if len(b) == 0 {
		return
	}
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

// close stops the relay after it has copied what is left in the pipe.
func (r *relay) close() {
	_ = r.sink.Close()
	select {
	case <-r.done:
	case <-time.After(time.Second):
		_ = r.src.Close() // a descendant still holds the pipe open
		<-r.done
	}
	_ = r.src.Close()
}
