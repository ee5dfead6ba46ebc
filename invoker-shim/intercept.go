package invokershim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

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
	if why := s.cfg.CreatePolicy.checkCreate(body); why != "" {
		s.log.Warn("container create refused", "name", r.URL.Query().Get("name"), "why", why)
		dockerError(w, http.StatusForbidden, why)
		return
	}
	// The name now belongs to the new container, whatever was cached
	// under it.
	s.forgetName(r.URL.Query().Get("name"))
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

// containerCall handles pause, unpause, removal, kill and stop: it routes
// them. The decisions are reclaim's (Gate.Check), the deferred operations'
// lives are deferred's.
func (s *Shim) containerCall(w http.ResponseWriter, r *http.Request, h handling, ref string) {
	c, err := s.lookup(r.Context(), ref)
	if err != nil || c == nil {
		// Not a runtime, gone, or the daemon failed: the daemon answers.
		s.forward(w, r, nil, h, ref)
		return
	}
	if h.kind == unpausing {
		s.unpauseCall(w, r, c, h, ref)
		return
	}
	s.operationCall(w, r, c, h, ref)
}

// forward sends the invoker's call to the daemon as it came and learns
// from the answer: a pause done freezes a runtime container, an unpause,
// kill or stop done thaws it, a removal done (or a 404) forgets the
// container.
func (s *Shim) forward(w http.ResponseWriter, r *http.Request, c *runtimeContainer, h handling, ref string) {
	sw := &statusWriter{ResponseWriter: w}
	s.proxy.ServeHTTP(sw, r)
	ok := sw.status >= 200 && sw.status < 300
	if sw.status == http.StatusNotFound || (ok && h.op == removeOp) {
		s.forget(ref)
		return
	}
	if c == nil || !ok {
		return
	}
	c.mu.Lock()
	c.frozen = h.kind == deferrable && h.op == pauseOp
	c.mu.Unlock()
}

// waitFor waits for ch, or for the invoker to go away (false).
func waitFor(ctx context.Context, ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// operationCall handles a pause, removal, kill or stop of a runtime
// container: forwarded if the container is frozen or its runtime is done
// (or past its bound), else deferred (a pause, answered at once) or held
// (the others, answered when done). It decides with the container's mu
// released, and looks again before acting (see runtimeContainer.mu).
func (s *Shim) operationCall(w http.ResponseWriter, r *http.Request, c *runtimeContainer, h handling, ref string) {
	op := h.op
	call, err := op.Call(r.URL.RawQuery)
	if err != nil {
		s.forward(w, r, c, h, ref) // a query the daemon refuses: it answers
		return
	}
	for {
		c.mu.Lock()
		if ch := c.sending; ch != nil {
			// A pause is on its way to the daemon: this call comes after it.
			c.mu.Unlock()
			if !waitFor(r.Context(), ch) {
				return
			}
			continue
		}
		if c.frozen {
			// Frozen: its runtime cannot answer, and cannot make progress
			// either (the shim pauses a runtime for real only once it is
			// done). Waiting would only run into the bound.
			c.mu.Unlock()
			s.forward(w, r, c, h, ref)
			return
		}
		if op == pauseOp {
			if c.pause != nil {
				c.mu.Unlock()
				w.WriteHeader(http.StatusNoContent) // already deferred
				return
			}
			c.deciding++
		} else {
			if held := c.held; held != nil { // a repeated call waits for the same operation
				c.mu.Unlock()
				held.await(w, r)
				return
			}
			c.gen++ // a pause being decided loses to this call
			if p := c.pause; p != nil {
				c.pause = nil
				p.cancel("superseded by "+string(op), "a deferred pause is superseded", "by", op)
				c.mu.Unlock()
				p.wait(context.WithoutCancel(r.Context()))
				if p.err != nil {
					dockerError(w, http.StatusInternalServerError, "epilogue-shim: the superseded pause could not be journaled: "+p.err.Error())
					return
				}
				continue
			}
		}
		gen := c.gen
		c.mu.Unlock()

		d, err := s.gate(c).Check(r.Context(), op.Reclaim())
		if errors.Is(err, reclaim.ErrNoAnswer) {
			// Frozen behind the shim's back, or gone? The daemon knows.
			if paused, gone := s.daemonState(r.Context(), c); paused || gone {
				s.settle(c, op)
				s.forward(w, r, c, h, ref)
				return
			}
		}

		c.mu.Lock()
		if op == pauseOp {
			c.deciding--
			if c.gen != gen {
				c.mu.Unlock()
				s.log.Info("pause not done: an unpause or a removal came while it was decided", "container", c.name)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if c.pause != nil || c.sending != nil || c.frozen {
				c.mu.Unlock()
				continue // another pause got there first
			}
		} else if c.held != nil {
			c.mu.Unlock()
			continue // another removal, kill or stop got there first
		}
		if d.Allow {
			var sent chan struct{}
			if op == pauseOp {
				sent = make(chan struct{})
				c.sending = sent
			}
			c.mu.Unlock()
			if d.Forced {
				s.forcedNow(c, op, r, d)
			}
			s.forward(w, r, c, h, ref)
			if sent != nil {
				c.mu.Lock()
				c.sending = nil
				c.mu.Unlock()
				close(sent)
			}
			return
		}
		dop := s.newDeferred(c, call)
		if op == pauseOp {
			c.pause = dop
		} else {
			c.held = dop
		}
		c.mu.Unlock()
		dop.start(journal.Entry{Op: string(op), Container: c.id, Path: r.URL.Path, Query: r.URL.RawQuery}, false)
		<-dop.journaled
		if dop.jerr != nil {
			what := "so it is not held"
			if op == pauseOp {
				what = "so it is neither done nor deferred"
			}
			dockerError(w, http.StatusInternalServerError, "epilogue-shim: the "+string(op)+" could not be journaled, "+what+": "+dop.jerr.Error())
			return
		}
		if op == pauseOp {
			s.log.Info("pause deferred: work pending", "container", c.name, "activations", d.Activations, "journal", dop.entry.ID)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.log.Info(string(op)+" held: work pending", "container", c.name, "activations", d.Activations, "journal", dop.entry.ID)
		dop.await(w, r)
		return
	}
}

// settle ends a pause's decision that is not going on (c.mu not held).
func (s *Shim) settle(c *runtimeContainer, op operation) {
	if op != pauseOp {
		return
	}
	c.mu.Lock()
	c.deciding--
	c.mu.Unlock()
}

// unpauseCall cancels a pause the shim owes the daemon (deferred, or
// being decided) and answers for the daemon; the unpause reaches the
// daemon when nothing was owed, or when the container is paused for real
// all the same (by the shim, or behind its back), or it would stay frozen.
func (s *Shim) unpauseCall(w http.ResponseWriter, r *http.Request, c *runtimeContainer, h handling, ref string) {
	asked, pausedElsewhere := false, false
	for {
		c.mu.Lock()
		if ch := c.sending; ch != nil {
			// A pause is on its way to the daemon: unpause after it.
			c.mu.Unlock()
			if !waitFor(r.Context(), ch) {
				return
			}
			continue
		}
		owed := c.pause != nil || c.deciding > 0
		if !owed || c.frozen {
			c.gen++
			c.mu.Unlock()
			s.forward(w, r, c, h, ref)
			return
		}
		if !asked {
			// A pause is owed, so the shim did not pause it; was it
			// paused behind the shim's back? Asked unlocked, then look
			// again.
			c.mu.Unlock()
			paused, gone := s.daemonState(r.Context(), c)
			if gone {
				s.forward(w, r, nil, h, ref) // the daemon answers 404
				return
			}
			asked, pausedElsewhere = true, paused
			continue
		}
		c.gen++ // a pause being decided loses to this unpause
		p := c.pause
		if p != nil {
			c.pause = nil
			reason := "unpaused before the real pause"
			if pausedElsewhere {
				reason = "unpaused; the container was frozen outside the shim, so the unpause is forwarded"
			}
			p.cancel(reason, "unpause before the real pause: the pause is cancelled", "forwarded", pausedElsewhere)
		}
		c.mu.Unlock()
		if p != nil {
			p.wait(context.WithoutCancel(r.Context()))
			if p.err != nil {
				dockerError(w, http.StatusInternalServerError, "epilogue-shim: "+p.err.Error())
				return
			}
		} else {
			s.log.Info("unpause while a pause was decided: the pause is not done", "container", c.name, "forwarded", pausedElsewhere)
		}
		if pausedElsewhere {
			s.forward(w, r, c, h, ref)
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
}

// forcedNow journals an operation sent at once because its bound passed.
func (s *Shim) forcedNow(c *runtimeContainer, op operation, r *http.Request, d reclaim.Decision) {
	s.log.Warn("forced reclaim: work still pending at its bound", "container", c.name, "op", op, "activations", d.Activations, "reason", d.Reason)
	e, err := s.journal.Defer(journal.Entry{Op: string(op), Container: c.id, Path: r.URL.Path, Query: r.URL.RawQuery})
	endReclaim(s.deferredSpan(c, op), journal.Forced, d.Reason, d, e.ID)
	if err == nil {
		_, err = s.journal.Resolve(e.ID, journal.Forced, d.Reason, d.Activations)
	}
	if err != nil {
		s.log.Error("the forced reclaim could not be journaled", "container", c.name, "error", err)
	}
}
