package chaos

// Report is what one run of the suite found: every scenario of the matrix,
// and the latency sweep. It is `epilogue chaos --json` and the input of the
// report generator.
type Report struct {
	// Seed is the run's seed; each scenario's own seed derives from it.
	Seed int64 `json:"seed"`
	// Backend is "process" or "docker".
	Backend string `json:"backend"`
	// Short is set for the CI-sized run.
	Short     bool     `json:"short"`
	Scenarios []Result `json:"scenarios"`
	// Latency is the response latency against the async I/O duration, per
	// mode (vanilla, respond-after-all, epilogue); empty when not measured.
	Latency []LatencyPoint `json:"latency,omitempty"`
}

// Semantics of a scenario: the pool's reclaim policy.
const (
	SemanticsEpilogue = "epilogue"
	SemanticsVanilla  = "vanilla"
	// SemanticsDurable is epilogue with the workload's write in a durable
	// task (sdk.Start), a task store on a Redis with an fsynced AOF and the
	// standalone's built-in recoverer: what a fault kills is recovered.
	SemanticsDurable = "durable"
)

// Result is one scenario: a workload under a fault and a semantics.
type Result struct {
	Semantics string `json:"semantics"`
	Workload  string `json:"workload"`
	Fault     string `json:"fault"`
	Backend   string `json:"backend"`
	// Seed replays this scenario alone: epilogue chaos --seed N with the
	// same workload, fault and semantics.
	Seed int64 `json:"seed"`
	// Activations invoked; Acknowledged answered success; Persisted wrote
	// all they acknowledged.
	Activations  int `json:"activations"`
	Acknowledged int `json:"acknowledged"`
	Persisted    int `json:"persisted"`
	// Lost: acknowledged, not persisted, and not reported failed or
	// expired: a silent loss.
	Lost int `json:"lost"`
	// Interference: writes of a leftover that ran inside a later
	// activation and paired a new value with an old hash.
	Interference int `json:"interference"`
	// Recovered (durable only): acknowledged activations whose task was
	// run to its end by another activation, a recovery or a continuation.
	Recovered int `json:"recovered"`
	// Unrecovered (durable only): acknowledged activations whose write
	// never landed, whatever their record says.
	Unrecovered int `json:"unrecovered"`
	// Duplicated (durable only): acknowledged activations whose write
	// landed more than once.
	Duplicated int `json:"duplicated,omitempty"`
	// RecoveryMs (durable only) is, for each recovered activation, the time
	// from its acknowledgement to its write landing; RecoveryP50Ms and
	// RecoveryP99Ms summarize it.
	RecoveryMs    []float64 `json:"recoveryMs,omitempty"`
	RecoveryP50Ms float64   `json:"recoveryP50Ms,omitempty"`
	RecoveryP99Ms float64   `json:"recoveryP99Ms,omitempty"`
	// Injected counts the faults a scenario's hooks injected at a moment
	// they chose (kills, shim restarts, Redis stalls); 0 for the faults that
	// are a setting (a pause grace, a memory budget, a latency).
	Injected int `json:"injected,omitempty"`
	// ForcedReclaims: reclaims the pool made past a bound with work
	// pending.
	ForcedReclaims int              `json:"forcedReclaims"`
	Completion     CompletionCounts `json:"completion"`
	// PostResponseMs is each activation's time from its response to done
	// (the record's postResponseDuration), where the record has one.
	PostResponseMs []float64 `json:"postResponseMs,omitempty"`
	// DurationMs is each acknowledged activation's duration (time to the
	// response, the record's duration).
	DurationMs []float64 `json:"durationMs,omitempty"`
	// PauseLagMs is, for each pause of a container after a lingering
	// activation was done, the time from done to the real pause.
	PauseLagMs []float64 `json:"pauseLagMs,omitempty"`
	// ElapsedMs is how long the scenario took.
	ElapsedMs float64 `json:"elapsedMs"`
	// Errors are what went wrong in the harness itself (not the workload):
	// a scenario with errors proves nothing.
	Errors []string `json:"errors,omitempty"`
}

// CompletionCounts counts the activations by the completion annotation of
// their final record; an activation without one is in none of them.
type CompletionCounts struct {
	Done    int `json:"done"`
	Expired int `json:"expired"`
	Failed  int `json:"failed"`
}

// Latency modes.
const (
	ModeVanilla         = "vanilla"
	ModeRespondAfterAll = "respond-after-all"
	ModeEpilogue        = "epilogue"
)

// LatencyPoint is the response latency of warm activations whose async I/O
// takes AsyncMs, in one mode.
type LatencyPoint struct {
	Mode    string  `json:"mode"`
	AsyncMs int     `json:"asyncMs"`
	Samples int     `json:"samples"`
	P50Ms   float64 `json:"p50Ms"`
	P99Ms   float64 `json:"p99Ms"`
}

// Workloads.
const (
	// WorkloadAckWrite acknowledges an id, then writes it after the response.
	WorkloadAckWrite = "ack-write"
	// WorkloadFanout starts N writes, then calls done().
	WorkloadFanout = "fanout"
	// WorkloadInterference sets a global value, then writes the value it
	// finds and the hash of its own after the response.
	WorkloadInterference = "interference"
	// WorkloadTelemetry buffers spans and exports them after the response.
	WorkloadTelemetry = "telemetry"
)

// Faults.
const (
	FaultReclaimAfterResponse = "reclaim-after-response" // pause grace 0
	FaultIdleRemoval          = "idle-removal"           // pause grace 0, a short idle timeout
	FaultEviction             = "eviction"               // room for one container, two actions
	FaultSIGKILL              = "sigkill-lingering"      // SIGKILL of a container while it lingers
	FaultProxyCrash           = "proxy-crash"            // SIGKILL of the runtime's proxy process
	FaultShimRestart          = "shim-restart"           // docker only: the invoker shim restarts mid-deferral
	FaultRedisLatency         = "redis-latency"          // every Redis round trip slowed
	FaultRedisStall           = "redis-stall"            // Redis traffic held for a while
	FaultRedisReset           = "redis-reset"            // Redis connections reset
	FaultDeadline             = "deadline"               // work outlives the activation's time limit
	FaultStandaloneRestart    = "standalone-restart"     // durable only: every container killed, the server stopped and started again
	FaultRedisRestart         = "redis-restart"          // durable only: Redis SIGKILLed and started again from its AOF
)
