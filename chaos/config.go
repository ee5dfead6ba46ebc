package chaos

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Defaults.
const (
	// DefaultSeed is the seed of a run that names none.
	DefaultSeed = 1
	// DefaultDuration is how long each scenario of the full matrix invokes.
	DefaultDuration = 10 * time.Second
	// shortActivations is each scenario's size in the short run.
	shortActivations = 6
	// maxActivations caps a scenario of the full matrix whatever its duration.
	maxActivations = 500
	// DefaultScenarioSlack is what a scenario may take beyond its invoking
	// (the whole of a short one): starting a server, deploying, settling,
	// shutting down. A short scenario takes 2–10 s on a quiet machine; the
	// slack is far above that so that only a machine too loaded to run the
	// suite meaningfully (or a hang) reaches it.
	DefaultScenarioSlack = 3 * time.Minute
)

// Backends.
const (
	BackendProcess = "process"
	BackendDocker  = "docker"
)

// Config configures Run. Zero values are the defaults.
type Config struct {
	// Backend is BackendProcess ("") or BackendDocker.
	Backend string
	// Semantics are the semantics to run; nil = all three (vanilla,
	// epilogue, durable).
	Semantics []string
	// Workloads and Faults keep only these cells of the matrix; nil = all
	// of the matrix (the short one with Short).
	Workloads, Faults []string
	// Seed seeds every scenario; 0 = DefaultSeed.
	Seed int64
	// Short runs the CI-sized matrix: fewer cells, shortActivations each.
	Short bool
	// Duration is how long each scenario of the full matrix invokes;
	// 0 = DefaultDuration.
	Duration time.Duration
	// ScenarioSlack bounds each scenario: a short one may take this long, one
	// of the full matrix Duration plus this; 0 = DefaultScenarioSlack. A
	// scenario past its bound ends the run with ErrOverloaded. The bound
	// is per scenario, so the run's bound grows with the work left.
	ScenarioSlack time.Duration
	// Latency adds the sweep of response latency against async I/O
	// duration (vanilla, respond-after-all, epilogue).
	Latency bool
	// SourceDir is the module's root, where the workload actions are built
	// from; "" = found upwards from the working directory.
	SourceDir string
	// ProxyPath is the process backend's epilogue-proxy; "" = the
	// standalone server's default (next to this executable, then PATH).
	ProxyPath string
	// WorkDir holds the run's files (databases, Redis, the shim's journal);
	// "" = a temporary directory removed at the end.
	WorkDir string
	// Progress gets a line per scenario; nil = none.
	Progress io.Writer
	// Logger gets the servers' logs; nil = none.
	Logger *slog.Logger
}

// ErrConfig is returned for an unusable Config.
var ErrConfig = errors.New("chaos: invalid config")

// ErrOverloaded is returned when a scenario outlives its bound
// (Config.ScenarioSlack): the machine is too busy for the suite's timing
// (or something hangs), so its counts would prove nothing either way.
var ErrOverloaded = errors.New("chaos: a scenario outlived its bound; the machine may be overloaded: " +
	"rerun on a quieter machine, or raise the bound (Config.ScenarioSlack, epilogue chaos --scenario-slack)")

func (cfg Config) withDefaults() (Config, error) {
	if cfg.Backend == "" {
		cfg.Backend = BackendProcess
	}
	if cfg.Backend != BackendProcess && cfg.Backend != BackendDocker {
		return cfg, fmt.Errorf("%w: backend %q: use %s or %s", ErrConfig, cfg.Backend, BackendProcess, BackendDocker)
	}
	if len(cfg.Semantics) == 0 {
		cfg.Semantics = AllSemantics
	}
	for _, s := range cfg.Semantics {
		if !slices.Contains(AllSemantics, s) {
			return cfg, fmt.Errorf("%w: semantics %q: use one or more of %v", ErrConfig, s, AllSemantics)
		}
	}
	for _, w := range cfg.Workloads {
		if _, ok := workloads[w]; !ok {
			return cfg, fmt.Errorf("%w: workload %q: use one of %v", ErrConfig, w, names(workloads))
		}
	}
	for _, f := range cfg.Faults {
		if _, ok := faults[f]; !ok {
			return cfg, fmt.Errorf("%w: fault %q: use one of %v", ErrConfig, f, names(faults))
		}
	}
	if cfg.Seed == 0 {
		cfg.Seed = DefaultSeed
	}
	if cfg.Duration <= 0 {
		cfg.Duration = DefaultDuration
	}
	if cfg.ScenarioSlack <= 0 {
		cfg.ScenarioSlack = DefaultScenarioSlack
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SourceDir == "" {
		dir, err := moduleRoot()
		if err != nil {
			return cfg, err
		}
		cfg.SourceDir = dir
	}
	return cfg, nil
}

// scenarioBound is how long one scenario may take: a short one its slack,
// one of the full matrix its invoking (Duration) plus the slack.
func (cfg Config) scenarioBound() time.Duration {
	if cfg.Short {
		return cfg.ScenarioSlack
	}
	return cfg.Duration + cfg.ScenarioSlack
}

// moduleRoot finds the directory of go.mod upwards from the working
// directory: the workload actions are built from the source tree.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%w: the workload actions are built from Epilogue's source tree: run from inside it, or pass its root (--source DIR)", ErrConfig)
		}
		dir = parent
	}
}

// cell is one workload under one fault.
type cell struct{ workload, fault string }

// shortExtra are cells the short run has beyond ack-write under every
// fault and every workload under reclaim-after-response: where the
// platform's side of a fault differs enough to need its own check.
var shortExtra = map[cell]bool{
	// Behind the shim the runtime, not the pool, keeps leftovers out of
	// the next activation.
	{WorkloadInterference, FaultShimRestart}: true,
}

// matrix lists the cells to run: every workload under every fault (the
// full run), or every fault on ack-write plus the other workloads under
// the plainest fault and shortExtra (the short run); filtered by cfg.
// A cell runs under the semantics that have it (runs).
func (cfg Config) matrix() []cell {
	var cells []cell
	for _, f := range faultOrder {
		if faults[f].dockerOnly && cfg.Backend != BackendDocker {
			continue
		}

		for _, w := range workloadOrder {
			if cfg.Short && w != WorkloadAckWrite && f != FaultReclaimAfterResponse && !shortExtra[cell{w, f}] {
				continue
			}
			if (len(cfg.Workloads) > 0 && !slices.Contains(cfg.Workloads, w)) || (len(cfg.Faults) > 0 && !slices.Contains(cfg.Faults, f)) {
				continue
			}
			if !slices.ContainsFunc(cfg.Semantics, func(sem string) bool { return runs(sem, cell{w, f}) }) {
				continue
			}
			cells = append(cells, cell{w, f})
		}
	}
	return cells
}

// sourcesUsed are the source directories of the workload actions the run
// needs built: the matrix's under each semantics, and ack-write's for the
// latency sweep.
func (cfg Config) sourcesUsed() []string {
	used := map[string]bool{}
	for _, c := range cfg.matrix() {
		for _, sem := range cfg.Semantics {
			if runs(sem, c) {
				used[workloadFor(sem, c.workload).source] = true
			}
		}
	}
	if cfg.Latency {
		used[workloads[WorkloadAckWrite].source] = true
	}
	return names(used)
}

func names[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
