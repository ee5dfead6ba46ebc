package keepalive

import "time"

// Scaled runs a policy on a clock K times faster than the caller's: the
// caller's time w is the policy's time at + (w - from) × K, and the
// policy's answers are mapped back. A live replay (replay/live) runs a
// trace K times faster against the real pool with it, so that the
// unmodified policy decides in the trace's time: its 10 minutes, its
// 1-minute bins and its time of day are the trace's.
type Scaled struct {
	Policy Policy
	// From is the caller's time that is At in the policy's time.
	From, At time.Time
	// K is the speed-up, at least 1.
	K float64
}

// Virtual is the policy's time at the caller's w.
func (s *Scaled) Virtual(w time.Time) time.Time {
	return s.At.Add(time.Duration(float64(w.Sub(s.From)) * s.K))
}

// Wall is the caller's time at the policy's v.
func (s *Scaled) Wall(v time.Time) time.Time {
	if v.IsZero() {
		return v
	}
	return s.From.Add(time.Duration(float64(v.Sub(s.At)) / s.K))
}

func (s *Scaled) Name() string                   { return s.Policy.Name() }
func (s *Scaled) Arrival(fn string, t time.Time) { s.Policy.Arrival(fn, s.Virtual(t)) }
func (s *Scaled) Done(fn string, t time.Time)    { s.Policy.Done(fn, s.Virtual(t)) }
func (s *Scaled) Released(fn string, t time.Time, why Release) {
	s.Policy.Released(fn, s.Virtual(t), why)
}

func (s *Scaled) Decide(fn string, doneAt time.Time) Decision {
	d := s.Policy.Decide(fn, s.Virtual(doneAt))
	return Decision{KeepUntil: s.Wall(d.KeepUntil), PrewarmAt: s.Wall(d.PrewarmAt)}
}

// Victim maps the candidates' idle times and cold-start costs (a cold
// start of the caller's d is the policy's d × K).
func (s *Scaled) Victim(now time.Time, idle []Candidate) int {
	virtual := make([]Candidate, len(idle))
	for i, c := range idle {
		c.IdleSince = s.Virtual(c.IdleSince)
		c.ColdStart = time.Duration(float64(c.ColdStart) * s.K)
		virtual[i] = c
	}
	return s.Policy.Victim(s.Virtual(now), virtual)
}
