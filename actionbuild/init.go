package actionbuild

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrExists: Init found a file it would write.
var ErrExists = errors.New("actionbuild: file exists")

// StarterMain is the main.go Init writes: a short action that answers at
// once and finishes tracked work after its response. It lives in a
// directory go build skips (_starter), so it is built only as an action.
//
//go:embed _starter/main.go
var StarterMain string

// Init writes a starter action into dir (created if missing): main.go
// (StarterMain) and a go.mod of its own, which Build completes with the
// SDK carried in this binary. It overwrites nothing: if either file exists
// it writes neither and returns an error wrapping ErrExists that names the
// file. It returns the paths written.
func Init(dir string) ([]string, error) {
	if dir == "" {
		return nil, errors.New("actionbuild: no directory given: name the directory for the new action, e.g. myaction")
	}
	files := []struct{ name, content string }{
		{"main.go", StarterMain},
		{"go.mod", starterGoMod(dir)},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if _, err := os.Lstat(p); err == nil {
			return nil, newError(fmt.Sprintf("actionbuild: %s already exists: epilogue init writes a new action and overwrites nothing; choose another directory or move %s away", p, f.name), ErrExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("actionbuild: cannot check %s: %w", p, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("actionbuild: cannot create %s: %w", dir, err)
	}
	var written []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		// O_EXCL: a file that appeared since the check is not overwritten either.
		out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			return written, newError(fmt.Sprintf("actionbuild: %s already exists: epilogue init overwrites nothing", p), ErrExists)
		}
		if err != nil {
			return written, fmt.Errorf("actionbuild: cannot write %s: %w", p, err)
		}
		_, err = out.WriteString(f.content)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return written, fmt.Errorf("actionbuild: cannot write %s: %w", p, err)
		}
		written = append(written, p)
	}
	return written, nil
}

// starterGoMod is the go.mod of a new action in dir: named after the
// directory, at the Go the SDK needs, without a require of the SDK (Build
// adds it, with the carried source).
func starterGoMod(dir string) string {
	return fmt.Sprintf("module %s\n\ngo %s\n\n"+
		"// The SDK (%s/sdk) comes with epilogue build, which adds it\n"+
		"// at the version of the epilogue binary: no require is needed.\n",
		moduleName(dir), carried.GoVersion, carried.Module)
}

// moduleName makes a module path from dir's last element: letters, digits
// and . _ - kept, anything else '-'; "action" if nothing is left.
func moduleName(dir string) string {
	base := dir
	if abs, err := filepath.Abs(dir); err == nil {
		base = filepath.Base(abs)
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, base)
	name = strings.Trim(name, ".-")
	if name == "" {
		return "action"
	}
	return name
}
