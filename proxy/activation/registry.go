package activation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
)

// ErrUnknown means no live or remembered activation has the requested id.
var ErrUnknown = errors.New("activation: unknown activation")

// DefaultHistory is how many finished activations a Registry remembers.
const DefaultHistory = 256

// DefaultCancelGrace is how long an activation whose deadline has come may
// take to report its cancelled work before it is expired anyway.
const DefaultCancelGrace = 500 * time.Millisecond

// Config configures a Registry. The zero value works.
type Config struct {
	// History is how many finished activations stay visible; 0 = DefaultHistory.
	History int
	// CancelGrace: see DefaultCancelGrace; 0 = the default.
	CancelGrace time.Duration
	// OnCancel is called (in its own goroutine) when an activation reaches its
	// deadline with work pending, so the action can be told to stop it. Nil =
	// expire without telling anyone.
	OnCancel func(seq uint64)
	// OnEvent receives every phase change and every return to quiescence, in
	// order, while the registry's lock is held: it must not block or call back.
	OnEvent func(completion.Event)
	// Now is the clock; nil = time.Now.
	Now func() time.Time
}

// Registry tracks the activations of one runtime. It is safe for concurrent use.
type Registry struct {
	cfg Config

	mu       sync.Mutex
	live     []*entry          // guarded by mu; in start order
	bySeq    map[uint64]*entry // guarded by mu; live and remembered
	byID     map[string]*entry // guarded by mu; the latest entry per id
	history  []*entry          // guarded by mu; finished, oldest first
	quiet    chan struct{}     // guarded by mu; closed while quiescent
	instance string
}

type entry struct {
	rec       completion.Activation
	responded time.Time
	finished  chan struct{} // closed once the phase is terminal
	timers    []*time.Timer
}

// New returns an empty, quiescent Registry.
func New(cfg Config) *Registry {
	if cfg.History <= 0 {
		cfg.History = DefaultHistory
	}
	if cfg.CancelGrace <= 0 {
		cfg.CancelGrace = DefaultCancelGrace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	quiet := make(chan struct{})
	close(quiet)
	return &Registry{cfg: cfg, bySeq: map[uint64]*entry{}, byID: map[string]*entry{}, quiet: quiet}
}

// Begin records that activation seq (platform id, deadline) has started.
func (r *Registry) Begin(seq uint64, id string, deadline time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := &entry{
		rec:      completion.Activation{ID: id, Seq: seq, Phase: completion.PhaseRunning, Start: r.cfg.Now(), Deadline: deadline},
		finished: make(chan struct{}),
	}
	if len(r.live) == 0 {
		r.quiet = make(chan struct{})
	}
	r.live = append(r.live, e)
	r.bySeq[seq] = e
	r.byID[id] = e
	r.emitLocked(e)
}

// Respond records the action's answer. done means nothing is pending; pending
// and untracked describe what is. It reports false, and changes nothing,
// when the move is not legal for the activation (an unknown seq, or one
// that already answered or ended): what an executable says out of order
// cannot rewrite a record.
func (r *Registry) Respond(seq uint64, done bool, pending, untracked []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	to := completion.PhaseResponded
	if done {
		to = completion.PhaseDone
	}
	e := r.bySeq[seq]
	if e == nil || !e.rec.Phase.CanMove(to) {
		return false
	}
	now := r.cfg.Now()
	e.responded = now
	e.rec.ResponseMs = ms(now.Sub(e.rec.Start))
	e.rec.Untracked = untracked
	if done {
		r.finishLocked(e, completion.PhaseDone)
		return true
	}
	e.rec.Pending = pending
	r.moveLocked(e, completion.PhaseResponded)
	r.armDeadlineLocked(e)
	return true
}

// Progress replaces what an activation reports as pending.
func (r *Registry) Progress(seq uint64, pending, untracked []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.bySeq[seq]; e != nil && !e.rec.Phase.Terminal() {
		e.rec.Pending = pending
		if untracked != nil {
			e.rec.Untracked = untracked
		}
	}
}

// Outcome is how the action said an activation's post-response work ended.
type Outcome struct {
	Phase      completion.Phase // PhaseDone, PhaseExpired or PhaseFailed
	Error      string
	Errors     []string
	Unfinished []string
}

// Finish records the end of an activation's work. It reports false, and
// changes nothing, when the move is not legal: an activation already
// terminal (a late report cannot rewrite history), or an "expired" for one
// that never answered (only post-response work expires).
func (r *Registry) Finish(seq uint64, o Outcome) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.bySeq[seq]
	if e == nil || !e.rec.Phase.CanMove(o.Phase) {
		return false
	}
	if e.responded.IsZero() {
		// Done before any response: the response is not coming.
		e.responded = r.cfg.Now()
	}
	e.rec.Error, e.rec.Errors, e.rec.Unfinished = o.Error, o.Errors, o.Unfinished
	r.finishLocked(e, o.Phase)
	return true
}

// FailAll marks every live activation failed, e.g. when the action process dies.
func (r *Registry) FailAll(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range slices.Clone(r.live) {
		e.rec.Error = reason
		if e.responded.IsZero() {
			e.responded = r.cfg.Now()
		}
		r.finishLocked(e, completion.PhaseFailed)
	}
}

func (r *Registry) armDeadlineLocked(e *entry) {
	if e.rec.Deadline.IsZero() {
		return
	}
	until := e.rec.Deadline.Sub(r.cfg.Now())
	seq := e.rec.Seq
	if r.cfg.OnCancel != nil {
		e.timers = append(e.timers, time.AfterFunc(until, func() { r.cfg.OnCancel(seq) }))
		until += r.cfg.CancelGrace
	}
	e.timers = append(e.timers, time.AfterFunc(until, func() { r.expire(seq) }))
}

func (r *Registry) expire(seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.bySeq[seq]
	if e == nil || !e.rec.Phase.CanMove(completion.PhaseExpired) {
		return
	}
	e.rec.Unfinished = e.rec.Pending
	e.rec.Error = fmt.Sprintf("the deadline %s passed with work pending; the action did not report it cancelled within %s",
		e.rec.Deadline.UTC().Format(time.RFC3339Nano), r.cfg.CancelGrace)
	r.finishLocked(e, completion.PhaseExpired)
}

// moveLocked is the registry's one writer of a phase: every move goes
// through completion's transition table, and a move the table forbids is a
// bug here, never input (callers check input with CanMove), so it panics.
// Every move is an event.
func (r *Registry) moveLocked(e *entry, to completion.Phase) {
	e.rec.Phase = e.rec.Phase.Move(to)
	if !to.Terminal() {
		r.emitLocked(e)
	}
}

func (r *Registry) finishLocked(e *entry, phase completion.Phase) {
	for _, t := range e.timers {
		t.Stop()
	}
	e.timers = nil
	r.moveLocked(e, phase)
	e.rec.Pending = nil
	e.rec.SinceResponseMs = 0
	e.rec.PostResponseMs = ms(r.cfg.Now().Sub(e.responded))
	close(e.finished)
	r.live = slices.DeleteFunc(r.live, func(x *entry) bool { return x == e })
	r.history = append(r.history, e)
	if len(r.history) > r.cfg.History {
		old := r.history[0]
		r.history = r.history[1:]
		delete(r.bySeq, old.rec.Seq)
		if r.byID[old.rec.ID] == old {
			delete(r.byID, old.rec.ID)
		}
	}
	r.emitLocked(e)
	if len(r.live) == 0 {
		close(r.quiet)
		if r.cfg.OnEvent != nil {
			r.cfg.OnEvent(completion.Event{Type: completion.Quiescent, Instance: r.instance, State: completion.StateIdle, Time: r.cfg.Now()})
		}
	}
}

func (r *Registry) emitLocked(e *entry) {
	if r.cfg.OnEvent == nil {
		return
	}
	rec := r.recordLocked(e)
	r.cfg.OnEvent(completion.Event{Type: completion.PhaseChanged, Instance: r.instance, State: r.stateLocked(), Activation: &rec, Time: r.cfg.Now()})
}

// SetInstance names the instance in events.
func (r *Registry) SetInstance(name string) {
	r.mu.Lock()
	r.instance = name
	r.mu.Unlock()
}

func (r *Registry) recordLocked(e *entry) completion.Activation {
	rec := e.rec
	rec.Pending = slices.Clone(rec.Pending)
	if rec.Phase == completion.PhaseResponded {
		rec.SinceResponseMs = ms(r.cfg.Now().Sub(e.responded))
	}
	return rec
}

func (r *Registry) stateLocked() completion.State {
	if len(r.live) == 0 {
		return completion.StateIdle
	}
	for _, e := range r.live {
		if e.rec.Phase == completion.PhaseRunning {
			return completion.StateRunning
		}
	}
	return completion.StateLingering
}

// State returns the instance's state.
func (r *Registry) State() completion.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stateLocked()
}

// Snapshot returns the state, the live activations and the remembered ones,
// newest last.
func (r *Registry) Snapshot() (completion.State, []completion.Activation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	acts := make([]completion.Activation, 0, len(r.history)+len(r.live))
	for _, e := range r.history {
		acts = append(acts, r.recordLocked(e))
	}
	for _, e := range r.live {
		acts = append(acts, r.recordLocked(e))
	}
	return r.stateLocked(), acts
}

// Live returns the ids of the activations still running or pending, in
// start order, and the latest of their deadlines (zero when none is live).
func (r *Registry) Live() (ids []string, latest time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.live {
		ids = append(ids, e.rec.ID)
		if e.rec.Deadline.After(latest) {
			latest = e.rec.Deadline
		}
	}
	return ids, latest
}

// CancelGrace is how long past its deadline an activation may take to
// report its cancelled work before the registry expires it.
func (r *Registry) CancelGrace() time.Duration { return r.cfg.CancelGrace }

// Lookup returns the current record of activation id.
func (r *Registry) Lookup(id string) (completion.Activation, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.byID[id]
	if e == nil {
		return completion.Activation{}, false
	}
	return r.recordLocked(e), true
}

// Await blocks until activation id is terminal and returns its record. On
// ctx's end it returns the record as it stands and ctx.Err().
func (r *Registry) Await(ctx context.Context, id string) (completion.Activation, error) {
	r.mu.Lock()
	e := r.byID[id]
	r.mu.Unlock()
	if e == nil {
		return completion.Activation{}, fmt.Errorf("%w %q: it never ran here or was forgotten (the runtime remembers the last %d)", ErrUnknown, id, r.cfg.History)
	}
	select {
	case <-e.finished:
	case <-ctx.Done():
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.recordLocked(e)
	if rec.Phase.Terminal() {
		return rec, nil
	}
	return rec, ctx.Err()
}

// AwaitQuiescent blocks until nothing is running or pending, or ctx ends.
// A registry already quiescent answers nil even to an ended ctx.
func (r *Registry) AwaitQuiescent(ctx context.Context) error {
	r.mu.Lock()
	quiet := r.quiet
	r.mu.Unlock()
	select {
	case <-quiet:
		return nil
	default:
	}
	select {
	case <-quiet:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
