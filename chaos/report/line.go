package report

import (
	"fmt"
	"strings"
)

// lineChart draws one panel per backend side by side, on one shared scale,
// each with a polyline and a marker per point for every series.
type lineChart struct {
	title, subtitle string
	xLabel, yLabel  string
	legend          []entry
	panels          []linePanel
}

type linePanel struct {
	name   string
	series []series
}

// series is one named line.
type series struct {
	name, color string
	points      []point
}

type point struct{ x, y float64 }

const plotHeight = 220.0

// svg renders the chart; with no points it says "not measured".
func (l lineChart) svg() []byte {
	c := newCanvas(l.title)
	highX, highY, n := 0.0, 0.0, 0
	for _, p := range l.panels {
		for _, s := range p.series {
			for _, pt := range s.points {
				highX, highY, n = max(highX, pt.x), max(highY, pt.y), n+1
			}
		}
	}
	if n == 0 {
		return c.empty(l.subtitle)
	}
	top := c.header(l.subtitle, l.legend)

	yTicks := ticks(highY, false, 5)
	yDigits := tickDigits(yTicks)
	yTickW := 0.0
	for _, t := range yTicks {
		yTickW = max(yTickW, textWidth(fixed(t, yDigits), tickFont, false))
	}
	const gap = 24.0
	np := float64(len(l.panels))
	pw := (chartWidth - 2*margin - gap*(np-1)) / np
	// The x axis leaves room right of it for half a tick label; the labels
	// of about five ticks are short, so a fixed allowance does.
	plotW := pw - yTickW - 6 - 18
	xTicks, xTickLabels := fittingTicks(highX, false, plotW)
	xRight, yTop := xTicks[len(xTicks)-1], yTicks[len(yTicks)-1]

	titleY := top + panelFont
	yLabelY := titleY + 18
	plotTop := yLabelY + 10
	plotBottom := plotTop + plotHeight
	for k, p := range l.panels {
		px := margin + float64(k)*(pw+gap)
		left := px + yTickW + 6
		right := left + plotW
		xAt := func(v float64) float64 { return left + v/xRight*plotW }
		yAt := func(v float64) float64 { return plotBottom - v/yTop*plotHeight }

		c.text((left+right)/2, titleY, "middle", panelFont, `font-weight="bold"`, shortenTo(p.name, panelFont, true, plotW))
		c.text(px, yLabelY, "start", labelFont, `fill="`+mutedText+`"`, shortenTo(l.yLabel, labelFont, false, pw))
		for _, t := range yTicks {
			y := yAt(t)
			c.line(left, y, right, y, gridColor)
			c.text(left-6, y+centreOffset(tickFont), "end", tickFont, "", fixed(t, yDigits))
		}
		for j, t := range xTicks {
			x := xAt(t)
			c.line(x, plotBottom, x, plotBottom+4, axisColor)
			c.text(x, plotBottom+16, "middle", tickFont, "", xTickLabels[j])
		}
		c.line(left, plotTop, left, plotBottom, axisColor)
		c.line(left, plotBottom, right, plotBottom, axisColor)
		c.text((left+right)/2, plotBottom+32, "middle", labelFont, "", shortenTo(l.xLabel, labelFont, false, pw))

		for i, s := range p.series {
			// Earlier series are drawn wider, so that a later one lying on
			// top of them (vanilla and Epilogue answer alike) leaves them
			// visible at its edges. The widening is capped, so that many
			// series stay thin.
			under := float64(len(p.series)-1-i) * min(1.5, 3/float64(max(len(p.series)-1, 1)))
			width, radius := 2+under, 3+under
			coords := make([]string, len(s.points))
			for j, pt := range s.points {
				coords[j] = num(xAt(pt.x)) + "," + num(yAt(pt.y))
			}
			fmt.Fprintf(&c.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%s"/>`+"\n", strings.Join(coords, " "), s.color, num(width))
			for _, pt := range s.points {
				fmt.Fprintf(&c.b, `<circle cx="%s" cy="%s" r="%s" fill="%s"/>`+"\n", num(xAt(pt.x)), num(yAt(pt.y)), num(radius), s.color)
			}
		}
	}
	return c.bytes(plotBottom + 42)
}
