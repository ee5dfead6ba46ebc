package actionloop

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		name          string
		env           map[string]string
		ack, extended bool
	}{
		{"no proxy wishes: plain, no ack", nil, false, false},
		{"upstream proxy in ack mode", map[string]string{EnvWaitForAck: "1"}, true, false},
		{"Epilogue proxy in ack mode", map[string]string{EnvWaitForAck: "1", EnvExtension: "1"}, true, true},
		{"a later extension version still speaks 1", map[string]string{EnvWaitForAck: "1", EnvExtension: "2"}, true, true},
		{"no ack wait: the extension cannot be announced", map[string]string{EnvExtension: "1"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ack, ext := Negotiate(func(k string) string { return tt.env[k] })
			assert.Equal(t, tt.ack, ack)
			assert.Equal(t, tt.extended, ext)
		})
	}
}

func TestParseMessage(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Message
		err  string
	}{
		{"upstream request", `{"value":{"a":1},"activation_id":"a1","deadline":"1700000060000","namespace":"guest"}`,
			Message{Value: json.RawMessage(`{"a":1}`), Context: map[string]string{
				"__OW_ACTIVATION_ID": "a1", "__OW_DEADLINE": "1700000060000", "__OW_NAMESPACE": "guest"}}, ""},
		{"extended request", `{"epilogue_seq":7,"value":[1, 2]}`,
			Message{Seq: 7, Value: json.RawMessage(`[1, 2]`), Context: map[string]string{}}, ""},
		{"non-string context values are compact JSON", `{"value":{},"deadline":1700000060000,"extra":{"b": [1, 2]}}`,
			Message{Value: json.RawMessage(`{}`), Context: map[string]string{"__OW_DEADLINE": "1700000060000", "__OW_EXTRA": `{"b":[1,2]}`}}, ""},
		{"cancel frame", `{"epilogue":"cancel","seq":3}`, Message{Control: KindCancel, Seq: 3}, ""},
		{"a value may hold an epilogue key", `{"epilogue_seq":3,"value":{"epilogue":"x"}}`,
			Message{Seq: 3, Value: json.RawMessage(`{"epilogue":"x"}`), Context: map[string]string{}}, ""},
		{"control frame without seq", `{"epilogue":"cancel"}`, Message{}, "without a seq"},
		{"bad seq", `{"epilogue_seq":"x"}`, Message{}, "not a sequence number"},
		{"not an object", `["a"]`, Message{}, "cannot unmarshal array"},
		{"null", `null`, Message{}, "null"},
		{"not json", `XXX`, Message{}, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMessage([]byte(tt.line))
			if tt.err != "" {
				require.ErrorIs(t, err, ErrNotRequest)
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, m)
		})
	}
	m, err := ParseMessage([]byte(`{"deadline":"1700000060000"}`))
	require.NoError(t, err)
	assert.True(t, time.UnixMilli(1700000060000).Equal(m.Deadline()))
}

// pair connects the proxy's half and the action's half through pipes, as
// the executor connects an executable.
type pair struct {
	toAction   *ProxyWriter
	fromProxy  *ActionReader
	toProxy    *ActionWriter
	fromAction *ProxyReader
}

func newPair(t *testing.T, extended bool) *pair {
	t.Helper()
	stdinR, stdinW := io.Pipe()
	fd3R, fd3W := io.Pipe()
	t.Cleanup(func() { _ = stdinW.Close(); _ = fd3W.Close() })
	p := &pair{
		toAction: NewProxyWriter(stdinW), fromProxy: NewActionReader(stdinR, 1<<20),
		toProxy: NewActionWriter(fd3W, extended), fromAction: NewProxyReader(fd3R, 1<<20),
	}
	go func() { assert.NoError(t, p.toProxy.Ack()) }()
	ack, err := p.fromAction.ReadAck()
	require.NoError(t, err)
	require.Equal(t, extended, ack.Extended())
	return p
}

func TestHalvesTalk(t *testing.T) {
	for _, extended := range []bool{false, true} {
		name := map[bool]string{false: "upstream", true: "extended"}[extended]
		t.Run(name, func(t *testing.T) {
			p := newPair(t, extended)
			seq := uint64(0)
			if extended {
				seq = 9
			}
			go func() {
				assert.NoError(t, p.toAction.Request([]byte("{\"value\":{\"n\":1},\n\"activation_id\":\"a9\"}"), seq, ""))
			}()
			m, err := p.fromProxy.Next()
			require.NoError(t, err)
			assert.Equal(t, seq, m.Seq)
			assert.JSONEq(t, `{"n":1}`, string(m.Value))
			assert.Equal(t, "a9", m.Context[ContextActivationID])

			go func() {
				assert.NoError(t, p.toProxy.Send(Frame{Kind: KindResponse, Seq: m.Seq, Pending: []string{"w"}, Result: json.RawMessage(`{"<ok>":true}`)}))
				assert.NoError(t, p.toProxy.Send(Frame{Kind: KindDone, Seq: m.Seq, Status: StatusOK}))
				assert.NoError(t, p.toProxy.Raw([]byte(`{"after":1}`)))
			}()
			f, _, err := p.fromAction.Next()
			require.NoError(t, err)
			assert.Equal(t, KindResponse, f.Kind)
			assert.Equal(t, `{"<ok>":true}`, string(f.Result), "the result keeps its bytes")
			if extended {
				assert.Equal(t, []string{"w"}, f.Pending)
				f, _, err = p.fromAction.Next()
				require.NoError(t, err)
				assert.Equal(t, Frame{Kind: KindDone, Seq: 9, Status: StatusOK}, f)
				_, line, err := p.fromAction.Next()
				require.ErrorIs(t, err, ErrNotFrame, "a raw line is not a frame in extended mode")
				assert.Equal(t, `{"after":1}`, string(line))
			} else {
				assert.True(t, f.Done, "an upstream answer is done at once")
				f, _, err = p.fromAction.Next()
				require.NoError(t, err, "the done frame has no upstream form: the next line is the raw one")
				assert.Equal(t, `{"after":1}`, string(f.Result))
			}

			go func() { assert.NoError(t, p.toAction.Cancel(9)) }()
			m, err = p.fromProxy.Next()
			require.NoError(t, err)
			assert.Equal(t, Message{Control: KindCancel, Seq: 9}, m)
		})
	}
}

func TestProxyReaderEnds(t *testing.T) {
	r := NewProxyReader(bytes.NewReader(nil), 10)
	_, err := r.ReadAck()
	assert.ErrorIs(t, err, ErrNoAck)
	r = NewProxyReader(bytes.NewReader([]byte(`{"ok":true}`+"\n"+`{"x":"0123456789"}`+"\n"+`{}`+"\n")), 12)
	_, err = r.ReadAck()
	require.NoError(t, err)
	_, _, err = r.Next()
	assert.ErrorIs(t, err, ErrLineTooLong)
	f, _, err := r.Next()
	require.NoError(t, err, "the reader stays usable after a long line")
	assert.Equal(t, `{}`, string(f.Result))
	_, _, err = r.Next()
	assert.ErrorIs(t, err, io.EOF)
}

// FuzzRoundTrip: whatever /run body the proxy accepts reaches the action as
// the same value and context, with the proxy's seq; whatever frame the
// action sends reaches the proxy unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte(`{"value":{"a":1},"activation_id":"x","deadline":"17"}`), uint64(1), []byte(`{"epilogue":"response","seq":1,"result":{"a":1}}`))
	f.Add([]byte("{\n\"value\" : [1,\n2]}"), uint64(0), []byte(`{"epilogue":"done","seq":3,"status":"error","errors":["e"]}`))
	f.Add([]byte(`{"value":"\n","k":{"z":[null]}}`), uint64(9), []byte(`{"epilogue":"pending","seq":2,"pending":["p"]}`))
	f.Fuzz(func(t *testing.T, body []byte, seq uint64, frameLine []byte) {
		if _, err := ParseRequest(body); err == nil {
			var out bytes.Buffer
			require.NoError(t, NewProxyWriter(&out).Request(body, seq, ""))
			require.Equal(t, 1, bytes.Count(out.Bytes(), []byte{'\n'}), "one request, one line")
			var fields map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(body, &fields))
			m, err := NewActionReader(&out, 1<<30).Next()
			require.NoError(t, err, "line %q", out.String())
			assert.Equal(t, seq, m.Seq, "the proxy's seq, never one the body brought")
			assert.Empty(t, m.Control, "a request is never taken for a control frame")
			if v, ok := fields["value"]; ok {
				assert.JSONEq(t, string(v), string(m.Value))
			}
			names := map[string]bool{}
			for k := range fields {
				if k != "value" {
					names["__OW_"+strings.ToUpper(k)] = true
				}
			}
			assert.Len(t, m.Context, len(names))
		}
		fr, err := ParseFrame(frameLine)
		if err != nil {
			return
		}
		var wire bytes.Buffer
		require.NoError(t, NewActionWriter(&wire, true).Send(fr))
		r := NewProxyReader(&wire, 1<<30)
		r.extended = true
		got, _, err := r.Next()
		require.NoError(t, err)
		again, err := AppendLine(nil, got)
		require.NoError(t, err)
		first, err := AppendLine(nil, fr)
		require.NoError(t, err)
		assert.Equal(t, string(first), string(again))
	})
}

// The trace context and the work frames cross the pipes, both halves: the
// action reads the traceparent as its own field (not an __OW_ variable),
// and the proxy reads a work frame as the action wrote it.
func TestTraceAndWorkFramesCrossThePipes(t *testing.T) {
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	var stdin bytes.Buffer
	require.NoError(t, NewProxyWriter(&stdin).Request([]byte(`{"value":{},"activation_id":"a1"}`), 5, tp))
	m, err := NewActionReader(&stdin, 1<<20).Next()
	require.NoError(t, err)
	assert.Equal(t, uint64(5), m.Seq)
	assert.Equal(t, tp, m.TraceParent)
	assert.NotContains(t, m.Context, "__OW_EPILOGUE_TRACEPARENT")
	assert.Equal(t, "a1", m.Context[ContextActivationID])

	var fd3 bytes.Buffer
	w := NewActionWriter(&fd3, true)
	require.NoError(t, w.Ack())
	start := Frame{Kind: KindWork, Seq: 5, Work: 1, Name: "redis SET id:42", Start: 1700000000000000001}
	end := Frame{Kind: KindWork, Seq: 5, Work: 1, End: 1700000000000000002, Error: "timeout"}
	require.NoError(t, w.Send(start))
	require.NoError(t, w.Send(end))
	r := NewProxyReader(&fd3, 1<<20)
	_, err = r.ReadAck()
	require.NoError(t, err)
	for _, want := range []Frame{start, end} {
		got, _, err := r.Next()
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}
