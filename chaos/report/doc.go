// Package report turns the chaos suite's results (one chaos.Report per
// backend, from one seeded run) into a Markdown report with SVG charts: the
// README.md that `make report` (epilogue chaos --report DIR) regenerates.
//
//	report.Write("docs/report", processReport, dockerReport)
//
// writes dir/README.md, four charts beside it and dir/results.json, the
// reports themselves:
//
//	latency.svg            p50 response latency against async I/O duration,
//	                       vanilla vs respond-after-all vs Epilogue, a panel per backend
//	lost.svg               silent losses + interference per fault, vanilla vs Epilogue
//	reclaim-lag.svg        histogram of done → real pause under Epilogue
//	container-seconds.svg  activation duration + lingering after the response, per workload
//
// The bar charts are horizontal, their rows labelled in a column as wide as
// the longest label, with one panel per backend on a shared scale; vanilla
// and Epilogue have the same colour in every chart and every chart has a
// legend and a subtitle with the run's own figures. No text is turned and
// none overlaps another (TestChartsDoNotOverlap estimates every label's
// box).
//
// report.Render("docs/report") (epilogue chaos --render DIR) draws the
// README and the charts again from dir/results.json without running the
// suite, so that a change to the presentation is seen on the committed run
// at once; TestCommittedReportIsCurrent keeps docs/report what its
// results.json renders to.
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
