package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/proxy/activation"
	"github.com/epilogue-dev/epilogue/proxy/executor"
)

// Upstream's /run messages.
const (
	msgNoAction  = "no action defined yet"
	msgNotObject = "The action did not return a dictionary or array."
)

// responseGrace is how long past its deadline a /run may wait for the
// action's answer before giving up; the invoker gives up at the deadline.
const responseGrace = time.Second

func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, s.cfg.MaxRunBody, "/run")
	if !ok {
		return
	}
	p, status, msg := s.runnable()
	if p == nil {
		writeError(w, status, msg)
		return
	}
	req, err := actionloop.ParseRequest(body)
	switch {
	case errors.Is(err, actionloop.ErrReservedKey):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "the /run body must be a JSON object like {\"value\":{...}}: "+err.Error())
		return
	}
	start := time.Now()
	deadline := req.Deadline
	if deadline.Before(start) {
		// Absent, or a placeholder in the past: assume the longest time limit.
		deadline = start.Add(s.cfg.DefaultTimeout)
	}
	ctx, cancel := context.WithDeadline(r.Context(), deadline.Add(responseGrace))
	defer cancel()
	var (
		tctx context.Context
		span trace.Span // nil when not tracing
	)
	if s.tracing != nil {
		tctx, span = s.tracing.startRun(r, req)
	}

	if !s.admit(ctx) {
		msg := "the runtime is still finishing earlier activations and the deadline of this one passed while it waited"
		if span != nil {
			abandon(span, http.StatusServiceUnavailable, msg)
		}
		if r.Context().Err() == nil {
			// 503 makes the invoker reschedule the activation elsewhere.
			writeError(w, http.StatusServiceUnavailable, msg)
		}
		return
	}
	if s.draining.Load() {
		// Past the door before the drain began: nothing of it has started.
		if span != nil {
			abandon(span, http.StatusServiceUnavailable, msgDraining)
		}
		writeError(w, http.StatusServiceUnavailable, msgDraining)
		return
	}
	seq := s.seq.Add(1)
	id := req.ActivationID
	if id == "" {
		id = "run-" + strconv.FormatUint(seq, 10)
	}
	var traceparent string
	if span != nil {
		traceparent = s.tracing.register(tctx, span, seq, id, s.cold.Swap(false))
	}
	s.reg.Begin(seq, id, deadline)
	p.BeginLogs()
	f, err := p.Exchange(ctx, seq, body, traceparent)
	// The answer goes out before the sentinels (writeBody flushes it): the
	// invoker collects an activation's logs after its answer, waiting for
	// the sentinels, so writing them first would only delay the answer.
	// The next activation still starts after them (runSem), so its log
	// begins after this one's sentinel.
	defer func() {
		p.EndLogs(id)
		<-s.runSem
	}()
	if err != nil {
		s.runFailed(w, r, p, seq, err)
		return
	}
	if f.Error != "" && f.Result == nil {
		s.reg.Finish(seq, failed(f.Error))
		writeError(w, http.StatusBadGateway, "The action produced a result the runtime cannot return: "+f.Error)
		return
	}
	if !isObjectOrArray(f.Result) {
		s.reg.Finish(seq, failed(msgNotObject))
		writeError(w, http.StatusBadGateway, msgNotObject)
		return
	}
	phase := completion.PhaseResponded
	if f.Done {
		phase = completion.PhaseDone
	}
	h := w.Header()
	h[completion.HeaderActivation] = []string{id}
	h[completion.HeaderPhase] = []string{string(phase)}
	writeBody(w, http.StatusOK, append(f.Result, '\n'))
}

// runnable returns the process to run in, or the status and message to
// answer with. An exit is reported once as upstream's 400/500 "command
// exited"; later calls get "no action defined yet", never a hang.
func (s *Server) runnable() (*executor.Process, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.proc == nil:
		return nil, http.StatusInternalServerError, msgNoAction
	case s.broken != "":
		return nil, http.StatusInternalServerError, s.broken
	case s.exited && s.exitSeen:
		return nil, http.StatusInternalServerError, msgNoAction
	case s.exited:
		s.exitSeen = true
		return nil, http.StatusInternalServerError, executor.ErrExited.Error()
	}
	return s.proc, 0, ""
}

// admit takes the action's single /run slot and, under isolated semantics,
// waits until earlier activations are done. It fails when ctx ends first.
func (s *Server) admit(ctx context.Context) bool {
	select {
	case s.runSem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	if s.cfg.Semantics == completion.Isolated {
		if err := s.reg.AwaitQuiescent(ctx); err != nil {
			<-s.runSem
			return false
		}
	}
	return true
}

func (s *Server) runFailed(w http.ResponseWriter, r *http.Request, p *executor.Process, seq uint64, err error) {
	switch {
	case errors.Is(err, executor.ErrExited):
		s.mu.Lock()
		s.exitSeen = true
		s.mu.Unlock()
		s.reg.Finish(seq, failed("the action process exited during the activation"))
		writeError(w, http.StatusBadRequest, executor.ErrExited.Error())
	case errors.Is(err, executor.ErrBusy):
		s.reg.Finish(seq, failed(err.Error()))
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		// No answer in time, or the caller went away. An upstream executable
		// would hand its late answer to the next request, so stop using it.
		reason := "the action did not answer an earlier activation in time; this container must be replaced"
		if !p.Extended() {
			s.mu.Lock()
			s.broken = reason
			s.mu.Unlock()
		}
		s.reg.Finish(seq, failed("no answer before the deadline: "+err.Error()))
		if r.Context().Err() == nil {
			writeError(w, http.StatusBadGateway, fmt.Sprintf("The action did not answer before its deadline: %v", err))
		}
	}
}

func failed(reason string) activation.Outcome {
	return activation.Outcome{Phase: completion.PhaseFailed, Error: reason}
}

// isObjectOrArray reports whether b is valid JSON whose value is an object or
// an array, as OpenWhisk requires of a result.
func isObjectOrArray(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(b)
}
