package otlpsink

import (
	"net/http"
	"time"

	collectormetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
)

// Point is one received data point of a sum or a gauge (a histogram's
// count), with its metric's service and name.
type Point struct {
	Service string
	Name    string
	Attrs   map[string]any
	Value   float64
	Time    time.Time
}

func (s *Sink) serveMetrics(w http.ResponseWriter, r *http.Request) {
	var req collectormetrics.ExportMetricsServiceRequest
	if !decode(w, r, &req) {
		return
	}
	var got []Point
	for _, rm := range req.ResourceMetrics {
		service := serviceOf(rm.GetResource())
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				for _, dp := range numberPoints(m) {
					got = append(got, point(service, m.Name, dp))
				}
			}
		}
	}
	s.mu.Lock()
	s.points = append(s.points, got...)
	s.mu.Unlock()
	s.received(w, &collectormetrics.ExportMetricsServiceResponse{})
}

func point(service, name string, dp *metricspb.NumberDataPoint) Point {
	p := Point{Service: service, Name: name, Attrs: map[string]any{}, Time: time.Unix(0, int64(dp.TimeUnixNano))}
	switch v := dp.Value.(type) {
	case *metricspb.NumberDataPoint_AsDouble:
		p.Value = v.AsDouble
	case *metricspb.NumberDataPoint_AsInt:
		p.Value = float64(v.AsInt)
	}
	for _, kv := range dp.Attributes {
		p.Attrs[kv.Key] = value(kv.Value)
	}
	return p
}

func numberPoints(m *metricspb.Metric) []*metricspb.NumberDataPoint {
	switch d := m.Data.(type) {
	case *metricspb.Metric_Sum:
		return d.Sum.DataPoints
	case *metricspb.Metric_Gauge:
		return d.Gauge.DataPoints
	}
	return nil
}

// Points returns the metric data points that arrived so far, oldest first.
func (s *Sink) Points() []Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Point(nil), s.points...)
}
