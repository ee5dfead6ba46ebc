package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// The controller's messages about a web action's result, verbatim.
const (
	msgHTTPUnknownContentType = "Response did not specify a known content-type."
	msgHTTPContentTypeError   = "Response type in header did not match generated content type."
)

func msgInvalidMedia(mediaType string) string {
	return fmt.Sprintf("Response is not valid '%s'.", mediaType)
}

// webAnswer is an HTTP response a web action's result became.
type webAnswer struct {
	status      int
	headers     http.Header
	contentType string // "" for no body
	body        []byte
}

// errWebResult is a result the extension cannot render: the controller
// answers it 400 with message.
type errWebResult struct {
	status  int
	message string
}

func (e errWebResult) Error() string { return e.message }

// respondWeb answers a finished web activation as the controller does: a
// success renders its result, an application error its "error" field, by
// the extension; any other failure is 400.
func respondWeb(w http.ResponseWriter, ext webExtension, resp entity.Response) {
	var value json.RawMessage
	switch resp.Status {
	case entity.StatusSuccess:
		value = resp.Result
	case entity.StatusApplicationError:
		var fields map[string]json.RawMessage
		if json.Unmarshal(resp.Result, &fields) == nil {
			value = fields["error"]
		}
	default:
		writeError(w, http.StatusBadRequest, msgErrorProcessingRequest)
		return
	}
	if len(bytes.TrimSpace(value)) == 0 {
		writeError(w, http.StatusNotFound, msgPropertyNotFound)
		return
	}
	ans, err := renderWeb(ext, value)
	if err != nil {
		e, ok := err.(errWebResult)
		if !ok {
			e = errWebResult{http.StatusInternalServerError, err.Error()}
		}
		writeError(w, e.status, e.message)
		return
	}
	h := w.Header()
	for k, vs := range ans.headers {
		h[k] = append(h[k], vs...)
	}
	if ans.contentType != "" {
		h.Set("Content-Type", ans.contentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(ans.body)))
	w.WriteHeader(ans.status)
	_, _ = w.Write(ans.body) // the client went away; nothing to do
}

// renderWeb turns value (the result, or an application error's "error") into
// the response the extension asks for.
func renderWeb(ext webExtension, value json.RawMessage) (webAnswer, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber() // numbers keep their digits
	if err := dec.Decode(&v); err != nil {
		return webAnswer{}, fmt.Errorf("api: the activation result is not JSON: %w", err)
	}
	fields, isObject := v.(map[string]any)
	// field returns the result's key, else its "body", else, for a result
	// that is not an object, the result itself.
	field := func(key string) (any, bool) {
		if !isObject {
			return v, true
		}
		if b, ok := fields["body"]; ok {
			return b, true
		}
		f, ok := fields[key]
		return f, ok
	}
	switch ext {
	case extJSON:
		if _, isArray := v.([]any); !isObject && !isArray {
			return webAnswer{}, errWebResult{http.StatusBadRequest, msgInvalidMedia("application/json")}
		}
		return webAnswer{status: http.StatusOK, contentType: "application/json", body: prettyJSON(value)}, nil
	case extHTML, extSVG:
		key, mediaType, contentType := "html", "text/html", "text/html; charset=UTF-8"
		if ext == extSVG {
			key, mediaType, contentType = "svg", "image/svg+xml", "image/svg+xml"
		}
		s, ok := field(key)
		str, isString := s.(string)
		if !ok || !isString {
			return webAnswer{}, errWebResult{http.StatusBadRequest, msgInvalidMedia(mediaType)}
		}
		return webAnswer{status: http.StatusOK, contentType: contentType, body: []byte(str)}, nil
	case extText:
		t, ok := field("text")
		if !ok {
			return webAnswer{}, errWebResult{http.StatusNotFound, msgPropertyNotFound}
		}
		body := ""
		switch t := t.(type) {
		case string:
			body = t
		case map[string]any, []any:
			b, _ := json.MarshalIndent(t, "", "  ")
			body = string(b)
		case nil:
			body = "null"
		default:
			b, _ := json.Marshal(t)
			body = string(b)
		}
		return webAnswer{status: http.StatusOK, contentType: "text/plain; charset=UTF-8", body: []byte(body)}, nil
	default:
		if !isObject {
			return webAnswer{}, errWebResult{http.StatusBadRequest, msgInvalidMedia("message/http")}
		}
		return renderHTTP(fields)
	}
}

// renderHTTP renders a .http result: {"statusCode", "headers", "body"}. A
// string body is text of the Content-Type header (text/html by default), or
// base64 of binary content; another JSON body is sent as JSON; no body is
// 204 unless statusCode says otherwise.
func renderHTTP(fields map[string]any) (webAnswer, error) {
	invalid := errWebResult{http.StatusBadRequest, msgInvalidMedia("message/http")}
	headers := http.Header{}
	if hs, ok := fields["headers"]; ok {
		m, isObject := hs.(map[string]any)
		if !isObject {
			return webAnswer{}, invalid
		}
		for k, v := range m {
			values, ok := headerValues(v)
			if !ok {
				return webAnswer{}, invalid
			}
			for _, hv := range values {
				headers.Add(k, hv)
			}
		}
	}
	status := 0
	if c, ok := fields["statusCode"]; ok {
		var code int
		switch c := c.(type) {
		case json.Number:
			n, err := strconv.Atoi(c.String())
			if err != nil {
				return webAnswer{}, invalid
			}
			code = n
		case string:
			n, err := strconv.Atoi(c)
			if err != nil {
				return webAnswer{}, invalid
			}
			code = n
		default:
			return webAnswer{}, invalid
		}
		if http.StatusText(code) == "" {
			return webAnswer{}, invalid
		}
		status = code
	}
	withDefault := func(def int) int {
		if status == 0 {
			return def
		}
		return status
	}
	declared := headers.Get("Content-Type")
	headers.Del("Content-Type") // the body's type is the one sent
	switch body := fields["body"].(type) {
	case nil:
		return webAnswer{status: withDefault(http.StatusNoContent), headers: headers}, nil
	case string:
		if body == "" {
			return webAnswer{status: withDefault(http.StatusNoContent), headers: headers}, nil
		}
		contentType, data, err := httpStringBody(declared, body)
		if err != nil {
			return webAnswer{}, err
		}
		return webAnswer{status: withDefault(http.StatusOK), headers: headers, contentType: contentType, body: data}, nil
	default:
		mediaType := "application/json"
		if declared != "" {
			mt, _, err := mime.ParseMediaType(declared)
			if err != nil {
				return webAnswer{}, errWebResult{http.StatusBadRequest, msgHTTPUnknownContentType}
			}
			mediaType = mt
		}
		if !isJSONFamily(mediaType) {
			return webAnswer{}, errWebResult{http.StatusBadRequest, msgHTTPContentTypeError}
		}
		b, _ := json.Marshal(body)
		contentType := "application/json"
		if mediaType != contentType {
			contentType = mediaType + "; charset=UTF-8"
		}
		return webAnswer{status: withDefault(http.StatusOK), headers: headers, contentType: contentType, body: prettyJSON(b)}, nil
	}
}

// httpStringBody returns the Content-Type and bytes of a .http string body.
func httpStringBody(declared, body string) (string, []byte, error) {
	if declared == "" {
		declared = "text/html"
	}
	mediaType, params, err := mime.ParseMediaType(declared)
	if err != nil {
		return "", nil, errWebResult{http.StatusBadRequest, msgHTTPUnknownContentType}
	}
	if !isTextual(mediaType, params) || isJSONFamily(mediaType) && entity.IsBinaryCode(body) {
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(body))
		if err != nil {
			return "", nil, errWebResult{http.StatusBadRequest, msgHTTPContentTypeError}
		}
		if isJSONFamily(mediaType) || strings.HasPrefix(mediaType, "text/") {
			return withCharset(mediaType, params), data, nil
		}
		return mime.FormatMediaType(mediaType, params), data, nil
	}
	return withCharset(mediaType, params), []byte(body), nil
}

// withCharset is mediaType with its parameters and charset=UTF-8 unless one
// is given, as the controller's text content types carry.
func withCharset(mediaType string, params map[string]string) string {
	p := map[string]string{"charset": "UTF-8"}
	for k, v := range params {
		p[k] = v
	}
	return mime.FormatMediaType(mediaType, p)
}

// headerValues are the header values a .http result's header holds: a
// string, number or boolean, or an array of them.
func headerValues(v any) ([]string, bool) {
	switch v := v.(type) {
	case string:
		return []string{v}, true
	case bool:
		return []string{strconv.FormatBool(v)}, true
	case json.Number:
		return []string{v.String()}, true
	case []any:
		var out []string
		for _, e := range v {
			vs, ok := headerValues(e)
			if !ok {
				return nil, false
			}
			out = append(out, vs...)
		}
		return out, true
	}
	return nil, false
}

// prettyJSON indents JSON as the controller prints web results.
func prettyJSON(raw []byte) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return raw
	}
	return buf.Bytes()
}
