package observe

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// Trace is one trace as Jaeger's query API (GET /api/traces/{id}) returns it.
type Trace struct {
	Spans     []Span `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

// Span is one span of a Trace; times are µs since the epoch.
type Span struct {
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64      `json:"startTime"`
	Duration  int64      `json:"duration"`
	Tags      []KeyValue `json:"tags"`
	Logs      []struct {
		Timestamp int64      `json:"timestamp"`
		Fields    []KeyValue `json:"fields"`
	} `json:"logs"`
	ProcessID string `json:"processID"`
}

// KeyValue is a span's tag, or a field of one of its events.
type KeyValue struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// Parent is the span's CHILD_OF reference ("" for a root).
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// Tag is the value of the span's tag key (nil when absent).
func (s Span) Tag(key string) any {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

// Event is the time of the span's event name (an OpenTelemetry span
// event, a log with an "event" field in Jaeger); false when it has none.
func (s Span) Event(name string) (int64, bool) {
	for _, l := range s.Logs {
		for _, f := range l.Fields {
			if f.Key == "event" && f.Value == name {
				return l.Timestamp, true
			}
		}
	}
	return 0, false
}

// End is when the span ended.
func (s Span) End() int64 { return s.StartTime + s.Duration }

// Service is the name of the service that reported s.
func (tr Trace) Service(s Span) string { return tr.Processes[s.ProcessID].ServiceName }

// Fetch reads trace id from the Jaeger query API at queryURL; false while
// Jaeger holds none of its spans.
func Fetch(ctx context.Context, queryURL, id string) (Trace, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(queryURL, "/")+"/api/traces/"+id, nil)
	if err != nil {
		return Trace{}, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Trace{}, false, fmt.Errorf("the Jaeger query API at %s: %w (is Jaeger running?)", queryURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Trace{}, false, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return Trace{}, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return Trace{}, false, fmt.Errorf("GET /api/traces/%s: %s: %s", id, resp.Status, body)
	}
	var got struct {
		Data []Trace `json:"data"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		return Trace{}, false, fmt.Errorf("GET /api/traces/%s: not Jaeger's answer: %w", id, err)
	}
	if len(got.Data) != 1 {
		return Trace{}, false, nil
	}
	return got.Data[0], true, nil
}

// Render draws the trace as an indented tree, children in start order,
// each span with its service, its start relative to the trace's first span,
// its duration and its events: what Jaeger's UI shows, in text.
func Render(tr Trace) string {
	children := map[string][]Span{}
	ids := map[string]bool{}
	var first int64
	for _, s := range tr.Spans {
		ids[s.SpanID] = true
		if first == 0 || s.StartTime < first {
			first = s.StartTime
		}
	}
	for _, s := range tr.Spans {
		p := s.Parent()
		if !ids[p] {
			p = "" // a root here: its parent is the caller's, outside the trace
		}
		children[p] = append(children[p], s)
	}
	ms := func(us int64) string { return fmt.Sprintf("%.1fms", float64(us)/1e3) }
	var b strings.Builder
	drawn := map[string]bool{} // a span id drawn once, whatever cycles the references make
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		kids := children[parent]
		slices.SortStableFunc(kids, func(a, b Span) int { return cmp.Compare(a.StartTime, b.StartTime) })
		for _, s := range kids {
			if drawn[s.SpanID] {
				continue
			}
			drawn[s.SpanID] = true
			fmt.Fprintf(&b, "%s%-*s %-20s +%-9s %9s", strings.Repeat("  ", depth), 36-2*depth, s.OperationName,
				tr.Service(s), ms(s.StartTime-first), ms(s.Duration))
			for _, l := range s.Logs {
				for _, f := range l.Fields {
					if f.Key == "event" {
						fmt.Fprintf(&b, "  %v at +%s", f.Value, ms(l.Timestamp-first))
					}
				}
			}
			b.WriteByte('\n')
			walk(s.SpanID, depth+1)
		}
	}
	walk("", 0)
	return b.String()
}
