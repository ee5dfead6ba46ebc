// Package invokershim makes a stock OpenWhisk invoker safe for async I/O
// without touching it: it is a Docker Engine API interposer. The invoker's
// docker CLI talks to the shim (DOCKER_HOST=unix:///…/docker.sock), the
// shim talks to the real daemon, and the calls that reclaim a container
// running the Epilogue runtime wait until the runtime says its work is done
// (OpenWhisk's DockerContainerFactory, DockerClient and ContainerProxy).
//
//	allowed call                 other containers    Epilogue runtime containers
//	containers/create            forwarded           forwarded, with EPILOGUE_INSTANCE and, when pushes are
//	                                                 configured, EPILOGUE_NOTIFY_URL and a per-container
//	                                                 EPILOGUE_NOTIFY_TOKEN added, and the instance label
//	containers/{id}/pause        forwarded           idle: forwarded. Work pending: journaled, answered 204 at
//	                                                 once, paused for real when the runtime is done
//	containers/{id}/unpause      forwarded           a pause not yet done for real is cancelled and the unpause
//	                                                 answered 204 without the daemon; otherwise forwarded
//	DELETE containers/{id}, kill, stop  forwarded    held (journaled) until the runtime is done, at most
//	                                                 HoldTimeout, then answered; the call itself is sent when
//	                                                 the runtime is done or its bound passes
//	everything else allowed      forwarded           forwarded
//	anything not allowed         403, naming the endpoint and the --allow flag that forwards it
//
// Forwarding is httputil.ReverseProxy: version prefixes, streaming and
// hijacked endpoints (attach, logs?follow=1, events, wait), chunked bodies,
// headers and the daemon's errors pass through untouched.
//
// "Done" is decided by package reclaim, the same code the standalone pool
// uses: the runtime's /epilogue/status (Gate.Check when a call arrives),
// woken early by /epilogue/await and by pushed events (HMAC-signed with the
// container's token; anything else is rejected and logged), and always
// confirmed with a fresh status before a real pause or removal (Gate.Wait).
// The bound: no activation keeps its container past its deadline (as the
// runtime reports it), capped by MaxLinger; a runtime that does not answer
// is waited for until reclaim's Unreachable bound. Past the bound the shim
// reclaims anyway and logs and journals a forced reclaim naming the
// activations it cut.
//
// Deferred operations go to the journal (fsync'd) before the invoker is
// answered; on start the shim reconciles the journal with the daemon (which
// containers exist, which are paused) and resumes what is still open.
//
// How it is built:
//
//   - route.go: the allowlist. A call is forwarded, a creation, an
//     unpause, or an operation: a operation (pause, remove, kill, stop),
//     the one operation type from the route to the journal line to the
//     Docker call (Op.Reclaim, Op.Call).
//   - intercept.go: the handlers only route: look the container up, decide
//     with reclaim.Gate.Check, then forward, or start a deferred operation
//     and answer (or hold the call on it).
//   - deferred.go: a deferred operation owns its whole life: its journal
//     entry, the wait on reclaim.Gate, its cancellation, the typed Docker
//     call, the outcome in the journal and the log, and the result the
//     held calls answer from. reconcile.go resumes open entries as the same.
//   - runtime.go: what the shim knows of a container (is it an Epilogue
//     runtime, its name, instance and runtime address), cached from its
//     first inspect per full id and per reference, and the per-container
//     state of its intercepted calls, whose lock is never held across I/O
//     (see runtimeContainer.mu for the invariant and who wins a race).
//   - daemon.go: the daemon behind a narrow interface of moby's typed calls,
//     and the mapping of their errors back to the daemon's HTTP answers.
//
// It owns Docker API semantics only: which calls to intercept, the
// journal, the allowlist, and what it knows of the containers; and the
// metrics of what it did (metrics.go, served on Config.MetricsListen). It does not
// own the reclaim policy or its bound (reclaim), the runtime's wire
// contract (completion), or the runtime (proxy), and it keeps no state of a
// container that the daemon owns beyond what it did itself: a pause done
// behind its back is asked of the daemon where it matters (an unpause that
// would otherwise answer for the daemon, a runtime that does not answer).
package invokershim
