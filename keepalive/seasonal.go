package keepalive

import "time"

// SeasonalConfig configures the seasonal policy; zero values are the
// defaults noted.
type SeasonalConfig struct {
	Bucket time.Duration // 5 minutes: the seed paper's bucket
	Period time.Duration // 24 hours: daily seasonality
	Order  int           // 4: Prophet's default daily order
	// Threshold is the predicted activity (the share of days the bucket
	// saw a call) at which a bucket is predicted active (0.5).
	Threshold float64
	// MinHistory is how much history the fit needs; before it the policy
	// is fixed (one period).
	MinHistory time.Duration
	Horizon    time.Duration // 4 hours: how far a keep-alive runs on predicted buckets before the next done re-decides
	Lookahead  time.Duration // 24 hours: how far ahead a prewarm is looked for
	Lead       time.Duration // 1 minute: a prewarm starts this long before its bucket
	MinKeep    time.Duration // 1 minute: even an unpredicted call keeps its instance this long (bursts)
	Refit      time.Duration // 1 hour: how stale a fit may get
}

func (c SeasonalConfig) withDefaults() SeasonalConfig {
	set := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	set(&c.Bucket, 5*time.Minute)
	set(&c.Period, 24*time.Hour)
	set(&c.MinHistory, c.Period)
	set(&c.Horizon, 4*time.Hour)
	set(&c.Lookahead, 24*time.Hour)
	set(&c.Lead, time.Minute)
	set(&c.MinKeep, time.Minute)
	set(&c.Refit, time.Hour)
	if c.Order == 0 {
		c.Order = 4
	}
	if c.Threshold == 0 {
		c.Threshold = 0.5
	}
	return c
}

// Seasonal forecasts, per action, whether each 5-minute bucket sees a call
// from a Fourier regression of past buckets' activity on the time of day.
type Seasonal struct {
	cfg   SeasonalConfig
	fixed *Fixed
	fns   map[string]*series
}

// series is one action's bucket history and fit.
type series struct {
	fit      *Fourier
	next     int64 // the first bucket not yet added to the fit
	last     int64 // the bucket of the latest arrival
	coef     []float64
	fittedAt int64  // next at the time of the fit
	phase    []bool // per bucket of the period, predicted active: the fit depends on the phase only
}

// NewSeasonal returns the seasonal policy.
func NewSeasonal(cfg SeasonalConfig) *Seasonal {
	return &Seasonal{cfg: cfg.withDefaults(), fixed: NewFixed(DefaultIdleTimeout), fns: map[string]*series{}}
}

func (*Seasonal) Name() string                             { return "seasonal" }
func (*Seasonal) Done(string, time.Time)                   {}
func (*Seasonal) Victim(_ time.Time, idle []Candidate) int { return lru(idle) }

// bucket numbers buckets from the Unix epoch, so that a bucket's place in
// the period is its number modulo the period's buckets.
func (s *Seasonal) bucket(t time.Time) int64 { return t.UnixNano() / int64(s.cfg.Bucket) }

func (s *Seasonal) start(b int64) time.Time { return time.Unix(0, b*int64(s.cfg.Bucket)).UTC() }

func (s *Seasonal) Arrival(fn string, t time.Time) {
	b := s.bucket(t)
	r := s.fns[fn]
	if r == nil {
		r = &series{fit: NewFourier(float64(s.cfg.Period/s.cfg.Bucket), s.cfg.Order), next: b, last: b}
		s.fns[fn] = r
	}
	s.advance(r, b)
	r.last = b
}

// advance adds every closed bucket before b to the fit: active (1) if it
// saw a call, else 0. Arrivals come in time order, so only r.last can have
// been active.
func (s *Seasonal) advance(r *series, b int64) {
	for ; r.next < b; r.next++ {
		y := 0.0
		if r.next == r.last {
			y = 1
		}
		r.fit.Add(float64(r.next), y)
	}
}

// Active says whether fn's bucket holding t is predicted active, and
// whether there is a fit to say it.
func (s *Seasonal) Active(fn string, t time.Time) (active, fitted bool) {
	r := s.fns[fn]
	if r == nil || !s.refit(r) {
		return false, false
	}
	return s.active(r, s.bucket(t)), true
}

func (s *Seasonal) active(r *series, b int64) bool {
	return r.phase[b%int64(len(r.phase))]
}

// refit fits r if its fit is missing or stale; false while the history is
// too short or degenerate.
func (s *Seasonal) refit(r *series) bool {
	if time.Duration(r.fit.Len())*s.cfg.Bucket < s.cfg.MinHistory {
		return false
	}
	if r.coef != nil && time.Duration(r.next-r.fittedAt)*s.cfg.Bucket < s.cfg.Refit {
		return true
	}
	coef, err := r.fit.Fit()
	if err != nil {
		return false
	}
	r.coef, r.fittedAt = coef, r.next
	r.phase = make([]bool, int(s.cfg.Period/s.cfg.Bucket))
	for i := range r.phase {
		r.phase[i] = r.fit.Predict(coef, float64(i)) >= s.cfg.Threshold
	}
	return true
}

func (s *Seasonal) Decide(fn string, doneAt time.Time) Decision {
	r := s.fns[fn]
	if r == nil || !s.refit(r) {
		return s.fixed.Decide(fn, doneAt)
	}
	b := s.bucket(doneAt)
	horizon := int64(s.cfg.Horizon / s.cfg.Bucket)
	minKeep := doneAt.Add(s.cfg.MinKeep)
	if s.active(r, b) || s.active(r, b+1) {
		end := b + 1
		for end < b+horizon && s.active(r, end) {
			end++
		}
		return Decision{KeepUntil: later(s.start(end), minKeep)}
	}
	for n := b + 2; n <= b+int64(s.cfg.Lookahead/s.cfg.Bucket); n++ {
		if !s.active(r, n) {
			continue
		}
		end := n + 1
		for end < n+horizon && s.active(r, end) {
			end++
		}
		return Decision{PrewarmAt: later(s.start(n).Add(-s.cfg.Lead), doneAt), KeepUntil: s.start(end)}
	}
	return Decision{KeepUntil: minKeep}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
