package api

import (
	"net/http"
)

// listNamespaces: GET /api/v1/namespaces → the caller's namespace, the only
// one it may use (`wsk namespace list`).
func (s *server) listNamespaces(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, []string{callerOf(r).namespace})
}

// listNone: GET …/triggers and …/rules → []. This server has no triggers or
// rules yet, so the lists are truly empty; answering them lets `wsk list` and
// `wsk namespace get` list the rest.
func (s *server) listNone(w http.ResponseWriter, r *http.Request) {
	if _, ok := namespace(w, r); !ok {
		return
	}
	if _, _, err := page(r.URL.Query()); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, []struct{}{})
}

// notSupported answers every other trigger, rule and feed request: 501 and
// what to do instead, rather than a 404 that reads like a typo.
func notSupported(w http.ResponseWriter, r *http.Request) {
	writeErrorf(w, http.StatusNotImplemented, "Triggers, rules and feeds are not supported by epilogue standalone yet (%s %s); invoke actions directly with `wsk action invoke`", r.Method, r.URL.Path)
}
