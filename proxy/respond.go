package proxy

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// writeBody answers with a JSON body and an explicit Content-Length: the
// invoker treats a response without one as "exited unexpectedly" (upstream
// sent long error bodies chunked).
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
	// Sent now, not when the handler returns: /run writes its sentinels
	// after its answer.
	_ = http.NewResponseController(w).Flush()
}

// writeJSON encodes v as one line.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": "proxy: cannot encode response: " + err.Error()})
		status = http.StatusInternalServerError
	}
	writeBody(w, status, append(b, '\n'))
}

// writeError answers {"error": msg} as upstream does.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
