package pool

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// The label outcome of epilogue_activations_total is one of the timeline's
// terminal outcomes (events.go): OutcomeDone, OutcomeExpired, OutcomeFailed
// (the record's completion), OutcomeError (the activation failed before or
// while answering: no work can be pending) or OutcomeUnknown (how its work
// ended is not known: a runtime that does not report completion, or stock
// semantics reclaimed its container with work pending).

// SecondsBuckets are the histograms' buckets: from a warm /run to the
// longest action timeout.
var SecondsBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// metrics are the pool's Prometheus instruments (docs/observability.md
// lists them). Events are counted where they happen; the gauges and the
// Stats counters are read from the pool when scraped, so they cannot drift
// from the state they describe.
type metrics struct {
	p *Pool

	activations  *prometheus.CounterVec // outcome
	response     prometheus.Histogram
	postResponse prometheus.Histogram
	lingerHeld   prometheus.Counter
	reclaims     *prometheus.CounterVec // decision
	doneToPause  prometheus.Histogram

	lingeringDesc  *prometheus.Desc
	pendingDesc    *prometheus.Desc
	containersDesc *prometheus.Desc
	startsDesc     *prometheus.Desc
	operationsDesc *prometheus.Desc
}

func newMetrics(p *Pool) *metrics {
	sem := prometheus.Labels{"semantics": string(p.cfg.Policy)}
	histogram := func(name, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, ConstLabels: sem, Buckets: SecondsBuckets})
	}
	m := &metrics{
		p: p,
		activations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "epilogue_activations_total", ConstLabels: sem,
			Help: "Activations finished, by outcome: done, expired or failed (the record's completion), error (failed before answering) or unknown (answered; how its work ended is not known).",
		}, []string{"outcome"}),
		response: histogram("epilogue_response_seconds",
			"From an activation's arrival to its answer: what a blocking caller waits."),
		postResponse: histogram("epilogue_post_response_seconds",
			"From an activation's answer to the end of its post-response work (activations that answered with work pending)."),
		lingerHeld: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "epilogue_linger_container_seconds_total", ConstLabels: sem,
			Help: "Container-seconds held after responses, waiting for post-response work: the price of safety. Added when a lingering container is released.",
		}),
		reclaims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "epilogue_reclaims_total", ConstLabels: sem,
			Help: "Reclaim decisions: deferred (held for pending work), done (the work finished; the reclaim may go on), forced (the bound passed, or the runtime went silent, with work pending).",
		}, []string{"decision"}),
		doneToPause: histogram("epilogue_done_to_pause_seconds",
			"From a lingering activation's done to its container's pause, pause grace included."),
		lingeringDesc: prometheus.NewDesc("epilogue_lingering_containers",
			"Containers holding activations that answered with work still pending.", nil, sem),
		pendingDesc: prometheus.NewDesc("epilogue_pending_work_items",
			"Activations that answered and whose post-response work is still pending.", nil, sem),
		containersDesc: prometheus.NewDesc("epilogue_containers",
			"The pool's containers, by state.", []string{"state"}, sem),
		startsDesc: prometheus.NewDesc("epilogue_container_starts_total",
			"Activations given a container, by kind: cold (a new container), warm (reused), prewarm (a stem cell).", []string{"kind"}, sem),
		operationsDesc: prometheus.NewDesc("epilogue_container_operations_total",
			"Container operations done: pause, unpause, remove, evict (removals to make room).", []string{"op"}, sem),
	}
	// Every label value exists from the start, at 0: a PromQL rate or
	// comparison then sees the first event, not a series appearing.
	for _, o := range []string{OutcomeDone, OutcomeExpired, OutcomeFailed, OutcomeError, OutcomeUnknown} {
		m.activations.WithLabelValues(o)
	}
	for _, d := range []string{reclaim.Deferred, reclaim.Done, reclaim.Forced} {
		m.reclaims.WithLabelValues(d)
	}
	return m
}

// Collector returns the pool's Prometheus metrics, to register with the
// registry the server exposes.
func (p *Pool) Collector() prometheus.Collector { return p.metrics }

func (m *metrics) counted() []prometheus.Collector {
	return []prometheus.Collector{m.activations, m.response, m.postResponse, m.lingerHeld, m.reclaims, m.doneToPause}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.counted() {
		c.Describe(ch)
	}
	for _, d := range []*prometheus.Desc{m.lingeringDesc, m.pendingDesc, m.containersDesc, m.startsDesc, m.operationsDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.counted() {
		c.Collect(ch)
	}
	p := m.p
	p.mu.Lock()
	byState := make([]int, len(stateNames))
	lingering, pending := 0, 0
	for mem := range p.members {
		byState[mem.state]++
		if len(mem.lingering) > 0 {
			lingering++
			pending += len(mem.lingering)
		}
	}
	st := p.stats
	p.mu.Unlock()

	ch <- prometheus.MustNewConstMetric(m.lingeringDesc, prometheus.GaugeValue, float64(lingering))
	ch <- prometheus.MustNewConstMetric(m.pendingDesc, prometheus.GaugeValue, float64(pending))
	for s, n := range byState {
		if state(s) != stateRemoved {
			ch <- prometheus.MustNewConstMetric(m.containersDesc, prometheus.GaugeValue, float64(n), state(s).String())
		}
	}
	for kind, n := range map[string]int64{"cold": st.ColdStarts, "warm": st.WarmStarts, "prewarm": st.PrewarmStarts} {
		ch <- prometheus.MustNewConstMetric(m.startsDesc, prometheus.CounterValue, float64(n), kind)
	}
	for op, n := range map[string]int64{"pause": st.Pauses, "unpause": st.Unpauses, "remove": st.Removals, "evict": st.Evictions, "prewarm": st.ActionPrewarms} {
		ch <- prometheus.MustNewConstMetric(m.operationsDesc, prometheus.CounterValue, float64(n), op)
	}
}

// responded observes an activation's answer at t.
func (m *metrics) responded(inv *Invocation, t time.Time) {
	m.response.Observe(t.Sub(inv.arrived).Seconds())
}

// ended counts a finished activation by its outcome.
func (m *metrics) ended(inv *Invocation) {
	m.activations.WithLabelValues(inv.outcome()).Inc()
}

// outcome is the activation's label in epilogue_activations_total.
func (inv *Invocation) outcome() string {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if v, ok := inv.rec.Annotations.Get(entity.AnnotationCompletion); ok {
		return trimQuotes(string(v))
	}
	switch inv.rec.Response.Status {
	case entity.StatusDeveloperError, entity.StatusWhiskError:
		return OutcomeError
	}
	return OutcomeUnknown
}

// released adds the time a lingering container was held, from its
// activation's answer to now.
func (m *metrics) released(responded time.Time) {
	m.lingerHeld.Add(time.Since(responded).Seconds())
}

// decided counts a reclaim decision (reclaim.Deferred, reclaim.Done or
// reclaim.Forced).
func (m *metrics) decided(decision string) {
	m.reclaims.WithLabelValues(decision).Inc()
}
