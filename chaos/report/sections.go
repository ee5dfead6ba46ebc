package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/epilogue-dev/epilogue/chaos"
)

// dash stands in a table cell for a value that was not measured.
const dash = "–"

// heading starts a README section: its title and what it shows.
func heading(title, intro string) *strings.Builder {
	b := &strings.Builder{}
	b.WriteString("## " + title + "\n\n" + intro + "\n\n")
	return b
}

// withBackend names a series or category after its backend too, when the
// run has more than one.
func withBackend(name, backend string, several bool) string {
	if !several {
		return name
	}
	return name + " (" + backend + ")"
}

func latencySection(rs []chaos.Report) (string, []byte) {
	b := heading("Response latency against async I/O duration",
		"Warm activations whose async I/O takes the given time. Vanilla answers early and OpenWhisk pauses the container at once, "+
			"cutting the I/O; respond-after-all (the paper's Approach 1) answers only when nothing is pending, so the response waits for the I/O; "+
			"Epilogue answers early and keeps the container until the I/O is done.")
	chart := lineChart{title: "p50 response latency against async I/O duration", xLabel: "async I/O duration (ms)", yLabel: "p50 response latency (ms)"}
	var measured []chaos.Report
	for _, r := range rs {
		if len(r.Latency) > 0 {
			measured = append(measured, r)
		}
	}
	if len(measured) == 0 {
		b.WriteString("Not measured: no report has a latency sweep.\n\n")
		return b.String(), chart.svg()
	}
	b.WriteString(image(chart.title, latencyFile))
	several := len(measured) > 1
	for i, r := range measured {
		ms := ordered(knownModes, modes(r.Latency))
		var asyncs []int
		lo, hi := r.Latency[0].Samples, r.Latency[0].Samples
		for _, p := range r.Latency {
			asyncs = append(asyncs, p.AsyncMs)
			lo, hi = min(lo, p.Samples), max(hi, p.Samples)
		}
		slices.Sort(asyncs)
		asyncs = slices.Compact(asyncs)

		head := []string{"async I/O (ms)"}
		for _, m := range ms {
			head = append(head, md(m)+" p50 (ms)", md(m)+" p99 (ms)")
		}
		rows := make([][]string, len(asyncs))
		for k, a := range asyncs {
			rows[k] = []string{strconv.Itoa(a)}
			for _, m := range ms {
				p, ok := latencyAt(r.Latency, m, a)
				if !ok {
					rows[k] = append(rows[k], dash, dash)
					continue
				}
				rows[k] = append(rows[k], fixed(p.P50Ms, 1), fixed(p.P99Ms, 1))
			}
		}
		if several {
			fmt.Fprintf(b, "### Backend %s\n\n", md(r.Backend))
		}
		b.WriteString(mdTable(head, rows))
		fmt.Fprintf(b, "Async I/O from %d to %d ms; each point is taken over %s activations.\n\n", asyncs[0], asyncs[len(asyncs)-1], span(lo, hi))

		for j, m := range ms {
			s := series{name: withBackend(m, r.Backend, several), color: colorOf(m, j), dash: dashes[i%len(dashes)]}
			for _, a := range asyncs {
				if p, ok := latencyAt(r.Latency, m, a); ok {
					s.points = append(s.points, point{float64(a), p.P50Ms})
				}
			}
			chart.series = append(chart.series, s)
		}
	}
	return b.String(), chart.svg()
}

// span is "n" or "lo–hi".
func span(lo, hi int) string {
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return strconv.Itoa(lo) + dash + strconv.Itoa(hi)
}

func lossSection(rs []chaos.Report) (string, []byte) {
	b := heading("Lost writes per fault, vanilla vs Epilogue",
		"Summed over workloads. Lost: acknowledged, not persisted, and not reported failed or expired: a silent loss. "+
			"Interference: writes of a leftover that ran inside a later activation and paired a new value with an old hash. "+
			"done/expired/failed: activations by the completion annotation of their final record. "+
			"Forced: reclaims made past a bound with work pending.")
	sems := ordered(knownSemantics, field(rs, semanticsOf))
	faults := ordered(knownFaults, field(rs, faultOf))
	chart := barChart{title: "Silent losses + interference per fault (all workloads and backends)",
		xLabel: "fault", yLabel: "lost + interfering writes", categories: faults, integer: true,
		format: func(v float64) string { return fixed(v, 0) }}
	if len(faults) == 0 {
		b.WriteString("Not measured: no scenario was run.\n\n")
		return b.String(), chart.svg()
	}
	for j, sem := range sems {
		s := series{name: sem, color: colorOf(sem, j)}
		for _, f := range faults {
			t := sum(rs, is(sem, "", f))
			s.values = append(s.values, float64(t.lost+t.interference))
		}
		chart.series = append(chart.series, s)
	}
	b.WriteString(image(chart.title, lostFile))

	head := []string{"fault"}
	for _, sem := range sems {
		for _, c := range []string{"activations", "acknowledged", "lost", "interference", "done/expired/failed", "forced"} {
			head = append(head, md(sem)+" "+c)
		}
	}
	for _, r := range rs {
		var rows [][]string
		row := func(label, fault string) []string {
			cells := []string{label}
			for _, sem := range sems {
				t := sum(one(r), is(sem, "", fault))
				if t.scenarios == 0 {
					cells = append(cells, dash, dash, dash, dash, dash, dash)
					continue
				}
				c := t.completion
				cells = append(cells, strconv.Itoa(t.activations), strconv.Itoa(t.acknowledged), strconv.Itoa(t.lost),
					strconv.Itoa(t.interference), fmt.Sprintf("%d/%d/%d", c.Done, c.Expired, c.Failed), strconv.Itoa(t.forced))
			}
			return cells
		}
		for _, f := range ordered(knownFaults, field(one(r), faultOf)) {
			rows = append(rows, row(md(f), f))
		}
		rows = append(rows, row("**all faults**", ""))
		fmt.Fprintf(b, "### Backend %s\n\n", md(r.Backend))
		b.WriteString(mdTable(head, rows))
	}
	return b.String(), chart.svg()
}

func reclaimLagSection(rs []chaos.Report) (string, []byte) {
	b := heading("Reclaim lag (done → real pause)",
		"Under Epilogue, for each pause of a container after a lingering activation was done: the time from done to the real pause.")
	epilogue := is(chaos.SemanticsEpilogue, "", "")
	all := samples(rs, epilogue, pauseLag)
	chart := barChart{title: "Reclaim lag under Epilogue (all backends)", xLabel: "done → real pause (ms)", yLabel: "pauses",
		integer: true, format: func(v float64) string { return fixed(v, 0) }}
	if len(all) == 0 {
		b.WriteString("Not measured: no epilogue scenario recorded a pause after done.\n\n")
		return b.String(), chart.svg()
	}
	counts := make([]int, len(lagBuckets)+1)
	for _, v := range all {
		// The first edge above v; past the last edge, the open bucket.
		i, _ := slices.BinarySearch(lagBuckets, v)
		if i < len(lagBuckets) && lagBuckets[i] == v {
			i++
		}
		counts[i]++
	}
	// Only the buckets from the first to the last non-empty one: the
	// others would crowd the chart with zeros.
	first, last := len(counts), 0
	for i, n := range counts {
		if n > 0 {
			first, last = min(first, i), i
		}
	}
	s := series{name: "pauses", color: colorOf(chaos.SemanticsEpilogue, 0)}
	for i := first; i <= last; i++ {
		chart.categories = append(chart.categories, bucketLabel(i))
		s.values = append(s.values, float64(counts[i]))
	}
	chart.series = []series{s}
	b.WriteString(image(chart.title, reclaimLagFile))

	var rows [][]string
	lagRow := func(label string, lags []float64) []string {
		if len(lags) == 0 {
			return []string{label, "0", notMeasured, dash, dash, dash}
		}
		return []string{label, strconv.Itoa(len(lags)), fixed(percentile(lags, 50), 1), fixed(percentile(lags, 90), 1),
			fixed(percentile(lags, 99), 1), fixed(lags[len(lags)-1], 1)}
	}
	for _, r := range rs {
		rows = append(rows, lagRow(md(r.Backend), samples(one(r), epilogue, pauseLag)))
	}
	if len(rs) > 1 {
		rows = append(rows, lagRow("**all backends**", all))
	}
	b.WriteString(mdTable([]string{"backend", "pauses", "p50 (ms)", "p90 (ms)", "p99 (ms)", "max (ms)"}, rows))
	return b.String(), chart.svg()
}

// bucketLabel names histogram bucket i: [edge i−1, edge i) in ms.
func bucketLabel(i int) string {
	edge := func(k int) string { return fixed(lagBuckets[k], 0) }
	switch i {
	case 0:
		return "< " + edge(0)
	case len(lagBuckets):
		return "≥ " + edge(i-1)
	}
	return edge(i-1) + dash + edge(i)
}

func costSection(rs []chaos.Report) (string, []byte) {
	b := heading("Extra container-seconds per activation that lingering costs, against vanilla",
		"Vanilla OpenWhisk pauses a container as soon as its activation answers; Epilogue keeps it unpaused until the post-response work is done. "+
			"Lingering is the mean, over the epilogue activations whose record has it, of the time from the response to done: "+
			"the container-seconds each activation adds. The mean activation duration (time to the response) under each semantics is there for scale.")
	sems := ordered(knownSemantics, field(rs, semanticsOf))
	several := len(rs) > 1
	chart := barChart{title: "Activation duration and lingering per workload", xLabel: "workload", yLabel: "seconds per activation",
		format: func(v float64) string { return fixed(v, 3) }}
	for j, sem := range sems {
		chart.series = append(chart.series, series{name: "duration, " + sem, color: colorOf(sem, j)})
	}
	chart.series = append(chart.series, series{name: "lingering, " + chaos.SemanticsEpilogue, color: lingerColor})

	head := []string{"backend", "workload", "lingering, epilogue (s)", "activations with a record"}
	for _, sem := range sems {
		head = append(head, "duration, "+md(sem)+" (s)")
	}
	var rows [][]string
	measured := false
	for _, r := range rs {
		for _, w := range ordered(knownWorkloads, field(one(r), workloadOf)) {
			linger := samples(one(r), is(chaos.SemanticsEpilogue, w, ""), postResponse)
			row := []string{md(r.Backend), md(w), seconds(linger), strconv.Itoa(len(linger))}
			values := []float64{}
			for _, sem := range sems {
				d := samples(one(r), is(sem, w, ""), duration)
				row = append(row, seconds(d))
				values = append(values, meanSeconds(d))
				measured = measured || len(d) > 0
			}
			measured = measured || len(linger) > 0
			rows = append(rows, row)
			chart.categories = append(chart.categories, withBackend(w, r.Backend, several))
			for k, v := range append(values, meanSeconds(linger)) {
				chart.series[k].values = append(chart.series[k].values, v)
			}
		}
	}
	if !measured {
		chart.categories = nil
		b.WriteString("Not measured: no scenario recorded activation or post-response durations.\n\n")
		return b.String(), chart.svg()
	}
	b.WriteString(image(chart.title, costFile))
	b.WriteString(mdTable(head, rows))
	return b.String(), chart.svg()
}

// meanSeconds is the mean of samples in ms, in seconds; NaN, drawn as
// "n/a", when there are none.
func meanSeconds(ms []float64) float64 {
	if len(ms) == 0 {
		return math.NaN()
	}
	return mean(ms) / 1000
}

// seconds prints meanSeconds for a table.
func seconds(ms []float64) string {
	if len(ms) == 0 {
		return notMeasured
	}
	return fixed(meanSeconds(ms), 3)
}

func errorsSection(rs []chaos.Report) string {
	var failed []chaos.Result
	for _, r := range rs {
		for _, s := range r.Scenarios {
			if len(s.Errors) > 0 {
				// A scenario may leave its backend to the report's.
				s.Backend = cmp.Or(s.Backend, r.Backend)
				failed = append(failed, s)
			}
		}
	}
	var b strings.Builder
	b.WriteString("## Harness errors\n\n")
	if len(failed) == 0 {
		b.WriteString("None: no scenario had errors in the harness itself.\n")
		return b.String()
	}
	b.WriteString("Errors of the harness itself, not of the workload: a scenario listed here proves nothing. " +
		"Replay one alone with its seed and the same workload, fault and semantics.\n\n")
	slices.SortStableFunc(failed, func(a, b chaos.Result) int {
		return cmp.Or(cmp.Compare(a.Backend, b.Backend), cmp.Compare(a.Workload, b.Workload), cmp.Compare(a.Fault, b.Fault),
			cmp.Compare(a.Semantics, b.Semantics), cmp.Compare(a.Seed, b.Seed))
	})
	var lines []string
	for _, s := range failed {
		errs := make([]string, len(s.Errors))
		for i, e := range s.Errors {
			errs[i] = md(e)
		}
		lines = append(lines, fmt.Sprintf("%s · %s · %s · %s (seed %d): %s", md(s.Backend), md(s.Workload), md(s.Fault), md(s.Semantics), s.Seed, strings.Join(errs, "; ")))
	}
	b.WriteString(strings.TrimSuffix(bullets(lines), "\n"))
	return b.String()
}
