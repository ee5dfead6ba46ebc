package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// Messages the controller sends, verbatim, so wsk prints what users know.
const (
	msgNotFound      = "The requested resource does not exist."
	msgUnauthorized  = "The supplied authentication is invalid"
	msgDocsWithCount = "The parameter 'docs' is not permitted with 'count'."
)

// errorBody is the controller's ErrorResponse: both fields are needed for
// client-go to print "<error> (code <code>)".
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// writeJSON answers status with v as JSON, with Content-Type and Content-Length.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = json.Marshal(errorBody{Error: fmt.Sprintf("cannot encode the response: %v", err), Code: transactionID()})
	}
	writeRaw(w, status, body)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client went away; nothing to do
}

// writeError answers status with the controller's error shape and a fresh
// transaction id.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg, Code: transactionID()})
}

func writeErrorf(w http.ResponseWriter, status int, format string, args ...any) {
	writeError(w, status, fmt.Sprintf(format, args...))
}

// transactionID is the "code" of an error body: 32 hex digits, as the
// controller's transaction ids.
func transactionID() string { return entity.NewActivationID() }

func notFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, msgNotFound)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeErrorf(w, http.StatusMethodNotAllowed, "HTTP method %s is not allowed for %s.", r.Method, r.URL.Path)
}
