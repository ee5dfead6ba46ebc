package report

import (
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Every chart has the same fixed size, so that the README lays them out alike.
const (
	chartWidth  = 720
	chartHeight = 400

	marginLeft  = 72
	marginRight = 24
	titleY      = 24
	legendY     = 46 // baseline of the first legend row
	legendRow   = 18
	tickFont    = 11
	// charWidth is the advance of an average sans-serif character per pixel
	// of font size: SVG has no text metrics, so label layout estimates.
	charWidth = 0.6
	// maxLabelRunes caps a category label; a longer one is cut with "…" so
	// that it cannot run off the canvas.
	maxLabelRunes = 26
	notMeasured   = "not measured"
	// labelAngle is how far category labels too wide for their group are
	// turned (radians, counter-clockwise).
	labelAngle = 35 * math.Pi / 180
)

// series is one named set of values in a chart. A bar chart reads values
// (one per category, NaN where not measured); a line chart reads points.
type series struct {
	name   string
	color  string
	dash   string // stroke-dasharray of a line; "" draws it solid
	values []float64
	points []point
}

type point struct{ x, y float64 }

// barChart is a grouped bar chart: one group per category, one bar per
// series in each group, every bar labelled with its value.
type barChart struct {
	title, xLabel, yLabel string
	categories            []string
	series                []series
	// integer makes the y ticks whole numbers (counts).
	integer bool
	// format prints a bar's value label.
	format func(float64) string
}

// lineChart draws each series as a polyline with a marker per point.
type lineChart struct {
	title, xLabel, yLabel string
	series                []series
}

// canvas accumulates one SVG document.
type canvas struct {
	b strings.Builder
}

// plotArea is the rectangle inside the axes, in SVG coordinates (y grows
// down).
type plotArea struct {
	left, top, right, bottom float64
}

func (p plotArea) width() float64  { return p.right - p.left }
func (p plotArea) height() float64 { return p.bottom - p.top }

// yAt maps v on an axis from 0 to top onto the area.
func (p plotArea) yAt(v, top float64) float64 { return p.bottom - v/top*p.height() }

// xAt maps v on an axis from 0 to right onto the area.
func (p plotArea) xAt(v, right float64) float64 { return p.left + v/right*p.width() }

func newCanvas(title string) *canvas {
	c := &canvas{}
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&c.b, "<title>%s</title>\n", esc(title))
	fmt.Fprintf(&c.b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartWidth, chartHeight)
	c.text(chartWidth/2, titleY, "middle", 15, `font-weight="bold"`, title)
	return c
}

// text writes s at (x, y); extra is further attributes, written as given.
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

func (c *canvas) bytes() []byte {
	c.b.WriteString("</svg>\n")
	return []byte(c.b.String())
}

// empty is a chart with nothing to draw: the title and "not measured".
func (c *canvas) empty() []byte {
	c.text(chartWidth/2, chartHeight/2, "middle", 14, `fill="#555555"`, notMeasured)
	return c.bytes()
}

// legend lays the series' swatches out in rows under the title and returns
// the y below the last row.
func (c *canvas) legend(ss []series) float64 {
	x, y := float64(marginLeft), float64(legendY)
	for _, s := range ss {
		w := 16 + textWidth(s.name, 12) + 18
		if x+w > chartWidth-marginRight && x > marginLeft {
			x, y = marginLeft, y+legendRow
		}
		if s.dash != "" {
			// A dashed series shows its dash in the legend.
			fmt.Fprintf(&c.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="3" stroke-dasharray="%s"/>`+"\n",
				num(x), num(y-4), num(x+12), num(y-4), s.color, s.dash)
		} else {
			c.rect(x, y-10, 12, 12, s.color)
		}
		c.text(x+16, y, "start", 12, "", s.name)
		x += w
	}
	return y + legendRow
}

// axes draws the y axis with its ticks, grid and label, the x axis line
// and the x axis label.
func (c *canvas) axes(p plotArea, yTicks []float64, yLabel, xLabel string) {
	digits := tickDigits(yTicks)
	top := yTicks[len(yTicks)-1]
	for _, t := range yTicks {
		y := p.yAt(t, top)
		c.line(p.left, y, p.right, y, "#e5e5e5")
		c.text(p.left-6, y+4, "end", tickFont, "", fixed(t, digits))
	}
	c.line(p.left, p.top, p.left, p.bottom, "#333333")
	c.line(p.left, p.bottom, p.right, p.bottom, "#333333")
	midY := (p.top + p.bottom) / 2
	c.text(18, midY, "middle", 12, fmt.Sprintf(`transform="rotate(-90 18 %s)"`, num(midY)), yLabel)
	c.text((p.left+p.right)/2, chartHeight-10, "middle", 12, "", xLabel)
}

// svg renders the bar chart; with no categories it says "not measured".
func (b barChart) svg() []byte {
	c := newCanvas(b.title)
	if len(b.categories) == 0 {
		return c.empty()
	}
	top := c.legend(b.series) + 8
	labels := make([]string, len(b.categories))
	widest := 0.0
	for i, cat := range b.categories {
		labels[i] = shorten(cat)
		widest = max(widest, textWidth(labels[i], tickFont))
	}
	n := float64(len(b.categories))
	left := float64(marginLeft)
	groupW := (chartWidth - marginRight - left) / n
	// Labels wider than their group are turned, so that neighbours do not
	// overlap; the bottom margin grows to hold them.
	rotate := widest > groupW-6
	bottom := 56.0
	if rotate {
		bottom = 40 + widest*math.Sin(labelAngle) + 12
		// A turned label reaches widest·cos(angle) left of its group's
		// centre; the first one must stay on the canvas. Solved for left,
		// since the groups narrow as left grows.
		need := (widest*math.Cos(labelAngle) + 8 - (chartWidth-marginRight)/(2*n)) / (1 - 1/(2*n))
		left = max(left, need)
		groupW = (chartWidth - marginRight - left) / n
	}
	p := plotArea{left: left, top: top, right: chartWidth - marginRight, bottom: chartHeight - bottom}

	highest := 0.0
	for _, s := range b.series {
		for _, v := range s.values {
			if !math.IsNaN(v) {
				highest = max(highest, v)
			}
		}
	}
	yTicks := ticks(highest, b.integer)
	c.axes(p, yTicks, b.yLabel, b.xLabel)
	yTop := yTicks[len(yTicks)-1]

	barW := groupW * 0.8 / float64(max(len(b.series), 1))
	for i, label := range labels {
		gx := p.left + float64(i)*groupW
		for j, s := range b.series {
			x := gx + groupW*0.1 + float64(j)*barW
			v := s.values[i]
			if math.IsNaN(v) {
				c.text(x+barW/2, p.bottom-4, "middle", 10, `fill="#555555"`, "n/a")
				continue
			}
			y := p.yAt(v, yTop)
			// A zero bar has no height: its label above the axis is what
			// shows it was measured.
			if v > 0 {
				c.rect(x+1, y, barW-2, p.bottom-y, s.color)
			}
			c.text(x+barW/2, y-4, "middle", 10, "", b.format(v))
		}
		cx, ly := gx+groupW/2, p.bottom+16
		if rotate {
			c.text(cx, ly, "end", tickFont, fmt.Sprintf(`transform="rotate(-%s %s %s)"`, fixed(labelAngle*180/math.Pi, 0), num(cx), num(ly)), label)
		} else {
			c.text(cx, ly, "middle", tickFont, "", label)
		}
	}
	return c.bytes()
}

// svg renders the line chart; with no points it says "not measured".
func (l lineChart) svg() []byte {
	c := newCanvas(l.title)
	highX, highY, n := 0.0, 0.0, 0
	for _, s := range l.series {
		for _, pt := range s.points {
			highX, highY, n = max(highX, pt.x), max(highY, pt.y), n+1
		}
	}
	if n == 0 {
		return c.empty()
	}
	top := c.legend(l.series) + 8
	p := plotArea{left: marginLeft, top: top, right: chartWidth - marginRight, bottom: chartHeight - 56}
	yTicks, xTicks := ticks(highY, false), ticks(highX, false)
	c.axes(p, yTicks, l.yLabel, l.xLabel)
	yTop, xRight := yTicks[len(yTicks)-1], xTicks[len(xTicks)-1]
	digits := tickDigits(xTicks)
	for _, t := range xTicks {
		x := p.xAt(t, xRight)
		c.line(x, p.bottom, x, p.bottom+5, "#333333")
		c.text(x, p.bottom+18, "middle", tickFont, "", fixed(t, digits))
	}
	for i, s := range l.series {
		// Earlier series are drawn wider, so that a later one lying on
		// top of them (vanilla and Epilogue answer alike) leaves them
		// visible at its edges.
		// The widening is capped, so that many series stay thin.
		under := float64(len(l.series)-1-i) * min(1.5, 3/float64(max(len(l.series)-1, 1)))
		width, radius := 2+under, 3+under
		coords := make([]string, len(s.points))
		for i, pt := range s.points {
			coords[i] = num(p.xAt(pt.x, xRight)) + "," + num(p.yAt(pt.y, yTop))
		}
		dash := ""
		if s.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, s.dash)
		}
		fmt.Fprintf(&c.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%s"%s/>`+"\n", strings.Join(coords, " "), s.color, num(width), dash)
		for _, pt := range s.points {
			fmt.Fprintf(&c.b, `<circle cx="%s" cy="%s" r="%s" fill="%s"/>`+"\n", num(p.xAt(pt.x, xRight)), num(p.yAt(pt.y, yTop)), num(radius), s.color)
		}
	}
	return c.bytes()
}

// ticks returns 0, step, 2·step, … up to the first multiple of step at or
// above high, with step 1, 2 or 5 × 10^k chosen for about five intervals.
// integer keeps step ≥ 1 (counts have no half values). An axis with
// nothing above 0 still gets one interval, so that a zero bar sits on it.
func ticks(high float64, integer bool) []float64 {
	if high <= 0 {
		high = 1
	}
	raw := high / 5
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

// tickDigits is how many decimals show the ticks' step exactly.
func tickDigits(ts []float64) int {
	if len(ts) < 2 {
		return 0
	}
	return max(0, int(-math.Floor(math.Log10(ts[1]-ts[0])+1e-9)))
}

// textWidth estimates the width of s in pixels at font size px.
func textWidth(s string, px int) float64 {
	return float64(utf8.RuneCountInString(s)) * float64(px) * charWidth
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
