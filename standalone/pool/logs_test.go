package pool

import (
	"context"
	"io"
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

// TestCollector: untagged lines go to the running activation, tagged ones
// to the activation they name even after it ended, the rest is dropped.
func TestCollector(t *testing.T) {
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	c := newCollector(outR, errR)
	first, second := newLogSink(1<<20), newLogSink(1<<20)
	write := func(w *io.PipeWriter, s string) {
		_, err := io.WriteString(w, s)
		require.NoError(t, err)
	}

	write(outW, "proxy starting\n") // before any activation: dropped
	c.begin("a1", first)
	write(outW, "one\n")
	write(errW, "oops\n")
	write(outW, actionloop.Sentinel+"\n")
	write(errW, actionloop.Sentinel+"\n")
	require.True(t, first.awaitSentinels(context.Background(), time.Second))
	c.end()
	c.begin("a2", second)
	write(outW, actionloop.PostResponsePrefix("a1")+"late\n") // a1's, while a2 runs
	write(outW, "two\n")
	write(outW, actionloop.PostResponsePrefix("nobody")+"x\n")
	c.forget("a1")
	write(outW, actionloop.PostResponsePrefix("a1")+"too late\n")
	require.NoError(t, outW.Close())
	require.NoError(t, errW.Close())
	c.wait()

	assert.Equal(t, []string{"stdout: one", "stderr: oops", "stdout: [activation a1] late"}, lines(first))
	assert.Equal(t, []string{"stdout: two"}, lines(second))
	c.mu.Lock()
	assert.Equal(t, 3, c.dropped)
	c.mu.Unlock()
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
