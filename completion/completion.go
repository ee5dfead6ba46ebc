package completion

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Phase is where an activation is in its life. Legal moves:
//
//	running → responded → done | expired | failed
//	running → done | failed   (answered with nothing pending, or died)
//
// PhaseDone, PhaseExpired and PhaseFailed are terminal.
type Phase string

// Phases.
const (
	// PhaseRunning: the action has the event and has not answered.
	PhaseRunning Phase = "running"
	// PhaseResponded: the answer went out; work is still pending.
	PhaseResponded Phase = "responded"
	// PhaseDone: nothing is pending any more (or nothing was).
	PhaseDone Phase = "done"
	// PhaseExpired: the deadline came while work was pending; that work was cancelled.
	PhaseExpired Phase = "expired"
	// PhaseFailed: post-response work reported errors, or the action process died.
	PhaseFailed Phase = "failed"
)

// Terminal reports whether p is final.
func (p Phase) Terminal() bool { return p == PhaseDone || p == PhaseExpired || p == PhaseFailed }

// State is the whole instance's state, derived from its activations.
type State string

// States.
const (
	// StateIdle: no activation is running or lingering; the instance may be reclaimed.
	StateIdle State = "idle"
	// StateRunning: an activation has not answered yet.
	StateRunning State = "running"
	// StateLingering: every activation has answered, but work is pending.
	StateLingering State = "lingering"
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
	State State `json:"state"`
	// Semantics is "isolated" or "overlap".
	Semantics string `json:"semantics"`
	// Protocol is "epilogue/1" when the action speaks the extension,
	// "actionloop" for an upstream executable, "" before /init.
	Protocol string `json:"protocol"`
	// Instance identifies the runtime (its container's hostname by default).
	Instance string `json:"instance,omitempty"`
	// Activations lists the most recent finished activations, oldest first,
	// then the live ones.
	Activations []Activation `json:"activations"`
	// StrayLines counts fd 3 lines that answered no request and were dropped.
	StrayLines uint64 `json:"strayLines,omitempty"`
	// NotifyFailures counts pushed events that could not be delivered.
	NotifyFailures uint64    `json:"notifyFailures,omitempty"`
	Time           time.Time `json:"time"`
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

// SignatureHeader carries the HMAC-SHA256 of a pushed event's body.
const SignatureHeader = "X-Epilogue-Signature"

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
