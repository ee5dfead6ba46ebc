package report_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/chaos"
	"github.com/epilogue-dev/epilogue/chaos/report"
	"github.com/epilogue-dev/epilogue/internal/svgtext"
)

// committedDir is the report `make report REPORT_DIR=docs/report` writes.
var committedDir = filepath.Join("..", "..", "docs", "report")

// textBoxes is svgtext.Boxes, failing the test on a malformed chart or a
// turned label.
func textBoxes(t *testing.T, data []byte) ([]svgtext.Box, float64, float64) {
	t.Helper()
	boxes, width, height, err := svgtext.Boxes(data)
	require.NoError(t, err)
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
						assert.True(t, b.Inside(width, height),
							"%s leaves the %.0f×%.0f canvas", b, width, height)
						for _, o := range boxes[i+1:] {
							assert.False(t, b.Intersects(o), "%s overlaps %s", b, o)
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
