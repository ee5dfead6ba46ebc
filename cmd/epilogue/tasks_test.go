package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/durable"
	"github.com/epilogue-dev/epilogue/durable/recoverer"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// TestTasksOperatorCommands: list shows pending tasks and dead letters,
// show prints one as JSON, retry makes a dead letter pending again, and
// drop forgets it, against a real Redis.
func TestTasksOperatorCommands(t *testing.T) {
	addr := testenv.RequireRedis(t)
	st, err := durable.Open(addr)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := durable.Intent{Task: "charge", Action: "/guest/order", Activation: "a1", Payload: []byte(`{}`), Attempts: 1}
	pendingID, err := st.Append(ctx, in, "container")
	require.NoError(t, err)
	in.ID, err = st.Append(ctx, in, "container")
	require.NoError(t, err)
	require.NoError(t, st.DeadLetter(ctx, in, "the card was declined"))
	dead, err := st.ListDead(ctx, 1)
	require.NoError(t, err)
	deadID := dead[0].DeadID

	tasks := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, append([]string{"tasks"}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, _ := tasks("list", "--redis", addr)
	require.Equal(t, exitOK, code)
	assert.Regexp(t, `pending\s+`+pendingID+`\s+charge\s+/guest/order\s+a1\s+owner container`, out)
	assert.Regexp(t, `dead\s+`+deadID+`.*0 attempt\(s\); the card was declined`, out)

	code, out, _ = tasks("show", "--redis", addr, deadID)
	require.Equal(t, exitOK, code)
	var shown map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &shown))
	assert.Equal(t, "dead", shown["state"])

	code, out, _ = tasks("retry", "--redis", addr, deadID)
	require.Equal(t, exitOK, code, out)
	assert.Contains(t, out, "is pending again")
	code, out, _ = tasks("drop", "--redis", addr, pendingID)
	require.Equal(t, exitOK, code)
	assert.Contains(t, out, "dropped "+pendingID)
	code, _, errOut := tasks("drop", "--redis", addr, pendingID)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut, "no such task")
}

func TestTasksUsageErrors(t *testing.T) {
	t.Setenv(durable.EnvRedis, "")
	t.Setenv(durable.EnvAuth, "")
	t.Setenv("WSK_CONFIG_FILE", t.TempDir()+"/none") // no wsk properties to fall back on
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list"}, "no task store"},
		{[]string{"frobnicate", "--redis", "h:1"}, "unknown tasks command"},
		{[]string{"show", "--redis", "h:1"}, "takes 1 argument"},
		{[]string{"list", "--redis", "nonsense"}, "neither host:port"},
		{[]string{"recover", "--redis", "h:1"}, "--apihost"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"tasks"}, tc.args...), &out, &errOut)
		assert.Equal(t, exitUsage, code, tc.args)
		assert.Contains(t, errOut.String(), tc.want, tc.args)
	}
}

func TestTasksHelp(t *testing.T) {
	for _, args := range [][]string{{"tasks", "-h"}, {"tasks", "help"}, {"tasks", "list", "-h"}} {
		var out, errOut bytes.Buffer
		assert.Equal(t, exitOK, run(context.Background(), args, &out, &errOut), args)
		assert.Contains(t, out.String()+errOut.String(), "Usage: epilogue tasks COMMAND", args)
	}
}

// TestTasksRecoverHealth: --health-listen answers 200 while the task store
// answers, 503 naming the store while it is down, and 200 again once it is
// back (a real redis-server, killed and restarted).
func TestTasksRecoverHealth(t *testing.T) {
	srv := testenv.RequireDurableRedis(t, t.TempDir())
	if srv == nil {
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	healthAddr := ln.Addr().String()
	require.NoError(t, ln.Close())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- run(ctx, []string{"tasks", "recover", "--redis", srv.Addr(), "--apihost", "http://127.0.0.1:1", "--auth", "a:b",
			"--health-listen", healthAddr}, &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			assert.Equal(t, exitOK, code, errOut.String())
		case <-time.After(time.Minute):
			t.Error("epilogue tasks recover did not stop")
		}
	})
	health := func() (int, string) {
		res, err := http.Get("http://" + healthAddr + recoverer.HealthPath)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	const bound = 2 * time.Minute
	var body string
	require.Eventually(t, func() bool { code, _ := health(); return code == http.StatusOK }, bound, 20*time.Millisecond, "healthy while the store answers")

	require.NoError(t, srv.Stop())
	require.Eventually(t, func() bool {
		var code int
		code, body = health()
		return code == http.StatusServiceUnavailable
	}, bound, 20*time.Millisecond, "unhealthy while the store is down")
	assert.Contains(t, body, "the task store "+srv.Addr()+" does not answer")

	require.NoError(t, srv.Restart())
	require.Eventually(t, func() bool { code, _ := health(); return code == http.StatusOK }, bound, 20*time.Millisecond, "healthy again once the store is back")
}
