//go:build !linux

package proxy

import "net"

// deferAccept is Linux's TCP_DEFER_ACCEPT (see listen_linux.go); elsewhere
// connections are accepted as they come.
func deferAccept(net.Listener) {}
