package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
)

// echoScript is an action that answers every activation with {"ok":true},
// after sleeping for the given seconds.
func echoScript(sleep string) string {
	return "#!/bin/sh\nwhile read -r line; do sleep " + sleep + "; echo '{\"ok\":true}' >&3; done\n"
}

// textInit is an /init body with code as text.
func textInit(code string, env map[string]any) string {
	v := map[string]any{"code": code, "binary": false, "main": "main"}
	if env != nil {
		v["env"] = env
	}
	b, _ := json.Marshal(map[string]any{"value": v})
	return string(b)
}

// httpServer serves s over loopback (a real connection: the body read
// deadlines need one). slow requests (header X-Slow) report on started when
// the proxy has read the first bytes of their body.
func httpServer(t *testing.T, s *Server, started chan<- struct{}) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Slow") != "" && started != nil {
			r.Body = &firstRead{ReadCloser: r.Body, started: started}
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs
}

type firstRead struct {
	io.ReadCloser
	started chan<- struct{}
	once    sync.Once
}

func (f *firstRead) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if n > 0 {
		f.once.Do(func() { close(f.started) })
	}
	return n, err
}

type answer struct {
	status int
	err    string
	fail   error
}

// post sends body to url and reads the answer, checking it is a
// declared-length JSON object.
func post(c *http.Client, url string, body io.Reader, slow bool) answer {
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		return answer{fail: err}
	}
	if slow {
		req.Header.Set("X-Slow", "1")
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{fail: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{fail: err}
	}
	if resp.ContentLength != int64(len(b)) {
		return answer{fail: fmt.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(b))}
	}
	var v struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return answer{fail: fmt.Errorf("body %q: %w", b, err)}
	}
	return answer{status: resp.StatusCode, err: v.Error}
}

func boundsServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.ActionDir = filepath.Join(t.TempDir(), "action")
	cfg.Stdout, cfg.Stderr = io.Discard, io.Discard
	s, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// actionDirNames lists ActionDir: the action directories, and nothing else
// once every /init has answered (no temporary file is left).
func actionDirNames(t *testing.T, s *Server) []string {
	t.Helper()
	entries, err := os.ReadDir(s.cfg.ActionDir)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestSlowInitBodyDoesNotBlockInit: an /init whose client stalls while
// sending the body holds no lock, so a concurrent /init completes while it
// is still stalled; when the slow body finally arrives, the action is
// already initialised and it gets upstream's 403.
func TestSlowInitBodyDoesNotBlockInit(t *testing.T) {
	s := boundsServer(t, Config{InitBodyTimeout: time.Minute})
	started := make(chan struct{})
	hs := httpServer(t, s, started)
	good := textInit(echoScript("0"), nil)

	pr, pw := io.Pipe()
	slow := make(chan answer, 1)
	go func() { slow <- post(hs.Client(), hs.URL+completion.InitPath, pr, true) }()
	_, err := io.WriteString(pw, good[:10])
	require.NoError(t, err)
	<-started // the proxy is reading the slow body

	a := post(hs.Client(), hs.URL+completion.InitPath, strings.NewReader(good), false)
	require.NoError(t, a.fail)
	require.Equal(t, http.StatusOK, a.status, a.err)
	select {
	case got := <-slow:
		t.Fatalf("the slow /init answered before its body was sent: %+v", got)
	default:
	}

	_, err = io.WriteString(pw, good[10:])
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	got := <-slow
	require.NoError(t, got.fail)
	assert.Equal(t, http.StatusForbidden, got.status)
	assert.Equal(t, msgInitTwice, got.err)
	assert.Equal(t, []string{"1"}, actionDirNames(t, s))
}

// TestInitBodyDeadline: a body that stops arriving gets upstream's 400
// "Error reading request body" once InitBodyTimeout has passed, and leaves
// nothing behind; an /init that takes longer than the deadline after its
// body has arrived is not cut by it.
func TestInitBodyDeadline(t *testing.T) {
	s := boundsServer(t, Config{InitBodyTimeout: 300 * time.Millisecond, WaitForAck: true, AckTimeout: 2 * time.Minute})
	started := make(chan struct{})
	hs := httpServer(t, s, started)

	pr, pw := io.Pipe()
	defer pw.Close()
	slow := make(chan answer, 1)
	go func() { slow <- post(hs.Client(), hs.URL+completion.InitPath, pr, true) }()
	_, err := io.WriteString(pw, `{"value":{"code":"`)
	require.NoError(t, err)
	<-started
	got := <-slow // only the deadline can end it: the body never ends
	require.NoError(t, got.fail)
	assert.Equal(t, http.StatusBadRequest, got.status)
	assert.True(t, strings.HasPrefix(got.err, "Error reading request body: "), got.err)
	assert.Contains(t, got.err, "i/o timeout")
	assert.Contains(t, got.err, "body read deadline")
	assert.Empty(t, actionDirNames(t, s), "nothing is left of the abandoned body")

	// The action acks after 1 s: the /init lasts past the body deadline.
	script := "#!/bin/sh\nsleep 1\necho '{\"ok\":true}' >&3\n" +
		"while read -r line; do echo '{\"ok\":true}' >&3; done\n"
	a := post(hs.Client(), hs.URL+completion.InitPath, strings.NewReader(textInit(script, nil)), false)
	require.NoError(t, a.fail)
	require.Equal(t, http.StatusOK, a.status, a.err)
	assert.Equal(t, []string{"1"}, actionDirNames(t, s))
}

// TestRunBodyDeadline: the same for /run, whose body goes through readBody;
// the deadline is lifted once the body is read, so a /run whose action takes
// longer than it still gets its result.
func TestRunBodyDeadline(t *testing.T) {
	s := boundsServer(t, Config{RunBodyTimeout: 300 * time.Millisecond})
	started := make(chan struct{})
	hs := httpServer(t, s, started)
	a := post(hs.Client(), hs.URL+completion.InitPath, strings.NewReader(textInit(echoScript("1"), nil)), false)
	require.NoError(t, a.fail)
	require.Equal(t, http.StatusOK, a.status, a.err)

	pr, pw := io.Pipe()
	defer pw.Close()
	slow := make(chan answer, 1)
	go func() { slow <- post(hs.Client(), hs.URL+completion.RunPath, pr, true) }()
	_, err := io.WriteString(pw, `{"value":`)
	require.NoError(t, err)
	<-started
	got := <-slow
	require.NoError(t, got.fail)
	assert.Equal(t, http.StatusBadRequest, got.status)
	assert.True(t, strings.HasPrefix(got.err, "Error reading request body: "), got.err)
	assert.Contains(t, got.err, "i/o timeout")

	req, err := http.NewRequest(http.MethodPost, hs.URL+completion.RunPath, strings.NewReader(`{"value":{}}`))
	require.NoError(t, err)
	resp, err := hs.Client().Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	assert.Equal(t, "{\"ok\":true}\n", string(b))
}

// TestInitChunkedOverLimit: a body without Content-Length is cut at the
// limit as it streams.
func TestInitChunkedOverLimit(t *testing.T) {
	s := boundsServer(t, Config{MaxInitBody: 1000})
	hs := httpServer(t, s, nil)
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, `{"value":{"binary":true,"code":"`+strings.Repeat("QUJD", 300)+`"}}`)
		_ = pw.Close()
	}()
	a := post(hs.Client(), hs.URL+completion.InitPath, pr, false)
	require.NoError(t, a.fail)
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.status)
	assert.Equal(t, "the /init body is larger than the limit of 1000 bytes", a.err)
}

func TestInitEnvKeys(t *testing.T) {
	code := echoScript("0")
	tests := []struct {
		env    map[string]any
		errMsg string
	}{
		{map[string]any{"A=B": "x"}, `the /init env key "A=B" contains '=', which the name of an environment variable cannot hold: the action would see "A" set to "B=…" instead`},
		{map[string]any{"OK": "1", "NUL\x00": "x"}, `the /init env key "NUL\x00" contains NUL, which the name of an environment variable cannot hold`},
		{map[string]any{"": "x"}, "the /init env has an empty key: every key must be the name of an environment variable"},
		{map[string]any{"V": "a\x00b"}, `the value of the /init env key "V" contains NUL, which an environment variable cannot hold`},
	}
	for _, tt := range tests {
		t.Run(tt.errMsg, func(t *testing.T) {
			s := newTestServer(t)
			w := do(s, "POST", "/init", textInit(code, tt.env))
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.Equal(t, tt.errMsg, assertContract(t, w)["error"])
			// Nothing ran: a good init still works.
			w = do(s, "POST", "/init", textInit(code, map[string]any{"A": "B=C", "N": 1}))
			assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
		})
	}
	// Missing code is still upstream's 403 first.
	w := do(newTestServer(t), "POST", "/init", `{"value":{"env":{"A=B":"x"}}}`)
	assert.Equal(t, http.StatusForbidden, w.Code)
}

func TestInitTextTooLong(t *testing.T) {
	s := newTestServer(t)
	w := do(s, "POST", "/init", textInit("#!/bin/sh\n"+strings.Repeat("#", maxTextCode), nil))
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	assert.Contains(t, assertContract(t, w)["error"], "binary true")
}

func TestAwaitBound(t *testing.T) {
	s := boundsServer(t, Config{MaxAwaiters: 2})
	s.reg.Begin(1, "a1", time.Now().Add(time.Minute))
	path := completion.AwaitPath + "?" + completion.AwaitActivationParam + "=a1&" + completion.AwaitTimeoutParam + "=30s"
	waiting := make(chan *httptest.ResponseRecorder, 2)
	for range 2 {
		go func() { waiting <- do(s, "GET", path, "") }()
	}
	require.Eventually(t, func() bool { return s.awaiters.Load() == 2 }, time.Minute, time.Millisecond)

	w := do(s, "GET", path, "")
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Equal(t, "1", w.Header().Get("Retry-After"))
	assert.Equal(t, "too many concurrent /epilogue/await calls (2); retry later or use EPILOGUE_NOTIFY_URL pushes", assertContract(t, w)["error"])

	s.reg.Finish(1, failed("test"))
	for range 2 {
		w := <-waiting
		assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	}
	assert.Equal(t, int64(0), s.awaiters.Load())
	w = do(s, "GET", path, "")
	assert.Equal(t, http.StatusOK, w.Code, "the waiters that answered no longer count")
}

func TestAwaitTimeoutParam(t *testing.T) {
	s := newTestServer(t)
	for _, tt := range []struct {
		timeout string
		status  int
		errMsg  string
	}{
		{"-1", 400, `timeout "-1" must not be negative: use e.g. timeout=500ms or timeout=30s (at most 10m0s), or timeout=0 to answer at once`},
		{"-1s", 400, `timeout "-1s" must not be negative: use e.g. timeout=500ms or timeout=30s (at most 10m0s), or timeout=0 to answer at once`},
		{"soon", 400, `timeout "soon" is not a duration: use e.g. timeout=500ms or timeout=30s (at most 10m0s)`},
		{"0", 200, ""},
		{"0s", 200, ""},
		{"250", 200, ""},
		{strconv.FormatInt(1<<62, 10), 200, ""}, // capped, not overflowed into a negative duration
	} {
		w := do(s, "GET", completion.AwaitPath+"?timeout="+tt.timeout, "")
		assert.Equal(t, tt.status, w.Code, tt.timeout)
		v := assertContract(t, w)
		if tt.errMsg != "" {
			assert.Equal(t, tt.errMsg, v["error"])
		}
	}
	d, err := parseTimeout(strconv.FormatInt(1<<62, 10))
	require.NoError(t, err)
	assert.Equal(t, MaxAwaitTimeout, d)
}
