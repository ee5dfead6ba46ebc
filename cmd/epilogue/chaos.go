package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/epilogue-dev/epilogue/chaos"
	"github.com/epilogue-dev/epilogue/chaos/report"
	"github.com/epilogue-dev/epilogue/internal/cli"
)

const chaosUsage = `Usage: epilogue chaos [flags]

Runs the consistency fault-injection suite: every workload (ack-write,
fanout, interference, telemetry) under every fault (reclaim right after the
response, idle removal, eviction, SIGKILL of a lingering container, a proxy
crash, a restart of epilogue-shim (docker), Redis latency, stalls and
resets, the deadline), under stock OpenWhisk semantics (vanilla),
Epilogue's, and durable (ack-write through a durable task, with the
standalone's recoverer; it adds two faults only a recovery makes up for: a
crash and restart of the whole standalone, a restart of Redis from its
AOF), against epilogue standalone and a real redis-server it starts. It
counts what was acknowledged, what persisted, and what was lost silently
(acknowledged, never written, and not reported failed or expired); under
durable also what was recovered, what was not, and the time to recovery.

It exits 1 when Epilogue lost anything silently or let a leftover interfere,
when a durable task's acknowledged write did not land exactly once, or the
harness failed; vanilla is expected to lose.

  epilogue chaos --short                       # the CI-sized matrix, process backend
  epilogue chaos --backend both --report DIR   # the full matrix and a Markdown/SVG report
  epilogue chaos --seed 7 --semantics vanilla --workload ack-write --fault eviction   # replay one scenario
  epilogue chaos --short --semantics durable   # durable tasks only: recovered, unrecovered, time to recovery
  epilogue chaos --render docs/report          # redraw a report's tables and charts from its results.json, running nothing

Flags:
`

// chaosOptions is the parsed command line.
type chaosOptions struct {
	backends []string
	cfg      chaos.Config
	json     bool
	report   string
	// render is a report directory to draw again from its results.json.
	render string
}

// listFlag is a comma-separated or repeated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func parseChaosArgs(args []string, stderr io.Writer) (chaosOptions, error) {
	fs := cli.NewFlagSet("epilogue chaos", chaosUsage, stderr)
	backend := fs.String("backend", chaos.BackendProcess, "process, docker or both")
	semantics := fs.String("semantics", "all", "vanilla, epilogue, durable, a comma-separated list of them, both (vanilla and epilogue) or all")
	duration := fs.Duration("duration", chaos.DefaultDuration, "how long each scenario of the full matrix invokes")
	slack := fs.Duration("scenario-slack", chaos.DefaultScenarioSlack, "how long a scenario may take beyond --duration (the whole of a --short one) before the run stops as overloaded")
	seed := fs.Int64("seed", chaos.DefaultSeed, "the seed of every scenario's delays and gaps (a scenario replays with the same seed)")
	short := fs.Bool("short", false, "the CI-sized matrix: every fault on ack-write, the other workloads on reclaim-after-response, 6 activations each")
	asJSON := fs.Bool("json", false, "print the results as JSON on stdout (progress goes to stderr)")
	latency := fs.Bool("latency", false, "also measure response latency against async I/O duration (on with --report)")
	reportDir := fs.String("report", "", "write a Markdown report with SVG charts into DIR")
	renderDir := fs.String("render", "", "run nothing: draw the report in DIR again from DIR/results.json (written by --report)")
	source := fs.String("source", "", "Epilogue's source tree, where the workload actions are built from (default: found from the working directory)")
	var workloads, faults listFlag
	fs.Var(&workloads, "workload", "run only this workload (repeatable, or comma-separated)")
	fs.Var(&faults, "fault", "run only this fault (repeatable, or comma-separated)")
	verbose := fs.Bool("v", false, "show the servers' logs on stderr")
	if err := fs.Parse(args); err != nil {
		return chaosOptions{}, err
	}
	if fs.NArg() > 0 {
		return chaosOptions{}, fs.Fail("unexpected argument %q", fs.Arg(0))
	}
	if *renderDir != "" {
		set := 0
		fs.Visit(func(*flag.Flag) { set++ })
		if set > 1 {
			return chaosOptions{}, fs.Fail("--render runs nothing, so it takes no other flag: drop them, or drop --render to run the suite")
		}
		return chaosOptions{render: *renderDir}, nil
	}
	o := chaosOptions{json: *asJSON, report: *reportDir, cfg: chaos.Config{
		Seed: *seed, Short: *short, Duration: *duration, ScenarioSlack: *slack, Latency: *latency || *reportDir != "",
		Workloads: workloads, Faults: faults, SourceDir: *source,
	}}
	switch *backend {
	case "both":
		o.backends = []string{chaos.BackendProcess, chaos.BackendDocker}
	case chaos.BackendProcess, chaos.BackendDocker:
		o.backends = []string{*backend}
	default:
		return chaosOptions{}, fs.Fail("--backend %q: use process, docker or both", *backend)
	}
	switch *semantics {
	case "all":
	case "both":
		o.cfg.Semantics = []string{chaos.SemanticsVanilla, chaos.SemanticsEpilogue}
	default:
		for _, sem := range strings.Split(*semantics, ",") {
			if !slices.Contains(chaos.AllSemantics, sem) {
				return chaosOptions{}, fs.Fail("--semantics %q: use vanilla, epilogue, durable, a comma-separated list of them, both or all", *semantics)
			}
			o.cfg.Semantics = append(o.cfg.Semantics, sem)
		}
	}
	if *duration <= 0 {
		return chaosOptions{}, fs.Fail("--duration must be positive")
	}
	if *slack <= 0 {
		return chaosOptions{}, fs.Fail("--scenario-slack must be positive")
	}
	if *verbose {
		o.cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return o, nil
}

func runChaos(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseChaosArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if o.render != "" {
		if err := report.Render(o.render); err != nil {
			fmt.Fprintln(stderr, "epilogue chaos:", err)
			return exitError
		}
		fmt.Fprintf(stderr, "epilogue chaos: report rendered again in %s\n", o.render)
		return exitOK
	}
	o.cfg.Progress = stdout
	if o.json {
		o.cfg.Progress = stderr
	}
	start := time.Now()
	var reports []chaos.Report
	for _, b := range o.backends {
		cfg := o.cfg
		cfg.Backend = b
		rep, err := chaos.Run(ctx, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "epilogue chaos: %s backend: %v\n", b, err)
			return exitError
		}
		reports = append(reports, rep)
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		var err error
		if len(reports) == 1 {
			err = enc.Encode(reports[0])
		} else {
			err = enc.Encode(merged(reports))
		}
		if err != nil {
			fmt.Fprintln(stderr, "epilogue chaos:", err)
			return exitError
		}
	}
	if o.report != "" {
		if err := report.Write(o.report, reports...); err != nil {
			fmt.Fprintln(stderr, "epilogue chaos:", err)
			return exitError
		}
		fmt.Fprintf(stderr, "epilogue chaos: report written to %s\n", o.report)
	}
	failures := verdict(reports)
	summary := stdout
	if o.json {
		summary = stderr
	}
	fmt.Fprintf(summary, "epilogue chaos: %d scenarios in %s; ", countScenarios(reports), time.Since(start).Round(time.Second))
	if len(failures) == 0 {
		fmt.Fprintln(summary, "under epilogue nothing was lost silently and no leftover interfered")
		return exitOK
	}
	fmt.Fprintf(summary, "%d FAILED:\n", len(failures))
	for _, f := range failures {
		fmt.Fprintln(summary, "  "+f)
	}
	return exitError
}

// merged is the JSON of a run on several backends: every scenario, and
// each backend's report.
func merged(reports []chaos.Report) any {
	var all []chaos.Result
	for _, r := range reports {
		all = append(all, r.Scenarios...)
	}
	return struct {
		Seed      int64          `json:"seed"`
		Scenarios []chaos.Result `json:"scenarios"`
		Backends  []chaos.Report `json:"backends"`
	}{reports[0].Seed, all, reports}
}

// verdict lists the scenarios that break Epilogue's promise, or whose
// harness failed, each with the command that replays it.
func verdict(reports []chaos.Report) []string {
	var out []string
	for _, rep := range reports {
		for _, r := range rep.Scenarios {
			var why []string
			if len(r.Errors) > 0 {
				why = append(why, "harness errors: "+strings.Join(r.Errors, "; "))
			}
			if r.Semantics != chaos.SemanticsVanilla && r.Lost > 0 {
				why = append(why, fmt.Sprintf("%d lost silently", r.Lost))
			}
			if r.Semantics != chaos.SemanticsVanilla && r.Interference > 0 {
				why = append(why, fmt.Sprintf("%d interfered", r.Interference))
			}
			if r.Unrecovered > 0 {
				why = append(why, fmt.Sprintf("%d durable tasks unrecovered", r.Unrecovered))
			}
			if r.Duplicated > 0 {
				why = append(why, fmt.Sprintf("%d durable writes landed twice", r.Duplicated))
			}
			if len(why) > 0 {
				out = append(out, fmt.Sprintf("%s/%s/%s/%s: %s (replay: %s)", r.Backend, r.Semantics, r.Workload, r.Fault, strings.Join(why, ", "), r.Replay()))
			}
		}
	}
	return out
}

func countScenarios(reports []chaos.Report) int {
	n := 0
	for _, r := range reports {
		n += len(r.Scenarios)
	}
	return n
}
