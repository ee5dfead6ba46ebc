package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/chaos"
	"github.com/epilogue-dev/epilogue/chaos/report"
)

// committedDir is the report `make report REPORT_DIR=docs/report` writes.
var committedDir = filepath.Join("..", "..", "docs", "report")

// Text metrics of the overlap check: an average sans-serif character's
// advance per pixel of font size (bold is wider), and how far text reaches
// above and below its baseline. SVG has no text metrics; these are on the
// wide side of DejaVu Sans (which rsvg-convert uses) and Arial (browsers).
const (
	regularAdvance = 0.62
	boldAdvance    = 0.7
	textAscent     = 0.8
	textDescent    = 0.25
)

// box is a text's estimated extent in SVG coordinates.
type box struct {
	text                   string
	left, top, right, down float64
}

func (b box) String() string {
	return fmt.Sprintf("%q [%.1f,%.1f]–[%.1f,%.1f]", b.text, b.left, b.top, b.right, b.down)
}

func (b box) intersects(o box) bool {
	return b.left < o.right && o.left < b.right && b.top < o.down && o.top < b.down
}

// textBoxes parses an SVG and estimates the box of every <text>, from its
// x, y, text-anchor, font-size (or the root's) and font-weight; it returns
// them with the canvas size. A turned text fails the test: the charts keep
// every label level.
func textBoxes(t *testing.T, data []byte) (boxes []box, width, height float64) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	rootSize := 0.0
	var cur *xml.StartElement
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		switch tok := tok.(type) {
		case xml.StartElement:
			attr := func(name string) string {
				for _, a := range tok.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			number := func(name string) float64 {
				v, err := strconv.ParseFloat(attr(name), 64)
				require.NoError(t, err, "<%s %s>", tok.Name.Local, name)
				return v
			}
			switch tok.Name.Local {
			case "svg":
				width, height, rootSize = number("width"), number("height"), number("font-size")
			case "text":
				require.Empty(t, attr("transform"), "a turned label")
				el := tok.Copy()
				cur = &el
			}
		case xml.EndElement:
			cur = nil
		case xml.CharData:
			if cur == nil {
				continue
			}
			attr := func(name string) string {
				for _, a := range cur.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			size := rootSize
			if s := attr("font-size"); s != "" {
				var err error
				size, err = strconv.ParseFloat(s, 64)
				require.NoError(t, err)
			}
			advance := regularAdvance
			if attr("font-weight") == "bold" {
				advance = boldAdvance
			}
			x, err := strconv.ParseFloat(attr("x"), 64)
			require.NoError(t, err)
			y, err := strconv.ParseFloat(attr("y"), 64)
			require.NoError(t, err)
			s := string(tok)
			w := float64(utf8.RuneCountInString(s)) * size * advance
			left := x
			switch attr("text-anchor") {
			case "middle":
				left = x - w/2
			case "end":
				left = x - w
			}
			boxes = append(boxes, box{s, left, y - size*textAscent, left + w, y + size*textDescent})
		}
	}
	return boxes, width, height
}

// committedResults reads the committed run's reports.
func committedResults(t *testing.T) []chaos.Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(committedDir, report.ResultsFile))
	require.NoError(t, err, "the committed report keeps its results: make report REPORT_DIR=docs/report")
	var res struct {
		Reports []chaos.Report `json:"reports"`
	}
	require.NoError(t, json.Unmarshal(data, &res))
	require.NotEmpty(t, res.Reports)
	return res.Reports
}

// stretched is the test run with every name and figure made as long as the
// layout must still hold: names past the label cap, six-digit counts,
// durations of hours.
func stretched() []chaos.Report {
	rs := run()
	for i := range rs {
		for j := range rs[i].Scenarios {
			s := &rs[i].Scenarios[j]
			s.Workload += "-with-a-much-longer-workload-name"
			s.Fault = "an-extraordinarily-long-fault-" + s.Fault
			s.Lost *= 123457
			s.Acknowledged *= 123457
			for k := range s.DurationMs {
				s.DurationMs[k] *= 987654
			}
			for k := range s.PostResponseMs {
				s.PostResponseMs[k] *= 987654
			}
			for k := range s.PauseLagMs {
				s.PauseLagMs[k] *= 1000
			}
		}
		for k := range rs[i].Latency {
			rs[i].Latency[k].AsyncMs *= 1000
			rs[i].Latency[k].P50Ms *= 1234
		}
	}
	return rs
}

func TestChartsDoNotOverlap(t *testing.T) {
	three := run()
	third := three[0]
	third.Backend = "a-backend-whose-name-is-far-too-long-for-its-panel"
	three = append(three, third)
	given := func(rs ...chaos.Report) func(*testing.T) []chaos.Report {
		return func(*testing.T) []chaos.Report { return rs }
	}
	tests := []struct {
		name    string
		reports func(*testing.T) []chaos.Report
	}{
		{"the committed run", committedResults},
		{"the test run", given(run()...)},
		{"one backend", given(run()[:1]...)},
		{"three backends, one with a long name", given(three...)},
		{"long names and large figures", given(stretched()...)},
		{"nothing measured", given(chaos.Report{Seed: 1, Backend: "process"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := write(t, tt.reports(t)...)
			for _, name := range charts {
				t.Run(name, func(t *testing.T) {
					boxes, width, height := textBoxes(t, files[name])
					// A title and "not measured" at least: the check below
					// cannot pass on a chart without text.
					require.GreaterOrEqual(t, len(boxes), 2)
					for i, b := range boxes {
						assert.True(t, b.left >= 0 && b.top >= 0 && b.right <= width && b.down <= height,
							"%s leaves the %.0f×%.0f canvas", b, width, height)
						for _, o := range boxes[i+1:] {
							assert.False(t, b.intersects(o), "%s overlaps %s", b, o)
						}
					}
				})
			}
		})
	}
}

func TestChartsKeepBackendsApart(t *testing.T) {
	rs := run()
	rs[1].Latency = rs[0].Latency
	files := write(t, rs...)
	for _, name := range charts {
		t.Run(name, func(t *testing.T) {
			texts := svgTexts(t, files[name])
			// One panel per backend, each titled with its name alone: no
			// series or row mixes backends into its name.
			assert.Contains(t, texts, "process")
			assert.Contains(t, texts, "docker")
			for _, s := range texts {
				assert.NotContains(t, s, "(process)")
				assert.NotContains(t, s, "(docker)")
			}
		})
	}
}

func TestChartColoursFollowTheSemantics(t *testing.T) {
	files := write(t, run()...)
	tests := []struct {
		chart string
		// how often the chart uses each colour at least: vanilla's red and
		// epilogue's blue, the same in every chart, once in the legend and
		// again in the marks (epilogue loses nothing, so lost.svg has no
		// blue bar).
		want map[string]int
	}{
		{"latency.svg", map[string]int{"#d62728": 2, "#ff7f0e": 2, "#1f77b4": 2}},
		{"lost.svg", map[string]int{"#d62728": 2, "#1f77b4": 1}},
		{"reclaim-lag.svg", map[string]int{"#1f77b4": 2}},
		{"container-seconds.svg", map[string]int{"#d62728": 2, "#1f77b4": 2, "#9ecae1": 2}},
	}
	for _, tt := range tests {
		t.Run(tt.chart, func(t *testing.T) {
			svg := string(files[tt.chart])
			for c, n := range tt.want {
				assert.GreaterOrEqual(t, strings.Count(svg, `"`+c+`"`), n, c)
			}
		})
	}
}
