package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/proxy/activation"
	"github.com/epilogue-dev/epilogue/proxy/executor"
)

// Server serves the runtime contract. Create it with New.
type Server struct {
	cfg      Config
	reg      *activation.Registry
	notifier *notifier // nil when no NotifyURL
	tracing  *tracing  // nil when not tracing
	counters counters
	busyPoll executor.BusyPollStats // the fd 3 reader's spins, over every process
	cold     atomic.Bool            // tracing: the next /run is the first since /init
	strays   atomic.Uint64
	seq      atomic.Uint64
	awaiters atomic.Int64 // GET /epilogue/await calls waiting now
	draining atomic.Bool  // a termination signal came: no new /init or /run

	drainStart time.Time // set once, by the drain's first call (Serve's goroutine)

	initMu sync.Mutex    // serialises /init
	runSem chan struct{} // one /run in the action at a time

	mu          sync.Mutex
	proc        *executor.Process // guarded by mu; nil before a successful /init
	initialized bool              // guarded by mu
	exited      bool              // guarded by mu; the action process is gone
	exitSeen    bool              // guarded by mu; a /run has reported the exit
	broken      string            // guarded by mu; why /run can no longer be trusted
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	sem, err := completion.ParseSemantics(string(cfg.Semantics))
	if err != nil {
		return nil, err
	}
	cfg.Semantics = sem
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.ActionDir == "" {
		cfg.ActionDir = DefaultActionDir
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if cfg.MaxInitBody <= 0 {
		cfg.MaxInitBody = DefaultMaxInitBody
	}
	if cfg.MaxRunBody <= 0 {
		cfg.MaxRunBody = DefaultMaxRunBody
	}
	if cfg.MaxResult <= 0 {
		cfg.MaxResult = DefaultMaxResult
	}
	if cfg.DefaultTimeout <= 0 {
		cfg.DefaultTimeout = DefaultTimeout
	}
	if cfg.Instance == "" {
		cfg.Instance, _ = os.Hostname()
	}
	cfg = cfg.withBoundDefaults()
	s := &Server{cfg: cfg, runSem: make(chan struct{}, 1)}
	if cfg.NotifyURL != "" {
		s.notifier, err = newNotifier(cfg.NotifyURL, cfg.NotifyToken, cfg.Stderr)
		if err != nil {
			return nil, err
		}
	}
	acfg := activation.Config{CancelGrace: cfg.CancelGrace, OnCancel: s.cancel}
	s.tracing = newTracing(cfg.TracerProvider, cfg.Instance)
	if cfg.MeterProvider != nil {
		if err := s.counters.register(cfg.MeterProvider, cfg.Instance); err != nil {
			return nil, err
		}
		if cfg.BusyPoll > 0 {
			if err := registerBusyPoll(cfg.MeterProvider, cfg.Instance, &s.busyPoll); err != nil {
				return nil, err
			}
		}
	}
	acfg.OnEvent = func(ev completion.Event) {
		s.counters.onEvent(ev)
		if s.tracing != nil {
			s.tracing.onEvent(ev)
		}
		if s.notifier != nil {
			s.notifier.enqueue(ev)
		}
	}
	s.reg = activation.New(acfg)
	s.reg.SetInstance(cfg.Instance)
	return s, nil
}

// ServeHTTP routes the four endpoints. Unlike upstream, anything else is a
// 404 and a wrong method a 405, both with a JSON body.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var method string
	var handle func(http.ResponseWriter, *http.Request)
	switch r.URL.Path {
	case completion.RunPath, completion.InitPath:
		if s.draining.Load() {
			writeError(w, http.StatusServiceUnavailable, msgDraining)
			return
		}
		method, handle = http.MethodPost, s.run
		if r.URL.Path == completion.InitPath {
			handle = s.init
		}
	case completion.StatusPath:
		method, handle = http.MethodGet, s.status
	case completion.AwaitPath:
		method, handle = http.MethodGet, s.await
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s: this runtime serves POST %s, POST %s, GET %s and GET %s",
			r.URL.Path, completion.InitPath, completion.RunPath, completion.StatusPath, completion.AwaitPath))
		return
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s is not allowed: use %s", r.Method, r.URL.Path, method))
		return
	}
	s.armBodyDeadline(w, r)
	handle(w, r)
}

// onFrame applies what the executable said to the activation registry. A
// frame the registry refuses (out of order, or for an activation already
// ended) answered nothing and counts as a stray line.
func (s *Server) onFrame(f actionloop.Frame) {
	applied := true
	switch f.Kind {
	case actionloop.KindResponse:
		applied = s.reg.Respond(f.Seq, f.Done, f.Pending, f.Untracked)
	case actionloop.KindPending:
		s.reg.Progress(f.Seq, f.Pending, f.Untracked)
	case actionloop.KindWork:
		if s.tracing != nil {
			s.tracing.onWork(f)
		}
	case actionloop.KindDone:
		o := activation.Outcome{Phase: completion.PhaseDone, Error: f.Error, Errors: f.Errors, Unfinished: f.Unfinished}
		switch f.Status {
		case actionloop.StatusError:
			o.Phase = completion.PhaseFailed
		case actionloop.StatusExpired:
			o.Phase = completion.PhaseExpired
		}
		applied = s.reg.Finish(f.Seq, o)
	}
	if !applied {
		s.strays.Add(1)
	}
}

func (s *Server) onStray([]byte, error) { s.strays.Add(1) }

// cancel asks the action to stop activation seq's work at its deadline.
func (s *Server) cancel(seq uint64) {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p != nil {
		_ = p.Cancel(seq)
	}
}

// watch marks the action dead when its process exits.
func (s *Server) watch(p *executor.Process) {
	<-p.Exited()
	s.mu.Lock()
	if s.proc == p {
		s.exited = true
	}
	s.mu.Unlock()
	s.reg.FailAll(fmt.Sprintf("the action process exited (%v) before its work was done", p.ExitError()))
}

// Close stops the action process and the notifier.
func (s *Server) Close() error {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p != nil {
		p.Kill()
	}
	if s.notifier != nil {
		s.notifier.close()
	}
	return nil
}

// Run serves cfg.Listen until ctx ends, then shuts down within a bound.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	ln := cfg.Listener
	if ln == nil {
		// No TCP keep-alive probes on accepted connections: the invoker
		// opens a connection per request, so the probes only cost four
		// setsockopt calls per connection; idle keep-alive connections
		// end at the server's IdleTimeout.
		lc := net.ListenConfig{KeepAlive: -1}
		ln, err = lc.Listen(context.Background(), "tcp", s.cfg.Listen)
		if err != nil {
			return fmt.Errorf("proxy: cannot listen on %s: %w (set EPILOGUE_LISTEN to another host:port)", s.cfg.Listen, err)
		}
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then drains (see drain) and shuts
// down within a bound: the requests being answered finish, idle
// connections close. It returns ErrDrainCut when the drain cut pending work.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	drainErr := s.drain(s.cfg.StopDrain)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if drainErr == nil {
		drainErr = s.drain(s.cfg.StopDrain)
	}
	if s.notifier != nil {
		// The last events (done, expired, the drain's failed) go out
		// before the process ends.
		s.notifier.close()
	}
	return drainErr
}
