package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/proxy/activation"
)

// Snapshot returns what GET /epilogue/status serves.
func (s *Server) Snapshot() completion.Snapshot {
	state, acts := s.reg.Snapshot()
	snap := completion.Snapshot{
		State:       state,
		Semantics:   s.cfg.Semantics,
		Instance:    s.cfg.Instance,
		Activations: acts,
		StrayLines:  s.strays.Load(),
		Draining:    s.draining.Load(),
		Counters:    s.counters.snapshot(),
		Time:        time.Now(),
	}
	s.mu.Lock()
	if p := s.proc; p != nil {
		snap.Protocol = completion.ProtocolActionLoop
		if p.Extended() {
			snap.Protocol = completion.ProtocolExtension
		}
	}
	s.mu.Unlock()
	if s.notifier != nil {
		snap.NotifyFailures = s.notifier.failures.Load()
	}
	return snap
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	snap := s.Snapshot()
	if s.tracing != nil && snap.State == completion.StateIdle {
		s.tracing.flushIdle(r.Context())
	}
	writeJSON(w, http.StatusOK, snap)
}

// await serves GET /epilogue/await?activation=ID&timeout=DURATION: the done
// record once activation ID is terminal, or, without an id, the status once
// the runtime is quiescent. A timeout answers 504 with the state so far.
func (s *Server) await(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	timeout, err := parseTimeout(q.Get(completion.AwaitTimeoutParam))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Each waiter holds a connection and a goroutine for up to
	// MaxAwaitTimeout: bound them, and say what to do instead.
	if n := s.awaiters.Add(1); n > int64(s.cfg.MaxAwaiters) {
		s.awaiters.Add(-1)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("too many concurrent %s calls (%d); retry later or use %s pushes",
			completion.AwaitPath, s.cfg.MaxAwaiters, completion.EnvNotifyURL))
		return
	}
	defer s.awaiters.Add(-1)
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	id := q.Get(completion.AwaitActivationParam)
	if id == "" {
		if err := s.reg.AwaitQuiescent(ctx); err != nil {
			if r.Context().Err() == nil {
				snap := s.Snapshot()
				if snap.State == completion.StateIdle {
					// Quiescent after all: the wait picks at random between
					// quiescence and a timeout that is already over (timeout=0).
					writeJSON(w, http.StatusOK, snap)
					return
				}
				writeJSON(w, http.StatusGatewayTimeout, completion.AwaitTimeout{
					Error:    fmt.Sprintf("the runtime is not quiescent after %s", timeout),
					Snapshot: &snap,
				})
			}
			return
		}
		if s.tracing != nil {
			s.tracing.flushIdle(r.Context())
		}
		writeJSON(w, http.StatusOK, s.Snapshot())
		return
	}
	rec, err := s.reg.Await(ctx, id)
	switch {
	case errors.Is(err, activation.ErrUnknown):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		if r.Context().Err() == nil {
			writeJSON(w, http.StatusGatewayTimeout, completion.AwaitTimeout{
				Error:      fmt.Sprintf("activation %s is still %s after %s", id, rec.Phase, timeout),
				Activation: &rec,
			})
		}
	default:
		writeJSON(w, http.StatusOK, rec)
	}
}

// parseTimeout reads a Go duration ("250ms", "5s") or plain milliseconds.
// Zero asks without waiting (a caller whose own deadline has just passed
// sends it); a negative timeout is refused.
func parseTimeout(v string) (time.Duration, error) {
	if v == "" {
		return DefaultAwaitTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		ms, err2 := strconv.ParseInt(v, 10, 64)
		if err2 != nil {
			return 0, fmt.Errorf("timeout %q is not a duration: use e.g. timeout=500ms or timeout=30s (at most %s)", v, MaxAwaitTimeout)
		}
		d = time.Duration(min(max(ms, -1), int64(MaxAwaitTimeout/time.Millisecond))) * time.Millisecond
	}
	if d < 0 {
		return 0, fmt.Errorf("timeout %q must not be negative: use e.g. timeout=500ms or timeout=30s (at most %s), or timeout=0 to answer at once", v, MaxAwaitTimeout)
	}
	return min(d, MaxAwaitTimeout), nil
}
