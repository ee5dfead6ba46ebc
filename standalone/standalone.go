package standalone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/epilogue-dev/epilogue/durable"
	"github.com/epilogue-dev/epilogue/durable/recoverer"
	"github.com/epilogue-dev/epilogue/standalone/api"
	"github.com/epilogue-dev/epilogue/standalone/backend"
	"github.com/epilogue-dev/epilogue/standalone/backend/docker"
	"github.com/epilogue-dev/epilogue/standalone/backend/process"
	"github.com/epilogue-dev/epilogue/standalone/gosource"
	"github.com/epilogue-dev/epilogue/standalone/liveview"
	"github.com/epilogue-dev/epilogue/standalone/pool"
	"github.com/epilogue-dev/epilogue/standalone/store"
)

// Defaults.
const (
	// DefaultPort is OpenWhisk standalone's API port.
	DefaultPort = 3233
	// DefaultHost is where the API listens: this machine only.
	DefaultHost = "127.0.0.1"
	// DefaultShutdownTimeout bounds the shutdown: in-flight requests, then
	// running and lingering activations, then the containers' removal.
	DefaultShutdownTimeout = time.Minute
	// PoolPath serves the pool's snapshot.
	PoolPath = "/epilogue/pool"
	// MetricsPath serves the Prometheus metrics (docs/observability.md).
	MetricsPath = "/metrics"
	// DefaultKeepActivations is the records kept per namespace.
	DefaultKeepActivations = 100_000
	// pruneEvery is how often the records beyond the retention are deleted.
	pruneEvery = time.Minute
	// crashReason is what an activation left pending by an earlier server
	// records: its container (a process of that server, or a Docker
	// container its start removes) is gone with it.
	crashReason = "the standalone server stopped (crashed or was killed) while this activation's post-response work was pending; its container is gone, so the work's outcome is unknown"
)

// Backends.
const (
	BackendProcess = "process"
	BackendDocker  = "docker"
)

// Config configures Run. Zero values are the defaults.
type Config struct {
	// Listener, if set, is served instead of listening on Host:Port.
	Listener net.Listener
	// Host and Port: "" = DefaultHost, 0 = DefaultPort.
	Host string
	Port int
	// DataDir holds the database; "" = DefaultDataDir().
	DataDir string
	// Backend is BackendProcess ("") or BackendDocker.
	Backend string
	// ProxyPath is the process backend's epilogue-proxy; "" = next to this
	// executable, then in PATH.
	ProxyPath string
	// DockerNetwork and DockerNamePrefix configure the docker backend;
	// "" = the backend's defaults (bridge, wsk0_).
	DockerNetwork    string
	DockerNamePrefix string
	// DockerHost is the engine the docker backend talks to, e.g. an
	// epilogue-shim's socket; "" = DOCKER_HOST, else the default.
	DockerHost string
	// Pool configures the container pool; its Backend and Store are set
	// by Run.
	Pool pool.Config
	// GoBin is the go command that compiles Go source actions; "" = "go"
	// from PATH.
	GoBin string
	// Keys are the accepted credentials (uuid → key); nil = the guest key.
	Keys map[string]string
	// Retention bounds the activation records kept; the zero value keeps
	// DefaultKeepActivations per namespace, of any age. A negative
	// MaxPerNamespace keeps every record.
	Retention store.Retention
	// ShutdownTimeout: 0 = DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Logger: nil = discard.
	Logger *slog.Logger
	// Ready, if set, is called once the API answers, with its base URL.
	Ready func(url string)
	// TasksRedis, if set, is the durable-task store (host:port or
	// redis://...): the server then runs the task recoverer built in,
	// re-invoking each intent's action through its own API with the key of
	// the intent's namespace (one of Keys; an intent of a namespace
	// without one fails its recovery, logged, and is dead-lettered after
	// the recoverer's limit).
	TasksRedis string
	// TasksLease is the recoverer's lease; 0 = durable.DefaultLease. It
	// must equal the actions' EPILOGUE_TASKS_LEASE.
	TasksLease time.Duration
}

// DefaultDataDir is ~/.epilogue/standalone (or a temporary directory's
// when there is no home directory).
func DefaultDataDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "epilogue-standalone-data")
	}
	return filepath.Join(home, ".epilogue", "standalone")
}

// Run serves until ctx ends, then shuts down: it stops taking requests,
// lets running and lingering activations finish (within ShutdownTimeout),
// removes every container and closes the database.
func Run(ctx context.Context, cfg Config) (err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	ln := cfg.Listener
	if ln == nil {
		host, port := cfg.Host, cfg.Port
		if host == "" {
			host = DefaultHost
		}
		if port == 0 {
			port = DefaultPort
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		if ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("standalone: listen on %s: %w; is another server using the port? Pass --port N", addr, err)
		}
	}
	defer ln.Close()
	url := "http://" + ln.Addr().String()

	st, err := store.Open(cfg.DataDir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	if n, err := st.SettlePending(crashReason); err != nil {
		return fmt.Errorf("standalone: settle the activations an earlier server left pending: %w", err)
	} else if n > 0 {
		log.Warn("settled activations an earlier server left pending (it did not shut down cleanly)", "activations", n)
	}
	retention := cfg.Retention
	switch {
	case retention.MaxPerNamespace == 0:
		retention.MaxPerNamespace = DefaultKeepActivations
	case retention.MaxPerNamespace < 0:
		retention.MaxPerNamespace = 0
	}
	pruned := make(chan struct{})
	pruneCtx, stopPruning := context.WithCancel(ctx)
	go func() {
		defer close(pruned)
		prune(pruneCtx, st, retention, log)
	}()
	// Before the store closes (deferred earlier, so run later).
	defer func() { stopPruning(); <-pruned }()

	shutdown := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	}
	be, err := newBackend(ctx, cfg, url, log)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := shutdown()
		defer cancel()
		err = errors.Join(err, be.Close(sctx))
	}()
	listeners := []net.Listener{ln}
	if d, ok := be.(*docker.Backend); ok {
		if cln, err := listenForContainers(ctx, d); err != nil {
			log.Warn("actions in containers cannot reach the API: their __OW_API_HOST is the server's own address", "apiHost", url, "error", err)
		} else {
			defer cln.Close()
			listeners = append(listeners, cln)
		}
	}

	pcfg := cfg.Pool
	pcfg.Backend, pcfg.Store = be, st
	if pcfg.Runtime == nil {
		// Go source actions compile once per data directory, beside the database.
		rt, err := gosource.New(gosource.Config{CacheDir: filepath.Join(cfg.DataDir, "gosource"), GoBin: cfg.GoBin})
		if err != nil {
			return err
		}
		pcfg.Runtime = rt
	}
	if pcfg.Logger == nil {
		pcfg.Logger = log
	}
	p, err := pool.New(pcfg)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := shutdown()
		defer cancel()
		err = errors.Join(err, p.Close(sctx))
	}()

	apiHandler, err := api.New(api.Config{Store: st, Invoker: invoker{p}, Keys: cfg.Keys})
	if err != nil {
		return err
	}
	view, err := liveview.New(liveview.Config{Source: p, Semantics: string(p.Policy()), Logger: log})
	if err != nil {
		return err
	}
	defer view.Close()
	mux := http.NewServeMux()
	mux.Handle("/", apiHandler)
	// The page gets its own path: "/" stays OpenWhisk's JSON API info
	// whatever the Accept header, as wsk, wskdeploy and health checks read it.
	mux.Handle(liveview.ViewPath, view)
	mux.Handle(liveview.ViewPath+"/", view)
	mux.HandleFunc("GET "+PoolPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(p.Snapshot())
	})
	mux.Handle("GET "+MetricsPath, metricsHandler(p))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// A blocking invoke waits up to 60 s for its activation.
		WriteTimeout: api.DefaultBlockingLimit + 30*time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// An open page must not hold the shutdown up: end its stream.
	srv.RegisterOnShutdown(view.Close)
	served := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { served <- srv.Serve(l) }()
	}
	log.Info("serving OpenWhisk's API", "url", url, "metrics", url+MetricsPath, "backend", be.Name(), "semantics", p.Policy(), "data", cfg.DataDir,
		"liveView", url+liveview.ViewPath)
	if len(listeners) > 1 {
		log.Info("containers reach the API at their network's gateway", "apiHost", "http://"+listeners[1].Addr().String())
	}
	if cfg.TasksRedis != "" {
		stop, err := startRecoverer(ctx, cfg, url, log)
		if err != nil {
			_ = srv.Close()
			awaitServes(served, len(listeners))
			return err
		}
		defer stop()
	}
	if cfg.Ready != nil {
		cfg.Ready(url)
	}

	select {
	case err := <-served:
		return fmt.Errorf("standalone: serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: waiting for running and lingering activations", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := shutdown()
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	awaitServes(served, len(listeners))
	// Then the sequences still chaining components, while the pool (closed
	// by a deferred call) still runs them.
	if err := apiHandler.Drain(sctx); err != nil {
		log.Warn("shutting down with sequences still running; their next components are refused", "error", err)
	}
	return nil
}

// metricsHandler serves the pool's metrics and the process's own (Go
// runtime, CPU, memory, open files) in Prometheus' text format.
func metricsHandler(p *pool.Pool) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(p.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Timeout: 10 * time.Second})
}

// listenForContainers serves the API where d's containers reach this
// machine too, on a port of its own at their network's gateway, and makes
// that their __OW_API_HOST: the server's own address is usually loopback,
// which inside a container names the container (actions that call the API,
// such as a feed firing its trigger, would reach nothing).
func listenForContainers(ctx context.Context, d *docker.Backend) (net.Listener, error) {
	gw, err := d.Gateway(ctx)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(gw, "0"))
	if err != nil {
		return nil, fmt.Errorf("listen on the Docker network's gateway %s (an engine on another machine has its gateway there): %w", gw, err)
	}
	d.SetAPIHost("http://" + ln.Addr().String())
	return ln, nil
}

// awaitServes waits for the n Serve calls that report on served to return.
func awaitServes(served <-chan error, n int) {
	for range n {
		<-served
	}
}

// newBackend creates the configured backend.
func newBackend(ctx context.Context, cfg Config, apiURL string, log *slog.Logger) (backend.Backend, error) {
	switch cfg.Backend {
	case "", BackendProcess:
		return process.New(process.Config{ProxyPath: cfg.ProxyPath, APIHost: apiURL})
	case BackendDocker:
		b, err := docker.New(ctx, docker.Config{
			Network: cfg.DockerNetwork, NamePrefix: cfg.DockerNamePrefix, APIHost: apiURL, Host: cfg.DockerHost,
			UserMemoryMB: cfg.Pool.MemoryMB,
		})
		if err != nil {
			return nil, err
		}
		if n, err := b.RemoveLeftovers(ctx); err != nil {
			log.Warn("could not remove the containers an earlier server left", "error", err)
		} else if n > 0 {
			log.Info("removed containers an earlier server left", "count", n)
		}
		return b, nil
	}
	return nil, fmt.Errorf("standalone: unknown backend %q: use %q (no Docker needed) or %q", cfg.Backend, BackendProcess, BackendDocker)
}

// invoker adapts the pool to the API's Invoker.
type invoker struct{ p *pool.Pool }

func (i invoker) Invoke(ctx context.Context, req api.InvokeRequest) (api.Invocation, error) {
	inv, err := i.p.Invoke(ctx, pool.Request{Action: req.Action, Code: req.Code, Params: req.Params, Subject: req.Subject, APIKey: req.APIKey, Binding: req.Binding, Cause: req.Cause})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// prune deletes the records beyond the retention now and every pruneEvery,
// until ctx ends.
func prune(ctx context.Context, st *store.Store, r store.Retention, log *slog.Logger) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		if n, err := st.Prune(r); err != nil {
			log.Error("pruning activation records failed; retrying at the next round", "error", err)
		} else if n > 0 {
			log.Debug("pruned activation records", "records", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// startRecoverer runs the durable-task recoverer against this server's API
// until the returned stop is called.
func startRecoverer(ctx context.Context, cfg Config, url string, log *slog.Logger) (stop func(), err error) {
	tasks, err := durable.Open(cfg.TasksRedis)
	if err != nil {
		return nil, fmt.Errorf("standalone: the task store: %w", err)
	}
	rec, err := recoverer.New(recoverer.Config{Store: tasks, APIHost: url, AuthFor: recovererAuth(cfg.Keys), Lease: cfg.TasksLease,
		Logger: log.With("component", "task-recoverer")})
	if err != nil {
		tasks.Close()
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rec.Run(rctx)
	}()
	log.Info("recovering durable tasks", "store", cfg.TasksRedis)
	return func() { cancel(); <-done; tasks.Close() }, nil
}

// recovererAuth gives the built-in recoverer the key of each namespace:
// an intent is re-invoked as the namespace that started it, which is the
// only one its action's own API key (and OpenWhisk's rules) allow.
func recovererAuth(keys map[string]string) func(namespace string) (string, error) {
	if len(keys) == 0 {
		keys = map[string]string{api.GuestUUID: api.GuestKey}
	}
	byNamespace := make(map[string]string, len(keys))
	for uuid, key := range keys {
		byNamespace[api.NamespaceOf(uuid)] = uuid + ":" + key
	}
	known := slices.Sorted(maps.Keys(byNamespace))
	return func(namespace string) (string, error) {
		if auth, ok := byNamespace[namespace]; ok {
			return auth, nil
		}
		return "", fmt.Errorf("the standalone has no key of namespace %q (it has those of %v): run epilogue tasks recover --auth with that namespace's key, or start the standalone with that key (epilogue standalone --auth UUID:KEY); then epilogue tasks retry the dead letter", namespace, known)
	}
}
