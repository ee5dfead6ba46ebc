package pool

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// prewarmAtDone is a keep-alive policy with a fixed answer: release every
// idle container at its done and prewarm a new one at once, kept an hour.
// The policies' forecasts are keepalive's tests; here the pool's side of
// a prewarm is under test, and a forecast on the wall clock would make it
// depend on the machine's speed.
type prewarmAtDone struct{ *keepalive.Fixed }

func (prewarmAtDone) Decide(_ string, doneAt time.Time) keepalive.Decision {
	return keepalive.Decision{PrewarmAt: doneAt, KeepUntil: doneAt.Add(time.Hour)}
}

// keepAliveApplied: the policy's keep-alive, not the idle timeout, decides
// when an idle container goes. Each case runs the same action in a pool
// with the policy and in one without it (OpenWhisk's fixed idle timeout),
// and checks which of the two containers is removed while the other is
// still paused: the order, not a duration.
func (s *suite) keepAliveApplied(t *testing.T) {
	tests := []struct {
		name        string
		idleTimeout time.Duration // both pools'
		policy      keepalive.Policy
		// policyFirst: the policy's container is removed before the fixed
		// pool's; else after it.
		policyFirst bool
	}{
		{name: "released at done, before the idle timeout", idleTimeout: time.Hour, policy: keepalive.NewFixed(0), policyFirst: true},
		{name: "kept past the idle timeout", idleTimeout: time.Millisecond, policy: keepalive.NewFixed(time.Hour), policyFirst: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fixed := s.newPool(t, Config{PauseGrace: Immediately, IdleTimeout: tt.idleTimeout})
			withPolicy := s.newPool(t, Config{PauseGrace: Immediately, IdleTimeout: tt.idleTimeout, KeepAlive: tt.policy})
			// Two actions: the pools' containers share the backend's
			// name prefix, and a container is named after its action.
			for name, p := range map[string]*Pool{"keep-fixed": fixed, "keep-policy": withPolicy} {
				assert.Equal(t, entity.StatusSuccess, run(t, p, s.action(name), `{"quiet":true}`).Response.Status)
			}
			first, second := fixed, withPolicy
			if tt.policyFirst {
				first, second = withPolicy, fixed
			}
			eventuallyStates(t, first)
			eventuallyStates(t, second, "paused")
			assert.Equal(t, int64(1), first.Snapshot().Stats.Removals)
			assert.Equal(t, int64(0), second.Snapshot().Stats.Removals)
		})
	}
}

// prewarmInitOnly: a prewarm the policy asks for starts a container of the
// action and runs its /init, never its handler: the container's timeline
// holds no activation until the next call, which runs there warm, without
// /init.
func (s *suite) prewarmInitOnly(t *testing.T) {
	p := s.newPool(t, Config{PauseGrace: time.Hour, KeepAlive: prewarmAtDone{keepalive.NewFixed(0)}})
	a := s.action("predicted")
	first := run(t, p, a, `{"quiet":true,"instance":true}`)
	require.Equal(t, entity.StatusSuccess, first.Response.Status)
	_, cold := annotation(first, entity.AnnotationInitTime)
	assert.True(t, cold)

	// The first container is released; the prewarmed one waits ready.
	eventuallyStates(t, p, "ready")
	timeline, sub := p.Subscribe()
	sub.Close()
	var prewarmed ContainerTimeline
	for _, c := range timeline.Containers {
		if c.State == "ready" {
			prewarmed = c
		}
	}
	require.NotEmpty(t, prewarmed.Name, "the prewarmed container's timeline: %+v", timeline)
	assert.Equal(t, "guest/predicted", prewarmed.Action)
	assert.Empty(t, prewarmed.Activations, "a prewarm runs no activation")
	assert.Equal(t, int64(1), p.Snapshot().Stats.ActionPrewarms)

	second := run(t, p, a, `{"quiet":true,"instance":true}`)
	require.Equal(t, entity.StatusSuccess, second.Response.Status)
	_, cold = annotation(second, entity.AnnotationInitTime)
	assert.False(t, cold, "the prewarmed container ran /init already")
	assert.NotEqual(t, instanceOf(t, first), instanceOf(t, second), "the call ran in the prewarmed container, not the released one")
	timeline, sub = p.Subscribe()
	sub.Close()
	for _, c := range timeline.Containers {
		if c.Name == prewarmed.Name {
			require.Len(t, c.Activations, 1)
			assert.Equal(t, second.ActivationID, c.Activations[0].ID, "the first activation of the prewarmed container is the call")
		}
	}
	st := p.Snapshot().Stats
	assert.Equal(t, int64(1), st.ColdStarts)
	assert.Equal(t, int64(1), st.WarmStarts)
}

// evictByPolicy: under the memory budget, the keep-alive policy picks the
// victim. a is called often and b once, b the more recently: the least
// recently used is a, greedy-dual's lowest priority (frequency × cost /
// size) is b.
func (s *suite) evictByPolicy(t *testing.T) {
	const callsOfA = 8
	tests := []struct {
		name   string
		policy keepalive.Policy
		kept   string
	}{
		{name: "least recently used without a policy", kept: "guest/b"},
		{name: "greedydual", policy: keepalive.NewGreedyDual(time.Hour), kept: "guest/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec *releases
			cfg := Config{MemoryMB: 512}
			if tt.policy != nil {
				rec = &releases{Policy: tt.policy}
				cfg.KeepAlive = rec
			}
			p := s.newPool(t, cfg)
			for range callsOfA {
				runOK(t, p, s.action("a"), `{"quiet":true}`)
			}
			runOK(t, p, s.action("b"), `{"quiet":true}`)
			assertEvictedFor(t, p, s.action("c"), tt.kept)
			if rec != nil {
				assert.Equal(t, []keepalive.Release{keepalive.Evicted}, rec.whys(), "the policy hears of the eviction it chose")
			}
		})
	}
}

// releases records what the pool tells its policy of released containers.
type releases struct {
	keepalive.Policy
	mu  sync.Mutex
	got []keepalive.Release
}

func (r *releases) Released(fn string, t time.Time, why keepalive.Release) {
	r.mu.Lock()
	r.got = append(r.got, why)
	r.mu.Unlock()
	r.Policy.Released(fn, t, why)
}

func (r *releases) whys() []keepalive.Release {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// prewarmLater releases every idle container at its done and prewarms one
// an hour later.
type prewarmLater struct{ *keepalive.Fixed }

func (prewarmLater) Decide(_ string, doneAt time.Time) keepalive.Decision {
	return keepalive.Decision{PrewarmAt: doneAt.Add(time.Hour), KeepUntil: doneAt.Add(2 * time.Hour)}
}

// prewarmTimersStopAtClose: the container released at its done is
// reported to the policy as expired, and the prewarm asked for an hour
// later is pending until Close, which stops it.
func (s *suite) prewarmTimersStopAtClose(t *testing.T) {
	rec := &releases{Policy: prewarmLater{keepalive.NewFixed(0)}}
	p := s.newPool(t, Config{PauseGrace: time.Hour, KeepAlive: rec})
	require.Equal(t, entity.StatusSuccess, run(t, p, s.action("later"), `{"quiet":true}`).Response.Status)
	eventuallyStates(t, p)
	assert.Equal(t, []keepalive.Release{keepalive.Expired}, rec.whys())
	p.mu.Lock()
	var pending []*prewarmTimer
	for pt := range p.prewarmTimers {
		pending = append(pending, pt)
	}
	p.mu.Unlock()
	require.Len(t, pending, 1, "the prewarm waits for its time")

	ctx, cancel := context.WithTimeout(context.Background(), activationBound)
	defer cancel()
	require.NoError(t, p.Close(ctx))
	p.mu.Lock()
	assert.Empty(t, p.prewarmTimers)
	p.mu.Unlock()
	assert.False(t, pending[0].timer.Stop(), "Close stopped the timer already")
	assert.Equal(t, int64(0), p.Snapshot().Stats.ActionPrewarms)
}

// keepAliveFromDone: the policy's keep-alive runs from the activation's
// done, not its response. Released at done, a container whose activation
// answered with work pending stays lingering until the work is done (held
// at a gate), and only then goes.
func (s *suite) keepAliveFromDone(t *testing.T) {
	g := s.gate(t)
	p := s.newPool(t, Config{PauseGrace: time.Hour, IdleTimeout: time.Hour, KeepAlive: keepalive.NewFixed(0)})
	inv := start(t, p, s.action("lingers"), held(g, "work"))
	assert.Equal(t, entity.StatusSuccess, wait(t, inv).Response.Status)
	g.WaitArrived(t, "work", activationBound)
	eventuallyStates(t, p, "lingering")
	assert.Equal(t, int64(0), p.Snapshot().Stats.Removals, "released before its work was done")

	g.Open("work")
	rec := completed(t, p, inv)
	c, _ := annotation(rec, entity.AnnotationCompletion)
	assert.Equal(t, `"done"`, c, "the work finished before the container was released")
	eventuallyStates(t, p)
	assert.Equal(t, int64(1), p.Snapshot().Stats.Removals)
}
