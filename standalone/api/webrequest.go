package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// The __ow_* parameters a web action receives (the controller's
// WebApiDirectives). A request may not set them itself.
const (
	owMethod  = "__ow_method"
	owHeaders = "__ow_headers"
	owPath    = "__ow_path"
	owUser    = "__ow_user"
	owQuery   = "__ow_query"
	owBody    = "__ow_body"
)

var owReserved = []string{owMethod, owHeaders, owPath, owUser, owQuery, owBody}

// msgParametersNotAllowed is the controller's answer to a request that sets
// a reserved or final parameter.
const msgParametersNotAllowed = "Request defines parameters that are not allowed (e.g., reserved properties)."

// webRequest is what a web action is invoked with, before the action's own
// parameters are merged under it.
type webRequest struct {
	method  string
	headers http.Header
	host    string
	path    string
	query   string // raw, as sent
	// body is the request body as the controller decodes it: a JSON value
	// (an object for JSON and form bodies, a string otherwise), or nil when
	// the request had none.
	body json.RawMessage
}

// decodeWebBody turns a request body into the value the controller hands the
// action. Unless raw, a JSON body is parsed (an object is merged into the
// parameters) and a form is an object of strings. Otherwise the body is a
// string: base64 for binary content and for JSON, as the controller keeps
// it for old actions, and the text itself for textual content.
func decodeWebBody(contentType string, body []byte, raw bool) (json.RawMessage, error) {
	if len(body) == 0 {
		return nil, nil
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "application/octet-stream" // what the controller assumes for a missing type
	}
	switch {
	case !raw && isJSONFamily(mediaType):
		if !json.Valid(body) {
			return nil, fmt.Errorf("%w: The request content was malformed: the body is not valid JSON; send JSON or another Content-Type", errBadRequest)
		}
		return json.RawMessage(bytes.TrimSpace(body)), nil
	case !raw && mediaType == "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("%w: The request content was malformed: the form body does not decode (%v)", errBadRequest, err)
		}
		return marshalJSON(firstValues(form))
	case mediaType == "application/json" || !isTextual(mediaType, params):
		return marshalJSON(base64.StdEncoding.EncodeToString(body))
	default:
		return marshalJSON(strings.ToValidUTF8(string(body), string(utf8.RuneError)))
	}
}

// arguments returns the action's input: the __ow_* context, then the query
// parameters, then the body's (each overriding the one before). Raw: the
// query and the body are boxed as __ow_query and __ow_body. user is the
// caller's namespace when credentials came with the request, or "".
func (w webRequest) arguments(user string, raw bool) (map[string]json.RawMessage, error) {
	headers := map[string]string{}
	if w.host != "" {
		headers["host"] = w.host
	}
	for k, vs := range w.headers {
		if len(vs) > 0 && !strings.EqualFold(k, "Content-Length") {
			headers[strings.ToLower(k)] = vs[len(vs)-1]
		}
	}
	ctx := map[string]any{owMethod: strings.ToLower(w.method), owHeaders: headers, owPath: w.path}
	if user != "" {
		ctx[owUser] = user
	}
	args := map[string]json.RawMessage{}
	for k, v := range ctx {
		raw, err := marshalJSON(v)
		if err != nil {
			return nil, err
		}
		args[k] = raw
	}
	if raw {
		q, _ := marshalJSON(w.query)
		args[owQuery] = q
		args[owBody] = w.body
		if w.body == nil {
			args[owBody] = json.RawMessage(`""`)
		}
		return args, nil
	}
	query, err := url.ParseQuery(w.query)
	if err != nil {
		return nil, fmt.Errorf("%w: The request content was malformed: the query string does not decode (%v)", errBadRequest, err)
	}
	for k, v := range firstValues(query) {
		args[k], _ = marshalJSON(v)
	}
	if w.body == nil {
		return args, nil
	}
	var fields map[string]json.RawMessage
	if bytes.HasPrefix(w.body, []byte("{")) && json.Unmarshal(w.body, &fields) == nil {
		for k, v := range fields {
			args[k] = v
		}
		return args, nil
	}
	args[owBody] = w.body
	return args, nil
}

// overridden reports whether the query or a JSON-object body sets one of the
// keys: a reserved __ow_* name, or a final parameter.
func (w webRequest) overridden(keys []string) bool {
	query, _ := url.ParseQuery(w.query)
	var fields map[string]json.RawMessage
	if bytes.HasPrefix(w.body, []byte("{")) {
		_ = json.Unmarshal(w.body, &fields)
	}
	for _, k := range keys {
		if _, ok := query[k]; ok {
			return true
		}
		if _, ok := fields[k]; ok {
			return true
		}
	}
	return false
}

func firstValues(v url.Values) map[string]string {
	out := make(map[string]string, len(v))
	for k, vs := range v {
		if len(vs) > 0 {
			out[k] = vs[0]
		}
	}
	return out
}

func marshalJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("api: encode a web action's argument: %w", err)
	}
	return b, nil
}

// isJSONFamily: application/json or any type with the +json suffix.
func isJSONFamily(mediaType string) bool {
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}

// textualApplicationTypes are the application/* types the controller's HTTP
// library registers as text (with a charset), not binary.
var textualApplicationTypes = map[string]bool{
	"application/javascript":            true,
	"application/x-www-form-urlencoded": true,
	"application/xml":                   true,
	"application/xhtml+xml":             true,
	"application/atom+xml":              true,
	"application/rss+xml":               true,
	"application/soap+xml":              true,
}

// isTextual reports whether content of mediaType is text: text/*, the JSON
// family, a few registered application types, and any type that names a
// charset. Everything else is binary and travels as base64.
func isTextual(mediaType string, params map[string]string) bool {
	if _, ok := params["charset"]; ok {
		return true
	}
	return strings.HasPrefix(mediaType, "text/") || isJSONFamily(mediaType) || textualApplicationTypes[mediaType]
}
