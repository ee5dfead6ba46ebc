package chaos

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/epilogue-dev/epilogue/durable"
	"github.com/epilogue-dev/epilogue/internal/ctxtime"
)

// AllSemantics are the semantics a run has unless told otherwise, in the
// order of the report.
var AllSemantics = []string{SemanticsVanilla, SemanticsEpilogue, SemanticsDurable}

// durableFaults are the faults the durable semantics runs under: those
// that kill, remove or delay a task's container, its server or its store.
// Not shim-restart (a pool of stock semantics behind the shim: another
// set-up, shown under epilogue) nor redis-reset (what it tests is the
// action's own Redis client, not the task).
var durableFaults = map[string]bool{
	FaultReclaimAfterResponse: true, FaultIdleRemoval: true, FaultEviction: true,
	FaultSIGKILL: true, FaultProxyCrash: true, FaultRedisLatency: true, FaultRedisStall: true,
	FaultDeadline: true, FaultStandaloneRestart: true, FaultRedisRestart: true,
}

// runs reports whether the cell runs under the semantics: durable runs
// ack-write (through a task) under durableFaults; the others every cell
// but the durable-only faults.
func runs(semantics string, c cell) bool {
	if semantics == SemanticsDurable {
		return c.workload == WorkloadAckWrite && durableFaults[c.fault]
	}
	return !faults[c.fault].durableOnly
}

// durablePrefix names the list the durable workload action appends to
// (chaos/actions/durablewrite defines it): one "activation|unix ms" entry
// per write applied.
const durablePrefix = "epilogue:durable:"

// Timing of the durable semantics.
const (
	// durableLease is the task lease, the SDK's and the recoverer's: a
	// killed task is recovered this long after its last renewal. Short, so
	// that a scenario waits seconds, not the default's half-minute; long
	// enough that a loaded machine renews in time (every third of it).
	durableLease = 3 * time.Second
	// recoveryBound bounds the wait, after the last activation, for every
	// acknowledged task to land: a lease, a poll, a cold start, and for the
	// deadline fault a chain of continuations, far below it. What has not
	// landed then is counted unrecovered.
	recoveryBound = 2 * time.Minute
	// recoveryPoll is the gap between two looks at what landed.
	recoveryPoll = 200 * time.Millisecond
)

// durableWrite is ack-write through a durable task.
var durableWrite = workload{
	source: "chaos/actions/durablewrite",
	params: workloads[WorkloadAckWrite].params,
}

// workloadFor is the workload a cell's row runs under the semantics.
func workloadFor(semantics, name string) workload {
	if semantics == SemanticsDurable && name == WorkloadAckWrite {
		return durableWrite
	}
	return workloads[name]
}

// configureDurable points the scenario's server at the task store (its
// built-in recoverer reads Redis directly) and its actions at the same
// store through the fault proxy, bound so that recoveries have it too.
func (s *scenario) configureDurable() {
	s.server.TasksRedis, s.server.TasksLease = s.env.redis.Addr(), durableLease
	s.boundParams = map[string]string{durable.EnvRedis: s.env.redisAddr(), durable.EnvLease: durableLease.String()}
}

// awaitTasks waits (at most recoveryBound) until every acknowledged
// activation's write has landed: the recoverer works while the server runs.
func (s *scenario) awaitTasks(ctx context.Context) error {
	deadline := time.Now().Add(recoveryBound)
	for {
		pending := 0
		for _, a := range s.acts {
			if !a.ack {
				continue
			}
			n, err := s.env.rdb.LLen(ctx, durablePrefix+a.key).Result()
			if err != nil {
				return fmt.Errorf("read what the tasks wrote: %w", err)
			}
			if n == 0 {
				pending++
			}
		}
		if pending == 0 || time.Now().After(deadline) {
			return nil // what has not landed is counted unrecovered
		}
		if err := ctxtime.Sleep(ctx, recoveryPoll); err != nil {
			return err
		}
	}
}

// countDurable checks one acknowledged activation of the durable
// semantics: its write landed exactly once (persisted), by itself or by a
// recovery or continuation (recovered, with the time from its
// acknowledgement to the write).
func (s *scenario) countDurable(ctx context.Context, a *activation, r *Result) (persisted bool, err error) {
	entries, err := s.env.rdb.LRange(ctx, durablePrefix+a.key, 0, -1).Result()
	if err != nil {
		return false, err
	}
	if len(entries) == 0 {
		r.Unrecovered++
		return false, nil
	}
	if len(entries) > 1 {
		r.Duplicated++
	}
	by, at, ok := strings.Cut(entries[0], "|")
	landed, perr := strconv.ParseInt(at, 10, 64)
	if !ok || perr != nil {
		return false, fmt.Errorf("the durable write of %s is %q, not activation|unix ms", a.key, entries[0])
	}
	if by != a.id {
		r.Recovered++
		r.RecoveryMs = append(r.RecoveryMs, float64(landed-a.answered.UnixMilli()))
	}
	return true, nil
}

// summarizeRecovery sets the recovery time's percentiles.
func summarizeRecovery(r *Result) {
	sorted := slices.Sorted(slices.Values(r.RecoveryMs))
	r.RecoveryP50Ms, r.RecoveryP99Ms = percentile(sorted, 50), percentile(sorted, 99)
}
