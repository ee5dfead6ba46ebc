// Package api owns standalone OpenWhisk's REST surface, /api/v1: routing,
// Basic authentication, the namespace "_", the request and response shapes,
// status codes and error bodies that wsk and openwhisk-client-go expect
// from OpenWhisk's controller.
//
// Routes, all answering JSON but /ping and web actions:
//
//	GET    /                                            the controller's info: api_paths, limits, runtimes
//	GET    /ping                                        "pong"
//	GET    /api/v1                                      a small info document
//	GET    /api/v1/namespaces                           ["<the caller's namespace>"]
//	GET    /api/v1/namespaces/{ns}/limits               the bounds of an action's limits
//	GET    /api/v1/namespaces/{ns}/actions              ?limit=&skip= (limit ≤ 200); ?count=true: {"actions": N}, as every list
//	GET    /api/v1/namespaces/{ns}/actions/{pkg}/       the actions of a package (or of a binding's package)
//	PUT    /api/v1/namespaces/{ns}/actions/{name}       ?overwrite=
//	GET    /api/v1/namespaces/{ns}/actions/{name}       ?code=
//	DELETE /api/v1/namespaces/{ns}/actions/{name}
//	POST   /api/v1/namespaces/{ns}/actions/{name}       ?blocking=&result=&timeout=
//	GET    /api/v1/namespaces/{ns}/activations          ?name=&since=&upto=&limit=&skip=&docs=&count=
//	GET    /api/v1/namespaces/{ns}/activations/{id}
//	GET    /api/v1/namespaces/{ns}/activations/{id}/logs
//	GET    /api/v1/namespaces/{ns}/activations/{id}/result
//	GET    /api/v1/namespaces/{ns}/packages             ?limit=&skip=&count=
//	PUT    /api/v1/namespaces/{ns}/packages/{name}      ?overwrite=; {"binding":{…}} makes a binding
//	GET    /api/v1/namespaces/{ns}/packages/{name}      with its actions
//	DELETE /api/v1/namespaces/{ns}/packages/{name}      ?force=; 409 while it holds actions
//	GET    /api/v1/namespaces/{ns}/triggers             ?limit=&skip=&count=
//	PUT    /api/v1/namespaces/{ns}/triggers/{name}      ?overwrite=; a feed's annotation is stored
//	GET    /api/v1/namespaces/{ns}/triggers/{name}      with the rules naming it
//	DELETE /api/v1/namespaces/{ns}/triggers/{name}
//	POST   /api/v1/namespaces/{ns}/triggers/{name}      fire: 202 {"activationId"}, 204 without an active rule
//	GET    /api/v1/namespaces/{ns}/rules                ?limit=&skip=&count=
//	PUT    /api/v1/namespaces/{ns}/rules/{name}         ?overwrite=; {"trigger":"/_/t","action":"/_/a"}
//	GET    /api/v1/namespaces/{ns}/rules/{name}
//	DELETE /api/v1/namespaces/{ns}/rules/{name}
//	POST   /api/v1/namespaces/{ns}/rules/{name}         {"status":"active"|"inactive"}
//	*      /api/v1/web/{ns}/{pkg|default}/{action}[.ext][/path]   web actions, no credentials needed
//
// Web actions (web.go: routing and authorization; webpath.go: the path;
// webrequest.go: the request as the action's __ow_* parameters;
// webresponse.go: the result as the answer .json, .html, .svg, .text or
// .http asks for) follow the controller's WebActions, messages verbatim.
//
// A sequence (exec.kind "sequence") is run here, in sequence.go, on top of
// the Invoker: components in order, each given the previous result; its
// completion waits for every component's.
//
// {name} may be PACKAGE/NAME: the package must exist (404), writes into a
// binding are refused (400), and GET and invoke through a binding reach the
// bound package's action with package < binding < action < invoke
// parameters, as the controller merges them. Every error is {"error":…,"code":<transaction
// id>} with Content-Type and Content-Length, as the controller sends it.
//
// It does not run actions (an Invoker does; the container pool implements
// it), does not store anything itself (standalone/store), and does not own
// the documents' shapes or validation (standalone/entity).
package api
