package chaos

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWorkloadSources: every workload's action is a Go main package at its
// source directory under the module root, where Run builds it from (a moved
// directory fails here, not minutes into a run).
func TestWorkloadSources(t *testing.T) {
	root, err := moduleRoot()
	require.NoError(t, err)
	for _, name := range workloadOrder {
		src := workloads[name].source
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
