package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/durable"
	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// TestDurableOrderSurvivesItsContainer runs examples/durable-order on a
// real standalone (process backend) with the task recoverer built in. The
// charge is held at a gate after its effect and before its
// acknowledgement, and its container is killed there (SIGKILL to the
// proxy's process group): the recoverer runs the charge again in a new
// activation that records recoveryOf, the task runs twice (at least once)
// and the revenue is added once (the effect is keyed by the task id).
func TestDurableOrderSurvivesItsContainer(t *testing.T) {
	redisAddr := testenv.RequireRedis(t)
	s := startServer(t, standalone.BackendProcess, standalone.Config{TasksRedis: redisAddr, TasksLease: time.Second})
	g := testenv.NewGate(t)
	c := s.client(t)
	code := base64.StdEncoding.EncodeToString(actionZip(t, "examples/durable-order"))
	_, _, err := c.Actions.Insert(&whisk.Action{Name: "order",
		Exec:       &whisk.Exec{Kind: "blackbox", Image: "epilogue/action-go:latest", Code: &code},
		Parameters: whisk.KeyValueArr{{Key: durable.EnvRedis, Value: redisAddr}, {Key: durable.EnvLease, Value: "1s"}},
	}, false)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), recordBound)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	tasks, err := durable.Open(redisAddr)
	require.NoError(t, err)
	t.Cleanup(tasks.Close)

	res, _, err := c.Actions.Invoke("order", map[string]any{"id": "42", "amount": 30, "redis": redisAddr, "gate": g.URL("charged")}, true, false)
	require.NoError(t, err)
	act := res.(map[string]any)
	first := act["activationId"].(string)
	result := act["response"].(map[string]any)["result"].(map[string]any)
	assert.Equal(t, "42", result["accepted"])
	taskID, _ := result["task"].(string)
	_, err = tasks.Get(ctx, taskID)
	require.NoError(t, err, "the intent was in the store when the client heard the answer")

	g.WaitArrived(t, "charged", recordBound)
	assert.Equal(t, "30", rdb.Get(ctx, "epilogue:revenue:42").Val(), "the first run charged, then was held before its acknowledgement")
	proxyPid := 0
	for _, ci := range s.poolSnapshot(t).Containers {
		for _, a := range ci.Lingering {
			if a == first {
				proxyPid, _ = strconv.Atoi(ci.ID)
			}
		}
	}
	require.NotZero(t, proxyPid, "the container running the task is lingering on %s", first)
	require.NoError(t, syscall.Kill(-proxyPid, syscall.SIGKILL))

	require.Eventually(t, func() bool { return g.Arrivals("charged") == 2 }, recordBound, pollGap,
		"the recoverer ran the charge again after its container died")
	g.Open("charged")

	require.Eventually(t, func() bool {
		acts, _, err := c.Activations.List(&whisk.ActivationListOptions{Name: "order", Docs: true, Limit: 50})
		if err != nil {
			return false
		}
		for _, a := range acts {
			r, _ := a.Response.Result.(map[string]any)
			if r[durable.ReasonRecovery] == first && a.Response.Success {
				assert.Equal(t, taskID, r["taskId"])
				return true
			}
		}
		return false
	}, recordBound, pollGap, "an activation records recoveryOf %s", first)
	require.Eventually(t, func() bool {
		_, err := tasks.Get(ctx, taskID)
		return errors.Is(err, durable.ErrNotFound)
	}, recordBound, pollGap, "the recovered charge is acknowledged")
	assert.Equal(t, "30", rdb.Get(ctx, "epilogue:revenue:42").Val(), "charged once though it ran twice")
	assert.Equal(t, 2, g.Arrivals("charged"))
}
