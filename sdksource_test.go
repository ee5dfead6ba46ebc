package epilogue

import (
	"io/fs"
	"os"
	"os/exec"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSDKSourceIsTheSDKsClosure: what is embedded is exactly the non-test
// Go files of ./sdk and of every in-module package it depends on, so the
// SDK written out by actionbuild compiles and nothing is missing or stale.
func TestSDKSourceIsTheSDKsClosure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps",
		"-f", `{{if not .Standard}}{{.ImportPath}}|{{.Dir}}|{{join .GoFiles ","}}|{{join .IgnoredGoFiles ","}}{{end}}`, "./sdk").Output()
	require.NoError(t, err)
	root, err := os.Getwd()
	require.NoError(t, err)
	var want []string
	for _, line := range strings.Fields(string(out)) {
		parts := strings.Split(line, "|")
		require.Len(t, parts, 4, line)
		require.True(t, strings.HasPrefix(parts[0], SDKModule+"/"),
			"the SDK depends on %s, outside this module and the standard library: keep it to the standard library, or carry that module too", parts[0])
		rel := strings.TrimPrefix(strings.TrimPrefix(parts[1], root), string(os.PathSeparator))
		// Files excluded by build constraints on this machine are part of
		// the SDK on another.
		for _, f := range strings.Split(parts[2]+","+parts[3], ",") {
			if f != "" {
				want = append(want, path.Join(rel, f))
			}
		}
	}
	require.Contains(t, want, "sdk/run.go", "go list found the SDK")

	var got []string
	require.NoError(t, fs.WalkDir(SDKSource, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got = append(got, p)
		}
		return err
	}))
	sort.Strings(want)
	sort.Strings(got)
	assert.Equal(t, want, got, "sdksource.go's //go:embed lines must list exactly these files")
}

func TestVersionAndGoDirective(t *testing.T) {
	assert.Regexp(t, regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+`), Version)
	assert.Regexp(t, regexp.MustCompile(`^1\.[0-9]+`), GoVersion)
	for _, tc := range []struct{ mod, want string }{
		{"module x\n\ngo 1.26.0\n", "1.26.0"},
		{"module x\n// go 1.1\ngo 1.22\ntoolchain go1.26.0\n", "1.22"},
		{"module x\n", ""},
	} {
		assert.Equal(t, tc.want, goDirective(tc.mod), "%q", tc.mod)
	}
}
