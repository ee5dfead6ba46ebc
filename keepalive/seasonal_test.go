package keepalive_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/keepalive"
)

// feedWeekdays calls f every 5 minutes from from to until (hours of the
// day) on weekdays, never on weekends, for the given days from t0 (a
// Monday), and returns the last done.
func feedWeekdays(s *keepalive.Seasonal, days int, from, until int) time.Time {
	var last time.Time
	for d := range days {
		day := t0.AddDate(0, 0, d)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for m := from * 60; m < until*60; m += 5 {
			at := day.Add(time.Duration(m) * time.Minute)
			s.Arrival("f", at)
			last = at.Add(time.Second)
			s.Done("f", last)
		}
	}
	return last
}

// TestSeasonalWeeklyCatchesTheWeekend: an action busy on weekdays and idle
// on weekends. With daily terms only, the fit sees an average day and
// predicts every day alike: the weekend's busy hours come out active. With
// two weeks of history or more the weekly terms tell the weekend apart:
// over the following week, few quarter-hours are predicted wrong (at the
// windows' edges), whichever weekday the history ends on.
func TestSeasonalWeeklyCatchesTheWeekend(t *testing.T) {
	tests := []struct {
		name        string
		from, until int // the weekdays' busy hours
		maxWrong    int // of the week's 672 quarter-hours, with weekly terms
	}{
		{"all day", 0, 24, 10},
		{"08–20", 8, 20, 12},
		// A narrow window: the weekend's daily peak is large against the
		// weekly terms that must cancel it, and five harmonics of the
		// step leave some of it (up to 43 quarter-hours); daily only gets
		// the whole weekend's window wrong (64).
		{"09–17", 9, 17, 48},
	}
	for _, tt := range tests {
		for days := 15; days <= 28; days++ {
			t.Run(fmt.Sprintf("%s, %d days", tt.name, days), func(t *testing.T) {
				wrong := map[bool]int{}
				for _, weekly := range []bool{true, false} {
					cfg := keepalive.SeasonalConfig{}
					if !weekly {
						cfg.WeeklyOrder = -1
					}
					s := keepalive.NewSeasonal(cfg)
					feedWeekdays(s, days, tt.from, tt.until)
					// An arrival closes the history's last bucket.
					s.Arrival("f", t0.AddDate(0, 0, days))
					require.Equal(t, weekly, s.Weekly("f"))
					for q := range 7 * 24 * 4 {
						at := t0.AddDate(0, 0, 28).Add(time.Duration(q) * 15 * time.Minute)
						active, fitted := s.Active("f", at)
						require.True(t, fitted)
						weekday := at.Weekday() != time.Saturday && at.Weekday() != time.Sunday
						if active != (weekday && at.Hour() >= tt.from && at.Hour() < tt.until) {
							wrong[weekly]++
						}
					}
				}
				assert.LessOrEqual(t, wrong[true], tt.maxWrong)
				weekend := 2 * (tt.until - tt.from) * 4
				assert.GreaterOrEqual(t, wrong[false], weekend, "daily only: the weekend's window is predicted active")
				assert.Less(t, wrong[true], wrong[false])
			})
		}
	}
}

// TestSeasonalWeeklyNeedsTwoWeeks: under two weeks of history the fit is
// daily only (Prophet's rule: too few weekends to tell), so the weekend
// looks like any day.
func TestSeasonalWeeklyNeedsTwoWeeks(t *testing.T) {
	s := keepalive.NewSeasonal(keepalive.SeasonalConfig{})
	feedWeekdays(s, 13, 0, 24)
	s.Arrival("f", t0.AddDate(0, 0, 13))
	assert.False(t, s.Weekly("f"))
	active, fitted := s.Active("f", t0.AddDate(0, 0, 19).Add(12*time.Hour))
	require.True(t, fitted)
	assert.True(t, active, "a Saturday, predicted like a weekday")
	s.Arrival("f", t0.AddDate(0, 0, 14).Add(time.Hour))
	assert.True(t, s.Weekly("f"), "two weeks since the first call")
}

// TestSeasonalWeeklyRidgeDampsAnOutage: an action busy 08–20 every day,
// but silent on the first Wednesday and Thursday (an outage), with just
// over two weeks of history. The weekly terms take the outage for a
// weekly pattern; their ridge shrinks it, so fewer of the next week's
// quarter-hours are predicted wrong than without it.
func TestSeasonalWeeklyRidgeDampsAnOutage(t *testing.T) {
	wrong := func(ridge float64) int {
		s := keepalive.NewSeasonal(keepalive.SeasonalConfig{WeeklyRidge: ridge})
		for d := range 15 {
			if d == 2 || d == 3 {
				continue
			}
			for m := 8 * 60; m < 20*60; m += 5 {
				s.Arrival("f", t0.AddDate(0, 0, d).Add(time.Duration(m)*time.Minute))
			}
		}
		s.Arrival("f", t0.AddDate(0, 0, 15))
		require.True(t, s.Weekly("f"))
		n := 0
		for q := range 7 * 24 * 4 {
			at := t0.AddDate(0, 0, 21).Add(time.Duration(q) * 15 * time.Minute)
			active, _ := s.Active("f", at)
			if active != (at.Hour() >= 8 && at.Hour() < 20) {
				n++
			}
		}
		return n
	}
	without, with := wrong(1e-9), wrong(0)
	t.Logf("quarter-hours wrong: %d without the ridge, %d with", without, with)
	assert.Less(t, with, without)
}

// TestSeasonalWeeklyPrewarmsForMonday: on Friday evening after a busy
// weekday, the weekly fit releases the instance and prewarms it for Monday;
// the daily-only fit keeps it (it predicts Saturday like any day).
func TestSeasonalWeeklyPrewarmsForMonday(t *testing.T) {
	friday := t0.AddDate(0, 0, 18) // the third Friday
	for _, weekly := range []bool{true, false} {
		cfg := keepalive.SeasonalConfig{}
		if !weekly {
			cfg.WeeklyOrder = -1
		}
		s := keepalive.NewSeasonal(cfg)
		last := feedWeekdays(s, 19, 8, 20)
		require.Equal(t, friday.Add(20*time.Hour-5*time.Minute+time.Second), last)
		d := s.Decide("f", friday.Add(21*time.Hour))
		if !weekly {
			assert.True(t, d.Prewarms(), "daily only: a prewarm for Saturday morning, %+v", d)
			assert.WithinDuration(t, friday.AddDate(0, 0, 1).Add(8*time.Hour), d.PrewarmAt, 30*time.Minute)
			continue
		}
		require.True(t, d.Prewarms(), "%+v", d)
		monday := friday.AddDate(0, 0, 3).Add(8 * time.Hour)
		assert.WithinDuration(t, monday, d.PrewarmAt, 2*time.Hour, "prewarmed for Monday's first calls, not Saturday's")
		assert.True(t, d.PrewarmAt.Before(monday.Add(time.Minute)))
	}
}

// TestFourierRidgeShrinks: with whole periods the terms are orthogonal, so
// the ridge shrinks a coefficient by exactly (n/2) / (n/2 + ridge): less as
// the history grows.
func TestFourierRidgeShrinks(t *testing.T) {
	for _, periods := range []int{2, 10, 100} {
		f := keepalive.NewFourier(keepalive.Seasonality{Period: 8, Order: 1, Ridge: 6})
		for x := range 8 * periods {
			f.Add(float64(x), f.Predict([]float64{1, 0.5, -0.25}, float64(x)))
		}
		coef, err := f.Fit()
		require.NoError(t, err)
		half := float64(8*periods) / 2
		shrink := half / (half + 6)
		assert.InDelta(t, 1, coef[0], 1e-9, "the intercept is not shrunk")
		assert.InDelta(t, 0.5*shrink, coef[1], 1e-9)
		assert.InDelta(t, -0.25*shrink, coef[2], 1e-9)
	}
}
