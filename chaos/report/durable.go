package report

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"

	"github.com/epilogue-dev/epilogue/chaos"
)

// durableSection is the durable semantics' table: per backend and fault,
// what was acknowledged, what landed exactly once, what a recovery or
// continuation ran, what never landed, and the time to recovery.
func durableSection(rs []chaos.Report) string {
	var rows [][]string
	b := heading("Durable tasks: recovered, unrecovered, time to recovery",
		"Under durable the workload (ack-write) writes through a durable task: the intent is in Redis (AOF, fsynced on every write) before the answer, "+
			"and the standalone's built-in recoverer runs again what a fault killed. "+
			"Every acknowledged write must land exactly once (the write is keyed by the task id). "+
			"Recovered: run to its end by another activation, a recovery or a continuation; "+
			"unrecovered: acknowledged and never written; time to recovery: from the acknowledgement to the write, for the recovered ones (it includes the task's own pause and the lease, 3 s).")
	for _, r := range rs {
		for _, f := range ordered(knownFaults, field(one(r), faultOf)) {
			keep := is(chaos.SemanticsDurable, "", f)
			t := sum(one(r), keep)
			if t.scenarios == 0 {
				continue
			}
			var recovered, unrecovered, duplicated, persisted int
			for _, s := range r.Scenarios {
				if keep(s) {
					recovered += s.Recovered
					unrecovered += s.Unrecovered
					duplicated += s.Duplicated
					persisted += s.Persisted
				}
			}
			p50, p99 := "–", "–"
			if ms := samples(one(r), keep, recoveryTime); len(ms) > 0 {
				p50, p99 = fixed(percentile(ms, 50), 0), fixed(percentile(ms, 99), 0)
			}
			rows = append(rows, []string{md(cmp.Or(r.Backend, "?")), md(f), strconv.Itoa(t.acknowledged), strconv.Itoa(persisted - duplicated),
				strconv.Itoa(recovered), strconv.Itoa(unrecovered), strconv.Itoa(duplicated), strconv.Itoa(t.lost), p50, p99})
		}
	}
	if len(rows) == 0 {
		return "" // a run without durable (--semantics both) has no section
	}
	b.WriteString(mdTable([]string{"backend", "fault", "acknowledged", "exactly once", "recovered", "unrecovered", "duplicated", "lost", "recovery p50 (ms)", "recovery p99 (ms)"}, rows))
	return b.String()
}

func recoveryTime(s chaos.Result) []float64 { return s.RecoveryMs }

// durableSummary is the summary's line on durable, if the run had it.
func durableSummary(rs []chaos.Report) []string {
	keep := is(chaos.SemanticsDurable, "", "")
	t := sum(rs, keep)
	if t.scenarios == 0 {
		return nil
	}
	var recovered, unrecovered, duplicated int
	for _, r := range rs {
		for _, s := range r.Scenarios {
			if keep(s) {
				recovered, unrecovered, duplicated = recovered+s.Recovered, unrecovered+s.Unrecovered, duplicated+s.Duplicated
			}
		}
	}
	line := fmt.Sprintf("Under durable %d of %d acknowledged writes never landed and %d landed twice; %d were recovered", unrecovered, t.acknowledged, duplicated, recovered)
	if ms := samples(rs, keep, recoveryTime); len(ms) > 0 {
		line += fmt.Sprintf(", a median %s ms after their acknowledgement (p99 %s ms)", fixed(percentile(ms, 50), 0), fixed(percentile(ms, 99), 0))
	}
	return []string{strings.TrimSpace(line) + "."}
}

// durableClause adds durable to the header's sentence when the run had it.
func durableClause(rs []chaos.Report) string {
	if sum(rs, is(chaos.SemanticsDurable, "", "")).scenarios == 0 {
		return ""
	}
	return "; ack-write runs a third time with its write in a durable task (durable), recovered after what kills it"
}
