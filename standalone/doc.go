// Package standalone wires a single-machine OpenWhisk together: the store
// under a data directory, a backend (process or docker), the container
// pool with its reclaim policy (and gosource as its Runtime, compiling Go
// source actions into DATA/gosource), and the /api/v1 REST surface that wsk and
// openwhisk-client-go speak, served on one loopback port. It is what
// `epilogue standalone` runs, and what the end-to-end and consistency tests
// start.
//
// It owns the wiring and the server's lifetime only: flags live in
// cmd/epilogue, the behaviour in api, pool, backend and store.
//
// Besides /api/v1 the server answers GET /epilogue/pool with the pool's
// snapshot (containers, states, counters): a diagnostic for people and tests
// on a loopback port, not part of OpenWhisk's API; and GET /epilogue/view,
// the pool's live view (liveview). "/" stays OpenWhisk's API info in JSON,
// whatever the client accepts. With a task store configured it also runs
// the durable-task recoverer (durable/recoverer) against its own API.
package standalone
