package benchstat

import (
	"fmt"
	"slices"
	"time"
)

// Stats summarises one mode: how many requests were measured, how many
// failed, how long the measured phase took and the latency distribution of
// the successful requests.
type Stats struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	ElapsedS float64 `json:"elapsed_s"`
	// ReqPerS is Requests / ElapsedS: the sequential client's throughput.
	ReqPerS float64 `json:"req_per_s"`
	// Latencies in microseconds. Percentiles use the sorted samples at index
	// ⌊(n−1)·p⌋, as upstream's throughput figures were taken.
	MinUs  float64 `json:"min_us"`
	P50Us  float64 `json:"p50_us"`
	P90Us  float64 `json:"p90_us"`
	P99Us  float64 `json:"p99_us"`
	MaxUs  float64 `json:"max_us"`
	MeanUs float64 `json:"mean_us"`
	// Samples is how many latencies the percentiles are taken from (the
	// successful requests).
	Samples int `json:"samples"`
}

// PercentileIndex is ⌊(n−1)·num/den⌋ in integer arithmetic, so that no
// floating-point rounding moves an index (e.g. 0.29·100 = 28.999…).
func PercentileIndex(n, num, den int) int {
	if n <= 0 {
		return 0
	}
	return (n - 1) * num / den
}

// Summarize computes Stats for requests attempts, errs of them failed, in
// elapsed, with the latencies of the successful ones. samples is sorted in
// place.
func Summarize(requests, errs int, elapsed time.Duration, samples []time.Duration) Stats {
	s := Stats{Requests: requests, Errors: errs, ElapsedS: elapsed.Seconds(), Samples: len(samples)}
	if elapsed > 0 {
		s.ReqPerS = float64(requests) / elapsed.Seconds()
	}
	if len(samples) == 0 {
		return s
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	n := len(samples)
	s.MinUs = Micros(samples[0])
	s.P50Us = Micros(samples[PercentileIndex(n, 50, 100)])
	s.P90Us = Micros(samples[PercentileIndex(n, 90, 100)])
	s.P99Us = Micros(samples[PercentileIndex(n, 99, 100)])
	s.MaxUs = Micros(samples[n-1])
	s.MeanUs = Micros(sum / time.Duration(n))
	return s
}

// Micros is d in microseconds.
func Micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// FormatMicros renders microseconds as the tables show them: "301 µs"
// below 1 ms, "5.65 ms" from there on.
func FormatMicros(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f ms", v/1000)
	}
	return fmt.Sprintf("%.0f µs", v)
}

// Ratio returns a/b, or 0 when b is 0.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Comparison compares a to b: ratios above 1 mean a is slower (latency) or
// faster (throughput).
type Comparison struct {
	P50Ratio        float64 `json:"p50_ratio"`
	P50DeltaUs      float64 `json:"p50_delta_us"`
	P99Ratio        float64 `json:"p99_ratio"`
	P99DeltaUs      float64 `json:"p99_delta_us"`
	ThroughputRatio float64 `json:"throughput_ratio"`
}

// Compare compares a to b.
func Compare(a, b Stats) Comparison {
	return Comparison{
		P50Ratio: Ratio(a.P50Us, b.P50Us), P50DeltaUs: a.P50Us - b.P50Us,
		P99Ratio: Ratio(a.P99Us, b.P99Us), P99DeltaUs: a.P99Us - b.P99Us,
		ThroughputRatio: Ratio(a.ReqPerS, b.ReqPerS),
	}
}
