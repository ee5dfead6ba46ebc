package process

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/epilogue-dev/epilogue/standalone/backend"
)

// ProxyName is the file name of the proxy binary looked up by default.
const ProxyName = "epilogue-proxy"

// Config configures the process backend. Its zero value works when
// epilogue-proxy is next to the running executable or in PATH.
type Config struct {
	// ProxyPath is the epilogue-proxy binary; "" = ProxyName next to
	// os.Executable(), then in PATH.
	ProxyPath string
	// WorkDir holds one directory per container; "" =
	// os.TempDir()/epilogue-standalone. It is created if missing and never
	// removed (only the containers' directories are).
	WorkDir string
	// APIHost is every container's __OW_API_HOST (Spec.Env may override
	// it); "" = unset.
	APIHost string
}

// Backend runs containers as local epilogue-proxy processes. It is safe for
// concurrent use.
type Backend struct {
	proxy   string
	workDir string
	apiHost string

	mu       sync.Mutex
	live     map[string]*container // by name; guarded by mu; nil value = being created
	closed   bool                  // guarded by mu
	creating sync.WaitGroup        // Creates in flight; Add under mu while !closed
}

var _ backend.Backend = (*Backend)(nil)

// New checks the configuration and returns a backend.
func New(cfg Config) (*Backend, error) {
	proxy, err := findProxy(cfg.ProxyPath)
	if err != nil {
		return nil, err
	}
	dir := cfg.WorkDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "epilogue-standalone")
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("backend/process: work directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("backend/process: create the work directory: %w", err)
	}
	return &Backend{proxy: proxy, workDir: dir, apiHost: cfg.APIHost, live: map[string]*container{}}, nil
}

// findProxy resolves Config.ProxyPath.
func findProxy(path string) (string, error) {
	if path != "" {
		if err := executable(path); err != nil {
			return "", fmt.Errorf("backend/process: proxy %s: %w", path, err)
		}
		return filepath.Abs(path)
	}
	self, err := os.Executable()
	if err == nil {
		next := filepath.Join(filepath.Dir(self), ProxyName)
		if executable(next) == nil {
			return next, nil
		}
	}
	if p, err := exec.LookPath(ProxyName); err == nil {
		return filepath.Abs(p)
	}
	return "", fmt.Errorf("backend/process: %s is neither next to %s nor in PATH: build it (`make build` writes bin/%s) and put it there, or name it explicitly",
		ProxyName, self, ProxyName)
}

func executable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("is a directory")
	case fi.Mode()&0o111 == 0:
		return fs.ErrPermission
	}
	return nil
}

// Name returns "process".
func (b *Backend) Name() string { return "process" }

// ProxyPath returns the proxy binary the containers run.
func (b *Backend) ProxyPath() string { return b.proxy }

// Create starts a proxy for spec and returns it once the process runs. The
// image must satisfy SupportsImage, or the error wraps
// backend.ErrUnsupportedImage.
func (b *Backend) Create(ctx context.Context, spec backend.Spec) (backend.Container, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if !SupportsImage(spec.Image) {
		return nil, fmt.Errorf("%w: the process backend runs only %s images; run image %q with --backend docker",
			backend.ErrUnsupportedImage, ActionGoImage, spec.Image)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	switch _, taken := b.live[spec.Name]; {
	case b.closed:
		b.mu.Unlock()
		return nil, backend.ErrClosed
	case taken:
		b.mu.Unlock()
		return nil, fmt.Errorf("backend/process: a container named %q already exists", spec.Name)
	}
	b.live[spec.Name] = nil
	b.creating.Add(1)
	b.mu.Unlock()
	defer b.creating.Done()

	c, err := start(b, spec)
	b.mu.Lock()
	if err != nil {
		delete(b.live, spec.Name)
	} else {
		b.live[spec.Name] = c
	}
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// forget drops a removed container.
func (b *Backend) forget(c *container) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.live[c.name] == c {
		delete(b.live, c.name)
	}
}

// Close removes every container of this backend; later Creates fail with
// backend.ErrClosed. It waits for Creates in flight, within ctx.
func (b *Backend) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()

	if err := backend.WaitCreates(ctx, &b.creating); err != nil {
		return fmt.Errorf("backend/process: close: %w", err)
	}

	b.mu.Lock()
	var all []*container
	for _, c := range b.live {
		all = append(all, c)
	}
	b.mu.Unlock()
	return backend.RemoveAll(ctx, all)
}
