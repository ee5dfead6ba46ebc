package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionbuild"
)

func TestParseBuildArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    actionbuild.Options
		wantErr string // substring of what is printed on stderr; "" = no error
	}{
		{name: "flag after DIR", args: []string{"dir", "-o", "x.zip"}, want: actionbuild.Options{Dir: "dir", Output: "x.zip"}},
		{name: "flag before DIR", args: []string{"-o", "x.zip", "dir"}, want: actionbuild.Options{Dir: "dir", Output: "x.zip"}},
		{name: "flag=value", args: []string{"dir", "-o=x.zip"}, want: actionbuild.Options{Dir: "dir", Output: "x.zip"}},
		{name: "default output", args: []string{"dir"}, want: actionbuild.Options{Dir: "dir", Output: "action.zip"}},
		{name: "DIR after --", args: []string{"-o", "x.zip", "--", "-dir"}, want: actionbuild.Options{Dir: "-dir", Output: "x.zip"}},
		{name: "missing DIR", args: nil, wantErr: "missing DIR"},
		{name: "missing DIR with flags", args: []string{"-o", "x.zip"}, wantErr: "missing DIR"},
		{name: "two DIRs", args: []string{"a", "-o", "x.zip", "b"}, wantErr: "want one DIR, got 2"},
		{name: "-o without value", args: []string{"dir", "-o"}, wantErr: "flag needs an argument: -o"},
		{name: "empty -o", args: []string{"dir", "-o", ""}, wantErr: "-o must name a file"},
		{name: "unknown flag", args: []string{"-x", "dir"}, wantErr: "flag provided but not defined: -x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := parseBuildArgs(tt.args, &stderr)
			if tt.wantErr != "" {
				require.Error(t, err)
				requireErrorLast(t, stderr.String(), "epilogue build", tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Empty(t, stderr.String())
		})
	}
}

// requireErrorLast checks that a command-line error is printed the way
// internal/cli does: the error, then the way to -h, and no usage dump.
func requireErrorLast(t *testing.T, stderr, command, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	require.Len(t, lines, 2, "the error and the hint, nothing else: %q", stderr)
	assert.True(t, strings.HasPrefix(lines[0], command+": "), lines[0])
	assert.Contains(t, lines[0], want)
	assert.Equal(t, "Run '"+command+" -h' for the usage.", lines[1])
}

func TestRun(t *testing.T) {
	version = "1.2.3"
	sdk := actionbuild.CarriedSDK()
	versionOut := "epilogue 1.2.3\nsdk " + sdk.Version + " (carried in this binary: source " + sdk.ShortHash() + ", go" + sdk.GoVersion + ")\n"
	noGo := t.TempDir()
	existing := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(existing, "main.go"), []byte("mine\n"), 0o644))
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring; "" = must be empty
		wantStderr string // substring; "" = must be empty
	}{
		{name: "no command", args: nil, wantCode: exitUsage, wantStderr: "Usage: epilogue COMMAND"},
		{name: "unknown command", args: []string{"deploy"}, wantCode: exitUsage, wantStderr: `unknown command "deploy"`},
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantStdout: "build [-o action.zip] DIR"},
		{name: "version", args: []string{"version"}, wantCode: exitOK, wantStdout: versionOut},
		{name: "--version", args: []string{"--version"}, wantCode: exitOK, wantStdout: versionOut},
		{name: "-version", args: []string{"-version"}, wantCode: exitOK, wantStdout: versionOut},
		{name: "init without DIR", args: []string{"init"}, wantCode: exitUsage, wantStderr: "epilogue init: want one DIR"},
		{name: "init -h", args: []string{"init", "-h"}, wantCode: exitOK, wantStderr: "Usage: epilogue init DIR"},
		{
			name: "init over a file", args: []string{"init", existing}, wantCode: exitError,
			wantStderr: "epilogue init: actionbuild: " + filepath.Join(existing, "main.go") + " already exists",
		},
		{name: "standalone bare duration", args: []string{"standalone", "--idle-timeout", "5"}, wantCode: exitUsage, wantStderr: `"5" has no unit: write a duration with one, e.g. 5s`},
		{name: "chaos unknown flag", args: []string{"chaos", "--nope"}, wantCode: exitUsage, wantStderr: "Run 'epilogue chaos -h' for the usage."},
		{name: "build usage error", args: []string{"build"}, wantCode: exitUsage, wantStderr: "missing DIR"},
		{name: "build -h", args: []string{"build", "-h"}, wantCode: exitOK, wantStderr: "Usage: epilogue build"},
		{
			name: "build error", args: []string{"build", noGo, "-o", filepath.Join(t.TempDir(), "a.zip")},
			wantCode: exitError, wantStderr: "epilogue build: actionbuild: " + noGo + " has no Go files",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			assert.Equal(t, tt.wantCode, code)
			for _, c := range []struct {
				name      string
				want, got string
			}{{"stdout", tt.wantStdout, stdout.String()}, {"stderr", tt.wantStderr, stderr.String()}} {
				if c.want == "" {
					assert.Empty(t, c.got, c.name)
				} else {
					assert.Contains(t, c.got, c.want, c.name)
				}
			}
		})
	}
}

func TestRunBuildPrintsSummary(t *testing.T) {
	isolateSDKCache(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/a\n\ngo 1.26\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644))
	output := filepath.Join(t.TempDir(), "a.zip")

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"build", dir, "-o", output}, &stdout, &stderr)
	require.Equal(t, exitOK, code, stderr.String())
	assert.Regexp(t, `^built `+regexp.QuoteMeta(output)+` \(exec [0-9.]+ [kM]?B, zip [0-9.]+ [kM]?B\) in [0-9]+\.[0-9]s\n$`, stdout.String())
	assert.FileExists(t, output)
}

// isolateSDKCache makes builds write the SDK under a temporary directory,
// not the user's cache, keeping Go's build cache where it is (a fresh one
// recompiles the standard library).
func isolateSDKCache(t *testing.T) {
	t.Helper()
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	require.NoError(t, err)
	t.Setenv("GOCACHE", strings.TrimSpace(string(gocache)))
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
}

// TestInitThenBuild: what epilogue init writes, epilogue build builds, in a
// directory outside the repository, offline.
func TestInitThenBuild(t *testing.T) {
	isolateSDKCache(t)
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	dir := filepath.Join(t.TempDir(), "myaction")
	var stdout, stderr bytes.Buffer
	require.Equal(t, exitOK, run(context.Background(), []string{"init", dir}, &stdout, &stderr), stderr.String())
	assert.Equal(t, "wrote "+filepath.Join(dir, "main.go")+"\nwrote "+filepath.Join(dir, "go.mod")+"\nnext: epilogue build "+dir+" -o action.zip\n", stdout.String())

	output := filepath.Join(t.TempDir(), "myaction.zip")
	stdout.Reset()
	require.Equal(t, exitOK, run(context.Background(), []string{"build", dir, "-o", output}, &stdout, &stderr), stderr.String())
	assert.FileExists(t, output)

	stdout.Reset()
	assert.Equal(t, exitError, run(context.Background(), []string{"init", dir}, &stdout, &stderr), "a second init overwrites nothing")
	assert.Contains(t, stderr.String(), "already exists")
}

func TestSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{0, "0 B"}, {999, "999 B"}, {1500, "1.5 kB"}, {5_100_000, "5.1 MB"}, {2_049_999, "2.0 MB"}}
	for _, tt := range tests {
		assert.Equal(t, tt.want, size(tt.n), "size(%d)", tt.n)
	}
}
