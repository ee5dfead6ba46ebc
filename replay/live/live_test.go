package live_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/replay"
	"github.com/epilogue-dev/epilogue/replay/live"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// actionEnv makes this test binary serve the replay's action, as
// `epilogue replay-action` does for the command.
const actionEnv = "EPILOGUE_REPLAY_LIVE_TEST_ACTION"

func TestMain(m *testing.M) {
	if os.Getenv(actionEnv) == "1" {
		live.ServeAction()
	}
	os.Exit(m.Run())
}

// testAction is the argv that runs this binary as the action.
func testAction(t *testing.T) []string {
	self, err := os.Executable()
	require.NoError(t, err)
	return []string{"/usr/bin/env", actionEnv + "=1", self}
}

// function is a trace function called at the given minutes.
func function(name string, minutes ...int) replay.Function {
	f := replay.Function{Owner: "o", App: name, Name: name, Trigger: "http", Counts: make([]int, replay.MinutesPerDay),
		Duration: time.Second, Linger: 12 * time.Second, ColdStart: time.Second, MemoryMB: 256}
	for _, m := range minutes {
		f.Counts[m]++
	}
	return f
}

// everyMinutes is 0, step, 2·step, … below end.
func everyMinutes(step, end int) []int {
	var ms []int
	for m := 0; m < end; m += step {
		ms = append(ms, m)
	}
	return ms
}

// TestLiveMatchesSimulation replays a trace live, 60 times faster, under
// fixed and greedydual, and checks what holds whatever the machine's load:
// every call has a record, the pool's cold starts are the records with an
// initTime, and they are the simulator's for the same trace. Every idle
// gap is at least 3× away from fixed's 10 minutes (3 minutes, or 35), and
// far from greedydual's day, so no timing noise flips a decision: at 60×,
// the nearest boundary is seconds of wall time away. Nothing asserts a
// duration.
func TestLiveMatchesSimulation(t *testing.T) {
	const window = 40 // trace minutes: 40 s of wall time at 60×
	tr := &replay.Trace{Days: 1, Functions: []replay.Function{
		function("often", everyMinutes(3, window)...), // warm after its first call under both
		function("rare", 1, 36),                       // cold twice under fixed, once under greedydual
		function("once", 20),
	}}
	cfg := live.Config{Speedup: 60, Window: window * time.Minute, Action: testAction(t),
		ProxyPath: testenv.BuildStatic(t, "./cmd/epilogue-proxy")}
	cut, cfg, err := live.Cut(tr, cfg)
	require.NoError(t, err)
	require.Len(t, cut.Functions, 3)

	policies := []string{"fixed", "greedydual"}
	outcomes := make([]live.Outcome, len(policies))
	errs := make([]error, len(policies))
	var wg sync.WaitGroup
	for i, name := range policies {
		wg.Go(func() { outcomes[i], errs[i] = live.Run(context.Background(), cut, name, cfg) })
	}
	wg.Wait()
	for i, name := range policies {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, errs[i])
			o := outcomes[i]
			p, err := keepalive.New(name)
			require.NoError(t, err)
			sim := replay.Simulate(cut, p, replay.Config{Until: cfg.Window})
			t.Logf("live: %s", o.Result)
			t.Logf("simulated: %s", sim)

			assert.Equal(t, sim.Calls, o.Calls)
			require.Len(t, o.Records, o.Calls, "a record per call")
			for _, rec := range o.Records {
				assert.Equal(t, entity.StatusSuccess, rec.Response.Status, "%s", rec.Response.Result)
				c, _ := rec.Annotations.Get(entity.AnnotationCompletion)
				assert.Equal(t, `"done"`, string(c), "the post-response work ran and was done")
			}
			assert.Equal(t, int(o.Pool.ColdStarts), o.ColdStarts, "the pool's cold starts are the records with an initTime")
			assert.Equal(t, sim.ColdStarts, o.ColdStarts, "live and simulated cold starts")
			assert.Equal(t, name, o.Policy)
			assert.Positive(t, o.WastedMemorySeconds)
			assert.Positive(t, o.LingerShare, "the action lingers")
			assert.Less(t, o.LingerShare, 1.0)
			assert.Positive(t, o.PrewarmAccuracy)
		})
	}
	assert.Less(t, outcomes[1].ColdStarts, outcomes[0].ColdStarts, "greedydual keeps rare's container through its 35 minutes")
}

func TestCut(t *testing.T) {
	dense := function("dense")
	for m := range 60 {
		dense.Counts[m] = 30
	}
	tr := &replay.Trace{Days: 1, Functions: []replay.Function{function("a", 1, 70), function("none", 100), function("b", 2), function("c", 3)}}
	tests := []struct {
		name  string
		trace *replay.Trace
		cfg   live.Config
		want  []string // the functions kept
		// callsOfA are the calls of a kept: its call at minute 70 is
		// after a window of an hour.
		callsOfA int
		wantErr  string
	}{
		{name: "the first functions with calls in the window", trace: tr,
			cfg: live.Config{Speedup: 60, Functions: 2, Window: time.Hour}, want: []string{"a", "b"}, callsOfA: 1},
		{name: "too dense", trace: &replay.Trace{Days: 1, Functions: []replay.Function{dense}},
			cfg:     live.Config{Speedup: 120, Window: time.Hour},
			wantErr: "the trace is too dense for a speed-up of 120 on this machine: 1800 calls of 1 functions in 1h0m0s of trace time are 60.0 calls per second of wall time (at most 20): lower the speed-up, the functions or the window"},
		{name: "no calls", trace: &replay.Trace{Days: 1, Functions: []replay.Function{function("late", 100)}},
			cfg: live.Config{Window: time.Hour}, wantErr: "no function has calls in the trace's first 1h0m0s"},
		{name: "the default window is cut to the trace", trace: tr, cfg: live.Config{Speedup: 1000, Functions: 1}, want: []string{"a"}, callsOfA: 2},
		{name: "window past the trace", trace: tr, cfg: live.Config{Window: 25 * time.Hour},
			wantErr: "a window of 25h0m0s is longer than the trace's 1 days"},
		{name: "speed-up below 1", trace: tr, cfg: live.Config{Speedup: 0.5},
			wantErr: "a speed-up of 0.5: want 1 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Action = []string{"/bin/true"}
			cut, _, err := live.Cut(tt.trace, tt.cfg)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			var names []string
			for _, f := range cut.Functions {
				names = append(names, f.Name)
				assert.Len(t, f.Counts, replay.MinutesPerDay)
			}
			assert.Equal(t, tt.want, names)
			assert.Equal(t, tt.callsOfA, cut.Functions[0].Invocations())
		})
	}
}
