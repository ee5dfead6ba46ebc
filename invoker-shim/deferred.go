package invokershim

import (
	"context"
	"fmt"
	"net/http"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/epilogue-dev/epilogue/invoker-shim/journal"
	"github.com/epilogue-dev/epilogue/reclaim"
)

// deferred is one operation the shim answered (a pause) or holds (a
// removal, kill or stop) before doing it, because its runtime had work
// pending. It owns the operation's whole life, in one goroutine (run):
//
//  1. its journal entry, written (fsync'd) before the invoker is answered:
//     journaled closes then, with jerr;
//  2. the wait on reclaim.Gate until the runtime is done or the bound
//     passes;
//  3. its cancellation: an unpause cancels a deferred pause, a removal
//     supersedes it (cancel, under the container's mu); the shim's stop
//     ends the wait and leaves the entry open for the next start;
//  4. the Docker call (dockerCall, moby's typed calls), the outcome in
//     the journal and the log, and the container's state after it;
//  5. done and the result, which the held calls answer from.
//
// A deferred operation resumed after a restart (reconcile) is the same,
// with its entry already in the journal.
type deferred struct {
	s    *Shim
	c    *runtimeContainer
	call dockerCall
	// entry is the journal's: set before journaled closes.
	entry journal.Entry
	// ctx ends the wait on the gate: a cancellation, or the shim's stop.
	ctx  context.Context
	stop context.CancelFunc

	journaled chan struct{}
	jerr      error // the entry could not be journaled: nothing is deferred

	// cancelled is set once, by the call that claims the operation to
	// cancel it; guarded by c.mu.
	cancelled *cancellation

	done chan struct{} // closed once the operation ended and its outcome is journaled
	// Set before done closes:
	sent bool  // the Docker call was made; if not, it was cancelled or is left open
	err  error // the daemon's answer to it (nil: done), or why the cancellation could not be journaled
}

// cancellation says why a deferred operation was cancelled, for the
// journal and the log.
type cancellation struct {
	reason string
	msg    string
	attrs  []any
}

// newDeferred makes the deferred operation of call on c; start runs it.
func (s *Shim) newDeferred(c *runtimeContainer, call dockerCall) *deferred {
	ctx, stop := context.WithCancel(s.ctx)
	return &deferred{s: s, c: c, call: call, ctx: ctx, stop: stop, journaled: make(chan struct{}), done: make(chan struct{})}
}

// start journals the operation as entry says (path and query of the
// invoker's call) and runs it. A resumed operation's entry is already in
// the journal (resumed).
func (d *deferred) start(entry journal.Entry, resumed bool) {
	if resumed {
		d.entry = entry
	}
	d.s.wg.Add(1)
	go func() {
		defer d.s.wg.Done()
		defer d.stop()
		d.run(entry, resumed)
	}()
}

// cancel claims the operation for a cancellation. c.mu must be held, and
// the caller has taken d out of its slot. The reason is journaled, msg and
// attrs logged, by run; done closes once they are.
func (d *deferred) cancel(reason, msg string, attrs ...any) {
	d.cancelled = &cancellation{reason: reason, msg: msg, attrs: attrs}
	d.stop()
}

// wait blocks until the operation ended or ctx did.
func (d *deferred) wait(ctx context.Context) bool {
	select {
	case <-d.done:
		return true
	case <-ctx.Done():
		return false
	}
}

func (d *deferred) run(entry journal.Entry, resumed bool) {
	s, c, op := d.s, d.c, d.call.Op
	if !resumed {
		d.entry, d.jerr = s.journal.Defer(entry)
	}
	close(d.journaled)
	if d.jerr != nil {
		c.mu.Lock()
		d.leaveSlotLocked()
		c.mu.Unlock()
		close(d.done)
		return
	}

	s.metrics.decided(op, journal.Deferred)
	start := time.Now()
	span := s.deferredSpan(c, op)
	dec, werr := s.gate(c).Wait(d.ctx, op.Reclaim())

	c.mu.Lock()
	why := d.cancelled
	if why == nil && werr == nil && op == pauseOp {
		// Claimed for the daemon: from here an unpause or a removal
		// waits for the pause's answer instead of cancelling it.
		c.pause, c.sending = nil, d.done
	}
	c.mu.Unlock()
	switch {
	case why != nil:
		s.metrics.decided(op, journal.Cancelled)
		endReclaim(span, journal.Cancelled, why.reason, dec, d.entry.ID)
		d.finishCancelled(why)
		return
	case werr != nil:
		// The shim stops: the entry stays open for the next start.
		if span != nil {
			span.End()
		}
		close(d.done)
		return
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), daemonTimeout)
	err := d.call.Send(sctx, s.daemon, c.id)
	cancel()

	state, reason := outcome(op, dec, err)
	gone := cerrdefs.IsNotFound(err) || (op == removeOp && err == nil)
	// The outcome is journaled before the slot is left: a call that
	// waited for this one then finds its outcome on disk, whatever the
	// scheduler does between the two.
	s.metrics.decided(op, state)
	endReclaim(span, state, reason, dec, d.entry.ID)
	if _, jerr := s.journal.Resolve(d.entry.ID, state, reason, dec.Activations); jerr != nil {
		s.log.Error("the outcome could not be journaled; the next start reconciles it with the daemon", "container", c.name, "journal", d.entry.ID, "error", jerr)
	}
	c.mu.Lock()
	d.leaveSlotLocked()
	switch {
	case err != nil:
	case op == pauseOp:
		c.frozen = true
	default: // killed, stopped or removed: not paused any more
		c.frozen = false
	}
	c.mu.Unlock()
	if gone {
		s.forget(c.id)
	}
	attrs := []any{"container", c.name, "op", op, "journal", d.entry.ID, "waited", time.Since(start).Round(time.Millisecond), "outcome", state}
	switch state {
	case journal.Forced:
		s.log.Warn("forced reclaim: work still pending at its bound", append(attrs, "activations", dec.Activations, "reason", dec.Reason)...)
	case journal.Failed:
		if dec.Forced {
			s.log.Warn("forced reclaim: work still pending at its bound", append(attrs, "activations", dec.Activations, "reason", dec.Reason)...)
		}
		s.log.Error("a deferred call failed", append(attrs, "reason", reason)...)
	default:
		s.log.Info("deferred call sent: the runtime is done", attrs...)
	}
	d.sent, d.err = true, err
	close(d.done)
}

// outcome is how a sent operation ends in the journal: applied, forced
// (the bound passed with work pending), or failed. A removal, kill or stop
// of a container that is already gone is done; a forced reclaim the daemon
// refused is failed, with the forced reason first.
func outcome(op operation, dec reclaim.Decision, err error) (journal.State, string) {
	state, reason := journal.Applied, dec.Reason
	switch {
	case cerrdefs.IsNotFound(err) && op.Reclaim() == reclaim.Remove:
		reason = "the container was already gone"
	case err != nil:
		status, msg := daemonAnswer(err)
		state, reason = journal.Failed, fmt.Sprintf("the daemon answered %d: %s", status, msg)
	case dec.Forced:
		state = journal.Forced
	}
	if dec.Forced && state == journal.Failed {
		reason = dec.Reason + "; then " + reason // a forced reclaim the daemon refused is still one
	}
	return state, reason
}

// leaveSlotLocked takes d out of its container's slots. c.mu must be held.
func (d *deferred) leaveSlotLocked() {
	c := d.c
	if c.pause == d {
		c.pause = nil
	}
	if c.held == d {
		c.held = nil
	}
	if c.sending == (<-chan struct{})(d.done) {
		c.sending = nil
	}
}

// finishCancelled journals and logs a cancellation.
func (d *deferred) finishCancelled(why *cancellation) {
	if _, err := d.s.journal.Resolve(d.entry.ID, journal.Cancelled, why.reason, nil); err != nil {
		d.err = fmt.Errorf("the cancelled %s could not be journaled: %w", d.call.Op, err)
		d.s.log.Error("a cancelled operation could not be journaled", "container", d.c.name, "journal", d.entry.ID, "error", err)
	} else {
		d.s.log.Info(why.msg, append([]any{"container", d.c.name, "journal", d.entry.ID}, why.attrs...)...)
	}
	close(d.done)
}

// answer answers a held call from the operation's result: 204 once done
// (or left to the next start), else the daemon's error as the daemon
// would have answered it.
func (d *deferred) answer(w http.ResponseWriter) {
	if !d.sent || d.err == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	status, msg := daemonAnswer(d.err)
	dockerError(w, status, msg)
}

// await answers a held call: from the operation's result once it is done,
// or 204 at HoldTimeout (the operation then completes in the background)
// or when the shim stops (the journal keeps it).
func (d *deferred) await(w http.ResponseWriter, r *http.Request) {
	t := time.NewTimer(d.s.cfg.HoldTimeout)
	defer t.Stop()
	select {
	case <-d.done:
		d.answer(w)
	case <-t.C:
		d.s.log.Warn("held past the hold timeout: answered; the call is sent when the work is done or its bound passes",
			"container", d.c.name, "op", d.call.Op, "holdTimeout", d.s.cfg.HoldTimeout)
		w.WriteHeader(http.StatusNoContent)
	case <-d.s.ctx.Done():
		w.WriteHeader(http.StatusNoContent) // the journal keeps it for the next start
	case <-r.Context().Done():
	}
}
