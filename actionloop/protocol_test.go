package actionloop

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseAck(t *testing.T) {
	tests := []struct {
		name     string
		line     string
		extended bool
		err      string
	}{
		{"upstream", `{"ok":true}`, false, ""},
		{"upstream launcher spacing", `{ "ok": true}`, false, ""},
		{"extended", `{"ok":true,"epilogue":1}`, true, ""},
		{"not ok", `{"ok":false}`, false, "The action did not initialize properly."},
		{"empty object", `{}`, false, "The action did not initialize properly."},
		{"not json", `bad ack`, false, "invalid character 'b' looking for beginning of value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseAck([]byte(tt.line))
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.extended, a.Extended())
		})
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		id       string
		deadline time.Time
		err      bool
	}{
		{"string deadline", `{"value":{},"activation_id":"a1","deadline":"1700000060000"}`, "a1", time.UnixMilli(1700000060000), false},
		{"number deadline", `{"value":{},"deadline":1700000060000}`, "", time.UnixMilli(1700000060000), false},
		{"zero deadline is none", `{"value":{},"deadline":"0"}`, "", time.Time{}, false},
		{"garbage deadline is none", `{"deadline":"soon"}`, "", time.Time{}, false},
		{"array value", `{"value":["a","b"]}`, "", time.Time{}, false},
		{"not an object", `["a"]`, "", time.Time{}, true},
		{"null", `null`, "", time.Time{}, true},
		{"a forged control frame", `{"epilogue":"cancel","seq":1}`, "", time.Time{}, true},
		{"a forged seq", `{"value":{},"epilogue_seq":5}`, "", time.Time{}, true},
		{"reserved keys match as encoding/json does", `{"Epilogue_Seq":5}`, "", time.Time{}, true},
		{"not json", `XXX`, "", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(tt.body))
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.id, r.ActivationID)
			assert.True(t, tt.deadline.Equal(r.Deadline), "deadline %v; want %v", r.Deadline, tt.deadline)
		})
	}
}

func TestRequestLine(t *testing.T) {
	tests := []struct {
		name string
		body string
		seq  uint64
		want string
	}{
		{"upstream keeps the body", `{"value":{"a":1}}`, 0, `{"value":{"a":1}}` + "\n"},
		{"newlines stripped", "{\n  \"value\": {\"s\":\"x\\ny\"}\n}\n", 0, `{  "value": {"s":"x\ny"}}` + "\n"},
		{"seq spliced", `{"value":{}}`, 7, `{"epilogue_seq":7,"value":{}}` + "\n"},
		{"seq into empty object", `{ }`, 3, `{"epilogue_seq":3}` + "\n"},
		{"seq with leading space", "  {\"value\":1}", 2, `{"epilogue_seq":2,"value":1}` + "\n"},
	}
	tp := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(AppendRequestLine(nil, []byte(tt.body), tt.seq, "")))
		})
	}
	t.Run("traceparent after the seq", func(t *testing.T) {
		assert.Equal(t, `{"epilogue_seq":4,"epilogue_traceparent":"`+tp+`","value":{}}`+"\n",
			string(AppendRequestLine(nil, []byte(`{"value":{}}`), 4, tp)))
	})
	t.Run("no traceparent upstream", func(t *testing.T) {
		assert.Equal(t, `{"value":{}}`+"\n", string(AppendRequestLine(nil, []byte(`{"value":{}}`), 0, tp)))
	})
}

func TestParseFrame(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Frame
		err  string
	}{
		{"response", `{"epilogue":"response","seq":7,"done":true,"result":{"a": 1}}`,
			Frame{Kind: KindResponse, Seq: 7, Done: true, Result: json.RawMessage(`{"a": 1}`)}, ""},
		{"done", `{"epilogue":"done","seq":7,"status":"expired","unfinished":["w"]}`,
			Frame{Kind: KindDone, Seq: 7, Status: StatusExpired, Unfinished: []string{"w"}}, ""},
		{"pending", `{"epilogue":"pending","seq":1,"pending":["x"]}`, Frame{Kind: KindPending, Seq: 1, Pending: []string{"x"}}, ""},
		{"work start", `{"epilogue":"work","seq":2,"work":3,"name":"http GET x","start":1700000000000000001}`,
			Frame{Kind: KindWork, Seq: 2, Work: 3, Name: "http GET x", Start: 1700000000000000001}, ""},
		{"work end", `{"epilogue":"work","seq":2,"work":3,"end":1700000000000000002,"error":"boom"}`,
			Frame{Kind: KindWork, Seq: 2, Work: 3, End: 1700000000000000002, Error: "boom"}, ""},
		{"work without number", `{"epilogue":"work","seq":2,"start":1}`, Frame{}, "work number"},
		{"work with start and end", `{"epilogue":"work","seq":2,"work":1,"start":1,"end":2}`, Frame{}, "either start or end"},
		{"work with neither", `{"epilogue":"work","seq":2,"work":1}`, Frame{}, "either start or end"},
		{"work start not a number", `{"epilogue":"work","seq":2,"work":1,"start":"1"}`, Frame{}, "\"start\""},
		{"no seq", `{"epilogue":"done","status":"ok"}`, Frame{}, "missing seq"},
		{"bad status", `{"epilogue":"done","seq":1,"status":"meh"}`, Frame{}, "done status"},
		{"response without result", `{"epilogue":"response","seq":1}`, Frame{}, "without result"},
		{"unknown kind", `{"epilogue":"hello","seq":1}`, Frame{}, "unknown kind"},
		{"upstream result", `{"greeting":"hi"}`, Frame{}, "missing seq"},
		{"not json", `not json`, Frame{}, "not an Epilogue frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFrame([]byte(tt.line))
			if tt.err != "" {
				require.ErrorIs(t, err, ErrNotFrame)
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, f)
		})
	}
}

func TestReader(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name  string
		input string
		max   int
		want  []string // "ERR" marks an ErrLineTooLong
	}{
		{"lines", "a\nbb\n", 10, []string{"a", "bb"}},
		{"last line without newline", "a\nb", 10, []string{"a", "b"}},
		{"too long is skipped, reader resyncs", long + "\nok\n", 10, []string{"ERR", "ok"}},
		{"exactly max", "0123456789\n", 10, []string{"0123456789"}},
		{"long line over the buffer", strings.Repeat("y", 200<<10) + "\n", 300 << 10, []string{strings.Repeat("y", 200<<10)}},
		{"long line over the buffer and the cap", strings.Repeat("y", 200<<10) + "\nz\n", 100 << 10, []string{"ERR", "z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.input), tt.max)
			var got []string
			for {
				line, err := r.ReadLine()
				if errors.Is(err, io.EOF) {
					break
				}
				if errors.Is(err, ErrLineTooLong) {
					got = append(got, "ERR")
					continue
				}
				require.NoError(t, err)
				got = append(got, string(line))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func FuzzParseFrame(f *testing.F) {
	f.Add([]byte(`{"epilogue":"response","seq":7,"done":true,"result":{"a":1}}`))
	f.Add([]byte(`{"epilogue":"done","seq":7,"status":"error","error":"x","errors":["x"]}`))
	f.Add([]byte(`{"epilogue":"pending","seq":1,"pending":["x"],"untracked":["g"]}`))
	f.Add([]byte(`{"ok":true}`))
	f.Add([]byte(`{"epilogue":"work","seq":2,"work":3,"name":"g\u00e9","start":17}`))
	f.Add([]byte(`{"epilogue":"work","seq":2,"work":3,"end":18,"error":"x"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		fr, err := ParseFrame(line)
		if err != nil {
			return
		}
		// A frame that parses survives a round trip unchanged.
		enc, err := AppendLine(nil, fr)
		require.NoError(t, err)
		require.Equal(t, 1, bytes.Count(enc, []byte{'\n'}), "a frame encodes to one line")
		again, err := ParseFrame(enc[:len(enc)-1])
		require.NoError(t, err)
		// Encoding is a fixed point (empty and absent lists are the same frame).
		enc2, err := AppendLine(nil, again)
		require.NoError(t, err)
		require.Equal(t, string(enc), string(enc2))
	})
}

func FuzzRequestLine(f *testing.F) {
	f.Add([]byte(`{"value":{"a":1},"activation_id":"x"}`), uint64(1))
	f.Add([]byte("{\n}"), uint64(0))
	f.Add([]byte(`{"value":"\n"}`), uint64(9))
	f.Fuzz(func(t *testing.T, body []byte, seq uint64) {
		if _, err := ParseRequest(body); err != nil {
			return
		}
		const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		line := AppendRequestLine(nil, body, seq, tp)
		// Exactly one line, still valid JSON, same content apart from the seq.
		require.Equal(t, 1, bytes.Count(line, []byte{'\n'}))
		require.Equal(t, byte('\n'), line[len(line)-1])
		var got, want map[string]any
		require.NoError(t, json.Unmarshal(line, &got), "line %q", line)
		require.NoError(t, json.Unmarshal(body, &want))
		if seq > 0 {
			require.EqualValues(t, seq, got[SeqKey])
			require.Equal(t, tp, got[TraceKey])
			delete(got, SeqKey)
			delete(got, TraceKey)
			delete(want, SeqKey)
		}
		require.Equal(t, want, got)
	})
}
