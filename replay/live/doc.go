// Package live owns the live mode of the keep-alive replay (epilogue replay
// --live): it replays a trace, K times faster, against the real standalone
// pool (standalone/pool) on the process backend (epilogue-proxy
// processes), with the policy code the pool runs, and measures what the
// simulator (package replay) measures, from the pool's own records.
//
// It is its own package because replay is pure simulation: it depends on
// keepalive only (tests/layout), so that the simulator and the report
// never pull in the pool, the store or the backends. This package depends
// on both and on nothing above them.
//
// # Time
//
// Wall time w is trace time replay.Epoch + (w − start) × K. The policy
// runs under keepalive.Scaled, so that it decides in trace time (fixed's
// 10 minutes are 10 min / K of wall time); each call's duration and
// post-response work (the trace's, divided by K) are run by a real action
// (ServeAction: it sleeps, answers, and keeps tracked work going through
// the SDK, so the pool sees it linger). What is not scaled is the pool's
// own cost: a cold start (a proxy process and /init) takes what it takes,
// K times more in trace time. The pause grace is OpenWhisk's 10 s, / K.
//
// # What is measured
//
//   - calls and cold starts: an activation record per call; a cold start
//     is a record with the initTime annotation (the pool's own count,
//     Stats.ColdStarts, is returned beside it);
//   - wasted memory: the time each container spent idle (ready, pausing,
//     paused), from the pool's timeline (Subscribe), × its action's memory,
//     in trace seconds, up to the window's end;
//   - prewarm accuracy and linger share as the simulator defines them
//     (replay.Result), from the same timeline: lingering is the state
//     "lingering", busy is starting, busy and lingering.
//
// # Limits
//
// A live replay runs in wall time, so Cut keeps what fits: the first
// Config.Functions functions with calls in the window of Config.Window of
// trace time; and it refuses a trace denser than Config.MaxRate calls per
// wall second, with what to lower. A run that falls behind its schedule
// by more than Config.MaxLag is stopped with an error saying so.
package live
