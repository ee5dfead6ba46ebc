// Package benchstat is what every `make bench` command reports the same
// way: latency percentiles over a run's samples (Summarize), same-run
// comparisons of two distributions (Compare), the machine the numbers come
// from (DescribeMachine) and the JSON file they are written to (WriteJSON).
//
// It does not own how samples are taken (each command's loop, schedule and
// checks) nor how they are printed beyond FormatMicros.
package benchstat
