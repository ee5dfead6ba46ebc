package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/epilogue-dev/epilogue/internal/cli"
	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/replay"
	"github.com/epilogue-dev/epilogue/replay/live"
)

const replayUsage = `Usage: epilogue replay [flags] DIR
       epilogue replay --synthetic [--seed N] [--days D] [flags]

Replays a trace against keep-alive policies on a virtual clock (days of
trace in seconds) and compares them: cold-start ratio (overall and for the
75th-percentile application), wasted memory-seconds of idle instances
(against fixed), prewarm accuracy over 5-minute buckets, and the share of
instance time spent lingering (post-response work: idle time runs from
done). Policies: fixed (OpenWhisk's 10 min), histogram (Shahrad et al.'s
hybrid histogram, ARIMA beyond 4 h), seasonal (a Fourier forecast of
5-minute buckets, weekly terms after two weeks),
greedydual (FaasCache's eviction).

DIR holds the Azure Functions 2019 dataset's files
(invocations_per_function_md.anon.dNN.csv and, optionally,
function_durations_percentiles.anon.dNN.csv and
app_memory_percentiles.anon.dNN.csv). --synthetic generates a seeded trace
in that format instead (--write DIR keeps it).

--live replays the trace instead against the real standalone pool on the
process backend (epilogue-proxy processes, an action that runs and lingers
each call's times), --speedup times faster than the trace: the same
policies, under the pool, decide in trace time. It keeps what fits the
machine: the first --live-functions functions with calls in the first
--live-minutes of the trace, and refuses a trace too dense for the
speed-up. The results have the same shape.

  epilogue replay --synthetic --seed 1 --days 7 --json
  epilogue replay ~/azurefunctions-dataset2019 --sample 0.1 --memory 0,20480
  epilogue replay --synthetic --live --speedup 60 --policies fixed,histogram

Flags:
`

type replayOptions struct {
	dir       string
	synthetic bool
	seed      uint64
	days      int
	functions int
	policies  []string
	memoryMB  []int
	json      bool
	write     string
	reportDir string
	sample    float64
	live      bool
	liveCfg   live.Config
}

func parseReplayArgs(args []string, stderr io.Writer) (replayOptions, error) {
	fs := cli.NewFlagSet("epilogue replay", replayUsage, stderr)
	var o replayOptions
	fs.BoolVar(&o.synthetic, "synthetic", false, "generate a synthetic trace instead of reading DIR")
	fs.Uint64Var(&o.seed, "seed", 1, "the synthetic trace's seed")
	fs.IntVar(&o.days, "days", 7, "the synthetic trace's days")
	fs.IntVar(&o.functions, "functions", replay.DefaultFunctions, "the synthetic trace's functions")
	policies := fs.String("policies", strings.Join(keepalive.Names, ","), "the policies to compare, comma-separated")
	memory := fs.String("memory", "0", "the memory budget in MB of all instances, 0 = no limit; a comma-separated list compares under each")
	fs.Float64Var(&o.sample, "sample", 0, "keep about this share (0 to 1) of DIR's functions, chosen by a hash of their key; 0 = all")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON (several --memory budgets: {\"runs\":[{\"memoryMB\":…,\"policies\":[…]}]})")
	fs.StringVar(&o.write, "write", "", "write the synthetic trace into this `directory`, in the dataset's format")
	fs.StringVar(&o.reportDir, "report", "", "write README.md and an SVG chart into this `directory`")
	fs.BoolVar(&o.live, "live", false, "replay against the real standalone pool on the process backend, in accelerated wall time")
	fs.Float64Var(&o.liveCfg.Speedup, "speedup", live.DefaultSpeedup, "with --live: how many times faster than the trace")
	fs.IntVar(&o.liveCfg.Functions, "live-functions", live.DefaultFunctions, "with --live: how many of the trace's functions to replay")
	liveMinutes := fs.Int("live-minutes", 0, "with --live: the trace minutes to replay, from its start; 0 = what lasts "+live.DefaultWall.String()+" at the speed-up")
	fs.StringVar(&o.liveCfg.ProxyPath, "proxy", "", "with --live: the epilogue-proxy `binary` (default: next to this executable, then in PATH)")
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return o, err
	}
	switch {
	case o.synthetic && len(positional) > 0:
		return o, fs.Fail("--synthetic generates the trace: give no DIR (got %q)", positional)
	case !o.synthetic && len(positional) != 1:
		return o, fs.Fail("want one DIR, a directory of the Azure Functions 2019 dataset, or --synthetic; got %d arguments", len(positional))
	case o.days < 1 || o.days > replay.MaxDays:
		return o, fs.Fail("--days %d: want 1 to %d", o.days, replay.MaxDays)
	case o.functions < 1 || o.functions > 100_000:
		return o, fs.Fail("--functions %d: want 1 to 100000", o.functions)
	case o.sample < 0 || o.sample > 1:
		return o, fs.Fail("--sample %v: want a share from 0 to 1", o.sample)
	case o.sample > 0 && o.synthetic:
		return o, fs.Fail("--sample narrows a dataset: use --functions with --synthetic")
	case o.write != "" && !o.synthetic:
		return o, fs.Fail("--write writes a synthetic trace: add --synthetic")
	case !o.live && liveOnlySet(fs.FlagSet):
		return o, fs.Fail("--speedup, --live-functions, --live-minutes and --proxy set up a live replay: add --live")
	case o.live && o.liveCfg.Speedup < 1:
		return o, fs.Fail("--speedup %g: want 1 or more (how many times faster than the trace)", o.liveCfg.Speedup)
	case o.live && o.liveCfg.Functions < 1:
		return o, fs.Fail("--live-functions %d: want at least 1", o.liveCfg.Functions)
	case o.live && *liveMinutes < 0:
		return o, fs.Fail("--live-minutes %d: want a number of minutes, 0 for the default", *liveMinutes)
	}
	o.liveCfg.Window = time.Duration(*liveMinutes) * time.Minute
	if len(positional) == 1 {
		o.dir = positional[0]
	}
	if o.policies, err = keepalive.ParseNames(*policies); err != nil {
		return o, fs.Fail("--policies: %v", err)
	}
	for m := range strings.SplitSeq(*memory, ",") {
		var mb int
		if _, err := fmt.Sscanf(strings.TrimSpace(m), "%d", &mb); err != nil || mb < 0 || fmt.Sprint(mb) != strings.TrimSpace(m) {
			return o, fs.Fail("--memory %q: want megabytes, a whole number ≥ 0 (0 = no limit)", m)
		}
		o.memoryMB = append(o.memoryMB, mb)
	}
	if o.live && len(o.memoryMB) > 1 {
		return o, fs.Fail("--memory with --live: one budget (a live replay runs in wall time; run it once per budget)")
	}
	return o, nil
}

func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseReplayArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	var tr *replay.Trace
	var source, command string
	if o.synthetic {
		tr = replay.Synthetic(replay.SyntheticConfig{Seed: o.seed, Days: o.days, Functions: o.functions})
		source = fmt.Sprintf("synthetic, seed %d, %d days, %d functions", o.seed, o.days, o.functions)
		command = fmt.Sprintf("epilogue replay --synthetic --seed %d --days %d --functions %d", o.seed, o.days, o.functions)
		if o.write != "" {
			if err := replay.Write(o.write, tr); err != nil {
				fmt.Fprintln(stderr, "epilogue replay:", err)
				return exitError
			}
		}
	} else {
		if tr, err = replay.Read(o.dir, replay.ReadOptions{Sample: o.sample}); err != nil {
			fmt.Fprintln(stderr, "epilogue replay:", err)
			return exitError
		}
		source = fmt.Sprintf("%s, %d days, %d functions", o.dir, tr.Days, len(tr.Functions))
		command = "epilogue replay " + o.dir
		if o.sample > 0 {
			source += fmt.Sprintf(" (a %g sample)", o.sample)
			command += fmt.Sprintf(" --sample %g", o.sample)
		}
	}
	if o.live {
		if tr, o.liveCfg, err = live.Cut(tr, o.liveCfg); err != nil {
			fmt.Fprintln(stderr, "epilogue replay --live:", err)
			return exitError
		}
		window := o.liveCfg.Window
		source += fmt.Sprintf("; live at %g×: %d functions, the first %s", o.liveCfg.Speedup, len(tr.Functions), window)
		command += fmt.Sprintf(" --live --speedup %g --live-functions %d --live-minutes %d", o.liveCfg.Speedup, o.liveCfg.Functions, int(window/time.Minute))
	}
	rep := replay.Report{Trace: source, Command: command + " --policies " + strings.Join(o.policies, ",")}
	for _, mb := range o.memoryMB {
		rs, err := compare(ctx, tr, o, mb, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "epilogue replay:", err)
			return exitError
		}
		rep.Runs = append(rep.Runs, replay.Run{MemoryMB: mb, Results: rs})
		if len(rs) > 0 {
			rep.Calls = rs[0].Calls
		}
	}
	if len(o.memoryMB) > 1 || o.memoryMB[0] != 0 {
		rep.Command += " --memory " + strings.Trim(strings.Join(strings.Fields(fmt.Sprint(o.memoryMB)), ","), "[]")
	}
	if o.reportDir != "" {
		if err := replay.WriteReport(o.reportDir, rep); err != nil {
			fmt.Fprintln(stderr, "epilogue replay:", err)
			return exitError
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		var err error
		if len(rep.Runs) == 1 {
			err = enc.Encode(struct {
				Policies []replay.Result `json:"policies"`
			}{rep.Runs[0].Results})
		} else {
			err = enc.Encode(struct {
				Runs []jsonRun `json:"runs"`
			}{jsonRuns(rep.Runs)})
		}
		if err != nil {
			fmt.Fprintln(stderr, "epilogue replay:", err)
			return exitError
		}
		return exitOK
	}
	fmt.Fprintf(stdout, "%s: %d calls\n", source, rep.Calls)
	for _, run := range rep.Runs {
		fmt.Fprintf(stdout, "%s:\n", run.Title())
		for _, r := range run.Results {
			fmt.Fprintf(stdout, "  %s\n", r)
		}
	}
	return exitOK
}

// liveOnlySet reports whether a flag of the live mode was given.
func liveOnlySet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		set = set || f.Name == "speedup" || f.Name == "live-functions" || f.Name == "live-minutes" || f.Name == "proxy"
	})
	return set
}

// compare runs the policies on tr under the budget mb: simulated, or live.
func compare(ctx context.Context, tr *replay.Trace, o replayOptions, mb int, stderr io.Writer) ([]replay.Result, error) {
	if !o.live {
		return replay.Compare(tr, o.policies, replay.Config{MemoryMB: mb})
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this executable, which serves the live replay's action: %w", err)
	}
	cfg := o.liveCfg
	cfg.MemoryMB, cfg.Action = mb, []string{self, replayActionCommand}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	outcomes, err := live.Compare(ctx, tr, o.policies, cfg)
	if err != nil {
		return nil, err
	}
	rs := make([]replay.Result, len(outcomes))
	for i, out := range outcomes {
		rs[i] = out.Result
	}
	return rs, nil
}

// replayActionCommand is the hidden command that serves the live replay's
// action: the pool's containers run it (through epilogue-proxy).
const replayActionCommand = "replay-action"

// jsonRun is one budget's results in the JSON of several budgets.
type jsonRun struct {
	MemoryMB int             `json:"memoryMB"`
	Policies []replay.Result `json:"policies"`
}

func jsonRuns(runs []replay.Run) []jsonRun {
	out := make([]jsonRun, len(runs))
	for i, r := range runs {
		out[i] = jsonRun{MemoryMB: r.MemoryMB, Policies: r.Results}
	}
	return out
}
