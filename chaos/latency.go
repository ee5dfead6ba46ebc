package chaos

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/epilogue-dev/epilogue/internal/ctxtime"
	"github.com/epilogue-dev/epilogue/reclaim"
)

// asyncDurationsMs are the async I/O durations of the latency sweep.
var asyncDurationsMs = []int{0, 50, 100, 200, 300, 500}

// Samples per point of the sweep.
const (
	latencySamples      = 20
	shortLatencySamples = 3
	// settleMs is added to the I/O before the next sample, so that the
	// container is free again and the next sample is warm.
	settleMs = 100
)

// latencySweep measures the response latency (as the client of a blocking
// invoke sees it) of warm activations against how long their async I/O
// takes, in three modes: vanilla (answers at once, the work after it is
// at risk), respond-after-all (the paper's Approach 1: the write happens
// before the answer) and epilogue (answers at once, the work is safe).
func (e *env) latencySweep(ctx context.Context) ([]LatencyPoint, error) {
	samples := latencySamples
	if e.cfg.Short {
		samples = shortLatencySamples
	}
	var points []LatencyPoint
	for _, mode := range []string{ModeVanilla, ModeRespondAfterAll, ModeEpilogue} {
		s := newScenario(e, SemanticsVanilla, cell{WorkloadAckWrite, "latency-" + mode})
		if mode == ModeEpilogue {
			s.pool.Policy = reclaim.Epilogue
		}
		if err := s.start(ctx); err != nil {
			return nil, fmt.Errorf("latency sweep, %s: %w", mode, err)
		}
		pts, err := s.sweep(ctx, mode, samples)
		if err = errors.Join(err, s.shutdown()); err != nil {
			return nil, fmt.Errorf("latency sweep, %s: %w", mode, err)
		}
		points = append(points, pts...)
	}
	return points, nil
}

// sweep measures one mode.
func (s *scenario) sweep(ctx context.Context, mode string, samples int) ([]LatencyPoint, error) {
	n := 0
	invoke := func(asyncMs int) (time.Duration, error) {
		params := workloads[WorkloadAckWrite].params(s, fmt.Sprintf("%s.latency.%d", mode, n), asyncMs)
		params["sync"] = mode == ModeRespondAfterAll
		n++
		start := time.Now()
		_, ack, err := s.invoke(ctx, s.actions[0], params)
		rtt := time.Since(start)
		if err == nil && !ack {
			err = errors.New("the activation did not answer success")
		}
		if err != nil {
			return 0, err
		}
		return rtt, ctxtime.Sleep(ctx, time.Duration(asyncMs+settleMs)*time.Millisecond)
	}
	if _, err := invoke(0); err != nil { // the cold start
		return nil, err
	}
	var points []LatencyPoint
	for _, asyncMs := range asyncDurationsMs {
		var lat []float64
		for range samples {
			rtt, err := invoke(asyncMs)
			if err != nil {
				return nil, err
			}
			lat = append(lat, ms(rtt))
		}
		slices.Sort(lat)
		points = append(points, LatencyPoint{Mode: mode, AsyncMs: asyncMs, Samples: len(lat),
			P50Ms: percentile(lat, 50), P99Ms: percentile(lat, 99)})
	}
	return points, nil
}

// percentile of sorted samples, at index ⌊(n−1)·p/100⌋.
func percentile(sorted []float64, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}
