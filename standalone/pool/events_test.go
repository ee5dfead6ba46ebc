package pool

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/backend"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// testRecorder is a recorder on a clock that moves one second per reading,
// so that every recorded time is distinct and ordered.
func testRecorder(buf int) *recorder {
	r := newRecorder(buf)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	n := 0
	r.now = func() time.Time { n++; return t0.Add(time.Duration(n) * time.Second) }
	return r
}

// answer runs activation a1 in container c until it answers with outcome.
func answer(r *recorder, outcome string) {
	r.moved("c", "guest/act", stateBusy)
	r.started("c", "a1", "guest/act")
	r.answered("c", "a1", outcome)
}

// reclaimTo moves container c through pausing or removing to to.
func reclaimTo(r *recorder, to state) {
	via := statePausing
	if to == stateRemoved {
		via = stateRemoving
	}
	r.moved("c", "guest/act", via)
	r.moved("c", "guest/act", to)
}

func TestRecorderTimelines(t *testing.T) {
	done := &completion.Activation{Phase: completion.PhaseDone}
	expired := &completion.Activation{Phase: completion.PhaseExpired, Unfinished: []string{"write"}}
	failed := &completion.Activation{Phase: completion.PhaseFailed, Error: "post-response write failed", Errors: []string{"post-response write failed"}}
	tests := []struct {
		name  string
		steps func(r *recorder)
		want  ActivationTimeline // Started, Responded, Finished, ReclaimedAt checked for order only
		state string
		// forcedReclaims is the container's count.
		forcedReclaims int
	}{
		{
			name: "lingering, done, paused",
			steps: func(r *recorder) {
				r.moved("c", "", stateStarting) // a stem cell takes the action
				answer(r, OutcomeLingering)
				r.moved("c", "guest/act", stateReady)
				r.finished("c", "a1", done, false)
				reclaimTo(r, statePaused)
			},
			want:  ActivationTimeline{ID: "a1", Action: "guest/act", Outcome: OutcomeDone, Reclaim: "paused"},
			state: "paused",
		},
		{
			name: "expired at its bound: forced removal",
			steps: func(r *recorder) {
				answer(r, OutcomeLingering)
				r.moved("c", "guest/act", stateRemoving)
				r.finished("c", "a1", expired, true)
				r.moved("c", "guest/act", stateRemoved)
			},
			want:           ActivationTimeline{ID: "a1", Action: "guest/act", Outcome: OutcomeExpired, Reclaim: "removed", Forced: true, Errors: []string{"unfinished: write"}},
			state:          "removed",
			forcedReclaims: 1,
		},
		{
			name: "failed post-response work keeps its errors",
			steps: func(r *recorder) {
				answer(r, OutcomeLingering)
				r.finished("c", "a1", failed, false)
				r.moved("c", "guest/act", stateReady)
			},
			want:  ActivationTimeline{ID: "a1", Action: "guest/act", Outcome: OutcomeFailed, Errors: []string{"post-response write failed"}},
			state: "ready",
		},
		{
			name: "stock semantics pause a lingering activation; nothing records its end",
			steps: func(r *recorder) {
				answer(r, OutcomeLingering)
				r.moved("c", "guest/act", stateReady)
				reclaimTo(r, statePaused)
				r.finished("c", "a1", nil, false)
			},
			want:  ActivationTimeline{ID: "a1", Action: "guest/act", Outcome: OutcomeUnknown, Reclaim: "paused"},
			state: "paused",
		},
		{
			// The watch learns the end from the removal itself (its await
			// fails when the container is killed), and the removal may be
			// recorded first: the outcome still lands on the timeline.
			name: "stock semantics remove a lingering activation's container before its watch ends",
			steps: func(r *recorder) {
				answer(r, OutcomeLingering)
				reclaimTo(r, statePaused)
				reclaimTo(r, stateRemoved)
				r.finished("c", "a1", nil, false)
			},
			want:  ActivationTimeline{ID: "a1", Action: "guest/act", Outcome: OutcomeUnknown, Reclaim: "paused"},
			state: "removed",
		},
		{
			name: "a gate's forced reclaim marks the pending activations",
			steps: func(r *recorder) {
				answer(r, OutcomeDone)
				r.moved("c", "guest/act", stateRemoving)
				r.forcedReclaim("c", []string{"a1", "not-here"})
				r.moved("c", "guest/act", stateRemoved)
			},
			want:           ActivationTimeline{ID: "a1", Action: "guest/act", Outcome: OutcomeDone, Reclaim: "removed", Forced: true},
			state:          "removed",
			forcedReclaims: 1,
		},
		{
			name: "a failed activation is not stamped by a pause before it answered",
			steps: func(r *recorder) {
				r.moved("c", "guest/act", stateBusy)
				r.started("c", "a1", "guest/act")
				r.moved("c", "guest/act", stateRemoving)
				r.answered("c", "a1", OutcomeError)
				r.moved("c", "guest/act", stateRemoved)
			},
			want:  ActivationTimeline{ID: "a1", Action: "guest/act", Outcome: OutcomeError, Reclaim: "removed"},
			state: "removed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRecorder(64)
			tt.steps(r)
			tl, sub := r.subscribe()
			defer sub.Close()
			require.Len(t, tl.Containers, 1)
			c := tl.Containers[0]
			assert.Equal(t, tt.state, c.State)
			assert.Equal(t, "guest/act", c.Action)
			assert.Equal(t, tt.forcedReclaims, c.ForcedReclaims)
			require.Len(t, c.Activations, 1)
			got := c.Activations[0]
			assert.True(t, got.Started.Before(got.Responded), "started before responded")
			assert.False(t, got.Finished.Before(got.Responded), "finished after responded")
			if tt.want.Reclaim != "" {
				assert.True(t, got.ReclaimedAt.After(got.Responded), "reclaimed after responded")
			}
			got.Started, got.Responded, got.Finished, got.ReclaimedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRecorderBounds(t *testing.T) {
	r := testRecorder(8)
	for i := range maxTimelineActivations + 5 {
		r.moved("c", "guest/act", stateBusy)
		id := fmt.Sprintf("a%d", i)
		r.started("c", id, "guest/act")
		r.answered("c", id, OutcomeDone)
		r.moved("c", "guest/act", stateReady)
	}
	for i := range maxRemovedTimelines + 3 {
		name := fmt.Sprintf("gone%02d", i)
		r.moved(name, "", stateStarting)
		r.moved(name, "", stateRemoving)
		r.moved(name, "", stateRemoved)
	}
	tl, sub := r.subscribe()
	defer sub.Close()
	require.Len(t, tl.Containers, 1+maxRemovedTimelines, "the live container and the latest removed")
	assert.Equal(t, "gone03", tl.Containers[1].Name, "the oldest removed went first")
	acts := tl.Containers[0].Activations
	require.Len(t, acts, maxTimelineActivations)
	assert.Equal(t, "a5", acts[0].ID, "the oldest activations went first")
	assert.Equal(t, fmt.Sprintf("a%d", maxTimelineActivations+4), acts[len(acts)-1].ID)
}

func TestSubscriptionDelivery(t *testing.T) {
	tests := []struct {
		name        string
		buffer      int
		changes     int
		wantDropped bool
		wantSeqs    []uint64 // what the subscriber reads before its channel closes
	}{
		{name: "within the buffer", buffer: 4, changes: 3, wantSeqs: []uint64{2, 3, 4}},
		{name: "exactly the buffer", buffer: 3, changes: 3, wantSeqs: []uint64{2, 3, 4}},
		{name: "one past the buffer drops the subscriber", buffer: 3, changes: 4, wantDropped: true, wantSeqs: []uint64{2, 3, 4}},
		{name: "far past the buffer", buffer: 1, changes: 50, wantDropped: true, wantSeqs: []uint64{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRecorder(tt.buffer)
			r.moved("c", "", stateStarting) // seq 1, before the subscription
			tl, sub := r.subscribe()
			assert.Equal(t, uint64(1), tl.Seq)
			for range tt.changes {
				r.moved("c", "", stateStarting) // never blocks, whoever listens
			}
			if !tt.wantDropped {
				sub.Close()
			}
			var seqs []uint64
			for ch := range sub.Changes() {
				seqs = append(seqs, ch.Seq)
			}
			assert.Equal(t, tt.wantSeqs, seqs)
			assert.Equal(t, tt.wantDropped, sub.Dropped())
			sub.Close() // again: harmless

			// A dropped subscriber resyncs from a new subscription.
			tl, again := r.subscribe()
			defer again.Close()
			assert.Equal(t, uint64(1+tt.changes), tl.Seq)
		})
	}
}

func TestSubscriptionChangesCarryCopies(t *testing.T) {
	r := testRecorder(8)
	r.moved("c", "guest/act", stateBusy)
	_, sub := r.subscribe()
	defer sub.Close()
	r.started("c", "a1", "guest/act")
	r.answered("c", "a1", OutcomeLingering)
	r.finished("c", "a1", &completion.Activation{Phase: completion.PhaseFailed, Errors: []string{"boom"}}, false)
	first := <-sub.Changes()
	second := <-sub.Changes()
	third := <-sub.Changes()
	assert.Equal(t, OutcomeRunning, first.Container.Activations[0].Outcome, "a change is the timeline at its time")
	assert.Equal(t, OutcomeLingering, second.Container.Activations[0].Outcome)
	assert.Equal(t, OutcomeFailed, third.Container.Activations[0].Outcome)
	assert.Equal(t, []string{"boom"}, third.Container.Activations[0].Errors)
}

func TestAnswerOutcome(t *testing.T) {
	tests := []struct {
		answered bool
		phase    completion.Phase
		want     string
	}{
		{false, "", OutcomeError},
		{false, completion.PhaseResponded, OutcomeError},
		{true, completion.PhaseResponded, OutcomeLingering},
		{true, completion.PhaseDone, OutcomeDone},
		{true, "", OutcomeAnswered},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, answerOutcome(tt.answered, tt.phase), "answered %v, phase %q", tt.answered, tt.phase)
	}
}

// timeline: a subscriber sees a real activation's path through its
// container, in order, however it ends: done then paused; expired at its
// deadline with its unfinished work named; paused while lingering under
// stock semantics, and unknown; failed, its container removed, when the
// container is lost while the work is pending.
func (s *suite) timeline(t *testing.T) {
	tests := []struct {
		name      string
		policy    reclaim.Policy
		timeoutMs int
		// then runs once the pool shows the activation lingering.
		then        func(t *testing.T, p *Pool, g *testenv.Gate)
		wantOutcome string
		wantReclaim string
		wantError   string
	}{
		{
			name: "done", timeoutMs: 60000,
			then: func(t *testing.T, _ *Pool, g *testenv.Gate) {
				g.WaitArrived(t, "work", activationBound)
				g.Open("work")
			},
			wantOutcome: OutcomeDone, wantReclaim: "paused",
		},
		{
			name: "expired", timeoutMs: 5000,
			then: func(t *testing.T, _ *Pool, g *testenv.Gate) {
				g.WaitArrived(t, "work", activationBound) // and stays shut past the deadline
			},
			wantOutcome: OutcomeExpired, wantError: "unfinished",
		},
		{
			name: "stock semantics freeze it", policy: reclaim.Vanilla, timeoutMs: 60000,
			then:        func(*testing.T, *Pool, *testenv.Gate) {}, // paused at once, removed when idle
			wantOutcome: OutcomeUnknown, wantReclaim: "paused",
		},
		{
			name: "container lost", timeoutMs: 60000,
			then: func(t *testing.T, p *Pool, g *testenv.Gate) {
				g.WaitArrived(t, "work", activationBound)
				removeBehindTheBack(t, p)
			},
			wantOutcome: OutcomeFailed, wantReclaim: "removed", wantError: "the container was lost",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := s.gate(t)
			p := s.newPool(t, Config{Policy: tt.policy, PauseGrace: Immediately, IdleTimeout: 500 * time.Millisecond})
			tl, sub := p.Subscribe()
			defer sub.Close()
			assert.Empty(t, tl.Containers)
			inv := start(t, p, s.action("traced", withTimeout(tt.timeoutMs)), held(g, "work"))

			var outcomes []string // the activation's outcomes as the changes show them, each once
			// await reads changes until the activation satisfies ok.
			await := func(ok func(ActivationTimeline) bool) ActivationTimeline {
				t.Helper()
				timeout := time.After(stateBound)
				for {
					select {
					case ch, open := <-sub.Changes():
						require.True(t, open, "the pool dropped a subscriber that keeps up")
						for _, a := range ch.Container.Activations {
							if a.ID != inv.ID() {
								continue
							}
							if len(outcomes) == 0 || outcomes[len(outcomes)-1] != a.Outcome {
								outcomes = append(outcomes, a.Outcome)
							}
							if ok(a) {
								return a
							}
						}
					case <-timeout:
						t.Fatalf("the timeline did not get there within %s; outcomes so far %v", stateBound, outcomes)
					}
				}
			}
			await(func(a ActivationTimeline) bool { return a.Outcome == OutcomeLingering })
			tt.then(t, p, g)
			a := await(func(a ActivationTimeline) bool {
				return a.Outcome == tt.wantOutcome && (tt.wantReclaim == "" || a.Reclaim != "")
			})
			assert.Equal(t, []string{OutcomeRunning, OutcomeLingering, tt.wantOutcome}, outcomes)
			assert.Equal(t, tt.wantReclaim, a.Reclaim)
			assert.Equal(t, "guest/traced", a.Action)
			if tt.wantError != "" {
				assert.Contains(t, strings.Join(a.Errors, "; "), tt.wantError)
			}
			assert.False(t, a.Responded.Before(a.Started))
			assert.False(t, a.Finished.Before(a.Responded))
			completed(t, p, inv)
		})
	}
}

// removeBehindTheBack removes the pool's one container through the
// backend, as a crash or an operator would, without telling the pool.
func removeBehindTheBack(t *testing.T, p *Pool) {
	t.Helper()
	p.mu.Lock()
	var c backend.Container
	for m := range p.members {
		c = m.c
	}
	p.mu.Unlock()
	require.NotNil(t, c, "no created container to remove")
	ctx, cancel := context.WithTimeout(context.Background(), stateBound)
	defer cancel()
	require.NoError(t, c.Remove(ctx))
}
