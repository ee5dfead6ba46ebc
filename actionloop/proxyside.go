package actionloop

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// ProxyReader is the proxy's half of fd 3: the executable's ack, then its
// answers. It is not safe for concurrent use: one long-lived reader owns it.
type ProxyReader struct {
	r        *Reader
	extended bool
}

// NewProxyReader reads fd 3 with lines capped at maxLine bytes.
func NewProxyReader(r io.Reader, maxLine int) *ProxyReader {
	return &ProxyReader{r: NewReader(r, maxLine)}
}

// ErrNoAck means fd 3 ended before the executable sent its ack: it exited.
var ErrNoAck = errors.New("actionloop: fd 3 closed before the ack")

// ReadAck reads the start-up ack. From then on Next reads extension frames
// if the ack announced the extension, plain answers otherwise.
func (p *ProxyReader) ReadAck() (Ack, error) {
	line, err := p.r.ReadLine()
	if err != nil {
		if errors.Is(err, ErrLineTooLong) {
			return Ack{}, err
		}
		return Ack{}, ErrNoAck
	}
	a, err := ParseAck(line)
	if err != nil {
		return Ack{}, err
	}
	p.extended = a.Extended()
	return a, nil
}

// Extended reports whether the ack announced the extension.
func (p *ProxyReader) Extended() bool { return p.extended }

// Next returns the next message on fd 3 as a frame. Upstream mode: every
// line is the answer to the request in flight, returned as a response frame
// with Done set, Seq 0 (the reader cannot know which request it answers;
// its owner pairs it) and the line, copied, as Result. Extended mode: the
// parsed frame.
//
// Errors: ErrLineTooLong (wrapped) for a line over the cap, which was
// skipped (the reader stays usable); ErrNotFrame (wrapped) for an extended
// line that is not a well-formed frame, with the line (valid until the next
// call) for the caller to count or log; anything else is the end of fd 3
// (io.EOF: the executable closed it or exited).
func (p *ProxyReader) Next() (Frame, []byte, error) {
	line, err := p.r.ReadLine()
	if err != nil {
		return Frame{}, nil, err
	}
	if !p.extended {
		return Frame{Kind: KindResponse, Done: true, Result: append([]byte(nil), line...)}, line, nil
	}
	f, err := ParseFrame(line)
	return f, line, err
}

// ProxyWriter is the proxy's half of stdin: request lines and control
// frames, one whole line per write. It is safe for concurrent use (a cancel
// may be sent while a request is written).
type ProxyWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte // guarded by mu
}

// NewProxyWriter writes to the executable's stdin.
func NewProxyWriter(w io.Writer) *ProxyWriter { return &ProxyWriter{w: w} }

// Request writes a /run body as one request line; seq > 0 (extended mode)
// is spliced in as SeqKey, and with it a non-empty traceparent as TraceKey.
// body must be a JSON object, as ParseRequest has checked.
func (p *ProxyWriter) Request(body []byte, seq uint64, traceparent string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = AppendRequestLine(p.buf[:0], body, seq, traceparent)
	return p.flushLocked()
}

// Cancel asks the executable to stop the work of request seq: its deadline
// has come. The executable answers with a done frame of status expired.
func (p *ProxyWriter) Cancel(seq uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf[:0], `{"epilogue":"cancel","seq":`...)
	p.buf = strconv.AppendUint(p.buf, seq, 10)
	p.buf = append(p.buf, "}\n"...)
	return p.flushLocked()
}

func (p *ProxyWriter) flushLocked() error {
	if _, err := p.w.Write(p.buf); err != nil {
		return fmt.Errorf("actionloop: writing to the action's stdin: %w", err)
	}
	if cap(p.buf) > 64<<10 {
		p.buf = nil // a large request once should not pin its buffer for ever
	}
	return nil
}
