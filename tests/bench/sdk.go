package main

import (
	"fmt"
	"io"

	"github.com/epilogue-dev/epilogue/tests/bench/benchstat"
)

// sdkTracking is the SDK's completion-tracking measurement: the per-activation cost of
// completion tracking for an action written with the SDK, against the same
// binary without it (under a proxy started without OW_WAIT_FOR_ACK the SDK
// speaks the plain upstream protocol: done at the response, nothing
// tracked). Latencies and deltas are in µs.
type sdkTracking struct {
	Criterion    string  `json:"criterion"`
	TargetMicros float64 `json:"targetMicros"`
	// P50DeltaMicros is the larger of the two connection modes' p50 deltas:
	// what the verdict is on.
	P50DeltaMicros float64  `json:"p50DeltaMicros"`
	Pass           bool     `json:"pass"`
	KeepAlive      sdkDelta `json:"keepAlive"`
	NewConnection  sdkDelta `json:"newConnection"`
	// WithTrackedGo: tracking on, one tracked sdk.Go per activation.
	WithTrackedGo *sdkWork `json:"withOneTrackedGo,omitempty"`
}

// sdkDelta compares tracking on with tracking off for one connection mode.
type sdkDelta struct {
	OnP50Micros     float64 `json:"onP50Micros"`
	OffP50Micros    float64 `json:"offP50Micros"`
	P50DeltaMicros  float64 `json:"p50DeltaMicros"`
	P50Ratio        float64 `json:"p50Ratio"`
	OnP99Micros     float64 `json:"onP99Micros"`
	OffP99Micros    float64 `json:"offP99Micros"`
	P99DeltaMicros  float64 `json:"p99DeltaMicros"`
	P99Ratio        float64 `json:"p99Ratio"`
	ThroughputRatio float64 `json:"throughputRatio"`
	// CPU time per activation, on − off (10 ms ticks summed over the mode).
	ActionCPUDeltaMicros float64 `json:"actionCpuDeltaMicros"`
	ProxyCPUDeltaMicros  float64 `json:"proxyCpuDeltaMicros"`
	// Pass: the p50 delta is within the target.
	Pass bool `json:"pass"`
	// P99WithinTarget is for information: p99 is noisy on a shared machine.
	P99WithinTarget bool `json:"p99WithinTarget"`
}

// sdkWork describes the run + await loop with one tracked sdk.Go per
// activation (keep-alive).
type sdkWork struct {
	Activations  int     `json:"activations"`
	RunP50Micros float64 `json:"runP50Micros"`
	RunP99Micros float64 `json:"runP99Micros"`
	// Run alone against the SDK action's keep-alive modes without work:
	// tracking off (the whole cost of tracking this activation's work) and
	// tracking on (what the sdk.Go adds).
	RunP50DeltaVsOffMicros float64 `json:"runP50DeltaVsOffMicros"`
	RunP99DeltaVsOffMicros float64 `json:"runP99DeltaVsOffMicros"`
	RunP50DeltaVsOnMicros  float64 `json:"runP50DeltaVsOnMicros"`
	// RunP50WithinTarget is for information: the verdict is on the modes without work.
	RunP50WithinTarget bool    `json:"runP50WithinTarget"`
	AwaitP50Micros     float64 `json:"awaitP50Micros"`
	AwaitP99Micros     float64 `json:"awaitP99Micros"`
	// Await alone against the fixture's await with nothing pending (a
	// separate, later loop of the same shape).
	AwaitP50DeltaVsNothingPendingMicros float64 `json:"awaitP50DeltaVsNothingPendingMicros,omitempty"`
	// RunToDone: from sending /run until /epilogue/await has answered done.
	RunToDoneP50Micros float64 `json:"runToDoneP50Micros"`
	RunToDoneP99Micros float64 `json:"runToDoneP99Micros"`
	// PostResponse: response → done as the proxy recorded it (postResponseMs).
	PostResponseP50Micros float64 `json:"postResponseP50Micros"`
	PostResponseP99Micros float64 `json:"postResponseP99Micros"`
	PostResponseMaxMicros float64 `json:"postResponseMaxMicros"`
	// How the /run responses found the activation: already done (the
	// sdk.Go ended before the response) or responded (a done frame followed).
	DoneAtResponse    int `json:"doneAtResponse"`
	RespondedThenDone int `json:"respondedThenDone"`
	// CPU time per activation against tracking off (keep-alive), µs.
	ActionCPUDeltaVsOffMicros float64 `json:"actionCpuDeltaVsOffMicros"`
	ProxyCPUDeltaVsOffMicros  float64 `json:"proxyCpuDeltaVsOffMicros"`
}

const sdkCriterion = "p50 of POST /run, SDK action with tracking on − the same binary with tracking off, " +
	"≤ targetMicros in both connection modes (one sequential client, interleaved blocks); p99 deltas are reported, not judged"

// sdkVerdict computes the SDK's tracking cost from the SDK modes.
func sdkVerdict(modes map[string]*modeResult) *sdkTracking {
	delta := func(on, off *modeResult) sdkDelta {
		if on == nil || off == nil {
			return sdkDelta{} // a mode -conns left out
		}
		c := benchstat.Compare(on.Stats, off.Stats)
		d := sdkDelta{
			OnP50Micros: on.P50Us, OffP50Micros: off.P50Us, P50DeltaMicros: c.P50DeltaUs, P50Ratio: c.P50Ratio,
			OnP99Micros: on.P99Us, OffP99Micros: off.P99Us, P99DeltaMicros: c.P99DeltaUs, P99Ratio: c.P99Ratio,
			ThroughputRatio: c.ThroughputRatio,
			Pass:            c.P50DeltaUs <= sdkTargetMicros, P99WithinTarget: c.P99DeltaUs <= sdkTargetMicros,
		}
		if on.CPU != nil && off.CPU != nil {
			d.ActionCPUDeltaMicros = on.CPU.Action - off.CPU.Action
			d.ProxyCPUDeltaMicros = on.CPU.Proxy - off.CPU.Proxy
		}
		return d
	}
	t := &sdkTracking{
		Criterion: sdkCriterion, TargetMicros: sdkTargetMicros,
		KeepAlive:     delta(modes["sdk_tracking_on_keepalive"], modes["sdk_tracking_off_keepalive"]),
		NewConnection: delta(modes["sdk_tracking_on_newconn"], modes["sdk_tracking_off_newconn"]),
	}
	t.P50DeltaMicros = max(t.KeepAlive.P50DeltaMicros, t.NewConnection.P50DeltaMicros)
	t.Pass = t.KeepAlive.Pass && t.NewConnection.Pass

	pair, run, aw := modes["sdk_work"], modes["sdk_work_run_only"], modes["sdk_work_await_only"]
	if pair == nil || run == nil || aw == nil {
		return t
	}
	off, on := modes["sdk_tracking_off_keepalive"], modes["sdk_tracking_on_keepalive"]
	w := &sdkWork{
		Activations:  pair.Requests,
		RunP50Micros: run.P50Us, RunP99Micros: run.P99Us,
		RunP50DeltaVsOffMicros: run.P50Us - off.P50Us, RunP99DeltaVsOffMicros: run.P99Us - off.P99Us,
		RunP50DeltaVsOnMicros: run.P50Us - on.P50Us,
		RunP50WithinTarget:    run.P50Us-off.P50Us <= sdkTargetMicros,
		AwaitP50Micros:        aw.P50Us, AwaitP99Micros: aw.P99Us,
		RunToDoneP50Micros: pair.P50Us, RunToDoneP99Micros: pair.P99Us,
		DoneAtResponse: pair.PhaseAtRun["done"], RespondedThenDone: pair.PhaseAtRun["responded"],
	}
	if nothing := modes["await_await_only"]; nothing != nil {
		w.AwaitP50DeltaVsNothingPendingMicros = aw.P50Us - nothing.P50Us
	}
	if pr := pair.PostResponse; pr != nil {
		w.PostResponseP50Micros, w.PostResponseP99Micros, w.PostResponseMaxMicros = pr.P50Us, pr.P99Us, pr.MaxUs
	}
	if pair.CPU != nil && off.CPU != nil {
		w.ActionCPUDeltaVsOffMicros = pair.CPU.Action - off.CPU.Action
		w.ProxyCPUDeltaVsOffMicros = pair.CPU.Proxy - off.CPU.Proxy
	}
	t.WithTrackedGo = w
	return t
}

// printSDK prints the SDK's tracking cost and its verdict.
func printSDK(w io.Writer, t *sdkTracking) {
	fmt.Fprintf(w, "\nSDK completion tracking: added per activation, SDK action tracking on − off (same binary), target ≤ %s at p50:\n",
		benchstat.FormatMicros(t.TargetMicros))
	fmt.Fprintf(w, "%-16s %9s %9s %9s %7s %9s %9s %9s %7s %11s %11s %8s\n", "connection",
		"on p50", "off p50", "Δ p50", "ratio", "on p99", "off p99", "Δ p99", "ratio", "action CPU", "proxy CPU", "p50")
	row := func(conn string, d sdkDelta) {
		fmt.Fprintf(w, "%-16s %9s %9s %+6.0f µs %6.2f× %9s %9s %+6.0f µs %6.2f× %+8.1f µs %+8.1f µs %8s\n", conn,
			benchstat.FormatMicros(d.OnP50Micros), benchstat.FormatMicros(d.OffP50Micros), d.P50DeltaMicros, d.P50Ratio,
			benchstat.FormatMicros(d.OnP99Micros), benchstat.FormatMicros(d.OffP99Micros), d.P99DeltaMicros, d.P99Ratio,
			d.ActionCPUDeltaMicros, d.ProxyCPUDeltaMicros, passFail(d.Pass))
	}
	row(keepAlive, t.KeepAlive)
	row(newConn, t.NewConnection)
	if g := t.WithTrackedGo; g != nil {
		fmt.Fprintf(w, "with one tracked sdk.Go per activation (keep-alive, %d activations):\n", g.Activations)
		fmt.Fprintf(w, "  run alone p50 %s, p99 %s: %+.0f µs p50 / %+.0f µs p99 vs tracking off, %+.0f µs p50 vs tracking on without work\n",
			benchstat.FormatMicros(g.RunP50Micros), benchstat.FormatMicros(g.RunP99Micros), g.RunP50DeltaVsOffMicros, g.RunP99DeltaVsOffMicros, g.RunP50DeltaVsOnMicros)
		fmt.Fprintf(w, "  await alone p50 %s, p99 %s (%+.0f µs p50 vs the fixture's await with nothing pending); run → done p50 %s, p99 %s\n",
			benchstat.FormatMicros(g.AwaitP50Micros), benchstat.FormatMicros(g.AwaitP99Micros), g.AwaitP50DeltaVsNothingPendingMicros,
			benchstat.FormatMicros(g.RunToDoneP50Micros), benchstat.FormatMicros(g.RunToDoneP99Micros))
		fmt.Fprintf(w, "  response → done at the proxy p50 %s, p99 %s, max %s; %d responses already done, %d done after;\n  CPU per activation vs tracking off (the await request included): action %+.1f µs, proxy %+.1f µs\n",
			benchstat.FormatMicros(g.PostResponseP50Micros), benchstat.FormatMicros(g.PostResponseP99Micros), benchstat.FormatMicros(g.PostResponseMaxMicros),
			g.DoneAtResponse, g.RespondedThenDone, g.ActionCPUDeltaVsOffMicros, g.ProxyCPUDeltaVsOffMicros)
	}
	fmt.Fprintf(w, "verdict: %s: p50 added %+.0f µs keep-alive, %+.0f µs new-connection, target ≤ %.0f µs (the paper's /await: 8 ms warm, 25 ms cold)\n",
		passFail(t.Pass), t.KeepAlive.P50DeltaMicros, t.NewConnection.P50DeltaMicros, t.TargetMicros)
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}
