package report

import (
	"math"
)

// hbarChart is a horizontal bar chart: one row per category, labelled in a
// column on the left that is as wide as the longest label, and one panel
// per backend side by side, so that a row reads across the backends and the
// backends never mix. Each row holds the same bars in every panel (one per
// series), each labelled with its value at its end; all panels share one
// scale.
type hbarChart struct {
	title, subtitle string
	legend          []entry
	// rowHeader names what the rows are; it heads the label column.
	rowHeader string
	rows      []string
	// unit names the axis, under each panel.
	unit   string
	panels []hbarPanel
	// integer makes the ticks whole numbers (counts).
	integer bool
	// format prints a bar's value label.
	format func(float64) string
}

// hbarPanel is one backend's bars: bars[i] are row i's.
type hbarPanel struct {
	name string
	bars [][]bar
}

// bar is stacked segments, left to right; a bar without segments was not
// measured and reads "n/a".
type bar []segment

type segment struct {
	value float64
	color string
}

func (b bar) total() float64 {
	t := 0.0
	for _, s := range b {
		t += s.value
	}
	return t
}

// Bar geometry: each bar is barH high, bars of a row barPitch apart (more
// than a value label's height, so that the labels of neighbouring bars do
// not touch) and rows rowGap apart.
const (
	barH     = 10.0
	barPitch = 12.0
	rowGap   = 8.0
	panelGap = 20.0
	rowShade = "#f4f4f4"
)

// svg renders the chart; with no rows or panels it says "not measured".
func (h hbarChart) svg() []byte {
	c := newCanvas(h.title)
	if len(h.rows) == 0 || len(h.panels) == 0 {
		return c.empty(h.subtitle)
	}
	top := c.header(h.subtitle, h.legend)

	labels := make([]string, len(h.rows))
	labelW := textWidth(h.rowHeader, labelFont, false)
	for i, r := range h.rows {
		labels[i] = shorten(r)
		labelW = max(labelW, textWidth(labels[i], labelFont, false))
	}
	left := margin + labelW + 14
	n := float64(len(h.panels))
	pw := (chartWidth - margin - left - panelGap*(n-1)) / n

	high, valueW, perRow := 0.0, textWidth("n/a", tickFont, false), 1
	for _, p := range h.panels {
		for _, row := range p.bars {
			perRow = max(perRow, len(row))
			for _, b := range row {
				if len(b) > 0 {
					high = max(high, b.total())
					valueW = max(valueW, textWidth(h.format(b.total()), tickFont, false))
				}
			}
		}
	}
	// Right of each axis: room for the value label of the longest bar and
	// for half the last tick label.
	reserve := valueW + 6
	ts, tickLabels := fittingTicks(high, h.integer, pw-reserve)
	reserve = max(reserve, textWidth(tickLabels[len(tickLabels)-1], tickFont, false)/2+2)
	axisW := pw - reserve
	scale := axisW / ts[len(ts)-1]

	rowH := float64(perRow)*barPitch - (barPitch - barH) + rowGap
	titleY := top + panelFont
	plotTop := titleY + 8
	plotBottom := plotTop + float64(len(h.rows))*rowH
	rowTop := func(i int) float64 { return plotTop + float64(i)*rowH }

	// Every other row shaded across all panels, so that the eye follows a
	// row from its label to its bars in the last panel.
	for i := 1; i < len(h.rows); i += 2 {
		c.rect(margin, rowTop(i), chartWidth-2*margin, rowH, rowShade)
	}
	labelRight := margin + labelW
	if h.rowHeader != "" {
		c.text(labelRight, titleY, "end", labelFont, `font-style="italic" fill="`+mutedText+`"`, h.rowHeader)
	}
	for i, l := range labels {
		c.text(labelRight, rowTop(i)+rowH/2+centreOffset(labelFont), "end", labelFont, "", l)
	}

	unitFits := textWidth(h.unit, labelFont, false) <= pw
	for k, p := range h.panels {
		px := left + float64(k)*(pw+panelGap)
		c.text(px+axisW/2, titleY, "middle", panelFont, `font-weight="bold"`, shortenTo(p.name, panelFont, true, axisW))
		for j, t := range ts {
			x := px + t*scale
			c.line(x, plotTop, x, plotBottom, gridColor)
			c.text(x, plotBottom+14, "middle", tickFont, "", tickLabels[j])
		}
		c.line(px, plotTop, px, plotBottom, axisColor)
		c.line(px, plotBottom, px+axisW, plotBottom, axisColor)
		for i, row := range p.bars {
			for j, b := range row {
				y := rowTop(i) + rowGap/2 + float64(j)*barPitch
				labelY := y + barH/2 + centreOffset(tickFont)
				if len(b) == 0 {
					c.text(px+3, labelY, "start", tickFont, `fill="`+mutedText+`"`, "n/a")
					continue
				}
				x := px
				for _, s := range b {
					if w := s.value * scale; w > 0 && !math.IsNaN(w) {
						c.rect(x, y, w, barH, s.color)
						x += w
					}
				}
				// A zero bar has no length: its label at the axis is what
				// shows it was measured.
				c.text(x+3, labelY, "start", tickFont, "", h.format(b.total()))
			}
		}
		if unitFits {
			c.text(px+axisW/2, plotBottom+30, "middle", labelFont, "", h.unit)
		}
	}
	if !unitFits {
		c.text((left+chartWidth-margin)/2, plotBottom+30, "middle", labelFont, "", h.unit)
	}
	return c.bytes(plotBottom + 40)
}

// centreOffset is how far below a line's middle its baseline lies, so that
// text is centred on it.
func centreOffset(size int) float64 { return float64(size) * (ascent - descent) / 2 }

// shortenTo cuts s with "…" until it is no wider than width.
func shortenTo(s string, size int, bold bool, width float64) string {
	r := []rune(s)
	for len(r) > 1 && textWidth(string(r), size, bold) > width {
		r = append(r[:len(r)-2], '…')
	}
	return string(r)
}
