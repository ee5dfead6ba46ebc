package keepalive

import (
	"errors"
	"fmt"
	"math"
)

// ARIMA is an ARIMA(p, d, 0) model of a series, the histogram policy's
// forecaster of out-of-bounds idle times (Shahrad et al. forecast them with
// ARIMA). The d-times differenced series w follows an autoregression with a
// constant:
//
//	w[t] = Const + Phi[0]·w[t-1] + … + Phi[p-1]·w[t-p] + e[t]
//
// FitARIMA fits it by conditional least squares (Box, Jenkins and Reinsel,
// "Time Series Analysis", §7.1: the AR coefficients of the differenced
// series by ordinary least squares on its lags) and picks p ≤ 2 and d ≤ 1
// by the smallest AIC (Akaike 1974) over one common sample, the same
// order-selection rule as R's auto.arima and pmdarima (which also search
// moving-average terms and choose d by a unit-root test; with the few
// idle times a function has, q = 0 keeps the fit a closed-form least
// squares, and the AIC over one-step errors in the series' own units
// compares d = 0 with d = 1 directly). d = 1 with p = 0 is a random walk
// with drift (a trend); d = 0 with p = 0 is the series' mean.
type ARIMA struct {
	P, D  int
	Const float64
	Phi   []float64
	// Sigma is the standard deviation of the one-step errors in the fit
	// (the residuals, over their degrees of freedom): the forecast's
	// standard error.
	Sigma float64
	AIC   float64
	tail  []float64 // the series' last P+D values, for Next
}

// The largest orders FitARIMA tries.
const (
	maxAROrder   = 2
	maxDiffOrder = 1
)

// ErrShortSeries: a series of fewer than two values has no model.
var ErrShortSeries = errors.New("keepalive: a forecast needs at least two values")

// FitARIMA fits the ARIMA(p, d, 0) of series with the smallest AIC. The
// orders tried grow with the series: a model is fitted on the common
// sample after the largest lag L, only when the sample has at least
// 2(L+1) values, so that a short series gets the mean (n < 5), then at
// most one lag (n < 8), and so on. A non-finite value is an error.
func FitARIMA(series []float64) (ARIMA, error) {
	n := len(series)
	if n < 2 {
		return ARIMA{}, ErrShortSeries
	}
	for i, x := range series {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return ARIMA{}, fmt.Errorf("keepalive: value %d of the series is %v: a forecast needs finite values", i, x)
		}
	}
	lags := 0
	for lags < maxAROrder+maxDiffOrder && n-(lags+1) >= 2*(lags+2) {
		lags++
	}
	// A floor on the residuals' sum of squares, relative to the series'
	// scale: an exact fit (a constant, a straight line) would otherwise
	// have an AIC of -Inf, and the floor leaves the tie between exact
	// fits to the penalty, which prefers the fewest coefficients.
	scale := 0.0
	for _, x := range series {
		scale = max(scale, math.Abs(x))
	}
	floor := math.Pow(1e-9*max(scale, 1), 2)
	best := ARIMA{AIC: math.Inf(1)}
	for d := 0; d <= maxDiffOrder; d++ {
		for p := 0; p <= maxAROrder && p+d <= lags; p++ {
			m, err := fitARIMA(series, p, d, lags, floor)
			if err == nil && m.AIC < best.AIC {
				best = m
			}
		}
	}
	if math.IsInf(best.AIC, 1) {
		// Unreachable: the mean always fits a finite series of two or
		// more values.
		return ARIMA{}, errSingular
	}
	return best, nil
}

// fitARIMA fits ARIMA(p, d, 0) on the sample t = lags … n-1.
func fitARIMA(series []float64, p, d, lags int, floor float64) (ARIMA, error) {
	w := series
	for range d {
		w = diff(w)
	}
	// w[i] is the differenced value at t = i+d.
	eq := newNormalEquations(1 + p)
	row := make([]float64, 1+p)
	for t := lags; t < len(series); t++ {
		i := t - d
		row[0] = 1
		for j := 1; j <= p; j++ {
			row[j] = w[i-j]
		}
		eq.add(row, w[i])
	}
	coef, err := eq.solve(nil, nil)
	if err != nil {
		return ARIMA{}, err
	}
	m := ARIMA{P: p, D: d, Const: coef[0], Phi: coef[1:], tail: append([]float64(nil), series[len(series)-p-d:]...)}
	var sse float64
	for t := lags; t < len(series); t++ {
		i := t - d
		e := w[i] - m.predictDiff(w[:i])
		sse += e * e
	}
	obs, k := float64(len(series)-lags), float64(1+p)
	m.AIC = obs*math.Log(max(sse/obs, floor)) + 2*(k+1)
	m.Sigma = math.Sqrt(sse / max(obs-k, 1))
	if math.IsNaN(m.AIC) || math.IsInf(m.AIC, 0) || math.IsInf(m.Next(), 0) || math.IsNaN(m.Next()) {
		return ARIMA{}, errSingular
	}
	return m, nil
}

// predictDiff is the model's forecast of the differenced series' value
// after past (its values so far, newest last).
func (m ARIMA) predictDiff(past []float64) float64 {
	y := m.Const
	for j, phi := range m.Phi {
		y += phi * past[len(past)-1-j]
	}
	return y
}

// Next is the one-step forecast: the series' next value.
func (m ARIMA) Next() float64 {
	w := m.tail
	for range m.D {
		w = diff(w)
	}
	next := m.predictDiff(w)
	if m.D == 1 { // maxDiffOrder
		// Undo the differencing: the next value is the last plus the
		// forecast difference.
		next += m.tail[len(m.tail)-1]
	}
	return next
}

func diff(xs []float64) []float64 {
	out := make([]float64, len(xs)-1)
	for i := range out {
		out[i] = xs[i+1] - xs[i]
	}
	return out
}
