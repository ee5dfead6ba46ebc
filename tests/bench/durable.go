package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/epilogue-dev/epilogue/durable"
	"github.com/epilogue-dev/epilogue/internal/redisserver"
	"github.com/epilogue-dev/epilogue/tests/bench/benchstat"
)

// durableTargetMicros is the goal for what a durable intent adds to the
// response against sdk.Go, at p50.
const durableTargetMicros = 500

// checkpointSizes are the checkpoint state sizes measured, in bytes.
var checkpointSizes = []int{1 << 10, 64 << 10, 1 << 20}

// checkpointBudget caps the bytes written per size (every checkpoint is
// fsynced to the AOF): the 1 MiB row takes fewer samples than the 1 KiB one.
const checkpointBudget = 256 << 20

// durableBench is the durable tasks' measurement: the response cost of
// storing an intent (sdk.Start) against starting tracked work (sdk.Go), and
// the latency of a checkpoint against its state's size, on a loopback
// redis-server with the store's recommended persistence (appendonly yes,
// appendfsync always: every write fsynced before Redis answers).
type durableBench struct {
	Criterion    string  `json:"criterion"`
	TargetMicros float64 `json:"targetMicros"`
	// Response compares POST /run of the SDK action starting a durable task
	// with the same action starting one sdk.Go (keep-alive, run + await,
	// the run's latency).
	Response benchstat.Comparison `json:"response"`
	// P50DeltaMicros is Response's p50 delta; Pass: within the target.
	P50DeltaMicros float64           `json:"p50DeltaMicros"`
	Pass           bool              `json:"pass"`
	Checkpoints    []checkpointStats `json:"checkpoints"`
}

// checkpointStats is the latency of durable.Store.Checkpoint at one size.
type checkpointStats struct {
	Bytes int `json:"bytes"`
	benchstat.Stats
}

const durableCriterion = "p50 of POST /run, SDK action starting one durable task (sdk.Start, intent fsynced to the AOF) − " +
	"the same action starting one sdk.Go, ≤ targetMicros (keep-alive, run + await, interleaved blocks); informational beside the SDK's verdict"

// durableModes measures the durable tasks beside sdk.Go, then checkpoints.
func (b *bencher) durableModes(ctx context.Context, bin string, sdkAction []byte, n, block int) (*durableBench, []keyedMode, error) {
	dir, err := os.MkdirTemp("", "epilogue-bench-redis-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	srv, err := redisserver.StartDurable("127.0.0.1", dir)
	if err != nil {
		return nil, nil, err
	}
	defer srv.Stop()

	startValue, err := json.Marshal(map[string]any{"name": "bench", "quiet": true, "durable": true, durable.EnvRedis: srv.Addr()})
	if err != nil {
		return nil, nil, err
	}
	targets := []target{
		{key: "durable_sdk_go", label: "SDK + sdk.Go, run → done (run + await)", tracking: "on", action: sdkAction, n: n, val: workValue,
			phases: []string{"responded", "done"}, conns: []string{keepAlive}, awaitEach: true},
		{key: "durable_start", label: "SDK + durable task (sdk.Start), run → done", tracking: "on", action: sdkAction, n: n, val: startValue,
			phases: []string{"responded", "done"}, conns: []string{keepAlive}, awaitEach: true},
	}
	rows, err := b.runGroup(ctx, bin, targets, false, block, nil)
	if err != nil {
		return nil, rows, err
	}
	modes := map[string]*modeResult{}
	for _, r := range rows {
		modes[r.key] = r.m
	}
	start, sdkGo := modes["durable_start_run_only"], modes["durable_sdk_go_run_only"]
	if start == nil || sdkGo == nil {
		return nil, rows, fmt.Errorf("durable: the run-only rows are missing (have %d rows)", len(rows))
	}
	d := &durableBench{Criterion: durableCriterion, TargetMicros: durableTargetMicros, Response: benchstat.Compare(start.Stats, sdkGo.Stats)}
	d.P50DeltaMicros = d.Response.P50DeltaUs
	d.Pass = d.P50DeltaMicros <= durableTargetMicros
	if d.Checkpoints, err = measureCheckpoints(ctx, srv.Addr(), n, b.timeout); err != nil {
		return d, rows, fmt.Errorf("checkpoints: %w", err)
	}
	return d, rows, nil
}

// measureCheckpoints times durable.Store.Checkpoint of one intent at each
// size: one round trip to Redis, and its fsync.
func measureCheckpoints(ctx context.Context, addr string, n int, timeout time.Duration) ([]checkpointStats, error) {
	st, err := durable.Open(addr)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	actx, cancel := context.WithTimeout(ctx, timeout)
	id, err := st.Append(actx, durable.Intent{Task: "bench", Action: "/guest/bench", Payload: json.RawMessage(`{}`), Attempts: 1}, "bench")
	cancel()
	if err != nil {
		return nil, err
	}
	var out []checkpointStats
	for _, size := range checkpointSizes {
		state := json.RawMessage(`"` + strings.Repeat("x", size-2) + `"`)
		count := min(n, max(checkpointBudget/size, 10))
		samples := make([]time.Duration, 0, count)
		var elapsed time.Duration
		for range count {
			cctx, cancel := context.WithTimeout(ctx, timeout)
			t0 := time.Now()
			err := st.Checkpoint(cctx, id, state)
			lat := time.Since(t0)
			cancel()
			if err != nil {
				return out, fmt.Errorf("%d bytes: %w", size, err)
			}
			samples, elapsed = append(samples, lat), elapsed+lat
		}
		out = append(out, checkpointStats{Bytes: size, Stats: benchstat.Summarize(count, 0, elapsed, samples)})
	}
	return out, nil
}

// printDurable prints the durable tasks' rows.
func printDurable(w io.Writer, d *durableBench) {
	r := d.Response
	fmt.Fprintf(w, "\nDurable tasks (loopback redis-server, appendonly yes, appendfsync always):\n")
	fmt.Fprintf(w, "response: sdk.Start vs sdk.Go p50 %+.0f µs (%.2f×), p99 %+.0f µs (%.2f×); goal ≤ %.0f µs at p50: %s\n",
		r.P50DeltaUs, r.P50Ratio, r.P99DeltaUs, r.P99Ratio, d.TargetMicros, passFail(d.Pass))
	fmt.Fprintf(w, "%-12s %9s %9s %9s %9s\n", "checkpoint", "samples", "p50", "p99", "max")
	for _, c := range d.Checkpoints {
		fmt.Fprintf(w, "%-12s %9d %9s %9s %9s\n", formatBytes(c.Bytes), c.Requests,
			benchstat.FormatMicros(c.P50Us), benchstat.FormatMicros(c.P99Us), benchstat.FormatMicros(c.MaxUs))
	}
}

func formatBytes(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
