package keepalive

import "time"

// DefaultIdleTimeout is OpenWhisk's whisk.container-proxy.timeouts.idle-container.
const DefaultIdleTimeout = 10 * time.Minute

// Fixed is OpenWhisk's keep-alive: every idle instance lives Timeout, none is
// prewarmed, the least recently used is evicted. Its pause grace (10 s)
// changes CPU, not memory: a paused instance holds its memory, so it does not
// enter the decision.
type Fixed struct{ Timeout time.Duration }

// NewFixed returns the fixed policy with timeout.
func NewFixed(timeout time.Duration) *Fixed { return &Fixed{Timeout: timeout} }

func (*Fixed) Name() string                             { return "fixed" }
func (*Fixed) Arrival(string, time.Time)                {}
func (*Fixed) Done(string, time.Time)                   {}
func (*Fixed) Victim(_ time.Time, idle []Candidate) int { return lru(idle) }
func (*Fixed) Released(string, time.Time, Release)      {}

func (f *Fixed) Decide(_ string, doneAt time.Time) Decision {
	return Decision{KeepUntil: doneAt.Add(f.Timeout)}
}
