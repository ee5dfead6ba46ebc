// Package executor runs one action executable and owns its pipes: stdin for
// requests, fd 3 for answers (read by one long-lived reader), and stdout and
// stderr, which it relays so that every activation's log ends with exactly
// one sentinel placed after that activation's own output, and output written
// after the response is tagged with the activation it belongs to. It does
// not know about HTTP or activation phases; it reports frames to its owner.
//
// # Log ordering
//
// The executable writes its logs and then its answer. To put the sentinel
// after those logs, the executor writes a marker into the same stdout and
// stderr pipes once the answer has arrived: pipes are FIFO and a write of at
// most PIPE_BUF bytes is atomic, so everything the action wrote before
// answering is ahead of the marker. The relay replaces the marker with the
// sentinel. A second marker, written just before the next request, ends the
// stretch in which output is tagged as post-response output of the previous
// activation.
package executor
