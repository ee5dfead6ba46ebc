package benchstat

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPercentileIndex(t *testing.T) {
	for _, c := range []struct {
		name        string
		n, num, den int
		want        int
	}{
		{"p50 of 20000", 20000, 50, 100, 9999},  // ⌊19999·0.5⌋
		{"p90 of 20000", 20000, 90, 100, 17999}, // ⌊19999·0.9⌋ = ⌊17999.1⌋
		{"p99 of 20000", 20000, 99, 100, 19799}, // ⌊19999·0.99⌋ = ⌊19799.01⌋
		{"no float rounding", 101, 29, 100, 29}, // exact, where float64 0.29·100 is 28.999…
		{"one sample", 1, 99, 100, 0},
		{"no samples", 0, 50, 100, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, PercentileIndex(c.n, c.num, c.den))
		})
	}
}

func TestSummarize(t *testing.T) {
	var samples []time.Duration
	for i := 10; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Microsecond)
	}
	s := Summarize(12, 2, 2*time.Second, samples)
	assert.Equal(t, Stats{
		Requests: 12, Errors: 2, ElapsedS: 2, ReqPerS: 6, Samples: 10,
		MinUs: 1, P50Us: 5, P90Us: 9, P99Us: 9, MaxUs: 10, MeanUs: 5.5,
	}, s)
}

func TestFormatMicros(t *testing.T) {
	assert.Equal(t, "301 µs", FormatMicros(301))
	assert.Equal(t, "5.65 ms", FormatMicros(5650))
}

func TestCompare(t *testing.T) {
	c := Compare(Stats{P50Us: 300, P99Us: 900, ReqPerS: 100}, Stats{P50Us: 200, P99Us: 300, ReqPerS: 0})
	assert.Equal(t, Comparison{P50Ratio: 1.5, P50DeltaUs: 100, P99Ratio: 3, P99DeltaUs: 600, ThroughputRatio: 0}, c,
		"a zero baseline gives a zero ratio, not +Inf")
}

func TestFailures(t *testing.T) {
	var f Failures
	boom := errors.New("boom")
	assert.NoError(t, f.Add(false, "request 0", boom, 3), "warm-up failures count apart")
	f.OK()
	assert.NoError(t, f.Add(true, "request 1", boom, 3))
	assert.NoError(t, f.Add(true, "request 2", boom, 3), "the success ended the first run")
	err := f.Add(true, "request 3", boom, 3)
	assert.ErrorIs(t, err, boom)
	assert.EqualError(t, err, "3 errors in a row, the last: boom")
	assert.Equal(t, 3, f.Measured)
	assert.Equal(t, 1, f.Warmup)
	assert.Equal(t, []string{"request 0: boom", "request 1: boom", "request 2: boom", "request 3: boom"}, f.Examples)
	for i := range 10 {
		_ = f.Add(true, fmt.Sprint("request ", 4+i), boom, 100)
	}
	assert.Len(t, f.Examples, MaxExamples, "only the first few are kept")
}
