package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/standalone/backend/docker"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// TestImageDrainsOnStop reproduces what Kubernetes does to an idle action
// pod, and the invoker's docker stop: SIGTERM to PID 1 (the proxy), then
// SIGKILL after the grace period. With work pending, the container must
// keep running until the work is done, refuse new activations meanwhile,
// and exit 0. TestKubeWiringPodDeletion does the same with the pod's
// grace period and environment as the post-renderer renders them.
func TestImageDrainsOnStop(t *testing.T) {
	cli := testenv.RequireDocker(t)
	testenv.RequireImage(t, cli, imageRef)

	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	drainOnStop(ctx, t, cli, startActionContainer(ctx, t, cli), 90)
}

// drainOnStop initialises the fixture action in c, runs an activation whose
// work after the response waits at a gate, and sends docker stop -t grace
// (SIGTERM now, SIGKILL only after grace seconds). While the work is held,
// the runtime must say it is draining, refuse a new /run, and the stop must
// not return; once the gate opens, the work must finish, the stop return
// and the proxy exit 0 (137 would be the SIGKILL).
func drainOnStop(ctx context.Context, t *testing.T, cli *client.Client, c *actionContainer, grace int) {
	t.Helper()
	a := startGatedActivation(ctx, t, cli, c)
	rt, g, id, deadline := a.rt, a.g, a.id, a.deadline
	var r reply

	stopped := make(chan error, 1)
	go func() {
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
			t.Fatalf("docker stop -t %d returned (%v) before the runtime said it was draining, with the work held at the gate", grace, err)
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
	require.Equal(t, "responded", phase, "the activation when the drain began: its work is held at the gate")

	r = rt.run(ctx, newActivationID(t), deadline, `{"quiet":true}`)
	assert.Equalf(t, http.StatusServiceUnavailable, r.status, "/run during the drain: %s", r)

	// The order that matters: the stop has not returned, and the container
	// still runs, while the work is held; only the gate lets it end.
	select {
	case err := <-stopped:
		t.Fatalf("docker stop -t %d returned (%v) while the work was held at the gate", grace, err)
	default:
	}
	require.True(t, c.inspect(ctx, t).State.Running, "the container stopped while the work was held at the gate")
	g.Open("linger")

	select {
	case err := <-stopped:
		require.NoError(t, err, "docker stop")
	case <-ctx.Done():
		t.Fatal("docker stop did not return after the gate opened")
	}
	info := c.inspect(ctx, t)
	assert.Equalf(t, 0, info.State.ExitCode, "exit code after docker stop (137 would be the SIGKILL after the grace period): %+v", info.State)
	stdout, stderr, err := c.logs(ctx)
	require.NoError(t, err)
	assert.Contains(t, lines(stdout), lingeringLine(id), "the work's last step, after the gate")
	assert.Contains(t, stderr, "every activation's work is done")
}

// gatedActivation is an activation whose work after its response waits at
// gate "linger" of g.
type gatedActivation struct {
	rt           *runtime
	g            *testenv.Gate
	id, deadline string
}

// startGatedActivation initialises the fixture action in c and runs an
// activation whose work after the response waits at a gate, as the
// invoker sends them; it returns once the work has reached the gate.
func startGatedActivation(ctx context.Context, t *testing.T, cli *client.Client, c *actionContainer) gatedActivation {
	t.Helper()
	gw, err := docker.Gateway(ctx, cli, "bridge")
	require.NoError(t, err)
	a := gatedActivation{
		rt:       newRuntime(t, "http://"+net.JoinHostPort(c.ip, "8080")),
		g:        testenv.NewGateOn(t, gw), // where the container reaches the test
		id:       newActivationID(t),
		deadline: strconv.FormatInt(time.Now().Add(3*time.Minute).UnixMilli(), 10),
	}
	initTestAction(ctx, t, a.rt)
	r := a.rt.run(ctx, a.id, a.deadline, fmt.Sprintf(`{"linger_ms":%d,"gate":%q,"quiet":true}`, lingerMs, a.g.URL("linger")))
	require.Equalf(t, http.StatusOK, r.status, "/run: %s", r)
	require.Equal(t, "responded", r.header.Get(phaseHeader), "the activation's phase in its response")
	a.g.WaitArrived(t, "linger", requestBound)
	return a
}
