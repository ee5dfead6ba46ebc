package invokershim

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/epilogue-dev/epilogue/invoker-shim/journal"
	"github.com/epilogue-dev/epilogue/reclaim"

	"go.opentelemetry.io/otel/trace"
)

// Bounds of the shim's own calls.
const (
	// daemonTimeout bounds a call the shim makes to the daemon itself (an
	// inspect, or a deferred operation it sends).
	daemonTimeout = 30 * time.Second
	// shutdownTimeout bounds the servers' shutdown.
	shutdownTimeout = 5 * time.Second
	// keyFile, in the journal directory, holds the key the notify tokens
	// derive from, unless Config.NotifyKeyFile names another file.
	keyFile = "notify.key"
)

// MinNotifyKey is the shortest notify key the shim accepts, in bytes: the
// tokens are HMAC-SHA256 of it.
const MinNotifyKey = 32

// Shim is the interposer. Its handler is safe for concurrent use.
type Shim struct {
	cfg     Config
	log     *slog.Logger
	tracer  trace.Tracer // nil when not tracing
	metrics *metrics
	router  *router
	docker  endpoint
	daemon  daemon // the shim's own calls: inspect, list, and the deferred operations
	tr      *http.Transport
	proxy   *httputil.ReverseProxy // the invoker's calls
	journal *journal.Journal
	key     []byte // notify tokens are HMAC(key, instance)
	// metricsAddr is where the metrics are served; set by Run before Ready.
	metricsAddr string
	// runtimeSource asks a runtime container's runtime (the package's
	// tests put a stand-in there).
	runtimeSource func(container.InspectResponse) reclaim.Source

	// ctx ends when the shim stops: it cancels every deferred operation's
	// wait (which stays open in the journal for the next start).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // deferred operations

	mu         sync.Mutex
	known      map[string]*known            // guarded by mu; by full id and by every other reference a call used
	byInstance map[string]*runtimeContainer // guarded by mu
}

// New checks cfg, opens the journal and connects to the daemon; Run serves.
func New(cfg Config) (*Shim, error) {
	cfg, _, docker, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rt, err := newRouter(cfg.Allow)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	j, err := journal.Open(cfg.JournalDir)
	if err != nil {
		return nil, err
	}
	key, err := loadKey(cfg.JournalDir, cfg.NotifyKeyFile)
	if err != nil {
		_ = j.Close()
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, docker.network, docker.address)
		},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	daemon, err := client.NewClientWithOpts(client.WithHost(docker.String()), client.WithAPIVersionNegotiation())
	if err != nil {
		_ = j.Close()
		return nil, fmt.Errorf("invokershim: a Docker client for %s: %w", docker, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Shim{
		cfg: cfg, log: cfg.Logger, router: rt, docker: docker, daemon: daemon, tr: tr,
		journal: j, key: key, runtimeSource: runtimeSource, ctx: ctx, cancel: cancel,
		known: map[string]*known{}, byInstance: map[string]*runtimeContainer{},
		metrics: newMetrics(j),
	}
	if cfg.TracerProvider != nil {
		s.tracer = cfg.TracerProvider.Tracer(tracerName)
	}
	s.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "docker"
		},
		Transport:     tr,
		FlushInterval: -1, // streams (logs, events, wait, attach) flow as they come
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client went away
			}
			s.log.Error("forward failed", "call", r.Method+" "+r.URL.Path, "error", err)
			dockerError(w, http.StatusBadGateway, fmt.Sprintf("epilogue-shim: the Docker daemon at %s did not answer: %v; is it running?", docker, err))
		},
	}
	return s, nil
}

// loadKey reads the notify key from file, or else from the journal
// directory, where it is created on first start. A key the operator wrote
// that is too short is refused rather than replaced: runtimes and other
// shims may be using it, and a Secret's file cannot be written anyway.
func loadKey(dir, file string) ([]byte, error) {
	path, given := file, file != ""
	if !given {
		path = filepath.Join(dir, keyFile)
	}
	key, err := os.ReadFile(path)
	switch {
	case err == nil && len(key) >= MinNotifyKey:
		return key, nil
	case err == nil:
		return nil, fmt.Errorf("invokershim: the notify key %s holds %d bytes; it needs at least %d: write a new one, e.g. head -c %d /dev/urandom | base64 > %s", path, len(key), MinNotifyKey, MinNotifyKey, path)
	case given || !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("invokershim: read the notify key: %w", err)
	}
	key = make([]byte, MinNotifyKey)
	_, _ = rand.Read(key)
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("invokershim: write a new notify key: %w", err)
	}
	return key, nil
}

// Run serves the Docker API (and the events endpoint) until ctx ends. It
// first reconciles the journal with the daemon.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// Run serves until ctx ends, then closes the shim.
func (s *Shim) Run(ctx context.Context) error {
	defer s.close()
	_, listen, _, _ := s.cfg.withDefaults()
	pingCtx, cancel := context.WithTimeout(ctx, daemonTimeout)
	ping, err := s.daemon.Ping(pingCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("invokershim: the Docker daemon at %s is unreachable: %w; start it, or point --docker at it", s.docker, err)
	}
	// Negotiate now, before concurrent calls: the client's lazy
	// negotiation writes its version while other calls read it (a data
	// race the race detector found between an event and a pause).
	s.daemon.NegotiateAPIVersionPing(ping)
	s.reconcile()

	var servers []*http.Server
	errc := make(chan error, len(listen)+1)
	serve := func(ln net.Listener, h http.Handler, what string) {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
		servers = append(servers, srv)
		s.log.Info("serving", "what", what, "address", ln.Addr().String())
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("invokershim: serve %s: %w", what, err)
			}
		}()
	}
	// Every listener is bound before any is served, the Docker API's
	// first: Kubernetes probes the events port, and a probe that passes
	// must mean the invoker's socket is there too.
	var apiListeners []net.Listener
	for _, e := range listen {
		ln, err := s.listen(e)
		if err != nil {
			closeAll(apiListeners)
			return err
		}
		apiListeners = append(apiListeners, ln)
	}
	// Events are served first: the create calls tell containers their address.
	if s.cfg.NotifyListen != "" {
		ln, err := net.Listen("tcp", s.cfg.NotifyListen)
		if err != nil {
			closeAll(apiListeners)
			return fmt.Errorf("invokershim: listen for events on %s: %w", s.cfg.NotifyListen, err)
		}
		if s.cfg.NotifyURL == "" {
			s.cfg.NotifyURL = "http://" + ln.Addr().String()
		}
		mux := http.NewServeMux()
		mux.HandleFunc("POST "+EventsPath, s.event)
		serve(ln, mux, "runtime events")
	}
	if s.cfg.MetricsListen != "" {
		ln, err := net.Listen("tcp", s.cfg.MetricsListen)
		if err != nil {
			closeAll(apiListeners)
			return fmt.Errorf("invokershim: listen for metrics on %s: %w; choose another --metrics-listen", s.cfg.MetricsListen, err)
		}
		s.metricsAddr = ln.Addr().String()
		serve(ln, s.metricsHandler(), "Prometheus metrics at "+MetricsPath)
	}
	for i, ln := range apiListeners {
		serve(ln, s, "Docker API on "+listen[i].String())
	}
	if s.cfg.Ready != nil {
		s.cfg.Ready()
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	s.cancel() // deferred operations stop waiting; they stay open in the journal
	sctx, scancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer scancel()
	for _, srv := range servers {
		if serr := srv.Shutdown(sctx); serr != nil {
			// Said so the operator (and the tests) can tell a stop held up
			// by a call that did not end from a prompt one.
			s.log.Warn("the shutdown bound passed with calls still open: closed them", "bound", shutdownTimeout, "error", serr)
			_ = srv.Close()
		}
	}
	return err
}

// closeAll closes listeners not yet served.
func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		_ = ln.Close()
	}
}

// MetricsAddr is where the metrics are served ("" without
// Config.MetricsListen); set once Run serves.
func (s *Shim) MetricsAddr() string { return s.metricsAddr }

// NotifyURL is where the containers push events ("" without pushes); set
// once Run serves.
func (s *Shim) NotifyURL() string { return s.cfg.NotifyURL }

// listen opens one Docker API listener.
func (s *Shim) listen(e endpoint) (net.Listener, error) {
	if e.network == "tcp" {
		ln, err := net.Listen("tcp", e.address)
		if err != nil {
			return nil, fmt.Errorf("invokershim: listen on %s: %w", e, err)
		}
		return ln, nil
	}
	// A socket left by an earlier shim is replaced; any other file is not.
	if fi, err := os.Lstat(e.address); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("invokershim: %s exists and is not a socket; remove it or choose another --listen path", e.address)
		}
		if err := os.Remove(e.address); err != nil {
			return nil, fmt.Errorf("invokershim: replace the stale socket %s: %w", e.address, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(e.address), 0o755); err != nil {
		return nil, fmt.Errorf("invokershim: %w", err)
	}
	ln, err := net.Listen("unix", e.address)
	if err != nil {
		return nil, fmt.Errorf("invokershim: listen on %s: %w", e, err)
	}
	if err := os.Chmod(e.address, s.cfg.SocketMode); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("invokershim: chmod %s: %w", e.address, err)
	}
	return ln, nil
}

// close waits for the deferred operations to notice the stop, then closes
// the journal and the clients.
func (s *Shim) close() {
	s.cancel()
	s.wg.Wait()
	_ = s.journal.Close()
	_ = s.daemon.Close()
	s.tr.CloseIdleConnections()
}

// ServeHTTP is the Docker API: allowed calls are handled or forwarded,
// others get 403.
func (s *Shim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, ref, ok := s.router.match(r)
	if !ok {
		rule := suggest(r)
		s.log.Warn("denied a call that is not allowed", "call", r.Method+" "+r.URL.Path, "allowWith", rule)
		dockerError(w, http.StatusForbidden, fmt.Sprintf(
			"epilogue-shim: %s %s is not on the allowlist (an OpenWhisk invoker does not use it); to forward it, start epilogue-shim with --allow '%s'",
			r.Method, r.URL.Path, rule))
		return
	}
	switch h.kind {
	case forwarded:
		if streaming(r) {
			// A stream (a followed log, events, a wait) may last for
			// ever: it ends when the shim stops, so that a stop (or a
			// restart) is prompt and the clients see the stream end.
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			defer context.AfterFunc(s.ctx, cancel)()
			r = r.WithContext(ctx)
			s.proxy.ServeHTTP(w, r)
			return
		}
		defer s.metrics.passedThrough(callForward, time.Now())
		s.proxy.ServeHTTP(w, r)
	case creation:
		defer s.metrics.passedThrough(callCreate, time.Now())
		s.traced(w, r, "create", s.create)
	default:
		s.traced(w, r, h.name(), func(w http.ResponseWriter, r *http.Request) { s.containerCall(w, r, h, ref) })
	}
}
