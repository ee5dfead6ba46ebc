package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/durable"
	"github.com/epilogue-dev/epilogue/sdk"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// taskAction starts a real Redis and an action whose handler starts the
// task named in its input; it returns the action and the store.
func taskAction(t *testing.T, lease string) (*action, *durable.Store) {
	t.Helper()
	addr := testenv.RequireRedis(t)
	a := start(t, true, func(ctx context.Context, in obj) (obj, error) {
		id, err := sdk.Start(ctx, in["task"].(string), in)
		return obj{"id": id}, err
	})
	a.env.set(durable.EnvRedis, addr)
	if lease != "" {
		a.env.set(durable.EnvLease, lease)
	}
	st, err := durable.Open(addr)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	return a, st
}

func storeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	t.Cleanup(cancel)
	return ctx
}

// TestTaskIsDurableBeforeTheResponse: the intent is in the store when the
// response arrives, the task runs as tracked work with its stable id, and
// its success removes the intent.
func TestTaskIsDurableBeforeTheResponse(t *testing.T) {
	gate := make(chan struct{})
	var seenID atomic.Value
	sdk.Task("durable-before-response", func(ctx context.Context, in obj) error {
		seenID.Store(sdk.TaskID(ctx))
		<-gate
		return nil
	})
	a, st := taskAction(t, "")
	ctx := storeCtx(t)
	a.run(obj{"task": "durable-before-response"}, map[string]any{"activation_id": "act-1", "action_name": "/guest/order"})
	resp := a.frame()
	require.Equal(t, actionloop.KindResponse, resp.Kind)
	assert.False(t, resp.Done, "the task is pending work")
	var out struct{ ID string }
	require.NoError(t, json.Unmarshal(resp.Result, &out))

	in, err := st.Get(ctx, out.ID)
	require.NoError(t, err, "the intent is stored before the client hears the response")
	assert.Equal(t, "/guest/order", in.Action)
	assert.Equal(t, "act-1", in.Activation)
	assert.Equal(t, "durable-before-response", in.Task)

	close(gate)
	done, _ := a.done()
	assert.Equal(t, actionloop.StatusOK, done.Status)
	assert.Equal(t, out.ID, seenID.Load())
	_, err = st.Get(ctx, out.ID)
	assert.ErrorIs(t, err, durable.ErrNotFound, "success acknowledges the intent")
}

// TestTaskRetriesThenDeadLetters: failures are retried up to the attempts,
// then the intent is dead-lettered with every error, and the activation
// reports it as a post-response error.
func TestTaskRetriesThenDeadLetters(t *testing.T) {
	tests := []struct {
		name      string
		failFirst int // attempts that fail
		status    actionloop.DoneStatus
		dead      int
	}{
		{"succeeds on the second attempt", 1, actionloop.StatusOK, 0},
		{"fails every attempt", 99, actionloop.StatusError, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			name := "retry-" + strconv.Itoa(tt.failFirst)
			responded := make(chan struct{}) // the task ends after the response, so a done frame follows
			sdk.Task(name, func(ctx context.Context, in obj) error {
				<-responded
				if int(calls.Add(1)) <= tt.failFirst {
					return errors.New("the card was declined")
				}
				return nil
			}, sdk.Attempts(3), sdk.Backoff(time.Millisecond))
			a, st := taskAction(t, "")
			ctx := storeCtx(t)
			a.run(obj{"task": name}, map[string]any{"activation_id": "act-r"})
			require.Equal(t, actionloop.KindResponse, a.frame().Kind)
			close(responded)
			done, _ := a.done()
			assert.Equal(t, tt.status, done.Status)
			dead, err := st.ListDead(ctx, 10)
			require.NoError(t, err)
			require.Len(t, dead, tt.dead)
			pending, err := st.List(ctx, 10)
			require.NoError(t, err)
			assert.Empty(t, pending, "nothing is left pending either way")
			if tt.dead == 1 {
				assert.Equal(t, 3, int(calls.Load()))
				assert.Len(t, dead[0].Errors, 3)
				assert.Contains(t, dead[0].Errors[2], "attempt 3: the card was declined")
				require.NotEmpty(t, done.Errors)
				assert.Contains(t, done.Errors[0], "dead-lettered after 3 attempts")
			}
		})
	}
}

// TestTaskContinuesFromItsCheckpoint: a task still running near its
// activation's deadline is handed back with its checkpoint; the recoverer
// finds it at once, and a continuation activation resumes from the
// checkpoint, links to the first, and acknowledges the task.
func TestTaskContinuesFromItsCheckpoint(t *testing.T) {
	var resumedFrom atomic.Int64
	responded := make(chan struct{}) // the continuation ends after its response
	sdk.Task("long", func(ctx context.Context, in obj) error {
		var progress struct{ Done int }
		if ok, err := sdk.LastCheckpoint(ctx, &progress); err != nil {
			return err
		} else if ok {
			resumedFrom.Store(int64(progress.Done))
			<-responded
			return nil // the rest of the work
		}
		if err := sdk.Checkpoint(ctx, obj{"done": 41}); err != nil {
			return err
		}
		<-ctx.Done() // more work than the activation has time for
		return ctx.Err()
	})
	a, st := taskAction(t, "")
	ctx := storeCtx(t)
	a.run(obj{"task": "long"}, map[string]any{"activation_id": "act-1",
		"deadline": strconv.FormatInt(time.Now().Add(2*time.Second).UnixMilli(), 10)})
	require.Equal(t, actionloop.KindResponse, a.frame().Kind)
	done, _ := a.done()
	assert.Equal(t, actionloop.StatusOK, done.Status, "a hand-back is not a failure: %v", done.Errors)

	claimed, err := st.ClaimExpired(ctx, "recoverer", time.Hour, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1, "released for the recoverer without waiting out the lease")
	state, err := st.GetState(ctx, claimed[0].ID)
	require.NoError(t, err)
	assert.Equal(t, durable.ReasonContinuation, state.Reason)
	assert.Equal(t, "act-1", state.Activation, "the continuation links to the activation that ran it last")
	assert.JSONEq(t, `{"done":41}`, string(state.Checkpoint))

	a.run(obj{durable.TaskParam: obj{"id": claimed[0].ID, "continuationOf": "act-1"}}, map[string]any{"activation_id": "act-2"})
	resp := a.frame()
	assert.JSONEq(t, `{"task":"long","taskId":"`+claimed[0].ID+`","continuationOf":"act-1"}`, string(resp.Result))
	close(responded)
	done, _ = a.done()
	assert.Equal(t, actionloop.StatusOK, done.Status)
	assert.Equal(t, int64(41), resumedFrom.Load())
	_, err = st.Get(ctx, claimed[0].ID)
	assert.ErrorIs(t, err, durable.ErrNotFound)
}

// TestDroppedTaskStops: an operator's drop reaches the running task at
// its next heartbeat, which ends it without a hand-back.
func TestDroppedTaskStops(t *testing.T) {
	started := make(chan struct{})
	sdk.Task("droppable", func(ctx context.Context, in obj) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	a, st := taskAction(t, "30ms")
	ctx := storeCtx(t)
	a.run(obj{"task": "droppable"}, nil)
	resp := a.frame()
	var out struct{ ID string }
	require.NoError(t, json.Unmarshal(resp.Result, &out))
	<-started
	require.NoError(t, st.Drop(ctx, out.ID))
	done, _ := a.done()
	assert.Equal(t, actionloop.StatusOK, done.Status)
	claimed, err := st.ClaimExpired(ctx, "recoverer", time.Millisecond, 10)
	require.NoError(t, err)
	assert.Empty(t, claimed, "a dropped task is not handed back")
}

// TestTaskMisuse: clear errors for a task that is not registered, a
// missing store, and a recovery of a task this action does not have.
func TestTaskMisuse(t *testing.T) {
	a, st := taskAction(t, "")
	ctx := storeCtx(t)
	a.run(obj{"task": "nobody"}, nil)
	assert.Contains(t, string(a.frame().Result), `call sdk.Task(\"nobody\", fn) before sdk.Run`)

	sdk.Task("registered", func(ctx context.Context, in obj) error { return nil })
	a.env.unset(durable.EnvRedis)
	a.run(obj{"task": "registered"}, nil)
	assert.Contains(t, string(a.frame().Result), "durable tasks need a store: set EPILOGUE_TASKS_REDIS")

	// A store that is down: Start fails, so the client hears that nothing
	// was started.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := ln.Addr().String()
	require.NoError(t, ln.Close())
	a.run(obj{"task": "registered", durable.EnvRedis: down}, nil)
	assert.Contains(t, string(a.frame().Result), "cannot reach the task store's Redis at "+down)
	a.run(obj{"task": "registered", durable.EnvLease: "soon", durable.EnvRedis: st.Addr()}, nil)
	assert.Contains(t, string(a.frame().Result), `EPILOGUE_TASKS_LEASE=\"soon\" is not a positive duration`)

	id, err := st.Append(ctx, durable.Intent{Task: "renamed", Payload: []byte(`{}`), Attempts: 1}, "c")
	require.NoError(t, err)
	a.run(obj{durable.TaskParam: obj{"id": id, "recoveryOf": "x"}, durable.EnvRedis: st.Addr()}, nil)
	assert.Contains(t, string(a.frame().Result), `no task registered as \"renamed\"`)
	dead, err := st.ListDead(ctx, 10)
	require.NoError(t, err)
	assert.Len(t, dead, 1)

	a.run(obj{durable.TaskParam: "not an object"}, nil)
	assert.Contains(t, string(a.frame().Result), "set by the task recoverer")
}

// TestCancelledTaskIsHandedBack: when the proxy cancels the activation
// (its linger bound) before the deadline, the running task is handed back
// for a continuation as at the deadline.
func TestCancelledTaskIsHandedBack(t *testing.T) {
	sdk.Task("cancelled", func(ctx context.Context, in obj) error {
		<-ctx.Done()
		return ctx.Err()
	})
	a, st := taskAction(t, "")
	ctx := storeCtx(t)
	seq := a.run(obj{"task": "cancelled"}, map[string]any{"activation_id": "act-c",
		"deadline": strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)})
	resp := a.frame()
	require.False(t, resp.Done)
	var out struct{ ID string }
	require.NoError(t, json.Unmarshal(resp.Result, &out))
	a.send(`{"epilogue":"cancel","seq":` + strconv.FormatUint(seq, 10) + `}`)
	a.done()
	require.Eventually(t, func() bool {
		s, err := st.GetState(ctx, out.ID)
		return err == nil && s.Reason == durable.ReasonContinuation
	}, bound, 10*time.Millisecond, "handed back for a continuation")
	claimed, err := st.ClaimExpired(ctx, "recoverer", time.Hour, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	assert.Equal(t, out.ID, claimed[0].ID)
}
