package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// Sequences: the controller runs a sequence's components one after the
// other, each given the previous one's result, and so does this file, on top
// of the Invoker. Epilogue's part: the sequence answers when its last
// component answers, and its completion annotation says done only once
// every component's post-response work is done.

// checkSequence resolves "_" in a sequence's components to ns and checks
// them as the controller does: each exists and none is the sequence itself.
func (s *server) checkSequence(ns string, a *entity.Action) error {
	for i, c := range a.Exec.Components {
		q, err := entity.ParseQualifiedName(c)
		if err != nil {
			return err
		}
		if q.Namespace == "_" {
			q.Namespace = ns
		}
		a.Exec.Components[i] = q.String()
		if q.String() == "/"+a.Path() {
			return fmt.Errorf("%w: %s", errBadRequest, entity.MsgSequenceCyclic)
		}
		if q.Namespace != ns {
			return fmt.Errorf("%w: %s (%s: components must be in your namespace)", errBadRequest, entity.MsgSequenceNotFound, c)
		}
		if _, _, err := s.resolveAction(q.Namespace, q.RelativeName()); err != nil {
			return fmt.Errorf("%w: %s (%s)", errBadRequest, entity.MsgSequenceNotFound, c)
		}
	}
	return nil
}

// completer is what an Invocation of the container pool offers beyond
// Invocation: Completed is closed when the record holds the completion.
type completer interface {
	Completed() <-chan struct{}
}

// sequenceRun is one sequence activation.
type sequenceRun struct {
	id        string
	done      chan struct{}
	completed chan struct{}

	mu  sync.Mutex
	rec entity.Activation // set before done, then again before completed
}

func (r *sequenceRun) ID() string                 { return r.id }
func (r *sequenceRun) Done() <-chan struct{}      { return r.done }
func (r *sequenceRun) Completed() <-chan struct{} { return r.completed }

func (r *sequenceRun) Record() entity.Activation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec
}

func (r *sequenceRun) set(rec entity.Activation) {
	rec.Annotations = append(entity.KeyValues(nil), rec.Annotations...) // the caller keeps changing its copy
	rec.Logs = append([]string(nil), rec.Logs...)
	r.mu.Lock()
	r.rec = rec
	r.mu.Unlock()
}

// budgetKey holds how many components a top-level sequence may still start
// (entity.MaxSequenceLength, nested sequences' included), so that nested
// sequences, even cyclic ones made by later updates, end.
type budgetKey struct{}

// start runs req: a sequence here, anything else on the Invoker.
func (s *server) start(ctx context.Context, req InvokeRequest) (Invocation, error) {
	if req.Action.Exec.Kind != entity.KindSequence {
		return s.invoker.Invoke(ctx, req)
	}
	if _, ok := ctx.Value(budgetKey{}).(*atomic.Int64); !ok {
		budget := new(atomic.Int64)
		budget.Store(entity.MaxSequenceLength)
		ctx = context.WithValue(ctx, budgetKey{}, budget)
	}
	run := &sequenceRun{id: entity.NewActivationID(), done: make(chan struct{}), completed: make(chan struct{})}
	s.sequences.Go(func() { s.runSequence(ctx, req, run) })
	return run, nil
}

// runSequence runs the components in order, records the sequence when the
// last one has answered (or one failed), then again with its completion.
func (s *server) runSequence(ctx context.Context, req InvokeRequest, run *sequenceRun) {
	a := req.Action
	began := time.Now()
	rec := entity.Activation{Namespace: req.Subject, Name: a.Name, Version: a.Version, Subject: req.Subject,
		ActivationID: run.id, Start: began.UnixMilli(), Logs: []string{}}
	if req.Cause == "" {
		_ = rec.Annotations.SetJSON("topmost", true)
	} else { // a sequence nested in another names it, as any component does
		rec.Cause = req.Cause
		_ = rec.Annotations.SetJSON(entity.AnnotationCausedBy, entity.KindSequence)
	}
	_ = rec.Annotations.SetJSON(entity.AnnotationPath, a.Path())
	_ = rec.Annotations.SetJSON(entity.AnnotationKind, entity.KindSequence)
	_ = rec.Annotations.SetJSON(entity.AnnotationLimits, a.Limits)
	if req.Binding != "" {
		_ = rec.Annotations.SetJSON(entity.AnnotationBinding, req.Binding)
	}
	budget := ctx.Value(budgetKey{}).(*atomic.Int64)
	var comps []Invocation
	input := []byte(req.Params)
	rec.Response = entity.NewResponse(entity.StatusSuccess, json.RawMessage(input))
	for _, c := range a.Exec.Components {
		inv, err := s.startComponent(ctx, req, run.id, c, input, budget)
		if err != nil {
			rec.Response = entity.NewResponse(entity.StatusApplicationError, errorResult(err.Error()))
			break
		}
		<-inv.Done()
		comps = append(comps, inv)
		rec.Logs = append(rec.Logs, inv.ID())
		rec.Response = inv.Record().Response
		if rec.Response.Status != entity.StatusSuccess {
			break // an error ends the sequence, as in OpenWhisk
		}
		input = rec.Response.Result
	}
	answered := time.Now()
	rec.End, rec.Duration = answered.UnixMilli(), answered.Sub(began).Milliseconds()
	// Pending until its components' outcomes are known: after a crash,
	// SettlePending settles it. Only a closed store fails; the caller
	// still gets the record.
	_ = s.store.PutPendingActivation(rec)
	run.set(rec)
	close(run.done)

	if c, ok := completion(comps); !ok {
		_ = s.store.PutActivation(rec) // no outcome will come (stock semantics)
	} else {
		_ = rec.Annotations.SetJSON(entity.AnnotationCompletion, c.state)
		_ = rec.Annotations.SetJSON(entity.AnnotationPostResponseDuration, int64(math.Round(float64(time.Since(answered))/float64(time.Millisecond))))
		if len(c.errs) > 0 {
			_ = rec.Annotations.SetJSON(entity.AnnotationPostResponseErrors, c.errs)
		}
		_ = s.store.PutActivation(rec)
		run.set(rec)
	}
	close(run.completed)
}

// startComponent starts one component with input as its parameters over the
// component's own.
func (s *server) startComponent(ctx context.Context, req InvokeRequest, cause, name string, input []byte, budget *atomic.Int64) (Invocation, error) {
	q, err := entity.ParseQualifiedName(name)
	if err != nil {
		return nil, err
	}
	if q.Namespace == "_" {
		q.Namespace = req.Subject
	}
	a, binding, err := s.resolveAction(q.Namespace, q.RelativeName())
	if err != nil {
		return nil, fmt.Errorf("%s (%s)", entity.MsgSequenceNotFound, name)
	}
	// Every component counts, nested sequences too: a cycle of sequences
	// that a later update made would otherwise never end.
	if budget.Add(-1) < 0 {
		return nil, fmt.Errorf("%s", entity.MsgSequenceTooLong)
	}
	params, err := mergeParams(a, input)
	if err != nil {
		return nil, fmt.Errorf("component %s: %s", name, strings.TrimPrefix(err.Error(), errBadRequest.Error()+": "))
	}
	return s.start(ctx, InvokeRequest{Action: a, Params: params, Subject: req.Subject, APIKey: req.APIKey, Binding: binding, Cause: cause})
}

// seqCompletion is a sequence's completion, from its components'.
type seqCompletion struct {
	state entity.Completion
	errs  []string
}

// completion waits for every component's completion and combines them: done
// when all are done, else the first expired or failed one's state, with one
// error line per component that was not done, naming it. ok is false when
// some component's completion is unknown (stock semantics, or an Invoker
// that does not report it): then neither is the sequence's.
func completion(comps []Invocation) (seqCompletion, bool) {
	out := seqCompletion{state: entity.CompletionDone}
	for i, inv := range comps {
		c, ok := inv.(completer)
		if !ok {
			return seqCompletion{}, false
		}
		<-c.Completed()
		rec := inv.Record()
		state, ok := rec.Annotations.GetString(entity.AnnotationCompletion)
		if !ok {
			return seqCompletion{}, false
		}
		if entity.Completion(state) == entity.CompletionDone {
			continue
		}
		if out.state == entity.CompletionDone {
			out.state = entity.Completion(state)
		}
		path, _ := rec.Annotations.GetString(entity.AnnotationPath)
		line := fmt.Sprintf("component %d (%s, activation %s): %s", i+1, path, inv.ID(), state)
		var errs []string
		if raw, ok := rec.Annotations.Get(entity.AnnotationPostResponseErrors); ok && json.Unmarshal(raw, &errs) == nil && len(errs) > 0 {
			line += ": " + strings.Join(errs, "; ")
		}
		out.errs = append(out.errs, line)
	}
	return out, true
}

// errorResult is an application error's result, {"error": msg}.
func errorResult(msg string) json.RawMessage {
	raw, _ := json.Marshal(map[string]string{"error": msg}) // a string map always encodes
	return raw
}
