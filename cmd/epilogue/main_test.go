package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
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
				assert.Contains(t, stderr.String(), tt.wantErr)
				assert.Contains(t, stderr.String(), "Usage: epilogue build [-o action.zip] DIR")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Empty(t, stderr.String())
		})
	}
}

func TestRun(t *testing.T) {
	version = "1.2.3"
	noGo := t.TempDir()
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
		{name: "version", args: []string{"version"}, wantCode: exitOK, wantStdout: "epilogue 1.2.3\n"},
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

func TestSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{0, "0 B"}, {999, "999 B"}, {1500, "1.5 kB"}, {5_100_000, "5.1 MB"}, {2_049_999, "2.0 MB"}}
	for _, tt := range tests {
		assert.Equal(t, tt.want, size(tt.n), "size(%d)", tt.n)
	}
}
