package reclaim

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func act(id string, phase completion.Phase, deadline time.Time, sinceResponse time.Duration) completion.Activation {
	return completion.Activation{ID: id, Phase: phase, Start: t0.Add(-time.Second), Deadline: deadline,
		SinceResponseMs: float64(sinceResponse) / float64(time.Millisecond)}
}

func TestDecide(t *testing.T) {
	b := Bounds{MaxLinger: time.Minute, CancelGrace: time.Second}
	tests := []struct {
		name   string
		policy Policy
		acts   []completion.Activation
		now    time.Time
		allow  bool
		forced bool
		until  time.Time
	}{
		{"idle", Epilogue, nil, t0, true, false, time.Time{}},
		{"finished activations only", Epilogue, []completion.Activation{act("a", completion.PhaseDone, t0, 0)}, t0, true, false, time.Time{}},
		{"vanilla ignores lingering work", Vanilla, []completion.Activation{act("a", completion.PhaseResponded, t0.Add(time.Hour), 0)}, t0, true, false, time.Time{}},
		{"lingering: wait for its deadline plus the grace", Epilogue,
			[]completion.Activation{act("a", completion.PhaseResponded, t0.Add(10*time.Second), time.Second)}, t0,
			false, false, t0.Add(11 * time.Second)},
		{"lingering: MaxLinger caps a far deadline", Epilogue,
			[]completion.Activation{act("a", completion.PhaseResponded, t0.Add(time.Hour), 10*time.Second)}, t0,
			false, false, t0.Add(50 * time.Second)},
		{"lingering without a deadline: MaxLinger", Epilogue,
			[]completion.Activation{act("a", completion.PhaseResponded, time.Time{}, 0)}, t0,
			false, false, t0.Add(time.Minute)},
		{"running: its deadline", Epilogue,
			[]completion.Activation{act("a", completion.PhaseRunning, t0.Add(5*time.Second), 0)}, t0,
			false, false, t0.Add(6 * time.Second)},
		{"the latest bound of several wins", Epilogue, []completion.Activation{
			act("a", completion.PhaseResponded, t0.Add(5*time.Second), 0),
			act("b", completion.PhaseResponded, t0.Add(20*time.Second), 0)}, t0,
			false, false, t0.Add(21 * time.Second)},
		{"past the bound: forced", Epilogue,
			[]completion.Activation{act("a", completion.PhaseResponded, t0.Add(10*time.Second), 0)}, t0.Add(11 * time.Second),
			true, true, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := completion.Snapshot{State: completion.StateLingering, Activations: tt.acts, Time: t0}
			d := Decide(tt.policy, Pause, snap, tt.now, b)
			assert.Equal(t, tt.allow, d.Allow, d.Reason)
			assert.Equal(t, tt.forced, d.Forced, d.Reason)
			assert.True(t, tt.until.Equal(d.Until), "until %v; want %v", d.Until, tt.until)
			if tt.forced {
				assert.Equal(t, []string{"a"}, d.Activations)
				assert.Contains(t, d.Reason, "forced")
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"": Epilogue, "epilogue": Epilogue, "vanilla": Vanilla} {
		got, err := ParsePolicy(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParsePolicy("eventual")
	assert.ErrorContains(t, err, `use "epilogue" or "vanilla"`)
}

// scripted is a Source whose answers the test sets; AwaitQuiescent blocks
// until the test makes the runtime quiescent or the timeout passes.
type scripted struct {
	mu      sync.Mutex
	snap    completion.Snapshot
	err     error
	quiet   chan struct{}
	awaited int
}

func (s *scripted) Status(context.Context) (completion.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap, s.err
}

func (s *scripted) AwaitQuiescent(ctx context.Context, timeout time.Duration) (completion.Snapshot, error) {
	s.mu.Lock()
	s.awaited++
	quiet := s.quiet
	s.mu.Unlock()
	select {
	case <-quiet:
		return s.Status(ctx)
	case <-time.After(timeout):
		return completion.Snapshot{}, completion.ErrNotDone
	case <-ctx.Done():
		return completion.Snapshot{}, ctx.Err()
	}
}

func (s *scripted) finish() {
	s.mu.Lock()
	s.snap = completion.Snapshot{State: completion.StateIdle, Time: time.Now()}
	close(s.quiet)
	s.mu.Unlock()
}

func lingering(deadline time.Time) completion.Snapshot {
	return completion.Snapshot{State: completion.StateLingering, Time: time.Now(),
		Activations: []completion.Activation{{ID: "a1", Phase: completion.PhaseResponded, Deadline: deadline}}}
}

func TestGateWaitsForDone(t *testing.T) {
	src := &scripted{snap: lingering(time.Now().Add(time.Hour)), quiet: make(chan struct{})}
	g := &Gate{Policy: Epilogue, Source: src}
	got := make(chan Decision, 1)
	go func() {
		d, err := g.Wait(context.Background(), Pause)
		assert.NoError(t, err)
		got <- d
	}()
	require.Eventually(t, func() bool { src.mu.Lock(); defer src.mu.Unlock(); return src.awaited > 0 }, time.Minute, time.Millisecond)
	select {
	case <-got:
		t.Fatal("the gate opened while work was pending")
	default:
	}
	src.finish()
	select {
	case d := <-got:
		assert.True(t, d.Allow)
		assert.False(t, d.Forced)
	case <-time.After(time.Minute):
		t.Fatal("the gate did not open once the runtime was done")
	}
}

func TestGateForcesAtTheBound(t *testing.T) {
	src := &scripted{snap: lingering(time.Now().Add(50 * time.Millisecond)), quiet: make(chan struct{})}
	g := &Gate{Policy: Epilogue, Source: src, Bounds: Bounds{CancelGrace: 10 * time.Millisecond}}
	start := time.Now()
	d, err := g.Wait(context.Background(), Remove)
	require.NoError(t, err)
	assert.True(t, d.Forced)
	assert.Equal(t, []string{"a1"}, d.Activations)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
}

func TestGateDoesNotTrustASilentRuntime(t *testing.T) {
	src := &scripted{err: errors.New("connection refused"), quiet: make(chan struct{})}
	g := &Gate{Policy: Epilogue, Source: src, Bounds: Bounds{Unreachable: 150 * time.Millisecond}}
	start := time.Now()
	d, err := g.Wait(context.Background(), Pause)
	require.NoError(t, err)
	assert.True(t, d.Forced)
	assert.Contains(t, d.Reason, "did not answer")
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
}

// TestGateNoticesARuntimeThatGoesSilent: a runtime that stops answering
// while the gate waits for its work (frozen, hung) is noticed by the next
// status, within the Unreachable bound, not at the activation's deadline
// an hour away.
func TestGateNoticesARuntimeThatGoesSilent(t *testing.T) {
	src := &scripted{snap: lingering(time.Now().Add(time.Hour)), quiet: make(chan struct{})}
	g := &Gate{Policy: Epilogue, Source: src, Bounds: Bounds{Unreachable: 200 * time.Millisecond}}
	got := make(chan Decision, 1)
	go func() {
		d, err := g.Wait(context.Background(), Pause)
		assert.NoError(t, err)
		got <- d
	}()
	require.Eventually(t, func() bool { src.mu.Lock(); defer src.mu.Unlock(); return src.awaited > 0 }, time.Minute, time.Millisecond)
	src.mu.Lock()
	src.err = errors.New("the runtime did not answer")
	src.mu.Unlock()
	select {
	case d := <-got:
		assert.True(t, d.Forced)
		assert.Contains(t, d.Reason, "did not answer")
	case <-time.After(time.Minute):
		t.Fatal("the gate waited on a silent runtime as if it were still working")
	}
}

func TestGateVanillaAndCancel(t *testing.T) {
	src := &scripted{snap: lingering(time.Now().Add(time.Hour)), quiet: make(chan struct{})}
	d, err := (&Gate{Policy: Vanilla, Source: src}).Wait(context.Background(), Pause)
	require.NoError(t, err)
	assert.True(t, d.Allow)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err = (&Gate{Policy: Epilogue, Source: src}).Wait(ctx, Pause)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestBoundsLimit(t *testing.T) {
	b := Bounds{MaxLinger: time.Minute, CancelGrace: time.Second}
	start := t0.Add(-2 * time.Second)
	tests := []struct {
		name                string
		deadline, responded time.Time
		want                time.Time
	}{
		{"responded: the deadline plus the cancel grace", t0.Add(10 * time.Second), t0, t0.Add(11 * time.Second)},
		{"responded: MaxLinger after the response caps a far deadline", t0.Add(time.Hour), t0, t0.Add(time.Minute)},
		{"responded, no deadline: MaxLinger after the response", time.Time{}, t0, t0.Add(time.Minute)},
		{"running: the deadline plus the grace, however far", t0.Add(time.Hour), time.Time{}, t0.Add(time.Hour + time.Second)},
		{"running, no deadline: MaxLinger after the start", time.Time{}, time.Time{}, start.Add(time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := b.Limit(start, tt.deadline, tt.responded)
			assert.Truef(t, tt.want.Equal(got), "got %v; want %v", got, tt.want)
		})
	}
	assert.Equal(t, t0.Add(DefaultMaxLinger), Bounds{}.Limit(start, time.Time{}, t0), "zero Bounds are the defaults")
}

func TestPolicyWaitsForWork(t *testing.T) {
	assert.True(t, Epilogue.WaitsForWork())
	assert.False(t, Vanilla.WaitsForWork())
}

func TestGateCheck(t *testing.T) {
	tests := []struct {
		name    string
		policy  Policy
		src     *scripted
		allow   bool
		wantErr error
	}{
		{"idle runtime: allowed", Epilogue, &scripted{snap: completion.Snapshot{State: completion.StateIdle}}, true, nil},
		{"lingering: not yet", Epilogue, &scripted{snap: lingering(time.Now().Add(time.Hour))}, false, nil},
		{"silent runtime: not trusted, not yet", Epilogue, &scripted{err: errors.New("connection refused")}, false, ErrNoAnswer},
		{"vanilla does not ask", Vanilla, &scripted{err: errors.New("never asked")}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := (&Gate{Policy: tt.policy, Source: tt.src}).Check(context.Background(), Pause)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.allow, d.Allow, d.Reason)
			assert.False(t, d.Forced, "one check never forces: only Wait's bound does")
		})
	}
}
