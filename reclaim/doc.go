// Package reclaim owns one decision: may this instance be paused or removed
// now, and if not, until when must the caller wait. The standalone pool and
// the invoker shim both ask it, so the two cannot disagree.
//
// Decide is pure: a policy, an operation, the runtime's completion snapshot,
// the time and the bounds in; a Decision out. Under Vanilla every reclaim is
// allowed at once (stock OpenWhisk). Under Epilogue a reclaim waits while any
// activation is running or lingering, but never past the bound: the latest
// deadline among the activations (plus a grace for their cancellation to be
// reported), capped by MaxLinger after the earliest response. Past the bound
// the reclaim is allowed and marked Forced, naming the activations it cuts.
//
// Gate turns Decide into a bounded wait against a live runtime (a Source,
// e.g. completion.Client). A runtime that does not answer is not trusted: the
// gate waits for the bound and then forces the reclaim.
package reclaim
