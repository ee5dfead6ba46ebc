package reclaim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/internal/ctxtime"
)

// Policy is how reclaim decisions treat pending work.
type Policy string

const (
	// Epilogue (the default) waits for pending work, within the bounds.
	Epilogue Policy = "epilogue"
	// Vanilla ignores pending work, as stock OpenWhisk does.
	Vanilla Policy = "vanilla"
)

// WaitsForWork reports whether the policy holds an instance while its
// activations have work pending: Epilogue does, Vanilla (stock OpenWhisk)
// treats an answered activation as finished. Everything that differs
// between the two follows from it: whether a reclaim consults the runtime,
// whether a container whose activation answered with work pending may
// take the next one, and whether a record can say how that work ended.
func (p Policy) WaitsForWork() bool { return p != Vanilla }

// ParsePolicy accepts "epilogue", "vanilla" or "" (epilogue).
func ParsePolicy(s string) (Policy, error) {
	switch Policy(s) {
	case "", Epilogue:
		return Epilogue, nil
	case Vanilla:
		return Vanilla, nil
	}
	return "", fmt.Errorf("reclaim: unknown semantics %q: use %q or %q", s, Epilogue, Vanilla)
}

// Op is what the caller wants to do to the instance.
type Op string

// Operations. Kill, stop and eviction are removals.
const (
	Pause  Op = "pause"
	Remove Op = "remove"
)

// Defaults for Bounds' zero values.
const (
	// DefaultMaxLinger caps lingering after a response whatever the deadline
	// says: OpenWhisk's longest action time limit.
	DefaultMaxLinger = 5 * time.Minute
	// DefaultCancelGrace is how long past a deadline a runtime may take to
	// report the cancelled work (the proxy expires it after 500 ms).
	DefaultCancelGrace = time.Second
	// DefaultUnreachable bounds the wait on a runtime that does not answer.
	DefaultUnreachable = 10 * time.Second
)

// StatusTimeout bounds one status call, and an await beyond its own
// timeout: a frozen or hung runtime counts as one that does not answer.
const StatusTimeout = 2 * time.Second

// Bounds limit how long a reclaim may wait. The zero value means the defaults.
type Bounds struct {
	MaxLinger   time.Duration
	CancelGrace time.Duration
	// Unreachable: how long to wait for a runtime that does not answer at all.
	Unreachable time.Duration
}

// WithDefaults returns b with each zero field set to its default.
func (b Bounds) WithDefaults() Bounds {
	if b.MaxLinger <= 0 {
		b.MaxLinger = DefaultMaxLinger
	}
	if b.CancelGrace <= 0 {
		b.CancelGrace = DefaultCancelGrace
	}
	if b.Unreachable <= 0 {
		b.Unreachable = DefaultUnreachable
	}
	return b
}

// Decision is the answer to "may I reclaim now?".
type Decision struct {
	// Allow: go ahead now.
	Allow bool
	// Forced: allowed only because the bound passed; Activations are cut.
	Forced bool
	// Until is, when not allowed, the moment the bound passes; ask again by then.
	Until time.Time
	// Activations names the activations still running or lingering.
	Activations []string
	// Reason says why, for logs and records.
	Reason string
}

// Limit is the latest moment an activation's work may hold its instance:
// its deadline plus CancelGrace (the runtime cancels the work at the
// deadline and needs a moment to report it), capped MaxLinger after its
// response. An activation without a deadline is held MaxLinger after its
// response, or after its start while it has not responded (zero
// responded). It is the one place the bound is computed: Decide, the
// standalone pool and the invoker shim all use it.
func (b Bounds) Limit(start, deadline, responded time.Time) time.Time {
	b = b.WithDefaults()
	since := responded
	if since.IsZero() {
		since = start
	}
	capped := since.Add(b.MaxLinger)
	if deadline.IsZero() {
		return capped
	}
	limit := deadline.Add(b.CancelGrace)
	if !responded.IsZero() && capped.Before(limit) {
		return capped
	}
	return limit
}

// Decide answers for one snapshot of the runtime taken at snap.Time.
func Decide(p Policy, op Op, snap completion.Snapshot, now time.Time, b Bounds) Decision {
	if !p.WaitsForWork() {
		return Decision{Allow: true, Reason: "vanilla semantics: pending work is not consulted"}
	}
	var ids []string
	var bound time.Time
	for _, a := range snap.Activations {
		if a.Phase.Terminal() {
			continue
		}
		ids = append(ids, a.ID)
		var responded time.Time
		if a.Phase == completion.PhaseResponded {
			responded = snap.Time.Add(-time.Duration(a.SinceResponseMs * float64(time.Millisecond)))
		}
		if limit := b.Limit(a.Start, a.Deadline, responded); limit.After(bound) {
			bound = limit
		}
	}
	if len(ids) == 0 {
		return Decision{Allow: true, Reason: "the runtime is idle"}
	}
	if !now.Before(bound) {
		return Decision{Allow: true, Forced: true, Activations: ids,
			Reason: fmt.Sprintf("%s forced: activations %v were still pending at their bound %s", op, ids, bound.UTC().Format(time.RFC3339Nano))}
	}
	return Decision{Until: bound, Activations: ids,
		Reason: fmt.Sprintf("%s deferred: activations %v are %s", op, ids, snap.State)}
}

// Source is a live runtime's completion state.
type Source interface {
	Status(ctx context.Context) (completion.Snapshot, error)
	// AwaitQuiescent blocks until the runtime is quiescent or timeout passes.
	AwaitQuiescent(ctx context.Context, timeout time.Duration) (completion.Snapshot, error)
}

var _ Source = (*completion.Client)(nil)

// Gate waits until a reclaim is allowed.
type Gate struct {
	Policy Policy
	Bounds Bounds
	Source Source
	// Now is the clock; nil = time.Now.
	Now func() time.Time
}

// ErrNoAnswer means the runtime did not answer its status within
// StatusTimeout: it is not trusted, and the bound decides.
var ErrNoAnswer = errors.New("reclaim: the runtime did not answer")

func (g *Gate) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// Check decides once, on a fresh status of the runtime: the answer for a
// caller that must not block, such as the invoker shim answering a pause.
// A runtime that does not answer within StatusTimeout gives ErrNoAnswer
// (wrapped) and a Decision that does not allow: not trusted, not yet.
func (g *Gate) Check(ctx context.Context, op Op) (Decision, error) {
	if !g.Policy.WaitsForWork() {
		return Decide(g.Policy, op, completion.Snapshot{}, time.Time{}, g.Bounds), nil
	}
	sctx, cancel := context.WithTimeout(ctx, StatusTimeout)
	snap, err := g.Source.Status(sctx)
	cancel()
	if err != nil {
		return Decision{Reason: "the runtime did not answer: " + err.Error()}, fmt.Errorf("%w: %w", ErrNoAnswer, err)
	}
	return Decide(g.Policy, op, snap, g.now(), g.Bounds), nil
}

// Wait blocks until op is allowed on the gate's runtime and returns the
// decision that allowed it. It always returns by the bound; it returns early
// only when ctx ends (with ctx's error).
func (g *Gate) Wait(ctx context.Context, op Op) (Decision, error) {
	if !g.Policy.WaitsForWork() {
		return g.Check(ctx, op)
	}
	b := g.Bounds.WithDefaults()
	firstFailure := time.Time{}
	for {
		d, err := g.Check(ctx, op)
		if err != nil {
			if ctx.Err() != nil {
				return Decision{}, ctx.Err()
			}
			// Not trusted: wait for the bound, polling in case it comes back.
			if firstFailure.IsZero() {
				firstFailure = g.now()
			}
			if g.now().Sub(firstFailure) >= b.Unreachable {
				return Decision{Allow: true, Forced: true, Reason: fmt.Sprintf("%s forced: no answer from the runtime for %s (%v)", op, b.Unreachable, err)}, nil
			}
			if err := ctxtime.Sleep(ctx, 100*time.Millisecond); err != nil {
				return Decision{}, err
			}
			continue
		}
		firstFailure = time.Time{}
		if d.Allow {
			return d, nil
		}
		// Block in the runtime until it is quiescent or the bound passes,
		// then confirm with a fresh status: a lost answer never allows a
		// reclaim. The wait is cut into slices no longer than the
		// Unreachable bound, so that a runtime that goes silent meanwhile
		// (frozen, hung) is noticed by the next status, not at its deadline.
		wait := min(d.Until.Sub(g.now()), b.Unreachable)
		actx, cancel := context.WithTimeout(ctx, wait+StatusTimeout)
		_, err = g.Source.AwaitQuiescent(actx, wait)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return Decision{}, ctx.Err()
			}
			if !errors.Is(err, completion.ErrNotDone) {
				// The await failed outright; do not spin on it.
				if err := ctxtime.Sleep(ctx, 50*time.Millisecond); err != nil {
					return Decision{}, err
				}
			}
		}
	}
}
