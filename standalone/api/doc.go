// Package api owns standalone OpenWhisk's REST surface, /api/v1: routing,
// Basic authentication, the namespace "_", the request and response shapes,
// status codes and error bodies that wsk and openwhisk-client-go expect
// from OpenWhisk's controller.
//
// Routes, all answering JSON:
//
//	GET    /api/v1                                      a small info document
//	GET    /api/v1/namespaces/{ns}/actions              ?limit=&skip= (limit ≤ 200)
//	PUT    /api/v1/namespaces/{ns}/actions/{name}       ?overwrite=
//	GET    /api/v1/namespaces/{ns}/actions/{name}       ?code=
//	DELETE /api/v1/namespaces/{ns}/actions/{name}
//	POST   /api/v1/namespaces/{ns}/actions/{name}       ?blocking=&result=&timeout=
//	GET    /api/v1/namespaces/{ns}/activations          ?name=&since=&upto=&limit=&skip=&docs=
//	GET    /api/v1/namespaces/{ns}/activations/{id}
//	GET    /api/v1/namespaces/{ns}/activations/{id}/logs
//	GET    /api/v1/namespaces/{ns}/activations/{id}/result
//
// {name} may be PACKAGE/NAME. Every error is {"error":…,"code":<transaction
// id>} with Content-Type and Content-Length, as the controller sends it.
//
// It does not run actions (an Invoker does; the container pool implements
// it), does not store anything itself (standalone/store), and does not own
// the documents' shapes or validation (standalone/entity).
package api
