package keepalive

import "time"

// The forecasting policies keep no state per instance: an action's idle
// times and arrivals are what they learn from, and a release changes
// neither. (Their files belong to the forecaster's work; these stay here.)

func (*Histogram) Released(string, time.Time, Release) {}
func (*Seasonal) Released(string, time.Time, Release)  {}
