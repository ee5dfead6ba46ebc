package backendtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/standalone/backend"
)

// Sentinel is the line the proxy prints on stdout and stderr after each
// activation.
const Sentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"

// LabelKey is set ("1") on every container the suite creates, so that a
// backend's tests can find leftovers of an interrupted run.
const LabelKey = "dev.epilogue.backendtest"

// Bounds. Every wait of the suite is bounded by one of these: far above a
// busy machine's delays, none waited out when the suite passes. The two
// probes are the exception, and a slow machine can only make them pass:
// they expect no answer.
const (
	opBound      = 2 * time.Minute // one backend call
	initRetryFor = 2 * time.Minute // /init retried on connection refused, as the invoker does
	initRetryGap = 50 * time.Millisecond
	requestBound = 2 * time.Minute        // one HTTP exchange with a running proxy
	dialBound    = 30 * time.Second       // one TCP connect to a container
	pausedProbe  = 300 * time.Millisecond // a /run to a paused container must time out within this
	goneProbe    = time.Second            // a request to a removed container must fail within this
	logBound     = time.Minute            // a line reaches Logs; the readers reach EOF after Remove
)

// PauseObserver is implemented by the containers of every backend: Paused
// reports whether the container is frozen, as seen from outside it (every
// thread stopped; Docker's State.Paused). The suite uses it to check that a
// Pause really froze the container.
type PauseObserver interface {
	Paused(ctx context.Context) (bool, error)
}

// Run runs the conformance suite against the backends newBackend returns
// (one per subtest; newBackend registers its Close as a cleanup), creating
// containers of image, which must be epilogue/action-go or behave like it.
// fixture is the path of a static linux/amd64 build of tests/testaction,
// the action the suite uploads with /init; the caller builds it (the
// backends' tests use testenv.BuildStatic), so that this package, which is
// not a test file, imports nothing under tests/.
func Run(t *testing.T, newBackend func(t *testing.T) backend.Backend, image, fixture string) {
	code, err := os.ReadFile(fixture)
	require.NoErrorf(t, err, "the fixture action (a static build of tests/testaction)")
	require.NotEmpty(t, code, "the fixture action %s is empty", fixture)
	s := &suite{newBackend: newBackend, image: image, code: code, token: token(t)}
	t.Run("Lifecycle", s.lifecycle)
	t.Run("Env", s.env)
	t.Run("TwoContainers", s.twoContainers)
	t.Run("RemovePaused", s.removePaused)
	t.Run("Close", s.close)
	t.Run("InvalidSpec", s.invalidSpec)
}

type suite struct {
	newBackend func(t *testing.T) backend.Backend
	image      string
	code       []byte
	token      string // distinguishes this run's containers from others'
}

func token(t *testing.T) string {
	b := make([]byte, 3)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// spec returns the Spec of a container of this run; its proxy calls itself
// by the container's name (EPILOGUE_INSTANCE), so that a request can tell
// it from another proxy reusing its address.
func (s *suite) spec(what string) backend.Spec {
	name := fmt.Sprintf("bt%s_%s", s.token, what)
	return backend.Spec{
		Name:   name,
		Image:  s.image,
		Env:    map[string]string{completion.EnvInstance: name},
		Labels: map[string]string{LabelKey: "1"},
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), opBound)
	t.Cleanup(cancel)
	return ctx
}

// create creates a container that is removed when the test ends.
func (s *suite) create(t *testing.T, b backend.Backend, spec backend.Spec) backend.Container {
	t.Helper()
	c, err := b.Create(ctxFor(t), spec)
	require.NoErrorf(t, err, "%s: create %s", b.Name(), spec.Name)
	require.NotNil(t, c)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opBound)
		defer cancel()
		assert.NoErrorf(t, c.Remove(ctx), "cleanup: remove %s", c.Name())
	})
	return c
}

func (s *suite) lifecycle(t *testing.T) {
	b := s.newBackend(t)
	spec := s.spec("life")
	c := s.create(t, b, spec)
	assert.NotEmpty(t, c.ID(), "ID")
	assert.Contains(t, c.Name(), spec.Name, "Name")
	logs := followLogs(t, c)
	_, _, err := c.Logs()
	assert.Error(t, err, "a second Logs call")
	rt := newRuntime(t, c.Addr())

	echo := `{"greeting":"hello ☃","n":[1,2.5,{"deep":null}]}`
	if !t.Run("InitAndRun", func(t *testing.T) {
		rt.init(t, s.code)
		r := rt.run(t, echo)
		require.Equalf(t, http.StatusOK, r.status, "/run: %s", r)
		assert.Equal(t, echo+"\n", string(r.body))
	}) {
		return
	}
	t.Run("Logs", func(t *testing.T) {
		logs.stdout.waitLine(t, "hello stdout")
		logs.stdout.waitLine(t, Sentinel)
		logs.stderr.waitLine(t, "hello stderr")
		logs.stderr.waitLine(t, Sentinel)
	})
	t.Run("Pause", func(t *testing.T) {
		require.NoError(t, c.Pause(ctxFor(t)))
		assertPaused(t, c, true)
		rt.assertRunTimesOut(t)
		assertPaused(t, c, true) // still, after the probe
	})
	t.Run("Unpause", func(t *testing.T) {
		require.NoError(t, c.Unpause(ctxFor(t)))
		assertPaused(t, c, false)
		r := rt.run(t, echo)
		require.Equalf(t, http.StatusOK, r.status, "/run after unpause: %s", r)
		assert.Equal(t, echo+"\n", string(r.body))
	})
	t.Run("Idempotent", func(t *testing.T) {
		ctx := ctxFor(t)
		require.NoError(t, c.Unpause(ctx), "unpause a running container")
		require.NoError(t, c.Pause(ctx))
		require.NoError(t, c.Pause(ctx), "pause a paused container")
		assertPaused(t, c, true)
		require.NoError(t, c.Unpause(ctx))
		require.NoError(t, c.Unpause(ctx), "unpause a running container")
		assertPaused(t, c, false)
		r := rt.run(t, `{"quiet":true}`)
		require.Equalf(t, http.StatusOK, r.status, "/run: %s", r)
	})
	t.Run("Remove", func(t *testing.T) {
		ctx := ctxFor(t)
		require.NoError(t, c.Remove(ctx))
		assertGone(t, c.Addr(), spec.Name)
		require.NoError(t, c.Remove(ctx), "remove twice")
		logs.waitEOF(t)
		assert.ErrorIs(t, c.Pause(ctx), backend.ErrRemoved, "pause after remove")
		assert.ErrorIs(t, c.Unpause(ctx), backend.ErrRemoved, "unpause after remove")
	})
}

// env: Spec.Env reaches the proxy.
func (s *suite) env(t *testing.T) {
	b := s.newBackend(t)
	spec := s.spec("env")
	spec.Env[completion.EnvInstance] = "X" + s.token
	spec.Env[completion.EnvSemantics] = "overlap"
	c := s.create(t, b, spec)
	st := newRuntime(t, c.Addr()).status(t)
	assert.Equal(t, "X"+s.token, st.Instance, "instance")
	assert.Equal(t, "overlap", st.Semantics, "semantics")
}

func (s *suite) twoContainers(t *testing.T) {
	b := s.newBackend(t)
	one, two := s.spec("one"), s.spec("two")
	c1, c2 := s.create(t, b, one), s.create(t, b, two)
	assert.NotEqual(t, c1.Addr(), c2.Addr(), "addresses")
	assert.NotEqual(t, c1.ID(), c2.ID(), "IDs")
	assert.NotEqual(t, c1.Name(), c2.Name(), "names")
	rt1, rt2 := newRuntime(t, c1.Addr()), newRuntime(t, c2.Addr())
	assert.Equal(t, one.Name, rt1.status(t).Instance)
	assert.Equal(t, two.Name, rt2.status(t).Instance)

	_, err := b.Create(ctxFor(t), one)
	assert.Error(t, err, "a second container with a live container's name")

	// Pausing or removing one leaves the other alone.
	require.NoError(t, c1.Pause(ctxFor(t)))
	assertPaused(t, c2, false)
	assert.Equal(t, two.Name, rt2.status(t).Instance)
	require.NoError(t, c1.Remove(ctxFor(t)))
	assertGone(t, c1.Addr(), one.Name)
	assert.Equal(t, two.Name, rt2.status(t).Instance)
}

// removePaused: a paused container is removed without an Unpause first, and
// its logs end.
func (s *suite) removePaused(t *testing.T) {
	b := s.newBackend(t)
	spec := s.spec("rmpaused")
	c := s.create(t, b, spec)
	logs := followLogs(t, c)
	rt := newRuntime(t, c.Addr())
	rt.init(t, s.code)
	r := rt.run(t, `{"linger_ms":5000}`) // work still pending when it is frozen, then killed
	require.Equalf(t, http.StatusOK, r.status, "/run: %s", r)
	require.NoError(t, c.Pause(ctxFor(t)))
	assertPaused(t, c, true)
	require.NoError(t, c.Remove(ctxFor(t)))
	assertGone(t, c.Addr(), spec.Name)
	logs.waitEOF(t)
	assert.NotContains(t, logs.stdout.String(), "lingering", "the killed work finished")
}

func (s *suite) close(t *testing.T) {
	b := s.newBackend(t)
	one, two := s.spec("close1"), s.spec("close2")
	c1, c2 := s.create(t, b, one), s.create(t, b, two)
	newRuntime(t, c1.Addr()).status(t)
	newRuntime(t, c2.Addr()).status(t)
	require.NoError(t, c2.Pause(ctxFor(t)))

	require.NoError(t, b.Close(ctxFor(t)))
	assertGone(t, c1.Addr(), one.Name)
	assertGone(t, c2.Addr(), two.Name)
	for _, c := range []backend.Container{c1, c2} {
		assert.ErrorIs(t, c.Pause(ctxFor(t)), backend.ErrRemoved, "pause %s after Close", c.Name())
		assert.NoError(t, c.Remove(ctxFor(t)), "remove %s after Close", c.Name())
	}
	_, err := b.Create(ctxFor(t), s.spec("afterclose"))
	assert.ErrorIs(t, err, backend.ErrClosed, "create after Close")
	assert.NoError(t, b.Close(ctxFor(t)), "close twice")
}

func (s *suite) invalidSpec(t *testing.T) {
	b := s.newBackend(t)
	for _, tc := range []struct {
		name string
		edit func(*backend.Spec)
	}{
		{"empty name", func(sp *backend.Spec) { sp.Name = "" }},
		{"slash in name", func(sp *backend.Spec) { sp.Name = "a/../b" }},
		{"no image", func(sp *backend.Spec) { sp.Image = "" }},
		{"negative memory", func(sp *backend.Spec) { sp.MemoryMB = -1 }},
		{"bad env name", func(sp *backend.Spec) { sp.Env["A=B"] = "c" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := s.spec("invalid")
			tc.edit(&spec)
			c, err := b.Create(ctxFor(t), spec)
			if c != nil {
				_ = c.Remove(ctxFor(t))
			}
			assert.ErrorIs(t, err, backend.ErrInvalidSpec)
		})
	}
}

func assertPaused(t *testing.T, c backend.Container, want bool) {
	t.Helper()
	obs, ok := c.(PauseObserver)
	require.Truef(t, ok, "%T does not implement backendtest.PauseObserver", c)
	got, err := obs.Paused(ctxFor(t))
	require.NoError(t, err)
	assert.Equalf(t, want, got, "Paused() of %s", c.Name())
}

// assertGone checks that no proxy named instance answers at addr any more:
// the connection fails (refused, or unreachable once a Docker address is
// released), or another container now holds the address.
func assertGone(t *testing.T, addr, instance string) {
	t.Helper()
	hc := &http.Client{Timeout: goneProbe, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Get("http://" + addr + completion.StatusPath)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	var st status
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st)
	assert.NotEqualf(t, instance, st.Instance, "the removed container still answers at %s", addr)
}

// stream collects one log stream.
type stream struct {
	mu   sync.Mutex
	buf  bytes.Buffer // guarded by mu
	err  error        // guarded by mu; the reader's final error (io.EOF as nil)
	done chan struct{}
}

func (s *stream) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *stream) hasLine(line string) bool {
	for _, l := range strings.Split(s.String(), "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// waitLine waits at most logBound for line to be read.
func (s *stream) waitLine(t *testing.T, line string) {
	t.Helper()
	deadline := time.Now().Add(logBound)
	for !s.hasLine(line) {
		if time.Now().After(deadline) {
			t.Fatalf("no line %q in the log after %s:\n%s", line, logBound, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logs reads both streams of a container as they come.
type logs struct{ stdout, stderr *stream }

func followLogs(t *testing.T, c backend.Container) *logs {
	t.Helper()
	out, errs, err := c.Logs()
	require.NoError(t, err, "Logs")
	l := &logs{stdout: &stream{done: make(chan struct{})}, stderr: &stream{done: make(chan struct{})}}
	for _, p := range []struct {
		r io.ReadCloser
		s *stream
	}{{out, l.stdout}, {errs, l.stderr}} {
		go func() {
			defer close(p.s.done)
			buf := make([]byte, 4096)
			for {
				n, err := p.r.Read(buf)
				p.s.mu.Lock()
				p.s.buf.Write(buf[:n])
				if err != nil && !errors.Is(err, io.EOF) {
					p.s.err = err
				}
				p.s.mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	t.Cleanup(func() {
		_ = out.Close()
		_ = errs.Close()
		for _, s := range []*stream{l.stdout, l.stderr} {
			select {
			case <-s.done:
			case <-time.After(logBound):
				t.Errorf("a log reader did not return %s after Close", logBound)
			}
		}
		if t.Failed() {
			t.Logf("container %s log:\n--- stdout\n%s--- stderr\n%s", c.Name(), l.stdout, l.stderr)
		}
	})
	return l
}

// waitEOF waits at most logBound for both readers to reach io.EOF.
func (l *logs) waitEOF(t *testing.T) {
	t.Helper()
	for name, s := range map[string]*stream{"stdout": l.stdout, "stderr": l.stderr} {
		select {
		case <-s.done:
			s.mu.Lock()
			err := s.err
			s.mu.Unlock()
			assert.NoErrorf(t, err, "%s reader ended with an error instead of io.EOF", name)
		case <-time.After(logBound):
			t.Errorf("the %s reader did not reach EOF %s after Remove", name, logBound)
		}
	}
}

// runtime talks to one container's proxy as the invoker does.
type runtime struct {
	base string
	hc   *http.Client
}

func newRuntime(t *testing.T, addr string) *runtime {
	// No keep-alive: a connection must not outlive a pause or a removal.
	tr := &http.Transport{DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: dialBound}).DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &runtime{base: "http://" + addr, hc: &http.Client{Transport: tr, Timeout: requestBound}}
}

// reply is one HTTP exchange.
type reply struct {
	status int
	body   []byte
}

func (r reply) String() string { return fmt.Sprintf("%d %q", r.status, r.body) }

func (rt *runtime) do(ctx context.Context, method, path string, body []byte) (reply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rt.base+path, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := rt.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return reply{status: resp.StatusCode, body: b}, err
}

// retrying reports errors of a proxy that is not serving yet.
func retrying(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH)
}

// doRetry sends a request, retrying connection-refused for initRetryFor.
func (rt *runtime) doRetry(t *testing.T, method, path string, body []byte) reply {
	t.Helper()
	until := time.Now().Add(initRetryFor)
	for {
		r, err := rt.do(context.Background(), method, path, body)
		if err == nil {
			return r
		}
		require.Truef(t, retrying(err) && time.Now().Before(until), "%s %s: %v", method, path, err)
		time.Sleep(initRetryGap)
	}
}

// init uploads the fixture, as the invoker's /init.
func (rt *runtime) init(t *testing.T, code []byte) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"value": map[string]any{
		"binary": true, "main": "main", "code": base64.StdEncoding.EncodeToString(code),
	}})
	require.NoError(t, err)
	r := rt.doRetry(t, http.MethodPost, "/init", body)
	require.Equalf(t, http.StatusOK, r.status, "/init: %s", r)
}

func runBody(t *testing.T, value string) []byte {
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{
		"value":         json.RawMessage(value),
		"namespace":     "guest",
		"action_name":   "/guest/backendtest",
		"activation_id": hex.EncodeToString(b),
		"deadline":      fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()),
	})
	require.NoError(t, err)
	return body
}

func (rt *runtime) run(t *testing.T, value string) reply {
	t.Helper()
	r, err := rt.do(context.Background(), http.MethodPost, "/run", runBody(t, value))
	require.NoErrorf(t, err, "POST /run %s", value)
	return r
}

// assertRunTimesOut checks that a /run gets no answer within pausedProbe
// (the connection itself may succeed: the kernel still accepts it).
func (rt *runtime) assertRunTimesOut(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pausedProbe)
	defer cancel()
	start := time.Now()
	r, err := rt.do(ctx, http.MethodPost, "/run", runBody(t, `{"quiet":true}`))
	require.Errorf(t, err, "a paused container answered /run: %s", r)
	var ne net.Error
	assert.Truef(t, errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()),
		"/run to a paused container failed otherwise than by timing out after %s: %v", time.Since(start), err)
}

// status is the part of /epilogue/status the suite reads.
type status struct {
	State     string `json:"state"`
	Semantics string `json:"semantics"`
	Instance  string `json:"instance"`
}

func (rt *runtime) status(t *testing.T) status {
	t.Helper()
	r := rt.doRetry(t, http.MethodGet, completion.StatusPath, nil)
	require.Equalf(t, http.StatusOK, r.status, "/epilogue/status: %s", r)
	var st status
	require.NoErrorf(t, json.Unmarshal(r.body, &st), "/epilogue/status: %s", r)
	return st
}
