package invokershim

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/epilogue-dev/epilogue/invoker-shim/journal"
	"github.com/epilogue-dev/epilogue/reclaim"
)

// The journal entry of a reclaim; HTTP and container facts use semconv's
// attributes, the decision reclaim's.
const attrJournal = attribute.Key("epilogue.journal.id")

const tracerName = "github.com/epilogue-dev/epilogue/invoker-shim"

// statusRecorder remembers the status an intercepted call answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Flush keeps a streamed answer streaming.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// traced serves an intercepted call inside a span named after it, when the
// shim traces; the invoker's traceparent, if it sends one, is its parent.
func (s *Shim) traced(w http.ResponseWriter, r *http.Request, name string, serve func(http.ResponseWriter, *http.Request)) {
	if s.tracer == nil {
		serve(w, r)
		return
	}
	ctx, span := s.tracer.Start(r.Context(), "docker "+name, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.HTTPRequestMethodKey.String(r.Method), semconv.URLPathKey.String(r.URL.Path)))
	defer span.End()
	rec := &statusRecorder{ResponseWriter: w}
	serve(rec, r.WithContext(ctx))
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	span.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// deferredSpan starts the span of a deferred operation: from the call the
// shim deferred to the daemon's answer; nil when not tracing.
func (s *Shim) deferredSpan(c *runtimeContainer, op operation) trace.Span {
	if s.tracer == nil {
		return nil
	}
	_, span := s.tracer.Start(s.ctx, "reclaim "+string(op), trace.WithAttributes(
		semconv.ContainerNameKey.String(c.name), semconv.ContainerIDKey.String(c.id), attribute.String(reclaim.TraceDecision, reclaim.Deferred)))
	return span
}

// endReclaim records a reclaim's decision (done, forced, failed or
// cancelled, from the journal's outcome) and ends its span.
func endReclaim(span trace.Span, state journal.State, reason string, dec reclaim.Decision, journalID uint64) {
	if span == nil {
		return
	}
	decision := reclaim.Done
	switch state {
	case journal.Forced:
		decision = reclaim.Forced
	case journal.Failed:
		decision = "failed"
	case journal.Cancelled:
		decision = "cancelled"
	}
	attrs := []attribute.KeyValue{attribute.String(reclaim.TraceDecision, decision), attribute.String(reclaim.TraceReason, reason),
		attrJournal.Int64(int64(journalID))}
	if len(dec.Activations) > 0 {
		attrs = append(attrs, attribute.StringSlice(reclaim.TraceActivations, dec.Activations))
	}
	span.SetAttributes(attrs...)
	if decision == reclaim.Forced || decision == "failed" {
		span.SetStatus(codes.Error, reason)
	}
	span.End()
}
