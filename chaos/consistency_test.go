package chaos

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// shortBound guards against a hung short run of one backend; a run takes
// 1.5 to 3.5 minutes (both backends side by side, under the race detector).
const shortBound = 8 * time.Minute

// TestShortRun is the CI-sized matrix on both backends: under vanilla the
// suite must see the losses and the interference the paper predicts (else
// it proves nothing); under epilogue, no silent loss and no interference.
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
			ctx, cancel := context.WithTimeout(context.Background(), shortBound)
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
		case FaultSIGKILL, FaultProxyCrash, FaultRedisStall:
			assert.Positive(t, r.Injected, "%s: the fault was never injected; replay: %s", r.line(), r.Replay())
		case FaultShimRestart:
			if r.Semantics == SemanticsEpilogue { // vanilla runs without the shim
				assert.Positive(t, r.Injected, "%s: the shim was never restarted; replay: %s", r.line(), r.Replay())
			}
		}
		switch r.Semantics {
		case SemanticsEpilogue:
			assert.Zero(t, r.Lost, "silent losses under epilogue: %s; replay: %s", r.line(), r.Replay())
			assert.Zero(t, r.Interference, "interference under epilogue: %s; replay: %s", r.line(), r.Replay())
		case SemanticsVanilla:
			vanillaLost += r.Lost
			if r.Workload == WorkloadInterference {
				vanillaInterference += r.Interference
			}
		}
	}
	assert.Positive(t, vanillaLost, "vanilla lost nothing: the faults did not bite, so the suite proves nothing")
	assert.Positive(t, vanillaInterference, "vanilla showed no interference: the suite proves nothing about it")
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
