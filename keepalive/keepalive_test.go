package keepalive_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/keepalive"
)

// t0 is a midnight (UTC), so that bucket numbers line up with the time of day.
var t0 = time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC)

func TestNewAndParseNames(t *testing.T) {
	for _, n := range keepalive.Names {
		p, err := keepalive.New(n)
		require.NoError(t, err)
		assert.Equal(t, n, p.Name())
	}
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"fixed", []string{"fixed"}, ""},
		{"fixed, histogram,seasonal,greedydual", []string{"fixed", "histogram", "seasonal", "greedydual"}, ""},
		{"fixed,lru", nil, `unknown keep-alive policy "lru"`},
		{"fixed,fixed", nil, `"fixed" is listed twice`},
		{"", nil, `unknown keep-alive policy ""`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := keepalive.ParseNames(tt.in)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFixedKeepsTenMinutesFromDoneAndEvictsLRU(t *testing.T) {
	p := keepalive.NewFixed(keepalive.DefaultIdleTimeout)
	done := t0.Add(time.Hour)
	d := p.Decide("f", done)
	assert.False(t, d.Prewarms())
	assert.Equal(t, done.Add(10*time.Minute), d.KeepUntil)
	idle := []keepalive.Candidate{{Fn: "a", IdleSince: t0.Add(2)}, {Fn: "b", IdleSince: t0.Add(1)}, {Fn: "c", IdleSince: t0.Add(3)}}
	assert.Equal(t, 1, p.Victim(t0, idle))
}

func TestHistogramWindows(t *testing.T) {
	tests := []struct {
		name          string
		its           []time.Duration
		prewarm, keep time.Duration
		branch        string
	}{
		{"no history: standard keep-alive", nil, 0, 10 * time.Minute, "standard"},
		{"too few idle times", rep(30*time.Minute, 9), 0, 10 * time.Minute, "standard"},
		// 100 idle times in bin 30: head and tail are bin 30; prewarm at its
		// lower edge less 10%, keep to its upper edge plus 10%.
		{"one bin", rep(30*time.Minute+20*time.Second, 100), 27 * time.Minute, 34*time.Minute + 6*time.Second, "histogram"},
		// 95 in bin 0 and 5 in bin 10: the head is bin 0 (no prewarm), the
		// tail (99%) is bin 10.
		{"head at zero", append(rep(10*time.Second, 95), rep(10*time.Minute+5*time.Second, 5)...), 0, 12*time.Minute + 6*time.Second, "histogram"},
		// Idle times spread evenly over the range: the CV test fails.
		{"flat: CV fallback", spread(240), 0, 10 * time.Minute, "standard"},
		// Mostly beyond 4 hours, always the same: the forecast, ± 10%.
		{"out of bounds", append(rep(time.Minute, 2), rep(6*time.Hour, 8)...), scale(6 * 0.9), scale(6 * 1.1), "forecast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := observed(tt.its)
			prewarm, keep, branch := h.Windows("f")
			assert.Equal(t, tt.branch, branch)
			assert.Equal(t, tt.prewarm, prewarm)
			assert.Equal(t, tt.keep, keep)
			d := h.Decide("f", t0)
			assert.Equal(t, t0.Add(tt.keep), d.KeepUntil)
			assert.Equal(t, tt.prewarm > 0, d.Prewarms())
		})
	}
}

func scale(hours float64) time.Duration { return time.Duration(hours * float64(time.Hour)) }

// spread is one idle time in each of the first n minute bins.
func spread(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i)*time.Minute + 30*time.Second
	}
	return out
}

// TestHistogramForecastsOutOfBoundsIdleTimes: when most idle times are
// beyond the range, the window is the ARIMA forecast of the next ± 10%; the
// mean of the recent ones (the stand-in it replaced) would miss a trend or
// an alternation.
func TestHistogramForecastsOutOfBoundsIdleTimes(t *testing.T) {
	hours := func(hs ...float64) []time.Duration {
		out := make([]time.Duration, len(hs))
		for i, h := range hs {
			out[i] = time.Duration(h * float64(time.Hour))
		}
		return out
	}
	tests := []struct {
		name   string
		its    []time.Duration
		next   float64 // hours; 0: released at done
		branch string
	}{
		{"growing by half an hour", hours(5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5), 9, "forecast"},
		{"alternating", hours(5, 10, 5, 10, 5, 10, 5, 10), 5, "forecast"},
		{"too few to forecast", hours(5, 6), 0, "release"},
		// No structure, and a spread (CV ≈ 0.8) no window can cover.
		{"too variable", hours(5, 6, 30, 5, 4.5, 28, 40, 5, 12, 6, 25), 0, "release"},
		// In-range idle times at most half: the histogram decides.
		{"half in range", append(hours(5, 5, 5), rep(3*time.Minute, 3)...), 0, "standard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := observed(tt.its)
			prewarm, keep, branch := h.Windows("f")
			require.Equal(t, tt.branch, branch)
			if tt.branch != "forecast" {
				assert.Equal(t, time.Duration(0), prewarm)
				return
			}
			assert.InDelta(t, float64(scale(tt.next*0.9)), float64(prewarm), float64(time.Millisecond))
			assert.InDelta(t, float64(scale(tt.next*1.1)), float64(keep), float64(time.Millisecond))
		})
	}
}

// observed is a histogram policy that observed its of action "f".
func observed(its []time.Duration) *keepalive.Histogram {
	h := keepalive.NewHistogram(keepalive.HistogramConfig{})
	for _, it := range its {
		h.Observe("f", it)
	}
	return h
}

func rep(it time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = it
	}
	return out
}

// TestHistogramIdleTimeRunsFromDone: the idle time is the arrival minus the
// previous done, not minus the previous arrival or response.
func TestHistogramIdleTimeRunsFromDone(t *testing.T) {
	h := keepalive.NewHistogram(keepalive.HistogramConfig{})
	at := t0
	for range 50 {
		h.Arrival("f", at)
		// The call responds at once but lingers 20 minutes; the next comes
		// 30 minutes after the arrival: 10 minutes after done.
		h.Done("f", at.Add(20*time.Minute))
		at = at.Add(30 * time.Minute)
	}
	prewarm, keep, branch := h.Windows("f")
	require.Equal(t, "histogram", branch)
	assert.Equal(t, 9*time.Minute, prewarm)
	assert.Equal(t, 12*time.Minute+6*time.Second, keep, "bin 10's upper edge, 11 minutes, plus 10%")
}

func TestGreedyDualPriorityOrder(t *testing.T) {
	tests := []struct {
		name  string
		calls map[string]int
		idle  []keepalive.Candidate
		want  string
	}{
		{"least frequent goes", map[string]int{"a": 10, "b": 1},
			[]keepalive.Candidate{{Fn: "a", MemoryMB: 256, ColdStart: time.Second}, {Fn: "b", MemoryMB: 256, ColdStart: time.Second}}, "b"},
		{"biggest goes", map[string]int{"a": 4, "b": 4},
			[]keepalive.Candidate{{Fn: "a", MemoryMB: 128, ColdStart: time.Second}, {Fn: "b", MemoryMB: 1024, ColdStart: time.Second}}, "b"},
		{"cheapest cold start goes", map[string]int{"a": 4, "b": 4},
			[]keepalive.Candidate{{Fn: "a", MemoryMB: 256, ColdStart: 100 * time.Millisecond}, {Fn: "b", MemoryMB: 256, ColdStart: 3 * time.Second}}, "a"},
		{"ties: longest idle goes", map[string]int{"a": 1, "b": 1},
			[]keepalive.Candidate{{Fn: "a", MemoryMB: 256, ColdStart: time.Second, IdleSince: t0.Add(time.Minute)}, {Fn: "b", MemoryMB: 256, ColdStart: time.Second, IdleSince: t0}}, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := keepalive.NewGreedyDual(keepalive.DefaultGreedyDualHold)
			for fn, n := range tt.calls {
				for range n {
					g.Arrival(fn, t0)
				}
				g.Done(fn, t0)
			}
			assert.Equal(t, tt.want, tt.idle[g.Victim(t0, tt.idle)].Fn)
		})
	}
}

// TestGreedyDualClockAges: the clock rises to each evicted instance's
// priority once the caller reports the eviction, so an instance used after
// it outranks an equally hot one used before.
func TestGreedyDualClockAges(t *testing.T) {
	g := keepalive.NewGreedyDual(keepalive.DefaultGreedyDualHold)
	c := func(fn string) keepalive.Candidate {
		return keepalive.Candidate{Fn: fn, MemoryMB: 100, ColdStart: 10 * time.Second}
	}
	for _, fn := range []string{"old", "gone", "new"} {
		g.Arrival(fn, t0)
	}
	g.Done("old", t0)
	g.Done("gone", t0)
	assert.Equal(t, 0, g.Victim(t0, []keepalive.Candidate{c("gone"), c("old")}), "a tie: the first")
	assert.InDelta(t, 0.1, g.Priority(c("old")), 1e-12)
	g.Done("new", t0)
	assert.InDelta(t, 0.1, g.Priority(c("new")), 1e-12, "a victim not yet evicted leaves the clock alone")
	g.Released("gone", t0, keepalive.Expired)
	assert.InDelta(t, 0.1, g.Priority(c("new")), 1e-12, "an expiry leaves the clock alone")
	g.Released("gone", t0, keepalive.Evicted)
	g.Done("new", t0)
	assert.InDelta(t, 0.2, g.Priority(c("new")), 1e-12, "used after the eviction: the clock (0.1) is added")
	assert.Equal(t, "old", []keepalive.Candidate{c("new"), c("old")}[g.Victim(t0, []keepalive.Candidate{c("new"), c("old")})].Fn)
	d := g.Decide("new", t0)
	assert.Equal(t, t0.Add(24*time.Hour), d.KeepUntil)
}

func TestFourierRecoversADailySine(t *testing.T) {
	tests := []struct {
		name  string
		order int
		coef  []float64 // c0, a1, b1, a2, b2, …
	}{
		{"one harmonic", 1, []float64{2, 1.5, -0.5}},
		{"two harmonics", 3, []float64{0.5, 0.4, 0, 0, 0.2, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := keepalive.NewFourier(keepalive.Seasonality{Period: 288, Order: tt.order})
			for b := range 3 * 288 {
				f.Add(float64(b), f.Predict(tt.coef, float64(b)))
			}
			got, err := f.Fit()
			require.NoError(t, err)
			require.Len(t, got, len(tt.coef))
			for i := range got {
				assert.InDelta(t, tt.coef[i], got[i], 1e-9, "coefficient %d", i)
			}
		})
	}
	_, err := keepalive.NewFourier(keepalive.Seasonality{Period: 288, Order: 2}).Fit()
	assert.Error(t, err, "no points: singular")
}

// TestSeasonalPrewarmsBeforeADailyWindow: an action called every minute
// from 09:00 to 12:00 each day; after two days the policy keeps its
// instance through the window and, after the last call, prewarms it for
// the next morning instead of holding it.
func TestSeasonalPrewarmsBeforeADailyWindow(t *testing.T) {
	s := keepalive.NewSeasonal(keepalive.SeasonalConfig{})
	var lastDone time.Time
	for day := range 3 {
		for m := 9 * 60; m < 12*60; m++ {
			at := t0.Add(time.Duration(day)*24*time.Hour + time.Duration(m)*time.Minute)
			s.Arrival("f", at)
			lastDone = at.Add(time.Second)
			s.Done("f", lastDone)
		}
	}
	// Day 3 had calls in 09:00–12:00: the history covers two full days.
	tests := []struct {
		at     time.Time
		active bool
	}{
		{t0.Add(2*24*time.Hour + 10*time.Hour), true},
		{t0.Add(2*24*time.Hour + 3*time.Hour), false},
		{t0.Add(2*24*time.Hour + 20*time.Hour), false},
	}
	for _, tt := range tests {
		active, fitted := s.Active("f", tt.at)
		require.True(t, fitted)
		assert.Equal(t, tt.active, active, "%s", tt.at.Format("15:04"))
	}
	inWindow := s.Decide("f", t0.Add(2*24*time.Hour+10*time.Hour))
	assert.False(t, inWindow.Prewarms())
	// Four harmonics smooth the window's edges by a bucket or so.
	assert.WithinDuration(t, t0.Add(2*24*time.Hour+12*time.Hour), inWindow.KeepUntil, 15*time.Minute, "kept to the window's end")

	afterWindow := t0.Add(2*24*time.Hour + 13*time.Hour)
	require.True(t, afterWindow.After(lastDone))
	after := s.Decide("f", afterWindow)
	require.True(t, after.Prewarms(), "%+v", after)
	nextMorning := t0.Add(3*24*time.Hour + 9*time.Hour)
	// Within the smoothing of the window's edges (a few buckets), never
	// after the first call.
	assert.WithinDuration(t, nextMorning.Add(-time.Minute), after.PrewarmAt, 20*time.Minute)
	assert.True(t, after.PrewarmAt.Before(nextMorning))
	assert.WithinDuration(t, nextMorning.Add(3*time.Hour), after.KeepUntil, 20*time.Minute)
}

func TestSeasonalIsFixedUntilADayOfHistory(t *testing.T) {
	s := keepalive.NewSeasonal(keepalive.SeasonalConfig{})
	s.Arrival("f", t0)
	s.Arrival("f", t0.Add(23*time.Hour))
	d := s.Decide("f", t0.Add(23*time.Hour))
	assert.Equal(t, t0.Add(23*time.Hour+10*time.Minute), d.KeepUntil)
	assert.False(t, d.Prewarms())
	_, fitted := s.Active("f", t0)
	assert.False(t, fitted)
}

// TestScaledMapsTheClock: a policy under Scaled decides in the trace's
// time: fixed's 10 minutes are 10 s of the caller's time at K = 60, and a
// prewarm's time maps back the same way.
func TestScaledMapsTheClock(t *testing.T) {
	wall := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &keepalive.Scaled{Policy: keepalive.NewFixed(10 * time.Minute), From: wall, At: t0, K: 60}
	assert.Equal(t, t0.Add(time.Hour), s.Virtual(wall.Add(time.Minute)))
	assert.Equal(t, wall.Add(time.Minute), s.Wall(t0.Add(time.Hour)))
	assert.True(t, s.Wall(time.Time{}).IsZero(), "no prewarm stays no prewarm")
	d := s.Decide("f", wall.Add(time.Second))
	assert.Equal(t, wall.Add(11*time.Second), d.KeepUntil)
	assert.False(t, d.Prewarms())

	p := &recordingPolicy{Fixed: keepalive.NewFixed(0)}
	s = &keepalive.Scaled{Policy: p, From: wall, At: t0, K: 60}
	s.Arrival("f", wall.Add(2*time.Second))
	s.Done("f", wall.Add(3*time.Second))
	s.Released("f", wall.Add(4*time.Second), keepalive.Evicted)
	s.Victim(wall.Add(5*time.Second), []keepalive.Candidate{{Fn: "f", IdleSince: wall.Add(3 * time.Second), ColdStart: time.Second}})
	assert.Equal(t, []time.Time{t0.Add(2 * time.Minute), t0.Add(3 * time.Minute), t0.Add(4 * time.Minute), t0.Add(5 * time.Minute)}, p.times)
	assert.Equal(t, t0.Add(3*time.Minute), p.victims[0].IdleSince)
	assert.Equal(t, time.Minute, p.victims[0].ColdStart, "a cold start costs K times more in the trace's time")
}

// recordingPolicy records the times it is told.
type recordingPolicy struct {
	*keepalive.Fixed
	times   []time.Time
	victims []keepalive.Candidate
}

func (r *recordingPolicy) Arrival(_ string, t time.Time) { r.times = append(r.times, t) }
func (r *recordingPolicy) Done(_ string, t time.Time)    { r.times = append(r.times, t) }
func (r *recordingPolicy) Released(_ string, t time.Time, _ keepalive.Release) {
	r.times = append(r.times, t)
}
func (r *recordingPolicy) Victim(now time.Time, idle []keepalive.Candidate) int {
	r.times = append(r.times, now)
	r.victims = append(r.victims, idle...)
	return 0
}
