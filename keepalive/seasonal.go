package keepalive

import "time"

// SeasonalConfig configures the seasonal policy; zero values are the
// defaults noted.
type SeasonalConfig struct {
	Bucket time.Duration // 5 minutes: the seed paper's bucket
	Period time.Duration // 24 hours: daily seasonality
	Order  int           // 4: Prophet's default daily order
	// WeeklyOrder is the order of the weekly seasonality (5; negative
	// leaves it out). Prophet's default is 3: added to the daily terms,
	// three or four harmonics of a weekday/weekend step ring into the
	// weekend's middle hours and predict some of them active (a false
	// prewarm on Saturday morning); five hold the error to a few edge
	// buckets (TestSeasonalWeeklyCatchesTheWeekend).
	WeeklyOrder int
	// WeeklyHistory is how much history the weekly terms need (2 weeks:
	// Prophet's automatic rule, each day of the week seen twice); before
	// it the fit is daily only.
	WeeklyHistory time.Duration
	// WeeklyRidge is the weekly coefficients' ridge (Seasonality.Ridge; a
	// day's buckets, 288 at 5 minutes): at two weeks of history it
	// shrinks them by an eighth, at eight weeks by 3%, so that a weekly
	// difference seen once or twice moves the forecast less than one seen
	// every week.
	WeeklyRidge float64
	// Threshold is the predicted activity (the share of days the bucket
	// saw a call) at which a bucket is predicted active (0.5).
	Threshold float64
	// MinHistory is how much history the fit needs; before it the policy
	// is fixed (one period).
	MinHistory time.Duration
	Horizon    time.Duration // 4 hours: how far a keep-alive runs on predicted buckets before the next done re-decides
	Lookahead  time.Duration // the fit's period (a day; a week once weekly): how far ahead a prewarm is looked for
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
	set(&c.Lead, time.Minute)
	set(&c.MinKeep, time.Minute)
	set(&c.Refit, time.Hour)
	set(&c.WeeklyHistory, 2*week)
	if c.Order == 0 {
		c.Order = 4
	}
	if c.WeeklyOrder == 0 {
		c.WeeklyOrder = 5
	}
	if c.WeeklyRidge == 0 {
		c.WeeklyRidge = float64(24 * time.Hour / c.Bucket)
	}
	if c.Threshold == 0 {
		c.Threshold = 0.5
	}
	return c
}

// week is the weekly seasonality's period.
const week = 7 * 24 * time.Hour

// Seasonal forecasts, per action, whether each 5-minute bucket sees a call
// from a Fourier regression of past buckets' activity on the time of day
// and, with two weeks of history, the time of the week.
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
	phase    []bool // per bucket of the period (of the week once weekly), predicted active: the fit depends on the phase only
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
		r = &series{fit: NewFourier(s.seasonalities()...), next: b, last: b}
		s.fns[fn] = r
	}
	s.advance(r, b)
	r.last = b
}

// seasonalities are the regression's: daily, then weekly when configured
// (its points are added from the start, its terms fitted only once the
// history is long enough).
func (s *Seasonal) seasonalities() []Seasonality {
	ss := []Seasonality{{Period: float64(s.cfg.Period / s.cfg.Bucket), Order: s.cfg.Order}}
	if s.cfg.WeeklyOrder > 0 {
		ss = append(ss, Seasonality{Period: float64(week / s.cfg.Bucket), Order: s.cfg.WeeklyOrder, Ridge: s.cfg.WeeklyRidge})
	}
	return ss
}

// Weekly says whether fn's fit has weekly terms.
func (s *Seasonal) Weekly(fn string) bool {
	r := s.fns[fn]
	return r != nil && s.refit(r) && len(r.phase) == int(week/s.cfg.Bucket)
}

func (s *Seasonal) weekly(r *series) bool {
	return len(r.fit.Seasonalities) > 1 && s.history(r) >= s.cfg.WeeklyHistory
}

func (s *Seasonal) history(r *series) time.Duration { return time.Duration(r.fit.Len()) * s.cfg.Bucket }

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
	if s.history(r) < s.cfg.MinHistory {
		return false
	}
	weekly := s.weekly(r)
	if r.coef != nil && time.Duration(r.next-r.fittedAt)*s.cfg.Bucket < s.cfg.Refit && weekly == (len(r.phase) == int(week/s.cfg.Bucket)) {
		return true
	}
	n, period := 1, s.cfg.Period
	if weekly {
		n, period = 2, week
	}
	coef, err := r.fit.FitFirst(n)
	if err != nil {
		return false
	}
	r.coef, r.fittedAt = coef, r.next
	r.phase = make([]bool, int(period/s.cfg.Bucket))
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
	lookahead := int64(len(r.phase))
	if s.cfg.Lookahead > 0 {
		lookahead = int64(s.cfg.Lookahead / s.cfg.Bucket)
	}
	for n := b + 2; n <= b+lookahead; n++ {
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
