package keepalive

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy decides an action's keep-alive and prewarming. The caller reports
// every arrival and every done in time order; a Policy is not safe for
// concurrent use (the pool serialises its calls, as the simulator does).
type Policy interface {
	// Name is the policy's name, as New takes it.
	Name() string
	// Arrival reports a call of action fn at t.
	Arrival(fn string, t time.Time)
	// Done reports that an activation of fn finished at t, its
	// post-response work included: its instance is idle from t.
	Done(fn string, t time.Time)
	// Decide is what to do with fn's instance that became idle at doneAt.
	Decide(fn string, doneAt time.Time) Decision
	// Victim picks which of idle (never empty) to evict at now, when memory
	// is needed; it returns an index into idle.
	Victim(now time.Time, idle []Candidate) int
	// Released reports that an idle instance of fn went away at t, and
	// why: a policy that prices its instances (greedydual's clock) learns
	// of the eviction it chose only here, once the caller has made it.
	Released(fn string, t time.Time, why Release)
}

// Release is why an idle instance went away.
type Release int

const (
	// Expired: its keep-alive ended (or the decision released it at done).
	Expired Release = iota
	// Evicted: memory was needed (the policy's Victim).
	Evicted
)

func (r Release) String() string {
	if r == Evicted {
		return "evicted"
	}
	return "expired"
}

// Decision is a policy's answer for one idle instance.
type Decision struct {
	// KeepUntil is when the instance (or the prewarmed one) is released,
	// unless a call uses it first. KeepUntil at or before the done time
	// releases it at once.
	KeepUntil time.Time
	// PrewarmAt, when not zero, releases the instance at once and starts a
	// specialised one at PrewarmAt, kept until KeepUntil: memory is not
	// held through an idle time the policy expects to be long.
	PrewarmAt time.Time
}

// Prewarms says whether d asks for a prewarmed instance.
func (d Decision) Prewarms() bool { return !d.PrewarmAt.IsZero() }

// Candidate is an idle instance that could be evicted.
type Candidate struct {
	Fn        string
	MemoryMB  int
	ColdStart time.Duration // what a cold start of Fn costs: greedy-dual's cost
	IdleSince time.Time
}

// Names lists the policies New knows, the default first.
var Names = []string{"fixed", "histogram", "seasonal", "greedydual"}

// Options are what a caller sets for every policy New makes.
type Options struct {
	// Standard is fixed's keep-alive and histogram's while its histogram
	// is not representative: the platform's idle timeout (epilogue
	// standalone --idle-timeout); 0 = DefaultIdleTimeout.
	Standard time.Duration
}

// New returns a fresh policy by name, with the default options.
func New(name string) (Policy, error) { return NewWith(name, Options{}) }

// NewWith returns a fresh policy by name with o.
func NewWith(name string, o Options) (Policy, error) {
	if o.Standard <= 0 {
		o.Standard = DefaultIdleTimeout
	}
	switch name {
	case "fixed":
		return NewFixed(o.Standard), nil
	case "histogram":
		return NewHistogram(HistogramConfig{Standard: o.Standard}), nil
	case "seasonal":
		return NewSeasonal(SeasonalConfig{}), nil
	case "greedydual":
		return NewGreedyDual(DefaultGreedyDualHold), nil
	}
	return nil, fmt.Errorf("unknown keep-alive policy %q (want one of %s)", name, strings.Join(Names, ", "))
}

// ParseNames parses a comma-separated list of policy names, refusing an
// unknown or repeated one.
func ParseNames(list string) ([]string, error) {
	var names []string
	for n := range strings.SplitSeq(list, ",") {
		n = strings.TrimSpace(n)
		if _, err := New(n); err != nil {
			return nil, err
		}
		if slices.Contains(names, n) {
			return nil, fmt.Errorf("keep-alive policy %q is listed twice", n)
		}
		names = append(names, n)
	}
	return names, nil
}

// lru is the eviction of the policies that have no eviction order of their
// own: the instance idle the longest goes first, as in OpenWhisk's pool.
func lru(idle []Candidate) int {
	victim := 0
	for i, c := range idle {
		if c.IdleSince.Before(idle[victim].IdleSince) {
			victim = i
		}
	}
	return victim
}

// idleTimes tracks, per action, the last done, so that an arrival's idle
// time runs from done.
type idleTimes map[string]time.Time

// since is fn's idle time at an arrival at t, and whether fn was ever done.
// An arrival while another of fn's activations is still busy has idle time
// 0: the action was not idle.
func (d idleTimes) since(fn string, t time.Time) (time.Duration, bool) {
	last, ok := d[fn]
	if !ok {
		return 0, false
	}
	return max(0, t.Sub(last)), true
}
