package report

import (
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Every chart is as wide as the README column GitHub shows it in; its height
// follows from what it holds (rows, panels, wrapped lines).
const (
	chartWidth = 720
	margin     = 12

	titleFont    = 15
	subtitleFont = 12
	legendFont   = 12
	panelFont    = 12
	labelFont    = 11 // row labels, axis labels
	tickFont     = 10 // tick labels, value labels

	// charWidth is the advance of an average sans-serif character per
	// pixel of font size, and boldWidth that of a bold one: SVG has no text
	// metrics, so the layout estimates. They are on the wide side of DejaVu
	// Sans and Arial (digits are 0.64 em in DejaVu), so that an estimate
	// that fits fits the real text too.
	charWidth = 0.62
	boldWidth = 0.7
	// ascent and descent are how far a line of text reaches above and below
	// its baseline, per pixel of font size.
	ascent  = 0.8
	descent = 0.25

	// maxLabelRunes caps a row label; a longer one is cut with "…" so that
	// the label column cannot squeeze the panels away.
	maxLabelRunes = 26
	notMeasured   = "not measured"

	gridColor = "#e5e5e5"
	axisColor = "#333333"
	mutedText = "#555555"
)

// entry is one item of a chart's legend: a swatch (a square, or a line with
// a marker for a line chart) and its name.
type entry struct {
	name, color string
	line        bool
}

// canvas accumulates one SVG document; its height is known only once
// everything is laid out, so the body is written first and wrapped at the
// end.
type canvas struct {
	title string
	b     strings.Builder
}

func newCanvas(title string) *canvas { return &canvas{title: title} }

// text writes s with its baseline starting, centred or ending (anchor) at
// (x, y); extra is further attributes, written as given.
func (c *canvas) text(x, y float64, anchor string, size int, extra, s string) {
	fmt.Fprintf(&c.b, `<text x="%s" y="%s" text-anchor="%s" font-size="%d"`, num(x), num(y), anchor, size)
	if extra != "" {
		c.b.WriteString(" " + extra)
	}
	fmt.Fprintf(&c.b, ">%s</text>\n", esc(s))
}

func (c *canvas) line(x1, y1, x2, y2 float64, stroke string) {
	fmt.Fprintf(&c.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`+"\n", num(x1), num(y1), num(x2), num(y2), stroke)
}

func (c *canvas) rect(x, y, w, h float64, fill string) {
	fmt.Fprintf(&c.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`+"\n", num(x), num(y), num(w), num(h), fill)
}

// bytes is the finished document, height pixels high.
func (c *canvas) bytes(height float64) []byte {
	h := int(math.Ceil(height))
	var out strings.Builder
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, h, chartWidth, h)
	fmt.Fprintf(&out, "<title>%s</title>\n", esc(c.title))
	fmt.Fprintf(&out, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, h)
	out.WriteString(c.b.String())
	out.WriteString("</svg>\n")
	return []byte(out.String())
}

// header draws the title and the subtitle, each wrapped to the canvas, and
// the legend, and returns the y below them.
func (c *canvas) header(subtitle string, legend []entry) float64 {
	y := float64(margin)
	for _, l := range wrap(c.title, titleFont, true, chartWidth-2*margin) {
		y += titleFont
		c.text(margin, y, "start", titleFont, `font-weight="bold"`, l)
		y += 4
	}
	for _, l := range wrap(subtitle, subtitleFont, false, chartWidth-2*margin) {
		y += subtitleFont + 2
		c.text(margin, y, "start", subtitleFont, `fill="#444444"`, l)
	}
	if len(legend) > 0 {
		y += 8
		y = c.legend(legend, y)
	}
	return y + 10
}

// legend lays the entries out in rows from top and returns the y below the
// last row.
func (c *canvas) legend(es []entry, top float64) float64 {
	x, base := float64(margin), top+legendFont
	for _, e := range es {
		w := 18 + textWidth(e.name, legendFont, false) + 20
		if x+w > chartWidth-margin && x > margin {
			x, base = margin, base+legendFont+6
		}
		if e.line {
			fmt.Fprintf(&c.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="3"/>`+"\n",
				num(x), num(base-4), num(x+14), num(base-4), e.color)
			fmt.Fprintf(&c.b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", num(x+7), num(base-4), e.color)
		} else {
			c.rect(x, base-10, 12, 12, e.color)
		}
		c.text(x+18, base, "start", legendFont, "", e.name)
		x += w
	}
	return base + legendFont*descent
}

// empty is a chart with nothing to draw: the title and "not measured".
func (c *canvas) empty(subtitle string) []byte {
	y := c.header(subtitle, nil) + 30
	c.text(chartWidth/2, y, "middle", 14, `fill="`+mutedText+`"`, notMeasured)
	return c.bytes(y + 20)
}

// wrap breaks s at spaces into lines no wider than width.
func wrap(s string, size int, bold bool, width float64) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && textWidth(line+" "+w, size, bold) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// ticks returns 0, step, 2·step, … up to the first multiple of step at or
// above high, with step 1, 2 or 5 × 10^k chosen for about intervals
// intervals. integer keeps step ≥ 1 (counts have no half values). An axis
// with nothing above 0 still gets one interval, so that a zero bar sits on
// it.
func ticks(high float64, integer bool, intervals int) []float64 {
	if high <= 0 {
		high = 1
	}
	raw := high / float64(intervals)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	if integer && step < 1 {
		step = 1
	}
	// The small slack keeps a high that is a multiple of step (up to
	// rounding) from growing one more interval.
	n := int(math.Ceil(high/step - 1e-9))
	out := make([]float64, n+1)
	for i := range out {
		out[i] = float64(i) * step
	}
	return out
}

// fittingTicks are the ticks of the most intervals (at most 5) whose
// labels, centred on their ticks, leave a gap between neighbours on an axis
// length pixels long; with labels its label texts.
func fittingTicks(high float64, integer bool, length float64) (ts []float64, labels []string) {
	for intervals := 5; ; intervals-- {
		ts = ticks(high, integer, intervals)
		digits := tickDigits(ts)
		labels = make([]string, len(ts))
		widest := 0.0
		for i, t := range ts {
			labels[i] = fixed(t, digits)
			widest = max(widest, textWidth(labels[i], tickFont, false))
		}
		if intervals == 1 || length/float64(len(ts)-1) >= widest+8 {
			return ts, labels
		}
	}
}

// tickDigits is how many decimals show the ticks' step exactly.
func tickDigits(ts []float64) int {
	if len(ts) < 2 {
		return 0
	}
	return max(0, int(-math.Floor(math.Log10(ts[1]-ts[0])+1e-9)))
}

// textWidth estimates the width of s in pixels at font size px.
func textWidth(s string, px int, bold bool) float64 {
	w := charWidth
	if bold {
		w = boldWidth
	}
	return float64(utf8.RuneCountInString(s)) * float64(px) * w
}

func shorten(s string) string {
	if utf8.RuneCountInString(s) <= maxLabelRunes {
		return s
	}
	return string([]rune(s)[:maxLabelRunes-1]) + "…"
}

// num prints a coordinate with one decimal.
func num(v float64) string { return fixed(v, 1) }

// fixed prints v with digits decimals: every number in the output goes
// through it, so that files do not depend on float printing beyond that
// precision, and a tiny negative value never prints as "-0.0".
func fixed(v float64, digits int) string {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-")
	}
	return s
}

// esc escapes s for SVG text and attribute values.
func esc(s string) string {
	var b strings.Builder
	// EscapeText only fails when the writer does; a Builder does not.
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
