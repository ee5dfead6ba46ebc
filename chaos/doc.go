// Package chaos is Epilogue's consistency fault-injection suite, the engine
// of `epilogue chaos` (a product feature, not a test helper): it proves that
// no acknowledged write is lost silently. It runs a matrix of scenarios — a
// workload under a fault, under each semantics — against a real `epilogue
// standalone` (process or Docker backend) and a real redis-server it starts
// on a free port, and counts, per scenario:
//
//   - acknowledged: activations that answered success;
//   - persisted: acknowledged activations whose writes all landed;
//   - lost: acknowledged, not persisted, and the activation's record says
//     neither failed nor expired — a silent loss;
//   - interference: leftover work that ran inside a later activation and
//     paired its value with an earlier hash (the paper's example);
//   - the records' completion (done, expired, failed) and the pool's forced
//     reclaims.
//
// Under vanilla (stock OpenWhisk) the suite must observe the losses and the
// interference the paper predicts, else it proves nothing; under epilogue
// silent losses and interference must be zero. A fault may kill work — a
// SIGKILLed container loses what it held — but then the record must say so.
//
// Under durable, ack-write writes through a durable task
// (chaos/actions/durablewrite), the standalone runs its built-in recoverer
// and Redis fsyncs an append-only file: what a fault kills must be
// recovered, so every acknowledged write must land exactly once (keyed by
// the task id); the scenario counts recovered, unrecovered and duplicated
// writes and the time from acknowledgement to write of the recovered ones.
// Two faults run under durable only: a crash and restart of the whole
// standalone, and a restart of Redis from its AOF.
//
// Workloads (actions built with actionbuild from examples/ and
// chaos/actions in the source tree: Config.SourceDir, or the directory of
// go.mod found upwards from the working directory): ack-write (acknowledge
// an id, write it after the response), fanout (N writes, then done()),
// interference (a global value and its hash), telemetry (buffered spans
// exported after the response). Faults: reclaim right after the response
// (pause grace 0), idle removal, eviction under memory pressure, SIGKILL of
// a lingering container, a crash of the runtime's proxy, a restart of the
// invoker shim (Docker backend: the pool runs stock semantics behind
// epilogue-shim), Redis latency, stalls and connection resets (through
// internal/faultnet), and work outliving the activation's deadline.
//
// Every scenario draws its delays and gaps from a rand seeded with the
// run's seed and the scenario's name, so `epilogue chaos --seed N
// --semantics S --workload W --fault F` replays one. Run is what `epilogue
// chaos` and the short run in `make test` call; package chaos/report turns
// its Report into docs/report.
//
// It does not own the platform (standalone), the shim (invoker-shim), the
// fault proxy (internal/faultnet), the Redis server it starts
// (internal/redisserver) or the presentation of its results (chaos/report):
// it wires them, drives them and counts. It is linked into the epilogue
// command, so it imports nothing under tests/ (tests/layout checks).
package chaos
