package replay_test

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/internal/svgtext"
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

// TestChartTextStaysApart: the chart is well-formed SVG, every text is
// inside the canvas and no two texts overlap (as estimated by svgtext),
// and there is a point per policy and run, on the canvas.
func TestChartTextStaysApart(t *testing.T) {
	data := sample().SVG()
	boxes, width, height, err := svgtext.Boxes(data)
	require.NoError(t, err)
	require.NotEmpty(t, boxes)
	for i, a := range boxes {
		assert.True(t, a.Inside(width, height), "%s leaves the canvas", a)
		for _, b := range boxes[i+1:] {
			assert.False(t, a.Intersects(b), "%s overlaps %s", a, b)
		}
	}
	var doc struct {
		Circles []struct {
			CX float64 `xml:"cx,attr"`
			CY float64 `xml:"cy,attr"`
		} `xml:"circle"`
	}
	require.NoError(t, xml.Unmarshal(data, &doc))
	assert.Len(t, doc.Circles, 4+2*4, "a legend swatch per policy and a point per policy and run")
	for _, c := range doc.Circles {
		assert.True(t, c.CX >= 0 && c.CX <= width && c.CY >= 0 && c.CY <= height, "a point off the canvas: %+v", c)
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

func TestAxisTicksInChart(t *testing.T) {
	// Fixed's memory is 1×, with the 10% headroom 1.1 → 0.25 steps up to
	// 1.25; greedydual's 2.5× → 2.75 → steps of 1 up to 3.
	tests := []struct {
		results []replay.Result
		want    []string
	}{
		{[]replay.Result{{Policy: "fixed", MemoryVsFixed: 1, ColdStartRatio: 0.04}}, []string{"0×", "0.25×", "0.5×", "0.75×", "1×", "1.25×", "0%", "1%", "2%", "3%", "4%", "5%"}},
		{[]replay.Result{{Policy: "fixed", MemoryVsFixed: 1, ColdStartRatio: 0.2}, {Policy: "greedydual", MemoryVsFixed: 2.5}}, []string{"0×", "1×", "2×", "3×", "0%", "5%", "10%", "15%", "20%", "25%"}},
	}
	for _, tt := range tests {
		svg := string(replay.Report{Runs: []replay.Run{{Results: tt.results}}}.SVG())
		for _, w := range tt.want {
			assert.Contains(t, svg, ">"+w+"</text>")
		}
	}
}
