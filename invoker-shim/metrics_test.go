package invokershim_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	invokershim "github.com/epilogue-dev/epilogue/invoker-shim"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// TestMetricsFollowADeferredPause: the shim's /metrics counts the calls it
// forwarded, and a pause held for pending work as deferred and open in the
// journal; then, once the work is done, as done, or, once the bound
// passes with the work still held, as forced; either way the journal is
// empty again.
func TestMetricsFollowADeferredPause(t *testing.T) {
	e := setup(t)
	t.Parallel()
	for _, tc := range []struct {
		name   string
		bounds reclaim.Bounds
		open   bool // the test opens the work's gate; else the bound passes
		final  string
	}{
		{name: "done", open: true, final: "done"},
		{name: "forced", bounds: reclaim.Bounds{MaxLinger: 500 * time.Millisecond, CancelGrace: 100 * time.Millisecond}, final: "forced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sh := startShim(t, e, t.TempDir(), func(c *invokershim.Config) {
				c.MetricsListen, c.Bounds = "127.0.0.1:0", tc.bounds
			})
			url := "http://" + sh.s.MetricsAddr() + invokershim.MetricsPath
			gs := newGates(t, e)
			id, _, _ := sh.gated(t, e, gs, "work")
			scrapeUntil := func(want map[string]float64) {
				t.Helper()
				// A step is counted just after the daemon answered.
				require.EventuallyWithT(t, func(c *assert.CollectT) {
					assert.Empty(c, testenv.MetricsDiff(testenv.Scrape(t, url), want))
				}, stateBound, poll)
			}

			before := testenv.Scrape(t, url)
			assert.Equal(t, 0.0, before["epilogue_reclaims_total{decision=deferred,op=pause}"])
			assert.Contains(t, before, "go_goroutines", "the process's own metrics too")
			assert.Equal(t, 1.0, before["epilogue_shim_passthrough_seconds{call=create}_count"])
			assert.Positive(t, before["epilogue_shim_passthrough_seconds{call=forward}_count"], "the start and inspects were forwarded")

			sh.mustDocker(t, "pause", id)
			if tc.open {
				scrapeUntil(map[string]float64{
					"epilogue_shim_journal_entries":                       1,
					"epilogue_reclaims_total{decision=deferred,op=pause}": 1,
					"epilogue_reclaims_total{decision=done,op=pause}":     0,
				})
				gs.openGate("work")
			}
			require.Eventually(t, func() bool { return paused(t, e, id) }, stateBound, poll)
			other := map[string]string{"done": "forced", "forced": "done"}[tc.final]
			scrapeUntil(map[string]float64{
				"epilogue_shim_journal_entries":                               0,
				"epilogue_reclaims_total{decision=deferred,op=pause}":         1,
				"epilogue_reclaims_total{decision=" + tc.final + ",op=pause}": 1,
				"epilogue_reclaims_total{decision=" + other + ",op=pause}":    0,
			})
		})
	}
}
