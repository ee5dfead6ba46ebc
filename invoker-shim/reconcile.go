package invokershim

import (
	"errors"

	"github.com/epilogue-dev/epilogue/invoker-shim/journal"
	"github.com/epilogue-dev/epilogue/reclaim"
)

// reconcile settles the journal's open operations against the daemon,
// before the shim takes calls: an operation whose effect is already there
// (the container is gone, or already paused or stopped) is closed without
// being sent again; the others wait for their runtime again, as if the
// shim had never stopped.
func (s *Shim) reconcile() {
	for _, e := range s.journal.Open() {
		c, info, err := s.lookup(s.ctx, e.Container)
		state, reason := journal.State(""), ""
		switch {
		case errors.Is(err, errNotFound):
			state, reason = journal.Applied, "the container was gone when the shim started"
			if e.Op == journal.Pause {
				state = journal.Cancelled
			}
		case err != nil:
			s.log.Error("cannot reconcile a deferred operation now; it stays open", "journal", e.ID, "error", err)
			continue
		case c == nil:
			state, reason = journal.Failed, "the container does not run the Epilogue runtime"
		case e.Op == journal.Pause && info.State != nil && info.State.Paused:
			state, reason = journal.Applied, "the container was already paused when the shim started"
		case (e.Op == journal.Kill || e.Op == journal.Stop) && info.State != nil && !info.State.Running:
			state, reason = journal.Applied, "the container was already stopped when the shim started"
		}
		if state != "" {
			if _, err := s.journal.Resolve(e.ID, state, reason, nil); err != nil {
				s.log.Error("cannot journal a reconciled operation", "journal", e.ID, "error", err)
			}
			s.log.Info("reconciled a deferred operation", "journal", e.ID, "op", e.Op, "container", e.Container, "outcome", state, "reason", reason)
			continue
		}
		rop := reclaim.Remove
		if e.Op == journal.Pause {
			rop = reclaim.Pause
		}
		c.mu.Lock()
		op := s.resume(c, e, rop)
		if e.Op == journal.Pause {
			c.pause = op
		} else {
			c.held = op
		}
		c.mu.Unlock()
		s.log.Info("resumed a deferred operation", "journal", e.ID, "op", e.Op, "container", c.name)
	}
}
