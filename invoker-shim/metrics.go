package invokershim

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/epilogue-dev/epilogue/invoker-shim/journal"
	"github.com/epilogue-dev/epilogue/reclaim"
)

// MetricsPath is where Config.MetricsListen serves the metrics.
const MetricsPath = "/metrics"

// Calls, the label of epilogue_shim_passthrough_seconds.
const (
	callCreate  = "create"  // a container create, its configuration rewritten for a runtime
	callForward = "forward" // any other call forwarded as it came
)

// metrics are the shim's Prometheus instruments (docs/observability.md
// lists them).
type metrics struct {
	passthrough *prometheus.HistogramVec // call
	reclaims    *prometheus.CounterVec   // op, decision
	journal     prometheus.GaugeFunc
}

func newMetrics(j *journal.Journal) *metrics {
	m := &metrics{
		passthrough: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "epilogue_shim_passthrough_seconds",
			Help: "How long the daemon took to answer a call the shim forwarded without holding it (streams excluded): create, or forward for any other.",
			// Docker answers in milliseconds; a create that pulls an image, in seconds.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"call"}),
		reclaims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "epilogue_reclaims_total",
			Help: "Reclaims (pause, remove, kill, stop) of runtime containers, by decision: deferred (held for pending work), done (sent once the work was done), forced (sent at the bound with work pending), failed (the daemon refused it), cancelled (an unpause or a removal made it moot).",
		}, []string{"op", "decision"}),
		journal: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "epilogue_shim_journal_entries",
			Help: "Deferred operations open in the journal: answered or held, waiting for their runtime's work.",
		}, func() float64 { return float64(len(j.Open())) }),
	}
	// Every series exists from the start, at 0: PromQL sees the first
	// event as a change, not as a series appearing.
	for _, c := range []string{callCreate, callForward} {
		m.passthrough.WithLabelValues(c)
	}
	for _, op := range []operation{pauseOp, removeOp, killOp, stopOp} {
		for _, state := range []journal.State{journal.Deferred, journal.Applied, journal.Forced, journal.Failed, journal.Cancelled} {
			m.reclaims.WithLabelValues(string(op), decisionOf(state))
		}
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.passthrough.Describe(ch)
	m.reclaims.Describe(ch)
	m.journal.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.passthrough.Collect(ch)
	m.reclaims.Collect(ch)
	m.journal.Collect(ch)
}

// Collector returns the shim's Prometheus metrics.
func (s *Shim) Collector() prometheus.Collector { return s.metrics }

// metricsHandler serves the shim's metrics and the process's own.
func (s *Shim) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.metrics, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{Timeout: 10 * time.Second}))
	return mux
}

// passedThrough times a forwarded call.
func (m *metrics) passedThrough(call string, start time.Time) {
	m.passthrough.WithLabelValues(call).Observe(time.Since(start).Seconds())
}

// decisionOf is the label of a deferred operation's journaled outcome.
func decisionOf(state journal.State) string {
	switch state {
	case journal.Applied:
		return reclaim.Done
	case journal.Forced:
		return reclaim.Forced
	case journal.Deferred:
		return reclaim.Deferred
	}
	return string(state) // failed, cancelled
}

// decided counts a deferred operation's step.
func (m *metrics) decided(op operation, state journal.State) {
	m.reclaims.WithLabelValues(string(op), decisionOf(state)).Inc()
}
