package chaos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
)

// workload is an action and how to tell that what it acknowledged landed.
type workload struct {
	// source is the action's directory in the source tree.
	source string
	// params are activation i's parameters; id names what it writes.
	params func(s *scenario, id string, delayMs int) map[string]any
	// check reports whether activation (its id, and the platform's
	// activation id) persisted everything it acknowledged, and whether a
	// leftover corrupted what it wrote.
	check func(ctx context.Context, s *scenario, id, activation string) (persisted, interfered bool, err error)
}

// interferenceWorkMs is how long an interference activation works before
// it answers. A platform that freezes the instance right after each
// response runs an earlier leftover only while a later activation runs; a
// handler that answered at once gave it too little time to finish a Redis
// write, so vanilla showed no interference at all (every leftover was
// frozen again mid-write, then lost). 250 ms leaves a loaded machine's
// leftover ample time for one write.
const interferenceWorkMs = 250

// interferenceSpanMs is how long an interference activation's write may
// wait, after its delay, for a later activation to change the value. A
// leftover whose delay ran out while it was frozen resumes at the next
// unpause, before that event's handler has set its value; without the
// span it wrote its own value at once, and under load (activations slower
// than the delays) vanilla showed as little as one interference a row.
// Under epilogue no later event runs while the work is pending, so each
// write waits the whole span and pairs its own value.
const interferenceSpanMs = 1000

// fanoutWrites is how many writes a fanout activation starts.
const fanoutWrites = 4

// Key prefixes the workload actions write (their sources define them).
const (
	ackPrefix    = "epilogue:ack:"    // examples/async-write
	fanoutPrefix = "epilogue:fanout:" // examples/fanout
	pairPrefix   = "epilogue:pair:"   // chaos/actions/interference
)

var workloads = map[string]workload{
	WorkloadAckWrite: {
		source: "examples/async-write",
		params: func(s *scenario, id string, delayMs int) map[string]any {
			return map[string]any{"id": id, "redis": s.env.redisAddr(), "delay_ms": delayMs}
		},
		check: func(ctx context.Context, s *scenario, id, _ string) (bool, bool, error) {
			n, err := s.env.rdb.Exists(ctx, ackPrefix+id).Result()
			return n == 1, false, err
		},
	},
	WorkloadFanout: {
		source: "examples/fanout",
		params: func(s *scenario, id string, delayMs int) map[string]any {
			return map[string]any{"id": id, "n": fanoutWrites, "redis": s.env.redisAddr(), "delay_ms": delayMs}
		},
		check: func(ctx context.Context, s *scenario, id, _ string) (bool, bool, error) {
			keys := make([]string, fanoutWrites)
			for i := range keys {
				keys[i] = fanoutPrefix + id + ":" + strconv.Itoa(i)
			}
			n, err := s.env.rdb.Exists(ctx, keys...).Result()
			return n == fanoutWrites, false, err
		},
	},
	WorkloadInterference: {
		source: "chaos/actions/interference",
		params: func(s *scenario, id string, delayMs int) map[string]any {
			return map[string]any{"id": id, "value": "v-" + id, "redis": s.env.redisAddr(), "delay_ms": delayMs, "work_ms": interferenceWorkMs, "span_ms": interferenceSpanMs}
		},
		check: func(ctx context.Context, s *scenario, id, _ string) (bool, bool, error) {
			pair, err := s.env.rdb.HGetAll(ctx, pairPrefix+id).Result()
			if err != nil || len(pair) == 0 {
				return false, false, err
			}
			return true, pair["hash"] != pairHash(pair["value"]), nil
		},
	},
	WorkloadTelemetry: {
		source: "examples/telemetry",
		params: func(s *scenario, _ string, delayMs int) map[string]any {
			return map[string]any{"collector": s.env.spans.url, "delay_ms": delayMs}
		},
		check: func(_ context.Context, s *scenario, _, activation string) (bool, bool, error) {
			return s.env.spans.received(activation), false, nil
		},
	},
}

// workloadOrder is the order of the matrix's rows.
var workloadOrder = []string{WorkloadAckWrite, WorkloadFanout, WorkloadInterference, WorkloadTelemetry}

// pairHash is the interference action's hash of a value (its hash
// function, repeated: the action is a main package).
func pairHash(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:8])
}

// activationKey names what activation i of a scenario writes: unique in
// the run's Redis.
func activationKey(s *scenario, i int) string {
	return fmt.Sprintf("%s.%s.%s.%d.%d", s.semantics, s.workload, s.fault, s.env.cfg.Seed, i)
}
