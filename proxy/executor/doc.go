// Package executor runs one action executable and owns its pipes: stdin for
// requests, fd 3 for answers (read by one long-lived reader), and stdout and
// stderr, which it relays so that every activation's log ends with exactly
// one sentinel placed after that activation's own output, and output written
// after the response is tagged with the activation it belongs to. It does
// not know about HTTP or activation phases; it reports frames to its owner.
//
// # Log ordering
//
// The executable writes its logs and then its answer, and a pipe is FIFO: once
// the answer has arrived, everything the action logged before it is either
// relayed already or still in the pipe. At that boundary the executor drains
// the pipe itself, under the relay's lock, and only then writes the sentinel,
// so the sentinel always follows the activation's own output. Output that
// comes later is tagged with the activation's id until the next request.
package executor
