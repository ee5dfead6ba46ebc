// Package actionloop owns the bytes exchanged between an action proxy and the
// action executable: the start-up ack, the request line on stdin, the result
// line on file descriptor 3, and Epilogue's extension frames. It is shared by
// the proxy (package proxy) and the action SDK (package sdk) so the two sides
// cannot drift. It depends on the standard library only and does no I/O of
// its own beyond reading and writing lines it is handed.
//
// # Upstream protocol (unchanged)
//
// The proxy starts the executable with stdin a pipe and fd 3 open for writing.
// If the proxy was started with OW_WAIT_FOR_ACK, the executable first writes
// an ack line on fd 3. Then, for every activation, the proxy writes the /run
// body as one line on stdin and the executable answers with exactly one JSON
// line (an object or an array) on fd 3:
//
//	fd 3  <- {"ok":true}                                   (only in ack mode)
//	stdin -> {"value":{"name":"Mike"},"activation_id":"a1","deadline":"1700000060000"}
//	fd 3  <- {"greeting":"Hello, Mike!"}
//
// An executable that speaks only this protocol is done the moment it answers.
//
// # Epilogue extension, version 1
//
// The proxy tells every executable it starts that it speaks the extension by
// setting the environment variable __OW_EPILOGUE=1. An executable that wants
// the extension announces it in its ack line (it sends the ack even when the
// proxy did not ask for one, because __OW_EPILOGUE says the proxy expects it):
//
//	fd 3  <- {"ok":true,"epilogue":1}
//
// From then on every request line carries a sequence number the proxy
// assigns, and every line on fd 3 is a frame naming the request it belongs
// to, so a stray line can never be taken for a later activation's result:
//
//	stdin -> {"epilogue_seq":7,"value":{"id":"42"},"activation_id":"a7","deadline":"1700000060000"}
//	fd 3  <- {"epilogue":"response","seq":7,"pending":["redis SET id:42"],"result":{"accepted":true}}
//	fd 3  <- {"epilogue":"pending","seq":7,"pending":["redis SET id:42"]}
//	fd 3  <- {"epilogue":"done","seq":7,"status":"ok","postResponseMs":212.4}
//
// The response frame's result is what the proxy returns from /run, byte for
// byte. A response frame with "done":true says nothing is pending, so no done
// frame follows. A done frame's status is "ok", "error" (with "error" and the
// post-response "errors") or "expired" (with the "unfinished" work). Pending
// frames are optional progress reports.
//
// When an activation reaches its deadline while work is still pending, the
// proxy writes a control frame on stdin asking the executable to cancel it;
// the executable answers with a done frame whose status is "expired":
//
//	stdin -> {"epilogue":"cancel","seq":7}
//	fd 3  <- {"epilogue":"done","seq":7,"status":"expired","unfinished":["redis SET id:42"]}
//
// A control frame is told apart from a request line by its "epilogue" key,
// which OpenWhisk never puts at the top level of a /run body.
//
// # Tracing
//
// A proxy that traces puts the W3C traceparent of the activation's span in
// the request line, after the sequence number. An executable that sees it
// exposes it to the action (whose own spans and outgoing requests nest
// under it) and reports each tracked piece of work with a work frame when it
// starts and when it ends, at its own clock (Unix nanoseconds); the proxy
// turns them into child spans:
//
//	stdin -> {"epilogue_seq":7,"epilogue_traceparent":"00-0af7…-b7ad…-01","value":{"id":"42"}}
//	fd 3  <- {"epilogue":"work","seq":7,"work":1,"name":"redis SET id:42","start":1700000000123456789}
//	fd 3  <- {"epilogue":"response","seq":7,"pending":["redis SET id:42"],"result":{"accepted":true}}
//	fd 3  <- {"epilogue":"work","seq":7,"work":1,"end":1700000000335856789}
//	fd 3  <- {"epilogue":"done","seq":7,"status":"ok","postResponseMs":212.4}
//
// A work frame's end precedes the done frame. Both sides stay compatible
// with older peers: a proxy that does not trace sends no traceparent, so no
// work frame is ever sent to a proxy that would not know one, and an
// executable that ignores the traceparent just yields no work spans.
package actionloop
