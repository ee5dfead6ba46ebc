package pool

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// The pool's own attributes; the FaaS and container facts use semconv's,
// the reclaim decisions reclaim's.
const (
	attrWaitMs      = attribute.Key("epilogue.wait_ms")
	attrInitMs      = attribute.Key("epilogue.init_ms")
	attrStatus      = attribute.Key("epilogue.status")
	attrCompletion  = attribute.Key("epilogue.completion")
	attrExecKind    = attribute.Key("epilogue.exec.kind")
	attrDecision    = attribute.Key(reclaim.TraceDecision)
	attrReason      = attribute.Key(reclaim.TraceReason)
	attrActivations = attribute.Key(reclaim.TraceActivations)
)

const tracerName = "github.com/epilogue-dev/epilogue/standalone/pool"

// startInvoke starts an invocation's span, a child of the span context in
// ctx (the REST caller's traceparent); a no-op span when not tracing.
func (p *Pool) startInvoke(ctx context.Context, inv *Invocation) {
	if p.tracer == nil {
		inv.span = trace.SpanFromContext(context.Background()) // the no-op span
		return
	}
	inv.traceCtx, inv.span = p.tracer.Start(ctx, "invoke /"+inv.action.Path(), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(inv.arrived),
		trace.WithAttributes(semconv.FaaSInvocationIDKey.String(inv.id), semconv.FaaSInvokedNameKey.String("/"+inv.action.Path())))
}

// context is the context the invocation's calls carry: p.ctx's life, and
// the invocation's span, so containerclient sends it as the traceparent.
func (inv *Invocation) context() context.Context {
	if inv.traceCtx == nil {
		return inv.p.ctx
	}
	return trace.ContextWithSpan(inv.p.ctx, inv.span)
}

// endInvoke ends the invocation's span with its final record.
func (inv *Invocation) endInvoke() {
	if !inv.span.IsRecording() {
		return
	}
	rec := inv.Record()
	attrs := []attribute.KeyValue{attrStatus.String(rec.Response.Status.String())}
	if v, ok := rec.Annotations.Get(entity.AnnotationCompletion); ok {
		attrs = append(attrs, attrCompletion.String(trimQuotes(string(v))))
	}
	inv.span.SetAttributes(attrs...)
	if rec.Response.Status != entity.StatusSuccess {
		inv.span.SetStatus(codes.Error, string(rec.Response.Result))
	}
	inv.span.End()
}

// ran records what runOn measured on the invocation's span.
func (inv *Invocation) ran(wait, initTime time.Duration, cold bool) {
	if !inv.span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{attrWaitMs.Int64(wait.Milliseconds()), semconv.FaaSColdstartKey.Bool(cold)}
	if cold {
		attrs = append(attrs, attrInitMs.Int64(initTime.Milliseconds()))
	}
	inv.span.SetAttributes(attrs...)
}

// startOp starts a container operation's span (create, pause, unpause,
// remove) under parent; nil when not tracing.
func (p *Pool) startOp(parent context.Context, op string, m *member, opts ...trace.SpanStartOption) trace.Span {
	if p.tracer == nil {
		return nil
	}
	opts = append(opts, trace.WithAttributes(semconv.ContainerNameKey.String(m.name), semconv.ContainerImageNameKey.String(m.image)))
	_, span := p.tracer.Start(parent, "container "+op, opts...)
	return span
}

// causedBy is p.ctx with inv's span as the parent: an operation that
// inv's end brought about (the pause after its pause grace) joins inv's
// trace, so a trace reads from the invoke to the container's pause. With
// inv nil, or not traced, it is p.ctx (a root span).
func (p *Pool) causedBy(inv *Invocation) context.Context {
	if inv == nil {
		return p.ctx
	}
	return trace.ContextWithSpanContext(p.ctx, inv.span.SpanContext())
}

// endOp ends a container operation's span; err marks it failed.
func endOp(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// decide records a reclaim decision on span: its outcome and why, linked
// from the operation to the activations it waited for.
func decide(span trace.Span, decision, reason string, activations ...string) {
	if span == nil {
		return
	}
	attrs := []attribute.KeyValue{attrDecision.String(decision), attrReason.String(reason)}
	if len(activations) > 0 {
		attrs = append(attrs, attrActivations.StringSlice(activations))
	}
	span.SetAttributes(attrs...)
	if decision == reclaim.Forced {
		span.SetStatus(codes.Error, reason)
	}
}

// linkTo is the span option linking to the invocations' spans.
func linkTo(invs ...*Invocation) trace.SpanStartOption {
	links := make([]trace.Link, 0, len(invs))
	for _, inv := range invs {
		if sc := inv.span.SpanContext(); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc, Attributes: []attribute.KeyValue{semconv.FaaSInvocationIDKey.String(inv.id)}})
		}
	}
	return trace.WithLinks(links...)
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
