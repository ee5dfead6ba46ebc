package pool

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionloop"
)

// lines returns the sink's lines without their timestamps.
func lines(s *logSink) []string {
	var out []string
	for _, l := range s.snapshot() {
		if _, rest, ok := strings.Cut(l, "Z "); ok && len(l) > 30 && l[4] == '-' {
			l = rest
		}
		out = append(out, l)
	}
	return out
}

// TestCollectorRoutes: untagged lines go to the running activation, tagged
// ones to the activation they name even after it ended, the rest is
// dropped.
func TestCollectorRoutes(t *testing.T) {
	c := &collector{byID: map[string]*logSink{}}
	first, second := newLogSink(1<<20), newLogSink(1<<20)
	now := time.Now()
	out := func(line string) { c.route(now, streamStdout, line) }

	out("proxy starting") // before any activation: dropped
	c.begin("a1", first)
	out("one")
	c.route(now, streamStderr, "oops")
	out(actionloop.Sentinel)
	c.route(now, streamStderr, actionloop.Sentinel)
	require.True(t, first.awaitSentinels(context.Background(), time.Second))
	c.end()
	c.begin("a2", second)
	out(actionloop.PostResponsePrefix("a1") + "late") // a1's, while a2 runs
	out("two")
	out(actionloop.PostResponsePrefix("nobody") + "x")
	c.forget("a1")
	out(actionloop.PostResponsePrefix("a1") + "too late")

	assert.Equal(t, []string{"stdout: one", "stderr: oops", "stdout: [activation a1] late"}, lines(first))
	assert.Equal(t, []string{"stdout: two"}, lines(second))
	assert.Equal(t, 3, c.dropped)
}

// TestCollectorReads: both streams are read to their end, line by line; a
// line longer than maxLogLine is split, a last line without newline kept.
func TestCollectorReads(t *testing.T) {
	long := strings.Repeat("x", maxLogLine+5)
	sink := newLogSink(1 << 20)
	c := &collector{byID: map[string]*logSink{}}
	c.begin("a1", sink)
	c.wg.Add(2)
	go c.read(streamStdout, strings.NewReader("a\n"+long+"\nlast"))
	go c.read(streamStderr, strings.NewReader("e\n"))
	c.wait()
	got := lines(sink)
	assert.ElementsMatch(t, []string{"stdout: a", "stdout: " + long[:maxLogLine], "stdout: xxxxx", "stdout: last", "stderr: e"}, got)
}

func TestSinkLimit(t *testing.T) {
	s := newLogSink(10)
	now := time.Now()
	s.add(now, streamStdout, "12345")
	s.add(now, streamStdout, "67890")
	s.add(now, streamStdout, "x")
	s.add(now, streamStdout, "y")
	assert.Equal(t, []string{"stdout: 12345", "stdout: 67890", msgLogsTruncated(10)}, lines(s))

	none := newLogSink(0) // limits.logs 0: nothing is kept
	none.add(now, streamStderr, "a")
	assert.Equal(t, []string{msgLogsTruncated(0)}, lines(none))
}

func TestSentinelsTimeOut(t *testing.T) {
	s := newLogSink(1 << 20)
	s.sentinel(streamStdout)
	assert.False(t, s.awaitSentinels(context.Background(), 20*time.Millisecond), "stderr's sentinel never came")
	s.sentinel(streamStderr)
	s.sentinel(streamStderr) // twice is harmless
	assert.True(t, s.awaitSentinels(context.Background(), time.Second))
}

// FuzzCollector: a container's output is whatever its action writes. The
// collector never panics, every line it keeps names its stream, and an
// activation's lines stay within its log limit.
func FuzzCollector(f *testing.F) {
	f.Add([]byte("a\nb\n"), []byte("c"))
	f.Add([]byte(actionloop.Sentinel+"\n[activation a1] x\n"), []byte("\n\n\n"))
	f.Add([]byte(strings.Repeat("x", maxLogLine+10)), []byte("[activation a1]"))
	f.Fuzz(func(t *testing.T, stdout, stderr []byte) {
		const limit = 256
		sink := newLogSink(limit)
		c := &collector{byID: map[string]*logSink{}}
		c.begin("a1", sink) // before any byte is read
		c.wg.Add(2)
		go c.read(streamStdout, strings.NewReader(string(stdout)))
		go c.read(streamStderr, strings.NewReader(string(stderr)))
		c.wait()
		size := 0
		for _, l := range sink.snapshot() {
			if l == msgLogsTruncated(limit) {
				continue
			}
			_, text, ok := strings.Cut(l, ": ")
			require.True(t, ok, "line %q has no stream", l)
			size += len(text)
		}
		require.LessOrEqual(t, size, limit)
	})
}
