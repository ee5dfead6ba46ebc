package keepalive

import "time"

// DefaultGreedyDualHold bounds how long greedy-dual keeps an idle instance
// that memory pressure never evicts: FaasCache keeps it indefinitely; a day
// keeps an action that is never called again from holding memory forever.
const DefaultGreedyDualHold = 24 * time.Hour

// GreedyDual is FaasCache's keep-alive as caching: idle instances stay
// until memory is needed, and the victim is the one of lowest priority
// clock + frequency × cost / size, where clock is the priority of the last
// victim at the instance's last use (ageing without timestamps), frequency
// the action's calls, cost its cold-start time (s) and size its memory (MB).
type GreedyDual struct {
	Hold  time.Duration
	clock float64
	freq  map[string]int
	used  map[string]float64 // the clock at fn's last done
	// chosen is the priority of each action whose instance Victim chose
	// last: the clock once the caller reports the eviction (Released).
	chosen map[string]float64
}

// NewGreedyDual returns the greedy-dual policy.
func NewGreedyDual(hold time.Duration) *GreedyDual {
	return &GreedyDual{Hold: hold, freq: map[string]int{}, used: map[string]float64{}, chosen: map[string]float64{}}
}

func (*GreedyDual) Name() string                     { return "greedydual" }
func (g *GreedyDual) Arrival(fn string, _ time.Time) { g.freq[fn]++ }
func (g *GreedyDual) Done(fn string, _ time.Time)    { g.used[fn] = g.clock }

func (g *GreedyDual) Decide(_ string, doneAt time.Time) Decision {
	return Decision{KeepUntil: doneAt.Add(g.Hold)}
}

// Priority is c's priority now: the lowest is evicted first.
func (g *GreedyDual) Priority(c Candidate) float64 {
	size := float64(max(c.MemoryMB, 1))
	return g.used[c.Fn] + float64(g.freq[c.Fn])*c.ColdStart.Seconds()/size
}

func (g *GreedyDual) Victim(_ time.Time, idle []Candidate) int {
	victim := 0
	for i, c := range idle[1:] {
		p, q := g.Priority(c), g.Priority(idle[victim])
		// Ties go to the longest idle: LRU among equals.
		if p < q || (p == q && c.IdleSince.Before(idle[victim].IdleSince)) {
			victim = i + 1
		}
	}
	g.chosen[idle[victim].Fn] = g.Priority(idle[victim])
	return victim
}

// Released advances the clock to the priority of the evicted instance, as
// FaasCache does on an eviction: instances used after it rank above those
// idle since before it. An expiry (the Hold) leaves the clock alone.
func (g *GreedyDual) Released(fn string, _ time.Time, why Release) {
	p, ok := g.chosen[fn]
	if why != Evicted || !ok {
		return
	}
	delete(g.chosen, fn)
	g.clock = p
}
