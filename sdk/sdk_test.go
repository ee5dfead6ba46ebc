package sdk_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/internal/syncbuf"
	"github.com/epilogue-dev/epilogue/sdk"
)

// env is a fake process environment.
type env struct {
	mu   sync.Mutex
	vars map[string]string
}

func (e *env) get(k string) string { e.mu.Lock(); defer e.mu.Unlock(); return e.vars[k] }
func (e *env) set(k, v string)     { e.mu.Lock(); defer e.mu.Unlock(); e.vars[k] = v }
func (e *env) unset(k string)      { e.mu.Lock(); defer e.mu.Unlock(); delete(e.vars, k) }

// action runs a handler behind test pipes, as the proxy would.
type action struct {
	t      *testing.T
	stdin  *io.PipeWriter
	lines  chan string
	served chan error
	env    *env
	stdout *syncbuf.Buffer
	stderr *syncbuf.Buffer
	seq    uint64
}

func start[In, Out any](t *testing.T, extended bool, h sdk.Handler[In, Out], opts ...sdk.Option) *action {
	t.Helper()
	inR, inW := io.Pipe()
	fd3R, fd3W := io.Pipe()
	a := &action{t: t, stdin: inW, lines: make(chan string, 64), served: make(chan error, 1),
		env: &env{vars: map[string]string{actionloop.EnvWaitForAck: "1"}}, stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}}
	if extended {
		a.env.vars[actionloop.EnvExtension] = "1"
	}
	go func() {
		sc := bufio.NewScanner(fd3R)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			a.lines <- sc.Text()
		}
		close(a.lines)
	}()
	go func() {
		a.served <- sdk.ServeForTest(sdk.TestOptions{Stdin: inR, FD3: fd3W, Stdout: a.stdout, Stderr: a.stderr,
			Getenv: a.env.get, Setenv: a.env.set, Unsetenv: a.env.unset}, h, opts...)
		_ = fd3W.Close()
	}()
	t.Cleanup(func() {
		_ = inW.Close()
		select {
		case <-a.served:
		case <-time.After(bound):
			t.Errorf("the action loop did not stop within %s after stdin closed", bound)
		}
	})
	ack := a.line()
	if extended {
		require.Equal(t, `{"ok":true,"epilogue":1}`, ack)
	} else {
		require.Equal(t, `{"ok":true}`, ack)
	}
	return a
}

func (a *action) line() string {
	a.t.Helper()
	select {
	case l, ok := <-a.lines:
		require.True(a.t, ok, "fd 3 closed")
		return l
	case <-time.After(bound):
		a.t.Fatalf("no line on fd 3 within %s", bound)
		return ""
	}
}

func (a *action) frame() actionloop.Frame {
	a.t.Helper()
	f, err := actionloop.ParseFrame([]byte(a.line()))
	require.NoError(a.t, err)
	return f
}

// done returns the next done frame and the pending lists reported before it.
func (a *action) done() (actionloop.Frame, [][]string) {
	a.t.Helper()
	var progress [][]string
	for {
		f := a.frame()
		if f.Kind != actionloop.KindPending {
			require.Equal(a.t, actionloop.KindDone, f.Kind)
			return f, progress
		}
		progress = append(progress, f.Pending)
	}
}

// run sends a request and returns its seq; extra holds context keys.
func (a *action) run(value any, extra map[string]any) uint64 {
	a.t.Helper()
	a.seq++
	req := map[string]any{"value": value, actionloop.SeqKey: a.seq}
	for k, v := range extra {
		req[k] = v
	}
	b, err := json.Marshal(req)
	require.NoError(a.t, err)
	_, err = a.stdin.Write(append(b, '\n'))
	require.NoError(a.t, err)
	return a.seq
}

func (a *action) send(line string) {
	_, err := a.stdin.Write([]byte(line + "\n"))
	require.NoError(a.t, err)
}

type obj = map[string]any

func echo(ctx context.Context, in obj) (obj, error) { return in, nil }

func TestDoneAtResponse(t *testing.T) {
	a := start(t, true, echo)
	seq := a.run(obj{"name": "x"}, nil)
	f := a.frame()
	assert.Equal(t, actionloop.KindResponse, f.Kind)
	assert.Equal(t, seq, f.Seq)
	assert.True(t, f.Done)
	assert.JSONEq(t, `{"name":"x"}`, string(f.Result))
}

// bound bounds every wait of these tests: far above a loaded machine's
// needs, and never waited on by a passing test.
const bound = time.Minute

func TestWaysToFinish(t *testing.T) {
	// Each handler's work waits on gate, which the test opens only once it
	// has the response: the response cannot have waited for the work, and
	// the work's end comes after the opening, by construction.
	tests := []struct {
		name    string
		handler func(gate <-chan struct{}) sdk.Handler[obj, obj]
		pending []string
		status  actionloop.DoneStatus
		errSub  string
	}{
		{"tracked work", func(gate <-chan struct{}) sdk.Handler[obj, obj] {
			return func(ctx context.Context, in obj) (obj, error) {
				sdk.Go(ctx, "write", func(ctx context.Context) error { <-gate; return nil })
				return obj{"accepted": true}, nil
			}
		}, []string{"write"}, actionloop.StatusOK, ""},
		{"respond early, then return", func(gate <-chan struct{}) sdk.Handler[obj, obj] {
			return func(ctx context.Context, in obj) (obj, error) {
				sdk.Respond(ctx, obj{"accepted": true})
				<-gate
				return obj{"ignored": true}, nil
			}
		}, []string{"handler"}, actionloop.StatusOK, ""},
		{"explicit done, called twice", func(gate <-chan struct{}) sdk.Handler[obj, obj] {
			return func(ctx context.Context, in obj) (obj, error) {
				done := sdk.Done(ctx)
				sdk.Go(ctx, "helper", func(ctx context.Context) error {
					<-gate
					done()
					done()
					return nil
				})
				return obj{"accepted": true}, nil
			}
		}, []string{"done()", "helper"}, actionloop.StatusOK, ""},
		{"generic tracked handle", func(gate <-chan struct{}) sdk.Handler[obj, obj] {
			return func(ctx context.Context, in obj) (obj, error) {
				w := sdk.Track(ctx, "queue publish")
				c := sdk.Closer(ctx, "db conn", io.NopCloser(nil))
				sdk.Go(ctx, "closer", func(ctx context.Context) error {
					<-gate
					w.Done()
					return c.Close()
				})
				return obj{"accepted": true}, nil
			}
		}, []string{"closer", "db conn", "queue publish"}, actionloop.StatusOK, ""},
		{"error in tracked work", func(gate <-chan struct{}) sdk.Handler[obj, obj] {
			return func(ctx context.Context, in obj) (obj, error) {
				sdk.Go(ctx, "write", func(ctx context.Context) error { <-gate; return errors.New("connection reset") })
				return obj{"accepted": true}, nil
			}
		}, []string{"write"}, actionloop.StatusError, "write: connection reset"},
		{"panic in tracked work", func(gate <-chan struct{}) sdk.Handler[obj, obj] {
			return func(ctx context.Context, in obj) (obj, error) {
				sdk.Go(ctx, "write", func(ctx context.Context) error { <-gate; panic("boom") })
				return obj{"accepted": true}, nil
			}
		}, []string{"write"}, actionloop.StatusError, "write: panic: boom"},
		{"tracked work failing a handle", func(gate <-chan struct{}) sdk.Handler[obj, obj] {
			return func(ctx context.Context, in obj) (obj, error) {
				w := sdk.Track(ctx, "publish")
				sdk.Go(ctx, "x", func(ctx context.Context) error { <-gate; w.Fail(errors.New("nack")); return nil })
				return obj{"accepted": true}, nil
			}
		}, []string{"publish", "x"}, actionloop.StatusError, "publish: nack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gate := make(chan struct{})
			a := start(t, true, tt.handler(gate))
			seq := a.run(obj{}, nil)
			resp := a.frame() // the work holds on the gate: the response came without it
			responded := time.Now()
			require.Equal(t, actionloop.KindResponse, resp.Kind)
			assert.False(t, resp.Done)
			assert.Equal(t, tt.pending, resp.Pending)
			assert.JSONEq(t, `{"accepted":true}`, string(resp.Result))

			opened := time.Now()
			close(gate)
			done, _ := a.done()
			assert.Equal(t, seq, done.Seq)
			assert.Equal(t, tt.status, done.Status)
			// The SDK's response mark precedes the test's, its done mark
			// follows the opening: its post-response time covers at least
			// the span between the two (less 1 ms of rounding).
			assert.GreaterOrEqual(t, done.PostResponseMs, float64(opened.Sub(responded).Microseconds())/1000-1)
			if tt.errSub != "" {
				require.NotEmpty(t, done.Errors)
				assert.Contains(t, done.Errors[0], tt.errSub)
			}
		})
	}
}

func TestHTTPInFlightUntilBodyClosed(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "flushed")
	}))
	defer srv.Close()
	closeBody := make(chan struct{})
	a := start(t, true, func(ctx context.Context, in obj) (obj, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/traces", strings.NewReader("spans"))
		resp, err := sdk.HTTPClient.Do(req)
		if err != nil {
			return nil, err
		}
		sdk.Go(ctx, "read body", func(ctx context.Context) error {
			_, err := io.ReadAll(resp.Body)
			<-closeBody // read to the end but not yet closed: still pending
			_ = resp.Body.Close()
			return err
		})
		return obj{"accepted": true}, nil
	})
	a.run(obj{}, nil)
	resp := a.frame()
	assert.False(t, resp.Done)
	assert.Equal(t, []string{"http POST " + srv.URL + "/v1/traces", "read body"}, resp.Pending)
	close(release)
	// Read to its end, the body stays open until the test lets the reader
	// close it; only then does the request end (the next report names the
	// reader alone), and the reader after it.
	close(closeBody)
	done, progress := a.done()
	assert.Equal(t, actionloop.StatusOK, done.Status)
	require.NotEmpty(t, progress)
	assert.Equal(t, []string{"read body"}, progress[0], "the request ended when its body was closed; the reader goes on")
}

func TestUntrackedGoroutines(t *testing.T) {
	tests := []struct {
		name   string
		strict bool
	}{{"reported", false}, {"strict: pending until they exit", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []sdk.Option
			if tt.strict {
				opts = append(opts, sdk.Strict())
			}
			stop := make(chan struct{})
			a := start(t, true, func(ctx context.Context, in obj) (obj, error) {
				go func() { <-stop }() // fire and forget: the bug Epilogue is about
				return obj{"accepted": true}, nil
			}, opts...)
			a.run(obj{}, map[string]any{"activation_id": "act-1"})
			resp := a.frame()
			require.Len(t, resp.Untracked, 1)
			assert.Contains(t, resp.Untracked[0], "sdk_test.TestUntrackedGoroutines")
			assert.Contains(t, resp.Untracked[0], "sdk_test.go:")
			assert.Contains(t, a.stdout.String(), "activation=act-1")
			assert.Contains(t, a.stdout.String(), "not tracked")
			if !tt.strict {
				assert.True(t, resp.Done, "not strict: reported, not awaited")
				close(stop)
				return
			}
			assert.False(t, resp.Done)
			require.Len(t, resp.Pending, 1)
			assert.Contains(t, resp.Pending[0], "untracked goroutine")
			close(stop)
			done, _ := a.done()
			assert.Equal(t, actionloop.StatusOK, done.Status)
		})
	}
}

func TestDeadline(t *testing.T) {
	stuck := make(chan struct{}) // released once the test is over: past any deadline
	t.Cleanup(func() { close(stuck) })
	tests := []struct {
		name    string
		handler sdk.Handler[obj, obj]
		cancel  bool // the proxy's cancel frame instead of the deadline
		want    []string
	}{
		{"done never called", func(ctx context.Context, in obj) (obj, error) {
			_ = sdk.Done(ctx)
			return obj{"accepted": true}, nil
		}, false, []string{"done()"}},
		{"work that ignores cancellation", func(ctx context.Context, in obj) (obj, error) {
			sdk.Go(ctx, "stuck", func(context.Context) error { <-stuck; return nil })
			return obj{"accepted": true}, nil
		}, false, []string{"stuck"}},
		{"work that stops when cancelled is still unfinished", func(ctx context.Context, in obj) (obj, error) {
			sdk.Go(ctx, "polite", func(ctx context.Context) error { <-ctx.Done(); return nil })
			return obj{"accepted": true}, nil
		}, false, []string{"polite"}},
		{"cancelled by the proxy", func(ctx context.Context, in obj) (obj, error) {
			sdk.Go(ctx, "polite", func(ctx context.Context) error { <-ctx.Done(); return nil })
			return obj{"accepted": true}, nil
		}, true, []string{"polite"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := start(t, true, tt.handler)
			extra := map[string]any{"deadline": strconv.FormatInt(time.Now().Add(100*time.Millisecond).UnixMilli(), 10)}
			if tt.cancel {
				extra["deadline"] = strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
			}
			seq := a.run(obj{}, extra)
			resp := a.frame()
			require.False(t, resp.Done)
			if tt.cancel {
				a.send(`{"epilogue":"cancel","seq":` + strconv.FormatUint(seq, 10) + `}`)
			}
			done, _ := a.done()
			assert.Equal(t, actionloop.StatusExpired, done.Status)
			assert.Equal(t, tt.want, done.Unfinished)
		})
	}
}

func TestContextAndEnvironment(t *testing.T) {
	got := make(chan *sdk.Activation, 2)
	a := start(t, true, func(ctx context.Context, in obj) (obj, error) {
		got <- sdk.From(ctx)
		dl, ok := ctx.Deadline()
		return obj{"hasDeadline": ok, "deadline": dl.UnixMilli()}, nil
	})
	a.env.set("__OW_API_HOST", "https://api.example")
	a.run(obj{"p": 1}, map[string]any{"activation_id": "a1", "action_name": "/ns/act", "namespace": "ns", "api_key": "k", "deadline": "4102444800000"})
	resp := a.frame()
	assert.JSONEq(t, `{"hasDeadline":true,"deadline":4102444800000}`, string(resp.Result))
	act := <-got
	assert.Equal(t, "a1", act.ID)
	assert.Equal(t, "/ns/act", act.ActionName)
	assert.Equal(t, "ns", act.Namespace)
	assert.Equal(t, "k", act.APIKey)
	assert.Equal(t, "https://api.example", act.APIHost)
	assert.JSONEq(t, `{"p":1}`, string(act.Params))
	assert.Equal(t, "k", a.env.get("__OW_API_KEY"))

	a.run(obj{}, map[string]any{"activation_id": "a2"})
	a.frame()
	assert.Equal(t, "", a.env.get("__OW_API_KEY"), "context variables absent from a request are reset")
	assert.Equal(t, "a2", a.env.get("__OW_ACTIVATION_ID"))
}

func TestBadInputIsAnApplicationError(t *testing.T) {
	a := start(t, true, echo)
	a.run([]string{"a", "b"}, nil)
	f := a.frame()
	assert.True(t, f.Done)
	assert.Contains(t, string(f.Result), "do not fit the action's input type")

	b := start(t, true, func(ctx context.Context, in []string) ([]string, error) { return in, nil })
	b.run([]string{"a", "b"}, nil)
	assert.JSONEq(t, `["a","b"]`, string(b.frame().Result))
}

func TestHandlerPanicAndError(t *testing.T) {
	a := start(t, true, func(ctx context.Context, in obj) (obj, error) {
		if in["panic"] == true {
			panic("kaboom")
		}
		return nil, errors.New("sorry")
	})
	a.run(obj{"panic": true}, nil)
	assert.JSONEq(t, `{"error":"the action panicked: kaboom"}`, string(a.frame().Result))
	a.run(obj{}, nil)
	assert.JSONEq(t, `{"error":"sorry"}`, string(a.frame().Result))
}

func TestUpstreamProxy(t *testing.T) {
	a := start(t, false, func(ctx context.Context, in obj) (obj, error) {
		sdk.Go(ctx, "write", func(ctx context.Context) error { return nil })
		return in, nil
	})
	a.send(`{"value":{"n":1}}`)
	assert.Equal(t, `{"n":1}`, a.line(), "a plain result line")
	a.send(`{"value":{"n":2}}`)
	assert.Equal(t, `{"n":2}`, a.line())
	assert.Equal(t, 1, strings.Count(a.stderr.String(), "does not speak the Epilogue extension"), "said once")
}
