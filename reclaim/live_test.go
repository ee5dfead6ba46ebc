package reclaim_test

import (
	"context"
	"encoding/base64"
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
	"github.com/epilogue-dev/epilogue/proxy"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// runtime starts a real proxy with the fixture action and returns its URL.
func runtime(t *testing.T) string {
	t.Helper()
	exe := testenv.BuildStatic(t, "./tests/testaction")
	code, err := os.ReadFile(exe)
	require.NoError(t, err)
	s, err := proxy.New(proxy.Config{ActionDir: filepath.Join(t.TempDir(), "action"), WaitForAck: true, Stdout: io.Discard, Stderr: io.Discard})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); _ = s.Close() })
	post(t, srv.URL+"/init", `{"value":{"binary":true,"main":"main","code":"`+base64.StdEncoding.EncodeToString(code)+`"}}`)
	return srv.URL
}

func post(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
}

func linger(t *testing.T, url, id string, ms int, deadline time.Time) {
	post(t, url+"/run", `{"value":{"linger_ms":`+strconv.Itoa(ms)+`,"quiet":true},"activation_id":"`+id+`","deadline":"`+strconv.FormatInt(deadline.UnixMilli(), 10)+`"}`)
}

func TestClientAgainstARealRuntime(t *testing.T) {
	url := runtime(t)
	c := &completion.Client{BaseURL: url}
	ctx := context.Background()

	snap, err := c.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, completion.StateIdle, snap.State)
	assert.Equal(t, "epilogue/1", snap.Protocol)

	linger(t, url, "a0", 300, time.Now().Add(time.Minute))
	rec, err := c.Await(ctx, "a0", bound)
	require.NoError(t, err)
	assert.Equal(t, completion.PhaseDone, rec.Phase)
	assert.GreaterOrEqual(t, rec.PostResponseMs, 250.0)

	// Work that outlasts the test (its deadline included): not done, by
	// construction, however slowly the test runs.
	linger(t, url, "a1", forever, time.Now().Add(10*time.Minute))
	snap, err = c.AwaitQuiescent(ctx, 20*time.Millisecond)
	require.ErrorIs(t, err, completion.ErrNotDone)
	assert.Equal(t, completion.StateLingering, snap.State)
	rec, err = c.Await(ctx, "a1", 20*time.Millisecond)
	require.ErrorIs(t, err, completion.ErrNotDone)
	assert.Equal(t, completion.PhaseResponded, rec.Phase)

	_, err = c.Await(ctx, "nope", time.Second)
	assert.ErrorContains(t, err, "404")
	_, err = (&completion.Client{BaseURL: "http://127.0.0.1:1"}).Status(ctx)
	assert.ErrorContains(t, err, "did not answer")
}

func TestGateAgainstARealRuntime(t *testing.T) {
	url := runtime(t)
	g := &reclaim.Gate{Policy: reclaim.Epilogue, Source: &completion.Client{BaseURL: url}}

	start := time.Now()
	linger(t, url, "a1", 300, time.Now().Add(time.Minute))
	d, err := g.Wait(context.Background(), reclaim.Pause)
	require.NoError(t, err)
	assert.True(t, d.Allow)
	assert.False(t, d.Forced, d.Reason)
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "the pause waited for the lingering work")

	// Work that would outlive its deadline by far: the runtime expires it,
	// and the gate opens then, not when the work would end.
	linger(t, url, "a2", forever, time.Now().Add(200*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	d, err = g.Wait(ctx, reclaim.Remove)
	require.NoError(t, err)
	assert.True(t, d.Allow)
	rec, err := (&completion.Client{BaseURL: url}).Await(ctx, "a2", bound)
	require.NoError(t, err)
	assert.Equal(t, completion.PhaseExpired, rec.Phase, "the gate opened at the deadline's expiry")

	// Vanilla does not wait: it allows the pause with the work still on.
	vanilla := &reclaim.Gate{Policy: reclaim.Vanilla, Source: &completion.Client{BaseURL: url}}
	linger(t, url, "a3", forever, time.Now().Add(10*time.Minute))
	d, err = vanilla.Wait(ctx, reclaim.Pause)
	require.NoError(t, err)
	assert.True(t, d.Allow)
	snap, err := (&completion.Client{BaseURL: url}).Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, completion.StateLingering, snap.State, "vanilla allowed the pause with the work pending")
}

// Bounds of these tests: far above a loaded machine's needs; a passing test
// never waits on them.
const (
	bound   = time.Minute
	forever = 3_600_000 // linger_ms that outlasts any test
)
