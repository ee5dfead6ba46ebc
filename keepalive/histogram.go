package keepalive

import (
	"math"
	"time"
)

// HistogramConfig configures the hybrid histogram policy; zero values are
// Shahrad et al.'s (and FaasCache's re-implementation's margins).
type HistogramConfig struct {
	Bin       time.Duration // 1 minute
	Range     time.Duration // 4 hours: idle times beyond are out of bounds
	Head      float64       // 0.05: the prewarm window's percentile
	Tail      float64       // 0.99: the keep-alive window's percentile
	Margin    float64       // 0.10
	MinSample int           // 10 in-range idle times before the histogram is trusted
	MinCV     float64       // 2: a flatter histogram (lower CV of bin counts) carries too little information
	// Standard is the keep-alive while the histogram is not representative,
	// with no prewarm: the platform's standard keep-alive, DefaultIdleTimeout.
	// Shahrad et al. use the range (4 hours); on the synthetic mix that
	// holds the many Poisson-like functions 4 hours after each call and
	// costs more memory than fixed (docs/keepalive says how much).
	Standard time.Duration
	// OOBShare: when more than this share of an action's idle times are out
	// of bounds, the forecaster decides (0.5).
	OOBShare float64
	// MaxForecastCV: the forecast is trusted when its standard error (the
	// ARIMA's one-step error) is below this share of it (0.5); else the
	// instance is released at done. For a series with no structure the
	// model is the mean and this is the idle times' coefficient of
	// variation. Shahrad et al.'s policy has no such rule: a window around
	// an idle time that cannot be told holds memory for calls that come
	// outside it.
	MaxForecastCV float64
}

func (c HistogramConfig) withDefaults() HistogramConfig {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Bin == 0 {
		c.Bin = time.Minute
	}
	if c.Range == 0 {
		c.Range = 4 * time.Hour
	}
	if c.Standard == 0 {
		c.Standard = DefaultIdleTimeout
	}
	if c.MinSample == 0 {
		c.MinSample = 10
	}
	def(&c.Head, 0.05)
	def(&c.Tail, 0.99)
	def(&c.Margin, 0.10)
	def(&c.MinCV, 2)
	def(&c.OOBShare, 0.5)
	def(&c.MaxForecastCV, 0.5)
	return c
}

// Histogram is the hybrid histogram policy.
type Histogram struct {
	cfg  HistogramConfig
	done idleTimes
	fns  map[string]*histogram
}

// histogram is one action's idle-time record.
type histogram struct {
	bins  []int
	total int             // in-range idle times
	oob   []time.Duration // the recent out-of-bounds idle times, newest last
	nOOB  int
	// forecast is the fit of oob, nil until needed after each new
	// out-of-bounds idle time.
	forecast *oobForecast
}

// oobForecast is the forecaster's answer for one history.
type oobForecast struct {
	next time.Duration
	ok   bool // a forecast to trust: enough idle times, a small enough error
}

// minForecast is how many out-of-bounds idle times a forecast needs.
const minForecast = 3

// oobMemory is how many out-of-bounds idle times the forecaster fits: the
// recent ones, enough for FitARIMA's largest orders.
const oobMemory = 32

// NewHistogram returns the hybrid histogram policy.
func NewHistogram(cfg HistogramConfig) *Histogram {
	return &Histogram{cfg: cfg.withDefaults(), done: idleTimes{}, fns: map[string]*histogram{}}
}

func (*Histogram) Name() string                             { return "histogram" }
func (*Histogram) Victim(_ time.Time, idle []Candidate) int { return lru(idle) }
func (h *Histogram) Done(fn string, t time.Time)            { h.done[fn] = t }

func (h *Histogram) Arrival(fn string, t time.Time) {
	it, ok := h.done.since(fn, t)
	if !ok {
		return
	}
	h.Observe(fn, it)
}

// Observe records one idle time of fn (Arrival does, from the last done).
func (h *Histogram) Observe(fn string, it time.Duration) {
	s := h.fns[fn]
	if s == nil {
		s = &histogram{bins: make([]int, int(h.cfg.Range/h.cfg.Bin))}
		h.fns[fn] = s
	}
	if it >= h.cfg.Range {
		s.nOOB++
		s.oob = append(s.oob, it)
		if len(s.oob) > oobMemory {
			s.oob = s.oob[1:]
		}
		s.forecast = nil
		return
	}
	s.bins[int(it/h.cfg.Bin)]++
	s.total++
}

// Windows is fn's prewarm and keep-alive windows, both from done, and which
// branch of the policy chose them.
func (h *Histogram) Windows(fn string) (prewarm, keep time.Duration, branch string) {
	s := h.fns[fn]
	if s == nil {
		return 0, h.cfg.Standard, "standard"
	}
	if n := s.total + s.nOOB; n > 0 && float64(s.nOOB)/float64(n) > h.cfg.OOBShare {
		f := h.forecast(s)
		if !f.ok {
			// Every idle time is beyond the range and the next cannot be
			// told: an instance kept after the call is never used.
			return 0, 0, "release"
		}
		return scale(f.next, 1-h.cfg.Margin), scale(f.next, 1+h.cfg.Margin), "forecast"
	}
	if s.total < h.cfg.MinSample || binCV(s.bins) < h.cfg.MinCV {
		return 0, h.cfg.Standard, "standard"
	}
	head := h.percentileBin(s, h.cfg.Head)
	tail := h.percentileBin(s, h.cfg.Tail)
	// The head is the lower edge of its bin, the tail the upper edge of
	// its: the windows cover every idle time of the bins they name.
	prewarm = scale(time.Duration(head)*h.cfg.Bin, 1-h.cfg.Margin)
	keep = scale(time.Duration(tail+1)*h.cfg.Bin, 1+h.cfg.Margin)
	return prewarm, keep, "histogram"
}

func (h *Histogram) Decide(fn string, doneAt time.Time) Decision {
	prewarm, keep, _ := h.Windows(fn)
	d := Decision{KeepUntil: doneAt.Add(keep)}
	if prewarm > 0 {
		d.PrewarmAt = doneAt.Add(prewarm)
	}
	return d
}

// percentileBin is the first bin at which the cumulative count reaches p of
// the in-range idle times.
func (h *Histogram) percentileBin(s *histogram, p float64) int {
	need := int(math.Ceil(p * float64(s.total)))
	cum := 0
	for i, c := range s.bins {
		cum += c
		if cum >= need && cum > 0 {
			return i
		}
	}
	return len(s.bins) - 1
}

// binCV is the coefficient of variation of the bin counts: high when the
// idle times gather in a few bins (a pattern), low when they spread evenly.
func binCV(bins []int) float64 {
	var sum, sq float64
	for _, c := range bins {
		sum += float64(c)
	}
	mean := sum / float64(len(bins))
	if mean == 0 {
		return 0
	}
	for _, c := range bins {
		d := float64(c) - mean
		sq += d * d
	}
	return math.Sqrt(sq/float64(len(bins))) / mean
}

// forecast is the ARIMA forecast of s's next out-of-bounds idle time,
// fitted in hours: in nanoseconds the normal equations' squares would be
// of order 1e27, and the solver's tolerances are relative but its sums
// lose the small terms.
func (h *Histogram) forecast(s *histogram) oobForecast {
	if s.forecast != nil {
		return *s.forecast
	}
	f := oobForecast{}
	if len(s.oob) >= minForecast {
		hours := make([]float64, len(s.oob))
		for i, d := range s.oob {
			hours[i] = d.Hours()
		}
		if m, err := FitARIMA(hours); err == nil {
			next := m.Next()
			// A forecast at or below zero is a trend past its end: no
			// idle time to wait for. A forecast past the largest
			// Duration is none either.
			if next > 0 && next < math.MaxInt64/float64(time.Hour) && m.Sigma <= h.cfg.MaxForecastCV*next {
				f = oobForecast{next: time.Duration(next * float64(time.Hour)), ok: true}
			}
		}
	}
	s.forecast = &f
	return f
}

func scale(d time.Duration, f float64) time.Duration {
	return time.Duration(math.Round(float64(d) * f))
}
