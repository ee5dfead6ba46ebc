package chaos

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/docker/docker/client"
	"github.com/redis/go-redis/v9"

	"github.com/epilogue-dev/epilogue/actionbuild"
	"github.com/epilogue-dev/epilogue/internal/faultnet"
	"github.com/epilogue-dev/epilogue/internal/redisserver"
	"github.com/epilogue-dev/epilogue/standalone/backend/docker"
)

// buildTimeout bounds the build of one workload action.
const buildTimeout = 3 * time.Minute

// env is what every scenario of a run shares: one Redis, the fault proxy
// in front of it, the telemetry collector, the built actions.
type env struct {
	cfg Config
	dir string
	// runID tells this run's containers from another's running beside it:
	// a standalone server removes what its name prefix left behind, so
	// two runs sharing one would remove each other's containers.
	runID string

	redis *redisserver.Server
	rdb   *redis.Client // the suite's own view of Redis, never through faults
	// net is the fault proxy every action reaches Redis through.
	net *faultnet.Proxy
	// spans is the telemetry workload's collector.
	spans *collector
	// host is where the containers reach this machine: loopback for the
	// process backend, the bridge's gateway for Docker.
	host string
	// docker is the engine's client (docker backend only).
	docker *client.Client
	// zips are the workload actions, base64, by source directory.
	zips map[string]string
}

// newEnv starts the run's services and builds the actions.
func newEnv(ctx context.Context, cfg Config, dir string) (_ *env, err error) {
	e := &env{cfg: cfg, dir: dir, host: "127.0.0.1", zips: map[string]string{}, runID: newRunID()}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if cfg.Backend == BackendDocker {
		e.docker, err = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("chaos: a Docker client (check DOCKER_HOST): %w", err)
		}
		gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		e.host, err = docker.Gateway(gctx, e.docker, "bridge")
		cancel()
		if err != nil {
			return nil, fmt.Errorf("chaos: where containers reach this machine: %w", err)
		}
	}
	redisDir := filepath.Join(dir, "redis")
	if err := os.MkdirAll(redisDir, 0o755); err != nil {
		return nil, err
	}
	// The durable semantics' task store needs what it promises: every
	// write fsynced to the AOF before Redis answers (and the Redis restart
	// fault reads it back).
	start := redisserver.Start
	if slices.Contains(cfg.Semantics, SemanticsDurable) {
		start = redisserver.StartDurable
	}
	if e.redis, err = start("127.0.0.1", redisDir); err != nil {
		return nil, err
	}
	e.rdb = redis.NewClient(&redis.Options{Addr: e.redis.Addr()})
	if e.net, err = faultnet.Listen(net.JoinHostPort(e.host, "0"), e.redis.Addr()); err != nil {
		return nil, err
	}
	if e.spans, err = newCollector(e.host); err != nil {
		return nil, err
	}
	for _, src := range cfg.sourcesUsed() {
		if e.zips[src], err = e.build(ctx, src); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// build compiles one workload action with actionbuild, as `epilogue build`.
func (e *env) build(ctx context.Context, source string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	out := filepath.Join(e.dir, "actions", filepath.Base(source)+".zip")
	if _, err := actionbuild.Build(ctx, actionbuild.Options{Dir: filepath.Join(e.cfg.SourceDir, source), Output: out}); err != nil {
		return "", fmt.Errorf("chaos: build the workload action %s: %w", source, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func (e *env) close() {
	if e.spans != nil {
		e.spans.close()
	}
	if e.net != nil {
		_ = e.net.Close()
	}
	if e.rdb != nil {
		_ = e.rdb.Close()
	}
	if e.redis != nil {
		_ = e.redis.Stop()
	}
	if e.docker != nil {
		_ = e.docker.Close()
	}
}

// newRunID is 8 random hex digits.
func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dockerPrefix names this run's containers, and only them: each scenario's
// server cleans up what an earlier scenario of the run left, never another
// run's.
func (e *env) dockerPrefix() string { return dockerPrefix + e.runID + "_" }

// redisAddr is where actions reach Redis: through the fault proxy.
func (e *env) redisAddr() string { return e.net.Addr() }

// maxExport caps one telemetry export.
const maxExport = 1 << 20

// collector receives the telemetry workload's exports and remembers which
// activations' spans arrived.
type collector struct {
	srv *http.Server
	url string

	mu   sync.Mutex
	seen map[string]bool // guarded by mu: activation ids
}

func newCollector(host string) (*collector, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("chaos: the telemetry collector: %w", err)
	}
	c := &collector{url: "http://" + ln.Addr().String() + "/spans", seen: map[string]bool{}}
	c.srv = &http.Server{Handler: http.HandlerFunc(c.receive), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

func (c *collector) receive(w http.ResponseWriter, r *http.Request) {
	var export struct {
		Activation string            `json:"activation"`
		Spans      []json.RawMessage `json:"spans"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxExport))
	if err == nil {
		err = json.Unmarshal(body, &export)
	}
	if err != nil || export.Activation == "" || len(export.Spans) == 0 {
		http.Error(w, "not an export with an activation and spans", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.seen[export.Activation] = true
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (c *collector) received(activation string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[activation]
}

func (c *collector) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		_ = c.srv.Close()
	}
}
