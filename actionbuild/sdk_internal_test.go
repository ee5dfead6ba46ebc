package actionbuild

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSDKDirIsWrittenOnceWhole: builds running at once share one complete
// directory, named by the content hash, with nothing left beside it.
func TestSDKDirIsWrittenOnceWhole(t *testing.T) {
	cache := t.TempDir()
	const n = 8
	dirs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dirs[i], errs[i] = sdkDir(cache) })
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, filepath.Join(cache, "sdk", carried.Hash), dirs[i])
	}
	entries, err := os.ReadDir(filepath.Join(cache, "sdk"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary directory is left")
	require.Greater(t, len(sdkFiles), 10)
	for _, f := range sdkFiles {
		got, err := os.ReadFile(filepath.Join(dirs[0], filepath.FromSlash(f.path)))
		require.NoError(t, err)
		assert.Equal(t, string(f.data), string(got), f.path)
	}
	assert.Len(t, carried.Hash, 64)
}

func TestWireSDKLeavesThisRepositoryAlone(t *testing.T) {
	for _, dir := range []string{"../examples/hello", "../tests/testaction"} {
		w, err := wireSDK(context.Background(), "go", os.Environ(), Options{Dir: dir, CacheDir: t.TempDir()}, t.TempDir())
		require.NoError(t, err)
		assert.Nil(t, w.args, dir)
	}
}

func TestOlderGo(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"1.22", "1.26.0", true},
		{"1.26", "1.26.0", false},
		{"1.26.0", "1.26.0", false},
		{"1.27", "1.26.0", false},
		{"1.26rc1", "1.26.1", true},
		{"", "1.26.0", true},
		{"2.0", "1.26.0", false},
	} {
		assert.Equal(t, tc.want, olderGo(tc.a, tc.b), "%s < %s", tc.a, tc.b)
	}
}

func TestModuleVersionAndEscape(t *testing.T) {
	assert.Equal(t, "v0.1.0", SDK{Version: "0.1.0"}.ModuleVersion())
	assert.Equal(t, "v0.0.0-00010101000000-000000000000", SDK{Version: "dev"}.ModuleVersion())
	assert.Equal(t, "v1.0.0-!r!c1", escapeVersion("v1.0.0-RC1"))
}
