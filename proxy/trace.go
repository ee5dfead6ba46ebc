package proxy

import (
	"context"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/completion"
)

// What an activation span says beyond the FaaS conventions (semconv).
const (
	attrOutcome      = attribute.Key("epilogue.outcome")
	attrPostResponse = attribute.Key("epilogue.post_response_ms")
	attrUnfinished   = attribute.Key("epilogue.unfinished")
	attrErrors       = attribute.Key("epilogue.errors")
	attrSeq          = attribute.Key("epilogue.seq")
)

// EventResponse is the activation span's event at the action's answer.
const EventResponse = "response"

// tracerName is the instrumentation scope of the proxy's spans.
const tracerName = "github.com/epilogue-dev/epilogue/proxy"

var traceContext = propagation.TraceContext{}

// tracing turns an activation's life into spans: one per activation from
// /run to its terminal phase, with an event at the response; a child per
// piece of work the action reports with work frames; one per /init. It
// exists only when Config.TracerProvider is set, so with tracing off /run
// checks one nil pointer and nothing else.
type tracing struct {
	tracer   trace.Tracer
	instance string
	// flush exports the ended spans now, when the provider can (the SDK's
	// can): see onEvent.
	flush func(context.Context) error

	mu   sync.Mutex
	acts map[uint64]*activationSpan // guarded by mu; live activations by seq
}

type activationSpan struct {
	ctx       context.Context // carries span
	span      trace.Span
	responded bool
	work      map[uint64]trace.Span // reported work not yet ended
}

func newTracing(tp trace.TracerProvider, instance string) *tracing {
	if tp == nil {
		return nil
	}
	t := &tracing{tracer: tp.Tracer(tracerName), instance: instance, acts: map[uint64]*activationSpan{}}
	if f, ok := tp.(interface{ ForceFlush(context.Context) error }); ok {
		t.flush = f.ForceFlush
	}
	return t
}

// flushBound bounds the export before an idle answer (flushIdle).
const flushBound = 2 * time.Second

// flushIdle exports the ended spans before the runtime tells the platform
// it is idle: that answer is what lets a pool or the shim pause or remove
// the container, and spans still in the batcher (which exports every
// OTEL_BSP_SCHEDULE_DELAY) would be frozen with it, or lost with it. The
// cost falls on the reclaim's status call, not on /run.
func (t *tracing) flushIdle(ctx context.Context) {
	if t.flush == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, flushBound)
	defer cancel()
	_ = t.flush(ctx)
}

// startInit starts the /init span, a child of the caller's traceparent.
func (t *tracing) startInit(r *http.Request) trace.Span {
	ctx := traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	_, span := t.tracer.Start(ctx, "init", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.ServiceInstanceIDKey.String(t.instance)))
	return span
}

// endInit ends the /init span with its answer.
func endInit(span trace.Span, status int, msg string) {
	span.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(status))
	if status != http.StatusOK {
		span.SetStatus(codes.Error, msg)
	}
	span.End()
}

// startRun starts an activation's span when its /run arrives (the wait for
// admission is part of it), a child of the caller's traceparent.
func (t *tracing) startRun(r *http.Request, req actionloop.Request) (context.Context, trace.Span) {
	ctx := traceContext.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	name := req.ActionName()
	spanName := name
	if spanName == "" {
		spanName = "run"
	}
	attrs := []attribute.KeyValue{semconv.ServiceInstanceIDKey.String(t.instance)}
	if name != "" {
		attrs = append(attrs, semconv.FaaSNameKey.String(name))
	}
	if req.ActivationID != "" {
		attrs = append(attrs, semconv.FaaSInvocationIDKey.String(req.ActivationID))
	}
	return t.tracer.Start(ctx, spanName, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
}

// abandon ends the span of a /run that never reached the action.
func abandon(span trace.Span, status int, msg string) {
	span.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(status), attrOutcome.String("rejected"))
	span.SetStatus(codes.Error, msg)
	span.End()
}

// register hands the span to the registry's events under seq once the
// activation is admitted (cold: the first since /init) and returns the
// traceparent the action gets.
func (t *tracing) register(ctx context.Context, span trace.Span, seq uint64, id string, cold bool) string {
	span.SetAttributes(semconv.FaaSInvocationIDKey.String(id), attrSeq.Int64(int64(seq)), semconv.FaaSColdstartKey.Bool(cold))
	t.mu.Lock()
	t.acts[seq] = &activationSpan{ctx: ctx, span: span, work: map[uint64]trace.Span{}}
	t.mu.Unlock()
	carrier := propagation.MapCarrier{}
	traceContext.Inject(ctx, carrier)
	return carrier.Get("traceparent")
}

// onEvent follows the registry: the response becomes an event, the
// terminal phase ends the span with its outcome. It runs under the
// registry's lock; ending a span only hands it to the batcher.
func (t *tracing) onEvent(ev completion.Event) {
	rec := ev.Activation
	if ev.Type != completion.PhaseChanged || rec == nil {
		return
	}
	t.mu.Lock()
	a := t.acts[rec.Seq]
	if a != nil && rec.Phase.Terminal() {
		delete(t.acts, rec.Seq)
	}
	t.mu.Unlock()
	if a == nil {
		return
	}
	switch {
	case rec.Phase == completion.PhaseResponded:
		a.respond(ev.Time)
	case rec.Phase.Terminal():
		if rec.Phase == completion.PhaseDone {
			// Done without a responded phase: the response said done.
			a.respond(ev.Time)
		}
		a.end(*rec, ev.Time)
	}
}

func (a *activationSpan) respond(at time.Time) {
	if !a.responded {
		a.responded = true
		a.span.AddEvent(EventResponse, trace.WithTimestamp(at))
	}
}

func (a *activationSpan) end(rec completion.Activation, at time.Time) {
	attrs := []attribute.KeyValue{attrOutcome.String(string(rec.Phase))}
	if a.responded {
		attrs = append(attrs, attrPostResponse.Float64(rec.PostResponseMs))
	}
	if len(rec.Unfinished) > 0 {
		attrs = append(attrs, attrUnfinished.StringSlice(rec.Unfinished))
	}
	if len(rec.Errors) > 0 {
		attrs = append(attrs, attrErrors.StringSlice(rec.Errors))
	}
	a.span.SetAttributes(attrs...)
	if rec.Phase != completion.PhaseDone {
		a.span.SetStatus(codes.Error, rec.Error)
	}
	// Work the action never reported ended was cut with the activation.
	for _, w := range a.work {
		w.SetStatus(codes.Error, "unfinished: the activation ended "+string(rec.Phase)+" before this work did")
		w.End(trace.WithTimestamp(at))
	}
	a.span.End(trace.WithTimestamp(at))
}

// onWork turns a work frame into a child span at the action's timestamps.
// A frame for an activation already ended, or a work number not started,
// is dropped: it cannot rewrite a span already exported.
func (t *tracing) onWork(f actionloop.Frame) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.acts[f.Seq]
	if a == nil {
		return
	}
	if f.Start > 0 {
		if _, dup := a.work[f.Work]; !dup {
			_, span := t.tracer.Start(a.ctx, f.Name, trace.WithTimestamp(time.Unix(0, f.Start)),
				trace.WithSpanKind(trace.SpanKindInternal))
			a.work[f.Work] = span
		}
		return
	}
	span := a.work[f.Work]
	if span == nil {
		return
	}
	delete(a.work, f.Work)
	if f.Error != "" {
		span.SetStatus(codes.Error, f.Error)
	}
	span.End(trace.WithTimestamp(time.Unix(0, f.End)))
}
