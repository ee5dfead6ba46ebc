package archive

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzExtract(f *testing.F) {
	f.Add(buildZip(f, execFile("exec", "#!/bin/sh\n"), dir("lib/"), file("lib/a.py", "a"), symlink("lib64", "lib")))
	f.Add(buildZip(f, symlink("d", "."), file("d/x", "x"), symlink("up", "d/../..")))
	f.Add(buildTarGz(f, execFile("./exec", "#!/bin/sh\n"), file("lib/a.js", "a"), hardlink("b.js", "lib/a.js"), symlink("main.js", "lib/a.js")))
	f.Add(buildTarGz(f, symlink("l", "../x"), hardlink("h", "/etc/passwd"), file("../evil", "x")))
	f.Add([]byte("#!/bin/sh\necho hi\n"))
	f.Add([]byte{})

	lim := Limits{MaxFiles: 32, MaxFileBytes: 4 << 10, MaxTotalBytes: 16 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dest := filepath.Join(parent, "action")
		_, err := Extract(data, dest, lim)

		siblings, rerr := os.ReadDir(parent)
		require.NoError(t, rerr)
		for _, s := range siblings {
			require.Equal(t, "action", s.Name(), "nothing may appear next to dest")
		}
		if err != nil {
			requireNothing(t, dest)
			return
		}
		err = filepath.WalkDir(dest, func(path string, d fs.DirEntry, err error) error {
			require.NoError(t, err)
			rel, err := filepath.Rel(dest, path)
			require.NoError(t, err)
			require.True(t, filepath.IsLocal(rel), "path %q is outside dest", path)
			fi, err := os.Lstat(path)
			require.NoError(t, err)
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(path)
				require.NoError(t, err)
				require.False(t, filepath.IsAbs(target), "symlink %q has absolute target %q", rel, target)
				require.True(t, filepath.IsLocal(filepath.Join(filepath.Dir(rel), target)),
					"symlink %q -> %q resolves outside dest", rel, target)
			case fi.Mode().IsRegular():
				require.LessOrEqual(t, fi.Size(), lim.MaxFileBytes, "file %q is over the per-file limit", rel)
			default:
				require.True(t, fi.IsDir(), "%q is neither file, directory nor symlink", rel)
			}
			return nil
		})
		require.NoError(t, err)
	})
}
