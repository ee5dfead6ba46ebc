package pool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/backend"
	"github.com/epilogue-dev/epilogue/standalone/containerclient"
)

// Labels and environment the pool gives its containers.
const (
	// LabelAction names the action a container was created for ("" for a
	// stem cell), where the backend supports labels.
	LabelAction = "dev.epilogue.standalone.action"
)

// reclaimTimeout bounds one backend pause or removal after the gate allowed it.
const reclaimTimeout = 30 * time.Second

// statusClient is shared by every container's completion client: the calls
// are bounded by their contexts.
var statusClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}}

// member is one container of the pool. Its fields after created is closed
// are read-only; the rest is guarded by p.mu.
type member struct {
	p        *Pool
	name     string
	image    string
	memoryMB int

	// created is closed once create has finished, successfully or not.
	created chan struct{}
	// Set by create before created is closed; nil if it failed.
	c      backend.Container
	run    *containerclient.Client
	status *completion.Client
	logs   *collector
	// logStreams are the container's stdout and stderr followers; a removal
	// that fails for good closes them, since only a removal ends them.
	logStreams [2]io.Closer

	// guarded by p.mu:
	state       state
	stemCell    bool        // a prewarmed container not yet given an action
	key         string      // the action whose warm container this is
	lastUsed    time.Time   // when it last answered an activation
	gen         uint64      // bumped by every move; a timer acts only on its own
	timer       *time.Timer // the pause-grace or idle timer of the current state
	initialized bool        // /init succeeded
	wasPaused   bool        // taken from paused: unpause before the next /run
	// epilogue: the runtime reports completion (its /run answers carry
	// completion.HeaderPhase), so reclaiming it consults its status.
	epilogue bool
	// lingering are the activations that answered with work pending.
	lingering map[string]*Invocation
	// reclaimed is set when the pool decided to pause or remove the
	// container: a watcher that loses it then knows it was not a fault.
	reclaimed bool
	// doneAt is when its last lingering activation was done; the next
	// pause measures its lag from there (Snapshot.PauseLagsMs).
	doneAt time.Time
	// keepUntil is when the keep-alive policy releases it while idle
	// (Config.KeepAlive); zero without a policy or while busy.
	keepUntil time.Time
	// last is the activation it ran last: its end started the pause
	// grace, so the pause's span joins that activation's trace.
	last *Invocation
}

// create starts the member's container and its log collection; ctx
// carries the span of the invocation it is created for, if any (its life
// is p.ctx's).
func (p *Pool) create(ctx context.Context, m *member) (err error) {
	defer close(m.created)
	semantics := p.cfg.RuntimeSemantics
	p.mu.Lock()
	action := m.key
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, createTimeout)
	defer cancel()
	span := p.startOp(ctx, "create", m)
	defer func() { endOp(span, err) }()
	env := maps.Clone(p.cfg.RuntimeEnv)
	if env == nil {
		env = map[string]string{}
	}
	env[completion.EnvSemantics] = string(semantics)
	c, err := p.cfg.Backend.Create(ctx, backend.Spec{
		Name: m.name, Image: m.image, MemoryMB: m.memoryMB,
		Env:    env,
		Labels: map[string]string{LabelAction: action},
	})
	if err != nil {
		return err
	}
	stdout, stderr, err := c.Logs()
	if err != nil {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), reclaimTimeout)
		defer rcancel()
		_ = c.Remove(rctx)
		return fmt.Errorf("pool: follow the logs of %s: %w", m.name, err)
	}
	m.c = c
	m.run = containerclient.New(c.Addr(), containerclient.Config{})
	m.status = &completion.Client{BaseURL: "http://" + c.Addr(), HTTP: statusClient}
	m.logs = newCollector(stdout, stderr)
	m.logStreams = [2]io.Closer{stdout, stderr}
	p.goBackground(func() {
		m.logs.wait()
		_ = stdout.Close()
		_ = stderr.Close()
	})
	return nil
}

// Removal retries: a daemon that timed out or refused once usually
// succeeds a moment later; past the last attempt the pool gives up on the
// container (the backend's Close, or the next start's leftover sweep,
// removes it).
const (
	removeAttempts = 3
	removeBackoff  = time.Second
)

// remove removes m's container, retrying a failed removal, and ends its log
// following either way: a container the pool gave up on must not hold the
// pool's Close (which waits for its log readers) forever.
func (p *Pool) remove(m *member) error {
	var err error
	for attempt := 1; attempt <= removeAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-p.opsCtx.Done():
			case <-time.After(removeBackoff * time.Duration(attempt-1)):
			}
		}
		if p.opsCtx.Err() != nil {
			break // Close's bound passed
		}
		ctx, cancel := context.WithTimeout(p.opsCtx, reclaimTimeout)
		err = m.c.Remove(ctx)
		cancel()
		if err == nil || errors.Is(err, backend.ErrRemoved) {
			return nil
		}
		p.log.Warn("remove failed", "container", m.name, "attempt", attempt, "of", removeAttempts, "error", err)
	}
	if err == nil {
		err = fmt.Errorf("pool: the shutdown's time bound passed before %s was removed", m.name)
	}
	p.log.Error("giving up on removing the container; the backend removes it when it closes, or the next start does",
		"container", m.name, "error", err)
	p.mu.Lock()
	p.abandoned = append(p.abandoned, fmt.Errorf("pool: container %s was not removed after %d attempts: %w", m.name, removeAttempts, err))
	p.mu.Unlock()
	for _, s := range m.logStreams {
		if s != nil {
			_ = s.Close()
		}
	}
	return err
}

// createTimeout bounds the creation of one container.
const createTimeout = 2 * time.Minute

// moveLocked changes m's state; an illegal move is a bug in the pool.
// Entering ready or paused arms the pause-grace or idle timer; entering
// ready, prewarmed or removed lets waiting jobs try again.
func (p *Pool) moveLocked(m *member, to state) {
	if !canMove(m.state, to) {
		panic(fmt.Sprintf("pool: container %s cannot move from %s to %s", m.name, m.state, to))
	}
	m.state = to
	m.gen++
	gen := m.gen
	p.events.moved(m.name, m.actionNameLocked(), to)
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	switch to {
	case stateBusy:
		// A new activation: the next pause follows its done, not an
		// earlier one's.
		m.reclaimed, m.doneAt, m.keepUntil = false, time.Time{}, time.Time{}
	case stateReady:
		m.lastUsed = time.Now()
		m.timer = time.AfterFunc(p.pauseGraceLocked(m), func() { p.pauseTimer(m, gen) })
		p.dispatchLocked()
	case statePaused:
		m.timer = time.AfterFunc(p.idleTimeoutLocked(m), func() { p.idleTimer(m, gen) })
	case statePrewarmed:
		p.dispatchLocked()
	case stateRemoved:
		delete(p.members, m)
		p.usedMB -= m.memoryMB
		p.dispatchLocked()
		p.ensurePrewarmsLocked()
	}
}

// pauseTimer: the pause grace of a ready container has passed. Timer
// callbacks run on their own goroutines; they only act on the state they
// were armed for, and never after Close.
func (p *Pool) pauseTimer(m *member, gen uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m.gen != gen || m.state != stateReady || p.closed {
		return
	}
	if p.keepAliveOverLocked(m) { // before its pause grace passed
		p.releasedLocked(m, keepalive.Expired)
		p.removeLocked(m, "its keep-alive ended")
		return
	}
	m.reclaimed = true
	p.moveLocked(m, statePausing)
	p.goBackground(func() { p.reclaim(m, reclaim.Pause, "its pause grace passed", true) })
}

// idleTimer: a paused container has been idle for the idle timeout.
func (p *Pool) idleTimer(m *member, gen uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m.gen != gen || m.state != statePaused || p.closed {
		return
	}
	p.releasedLocked(m, keepalive.Expired)
	p.removeLocked(m, "it was idle for the idle timeout")
}

// removeLocked starts removing m, unless that is under way or done.
func (p *Pool) removeLocked(m *member, why string) {
	if m.state == stateRemoving || m.state == stateRemoved {
		return
	}
	// Only a ready container is asked: a paused one was confirmed idle
	// before it was paused and has run nothing since; a busy or lingering
	// one is removed because its activation failed, passed its bound or the
	// pool is closing.
	consult := m.state == stateReady
	m.reclaimed = true
	p.moveLocked(m, stateRemoving)
	p.goBackground(func() { p.reclaim(m, reclaim.Remove, why, consult) })
}

// reclaim pauses or removes m once the reclaim gate allows it; with
// consult false the gate does not ask the runtime.
func (p *Pool) reclaim(m *member, op reclaim.Op, why string, consult bool) {
	<-m.created
	if m.c == nil { // never created
		p.mu.Lock()
		p.moveLocked(m, stateRemoved)
		p.mu.Unlock()
		return
	}
	p.mu.Lock()
	policy := p.cfg.Policy
	if !m.epilogue || !consult {
		policy = reclaim.Vanilla // nothing to consult, or no need
	}
	lingering := slices.Collect(maps.Values(m.lingering))
	parent := p.ctx
	if op == reclaim.Pause {
		parent = p.causedBy(m.last)
	}
	p.mu.Unlock()
	span := p.startOp(parent, string(op), m, linkTo(lingering...))
	gate := reclaim.Gate{Policy: policy, Bounds: p.cfg.Bounds, Source: m.status}
	d, err := gate.Wait(p.ctx, op)
	switch {
	case err != nil:
		// Only Close cuts a gate: remove regardless.
		d = reclaim.Decision{Allow: true, Forced: true, Reason: "the pool closed while the reclaim waited: " + err.Error()}
		op = reclaim.Remove
	case d.Forced:
		p.log.Warn("forced reclaim", "container", m.name, "op", op, "activations", d.Activations, "reason", d.Reason)
	default:
		p.log.Debug("reclaim", "container", m.name, "op", op, "why", why, "decision", d.Reason)
	}
	if d.Forced {
		decide(span, reclaim.Forced, d.Reason, d.Activations...)
	} else {
		decide(span, reclaim.Done, why+"; "+d.Reason)
	}
	if d.Forced {
		p.metrics.decided(reclaim.Forced)
		p.mu.Lock()
		p.stats.ForcedReclaims++
		p.mu.Unlock()
		p.events.forcedReclaim(m.name, d.Activations)
	}
	ctx, cancel := context.WithTimeout(p.opsCtx, reclaimTimeout)
	defer cancel()
	if op == reclaim.Pause {
		err := m.c.Pause(ctx)
		endOp(span, err)
		p.mu.Lock()
		failed := err != nil && m.state == statePausing
		switch {
		case failed:
			p.log.Error("pause failed; removing the container, as OpenWhisk does", "container", m.name, "error", err)
			p.moveLocked(m, stateRemoving)
		case err == nil:
			p.stats.Pauses++
			if !m.doneAt.IsZero() {
				p.recordPauseLagLocked(time.Since(m.doneAt))
				m.doneAt = time.Time{}
			}
			if m.state == statePausing {
				p.moveLocked(m, statePaused)
			}
		}
		p.mu.Unlock()
		if !failed {
			return // paused, or someone else is removing it
		}
		span = p.startOp(p.ctx, string(reclaim.Remove), m)
	}
	err = p.remove(m)
	endOp(span, err)
	m.run.Close()
	p.mu.Lock()
	p.stats.Removals++
	if m.state == stateRemoving {
		p.moveLocked(m, stateRemoved)
	}
	p.mu.Unlock()
}
