package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionbuild"
	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/internal/syncbuf"
	"github.com/epilogue-dev/epilogue/proxy"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// Bounds of the examples' tests. Every wait below is bounded by one of these,
// far above what a busy machine takes; none is waited out when the tests
// pass: what must happen first is held by a testenv.Gate, not timed.
const (
	exampleBuildBound = 10 * time.Minute // building every example; seconds with a warm build cache
	exampleCallBound  = 2 * time.Minute  // one HTTP exchange with the proxy or Redis
	exampleLogBound   = time.Minute      // a log line reaches the proxy's stream
	exampleAwait      = "2m"             // /epilogue/await's own timeout
	// exampleDeadline is how far ahead of its /run an activation that must
	// expire has its deadline: the test waits for it, so it is short; its
	// work is held at a gate, so no load can finish it first.
	exampleDeadline = 2 * time.Second
)

// examples are the directories under examples/, each a main package.
// async-write comes first: it has the most dependencies (see buildExamples).
var examples = []string{"async-write", "hello", "linger", "fanout", "telemetry"}

// TestExamples builds every example with actionbuild, as `epilogue build`
// does, and runs each under the real proxy in this process, driving /init,
// /run and /epilogue/await as the invoker and the platform would.
func TestExamples(t *testing.T) {
	zips := buildExamples(t)
	tests := []struct {
		name    string
		example string
		check   func(t *testing.T, zip []byte)
	}{
		{name: "hello answers and is done", example: "hello", check: checkHello},
		{name: "linger answers at once and finishes later", example: "linger", check: checkLinger},
		{name: "async-write acknowledges before writing", example: "async-write", check: checkAsyncWrite},
		{name: "fanout is done when done() is called", example: "fanout", check: checkFanout},
		{name: "telemetry exports after answering", example: "telemetry", check: checkTelemetry},
		{name: "hello under an upstream-style proxy", example: "hello", check: checkUpstream},
		{name: "linger expires at its deadline", example: "linger", check: checkDeadline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t, zips[tt.example])
		})
	}
}

// buildExamples builds every example once and returns each zip by name. The
// first build runs alone: with a cold build cache it compiles the standard
// library and go-redis for the target once, where parallel builds would each
// compile them; the others then build in parallel.
func buildExamples(t *testing.T) map[string][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exampleBuildBound)
	defer cancel()
	dir := t.TempDir()
	zips := make([][]byte, len(examples))
	errs := make([]error, len(examples))
	build := func(i int) {
		out := filepath.Join(dir, examples[i]+".zip")
		opt := actionbuild.Options{Dir: filepath.Join("..", "..", "examples", examples[i]), Output: out}
		if _, errs[i] = actionbuild.Build(ctx, opt); errs[i] == nil {
			zips[i], errs[i] = os.ReadFile(out)
		}
	}
	build(0)
	var wg sync.WaitGroup
	for i := 1; i < len(examples); i++ {
		wg.Go(func() { build(i) })
	}
	wg.Wait()
	byName := make(map[string][]byte, len(examples))
	for i, name := range examples {
		require.NoError(t, errs[i], "build examples/%s", name)
		byName[name] = zips[i]
	}
	return byName
}

func checkHello(t *testing.T, zip []byte) {
	a := startAction(t, zip, true, nil)
	r := a.run(t, "hello-1", time.Now().Add(time.Minute), map[string]any{"name": "Mike"})
	assert.JSONEq(t, `{"greeting":"Hello, Mike!"}`, string(r.body))
	assert.Equal(t, "done", r.header.Get(completion.HeaderPhase))

	r = a.run(t, "hello-2", time.Now().Add(time.Minute), map[string]any{})
	assert.JSONEq(t, `{"greeting":"Hello, world!"}`, string(r.body))
	assert.Equal(t, "done", r.header.Get(completion.HeaderPhase))
}

func checkLinger(t *testing.T, zip []byte) {
	const lingerMs = 200
	g := testenv.NewGate(t)
	a := startAction(t, zip, true, nil)
	id := "linger-1"
	r := a.run(t, id, time.Now().Add(time.Minute), map[string]any{"linger_ms": lingerMs, "gate": g.URL("linger")})
	received := time.Now()
	// The work is held at its gate: this answer did not wait for it.
	assert.JSONEq(t, `{"accepted":true}`, string(r.body))
	assert.Equal(t, "responded", r.header.Get(completion.HeaderPhase))
	g.WaitArrived(t, "linger", exampleCallBound)
	pending := a.awaitTimeout(t, id, "10ms")
	assert.Equal(t, completion.PhaseResponded, pending.Phase, "record %+v", pending)

	g.Open("linger")
	opened := time.Now()
	rec := a.await(t, id)
	assert.Equal(t, completion.PhaseDone, rec.Phase, "record %+v", rec)
	// The proxy answered before the test received the answer, and the work
	// ended after the test opened its gate: the time after the response
	// covers at least the span in between.
	assert.GreaterOrEqual(t, rec.PostResponseMs, ms(opened.Sub(received)), "record %+v", rec)

	// The logger's line, written after the response, is attributed to the
	// activation and follows its sentinel.
	prefix := "[activation " + id + "] "
	var line string
	require.Eventually(t, func() bool {
		line = findLine(a.stdout.String(), prefix, `msg="linger finished"`)
		return line != ""
	}, exampleLogBound, 10*time.Millisecond, "no %q line with the logger's message on stdout:\n%s", prefix, a.stdout)
	out := a.stdout.String()
	sentinelAt := strings.Index(out, actionloop.Sentinel+"\n")
	require.GreaterOrEqual(t, sentinelAt, 0, "no sentinel on stdout:\n%s", out)
	assert.Greater(t, strings.Index(out, line), sentinelAt, "the logger's line comes before the sentinel:\n%s", out)
	assert.Contains(t, line, "activation="+id)
	assert.Contains(t, line, "lingered=200ms")
}

func checkAsyncWrite(t *testing.T, zip []byte) {
	addr := testenv.RequireRedis(t)
	rdb := newRedis(t, addr)
	g := testenv.NewGate(t)
	// The address comes from the init env, as a deployment would set it.
	a := startAction(t, zip, true, map[string]string{"REDIS_ADDR": addr})
	const key = "epilogue:ack:42"
	id := "async-write-1"
	r := a.run(t, id, time.Now().Add(time.Minute), map[string]any{"id": "42", "gate": g.URL("write")})
	assert.JSONEq(t, `{"acknowledged":"42"}`, string(r.body))
	assert.Equal(t, "responded", r.header.Get(completion.HeaderPhase))
	// The write is held at its gate: the acknowledgement came before it.
	g.WaitArrived(t, "write", exampleCallBound)
	assert.Zero(t, exists(t, rdb, key), "%s exists while its write is held", key)

	g.Open("write")
	rec := a.await(t, id)
	assert.Equal(t, completion.PhaseDone, rec.Phase, "record %+v", rec)
	ctx, cancel := context.WithTimeout(context.Background(), exampleCallBound)
	defer cancel()
	got, err := rdb.Get(ctx, key).Result()
	require.NoError(t, err, "%s once the activation is done", key)
	assert.Equal(t, "1", got)
	assertAllTracked(t, a, rec)
}

func checkFanout(t *testing.T, zip []byte) {
	const n = 5
	addr := testenv.RequireRedis(t)
	rdb := newRedis(t, addr)
	g := testenv.NewGate(t)
	a := startAction(t, zip, true, nil)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "epilogue:fanout:x:" + strconv.Itoa(i)
	}
	id := "fanout-1"
	r := a.run(t, id, time.Now().Add(time.Minute), map[string]any{"id": "x", "n": n, "redis": addr, "gate": g.URL("writes")})
	assert.JSONEq(t, `{"accepted":true,"writes":5}`, string(r.body))
	assert.Equal(t, "responded", r.header.Get(completion.HeaderPhase))
	g.WaitArrived(t, "writes", exampleCallBound)
	assert.Zero(t, exists(t, rdb, keys...), "keys written while the writes are held")
	pending := a.awaitTimeout(t, id, "10ms")
	assert.Equal(t, completion.PhaseResponded, pending.Phase, "done() before the writes: %+v", pending)

	g.Open("writes")
	rec := a.await(t, id)
	assert.Equal(t, completion.PhaseDone, rec.Phase, "record %+v", rec)
	assert.Equal(t, int64(n), exists(t, rdb, keys...), "keys written once the activation is done")
	assert.Equal(t, n, g.Arrivals("writes"), "every write passed the gate")
	assertAllTracked(t, a, rec)
}

func checkTelemetry(t *testing.T, zip []byte) {
	c := newCollector(t)
	a := startAction(t, zip, true, nil)
	id := "telemetry-1"
	r := a.run(t, id, time.Now().Add(time.Minute), map[string]any{"collector": c.URL})
	assert.JSONEq(t, `{"ok":true}`, string(r.body))
	assert.Equal(t, "responded", r.header.Get(completion.HeaderPhase))

	// The export reaches the collector, which holds its answer: the
	// activation stays pending on the POST. (Pending is what the action
	// reported with its response, so it names the sdk.Go work, not the
	// request that work sent later.)
	var got spanExport
	select {
	case got = <-c.received:
	case <-time.After(exampleCallBound):
		t.Fatal("the collector received no export")
	}
	assert.False(t, c.answered.Load())
	pending := a.awaitTimeout(t, id, "50ms")
	assert.Equal(t, completion.PhaseResponded, pending.Phase, "record %+v", pending)
	assert.Contains(t, pending.Pending, "export spans", "record %+v", pending)

	c.release()
	rec := a.await(t, id)
	assert.Equal(t, completion.PhaseDone, rec.Phase, "record %+v", rec)
	assert.True(t, c.answered.Load(), "done before the collector answered")
	assert.Equal(t, id, got.Activation)
	var names []string
	for _, s := range got.Spans {
		names = append(names, s.Name)
		assert.Positive(t, s.DurationMs, "span %s", s.Name)
	}
	assert.Equal(t, []string{"parse", "lookup", "render"}, names)
}

// checkUpstream runs the proxy without WaitForAck, like upstream's
// ActionLoop proxy: the SDK then speaks the plain protocol.
func checkUpstream(t *testing.T, zip []byte) {
	a := startAction(t, zip, false, nil)
	r := a.run(t, "upstream-1", time.Now().Add(time.Minute), map[string]any{"name": "Mike"})
	assert.JSONEq(t, `{"greeting":"Hello, Mike!"}`, string(r.body))
	assert.Equal(t, "done", r.header.Get(completion.HeaderPhase))
	const note = "does not speak the Epilogue extension"
	assert.Eventually(t, func() bool { return strings.Contains(a.stderr.String(), note) },
		exampleLogBound, 10*time.Millisecond, "stderr lacks the SDK's note %q:\n%s", note, a.stderr)
	assert.Equal(t, 1, strings.Count(a.stderr.String(), note), "the note is said once:\n%s", a.stderr)
}

func checkDeadline(t *testing.T, zip []byte) {
	g := testenv.NewGate(t) // never opened: only the deadline ends the work
	a := startAction(t, zip, true, nil)
	id := "deadline-1"
	r := a.run(t, id, time.Now().Add(exampleDeadline), map[string]any{"linger_ms": 1, "gate": g.URL("never")})
	assert.JSONEq(t, `{"accepted":true}`, string(r.body))
	assert.Equal(t, "responded", r.header.Get(completion.HeaderPhase))
	g.WaitArrived(t, "never", exampleCallBound)

	rec := a.await(t, id)
	assert.Equal(t, completion.PhaseExpired, rec.Phase, "record %+v", rec)
	assert.Equal(t, []string{"sleep 1ms"}, rec.Unfinished, "record %+v", rec)
	assert.NotContains(t, g.Events(), testenv.GateOpen+"never")
}

// assertAllTracked checks that the SDK noticed no untracked goroutines (the
// Redis client's own are ignored by the examples).
func assertAllTracked(t *testing.T, a *action, rec completion.Activation) {
	t.Helper()
	assert.Empty(t, rec.Untracked, "record %+v", rec)
	assert.NotContains(t, a.stdout.String(), "not tracked")
}

// action is one example under an in-process proxy.
type action struct {
	url            string
	stdout, stderr *syncbuf.Buffer
}

// startAction serves a new proxy and initialises it with zip and the init
// env; waitForAck false makes the proxy behave like upstream's.
func startAction(t *testing.T, zip []byte, waitForAck bool, env map[string]string) *action {
	t.Helper()
	a := &action{stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}}
	s, err := proxy.New(proxy.Config{
		ActionDir: filepath.Join(t.TempDir(), "action"), WaitForAck: waitForAck,
		Instance: "examples", Stdout: a.stdout, Stderr: a.stderr,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	a.url = srv.URL

	if env == nil {
		env = map[string]string{}
	}
	body, err := json.Marshal(map[string]any{"value": map[string]any{
		"binary": true, "main": "main", "code": base64.StdEncoding.EncodeToString(zip), "env": env,
	}})
	require.NoError(t, err)
	r := a.do(t, http.MethodPost, "/init", body)
	require.Equal(t, http.StatusOK, r.status, "/init: %s\nstderr:\n%s", r.body, a.stderr)
	return a
}

// exchange is one HTTP answer from the proxy.
type exchange struct {
	status int
	header http.Header
	body   []byte
}

func (a *action) do(t *testing.T, method, path string, body []byte) exchange {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exampleCallBound)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, bytes.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "%s %s", method, path)
	return exchange{status: resp.StatusCode, header: resp.Header, body: b}
}

// run posts value as activation id with deadline, as the invoker does.
func (a *action) run(t *testing.T, id string, deadline time.Time, value any) exchange {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"value": value, "activation_id": id, "deadline": strconv.FormatInt(deadline.UnixMilli(), 10),
	})
	require.NoError(t, err)
	r := a.do(t, http.MethodPost, "/run", body)
	require.Equal(t, http.StatusOK, r.status, "/run %s: %s\nstderr:\n%s", id, r.body, a.stderr)
	assert.Equal(t, id, r.header.Get(completion.HeaderActivation))
	return r
}

// await returns activation id's done record.
func (a *action) await(t *testing.T, id string) completion.Activation {
	t.Helper()
	r := a.do(t, http.MethodGet, completion.AwaitPath+"?activation="+id+"&timeout="+exampleAwait, nil)
	require.Equal(t, http.StatusOK, r.status, "/epilogue/await %s: %s", id, r.body)
	var rec completion.Activation
	require.NoError(t, json.Unmarshal(r.body, &rec), "/epilogue/await %s: %s", id, r.body)
	assert.Equal(t, id, rec.ID)
	return rec
}

// awaitTimeout expects activation id still pending after timeout and
// returns its record so far.
func (a *action) awaitTimeout(t *testing.T, id, timeout string) completion.Activation {
	t.Helper()
	r := a.do(t, http.MethodGet, completion.AwaitPath+"?activation="+id+"&timeout="+timeout, nil)
	require.Equal(t, http.StatusGatewayTimeout, r.status, "/epilogue/await %s: %s", id, r.body)
	var body struct {
		Activation completion.Activation `json:"activation"`
	}
	require.NoError(t, json.Unmarshal(r.body, &body), "/epilogue/await %s: %s", id, r.body)
	return body.Activation
}

// spanExport is what the telemetry example posts.
type spanExport struct {
	Activation string `json:"activation"`
	Spans      []struct {
		Name       string  `json:"name"`
		DurationMs float64 `json:"durationMs"`
	} `json:"spans"`
}

// collector receives one export and holds its answer until released, so the
// test decides when the action's POST completes.
type collector struct {
	*httptest.Server
	received chan spanExport
	answered atomic.Bool
	release  func()
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{received: make(chan spanExport, 1)}
	released := make(chan struct{})
	var once sync.Once
	c.release = func() { once.Do(func() { close(released) }) }
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e spanExport
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&e); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case c.received <- e:
		default: // only the first export is kept
		}
		select {
		case <-released:
		case <-r.Context().Done():
		case <-time.After(exampleCallBound):
		}
		c.answered.Store(true)
		w.WriteHeader(http.StatusNoContent)
	}))
	// Cleanups run last-in first-out: release the held request, then close.
	t.Cleanup(c.Close)
	t.Cleanup(c.release)
	return c
}

func newRedis(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// exists counts how many of keys exist.
func exists(t *testing.T, rdb *redis.Client, keys ...string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), exampleCallBound)
	defer cancel()
	n, err := rdb.Exists(ctx, keys...).Result()
	require.NoError(t, err)
	return n
}

// findLine returns the first line of log that starts with prefix and
// contains want, or "".
func findLine(log, prefix, want string) string {
	for l := range strings.Lines(log) {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, want) {
			return l
		}
	}
	return ""
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
