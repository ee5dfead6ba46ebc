// Command interference is the consistency suite's interference workload,
// the paper's example of leftover work corrupting the next activation: each
// activation sets a process-wide value, answers, and after the response
// writes the value it then finds next to the hash of its own:
//
//	{"id":"7","value":"v7","redis":"…","delay_ms":50,"span_ms":1000,"work_ms":250} → {"accepted":"v7"},
//	then HSET epilogue:pair:7 value <current value> hash sha256(v7)
//
// After delay_ms the write spans up to span_ms, flushing at once when a
// later activation changes the value (a batching writer). work_ms is the
// handler's own work between setting the value and answering: the window
// in which an earlier activation's leftover, thawed for this event, runs.
//
// As long as no later activation runs in the instance before the write, the
// pair matches. Where the platform freezes the instance with the write
// pending and thaws it for the next event (or lets the next event run
// while it lingers), the leftover pairs the new value with its old hash:
// interference, silent and permanent.
//
// It is a fixture of the suite (package chaos), built at run time from this
// directory with actionbuild; it owns nothing the platform uses. Its key
// prefix and hash function are repeated in chaos/workload.go, which checks
// what it wrote.
package main
