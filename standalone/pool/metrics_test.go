package pool

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/backend"
	"github.com/epilogue-dev/epilogue/standalone/backend/process"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// scrape gathers the pool's metrics through a pedantic registry (which
// checks them against their descriptions), the semantics label left out.
func scrape(t *testing.T, p *Pool) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(p.Collector()))
	families, err := reg.Gather()
	require.NoError(t, err)
	return testenv.Metrics(families, "semantics")
}

// processSuite is the pool's suite on the process backend, for the tests
// outside runSuite.
func processSuite(t *testing.T) *suite {
	proxy := testenv.BuildStatic(t, "./cmd/epilogue-proxy")
	exe, err := os.ReadFile(testenv.BuildStatic(t, "./tests/testaction"))
	require.NoError(t, err)
	return &suite{code: base64.StdEncoding.EncodeToString(exe), gateHost: "127.0.0.1", newBackend: func(t *testing.T) backend.Backend {
		b, err := process.New(process.Config{ProxyPath: proxy, WorkDir: t.TempDir()})
		require.NoError(t, err)
		closeAtEnd(t, b)
		return b
	}}
}

// TestMetricsCountTheWorkload: after a workload has completed, the
// counters and histograms say what it did, under each semantics.
func TestMetricsCountTheWorkload(t *testing.T) {
	s := processSuite(t)
	const lingers = `{"quiet":true,"linger_ms":20}`
	for _, tc := range []struct {
		name     string
		cfg      Config
		timeout  int      // the action's, ms; 0 = the default
		params   []string // run one after the other, each to its completion; GATE is a gate never opened
		want     map[string]float64
		positive []string // more than 0
	}{{
		name:   "epilogue holds the container until the work is done",
		params: []string{lingers, lingers, lingers},
		want: map[string]float64{
			"epilogue_activations_total{outcome=done}": 3, "epilogue_activations_total{outcome=unknown}": 0,
			"epilogue_reclaims_total{decision=deferred}": 3, "epilogue_reclaims_total{decision=done}": 3, "epilogue_reclaims_total{decision=forced}": 0,
			"epilogue_response_seconds_count": 3, "epilogue_post_response_seconds_count": 3,
			"epilogue_lingering_containers": 0, "epilogue_pending_work_items": 0,
			"epilogue_container_starts_total{kind=cold}": 1, "epilogue_container_starts_total{kind=warm}": 2,
		},
		positive: []string{"epilogue_linger_container_seconds_total", "epilogue_post_response_seconds_sum", "epilogue_response_seconds_sum"},
	}, {
		name:   "vanilla defers nothing and holds nothing",
		cfg:    Config{Policy: reclaim.Vanilla},
		params: []string{lingers, lingers},
		want: map[string]float64{
			"epilogue_activations_total{outcome=done}":   2,
			"epilogue_reclaims_total{decision=deferred}": 0, "epilogue_reclaims_total{decision=done}": 0,
			"epilogue_linger_container_seconds_total": 0,
			"epilogue_response_seconds_count":         2, "epilogue_post_response_seconds_count": 2,
		},
	}, {
		name:   "a crash is an error, with nothing deferred",
		params: []string{`{"crash":true}`},
		want: map[string]float64{
			"epilogue_activations_total{outcome=error}": 1, "epilogue_activations_total{outcome=done}": 0,
			"epilogue_reclaims_total{decision=deferred}": 0, "epilogue_response_seconds_count": 1,
			"epilogue_post_response_seconds_count": 0,
		},
	}, {
		name:    "work still pending at the deadline is expired: a forced reclaim",
		timeout: 3000,
		// The first run starts the container, so that /init does not eat
		// into the held one's deadline; the second's gate never opens.
		params: []string{`{"quiet":true}`, `{"quiet":true,"linger_ms":1,"gate":"GATE"}`},
		want: map[string]float64{
			"epilogue_activations_total{outcome=done}": 1, "epilogue_activations_total{outcome=expired}": 1,
			"epilogue_reclaims_total{decision=deferred}": 1, "epilogue_reclaims_total{decision=forced}": 1, "epilogue_reclaims_total{decision=done}": 0,
			"epilogue_post_response_seconds_count": 1,
		},
		positive: []string{"epilogue_linger_container_seconds_total"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := s.newPool(t, tc.cfg)
			var edit []func(*entity.Action)
			if tc.timeout > 0 {
				edit = append(edit, withTimeout(tc.timeout))
			}
			a := s.action("counted", edit...)
			never := s.gate(t).URL("never")
			for _, params := range tc.params {
				completed(t, p, start(t, p, a, strings.ReplaceAll(params, "GATE", never)))
			}
			got := scrape(t, p)
			assert.Empty(t, testenv.MetricsDiff(got, tc.want))
			for _, k := range tc.positive {
				assert.Positive(t, got[k], "%s", k)
			}
		})
	}
}

// TestMetricsGaugesFollowLingering: while an activation's work is held,
// its container counts as lingering and its work as pending; once the work
// is done, neither.
func TestMetricsGaugesFollowLingering(t *testing.T) {
	s := processSuite(t)
	g := s.gate(t)
	p := s.newPool(t, Config{})
	inv := start(t, p, s.action("gauged"), held(g, "held"))
	wait(t, inv)
	g.WaitArrived(t, "held", activationBound)
	got := scrape(t, p)
	assert.Equal(t, 1.0, got["epilogue_lingering_containers"])
	assert.Equal(t, 1.0, got["epilogue_pending_work_items"])
	assert.Equal(t, 1.0, got["epilogue_containers{state=lingering}"])
	assert.Equal(t, 1.0, got["epilogue_reclaims_total{decision=deferred}"])
	assert.Equal(t, 0.0, got["epilogue_activations_total{outcome=done}"], "not finished while its work is held")

	g.Open("held")
	completed(t, p, inv)
	got = scrape(t, p)
	assert.Equal(t, 0.0, got["epilogue_lingering_containers"])
	assert.Equal(t, 0.0, got["epilogue_pending_work_items"])
	assert.Equal(t, 1.0, got["epilogue_activations_total{outcome=done}"])
	assert.Positive(t, got["epilogue_linger_container_seconds_total"])
}
