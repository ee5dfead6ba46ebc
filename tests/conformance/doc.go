// Package conformance is a black-box conformance suite for cmd/epilogue-proxy.
//
// It builds the proxy and the tests/testaction fixture once, starts a fresh
// proxy process per test on a free loopback port, and drives it over real
// HTTP exactly as the OpenWhisk invoker would. The checks follow the 59-item
// checklist of the runtime contract (section 4 of
// openwhisk-runtime-contract.md: A1–A23, B1–B19, C1–C8, D1–D5, E1–E4), the
// upstream defects a replacement must fix (section 5, Q1–Q14), and the
// Epilogue extension (/epilogue/status, /epilogue/await, push notifications).
//
// Run it with:
//
//	go test -race -count=1 ./tests/conformance
//
// The package has no non-test code; this file only documents it.
package conformance
