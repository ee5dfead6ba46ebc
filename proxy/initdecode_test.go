package proxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memSink is a codeSink in memory.
type memSink struct{ b bytes.Buffer }

func (m *memSink) Write(p []byte) (int, error) { return m.b.Write(p) }
func (m *memSink) Reset() error                { m.b.Reset(); return nil }

// checkDecodeInit decodes body with decodeInit, reading it through read, and
// requires the same outcome as json.Unmarshal into initRequest followed by
// base64.StdEncoding.DecodeString: the same error text, or the same binary,
// main, env (compared compacted: the decoder drops whitespace between
// tokens), code emptiness, base64 error or decoded bytes, and text.
func checkDecodeInit(t testing.TB, body []byte, read func(io.Reader) io.Reader, textLimit int) {
	t.Helper()
	var want initRequest
	wantErr := json.Unmarshal(body, &want)

	sink := &memSink{}
	got, err := decodeInit(read(bytes.NewReader(body)), sink, initLimits{Text: textLimit})
	if wantErr != nil {
		var jerr *initJSONError
		require.ErrorAsf(t, err, &jerr, "body %q: encoding/json fails with %q", body, wantErr)
		require.Equalf(t, wantErr.Error(), jerr.Error(), "body %q", body)
		return
	}
	require.NoErrorf(t, err, "body %q", body)
	v := want.Value
	require.Equalf(t, v.Binary, got.Binary, "binary of %q", body)
	require.Equalf(t, v.Main, got.Main, "main of %q", body)
	require.Equalf(t, v.Env == nil, got.Env == nil, "env of %q: %v, want %v", body, got.Env, v.Env)
	require.Equalf(t, len(v.Env), len(got.Env), "env of %q: %v, want %v", body, got.Env, v.Env)
	for k, raw := range v.Env {
		g, ok := got.Env[k]
		require.Truef(t, ok, "env of %q lacks %q", body, k)
		var a, b bytes.Buffer
		require.NoError(t, json.Compact(&a, raw))
		require.NoError(t, json.Compact(&b, g))
		require.Equalf(t, a.String(), b.String(), "env %q of %q", k, body)
	}
	require.Equalf(t, v.Code != "", got.HasCode, "code of %q", body)
	if v.Code == "" {
		return
	}
	if len(v.Code) > textLimit {
		require.Truef(t, got.TextTooLong, "a %d-byte text code with the limit %d", len(v.Code), textLimit)
		require.Nil(t, got.Text)
	} else {
		require.Falsef(t, got.TextTooLong, "body %q", body)
		require.Equalf(t, v.Code, string(got.Text), "text code of %q", body)
	}
	decoded, b64Err := base64.StdEncoding.DecodeString(v.Code)
	if b64Err != nil {
		require.Equalf(t, b64Err, got.CodeErr, "base64 error of code %q", v.Code)
		return
	}
	require.NoErrorf(t, got.CodeErr, "code %q", v.Code)
	require.NoError(t, got.SinkErr)
	require.Equalf(t, int64(len(decoded)), got.Decoded, "decoded length of %q", v.Code)
	require.Truef(t, bytes.Equal(decoded, sink.b.Bytes()), "decoded code of %q: %q, want %q", v.Code, sink.b.Bytes(), decoded)
}

// checkB64Stream requires b64Stream, fed in and at cut, to agree with
// base64.StdEncoding.DecodeString.
func checkB64Stream(t testing.TB, in []byte, cut int) {
	t.Helper()
	want, wantErr := base64.StdEncoding.DecodeString(string(in))
	var out bytes.Buffer
	var s b64Stream
	s.reset(&out)
	cut = min(max(cut, 0), len(in))
	s.write(in[:cut])
	s.write(in[cut:])
	s.finish()
	if wantErr != nil {
		require.Equalf(t, wantErr, s.err, "base64 %q", in)
		return
	}
	require.NoErrorf(t, s.err, "base64 %q", in)
	require.Truef(t, bytes.Equal(want, out.Bytes()), "base64 %q: %q, want %q", in, out.Bytes(), want)
}

func whole(r io.Reader) io.Reader { return r }

// decodeInitCases are bodies whose decoding is easy to get wrong.
var decodeInitCases = []string{
	``, ` `, `XXX`, `{}`, `null`, `[]`, `"str"`, `5`, `true`, `{"value":null}`, `{"value":5}`, `{"value":"x"}`,
	`{"value":[1,{"code":"QUJD"}]}`, `{} x`, `{}   `, "\t{ }\n", `{"value":{}} {}`, `{"value":{"code":"QUJD"}`,
	`{"value":{"code":"","main":"main","binary":false,"env":null}}`,
	`{"value":{"code":"QUJD","binary":true}}`,
	`{"value":{"binary":true,"code":"QUJD"}}`,
	`{"value":{"code":"QUJD"},"value":{"binary":true}}`,
	`{"value":{"code":"QUJD"},"value":null}`,
	`{"value":{"code":"QUJD"},"value":{"code":null}}`,
	`{"value":{"code":"QUJD"},"value":{"code":""}}`,
	`{"value":{"code":"QUJD","code":"REVG"}}`,
	`{"VALUE":{"Code":"QUJD","BINARY":true,"Main":"m","ENV":{"a":"b"}}}`,
	`{"value":{"\u0063ode":"QUJD","binary":true}}`,
	`{"valu\u0065":{"code":"QUJD"}}`,
	`{"value":{"code":"QU\u004AD","binary":true}}`,
	`{"value":{"code":"QUJD\nREVG","binary":true}}`,
	`{"value":{"code":"QUJD\r\n","binary":true}}`,
	`{"value":{"code":"QUI=","binary":true}}`, `{"value":{"code":"QQ==","binary":true}}`,
	`{"value":{"code":"QQ=","binary":true}}`, `{"value":{"code":"QQ=\n","binary":true}}`, `{"value":{"code":"QQ=x","binary":true}}`,
	`{"value":{"code":"QQ==\n\n","binary":true}}`, `{"value":{"code":"QQ==QQ==","binary":true}}`, `{"value":{"code":"QQ==\nx","binary":true}}`,
	`{"value":{"code":"Q===","binary":true}}`, `{"value":{"code":"=","binary":true}}`, `{"value":{"code":"Q","binary":true}}`,
	`{"value":{"code":"QU","binary":true}}`, `{"value":{"code":"QUJ","binary":true}}`, `{"value":{"code":"QUJDQ","binary":true}}`,
	`{"value":{"code":"QUJD\n\nQ","binary":true}}`, `{"value":{"code":"QQ=\n\n=","binary":true}}`, `{"value":{"code":"QQ=\n\nx","binary":true}}`,
	`{"value":{"code":"!!!!","main":"main","binary":true}}`, `{"value":{"code":"QUJD!","binary":true}}`,
	`{"value":{"code":"\n","binary":true}}`, `{"value":{"code":"\u00e9","binary":true}}`,
	`{"value":{"code":"\ud83d\ude00 \ud83d x \ude00 \ud83d\ud83d\ude00 \ud83d","binary":false}}`,
	`{"value":{"code":"\ud83d\u0041","binary":false}}`,
	"{\"value\":{\"code\":\"a\xffb\xe2\x82\",\"binary\":false}}",
	"{\"value\":{\"code\":\"\xe2\x82\xac \xf0\x9f\x98\x80 \xed\xa0\x80\",\"binary\":false}}",
	"{\"value\":{\"code\":\"tab\there\"}}", `{"value":{"code":"bad \x escape"}}`, `{"value":{"code":"bad \u12g4"}}`,
	`{"value":{"code":"bad \u12"}}`, `{"value":{"code":"unterminated`, `{"value":{"code":"ends in \`, `{"value":{"code":"ends in \u00`,
	`{"value":{"code":5}}`, `{"value":{"binary":"yes","code":"QUJD"}}`, `{"value":{"binary":{"a":"b"},"code":"QUJD"}}`,
	`{"value":{"main":5,"code":"QUJD"}}`, `{"value":{"env":"str","code":"QUJD"}}`, `{"value":{"env":[1],"code":"QUJD"}}`,
	`{"value":{"code":"QUJD","env":{"A":1,"B":[1, 2,3],"C":{"b":2, "a":1},"D":null,"E":"e\u00e9\n","F":true,"A":2}}}`,
	`{"value":{"code":"QUJD","env":{"A":"x"}},"value":{"env":{"B":"y"}}}`,
	`{"value":{"code":"QUJD","env":{"A":"x"}},"value":{"env":null}}`,
	`{"value":{"code":"QUJD","main":"m\u00e9in"}}`,
	`{"value":{"code":"QUJD","name":"n","other":{"deep":[{"code":"!!"}]}}}`,
	`{"other":{"value":{"code":"QUJD"}},"value":{"code":"REVG","binary":true}}`,
	`{"value":{"code":"QUJD"}, "x": [1, -0.5e+10, 1E5, 0, -0, 1.0e-2, true, false, null, "s"]}`,
	`[01]`, `[1 2]`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":1e+}`, `{"a":tru}`, `{"a":tr ue}`, `{"a":nul}`, `{"a" 1}`, `{"a":1,}`,
	`{,}`, `{"a":1 "b":2}`, `[1,]`, `[,1]`, `{"a":[}`, `{"a"}`, `{1:2}`, `-`, `01`, `1 2`, `1.5`, `"\u0000"`,
	"{\"a\":\"\x01\"}", "{\"\x01\":1}", `{"a\x":1}`, `{"value":{"c\u00":1}}`,
	strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth),
	strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1),
	`{"value":{"code":"QUJD","` + strings.Repeat("k", maxKeyRaw+10) + `":1}}`,
	`{"` + strings.Repeat("v", maxKeyRaw+10) + `":{"code":"!"},"value":{"code":"QUJD"}}`,
	`{"value":{"code":"` + strings.Repeat("QUJD", 5000) + `","binary":true}}`,
	`{"value":{"code":"` + strings.Repeat("QUJD\n", 3000) + `QQ==` + strings.Repeat("\n", 100) + `","binary":true}}`,
}

func TestDecodeInitMatchesEncodingJSON(t *testing.T) {
	for _, body := range decodeInitCases {
		name := body
		if len(name) > 60 {
			name = name[:60] + fmt.Sprintf("…(%d bytes)", len(body))
		}
		t.Run(name, func(t *testing.T) {
			checkDecodeInit(t, []byte(body), whole, maxTextCode)
			checkDecodeInit(t, []byte(body), iotest.OneByteReader, 8)
			checkDecodeInit(t, []byte(body), iotest.HalfReader, 4)
		})
	}
}

func TestB64StreamMatchesDecodeString(t *testing.T) {
	cases := []string{"", "QUJD", "QUJDRA==", "QUJDREU=", "QUJD\r\nREVG", "QQ=", "QQ=\r\n=", "QQ=\r\nx", "QQ==\n\n", "QQ==x",
		"QQ==\nx", "Q===", "====", "Q", "QU", "QUJ", "\n", "\nQ", "QUJD\n\nQU", "!", "QUJD!", "QUI=QUI=", "QUI=\nQ", "QUJ\n=", "Q\nQ\n=\n=\n"}
	for _, c := range cases {
		for cut := 0; cut <= len(c); cut++ {
			checkB64Stream(t, []byte(c), cut)
		}
	}
}

func TestDecodeInitLimits(t *testing.T) {
	body := `{"value":{"code":"QUJD","env":{"A":"` + strings.Repeat("a", 200) + `"}}}`
	_, err := decodeInit(strings.NewReader(body), &memSink{}, initLimits{Fields: 100})
	var ferr *initFieldsError
	require.ErrorAs(t, err, &ferr)
	assert.Contains(t, err.Error(), "take more than 100 bytes")

	// The code and what no field decodes do not count.
	body = `{"name":"` + strings.Repeat("n", 500) + `","value":{"code":"` + strings.Repeat("QUJD", 500) + `","x":"` + strings.Repeat("x", 500) + `"}}`
	f, err := decodeInit(strings.NewReader(body), &memSink{}, initLimits{Fields: 100})
	require.NoError(t, err)
	assert.True(t, f.HasCode)
	assert.Equal(t, int64(1500), f.Decoded)

	// Over the body limit: 413, whatever the JSON holds.
	_, err = decodeInit(strings.NewReader(`XXX`+strings.Repeat(" ", 100)), &memSink{}, initLimits{Body: 50})
	var terr *initTooLargeError
	require.ErrorAs(t, err, &terr)
	assert.Equal(t, "the /init body is larger than the limit of 50 bytes", err.Error())
	_, err = decodeInit(strings.NewReader(`XXX`), &memSink{}, initLimits{Body: 3})
	require.ErrorAs(t, err, new(*initJSONError), "exactly the limit is allowed")

	// A read error wins over what was read before it.
	_, err = decodeInit(io.MultiReader(strings.NewReader(`XXX`), iotest.ErrReader(errors.New("connection reset"))), &memSink{}, initLimits{})
	var rerr *initReadError
	require.ErrorAs(t, err, &rerr)
	assert.Equal(t, "connection reset", err.Error())
}

// FuzzDecodeInit checks the streaming /init decoder against encoding/json
// followed by base64.StdEncoding.DecodeString: for any body, both reject it
// with the same error, or agree on binary, main, env and the code (its
// text, its base64 error or its decoded bytes), whether the body arrives
// whole or a byte at a time. The input is also tried as the content of a
// code string, and fed straight to the base64 decoder, cut in two.
func FuzzDecodeInit(f *testing.F) {
	for _, c := range decodeInitCases {
		if len(c) < 1000 {
			f.Add([]byte(c))
		}
	}
	f.Add([]byte("QQ=\r\n="))
	f.Add([]byte("QUJD\nQUI=\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		checkDecodeInit(t, in, whole, maxTextCode)
		checkDecodeInit(t, in, iotest.OneByteReader, 16)
		code, err := json.Marshal(string(in))
		require.NoError(t, err)
		for _, binary := range []string{"true", "false"} {
			body := []byte(`{"value":{"binary":` + binary + `,"code":` + string(code) + `,"main":"main"}}`)
			checkDecodeInit(t, body, whole, maxTextCode)
			checkDecodeInit(t, body, iotest.HalfReader, 16)
		}
		cut := 0
		if len(in) > 0 {
			cut = int(in[0]) % (len(in) + 1)
		}
		checkB64Stream(t, in, cut)
	})
}
