package proxy

import (
	"net"
	"syscall"
)

// deferAcceptSeconds is how long the kernel holds back a connection that
// sends nothing: past it, the connection is accepted anyway (after one
// SYN-ACK retransmission), so a client that connects and waits still
// reaches the server and its ReadHeaderTimeout.
const deferAcceptSeconds = 1

// deferAccept asks the kernel (TCP_DEFER_ACCEPT) to hand ln's connections
// over only once their first bytes have arrived. The invoker opens a
// connection per request: without it the proxy wakes for the accept, finds
// no request yet, parks the connection and wakes again when the request
// arrives; with it, one wake-up serves both, and accept is followed by a
// read that finds the request. Clients see no difference: their connect
// completes as before. Errors are ignored: the option only saves work.
func deferAccept(ln net.Listener) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return
	}
	if _, tcp := ln.Addr().(*net.TCPAddr); !tcp {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, deferAcceptSeconds)
	})
}
