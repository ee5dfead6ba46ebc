package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/completion"
)

// Bounds.
const (
	// expireGrace is how long cancelled work may take to return at the
	// deadline before the activation is reported expired anyway. The proxy
	// waits longer (its cancel grace), so the report reaches it in time.
	expireGrace = 250 * time.Millisecond
	// drainTimeout bounds how long the process waits, once stdin closes, for
	// activations without a deadline to finish.
	drainTimeout   = 10 * time.Second
	maxRequestLine = 64 << 20
)

// Option configures Run.
type Option func(*options)

// Strict makes goroutines that the handler started without tracking count
// as pending work until they exit.
func Strict() Option { return func(o *options) { o.strict = true } }

// IgnoreGoroutines excludes goroutines created by functions whose name starts
// with one of the prefixes (e.g. a client library's pool) from untracked-work
// detection.
func IgnoreGoroutines(prefixes ...string) Option {
	return func(o *options) { o.ignore = append(o.ignore, prefixes...) }
}

// Processors sets how many CPUs the action's goroutines may run on at once
// (runtime.GOMAXPROCS); n <= 0 keeps Go's default, one per CPU of the host.
// Without this option Run uses one, unless the GOMAXPROCS environment
// variable says otherwise: an action serves one event at a time and mostly
// waits on I/O, and with more processors every hand-over between its
// goroutines can wake a thread on another CPU, which in a container costs
// more than the work handed over (make bench measured a hello action's
// activations 10–20 % faster with one). An action that computes in parallel
// within one event should pass Processors(0).
func Processors(n int) Option { return func(o *options) { o.procs, o.procsSet = n, true } }

type options struct {
	procs    int
	procsSet bool
	strict   bool
	ignore   []string
	stdin    io.Reader
	fd3      io.Writer
	stdout   io.Writer
	stderr   io.Writer
	getenv   func(string) string
	setenv   func(k, v string)
	unset    func(k string)
}

// Handler is what Run calls for every activation: In is decoded from the
// request's value (an object or an array), Out is encoded as the result (an
// object or an array). A returned error becomes the application error
// {"error": "..."}.
type Handler[In, Out any] func(ctx context.Context, in In) (Out, error)

// Run serves activations with h until the proxy closes stdin, then exits the
// process. Call it from main.
func Run[In, Out any](h Handler[In, Out], opts ...Option) {
	o := options{
		stdin: os.Stdin, fd3: os.NewFile(3, "fd3"), stdout: os.Stdout, stderr: os.Stderr,
		getenv: os.Getenv, setenv: func(k, v string) { _ = os.Setenv(k, v) }, unset: func(k string) { _ = os.Unsetenv(k) },
	}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case o.procsSet && o.procs > 0:
		runtime.GOMAXPROCS(o.procs)
	case !o.procsSet && os.Getenv("GOMAXPROCS") == "":
		runtime.GOMAXPROCS(1)
	}
	if err := serve(o, adapt(h)); err != nil {
		fmt.Fprintln(o.stderr, "epilogue sdk:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// handlerFunc is a Handler with its types erased.
type handlerFunc func(ctx context.Context, value json.RawMessage) (any, error)

func adapt[In, Out any](h Handler[In, Out]) handlerFunc {
	return func(ctx context.Context, value json.RawMessage) (any, error) {
		var in In
		if len(value) > 0 {
			if err := json.Unmarshal(value, &in); err != nil {
				return nil, fmt.Errorf("the parameters do not fit the action's input type %T: %v", in, err)
			}
		}
		return h(ctx, in)
	}
}

// loop is one action process's side of the protocol.
type loop struct {
	o        options
	h        handlerFunc
	extended bool
	out      *actionloop.ActionWriter // fd 3
	log      *slog.Logger
	// sdkGoroutines counts the goroutines this package runs for handlers and
	// tracked work, so they are not taken for untracked work.
	sdkGoroutines atomic.Int64

	mu      sync.Mutex
	active  map[uint64]*Activation // guarded by mu; not yet finished
	envKeys []string               // guarded by mu; context variables set by the last request
	noSeq   uint64                 // guarded by mu; sequence for upstream-mode activations
}

func serve(o options, h handlerFunc) error {
	l := &loop{o: o, h: h, active: map[uint64]*Activation{}}
	l.log = slog.New(slog.NewTextHandler(o.stdout, nil))
	wantsAck, extended := actionloop.Negotiate(o.getenv)
	l.extended = extended
	l.out = actionloop.NewActionWriter(o.fd3, extended)
	if wantsAck {
		if err := l.out.Ack(); err != nil {
			return fmt.Errorf("cannot write the ack on fd 3 (is this running under an OpenWhisk action proxy?): %w", err)
		}
	}
	if !l.extended {
		fmt.Fprintln(o.stderr, "epilogue sdk: the action proxy does not speak the Epilogue extension, so each activation counts as done when it responds and work still running then is not awaited; run the action on the epilogue/action-go image for completion tracking")
	}
	end := make(chan error, 1)
	l.read(actionloop.NewActionReader(o.stdin, maxRequestLine), end)
	err := <-end
	l.drain()
	return err
}

// read reads stdin until a request arrives, then hands reading over to a new
// goroutine and runs the handler itself: the handler starts at once on a
// goroutine that is already running, and reading goes on (for cancel frames
// and, under overlap semantics, the next request) while it works. Only one
// goroutine reads at a time. end receives the outcome when stdin closes.
func (l *loop) read(r *actionloop.ActionReader, end chan<- error) {
	for {
		m, err := r.Next()
		switch {
		case errors.Is(err, actionloop.ErrLineTooLong):
			end <- fmt.Errorf("a request line was too long: %w", err)
			return
		case errors.Is(err, actionloop.ErrNotRequest):
			// The proxy only sends JSON objects, so this is not an activation
			// we can answer in extended mode; in upstream mode answer it.
			if !l.extended {
				_ = l.out.Raw(mustJSON(map[string]string{"error": fmt.Sprintf("epilogue sdk: cannot read the request: %v", err)}))
			}
			continue
		case err != nil:
			end <- nil // stdin closed: the proxy is done with us
			return
		}
		a := l.accept(m)
		if a == nil {
			continue
		}
		l.goTracked(func() { l.read(r, end) })
		l.runHandler(a)
		return
	}
}

func (l *loop) cancel(seq uint64) {
	l.mu.Lock()
	a := l.active[seq]
	l.mu.Unlock()
	if a != nil {
		go a.expire("the deadline passed with work pending; the proxy cancelled it")
	}
}

// accept turns a stdin message into an activation ready to run, or handles
// it (a control frame, a request extended mode cannot answer) and returns nil.
func (l *loop) accept(m actionloop.Message) *Activation {
	if m.Control != "" {
		if l.extended && m.Control == actionloop.KindCancel {
			l.cancel(m.Seq)
		}
		return nil
	}
	if l.extended && m.Seq == 0 {
		return nil // not from an Epilogue proxy: nothing to pair a response with
	}
	env := m.Context
	l.mu.Lock()
	if m.Seq == 0 {
		l.noSeq++
		m.Seq = l.noSeq
	}
	l.setContextEnvLocked(env)
	l.mu.Unlock()

	a := &Activation{
		ID: env[actionloop.ContextActivationID], ActionName: env["__OW_ACTION_NAME"], ActionVersion: env["__OW_ACTION_VERSION"],
		Namespace: env["__OW_NAMESPACE"], TransactionID: env["__OW_TRANSACTION_ID"], APIKey: env["__OW_API_KEY"],
		APIHost: l.o.getenv("__OW_API_HOST"), Params: m.Value, TraceParent: m.TraceParent,
		seq: m.Seq, loop: l, start: time.Now(), phase: completion.PhaseRunning, work: map[*Work]string{}, goids: map[uint64]bool{}, finishedCh: make(chan struct{}),
	}
	a.Deadline = m.Deadline()
	a.logger = l.log.With("activation", a.ID)
	// The deadline is enforced by a timer rather than context.WithDeadline:
	// work must see its context end only after the activation has recorded
	// what was pending, or work that returns on cancellation would pass for
	// finished.
	actx := &activationContext{deadline: a.Deadline}
	actx.Context, a.cancel = context.WithCancel(context.WithValue(context.Background(), ctxKey{}, a))
	a.ctx, a.expired = actx, &actx.expired
	if !a.Deadline.IsZero() {
		a.deadlineTimer = time.AfterFunc(time.Until(a.Deadline), func() { a.expire("the deadline passed with work pending") })
	}
	l.mu.Lock()
	l.active[a.seq] = a
	l.mu.Unlock()

	a.mu.Lock()
	a.handler = a.trackLocked("handler", false)
	a.mu.Unlock()
	a.baseline = runtime.NumGoroutine() - int(l.sdkGoroutines.Load())
	return a
}

// runHandler runs the handler on the calling goroutine and responds; a
// recovery or continuation of a durable task (the reserved parameter) runs
// the task instead.
func (l *loop) runHandler(a *Activation) {
	a.adopt()
	var v any
	r, isTask, err := resumeRef(a.Params)
	switch {
	case err != nil:
	case isTask:
		v, err = a.resumeTask(r)
	default:
		v, err = l.call(a)
	}
	a.handler.Done()
	a.respond(v, err)
}

// activationContext reports the activation deadline and, once the deadline
// has ended it, context.DeadlineExceeded.
type activationContext struct {
	context.Context
	deadline time.Time
	expired  atomic.Bool
}

func (c *activationContext) Deadline() (time.Time, bool) { return c.deadline, !c.deadline.IsZero() }

func (c *activationContext) Err() error {
	err := c.Context.Err()
	if err != nil && c.expired.Load() {
		return context.DeadlineExceeded
	}
	return err
}

// goTracked runs f in a goroutine counted as the SDK's own.
func (l *loop) goTracked(f func()) {
	l.sdkGoroutines.Add(1)
	go func() {
		defer l.sdkGoroutines.Add(-1)
		f()
	}()
}

// call runs the handler; a panic becomes an application error.
func (l *loop) call(a *Activation) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			a.logger.Error("the handler panicked", "panic", r, "stack", string(debug.Stack()))
			v, err = nil, fmt.Errorf("the action panicked: %v", r)
		}
	}()
	return l.h(a.ctx, a.Params)
}

// setContextEnvLocked exports the request's context values as __OW_*
// variables, unsetting those the previous request had and this one lacks.
func (l *loop) setContextEnvLocked(env map[string]string) {
	for _, k := range l.envKeys {
		if _, ok := env[k]; !ok {
			l.o.unset(k)
		}
	}
	l.envKeys = l.envKeys[:0]
	for k, v := range env {
		l.o.setenv(k, v)
		l.envKeys = append(l.envKeys, k)
	}
}

// send writes one frame; in upstream mode only a response's result is written.
func (l *loop) send(f actionloop.Frame) {
	if err := l.out.Send(f); err != nil {
		fmt.Fprintln(l.o.stderr, "epilogue sdk:", err)
	}
}

func (l *loop) forget(a *Activation) {
	l.mu.Lock()
	delete(l.active, a.seq)
	l.mu.Unlock()
}

// drain waits, once stdin has closed, for activations still finishing.
func (l *loop) drain() {
	limit := time.Now().Add(drainTimeout)
	l.mu.Lock()
	var waits []*Activation
	for _, a := range l.active {
		waits = append(waits, a)
		if a.Deadline.After(limit) {
			limit = a.Deadline
		}
	}
	l.mu.Unlock()
	t := time.NewTimer(time.Until(limit) + expireGrace)
	defer t.Stop()
	for _, a := range waits {
		select {
		case <-a.finishedCh:
		case <-t.C:
			return
		}
	}
}

// encodeResult turns the handler's outcome into the result JSON.
func encodeResult(v any, herr error) json.RawMessage {
	if herr != nil {
		return mustJSON(map[string]string{"error": herr.Error()})
	}
	b, err := json.Marshal(v)
	if err != nil {
		return mustJSON(map[string]string{"error": "epilogue sdk: cannot encode the result: " + err.Error()})
	}
	return b
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
