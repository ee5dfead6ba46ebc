package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/chaos"
)

func TestParseChaosArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o chaosOptions)
		wantErr string // substring of stderr; "" = no error
	}{
		{name: "defaults", args: nil, check: func(t *testing.T, o chaosOptions) {
			assert.Equal(t, []string{chaos.BackendProcess}, o.backends)
			assert.Empty(t, o.cfg.Semantics, "both")
			assert.Equal(t, int64(chaos.DefaultSeed), o.cfg.Seed)
			assert.Equal(t, chaos.DefaultDuration, o.cfg.Duration)
			assert.False(t, o.cfg.Short)
			assert.False(t, o.cfg.Latency)
		}},
		{name: "replay one scenario", args: []string{"--backend", "docker", "--seed", "7", "--semantics", "vanilla",
			"--workload", "ack-write", "--fault", "eviction,deadline", "--fault", "redis-stall"},
			check: func(t *testing.T, o chaosOptions) {
				assert.Equal(t, []string{chaos.BackendDocker}, o.backends)
				assert.Equal(t, int64(7), o.cfg.Seed)
				assert.Equal(t, []string{chaos.SemanticsVanilla}, o.cfg.Semantics)
				assert.Equal(t, []string{"ack-write"}, o.cfg.Workloads)
				assert.Equal(t, []string{"eviction", "deadline", "redis-stall"}, o.cfg.Faults)
			}},
		{name: "both backends, report", args: []string{"--backend", "both", "--report", "out", "--duration", "3s", "--json"},
			check: func(t *testing.T, o chaosOptions) {
				assert.Equal(t, []string{chaos.BackendProcess, chaos.BackendDocker}, o.backends)
				assert.Equal(t, "out", o.report)
				assert.True(t, o.cfg.Latency, "a report has the latency chart")
				assert.True(t, o.json)
				assert.Equal(t, 3*time.Second, o.cfg.Duration)
			}},
		{name: "short", args: []string{"--short"}, check: func(t *testing.T, o chaosOptions) { assert.True(t, o.cfg.Short) }},
		{name: "bad backend", args: []string{"--backend", "k8s"}, wantErr: `--backend "k8s": use process, docker or both`},
		{name: "bad semantics", args: []string{"--semantics", "strict"}, wantErr: `--semantics "strict"`},
		{name: "bad duration", args: []string{"--duration", "0s"}, wantErr: "--duration must be positive"},
		{name: "duration without a unit", args: []string{"--duration", "5"}, wantErr: `"5" has no unit: write a duration with one, e.g. 5s`},
		{name: "stray argument", args: []string{"now"}, wantErr: `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseChaosArgs(tt.args, &stderr)
			if tt.wantErr != "" {
				require.Error(t, err)
				requireErrorLast(t, stderr.String(), "epilogue chaos", tt.wantErr)
				return
			}
			require.NoError(t, err, "%s", stderr.String())
			tt.check(t, o)
		})
	}
}

func TestVerdict(t *testing.T) {
	ok := chaos.Result{Semantics: chaos.SemanticsEpilogue, Backend: "process", Workload: "ack-write", Fault: "eviction", Seed: 1}
	vanillaLoss := ok
	vanillaLoss.Semantics, vanillaLoss.Lost, vanillaLoss.Interference = chaos.SemanticsVanilla, 3, 2
	lost := ok
	lost.Lost, lost.Interference = 1, 1
	broken := ok
	broken.Errors = []string{"redis went away"}
	assert.Empty(t, verdict([]chaos.Report{{Scenarios: []chaos.Result{ok, vanillaLoss}}}), "vanilla is expected to lose")
	got := verdict([]chaos.Report{{Scenarios: []chaos.Result{lost, broken}}})
	require.Len(t, got, 2)
	assert.Contains(t, got[0], "1 lost silently, 1 interfered")
	assert.Contains(t, got[0], "replay: epilogue chaos --backend process --seed 1 --semantics epilogue --workload ack-write --fault eviction")
	assert.Contains(t, got[1], "harness errors: redis went away")
}
