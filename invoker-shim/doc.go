// Package invokershim makes a stock OpenWhisk invoker safe for async I/O
// without touching it: it is a Docker Engine API interposer. The invoker's
// docker CLI talks to the shim (DOCKER_HOST=unix:///…/docker.sock), the
// shim talks to the real daemon, and the calls that reclaim a container
// running the Epilogue runtime wait until the runtime says its work is done
// (reference: openwhisk-invoker.md §1–2).
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
// uses: the runtime's /epilogue/status, woken early by /epilogue/await and
// by pushed events (HMAC-signed with the container's token; anything else
// is rejected and logged), and always confirmed with a fresh status before
// a real pause or removal. The bound: no activation keeps its container past
// its deadline (as the runtime reports it), capped by MaxLinger; a runtime
// that does not answer is waited for until reclaim's Unreachable bound.
// Past the bound the shim reclaims anyway and logs and journals a forced
// reclaim naming the activations it cut.
//
// Deferred operations go to the journal (fsync'd) before the invoker is
// answered; on start the shim reconciles the journal with the daemon (which
// containers exist, which are paused) and resumes what is still open.
//
// It owns Docker API semantics only: which calls to intercept, the
// journal, the allowlist. It does not own the reclaim policy (reclaim), the
// completion wire shapes (completion), or the runtime (proxy).
package invokershim
