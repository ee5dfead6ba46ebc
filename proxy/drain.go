package proxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrDrainCut means the drain after a termination signal ended, by its
// bound or by a second signal, with work still pending: that work was
// recorded failed and is lost with the process.
var ErrDrainCut = errors.New("proxy: the drain was cut with work pending")

// drainMargin is how long past the latest deadline plus the cancel grace
// the default drain bound waits: by then the registry has expired every
// activation itself, and the margin lets its record say "expired" (with
// what was unfinished) rather than the drain's own "failed".
const drainMargin = time.Second

// msgDraining answers the /init and /run that arrive during a drain.
const msgDraining = "the runtime is shutting down (it got a termination signal): it takes no new /init or /run while the work of earlier activations finishes; send this activation to another container"

// drain runs between the termination signal and the HTTP server's
// shutdown. Kubernetes deletes an idle action pod with SIGTERM to PID 1 —
// this proxy — and a SIGKILL after the pod's grace period: without a drain
// the work still pending would be cut with nothing recorded. So the proxy
// refuses new activations (/init and /run answer 503, which sends the
// invoker elsewhere), keeps /epilogue/status and /epilogue/await
// answering, and waits until nothing is pending. The wait is bounded by
// cfg.DrainTimeout, or by default by the latest pending deadline plus the
// cancel grace (an activation at its deadline is cancelled and recorded
// expired, as always); abort (a second signal) ends it at once. What the
// bound cuts is recorded failed, logged by activation id, and reported as
// ErrDrainCut.
//
// Serve calls it twice: once while the HTTP server still answers, and
// again after the server has shut down, for an activation whose /run was
// already past the door when the drain began.
func (s *Server) drain(abort <-chan struct{}) error {
	if s.draining.CompareAndSwap(false, true) {
		s.drainStart = time.Now()
	}
	start := s.drainStart
	ids, latest := s.reg.Live()
	bound := s.drainBound(start, latest)
	if len(ids) == 0 {
		return nil
	}
	fmt.Fprintf(s.cfg.Stderr, "epilogue-proxy: draining: %d activation(s) pending (%s); no new /init or /run; bound %s (a second signal ends it)\n",
		len(ids), strings.Join(ids, ", "), bound.Sub(start).Round(time.Millisecond))
	ctx, cancel := context.WithDeadline(context.Background(), bound)
	defer cancel()
	go func() {
		select {
		case <-abort:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := s.reg.AwaitQuiescent(ctx); err == nil {
		fmt.Fprintf(s.cfg.Stderr, "epilogue-proxy: drained after %s: every activation's work is done\n", time.Since(start).Round(time.Millisecond))
		return nil
	}
	why := "its bound"
	select {
	case <-abort:
		why = "a second signal"
	default:
	}
	cut, _ := s.reg.Live()
	if len(cut) == 0 {
		return nil
	}
	reason := fmt.Sprintf("the runtime was stopped: its drain was ended by %s with this work pending", why)
	s.reg.FailAll(reason)
	fmt.Fprintf(s.cfg.Stderr, "epilogue-proxy: drain ended by %s after %s; cut and recorded failed: %s\n",
		why, time.Since(start).Round(time.Millisecond), strings.Join(cut, ", "))
	return fmt.Errorf("%w: %s", ErrDrainCut, strings.Join(cut, ", "))
}

// drainBound is when a drain that starts at start gives up, latest being
// the latest deadline of the activations it waits for.
func (s *Server) drainBound(start, latest time.Time) time.Time {
	if s.cfg.DrainTimeout > 0 {
		return start.Add(s.cfg.DrainTimeout)
	}
	if latest.Before(start) {
		latest = start
	}
	return latest.Add(s.reg.CancelGrace() + drainMargin)
}
