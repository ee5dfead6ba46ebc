package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// entry describes one archive member. The type bits of mode pick directory,
// symlink or named pipe; hard marks a tar hard link to link.
type entry struct {
	name string
	body string
	mode fs.FileMode
	link string
	hard bool
	pax  map[string]string // tar only
}

func file(name, body string) entry     { return entry{name: name, body: body, mode: 0o644} }
func execFile(name, body string) entry { return entry{name: name, body: body, mode: 0o755} }
func dir(name string) entry            { return entry{name: name, mode: fs.ModeDir | 0o755} }
func symlink(name, target string) entry {
	return entry{name: name, link: target, mode: fs.ModeSymlink | 0o777}
}
func hardlink(name, target string) entry { return entry{name: name, link: target, hard: true} }

func buildZip(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		require.False(t, e.hard, "zip has no hard links")
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		fw, err := w.CreateHeader(h)
		require.NoError(t, err)
		body := e.body
		if e.mode&fs.ModeSymlink != 0 {
			body = e.link // zip stores a symlink's target as its content
		}
		_, err = fw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func buildTarGz(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	w := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: int64(e.mode.Perm()), Typeflag: tar.TypeReg, Size: int64(len(e.body)), PAXRecords: e.pax}
		switch {
		case e.hard:
			h.Typeflag, h.Linkname, h.Size = tar.TypeLink, e.link, 0
		case e.mode&fs.ModeSymlink != 0:
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		case e.mode.IsDir():
			h.Typeflag = tar.TypeDir
		case e.mode&fs.ModeNamedPipe != 0:
			h.Typeflag = tar.TypeFifo
		}
		require.NoError(t, w.WriteHeader(h))
		_, err := w.Write([]byte(e.body))
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

// lyingZip holds one deflated entry whose header understates its size.
func lyingZip(t *testing.T, name string, body []byte, declared uint64) []byte {
	t.Helper()
	var compressed bytes.Buffer
	fw, err := flate.NewWriter(&compressed, flate.BestCompression)
	require.NoError(t, err)
	_, err = fw.Write(body)
	require.NoError(t, err)
	require.NoError(t, fw.Close())

	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	h := &zip.FileHeader{
		Name:               name,
		Method:             zip.Deflate,
		CRC32:              crc32.ChecksumIEEE(body),
		CompressedSize64:   uint64(compressed.Len()),
		UncompressedSize64: declared,
	}
	raw, err := w.CreateRaw(h)
	require.NoError(t, err)
	_, err = raw.Write(compressed.Bytes())
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// node is what a path in the extracted tree looks like.
type node struct {
	mode fs.FileMode // type bits and permissions; only the type for symlinks
	body string
	link string
}

func regular(mode fs.FileMode, body string) node { return node{mode: mode, body: body} }
func directory() node                            { return node{mode: fs.ModeDir | 0o755} }
func link(target string) node                    { return node{mode: fs.ModeSymlink, link: target} }

// tree reads back everything under dest, keyed by slash-separated path.
func tree(t *testing.T, dest string) map[string]node {
	t.Helper()
	got := map[string]node{}
	err := filepath.WalkDir(dest, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if path == dest {
			return nil
		}
		rel, err := filepath.Rel(dest, path)
		require.NoError(t, err)
		fi, err := os.Lstat(path)
		require.NoError(t, err)
		var n node
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			n.mode = fs.ModeSymlink
			n.link, err = os.Readlink(path)
			require.NoError(t, err)
		case fi.Mode().IsRegular():
			n.mode = fi.Mode()
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			n.body = string(b)
		default:
			n.mode = fi.Mode()
		}
		got[filepath.ToSlash(rel)] = n
		return nil
	})
	require.NoError(t, err)
	return got
}

// requireNothing checks that a failed extraction left nothing behind.
func requireNothing(t *testing.T, dest string) {
	t.Helper()
	entries, err := os.ReadDir(dest)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	require.NoError(t, err)
	require.Empty(t, entries, "dest must hold nothing after a failed extraction")
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want Kind
	}{
		{"zip", buildZip(t, file("exec", "x")), KindZip},
		{"empty zip", []byte("PK\x05\x06"), KindZip},
		{"spanned zip marker", []byte("PK\x07\x08rest"), KindZip},
		{"tar.gz", buildTarGz(t, file("exec", "x")), KindTarGz},
		{"gzip magic only", []byte{0x1f, 0x8b, 0x08}, KindTarGz},
		{"shell script", []byte("#!/bin/sh\necho hi\n"), KindFile},
		{"elf binary", []byte("\x7fELF\x02\x01\x01"), KindFile},
		{"short zip prefix", []byte("PK\x03"), KindFile},
		{"zip magic with wrong fourth byte", []byte("PK\x03\x05"), KindFile},
		{"gzip with other method", []byte{0x1f, 0x8b, 0x07}, KindFile},
		{"empty", nil, KindFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Detect(tt.data))
		})
	}
}

func TestKindString(t *testing.T) {
	assert.Equal(t, "zip", KindZip.String())
	assert.Equal(t, "tar.gz", KindTarGz.String())
	assert.Equal(t, "file", KindFile.String())
}

func TestExtractSucceeds(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		kind Kind
		want map[string]node
	}{
		{
			name: "single file becomes exec",
			data: []byte("#!/bin/sh\necho hi\n"),
			kind: KindFile,
			want: map[string]node{"exec": regular(0o755, "#!/bin/sh\necho hi\n")},
		},
		{
			name: "empty code is an empty exec",
			data: nil,
			kind: KindFile,
			want: map[string]node{"exec": regular(0o755, "")},
		},
		{
			name: "zip with exec at top level plus other files",
			data: buildZip(t, execFile("exec", "#!/bin/sh\n"), file("README.md", "hello"), file("config.json", "{}")),
			kind: KindZip,
			want: map[string]node{
				"exec":        regular(0o755, "#!/bin/sh\n"),
				"README.md":   regular(0o644, "hello"),
				"config.json": regular(0o644, "{}"),
			},
		},
		{
			name: "zip with nested dirs, explicit and implied",
			data: buildZip(t, dir("a/"), dir("a/b/"), file("a/b/c.txt", "c"), file("x/y/z.txt", "z"), dir("a/")),
			kind: KindZip,
			want: map[string]node{
				"a":         directory(),
				"a/b":       directory(),
				"a/b/c.txt": regular(0o644, "c"),
				"x":         directory(),
				"x/y":       directory(),
				"x/y/z.txt": regular(0o644, "z"),
			},
		},
		{
			name: "zip keeps the exec bit and widens modes to at least 0644",
			data: buildZip(t,
				execFile("bin/tool", "t"),
				entry{name: "owner-only-exec", body: "o", mode: 0o700},
				entry{name: "group-exec", body: "g", mode: 0o610},
				entry{name: "private", body: "p", mode: 0o600},
				entry{name: "no-perms", body: "n", mode: 0},
			),
			kind: KindZip,
			want: map[string]node{
				"bin":             directory(),
				"bin/tool":        regular(0o755, "t"),
				"owner-only-exec": regular(0o755, "o"),
				"group-exec":      regular(0o755, "g"),
				"private":         regular(0o644, "p"),
				"no-perms":        regular(0o644, "n"),
			},
		},
		{
			name: "zip in-tree symlinks survive, even before their target",
			data: buildZip(t,
				symlink("venv/lib64", "lib"),
				file("venv/lib/site.py", "s"),
				symlink("venv/bin/python", "../lib/site.py"),
				symlink("here", "."),
				symlink("venv/up", ".."),
			),
			kind: KindZip,
			want: map[string]node{
				"venv":             directory(),
				"venv/lib":         directory(),
				"venv/lib/site.py": regular(0o644, "s"),
				"venv/lib64":       link("lib"),
				"venv/bin":         directory(),
				"venv/bin/python":  link("../lib/site.py"),
				"here":             link("."),
				"venv/up":          link(".."),
			},
		},
		{
			name: "zip skips a named pipe",
			data: buildZip(t, file("exec", "x"), entry{name: "pipe", mode: fs.ModeNamedPipe | 0o644}),
			kind: KindZip,
			want: map[string]node{"exec": regular(0o644, "x")},
		},
		{
			name: "empty zip",
			data: buildZip(t),
			kind: KindZip,
			want: map[string]node{},
		},
		{
			name: "tar.gz with dot-slash names, dirs, symlink and hard link inside",
			data: buildTarGz(t,
				dir("./"),
				execFile("./exec", "#!/bin/sh\n"),
				dir("./lib/"),
				file("./lib/a.js", "a"),
				hardlink("lib/b.js", "./lib/a.js"),
				symlink("./main.js", "lib/a.js"),
			),
			kind: KindTarGz,
			want: map[string]node{
				"exec":     regular(0o755, "#!/bin/sh\n"),
				"lib":      directory(),
				"lib/a.js": regular(0o644, "a"),
				"lib/b.js": regular(0o644, "a"),
				"main.js":  link("lib/a.js"),
			},
		},
		{
			name: "tar.gz skips a fifo",
			data: buildTarGz(t, file("exec", "x"), entry{name: "fifo", mode: fs.ModeNamedPipe | 0o644}),
			kind: KindTarGz,
			want: map[string]node{"exec": regular(0o644, "x")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "action")
			kind, err := Extract(tt.data, dest, Limits{})
			require.NoError(t, err)
			assert.Equal(t, tt.kind, kind)
			fi, err := os.Stat(dest)
			require.NoError(t, err)
			assert.Equal(t, fs.ModeDir|0o755, fi.Mode())
			assert.Equal(t, tt.want, tree(t, dest))
		})
	}
}

func TestExtractTarHardLinkSharesTheFile(t *testing.T) {
	dest := t.TempDir()
	data := buildTarGz(t, file("a", "same"), hardlink("b", "a"))
	_, err := Extract(data, dest, Limits{})
	require.NoError(t, err)
	a, err := os.Stat(filepath.Join(dest, "a"))
	require.NoError(t, err)
	b, err := os.Stat(filepath.Join(dest, "b"))
	require.NoError(t, err)
	assert.True(t, os.SameFile(a, b))
}

func TestExtractFails(t *testing.T) {
	zeros := strings.Repeat("0", 1<<20)
	kib40 := strings.Repeat("x", 40<<10)
	small := Limits{MaxFiles: 3, MaxFileBytes: 64 << 10, MaxTotalBytes: 100 << 10}

	valid := buildZip(t, execFile("exec", strings.Repeat("#!/bin/sh\n", 100)), file("lib/a.txt", "a"))
	corrupt := bytes.Clone(valid)
	// Flip bytes in the middle of the first entry's compressed data.
	for i := 40; i < 60; i++ {
		corrupt[i] ^= 0xff
	}
	validTar := buildTarGz(t, execFile("exec", strings.Repeat("#!/bin/sh\n", 100)), file("lib/a.txt", "a"))

	tests := []struct {
		name    string
		data    []byte
		lim     Limits
		wantErr error  // sentinel or cause, when there is one to match
		wantMsg string // part of the message, usually the entry's name
	}{
		{
			name:    "zip entry with ..",
			data:    buildZip(t, file("exec", "x"), file("../../etc/passwd", "root")),
			wantErr: ErrUnsafePath,
			wantMsg: `archive: zip entry "../../etc/passwd" is not a relative path inside the action directory: rebuild the zip from inside the action's directory`,
		},
		{
			name:    "zip entry with .. in the middle",
			data:    buildZip(t, file("a/../../evil", "x")),
			wantErr: ErrUnsafePath,
			wantMsg: `"a/../../evil"`,
		},
		{
			name:    "zip absolute entry",
			data:    buildZip(t, file("/etc/cron.d/evil", "x")),
			wantErr: ErrUnsafePath,
			wantMsg: `"/etc/cron.d/evil"`,
		},
		{
			name:    "zip empty entry name",
			data:    buildZip(t, file("", "x")),
			wantErr: ErrUnsafePath,
			wantMsg: `zip entry ""`,
		},
		{
			name:    "zip entry name with NUL",
			data:    buildZip(t, file("exec\x00.txt", "x")),
			wantErr: ErrUnsafePath,
			wantMsg: `"exec\x00.txt"`,
		},
		{
			name:    "zip symlink to absolute path",
			data:    buildZip(t, file("exec", "x"), symlink("passwd", "/etc/passwd")),
			wantErr: ErrLinkEscapes,
			wantMsg: `zip entry "passwd" is a symlink to the absolute path "/etc/passwd"`,
		},
		{
			name:    "zip symlink climbing out with ..",
			data:    buildZip(t, symlink("lib/etc", "../../etc")),
			wantErr: ErrLinkEscapes,
			wantMsg: `zip entry "lib/etc" is a symlink to "../../etc"`,
		},
		{
			name:    "zip symlink climbing out through another link",
			data:    buildZip(t, symlink("here", "."), symlink("etc", "here/../etc")),
			wantErr: ErrLinkEscapes,
			wantMsg: `zip entry "etc" is a symlink to "here/../etc"`,
		},
		{
			name:    "zip writing through a symlinked dir",
			data:    buildZip(t, dir("real/"), symlink("lib", "real"), file("lib/evil.py", "x")),
			wantErr: ErrUnsafePath,
			wantMsg: `zip entry "lib/evil.py" would be written through the symlink "lib"`,
		},
		{
			name:    "zip writing through a symlinked dir pointing up",
			data:    buildZip(t, symlink("a/up", ".."), file("a/up/b/evil", "x")),
			wantErr: ErrUnsafePath,
			wantMsg: `"a/up/b/evil"`,
		},
		{
			name:    "zip file replacing an earlier symlink",
			data:    buildZip(t, file("target", "t"), symlink("exec", "target"), file("exec", "x")),
			wantErr: ErrUnsafePath,
			wantMsg: `zip entry "exec" clashes with an earlier entry`,
		},
		{
			name:    "zip file where an earlier entry put a file",
			data:    buildZip(t, file("lib", "x"), file("lib/a", "a")),
			wantErr: ErrUnsafePath,
			wantMsg: `zip entry "lib/a" needs "lib" to be a directory`,
		},
		{
			name:    "zip bomb over the per-file limit",
			data:    buildZip(t, file("exec", "x"), file("bomb", zeros)),
			lim:     small,
			wantErr: ErrTooLarge,
			wantMsg: `zip entry "bomb" expands to more than 65536 bytes`,
		},
		{
			name:    "zip understating its size",
			data:    lyingZip(t, "bomb", []byte(zeros), 10),
			lim:     small,
			wantErr: zip.ErrFormat,
			wantMsg: `zip entry "bomb" cannot be read`,
		},
		{
			name:    "zip with too many files",
			data:    buildZip(t, file("a", ""), file("b", ""), file("c", ""), file("d", ""), file("e", "")),
			lim:     small,
			wantErr: ErrTooManyFiles,
			wantMsg: `zip has 5 entries, more than the limit of 3 (the first one over is "d")`,
		},
		{
			name:    "zip too large in total",
			data:    buildZip(t, file("a", kib40), file("b", kib40), file("c", kib40)),
			lim:     small,
			wantErr: ErrTooLarge,
			wantMsg: `zip entry "c" takes the action past 102400 bytes`,
		},
		{
			name:    "truncated zip",
			data:    valid[:len(valid)/2],
			wantErr: zip.ErrFormat,
			wantMsg: "rebuild the zip",
		},
		{
			name:    "corrupt zip data",
			data:    corrupt,
			wantMsg: `zip entry "exec" cannot be read`,
		},
		{
			name:    "tar.gz entry with ..",
			data:    buildTarGz(t, file("exec", "x"), file("../evil", "x")),
			wantErr: ErrUnsafePath,
			wantMsg: `archive: tar.gz entry "../evil" is not a relative path inside the action directory`,
		},
		{
			name:    "tar.gz absolute entry",
			data:    buildTarGz(t, file("/etc/passwd", "x")),
			wantErr: ErrUnsafePath,
			wantMsg: `"/etc/passwd"`,
		},
		{
			name:    "tar.gz symlink to absolute path",
			data:    buildTarGz(t, symlink("etc", "/etc")),
			wantErr: ErrLinkEscapes,
			wantMsg: `tar.gz entry "etc" is a symlink to the absolute path "/etc"`,
		},
		{
			name:    "tar.gz symlink climbing out",
			data:    buildTarGz(t, symlink("a/b/c", "../../../x")),
			wantErr: ErrLinkEscapes,
			wantMsg: `"a/b/c"`,
		},
		{
			name:    "tar.gz writing through a symlinked dir",
			data:    buildTarGz(t, symlink("d", "."), file("d/x", "x")),
			wantErr: ErrUnsafePath,
			wantMsg: `would be written through the symlink "d"`,
		},
		{
			name:    "tar.gz hard link outside",
			data:    buildTarGz(t, file("exec", "x"), hardlink("passwd", "/etc/passwd")),
			wantErr: ErrLinkEscapes,
			wantMsg: `tar.gz entry "passwd" is a hard link to "/etc/passwd"`,
		},
		{
			name:    "tar.gz hard link climbing out",
			data:    buildTarGz(t, hardlink("passwd", "../../etc/passwd")),
			wantErr: ErrLinkEscapes,
			wantMsg: `"../../etc/passwd"`,
		},
		{
			name:    "tar.gz hard link to a later file",
			data:    buildTarGz(t, hardlink("b", "a"), file("a", "x")),
			wantErr: ErrLinkEscapes,
			wantMsg: `tar.gz entry "b" is a hard link to "a", which is not a file extracted earlier`,
		},
		{
			name:    "tar.gz hard link to a symlink",
			data:    buildTarGz(t, symlink("s", "x"), hardlink("h", "s")),
			wantErr: ErrLinkEscapes,
			wantMsg: `"h"`,
		},
		{
			name:    "tar.gz hard link to a directory",
			data:    buildTarGz(t, dir("d/"), hardlink("h", "d")),
			wantErr: ErrLinkEscapes,
			wantMsg: `"h"`,
		},
		{
			name:    "tar.gz bomb over the per-file limit",
			data:    buildTarGz(t, file("exec", "x"), file("bomb", zeros)),
			lim:     small,
			wantErr: ErrTooLarge,
			wantMsg: `tar.gz entry "bomb" expands to more than 65536 bytes`,
		},
		{
			name:    "tar.gz with too many files",
			data:    buildTarGz(t, file("a", ""), dir("b/"), symlink("c", "a"), entry{name: "d", mode: fs.ModeNamedPipe}),
			lim:     small,
			wantErr: ErrTooManyFiles,
			wantMsg: `tar.gz entry "d" is entry number 4, more than the limit of 3`,
		},
		{
			name:    "tar.gz too large in total",
			data:    buildTarGz(t, file("a", kib40), file("b", kib40), file("c", kib40)),
			lim:     small,
			wantErr: ErrTooLarge,
			wantMsg: `tar.gz entry "c" takes the action past 102400 bytes`,
		},
		{
			name:    "truncated tar.gz",
			data:    validTar[:len(validTar)-20],
			wantMsg: "rebuild the tar.gz",
		},
		{
			name:    "tar.gz missing its gzip checksum",
			data:    validTar[:len(validTar)-4],
			wantMsg: "rebuild the tar.gz",
		},
		{
			name: "tar.gz whose headers are a bomb",
			data: buildTarGz(t, entry{name: "exec", mode: 0o755, body: "x", pax: map[string]string{
				"comment": strings.Repeat("x", 64<<10),
			}}),
			lim:     Limits{MaxFiles: 1, MaxFileBytes: 1 << 10, MaxTotalBytes: 1 << 10},
			wantErr: ErrTooLarge,
			wantMsg: "including tar headers",
		},
		{
			name:    "broken gzip header",
			data:    []byte{0x1f, 0x8b, 0x08},
			wantMsg: "code looks like a tar.gz but cannot be read",
		},
		{
			name:    "single file over the per-file limit",
			data:    []byte(zeros),
			lim:     small,
			wantErr: ErrTooLarge,
			wantMsg: `action file "exec" expands to more than 65536 bytes`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, fresh := range []bool{false, true} {
				dest := t.TempDir()
				if fresh {
					dest = filepath.Join(dest, "action")
				}
				_, err := Extract(tt.data, dest, tt.lim)
				require.Error(t, err)
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
				}
				assert.Contains(t, err.Error(), tt.wantMsg)
				assert.True(t, strings.HasPrefix(err.Error(), "archive: "), err.Error())
				requireNothing(t, dest)
				if fresh {
					assert.NoDirExists(t, dest, "a directory Extract created is removed on failure")
				}
			}
		})
	}
}

func TestExtractDestination(t *testing.T) {
	code := buildZip(t, execFile("exec", "x"))
	tests := []struct {
		name    string
		prepare func(t *testing.T) string // returns dest
		wantErr string
	}{
		{
			name:    "existing empty directory",
			prepare: func(t *testing.T) string { return t.TempDir() },
		},
		{
			name:    "missing directory is created",
			prepare: func(t *testing.T) string { return filepath.Join(t.TempDir(), "action") },
		},
		{
			name: "non-empty directory",
			prepare: func(t *testing.T) string {
				dest := t.TempDir()
				require.NoError(t, os.WriteFile(filepath.Join(dest, "old"), []byte("keep"), 0o644))
				return dest
			},
			wantErr: "is not empty",
		},
		{
			name: "a file in the way",
			prepare: func(t *testing.T) string {
				dest := filepath.Join(t.TempDir(), "action")
				require.NoError(t, os.WriteFile(dest, []byte("keep"), 0o644))
				return dest
			},
			wantErr: "cannot use",
		},
		{
			name:    "missing parent",
			prepare: func(t *testing.T) string { return filepath.Join(t.TempDir(), "no", "action") },
			wantErr: "cannot create the action directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := tt.prepare(t)
			before, _ := os.ReadDir(dest)
			_, err := Extract(code, dest, Limits{})
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, map[string]node{"exec": regular(0o755, "x")}, tree(t, dest))
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			after, _ := os.ReadDir(dest)
			assert.Equal(t, before, after, "a refused destination is left alone")
		})
	}
}

func TestLimitsDefaults(t *testing.T) {
	assert.Equal(t, Limits{MaxFiles: 10000, MaxTotalBytes: 512 << 20, MaxFileBytes: 256 << 20}, Limits{}.withDefaults())
	custom := Limits{MaxFiles: 1, MaxTotalBytes: 2, MaxFileBytes: 3}
	assert.Equal(t, custom, custom.withDefaults())
}

// TestExtractFromFile extracts code kept in a file, as the proxy does with
// the /init code it spools, and gets what Extract gets from the same bytes.
func TestExtractFromFile(t *testing.T) {
	cases := map[string]struct {
		data []byte
		kind Kind
	}{
		"zip":    {buildZip(t, execFile("exec", "#!/bin/sh\n"), file("lib/a.txt", "a")), KindZip},
		"tar.gz": {buildTarGz(t, execFile("exec", "#!/bin/sh\n"), file("lib/a.txt", "a")), KindTarGz},
		"single": {[]byte("#!/bin/sh\necho hi\n"), KindFile},
		"short":  {[]byte("PK"), KindFile},
		"empty":  {nil, KindFile},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "code")
			require.NoError(t, os.WriteFile(path, c.data, 0o600))
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			fromFile := filepath.Join(t.TempDir(), "a")
			kind, err := ExtractFrom(f, int64(len(c.data)), fromFile, Limits{})
			require.NoError(t, err)
			assert.Equal(t, c.kind, kind)
			fromBytes := filepath.Join(t.TempDir(), "b")
			_, err = Extract(c.data, fromBytes, Limits{})
			require.NoError(t, err)
			assert.Equal(t, tree(t, fromBytes), tree(t, fromFile))
		})
	}
}
