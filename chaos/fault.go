package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/internal/ctxtime"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/pool"
)

// fault is how a scenario stresses the platform: how it configures the
// pool, and what it does around each activation.
type fault struct {
	// dockerOnly faults need real containers.
	dockerOnly bool
	// durableOnly faults run under the durable semantics only: they take
	// down what no reclaim semantics can protect (the whole server, the
	// store), so only a recovery can make up for them.
	durableOnly bool
	// configure adjusts the scenario before its server starts.
	configure func(s *scenario) error
	// before runs before activation i is invoked.
	before func(s *scenario, i int)
	// after runs once activation a has answered.
	after func(ctx context.Context, s *scenario, a *activation) error
}

// Durations the faults use.
const (
	// shortIdle is the idle timeout of the idle-removal fault: paused
	// containers are removed between two activations.
	shortIdle = 150 * time.Millisecond
	// redisLatency is added to every chunk to and from Redis.
	redisLatency = 40 * time.Millisecond
	// redisStall holds all Redis traffic once per scenario.
	redisStall = 1500 * time.Millisecond
	// resetProbability is the chance that a write to Redis resets its connection.
	resetProbability = 0.25
	// deadlineTimeoutMs is the action time limit of the deadline fault;
	// every other activation's work outlives it.
	deadlineTimeoutMs = 1000
)

var faults = map[string]fault{
	FaultReclaimAfterResponse: {configure: func(s *scenario) error {
		s.pool.PauseGrace = pool.Immediately
		return nil
	}},
	FaultIdleRemoval: {configure: func(s *scenario) error {
		s.pool.PauseGrace, s.pool.IdleTimeout = pool.Immediately, shortIdle
		s.gapMs = [2]int{250, 400} // longer than the idle timeout
		return nil
	}},
	FaultEviction: {configure: func(s *scenario) error {
		// Room for one container, two actions taking turns: each
		// activation evicts the other action's container.
		s.pool.MemoryMB = actionMemoryMB
		s.actions = []string{"chaos-a", "chaos-b"}
		return nil
	}},
	FaultSIGKILL: {
		configure: lingerLonger,
		after: func(ctx context.Context, s *scenario, a *activation) error {
			if a.i%2 == 1 {
				return nil
			}
			return s.killLingering(ctx, a, false)
		},
	},
	FaultProxyCrash: {
		configure: lingerLonger,
		after: func(ctx context.Context, s *scenario, a *activation) error {
			if a.i%2 == 1 {
				return nil
			}
			return s.killLingering(ctx, a, true)
		},
	},
	FaultShimRestart: {
		dockerOnly: true,
		configure: func(s *scenario) error {
			// The operator's set-up: stock OpenWhisk reclaiming at once, and
			// (under epilogue) the Epilogue runtime, whose /run waits for
			// earlier work, with epilogue-shim in front of the Docker engine.
			s.pool.PauseGrace, s.pool.IdleTimeout = pool.Immediately, 300*time.Millisecond
			s.pool.Policy = reclaim.Vanilla
			if s.semantics != SemanticsEpilogue {
				return nil
			}
			s.pool.RuntimeSemantics = completion.Isolated
			sh, err := startShim(s.env, filepath.Join(s.dir, "shim"), "0")
			if err != nil {
				return err
			}
			s.shim = sh
			s.server.DockerHost = sh.dockerHost()
			return nil
		},
		after: func(_ context.Context, s *scenario, a *activation) error {
			if s.shim == nil || a.i%3 != 1 {
				return nil
			}
			s.injected++
			return s.shim.restart() // with a pause deferred or a removal held
		},
	},
	FaultRedisLatency: {configure: func(s *scenario) error {
		s.pool.PauseGrace = pool.Immediately
		s.env.net.SetLatency(redisLatency)
		return nil
	}},
	FaultRedisStall: {
		configure: func(s *scenario) error {
			s.pool.PauseGrace = pool.Immediately
			return nil
		},
		before: func(s *scenario, i int) {
			if i%4 == 1 {
				s.injected++
				s.env.net.Stall(redisStall)
			}
		},
	},
	FaultRedisReset: {configure: func(s *scenario) error {
		s.pool.PauseGrace = pool.Immediately
		s.env.net.SetResetProbability(resetProbability, s.seed)
		return nil
	}},
	FaultStandaloneRestart: crashWhileLingering(func(ctx context.Context, s *scenario) error { return s.crashServer(ctx) }),
	FaultRedisRestart: crashWhileLingering(func(_ context.Context, s *scenario) error {
		return s.env.redis.Restart() // with tasks running and leased
	}),
	FaultDeadline: {configure: func(s *scenario) error {
		s.timeoutMs = deadlineTimeoutMs
		s.delayFor = func(i int, d int) int {
			if i%2 == 0 {
				return deadlineTimeoutMs + 300 + d // outlives the time limit
			}
			return d
		}
		return nil
	}},
}

// faultOrder is the order of the matrix's columns.
var faultOrder = []string{
	FaultReclaimAfterResponse, FaultIdleRemoval, FaultEviction, FaultSIGKILL, FaultProxyCrash,
	FaultShimRestart, FaultRedisLatency, FaultRedisStall, FaultRedisReset, FaultDeadline,
	FaultStandaloneRestart, FaultRedisRestart,
}

// crashWhileLingering is a durable-only fault that crashes something
// (crash) right after every third activation, while its task is running.
func crashWhileLingering(crash func(ctx context.Context, s *scenario) error) fault {
	return fault{
		durableOnly: true,
		configure:   lingerLonger,
		after: func(ctx context.Context, s *scenario, a *activation) error {
			if a.i%3 != 1 {
				return nil
			}
			s.injected++
			return crash(ctx, s)
		},
	}
}

// lingerLonger keeps the work going long enough to be killed mid-way.
func lingerLonger(s *scenario) error {
	s.delayMs = [2]int{800, 1100}
	return nil
}

// killLingering SIGKILLs the container a is lingering in (proxyOnly: only
// its proxy process; in a Docker container the proxy is PID 1, so the
// container goes with it). An activation whose work is already done is
// left alone: the fault missed it.
func (s *scenario) killLingering(ctx context.Context, a *activation, proxyOnly bool) error {
	snap, err := s.poolSnapshot(ctx)
	if err != nil {
		return err
	}
	for _, c := range snap.Containers {
		if slices.Contains(c.Lingering, a.id) {
			s.injected++
			return s.kill(ctx, c, proxyOnly)
		}
	}
	return nil
}

// kill SIGKILLs container c (proxyOnly: see killLingering).
func (s *scenario) kill(ctx context.Context, c pool.ContainerInfo, proxyOnly bool) error {
	if s.env.cfg.Backend == BackendDocker {
		return s.env.docker.ContainerKill(ctx, c.ID, "KILL")
	}
	pid, err := strconv.Atoi(c.ID)
	if err != nil {
		return fmt.Errorf("chaos: container %s: pid %q: %w", c.Name, c.ID, err)
	}
	if proxyOnly {
		return syscall.Kill(pid, syscall.SIGKILL)
	}
	return killSession(pid)
}

// crashServer stands for a SIGKILL of the whole standalone and its
// restart: the suite runs the server in its own process, so it SIGKILLs
// every container the server runs (what held the work), stops what is left
// of the server (nothing lingers to wait for), and starts a new one on the
// same data directory, whose recoverer takes over the killed tasks.
func (s *scenario) crashServer(ctx context.Context) error {
	snap, err := s.createdSnapshot(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range snap.Containers {
		errs = append(errs, s.kill(ctx, c, false))
	}
	if err := errors.Join(append(errs, s.shutdown())...); err != nil {
		return err
	}
	return s.start(ctx)
}

// createdSnapshot is the pool's state once every container in it has
// been created: a container still being created (a cold start, a
// prewarm) has no ID to kill yet, and left alive it would outlive the
// crash it stands for. ctx bounds the wait.
func (s *scenario) createdSnapshot(ctx context.Context) (pool.Snapshot, error) {
	for {
		snap, err := s.poolSnapshot(ctx)
		if err != nil {
			return snap, err
		}
		if !slices.ContainsFunc(snap.Containers, func(c pool.ContainerInfo) bool { return c.ID == "" }) {
			return snap, nil
		}
		if err := ctxtime.Sleep(ctx, 50*time.Millisecond); err != nil {
			return snap, fmt.Errorf("chaos: a container was still being created when the crash was due: %w", err)
		}
	}
}

// killSession SIGKILLs every process of the session pid leads: a process
// backend container, the action's processes included.
func killSession(sid int) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// Fields after the command's closing parenthesis: state, ppid,
		// pgrp, session.
		rest := stat[strings.LastIndexByte(string(stat), ')')+1:]
		if f := strings.Fields(string(rest)); len(f) > 3 && f[3] == strconv.Itoa(sid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return nil
}
