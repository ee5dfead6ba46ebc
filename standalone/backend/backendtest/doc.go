// Package backendtest owns the one conformance suite every
// standalone/backend implementation passes: Run drives a backend through
// the lifecycle the pool relies on (create, /init and /run of the fixture
// action tests/testaction, logs, pause, unpause, remove, close), talking to
// the real proxy inside each container over HTTP.
//
// It does not own backend-specific checks (the process backend's image
// mapping, the Docker backend's resource limits): those live beside each
// backend. It needs the Go toolchain (the fixture is built with
// testenv.BuildStatic) and whatever the backend itself needs.
package backendtest
