package executor

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/internal/syncbuf"
)

const sentinel = actionloop.Sentinel + "\n"

func newTestRelay(t *testing.T) (*relay, *os.File, *syncbuf.Buffer) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	out := &syncbuf.Buffer{}
	// The test writes as the action would; the relay's sink is a second
	// handle on the same write end.
	sink, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(w.Fd())), os.O_WRONLY, 0)
	require.NoError(t, err)
	rel, err := newRelay(r, sink, out)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close(); rel.close() })
	return rel, w, out
}

func TestRelayOrdersSentinelAndTagsLateOutput(t *testing.T) {
	rel, w, out := newTestRelay(t)
	write := func(s string) { _, err := w.Write([]byte(s)); require.NoError(t, err) }

	rel.begin(pending(rel))
	write("hello\npartial")
	rel.end("a1", pending(rel)) // the bytes are still in the pipe or in flight: end must drain them first
	write("late one\nlate two\n")
	rel.begin(pending(rel))
	write("next\n")
	rel.end("a2", pending(rel))

	want := "hello\npartial\n" + sentinel +
		"[activation a1] late one\n[activation a1] late two\n" +
		"next\n" + sentinel
	assert.Equal(t, want, out.String())
}

func TestRelayCopiesOutputAsItComes(t *testing.T) {
	_, w, out := newTestRelay(t)
	_, err := w.Write([]byte("streamed\n"))
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return out.String() == "streamed\n" }, time.Minute, time.Millisecond)
}

// TestRelayManyBoundaries races the relay goroutine against boundaries: every
// activation's lines must come before its sentinel, whoever reads them.
func TestRelayManyBoundaries(t *testing.T) {
	rel, w, out := newTestRelay(t)
	const n = 300
	var want strings.Builder
	for i := range n {
		rel.begin(pending(rel))
		line := "activation " + strconv.Itoa(i) + " says hi\n"
		_, err := w.Write([]byte(line))
		require.NoError(t, err)
		rel.end(strconv.Itoa(i), pending(rel))
		want.WriteString(line + sentinel)
	}
	assert.Equal(t, want.String(), out.String())
}

// pending is what a boundary finds for one relay.
func pending(r *relay) bool {
	p, _ := boundary(r, r)
	return p
}

func TestBoundarySeesWhatIsInThePipe(t *testing.T) {
	rel, w, _ := newTestRelay(t)
	rel.mu.Lock() // hold the relay goroutine off the pipe
	assert.False(t, pending(rel), "an empty pipe")
	_, err := w.Write([]byte("x\n"))
	require.NoError(t, err)
	assert.True(t, pending(rel), "bytes in the pipe")
	rel.drainLocked(-1)
	rel.mu.Unlock()
	assert.False(t, pending(rel), "drained")
}
