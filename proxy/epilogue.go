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

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Snapshot())
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
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	id := q.Get(completion.AwaitActivationParam)
	if id == "" {
		if err := s.reg.AwaitQuiescent(ctx); err != nil {
			if r.Context().Err() == nil {
				snap := s.Snapshot()
				writeJSON(w, http.StatusGatewayTimeout, completion.AwaitTimeout{
					Error:    fmt.Sprintf("the runtime is not quiescent after %s", timeout),
					Snapshot: &snap,
				})
			}
			return
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
func parseTimeout(v string) (time.Duration, error) {
	if v == "" {
		return DefaultAwaitTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		ms, err2 := strconv.ParseUint(v, 10, 63)
		if err2 != nil {
			return 0, fmt.Errorf("timeout %q is not a duration: use e.g. timeout=500ms or timeout=30s (at most %s)", v, MaxAwaitTimeout)
		}
		d = time.Duration(ms) * time.Millisecond
	}
	if d < 0 {
		return 0, fmt.Errorf("timeout %q is negative", v)
	}
	return min(d, MaxAwaitTimeout), nil
}
