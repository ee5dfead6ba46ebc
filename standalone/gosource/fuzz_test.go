package gosource

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

func zipBytes(f *testing.F, files ...string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		w, err := zw.Create(files[i])
		require.NoError(f, err)
		_, err = w.Write([]byte(files[i+1]))
		require.NoError(f, err)
	}
	require.NoError(f, zw.Close())
	return buf.Bytes()
}

// FuzzWriteSource: whatever code and main a wsk user sends, writeSource
// writes only inside its directory, and what it leaves for go build is
// either a program of its own or has the launcher.
func FuzzWriteSource(f *testing.F) {
	f.Add([]byte("package main\n\nfunc Main(m map[string]interface{}) map[string]interface{} { return m }\n"), false, "")
	f.Add([]byte("package main\n\nfunc main() {}\n"), false, "hello")
	f.Add([]byte("package main\n"), false, "a.b")
	f.Add(zipBytes(f, "go.mod", "module m\n", "main.go", "package main\n", "lib/lib.go", "package lib\n"), true, "")
	f.Add(zipBytes(f, "exec", "\x7fELF"), true, "")
	f.Add(zipBytes(f, "exec", "package main\nfunc main(){}\n"), true, "")
	f.Add(zipBytes(f, "../evil.go", "package main\n", "/abs.go", "x"), true, "")
	f.Add([]byte("\x1f\x8b\x08garbage"), true, "main")
	f.Fuzz(func(t *testing.T, code []byte, binary bool, main string) {
		e := entity.Exec{Kind: "go:1.22", Code: string(code), Binary: binary, Main: main}
		if binary {
			e.Code = base64.StdEncoding.EncodeToString(code)
		}
		parent := t.TempDir()
		dir := filepath.Join(parent, "src")
		tree, err := writeSource(e, dir)
		require.NoError(t, err, "a failure of the code is the developer's, not the platform's")

		siblings, err := os.ReadDir(parent)
		require.NoError(t, err)
		for _, s := range siblings {
			require.Equal(t, "src", s.Name(), "nothing may appear next to the source directory")
		}
		if tree.problem != "" || tree.prebuilt {
			return
		}
		require.NoError(t, filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
			require.NoError(t, err)
			rel, err := filepath.Rel(dir, path)
			require.NoError(t, err)
			require.True(t, filepath.IsLocal(rel), "%s is outside the source directory", path)
			return nil
		}))
		hasMain, err := declaresMain(dir)
		require.NoError(t, err)
		require.True(t, hasMain, "the source is a program of its own or has the launcher")
	})
}
