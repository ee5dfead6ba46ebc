package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/chaos"
	"github.com/epilogue-dev/epilogue/chaos/report"
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
			assert.Empty(t, o.cfg.Semantics, "all")
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
		{name: "durable beside epilogue", args: []string{"--semantics", "epilogue,durable"}, check: func(t *testing.T, o chaosOptions) {
			assert.Equal(t, []string{chaos.SemanticsEpilogue, chaos.SemanticsDurable}, o.cfg.Semantics)
		}},
		{name: "both is vanilla and epilogue", args: []string{"--semantics", "both"}, check: func(t *testing.T, o chaosOptions) {
			assert.Equal(t, []string{chaos.SemanticsVanilla, chaos.SemanticsEpilogue}, o.cfg.Semantics)
		}},
		{name: "short", args: []string{"--short"}, check: func(t *testing.T, o chaosOptions) { assert.True(t, o.cfg.Short) }},
		{name: "render", args: []string{"--render", "docs/report"}, check: func(t *testing.T, o chaosOptions) {
			assert.Equal(t, "docs/report", o.render)
			assert.Empty(t, o.backends, "nothing runs")
		}},
		{name: "render with a run's flags", args: []string{"--render", "docs/report", "--backend", "docker"},
			wantErr: "--render runs nothing, so it takes no other flag"},
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
	unrecovered := ok
	unrecovered.Semantics, unrecovered.Unrecovered, unrecovered.Duplicated = chaos.SemanticsDurable, 2, 1
	assert.Empty(t, verdict([]chaos.Report{{Scenarios: []chaos.Result{ok, vanillaLoss}}}), "vanilla is expected to lose")
	got := verdict([]chaos.Report{{Scenarios: []chaos.Result{lost, broken, unrecovered}}})
	require.Len(t, got, 3)
	assert.Contains(t, got[0], "1 lost silently, 1 interfered")
	assert.Contains(t, got[0], "replay: epilogue chaos --backend process --seed 1 --semantics epilogue --workload ack-write --fault eviction")
	assert.Contains(t, got[1], "harness errors: redis went away")
	assert.Contains(t, got[2], "2 durable tasks unrecovered, 1 durable writes landed twice")
	assert.Contains(t, got[2], "--semantics durable")
}

func TestRunChaosRender(t *testing.T) {
	written := t.TempDir()
	require.NoError(t, report.Write(written, chaos.Report{Seed: 3, Backend: chaos.BackendProcess, Scenarios: []chaos.Result{
		{Semantics: chaos.SemanticsVanilla, Workload: chaos.WorkloadAckWrite, Fault: chaos.FaultEviction, Activations: 2, Acknowledged: 2, Lost: 1},
	}}))
	results, err := os.ReadFile(filepath.Join(written, report.ResultsFile))
	require.NoError(t, err)

	tests := []struct {
		name    string
		results []byte // nil: no results.json
		code    int
		stderr  string
	}{
		{"from results.json", results, exitOK, "report rendered again in"},
		{"no results.json", nil, exitError, "results.json is missing: write a report there first"},
		{"not results", []byte("{"), exitError, "is not a report's results"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.results != nil {
				require.NoError(t, os.WriteFile(filepath.Join(dir, report.ResultsFile), tt.results, 0o644))
			}
			var stdout, stderr bytes.Buffer
			code := runChaos(context.Background(), []string{"--render", dir}, &stdout, &stderr)
			assert.Equal(t, tt.code, code, "%s", stderr.String())
			assert.Contains(t, stderr.String(), tt.stderr)
			if tt.code != exitOK {
				assert.NoFileExists(t, filepath.Join(dir, "README.md"))
				return
			}
			for _, name := range []string{"README.md", "lost.svg", "latency.svg", "reclaim-lag.svg", "container-seconds.svg"} {
				want, err := os.ReadFile(filepath.Join(written, name))
				require.NoError(t, err)
				got, err := os.ReadFile(filepath.Join(dir, name))
				require.NoError(t, err, "%s not rendered", name)
				assert.Equal(t, string(want), string(got), "%s renders as Write wrote it", name)
			}
		})
	}
}
