package pool

import (
	"go.opentelemetry.io/otel/trace"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/reclaim"
)

// Errors callers branch on.
var (
	// ErrClosed: the pool is closed; it starts no activation.
	ErrClosed = errors.New("pool: closed")
	// errNoCapacity: an activation waited MaxQueueWait for a container.
	errNoCapacity = errors.New("pool: no container became available")
)

// Pool runs activations in containers of a backend.Backend, with the
// lifecycle of OpenWhisk's ContainerPool and ContainerProxy (see doc.go).
// It is safe for concurrent use.
type Pool struct {
	cfg     Config
	log     *slog.Logger
	tracer  trace.Tracer // nil when not tracing
	metrics *metrics

	// ctx ends when Close gives up waiting: it cancels every background wait.
	ctx    context.Context
	cancel context.CancelFunc
	// opsCtx bounds the backend operations (pause, removal) that outlive
	// ctx: it ends only when Close's own bound passes, so a shutdown ends
	// within it even while the daemon hangs.
	opsCtx    context.Context
	opsCancel context.CancelFunc
	wg        sync.WaitGroup // every goroutine the pool starts

	mu      sync.Mutex
	members map[*member]struct{} // guarded by mu; every container not yet removed
	// abandoned are the removals given up on, reported by Close; guarded by mu.
	abandoned []error
	usedMB    int       // guarded by mu; memory of every member
	waiting   []*waiter // guarded by mu; FIFO, OpenWhisk's run buffer
	counter   int       // guarded by mu; container names
	closed    bool      // guarded by mu
	stats     Stats     // guarded by mu
	// pauseLags are the latest pause lags in ms, oldest first; guarded by mu.
	pauseLags []float64
	// prewarmRetry is when a failed stem cell may be tried again; guarded by mu.
	prewarmRetry time.Time
	// known are the actions the keep-alive policy may prewarm, by warm
	// key (keepalive.go); guarded by mu.
	known map[string]*known
	// prewarmTimers are the keep-alive policy's prewarms not yet due
	// (keepalive.go); Close stops them. Guarded by mu.
	prewarmTimers map[*prewarmTimer]struct{}
	// events records the containers' timelines for subscribers (events.go).
	events *recorder
}

// prewarmBackoff spaces the attempts to create a stem cell that failed.
const prewarmBackoff = 30 * time.Second

// New returns a pool and starts its stem cells.
func New(cfg Config) (*Pool, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	opsCtx, opsCancel := context.WithCancel(context.Background())
	p := &Pool{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, opsCtx: opsCtx, opsCancel: opsCancel, members: map[*member]struct{}{},
		known: map[string]*known{}, prewarmTimers: map[*prewarmTimer]struct{}{}, events: newRecorder(SubscriptionBuffer)}
	if cfg.TracerProvider != nil {
		p.tracer = cfg.TracerProvider.Tracer(tracerName)
	}
	p.metrics = newMetrics(p)
	p.mu.Lock()
	p.ensurePrewarmsLocked()
	p.mu.Unlock()
	return p, nil
}

// Policy returns the reclaim policy in force.
func (p *Pool) Policy() reclaim.Policy { return p.cfg.Policy }

// job is an activation looking for a container.
type job struct {
	inv *Invocation
	key string // the warm containers it may reuse
}

// placement is where a job will run.
type placement struct {
	m    *member
	kind startKind
	err  error
}

// startKind says how an activation got its container.
type startKind int

const (
	startWarm startKind = iota
	startPrewarm
	startCold
)

// waiter is a job in the run buffer.
type waiter struct {
	j  *job
	ch chan placement // buffered: dispatch never blocks
}

// acquire finds the job a container, waiting in the run buffer when the
// pool is full, at most MaxQueueWait.
func (p *Pool) acquire(j *job) placement {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return placement{err: ErrClosed}
	}
	if len(p.waiting) == 0 { // strict FIFO: never overtake a waiting job
		if pl, ok := p.placeLocked(j); ok {
			p.mu.Unlock()
			return pl
		}
	}
	w := &waiter{j: j, ch: make(chan placement, 1)}
	p.waiting = append(p.waiting, w)
	p.stats.Queued++
	p.mu.Unlock()

	t := time.NewTimer(p.cfg.MaxQueueWait)
	defer t.Stop()
	select {
	case pl := <-w.ch:
		return pl
	case <-t.C:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.waiting, w); i >= 0 {
		p.waiting = slices.Delete(p.waiting, i, i+1)
		return placement{err: fmt.Errorf("%w within %s: every container is busy or lingering and the %d MB budget is used; raise --memory or invoke less at once",
			errNoCapacity, p.cfg.MaxQueueWait, p.cfg.MemoryMB)}
	}
	return <-w.ch // dispatched just as the timer fired
}

// dispatchLocked places waiting jobs, in order, until one does not fit.
func (p *Pool) dispatchLocked() {
	for len(p.waiting) > 0 {
		w := p.waiting[0]
		pl, ok := p.placeLocked(w.j)
		if !ok {
			return
		}
		p.waiting = p.waiting[1:]
		w.ch <- pl
	}
}

// placeLocked picks the job's container, as ContainerPool.schedule does: a
// warm one of the same action (unpaused first, then the most recently
// used), else a matching stem cell, else a new container if the memory
// budget allows, else it evicts the least recently used idle containers
// and reports false (the job waits for the memory to be freed).
func (p *Pool) placeLocked(j *job) (placement, bool) {
	if p.closed {
		return placement{err: ErrClosed}, true
	}
	a := j.inv.action
	mem := a.Limits.Memory
	if mem > p.cfg.MemoryMB {
		return placement{err: fmt.Errorf("%w: the action needs %d MB and the whole pool has %d MB: start the server with --memory %d or more",
			errBadAction, mem, p.cfg.MemoryMB, mem)}, true
	}
	if m := p.warmLocked(j.key); m != nil {
		m.wasPaused = m.state == statePaused
		p.moveLocked(m, stateBusy)
		p.stats.WarmStarts++
		return placement{m: m, kind: startWarm}, true
	}
	if m := p.stemCellLocked(a.Exec.Image, mem); m != nil {
		m.stemCell = false
		p.moveLocked(m, stateBusy)
		p.stats.PrewarmStarts++
		p.ensurePrewarmsLocked()
		return placement{m: m, kind: startPrewarm}, true
	}
	if p.usedMB+mem <= p.cfg.MemoryMB {
		m := p.newMemberLocked(a.Exec.Image, mem, a.Namespace+"_"+a.Name)
		p.stats.ColdStarts++
		return placement{m: m, kind: startCold}, true
	}
	p.evictLocked(mem)
	return placement{}, false
}

// warmLocked returns the best idle container of key: ready before paused,
// then the most recently used.
func (p *Pool) warmLocked(key string) *member {
	var best *member
	for m := range p.members {
		if m.key != key || (m.state != stateReady && m.state != statePaused) {
			continue
		}
		switch {
		case best == nil:
			best = m
		case (m.state == stateReady) != (best.state == stateReady):
			if m.state == stateReady {
				best = m
			}
		case m.lastUsed.After(best.lastUsed):
			best = m
		}
	}
	return best
}

// stemCellLocked returns a prewarmed container of image and memory.
func (p *Pool) stemCellLocked(image string, mem int) *member {
	if mem != p.cfg.PrewarmMemoryMB || normalizeImage(image) != normalizeImage(p.cfg.PrewarmImage) {
		return nil
	}
	for m := range p.members {
		if m.state == statePrewarmed {
			return m
		}
	}
	return nil
}

// evictLocked starts removing the least recently used idle containers
// (or the keep-alive policy's victims) until mem MB will be free, unless removals already under way free enough
// or even evicting every idle container would not (then it evicts
// nothing: the job waits for busy or lingering ones). Stem cells are never
// evicted, as in OpenWhisk.
func (p *Pool) evictLocked(mem int) {
	free := p.cfg.MemoryMB - p.usedMB
	var idle []*member
	for m := range p.members {
		switch m.state {
		case stateRemoving:
			free += m.memoryMB
		case stateReady, statePaused:
			idle = append(idle, m)
		}
	}
	if free >= mem {
		return
	}
	need := mem - free
	for _, m := range idle {
		free += m.memoryMB
	}
	if free < mem {
		return
	}
	for need > 0 {
		i := p.victimLocked(idle)
		m := idle[i]
		idle = slices.Delete(idle, i, i+1)
		need -= m.memoryMB
		p.stats.Evictions++
		p.releasedLocked(m, keepalive.Evicted)
		p.removeLocked(m, "evicted to make room for an activation")
	}
}

// ensurePrewarmsLocked starts stem cells until Prewarm exist, if the
// memory allows (stem cells never cause evictions).
func (p *Pool) ensurePrewarmsLocked() {
	if p.closed || p.cfg.Prewarm == 0 || time.Now().Before(p.prewarmRetry) {
		return
	}
	have := 0
	for m := range p.members {
		if m.stemCell {
			have++
		}
	}
	for ; have < p.cfg.Prewarm && p.usedMB+p.cfg.PrewarmMemoryMB <= p.cfg.MemoryMB; have++ {
		m := p.newMemberLocked(p.cfg.PrewarmImage, p.cfg.PrewarmMemoryMB, "prewarm_"+imageKind(p.cfg.PrewarmImage))
		m.stemCell = true
		p.goBackground(func() { p.startStemCell(m) })
	}
}

// startStemCell creates a stem cell's container.
func (p *Pool) startStemCell(m *member) {
	err := p.create(p.ctx, m)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.log.Error("a stem cell could not be started; trying again later", "container", m.name, "image", m.image, "error", err, "retryIn", prewarmBackoff)
		p.prewarmRetry = time.Now().Add(prewarmBackoff)
		m.stemCell = false
		p.moveLocked(m, stateRemoving)
		p.moveLocked(m, stateRemoved)
		return
	}
	if m.state == stateStarting {
		p.moveLocked(m, statePrewarmed)
	}
}

// goBackground runs f on a goroutine the pool waits for in Close.
func (p *Pool) goBackground(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
}

// newMemberLocked reserves memory for a new container in state starting.
func (p *Pool) newMemberLocked(image string, mem int, what string) *member {
	p.counter++
	m := &member{
		p: p, name: containerName(p.counter, what), image: image, memoryMB: mem,
		state: stateStarting, lingering: map[string]*Invocation{}, created: make(chan struct{}),
	}
	p.members[m] = struct{}{}
	p.usedMB += mem
	p.events.moved(m.name, "", stateStarting)
	return m
}

// containerName is "<n>_<what>" with what reduced to the characters a
// container name may hold; backends may prefix it (docker: "wsk0_").
func containerName(n int, what string) string {
	var b strings.Builder
	for _, r := range what {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := fmt.Sprintf("%d_%s", n, b.String())
	if len(name) > 150 {
		name = name[:150]
	}
	return name
}

// normalizeImage adds the implicit ":latest" tag.
func normalizeImage(ref string) string {
	ref = strings.TrimPrefix(strings.TrimPrefix(ref, "docker.io/"), "index.docker.io/")
	if strings.Contains(ref, "@") {
		return ref
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		return ref
	}
	return ref + ":latest"
}

// imageKind is the image's last path element without tag: "action-go".
func imageKind(ref string) string {
	ref = normalizeImage(ref)
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref[strings.LastIndexByte(ref, '/')+1:]
}

// Close stops taking activations, waits (within ctx, or DefaultShutdownWait
// without a deadline) for the running and lingering ones, then removes
// every container. Activations still pending when the wait ends are cut
// and recorded as failed. It returns at most reclaimTimeout (30 s) after
// ctx's deadline: a removal still failing then is given up (the backend's
// Close, or the next start, removes that container).
func (p *Pool) Close(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultShutdownWait)
		defer cancel()
	}
	// The removals Close starts get reclaimTimeout past ctx; then every
	// pause and removal still running is cut (a removal that fails for
	// good also ends its container's log following), so Close returns
	// within ctx's bound plus reclaimTimeout even while the daemon hangs.
	deadline, _ := ctx.Deadline()
	stopOps := time.AfterFunc(time.Until(deadline)+reclaimTimeout, p.opsCancel)
	defer stopOps.Stop()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	p.stopPrewarmTimersLocked()
	waiting := p.waiting
	p.waiting = nil
	for _, w := range waiting {
		w.ch <- placement{err: ErrClosed}
	}
	p.mu.Unlock()

	waitErr := p.awaitQuiet(ctx)
	p.cancel() // cut what still waits: lingering watchers, reclaim gates

	p.mu.Lock()
	for m := range p.members {
		p.removeLocked(m, "the pool is closing")
	}
	p.mu.Unlock()
	p.wg.Wait()
	p.opsCancel()
	var errs []error
	if waitErr != nil {
		errs = append(errs, fmt.Errorf("pool: close: activations were still running or lingering when the wait ended; they were cut: %w", waitErr))
	}
	p.mu.Lock()
	errs = append(errs, p.abandoned...)
	p.mu.Unlock()
	return errors.Join(errs...)
}

// awaitQuiet waits until no container is starting, busy or lingering.
func (p *Pool) awaitQuiet(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		p.mu.Lock()
		active := 0
		for m := range p.members {
			switch m.state {
			case stateStarting, stateBusy, stateLingering:
				active++
			}
		}
		p.mu.Unlock()
		if active == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
