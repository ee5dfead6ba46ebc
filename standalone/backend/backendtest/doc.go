// Package backendtest owns the one conformance suite every
// standalone/backend implementation passes: Run drives a backend through
// the lifecycle the pool relies on (create, /init and /run of the fixture
// action tests/testaction, logs, pause, unpause, remove, close), talking to
// the real proxy inside each container over HTTP.
//
// It does not own backend-specific checks (the process backend's image
// mapping, the Docker backend's resource limits): those live beside each
// backend. Nor does it build the fixture or reach a Docker engine: the
// caller passes Run the fixture's executable and a constructor of the
// backend under test, and decides whether a missing engine skips the test
// or, under CI=true, fails it (tests/testenv). It imports nothing under
// tests/, so that no package outside tests/ depends on the test harness.
package backendtest
