package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/epilogue-dev/epilogue/completion"
)

// TestCountersInStatusAndOTLP: the activations the runtime ran are counted
// in /epilogue/status and, with a MeterProvider, in its OTLP metrics; with
// none, the status still counts them.
func TestCountersInStatusAndOTLP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		runs  int
		meter bool
	}{
		{name: "status only", runs: 1},
		{name: "status and OTLP", runs: 2, meter: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reader := sdkmetric.NewManualReader()
			s, gate := tracedServer(t, nil, func(c *Config) {
				if tc.meter {
					c.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
				}
			})
			var post float64
			for i := range tc.runs {
				_, rec := runTraced(t, s, gate, fmt.Sprintf("act-%d", i))
				require.Equal(t, completion.PhaseFailed, rec.Phase, "the script's work fails")
				post += rec.PostResponseMs
			}

			w := do(s, http.MethodGet, completion.StatusPath, "")
			require.Equal(t, http.StatusOK, w.Code)
			var snap completion.Snapshot
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &snap))
			n := uint64(tc.runs)
			assert.Equal(t, completion.Counters{Runs: n, Responded: n, Failed: n, PostResponseMs: snap.Counters.PostResponseMs}, snap.Counters)
			assert.InDelta(t, post, snap.Counters.PostResponseMs, 0.01*float64(tc.runs), "the records' post-response times, summed")

			if !tc.meter {
				return
			}
			var rm metricdata.ResourceMetrics
			require.NoError(t, reader.Collect(context.Background(), &rm))
			got := map[string]float64{}
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					switch d := m.Data.(type) {
					case metricdata.Sum[int64]:
						for _, dp := range d.DataPoints {
							key := m.Name
							if o, ok := dp.Attributes.Value("outcome"); ok {
								key += "{" + o.AsString() + "}"
							}
							got[key] = float64(dp.Value)
						}
					case metricdata.Sum[float64]:
						for _, dp := range d.DataPoints {
							got[m.Name] = dp.Value
						}
					}
				}
			}
			assert.Equal(t, map[string]float64{
				"epilogue.proxy.runs": float64(n), "epilogue.proxy.responded": float64(n),
				"epilogue.proxy.activations{done}": 0, "epilogue.proxy.activations{expired}": 0, "epilogue.proxy.activations{failed}": float64(n),
				"epilogue.proxy.post_response": snap.Counters.PostResponseMs / 1000,
			}, got)
		})
	}
}
