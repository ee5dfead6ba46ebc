// Package store owns the persistence of standalone OpenWhisk's actions,
// packages, triggers, rules and activations: one bbolt database file, DIR/epilogue.db, under the directory
// given by `epilogue standalone --data DIR`, so that a restart loses nothing.
// It decides the key layout, the version and update time an action gets when
// it is written, and the order, filters and bounds of the list queries, which
// follow OpenWhisk's controller (newest first; limit default 30, at most 200).
//
// It does not own the documents' shapes or validation (standalone/entity),
// HTTP, authentication or the default namespace "_" (the REST layer), or
// running actions. It prunes old activations when asked (Prune).
//
// An activation record may be staged (StageActivation): kept in memory,
// readable by GetActivation, until its durable write ends; a list waits
// for the writes staged before it. A crash in between loses that record.
//
// Layout (all integers big-endian):
//
//	meta/schema                         "1"
//	actions/<ns>/<name>                 entity.Action JSON without exec.code; <name> may be <pkg>/<act>
//	code/<ns>/<name>                    that action's exec.code, written in the same transaction
//	                                     (an earlier build kept it inline in the document; both are read)
//	packages/<ns>/<name>                entity.Package JSON (a package or a binding)
//	triggers/<ns>/<name>                entity.Trigger JSON (without rules: TriggerRules finds them)
//	rules/<ns>/<name>                   entity.Rule JSON
//	activations/<ns>/start/<^start><id> entity.Activation JSON; ^start = inverted start ms,
//	                                     so a forward cursor yields the newest first
//	activations/<ns>/id/<id>            <start> <filter name>: the way from an id to its record
//	activations/<ns>/name/<len><filter name><^start><id>
//	                                     empty; the same order per name, for ?name=
//	pending/<ns>\x00<id>                 empty: a record stored while its post-response
//	                                     work was pending (PutPendingActivation), until
//	                                     it is stored again; SettlePending settles the rest
//
// The rules that tie packages and actions are kept inside one transaction:
// an action in a package needs the package and never goes into a binding; a
// package holding actions is deleted only with force; a binding names an
// existing package that is not a binding; a rule names an existing trigger.
// (The packages, triggers, rules, pending and code buckets came after schema "1"
// and are created on open; older databases have none.)
//
// A Store is safe for concurrent use. Only one process may have the file open:
// a second Open fails after Options.OpenTimeout with ErrLocked.
package store
