package actionloop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Negotiate is the executable's side of the start-up: given its
// environment, whether it must send an ack (the proxy waits for one) and
// whether it may speak the extension (the proxy waits for an ack and
// announced the extension with EnvExtension).
func Negotiate(getenv func(string) string) (ack, extended bool) {
	ack = getenv(EnvWaitForAck) != ""
	v, _ := strconv.Atoi(getenv(EnvExtension))
	return ack, ack && v >= Version
}

// ErrNotRequest means a stdin line is neither a request (a JSON object) nor
// a control frame.
var ErrNotRequest = errors.New("actionloop: stdin line is not a request")

// Message is one stdin line, as the executable reads it: a request, or a
// control frame when Control is set.
type Message struct {
	// Control is KindCancel for a control frame, "" for a request.
	Control FrameKind
	// Seq is the proxy's sequence number: of the request (extended mode;
	// 0 in upstream mode), or of the request a control frame is about.
	Seq uint64
	// Value is the request's "value": its parameters, an object or an array.
	Value json.RawMessage
	// TraceParent is the W3C traceparent of the activation's span when the
	// proxy traces (TraceKey); "" otherwise. An action that has it reports
	// its work with work frames.
	TraceParent string
	// Context holds the request's other top-level keys as the environment
	// variables OpenWhisk's runtimes export for an activation:
	// "__OW_"+UPPER(key), a string as it is, any other JSON value compact.
	// Keys that differ only in case name one variable: the later member of
	// the line sets it (upstream's launcher, iterating a map, picks one at
	// random).
	Context map[string]string
}

// Context keys an executable commonly reads.
const (
	ContextActivationID = "__OW_ACTIVATION_ID"
	ContextDeadline     = "__OW_DEADLINE"
)

// Deadline is the activation deadline the request carries (epoch
// milliseconds, as a string or a number), zero when absent or not positive.
func (m Message) Deadline() time.Time {
	ms, err := strconv.ParseFloat(m.Context[ContextDeadline], 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms))
}

// ParseMessage decodes one stdin line. A control frame is told apart from a
// request by its top-level "epilogue" key, which OpenWhisk never sends.
func ParseMessage(line []byte) (Message, error) {
	if t := bytes.TrimLeft(line, " \t\r\n"); len(t) == 0 || t[0] != '{' || !json.Valid(line) {
		var probe map[string]json.RawMessage
		err := json.Unmarshal(line, &probe)
		if err == nil {
			err = errors.New("null")
		}
		return Message{}, fmt.Errorf("%w: %v", ErrNotRequest, err)
	}
	var m Message
	var control, seq []byte
	var err error
	members(line, func(key, v []byte) bool {
		k := decodeKey(key)
		switch k {
		case "epilogue":
			control = v
		case "seq":
			seq = v
			fallthrough // in a request, "seq" is a context key like any other
		default:
			if m.Context == nil {
				m.Context = make(map[string]string, 8)
			}
			m.Context[contextName(k)] = contextValue(v)
		case "value":
			m.Value = append(json.RawMessage(nil), v...)
		case SeqKey:
			n, perr := strconv.ParseUint(string(v), 10, 64)
			if perr != nil {
				err = fmt.Errorf("%w: %s is not a sequence number: %s", ErrNotRequest, SeqKey, clipValue(v))
				return false
			}
			m.Seq = n
		case TraceKey:
			tp, ok := stringValue(v)
			if !ok {
				err = fmt.Errorf("%w: %s is not a string: %s", ErrNotRequest, TraceKey, clipValue(v))
				return false
			}
			m.TraceParent = tp
		}
		return true
	})
	if err != nil {
		return Message{}, err
	}
	if control != nil {
		kind, ok := stringValue(control)
		if !ok || kind == "" {
			return Message{}, fmt.Errorf("%w: a control frame with kind %s", ErrNotRequest, clipValue(control))
		}
		n, perr := strconv.ParseUint(string(seq), 10, 64)
		if perr != nil || n == 0 {
			return Message{}, fmt.Errorf("%w: a control frame without a seq", ErrNotRequest)
		}
		return Message{Control: FrameKind(kind), Seq: n}, nil
	}
	if m.Context == nil {
		m.Context = map[string]string{}
	}
	return m, nil
}

// contextName is a context key's environment variable: "__OW_"+UPPER(key),
// without an allocation for the keys OpenWhisk sends every time.
func contextName(key string) string {
	switch key {
	case "activation_id":
		return ContextActivationID
	case "deadline":
		return ContextDeadline
	case "namespace":
		return "__OW_NAMESPACE"
	case "action_name":
		return "__OW_ACTION_NAME"
	case "action_version":
		return "__OW_ACTION_VERSION"
	case "transaction_id":
		return "__OW_TRANSACTION_ID"
	case "api_key":
		return "__OW_API_KEY"
	}
	return "__OW_" + strings.ToUpper(key)
}

// contextValue is a context key's value as its environment variable: a
// string unquoted, anything else compact JSON.
func contextValue(raw []byte) string {
	if s, ok := stringValue(raw); ok {
		return s
	}
	if bytes.ContainsAny(raw, " \t\r\n") {
		var buf bytes.Buffer
		if json.Compact(&buf, raw) == nil {
			return buf.String()
		}
	}
	return string(raw)
}

// ActionReader is the executable's half of stdin: one Message per line.
type ActionReader struct{ r *Reader }

// NewActionReader reads stdin with lines capped at maxLine bytes.
func NewActionReader(r io.Reader, maxLine int) *ActionReader {
	return &ActionReader{r: NewReader(r, maxLine)}
}

// Next returns the next message. Blank lines are skipped. Errors:
// ErrLineTooLong (wrapped; the line was skipped), ErrNotRequest (wrapped;
// the line was read and is unusable), or the end of stdin (io.EOF: the
// proxy is done with the executable).
func (a *ActionReader) Next() (Message, error) {
	for {
		line, err := a.r.ReadLine()
		if err != nil {
			return Message{}, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return ParseMessage(line)
	}
}

// ActionWriter is the executable's half of fd 3: the ack, then answers.
// Every write is one whole line, so concurrent writers (a response and a
// lingering activation's done frame) never interleave. Safe for concurrent
// use.
type ActionWriter struct {
	extended bool

	mu  sync.Mutex
	w   io.Writer
	buf []byte // guarded by mu
}

// NewActionWriter writes to fd 3 in extended or upstream mode, as Negotiate
// decided.
func NewActionWriter(w io.Writer, extended bool) *ActionWriter {
	return &ActionWriter{w: w, extended: extended}
}

// Extended reports whether the writer speaks the extension.
func (a *ActionWriter) Extended() bool { return a.extended }

// Ack writes the start-up ack, announcing the extension in extended mode.
func (a *ActionWriter) Ack() error {
	ack := Ack{OK: true}
	if a.extended {
		ack.Epilogue = Version
	}
	return a.write(ack)
}

// Send writes a frame. In upstream mode only a response is written, as its
// bare result line; pending and done frames have no upstream form and are
// dropped, because an upstream proxy counts an activation done when it
// answers.
func (a *ActionWriter) Send(f Frame) error {
	if !a.extended {
		if f.Kind != KindResponse {
			return nil
		}
		return a.Raw(f.Result)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var err error
	if a.buf, err = AppendFrame(a.buf[:0], f); err != nil {
		return fmt.Errorf("actionloop: encoding a frame: %w", err)
	}
	return a.flushLocked()
}

// Raw writes b as one line, as it is.
func (a *ActionWriter) Raw(b []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buf = append(append(a.buf[:0], b...), '\n')
	return a.flushLocked()
}

func (a *ActionWriter) write(v any) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var err error
	if a.buf, err = AppendLine(a.buf[:0], v); err != nil {
		return fmt.Errorf("actionloop: encoding a line for fd 3: %w", err)
	}
	return a.flushLocked()
}

func (a *ActionWriter) flushLocked() error {
	_, err := a.w.Write(a.buf)
	if cap(a.buf) > 64<<10 {
		a.buf = nil
	}
	if err != nil {
		return fmt.Errorf("actionloop: writing to fd 3: %w", err)
	}
	return nil
}
