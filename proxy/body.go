package proxy

import (
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
)

// armBodyDeadline bounds how long the body of a POST /init or /run may take
// to arrive (Config.InitBodyTimeout, RunBodyTimeout): a client that trickles
// or stalls gets an error instead of holding the request forever. Whoever
// reads the body lifts the deadline with endBodyDeadline once it has, so that
// it never cuts the wait for the action that follows. (net/http also clears
// it when it starts its background read at the end of a body; the explicit
// lift covers a body that was not read to its end, and says what is meant.)
func (s *Server) armBodyDeadline(w http.ResponseWriter, r *http.Request) {
	var d time.Duration
	switch r.URL.Path {
	case completion.InitPath:
		d = s.cfg.InitBodyTimeout
	case completion.RunPath:
		d = s.cfg.RunBodyTimeout
	}
	if d > 0 && r.Body != nil && r.Body != http.NoBody {
		// Not supported by every ResponseWriter (httptest's recorder): no bound then.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
	}
}

// endBodyDeadline lifts the deadline armBodyDeadline set: the server has
// no other read deadline once a request's headers are read.
func endBodyDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
}

// bodyReadError is upstream's answer to a body that could not be read.
func bodyReadError(err error) string {
	msg := "Error reading request body: " + err.Error()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		msg += " (the whole body must arrive within the proxy's body read deadline)"
	}
	return msg
}
