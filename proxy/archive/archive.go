package archive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Kind is what the code bytes were recognised as.
type Kind int

const (
	KindFile Kind = iota
	KindZip
	KindTarGz
)

func (k Kind) String() string {
	switch k {
	case KindZip:
		return "zip"
	case KindTarGz:
		return "tar.gz"
	default:
		return "file"
	}
}

// Detect recognises code by its magic bytes, exactly as the upstream proxy
// does, so an action behaves the same on both.
func Detect(data []byte) Kind {
	switch {
	case len(data) >= 4 && data[0] == 0x50 && data[1] == 0x4B &&
		(data[2] == 0x03 || data[2] == 0x05 || data[2] == 0x07) &&
		(data[3] == 0x04 || data[3] == 0x06 || data[3] == 0x08):
		return KindZip
	case len(data) >= 3 && data[0] == 0x1F && data[1] == 0x8B && data[2] == 0x08:
		return KindTarGz
	default:
		return KindFile
	}
}

// Limits bound extraction; the zero value means the defaults below.
type Limits struct {
	MaxFiles      int   // default 10000 entries
	MaxTotalBytes int64 // default 512 MiB uncompressed in total
	MaxFileBytes  int64 // default 256 MiB for one file
}

func (l Limits) withDefaults() Limits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = 10000
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 512 << 20
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 256 << 20
	}
	return l
}

// Sentinel errors; test for them with errors.Is. The errors Extract returns
// carry their own message naming the entry at fault.
var (
	ErrUnsafePath   = errors.New("archive: entry path is not safe to extract")
	ErrTooLarge     = errors.New("archive: code expands beyond the size limit")
	ErrTooManyFiles = errors.New("archive: code has too many entries")
	ErrLinkEscapes  = errors.New("archive: link points outside the action directory")
)

// entryError reads as one sentence addressed to the action's developer while
// still matching its sentinel (and any underlying cause) with errors.Is.
type entryError struct {
	sentinel error
	err      error
}

func (e *entryError) Error() string   { return e.err.Error() }
func (e *entryError) Unwrap() []error { return []error{e.sentinel, e.err} }

func failf(sentinel error, format string, args ...any) error {
	return &entryError{sentinel: sentinel, err: fmt.Errorf("archive: "+format, args...)}
}

// Extract writes the code into dest (which must exist and be empty or not
// exist; it is created 0755) and returns the kind. On error nothing it
// extracted is left behind: dest is emptied, or removed if Extract created it.
func Extract(data []byte, dest string, lim Limits) (Kind, error) {
	return ExtractFrom(bytes.NewReader(data), int64(len(data)), dest, lim)
}

// ExtractFrom is Extract for code that is not in memory: the size bytes at
// the start of r, typically a file. Only a zip's central directory and the
// buffers of the copies are held in memory, whatever the size of the code.
func ExtractFrom(r io.ReaderAt, size int64, dest string, lim Limits) (Kind, error) {
	var head [4]byte
	n, err := io.ReadFull(io.NewSectionReader(r, 0, size), head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return KindFile, fmt.Errorf("archive: cannot read the code: %w", err)
	}
	kind := Detect(head[:n])
	created, err := prepareDest(dest)
	if err != nil {
		return kind, err
	}
	if err := extract(kind, r, size, dest, lim.withDefaults()); err != nil {
		if cerr := cleanDest(dest, created); cerr != nil {
			err = errors.Join(err, fmt.Errorf("archive: could not remove the partly extracted code: %w", cerr))
		}
		return kind, err
	}
	return kind, nil
}

func extract(kind Kind, r io.ReaderAt, size int64, dest string, lim Limits) error {
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("archive: cannot open the action directory: %w", err)
	}
	defer root.Close()
	x := &extractor{root: root, kind: kind, lim: lim, files: map[string]bool{}}
	switch kind {
	case KindZip:
		return x.zip(r, size)
	case KindTarGz:
		return x.tarGz(io.NewSectionReader(r, 0, size))
	default:
		return x.single(io.NewSectionReader(r, 0, size))
	}
}

// prepareDest makes sure dest is an empty directory and reports whether it
// had to create it, so that a failed extraction can put things back.
func prepareDest(dest string) (created bool, err error) {
	if err := os.Mkdir(dest, 0o755); err == nil {
		// Mkdir is subject to the umask; the action directory must be 0755.
		if err := os.Chmod(dest, 0o755); err != nil {
			os.Remove(dest)
			return false, fmt.Errorf("archive: cannot create the action directory: %w", err)
		}
		return true, nil
	} else if !errors.Is(err, fs.ErrExist) {
		return false, fmt.Errorf("archive: cannot create the action directory: %w", err)
	}
	entries, err := os.ReadDir(dest)
	if err != nil {
		return false, fmt.Errorf("archive: cannot use %q as the action directory: %w", dest, err)
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("archive: action directory %q is not empty: extract into a fresh directory", dest)
	}
	return false, nil
}

// cleanDest undoes a failed extraction. dest was empty before, so everything
// in it came from the archive.
func cleanDest(dest string, created bool) error {
	if created {
		return os.RemoveAll(dest)
	}
	entries, err := os.ReadDir(dest)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(dest, e.Name())))
	}
	return errors.Join(errs...)
}
