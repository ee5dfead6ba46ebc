package entity

import "encoding/json"

// Annotations that make an action a web action and shape how
// /api/v1/web runs it (OpenWhisk's Annotations object; wsk action create
// --web true sets web-export, raw-http and final, --web-secure sets
// require-whisk-auth).
const (
	// AnnotationWebExport, when true, lets /api/v1/web invoke the action
	// without credentials.
	AnnotationWebExport = "web-export"
	// AnnotationRawHTTP, when true, hands the action the query string as
	// __ow_query and the body as __ow_body instead of merging them into
	// its parameters.
	AnnotationRawHTTP = "raw-http"
	// AnnotationFinal, when true, forbids a request to override any
	// parameter the action (or its package) defines.
	AnnotationFinal = "final"
	// AnnotationRequireWhiskAuth: true requires the caller's Basic
	// credentials; a string or number requires the header
	// X-Require-Whisk-Auth with that value.
	AnnotationRequireWhiskAuth = "require-whisk-auth"
	// AnnotationWebCustomOptions, when true, passes OPTIONS requests to
	// the action instead of answering them with default CORS headers.
	AnnotationWebCustomOptions = "web-custom-options"
)

// AnnotationIsTrue reports whether the annotation key is the JSON value true,
// as the controller's annotations.getAs[Boolean] reads it: the string
// "true" is not true.
func (a Action) AnnotationIsTrue(key string) bool {
	v, ok := a.Annotations.Get(key)
	if !ok {
		return false
	}
	var b bool
	return json.Unmarshal(v, &b) == nil && b
}
