// Package ctxtime owns waiting on a clock that a context may cut short:
// every bounded wait in the module that is not a select of its own. It is
// standard library only, so the core (reclaim) may link it.
package ctxtime
