package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"
)

// pingTimeout bounds the reachability check of the Docker engine: far above
// a busy machine's answer, since a slow ping would skip (or fail) the test.
const pingTimeout = time.Minute

// inCI reports whether missing components must fail tests rather than skip them.
func inCI() bool { return os.Getenv("CI") == "true" }

// missing fails the test under CI=true and skips it otherwise.
func missing(t testing.TB, ciHint, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatalf("%s; %s", msg, ciHint)
	}
	t.Skipf("%s (skipping; with CI=true this fails)", msg)
}

// RequireDocker returns a client of the Docker engine named by the
// environment (DOCKER_HOST etc.), with API version negotiation, closed when
// the test ends. If the engine does not answer a ping within a minute, the test is
// skipped, or fails under CI=true.
func RequireDocker(t testing.TB) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		missing(t, "the Docker engine is required in CI: fix DOCKER_HOST / DOCKER_CERT_PATH",
			"cannot configure a Docker client: %v", err)
		return nil
	}
	t.Cleanup(func() { _ = cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	ping, err := cli.Ping(ctx)
	if err != nil {
		missing(t, "the Docker engine is required in CI: start it (e.g. `sudo systemctl start docker`, or `sudo dockerd &`) or point DOCKER_HOST at a running engine",
			"the Docker engine at %s is unreachable: %v", cli.DaemonHost(), err)
		return nil
	}
	// Negotiate now: parallel tests share the client, and its lazy
	// negotiation writes its version while other calls read it.
	cli.NegotiateAPIVersionPing(ping)
	return cli
}

// RequireImage checks that the engine has image ref locally (it never
// pulls). A missing image skips the test, or fails it under CI=true.
func RequireImage(t testing.TB, cli *client.Client, ref string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	_, err := cli.ImageInspect(ctx, ref)
	switch {
	case cerrdefs.IsNotFound(err):
		missing(t, "run `make image` first (CI must build the image before the tests)",
			"image %s is not present in the Docker engine: run `make image` first", ref)
	case err != nil:
		t.Fatalf("inspect image %s: %v", ref, err)
	}
}

// built is one package's static build, shared by every test of the binary.
type built struct {
	once sync.Once
	exe  []byte
	err  error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*built{}
)

// BuildStatic builds the Go package pkg (an import path, or a path relative
// to the module root such as "./tests/testaction") with CGO_ENABLED=0 for
// linux/amd64 and returns the path of the executable, in t.TempDir(). The
// build runs once per package per test binary; later calls copy its bytes.
func BuildStatic(t testing.TB, pkg string) string {
	t.Helper()
	buildsMu.Lock()
	b := builds[pkg]
	if b == nil {
		b = &built{}
		builds[pkg] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() { b.exe, b.err = buildStatic(pkg) })
	if b.err != nil {
		t.Fatalf("build %s: %v", pkg, b.err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if err := os.WriteFile(out, b.exe, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

func buildStatic(pkg string) ([]byte, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(gomod))
	if mod == "" || mod == os.DevNull {
		return nil, errors.New("go env GOMOD: not inside a module")
	}
	dir, err := os.MkdirTemp("", "testenv-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "exe")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = filepath.Dir(mod)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %w\n%s", err, msg)
	}
	return os.ReadFile(out)
}
