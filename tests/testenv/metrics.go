package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// Metrics flattens Prometheus metric families into "name{label=value,...}"
// → value, labels in name order and those named in skip left out; a
// histogram gives name_count and name_sum. Tests compare it with what a
// workload should have counted.
func Metrics(families []*dto.MetricFamily, skip ...string) map[string]float64 {
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				if !contains(skip, l.GetName()) {
					labels = append(labels, l.GetName()+"="+l.GetValue())
				}
			}
			key := f.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Untyped != nil:
				out[key] = m.Untyped.GetValue()
			case m.Histogram != nil:
				out[key+"_count"] = float64(m.Histogram.GetSampleCount())
				out[key+"_sum"] = m.Histogram.GetSampleSum()
			}
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Scrape GETs url (a /metrics endpoint), checks that it answers in
// Prometheus' text format, and returns its metrics as Metrics does.
func Scrape(t testing.TB, url string, skip ...string) map[string]float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/plain") // the text format, as a plain scraper asks
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "scrape %s", url)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "scrape %s: %s", url, body)
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), "scrape %s: Content-Type %q", url, resp.Header.Get("Content-Type"))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	require.NoError(t, err, "scrape %s: not Prometheus' text format", url)
	families := make([]*dto.MetricFamily, 0, len(byName))
	for _, f := range byName {
		families = append(families, f)
	}
	return Metrics(families, skip...)
}

// MetricsDiff lists how got differs from want, one line per metric: ""
// when every wanted value is there.
func MetricsDiff(got, want map[string]float64) string {
	var diff []string
	for k, v := range want {
		g, ok := got[k]
		switch {
		case !ok:
			diff = append(diff, fmt.Sprintf("%s: missing, want %v", k, v))
		case g != v:
			diff = append(diff, fmt.Sprintf("%s: %v, want %v", k, g, v))
		}
	}
	return strings.Join(diff, "\n")
}
