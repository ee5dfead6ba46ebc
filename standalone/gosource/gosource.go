package gosource

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/epilogue-dev/epilogue/actionbuild"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// Defaults for Config's zero values.
const (
	// DefaultImage is the runtime image every prepared action runs on.
	DefaultImage = "epilogue/action-go:latest"
	// DefaultTimeout bounds one compile: far above a cold build of the
	// SDK on a busy machine, short of a hung module download.
	DefaultTimeout = 5 * time.Minute
	// DefaultMaxCached bounds the compiled actions kept (a few MB each):
	// every update of an action's code compiles anew, so without a bound
	// the cache grows with every edit.
	DefaultMaxCached = 256
	// DefaultFailureTTL is how long a compile's developer error answers
	// for the same code without compiling it again.
	DefaultFailureTTL = time.Minute
)

// MaxErrorBytes caps the compiler output shown as an activation's error
// (the record is stored, and the invoker caps results at 1 MB).
const MaxErrorBytes = 64 << 10

// cacheVersion changes when what a compile produces for the same exec
// changes (the launcher, the build), so that old cache entries are not used.
const cacheVersion = "gosource/2"

// Config configures a Compiler.
type Config struct {
	// CacheDir holds compiled actions (<digest>.zip) and the build
	// directories; it is created if missing. Required.
	CacheDir string
	// GoBin is the go command; "" = "go" from PATH.
	GoBin string
	// Timeout bounds one compile; 0 = DefaultTimeout.
	Timeout time.Duration
	// Image is the image prepared actions run on; "" = DefaultImage.
	Image string
	// MaxCached is how many compiled actions are kept; the least recently
	// used go first. 0 = DefaultMaxCached. It bounds the remembered
	// failures too.
	MaxCached int
	// FailureTTL is how long code that failed to compile fails at once
	// with the same developer error; 0 = DefaultFailureTTL. A compile
	// that ran out of time is not remembered.
	FailureTTL time.Duration
}

// Compiler prepares Go source actions and wsk --native zips for the runtime
// image. It is safe for concurrent use; concurrent Prepares of the same exec
// compile once.
type Compiler struct {
	cfg Config

	mu       sync.Mutex
	building map[string]chan struct{} // digest → closed when its compile ends
	failures map[string]failure       // digest → its developer error, for FailureTTL

	pruneMu sync.Mutex // one prune at a time
}

// New returns a Compiler that caches in cfg.CacheDir.
func New(cfg Config) (*Compiler, error) {
	if cfg.CacheDir == "" {
		return nil, errors.New("gosource: Config.CacheDir is empty: name the directory compiled actions are kept in")
	}
	if cfg.Timeout < 0 || cfg.MaxCached < 0 || cfg.FailureTTL < 0 {
		return nil, errors.New("gosource: Config.Timeout, Config.MaxCached and Config.FailureTTL must not be negative; use 0 for the default")
	}
	cfg.MaxCached = cmp.Or(cfg.MaxCached, DefaultMaxCached)
	cfg.FailureTTL = cmp.Or(cfg.FailureTTL, DefaultFailureTTL)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.Image = cmp.Or(cfg.Image, DefaultImage)
	if err := os.MkdirAll(cfg.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("gosource: cannot create the cache directory %s: %w", cfg.CacheDir, err)
	}
	return &Compiler{cfg: cfg, building: map[string]chan struct{}{}, failures: map[string]failure{}}, nil
}

// Runs reports whether e is a Go source action or a wsk --native zip.
func (c *Compiler) Runs(e entity.Exec) bool {
	return entity.IsGoKind(e.Kind) || isNative(e)
}

func isNative(e entity.Exec) bool {
	return e.Kind == entity.KindBlackbox && (e.Image == entity.NativeImage || e.Image == entity.NativeImage+":latest")
}

// Prepare returns the blackbox exec that runs e on the runtime image: a
// --native zip as it is, Go source compiled (from the cache when it was
// compiled before). developerError is set when e's code is at fault: go
// build's output for a compile error, or what is wrong with the code.
func (c *Compiler) Prepare(ctx context.Context, e entity.Exec) (prepared entity.Exec, developerError string, err error) {
	if isNative(e) {
		return c.blackbox(e.Code, e.Binary), "", nil
	}
	if !entity.IsGoKind(e.Kind) {
		return entity.Exec{}, "", fmt.Errorf("gosource: exec.kind %q is not Go source or a --native zip", e.Kind)
	}
	key := digest(e)
	cached := filepath.Join(c.cfg.CacheDir, key+".zip")
	// A compiled zip is renamed into place whole: read without the claim,
	// so that invokes of a compiled action do not queue behind each other.
	if x, ok := c.cached(cached); ok {
		return x, "", nil
	}
	if msg, ok := c.failed(key); ok {
		return entity.Exec{}, msg, nil
	}
	release, err := c.claim(ctx, key)
	if err != nil {
		return entity.Exec{}, "", err
	}
	defer release()
	if x, ok := c.cached(cached); ok { // compiled while this one waited
		return x, "", nil
	}
	if msg, ok := c.failed(key); ok { // failed while this one waited
		return entity.Exec{}, msg, nil
	}
	x, msg, lasting, err := c.compile(ctx, e, cached)
	if msg != "" && lasting {
		c.remember(key, msg)
	}
	return x, msg, err
}

// failure is a developer error and until when it answers for its code.
type failure struct {
	msg   string
	until time.Time
}

// failed is the developer error remembered for key, if it has not expired.
// OpenWhisk's Go runtime compiles at every /init, so code that does not
// compile would cost a compile per invoke: a few CPU-seconds that anyone
// who may invoke it can ask for over and over. The error is remembered for
// a while rather than for good because a compile can also fail for a time
// (a module proxy that is down).
func (c *Compiler) failed(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.failures[key]
	if !ok || time.Now().After(f.until) {
		return "", false
	}
	return f.msg, true
}

// remember keeps key's developer error for FailureTTL, within MaxCached
// entries: expired ones go first, then the one that expires soonest.
func (c *Compiler) remember(key, msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if len(c.failures) >= c.cfg.MaxCached {
		soonest := ""
		for k, f := range c.failures {
			if now.After(f.until) {
				delete(c.failures, k)
			} else if soonest == "" || f.until.Before(c.failures[soonest].until) {
				soonest = k
			}
		}
		if len(c.failures) >= c.cfg.MaxCached {
			delete(c.failures, soonest)
		}
	}
	c.failures[key] = failure{msg: msg, until: now.Add(c.cfg.FailureTTL)}
}

// cached is the exec of the compiled zip at path, if there is one. Its
// modification time is set to now: the cache's order of use (prune).
func (c *Compiler) cached(path string) (entity.Exec, bool) {
	zip, err := os.ReadFile(path)
	if err != nil {
		return entity.Exec{}, false
	}
	now := time.Now()
	_ = os.Chtimes(path, now, now) // pruned a little early at worst
	return c.blackbox(base64.StdEncoding.EncodeToString(zip), true), true
}

// prune removes the least recently used compiled actions beyond MaxCached.
// One that an invoke reads at that moment is still read whole (the file
// stays open); the next invoke compiles it again. It is best effort: a
// file it cannot remove costs disk, not the invoke, and is tried again
// after the next compile.
func (c *Compiler) prune() {
	c.pruneMu.Lock()
	defer c.pruneMu.Unlock()
	entries, err := os.ReadDir(c.cfg.CacheDir)
	if err != nil {
		return
	}
	type zipFile struct {
		path string
		used time.Time
	}
	var zips []zipFile
	for _, en := range entries {
		if !en.Type().IsRegular() || filepath.Ext(en.Name()) != ".zip" {
			continue
		}
		if fi, err := en.Info(); err == nil {
			zips = append(zips, zipFile{filepath.Join(c.cfg.CacheDir, en.Name()), fi.ModTime()})
		}
	}
	if len(zips) <= c.cfg.MaxCached {
		return
	}
	sort.Slice(zips, func(i, j int) bool { return zips[i].used.Before(zips[j].used) })
	for _, z := range zips[:len(zips)-c.cfg.MaxCached] {
		_ = os.Remove(z.path)
	}
}

// blackbox is the exec of a container of the runtime image with code.
func (c *Compiler) blackbox(code string, binary bool) entity.Exec {
	return entity.Exec{Kind: entity.KindBlackbox, Image: c.cfg.Image, Code: code, Binary: binary}
}

// digest names e's compiled form: everything the compile depends on.
func digest(e entity.Exec) string {
	h := sha256.New()
	for _, s := range []string{cacheVersion, actionbuild.CarriedSDK().Hash, e.Kind, e.Main, e.Code} {
		fmt.Fprintf(h, "%d:%s\n", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// claim waits until no other Prepare compiles key, then makes this one the
// one that does; release ends the claim.
func (c *Compiler) claim(ctx context.Context, key string) (release func(), err error) {
	for {
		c.mu.Lock()
		busy, ok := c.building[key]
		if !ok {
			done := make(chan struct{})
			c.building[key] = done
			c.mu.Unlock()
			return func() {
				c.mu.Lock()
				delete(c.building, key)
				c.mu.Unlock()
				close(done)
			}, nil
		}
		c.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, fmt.Errorf("gosource: stopped waiting for the same code's compile: %w", ctx.Err())
		}
	}
}

// compile builds e in a fresh directory and keeps the zip at cached.
// lasting says a developer error would be the same on the next try (not a
// compile that ran out of time).
func (c *Compiler) compile(ctx context.Context, e entity.Exec, cached string) (x entity.Exec, developerError string, lasting bool, err error) {
	tmp, err := os.MkdirTemp(c.cfg.CacheDir, "build-")
	if err != nil {
		return entity.Exec{}, "", false, fmt.Errorf("gosource: cannot create a build directory in %s: %w", c.cfg.CacheDir, err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	src := filepath.Join(tmp, "src")
	tree, err := writeSource(e, src)
	switch {
	case err != nil:
		return entity.Exec{}, "", false, err
	case tree.problem != "":
		return entity.Exec{}, tree.problem, true, nil
	case tree.prebuilt:
		// A zip with a compiled exec: OpenWhisk's Go runtime runs it as it
		// is. Kept like a compiled one, so later invokes do not unpack it.
		x, err := c.keep(tmp, cached, tree.code)
		return x, "", false, err
	}
	goBin := c.cfg.GoBin
	if goBin == "" {
		goBin = "go"
	}
	if _, err := exec.LookPath(goBin); err != nil {
		return entity.Exec{}, "", false, fmt.Errorf("gosource: Go source actions compile on this server's host, which has no go command (%w): install Go, or name it with epilogue standalone --go-bin PATH", err)
	}
	bctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	out := filepath.Join(tmp, "action.zip")
	_, err = actionbuild.Build(bctx, actionbuild.Options{Dir: src, Output: out, GoBin: goBin, CacheDir: c.cfg.CacheDir})
	switch {
	case err != nil && ctx.Err() == nil && bctx.Err() != nil:
		return entity.Exec{}, fmt.Sprintf("The action's Go code did not compile within %s.", c.cfg.Timeout), false, nil
	case errors.Is(err, actionbuild.ErrCompile):
		return entity.Exec{}, capError(actionbuild.CompilerOutput(err)), true, nil
	case errors.Is(err, actionbuild.ErrNoMain), errors.Is(err, actionbuild.ErrNotGo):
		return entity.Exec{}, "The action's code is not a Go main package: " + tree.hint, true, nil
	case err != nil:
		return entity.Exec{}, "", false, fmt.Errorf("gosource: cannot compile the action: %w", err)
	}
	zip, err := os.ReadFile(out)
	if err != nil {
		return entity.Exec{}, "", false, fmt.Errorf("gosource: %w", err)
	}
	x, err = c.keep(tmp, cached, zip)
	return x, "", false, err
}

// keep puts the zip that runs an action into the cache at cached, through
// a file in tmp renamed into place (a reader never sees half a zip), and
// returns its exec.
func (c *Compiler) keep(tmp, cached string, zip []byte) (entity.Exec, error) {
	f, err := os.CreateTemp(tmp, "keep-*.zip")
	if err == nil {
		_, err = f.Write(zip)
		err = errors.Join(err, f.Close())
	}
	if err == nil {
		err = os.Rename(f.Name(), cached)
	}
	if err != nil {
		return entity.Exec{}, fmt.Errorf("gosource: cannot keep the compiled action in %s: %w", c.cfg.CacheDir, err)
	}
	c.prune()
	return c.blackbox(base64.StdEncoding.EncodeToString(zip), true), nil
}

// capError trims the compiler output to MaxErrorBytes, saying so.
func capError(out string) string {
	out = string(bytes.TrimSpace([]byte(out)))
	if len(out) <= MaxErrorBytes {
		return out
	}
	return out[:MaxErrorBytes] + fmt.Sprintf("\n… (%d more bytes of compiler output)", len(out)-MaxErrorBytes)
}
