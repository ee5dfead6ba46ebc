package pool

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/standalone/containerclient"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// The pool's side of Config.KeepAlive. The policy hears every arrival and
// every done (the activation's work done, or its response when nothing
// lingers) under p.mu, in time order; it names the keep-alive of the
// container that became idle, asks for prewarms, and picks eviction
// victims. Its action names are the pool's warm-container keys.

// known is what the pool remembers of an action it ran, to prewarm a
// container of it and to tell the policy what its cold start costs.
type known struct {
	action  entity.Action          // as it runs: a prepared exec for a Go source action
	code    func() (string, error) // Request.Code: the code read from the store at /init
	subject string
	// coldStart is what the last cold start of the action cost, from its
	// arrival to its /init done: greedy-dual's cost.
	coldStart time.Duration
}

// arrivedLocked tells the policy that inv, of key, arrived, and remembers
// its action for prewarms.
func (p *Pool) arrivedLocked(key string, inv *Invocation) {
	if p.cfg.KeepAlive == nil {
		return
	}
	k := p.known[key]
	if k == nil {
		k = &known{}
		p.known[key] = k
	}
	k.action, k.code, k.subject = inv.action, inv.code, inv.subject
	p.cfg.KeepAlive.Arrival(key, time.Now())
}

// coldStartedLocked records what a cold start of key cost.
func (p *Pool) coldStartedLocked(key string, cost time.Duration) {
	if k := p.known[key]; k != nil {
		k.coldStart = cost
	}
}

// idleLocked is called when m's activations are all done, before m moves
// to ready: it tells the policy and sets m's keep-alive. It reports
// whether the policy releases m at once (a prewarm it asked for replaces
// m later).
func (p *Pool) idleLocked(m *member) (release bool) {
	if p.cfg.KeepAlive == nil {
		return false
	}
	now := time.Now()
	p.cfg.KeepAlive.Done(m.key, now)
	d := p.cfg.KeepAlive.Decide(m.key, now)
	m.keepUntil = d.KeepUntil
	if d.Prewarms() {
		key, keepUntil := m.key, d.KeepUntil
		t := &prewarmTimer{}
		t.timer = time.AfterFunc(max(time.Until(d.PrewarmAt), 0), func() { p.prewarmAction(t, key, keepUntil) })
		p.prewarmTimers[t] = struct{}{}
		return true
	}
	return !d.KeepUntil.After(now)
}

// becameIdleLocked hands m, whose activations are all done, back to the
// pool as ready, or releases it when the keep-alive policy says so.
func (p *Pool) becameIdleLocked(m *member) {
	release := p.idleLocked(m)
	p.moveLocked(m, stateReady)
	if release && m.state == stateReady { // a waiting job may have taken it
		p.releasedLocked(m, keepalive.Expired)
		p.removeLocked(m, "the keep-alive policy released it")
	}
}

// releasedLocked tells the policy that idle m goes, and why.
func (p *Pool) releasedLocked(m *member, why keepalive.Release) {
	if p.cfg.KeepAlive != nil && m.key != "" {
		p.cfg.KeepAlive.Released(m.key, time.Now(), why)
	}
}

// prewarmTimer is a prewarm the policy asked for, not yet due. The timer
// is set under p.mu after AfterFunc returns, and read only under p.mu.
type prewarmTimer struct{ timer *time.Timer }

// stopPrewarmTimersLocked stops the prewarms not yet due: Close leaves no
// timer behind (a prewarm due after it would do nothing, but the timer and
// what it holds would live until it fired, up to the policy's horizon).
func (p *Pool) stopPrewarmTimersLocked() {
	for t := range p.prewarmTimers {
		t.timer.Stop()
	}
	clear(p.prewarmTimers)
}

// pauseGraceLocked is how long ready m waits before it is paused: the
// pause grace, or less when its keep-alive ends first.
func (p *Pool) pauseGraceLocked(m *member) time.Duration {
	if p.cfg.KeepAlive == nil || m.keepUntil.IsZero() {
		return p.cfg.PauseGrace
	}
	return min(p.cfg.PauseGrace, max(time.Until(m.keepUntil), 0))
}

// idleTimeoutLocked is how long paused m lives.
func (p *Pool) idleTimeoutLocked(m *member) time.Duration {
	if p.cfg.KeepAlive == nil || m.keepUntil.IsZero() {
		return p.cfg.IdleTimeout
	}
	return max(time.Until(m.keepUntil), 0)
}

// keepAliveOverLocked reports whether m's keep-alive from the policy has
// ended.
func (p *Pool) keepAliveOverLocked(m *member) bool {
	return p.cfg.KeepAlive != nil && !m.keepUntil.IsZero() && !time.Now().Before(m.keepUntil)
}

// victimLocked picks which of idle (never empty) to evict: the policy's
// choice, or the least recently used.
func (p *Pool) victimLocked(idle []*member) int {
	if p.cfg.KeepAlive == nil {
		victim := 0
		for i, m := range idle {
			if m.lastUsed.Before(idle[victim].lastUsed) {
				victim = i
			}
		}
		return victim
	}
	candidates := make([]keepalive.Candidate, len(idle))
	for i, m := range idle {
		candidates[i] = keepalive.Candidate{Fn: m.key, MemoryMB: m.memoryMB, IdleSince: m.lastUsed}
		if k := p.known[m.key]; k != nil {
			candidates[i].ColdStart = k.coldStart
		}
	}
	return p.cfg.KeepAlive.Victim(time.Now(), candidates)
}

// prewarmAction starts a container of key ahead of the call the policy
// predicts and runs its /init, never its handler; it then waits ready
// until keepUntil. It does nothing when a container of key is idle or
// starting already, or when the memory budget has no room: a prewarm
// never evicts.
func (p *Pool) prewarmAction(t *prewarmTimer, key string, keepUntil time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.prewarmTimers, t)
	k := p.known[key]
	if p.closed || k == nil || !keepUntil.After(time.Now()) {
		return
	}
	for m := range p.members {
		if m.key == key && (m.state == stateReady || m.state == statePaused || m.state == stateStarting) {
			return
		}
	}
	a := k.action
	if p.usedMB+a.Limits.Memory > p.cfg.MemoryMB {
		p.log.Debug("no room to prewarm an action; its next call starts cold", "action", a.Path(), "memoryMB", a.Limits.Memory)
		return
	}
	m := p.newMemberLocked(a.Exec.Image, a.Limits.Memory, a.Namespace+"_"+a.Name)
	m.key, m.keepUntil = key, keepUntil
	p.stats.ActionPrewarms++
	p.goBackground(func() { p.startPrewarmedAction(m, *k) })
}

// startPrewarmedAction creates m and runs /init with k's code.
func (p *Pool) startPrewarmedAction(m *member, k known) {
	err := p.create(p.ctx, m)
	if err == nil {
		err = p.initOnly(m, k)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case m.state != stateStarting: // Close is removing it
	case err != nil:
		p.log.Error("a prewarm of an action failed; its next call starts cold", "container", m.name, "action", k.action.Path(), "error", err)
		p.removeLocked(m, "its prewarm failed")
	default:
		m.initialized = true
		p.moveLocked(m, stateReady)
	}
}

// initOnly runs /init in m with k's code, as the first activation would,
// without an activation: the __OW_ variables name the action only.
func (p *Pool) initOnly(m *member, k known) error {
	a := k.action
	code := a.Exec.Code
	if k.code != nil {
		var err error
		if code, err = k.code(); err != nil {
			return fmt.Errorf("read the action's code: %w", err)
		}
	}
	timeout := time.Duration(a.Limits.Timeout) * time.Millisecond
	ctx, cancel := context.WithTimeout(p.ctx, timeout+watchSlack)
	defer cancel()
	env := actionEnv(k.subject, a, time.Now().Add(timeout))
	r, err := m.run.Init(ctx, newInitRequest(a, code, env), timeout)
	switch {
	case err != nil:
		return err
	case !r.OK():
		return errors.New("its /init failed: " + string(initResponse(r).Result))
	}
	return nil
}

// newInitRequest is the /init of action a with its code and environment.
func newInitRequest(a entity.Action, code string, env map[string]string) containerclient.InitRequest {
	main := a.Exec.Main
	if main == "" {
		main = "main"
	}
	return containerclient.InitRequest{Name: a.Name, Main: main, Binary: a.Exec.Binary, Code: code, Env: env}
}
