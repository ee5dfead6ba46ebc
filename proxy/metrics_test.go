package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

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
			got := collect(t, reader)
			assert.Equal(t, map[string]float64{
				"epilogue.proxy.runs": float64(n), "epilogue.proxy.responded": float64(n),
				"epilogue.proxy.activations{done}": 0, "epilogue.proxy.activations{expired}": 0, "epilogue.proxy.activations{failed}": float64(n),
				"epilogue.proxy.post_response": snap.Counters.PostResponseMs / 1000,
			}, got)
		})
	}
}

// collect reads reader's sums as name{outcome} → value.
func collect(t *testing.T, reader *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
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
	return got
}

// TestBusyPollMetrics: with busy polling on, OTLP carries the fd 3
// reader's spins (by how they ended) and the time spent spinning, over
// the whole workload; with it off there are no such instruments.
func TestBusyPollMetrics(t *testing.T) {
	const (
		spins    = "epilogue.proxy.busy_poll.spins"
		spinning = "epilogue.proxy.busy_poll.time"
		// maxRuns bounds the runs until a spin catches a frame: the
		// first six only build the reader's history (see busyPoller), and
		// a spin misses only if the reader was not yet spinning when the
		// frame came, which the action's shell (a fork per frame) makes
		// rare.
		maxRuns = 100
	)
	for _, tc := range []struct {
		name   string
		budget time.Duration
	}{
		{name: "busy polling off"},
		// A minute: every answer is in time and no spin runs out, on any
		// machine.
		{name: "busy polling on", budget: time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reader := sdkmetric.NewManualReader()
			s, gate := tracedServer(t, nil, func(c *Config) {
				c.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
				c.BusyPoll = tc.budget
			})
			for i := 0; i < 8 || (tc.budget > 0 && i < maxRuns && s.busyPoll.Counts().Caught == 0); i++ {
				runTraced(t, s, gate, fmt.Sprintf("act-%d", i))
			}
			got := collect(t, reader)
			c := s.busyPoll.Counts()
			if tc.budget == 0 {
				assert.Zero(t, c, "nothing spins")
				assert.NotContains(t, got, spins+"{caught}")
				assert.NotContains(t, got, spinning)
				return
			}
			require.NotZero(t, c.Caught, "no spin caught a frame in %d runs", maxRuns)
			assert.Positive(t, c.Spinning)
			assert.Equal(t, map[string]float64{
				spins + "{caught}": float64(c.Caught), spins + "{slept}": float64(c.Slept),
				spinning: c.Spinning.Seconds(),
			}, map[string]float64{
				spins + "{caught}": got[spins+"{caught}"], spins + "{slept}": got[spins+"{slept}"],
				spinning: got[spinning],
			}, "OTLP observes the reader's counts")
		})
	}
}
