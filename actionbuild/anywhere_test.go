package actionbuild_test

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue"
	"github.com/epilogue-dev/epilogue/actionbuild"
)

// offline is the environment of a build that can reach no module proxy,
// with a module cache of its own: what a user without network has.
func offline(t *testing.T) []string {
	t.Helper()
	return []string{"GOPROXY=off", "GOFLAGS=-mod=mod -modcacherw", "GOMODCACHE=" + t.TempDir(), "GOSUMDB=off", "GOWORK=off"}
}

// snapshot reads every file under dir: what a build must not change.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[strings.TrimPrefix(p, dir)] = string(b)
		return err
	}))
	return files
}

// requireStaticExec checks that the zip holds one entry, exec, a static
// linux/amd64 executable.
func requireStaticExec(t *testing.T, zipPath string) {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	require.NoError(t, err)
	defer func() { _ = zr.Close() }()
	require.Len(t, zr.File, 1)
	require.Equal(t, "exec", zr.File[0].Name)
	rc, err := zr.File[0].Open()
	require.NoError(t, err)
	exe, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	f, err := elf.NewFile(bytes.NewReader(exe))
	require.NoError(t, err)
	assert.Equal(t, elf.EM_X86_64, f.Machine)
	assert.Equal(t, elf.ET_EXEC, f.Type)
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "a static executable has no interpreter")
		assert.NotEqual(t, elf.PT_DYNAMIC, p.Type, "a static executable has no dynamic section")
	}
}

// goCmd runs the go command in dir with env, for a test's setup.
func goCmd(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s: %s", strings.Join(args, " "), out)
}

// sdkCopy writes the carried SDK as a module into a new directory, plus
// extra files (e.g. a function the carried SDK does not have, so that only
// a build against this copy compiles).
func sdkCopy(t *testing.T, extra map[string]string) string {
	t.Helper()
	files := map[string]string{"go.mod": "module " + epilogue.SDKModule + "\n\ngo " + epilogue.GoVersion + "\n"}
	require.NoError(t, fs.WalkDir(epilogue.SDKSource, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := epilogue.SDKSource.ReadFile(p)
		files[p] = string(b)
		return err
	}))
	for k, v := range extra {
		files[k] = v
	}
	return writeAction(t, files)
}

// sdkMain is the smallest action on the SDK.
const sdkMain = `package main

import (
	"context"

	"github.com/epilogue-dev/epilogue/sdk"
)

func main() {
	sdk.Run(func(_ context.Context, in struct{}) (struct{}, error) { return in, nil })
}
`

// TestBuildAnywhere: outside this repository, offline, the SDK comes from
// the binary whatever the go.mod says, and the action's files stay as they
// were.
func TestBuildAnywhere(t *testing.T) {
	t.Parallel()
	carried := actionbuild.CarriedSDK()
	ctxMain := sdkMain
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"no go.mod", map[string]string{"main.go": ctxMain}},
		{"go.mod without the SDK", map[string]string{"main.go": ctxMain, "go.mod": "module example.com/a\n\ngo 1.26\n"}},
		{"go.mod older than the SDK's Go", map[string]string{"main.go": ctxMain, "go.mod": "module example.com/a\n\ngo 1.22\n"}},
		{"go.mod requiring the carried version, no go.sum", map[string]string{"main.go": ctxMain,
			"go.mod": "module example.com/a\n\ngo 1.26\n\nrequire " + carried.Module + " " + carried.ModuleVersion() + "\n"}},
		{"package in a subdirectory of the module", map[string]string{"cmd/a/main.go": ctxMain, "go.mod": "module example.com/a\n\ngo 1.26\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeAction(t, tt.files)
			before := snapshot(t, dir)
			build := dir
			if _, ok := tt.files["cmd/a/main.go"]; ok {
				build = filepath.Join(dir, "cmd", "a")
			}
			out := filepath.Join(t.TempDir(), "a.zip")
			_, err := actionbuild.Build(context.Background(), actionbuild.Options{Dir: build, Output: out, Env: offline(t), CacheDir: t.TempDir()})
			require.NoError(t, err)
			requireStaticExec(t, out)
			assert.Equal(t, before, snapshot(t, dir), "the action's files are left as they were")
		})
	}
}

// TestBuildLeavesTheirSDKAlone: a go.mod that gets the SDK its own way
// keeps it. Each case's SDK has a function the carried one lacks, which
// main calls: the build compiles only against theirs.
func TestBuildLeavesTheirSDKAlone(t *testing.T) {
	t.Parallel()
	marker := map[string]string{"sdk/theirs.go": "package sdk\n\n// Theirs exists only in this copy.\nfunc Theirs() {}\n"}
	theirMain := strings.Replace(sdkMain, "func main() {", "func main() {\n\tsdk.Theirs()\n", 1)
	// The negative control: the carried SDK has no Theirs.
	_, err := epilogue.SDKSource.ReadFile("sdk/theirs.go")
	require.Error(t, err)

	t.Run("own replace", func(t *testing.T) {
		t.Parallel()
		theirs := sdkCopy(t, marker)
		// At the SDK's go line: an older one go build -mod=mod itself would raise.
		dir := writeAction(t, map[string]string{"main.go": theirMain,
			"go.mod": "module example.com/a\n\ngo " + epilogue.GoVersion + "\n\nrequire " + epilogue.SDKModule + " v0.0.7\n\nreplace " + epilogue.SDKModule + " => " + theirs + "\n"})
		before := snapshot(t, dir)
		out := filepath.Join(t.TempDir(), "a.zip")
		_, err := actionbuild.Build(context.Background(), actionbuild.Options{Dir: dir, Output: out, Env: offline(t), CacheDir: t.TempDir()})
		require.NoError(t, err)
		requireStaticExec(t, out)
		assert.Equal(t, before, snapshot(t, dir), "byte for byte")
	})

	t.Run("published version in go.sum and the module cache", func(t *testing.T) {
		t.Parallel()
		proxyDir := publish(t, sdkCopy(t, marker), "v0.0.7")
		dir := writeAction(t, map[string]string{"main.go": theirMain,
			"go.mod": "module example.com/a\n\ngo 1.26\n\nrequire " + epilogue.SDKModule + " v0.0.7\n"})
		env := offline(t)
		// Seed the module cache and go.sum from the "published" version,
		// as a user online would have.
		goCmd(t, dir, append(env[1:], "GOPROXY=file://"+proxyDir), "mod", "download", "-x", epilogue.SDKModule)
		goCmd(t, dir, append(env[1:], "GOPROXY=file://"+proxyDir), "mod", "tidy")
		before := snapshot(t, dir)
		require.Contains(t, before["/go.sum"], epilogue.SDKModule+" v0.0.7 h1:")
		out := filepath.Join(t.TempDir(), "a.zip")
		_, err := actionbuild.Build(context.Background(), actionbuild.Options{Dir: dir, Output: out, Env: env, CacheDir: t.TempDir()})
		require.NoError(t, err)
		requireStaticExec(t, out)
		assert.Equal(t, before, snapshot(t, dir), "byte for byte")
	})
}

// publish lays out module dir at version in a new file:// GOPROXY
// directory, the way a module proxy serves it.
func publish(t *testing.T, dir, version string) string {
	t.Helper()
	proxy := t.TempDir()
	at := filepath.Join(proxy, filepath.FromSlash(epilogue.SDKModule), "@v")
	require.NoError(t, os.MkdirAll(at, 0o755))
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(at, version+".mod"), mod, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, version+".info"), []byte(`{"Version":"`+version+`","Time":"2026-01-01T00:00:00Z"}`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(at, "list"), []byte(version+"\n"), 0o644))
	zf, err := os.Create(filepath.Join(at, version+".zip"))
	require.NoError(t, err)
	zw := zip.NewWriter(zf)
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		w, err := zw.Create(epilogue.SDKModule + "@" + version + "/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}))
	require.NoError(t, zw.Close())
	require.NoError(t, zf.Close())
	return proxy
}

// TestBuildThroughSymlink: a directory without a go.mod, named through a
// symbolic link, gets its go.mod too (go must see the directory by the path
// the overlay names).
func TestBuildThroughSymlink(t *testing.T) {
	t.Parallel()
	real := writeAction(t, map[string]string{"main.go": sdkMain})
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(real, link))
	out := filepath.Join(t.TempDir(), "a.zip")
	_, err := actionbuild.Build(context.Background(), actionbuild.Options{Dir: link, Output: out, Env: offline(t), CacheDir: t.TempDir()})
	require.NoError(t, err)
	requireStaticExec(t, out)
}
