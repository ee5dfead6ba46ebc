package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Run runs the matrix cfg selects, one scenario after another, and
// returns what each found. An error means the suite could not run (a
// missing redis-server, an action that does not build); what went wrong
// inside a scenario is in its Result.Errors.
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Report{}, err
	}
	dir := cfg.WorkDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "epilogue-chaos-"); err != nil {
			return Report{}, err
		}
		defer os.RemoveAll(dir)
	}
	e, err := newEnv(ctx, cfg, dir)
	if err != nil {
		return Report{}, err
	}
	defer e.close()

	rep := Report{Seed: cfg.Seed, Backend: cfg.Backend, Short: cfg.Short}
	for _, c := range cfg.matrix() {
		for _, sem := range cfg.Semantics {
			if !runs(sem, c) {
				continue
			}
			if ctx.Err() != nil {
				return rep, context.Cause(ctx)
			}
			bound := cfg.scenarioBound()
			sctx, cancel := context.WithTimeoutCause(ctx, bound, ErrOverloaded)
			r := newScenario(e, sem, c).run(sctx)
			overloaded := ctx.Err() == nil && errors.Is(context.Cause(sctx), ErrOverloaded)
			cancel()
			rep.Scenarios = append(rep.Scenarios, r)
			fmt.Fprintln(cfg.Progress, r.line())
			if overloaded {
				return rep, fmt.Errorf("%w (%s/%s/%s took more than %s; replay it alone: %s)",
					ErrOverloaded, sem, c.workload, c.fault, bound, r.Replay())
			}
		}
	}
	if cfg.Latency {
		if rep.Latency, err = e.latencySweep(ctx); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// line is a scenario's result on one line of progress.
func (r Result) line() string {
	s := fmt.Sprintf("%-8s %-7s %-12s %-22s %3d acts %3d acked %3d persisted %3d lost %3d interference  done/expired/failed %d/%d/%d  forced %d  injected %d  %5.1f s",
		r.Semantics, r.Backend, r.Workload, r.Fault, r.Activations, r.Acknowledged, r.Persisted, r.Lost, r.Interference,
		r.Completion.Done, r.Completion.Expired, r.Completion.Failed, r.ForcedReclaims, r.Injected, r.ElapsedMs/1000)
	if r.Semantics == SemanticsDurable {
		s += fmt.Sprintf("  recovered %d unrecovered %d duplicated %d  recovery p50/p99 %.0f/%.0f ms",
			r.Recovered, r.Unrecovered, r.Duplicated, r.RecoveryP50Ms, r.RecoveryP99Ms)
	}
	if len(r.Errors) > 0 {
		s += "  ERRORS: " + strings.Join(r.Errors, "; ")
	}
	return s
}

// Replay is the command that runs this scenario alone.
func (r Result) Replay() string {
	return fmt.Sprintf("epilogue chaos --backend %s --seed %d --semantics %s --workload %s --fault %s", r.Backend, r.Seed, r.Semantics, r.Workload, r.Fault)
}
