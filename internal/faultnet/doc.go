// Package faultnet is a fault-injecting TCP proxy for the consistency
// fault-injection suite (package chaos, `epilogue chaos`). It sits between action code and a real server
// (redis-server, or any other TCP server) and puts on the wire what a bad
// network does: latency on every chunk, stalls that hold all traffic for a
// while, and connection resets, on demand or with a seeded probability.
//
//	p, err := faultnet.Listen("127.0.0.1:0", redisAddr) // or "172.17.0.1:0" for containers
//	...
//	defer p.Close()
//	p.SetLatency(20 * time.Millisecond)    // every chunk, both ways, order kept
//	p.Stall(2 * time.Second)               // hold everything; bytes are late, never lost
//	p.ResetAll()                           // RST every open connection, both sides
//	p.SetResetProbability(0.05, seed)      // RST a connection on 5% of client writes
//
// Faults act on chunks, the bytes one read returned (at most 32 KiB): the
// proxy neither parses nor rewrites the protocol, and it never drops or
// reorders bytes within a connection; the only way it loses data is a reset,
// which both ends see as ECONNRESET.
//
// It owns the bytes between the two sockets and nothing else: which faults a
// scenario injects, and when, is the suite's (package chaos). It depends on
// the standard library only.
package faultnet
