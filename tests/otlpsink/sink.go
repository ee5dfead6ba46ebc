package otlpsink

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, with its ids in hex as traceparent spells them.
type Span struct {
	Service      string
	Name         string
	TraceID      string
	SpanID       string
	ParentSpanID string
	Kind         tracepb.Span_SpanKind
	Start, End   time.Time
	Attrs        map[string]any
	Events       []Event
	Links        []string // linked span ids
	StatusCode   tracepb.Status_StatusCode
	StatusMsg    string
}

// Event is a span event.
type Event struct {
	Name string
	Time time.Time
}

// Sink receives OTLP/HTTP exports at URL (set OTEL_EXPORTER_OTLP_ENDPOINT to it).
type Sink struct {
	URL string
	srv *httptest.Server

	mu      sync.Mutex
	spans   []Span
	points  []Point
	arrived chan struct{}
}

// New starts a sink; Close stops it.
func New() *Sink {
	s := &Sink{arrived: make(chan struct{}, 1)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the receiver.
func (s *Sink) Close() { s.srv.Close() }

func (s *Sink) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") == "application/x-protobuf" && r.URL.Path == "/v1/metrics" {
		s.serveMetrics(w, r)
		return
	}
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "this sink takes OTLP/HTTP protobuf traces at /v1/traces and metrics at /v1/metrics", http.StatusNotFound)
		return
	}
	var req collectortrace.ExportTraceServiceRequest
	if !decode(w, r, &req) {
		return
	}
	var got []Span
	for _, rs := range req.ResourceSpans {
		service := serviceOf(rs.GetResource())
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				got = append(got, flatten(service, sp))
			}
		}
	}
	s.mu.Lock()
	s.spans = append(s.spans, got...)
	s.mu.Unlock()
	s.received(w, &collectortrace.ExportTraceServiceResponse{})
}

// decode reads an export request into req; false (answered 400) if it is
// not one.
func decode(w http.ResponseWriter, r *http.Request, req proto.Message) bool {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = proto.Unmarshal(body, req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// serviceOf is the resource's service.name.
func serviceOf(res *resourcepb.Resource) string {
	for _, kv := range res.GetAttributes() {
		if kv.Key == "service.name" {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// received wakes WaitFor and answers the export with resp.
func (s *Sink) received(w http.ResponseWriter, resp proto.Message) {
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	b, _ := proto.Marshal(resp)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

func flatten(service string, sp *tracepb.Span) Span {
	out := Span{
		Service: service, Name: sp.Name, Kind: sp.Kind,
		TraceID: hex.EncodeToString(sp.TraceId), SpanID: hex.EncodeToString(sp.SpanId),
		Start: time.Unix(0, int64(sp.StartTimeUnixNano)), End: time.Unix(0, int64(sp.EndTimeUnixNano)),
		Attrs:      map[string]any{},
		StatusCode: sp.GetStatus().GetCode(), StatusMsg: sp.GetStatus().GetMessage(),
	}
	if len(sp.ParentSpanId) > 0 {
		out.ParentSpanID = hex.EncodeToString(sp.ParentSpanId)
	}
	for _, kv := range sp.Attributes {
		out.Attrs[kv.Key] = value(kv.Value)
	}
	for _, e := range sp.Events {
		out.Events = append(out.Events, Event{Name: e.Name, Time: time.Unix(0, int64(e.TimeUnixNano))})
	}
	for _, l := range sp.Links {
		out.Links = append(out.Links, hex.EncodeToString(l.SpanId))
	}
	return out
}

func value(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	}
	return v.String()
}

// Spans returns what arrived so far.
func (s *Sink) Spans() []Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Span(nil), s.spans...)
}

// WaitFor waits until ok holds for the spans received, at most timeout,
// and returns them.
func (s *Sink) WaitFor(timeout time.Duration, ok func([]Span) bool) ([]Span, bool) {
	limit := time.After(timeout)
	for {
		if spans := s.Spans(); ok(spans) {
			return spans, true
		}
		select {
		case <-s.arrived:
		case <-time.After(50 * time.Millisecond):
		case <-limit:
			spans := s.Spans()
			return spans, ok(spans)
		}
	}
}
