// Package pool owns standalone OpenWhisk's container pool: which container
// runs an activation, and when a container is paused, resumed or removed.
// It follows the lifecycle of OpenWhisk's classic ContainerPool and
// ContainerProxy (OpenWhisk's invoker), on any
// backend.Backend:
//
//   - an activation goes to a warm container of the same action (unpaused
//     first, then the most recently used), else to a stem cell of its image
//     and memory, else to a new container (cold start: /init, then /run),
//     else the least recently used idle containers are evicted to make room
//     under the memory budget and the activation waits, first come first
//     served, in the run buffer;
//   - an idle container is paused after the pause grace, resumed when it is
//     reused, and removed after the idle timeout, or, with a keep-alive
//     policy (Config.KeepAlive, package keepalive), when the policy's
//     keep-alive from the activation's done ends; the policy may release
//     it at once and prewarm a container of the action ahead of the call
//     it predicts (created and /init run with the action's code, never its
//     handler), and picks the eviction victims; it hears of every idle
//     container released, expired or evicted; Close stops the prewarms
//     not yet due (keepalive.go);
//   - an activation that times out, crashes or answers something that is
//     not a result destroys its container, as OpenWhisk does.
//
// An action whose exec is not an image with its code (a Go source action, a
// wsk --native zip) is first made into one by the Config's Runtime, before
// it looks for a container: a compile is never charged to a container's
// /init timeout, and code that does not compile fails the activation as a
// developer error without creating a container.
//
// What Epilogue changes is when an instance counts as finished. A /run
// answer with X-Epilogue-Phase: responded means the action answered but its
// work goes on. Under reclaim.Epilogue the container is then lingering: it
// gets no new activation (another container takes it, or a new one starts)
// and it is neither paused, evicted nor removed, until the runtime reports
// the activation done (GET /epilogue/await) or its bound passes. Every
// pause and removal also goes through reclaim.Gate, which confirms with
// GET /epilogue/status, so a lost answer never causes an unsafe reclaim.
// Under reclaim.Vanilla the answer ends the activation, as in stock
// OpenWhisk, and the proxy is told to run the next activation at once
// (EPILOGUE_SEMANTICS=overlap), leftover work and all.
//
// Each activation's record goes to the store twice: when the action answers
// (the blocking invoke returns it; an activation done at its response is
// staged, readable at once, so the answer does not wait for the fsync, as
// OpenWhisk answers from the invoker's acknowledgement, and durable before
// it is Completed; one with work pending is durable before the answer, so
// that a crash leaves it for SettlePending) and when its post-response
// work has finished, with the annotations completion (done, expired, failed),
// postResponseDuration and postResponseErrors, and the log lines written
// after the response. A container that dies while work is pending leaves
// completion=failed; under Vanilla a container reclaimed with work pending
// leaves no completion at all, because stock OpenWhisk cannot know.
//
// The pool counts what it does in Prometheus metrics (metrics.go: its
// Collector; the server exposes them at /metrics).
//
// The pool also keeps each container's latest activations as a timeline
// (started, responded, done/expired/failed, the pause or removal after,
// forced reclaims, post-response errors) and streams its changes to
// subscribers (Subscribe) without ever waiting for them: the live view
// (liveview) shows it.
//
// The pool does not own the reclaim policy (reclaim), the keep-alive
// policies' decisions (keepalive), the HTTP contract
// with the container (containerclient, completion), where containers run
// (backend), or the REST API (api).
package pool
