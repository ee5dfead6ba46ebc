package replay_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/replay"
)

// sample is a report of two runs whose points and labels crowd: equal
// values, long titles.
func sample() replay.Report {
	rs := func(h float64) []replay.Result {
		return []replay.Result{
			{Policy: "fixed", ColdStartRatio: 0.2, MemoryVsFixed: 1, WastedMemorySeconds: 3.6e9},
			{Policy: "histogram", ColdStartRatio: h, MemoryVsFixed: 0.9, WastedMemorySeconds: 3.2e9, Prewarms: 10, PrewarmHits: 7},
			{Policy: "seasonal", ColdStartRatio: 0.3, MemoryVsFixed: 0.8},
			{Policy: "greedydual", ColdStartRatio: 0.001, MemoryVsFixed: 2.5},
		}
	}
	return replay.Report{Trace: "synthetic, seed 1, 7 days, 200 functions", Command: "epilogue replay --synthetic", Calls: 1000,
		Runs: []replay.Run{{Results: rs(0.25)}, {MemoryMB: 20480, Results: rs(0.1)}}}
}

func TestReportMarkdown(t *testing.T) {
	md := sample().Markdown()
	for _, want := range []string{
		"Reproduce with `epilogue replay --synthetic`",
		"](" + replay.ChartFile + ")",
		"## no memory limit",
		"## --memory 20480 (20 GiB)",
		"| histogram | 25.00% | 0.00% | 868 | 0.90× | 0.0% | 0.0% | 10 (7) | 0 |",
		"No policy beats fixed on both axes here.",
		"- **histogram beats fixed on both axes**: 50% fewer cold starts (10.00% against 20.00%) with 10% less wasted memory.",
	} {
		assert.Contains(t, md, want)
	}
	assert.Equal(t, 1, strings.Count(md, "beats fixed on both axes**"), "seasonal has more cold starts, greedydual more memory")
}

func TestWriteReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	require.NoError(t, replay.WriteReport(dir, sample()))
	for _, f := range []string{"README.md", replay.ChartFile} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
}

type textBox struct {
	s                        string
	left, top, right, bottom float64
}

// TestChartTextStaysApart: the chart is well-formed SVG, every text is
// inside the canvas and no two texts overlap (estimated as chaos/report's
// test does: 0.62 em a character, 0.7 bold, 0.8 em ascent, 0.25 descent),
// and there is a point per policy and run.
func TestChartTextStaysApart(t *testing.T) {
	data := sample().SVG()
	d := xml.NewDecoder(bytes.NewReader(data))
	var boxes []textBox
	var width, height float64
	circles := 0
	var cur *xml.StartElement
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		switch tok := tok.(type) {
		case xml.StartElement:
			attr := func(n string) string {
				for _, a := range tok.Attr {
					if a.Name.Local == n {
						return a.Value
					}
				}
				return ""
			}
			num := func(n string) float64 {
				v, err := strconv.ParseFloat(attr(n), 64)
				require.NoError(t, err, "<%s %s=%q>", tok.Name.Local, n, attr(n))
				return v
			}
			switch tok.Name.Local {
			case "svg":
				width, height = num("width"), num("height")
			case "circle":
				circles++
				assert.True(t, num("cx") >= 0 && num("cx") <= width && num("cy") >= 0 && num("cy") <= height, "a point off the canvas")
			case "text":
				c := tok.Copy()
				cur = &c
			}
		case xml.CharData:
			if cur == nil {
				continue
			}
			get := func(n string) string {
				for _, a := range cur.Attr {
					if a.Name.Local == n {
						return a.Value
					}
				}
				return ""
			}
			x, _ := strconv.ParseFloat(get("x"), 64)
			y, _ := strconv.ParseFloat(get("y"), 64)
			size, _ := strconv.ParseFloat(get("font-size"), 64)
			adv := 0.62
			if get("font-weight") == "bold" {
				adv = 0.7
			}
			w := float64(len([]rune(string(tok)))) * size * adv
			left := x
			switch get("text-anchor") {
			case "middle":
				left -= w / 2
			case "end":
				left -= w
			}
			boxes = append(boxes, textBox{string(tok), left, y - 0.8*size, left + w, y + 0.25*size})
			cur = nil
		}
	}
	require.NotEmpty(t, boxes)
	assert.Equal(t, 4+2*4, circles, "a legend swatch per policy and a point per policy and run")
	for i, a := range boxes {
		assert.True(t, a.left >= 0 && a.right <= width && a.top >= 0 && a.bottom <= height, "%q leaves the canvas", a.s)
		for _, b := range boxes[i+1:] {
			overlap := a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom
			assert.False(t, overlap, "%q overlaps %q", a.s, b.s)
		}
	}
}

// TestCommittedReport: docs/keepalive is what make keepalive-report
// writes, and it says which policy beats fixed.
func TestCommittedReport(t *testing.T) {
	md, err := os.ReadFile(filepath.Join("..", "docs", "keepalive", "README.md"))
	require.NoError(t, err, "make keepalive-report writes docs/keepalive")
	assert.Contains(t, string(md), "beats fixed on both axes")
	svg, err := os.ReadFile(filepath.Join("..", "docs", "keepalive", replay.ChartFile))
	require.NoError(t, err)
	assert.NoError(t, xml.Unmarshal(svg, new(struct{})))
}
