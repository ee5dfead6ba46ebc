package invokershim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/invoker-shim/journal"
	"github.com/epilogue-dev/epilogue/reclaim"
)

// maxCreateBody caps a containers/create body: a container's configuration,
// environment included.
const maxCreateBody = 4 << 20

// create forwards containers/create; for a runtime image it adds the
// instance name, the push address and the container's token.
func (s *Shim) create(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCreateBody+1))
	if err != nil {
		dockerError(w, http.StatusBadRequest, "epilogue-shim: reading the create body: "+err.Error())
		return
	}
	if len(body) > maxCreateBody {
		dockerError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("epilogue-shim: a container configuration of more than %d bytes is refused", maxCreateBody))
		return
	}
	if rewritten, instance, ok := s.rewriteCreate(body); ok {
		body = rewritten
		s.log.Info("runtime container created", "name", r.URL.Query().Get("name"), "instance", instance)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r.TransferEncoding = nil
	s.proxy.ServeHTTP(w, r)
}

// rewriteCreate adds the shim's environment and label to the configuration
// of a runtime container; ok is false for any other container (or a body
// the daemon will refuse anyway), which is forwarded untouched.
func (s *Shim) rewriteCreate(body []byte) ([]byte, string, bool) {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(body, &cfg); err != nil {
		return nil, "", false
	}
	var image string
	_ = json.Unmarshal(cfg["Image"], &image)
	labels := map[string]string{}
	if raw := cfg["Labels"]; len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &labels); err != nil {
			return nil, "", false
		}
	}
	if labels[LabelRuntime] == "" && !isRuntimeImage(image, s.cfg.RuntimeImages) {
		return nil, "", false
	}
	var env []string
	if raw := cfg["Env"]; len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &env); err != nil {
			return nil, "", false
		}
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	instance := hex.EncodeToString(b)
	env = append(env, completion.EnvInstance+"="+instance)
	if s.cfg.NotifyURL != "" {
		env = append(env, completion.EnvNotifyURL+"="+s.cfg.NotifyURL+EventsPath, completion.EnvNotifyToken+"="+s.token(instance))
	}
	labels[LabelInstance] = instance
	cfg["Env"], _ = json.Marshal(env)
	cfg["Labels"], _ = json.Marshal(labels)
	out, err := json.Marshal(cfg)
	if err != nil {
		return nil, "", false
	}
	return out, instance, true
}

// deferredOp is a journaled operation waiting for its runtime.
type deferredOp struct {
	entry  journal.Entry
	op     reclaim.Op
	cancel context.CancelFunc // ends the wait (an unpause, a removal, the shim's stop)
	done   chan struct{}      // closed once reply is set
	reply  daemonReply        // the daemon's answer to the operation when it was sent
	err    error
}

// journalOps are the journal's names of the intercepted calls.
var journalOps = map[action]journal.Op{pause: journal.Pause, remove: journal.Remove, kill: journal.Kill, stop: journal.Stop}

// containerCall handles pause, unpause, removal, kill and stop.
func (s *Shim) containerCall(w http.ResponseWriter, r *http.Request, a action, ref string) {
	c, info, err := s.lookup(r.Context(), ref)
	if err != nil || c == nil {
		// Not a runtime, gone, or the daemon failed: the daemon answers.
		s.proxy.ServeHTTP(w, r)
		return
	}
	if a != unpause && info.State != nil && info.State.Paused {
		// Frozen: its runtime cannot answer, and cannot make progress
		// either (the shim pauses a runtime for real only once it is
		// done). Waiting would only run into the bound.
		if a == remove {
			defer s.forget(c)
		}
		s.proxy.ServeHTTP(w, r)
		return
	}
	switch a {
	case pause:
		s.pauseCall(w, r, c)
	case unpause:
		s.unpauseCall(w, r, c, info.State != nil && info.State.Paused)
	default:
		s.holdCall(w, r, c, a)
	}
}

// decide asks the runtime once whether op may happen now. A runtime that
// does not answer within reclaim.StatusTimeout is not trusted: the answer
// is "not yet", and the gate's bound takes over.
func (s *Shim) decide(ctx context.Context, c *runtimeContainer, op reclaim.Op) (reclaim.Decision, bool) {
	ctx, cancel := context.WithTimeout(ctx, reclaim.StatusTimeout)
	defer cancel()
	snap, err := c.status.Status(ctx)
	if err != nil {
		return reclaim.Decision{Reason: "the runtime did not answer: " + err.Error()}, false
	}
	return reclaim.Decide(reclaim.Epilogue, op, snap, time.Now(), s.cfg.Bounds), true
}

func (s *Shim) pauseCall(w http.ResponseWriter, r *http.Request, c *runtimeContainer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pause != nil {
		w.WriteHeader(http.StatusNoContent) // already deferred
		return
	}
	d, _ := s.decide(r.Context(), c, reclaim.Pause)
	if d.Allow {
		if d.Forced {
			s.forcedNow(c, journal.Pause, r, d)
		}
		s.proxy.ServeHTTP(w, r)
		return
	}
	op, err := s.deferOp(c, journal.Pause, reclaim.Pause, r.URL.Path, r.URL.RawQuery)
	if err != nil {
		dockerError(w, http.StatusInternalServerError, "epilogue-shim: the pause could not be journaled, so it is neither done nor deferred: "+err.Error())
		return
	}
	c.pause = op
	s.log.Info("pause deferred: work pending", "container", c.name, "activations", d.Activations, "journal", op.entry.ID)
	w.WriteHeader(http.StatusNoContent)
}

// unpauseCall cancels a deferred pause and answers for the daemon; frozen
// says the container is paused for real all the same (paused behind the
// shim's back, or the daemon's own pause raced the deferral), and then the
// unpause must reach the daemon too, or the container stays frozen.
func (s *Shim) unpauseCall(w http.ResponseWriter, r *http.Request, c *runtimeContainer, frozen bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if op := c.pause; op != nil {
		reason := "unpaused before the real pause"
		if frozen {
			reason = "unpaused; the container was frozen outside the shim, so the unpause is forwarded"
		}
		if _, err := s.journal.Resolve(op.entry.ID, journal.Cancelled, reason, nil); err != nil {
			dockerError(w, http.StatusInternalServerError, "epilogue-shim: the cancelled pause could not be journaled: "+err.Error())
			return
		}
		op.cancel()
		c.pause = nil
		s.log.Info("unpause before the real pause: the pause is cancelled", "container", c.name, "journal", op.entry.ID, "forwarded", frozen)
		if !frozen {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	s.proxy.ServeHTTP(w, r)
}

// holdCall holds a removal, kill or stop until the runtime is done, at most
// HoldTimeout; the operation itself is sent when the runtime is done or its
// bound passes.
func (s *Shim) holdCall(w http.ResponseWriter, r *http.Request, c *runtimeContainer, a action) {
	jop := journalOps[a]
	c.mu.Lock()
	if p := c.pause; p != nil {
		if _, err := s.journal.Resolve(p.entry.ID, journal.Cancelled, "superseded by "+string(jop), nil); err != nil {
			c.mu.Unlock()
			dockerError(w, http.StatusInternalServerError, "epilogue-shim: the superseded pause could not be journaled: "+err.Error())
			return
		}
		p.cancel()
		c.pause = nil
	}
	if op := c.held; op != nil { // a repeated call waits for the same operation
		c.mu.Unlock()
		s.awaitHeld(w, r, c, op)
		return
	}
	d, _ := s.decide(r.Context(), c, reclaim.Remove)
	if d.Allow {
		if d.Forced {
			s.forcedNow(c, jop, r, d)
		}
		c.mu.Unlock()
		if a == remove {
			defer s.forget(c)
		}
		s.proxy.ServeHTTP(w, r)
		return
	}
	op, err := s.deferOp(c, jop, reclaim.Remove, r.URL.Path, r.URL.RawQuery)
	if err != nil {
		c.mu.Unlock()
		dockerError(w, http.StatusInternalServerError, "epilogue-shim: the "+string(jop)+" could not be journaled, so it is not held: "+err.Error())
		return
	}
	c.held = op
	c.mu.Unlock()
	s.log.Info(string(jop)+" held: work pending", "container", c.name, "activations", d.Activations, "journal", op.entry.ID)
	s.awaitHeld(w, r, c, op)
}

// awaitHeld answers a held call: with the daemon's reply once the
// operation was sent, or 204 at HoldTimeout (the operation then completes
// in the background) or when the shim stops (the journal keeps it).
func (s *Shim) awaitHeld(w http.ResponseWriter, r *http.Request, c *runtimeContainer, op *deferredOp) {
	t := time.NewTimer(s.cfg.HoldTimeout)
	defer t.Stop()
	select {
	case <-op.done:
		if op.err != nil {
			dockerError(w, http.StatusBadGateway, "epilogue-shim: "+op.err.Error())
			return
		}
		op.reply.write(w)
	case <-t.C:
		s.log.Warn("held past the hold timeout: answered; the call is sent when the work is done or its bound passes",
			"container", c.name, "op", op.entry.Op, "holdTimeout", s.cfg.HoldTimeout)
		w.WriteHeader(http.StatusNoContent)
	case <-s.ctx.Done():
		w.WriteHeader(http.StatusNoContent) // the journal keeps it for the next start
	case <-r.Context().Done():
	}
}

// forcedNow journals an operation sent at once because its bound passed.
func (s *Shim) forcedNow(c *runtimeContainer, jop journal.Op, r *http.Request, d reclaim.Decision) {
	s.log.Warn("forced reclaim: work still pending at its bound", "container", c.name, "op", jop, "activations", d.Activations, "reason", d.Reason)
	e, err := s.journal.Defer(journal.Entry{Op: jop, Container: c.id, Path: r.URL.Path, Query: r.URL.RawQuery})
	if err == nil {
		_, err = s.journal.Resolve(e.ID, journal.Forced, d.Reason, d.Activations)
	}
	if err != nil {
		s.log.Error("the forced reclaim could not be journaled", "container", c.name, "error", err)
	}
}

// deferOp journals an operation and starts waiting for the runtime. c.mu
// must be held.
func (s *Shim) deferOp(c *runtimeContainer, jop journal.Op, rop reclaim.Op, path, query string) (*deferredOp, error) {
	e, err := s.journal.Defer(journal.Entry{Op: jop, Container: c.id, Path: path, Query: query})
	if err != nil {
		return nil, err
	}
	return s.resume(c, e, rop), nil
}

// resume starts waiting for op's runtime; once the gate allows it, the
// operation is sent to the daemon and its outcome journaled.
func (s *Shim) resume(c *runtimeContainer, e journal.Entry, rop reclaim.Op) *deferredOp {
	ctx, cancel := context.WithCancel(s.ctx)
	op := &deferredOp{entry: e, op: rop, cancel: cancel, done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		s.complete(ctx, c, op)
	}()
	return op
}

// complete is a deferred operation's life after the invoker's call.
func (s *Shim) complete(ctx context.Context, c *runtimeContainer, op *deferredOp) {
	start := time.Now()
	gate := reclaim.Gate{Policy: reclaim.Epilogue, Bounds: s.cfg.Bounds, Source: source{c}}
	d, err := gate.Wait(ctx, op.op)
	if err != nil {
		return // cancelled by an unpause or a removal, or the shim stops: the canceller journals
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ctx.Err() != nil || (c.pause != op && c.held != op) {
		return // cancelled while the gate answered
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), daemonTimeout)
	defer scancel()
	method := http.MethodPost
	if op.entry.Op == journal.Remove {
		method = http.MethodDelete
	}
	reply, err := s.send(sctx, method, op.entry.Path, op.entry.Query)
	state, reason := journal.Applied, d.Reason
	switch {
	case err != nil:
		state, reason = journal.Failed, err.Error()
	case reply.status == http.StatusNotFound && op.entry.Op != journal.Pause:
		reason = "the container was already gone"
	case reply.status >= 300:
		state, reason = journal.Failed, fmt.Sprintf("the daemon answered %d: %s", reply.status, bytes.TrimSpace(reply.body))
	case d.Forced:
		state = journal.Forced
	}
	if d.Forced && state == journal.Failed {
		reason = d.Reason + "; then " + reason // a forced reclaim the daemon refused is still one
	}
	if _, jerr := s.journal.Resolve(op.entry.ID, state, reason, d.Activations); jerr != nil {
		s.log.Error("the outcome could not be journaled; the next start reconciles it with the daemon", "container", c.name, "journal", op.entry.ID, "error", jerr)
	}
	attrs := []any{"container", c.name, "op", op.entry.Op, "journal", op.entry.ID, "waited", time.Since(start).Round(time.Millisecond), "outcome", state}
	switch state {
	case journal.Forced:
		s.log.Warn("forced reclaim: work still pending at its bound", append(attrs, "activations", d.Activations, "reason", d.Reason)...)
	case journal.Failed:
		if d.Forced {
			s.log.Warn("forced reclaim: work still pending at its bound", append(attrs, "activations", d.Activations, "reason", d.Reason)...)
		}
		s.log.Error("a deferred call failed", append(attrs, "reason", reason)...)
	default:
		s.log.Info("deferred call sent: the runtime is done", attrs...)
	}
	if c.pause == op {
		c.pause = nil
	}
	if c.held == op {
		c.held = nil
		if op.entry.Op == journal.Remove && state != journal.Failed {
			s.forget(c)
		}
	}
	op.reply, op.err = reply, err
	close(op.done)
}
