package executor

import (
	"errors"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestPoller(t *testing.T, budget time.Duration) (*busyPoller, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close(); _ = w.Close() })
	b, err := newBusyPoller(r, budget, nil)
	require.NoError(t, err)
	return b, w
}

// TestBusyPollerSpinsOnlyWhenAnswersAreFast: the decision to spin follows
// the last eight outcomes; a budget of 0 never spins.
func TestBusyPollerSpinsOnlyWhenAnswersAreFast(t *testing.T) {
	for _, tc := range []struct {
		name     string
		budget   time.Duration
		outcomes []bool // oldest first
		spins    bool
	}{
		{name: "no history yet", budget: time.Hour, spins: false},
		{name: "eight in time", budget: time.Hour, outcomes: slices.Repeat([]bool{true}, 8), spins: true},
		{name: "six of eight in time", budget: time.Hour, outcomes: []bool{false, false, true, true, true, true, true, true}, spins: true},
		{name: "five of eight in time", budget: time.Hour, outcomes: []bool{false, false, false, true, true, true, true, true}, spins: false},
		{name: "old misses are forgotten", budget: time.Hour, outcomes: append(slices.Repeat([]bool{false}, 20), slices.Repeat([]bool{true}, 6)...), spins: true},
		{name: "recent misses stop it", budget: time.Hour, outcomes: append(slices.Repeat([]bool{true}, 20), slices.Repeat([]bool{false}, 3)...), spins: false},
		{name: "budget 0", budget: 0, outcomes: slices.Repeat([]bool{true}, 8), spins: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newTestPoller(t, tc.budget)
			for _, inTime := range tc.outcomes {
				b.record(inTime)
			}
			b.arm()
			assert.Equal(t, tc.spins, b.due.Load() != 0)
			b.answered()
			assert.Zero(t, b.due.Load(), "the answer ends the spin")
		})
	}
}

// TestBusyPollerRecordsOutcomes: an answer within the budget counts as in
// time, a later one and an exchange that gave up as slow.
func TestBusyPollerRecordsOutcomes(t *testing.T) {
	fast, _ := newTestPoller(t, time.Hour)
	fast.arm()
	fast.answered()
	fast.arm()
	fast.gaveUp()
	assert.Equal(t, uint32(0b10), fast.inTime.Load())

	slow, _ := newTestPoller(t, time.Nanosecond)
	slow.arm()
	time.Sleep(time.Millisecond) // the answer comes after the budget, on any machine
	slow.answered()
	assert.Equal(t, uint32(0), slow.inTime.Load())
}

// TestBusyPollerRead: whether the reader spins, sleeps, or is woken from
// its sleep by arm, it returns exactly what was written, and EOF at the end;
// its spins are counted by how they ended.
func TestBusyPollerRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		budget time.Duration
		fast   bool // eight answers in time before the request, so arm spins
		spins  bool // the reader is seen spinning on the empty pipe before the answer is written
		giveUp bool // the exchange gives up while the reader spins
		// the spins counted: caught (ended by the answer), slept (ended
		// without it)
		caught, slept uint64
	}{
		{name: "never spins", budget: 0},
		{name: "spins until the answer", budget: time.Hour, fast: true, spins: true, caught: 1},
		{name: "spin budget runs out, then sleeps", budget: time.Nanosecond, fast: true},
		{name: "the exchange gives up while it spins, then sleeps", budget: time.Hour, fast: true, spins: true, giveUp: true, slept: 1},
		{name: "history slow, sleeps", budget: time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, w := newTestPoller(t, tc.budget)
			if tc.fast {
				for range 8 {
					b.record(true)
				}
			}
			got := make(chan []byte, 1)
			errs := make(chan error, 1)
			go func() {
				// As the executor's reader: the answer, then answered (or
				// nothing, when the exchange gave up) before the next read.
				first := make([]byte, len("answer\n"))
				_, err := io.ReadFull(b, first)
				if err == nil && !tc.giveUp {
					b.answered()
				}
				rest, rerr := io.ReadAll(b)
				got <- append(first, rest...)
				errs <- errors.Join(err, rerr)
			}()
			// The reader sleeps on the empty pipe until arm wakes it (when
			// the history is fast) or the data arrives.
			b.arm()
			if tc.spins {
				require.Eventually(t, func() bool { return b.emptyReads.Load() > 0 }, time.Minute, time.Millisecond,
					"arm woke the sleeping reader, which now spins on the empty pipe")
			}
			if tc.giveUp {
				b.gaveUp()
				require.Eventually(t, func() bool { return b.stats.Counts().Slept > 0 }, time.Minute, time.Millisecond,
					"the reader stops spinning once the exchange gave up")
			}
			_, err := w.Write([]byte("answer\n"))
			require.NoError(t, err)
			_, err = w.Write([]byte("done frame\n"))
			require.NoError(t, err)
			require.NoError(t, w.Close())
			select {
			case data := <-got:
				assert.Equal(t, "answer\ndone frame\n", string(data))
				assert.NoError(t, <-errs, "arm's wake-up never surfaces as an error")
				if tc.budget == 0 || !tc.fast {
					assert.Zero(t, b.emptyReads.Load(), "a reader that may not spin only sleeps")
				}
			case <-time.After(time.Minute):
				t.Fatal("the reader did not return within a minute")
			}
			c := b.stats.Counts()
			assert.Equal(t, [2]uint64{tc.caught, tc.slept}, [2]uint64{c.Caught, c.Slept}, "spins caught, slept")
			assert.Equal(t, tc.spins, c.Spinning > 0, "time spent spinning: %s", c.Spinning)
		})
	}
}
