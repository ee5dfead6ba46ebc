package report

import (
	"slices"

	"github.com/epilogue-dev/epilogue/chaos"
)

// The orders names are listed in: the suite's own order, so that a table
// reads the way the matrix is defined. Names the suite adds later follow,
// sorted.
var (
	knownSemantics = chaos.AllSemantics
	knownModes     = []string{chaos.ModeVanilla, chaos.ModeRespondAfterAll, chaos.ModeEpilogue}
	knownWorkloads = []string{chaos.WorkloadAckWrite, chaos.WorkloadFanout,
		chaos.WorkloadInterference, chaos.WorkloadTelemetry}
	knownFaults = []string{chaos.FaultReclaimAfterResponse, chaos.FaultIdleRemoval,
		chaos.FaultEviction, chaos.FaultSIGKILL, chaos.FaultProxyCrash,
		chaos.FaultShimRestart, chaos.FaultRedisLatency, chaos.FaultRedisStall,
		chaos.FaultRedisReset, chaos.FaultDeadline, chaos.FaultStandaloneRestart, chaos.FaultRedisRestart}
)

// ordered returns the distinct names, those in known first in known's
// order, then the others sorted.
func ordered(known, names []string) []string {
	var first, rest []string
	for _, k := range known {
		if slices.Contains(names, k) {
			first = append(first, k)
		}
	}
	for _, n := range names {
		if !slices.Contains(known, n) && !slices.Contains(rest, n) {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	return append(first, rest...)
}

// field lists one field of every scenario of the reports.
func field(rs []chaos.Report, f func(chaos.Result) string) []string {
	var out []string
	for _, r := range rs {
		for _, s := range r.Scenarios {
			out = append(out, f(s))
		}
	}
	return out
}

func semanticsOf(s chaos.Result) string { return s.Semantics }
func faultOf(s chaos.Result) string     { return s.Fault }
func workloadOf(s chaos.Result) string  { return s.Workload }

// tally sums scenarios' counts.
type tally struct {
	scenarios, activations, acknowledged, lost, interference, forced int
	completion                                                       chaos.CompletionCounts
}

func (t *tally) add(s chaos.Result) {
	t.scenarios++
	t.activations += s.Activations
	t.acknowledged += s.Acknowledged
	t.lost += s.Lost
	t.interference += s.Interference
	t.forced += s.ForcedReclaims
	t.completion.Done += s.Completion.Done
	t.completion.Expired += s.Completion.Expired
	t.completion.Failed += s.Completion.Failed
}

// sum tallies the scenarios of the reports that keep accepts.
func sum(rs []chaos.Report, keep func(chaos.Result) bool) tally {
	var t tally
	for _, r := range rs {
		for _, s := range r.Scenarios {
			if keep(s) {
				t.add(s)
			}
		}
	}
	return t
}

// samples gathers one sample list of the reports' scenarios that keep
// accepts, sorted.
func samples(rs []chaos.Report, keep func(chaos.Result) bool, list func(chaos.Result) []float64) []float64 {
	var out []float64
	for _, r := range rs {
		for _, s := range r.Scenarios {
			if keep(s) {
				out = append(out, list(s)...)
			}
		}
	}
	slices.Sort(out)
	return out
}

func postResponse(s chaos.Result) []float64 { return s.PostResponseMs }
func duration(s chaos.Result) []float64     { return s.DurationMs }
func pauseLag(s chaos.Result) []float64     { return s.PauseLagMs }

// is matches scenarios by semantics, and by workload and fault where those
// are not "".
func is(semantics, workload, fault string) func(chaos.Result) bool {
	return func(s chaos.Result) bool {
		return (semantics == "" || s.Semantics == semantics) &&
			(workload == "" || s.Workload == workload) &&
			(fault == "" || s.Fault == fault)
	}
}

// percentile is the sorted samples' value at index ⌊(n−1)·pct/100⌋, the
// rule tests/bench/benchstat uses too, in integer arithmetic so
// that no float rounding moves the index. sorted must not be empty.
func percentile(sorted []float64, pct int) float64 {
	return sorted[(len(sorted)-1)*pct/100]
}

// mean of a non-empty list.
func mean(vs []float64) float64 {
	total := 0.0
	for _, v := range vs {
		total += v
	}
	return total / float64(len(vs))
}

// one wraps a report in a slice, for the helpers that take several.
func one(r chaos.Report) []chaos.Report { return []chaos.Report{r} }
