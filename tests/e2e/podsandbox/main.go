// Command podsandbox holds a pod's network namespace, as Kubernetes' pause
// container does: the wiring test (tests/e2e, kubewiring_test.go) starts a
// rendered pod's containers in its namespace with --network container:ID,
// so that they share one IP and reach each other on localhost. It does
// nothing but wait for SIGTERM or SIGINT, then exits 0.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
