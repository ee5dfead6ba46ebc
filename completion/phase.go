package completion

import "fmt"

// Phase is where an activation is in its life. Legal moves:
//
//	running   → responded | done | failed
//	responded → done | expired | failed
//
// A running activation is done when it answers with nothing pending, and
// failed when it cannot answer (its process died, or it answered nothing
// usable). Only work pending after the response can expire: the deadline
// that cuts a running activation fails its /run. PhaseDone, PhaseExpired
// and PhaseFailed are terminal.
type Phase string

// Phases.
const (
	// PhaseRunning: the action has the event and has not answered.
	PhaseRunning Phase = "running"
	// PhaseResponded: the answer went out; work is still pending.
	PhaseResponded Phase = "responded"
	// PhaseDone: nothing is pending any more (or nothing was).
	PhaseDone Phase = "done"
	// PhaseExpired: the deadline came while work was pending; that work was cancelled.
	PhaseExpired Phase = "expired"
	// PhaseFailed: post-response work reported errors, the action process
	// died, or the instance was lost with the work pending.
	PhaseFailed Phase = "failed"
)

// phaseMoves is the transition table; a phase absent from it is terminal.
var phaseMoves = map[Phase][]Phase{
	PhaseRunning:   {PhaseResponded, PhaseDone, PhaseFailed},
	PhaseResponded: {PhaseDone, PhaseExpired, PhaseFailed},
}

// Terminal reports whether p is final.
func (p Phase) Terminal() bool { return p == PhaseDone || p == PhaseExpired || p == PhaseFailed }

// CanMove reports whether p → to is a legal move.
func (p Phase) CanMove(to Phase) bool {
	for _, next := range phaseMoves[p] {
		if next == to {
			return true
		}
	}
	return false
}

// Move returns to if p → to is legal. An illegal move is a bug in the
// caller's state machine, never a matter of input: callers check input
// with CanMove first. So Move panics, loudly, rather than let a record
// say something that did not happen.
func (p Phase) Move(to Phase) Phase {
	if !p.CanMove(to) {
		panic(fmt.Sprintf("completion: illegal phase move %s → %s", p, to))
	}
	return to
}

// State is the whole instance's state, derived from its activations.
type State string

// States.
const (
	// StateIdle: no activation is running or lingering; the instance may be reclaimed.
	StateIdle State = "idle"
	// StateRunning: an activation has not answered yet.
	StateRunning State = "running"
	// StateLingering: every activation has answered, but work is pending.
	StateLingering State = "lingering"
)

// Settle ends an activation's life from outside its runtime, when the
// runtime can no longer say how its work ended: the instance was lost or
// shut down with the work pending (PhaseFailed), or a forced reclaim cut
// the work at its bound (PhaseExpired). rec is the runtime's last word on
// the activation ("" phase: none came, and it had responded). A record
// the runtime already ended is returned unchanged: the runtime's outcome
// wins over the platform's guess.
func (rec Activation) Settle(phase Phase, reason string) Activation {
	if rec.Phase.Terminal() {
		return rec
	}
	if rec.Phase == "" {
		rec.Phase = PhaseResponded
	}
	rec.Phase = rec.Phase.Move(phase)
	rec.Error = reason
	if phase == PhaseExpired {
		rec.Unfinished = rec.Pending
	}
	rec.Pending, rec.SinceResponseMs = nil, 0
	return rec
}
