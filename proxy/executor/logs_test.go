package executor

import (
	"bytes"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionloop"
)

// syncBuffer is a bytes.Buffer safe for the relay goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const sentinel = actionloop.Sentinel + "\n"

func TestRelayOrdersSentinelAndTagsLateOutput(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	out := &syncBuffer{}
	rel := newRelay(r, w, out)
	defer rel.close()

	write := func(s string) { _, err := w.Write([]byte(s)); require.NoError(t, err) }
	mark := func(kind byte, owner string) {
		n, err := rel.mark(kind, owner)
		require.NoError(t, err)
		require.True(t, rel.waitPassed(n, 5*time.Second))
	}
	mark(markBegin, "")
	write("hello\npartial")
	mark(markSentinel, "a1")
	write("late one\nlate two\n")
	mark(markBegin, "")
	write("next\n")
	mark(markSentinel, "a2")

	want := "hello\npartial\n" + sentinel +
		"[activation a1] late one\n[activation a1] late two\n" +
		"next\n" + sentinel
	assert.Equal(t, want, out.String())
}

// TestRelayScanSplitsAnywhere feeds the same stream cut at every position:
// a marker split across two reads must still be recognised.
func TestRelayScanSplitsAnywhere(t *testing.T) {
	rel := &relay{tag: []byte("\x00\x1btoken"), owners: map[uint64]string{1: "a1"}, advance: make(chan struct{}), lineStart: true}
	marker := string(rel.tag) + padHex(1) + string(rune(markSentinel))
	stream := []byte("out\x00put\n" + marker + "after\n")
	want := "out\x00put\n" + sentinel + "[activation a1] after\n"
	for cut := 0; cut <= len(stream); cut++ {
		out := &syncBuffer{}
		r := &relay{tag: rel.tag, owners: map[uint64]string{1: "a1"}, advance: make(chan struct{}), lineStart: true, out: out}
		carry := r.scan(append([]byte(nil), stream[:cut]...))
		rest := append(carry, stream[cut:]...)
		if carry := r.scan(rest); len(carry) > 0 {
			r.emit(carry)
		}
		require.Equal(t, want, out.String(), "cut at %d", cut)
	}
}

func TestPartialTagSuffix(t *testing.T) {
	tag := []byte("\x00\x1babc")
	tests := []struct {
		data string
		want int
	}{
		{"xyz", 0},
		{"xyz\x00", 1},
		{"xyz\x00\x1bab", 4},
		{"\x00\x1babc", 0}, // a whole tag is not a partial one
		{"xyz\x00q", 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, partialTagSuffix([]byte(tt.data), tag), "%q", tt.data)
	}
}
