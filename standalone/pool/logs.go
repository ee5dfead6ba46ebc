package pool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/epilogue-dev/epilogue/actionloop"
)

// Log collection bounds.
const (
	// SentinelWait bounds the wait for an activation's sentinels after its
	// answer (OpenWhisk's log collector idles out after 2 s).
	SentinelWait = 2 * time.Second
	// maxLogLine splits longer lines; OpenWhisk's limit is on the total.
	maxLogLine = 64 << 10
	// logTimeFormat is the timestamp OpenWhisk puts before each line.
	logTimeFormat = "2006-01-02T15:04:05.000000000Z07:00"
)

// OpenWhisk's messages about logs (Messages.scala).
const (
	msgLogFailure        = "There was an issue while collecting your logs. Data might be missing."
	msgLogDeveloperError = "The action did not initialize or run as expected. Log data might be missing."
)

func msgLogsTruncated(limit int) string {
	return fmt.Sprintf("Logs were truncated because the total bytes size exceeds the limit of %d bytes.", limit)
}

// Streams of a container.
const (
	streamStdout = "stdout"
	streamStderr = "stderr"
)

// logSink holds one activation's log lines, formatted as OpenWhisk does.
type logSink struct {
	limit int // bytes

	mu        sync.Mutex
	lines     []string // guarded by mu
	size      int      // guarded by mu
	truncated bool     // guarded by mu
	// onLine, if set, is called (without mu) after a line was added.
	onLine func() // guarded by mu

	// sentinels are closed at the activation's sentinel on stdout and stderr.
	sentinelOut, sentinelErr chan struct{}
	outOnce, errOnce         sync.Once
}

func newLogSink(limitBytes int) *logSink {
	return &logSink{limit: limitBytes, sentinelOut: make(chan struct{}), sentinelErr: make(chan struct{})}
}

// add appends one line read at t from stream.
func (s *logSink) add(t time.Time, stream, text string) {
	line := t.UTC().Format(logTimeFormat) + " " + stream + ": " + text
	s.mu.Lock()
	switch {
	case s.truncated:
	case s.size+len(text) > s.limit:
		s.truncated = true
		s.lines = append(s.lines, msgLogsTruncated(s.limit))
	default:
		s.size += len(text)
		s.lines = append(s.lines, line)
	}
	notify := s.onLine
	s.mu.Unlock()
	if notify != nil {
		notify()
	}
}

// note appends a message of the platform's (not counted against the limit).
func (s *logSink) note(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, msg)
}

// sentinel records the end-of-activation line on stream.
func (s *logSink) sentinel(stream string) {
	if stream == streamStdout {
		s.outOnce.Do(func() { close(s.sentinelOut) })
	} else {
		s.errOnce.Do(func() { close(s.sentinelErr) })
	}
}

// awaitSentinels waits for both sentinels, at most d; it reports whether
// both came.
func (s *logSink) awaitSentinels(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for _, ch := range []chan struct{}{s.sentinelOut, s.sentinelErr} {
		select {
		case <-ch:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// snapshot returns a copy of the lines so far.
func (s *logSink) snapshot() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// setOnLine installs the hook called after each later line.
func (s *logSink) setOnLine(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onLine = f
}

// collector follows one container's stdout and stderr and hands each line
// to an activation: an untagged line to the activation currently running,
// a line tagged with actionloop.PostResponsePrefix to the activation it
// names, even long after that activation's sentinel. Lines that belong to
// no known activation (the proxy's own start-up messages, say) are dropped.
type collector struct {
	mu      sync.Mutex
	current *logSink            // guarded by mu; nil between activations
	byID    map[string]*logSink // guarded by mu; activations that may still log
	dropped int                 // guarded by mu

	wg sync.WaitGroup // the two readers
}

// newCollector starts reading both streams; they end at EOF (the container's
// removal) or when closed by the caller.
func newCollector(stdout, stderr io.Reader) *collector {
	c := &collector{byID: map[string]*logSink{}}
	c.wg.Add(2)
	go c.read(streamStdout, stdout)
	go c.read(streamStderr, stderr)
	return c
}

// begin makes sink the destination of untagged lines, for activation id.
func (c *collector) begin(id string, sink *logSink) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.current = sink
	c.byID[id] = sink
}

// end stops sending untagged lines to the current activation; its tagged
// lines still reach it until forget.
func (c *collector) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.current = nil
}

// forget drops activation id: its later lines are dropped.
func (c *collector) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byID, id)
}

// wait returns once both streams have ended.
func (c *collector) wait() { c.wg.Wait() }

func (c *collector) read(stream string, r io.Reader) {
	defer c.wg.Done()
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			line := string(chunk)
			if line[len(line)-1] == '\n' {
				line = line[:len(line)-1]
			}
			c.route(time.Now(), stream, line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// route delivers one line.
func (c *collector) route(t time.Time, stream, line string) {
	c.mu.Lock()
	var sink *logSink
	isSentinel := false
	if id, _, ok := actionloop.PostResponseActivation(line); ok {
		sink = c.byID[id]
	} else {
		sink = c.current
		isSentinel = line == actionloop.Sentinel
	}
	if sink == nil {
		c.dropped++
	}
	c.mu.Unlock()
	switch {
	case sink == nil:
	case isSentinel:
		sink.sentinel(stream)
	default:
		sink.add(t, stream, line)
	}
}
