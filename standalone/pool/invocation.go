package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/backend"
	"github.com/epilogue-dev/epilogue/standalone/containerclient"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// Bounds of the record keeping.
const (
	// logSettle is how long, after an activation is done, the pool lets
	// its last post-response lines arrive before it writes the final
	// record; later lines still reach the record for
	// Config.LateLogWindow.
	logSettle = 100 * time.Millisecond
	// maxUnpauseAttempts: a container that fails to resume is removed and
	// the activation tries another, at most this many times.
	maxUnpauseAttempts = 3
	// watchSlack is added to a lingering activation's bound for the await.
	watchSlack = time.Second
)

// errBadAction: the action cannot run in this pool as configured.
var errBadAction = errors.New("pool: the action cannot run here")

// Request is one activation to run.
type Request struct {
	// Action is the stored action (limits complete, exec.kind blackbox).
	Action entity.Action
	// Code, when set, returns the action's code, which Action.Exec then
	// lacks: it is read when a container is initialised, not before.
	Code func() (string, error)
	// Params is a JSON object: the action's parameters overridden by the
	// request's.
	Params json.RawMessage
	// Subject is the invoking user's namespace, e.g. "guest"; it names the
	// activation's namespace and subject.
	Subject string
	// APIKey is the invoking user's "uuid:key", passed to the action only
	// when the action's provide-api-key annotation is true.
	APIKey string
	// Binding is the package binding the action was invoked through,
	// "ns/binding", or "": the record's binding annotation, as OpenWhisk's.
	Binding string
	// Cause is the id of the sequence activation this one is a component
	// of, or "": the record's cause, annotated causedBy "sequence".
	Cause string
}

// Invocation is one activation in the pool. Its record is written to the
// store when the action answers (readable from Done on, durable before
// Completed) and again when its post-response work has finished (Completed).
type Invocation struct {
	p       *Pool
	id      string
	txID    string
	action  entity.Action
	code    func() (string, error) // Request.Code
	params  json.RawMessage
	subject string
	apiKey  string
	arrived time.Time
	// prepare: the Runtime makes the exec that runs (serve, before anything
	// else reads action).
	prepare bool
	// span is the invocation's span (a no-op one when not tracing) and
	// traceCtx the context that carries it (nil when not tracing).
	span     trace.Span
	traceCtx context.Context

	done      chan struct{} // closed when the record of the response is readable (staged)
	completed chan struct{} // closed when the record is final

	mu             sync.Mutex
	rec            entity.Activation // guarded by mu
	sink           *logSink          // guarded by mu; nil before a container
	persistPending bool              // guarded by mu
	// workPending: the record is stored as pending (store.SettlePending
	// settles it after a crash) until the watch has its outcome; guarded
	// by mu.
	workPending bool
	persistMu   sync.Mutex // serialises store writes of this record
}

// ID returns the activation id.
func (inv *Invocation) ID() string { return inv.id }

// Done is closed once the record holds the response and the store's
// GetActivation returns it; its durable write may still be under way (it
// ends before Completed is closed; ListActivations lists it from then on).
func (inv *Invocation) Done() <-chan struct{} { return inv.done }

// Completed is closed once the record is final: its completion annotation
// is set, or it is known that none will be (stock semantics reclaimed the
// container, or the runtime does not report completion).
func (inv *Invocation) Completed() <-chan struct{} { return inv.completed }

// Record returns the activation record as it stands, with the logs so far.
func (inv *Invocation) Record() entity.Activation {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.recordLocked()
}

func (inv *Invocation) recordLocked() entity.Activation {
	rec := inv.rec
	rec.Annotations = append(entity.KeyValues(nil), rec.Annotations...)
	if inv.sink != nil {
		rec.Logs = inv.sink.snapshot()
	}
	return rec
}

// Invoke starts an activation and returns at once; the activation runs
// until its record is complete, whatever happens to ctx (only its values
// are used: the caller's span context parents the invocation's span).
func (p *Pool) Invoke(ctx context.Context, req Request) (*Invocation, error) {
	a := req.Action
	prepare := p.cfg.Runtime != nil && p.cfg.Runtime.Runs(a.Exec)
	if !prepare && (a.Exec.Kind != entity.KindBlackbox || a.Exec.Image == "") {
		return nil, fmt.Errorf("%w: exec.kind %q with image %q: only blackbox actions with an image run here", errBadAction, a.Exec.Kind, a.Exec.Image)
	}
	if req.Subject == "" {
		return nil, errors.New("pool: Request.Subject is empty: name the invoking namespace")
	}
	if err := a.Limits.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadAction, err)
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	inv := &Invocation{
		p: p, id: entity.NewActivationID(), txID: entity.NewActivationID(),
		action: a, code: req.Code, params: req.Params, subject: req.Subject, apiKey: req.APIKey,
		arrived: time.Now(), done: make(chan struct{}), completed: make(chan struct{}), prepare: prepare,
	}
	inv.rec = entity.Activation{
		Namespace: req.Subject, Name: a.Name, Version: a.Version, Subject: req.Subject,
		ActivationID: inv.id, Start: inv.arrived.UnixMilli(),
	}
	_ = inv.rec.Annotations.SetJSON(entity.AnnotationPath, a.Path())
	_ = inv.rec.Annotations.SetJSON(entity.AnnotationKind, a.Exec.Kind)
	_ = inv.rec.Annotations.SetJSON(entity.AnnotationLimits, a.Limits)
	if req.Binding != "" {
		_ = inv.rec.Annotations.SetJSON(entity.AnnotationBinding, req.Binding)
	}
	if req.Cause != "" {
		inv.rec.Cause = req.Cause
		_ = inv.rec.Annotations.SetJSON(entity.AnnotationCausedBy, entity.KindSequence)
	}
	p.startInvoke(ctx, inv)
	p.goBackground(func() { p.serve(inv) })
	return inv, nil
}

// actionKey names the warm containers an activation may reuse: same
// invoking namespace, same action, same revision.
func actionKey(inv *Invocation) string {
	a := inv.action
	return inv.subject + "|" + a.Path() + "@" + a.Version + "@" + strconv.FormatInt(a.Updated, 10)
}

// serve finds the activation a container and runs it there.
func (p *Pool) serve(inv *Invocation) {
	if inv.prepare && !p.prepare(inv) {
		return
	}
	j := &job{inv: inv, key: actionKey(inv)}
	p.mu.Lock()
	p.arrivedLocked(j.key, inv)
	p.mu.Unlock()
	for attempt := 1; ; attempt++ {
		pl := p.acquire(j)
		if pl.err != nil {
			inv.failBeforeStart(entity.StatusWhiskError, pl.err.Error())
			return
		}
		m := pl.m
		switch pl.kind {
		case startCold:
			p.mu.Lock()
			m.key = j.key
			p.mu.Unlock()
			err := p.create(inv.context(), m)
			p.mu.Lock()
			switch {
			case err != nil:
				p.removeLocked(m, "it could not be created")
			case m.state != stateStarting: // Close is removing it
				err = ErrClosed
			default:
				p.moveLocked(m, stateBusy)
			}
			p.mu.Unlock()
			if err != nil {
				inv.failBeforeStart(createFailure(err))
				return
			}
			p.runOn(m, inv, true)
			return
		case startPrewarm:
			p.mu.Lock()
			m.key = j.key
			p.mu.Unlock()
			p.runOn(m, inv, true)
			return
		}
		if ok := p.resume(inv, m); ok {
			p.runOn(m, inv, false)
			return
		}
		if attempt == maxUnpauseAttempts {
			inv.failBeforeStart(entity.StatusWhiskError, msgProvision+"no paused container could be resumed")
			return
		}
	}
}

// prepare replaces the activation's exec with the blackbox exec the
// Runtime makes of it (a compiled Go source action); on failure it records
// the activation and returns false. It runs before the activation looks for
// a container, so nothing else reads inv.action yet.
func (p *Pool) prepare(inv *Invocation) bool {
	ctx, span := inv.context(), trace.Span(nil)
	if p.tracer != nil {
		ctx, span = p.tracer.Start(ctx, "prepare code", trace.WithAttributes(attrExecKind.String(inv.action.Exec.Kind)))
	}
	source := inv.action.Exec
	if inv.code != nil { // the source is still in the store: the Runtime needs it now
		code, err := inv.code()
		if err != nil {
			endOp(span, err)
			inv.failBeforeStart(entity.StatusWhiskError, msgCodeUnreadable(err))
			return false
		}
		source.Code = code
	}
	e, developerError, err := p.cfg.Runtime.Prepare(ctx, source)
	if developerError != "" && err == nil {
		err = errors.New(developerError)
	}
	endOp(span, err)
	switch {
	case developerError != "":
		inv.failBeforeStart(entity.StatusDeveloperError, developerError)
		return false
	case err != nil:
		inv.failBeforeStart(entity.StatusWhiskError, "Failed to prepare the action's code: "+err.Error())
		return false
	}
	inv.action.Exec, inv.code = e, nil // the prepared exec carries its code
	return true
}

// createFailure classifies a backend's Create error: an image the backend
// cannot run is the action developer's to fix; anything else is the
// platform's.
func createFailure(err error) (entity.Status, string) {
	switch {
	case errors.Is(err, backend.ErrUnsupportedImage), errors.Is(err, backend.ErrImageMissing):
		return entity.StatusDeveloperError, err.Error()
	}
	return entity.StatusWhiskError, msgProvision + err.Error()
}

// resume unpauses a warm container that was paused; on failure it removes
// it (OpenWhisk reschedules the job, and destroys the container).
func (p *Pool) resume(inv *Invocation, m *member) bool {
	p.mu.Lock()
	wasPaused := m.wasPaused
	m.wasPaused = false
	p.mu.Unlock()
	if !wasPaused {
		return true
	}
	ctx, cancel := context.WithTimeout(inv.context(), reclaimTimeout)
	defer cancel()
	span := p.startOp(ctx, "unpause", m)
	err := m.c.Unpause(ctx)
	endOp(span, err)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.log.Error("unpause failed; removing the container and trying another", "container", m.name, "error", err)
		p.removeLocked(m, "it could not be resumed")
		return false
	}
	p.stats.Unpauses++
	return true
}

// failBeforeStart records an activation that never reached a container.
func (inv *Invocation) failBeforeStart(status entity.Status, msg string) {
	now := time.Now()
	inv.mu.Lock()
	inv.rec.Start, inv.rec.End = now.UnixMilli(), now.UnixMilli()
	inv.rec.Duration = 0
	inv.rec.Response = entity.NewResponse(status, errorResult(msg))
	_ = inv.rec.Annotations.SetJSON(entity.AnnotationTimeout, false)
	_ = inv.rec.Annotations.SetJSON(entity.AnnotationWaitTime, now.Sub(inv.arrived).Milliseconds())
	inv.mu.Unlock()
	inv.persist()
	inv.p.metrics.responded(inv, now)
	close(inv.done)
	inv.p.metrics.ended(inv)
	inv.endInvoke()
	close(inv.completed)
}

// runOn runs the activation in m: /init if m is new, then /run; it writes
// the record, and either hands m back to the pool, keeps it lingering
// while the runtime finishes the activation's work, or removes it.
func (p *Pool) runOn(m *member, inv *Invocation, cold bool) {
	a := inv.action
	timeout := time.Duration(a.Limits.Timeout) * time.Millisecond
	sink := newLogSink(a.Limits.Logs << 20)
	inv.mu.Lock()
	inv.sink = sink
	inv.mu.Unlock()
	m.logs.begin(inv.id, sink)
	p.events.started(m.name, inv.id, a.Path())

	start := time.Now()
	p.mu.Lock()
	initialized := m.initialized
	m.last = inv
	p.mu.Unlock()
	var (
		resp     entity.Response
		initTime time.Duration
		timedOut bool
		phase    completion.Phase
		answered bool // a /run answer that keeps the container usable
		// ranOut: the runtime answered /run, if only with an error. The
		// proxy writes the activation's sentinels after every answer,
		// "command exited" too, so the lines the action printed before it
		// exited are still on their way.
		ranOut bool
	)
	deadline := start.Add(timeout)
	if !initialized {
		req, loadErr := inv.initRequest(deadline)
		var r containerclient.Reply
		var err error
		if loadErr == nil {
			r, err = m.run.Init(inv.context(), req, timeout)
		}
		initTime = r.Elapsed
		switch {
		case loadErr != nil:
			resp = entity.NewResponse(entity.StatusWhiskError, errorResult(msgCodeUnreadable(loadErr)))
		case errors.Is(err, containerclient.ErrTimeout):
			resp, timedOut = entity.NewResponse(entity.StatusDeveloperError, errorResult(msgTimedOut(a.Limits.Timeout, true))), true
		case err != nil:
			resp = entity.NewResponse(entity.StatusDeveloperError, errorResult(msgAbnormalInit))
		case !r.OK():
			resp = initResponse(r)
		default:
			p.mu.Lock()
			m.initialized = true
			p.mu.Unlock()
			initialized = true
		}
	}
	runStart := time.Now()
	if initialized {
		r, err := m.run.Run(inv.context(), inv.runRequest(runStart.Add(timeout)), timeout)
		switch {
		case errors.Is(err, containerclient.ErrTimeout):
			resp, timedOut = entity.NewResponse(entity.StatusDeveloperError, errorResult(msgTimedOut(a.Limits.Timeout, false))), true
		case err != nil:
			resp = entity.NewResponse(entity.StatusDeveloperError, errorResult(msgAbnormalRun))
		default:
			resp = runResponse(r)
			phase = r.Phase
			answered = resp.Status != entity.StatusDeveloperError
			ranOut = true
		}
	}
	end := time.Now()

	// Logs up to the activation's sentinels. A container that answered
	// /run with an error (the action exited) is waited for too: its last
	// lines come after the answer. One that timed out or failed /init is
	// not (OpenWhisk warns instead).
	switch {
	case answered:
		if !sink.awaitSentinels(p.ctx, SentinelWait) {
			sink.note(msgLogFailure)
		}
	case ranOut:
		// A runtime that writes no sentinels after an error costs this
		// bounded wait; the warning below says the log may be short.
		sink.awaitSentinels(p.ctx, SentinelWait)
		sink.note(msgLogDeveloperError)
	default:
		sink.note(msgLogDeveloperError)
	}
	m.logs.end()

	lingering := answered && phase == completion.PhaseResponded
	inv.mu.Lock()
	inv.rec.Start, inv.rec.End = start.UnixMilli(), end.UnixMilli()
	inv.rec.Duration = inv.rec.End - inv.rec.Start
	inv.rec.Response = resp
	_ = inv.rec.Annotations.SetJSON(entity.AnnotationTimeout, timedOut)
	_ = inv.rec.Annotations.SetJSON(entity.AnnotationWaitTime, start.Sub(inv.arrived).Milliseconds())
	if cold {
		_ = inv.rec.Annotations.SetJSON(entity.AnnotationInitTime, initTime.Milliseconds())
	}
	inv.ran(start.Sub(inv.arrived), initTime, cold)
	if answered && phase == completion.PhaseDone {
		// The runtime answered with nothing pending: done at the response.
		_ = inv.rec.Annotations.SetJSON(entity.AnnotationCompletion, entity.CompletionDone)
		_ = inv.rec.Annotations.SetJSON(entity.AnnotationPostResponseDuration, 0)
	}
	inv.mu.Unlock()

	p.mu.Lock()
	// Before the move: a pause that follows at once finds it answered.
	p.events.answered(m.name, inv.id, answerOutcome(answered, phase))
	m.lastUsed = end
	if answered {
		m.epilogue = phase != ""
	}
	if cold && initialized {
		p.coldStartedLocked(m.key, start.Sub(inv.arrived)+initTime)
	}
	switch {
	case m.state != stateBusy: // Close is removing it
	case !answered:
		p.removeLocked(m, "its activation failed as a developer error (OpenWhisk destroys such a container)")
	case lingering:
		m.lingering[inv.id] = inv
		inv.mu.Lock()
		inv.workPending = true
		inv.mu.Unlock()
		if p.cfg.Policy.WaitsForWork() {
			p.moveLocked(m, stateLingering)
		} else {
			p.becameIdleLocked(m) // stock OpenWhisk: answered means finished
		}
	default:
		p.becameIdleLocked(m)
	}
	p.mu.Unlock()

	// An activation done at its response is answered as soon as its record
	// can be read, the durable write alongside (as OpenWhisk answers from
	// the invoker's acknowledgement); Completed and any later write wait
	// for it. A crash in between loses that record. One with work pending
	// is written first: after a crash its record must be there for
	// SettlePending to say the work's outcome is unknown.
	write := func() {}
	if lingering {
		inv.persist()
	} else {
		write = inv.stage()
	}
	sink.setOnLine(inv.logsChanged)
	p.metrics.responded(inv, end)
	close(inv.done)
	write()
	if !lingering {
		inv.finish(m)
		return
	}
	p.watch(m, inv, p.cfg.Bounds.Limit(runStart, runStart.Add(timeout), end), end)
}

// finish closes Completed and stops routing the activation's late log
// lines after the pool's LateLogWindow.
func (inv *Invocation) finish(m *member) {
	inv.p.metrics.ended(inv)
	inv.endInvoke()
	close(inv.completed)
	time.AfterFunc(inv.p.cfg.LateLogWindow, func() { m.logs.forget(inv.id) })
}

// watch waits for a lingering activation to finish (the runtime's
// /epilogue/await), at most until its bound (reclaim's Bounds.Limit). It
// then records how the activation ended and, under the epilogue policy,
// hands the container back, or removes it when the bound passed or the
// container was lost.
func (p *Pool) watch(m *member, inv *Invocation, bound, responded time.Time) {
	var span trace.Span // the reclaim decision; nil when not tracing or not waiting
	if p.tracer != nil && p.cfg.Policy.WaitsForWork() {
		_, span = p.tracer.Start(p.ctx, "reclaim wait", linkTo(inv),
			trace.WithAttributes(semconv.ContainerNameKey.String(m.name), attrDecision.String(reclaim.Deferred)))
	}
	if p.cfg.Policy.WaitsForWork() {
		p.metrics.decided(reclaim.Deferred)
	}
	ctx, cancel := context.WithDeadline(p.ctx, bound.Add(watchSlack))
	rec, err := m.status.Await(ctx, inv.id, max(time.Until(bound), 0)) // a bound already past: ask once, without waiting
	cancel()

	var outcome *completion.Activation // nil: nothing to record
	if p.cfg.Policy.WaitsForWork() {
		p.metrics.released(responded)
	}
	forced := false
	p.mu.Lock()
	// The decision's time, taken before the container is handed back: its
	// pause (at once with no grace) may start before span.End runs below.
	decided := time.Now()
	delete(m.lingering, inv.id)
	switch {
	case err == nil:
		outcome = &rec
		decide(span, reclaim.Done, "the activation's work is "+string(rec.Phase), inv.id)
		if p.cfg.Policy.WaitsForWork() {
			// The runtime itself cut work pending at the deadline: the
			// container is reclaimed with that work lost, a forced reclaim.
			decision := reclaim.Done
			if rec.Phase == completion.PhaseExpired {
				decision = reclaim.Forced
			}
			p.metrics.decided(decision)
		}
		if m.state == stateLingering && len(m.lingering) == 0 {
			m.doneAt = time.Now()
			p.becameIdleLocked(m)
		}
	case !p.cfg.Policy.WaitsForWork() && (m.reclaimed || p.ctx.Err() != nil):
		// Stock OpenWhisk paused or removed the container (or shut down)
		// regardless of the work: it does not know how the activation
		// ended, so neither does the record.
	case p.ctx.Err() != nil:
		rec = rec.Settle(completion.PhaseFailed, "the standalone server shut down while the activation's work was pending")
		outcome = &rec
	case errors.Is(err, completion.ErrNotDone) || errors.Is(err, context.DeadlineExceeded):
		if p.cfg.Policy.WaitsForWork() {
			rec = rec.Settle(completion.PhaseExpired, fmt.Sprintf("the activation's work was still pending at its bound %s; its container was removed", bound.UTC().Format(time.RFC3339Nano)))
			outcome = &rec
			p.stats.ForcedReclaims++
			p.metrics.decided(reclaim.Forced)
			forced = true
			decide(span, reclaim.Forced, rec.Error, inv.id)
			if m.state == stateLingering {
				p.removeLocked(m, "forced: work still pending at its bound")
			}
		}
	default:
		rec = rec.Settle(completion.PhaseFailed, "the container was lost while the activation's work was pending: "+err.Error())
		outcome = &rec
		p.removeLocked(m, "it stopped answering while work was pending")
	}
	p.events.finished(m.name, inv.id, outcome, forced)
	p.mu.Unlock()
	if span != nil {
		// Decided: the container may be reclaimed from here on.
		span.End(trace.WithTimestamp(decided))
	}

	if outcome != nil {
		p.settle(inv)
		inv.complete(*outcome, time.Since(responded))
	}
	inv.mu.Lock()
	inv.workPending = false // known now, or never to be known (stock semantics)
	inv.mu.Unlock()
	inv.persist()
	inv.finish(m)
}

// settle gives the activation's last post-response lines a moment to
// arrive through the backend's log stream.
func (p *Pool) settle(*Invocation) {
	t := time.NewTimer(logSettle)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.ctx.Done():
	}
}

// complete sets the completion annotations from the runtime's record.
func (inv *Invocation) complete(rec completion.Activation, sinceResponse time.Duration) {
	var c entity.Completion
	switch rec.Phase {
	case completion.PhaseDone:
		c = entity.CompletionDone
	case completion.PhaseExpired:
		c = entity.CompletionExpired
	default:
		c = entity.CompletionFailed
	}
	post := sinceResponse
	if rec.PostResponseMs > 0 {
		post = time.Duration(rec.PostResponseMs * float64(time.Millisecond))
	}
	inv.p.metrics.postResponse.Observe(post.Seconds())
	errs := postResponseErrors(rec)
	inv.mu.Lock()
	defer inv.mu.Unlock()
	_ = inv.rec.Annotations.SetJSON(entity.AnnotationCompletion, c)
	_ = inv.rec.Annotations.SetJSON(entity.AnnotationPostResponseDuration, int64(math.Round(float64(post)/float64(time.Millisecond))))
	if len(errs) > 0 {
		_ = inv.rec.Annotations.SetJSON(entity.AnnotationPostResponseErrors, errs)
	}
}

// postResponseErrors are the errors the runtime's record reports, its
// unfinished work included: the postResponseErrors annotation.
func postResponseErrors(rec completion.Activation) []string {
	var errs []string
	errs = append(errs, rec.Errors...)
	for _, u := range rec.Unfinished {
		errs = append(errs, "unfinished: "+u)
	}
	if rec.Error != "" && (len(rec.Errors) == 0 || rec.Errors[0] != rec.Error) {
		errs = append(errs, rec.Error)
	}
	return errs
}

// stage makes the record as it stands readable (Store.GetActivation) and
// returns its durable write, which must be called once, on this goroutine:
// until then no other write of the record starts.
func (inv *Invocation) stage() (write func()) {
	inv.persistMu.Lock()
	inv.mu.Lock()
	rec, pending := inv.recordLocked(), inv.workPending
	inv.mu.Unlock()
	put, err := inv.p.cfg.Store.StageActivation(rec, pending)
	if err != nil {
		inv.persistMu.Unlock()
		inv.p.log.Error("the activation record could not be stored", "activation", inv.id, "error", err)
		return func() {}
	}
	return func() {
		defer inv.persistMu.Unlock()
		if err := put(); err != nil {
			inv.p.log.Error("the activation record could not be stored", "activation", inv.id, "error", err)
		}
	}
}

// persist writes the record as it stands.
func (inv *Invocation) persist() {
	inv.persistMu.Lock()
	defer inv.persistMu.Unlock()
	inv.mu.Lock()
	rec, pending := inv.recordLocked(), inv.workPending
	inv.mu.Unlock()
	put := inv.p.cfg.Store.PutActivation
	if pending {
		put = inv.p.cfg.Store.PutPendingActivation
	}
	if err := put(rec); err != nil {
		inv.p.log.Error("the activation record could not be stored", "activation", inv.id, "error", err)
	}
}

// logsChanged schedules a write of the record for lines that arrived after
// it was stored, at most one write per logSettle.
func (inv *Invocation) logsChanged() {
	inv.mu.Lock()
	if inv.persistPending {
		inv.mu.Unlock()
		return
	}
	inv.persistPending = true
	inv.mu.Unlock()
	inv.p.goBackground(func() {
		t := time.NewTimer(logSettle)
		select {
		case <-t.C:
		case <-inv.p.ctx.Done():
			t.Stop()
		}
		inv.mu.Lock()
		inv.persistPending = false
		inv.mu.Unlock()
		inv.persist()
	})
}

// contextEnv is the __OW_* environment of the activation, as the invoker
// builds it for /init (ContainerProxy).
func (inv *Invocation) contextEnv(deadline time.Time) map[string]string {
	env := actionEnv(inv.subject, inv.action, deadline)
	env["__OW_ACTIVATION_ID"] = inv.id
	env["__OW_TRANSACTION_ID"] = inv.txID
	if key := inv.providedAPIKey(); key != "" {
		env["__OW_API_KEY"] = key
	}
	return env
}

// actionEnv is the part of the __OW_* environment that names the action,
// all a prewarm's /init (which has no activation) gets.
func actionEnv(subject string, a entity.Action, deadline time.Time) map[string]string {
	return map[string]string{
		"__OW_NAMESPACE":      subject,
		"__OW_ACTION_NAME":    "/" + a.Path(),
		"__OW_ACTION_VERSION": a.Version,
		"__OW_DEADLINE":       strconv.FormatInt(deadline.UnixMilli(), 10),
	}
}

// providedAPIKey is the caller's key if the action asks for it.
func (inv *Invocation) providedAPIKey() string {
	if v, ok := inv.action.Annotations.Get(entity.AnnotationProvideAPIKey); ok && string(v) == "true" {
		return inv.apiKey
	}
	return ""
}

// initRequest is the /init of the activation's action, its code read now
// when the request left it in the store.
func (inv *Invocation) initRequest(deadline time.Time) (containerclient.InitRequest, error) {
	code := inv.action.Exec.Code
	if inv.code != nil {
		var err error
		if code, err = inv.code(); err != nil {
			return containerclient.InitRequest{}, err
		}
	}
	return newInitRequest(inv.action, code, inv.contextEnv(deadline)), nil
}

func (inv *Invocation) runRequest(deadline time.Time) containerclient.RunRequest {
	return containerclient.RunRequest{
		Value: inv.params, Namespace: inv.subject, ActionName: "/" + inv.action.Path(),
		ActionVersion: inv.action.Version, ActivationID: inv.id, TransactionID: inv.txID,
		Deadline: deadline, APIKey: inv.providedAPIKey(),
	}
}
