package chaos

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDurableMatrix: durable runs ack-write, through its own action, under
// the faults that kill, remove or delay a task; the durable-only faults run
// under no other semantics.
func TestDurableMatrix(t *testing.T) {
	tests := []struct {
		name        string
		semantics   []string
		wantCells   []cell
		wantSources []string
	}{
		{name: "durable alone", semantics: []string{SemanticsDurable},
			wantCells: []cell{
				{WorkloadAckWrite, FaultReclaimAfterResponse}, {WorkloadAckWrite, FaultIdleRemoval}, {WorkloadAckWrite, FaultEviction},
				{WorkloadAckWrite, FaultSIGKILL}, {WorkloadAckWrite, FaultProxyCrash}, {WorkloadAckWrite, FaultRedisLatency},
				{WorkloadAckWrite, FaultRedisStall}, {WorkloadAckWrite, FaultDeadline},
				{WorkloadAckWrite, FaultStandaloneRestart}, {WorkloadAckWrite, FaultRedisRestart},
			},
			wantSources: []string{"chaos/actions/durablewrite"}},
		{name: "vanilla has no durable-only fault", semantics: []string{SemanticsVanilla},
			wantSources: []string{"chaos/actions/interference", "examples/async-write", "examples/fanout", "examples/telemetry"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Short: true, Semantics: tt.semantics}
			cells := cfg.matrix()
			if tt.wantCells != nil {
				assert.Equal(t, tt.wantCells, cells)
			}
			for _, c := range cells {
				assert.False(t, faults[c.fault].durableOnly && tt.semantics[0] != SemanticsDurable, "%v runs under %s", c, tt.semantics)
			}
			assert.Equal(t, tt.wantSources, cfg.sourcesUsed())
		})
	}
}

// TestWorkloadSources: every workload's action is a Go main package at its
// source directory under the module root, where Run builds it from (a moved
// directory fails here, not minutes into a run).
func TestWorkloadSources(t *testing.T) {
	root, err := moduleRoot()
	require.NoError(t, err)
	sources := map[string]string{"durable " + WorkloadAckWrite: durableWrite.source}
	for _, name := range workloadOrder {
		sources[name] = workloads[name].source
	}
	for name, src := range sources {
		matches, err := filepath.Glob(filepath.Join(root, src, "*.go"))
		require.NoError(t, err)
		assert.NotEmpty(t, matches, "workload %s: no Go source in %s", name, src)
		_, err = os.Stat(filepath.Join(root, src, "main.go"))
		assert.NoError(t, err, "workload %s: %s has no main.go", name, src)
	}
}

// TestRunsNameTheirContainersApart: two runs side by side never share a
// container name prefix, since a server removes whatever its prefix left
// behind.
func TestRunsNameTheirContainersApart(t *testing.T) {
	a, b := &env{runID: newRunID()}, &env{runID: newRunID()}
	assert.NotEqual(t, a.dockerPrefix(), b.dockerPrefix())
	for _, e := range []*env{a, b} {
		assert.Regexp(t, `^wskchaos[0-9a-f]{8}_$`, e.dockerPrefix())
	}
}
