package main

import (
	"testing"
	"time"
)

func TestPercentileIndex(t *testing.T) {
	for _, c := range []struct{ n, num, den, want int }{
		{20000, 50, 100, 9999},  // ⌊19999·0.5⌋
		{20000, 90, 100, 17999}, // ⌊19999·0.9⌋ = ⌊17999.1⌋
		{20000, 99, 100, 19799}, // ⌊19999·0.99⌋ = ⌊19799.01⌋
		{101, 29, 100, 29},      // exact, where float64 0.29·100 is 28.999…
		{1, 99, 100, 0},
		{0, 50, 100, 0},
	} {
		if got := percentileIndex(c.n, c.num, c.den); got != c.want {
			t.Errorf("percentileIndex(%d, %d/%d) = %d, want %d", c.n, c.num, c.den, got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	var samples []time.Duration
	for i := 10; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Microsecond)
	}
	s := summarize(12, 2, 2*time.Second, samples)
	if s.P50Us != 5 || s.P90Us != 9 || s.P99Us != 9 || s.MaxUs != 10 || s.MinUs != 1 || s.MeanUs != 5.5 {
		t.Errorf("summarize = %+v", s)
	}
	if s.ReqPerS != 6 || s.Errors != 2 || s.Samples != 10 {
		t.Errorf("summarize = %+v", s)
	}
	if got := fmtUs(301); got != "301 µs" {
		t.Errorf("fmtUs(301) = %q", got)
	}
	if got := fmtUs(5650); got != "5.65 ms" {
		t.Errorf("fmtUs(5650) = %q", got)
	}
}
