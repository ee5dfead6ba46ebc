package replay

import (
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Report is a comparison of the policies on one trace, under one or more
// memory budgets.
type Report struct {
	// Trace says where the trace came from, e.g. "synthetic, seed 1, 7 days, 200 functions".
	Trace   string
	Command string // the command that reproduces it
	Calls   int
	Runs    []Run
}

// Run is the policies' results under one memory budget.
type Run struct {
	MemoryMB int // 0: no limit
	Results  []Result
}

// Title names the run's budget.
func (r Run) Title() string {
	if r.MemoryMB == 0 {
		return "no memory limit"
	}
	return fmt.Sprintf("--memory %d (%.0f GiB)", r.MemoryMB, float64(r.MemoryMB)/1024)
}

// ChartFile is the report's chart, beside its README.md.
const ChartFile = "coldstarts-vs-memory.svg"

// WriteReport writes rep into dir: README.md and the chart.
func WriteReport(dir string, rep Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ChartFile), rep.SVG(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "README.md"), []byte(rep.Markdown()), 0o644)
}

// Dominating lists, per run, the policies that beat fixed on both axes:
// fewer cold starts and less wasted memory.
func (r Run) Dominating() []Result {
	var fixed *Result
	for i := range r.Results {
		if r.Results[i].Policy == "fixed" {
			fixed = &r.Results[i]
		}
	}
	var out []Result
	for _, x := range r.Results {
		if fixed != nil && x.Policy != "fixed" && x.ColdStartRatio < fixed.ColdStartRatio && x.MemoryVsFixed < 1 {
			out = append(out, x)
		}
	}
	return out
}

// Markdown is the report's README: per run, the table and what beats fixed.
func (rep Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# Keep-alive policies: cold starts against memory\n\n")
	fmt.Fprintf(&b, "Trace: %s (%d calls). Reproduce with `%s`.\n\n", rep.Trace, rep.Calls, rep.Command)
	b.WriteString("Idle time runs from done (Epilogue: an instance is busy until its post-response work is done). " +
		"Wasted memory is the memory of idle, kept-alive or prewarmed instances over time (GiB·h here, MB·s in --json), and against fixed. " +
		"Prewarm accuracy is hits / (hits + false alarms + misses) over 5-minute buckets per function (a hit: the bucket's first call found a warm instance; " +
		"a false alarm: an idle instance held through a bucket without calls). The definitions are in package replay's doc; " +
		"the policies' in package keepalive's (the histogram's standard keep-alive is fixed's 10 minutes, where Shahrad et al. keep 4 hours; " +
		"its idle times beyond 4 hours are forecast by an ARIMA; seasonal adds weekly terms to its daily ones once a function has two weeks of history, " +
		"so a shorter trace is fitted daily only). " +
		"Under a budget, a cold start evicts idle instances (each policy's victim) and a prewarm that does not fit is skipped.\n\n")
	fmt.Fprintf(&b, "![cold starts against memory](%s)\n\n", ChartFile)
	for _, run := range rep.Runs {
		fmt.Fprintf(&b, "## %s\n\n", run.Title())
		b.WriteString("| policy | cold starts | cold starts, p75 app | wasted memory (GiB·h) | memory vs fixed | prewarm accuracy | linger share | prewarms (used) | evictions |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, r := range run.Results {
			fmt.Fprintf(&b, "| %s | %.2f%% | %.2f%% | %.0f | %.2f× | %.1f%% | %.1f%% | %d (%d) | %d |\n",
				r.Policy, 100*r.ColdStartRatio, 100*r.ColdStartRatioP75App, r.WastedMemorySeconds/1024/3600, r.MemoryVsFixed,
				100*r.PrewarmAccuracy, 100*r.LingerShare, r.Prewarms, r.PrewarmHits, r.Evictions)
		}
		b.WriteString("\n")
		dom := run.Dominating()
		if len(dom) == 0 {
			b.WriteString("No policy beats fixed on both axes here.\n\n")
			continue
		}
		fixed := run.Results[0]
		for _, r := range run.Results {
			if r.Policy == "fixed" {
				fixed = r
			}
		}
		for _, r := range dom {
			fmt.Fprintf(&b, "- **%s beats fixed on both axes**: %.0f%% fewer cold starts (%.2f%% against %.2f%%) with %.0f%% less wasted memory.\n",
				r.Policy, 100*(1-r.ColdStartRatio/fixed.ColdStartRatio), 100*r.ColdStartRatio, 100*fixed.ColdStartRatio, 100*(1-r.MemoryVsFixed))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// The chart's geometry: panels side by side, one per run.
const (
	svgWidth   = 720
	svgMargin  = 12
	fontSize   = 12
	tickSize   = 10
	plotHeight = 240
	axisLeft   = 44 // room for the y tick labels
	axisBottom = 34 // room for the x tick labels and the axis name
)

// policyColors are the policies' colours, in keepalive.Names' order.
var policyColors = map[string]string{"fixed": "#555555", "histogram": "#1f77b4", "seasonal": "#2ca02c", "greedydual": "#d62728"}

// SVG draws, per run, each policy as a point: wasted memory against fixed
// (x) and cold-start ratio (y); lower left is better.
func (rep Report) SVG() []byte {
	var body strings.Builder
	y := float64(svgMargin + 16)
	svgText(&body, svgMargin, y, "start", 15, `font-weight="bold"`, "Cold starts against wasted memory, per policy")
	y += 18
	svgText(&body, svgMargin, y, "start", fontSize, `fill="#444444"`, "Lower left is better. "+rep.Trace+".")
	// The legend: a swatch and a name per policy, in one row.
	y += 22
	x := float64(svgMargin)
	for _, r := range rep.policies() {
		fmt.Fprintf(&body, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s"/>`+"\n", x+5, y-4, color(r))
		svgText(&body, x+14, y, "start", fontSize, "", r)
		x += 14 + textWidth(r, fontSize) + 24
	}
	top := y + 24
	n := max(1, len(rep.Runs))
	panelW := (float64(svgWidth) - 2*svgMargin - float64(n-1)*24) / float64(n)
	for i, run := range rep.Runs {
		left := svgMargin + float64(i)*(panelW+24)
		drawPanel(&body, run, left, top, panelW)
	}
	height := top + 20 + plotHeight + axisBottom + svgMargin
	var out strings.Builder
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family="sans-serif" font-size="%d">`+"\n",
		svgWidth, height, svgWidth, height, fontSize)
	out.WriteString("<title>Cold starts against wasted memory, per policy</title>\n")
	fmt.Fprintf(&out, `<rect width="%d" height="%.0f" fill="#ffffff"/>`+"\n", svgWidth, height)
	out.WriteString(body.String())
	out.WriteString("</svg>\n")
	return []byte(out.String())
}

// drawPanel draws one run's scatter: its title, axes, ticks and points.
func drawPanel(b *strings.Builder, run Run, left, top, width float64) {
	svgText(b, left, top, "start", fontSize, `font-weight="bold"`, run.Title())
	plotTop := top + 20
	x0, x1 := left+axisLeft, left+width-8
	y0, y1 := plotTop+plotHeight, plotTop
	maxX, maxY := 1.0, 0.0
	for _, r := range run.Results {
		maxX, maxY = math.Max(maxX, r.MemoryVsFixed), math.Max(maxY, 100*r.ColdStartRatio)
	}
	xs, ys := axisTicks(maxX*1.1, xSteps), axisTicks(maxY*1.1, ySteps)
	sx := func(v float64) float64 { return x0 + v/xs[len(xs)-1]*(x1-x0) }
	sy := func(v float64) float64 { return y0 - v/ys[len(ys)-1]*(y0-y1) }
	for _, t := range ys {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x0, sy(t), x1, sy(t))
		svgText(b, x0-4, sy(t)+tickSize*0.35, "end", tickSize, "", trimZeros(t)+"%")
	}
	for _, t := range xs {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", sx(t), y0, sx(t), y1)
		svgText(b, sx(t), y0+14, "middle", tickSize, "", trimZeros(t)+"×")
	}
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333333"/>`+"\n", x0, y0, x1, y0)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333333"/>`+"\n", x0, y0, x0, y1)
	svgText(b, (x0+x1)/2, y0+30, "middle", tickSize, `fill="#555555"`, "x: wasted memory vs fixed; y: cold-start ratio")
	for _, r := range run.Results {
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="6" fill="%s" fill-opacity="0.85"><title>%s</title></circle>`+"\n",
			sx(r.MemoryVsFixed), sy(100*r.ColdStartRatio), color(r.Policy), escape(r.String()))
	}
}

// policies are the policy names of the report, in order of first appearance.
func (rep Report) policies() []string {
	var names []string
	seen := map[string]bool{}
	for _, run := range rep.Runs {
		for _, r := range run.Results {
			if !seen[r.Policy] {
				seen[r.Policy] = true
				names = append(names, r.Policy)
			}
		}
	}
	return names
}

func color(policy string) string {
	if c, ok := policyColors[policy]; ok {
		return c
	}
	return "#9467bd"
}

// xSteps and ySteps are the axes' candidate tick steps: memory in
// fractions of fixed's, cold starts in percent.
var (
	xSteps = []float64{0.25, 0.5, 1, 2, 5}
	ySteps = []float64{0.5, 1, 2, 5, 10, 20, 25, 50}
)

// axisTicks are 0, step, … to the first tick at or above high, with step
// the smallest of steps that needs at most 5 intervals.
func axisTicks(high float64, steps []float64) []float64 {
	step := steps[len(steps)-1]
	for _, s := range steps {
		if high <= 5*s {
			step = s
			break
		}
	}
	ts := []float64{0}
	for ts[len(ts)-1] < high-1e-9 {
		ts = append(ts, float64(len(ts))*step)
	}
	return ts
}

func trimZeros(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-0" {
		return "0"
	}
	return s
}

// textWidth estimates a text's width: SVG has no metrics; 0.62 em per
// character is on the wide side of common sans-serif fonts.
func textWidth(s string, size int) float64 { return float64(len([]rune(s))) * float64(size) * 0.62 }

func svgText(b *strings.Builder, x, y float64, anchor string, size int, extra, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d" %s>%s</text>`+"\n", x, y, anchor, size, extra, escape(s))
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
