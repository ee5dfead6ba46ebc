package actionbuild_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionbuild"
	"github.com/epilogue-dev/epilogue/proxy"
)

// fakeGoEnv makes the test binary, run as Options.GoBin, play a go command:
//
//	block   print "compiling" on stderr, then hang until killed
//	notelf  write a shell script where -o says, and succeed
//
// Asked `go env` (which Build asks before it builds), it answers as
// outside module mode, so that Build goes straight to go build.
const fakeGoEnv = "ACTIONBUILD_FAKE_GO"

func TestMain(m *testing.M) {
	mode := os.Getenv(fakeGoEnv)
	if mode != "" && len(os.Args) > 1 && os.Args[1] == "env" {
		_, _ = os.Stdout.WriteString(`{"GOMOD": ""}`)
		os.Exit(0)
	}
	switch mode {
	case "":
		// Builds that write the SDK write it here, not into the user's
		// cache; Go's build cache, which defaults to a directory in the same
		// place, stays where it is (a fresh one recompiles the standard
		// library: minutes).
		gocache, err := exec.Command("go", "env", "GOCACHE").Output()
		if err != nil {
			panic(err)
		}
		cache, err := os.MkdirTemp("", "actionbuild-cache-")
		if err != nil {
			panic(err)
		}
		_ = os.Setenv("GOCACHE", strings.TrimSpace(string(gocache)))
		_ = os.Setenv("XDG_CACHE_HOME", cache)
		code := m.Run()
		_ = os.RemoveAll(cache)
		os.Exit(code)
	case "block":
		_, _ = os.Stderr.WriteString("compiling\n")
		time.Sleep(time.Hour) // the child hangs; the test kills it through ctx
	case "notelf":
		for i, a := range os.Args {
			if a == "-o" && i+1 < len(os.Args) {
				_ = os.WriteFile(os.Args[i+1], []byte("#!/bin/sh\necho hi\n"), 0o755)
			}
		}
	}
	os.Exit(0)
}

const goMod = "module example.com/a\n\ngo 1.26\n"

// writeAction writes files (name → content) into a new temporary directory.
func writeAction(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func TestBuildWritesOneExecEntry(t *testing.T) {
	t.Parallel()
	dir := writeAction(t, map[string]string{
		"go.mod":       goMod,
		"main.go":      "package main\n\nfunc main() {}\n",
		"main_test.go": "package main\n",
		"README.md":    "not code\n",
	})
	out := t.TempDir()
	first := filepath.Join(out, "first.zip")
	res, err := actionbuild.Build(context.Background(), actionbuild.Options{Dir: dir, Output: first})
	require.NoError(t, err)
	assert.Equal(t, first, res.Output)
	assert.Positive(t, res.Duration)

	zipped, err := os.ReadFile(first)
	require.NoError(t, err)
	assert.Equal(t, int64(len(zipped)), res.ZipBytes)
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	require.NoError(t, err)
	require.Len(t, zr.File, 1)
	entry := zr.File[0]
	assert.Equal(t, "exec", entry.Name)
	assert.Equal(t, os.FileMode(0o755), entry.Mode())
	assert.Equal(t, zip.Deflate, entry.Method)
	rc, err := entry.Open()
	require.NoError(t, err)
	exe, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, []byte("\x7fELF"), exe[:4])
	assert.Equal(t, res.ExecBytes, int64(len(exe)))

	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left next to the zip")

	second := filepath.Join(out, "missing", "dir", "second.zip") // created, as go build -o does
	_, err = actionbuild.Build(context.Background(), actionbuild.Options{Dir: dir, Output: second})
	require.NoError(t, err)
	again, err := os.ReadFile(second)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(zipped, again), "two builds of the same source give identical zips")
}

func TestBuildRejects(t *testing.T) {
	t.Parallel()
	notADir := filepath.Join(t.TempDir(), "main.go")
	require.NoError(t, os.WriteFile(notADir, []byte("package main\n\nfunc main() {}\n"), 0o644))

	tests := []struct {
		name string
		dir  string
		want error
		msg  []string // substrings of the error's message
	}{
		{
			name: "no Go files",
			dir:  writeAction(t, map[string]string{"go.mod": goMod, "README.md": "hi\n", "x_test.go": "package main\n"}),
			want: actionbuild.ErrNotGo,
			msg:  []string{"has no Go files", "point epilogue build at the directory of your action's main package"},
		},
		{
			name: "directory does not exist",
			dir:  filepath.Join(t.TempDir(), "missing"),
			want: actionbuild.ErrNotGo,
			msg:  []string{"missing does not exist"},
		},
		{
			name: "a file, not a directory",
			dir:  notADir,
			want: actionbuild.ErrNotGo,
			msg:  []string{"is not a directory"},
		},
		{
			name: "not package main",
			dir:  writeAction(t, map[string]string{"go.mod": goMod, "lib.go": "package lib\n\nfunc F() {}\n"}),
			want: actionbuild.ErrNoMain,
			msg:  []string{"is package lib, not main", "sdk.Run"},
		},
		{
			name: "package main without func main",
			dir:  writeAction(t, map[string]string{"go.mod": goMod, "a.go": "package main\n\nfunc helper() {}\n", "b.go": "package main\n\ntype T struct{}\n\nfunc (T) main() {}\n"}),
			want: actionbuild.ErrNoMain,
			msg:  []string{"has no func main"},
		},
		{
			name: "compile error",
			dir:  writeAction(t, map[string]string{"go.mod": goMod, "main.go": "package main\n\nfunc main() {\n\tundefinedThing()\n}\n"}),
			want: actionbuild.ErrCompile,
			msg:  []string{"main.go:4", "undefinedThing"},
		},
		{
			name: "syntax error is left to the compiler",
			dir:  writeAction(t, map[string]string{"go.mod": goMod, "main.go": "package main\n\nfunc main() {\n"}),
			want: actionbuild.ErrCompile,
			msg:  []string{"main.go:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			output := filepath.Join(t.TempDir(), "action.zip")
			require.NoError(t, os.WriteFile(output, []byte("previous"), 0o644))
			_, err := actionbuild.Build(context.Background(), actionbuild.Options{Dir: tt.dir, Output: output})
			require.ErrorIs(t, err, tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "actionbuild: "), "got %q", err)
			for _, m := range tt.msg {
				assert.Contains(t, err.Error(), m)
			}
			got, rerr := os.ReadFile(output)
			require.NoError(t, rerr)
			assert.Equal(t, "previous", string(got), "a failed build leaves the output alone")
		})
	}
}

// syncWriter closes started on its first write.
type syncWriter struct {
	once    sync.Once
	started chan struct{}
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	return len(p), nil
}

func TestBuildStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	dir := writeAction(t, map[string]string{"go.mod": goMod, "main.go": "package main\n\nfunc main() {}\n"})
	self, err := os.Executable()
	require.NoError(t, err)

	t.Run("before go build starts", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		output := filepath.Join(t.TempDir(), "action.zip")
		_, err := actionbuild.Build(ctx, actionbuild.Options{Dir: dir, Output: output})
		require.ErrorIs(t, err, context.Canceled)
		assert.NoFileExists(t, output)
	})

	t.Run("while go build runs", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := &syncWriter{started: make(chan struct{})}
		go func() {
			<-w.started
			cancel()
		}()
		output := filepath.Join(t.TempDir(), "action.zip")
		_, err := actionbuild.Build(ctx, actionbuild.Options{
			Dir: dir, Output: output, GoBin: self, Stderr: w, Env: []string{fakeGoEnv + "=block"},
		})
		require.ErrorIs(t, err, context.Canceled)
		assert.NoFileExists(t, output)
	})
}

func TestBuildRejectsNonELF(t *testing.T) {
	t.Parallel()
	dir := writeAction(t, map[string]string{"go.mod": goMod, "main.go": "package main\n\nfunc main() {}\n"})
	self, err := os.Executable()
	require.NoError(t, err)
	output := filepath.Join(t.TempDir(), "action.zip")
	_, err = actionbuild.Build(context.Background(), actionbuild.Options{
		Dir: dir, Output: output, GoBin: self, Env: []string{fakeGoEnv + "=notelf"},
	})
	require.ErrorContains(t, err, "not an ELF executable")
	assert.NoFileExists(t, output)
}

func TestBuildMissingGoCommand(t *testing.T) {
	t.Parallel()
	dir := writeAction(t, map[string]string{"go.mod": goMod, "main.go": "package main\n\nfunc main() {}\n"})
	_, err := actionbuild.Build(context.Background(), actionbuild.Options{
		Dir: dir, Output: filepath.Join(t.TempDir(), "action.zip"), GoBin: filepath.Join(t.TempDir(), "no-go"),
	})
	require.ErrorContains(t, err, "cannot find the go command")
}

// TestProxyAcceptsBuiltZip is the end-to-end check: the repository's
// ActionLoop fixture, built here, is accepted by the real proxy's /init and
// answers /run.
func TestProxyAcceptsBuiltZip(t *testing.T) {
	t.Parallel()
	output := filepath.Join(t.TempDir(), "action.zip")
	_, err := actionbuild.Build(context.Background(), actionbuild.Options{Dir: "../tests/testaction", Output: output})
	require.NoError(t, err)
	zipped, err := os.ReadFile(output)
	require.NoError(t, err)

	s, err := proxy.New(proxy.Config{
		ActionDir: filepath.Join(t.TempDir(), "action"), WaitForAck: true, Stdout: io.Discard, Stderr: io.Discard,
	})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(func() { _ = s.Close() })
	t.Cleanup(srv.Close)

	post := func(path, body string) (int, string) {
		t.Helper()
		resp, err := srv.Client().Post(srv.URL+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}

	code, body := post("/init", `{"value":{"binary":true,"main":"main","code":"`+base64.StdEncoding.EncodeToString(zipped)+`"}}`)
	require.Equal(t, http.StatusOK, code, body)
	code, body = post("/run", `{"value":{"name":"x","quiet":true}}`)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "{\"name\":\"x\",\"quiet\":true}\n", body)
}
