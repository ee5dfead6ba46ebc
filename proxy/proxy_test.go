package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
)

func newTestServer(t testing.TB) *Server {
	t.Helper()
	s, err := New(Config{ActionDir: filepath.Join(t.TempDir(), "action"), Stdout: io.Discard, Stderr: io.Discard, AckTimeout: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func do(s *Server, method, path, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
	return w
}

// assertContract checks what the invoker requires of every answer: a JSON
// object body whose length is declared.
func assertContract(t testing.TB, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	require.Equal(t, strconv.Itoa(w.Body.Len()), w.Header().Get("Content-Length"))
	require.Equal(t, "application/json", w.Header().Get("Content-Type"))
	var v map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v), "body %q", w.Body.String())
	return v
}

func TestRouting(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		name   string
		method string
		path   string
		status int
		errSub string
	}{
		{"unknown path", "POST", "/nope", 404, "no endpoint /nope"},
		{"GET /run", "GET", "/run", 405, "use POST"},
		{"POST /epilogue/status", "POST", completion.StatusPath, 405, "use GET"},
		{"run before init", "POST", "/run", 500, "no action defined yet"},
		{"status", "GET", completion.StatusPath, 200, ""},
		{"await unknown", "GET", completion.AwaitPath + "?activation=x&timeout=1ms", 404, "unknown activation"},
		{"await bad timeout", "GET", completion.AwaitPath + "?timeout=soon", 400, "timeout=500ms"},
		{"await quiescent", "GET", completion.AwaitPath + "?timeout=1s", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(s, tt.method, tt.path, `{"value":{}}`)
			assert.Equal(t, tt.status, w.Code)
			v := assertContract(t, w)
			if tt.errSub != "" {
				assert.Contains(t, v["error"], tt.errSub)
			}
		})
	}
}

func TestInitErrors(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		errMsg string
	}{
		{"empty object", `{}`, 403, msgNoCode},
		{"env null", `{"value":{"code":"","main":"main","binary":false,"env":null}}`, 403, msgNoCode},
		{"not json", `XXX`, 400, "Error unmarshaling request: invalid character 'X' looking for beginning of value"},
		{"bad base64", `{"value":{"code":"!!!!","binary":true}}`, 400, "cannot decode the request: illegal base64 data at input byte 0"},
		{"bad base64 after code", `{"value":{"code":"QUJD\nQUJ!","binary":true}}`, 400, "cannot decode the request: illegal base64 data at input byte 8"},
		{"base64 with an escape", `{"value":{"binary":true,"code":"QUJ\u0044QUJDQ!=="}}`, 400, "cannot decode the request: illegal base64 data at input byte 9"},
		{"code of the wrong type", `{"value":{"code":5}}`, 400, "Error unmarshaling request: json: cannot unmarshal number into Go struct field initBodyRequest.value.code of type string"},
		{"env of the wrong type", `{"value":{"code":"x","env":"A=1"}}`, 400, "Error unmarshaling request: json: cannot unmarshal string into Go struct field initBodyRequest.value.env of type map[string]json.RawMessage"},
		{"syntax error after the code", `{"value":{"code":"QUJD","binary":true} x`, 400, "Error unmarshaling request: invalid character 'x' after object key:value pair"},
		{"truncated", `{"value":{"code":"QUJD`, 400, "Error unmarshaling request: unexpected end of JSON input"},
		{"go source", `{"value":{"code":"package main\nfunc main() {}\n","binary":false}}`, 502, msgSource},
		{"text that cannot run", `{"value":{"code":"hello","binary":false}}`, 502, "cannot start action: command exited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t)
			w := do(s, "POST", "/init", tt.body)
			assert.Equal(t, tt.status, w.Code)
			assert.Equal(t, tt.errMsg, assertContract(t, w)["error"])
		})
	}
}

func TestInitBodyLimit(t *testing.T) {
	s, err := New(Config{ActionDir: t.TempDir(), MaxInitBody: 10, Stdout: io.Discard, Stderr: io.Discard})
	require.NoError(t, err)
	w := do(s, "POST", "/init", `{"value":{"code":"0123456789"}}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	assert.Contains(t, assertContract(t, w)["error"], "limit")
}

func TestActionEnv(t *testing.T) {
	s, err := New(Config{WaitForAck: true, ExecutionEnv: "x/y", ActionEnv: map[string]string{"__OW_API_HOST": "h=1", "__OW_PROXY_VERSION": "override"}})
	require.NoError(t, err)
	env := s.actionEnv(map[string]json.RawMessage{
		"S": json.RawMessage(`"xyz"`), "N": json.RawMessage(`123`), "A": json.RawMessage(`[1, 2,3]`),
		"O": json.RawMessage(`{"b":2, "a":1}`), "Z": json.RawMessage(`null`),
	})
	assert.Equal(t, []string{
		"A=[1,2,3]", "N=123", "O={\"a\":1,\"b\":2}", "S=xyz", "Z=",
		"__OW_API_HOST=h=1", "__OW_EPILOGUE=1", "__OW_EXECUTION_ENV=x/y", "__OW_PROXY_VERSION=override", "__OW_WAIT_FOR_ACK=1",
	}, env)
}

// FuzzInit throws arbitrary /init bodies at the proxy: it must always answer
// with a declared-length JSON object and never write outside its action
// directory.
func FuzzInit(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`XXX`))
	f.Add([]byte(`{"value":{"code":"","main":"main","binary":false,"env":null}}`))
	f.Add([]byte(`{"value":{"code":"UEsDBAoAAAAAAAAAIQAAAAAAAAAAAAAAAAAEAAAAZXhlY1BLAQIUAAoAAAAAAAAAIQAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAABleGVjUEsFBgAAAAABAAEAMgAAACIAAAAAAA==","binary":true}}`))
	f.Add([]byte(`{"value":{"code":"package main","binary":false,"env":{"A":1}}}`))
	f.Add([]byte(`{"value":{"code":5}}`))
	f.Add([]byte(`{"value":{"code":"IyEvYmluL3NoCmV4aXQgMAo=","env":{"A=B":"x"},"binary":true}}`))
	f.Add([]byte(`{"VALUE":{"code":"QUJD\nQUI=","Binary":true},"value":{"code":"!!","code":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		root := t.TempDir()
		s, err := New(Config{ActionDir: filepath.Join(root, "action"), Stdout: io.Discard, Stderr: io.Discard, AckTimeout: 100 * time.Millisecond})
		require.NoError(t, err)
		defer s.Close()
		w := do(s, "POST", "/init", string(body))
		v := assertContract(t, w)
		switch w.Code {
		case 200:
		case 400, 403, 413, 502:
			require.NotEmpty(t, v["error"])
		default:
			t.Fatalf("unexpected status %d: %s", w.Code, w.Body)
		}
		entries, err := os.ReadDir(root)
		require.NoError(t, err)
		for _, e := range entries {
			require.Equal(t, "action", e.Name(), "nothing is written beside the action directory")
		}
	})
}
