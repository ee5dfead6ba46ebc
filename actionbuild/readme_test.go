package actionbuild_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionbuild"
)

// readmeAction is the ```go block of the README's "Write your own action".
func readmeAction(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Write your own action\n")
	require.True(t, ok, "README.md has no section '## Write your own action'")
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	_, block, ok := strings.Cut(section, "```go\n")
	require.True(t, ok, "the section has no ```go block")
	block, _, ok = strings.Cut(block, "```\n")
	require.True(t, ok, "the ```go block is not closed")
	return block
}

func TestREADMEActionIsTheStarter(t *testing.T) {
	t.Parallel()
	assert.Equal(t, actionbuild.StarterMain, readmeAction(t), "the README shows what epilogue init writes, byte for byte")
}

// TestREADMEActionBuildsAnywhere: the README's action, written into a
// directory outside the repository, builds offline as the README says.
func TestREADMEActionBuildsAnywhere(t *testing.T) {
	t.Parallel()
	src := readmeAction(t)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string, env []string)
	}{
		{"main.go alone", func(*testing.T, string, []string) {}},
		{"after go mod init", func(t *testing.T, dir string, env []string) {
			goCmd(t, dir, env, "mod", "init", "example.com/myaction")
		}},
		{"after epilogue init", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := offline(t)
			dir := filepath.Join(t.TempDir(), "myaction")
			if tc.setup == nil {
				written, err := actionbuild.Init(dir)
				require.NoError(t, err)
				assert.Equal(t, []string{filepath.Join(dir, "main.go"), filepath.Join(dir, "go.mod")}, written)
			} else {
				require.NoError(t, os.MkdirAll(dir, 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
				tc.setup(t, dir, env)
			}
			before := snapshot(t, dir)
			out := filepath.Join(t.TempDir(), "myaction.zip")
			_, err := actionbuild.Build(context.Background(), actionbuild.Options{Dir: dir, Output: out, Env: env, CacheDir: t.TempDir()})
			require.NoError(t, err)
			requireStaticExec(t, out)
			assert.Equal(t, before, snapshot(t, dir), "the action's files are left as they were")
		})
	}
}

func TestInitOverwritesNothing(t *testing.T) {
	t.Parallel()
	for _, existing := range []string{"main.go", "go.mod"} {
		t.Run(existing, func(t *testing.T) {
			t.Parallel()
			dir := writeAction(t, map[string]string{existing: "mine\n"})
			written, err := actionbuild.Init(dir)
			require.ErrorIs(t, err, actionbuild.ErrExists)
			assert.Empty(t, written)
			assert.Contains(t, err.Error(), filepath.Join(dir, existing)+" already exists")
			assert.Equal(t, map[string]string{"/" + existing: "mine\n"}, snapshot(t, dir), "nothing written, nothing changed")
		})
	}
	t.Run("no directory", func(t *testing.T) {
		_, err := actionbuild.Init("")
		require.Error(t, err)
		assert.False(t, errors.Is(err, actionbuild.ErrExists))
		assert.Contains(t, err.Error(), "name the directory")
	})
}

func TestInitGoModIsNamedAfterTheDirectory(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ dir, module string }{
		{"myaction", "myaction"},
		{"My Action!", "My-Action"},
		{"...", "action"},
	} {
		dir := filepath.Join(t.TempDir(), tc.dir)
		_, err := actionbuild.Init(dir)
		require.NoError(t, err)
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(mod), "module "+tc.module+"\n\ngo "+actionbuild.CarriedSDK().GoVersion+"\n"), "%s", mod)
	}
}
