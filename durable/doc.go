// Package durable owns the durable-task store's protocol, shared by the SDK
// (which starts, runs, checkpoints and acknowledges tasks inside an action)
// and the recoverer (which re-invokes the actions of tasks whose container
// went away): the Redis names, the intent's encoding, and every operation.
//
// The store is a Redis Stream with a consumer group. Start appends an
// intent and, in the same Lua script, makes it pending under the running
// container's consumer (XADD, XCLAIM FORCE): from then on the intent is
// always owned by someone, and its idle time in the group is its lease.
// The container renews the lease while the task runs (XCLAIM JUSTID), the
// recoverer takes over intents idle longer than the lease (XAUTOCLAIM),
// success acknowledges and deletes the intent (XACK, XDEL), and a task out
// of attempts moves to a dead-letter stream with its errors. A hash per
// intent holds the attempt count, the last checkpoint, and why the intent
// was handed back (a continuation at the deadline).
//
// The client is a minimal RESP2 connection of this package's own, not
// go-redis: the SDK links this package into every action, and an action
// built outside this repository (epilogue build) must need nothing beyond
// the standard library and the SDK's source.
package durable
