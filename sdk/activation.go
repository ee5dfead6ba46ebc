package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/completion"
)

// Activation is one event being processed. Handlers reach it with From; most
// code uses the package functions (Go, Track, Respond, Done) instead.
type Activation struct {
	// Facts from the platform; empty when not sent.
	ID, ActionName, ActionVersion, Namespace, TransactionID, APIHost, APIKey string
	// Deadline is the activation deadline; zero when the platform sent none.
	Deadline time.Time
	// Params is the raw `value` of the request (an object or an array).
	Params json.RawMessage
	// TraceParent is the W3C traceparent of the activation's span when the
	// platform traces it, "" otherwise; see TraceParent.
	TraceParent string

	seq           uint64
	ctx           context.Context
	cancel        context.CancelFunc
	expired       *atomic.Bool // makes ctx.Err() report DeadlineExceeded
	deadlineTimer *time.Timer
	loop          *loop
	logger        *slog.Logger
	start         time.Time
	// baseline counts the goroutines not run by this package at the start.
	baseline int
	handler  *Work // the handler itself, pending until it returns

	mu sync.Mutex
	// phase is where the activation is, as the proxy will record it:
	// running until the response frame is written, responded while work is
	// pending (done frames may follow), then terminal once the response said
	// done or the done frame was written. It moves only through
	// completion's transition table. Guarded by mu.
	phase completion.Phase
	// answering: the response is claimed (by the handler's return or
	// Respond) and being encoded; later responses are ignored. Guarded by mu.
	answering bool
	// expireReason, once set, says the deadline came with work pending: the
	// activation ends expired whatever finishes afterwards. Guarded by mu.
	expireReason string
	respondedAt  time.Time        // guarded by mu
	work         map[*Work]string // guarded by mu; pending work and its name
	workSeq      uint64           // guarded by mu; numbers the work reported in work frames
	errs         []string         // guarded by mu; post-response errors
	untracked    []goroutineInfo  // guarded by mu; reported at the response
	goids        map[uint64]bool  // guarded by mu; the handler's and tracked work's goroutines
	strictWait   bool             // guarded by mu; strict: untracked goroutines still running
	unfinished   []string         // guarded by mu; what was pending at the deadline
	doneFunc     func()           // guarded by mu; the explicit done callback, once asked for
	finishedCh   chan struct{}    // closed once the phase is terminal
}

type ctxKey struct{}

// From returns the activation ctx belongs to, or nil outside an activation.
func From(ctx context.Context) *Activation {
	a, _ := ctx.Value(ctxKey{}).(*Activation)
	return a
}

// Context returns the activation's context: it carries the activation, ends
// at the deadline, and is not cancelled when the handler returns, so work
// started from it may outlive the response.
func (a *Activation) Context() context.Context { return a.ctx }

// Logger returns a logger whose lines carry the activation id, so lines
// written after the response can be attributed.
func (a *Activation) Logger() *slog.Logger { return a.logger }

// TraceParent returns the W3C traceparent of the activation ctx belongs to
// when the platform traces it, "" otherwise (no tracing, or outside an
// activation). Spans the action creates with it as their parent nest under
// the activation's span; HTTPClient sends it as the traceparent header.
func TraceParent(ctx context.Context) string {
	if a := From(ctx); a != nil {
		return a.TraceParent
	}
	return ""
}

// Work is one pending piece of an activation's work, from Track.
type Work struct {
	a    *Activation
	id   uint64 // its number in work frames; 0 when not reported
	once sync.Once
}

// Track registers pending work named name (e.g. "redis SET id:42"). The
// activation is not done until the Work ends with Done, Fail or Close. Outside
// an activation it returns a Work whose methods do nothing.
func Track(ctx context.Context, name string) *Work {
	a := From(ctx)
	if a == nil {
		return &Work{}
	}
	return a.track(name)
}

// Done ends the work successfully. Calling it again does nothing.
func (w *Work) Done() { w.end(nil) }

// Fail ends the work with an error, reported as a post-response error.
func (w *Work) Fail(err error) { w.end(err) }

// Close ends the work successfully; it makes a Work an io.Closer.
func (w *Work) Close() error { w.end(nil); return nil }

func (w *Work) end(err error) {
	if w.a == nil {
		return
	}
	w.once.Do(func() { w.a.endWork(w, err) })
}

// Closer returns c wrapped so that it counts as pending work named name until
// it is closed: use it for a handle whose use ends with Close.
func Closer(ctx context.Context, name string, c io.Closer) io.Closer {
	return &trackedCloser{c: c, w: Track(ctx, name)}
}

type trackedCloser struct {
	c io.Closer
	w *Work
}

func (t *trackedCloser) Close() error {
	err := t.c.Close()
	if err != nil {
		t.w.Fail(err)
	} else {
		t.w.Done()
	}
	return err
}

// Go runs f in a new goroutine as tracked work named name. The activation is
// done when f returns; an error or a panic from f is reported as a
// post-response error and never crashes the process. f's context is the
// activation's: it is cancelled at the deadline. Outside an activation, f
// runs untracked.
func Go(ctx context.Context, name string, f func(ctx context.Context) error) {
	a := From(ctx)
	if a == nil {
		go func() { _ = f(ctx) }()
		return
	}
	w := a.track(name)
	a.loop.goTracked(func() {
		a.adopt()
		var err error
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
			w.end(err)
		}()
		err = f(a.ctx)
	})
}

// Respond sends v as the activation's response now; the handler keeps
// running and the activation stays pending until it returns. The handler's
// own return value is then ignored. Only the first response counts.
func Respond(ctx context.Context, v any) {
	if a := From(ctx); a != nil {
		a.respond(v, nil)
	}
}

// Done returns the activation's explicit done callback (the paper's end()):
// once a handler has asked for it, the activation is not done until it is
// called, however early the response went out. Calling Done again returns
// the same callback; calling the callback twice is harmless.
func Done(ctx context.Context) func() {
	a := From(ctx)
	if a == nil {
		return func() {}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.doneFunc == nil {
		w := a.trackLocked("done()", true)
		a.doneFunc = w.Done
	}
	return a.doneFunc
}

// adopt records the calling goroutine as one of the activation's own, so
// goroutines it starts are recognised as started during the activation.
func (a *Activation) adopt() {
	id := goroutineID()
	a.mu.Lock()
	a.goids[id] = true
	a.mu.Unlock()
}

func (a *Activation) track(name string) *Work {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.trackLocked(name, true)
}

// trackLocked registers pending work; traced says it is a span of its own
// when the platform traces (the handler is not: the activation's span is
// its span).
func (a *Activation) trackLocked(name string, traced bool) *Work {
	w := &Work{a: a}
	if a.phase.Terminal() {
		// Too late: the activation has been reported done. Keep the caller
		// working, but say that this work is not covered.
		a.logger.Warn("work started after the activation was done is not tracked", "work", name)
		return &Work{}
	}
	a.work[w] = name
	if traced && a.TraceParent != "" {
		a.workSeq++
		w.id = a.workSeq
		a.loop.send(actionloop.Frame{Kind: actionloop.KindWork, Seq: a.seq, Work: w.id, Name: name, Start: time.Now().UnixNano()})
	}
	a.reportPendingLocked()
	return w
}

// reportPendingLocked tells the proxy what is pending now, once the response
// is out, so /epilogue/status names the work actually running. When nothing
// is left the done frame says so instead.
func (a *Activation) reportPendingLocked() {
	if a.phase != completion.PhaseResponded {
		return
	}
	pending := a.pendingLocked()
	if len(pending) == 0 {
		return
	}
	a.loop.send(actionloop.Frame{Kind: actionloop.KindPending, Seq: a.seq, Pending: pending})
}

func (a *Activation) endWork(w *Work, err error) {
	a.mu.Lock()
	name, ok := a.work[w]
	delete(a.work, w)
	if ok && err != nil {
		a.errs = append(a.errs, name+": "+err.Error())
		a.logger.Error("tracked work failed", "work", name, "error", err)
	}
	if ok && w.id != 0 {
		// Under mu, as the done frame is: the work's end reaches the
		// proxy before the activation's.
		f := actionloop.Frame{Kind: actionloop.KindWork, Seq: a.seq, Work: w.id, End: time.Now().UnixNano()}
		if err != nil {
			f.Error = err.Error()
		}
		a.loop.send(f)
	}
	if ok {
		a.reportPendingLocked()
	}
	a.mu.Unlock()
	a.maybeFinish()
}

// pendingLocked names the outstanding work, sorted by start (map order is
// random, so names are collected and sorted for stable reports).
func (a *Activation) pendingLocked() []string {
	names := make([]string, 0, len(a.work))
	for _, n := range a.work {
		names = append(names, n)
	}
	slices.Sort(names)
	if a.strictWait {
		for _, g := range a.untracked {
			names = append(names, g.name())
		}
	}
	return names
}

// respond sends the response frame once. herr is the handler's error, if any.
func (a *Activation) respond(v any, herr error) {
	a.mu.Lock()
	if a.answering {
		a.mu.Unlock()
		return
	}
	a.answering = true
	a.respondedAt = time.Now()
	a.mu.Unlock()

	result := encodeResult(v, herr)
	a.loop.noticeUntracked(a)
	a.mu.Lock()
	pending := a.pendingLocked()
	var untracked []string
	for _, g := range a.untracked {
		untracked = append(untracked, g.describe())
	}
	done := len(pending) == 0
	expiring, strict := a.expireReason != "", a.strictWait
	if expiring {
		a.unfinished = pending
	}
	// Sent under mu, so no done frame can overtake the response.
	if done {
		a.phase = a.phase.Move(completion.PhaseDone)
	} else {
		a.phase = a.phase.Move(completion.PhaseResponded)
	}
	a.loop.send(actionloop.Frame{Kind: actionloop.KindResponse, Seq: a.seq, Done: done, Pending: pending, Untracked: untracked, Result: result})
	a.mu.Unlock()
	switch {
	case done:
		a.finish()
	case expiring:
		go a.expireAfterGrace()
	case strict:
		go a.loop.watchUntracked(a)
	}
}

// maybeFinish sends the done frame if the response is out and nothing is pending.
func (a *Activation) maybeFinish() {
	a.mu.Lock()
	if a.phase != completion.PhaseResponded || len(a.work) > 0 || a.strictWait {
		a.mu.Unlock()
		return
	}
	a.loop.send(a.doneFrameLocked())
	a.mu.Unlock()
	a.finish()
}

// doneFrameLocked ends the activation and describes how it ended. Work
// that was pending at the deadline did not finish, even if it returned once
// cancelled, so an expired activation stays expired.
func (a *Activation) doneFrameLocked() actionloop.Frame {
	f := actionloop.Frame{Kind: actionloop.KindDone, Seq: a.seq, Status: actionloop.StatusOK, Errors: a.errs,
		PostResponseMs: ms(time.Since(a.respondedAt))}
	to := completion.PhaseDone
	switch {
	case a.expireReason != "":
		f.Status, f.Error, f.Unfinished = actionloop.StatusExpired, a.expireReason, a.unfinished
		to = completion.PhaseExpired
	case len(a.errs) > 0:
		f.Status, f.Error = actionloop.StatusError, fmt.Sprintf("%d post-response error(s); the first: %s", len(a.errs), a.errs[0])
		to = completion.PhaseFailed
	}
	a.phase = a.phase.Move(to)
	return f
}

// expire ends the activation at its deadline (or at the proxy's cancel): the
// context is cancelled, pending work gets a short grace to return, and the
// activation is reported expired with what did not finish.
func (a *Activation) expire(reason string) {
	a.mu.Lock()
	if a.phase.Terminal() || a.expireReason != "" {
		a.mu.Unlock()
		return
	}
	a.expireReason = reason
	a.expired.Store(true)
	responded := a.phase == completion.PhaseResponded
	if responded {
		a.unfinished = a.pendingLocked()
	}
	a.mu.Unlock()
	a.cancel()
	if responded {
		a.expireAfterGrace()
	}
	// Otherwise the handler is still running: respond takes over when it returns.
}

// expireAfterGrace waits briefly for cancelled work to return, then reports
// the activation expired whatever is still running.
func (a *Activation) expireAfterGrace() {
	grace := time.NewTimer(expireGrace)
	defer grace.Stop()
	select {
	case <-a.finishedCh:
		return
	case <-grace.C:
	}
	a.mu.Lock()
	if a.phase.Terminal() {
		a.mu.Unlock()
		return
	}
	f := a.doneFrameLocked()
	a.loop.send(f)
	a.mu.Unlock()
	a.logger.Warn("activation expired with work pending", "unfinished", f.Unfinished)
	a.finish()
}

func (a *Activation) finish() {
	if a.deadlineTimer != nil {
		a.deadlineTimer.Stop()
	}
	close(a.finishedCh)
	a.cancel()
	a.loop.forget(a)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
