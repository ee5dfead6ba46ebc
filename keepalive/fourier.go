package keepalive

import (
	"errors"
	"math"
)

// Fourier is a least-squares regression of a series on a Fourier series of
// one period: y(b) ≈ c0 + Σk ak·sin(2πkb/P) + bk·cos(2πkb/P), k = 1..Order.
// It keeps the normal equations, so that adding a point costs O(terms²)
// whatever the series' length: a replay adds one point per 5-minute bucket
// per action for days.
type Fourier struct {
	Period float64
	Order  int
	xtx    [][]float64
	xty    []float64
	n      int
}

// NewFourier returns an empty regression.
func NewFourier(period float64, order int) *Fourier {
	m := 1 + 2*order
	f := &Fourier{Period: period, Order: order, xtx: make([][]float64, m), xty: make([]float64, m)}
	for i := range f.xtx {
		f.xtx[i] = make([]float64, m)
	}
	return f
}

// features are the regressors at x.
func (f *Fourier) features(x float64) []float64 {
	v := make([]float64, 1+2*f.Order)
	v[0] = 1
	for k := 1; k <= f.Order; k++ {
		w := 2 * math.Pi * float64(k) * x / f.Period
		v[2*k-1], v[2*k] = math.Sin(w), math.Cos(w)
	}
	return v
}

// Add adds the point (x, y).
func (f *Fourier) Add(x, y float64) {
	v := f.features(x)
	for i := range v {
		for j := range v {
			f.xtx[i][j] += v[i] * v[j]
		}
		f.xty[i] += v[i] * y
	}
	f.n++
}

// Len is how many points were added.
func (f *Fourier) Len() int { return f.n }

// errSingular: too few or degenerate points for the terms.
var errSingular = errors.New("fourier: singular normal equations")

// Fit solves the normal equations (Gaussian elimination with partial
// pivoting) and returns the coefficients: c0, a1, b1, a2, b2, ….
func (f *Fourier) Fit() ([]float64, error) {
	m := len(f.xty)
	a := make([][]float64, m)
	for i := range a {
		a[i] = append(append([]float64(nil), f.xtx[i]...), f.xty[i])
	}
	for col := range m {
		p := col
		for r := col + 1; r < m; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		if math.Abs(a[p][col]) < 1e-9 {
			return nil, errSingular
		}
		a[col], a[p] = a[p], a[col]
		for r := range m {
			if r == col {
				continue
			}
			k := a[r][col] / a[col][col]
			for c := col; c <= m; c++ {
				a[r][c] -= k * a[col][c]
			}
		}
	}
	coef := make([]float64, m)
	for i := range coef {
		coef[i] = a[i][m] / a[i][i]
	}
	return coef, nil
}

// Predict is the fitted series at x.
func (f *Fourier) Predict(coef []float64, x float64) float64 {
	y := 0.0
	for i, v := range f.features(x) {
		y += coef[i] * v
	}
	return y
}
