// Package report turns the chaos suite's results (one chaos.Report per
// backend, from one seeded run) into a Markdown report with SVG charts: the
// README.md that `make report` (epilogue chaos --report DIR) regenerates.
//
//	report.Write("docs/report", processReport, dockerReport)
//
// writes dir/README.md and four charts beside it:
//
//	latency.svg            p50 response latency against async I/O duration,
//	                       vanilla vs respond-after-all vs Epilogue
//	lost.svg               silent losses + interference per fault, vanilla vs Epilogue
//	reclaim-lag.svg        histogram of done → real pause under Epilogue
//	container-seconds.svg  lingering after the response vs activation duration, per workload
//
// The output is deterministic: the same reports give byte-identical files
// (reports, scenarios and names are sorted, floats have fixed precision, no
// timestamps), so regenerating an unchanged run leaves no diff. What was not
// measured (no latency sweep, no pause lags) is said as "not measured", in
// the tables and in the charts, rather than failing.
//
// The charts are hand-written SVG from the standard library. The plotting
// libraries that fit (gonum.org/v1/plot, github.com/wcharczuk/go-chart)
// bring fonts, font rasterisation and image or PDF back ends, and
// gonum.org/v1/plot also gonum itself, for four plain charts of a few dozen
// marks each; what they would save is the tick and layout arithmetic, which
// is short here.
//
// It owns the presentation only: what counts as a lost write, a reclaim lag
// or a latency point is decided by the suite (package chaos) that measures
// them. It imports the standard library and chaos's result types only.
package report
