package pool

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/backend"
	"github.com/epilogue-dev/epilogue/standalone/backend/docker"
	"github.com/epilogue-dev/epilogue/standalone/backend/process"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/gosource"
	"github.com/epilogue-dev/epilogue/standalone/store"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// Bounds of these tests: every wait is bounded by one of them, far above a
// busy machine's delays; none is waited out when the tests pass. Work that
// must still be running when the test looks is held at a testenv.Gate, not
// given a duration a slow machine could outlast.
const (
	activationBound = 2 * time.Minute // an activation's record is stored
	stateBound      = 2 * time.Minute // the pool reaches a state
	poll            = 10 * time.Millisecond
	image           = "epilogue/action-go:latest"
)

// dockerPrefix keeps these containers apart from the backend's own tests
// (wsk98_), tests/e2e (wsk99_) and another run of these tests on the same
// engine (the pid and a random part).
var dockerPrefix = fmt.Sprintf("wsk97_%d%s_", os.Getpid(), randomHex(3))

// backends numbers the Docker backends the suite creates, for their prefixes.
var backends atomic.Int64

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func TestProcessBackend(t *testing.T) {
	proxy := testenv.BuildStatic(t, "./cmd/epilogue-proxy")
	runSuite(t, "127.0.0.1", func(t *testing.T) backend.Backend {
		b, err := process.New(process.Config{ProxyPath: proxy, WorkDir: t.TempDir()})
		require.NoError(t, err)
		closeAtEnd(t, b)
		return b
	})
}

func TestDockerBackend(t *testing.T) {
	cli := testenv.RequireDocker(t)
	testenv.RequireImage(t, cli, image)
	ctx, cancel := context.WithTimeout(context.Background(), stateBound)
	gw, err := docker.Gateway(ctx, cli, "bridge")
	cancel()
	require.NoError(t, err)
	runSuite(t, gw, func(t *testing.T) backend.Backend {
		ctx, cancel := context.WithTimeout(context.Background(), stateBound)
		defer cancel()
		// A prefix per backend: the subtests run in parallel, each pool
		// numbers its containers from 1, and two pools running actions of
		// the same name (EvictLRU's and EvictByPolicy's a, b, c) would ask
		// the daemon for the same container name, and one create would fail.
		prefix := fmt.Sprintf("%s%d_", dockerPrefix, backends.Add(1))
		b, err := docker.New(ctx, docker.Config{Client: cli, NamePrefix: prefix})
		require.NoError(t, err)
		closeAtEnd(t, b)
		return b
	})
}

func closeAtEnd(t *testing.T, b backend.Backend) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), activationBound)
		defer cancel()
		assert.NoError(t, b.Close(ctx))
	})
}

// suite runs the pool's behaviour against one kind of backend.
type suite struct {
	newBackend func(t *testing.T) backend.Backend
	code       string // base64 of tests/testaction
	gateHost   string // where the backend's containers reach the test
}

// runSuite runs the suite on the backends newBackend returns, whose
// containers reach the test's gates at gateHost.
func runSuite(t *testing.T, gateHost string, newBackend func(t *testing.T) backend.Backend) {
	exe, err := os.ReadFile(testenv.BuildStatic(t, "./tests/testaction"))
	require.NoError(t, err)
	s := &suite{newBackend: newBackend, code: base64.StdEncoding.EncodeToString(exe), gateHost: gateHost}
	for name, test := range map[string]func(*testing.T){
		"ColdThenWarm":         s.coldThenWarm,
		"AnswerBeforeDurable":  s.answerBeforeDurable,
		"LingeringIsNotReused": s.lingeringIsNotReused,
		"PauseResumeIdle":      s.pauseResumeIdle,
		"VanillaPausesLinger":  s.vanillaPausesLinger,
		"VanillaCloseCuts":     s.vanillaCloseCuts,
		"DeveloperErrors":      s.developerErrors,
		"EvictLRU":             s.evictLRU,
		"EvictionWaitsForDone": s.evictionWaitsForDone,
		"QueueBound":           s.queueBound,
		"Prewarm":              s.prewarm,
		"DeadlineWhileLinger":  s.deadlineWhileLinger,
		"ContainerLostLinger":  s.containerLostWhileLingering,
		"LateLogs":             s.lateLogs,
		"LogsBeforeExit":       s.logsBeforeExit,
		"CloseWaitsForLinger":  s.closeWaitsForLinger,
		"CannotRunHere":        s.cannotRunHere,
		"GoSource":             s.goSource,
		"Concurrent":           s.concurrent,
		"Timeline":             s.timeline,
		"KeepAliveApplied":     s.keepAliveApplied,
		"PrewarmInitOnly":      s.prewarmInitOnly,
		"EvictByPolicy":        s.evictByPolicy,
		"KeepAliveFromDone":    s.keepAliveFromDone,
		"PrewarmTimersClose":   s.prewarmTimersStopAtClose,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t)
		})
	}
}

// gate serves testenv gates where this backend's containers reach them.
func (s *suite) gate(t *testing.T) *testenv.Gate { return testenv.NewGateOn(t, s.gateHost) }

// held is the parameters of an activation that answers at once and keeps
// working until gate name opens.
func held(g *testenv.Gate, name string, more ...string) string {
	return fmt.Sprintf(`{"quiet":true,"linger_ms":1,"gate":%q%s}`, g.URL(name), strings.Join(append([]string{""}, more...), ","))
}

// instanceOf is the fixture's process marker in an instance:true result.
func instanceOf(t *testing.T, rec entity.Activation) string {
	t.Helper()
	var r struct{ Instance string }
	require.NoError(t, json.Unmarshal(rec.Response.Result, &r), "%s", rec.Response.Result)
	require.NotEmpty(t, r.Instance, "no instance in %s", rec.Response.Result)
	return r.Instance
}

// floorMs is d in whole milliseconds, rounded down: a lower bound that a
// duration at least d, rounded either way, still meets.
func floorMs(d time.Duration) int { return int(d.Milliseconds()) }

// newPool returns a pool on a new backend, closed at the end of the test.
func (s *suite) newPool(t *testing.T, cfg Config) *Pool {
	t.Helper()
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	cfg.Backend = s.newBackend(t)
	cfg.Store = st
	p, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), activationBound)
		defer cancel()
		assert.NoError(t, p.Close(ctx))
		assert.NoError(t, st.Close())
	})
	return p
}

// action is a blackbox action of the test executable.
func (s *suite) action(name string, edit ...func(*entity.Action)) entity.Action {
	a := entity.Action{
		Namespace: "guest", Name: name, Version: "0.0.1", Updated: 1,
		Exec:   entity.Exec{Kind: entity.KindBlackbox, Image: "epilogue/action-go", Code: s.code, Binary: true},
		Limits: entity.DefaultLimits(),
	}
	for _, e := range edit {
		e(&a)
	}
	return a
}

func withMemory(mb int) func(*entity.Action) { return func(a *entity.Action) { a.Limits.Memory = mb } }
func withTimeout(ms int) func(*entity.Action) {
	return func(a *entity.Action) { a.Limits.Timeout = ms }
}

// start invokes a with params.
func start(t *testing.T, p *Pool, a entity.Action, params string) *Invocation {
	t.Helper()
	inv, err := p.Invoke(context.Background(), Request{Action: a, Params: json.RawMessage(params), Subject: "guest"})
	require.NoError(t, err)
	return inv
}

// wait returns the record once it holds the response.
func wait(t *testing.T, inv *Invocation) entity.Activation {
	t.Helper()
	select {
	case <-inv.Done():
	case <-time.After(activationBound):
		t.Fatalf("activation %s: no response within %s", inv.ID(), activationBound)
	}
	return inv.Record()
}

// completed returns the stored record once it is final.
func completed(t *testing.T, p *Pool, inv *Invocation) entity.Activation {
	t.Helper()
	select {
	case <-inv.Completed():
	case <-time.After(activationBound):
		t.Fatalf("activation %s: not completed within %s", inv.ID(), activationBound)
	}
	rec, err := p.cfg.Store.GetActivation("guest", inv.ID())
	require.NoError(t, err)
	return rec
}

func run(t *testing.T, p *Pool, a entity.Action, params string) entity.Activation {
	t.Helper()
	return wait(t, start(t, p, a, params))
}

// runOK runs a to its record and requires it to have succeeded: a test
// whose later steps rest on this activation's container fails here, with
// the record, instead of with a consequence of the lost container.
func runOK(t *testing.T, p *Pool, a entity.Action, params string) entity.Activation {
	t.Helper()
	rec := run(t, p, a, params)
	require.Equal(t, entity.StatusSuccess, rec.Response.Status, "%s: %s, logs %q", a.Path(), rec.Response.Result, rec.Logs)
	return rec
}

func annotation(rec entity.Activation, key string) (string, bool) {
	v, ok := rec.Annotations.Get(key)
	return string(v), ok
}

// states returns the state of every container, by name.
func states(p *Pool) map[string]string {
	out := map[string]string{}
	for _, c := range p.Snapshot().Containers {
		out[c.Name] = c.State
	}
	return out
}

// eventuallyStates waits until the containers are in exactly these states
// (as a multiset).
func eventuallyStates(t *testing.T, p *Pool, want ...string) {
	t.Helper()
	count := func(ss []string) map[string]int {
		m := map[string]int{}
		for _, s := range ss {
			m[s]++
		}
		return m
	}
	var got []string
	require.Eventuallyf(t, func() bool {
		got = got[:0]
		for _, s := range states(p) {
			got = append(got, s)
		}
		return assert.ObjectsAreEqual(count(want), count(got))
	}, stateBound, poll, "container states: want %v", want)
}

func (s *suite) coldThenWarm(t *testing.T) {
	p := s.newPool(t, Config{})
	a := s.action("hello")

	first := run(t, p, a, `{"name":"Ada"}`)
	assert.Equal(t, entity.StatusSuccess, first.Response.Status)
	assert.JSONEq(t, `{"name":"Ada"}`, string(first.Response.Result))
	_, cold := annotation(first, entity.AnnotationInitTime)
	assert.True(t, cold, "a cold start has initTime")
	c, _ := annotation(first, entity.AnnotationCompletion)
	assert.Equal(t, `"done"`, c, "nothing was pending at the response")
	path, _ := annotation(first, entity.AnnotationPath)
	assert.Equal(t, `"guest/hello"`, path)
	timeout, _ := annotation(first, entity.AnnotationTimeout)
	assert.Equal(t, "false", timeout)
	assert.Equal(t, first.End-first.Start, first.Duration)
	require.Len(t, first.Logs, 2, "%q", first.Logs)
	for _, l := range first.Logs { // the two streams interleave in no fixed order
		assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout: hello stdout|stderr: hello stderr)$`, l)
	}
	assert.NotEqual(t, first.Logs[0][31:], first.Logs[1][31:], "one line from each stream: %q", first.Logs)

	second := run(t, p, a, `{"n":2}`)
	assert.Equal(t, entity.StatusSuccess, second.Response.Status)
	_, cold = annotation(second, entity.AnnotationInitTime)
	assert.False(t, cold, "a warm start has no initTime")
	assert.Len(t, second.Logs, 2, "only this activation's lines: %q", second.Logs)

	stored, err := p.cfg.Store.GetActivation("guest", second.ActivationID)
	require.NoError(t, err)
	assert.Equal(t, second.Response, stored.Response)
	st := p.Snapshot().Stats
	assert.Equal(t, int64(1), st.ColdStarts)
	assert.Equal(t, int64(1), st.WarmStarts)
	eventuallyStates(t, p, "ready")

	// Through a package binding: the record names it, as OpenWhisk's does.
	inv, err := p.Invoke(context.Background(), Request{Action: a, Params: json.RawMessage(`{}`), Subject: "guest", Binding: "guest/mybinding", Cause: "0123456789abcdef0123456789abcdef"})
	require.NoError(t, err)
	viaBinding := wait(t, inv)
	b, _ := annotation(viaBinding, entity.AnnotationBinding)
	assert.Equal(t, `"guest/mybinding"`, b)
	assert.Equal(t, "mybinding/hello", viaBinding.FilterName())
	// As a sequence's component: the record names the sequence's activation.
	assert.Equal(t, "0123456789abcdef0123456789abcdef", viaBinding.Cause)
	causedBy, _ := annotation(viaBinding, entity.AnnotationCausedBy)
	assert.Equal(t, `"sequence"`, causedBy)
}

// answerBeforeDurable: the response is readable from the store as soon
// as Done is closed (its durable write may be under way), and the record is
// written (ListActivations reads only written records) before Completed.
// It holds for an activation done at its response and for one that lingers.
func (s *suite) answerBeforeDurable(t *testing.T) {
	p := s.newPool(t, Config{})
	g := s.gate(t)
	for _, tc := range []struct{ name, params string }{
		{"done at the response", `{"name":"Ada"}`},
		{"work pending at the response", held(g, "durable")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := start(t, p, s.action("durable"), tc.params)
			answered := wait(t, inv)
			got, err := p.cfg.Store.GetActivation("guest", inv.ID())
			require.NoError(t, err, "the record is readable once Done is closed")
			assert.Equal(t, answered.Response, got.Response)
			g.Open("durable")
			final := completed(t, p, inv)
			listed, err := p.cfg.Store.ListActivations("guest", store.ActivationFilter{Name: "durable", Limit: 200})
			require.NoError(t, err)
			ids := make([]string, 0, len(listed))
			for _, a := range listed {
				ids = append(ids, a.ActivationID)
			}
			assert.Contains(t, ids, inv.ID(), "the record is written before Completed")
			c, _ := annotation(final, entity.AnnotationCompletion)
			assert.Equal(t, `"done"`, c)
		})
	}
}

// lingeringIsNotReused: under the epilogue policy an activation that answered
// with work pending keeps its container to itself; the next one starts
// another container instead of queueing behind it, and the lingering
// container is not paused although its pause grace is over. The work is
// held at a gate until the test has seen all that, and which container
// served is told by the fixture's instance marker, not by timing.
func (s *suite) lingeringIsNotReused(t *testing.T) {
	g := s.gate(t)
	p := s.newPool(t, Config{PauseGrace: Immediately})
	a := s.action("linger")

	inv := start(t, p, a, held(g, "linger", `"instance":true`))
	rec := wait(t, inv)
	seen := time.Now()
	first := instanceOf(t, rec)
	_, known := annotation(rec, entity.AnnotationCompletion)
	assert.False(t, known, "the work is still pending at the response")
	g.WaitArrived(t, "linger", activationBound)
	eventuallyStates(t, p, "lingering")

	other := run(t, p, a, `{"quiet":true,"instance":true}`)
	assert.Equal(t, entity.StatusSuccess, other.Response.Status)
	_, cold := annotation(other, entity.AnnotationInitTime)
	assert.True(t, cold, "the second activation got a container of its own")
	assert.NotEqual(t, first, instanceOf(t, other), "the lingering container served the second activation")
	assert.Equal(t, "lingering", stateOf(p, inv), "the lingering container is not paused")

	g.Open("linger")
	opened := time.Now()
	final := completed(t, p, inv)
	c, _ := annotation(final, entity.AnnotationCompletion)
	assert.Equal(t, `"done"`, c)
	post, _ := annotation(final, entity.AnnotationPostResponseDuration)
	// The response came before the test saw it, done after the gate opened.
	assert.GreaterOrEqual(t, atoi(t, post), floorMs(opened.Sub(seen)), "postResponseDuration %s ms", post)
	assert.True(t, hasLine(final.Logs, "[activation "+inv.ID()+"] lingering "+inv.ID()), "post-response line in the record: %q", final.Logs)
	eventuallyStates(t, p, "paused", "paused")
	assert.Zero(t, p.Snapshot().Stats.ForcedReclaims)
	lags := p.Snapshot().PauseLagsMs
	require.Len(t, lags, 1, "one pause followed a lingering activation's done")
	assert.GreaterOrEqual(t, lags[0], 0.0)

	// Once done, the container is free again: a third activation reuses a
	// container of the two, warm.
	third := run(t, p, a, `{"quiet":true,"instance":true}`)
	assert.Contains(t, []string{first, instanceOf(t, other)}, instanceOf(t, third))
	_, cold = annotation(third, entity.AnnotationInitTime)
	assert.False(t, cold, "a warm start")
}

// stateOf returns the state of the container that ran inv.
func stateOf(p *Pool, inv *Invocation) string {
	for _, c := range p.Snapshot().Containers {
		for _, id := range c.Lingering {
			if id == inv.ID() {
				return c.State
			}
		}
	}
	return "(not lingering)"
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	_, err := fmt.Sscan(s, &n)
	require.NoError(t, err, "%q is not a number", s)
	return n
}

func hasLine(lines []string, suffix string) bool {
	for _, l := range lines {
		if strings.HasSuffix(l, suffix) {
			return true
		}
	}
	return false
}

// pauseResumeIdle: pause after the grace, resume on reuse, removal after
// the idle timeout.
func (s *suite) pauseResumeIdle(t *testing.T) {
	// The idle timeout outlasts the test's steps between the pause and the
	// second run on a busy machine; the removal after it is waited for.
	p := s.newPool(t, Config{PauseGrace: 50 * time.Millisecond, IdleTimeout: 5 * time.Second})
	a := s.action("idle")
	run(t, p, a, `{"quiet":true}`)
	eventuallyStates(t, p, "paused")
	assertFrozen(t, p, true)

	rec := run(t, p, a, `{"quiet":true}`)
	assert.Equal(t, entity.StatusSuccess, rec.Response.Status)
	st := p.Snapshot().Stats
	assert.Equal(t, int64(1), st.Unpauses)
	assert.Equal(t, int64(1), st.WarmStarts)
	eventuallyStates(t, p, "paused")
	eventuallyStates(t, p) // removed after the idle timeout
	assert.Equal(t, int64(1), p.Snapshot().Stats.Removals)
}

// assertFrozen checks the backend's view of every container.
func assertFrozen(t *testing.T, p *Pool, want bool) {
	t.Helper()
	p.mu.Lock()
	var cs []backend.Container
	for m := range p.members {
		cs = append(cs, m.c)
	}
	p.mu.Unlock()
	for _, c := range cs {
		obs, ok := c.(interface {
			Paused(context.Context) (bool, error)
		})
		require.True(t, ok)
		ctx, cancel := context.WithTimeout(context.Background(), stateBound)
		frozen, err := obs.Paused(ctx)
		cancel()
		require.NoError(t, err)
		assert.Equal(t, want, frozen, "container %s frozen", c.Name())
	}
}

// vanillaPausesLinger: stock semantics pause a container whose activation
// still has work pending, and leave the record without a completion. The
// work is held at a gate opened only once its container is gone.
func (s *suite) vanillaPausesLinger(t *testing.T) {
	g := s.gate(t)
	p := s.newPool(t, Config{Policy: reclaim.Vanilla, PauseGrace: Immediately, IdleTimeout: 500 * time.Millisecond})
	inv := start(t, p, s.action("lost"), held(g, "lost"))
	wait(t, inv)
	eventuallyStates(t, p, "paused")
	eventuallyStates(t, p) // removed with the work frozen in it
	g.Open("lost")
	rec := completed(t, p, inv)
	_, known := annotation(rec, entity.AnnotationCompletion)
	assert.False(t, known, "stock OpenWhisk cannot know how the activation ended: %v", rec.Annotations)
	assert.False(t, hasLine(rec.Logs, "lingering "+inv.ID()), "the work never finished: %q", rec.Logs)
}

// vanillaCloseCuts: stock semantics shut down with work pending in a
// container that was never paused; the record still says nothing, as stock
// OpenWhisk cannot know.
func (s *suite) vanillaCloseCuts(t *testing.T) {
	g := s.gate(t) // never opened
	p := s.newPool(t, Config{Policy: reclaim.Vanilla})
	inv := start(t, p, s.action("cut"), held(g, "cut"))
	wait(t, inv)
	ctx, cancel := context.WithTimeout(context.Background(), activationBound)
	defer cancel()
	require.NoError(t, p.Close(ctx))
	rec := completed(t, p, inv)
	_, known := annotation(rec, entity.AnnotationCompletion)
	assert.False(t, known, "stock OpenWhisk cannot know how the activation ended: %v", rec.Annotations)
}

// developerErrors: a timeout, a crash or an answer that is not a result
// destroys the container, with OpenWhisk's messages.
func (s *suite) developerErrors(t *testing.T) {
	p := s.newPool(t, Config{})
	for _, tc := range []struct {
		name, params string
		timeoutMs    int
		wantError    string
		wantTimeout  string
	}{
		// The limit covers /init too, which took over 3 s beside another
		// test run: the limit leaves /init room on a loaded machine, and
		// the sleep outlasts it by far.
		{"timeout", `{"sleep_ms":600000}`, 15000, "The action exceeded its time limits of 15000 milliseconds.", "true"},
		// The proxy answers 400 {"error":"command exited"}: a non-200
		// object's error is the developer error, as in OpenWhisk.
		{"crash", `{"crash":true}`, 0, "command exited", "false"},
		{"not a result", `{"scalar":true}`, 0, "The action did not return a dictionary or array.", "false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := s.action(strings.ReplaceAll(tc.name, " ", "-"))
			if tc.timeoutMs > 0 {
				a = s.action(a.Name, withTimeout(tc.timeoutMs))
			}
			rec := run(t, p, a, tc.params)
			assert.Equal(t, entity.StatusDeveloperError, rec.Response.Status)
			var res struct{ Error string }
			require.NoError(t, json.Unmarshal(rec.Response.Result, &res), "%s", rec.Response.Result)
			assert.Contains(t, res.Error, tc.wantError)
			to, _ := annotation(rec, entity.AnnotationTimeout)
			assert.Equal(t, tc.wantTimeout, to)
			assert.Contains(t, rec.Logs, msgLogDeveloperError)
		})
	}
	eventuallyStates(t, p) // every container destroyed
}

// evictLRU: a new action evicts the least recently used idle container
// when the memory budget is used.
func (s *suite) evictLRU(t *testing.T) {
	p := s.newPool(t, Config{MemoryMB: 512})
	runOK(t, p, s.action("a"), `{"quiet":true}`)
	runOK(t, p, s.action("b"), `{"quiet":true}`)
	runOK(t, p, s.action("a"), `{"quiet":true}`) // b is now the least recently used
	assertEvictedFor(t, p, s.action("c"), "guest/a")
}

// assertEvictedFor runs a, which needs one idle container evicted, and
// checks that kept's container is the one left beside a's.
func assertEvictedFor(t *testing.T, p *Pool, a entity.Action, kept string) {
	t.Helper()
	runOK(t, p, a, `{"quiet":true}`)
	require.Eventually(t, func() bool { return len(states(p)) == 2 }, stateBound, poll)
	var actions []string
	for _, c := range p.Snapshot().Containers {
		actions = append(actions, c.Action)
	}
	assert.ElementsMatch(t, []string{kept, a.Path()}, actions)
	assert.Equal(t, int64(1), p.Snapshot().Stats.Evictions)
}

// evictionWaitsForDone: under the epilogue policy a lingering container is
// not evicted; the next activation waits for its work, then takes the room.
func (s *suite) evictionWaitsForDone(t *testing.T) {
	g := s.gate(t)
	p := s.newPool(t, Config{MemoryMB: 256})
	first := start(t, p, s.action("first"), held(g, "first"))
	wait(t, first)
	g.WaitArrived(t, "first", activationBound)
	second := start(t, p, s.action("second"), `{"quiet":true}`)
	require.Eventually(t, func() bool { return p.Snapshot().Stats.Queued == 1 }, stateBound, poll, "the second activation never queued")
	queued := time.Now()
	select {
	case <-second.Done():
		t.Fatalf("the second activation ran while the first's work held the room: %+v", second.Record())
	default:
	}

	g.Open("first")
	opened := time.Now()
	rec2 := wait(t, second)
	assert.Equal(t, entity.StatusSuccess, rec2.Response.Status)
	rec := completed(t, p, first)
	c, _ := annotation(rec, entity.AnnotationCompletion)
	assert.Equal(t, `"done"`, c, "the lingering work finished before its container was evicted")
	wt, _ := annotation(rec2, entity.AnnotationWaitTime)
	assert.GreaterOrEqual(t, atoi(t, wt), floorMs(opened.Sub(queued)), "the second activation waited for the first's work")
	assert.Equal(t, int64(1), p.Snapshot().Stats.Queued)
}

// queueBound: an activation that finds no room within MaxQueueWait fails
// with a whisk error that says what to change.
func (s *suite) queueBound(t *testing.T) {
	g := s.gate(t)
	p := s.newPool(t, Config{MemoryMB: 256, MaxQueueWait: 200 * time.Millisecond})
	first := start(t, p, s.action("hog"), held(g, "hog"))
	wait(t, first)
	rec := run(t, p, s.action("starved"), `{}`)
	assert.Equal(t, entity.StatusWhiskError, rec.Response.Status)
	assert.Contains(t, string(rec.Response.Result), "--memory")
	g.Open("hog")
	completed(t, p, first)
}

// prewarm: a stem cell takes a matching activation and is replaced.
func (s *suite) prewarm(t *testing.T) {
	p := s.newPool(t, Config{Prewarm: 1})
	eventuallyStates(t, p, "prewarmed")
	rec := run(t, p, s.action("stem"), `{"quiet":true}`)
	assert.Equal(t, entity.StatusSuccess, rec.Response.Status)
	_, init := annotation(rec, entity.AnnotationInitTime)
	assert.True(t, init, "a stem cell still needs /init")
	assert.Equal(t, int64(1), p.Snapshot().Stats.PrewarmStarts)
	eventuallyStates(t, p, "ready", "prewarmed")

	// Another memory size does not match the stem cell.
	run(t, p, s.action("big", withMemory(512)), `{"quiet":true}`)
	assert.Equal(t, int64(1), p.Snapshot().Stats.ColdStarts)
}

// deadlineWhileLinger: work still pending at the deadline is cancelled by
// the runtime; the record says expired and names the work. The work waits
// at a gate that never opens; a warm-up run keeps /init out of the time
// limit, which only has to outlast the answer of a warm /run.
func (s *suite) deadlineWhileLinger(t *testing.T) {
	g := s.gate(t)
	p := s.newPool(t, Config{})
	a := s.action("late", withTimeout(5000))
	run(t, p, a, `{"quiet":true}`)
	inv := start(t, p, a, held(g, "never"))
	rec := wait(t, inv)
	assert.Equal(t, entity.StatusSuccess, rec.Response.Status, "%s", rec.Response.Result)
	rec = completed(t, p, inv)
	c, _ := annotation(rec, entity.AnnotationCompletion)
	assert.Equal(t, `"expired"`, c)
	errs, _ := annotation(rec, entity.AnnotationPostResponseErrors)
	assert.Contains(t, errs, "unfinished")
	assert.Equal(t, 1, g.Arrivals("never"), "the work was held at its gate")
	eventuallyStates(t, p, "ready")
}

// containerLostWhileLingering: a container that dies with work pending
// (here: removed behind the pool's back) leaves completion=failed.
func (s *suite) containerLostWhileLingering(t *testing.T) {
	g := s.gate(t) // never opened
	p := s.newPool(t, Config{})
	inv := start(t, p, s.action("doomed"), held(g, "doomed"))
	wait(t, inv)
	g.WaitArrived(t, "doomed", activationBound)
	eventuallyStates(t, p, "lingering")
	removeBehindTheBack(t, p)

	rec := completed(t, p, inv)
	c2, _ := annotation(rec, entity.AnnotationCompletion)
	assert.Equal(t, `"failed"`, c2)
	errs, _ := annotation(rec, entity.AnnotationPostResponseErrors)
	assert.Contains(t, errs, "the container was lost")
	eventuallyStates(t, p)
}

// lateLogs: lines written after the response by work the action does not
// track still reach the activation's record.
func (s *suite) lateLogs(t *testing.T) {
	// The window is counted when a line is read: on a loaded machine
	// Docker's log follower may deliver the ticks well after they were
	// written, so the window here is as long as the wait.
	p := s.newPool(t, Config{LateLogWindow: stateBound})
	inv := start(t, p, s.action("chatty"), `{"quiet":true,"bg":3}`)
	wait(t, inv)
	require.Eventually(t, func() bool {
		rec, err := p.cfg.Store.GetActivation("guest", inv.ID())
		return err == nil && hasLine(rec.Logs, "stdout: [activation "+inv.ID()+"] bg tick 3")
	}, stateBound, poll)
}

// logsBeforeExit: every line an action prints just before it exits in the
// middle of /run is in the record the activation answers with. The proxy
// relays them and its sentinels after its "command exited" answer, so a
// pool that stopped collecting at the answer lost some of them, on some
// runs: several crashes with many lines each make that loss near certain.
func (s *suite) logsBeforeExit(t *testing.T) {
	const lines = 200
	p := s.newPool(t, Config{})
	for round := range 4 {
		rec := run(t, p, s.action(fmt.Sprintf("exits-%d", round)), fmt.Sprintf(`{"crash":true,"crash_lines":%d}`, lines))
		require.Equal(t, entity.StatusDeveloperError, rec.Response.Status)
		for _, stream := range []string{"stdout", "stderr"} {
			var got []string
			for _, l := range rec.Logs {
				if _, text, ok := strings.Cut(l, " "+stream+": "); ok {
					got = append(got, text)
				}
			}
			if !assert.Len(t, got, lines, "round %d, %s: lines printed before the exit are missing", round, stream) {
				continue
			}
			for i, text := range got {
				require.Equal(t, fmt.Sprintf("crash line %d", i+1), text, "round %d, %s: in order", round, stream)
			}
		}
		assert.Equal(t, msgLogDeveloperError, rec.Logs[len(rec.Logs)-1], "OpenWhisk's warning still closes the log")
	}
}

// closeWaitsForLinger: Close lets lingering work finish before it removes
// the containers. The work is held at a gate until Close has begun, so it
// cannot have finished before Close is asked to wait for it.
func (s *suite) closeWaitsForLinger(t *testing.T) {
	g := s.gate(t)
	p := s.newPool(t, Config{})
	inv := start(t, p, s.action("closing"), held(g, "closing"))
	wait(t, inv)
	g.WaitArrived(t, "closing", activationBound)
	ctx, cancel := context.WithTimeout(context.Background(), activationBound)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- p.Close(ctx) }()
	require.Eventually(t, func() bool {
		_, err := p.Invoke(context.Background(), Request{Action: s.action("x"), Subject: "guest"})
		return errors.Is(err, ErrClosed)
	}, stateBound, poll, "Close never began")
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while the work was held", err)
	default:
	}
	g.Open("closing")
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(activationBound):
		t.Fatal("Close did not return once the work could finish")
	}
	rec, err := p.cfg.Store.GetActivation("guest", inv.ID())
	require.NoError(t, err)
	c, _ := annotation(rec, entity.AnnotationCompletion)
	assert.Equal(t, `"done"`, c)
	assert.Empty(t, states(p))
}

// cannotRunHere: an action bigger than the pool fails at once with a whisk
// error naming the flag.
func (s *suite) cannotRunHere(t *testing.T) {
	p := s.newPool(t, Config{MemoryMB: 256})
	rec := run(t, p, s.action("huge", withMemory(512)), `{}`)
	assert.Equal(t, entity.StatusWhiskError, rec.Response.Status)
	assert.Contains(t, string(rec.Response.Result), "--memory 512")
	assert.Empty(t, states(p))
}

// goSource: with a Runtime, a Go source action compiles before it looks
// for a container and runs on the runtime image; a compile error is the
// activation's developer error and no container is created for it.
func (s *suite) goSource(t *testing.T) {
	rt, err := gosource.New(gosource.Config{CacheDir: t.TempDir()})
	require.NoError(t, err)
	exp := tracetest.NewInMemoryExporter()
	p := s.newPool(t, Config{Runtime: rt, TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))})
	goAction := func(name, code string) entity.Action {
		return s.action(name, func(a *entity.Action) { a.Exec = entity.Exec{Kind: "go:1.22", Code: code} })
	}

	broken := completed(t, p, start(t, p, goAction("broken", "package main\n\nfunc Main(obj map[string]interface{}) map[string]interface{} {\n\treturn nope\n}\n"), `{}`))
	assert.Equal(t, entity.StatusDeveloperError, broken.Response.Status)
	assert.Contains(t, string(broken.Response.Result), "./exec__.go:4:9: undefined: nope")
	assert.Empty(t, states(p), "a compile error creates no container")
	kind, _ := annotation(broken, entity.AnnotationKind)
	assert.Equal(t, `"go:1.22"`, kind)
	spans := map[string]tracetest.SpanStub{}
	for _, sp := range exp.GetSpans() {
		spans[sp.Name] = sp
	}
	prepared, ok := spans["prepare code"]
	require.True(t, ok, "spans: %v", exp.GetSpans())
	assert.Equal(t, spans["invoke /guest/broken"].SpanContext.SpanID(), prepared.Parent.SpanID(), "the compile is the invocation's child")
	assert.Equal(t, codes.Error, prepared.Status.Code)
	assert.Contains(t, prepared.Status.Description, "undefined: nope")

	rec := completed(t, p, start(t, p, goAction("echo", "package main\n\nfunc Main(obj map[string]interface{}) map[string]interface{} {\n\treturn obj\n}\n"), `{"k":"v"}`))
	assert.Equal(t, entity.StatusSuccess, rec.Response.Status, string(rec.Response.Result))
	assert.JSONEq(t, `{"k":"v"}`, string(rec.Response.Result))
	assert.Len(t, states(p), 1, "it ran in a container of its own")
}

// concurrent: parallel activations of one action each get a container
// within the budget, and all succeed.
func (s *suite) concurrent(t *testing.T) {
	p := s.newPool(t, Config{MemoryMB: 768})
	a := s.action("par")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := run(t, p, a, fmt.Sprintf(`{"sleep_ms":50,"i":%d}`, i))
			assert.Equal(t, entity.StatusSuccess, rec.Response.Status, "%s", rec.Response.Result)
		}()
	}
	wg.Wait()
	snap := p.Snapshot()
	assert.LessOrEqual(t, len(snap.Containers), 3)
	assert.LessOrEqual(t, snap.UsedMB, 768)
	assert.Equal(t, int64(8), snap.Stats.ColdStarts+snap.Stats.WarmStarts)
}
