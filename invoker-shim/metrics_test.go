package invokershim_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	invokershim "github.com/epilogue-dev/epilogue/invoker-shim"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// TestMetricsFollowADeferredPause: the shim's /metrics counts the calls it
// forwarded, and a pause held for pending work is deferred and open in the
// journal until the work is done, then done and closed.
func TestMetricsFollowADeferredPause(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir(), func(c *invokershim.Config) { c.MetricsListen = "127.0.0.1:0" })
	url := "http://" + sh.s.MetricsAddr() + invokershim.MetricsPath
	gs := newGates(t, e)
	id, _, _ := sh.gated(t, e, gs, "work")
	sh.mustDocker(t, "pause", id)

	type want map[string]float64
	for _, step := range []struct {
		name string
		act  func()
		want want
	}{{
		name: "held",
		want: want{
			"epilogue_shim_journal_entries":                        1,
			"epilogue_reclaims_total{decision=deferred,op=pause}":  1,
			"epilogue_shim_passthrough_seconds{call=create}_count": 1,
		},
	}, {
		name: "done",
		act: func() {
			gs.openGate("work")
			require.Eventually(t, func() bool { return paused(t, e, id) }, stateBound, poll)
		},
		want: want{
			"epilogue_shim_journal_entries":                       0,
			"epilogue_reclaims_total{decision=deferred,op=pause}": 1,
			"epilogue_reclaims_total{decision=done,op=pause}":     1,
		},
	}} {
		if step.act != nil {
			step.act()
		}
		var got map[string]float64
		// The outcome is journaled (and counted) just after the daemon
		// paused the container.
		require.Eventually(t, func() bool {
			got = testenv.Scrape(t, url)
			return testenv.MetricsDiff(got, step.want) == ""
		}, stateBound, poll, "%s: %s", step.name, testenv.MetricsDiff(got, step.want))
		assert.Positive(t, got["epilogue_shim_passthrough_seconds{call=forward}_count"], "%s: the inspects were forwarded", step.name)
		assert.Contains(t, got, "go_goroutines", "the process's own metrics too")
	}
}
