package archive

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

const (
	// maxLinkTarget is PATH_MAX; a longer symlink target cannot be created
	// anyway, and bounding it keeps a hostile one out of memory.
	maxLinkTarget = 4096
	// tarHeaderRoom is how much tar metadata (header blocks, padding, long
	// names, PAX records) one entry may decompress to, beyond its data.
	tarHeaderRoom = 8 << 10
)

// extractor writes one archive into the action directory. All file system
// access goes through root, which on top of the checks below guarantees
// nothing is touched outside the directory.
type extractor struct {
	root    *os.Root
	kind    Kind
	lim     Limits
	entries int
	total   int64           // bytes charged against MaxTotalBytes
	files   map[string]bool // regular files written: the only hard-link targets allowed
}

// entry names an entry the way error messages show it.
func (x *extractor) entry(name string) string {
	if x.kind == KindFile {
		return fmt.Sprintf("action file %q", name)
	}
	return fmt.Sprintf("%s entry %q", x.kind, name)
}

func (x *extractor) single(r io.Reader) error {
	return x.writeFile("exec", r, true)
}

func (x *extractor) zip(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	// ErrInsecurePath (opt-in through GODEBUG) flags names we check ourselves
	// with a message that says which entry and what to do.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("archive: code looks like a zip but cannot be read: %w: rebuild the zip", err)
	}
	if len(zr.File) > x.lim.MaxFiles {
		return failf(ErrTooManyFiles, "zip has %d entries, more than the limit of %d (the first one over is %q): ship fewer files, for example by pruning dependencies",
			len(zr.File), x.lim.MaxFiles, zr.File[x.lim.MaxFiles].Name)
	}
	// Refuse an obviously oversized zip before writing anything. The sizes
	// are only claims: the real check counts bytes as they are decompressed.
	for _, f := range zr.File {
		if err := x.charge(f.Name, int64(min(f.UncompressedSize64, math.MaxInt64))); err != nil {
			return err
		}
	}
	x.total = 0
	for _, f := range zr.File {
		if err := x.zipEntry(f); err != nil {
			return err
		}
	}
	return nil
}

func (x *extractor) zipEntry(f *zip.File) error {
	if err := x.countEntry(f.Name); err != nil {
		return err
	}
	name, err := x.localName(f.Name)
	if err != nil {
		return err
	}
	mode := f.Mode()
	switch {
	case mode.IsDir():
		return x.ensureDirs(name, name)
	case !mode.IsRegular() && mode&fs.ModeSymlink == 0:
		return nil // devices, pipes and sockets have no place in an action
	}
	rc, err := f.Open()
	if err != nil {
		return x.readErr(f.Name, err)
	}
	defer rc.Close()
	if mode&fs.ModeSymlink != 0 {
		var target strings.Builder
		if err := x.copyData(&target, io.LimitReader(rc, maxLinkTarget+1), f.Name); err != nil {
			return err
		}
		return x.symlink(name, target.String())
	}
	return x.writeFile(name, rc, mode&0o111 != 0)
}

func (x *extractor) tarGz(r io.Reader) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("archive: code looks like a tar.gz but cannot be read: %w: rebuild the tar.gz", err)
	}
	// Headers, long names and PAX records decompress outside any entry's
	// data, so the stream as a whole needs a bound too.
	limit := x.lim.MaxTotalBytes + int64(x.lim.MaxFiles)*tarHeaderRoom
	stream := &capReader{r: gz, n: limit, err: failf(ErrTooLarge,
		"tar.gz expands to more than %d bytes including tar headers: make the action smaller", limit)}
	tr := tar.NewReader(stream)
	last := ""
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		// As for zip, ErrInsecurePath is left to our own name check.
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return x.corruptTar(last, err)
		}
		if err := x.tarEntry(tr, hdr); err != nil {
			return err
		}
		last = hdr.Name
	}
	// Only reading to the end makes gzip verify its checksum.
	if _, err := io.Copy(io.Discard, stream); err != nil {
		return x.corruptTar(last, err)
	}
	return nil
}

func (x *extractor) tarEntry(tr *tar.Reader, hdr *tar.Header) error {
	if err := x.countEntry(hdr.Name); err != nil {
		return err
	}
	name, err := x.localName(hdr.Name)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.ensureDirs(name, name)
	case tar.TypeReg:
		return x.writeFile(name, tr, hdr.Mode&0o111 != 0)
	case tar.TypeSymlink:
		return x.symlink(name, hdr.Linkname)
	case tar.TypeLink:
		return x.hardlink(name, hdr.Linkname)
	default:
		return nil // devices, fifos and the like have no place in an action
	}
}

func (x *extractor) corruptTar(last string, err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	where := "at its start"
	if last != "" {
		where = fmt.Sprintf("after entry %q", last)
	}
	return fmt.Errorf("archive: tar.gz is corrupt %s: %w: rebuild the tar.gz", where, err)
}

// capReader fails, rather than ending quietly like io.LimitReader, once n
// bytes have been read, so that a bomb is reported as one.
type capReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, c.err
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

func (x *extractor) countEntry(raw string) error {
	x.entries++
	if x.entries > x.lim.MaxFiles {
		return failf(ErrTooManyFiles, "%s is entry number %d, more than the limit of %d: ship fewer files, for example by pruning dependencies",
			x.entry(raw), x.entries, x.lim.MaxFiles)
	}
	return nil
}

// localName checks an entry name and returns it cleaned, with OS separators.
func (x *extractor) localName(raw string) (string, error) {
	name := filepath.FromSlash(raw)
	// IsLocal rejects "", absolute paths and "..", but not NUL, which would
	// silently truncate the name at the system call.
	if strings.ContainsRune(name, 0) || !filepath.IsLocal(name) {
		return "", failf(ErrUnsafePath, "%s is not a relative path inside the action directory: rebuild the %s from inside the action's directory",
			x.entry(raw), x.kind)
	}
	return filepath.Clean(name), nil
}

// charge counts n more bytes of the entry against the limits.
func (x *extractor) charge(raw string, n int64) error {
	if n > x.lim.MaxFileBytes {
		return failf(ErrTooLarge, "%s expands to more than %d bytes, the limit for one file: keep large data out of the action code",
			x.entry(raw), x.lim.MaxFileBytes)
	}
	if n > x.lim.MaxTotalBytes-x.total {
		return failf(ErrTooLarge, "%s takes the action past %d bytes uncompressed, the limit for all files together: make the action smaller",
			x.entry(raw), x.lim.MaxTotalBytes)
	}
	x.total += n
	return nil
}

// copyData copies an entry's data, counting what decompression actually
// produces rather than trusting the sizes the archive declares.
func (x *extractor) copyData(w io.Writer, r io.Reader, raw string) error {
	limit := min(x.lim.MaxFileBytes, x.lim.MaxTotalBytes-x.total)
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if cerr := x.charge(raw, n); cerr != nil {
		return cerr
	}
	if err != nil {
		return x.readErr(raw, err)
	}
	return nil
}

func (x *extractor) readErr(raw string, err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	return fmt.Errorf("archive: %s cannot be read: %w: check that the %s is intact, or rebuild it", x.entry(raw), err, x.kind)
}

func (x *extractor) ioErr(raw string, err error) error {
	return fmt.Errorf("archive: %s could not be written: %w: check the action directory's file system", x.entry(raw), err)
}

// createErr explains why a path could not be created. An existing path is
// refused rather than replaced: an earlier entry may have made it a symlink.
func (x *extractor) createErr(raw string, err error) error {
	if errors.Is(err, fs.ErrExist) {
		return failf(ErrUnsafePath, "%s clashes with an earlier entry of the same path: rebuild the %s so that every path is stored once",
			x.entry(raw), x.kind)
	}
	return x.ioErr(raw, err)
}

// ensureDirs makes every component of dir a real directory, creating the
// missing ones. A component that is a symlink (made by an earlier entry) is
// refused: writing through it would put the entry wherever the link points.
func (x *extractor) ensureDirs(raw, dir string) error {
	if dir == "." {
		return nil
	}
	path := ""
	for _, part := range strings.Split(dir, string(filepath.Separator)) {
		path = filepath.Join(path, part)
		fi, err := x.root.Lstat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := x.root.Mkdir(path, 0o755); err != nil {
				return x.ioErr(raw, err)
			}
			// Mkdir is subject to the umask; the action needs to read its tree.
			if err := x.root.Chmod(path, 0o755); err != nil {
				return x.ioErr(raw, err)
			}
		case err != nil:
			return x.ioErr(raw, err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return failf(ErrUnsafePath, "%s would be written through the symlink %q: store the files under the link's target in the %s instead",
				x.entry(raw), filepath.ToSlash(path), x.kind)
		case !fi.IsDir():
			return failf(ErrUnsafePath, "%s needs %q to be a directory, but an earlier entry made it a file: rebuild the %s without the clash",
				x.entry(raw), filepath.ToSlash(path), x.kind)
		}
	}
	return nil
}

func (x *extractor) writeFile(name string, r io.Reader, exec bool) error {
	if err := x.ensureDirs(name, filepath.Dir(name)); err != nil {
		return err
	}
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return x.createErr(name, err)
	}
	err = x.copyData(f, r, name)
	if err == nil {
		// Set the mode explicitly so the umask cannot strip the exec bit.
		perm := fs.FileMode(0o644)
		if exec {
			perm = 0o755
		}
		if cerr := f.Chmod(perm); cerr != nil {
			err = x.ioErr(name, cerr)
		}
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = x.ioErr(name, cerr)
	}
	if err != nil {
		return err
	}
	x.files[name] = true
	return nil
}

func (x *extractor) symlink(name, target string) error {
	if err := x.checkLink(name, target); err != nil {
		return err
	}
	if err := x.ensureDirs(name, filepath.Dir(name)); err != nil {
		return err
	}
	if err := x.root.Symlink(filepath.FromSlash(target), name); err != nil {
		return x.createErr(name, err)
	}
	return nil
}

// checkLink admits a symlink only if it resolves inside the action
// directory. Resolving the target lexically from the link's directory is
// only sound while ".." comes before every name: "a/../x" is "x" on paper,
// but leaves the directory if "a" is itself a link to ".". With ".." only in
// front, the climb starts from real directories (ensureDirs sees to that)
// and every link followed on the way down is held to the same rule.
func (x *extractor) checkLink(name, target string) error {
	t := filepath.FromSlash(target)
	switch {
	case t == "" || len(t) > maxLinkTarget || strings.ContainsRune(t, 0):
		return failf(ErrLinkEscapes, "%s is a symlink with an empty, overlong or invalid target: rebuild the %s without it",
			x.entry(name), x.kind)
	case filepath.IsAbs(t):
		return failf(ErrLinkEscapes, "%s is a symlink to the absolute path %q: make it a relative link to a file inside the action's directory",
			x.entry(name), target)
	case !filepath.IsLocal(filepath.Join(filepath.Dir(name), t)):
		return failf(ErrLinkEscapes, "%s is a symlink to %q, which is outside the action directory: point it inside the action's directory, or copy the file in",
			x.entry(name), target)
	}
	named := false
	for _, part := range strings.Split(t, string(filepath.Separator)) {
		switch part {
		case "", ".":
		case "..":
			if named {
				return failf(ErrLinkEscapes, "%s is a symlink to %q, which uses \"..\" after a directory name and could leave the action directory through another link: write the target without that detour",
					x.entry(name), target)
			}
		default:
			named = true
		}
	}
	return nil
}

// hardlink admits only links to regular files this archive already wrote,
// so a link can neither reach outside nor alias a symlink or directory.
func (x *extractor) hardlink(name, target string) error {
	t := filepath.Clean(filepath.FromSlash(target))
	if !x.files[t] {
		return failf(ErrLinkEscapes, "%s is a hard link to %q, which is not a file extracted earlier from this %s: store the file itself instead",
			x.entry(name), target, x.kind)
	}
	if err := x.ensureDirs(name, filepath.Dir(name)); err != nil {
		return err
	}
	if err := x.root.Link(t, name); err != nil {
		return x.createErr(name, err)
	}
	x.files[name] = true
	return nil
}
