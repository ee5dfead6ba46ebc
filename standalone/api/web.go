package api

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/store"
)

// The controller's web action messages, verbatim.
const (
	msgPropertyNotFound       = "Response does not include requested property."
	msgErrorProcessingRequest = "There was an error processing your request."
	msgResponseNotReady       = "Response not yet ready."
)

// HeaderRequireWhiskAuth carries the secret of a web action annotated
// require-whisk-auth with a string or number.
const HeaderRequireWhiskAuth = "X-Require-Whisk-Auth"

// The CORS headers the controller adds to every web action answer unless the
// action handles OPTIONS itself (web-custom-options).
const (
	corsAllowMethods = "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH"
	corsAllowHeaders = "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent"
)

// webMethods are the methods the controller's web route accepts.
var webMethods = []string{
	http.MethodGet, http.MethodDelete, http.MethodPost, http.MethodPut,
	http.MethodHead, http.MethodOptions, http.MethodPatch,
}

// web: ANY /api/v1/web/NS/PKG/ACTION[.EXT][/PATH] runs an action annotated
// web-export=true without credentials and answers with its result, shaped by
// the extension (webresponse.go). Credentials are optional: valid ones set
// __ow_user and satisfy require-whisk-auth=true.
func (s *server) web(w http.ResponseWriter, r *http.Request) {
	t, ok := parseWebPath(strings.TrimPrefix(r.URL.Path, webPrefix))
	if !ok {
		notFound(w, r)
		return
	}
	// The size comes first, as in the controller: 413 whatever the path names.
	body, err := readBody(w, r, s.maxInvoke)
	if err != nil {
		fail(w, err)
		return
	}
	a, owner, err := s.webAction(t)
	if err != nil {
		fail(w, err)
		return
	}
	user, authenticated := s.user(r)
	if !a.AnnotationIsTrue(entity.AnnotationWebCustomOptions) {
		setCORS(w.Header(), r.Header)
		if r.Method == http.MethodOptions {
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	if r.Method != http.MethodOptions && !webAuthorized(a, r.Header, authenticated) {
		writeError(w, http.StatusUnauthorized, msgUnauthorized)
		return
	}
	raw := a.AnnotationIsTrue(entity.AnnotationRawHTTP)
	decoded, err := decodeWebBody(r.Header.Get("Content-Type"), body, raw)
	if err != nil {
		fail(w, err)
		return
	}
	req := webRequest{method: r.Method, headers: r.Header, host: r.Host, path: t.rest, query: r.URL.RawQuery, body: decoded}
	if !raw && req.overridden(append(immutableParameters(a), owReserved...)) {
		writeError(w, http.StatusBadRequest, msgParametersNotAllowed)
		return
	}
	args, err := req.arguments(user.namespace, raw)
	if err != nil {
		fail(w, err)
		return
	}
	params, err := webParams(a, args)
	if err != nil {
		fail(w, err)
		return
	}
	inv, ok := s.startFor(w, r, InvokeRequest{Action: a, Params: params, Subject: owner.namespace, APIKey: owner.apiKey})
	if !ok {
		return
	}
	w.Header().Set(HeaderActivationID, inv.ID())
	timer := time.NewTimer(s.blockingLimit)
	defer timer.Stop()
	select {
	case <-inv.Done():
	case <-timer.C:
		writeError(w, http.StatusAccepted, msgResponseNotReady)
		return
	case <-r.Context().Done():
		return // the caller left; the activation goes on
	}
	respondWeb(w, t.ext, inv.Record().Response)
}

// webAction returns the web action t names and the identity it runs as. An
// action that is not exported, is reached through a binding, or does not
// exist is store.ErrNotFound alike: the controller does not look through
// bindings here, and hides whether a non-web action exists.
func (s *server) webAction(t webTarget) (entity.Action, caller, error) {
	notWeb := fmt.Errorf("%w: no web action %s/%s", store.ErrNotFound, t.namespace, t.name())
	owner, ok := s.owner(t.namespace)
	if !ok {
		return entity.Action{}, caller{}, notWeb
	}
	a, binding, err := s.resolveAction(t.namespace, t.name())
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, errBadRequest):
		return entity.Action{}, caller{}, notWeb
	case err != nil:
		return entity.Action{}, caller{}, err
	case binding != "" || !a.AnnotationIsTrue(entity.AnnotationWebExport):
		return entity.Action{}, caller{}, notWeb
	}
	return a, owner, nil
}

// setCORS sets the controller's default CORS answer: any origin, the web
// methods, and the headers the preflight asked for or the usual ones.
func setCORS(h, req http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	if asked := req.Get("Access-Control-Request-Headers"); asked != "" {
		h.Set("Access-Control-Allow-Headers", asked)
	} else {
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	}
}

// owner returns the identity that owns namespace ns, whose activation a web
// invocation is: the controller runs web actions as their owner.
func (s *server) owner(ns string) (caller, bool) {
	uuids := make([]string, 0, len(s.keys))
	for uuid := range s.keys {
		uuids = append(uuids, uuid)
	}
	sort.Strings(uuids) // one answer when a key map names a namespace twice
	for _, uuid := range uuids {
		c := caller{namespace: NamespaceOf(uuid), apiKey: uuid + ":" + s.keys[uuid]}
		if c.namespace == ns {
			return c, true
		}
	}
	return caller{}, false
}

// webAuthorized applies require-whisk-auth: true needs valid credentials, a
// string or number needs X-Require-Whisk-Auth equal to it, any other value
// refuses every request; without the annotation anyone may call.
func webAuthorized(a entity.Action, h http.Header, authenticated bool) bool {
	v, ok := a.Annotations.Get(entity.AnnotationRequireWhiskAuth)
	if !ok {
		return true
	}
	var secret any
	if err := json.Unmarshal(v, &secret); err != nil {
		return false
	}
	want := ""
	switch s := secret.(type) {
	case bool:
		return s && authenticated
	case string:
		want = s
	case float64:
		want = strings.TrimSpace(string(v)) // as written: 42, not 4.2e1
	default:
		return false
	}
	got, sent := h[http.CanonicalHeaderKey(HeaderRequireWhiskAuth)]
	return sent && len(got) > 0 && subtle.ConstantTimeCompare([]byte(got[0]), []byte(want)) == 1
}

// immutableParameters are the parameters a request may not set: with
// final=true, every one the action (or its package) defines with a value
// other than null (the controller's definedParameters).
func immutableParameters(a entity.Action) []string {
	if !a.AnnotationIsTrue(entity.AnnotationFinal) {
		return nil
	}
	keys := make([]string, 0, len(a.Parameters))
	for _, p := range a.Parameters {
		if string(bytes.TrimSpace(p.Value)) != "null" {
			keys = append(keys, p.Key)
		}
	}
	return keys
}

// webParams is the action's parameters overridden by the request's
// arguments, as one JSON object.
func webParams(a entity.Action, args map[string]json.RawMessage) (json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(a.Parameters)+len(args))
	for _, p := range a.Parameters {
		out[p.Key] = p.Value
	}
	for k, v := range args {
		out[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, errors.Join(errors.New("api: encode the web action's parameters"), err)
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}
