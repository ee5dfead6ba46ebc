package observe

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionbuild"
	"github.com/epilogue-dev/epilogue/standalone/api"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// apiBound bounds one request to the standalone, a blocking invoke with a
// cold start included.
const apiBound = 2 * time.Minute

// standalone is one `epilogue standalone` process.
type standalone struct {
	*testenv.Process
	url string
}

var apiURL = regexp.MustCompile(`OpenWhisk's API at (http://\S+)`)

// startStandalone runs the real `epilogue standalone` (process backend, the
// real epilogue-proxy) on a free port with env added to its environment;
// it pauses a container as soon as its work is done, so that the pause
// follows the activation at once.
func startStandalone(t *testing.T, env ...string) *standalone {
	t.Helper()
	epilogue := testenv.BuildStatic(t, "./cmd/epilogue")
	proxy := testenv.BuildStatic(t, "./cmd/epilogue-proxy")
	cmd := exec.Command(epilogue, "standalone", "--port", "0", "--data", t.TempDir(), "--prewarm", "0",
		"--pause-grace", "0", "--proxy", proxy)
	cmd.Env = append(os.Environ(), env...)
	s := &standalone{Process: testenv.StartProcess(t, "epilogue standalone", cmd)}
	waitFor(t, s.Process, startBound, "epilogue standalone printed its API's address", func() bool {
		m := apiURL.FindStringSubmatch(s.Output())
		if m != nil {
			s.url = m[1]
		}
		return m != nil
	})
	return s
}

// call sends one REST request as the guest and returns the answer's body;
// a status other than 200 fails the test.
func (s *standalone) call(t *testing.T, method, path string, body any, header http.Header) []byte {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), apiBound)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.url+"/api/v1/namespaces/_/"+path, strings.NewReader(string(b)))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(api.GuestUUID, api.GuestKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", method, path, out)
	return out
}

// asyncWriteZip is examples/async-write built as `epilogue build` builds it.
func asyncWriteZip(t *testing.T) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "async-write.zip")
	_, err := actionbuild.Build(ctx, actionbuild.Options{Dir: filepath.Join("..", "..", "examples", "async-write"), Output: out})
	require.NoError(t, err, "build examples/async-write")
	zip, err := os.ReadFile(out)
	require.NoError(t, err)
	return zip
}

// TestJaegerShowsTheWholeActivation invokes examples/async-write through
// the real `epilogue standalone` exporting to a real Jaeger, with a caller's
// traceparent, holds the action's Redis write at a gate until the blocking
// invoke has answered, and reads the trace back from Jaeger's query API: one
// trace, in causal order, invoke → the runtime's /run (its activation span)
// → the response event → the tracked write → the activation's end (done) →
// the container's pause.
func TestJaegerShowsTheWholeActivation(t *testing.T) {
	redis := testenv.RequireRedis(t)
	j := startJaeger(t)
	gate := testenv.NewGate(t)
	s := startStandalone(t, "OTEL_EXPORTER_OTLP_ENDPOINT="+j.otlp, "OTEL_BSP_SCHEDULE_DELAY=100")

	s.call(t, http.MethodPut, "actions/async-write", map[string]any{
		"namespace": "_", "name": "async-write",
		"exec": map[string]any{"kind": "blackbox", "image": "epilogue/action-go", "code": base64.StdEncoding.EncodeToString(asyncWriteZip(t))},
	}, nil)

	traceID, callerSpan := randomHex(t, 16), randomHex(t, 8)
	answer := s.call(t, http.MethodPost, "actions/async-write?blocking=true",
		map[string]any{"id": "traced", "redis": redis, "gate": gate.URL("write")},
		http.Header{"Traceparent": {"00-" + traceID + "-" + callerSpan + "-01"}})
	assert.Contains(t, string(answer), `"acknowledged":"traced"`)
	gate.WaitArrived(t, "write", apiBound)
	gate.Open("write")

	const (
		invokeName = "invoke /guest/async-write"
		actName    = "/guest/async-write"
		workName   = "redis SET epilogue:ack:traced"
		pauseName  = "container pause"
	)
	var tr Trace
	byName := map[string]Span{}
	waitFor(t, s.Process, traceBound, "Jaeger holds the trace's invoke, activation, work and pause spans", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), apiBound)
		defer cancel()
		got, ok, err := Fetch(ctx, j.query, traceID)
		require.NoError(t, err)
		if !ok {
			return false
		}
		tr = got
		clear(byName)
		for _, sp := range tr.Spans {
			byName[sp.OperationName] = sp
		}
		for _, name := range []string{invokeName, actName, workName, pauseName} {
			if _, ok := byName[name]; !ok {
				return false
			}
		}
		// The invoke span ends when the record is final: after done.
		return byName[invokeName].Tag("epilogue.completion") != nil
	})
	t.Logf("the trace in Jaeger:\n%s", Render(tr))

	invoke, act, work, pause := byName[invokeName], byName[actName], byName[workName], byName[pauseName]
	assert.Equal(t, "epilogue-standalone", tr.Service(invoke))
	assert.Equal(t, "epilogue-proxy", tr.Service(act))
	assert.Equal(t, "epilogue-proxy", tr.Service(work))
	assert.Equal(t, "epilogue-standalone", tr.Service(pause))

	// Parents: the caller → invoke → activation (/run carried the context)
	// → the tracked write; the pause is the invocation's child.
	assert.Equal(t, callerSpan, invoke.Parent(), "the caller's traceparent parents the invocation")
	assert.Equal(t, invoke.SpanID, act.Parent(), "the runtime's activation span is the invocation's child, through /run")
	assert.Equal(t, act.SpanID, work.Parent(), "the tracked write is the activation's child")
	assert.Equal(t, invoke.SpanID, pause.Parent(), "the pause is the child of the invocation whose end started its grace")

	// Order, by the spans' own timestamps; each step caused the next.
	response, ok := act.Event("response")
	require.True(t, ok, "the activation span has a response event: %+v", act.Logs)
	assert.LessOrEqual(t, invoke.StartTime, act.StartTime, "invoke, then /run")
	assert.LessOrEqual(t, act.StartTime, response, "/run, then the response")
	assert.Less(t, response, work.End(), "the write ended after the response: the test opened its gate only after the invoke answered")
	assert.LessOrEqual(t, work.End(), act.End(), "the write ended, then the activation was done")
	assert.LessOrEqual(t, act.End(), pause.StartTime, "done, then the pause")

	assert.Equal(t, "done", act.Tag("epilogue.outcome"))
	assert.Equal(t, "done", invoke.Tag("epilogue.completion"))
	assert.Equal(t, "done", pause.Tag("epilogue.reclaim.decision"))
}

// randomHex is n random bytes in hex: a fresh trace or span id.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}
