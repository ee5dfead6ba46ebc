package sdk

import (
	"io"
	"net/http"
)

// HTTPClient is an http.Client whose requests count as pending work of the
// activation in their context (req.WithContext(ctx) or
// http.NewRequestWithContext) until their response body is closed. When the
// platform traces the activation, each request carries its traceparent
// header (unless the request has one), so the server's spans nest under it.
var HTTPClient = &http.Client{Transport: Transport(nil)}

// Transport wraps base (nil = http.DefaultTransport) so that every request
// made with an activation's context is pending work of that activation, from
// the moment it is sent until its response body is closed or it fails.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base}
}

// traceParentHeader is W3C Trace Context's header.
const traceParentHeader = "traceparent"

type transport struct{ base http.RoundTripper }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	a := From(req.Context())
	if a == nil {
		return t.base.RoundTrip(req)
	}
	w := a.track("http " + req.Method + " " + req.URL.Redacted())
	if a.TraceParent != "" && req.Header.Get(traceParentHeader) == "" {
		// A RoundTripper must not change its caller's request.
		req = req.Clone(req.Context())
		req.Header.Set(traceParentHeader, a.TraceParent)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		w.Fail(err)
		return nil, err
	}
	if resp.Body == nil || resp.Body == http.NoBody {
		w.Done()
		return resp, nil
	}
	resp.Body = &trackedBody{ReadCloser: resp.Body, w: w}
	return resp, nil
}

// trackedBody ends the work when the body is closed; reading it to the end is
// not enough, because the caller may still be using the connection.
type trackedBody struct {
	io.ReadCloser
	w *Work
}

func (b *trackedBody) Close() error {
	err := b.ReadCloser.Close()
	b.w.Done()
	return err
}
