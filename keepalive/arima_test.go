package keepalive_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/keepalive"
)

// ar1 is x[t] = c + phi·x[t-1] + e[t], e ~ N(0, sigma²), started at its mean.
func ar1(seed uint64, n int, c, phi, sigma float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	xs := make([]float64, n)
	x := c / (1 - phi)
	for i := range xs {
		x = c + phi*x + sigma*rng.NormFloat64()
		xs[i] = x
	}
	return xs
}

// line is a + b·t + e[t], e ~ N(0, sigma²).
func line(seed uint64, n int, a, b, sigma float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = a + b*float64(i) + sigma*rng.NormFloat64()
	}
	return xs
}

// randomWalk is x[t] = x[t-1] + drift + e[t].
func randomWalk(seed uint64, n int, drift, sigma float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 3))
	xs := make([]float64, n)
	x := 10.0
	for i := range xs {
		x += drift + sigma*rng.NormFloat64()
		xs[i] = x
	}
	return xs
}

func constant(n int, c float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = c
	}
	return xs
}

// TestFitARIMARecoversKnownStructure: on long series of known structure the
// fit picks the right differencing and recovers the coefficients.
func TestFitARIMARecoversKnownStructure(t *testing.T) {
	tests := []struct {
		name   string
		series []float64
		check  func(t *testing.T, m keepalive.ARIMA)
	}{
		{"AR(1), phi 0.7", ar1(1, 500, 2, 0.7, 1), func(t *testing.T, m keepalive.ARIMA) {
			assert.Equal(t, 0, m.D, "stationary: no differencing")
			require.GreaterOrEqual(t, m.P, 1)
			assert.InDelta(t, 0.7, m.Phi[0], 0.1)
			if m.P == 2 {
				assert.InDelta(t, 0, m.Phi[1], 0.1)
			}
			assert.InDelta(t, 2/(1-0.7), m.Const/(1-sum(m.Phi)), 0.5, "the process mean")
			assert.InDelta(t, 1, m.Sigma, 0.1)
		}},
		{"AR(1), phi -0.5", ar1(2, 500, 9, -0.5, 0.5), func(t *testing.T, m keepalive.ARIMA) {
			assert.Equal(t, 0, m.D)
			require.GreaterOrEqual(t, m.P, 1)
			assert.InDelta(t, -0.5, m.Phi[0], 0.1)
			assert.InDelta(t, 0.5, m.Sigma, 0.05)
		}},
		{"random walk with drift 0.3", randomWalk(3, 500, 0.3, 1), func(t *testing.T, m keepalive.ARIMA) {
			assert.Equal(t, 1, m.D, "a unit root: differenced once")
			if m.P == 0 {
				assert.InDelta(t, 0.3, m.Const, 0.15, "the drift")
			}
			assert.InDelta(t, 1, m.Sigma, 0.1)
		}},
		{"exact line, slope 0.25", line(4, 50, 5, 0.25, 0), func(t *testing.T, m keepalive.ARIMA) {
			assert.Equal(t, 1, m.D)
			assert.Equal(t, 0, m.P, "the fewest coefficients that fit exactly")
			assert.InDelta(t, 0.25, m.Const, 1e-9)
			assert.InDelta(t, 5+0.25*50, m.Next(), 1e-9)
		}},
		{"constant", constant(20, 6), func(t *testing.T, m keepalive.ARIMA) {
			assert.Equal(t, 0, m.D)
			assert.Equal(t, 0, m.P)
			assert.InDelta(t, 6, m.Next(), 1e-12)
			assert.InDelta(t, 0, m.Sigma, 1e-12)
		}},
		{"alternating", []float64{5, 10, 5, 10, 5, 10, 5, 10}, func(t *testing.T, m keepalive.ARIMA) {
			require.Equal(t, 1, m.P)
			assert.InDelta(t, -1, m.Phi[0], 1e-9)
			assert.InDelta(t, 5, m.Next(), 1e-9)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := keepalive.FitARIMA(tt.series)
			require.NoError(t, err)
			t.Logf("ARIMA(%d,%d,0) const %.4f phi %.4f sigma %.4f", m.P, m.D, m.Const, m.Phi, m.Sigma)
			tt.check(t, m)
		})
	}
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// TestARIMAForecastBeatsTheMean: one-step forecasts from the last 32 values
// (the histogram policy's memory), rolled over 200 steps, against the mean
// of the same 32 (the forecaster it replaced).
func TestARIMAForecastBeatsTheMean(t *testing.T) {
	tests := []struct {
		name   string
		series []float64
		// ratio: the ARIMA's mean squared error is below this share of
		// the mean's.
		ratio float64
	}{
		{"AR(1), phi 0.8", ar1(5, 232, 1, 0.8, 1), 0.7},
		{"AR(1), phi -0.6", ar1(6, 232, 8, -0.6, 1), 0.8},
		{"trend", line(7, 232, 5, 0.1, 0.3), 0.1},
		{"random walk", randomWalk(8, 232, 0, 1), 0.3},
		// No structure: the mean is the best forecast; the ARIMA may
		// lose a little to its fitted noise, not more.
		{"white noise", ar1(9, 232, 6, 0, 1), 1.25},
	}
	const window = 32
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var arima, mean float64
			for i := window; i < len(tt.series); i++ {
				past, next := tt.series[i-window:i], tt.series[i]
				m, err := keepalive.FitARIMA(past)
				require.NoError(t, err)
				arima += sq(m.Next() - next)
				mean += sq(sum(past)/window - next)
			}
			t.Logf("mean squared error: ARIMA %.4f, mean %.4f", arima/200, mean/200)
			assert.Less(t, arima, tt.ratio*mean)
		})
	}
}

func sq(x float64) float64 { return x * x }

func TestFitARIMAEdgeCases(t *testing.T) {
	_, err := keepalive.FitARIMA(nil)
	assert.ErrorIs(t, err, keepalive.ErrShortSeries)
	_, err = keepalive.FitARIMA([]float64{5})
	assert.ErrorIs(t, err, keepalive.ErrShortSeries)
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		_, err = keepalive.FitARIMA([]float64{5, 6, bad, 7})
		assert.ErrorContains(t, err, "value 2 of the series")
	}
	tests := []struct {
		name   string
		series []float64
		next   float64
	}{
		// Fewer than five values: only the mean (no lag has the values
		// to fit it).
		{"two values", []float64{4, 8}, 6},
		{"four values, a line", []float64{4, 5, 6, 7}, 5.5},
		{"three equal", []float64{5, 5, 5}, 5},
		{"zeros", constant(10, 0), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := keepalive.FitARIMA(tt.series)
			require.NoError(t, err)
			assert.Equal(t, 0, m.P+m.D)
			assert.InDelta(t, tt.next, m.Next(), 1e-12)
		})
	}
}

// FuzzFitARIMA: whatever finite series, a fit is finite: no NaN or Inf
// reaches a keep-alive window.
func FuzzFitARIMA(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255})
	f.Add([]byte{200, 1, 200, 1, 200, 1, 200, 1, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Each byte pair is a value from 0 to ~1e6, in a mantissa and a
		// power of ten, so that a series mixes scales.
		var xs []float64
		for i := 0; i+1 < len(b) && len(xs) < 64; i += 2 {
			xs = append(xs, float64(b[i])*math.Pow(10, float64(b[i+1]%5)-1))
		}
		m, err := keepalive.FitARIMA(xs)
		if len(xs) < 2 {
			require.ErrorIs(t, err, keepalive.ErrShortSeries)
			return
		}
		require.NoError(t, err)
		for _, v := range append([]float64{m.Next(), m.Sigma, m.AIC, m.Const}, m.Phi...) {
			require.False(t, math.IsNaN(v) || math.IsInf(v, 0), "%+v", m)
		}
		require.GreaterOrEqual(t, m.Sigma, 0.0)
	})
}
