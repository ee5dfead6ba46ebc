package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWskProps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wskprops")
	require.NoError(t, os.WriteFile(path, []byte("# wsk\nAPIHOST=http://127.0.0.1:3233\n\nAUTH = u:k \nnonsense\n"), 0o600))
	props, err := wskProps(func(k string) string { return map[string]string{"WSK_CONFIG_FILE": path}[k] })
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"APIHOST": "http://127.0.0.1:3233", "AUTH": "u:k"}, props)

	props, err = wskProps(func(k string) string { return map[string]string{"WSK_CONFIG_FILE": path + ".missing"}[k] })
	require.NoError(t, err)
	assert.Empty(t, props, "no file is no properties")
}

// FuzzParseWskProps: any file parses without panicking, into trimmed,
// non-empty keys.
func FuzzParseWskProps(f *testing.F) {
	f.Add("APIHOST=h\nAUTH=a:b\n")
	f.Add("=x\n#c\n k = v ")
	f.Fuzz(func(t *testing.T, s string) {
		for k := range parseWskProps(strings.NewReader(s)) {
			if k == "" || strings.TrimSpace(k) != k {
				t.Fatalf("key %q from %q", k, s)
			}
		}
	})
}
