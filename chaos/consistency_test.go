package chaos

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// testDeadlineMargin is kept between the run's end and the test binary's
// deadline (go test -timeout), so that a run cut short fails with its
// cause instead of the binary's panic: a scenario cut short still shuts
// its server down, which may take its shutdown bound and more.
const testDeadlineMargin = shutdownTimeout + time.Minute

// errTestTimeout is the cause of a run cut at the test binary's deadline.
var errTestTimeout = errors.New("the run was cut short before go test's -timeout: " +
	"the machine may be overloaded; rerun on a quieter machine or raise -timeout")

// TestShortRun is the CI-sized matrix on both backends: under vanilla the
// suite must see the losses and the interference the paper predicts (else
// it proves nothing); under epilogue, no silent loss and no interference;
// under durable, every acknowledged write persisted exactly once, the
// tasks the faults killed recovered.
func TestShortRun(t *testing.T) {
	for _, backend := range []string{BackendProcess, BackendDocker} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			cfg := Config{Backend: backend, Short: true, Seed: DefaultSeed, Progress: testWriter{t}}
			if backend == BackendDocker {
				testenv.RequireImage(t, testenv.RequireDocker(t), "epilogue/action-go:latest")
			} else {
				cfg.ProxyPath = testenv.BuildStatic(t, "./cmd/epilogue-proxy")
			}
			// While debugging: EPILOGUE_CHAOS_FAULT=f1,f2 runs only those
			// faults, EPILOGUE_CHAOS_LOG=1 shows the servers' logs.
			if filter := os.Getenv("EPILOGUE_CHAOS_FAULT"); filter != "" {
				cfg.Faults = strings.Split(filter, ",")
			}
			if os.Getenv("EPILOGUE_CHAOS_LOG") != "" {
				cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			// Each scenario is bounded by Run (Config.ScenarioSlack), so the
			// run's bound grows with its work; the test only keeps clear of
			// go test's own deadline.
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if d, ok := t.Deadline(); ok {
				ctx, cancel = context.WithDeadlineCause(ctx, d.Add(-testDeadlineMargin), errTestTimeout)
			}
			defer cancel()
			rep, err := Run(ctx, cfg)
			require.NoError(t, err)
			require.NotEmpty(t, rep.Scenarios)
			checkReport(t, rep)
		})
	}
}

// checkReport asserts the suite's claims on a report.
func checkReport(t *testing.T, rep Report) {
	t.Helper()
	var vanillaLost, vanillaInterference int
	for _, r := range rep.Scenarios {
		assert.Empty(t, r.Errors, "%s: the harness failed; replay: %s", r.line(), r.Replay())
		assert.Positive(t, r.Acknowledged, "%s: nothing was acknowledged; replay: %s", r.line(), r.Replay())
		switch r.Fault {
		case FaultSIGKILL, FaultProxyCrash, FaultRedisStall, FaultStandaloneRestart, FaultRedisRestart:
			assert.Positive(t, r.Injected, "%s: the fault was never injected; replay: %s", r.line(), r.Replay())
		case FaultShimRestart:
			if r.Semantics == SemanticsEpilogue { // vanilla runs without the shim
				assert.Positive(t, r.Injected, "%s: the shim was never restarted; replay: %s", r.line(), r.Replay())
			}
		}
		switch r.Semantics {
		case SemanticsDurable:
			assert.Zero(t, r.Lost, "silent losses under durable: %s; replay: %s", r.line(), r.Replay())
			assert.Zero(t, r.Unrecovered, "unrecovered tasks under durable: %s; replay: %s", r.line(), r.Replay())
			assert.Zero(t, r.Duplicated, "a task's write landed twice under durable: %s; replay: %s", r.line(), r.Replay())
			assert.Equal(t, r.Acknowledged, r.Persisted, "%s: every acknowledged write persists exactly once; replay: %s", r.line(), r.Replay())
			if mustRecover[r.Fault] {
				assert.Positive(t, r.Recovered, "%s: the fault killed no task, so recovery is unproven; replay: %s", r.line(), r.Replay())
				assert.Len(t, r.RecoveryMs, r.Recovered, "%s: a recovery time per recovered task", r.line())
			}
		case SemanticsEpilogue:
			assert.Zero(t, r.Lost, "silent losses under epilogue: %s; replay: %s", r.line(), r.Replay())
			assert.Zero(t, r.Interference, "interference under epilogue: %s; replay: %s", r.line(), r.Replay())
		case SemanticsVanilla:
			vanillaLost += r.Lost
			if r.Workload == WorkloadInterference {
				vanillaInterference += r.Interference
			}
			// The paper's example itself: frozen right after each response,
			// the leftover resumes inside the next activation.
			if r.Workload == WorkloadInterference && r.Fault == FaultReclaimAfterResponse {
				assert.Positive(t, r.Interference, "%s: vanilla's leftovers never ran inside a later activation; replay: %s", r.line(), r.Replay())
			}
		}
	}
	assert.Positive(t, vanillaLost, "vanilla lost nothing: the faults did not bite, so the suite proves nothing")
	assert.Positive(t, vanillaInterference, "vanilla showed no interference: the suite proves nothing about it")
}

// mustRecover are the faults that kill tasks mid-way under durable (or,
// for the deadline, outlive the activation): a scenario under them that
// recovered nothing did not test recovery.
var mustRecover = map[string]bool{FaultSIGKILL: true, FaultProxyCrash: true, FaultStandaloneRestart: true, FaultDeadline: true}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestScenarioPastItsBoundIsOverloaded: a scenario that outlives its bound
// ends the run with ErrOverloaded, whose message tells the user what to do,
// and the scenario's row is still reported.
func TestScenarioPastItsBoundIsOverloaded(t *testing.T) {
	cfg := Config{Short: true, Semantics: []string{SemanticsVanilla}, Workloads: []string{WorkloadAckWrite},
		Faults: []string{FaultReclaimAfterResponse}, ScenarioSlack: time.Nanosecond,
		ProxyPath: testenv.BuildStatic(t, "./cmd/epilogue-proxy")}
	rep, err := Run(context.Background(), cfg)
	require.ErrorIs(t, err, ErrOverloaded)
	assert.Contains(t, err.Error(), "rerun on a quieter machine, or raise the bound")
	assert.Contains(t, err.Error(), "replay it alone: epilogue chaos")
	assert.Len(t, rep.Scenarios, 1, "the scenario cut short is reported")
}
