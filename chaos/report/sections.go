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

func latencySection(rs []chaos.Report) (string, []byte) {
	b := heading("Response latency against async I/O duration",
		"Warm activations whose async I/O takes the given time. Vanilla answers early and OpenWhisk pauses the container at once, "+
			"cutting the I/O; respond-after-all (the paper's Approach 1) answers only when nothing is pending, so the response waits for the I/O; "+
			"Epilogue answers early and keeps the container until the I/O is done.")
	chart := lineChart{title: "p50 response latency (ms) against async I/O duration (ms)",
		subtitle: "Vanilla and Epilogue answer as soon as the action responds; respond-after-all answers only once its async I/O is done, so its latency grows with the I/O.",
		xLabel:   "async I/O duration (ms)", yLabel: "p50 response latency (ms)"}
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
	var allModes []string
	for _, r := range measured {
		allModes = append(allModes, modes(r.Latency)...)
	}
	allModes = ordered(knownModes, allModes)
	for j, m := range allModes {
		chart.legend = append(chart.legend, entry{name: m, color: colorOf(m, j), line: true})
	}
	for _, r := range measured {
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

		panel := linePanel{name: r.Backend}
		for _, m := range ms {
			s := series{name: m, color: colorOf(m, slices.Index(allModes, m))}
			for _, a := range asyncs {
				if p, ok := latencyAt(r.Latency, m, a); ok {
					s.points = append(s.points, point{float64(a), p.P50Ms})
				}
			}
			panel.series = append(panel.series, s)
		}
		chart.panels = append(chart.panels, panel)
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
	chart := hbarChart{title: "Silent losses + interference per fault (writes)",
		rowHeader: "fault", unit: "lost + interfering writes", rows: faults, integer: true,
		format: func(v float64) string { return fixed(v, 0) }}
	if len(faults) == 0 {
		b.WriteString("Not measured: no scenario was run.\n\n")
		return b.String(), chart.svg()
	}
	var totals []string
	for j, sem := range sems {
		chart.legend = append(chart.legend, entry{name: sem, color: colorOf(sem, j)})
		t := sum(rs, is(sem, "", ""))
		totals = append(totals, fmt.Sprintf("%s %d of %d (+%d interfering)", sem, t.lost, t.acknowledged, t.interference))
	}
	chart.subtitle = "Summed over the workloads. A silent loss: acknowledged, never persisted, not reported failed or expired. " +
		"Lost of acknowledged activations, all backends: " + strings.Join(totals, ", ") + ". n/a: the backend does not run the fault."
	for _, r := range rs {
		panel := hbarPanel{name: r.Backend}
		for _, f := range faults {
			var row []bar
			for j, sem := range sems {
				t := sum(one(r), is(sem, "", f))
				if t.scenarios == 0 {
					row = append(row, nil)
					continue
				}
				row = append(row, bar{{float64(t.lost + t.interference), colorOf(sem, j)}})
			}
			panel.bars = append(panel.bars, row)
		}
		chart.panels = append(chart.panels, panel)
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
	chart := hbarChart{title: "Reclaim lag under Epilogue: pauses per lag (ms, done → real pause)",
		rowHeader: "lag (ms)", unit: "pauses", integer: true, format: func(v float64) string { return fixed(v, 0) },
		legend: []entry{{name: "pauses under " + chaos.SemanticsEpilogue, color: colorOf(chaos.SemanticsEpilogue, 0)}}}
	if len(all) == 0 {
		b.WriteString("Not measured: no epilogue scenario recorded a pause after done.\n\n")
		return b.String(), chart.svg()
	}
	// Only the buckets from the first to the last non-empty one of any
	// backend: the others would crowd the chart with zeros.
	counts := bucketCounts(all)
	first, last := len(counts), 0
	for i, n := range counts {
		if n > 0 {
			first, last = min(first, i), i
		}
	}
	for i := first; i <= last; i++ {
		chart.rows = append(chart.rows, bucketLabel(i))
	}
	var medians []string
	for _, r := range rs {
		lags := samples(one(r), epilogue, pauseLag)
		own := bucketCounts(lags)
		panel := hbarPanel{name: r.Backend}
		for i := first; i <= last; i++ {
			panel.bars = append(panel.bars, []bar{{{float64(own[i]), colorOf(chaos.SemanticsEpilogue, 0)}}})
		}
		chart.panels = append(chart.panels, panel)
		if len(lags) > 0 {
			medians = append(medians, fmt.Sprintf("%s: median %s ms, p99 %s ms over %d pauses", r.Backend,
				fixed(percentile(lags, 50), 1), fixed(percentile(lags, 99), 1), len(lags)))
		}
	}
	chart.subtitle = "How long a container keeps running after its post-response work is done, until it is really paused. " +
		strings.Join(medians, "; ") + "."
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

// bucketCounts counts lags per lagBuckets bucket; the last count is the
// open bucket past the last edge.
func bucketCounts(lags []float64) []int {
	counts := make([]int, len(lagBuckets)+1)
	for _, v := range lags {
		// The first edge above v; past the last edge, the open bucket.
		i, _ := slices.BinarySearch(lagBuckets, v)
		if i < len(lagBuckets) && lagBuckets[i] == v {
			i++
		}
		counts[i]++
	}
	return counts
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
	why := lingerWhy(rs)
	b := heading("Extra container-seconds per activation that lingering costs, against vanilla",
		"Vanilla OpenWhisk pauses a container as soon as its activation answers; Epilogue keeps it unpaused until the post-response work is done. "+
			"Lingering is the mean, over the epilogue activations whose record has it, of the time from the response to done: "+
			"the container-seconds each activation adds. The mean activation duration (time to the response) under each semantics is there for scale.\n\n"+
			md(why))
	sems := ordered(knownSemantics, field(rs, semanticsOf))
	chart := hbarChart{title: "Container-seconds per activation (s): duration + lingering",
		subtitle: why, rowHeader: "workload", unit: "seconds per activation",
		rows: ordered(knownWorkloads, field(rs, workloadOf)), format: func(v float64) string { return fixed(v, 3) }}
	for j, sem := range sems {
		chart.legend = append(chart.legend, entry{name: sem + ": duration", color: colorOf(sem, j)})
	}
	chart.legend = append(chart.legend, entry{name: chaos.SemanticsEpilogue + ": lingering after the response", color: lingerColor})

	head := []string{"backend", "workload", "lingering, epilogue (s)", "activations with a record"}
	for _, sem := range sems {
		head = append(head, "duration, "+md(sem)+" (s)")
	}
	var rows [][]string
	measured := false
	for _, r := range rs {
		panel := hbarPanel{name: r.Backend}
		for _, w := range chart.rows {
			linger := samples(one(r), is(chaos.SemanticsEpilogue, w, ""), postResponse)
			measured = measured || len(linger) > 0
			ran := slices.Contains(field(one(r), workloadOf), w)
			if ran {
				rows = append(rows, []string{md(r.Backend), md(w), seconds(linger), strconv.Itoa(len(linger))})
			}
			var bars []bar
			for j, sem := range sems {
				d := samples(one(r), is(sem, w, ""), duration)
				measured = measured || len(d) > 0
				if ran {
					rows[len(rows)-1] = append(rows[len(rows)-1], seconds(d))
				}
				var bb bar
				if len(d) > 0 {
					bb = append(bb, segment{mean(d) / 1000, colorOf(sem, j)})
				}
				if sem == chaos.SemanticsEpilogue && len(linger) > 0 {
					bb = append(bb, segment{mean(linger) / 1000, lingerColor})
				}
				bars = append(bars, bb)
			}
			panel.bars = append(panel.bars, bars)
		}
		chart.panels = append(chart.panels, panel)
	}
	if !measured {
		chart.rows = nil
		b.WriteString("Not measured: no scenario recorded activation or post-response durations.\n\n")
		return b.String(), chart.svg()
	}
	b.WriteString(image(chart.title, costFile))
	b.WriteString(mdTable(head, rows))
	return b.String(), chart.svg()
}

// lingerWhy explains why Epilogue's activations last longer and cost more
// container-seconds than vanilla's, with the run's figures where it has
// them.
func lingerWhy(rs []chaos.Report) string {
	epilogue, vanilla := is(chaos.SemanticsEpilogue, "", ""), is(chaos.SemanticsVanilla, "", "")
	linger := samples(rs, epilogue, postResponse)
	durE, durV := samples(rs, epilogue, duration), samples(rs, vanilla, duration)
	lingers := "lingers after its response"
	if len(linger) > 0 && len(durE) > 0 {
		lingers = fmt.Sprintf("lingers after its response (a mean %s s here, against a mean activation duration of %s s)",
			fixed(mean(linger)/1000, 3), fixed(mean(durE)/1000, 3))
	}
	line := "Why Epilogue costs more: a container whose activation still has work pending " + lingers +
		" and takes no new activation meanwhile, so more activations need a new container and start cold"
	// The cold starts are the reason only where epilogue's activations
	// did last longer.
	if len(durE) > 0 && len(durV) > 0 && mean(durE) > mean(durV) {
		line += fmt.Sprintf(": they last a mean %s s under %s against %s s under %s",
			fixed(mean(durE)/1000, 3), chaos.SemanticsEpilogue, fixed(mean(durV)/1000, 3), chaos.SemanticsVanilla)
	}
	return line + "."
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
