package keepalive

import (
	"errors"
	"math"
)

// normalEquations accumulate a linear least-squares problem as XᵀX and
// XᵀY, so that adding a row costs O(terms²) whatever the number of rows:
// both forecasters (Fourier, FitARIMA) solve theirs this way.
type normalEquations struct {
	xtx [][]float64
	xty []float64
}

func newNormalEquations(terms int) normalEquations {
	e := normalEquations{xtx: make([][]float64, terms), xty: make([]float64, terms)}
	for i := range e.xtx {
		e.xtx[i] = make([]float64, terms)
	}
	return e
}

// add adds the row x with response y.
func (e normalEquations) add(x []float64, y float64) {
	for i := range x {
		for j := range x {
			e.xtx[i][j] += x[i] * x[j]
		}
		e.xty[i] += x[i] * y
	}
}

// errSingular: too few or degenerate rows for the terms.
var errSingular = errors.New("keepalive: singular normal equations (too few or degenerate points for the terms)")

// solve returns the coefficients of the terms listed in use (all when nil),
// the others left out of the model, with ridge[i] added to term use[i]'s
// diagonal: a Gaussian prior of mean 0 on that coefficient, the penalised
// (ridge) least squares of Hoerl and Kennard. Gaussian elimination with
// partial pivoting; a pivot below 1e-9 of the largest diagonal entry is
// singular.
func (e normalEquations) solve(use []int, ridge []float64) ([]float64, error) {
	if use == nil {
		use = make([]int, len(e.xty))
		for i := range use {
			use[i] = i
		}
	}
	m := len(use)
	a := make([][]float64, m)
	scale := 0.0
	for i, ti := range use {
		a[i] = make([]float64, m+1)
		for j, tj := range use {
			a[i][j] = e.xtx[ti][tj]
		}
		if ridge != nil {
			a[i][i] += ridge[i]
		}
		a[i][m] = e.xty[ti]
		scale = max(scale, math.Abs(a[i][i]))
	}
	if scale == 0 {
		return nil, errSingular
	}
	for col := range m {
		p := col
		for r := col + 1; r < m; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		if math.Abs(a[p][col]) < 1e-9*scale {
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
