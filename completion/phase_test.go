package completion

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

var allPhases = []Phase{PhaseRunning, PhaseResponded, PhaseDone, PhaseExpired, PhaseFailed}

func TestPhaseMoves(t *testing.T) {
	legal := map[[2]Phase]bool{
		{PhaseRunning, PhaseResponded}: true, {PhaseRunning, PhaseDone}: true, {PhaseRunning, PhaseFailed}: true,
		{PhaseResponded, PhaseDone}: true, {PhaseResponded, PhaseExpired}: true, {PhaseResponded, PhaseFailed}: true,
	}
	for _, from := range allPhases {
		for _, to := range allPhases {
			want := legal[[2]Phase{from, to}]
			assert.Equalf(t, want, from.CanMove(to), "%s → %s", from, to)
			if want {
				assert.Equal(t, to, from.Move(to))
			} else {
				assert.Panicsf(t, func() { from.Move(to) }, "%s → %s must panic", from, to)
			}
		}
		if from.Terminal() {
			for _, to := range allPhases {
				assert.Falsef(t, from.CanMove(to), "%s is terminal, yet may move to %s", from, to)
			}
		}
	}
}

func TestPhaseTerminal(t *testing.T) {
	for p, want := range map[Phase]bool{
		PhaseRunning: false, PhaseResponded: false, PhaseDone: true, PhaseExpired: true, PhaseFailed: true,
	} {
		assert.Equal(t, want, p.Terminal(), p)
	}
}

func TestSettle(t *testing.T) {
	lingering := Activation{ID: "a", Phase: PhaseResponded, Pending: []string{"redis SET"}, SinceResponseMs: 12}
	tests := []struct {
		name   string
		rec    Activation
		phase  Phase
		want   Activation
		reason string
	}{
		{"lost while lingering", lingering, PhaseFailed,
			Activation{ID: "a", Phase: PhaseFailed, Error: "lost"}, "lost"},
		{"cut at the bound: what was pending is unfinished", lingering, PhaseExpired,
			Activation{ID: "a", Phase: PhaseExpired, Error: "cut", Unfinished: []string{"redis SET"}}, "cut"},
		{"no word from the runtime: it had responded", Activation{}, PhaseFailed,
			Activation{Phase: PhaseFailed, Error: "gone"}, "gone"},
		{"the runtime's outcome wins", Activation{ID: "a", Phase: PhaseDone}, PhaseFailed,
			Activation{ID: "a", Phase: PhaseDone}, "ignored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.rec.Settle(tt.phase, tt.reason))
		})
	}
}
