// Package backend owns "where an action container runs": the Backend
// interface that creates a container for an action image, and the Container
// it returns, which can be paused, unpaused, removed and whose logs can be
// followed. It is to standalone OpenWhisk what go-plugin's runner.Runner is
// to a plugin host: process vs container hidden behind one small interface.
//
// Two implementations exist, and both pass the one conformance suite in
// backendtest:
//
//	process  a process group (session) running the local epilogue-proxy,
//	         for epilogue/action-go images only; no Docker needed
//	docker   a container created through the Docker Engine API with the
//	         parameters of OpenWhisk's DockerContainerFactory
//
// It does not own pool policy (when to create, pause or remove a container,
// how many, which one serves an activation: standalone/pool with reclaim),
// nor any HTTP to the proxy inside the container (/init, /run,
// /epilogue/status, /epilogue/await are spoken by the pool). A container's
// proxy may take a moment after Create to accept connections; callers retry
// connection-refused as the invoker retries /init.
//
// Lifecycle of a Container:
//
//	Create ──▶ running ◀──Unpause/Pause──▶ paused
//	              │                          │
//	              └────────── Remove ────────┘──▶ removed (terminal)
//
// Pause and Unpause are idempotent; Remove is idempotent, works on a paused
// container and returns once the container's processes are gone. After
// Remove, Pause, Unpause and Logs fail with ErrRemoved. The containers of
// both backends also report Paused(ctx) (bool, error), the frozen state as
// seen from outside (backendtest.PauseObserver).
package backend
