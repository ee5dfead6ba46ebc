package reclaim

// How traces record a reclaim decision, in the standalone pool's spans and
// the invoker shim's alike, so that one query finds both: the attribute
// names, and the outcomes TraceDecision takes.
const (
	TraceDecision    = "epilogue.reclaim.decision"
	TraceReason      = "epilogue.reclaim.reason"
	TraceActivations = "epilogue.reclaim.activations"

	// Deferred: the reclaim waits for an activation's work.
	Deferred = "deferred"
	// Done: nothing is pending; the reclaim goes ahead.
	Done = "done"
	// Forced: the bound passed (or the runtime went silent) with work
	// pending; the reclaim cuts it.
	Forced = "forced"
)
