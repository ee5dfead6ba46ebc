package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// drainLingerMs is work long enough to be pending when docker stop's
// SIGTERM arrives, on any machine that runs the suite at all.
const drainLingerMs = 4000

// TestImageDrainsOnStop reproduces what Kubernetes does to an idle action
// pod, and the invoker's docker stop: SIGTERM to PID 1 (the proxy), then
// SIGKILL after the grace period. With work pending, the container must
// keep running until the work is done, refuse new activations meanwhile,
// and exit 0.
func TestImageDrainsOnStop(t *testing.T) {
	cli := testenv.RequireDocker(t)
	testenv.RequireImage(t, cli, imageRef)
	code, err := os.ReadFile(testenv.BuildStatic(t, "./tests/testaction"))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := startActionContainer(ctx, t, cli)
	rt := newRuntime(t, "http://"+net.JoinHostPort(c.ip, "8080"))
	deadline := strconv.FormatInt(time.Now().Add(2*time.Minute).UnixMilli(), 10)
	initBody, err := json.Marshal(map[string]any{"value": map[string]any{
		"name": "t", "main": "main", "binary": true, "code": base64.StdEncoding.EncodeToString(code),
	}})
	require.NoError(t, err)
	r := rt.initWithRetry(ctx, initBody)
	require.Equalf(t, http.StatusOK, r.status, "/init: %s", r)

	id := newActivationID(t)
	r = rt.run(ctx, id, deadline, `{"linger_ms":`+strconv.Itoa(drainLingerMs)+`,"quiet":true}`)
	require.Equalf(t, http.StatusOK, r.status, "/run linger: %s", r)

	// docker stop -t 90: SIGTERM now, SIGKILL only after 90 s.
	stopped := make(chan error, 1)
	go func() {
		grace := 90
		stopped <- cli.ContainerStop(ctx, c.id, container.StopOptions{Timeout: &grace})
	}()

	var snap struct {
		Draining    bool `json:"draining"`
		Activations []struct {
			ID    string `json:"id"`
			Phase string `json:"phase"`
		} `json:"activations"`
	}
	for !snap.Draining {
		select {
		case err := <-stopped:
			t.Fatalf("docker stop returned (%v) before the runtime said it was draining", err)
		case <-ctx.Done():
			t.Fatalf("the runtime never said it was draining")
		case <-time.After(10 * time.Millisecond):
		}
		r = rt.get(ctx, completion.StatusPath)
		require.Equalf(t, http.StatusOK, r.status, "status during the drain: %s", r)
		require.NoError(t, json.Unmarshal(r.body, &snap))
	}
	var phase string
	for _, a := range snap.Activations {
		if a.ID == id {
			phase = a.Phase
		}
	}
	require.Equalf(t, "responded", phase, "the activation when the drain began: want its work still pending (the machine took more than %d ms to send the stop)", drainLingerMs)

	r = rt.run(ctx, newActivationID(t), deadline, `{"quiet":true}`)
	assert.Equalf(t, http.StatusServiceUnavailable, r.status, "/run during the drain: %s", r)

	r = rt.get(ctx, completion.AwaitPath+"?activation="+id+"&timeout=2m")
	require.Equalf(t, http.StatusOK, r.status, "await during the drain: %s", r)
	assert.Contains(t, string(r.body), `"phase":"done"`)

	select {
	case err := <-stopped:
		require.NoError(t, err, "docker stop")
	case <-ctx.Done():
		t.Fatal("docker stop did not return")
	}
	info := c.inspect(ctx, t)
	assert.Equalf(t, 0, info.State.ExitCode, "exit code after docker stop (137 would be the SIGKILL after the grace period): %+v", info.State)
	_, stderr, err := c.logs(ctx)
	require.NoError(t, err)
	assert.Contains(t, stderr, "every activation's work is done")
}
