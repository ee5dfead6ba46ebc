package api

import (
	"net/http"
)

// listNamespaces: GET /api/v1/namespaces → the caller's namespace, the only
// one it may use (`wsk namespace list`).
func (s *server) listNamespaces(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, []string{callerOf(r).namespace})
}
