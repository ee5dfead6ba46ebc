package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/epilogue-dev/epilogue/actionloop"
)

// action is the fixture's state. fd3, stdout and stderr are injectable so the
// handler can be tested in-process.
type action struct {
	extended bool
	stdout   io.Writer
	stderr   io.Writer
	// exit ends the process; tests replace it.
	exit func(code int)

	// fd3 writes every fd 3 line whole: lingering goroutines write done
	// frames concurrently with the main loop's responses.
	fd3 *actionloop.ActionWriter

	// envKeys are the __OW_ variables the previous request set.
	envKeys map[string]bool

	cancelMu sync.Mutex
	cancels  map[uint64]context.CancelFunc

	// work counts goroutines still running after their activation answered.
	work sync.WaitGroup
}

func newAction(fd3, stdout, stderr io.Writer, extended bool) *action {
	return &action{
		extended: extended,
		stdout:   stdout,
		stderr:   stderr,
		exit:     os.Exit,
		fd3:      actionloop.NewActionWriter(fd3, extended),
		envKeys:  map[string]bool{},
		cancels:  map[uint64]context.CancelFunc{},
	}
}

// options are the behaviour switches read from an object value.
type options struct {
	Quiet          bool    `json:"quiet"`
	Env            bool    `json:"env"`
	EnvPrefix      string  `json:"envprefix"`
	Array          bool    `json:"array"`
	NotJSON        bool    `json:"notjson"`
	Scalar         bool    `json:"scalar"`
	Crash          bool    `json:"crash"`
	SleepMs        float64 `json:"sleep_ms"`
	Stray          bool    `json:"stray"`
	Bg             float64 `json:"bg"`
	LingerMs       float64 `json:"linger_ms"`
	FailAfter      bool    `json:"fail_after"`
	PendingUpdates bool    `json:"pending_updates"`
	Delimiter      string  `json:"delimiter"`
	Gate           string  `json:"gate"`
	ResponseGate   string  `json:"response_gate"`
	Instance       bool    `json:"instance"`
}

// serve reads request lines until stdin closes, then waits (bounded) for
// lingering work.
func (a *action) serve(in io.Reader) {
	r := actionloop.NewActionReader(in, maxLine)
	for {
		m, err := r.Next()
		if err != nil && !errors.Is(err, actionloop.ErrLineTooLong) && !errors.Is(err, actionloop.ErrNotRequest) {
			a.wait(drainBound)
			return
		}
		a.dispatch(m, err)
	}
}

// dispatch handles one stdin message, or the error reading it.
func (a *action) dispatch(m actionloop.Message, err error) {
	switch {
	case errors.Is(err, actionloop.ErrLineTooLong):
		a.writeError(err.Error())
	case err != nil:
		a.writeError("testaction: cannot parse request: " + err.Error())
	case m.Control != "":
		a.control(m)
	default:
		a.handle(m)
	}
}

// wait waits for lingering work, at most d; it reports whether all finished.
func (a *action) wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		a.work.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// handle runs one request.
func (a *action) handle(req actionloop.Message) {
	seq := req.Seq
	if a.extended && seq == 0 {
		a.writeError("testaction: request without " + actionloop.SeqKey)
		return
	}
	a.setEnv(req.Context)
	activationID := os.Getenv(actionloop.ContextActivationID)

	value := req.Value
	var o options
	if v := bytes.TrimSpace(value); len(v) > 0 && v[0] == '{' {
		// Switches of the wrong type are ignored; the others still apply.
		_ = json.Unmarshal(v, &o)
	}

	if o.Crash {
		a.exit(2)
		return
	}
	if o.SleepMs > 0 {
		time.Sleep(time.Duration(o.SleepMs * float64(time.Millisecond)))
	}
	if err := passGate(context.Background(), o.ResponseGate); err != nil {
		a.writeError("testaction: " + err.Error())
		return
	}

	winter := o.Delimiter + " ☃ " + o.Delimiter
	switch {
	case o.Quiet:
	case o.Delimiter != "":
		fmt.Fprintln(a.stdout, winter)
	default:
		fmt.Fprintln(a.stdout, "hello stdout")
		fmt.Fprintln(a.stderr, "hello stderr")
	}

	linger := time.Duration(o.LingerMs * float64(time.Millisecond))
	label := fmt.Sprintf("sleep %sms", strconv.FormatFloat(o.LingerMs, 'f', -1, 64))

	var result any
	switch {
	case o.NotJSON:
		a.writeRaw([]byte("not json"))
		a.after(o, activationID)
		return
	case linger > 0:
		accepted := map[string]any{"accepted": true, "linger_ms": json.Number(strconv.FormatFloat(o.LingerMs, 'f', -1, 64))}
		if o.Instance {
			accepted["instance"] = instance
		}
		result = accepted
	case o.Instance:
		result = map[string]string{"instance": instance}
	case o.Env:
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		result = env
	case o.EnvPrefix != "":
		var pairs []string
		for _, kv := range os.Environ() {
			if strings.HasPrefix(kv, o.EnvPrefix) {
				pairs = append(pairs, kv)
			}
		}
		sort.Strings(pairs)
		result = map[string]string{"env": strings.Join(pairs, " ")}
	case o.Array:
		result = []string{"a", "b"}
	case o.Scalar:
		result = 42
	case o.Delimiter != "":
		result = map[string]string{"winter": winter}
	case len(bytes.TrimSpace(value)) == 0:
		result = map[string]any{}
	default:
		result = json.RawMessage(value)
	}

	if !a.extended {
		if raw, ok := result.(json.RawMessage); ok {
			a.writeRaw(raw) // echo: the value exactly as received
		} else {
			a.writeJSON(result)
		}
		a.after(o, activationID)
		if linger > 0 {
			a.goWork(func() {
				time.Sleep(linger)
				if err := passGate(context.Background(), o.Gate); err != nil {
					fmt.Fprintln(a.stderr, "testaction:", err)
					return
				}
				fmt.Fprintln(a.stdout, "lingering "+activationID)
			})
		}
		return
	}

	res, err := marshal(result)
	if err != nil {
		a.writeError("testaction: " + err.Error())
		return
	}
	frame := actionloop.Frame{Kind: actionloop.KindResponse, Seq: seq, Result: res, Done: linger <= 0}
	if linger > 0 {
		frame.Pending = []string{label}
	}

	var ctx context.Context
	var cancel context.CancelFunc
	if linger > 0 {
		// Register before answering so a cancel frame can never miss it.
		if d := req.Deadline(); !d.IsZero() {
			ctx, cancel = context.WithDeadline(context.Background(), d)
		} else {
			ctx, cancel = context.WithCancel(context.Background())
		}
		a.cancelMu.Lock()
		a.cancels[seq] = cancel
		a.cancelMu.Unlock()
	}
	a.send(frame)
	respondedAt := time.Now()
	a.after(o, activationID)
	if linger > 0 {
		a.goWork(func() { a.linger(ctx, cancel, seq, linger, label, o, activationID, respondedAt) })
	}
}

// linger is the post-response work of an extended activation.
func (a *action) linger(ctx context.Context, cancel context.CancelFunc, seq uint64, d time.Duration, label string, o options, activationID string, respondedAt time.Time) {
	defer func() {
		a.cancelMu.Lock()
		delete(a.cancels, seq)
		a.cancelMu.Unlock()
		cancel()
	}()
	// finished closes when the work is over: linger_ms has passed, then
	// the gate (if any) has opened.
	finished := make(chan struct{})
	var gateErr error
	go func() {
		defer close(finished)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			gateErr = ctx.Err()
			return
		}
		gateErr = passGate(ctx, o.Gate)
	}()
	var half <-chan time.Time
	if o.PendingUpdates {
		t := time.NewTimer(d / 2)
		defer t.Stop()
		half = t.C
	}
	since := func() float64 { return float64(time.Since(respondedAt)) / float64(time.Millisecond) }
	for {
		select {
		case <-half:
			half = nil
			a.send(actionloop.Frame{Kind: actionloop.KindPending, Seq: seq, Pending: []string{label}})
		case <-finished:
			if gateErr != nil && ctx.Err() != nil {
				finished = nil // cancelled: the ctx.Done case reports it
				continue
			}
			if gateErr != nil {
				a.send(actionloop.Frame{Kind: actionloop.KindDone, Seq: seq, Status: actionloop.StatusError,
					Error: gateErr.Error(), Errors: []string{gateErr.Error()}, PostResponseMs: since()})
				return
			}
			fmt.Fprintln(a.stdout, "lingering "+activationID)
			done := actionloop.Frame{Kind: actionloop.KindDone, Seq: seq, Status: actionloop.StatusOK, PostResponseMs: since()}
			if o.FailAfter {
				done.Status = actionloop.StatusError
				done.Error = "post-response write failed"
				done.Errors = []string{"post-response write failed"}
			}
			a.send(done)
			return
		case <-ctx.Done():
			a.send(actionloop.Frame{Kind: actionloop.KindDone, Seq: seq, Status: actionloop.StatusExpired,
				Unfinished: []string{label}, PostResponseMs: since()})
			return
		}
	}
}

// after starts the stray and bg goroutines once the activation has answered.
func (a *action) after(o options, activationID string) {
	if o.Stray {
		a.goWork(func() {
			time.Sleep(100 * time.Millisecond)
			a.writeRaw([]byte(`{"stray":"written to fd3 after the activation returned"}`))
		})
	}
	if n := int(o.Bg); n > 0 {
		a.goWork(func() {
			for k := 1; k <= n; k++ {
				time.Sleep(50 * time.Millisecond)
				fmt.Fprintf(a.stdout, "bg tick %d\n", k)
			}
		})
	}
}

func (a *action) goWork(f func()) {
	a.work.Add(1)
	go func() {
		defer a.work.Done()
		f()
	}()
}

// control handles a control frame on stdin: cancel cancels the lingering
// work of that seq, whose goroutine then sends the expired done frame.
func (a *action) control(m actionloop.Message) {
	if !a.extended || m.Control != actionloop.KindCancel {
		fmt.Fprintf(a.stderr, "testaction: ignoring control frame %q for %d\n", m.Control, m.Seq)
		return
	}
	a.cancelMu.Lock()
	cancel := a.cancels[m.Seq]
	a.cancelMu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// setEnv exports the request's context variables and unsets the ones the
// previous request set but this one lacks.
func (a *action) setEnv(context map[string]string) {
	seen := make(map[string]bool, len(context))
	for name, val := range context {
		if os.Setenv(name, val) == nil {
			seen[name] = true
		}
	}
	for name := range a.envKeys {
		if !seen[name] {
			os.Unsetenv(name)
		}
	}
	a.envKeys = seen
}

// marshal encodes v compactly without HTML escaping, so echoed results keep
// their bytes.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func (a *action) writeJSON(v any) {
	b, err := marshal(v)
	if err != nil {
		fmt.Fprintln(a.stderr, "testaction:", err)
		return
	}
	a.writeRaw(b)
}

func (a *action) writeError(msg string) {
	a.writeJSON(map[string]string{"error": msg})
}

// send writes one extension frame on fd 3.
func (a *action) send(f actionloop.Frame) {
	if err := a.fd3.Send(f); err != nil {
		fmt.Fprintln(a.stderr, "testaction:", err)
	}
}

// writeRaw writes one line on fd 3. stdout and stderr are unbuffered, so
// everything printed before is already out.
func (a *action) writeRaw(b []byte) {
	if err := a.fd3.Raw(b); err != nil {
		fmt.Fprintln(a.stderr, "testaction:", err)
	}
}
