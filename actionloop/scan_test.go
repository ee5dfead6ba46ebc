package actionloop

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hand-written readers and writers must agree with encoding/json: these
// targets hold them to a reference written with it.

// field is one member of a JSON object.
type field struct {
	key string
	raw json.RawMessage
}

// lastInOrder lists the members of the JSON object line in the order of
// the line, each key once, at its last occurrence (the one encoding/json
// keeps); line must be an object encoding/json accepts.
func lastInOrder(line []byte) []field {
	dec := json.NewDecoder(bytes.NewReader(line))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	var all []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil
		}
		all = append(all, field{key: tok.(string), raw: raw})
	}
	last := map[string]int{}
	for i, f := range all {
		last[f.key] = i
	}
	var out []field
	for i, f := range all {
		if last[f.key] == i {
			out = append(out, f)
		}
	}
	return out
}

// referenceMessage is ParseMessage written with encoding/json.
func referenceMessage(line []byte) (Message, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(line, &fields) != nil || fields == nil {
		return Message{}, false
	}
	if raw, ok := fields["epilogue"]; ok {
		var m Message
		if json.Unmarshal(raw, &m.Control) != nil || m.Control == "" {
			return Message{}, false
		}
		if json.Unmarshal(fields["seq"], &m.Seq) != nil || m.Seq == 0 {
			return Message{}, false
		}
		return m, true
	}
	m := Message{Value: fields["value"], Context: map[string]string{}}
	// In the order of the line: two keys that differ only in case name the
	// same variable, and the later one is its value (a map's order would
	// make the reference itself random).
	for _, f := range lastInOrder(line) {
		k, raw := f.key, f.raw
		switch k {
		case "value":
			if string(raw) == "null" {
				m.Value = nil
			}
		case SeqKey:
			if json.Unmarshal(raw, &m.Seq) != nil || string(raw) == "null" {
				return Message{}, false
			}
		case TraceKey:
			if json.Unmarshal(raw, &m.TraceParent) != nil || raw[0] != '"' {
				return Message{}, false
			}
		default:
			var s string
			if json.Unmarshal(raw, &s) == nil && raw[0] == '"' {
				m.Context["__OW_"+strings.ToUpper(k)] = s
				continue
			}
			var buf bytes.Buffer
			_ = json.Compact(&buf, raw)
			m.Context["__OW_"+strings.ToUpper(k)] = buf.String()
		}
	}
	return m, true
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"epilogue_seq":7,"value":{"a":[1, 2]},"activation_id":"a1","deadline":1700000060000,"x":{"b" : null}}`))
	f.Add([]byte(`{"epilogue":"cancel","seq":3}`))
	f.Add([]byte(`{"value":"\u00e9\n","k\u0065y":"v\"w"}`))
	f.Add([]byte(`{"seq":4,"value":null}`))
	f.Add([]byte(`{"epilogue_seq":5,"epilogue_traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","value":{}}`))
	f.Add([]byte(`{"epilogue_seq":5,"epilogue_traceparent":null}`))
	f.Add([]byte(`[1]`))
	f.Fuzz(func(t *testing.T, line []byte) {
		got, err := ParseMessage(line)
		want, ok := referenceMessage(line)
		if !ok {
			require.Error(t, err, "encoding/json refuses %q", line)
			return
		}
		if err != nil {
			// Duplicate keys may differ in which one counts only for the
			// reserved ones; nothing else may be refused.
			t.Fatalf("ParseMessage(%q): %v; encoding/json reads %+v", line, err, want)
		}
		if got.Value != nil && want.Value != nil {
			assert.JSONEq(t, string(want.Value), string(got.Value))
			got.Value, want.Value = nil, nil
		}
		if string(got.Value) == "null" {
			got.Value = nil
		}
		assert.Equal(t, want, got)
	})
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"value":{},"activation_id":"a1","deadline":"1700000060000"}`))
	f.Add([]byte(`{"deadline":1.7e12,"activation_id":"\u0061"}`))
	f.Add([]byte(`{"Epilogue":1}`))
	f.Add([]byte(`{"EPILOGUE_TRACEPARENT":"x"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := ParseRequest(body)
		var fields map[string]json.RawMessage
		jerr := json.Unmarshal(body, &fields)
		if jerr != nil || fields == nil {
			require.Error(t, err, "encoding/json refuses %q", body)
			return
		}
		for k := range fields {
			if strings.EqualFold(k, "epilogue") || strings.EqualFold(k, SeqKey) || strings.EqualFold(k, TraceKey) {
				require.ErrorIs(t, err, ErrReservedKey)
				return
			}
		}
		var id string
		if raw, ok := fields["activation_id"]; ok && string(raw) != "null" {
			if json.Unmarshal(raw, &id) != nil {
				require.Error(t, err, "a non-string activation_id")
				return
			}
		}
		require.NoError(t, err)
		assert.Equal(t, id, got.ActivationID)
		var deadline time.Time
		if raw, ok := fields["deadline"]; ok {
			if ms, perr := strconv.ParseFloat(string(bytes.Trim(raw, `"`)), 64); perr == nil && ms > 0 {
				deadline = time.UnixMilli(int64(ms))
			}
		}
		assert.True(t, deadline.Equal(got.Deadline), "deadline %v; want %v", got.Deadline, deadline)
	})
}

// FuzzAppendFrame: what AppendFrame writes is one line of JSON that
// encoding/json decodes to the frame written, and ParseFrame reads back.
func FuzzAppendFrame(f *testing.F) {
	f.Add("response", uint64(7), true, "p\u2028", "", "", 12.5, []byte(`{"a": [1,2]}`), uint64(0), "", int64(0), int64(0))
	f.Add("done", uint64(1), false, "", "error", "x\"\n<", 0.0, []byte(nil), uint64(0), "", int64(0), int64(0))
	f.Add("pending", uint64(3), false, "\xff", "", "", 1e-9, []byte(`[]`), uint64(0), "", int64(0), int64(0))
	f.Add("work", uint64(3), false, "", "", "", 0.0, []byte(nil), uint64(2), "http GET \xff\"", int64(1700000000000000001), int64(0))
	f.Add("work", uint64(3), false, "", "", "boom", 0.0, []byte(nil), uint64(2), "", int64(0), int64(-5))
	f.Fuzz(func(t *testing.T, kind string, seq uint64, done bool, pending, status, errText string, post float64, result []byte,
		work uint64, name string, start, end int64) {
		fr := Frame{Kind: FrameKind(kind), Seq: seq, Done: done, Status: DoneStatus(status), Error: errText, PostResponseMs: post,
			Work: work, Name: name, Start: start, End: end}
		if pending != "" {
			fr.Pending = []string{pending, "b"}
		}
		if len(result) > 0 {
			fr.Result = result
		}
		line, err := AppendFrame(nil, fr)
		if err != nil {
			require.False(t, json.Valid(result) && !isNaNOrInf(post), "AppendFrame refused a valid frame: %v", err)
			return
		}
		require.Equal(t, 1, bytes.Count(line, []byte{'\n'}), "one line: %q", line)
		var decoded Frame
		require.NoError(t, json.Unmarshal(line, &decoded), "%q", line)
		want := fr
		want.Pending = nil
		for _, p := range fr.Pending {
			want.Pending = append(want.Pending, jsonText(p))
		}
		want.Kind = FrameKind(jsonText(string(fr.Kind)))
		want.Status = DoneStatus(jsonText(string(fr.Status)))
		want.Error = jsonText(fr.Error)
		want.Name = jsonText(fr.Name)
		back, perr := ParseFrame(line[:len(line)-1])
		if len(result) > 0 {
			assert.JSONEq(t, string(result), string(decoded.Result))
			if perr == nil {
				assert.Equal(t, string(decoded.Result), string(back.Result))
				back.Result = nil
			}
			decoded.Result, want.Result = nil, nil
		}
		assert.Equal(t, want, decoded)
		if perr == nil {
			assert.Equal(t, decoded, back, "ParseFrame reads what encoding/json reads")
		}
	})
}

func isNaNOrInf(f float64) bool {
	return f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308
}

// jsonText is s as encoding/json carries it: each invalid byte becomes U+FFFD.
func jsonText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // utf8.RuneError for an invalid byte
		i += n
	}
	return b.String()
}
