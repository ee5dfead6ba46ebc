// Package syncbuf is a bytes.Buffer that one goroutine may write while
// another reads it: the output of a child process, or a log, that a test
// or internal/redisserver watches as it is written. It has no dependencies
// beyond the standard library, so that any package (the SDK's and the
// executor's tests included) can use it.
//
// It owns the buffer's locking only: it does not bound what it holds, and
// it neither splits lines nor waits for them.
package syncbuf
