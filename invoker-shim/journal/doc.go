// Package journal owns the invoker shim's crash-safe record of deferred
// reclaims: a pause the shim answered before doing it, a removal, kill or
// stop it holds until the runtime is done. Every change is appended as one
// JSON line and fsync'd before the shim answers the invoker, so that a shim
// that restarts neither forgets a deferred operation nor applies one twice:
//
//	{"id":7,"op":"pause","container":"3f…","state":"deferred","time":…}
//	{"id":7,"op":"pause","container":"3f…","state":"cancelled","time":…,"reason":"unpaused before the real pause"}
//
// An operation is open from its "deferred" line until a line with a
// terminal state (cancelled, applied, forced, failed). Replay ignores a torn
// last line (a crash in the middle of a write); the file is compacted to
// the open operations when it grows.
//
// It does not decide anything, and does not know what the operations are:
// an entry names its operation (the shim's type) and keeps the invoker's
// query; when to defer, when to apply and how is the shim's, with the
// reclaim package. It depends on the standard library only.
package journal
