package sdk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/epilogue-dev/epilogue/durable"
)

// Durable tasks. Bounds and defaults.
const (
	// DefaultAttempts is how many times a task runs before it is
	// dead-lettered, unless Attempts says otherwise.
	DefaultAttempts = 3
	// DefaultBackoff is the wait before the second attempt; it doubles
	// after each failure, up to maxBackoff.
	DefaultBackoff = time.Second
	maxBackoff     = time.Minute
	// storeBound bounds one store operation.
	storeBound = 10 * time.Second
	// handBackMargin is the most time taken from the end of an activation
	// to hand a running task back for a continuation.
	handBackMargin = 2 * time.Second
)

// TaskOption configures a task.
type TaskOption func(*taskDef)

// Attempts sets how many times the task runs before it is dead-lettered
// (n >= 1). An attempt whose container dies counts.
func Attempts(n int) TaskOption { return func(d *taskDef) { d.attempts = max(n, 1) } }

// Backoff sets the wait before the second attempt; it doubles after each
// failure, up to a minute.
func Backoff(first time.Duration) TaskOption { return func(d *taskDef) { d.backoff = max(first, 0) } }

type taskDef struct {
	name     string
	run      func(ctx context.Context, payload json.RawMessage) error
	attempts int
	backoff  time.Duration
}

var registry struct {
	mu     sync.Mutex
	tasks  map[string]*taskDef       // guarded by mu
	stores map[string]*durable.Store // guarded by mu; by address
}

// consumer names this process in the store's consumer group.
var consumer = func() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}()

// Task registers a durable task named name: Start starts it, and the
// recoverer re-invokes the action to run it again when its container went
// away or its activation's deadline came first. Register every task before
// Run (from main or init), under a name stable across versions of the
// action. fn must make its effects idempotent (TaskID gives a stable key):
// a task runs at least once, and more than once when a container dies
// after the effect and before the acknowledgement.
func Task[P any](name string, fn func(ctx context.Context, payload P) error, opts ...TaskOption) {
	d := &taskDef{name: name, attempts: DefaultAttempts, backoff: DefaultBackoff}
	d.run = func(ctx context.Context, raw json.RawMessage) error {
		var p P
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("the payload does not fit the task's type %T: %w", p, err)
		}
		return fn(ctx, p)
	}
	for _, o := range opts {
		o(d)
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.tasks == nil {
		registry.tasks = map[string]*taskDef{}
	}
	registry.tasks[name] = d
}

func lookupTask(name string) *taskDef {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	return registry.tasks[name]
}

// Start starts the task registered as name with payload, and returns its
// stable id. Before Start returns, the intent is stored (so a task started
// before the response is durable before the client hears anything); the
// task then runs in this container as tracked work. ctx must be an
// activation's, and the task store's address must be in the environment
// or a bound parameter (EPILOGUE_TASKS_REDIS).
func Start(ctx context.Context, name string, payload any) (string, error) {
	a := From(ctx)
	if a == nil {
		return "", errors.New("sdk.Start needs the activation's context (the handler's ctx, or one derived from it)")
	}
	d := lookupTask(name)
	if d == nil {
		return "", fmt.Errorf("sdk.Start: no task is registered as %q: call sdk.Task(%q, fn) before sdk.Run", name, name)
	}
	st, lease, err := a.taskStore()
	if err != nil {
		return "", err
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("sdk.Start: the payload of task %q cannot be encoded as JSON: %w", name, err)
	}
	in := durable.Intent{Task: name, Action: a.ActionName, Activation: a.ID, Payload: raw, Attempts: d.attempts, Deadline: a.Deadline}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeBound)
	defer cancel()
	if in.ID, err = st.Append(sctx, in, consumer); err != nil {
		return "", fmt.Errorf("sdk.Start: task %q: %w", name, err)
	}
	in.TaskID = in.ID
	a.runTask(st, in, d, lease)
	return in.ID, nil
}

// TaskID returns the running task's stable id ("" outside a task): the
// same in every attempt, recovery and continuation, so an effect keyed by
// it is applied once however often the task runs.
func TaskID(ctx context.Context) string {
	if t := runningFrom(ctx); t != nil {
		return t.in.TaskID
	}
	return ""
}

// Checkpoint saves the running task's progress as state (JSON-encoded). A
// task still running at its activation's deadline is continued in a new
// activation, where LastCheckpoint returns the last state saved.
func Checkpoint(ctx context.Context, state any) error {
	t := runningFrom(ctx)
	if t == nil {
		return errors.New("sdk.Checkpoint needs a running task's context (the ctx its function was given)")
	}
	b, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("sdk.Checkpoint: the state cannot be encoded as JSON: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeBound)
	defer cancel()
	return t.st.Checkpoint(sctx, t.in.ID, b)
}

// LastCheckpoint decodes the running task's last checkpoint into into and
// reports whether there was one.
func LastCheckpoint(ctx context.Context, into any) (bool, error) {
	t := runningFrom(ctx)
	if t == nil {
		return false, errors.New("sdk.LastCheckpoint needs a running task's context (the ctx its function was given)")
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeBound)
	defer cancel()
	s, err := t.st.GetState(sctx, t.in.ID)
	if err != nil || len(s.Checkpoint) == 0 {
		return false, err
	}
	return true, json.Unmarshal(s.Checkpoint, into)
}

type taskKey struct{}

type runningTask struct {
	st *durable.Store
	in durable.Intent
}

func runningFrom(ctx context.Context) *runningTask {
	t, _ := ctx.Value(taskKey{}).(*runningTask)
	return t
}

// setting reads a task setting from the environment, then from the
// activation's parameters (a parameter bound to the action).
func (a *Activation) setting(key string) string {
	if v := a.loop.o.getenv(key); v != "" {
		return v
	}
	var params map[string]json.RawMessage
	if json.Unmarshal(a.Params, &params) != nil {
		return ""
	}
	var v string
	_ = json.Unmarshal(params[key], &v)
	return v
}

// taskStore returns the store the activation's settings name, and the lease.
func (a *Activation) taskStore() (*durable.Store, time.Duration, error) {
	addr := a.setting(durable.EnvRedis)
	if addr == "" {
		return nil, 0, fmt.Errorf("durable tasks need a store: set %s to the Redis address (host:port or redis://host:port) in the action's environment, or bind it: wsk action update ACTION -p %s redis://HOST:6379", durable.EnvRedis, durable.EnvRedis)
	}
	lease := durable.DefaultLease
	if s := a.setting(durable.EnvLease); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, 0, fmt.Errorf("%s=%q is not a positive duration such as 30s", durable.EnvLease, s)
		}
		lease = d
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if st := registry.stores[addr]; st != nil {
		return st, lease, nil
	}
	st, err := durable.Open(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", durable.EnvRedis, err)
	}
	if registry.stores == nil {
		registry.stores = map[string]*durable.Store{}
	}
	registry.stores[addr] = st
	return st, lease, nil
}

// taskParamKey is the reserved parameter as the recoverer writes it.
var taskParamKey = []byte(`"` + durable.TaskParam + `"`)

// resumeRef returns the reserved parameter's value when the activation is
// a recovery or continuation of a task. Parameters that do not hold the
// key's plain text are not decoded here: every activation passes through,
// and the handler decodes them again. A key spelled with escapes is an
// ordinary parameter (the recoverer never escapes it).
func resumeRef(params json.RawMessage) (durable.Resume, bool, error) {
	if !bytes.Contains(params, taskParamKey) {
		return durable.Resume{}, false, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(params, &m) != nil {
		return durable.Resume{}, false, nil
	}
	raw, ok := m[durable.TaskParam]
	if !ok {
		return durable.Resume{}, false, nil
	}
	var r durable.Resume
	if err := json.Unmarshal(raw, &r); err != nil || r.ID == "" {
		return r, true, fmt.Errorf("the reserved parameter %s must be {\"id\": TASK_ID, ...}: it is set by the task recoverer, not by callers", durable.TaskParam)
	}
	return r, true, nil
}

// resumeTask runs the intent r names instead of the handler, and answers
// with the link to the activation it recovers or continues.
func (a *Activation) resumeTask(r durable.Resume) (any, error) {
	st, lease, err := a.taskStore()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx), storeBound)
	defer cancel()
	in, err := st.Get(ctx, r.ID)
	if errors.Is(err, durable.ErrNotFound) {
		return map[string]any{"taskIntent": r.ID, "finished": true}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string]any{"task": in.Task, "taskId": in.TaskID}
	if r.ContinuationOf != "" {
		out[durable.ReasonContinuation] = r.ContinuationOf
	} else {
		out[durable.ReasonRecovery] = r.RecoveryOf
	}
	d := lookupTask(in.Task)
	if d == nil {
		err := fmt.Errorf("this action has no task registered as %q (was it renamed in a new version?); the intent is dead-lettered: fix the action, then epilogue tasks retry", in.Task)
		if derr := st.DeadLetter(ctx, in, err.Error()); derr != nil {
			return nil, errors.Join(err, derr)
		}
		return nil, err
	}
	if ok, err := st.Heartbeat(ctx, in.ID, consumer); err != nil || !ok {
		return map[string]any{"taskIntent": r.ID, "finished": true}, err
	}
	a.runTask(st, in, d, lease)
	return out, nil
}

// runTask runs the intent as tracked work of the activation.
func (a *Activation) runTask(st *durable.Store, in durable.Intent, d *taskDef, lease time.Duration) {
	Go(a.ctx, "task "+in.Task+" "+in.TaskID, func(ctx context.Context) error {
		return a.runIntent(ctx, st, in, d, lease)
	})
}

var errDropped = errors.New("the task was dropped by an operator")

// runIntent runs attempts until one succeeds (acknowledged), the attempts
// are spent (dead-lettered), or the activation's end nears (handed back
// for a continuation). The lease is renewed throughout.
func (a *Activation) runIntent(actx context.Context, st *durable.Store, in durable.Intent, d *taskDef, lease time.Duration) error {
	tctx, stop := context.WithCancelCause(actx)
	defer stop(nil)
	if !a.Deadline.IsZero() {
		margin := min(handBackMargin, time.Until(a.Deadline)/4)
		var c context.CancelFunc
		tctx, c = context.WithDeadline(tctx, a.Deadline.Add(-margin))
		defer c()
	}
	beat := make(chan struct{})
	beatCtx := tctx
	a.loop.goTracked(func() { defer close(beat); heartbeat(beatCtx, st, in.ID, lease/3, stop, a) })
	defer func() { stop(nil); <-beat }()
	tctx = context.WithValue(tctx, taskKey{}, &runningTask{st: st, in: in})
	// Store operations outlive the task's context: the hand-back happens
	// because that context ended.
	sctx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(actx), storeBound)
	}
	for {
		c, cancel := sctx()
		n, err := st.BeginAttempt(c, in.ID, a.ID)
		cancel()
		if err != nil {
			return fmt.Errorf("the task could not begin (it stays pending and will be recovered): %w", err)
		}
		if n > in.Attempts {
			c, cancel := sctx()
			defer cancel()
			msg := fmt.Sprintf("attempt %d of %d began and never ended: its container went away", n-1, in.Attempts)
			return errors.Join(errors.New("task dead-lettered: "+msg), st.DeadLetter(c, in, msg))
		}
		err = callTask(tctx, d, in.Payload)
		if err == nil {
			c, cancel := sctx()
			defer cancel()
			_, err := st.Ack(c, in.ID)
			return err
		}
		if ended, err := a.handBack(tctx, st, in, sctx); ended {
			return err
		}
		msg := fmt.Sprintf("attempt %d: %v", n, err)
		a.logger.Warn("a task attempt failed", "task", in.Task, "taskId", in.TaskID, "error", msg)
		c, cancel = sctx()
		rerr := st.RecordError(c, in.ID, msg)
		cancel()
		if n >= in.Attempts {
			c, cancel := sctx()
			defer cancel()
			return errors.Join(fmt.Errorf("task %s (%s) dead-lettered after %d attempts; the last: %s", in.Task, in.TaskID, n, msg),
				rerr, st.DeadLetter(c, in))
		}
		wait := time.NewTimer(min(d.backoff<<(n-1), maxBackoff))
		select {
		case <-wait.C:
		case <-tctx.Done():
			wait.Stop()
			_, err := a.handBack(tctx, st, in, sctx)
			return err
		}
	}
}

// handBack ends the run when the task's context ended (ended is false
// while the task may go on): dropped by an operator, there is nothing to
// do; otherwise the activation's end is near, and the intent is released
// for a continuation.
func (a *Activation) handBack(tctx context.Context, st *durable.Store, in durable.Intent, sctx func() (context.Context, context.CancelFunc)) (ended bool, err error) {
	if tctx.Err() == nil {
		return false, nil
	}
	if errors.Is(context.Cause(tctx), errDropped) {
		return true, nil
	}
	c, cancel := sctx()
	defer cancel()
	if err := st.Release(c, in.ID, consumer); err != nil {
		return true, fmt.Errorf("the task could not be handed back (it will be recovered once its lease lapses): %w", err)
	}
	a.logger.Info("the task was stopped before the activation's deadline; it continues from its last checkpoint in a new activation", "task", in.Task, "taskId", in.TaskID)
	return true, nil
}

// callTask runs one attempt; a panic is its error.
func callTask(ctx context.Context, d *taskDef, payload json.RawMessage) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return d.run(ctx, payload)
}

// heartbeat renews the lease every interval until ctx ends; it stops the
// task when the intent is no longer pending (dropped by an operator).
func heartbeat(ctx context.Context, st *durable.Store, id string, interval time.Duration, stop context.CancelCauseFunc, a *Activation) {
	t := time.NewTicker(max(interval, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c, cancel := context.WithTimeout(ctx, storeBound)
		ok, err := st.Heartbeat(c, id, consumer)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			a.logger.Warn("cannot renew a task's lease; the recoverer may run it again elsewhere", "taskIntent", id, "error", err)
		case err == nil && !ok:
			stop(errDropped)
			return
		}
	}
}
