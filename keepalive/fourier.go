package keepalive

import "math"

// Seasonality is one Fourier series of a regression: Order harmonics of
// Period (in the regression's x units).
type Seasonality struct {
	Period float64
	Order  int
	// Ridge is added to the diagonal of the normal equations for each of
	// its coefficients: the maximum a posteriori fit under a Gaussian prior
	// of mean 0 on them (Prophet's seasonality prior), so that a short
	// history, whose data term is small, cannot push them far. Its weight
	// fades as points are added (each adds about 1/2 per coefficient).
	Ridge float64
}

// Fourier is a least-squares regression of a series on Fourier series:
// y(x) ≈ c0 + Σs Σk as,k·sin(2πkx/Ps) + bs,k·cos(2πkx/Ps), k = 1..Orders.
// It keeps the normal equations, so that adding a point costs O(terms²)
// whatever the series' length: a replay adds one point per 5-minute bucket
// per action for days.
type Fourier struct {
	Seasonalities []Seasonality
	eq            normalEquations
	n             int
}

// NewFourier returns an empty regression on the seasonalities.
func NewFourier(ss ...Seasonality) *Fourier {
	terms := 1
	for _, s := range ss {
		terms += 2 * s.Order
	}
	return &Fourier{Seasonalities: ss, eq: newNormalEquations(terms)}
}

// features are the regressors at x.
func (f *Fourier) features(x float64) []float64 {
	v := make([]float64, 1, len(f.eq.xty))
	v[0] = 1
	for _, s := range f.Seasonalities {
		for k := 1; k <= s.Order; k++ {
			w := 2 * math.Pi * float64(k) * x / s.Period
			v = append(v, math.Sin(w), math.Cos(w))
		}
	}
	return v
}

// Add adds the point (x, y).
func (f *Fourier) Add(x, y float64) {
	f.eq.add(f.features(x), y)
	f.n++
}

// Len is how many points were added.
func (f *Fourier) Len() int { return f.n }

// Fit returns the coefficients of every seasonality: c0, then each
// seasonality's a1, b1, a2, b2, … in order.
func (f *Fourier) Fit() ([]float64, error) { return f.FitFirst(len(f.Seasonalities)) }

// FitFirst fits the intercept and the first n seasonalities only, the
// others left out of the model (not set to 0 in a joint fit): the points
// added so far serve either model.
func (f *Fourier) FitFirst(n int) ([]float64, error) {
	// The terms are laid out in order: the first n seasonalities' are a
	// prefix.
	use, ridge := []int{0}, []float64{0}
	for _, s := range f.Seasonalities[:n] {
		for range 2 * s.Order {
			use = append(use, len(use))
			ridge = append(ridge, s.Ridge)
		}
	}
	return f.eq.solve(use, ridge)
}

// Predict is the fitted series at x; coef is from Fit or FitFirst (its
// length says which seasonalities it has).
func (f *Fourier) Predict(coef []float64, x float64) float64 {
	y := 0.0
	for i, v := range f.features(x)[:len(coef)] {
		y += coef[i] * v
	}
	return y
}
