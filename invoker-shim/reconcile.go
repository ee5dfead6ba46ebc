package invokershim

import (
	"errors"
	"fmt"

	"github.com/epilogue-dev/epilogue/invoker-shim/journal"
)

// reconcile settles the journal's open operations against the daemon,
// before the shim takes calls: an operation whose effect is already there
// (the container is gone, or already paused or stopped) is closed without
// being sent again; the others wait for their runtime again, as deferred
// operations, as if the shim had never stopped.
func (s *Shim) reconcile() {
	for _, e := range s.journal.Open() {
		op := operation(e.Op)
		c, info, err := s.inspect(s.ctx, e.Container) // now, not what a cache says
		call, cerr := op.Call(e.Query)
		state, reason := journal.State(""), ""
		switch {
		case errors.Is(err, errNotFound):
			state, reason = journal.Applied, "the container was gone when the shim started"
			if op == pauseOp {
				state = journal.Cancelled
			}
		case err != nil:
			s.log.Error("cannot reconcile a deferred operation now; it stays open", "journal", e.ID, "error", err)
			continue
		case c == nil:
			state, reason = journal.Failed, "the container does not run the Epilogue runtime"
		case cerr != nil:
			state, reason = journal.Failed, "the journal's entry names no Docker call: "+cerr.Error()
		case op == pauseOp && info.State != nil && info.State.Paused:
			state, reason = journal.Applied, "the container was already paused when the shim started"
		case (op == killOp || op == stopOp) && info.State != nil && !info.State.Running:
			state, reason = journal.Applied, "the container was already stopped when the shim started"
		}
		var d *deferred
		if state == "" {
			d = s.newDeferred(c, call)
			c.mu.Lock()
			slot := &c.held
			if op == pauseOp {
				slot = &c.pause
			}
			if other := *slot; other != nil {
				state, reason = journal.Cancelled, fmt.Sprintf("a duplicate of the open %s %d of the same container", other.call.Op, other.entry.ID)
			} else {
				*slot = d
			}
			c.mu.Unlock()
		}
		if state != "" {
			if _, err := s.journal.Resolve(e.ID, state, reason, nil); err != nil {
				s.log.Error("cannot journal a reconciled operation", "journal", e.ID, "error", err)
			}
			s.log.Info("reconciled a deferred operation", "journal", e.ID, "op", e.Op, "container", e.Container, "outcome", state, "reason", reason)
			continue
		}
		d.start(e, true)
		s.log.Info("resumed a deferred operation", "journal", e.ID, "op", e.Op, "container", c.name)
	}
}
