package actionbuild

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/epilogue-dev/epilogue"
)

// SDK describes the Go action SDK carried in this binary, which Build
// supplies to an action whose go.mod does not get it from elsewhere.
type SDK struct {
	Module    string // github.com/epilogue-dev/epilogue
	Version   string // the binary's version, e.g. 0.1.0
	Hash      string // sha256 of the SDK module's files, hex: names its cache directory
	GoVersion string // the SDK module's go directive, e.g. 1.26.0
}

// ShortHash is the first 12 hex digits of Hash, as `epilogue version` shows it.
func (s SDK) ShortHash() string { return s.Hash[:12] }

// ModuleVersion is the version an action's go.mod requires the SDK at:
// v + Version when that is a semantic version, else a zero pseudo-version
// (the replace directive Build adds makes either resolve to the carried
// source).
func (s SDK) ModuleVersion() string {
	if semver.MatchString(s.Version) {
		return "v" + s.Version
	}
	return "v0.0.0-00010101000000-000000000000"
}

var semver = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)

// sdkFile is one file of the SDK module, at its slash-separated path.
type sdkFile struct {
	path string
	data []byte
}

// sdkFiles is the SDK as a module: a go.mod of its own (the SDK needs no
// other module, so no go.sum) and the embedded source. Sorted by path.
var sdkFiles, carried = func() ([]sdkFile, SDK) {
	files := []sdkFile{{"go.mod", []byte("module " + epilogue.SDKModule + "\n\ngo " + epilogue.GoVersion + "\n")}}
	err := fs.WalkDir(epilogue.SDKSource, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := epilogue.SDKSource.ReadFile(p)
		files = append(files, sdkFile{p, data})
		return err
	})
	if err != nil {
		panic("actionbuild: reading the embedded SDK: " + err.Error()) // embedded at build time: cannot fail
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s %d\n", f.path, len(f.data))
		h.Write(f.data)
	}
	return files, SDK{Module: epilogue.SDKModule, Version: epilogue.Version, Hash: hex.EncodeToString(h.Sum(nil)), GoVersion: epilogue.GoVersion}
}()

// CarriedSDK describes the SDK this binary carries.
func CarriedSDK() SDK { return carried }

// sdkDir returns the SDK module's directory under cacheDir ("" = the user's
// cache directory, epilogue), writing it first if it is not there. The
// directory is named by the content hash and written whole under a
// temporary name, then renamed: a directory of that name is complete, and
// builds running at once share it.
func sdkDir(cacheDir string) (string, error) {
	if cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("actionbuild: no cache directory for the SDK (%v): set XDG_CACHE_HOME or HOME", err)
		}
		cacheDir = filepath.Join(base, "epilogue")
	}
	parent, err := filepath.Abs(filepath.Join(cacheDir, "sdk"))
	if err != nil {
		return "", fmt.Errorf("actionbuild: %w", err)
	}
	dir := filepath.Join(parent, carried.Hash)
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("actionbuild: cannot write the SDK into %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-")
	if err != nil {
		return "", fmt.Errorf("actionbuild: cannot write the SDK into %s: %w", parent, err)
	}
	defer func() { _ = os.RemoveAll(tmp) }() // gone after the rename; else a leftover
	for _, f := range sdkFiles {
		p := filepath.Join(tmp, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("actionbuild: cannot write the SDK into %s: %w", parent, err)
		}
		// Read-only, like Go's module cache: an edit here would change
		// every action built against this SDK, with nothing to show for it.
		if err := os.WriteFile(p, f.data, 0o444); err != nil {
			return "", fmt.Errorf("actionbuild: cannot write the SDK into %s: %w", parent, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "go.mod")); serr == nil {
			return dir, nil // another build wrote it first
		}
		return "", fmt.Errorf("actionbuild: cannot write the SDK into %s: %w", dir, err)
	}
	return dir, nil
}

// goEnv is what the go command says about the action's directory.
type goEnv struct {
	GOMOD      string // the go.mod in effect; os.DevNull when there is none, "" outside module mode
	GOWORK     string // the go.work in effect, "" or "off" when none
	GOMODCACHE string
}

// modFile is what `go mod edit -json` says about a go.mod.
type modFile struct {
	Module  struct{ Path string }
	Go      string
	Require []struct{ Path, Version string }
	Replace []struct{ Old struct{ Path string } }
}

// wiring is how the SDK is supplied to one build.
type wiring struct {
	args []string // go build flags: -overlay or -modfile; nil = the action's own go.mod as it is
	note string   // said after a failed build: what Build did to the module
}

// wireSDK decides how the action in opt.Dir gets the SDK, and writes what
// that takes into tmp, never into the action's directory:
//
//   - no go.mod: an overlay gives the directory a go.mod (module action)
//     that requires the SDK and replaces it with the carried source;
//   - a go.mod that does not mention the SDK, or requires a version that is
//     neither in its go.sum nor in the module cache: a copy of it (and of
//     go.sum) with the require and the replace added, used with -modfile;
//   - a go.mod that replaces the SDK itself, requires a version Go can find,
//     or is the SDK's own module (this repository), or a go.work: left alone.
func wireSDK(ctx context.Context, goPath string, env []string, opt Options, tmp string) (wiring, error) {
	var ge goEnv
	if err := goJSON(ctx, goPath, env, opt.Dir, &ge, "env", "-json", "GOMOD", "GOWORK", "GOMODCACHE"); err != nil {
		return wiring{}, err
	}
	switch {
	case ge.GOMOD == "" || (ge.GOWORK != "" && ge.GOWORK != "off"):
		return wiring{}, nil // GOPATH mode or a workspace: theirs to resolve
	case ge.GOMOD == os.DevNull:
		return overlayGoMod(opt, tmp)
	}
	var mf modFile
	if err := goJSON(ctx, goPath, env, opt.Dir, &mf, "mod", "edit", "-json", ge.GOMOD); err != nil {
		return wiring{}, err
	}
	if mf.Module.Path == epilogue.SDKModule {
		return wiring{}, nil
	}
	for _, r := range mf.Replace {
		if r.Old.Path == epilogue.SDKModule {
			return wiring{}, nil
		}
	}
	required := ""
	for _, r := range mf.Require {
		if r.Path == epilogue.SDKModule {
			required = r.Version
		}
	}
	if required != "" && resolvable(ge, required) {
		return wiring{}, nil
	}
	return copyGoMod(ctx, goPath, env, opt, tmp, ge.GOMOD, mf, required != "")
}

// overlayGoMod supplies a go.mod to a directory that has none.
func overlayGoMod(opt Options, tmp string) (wiring, error) {
	sdk, err := sdkDir(opt.CacheDir)
	if err != nil {
		return wiring{}, err
	}
	abs, err := filepath.Abs(opt.Dir)
	if err != nil {
		return wiring{}, fmt.Errorf("actionbuild: %w", err)
	}
	mod := filepath.Join(tmp, "go.mod")
	content := fmt.Sprintf("module action\n\ngo %s\n\nrequire %s %s\n\nreplace %s => %s\n",
		carried.GoVersion, carried.Module, carried.ModuleVersion(), carried.Module, strconv.Quote(sdk))
	if err := os.WriteFile(mod, []byte(content), 0o644); err != nil {
		return wiring{}, fmt.Errorf("actionbuild: %w", err)
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(abs, "go.mod"): mod}})
	if err != nil {
		return wiring{}, fmt.Errorf("actionbuild: %w", err)
	}
	ov := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o644); err != nil {
		return wiring{}, fmt.Errorf("actionbuild: %w", err)
	}
	return wiring{
		args: []string{"-overlay", ov},
		note: fmt.Sprintf("%s has no go.mod: epilogue build supplied one that requires only the SDK (%s %s, carried in this binary); "+
			"to use other modules, run `go mod init NAME` and `go get MODULE` in %s", opt.Dir, carried.Module, carried.Version, opt.Dir),
	}, nil
}

// copyGoMod builds with a copy of the action's go.mod that requires the SDK
// and replaces it with the carried source.
func copyGoMod(ctx context.Context, goPath string, env []string, opt Options, tmp, gomod string, mf modFile, requires bool) (wiring, error) {
	sdk, err := sdkDir(opt.CacheDir)
	if err != nil {
		return wiring{}, err
	}
	mod := filepath.Join(tmp, "go.mod") // -modfile reads go.sum beside it: tmp/go.sum
	if err := copyFile(gomod, mod); err != nil {
		return wiring{}, err
	}
	if err := copyFile(strings.TrimSuffix(gomod, ".mod")+".sum", filepath.Join(tmp, "go.sum")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return wiring{}, err
	}
	edit := []string{"mod", "edit", "-replace=" + carried.Module + "=" + sdk}
	if !requires {
		edit = append(edit, "-require="+carried.Module+"@"+carried.ModuleVersion())
	}
	// A module may not require one that needs a newer Go than its own go
	// line says (go get would raise the line, as it does here).
	if olderGo(mf.Go, carried.GoVersion) {
		edit = append(edit, "-go="+carried.GoVersion)
	}
	if err := goRun(ctx, goPath, env, opt.Dir, nil, append(edit, mod)...); err != nil {
		return wiring{}, err
	}
	return wiring{
		args: []string{"-modfile", mod},
		note: fmt.Sprintf("epilogue build used a copy of %s that adds the SDK (%s %s, carried in this binary); %s itself is unchanged",
			gomod, carried.Module, carried.Version, gomod),
	}, nil
}

// resolvable reports whether go can find version of the SDK without this
// binary: it is in go.sum beside the go.mod, or in the module cache.
func resolvable(ge goEnv, version string) bool {
	if f, err := os.Open(strings.TrimSuffix(ge.GOMOD, ".mod") + ".sum"); err == nil {
		defer func() { _ = f.Close() }()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fields := strings.Fields(sc.Text()); len(fields) == 3 && fields[0] == epilogue.SDKModule &&
				strings.TrimSuffix(fields[1], "/go.mod") == version {
				return true
			}
		}
	}
	if ge.GOMODCACHE == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(ge.GOMODCACHE, "cache", "download", filepath.FromSlash(epilogue.SDKModule), "@v", escapeVersion(version)+".mod"))
	return err == nil
}

// escapeVersion is the module cache's spelling of a version: an upper-case
// letter becomes '!' and its lower case.
func escapeVersion(v string) string {
	var b strings.Builder
	for _, r := range v {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// olderGo reports whether Go version a (e.g. "1.22") is older than b
// ("1.26.0"), comparing the numeric parts; a missing part counts as 0.
func olderGo(a, b string) bool {
	if a == "" {
		return true
	}
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		x, y := goPart(pa, i), goPart(pb, i)
		if x != y {
			return x < y
		}
	}
	return false
}

// goPart is the leading number of parts[i] ("0rc1" → 0), 0 past the end.
func goPart(parts []string, i int) int {
	if i >= len(parts) {
		return 0
	}
	s := parts[i]
	if j := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); j >= 0 {
		s = s[:j]
	}
	n, _ := strconv.Atoi(s)
	return n
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		return fmt.Errorf("actionbuild: %w", err)
	}
	return nil
}

// goJSON runs the go command and decodes its standard output into v.
func goJSON(ctx context.Context, goPath string, env []string, dir string, v any, args ...string) error {
	var out bytes.Buffer
	if err := goRun(ctx, goPath, env, dir, &out, args...); err != nil {
		return err
	}
	if err := json.Unmarshal(out.Bytes(), v); err != nil {
		return fmt.Errorf("actionbuild: go %s printed what is not JSON: %w", strings.Join(args, " "), err)
	}
	return nil
}

// goRun runs a short go command (not the build) in dir, stdout into out.
func goRun(ctx context.Context, goPath string, env []string, dir string, out *bytes.Buffer, args ...string) error {
	cmd := exec.CommandContext(ctx, goPath, args...)
	cmd.Dir, cmd.Env, cmd.WaitDelay = dir, env, KillGrace
	var stderr bytes.Buffer
	if out != nil {
		cmd.Stdout = out
	}
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("actionbuild: build of %s stopped: %w", dir, ctxErr)
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return newError(fmt.Sprintf("actionbuild: go %s in %s failed:\n%s", strings.Join(args, " "), dir, msg), ErrCompile, err)
	}
	return nil
}
