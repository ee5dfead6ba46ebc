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
// real standalone (process backend) with the task recoverer built in. Each
// order's charge is held at its gate after its effect and before its
// acknowledgement, and some of the containers are killed there (SIGKILL to
// the proxy's process group). Every killed charge runs again in a new
// activation that records recoveryOf, so it ran twice (at least once), and
// every order's revenue is added exactly once (the effect is keyed by the
// task id).
func TestDurableOrderSurvivesItsContainer(t *testing.T) {
	tests := []struct {
		name   string
		orders int
		killed map[int]bool
	}{
		{"one order, killed", 1, map[int]bool{0: true}},
		{"four orders at once, every other killed", 4, map[int]bool{0: true, 2: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			redisAddr := testenv.RequireRedis(t)
			s := startServer(t, standalone.BackendProcess, standalone.Config{TasksRedis: redisAddr, TasksLease: time.Second})
			killOrders(t, s, redisAddr, whisk.KeyValueArr{{Key: durable.EnvRedis, Value: redisAddr}, {Key: durable.EnvLease, Value: "1s"}}, tt.orders, tt.killed)
		})
	}
}

// killOrders creates examples/durable-order on s with the task store's
// settings in params, kills the containers of the orders in killed while
// their charge is held, and checks that whatever recovers tasks for s (its
// built-in recoverer or another) runs each killed charge again in an
// activation linked by recoveryOf, every order charged exactly once.
func killOrders(t *testing.T, s *server, redisAddr string, params whisk.KeyValueArr, orders int, killed map[int]bool) {
	g := testenv.NewGate(t)
	c := s.client(t)
	code := base64.StdEncoding.EncodeToString(actionZip(t, "examples/durable-order"))
	_, _, err := c.Actions.Insert(&whisk.Action{Name: "order",
		Exec:       &whisk.Exec{Kind: "blackbox", Image: "epilogue/action-go:latest", Code: &code},
		Parameters: params,
	}, false)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), recordBound)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = rdb.Close() })
	tasks, err := durable.Open(redisAddr)
	require.NoError(t, err)
	t.Cleanup(tasks.Close)

	activations, taskIDs := make([]string, orders), make([]string, orders)
	for i := range orders {
		order, charged := strconv.Itoa(i), "charged-"+strconv.Itoa(i)
		res, _, err := c.Actions.Invoke("order", map[string]any{"id": order, "amount": 10 + i, "redis": redisAddr, "gate": g.URL(charged)}, true, false)
		require.NoError(t, err)
		act := res.(map[string]any)
		activations[i] = act["activationId"].(string)
		result := act["response"].(map[string]any)["result"].(map[string]any)
		require.Equal(t, order, result["accepted"], "%v", result)
		taskIDs[i], _ = result["task"].(string)
		_, err = tasks.Get(ctx, taskIDs[i])
		require.NoError(t, err, "the intent was in the store when the client heard the answer")
		g.WaitArrived(t, charged, recordBound)
		assert.Equal(t, strconv.Itoa(10+i), rdb.Get(ctx, "epilogue:revenue:"+order).Val(), "charged, then held before its acknowledgement")
	}

	lingering := map[string]int{} // activation → its container's proxy pid
	for _, ci := range s.poolSnapshot(t).Containers {
		for _, a := range ci.Lingering {
			lingering[a], _ = strconv.Atoi(ci.ID)
		}
	}
	for i := range orders {
		if !killed[i] {
			continue
		}
		pid := lingering[activations[i]]
		require.NotZero(t, pid, "the container running order %d's charge lingers on %s", i, activations[i])
		require.NoError(t, syscall.Kill(-pid, syscall.SIGKILL))
	}
	for i := range orders {
		charged := "charged-" + strconv.Itoa(i)
		if killed[i] {
			require.Eventually(t, func() bool { return g.Arrivals(charged) == 2 }, recordBound, pollGap,
				"the recoverer ran order %d's charge again after its container died", i)
		}
		g.Open(charged)
	}

	recovered := map[string]bool{} // original activation → a recovery succeeded
	require.Eventually(t, func() bool {
		acts, _, err := c.Activations.List(&whisk.ActivationListOptions{Name: "order", Docs: true, Limit: 100})
		if err != nil {
			return false
		}
		for _, a := range acts {
			r, _ := a.Response.Result.(map[string]any)
			if of, ok := r[durable.ReasonRecovery].(string); ok && a.Response.Success {
				recovered[of] = true
			}
		}
		return len(recovered) == len(killed)
	}, recordBound, pollGap, "every killed charge has a recovery activation")
	for i := range orders {
		assert.Equal(t, killed[i], recovered[activations[i]], "order %d: a recovery links recoveryOf its activation exactly when it was killed", i)
		require.Eventually(t, func() bool {
			_, err := tasks.Get(ctx, taskIDs[i])
			return errors.Is(err, durable.ErrNotFound)
		}, recordBound, pollGap, "order %d's charge is acknowledged", i)
		assert.Equal(t, strconv.Itoa(10+i), rdb.Get(ctx, "epilogue:revenue:"+strconv.Itoa(i)).Val(), "order %d charged once", i)
		runs := 1
		if killed[i] {
			runs = 2
		}
		assert.Equal(t, runs, g.Arrivals("charged-"+strconv.Itoa(i)), "order %d's charge runs", i)
	}
	dead, err := tasks.ListDead(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, dead)
}
