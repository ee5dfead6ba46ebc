package activation

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
)

// recorder collects events in order.
type recorder struct {
	mu     sync.Mutex
	events []completion.Event
}

func (r *recorder) add(e completion.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) phases() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Type == completion.Quiescent {
			out = append(out, "quiescent")
			continue
		}
		out = append(out, string(e.Activation.Phase))
	}
	return out
}

func TestLifecycle(t *testing.T) {
	tests := []struct {
		name   string
		drive  func(r *Registry)
		phase  completion.Phase
		events []string
	}{
		{"done at response", func(r *Registry) { r.Respond(1, true, nil, nil) },
			completion.PhaseDone, []string{"running", "done", "quiescent"}},
		{"done after lingering", func(r *Registry) {
			r.Respond(1, false, []string{"write"}, nil)
			r.Finish(1, Outcome{Phase: completion.PhaseDone})
		}, completion.PhaseDone, []string{"running", "responded", "done", "quiescent"}},
		{"post-response failure", func(r *Registry) {
			r.Respond(1, false, []string{"write"}, nil)
			r.Finish(1, Outcome{Phase: completion.PhaseFailed, Error: "boom", Errors: []string{"boom"}})
		}, completion.PhaseFailed, []string{"running", "responded", "failed", "quiescent"}},
		{"process died while running", func(r *Registry) { r.FailAll("exited") },
			completion.PhaseFailed, []string{"running", "failed", "quiescent"}},
		{"late report cannot rewrite a terminal phase", func(r *Registry) {
			r.Respond(1, true, nil, nil)
			r.Finish(1, Outcome{Phase: completion.PhaseFailed})
			r.Respond(1, false, []string{"x"}, nil)
		}, completion.PhaseDone, []string{"running", "done", "quiescent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			r := New(Config{OnEvent: rec.add})
			r.Begin(1, "a1", time.Time{})
			assert.Equal(t, completion.StateRunning, r.State())
			tt.drive(r)
			got, ok := r.Lookup("a1")
			require.True(t, ok)
			assert.Equal(t, tt.phase, got.Phase)
			assert.Equal(t, completion.StateIdle, r.State())
			assert.Equal(t, tt.events, rec.phases())
		})
	}
}

func TestAwait(t *testing.T) {
	r := New(Config{})
	r.Begin(1, "a1", time.Time{})
	r.Respond(1, false, []string{"write"}, nil)
	assert.Equal(t, completion.StateLingering, r.State())

	short, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	rec, err := r.Await(short, "a1")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, completion.PhaseResponded, rec.Phase)
	assert.Equal(t, []string{"write"}, rec.Pending)
	require.ErrorIs(t, r.AwaitQuiescent(short), context.DeadlineExceeded)

	got := make(chan completion.Activation)
	go func() {
		rec, _ := r.Await(context.Background(), "a1")
		got <- rec
	}()
	r.Finish(1, Outcome{Phase: completion.PhaseDone})
	select {
	case rec := <-got:
		assert.Equal(t, completion.PhaseDone, rec.Phase)
		assert.Empty(t, rec.Pending)
	case <-time.After(time.Minute): // far above a busy machine's delay
		t.Fatal("Await did not return after Finish")
	}
	require.NoError(t, r.AwaitQuiescent(context.Background()))

	_, err = r.Await(context.Background(), "nope")
	require.ErrorIs(t, err, ErrUnknown)
}

func TestDeadlineCancelsThenExpires(t *testing.T) {
	cancelled := make(chan uint64, 1)
	r := New(Config{CancelGrace: 20 * time.Millisecond, OnCancel: func(seq uint64) { cancelled <- seq }})
	r.Begin(7, "a7", time.Now().Add(20*time.Millisecond))
	r.Respond(7, false, []string{"slow write"}, nil)

	select {
	case seq := <-cancelled:
		assert.Equal(t, uint64(7), seq)
	case <-time.After(time.Minute): // far above a busy machine's delay
		t.Fatal("OnCancel was not called at the deadline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rec, err := r.Await(ctx, "a7")
	require.NoError(t, err)
	assert.Equal(t, completion.PhaseExpired, rec.Phase)
	assert.Equal(t, []string{"slow write"}, rec.Unfinished)
	assert.Contains(t, rec.Error, "deadline")
}

func TestExpiredReportedByActionWins(t *testing.T) {
	r := New(Config{CancelGrace: time.Hour, OnCancel: func(seq uint64) {}})
	r.Begin(1, "a1", time.Now().Add(time.Hour))
	r.Respond(1, false, []string{"w"}, nil)
	r.Finish(1, Outcome{Phase: completion.PhaseExpired, Unfinished: []string{"w"}})
	rec, _ := r.Lookup("a1")
	assert.Equal(t, completion.PhaseExpired, rec.Phase)
	assert.Equal(t, []string{"w"}, rec.Unfinished)
}

func TestHistoryIsBounded(t *testing.T) {
	r := New(Config{History: 2})
	for i := uint64(1); i <= 3; i++ {
		r.Begin(i, string(rune('a'+i)), time.Time{})
		r.Respond(i, true, nil, nil)
	}
	_, acts := r.Snapshot()
	require.Len(t, acts, 2)
	assert.Equal(t, uint64(2), acts[0].Seq)
	_, ok := r.Lookup("b")
	assert.False(t, ok, "the oldest record is forgotten")
}

// TestLive: what a drain waits for — the live activations in start order
// and the latest deadline among them; finished ones drop out.
func TestLive(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r := New(Config{Now: func() time.Time { return base }})
	ids, latest := r.Live()
	assert.Empty(t, ids)
	assert.True(t, latest.IsZero())

	r.Begin(1, "a", base.Add(time.Minute))
	r.Begin(2, "b", base.Add(3*time.Minute))
	r.Begin(3, "c", base.Add(2*time.Minute))
	require.True(t, r.Respond(1, false, []string{"write"}, nil))
	ids, latest = r.Live()
	assert.Equal(t, []string{"a", "b", "c"}, ids)
	assert.Equal(t, base.Add(3*time.Minute), latest)

	require.True(t, r.Respond(2, true, nil, nil))
	ids, latest = r.Live()
	assert.Equal(t, []string{"a", "c"}, ids)
	assert.Equal(t, base.Add(2*time.Minute), latest)
	r.FailAll("stopped")
	ids, _ = r.Live()
	assert.Empty(t, ids)
}
