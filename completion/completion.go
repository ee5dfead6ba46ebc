package completion

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Activation is what the runtime knows about one activation. The same shape
// is the done record returned by /epilogue/await.
type Activation struct {
	ID    string `json:"id"`
	Seq   uint64 `json:"seq"`
	Phase Phase  `json:"phase"`
	// Pending names the outstanding work, as the action reported it.
	Pending []string `json:"pending,omitempty"`
	// Untracked describes work the action noticed but does not track.
	Untracked []string  `json:"untracked,omitempty"`
	Start     time.Time `json:"start"`
	Deadline  time.Time `json:"deadline,omitzero"`
	// ResponseMs is the time from start to the response.
	ResponseMs float64 `json:"responseMs,omitempty"`
	// SinceResponseMs is the time since the response, while still pending.
	SinceResponseMs float64 `json:"sinceResponseMs,omitempty"`
	// PostResponseMs is the time from the response to done, once terminal.
	PostResponseMs float64 `json:"postResponseMs,omitempty"`
	// Error says why an activation failed or expired.
	Error string `json:"error,omitempty"`
	// Errors are the post-response errors the action reported.
	Errors []string `json:"errors,omitempty"`
	// Unfinished names the work that had not finished when it expired.
	Unfinished []string `json:"unfinished,omitempty"`
}

// Snapshot is the body of GET /epilogue/status.
type Snapshot struct {
	State     State     `json:"state"`
	Semantics Semantics `json:"semantics"`
	// Protocol is ProtocolExtension when the action speaks the extension,
	// ProtocolActionLoop for an upstream executable, "" before /init.
	Protocol string `json:"protocol"`
	// Instance identifies the runtime (its container's hostname by default).
	Instance string `json:"instance,omitempty"`
	// Draining is true once the runtime got a termination signal: it takes
	// no new /init or /run and exits when its pending work is done.
	Draining bool `json:"draining,omitempty"`
	// Activations lists the most recent finished activations, oldest first,
	// then the live ones.
	Activations []Activation `json:"activations"`
	// StrayLines counts fd 3 lines that answered no request and were dropped.
	StrayLines uint64 `json:"strayLines,omitempty"`
	// NotifyFailures counts pushed events that could not be delivered.
	NotifyFailures uint64 `json:"notifyFailures,omitempty"`
	// Counters count the runtime's activations since it started.
	Counters Counters  `json:"counters"`
	Time     time.Time `json:"time"`
}

// Counters count what a runtime did since it started (the runtime's
// metrics; exported over OTLP too when configured).
type Counters struct {
	// Runs counts the activations admitted to the action.
	Runs uint64 `json:"runs"`
	// Responded counts those that answered with work still pending.
	Responded uint64 `json:"responded"`
	// Done, Expired and Failed count the activations that ended so.
	Done    uint64 `json:"done"`
	Expired uint64 `json:"expired"`
	Failed  uint64 `json:"failed"`
	// PostResponseMs sums the time from answer to end of the activations
	// that ended.
	PostResponseMs float64 `json:"postResponseMs"`
}

// EventType says what an Event reports.
type EventType string

// Event types.
const (
	// PhaseChanged: an activation moved to a new phase.
	PhaseChanged EventType = "phase"
	// Quiescent: the instance has nothing running or pending.
	Quiescent EventType = "quiescent"
)

// Event is what a runtime pushes to EPILOGUE_NOTIFY_URL.
type Event struct {
	Type       EventType   `json:"type"`
	Instance   string      `json:"instance,omitempty"`
	State      State       `json:"state"`
	Activation *Activation `json:"activation,omitempty"`
	Time       time.Time   `json:"time"`
}

const signaturePrefix = "sha256="

// Sign returns the SignatureHeader value for body under token.
func Sign(token, body []byte) string {
	m := hmac.New(sha256.New, token)
	m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature under token, in constant time.
func Verify(token, body []byte, sig string) bool {
	hexSum, ok := strings.CutPrefix(sig, signaturePrefix)
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, token)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}
