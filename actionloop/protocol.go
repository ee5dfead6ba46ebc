package actionloop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sentinel is the line OpenWhisk's log collector waits for on both stdout and
// stderr at the end of every activation.
const Sentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"

// PostResponsePrefix is what the proxy puts in front of every log line an
// activation writes after its response (after its sentinel), so that a log
// collector can still attribute the line: "[activation ID] ".
func PostResponsePrefix(activationID string) string {
	return "[activation " + activationID + "] "
}

// PostResponseActivation returns the activation id of a line that starts
// with PostResponsePrefix, and the line without the prefix.
func PostResponseActivation(line string) (id, rest string, ok bool) {
	const open = "[activation "
	if len(line) < len(open) || line[:len(open)] != open {
		return "", line, false
	}
	for i := len(open); i < len(line); i++ {
		switch c := line[i]; {
		case c == ']':
			if i == len(open) || i+1 >= len(line) || line[i+1] != ' ' {
				return "", line, false
			}
			return line[len(open):i], line[i+2:], true
		case c == ' ' || c == '[':
			return "", line, false
		}
	}
	return "", line, false
}

// Version is the version of the Epilogue extension this package speaks.
const Version = 1

// Environment variables the proxy sets for the executable.
const (
	// EnvExtension announces the extension version the proxy speaks.
	EnvExtension = "__OW_EPILOGUE"
	// EnvWaitForAck is set (upstream convention) when the proxy waits for an ack.
	EnvWaitForAck = "__OW_WAIT_FOR_ACK"
)

// SeqKey is the top-level request key carrying the proxy's sequence number in
// extended mode.
const SeqKey = "epilogue_seq"

// TraceKey is the top-level request key carrying, in extended mode when the
// proxy traces, the W3C traceparent of the activation's span: the action's
// own spans and outgoing requests nest under it. Its presence also asks the
// action for work frames (KindWork), which the proxy turns into spans.
const TraceKey = "epilogue_traceparent"

// Errors a caller may branch on.
var (
	// ErrNotInitialized is upstream's message for an ack whose "ok" is not true.
	//lint:ignore ST1005 upstream's wording, which OpenWhisk users see and match on
	ErrNotInitialized = errors.New("The action did not initialize properly.")
	// ErrNotFrame means an extended executable wrote a line that is not a frame.
	ErrNotFrame = errors.New("actionloop: line on fd 3 is not an Epilogue frame")
)

// Ack is the start-up line an executable writes on fd 3.
type Ack struct {
	OK bool `json:"ok"`
	// Epilogue is the extension version the executable speaks; 0 means none.
	Epilogue int `json:"epilogue,omitempty"`
}

// ParseAck decodes an ack line. The errors match upstream's wording, because
// OpenWhisk users see them in /init responses.
func ParseAck(line []byte) (Ack, error) {
	var a Ack
	if err := json.Unmarshal(line, &a); err != nil {
		return Ack{}, err
	}
	if !a.OK {
		return Ack{}, ErrNotInitialized
	}
	return a, nil
}

// Extended reports whether the executable announced a version of the
// extension this package understands.
func (a Ack) Extended() bool { return a.Epilogue >= 1 }

// AppendLine appends v's JSON encoding and a newline to dst. Encoding never
// emits a raw newline, so the result is exactly one line. HTML characters
// are not escaped: a result keeps its bytes ("<" stays "<").
func AppendLine(dst []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}

// Request holds what the proxy needs from a /run body.
type Request struct {
	// ActivationID is the platform's activation id; empty when not sent.
	ActivationID string
	// Deadline is the activation deadline; zero when not sent or not positive.
	Deadline time.Time
	// actionName is action_name's raw JSON, inside the body: decoded only
	// when asked for (ActionName), so /run pays nothing for it otherwise.
	actionName []byte
}

// ActionName is the body's action_name ("/namespace/package/action"), ""
// when absent or not a string.
func (r Request) ActionName() string {
	s, _ := stringValue(r.actionName)
	return s
}

// ErrReservedKey means a /run body uses a top-level key the extension
// reserves on stdin; OpenWhisk never sends one, and passing it on would let
// a caller forge a control frame or another request's sequence number.
var ErrReservedKey = errors.New("actionloop: the /run body uses a reserved top-level key")

// ParseRequest validates a /run body (a JSON object) and extracts the
// activation id and deadline. OpenWhisk sends the deadline as a string of
// epoch milliseconds although its documentation says number; both are
// accepted. The reserved keys are refused whatever their case.
func ParseRequest(body []byte) (Request, error) {
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return Request{}, errors.New("actionloop: the /run body is not a JSON object")
	}
	if !json.Valid(body) {
		var probe map[string]json.RawMessage
		return Request{}, json.Unmarshal(body, &probe) // for encoding/json's words
	}
	var r Request
	var err error
	members(body, func(key, v []byte) bool {
		k := key
		if bytes.IndexByte(key, '\\') >= 0 {
			k = []byte(decodeKey(key))
		}
		switch {
		case bytes.EqualFold(k, []byte("epilogue")) || bytes.EqualFold(k, []byte(SeqKey)) || bytes.EqualFold(k, []byte(TraceKey)):
			err = fmt.Errorf("%w: %q, %q and %q are Epilogue's", ErrReservedKey, "epilogue", SeqKey, TraceKey)
			return false
		case string(v) == "null":
		case string(k) == "activation_id":
			id, ok := stringValue(v)
			if !ok {
				err = fmt.Errorf("actionloop: activation_id is %s, not a string", clipValue(v))
				return false
			}
			r.ActivationID = id
		case string(k) == "action_name":
			r.actionName = v
		case string(k) == "deadline":
			raw := bytes.Trim(v, `"`)
			if ms, perr := strconv.ParseFloat(string(raw), 64); perr == nil && ms > 0 {
				r.Deadline = time.UnixMilli(int64(ms))
			} else {
				r.Deadline = time.Time{}
			}
		}
		return true
	})
	if err != nil {
		return Request{}, err
	}
	return r, nil
}

// AppendRequestLine appends the line written on the executable's stdin for
// a /run body to dst. Raw newlines are whitespace in valid JSON, so removing
// them keeps the value and makes the body one line (upstream does the same).
// In extended mode (seq > 0) the sequence number is spliced in as the first
// key, and a non-empty traceparent as TraceKey after it; body must then be
// a JSON object, as ParseRequest has checked.
func AppendRequestLine(dst, body []byte, seq uint64, traceparent string) []byte {
	body = bytes.TrimSpace(body)
	if seq > 0 {
		dst = append(dst, `{"`+SeqKey+`":`...)
		dst = strconv.AppendUint(dst, seq, 10)
		if traceparent != "" {
			dst = append(dst, `,"`+TraceKey+`":`...)
			dst = appendString(dst, traceparent)
		}
		body = bytes.TrimLeft(body[1:], " \t\r\n")
		if len(body) > 0 && body[0] != '}' {
			dst = append(dst, ',')
		}
	}
	for {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			break
		}
		dst = append(dst, body[:i]...)
		body = body[i+1:]
	}
	dst = append(dst, body...)
	return append(dst, '\n')
}

// FrameKind names what a frame says.
type FrameKind string

// Frame kinds. Response, Pending, Done and Work travel on fd 3; Cancel on
// stdin.
const (
	KindResponse FrameKind = "response"
	KindPending  FrameKind = "pending"
	KindDone     FrameKind = "done"
	KindCancel   FrameKind = "cancel"
	// KindWork reports that one tracked piece of work started (Start and
	// Name set) or ended (End set, Error when it failed), at the action's
	// clock. An action sends them only for a request that carried TraceKey,
	// so a proxy that does not trace never receives one.
	KindWork FrameKind = "work"
)

// DoneStatus is how an activation's post-response work ended.
type DoneStatus string

// Done statuses.
const (
	StatusOK      DoneStatus = "ok"
	StatusError   DoneStatus = "error"
	StatusExpired DoneStatus = "expired"
)

// Frame is one line of the extension.
type Frame struct {
	Kind FrameKind `json:"epilogue"`
	Seq  uint64    `json:"seq"`
	// Done on a response frame means nothing is pending.
	Done bool `json:"done,omitempty"`
	// Pending names the work still outstanding (response and pending frames).
	Pending []string `json:"pending,omitempty"`
	// Untracked describes work the executable noticed but does not track,
	// e.g. goroutines started during the activation that are still running.
	Untracked []string `json:"untracked,omitempty"`
	// Status, Error, Errors, Unfinished and PostResponseMs describe a done frame.
	Status         DoneStatus `json:"status,omitempty"`
	Error          string     `json:"error,omitempty"`
	Errors         []string   `json:"errors,omitempty"`
	Unfinished     []string   `json:"unfinished,omitempty"`
	PostResponseMs float64    `json:"postResponseMs,omitempty"`
	// Work numbers a work item within its activation (work frames); Name,
	// Start (Unix nanoseconds) on its start frame, End on its end frame.
	Work  uint64 `json:"work,omitempty"`
	Name  string `json:"name,omitempty"`
	Start int64  `json:"start,omitempty"`
	End   int64  `json:"end,omitempty"`
	// Result is the activation's result on a response frame.
	Result json.RawMessage `json:"result,omitempty"`
}

// ParseFrame decodes one extension line and checks that it is well formed.
// Keys match exactly (the extension's writers never vary them); unknown
// keys are ignored and null is as good as absent.
func ParseFrame(line []byte) (Frame, error) {
	if t := bytes.TrimLeft(line, " \t\r\n"); len(t) == 0 || t[0] != '{' || !json.Valid(line) {
		var probe map[string]json.RawMessage
		err := json.Unmarshal(line, &probe)
		if err == nil {
			err = errors.New("not a JSON object")
		}
		return Frame{}, fmt.Errorf("%w: %v", ErrNotFrame, err)
	}
	f, err := parseFrame(line)
	if err != nil {
		return Frame{}, err
	}
	if f.Seq == 0 {
		return Frame{}, fmt.Errorf("%w: missing seq", ErrNotFrame)
	}
	switch f.Kind {
	case KindResponse:
		if len(f.Result) == 0 {
			return Frame{}, fmt.Errorf("%w: response without result", ErrNotFrame)
		}
	case KindPending, KindCancel:
	case KindWork:
		if f.Work == 0 || (f.Start > 0) == (f.End > 0) {
			return Frame{}, fmt.Errorf("%w: a work frame needs a work number and either start or end", ErrNotFrame)
		}
	case KindDone:
		switch f.Status {
		case StatusOK, StatusError, StatusExpired:
		default:
			return Frame{}, fmt.Errorf("%w: done status %q is not ok, error or expired", ErrNotFrame, f.Status)
		}
	default:
		return Frame{}, fmt.Errorf("%w: unknown kind %q", ErrNotFrame, f.Kind)
	}
	return f, nil
}
