package pool

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
)

// The pool keeps a short history of each container's activations, for
// the live view (standalone/liveview) and anyone else who subscribes: what
// ran where, when it answered, how long it lingered, how it ended, and
// whether its container was paused or removed after it, forced or not.
// The record has its own lock, taken under p.mu at the transition points
// and never the other way round, and it never waits for a subscriber.

// Bounds of the timeline record.
const (
	// maxTimelineActivations is how many activations a container's
	// timeline keeps, the latest.
	maxTimelineActivations = 20
	// maxRemovedTimelines is how many removed containers' timelines are
	// kept beside the live ones, the latest removed.
	maxRemovedTimelines = 16
	// SubscriptionBuffer is how many changes a subscriber may fall behind
	// before it is dropped and must resubscribe (and resync from the
	// timeline it then gets).
	SubscriptionBuffer = 256
)

// Outcomes of an activation on its timeline, in the order they can happen.
const (
	// OutcomeRunning: sent to the container, not answered yet.
	OutcomeRunning = "running"
	// OutcomeLingering: answered, its post-response work still pending.
	OutcomeLingering = "lingering"
	// OutcomeDone, OutcomeExpired, OutcomeFailed: the runtime's (or the
	// pool's) verdict on the post-response work, as the record's
	// completion annotation.
	OutcomeDone    = "done"
	OutcomeExpired = "expired"
	OutcomeFailed  = "failed"
	// OutcomeAnswered: answered by a runtime that does not report
	// completion; nothing more will be known.
	OutcomeAnswered = "answered"
	// OutcomeUnknown: the post-response work was cut by stock semantics'
	// reclaim; nothing records how it ended.
	OutcomeUnknown = "unknown"
	// OutcomeError: the activation itself failed (timeout, crash, bad
	// answer); its container is removed.
	OutcomeError = "error"
)

// ActivationTimeline is one activation's path through its container.
type ActivationTimeline struct {
	ID     string `json:"id"`
	Action string `json:"action"`
	// Outcome is one of the Outcome constants.
	Outcome   string    `json:"outcome"`
	Started   time.Time `json:"started"`
	Responded time.Time `json:"responded,omitzero"`
	// Finished is when the post-response work ended (done, expired,
	// failed), or when the answer ended the activation.
	Finished time.Time `json:"finished,omitzero"`
	// Reclaim is "paused" or "removed": what happened to the container
	// first after this activation finished (or while it lingered, under
	// stock semantics), at ReclaimedAt.
	Reclaim     string    `json:"reclaim,omitempty"`
	ReclaimedAt time.Time `json:"reclaimedAt,omitzero"`
	// Forced: the pool reclaimed the container while this activation's
	// work was pending, because its bound passed.
	Forced bool `json:"forced,omitempty"`
	// Errors are the post-response errors the runtime reported.
	Errors []string `json:"errors,omitempty"`
}

// ContainerTimeline is one container's state and its latest activations.
type ContainerTimeline struct {
	Name string `json:"name"`
	// Action is "namespace/action", "" for a stem cell.
	Action string `json:"action,omitempty"`
	// State is the pool's state of the container (starting, busy,
	// lingering, ready, paused, removed, …).
	State   string    `json:"state"`
	Since   time.Time `json:"since"`
	Created time.Time `json:"created"`
	// ForcedReclaims counts the container's reclaims that did not wait
	// for pending work, its bound having passed.
	ForcedReclaims int `json:"forcedReclaims,omitempty"`
	// Activations are the latest, oldest first.
	Activations []ActivationTimeline `json:"activations"`
}

// Timeline is every live container's timeline and the latest removed
// ones, in name order, with Seq the last change it includes.
type Timeline struct {
	Seq        uint64              `json:"seq"`
	Containers []ContainerTimeline `json:"containers"`
}

// Change is one container's whole timeline after change number Seq.
type Change struct {
	Seq       uint64            `json:"seq"`
	Container ContainerTimeline `json:"container"`
}

// Subscription receives the pool's changes in order. Its channel is
// closed by Close, or by the pool when the subscriber fell more than
// SubscriptionBuffer changes behind (Dropped then reports true): it should
// then subscribe again and start over from the new Timeline.
type Subscription struct {
	r       *recorder
	ch      chan Change
	dropped bool // guarded by r.mu
	closed  bool // guarded by r.mu
}

// Changes delivers the changes after the Timeline Subscribe returned.
func (s *Subscription) Changes() <-chan Change { return s.ch }

// Dropped reports whether the pool dropped the subscriber for falling behind.
func (s *Subscription) Dropped() bool {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	return s.dropped
}

// Close ends the subscription; it may be called more than once.
func (s *Subscription) Close() {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.unsubscribeLocked(s)
}

// Subscribe returns the timeline as it stands and a subscription to every
// change after it. The caller must Close the subscription.
func (p *Pool) Subscribe() (Timeline, *Subscription) { return p.events.subscribe() }

// recorder keeps the timelines and fans changes out to subscribers.
type recorder struct {
	mu      sync.Mutex
	seq     uint64                        // guarded by mu
	live    map[string]*ContainerTimeline // guarded by mu; by name
	removed []*ContainerTimeline          // guarded by mu; oldest removed first
	subs    map[*Subscription]struct{}    // guarded by mu
	bufSize int                           // each subscription's buffer
	now     func() time.Time              // the clock (tests set it)
}

func newRecorder(bufSize int) *recorder {
	return &recorder{live: map[string]*ContainerTimeline{}, subs: map[*Subscription]struct{}{}, bufSize: bufSize, now: time.Now}
}

func (r *recorder) subscribe() (Timeline, *Subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &Subscription{r: r, ch: make(chan Change, r.bufSize)}
	r.subs[s] = struct{}{}
	tl := Timeline{Seq: r.seq, Containers: make([]ContainerTimeline, 0, len(r.live)+len(r.removed))}
	for _, c := range r.live {
		tl.Containers = append(tl.Containers, c.clone())
	}
	for _, c := range r.removed {
		tl.Containers = append(tl.Containers, c.clone())
	}
	slices.SortFunc(tl.Containers, func(a, b ContainerTimeline) int { return strings.Compare(a.Name, b.Name) })
	return tl, s
}

func (r *recorder) unsubscribeLocked(s *Subscription) {
	if s.closed {
		return
	}
	s.closed = true
	delete(r.subs, s)
	close(s.ch)
}

// publishLocked numbers the change of c and offers it to every subscriber
// without waiting: one whose buffer is full is dropped.
func (r *recorder) publishLocked(c *ContainerTimeline) {
	r.seq++
	ch := Change{Seq: r.seq, Container: c.clone()}
	for s := range r.subs {
		select {
		case s.ch <- ch:
		default:
			s.dropped = true
			r.unsubscribeLocked(s)
		}
	}
}

func (c *ContainerTimeline) clone() ContainerTimeline {
	out := *c
	out.Activations = make([]ActivationTimeline, len(c.Activations))
	for i, a := range c.Activations {
		a.Errors = slices.Clone(a.Errors)
		out.Activations[i] = a
	}
	return out
}

// activation returns the container's entry of activation id, or nil.
func (c *ContainerTimeline) activation(id string) *ActivationTimeline {
	for i := range c.Activations {
		if c.Activations[i].ID == id {
			return &c.Activations[i]
		}
	}
	return nil
}

// update applies f to container name's timeline, if it is known, and
// publishes the change.
func (r *recorder) update(name string, f func(c *ContainerTimeline, now time.Time)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.live[name]
	if c == nil {
		// Removed already: a lingering activation's watch may learn its end
		// from the removal itself (its await fails when the container is
		// killed) and record it after the removal; it still belongs on the
		// container's timeline.
		c = r.removedLocked(name)
	}
	if c == nil {
		return
	}
	f(c, r.now())
	r.publishLocked(c)
}

// removedLocked is the kept timeline of removed container name, or nil.
func (r *recorder) removedLocked(name string) *ContainerTimeline {
	for i := len(r.removed) - 1; i >= 0; i-- {
		if r.removed[i].Name == name {
			return r.removed[i]
		}
	}
	return nil
}

// moved records container name entering state to; action is its
// "namespace/action" ("" for a stem cell).
func (r *recorder) moved(name, action string, to state) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	c := r.live[name]
	if c == nil {
		c = &ContainerTimeline{Name: name, Created: now, Activations: []ActivationTimeline{}}
		r.live[name] = c
	}
	c.Action, c.State, c.Since = action, to.String(), now
	if to == statePaused || to == stateRemoved {
		for i := range c.Activations {
			if a := &c.Activations[i]; a.Reclaim == "" && a.Outcome != OutcomeRunning {
				a.Reclaim, a.ReclaimedAt = to.String(), now
			}
		}
	}
	r.publishLocked(c)
	if to == stateRemoved {
		delete(r.live, name)
		r.removed = append(r.removed, c)
		if len(r.removed) > maxRemovedTimelines {
			r.removed = slices.Delete(r.removed, 0, len(r.removed)-maxRemovedTimelines)
		}
	}
}

// started records activation id of action running in container name.
func (r *recorder) started(name, id, action string) {
	r.update(name, func(c *ContainerTimeline, now time.Time) {
		c.Action = action // a stem cell becomes the action's here
		c.Activations = append(c.Activations, ActivationTimeline{ID: id, Action: action, Outcome: OutcomeRunning, Started: now})
		if n := len(c.Activations); n > maxTimelineActivations {
			c.Activations = slices.Delete(c.Activations, 0, n-maxTimelineActivations)
		}
	})
}

// answered records the end of activation id's /run: outcome is
// OutcomeLingering, OutcomeDone, OutcomeAnswered or OutcomeError.
func (r *recorder) answered(name, id, outcome string) {
	r.update(name, func(c *ContainerTimeline, now time.Time) {
		a := c.activation(id)
		if a == nil {
			return
		}
		a.Outcome, a.Responded = outcome, now
		if outcome != OutcomeLingering {
			a.Finished = now
		}
	})
}

// finished records how lingering activation id ended: rec is the
// runtime's verdict, nil when nothing records it (stock semantics cut
// it); forced, when its container is removed because its bound passed.
func (r *recorder) finished(name, id string, rec *completion.Activation, forced bool) {
	r.update(name, func(c *ContainerTimeline, now time.Time) {
		a := c.activation(id)
		if a == nil {
			return
		}
		a.Finished = now
		if rec == nil {
			a.Outcome = OutcomeUnknown
			return
		}
		switch rec.Phase {
		case completion.PhaseDone:
			a.Outcome = OutcomeDone
		case completion.PhaseExpired:
			a.Outcome = OutcomeExpired
		default:
			a.Outcome = OutcomeFailed
		}
		a.Errors = postResponseErrors(*rec)
		if forced {
			a.Forced = true
			c.ForcedReclaims++
		}
	})
}

// forcedReclaim records that container name is reclaimed with the work
// of activations still pending.
func (r *recorder) forcedReclaim(name string, activations []string) {
	r.update(name, func(c *ContainerTimeline, _ time.Time) {
		c.ForcedReclaims++
		for _, id := range activations {
			if a := c.activation(id); a != nil {
				a.Forced = true
			}
		}
	})
}

// actionName is the "namespace/action" of m's key, "" for a stem cell.
// p.mu must be held.
func (m *member) actionNameLocked() string {
	_, path, ok := strings.Cut(m.key, "|")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(path, "@")
	return name
}

// answerOutcome is an activation's outcome when its /run has ended:
// answered (a usable answer) with the runtime's phase, or not.
func answerOutcome(answered bool, phase completion.Phase) string {
	switch {
	case !answered:
		return OutcomeError
	case phase == completion.PhaseResponded:
		return OutcomeLingering
	case phase == completion.PhaseDone:
		return OutcomeDone
	}
	return OutcomeAnswered
}
