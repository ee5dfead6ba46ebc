package durable_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/durable"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

const bound = 30 * time.Second

func open(t *testing.T) (*durable.Store, context.Context) {
	t.Helper()
	s, err := durable.Open(testenv.RequireRedis(t))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	t.Cleanup(cancel)
	return s, ctx
}

func intent() durable.Intent {
	return durable.Intent{Task: "charge", Action: "/guest/shop/order", Activation: "a1", Payload: json.RawMessage(`{"order":7}`), Attempts: 2}
}

// TestIntentLifecycle: an appended intent is pending under its starter at
// once; the recoverer cannot take it while its owner heartbeats, takes it
// once the lease is past, and an ack removes it everywhere.
func TestIntentLifecycle(t *testing.T) {
	s, ctx := open(t)
	id, err := s.Append(ctx, intent(), "container-1")
	require.NoError(t, err)

	got, err := s.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, id, got.TaskID, "the first intent's id is the task's stable id")
	assert.Equal(t, "charge", got.Task)
	assert.JSONEq(t, `{"order":7}`, string(got.Payload))

	list, err := s.List(ctx, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "container-1", list[0].Owner, "pending under its starter before Append returned")

	claimed, err := s.ClaimExpired(ctx, "recoverer", time.Hour, 10)
	require.NoError(t, err)
	assert.Empty(t, claimed, "a fresh lease is not taken")

	ok, err := s.Heartbeat(ctx, id, "container-1")
	require.NoError(t, err)
	assert.True(t, ok)

	// A lease of 1 ms is past once any time has gone by.
	require.Eventually(t, func() bool {
		claimed, err = s.ClaimExpired(ctx, "recoverer", time.Millisecond, 10)
		return err == nil && len(claimed) == 1
	}, bound, 10*time.Millisecond)
	assert.Equal(t, id, claimed[0].ID)
	list, err = s.List(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, "recoverer", list[0].Owner)

	acked, err := s.Ack(ctx, id)
	require.NoError(t, err)
	assert.True(t, acked)
	_, err = s.Get(ctx, id)
	assert.ErrorIs(t, err, durable.ErrNotFound)
	ok, err = s.Heartbeat(ctx, id, "container-1")
	require.NoError(t, err)
	assert.False(t, ok, "a finished intent cannot be leased again")
}

// TestStateCheckpointAndRelease: attempts count up, checkpoints are kept,
// and a release for a continuation gives the attempt back and makes the
// intent claimable at once, with its reason read once.
func TestStateCheckpointAndRelease(t *testing.T) {
	s, ctx := open(t)
	id, err := s.Append(ctx, intent(), "c")
	require.NoError(t, err)
	n, err := s.BeginAttempt(ctx, id, "a2")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.NoError(t, s.Checkpoint(ctx, id, json.RawMessage(`{"done":3}`)))
	require.NoError(t, s.RecordError(ctx, id, "boom"))
	require.NoError(t, s.Release(ctx, id, "c"))

	st, err := s.GetState(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 0, st.Attempt)
	assert.Equal(t, "a2", st.Activation)
	assert.JSONEq(t, `{"done":3}`, string(st.Checkpoint))
	assert.Equal(t, []string{"boom"}, st.Errors)

	claimed, err := s.ClaimExpired(ctx, "recoverer", time.Hour, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1, "a released intent is taken whatever the lease")
	st, err = s.GetState(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, durable.ReasonContinuation, st.Reason)
	require.NoError(t, s.SetReason(ctx, id, ""))
	st, err = s.GetState(ctx, id)
	require.NoError(t, err)
	assert.Empty(t, st.Reason)
	r, err := s.RecordFailedRecovery(ctx, id, "invoke failed")
	require.NoError(t, err)
	assert.Equal(t, 1, r)
}

// TestDeadLetterRetryDrop: a dead letter carries its errors; retry makes it
// an intent again with the same task id; drop removes either kind.
func TestDeadLetterRetryDrop(t *testing.T) {
	s, ctx := open(t)
	in := intent()
	id, err := s.Append(ctx, in, "c")
	require.NoError(t, err)
	in.ID = id
	_, err = s.BeginAttempt(ctx, id, "a2")
	require.NoError(t, err)
	require.NoError(t, s.RecordError(ctx, id, "first"))
	require.NoError(t, s.DeadLetter(ctx, in, "last"))

	_, err = s.Get(ctx, id)
	assert.ErrorIs(t, err, durable.ErrNotFound)
	dead, err := s.ListDead(ctx, 10)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	assert.Equal(t, []string{"first", "last"}, dead[0].Errors)
	assert.Equal(t, id, dead[0].TaskID)
	assert.Equal(t, id, dead[0].IntentID)
	assert.Equal(t, 1, dead[0].Attempt)

	newID, err := s.Retry(ctx, dead[0].DeadID)
	require.NoError(t, err)
	again, err := s.Get(ctx, newID)
	require.NoError(t, err)
	assert.Equal(t, id, again.TaskID, "a retried task keeps its id")
	dead, err = s.ListDead(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, dead)
	claimed, err := s.ClaimExpired(ctx, "recoverer", time.Hour, 10)
	require.NoError(t, err)
	assert.Len(t, claimed, 1, "a retried intent is for the recoverer at once")

	again.ID = newID
	require.NoError(t, s.DeadLetter(ctx, again, "again"))
	dead, err = s.ListDead(ctx, 10)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	assert.True(t, strings.HasPrefix(dead[0].DeadID, durable.DeadPrefix), "dead letters' ids are not pending ids")
	require.NoError(t, s.Drop(ctx, dead[0].DeadID))
	assert.ErrorIs(t, s.Drop(ctx, dead[0].DeadID), durable.ErrNotFound)
	assert.ErrorIs(t, s.Drop(ctx, newID), durable.ErrNotFound)
	_, err = s.Get(ctx, "not-an-id")
	assert.ErrorContains(t, err, "is not a task id")
}

// TestEmptyStore: listing and claiming before any task was started is not
// an error.
func TestEmptyStore(t *testing.T) {
	s, ctx := open(t)
	claimed, err := s.ClaimExpired(ctx, "r", time.Second, 5)
	require.NoError(t, err)
	assert.Empty(t, claimed)
	list, err := s.List(ctx, 5)
	require.NoError(t, err)
	assert.Empty(t, list)
	dead, err := s.ListDead(ctx, 5)
	require.NoError(t, err)
	assert.Empty(t, dead)
}

func TestOpenRejectsBadAddresses(t *testing.T) {
	for _, addr := range []string{"", "localhost", "http://x:1", "redis://h:1/x", "redis:///0", "redis://::0", "redis://:6379"} {
		_, err := durable.Open(addr)
		assert.Error(t, err, addr)
	}
	for _, addr := range []string{"127.0.0.1:6379", "redis://h", "redis://:pw@h:1/2", "redis://user:pw@h:1", "redis://[::1]:6379", "redis://[::1]"} {
		_, err := durable.Open(addr)
		assert.NoError(t, err, addr)
	}
}

// TestIntentSurvivesARedisCrash: with appendonly yes and appendfsync
// always, an intent Append acknowledged is in the append-only file: a
// redis-server killed with SIGKILL right after, and started again on the
// same directory, still has it, pending under the same owner. (A killed
// process cannot show that the fsync reached the disk; that is what
// appendfsync always is for, and what docs/durable.md states.)
func TestIntentSurvivesARedisCrash(t *testing.T) {
	dir := t.TempDir()
	first := testenv.RequireDurableRedis(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	s, err := durable.Open(first.Addr())
	require.NoError(t, err)
	id, err := s.Append(ctx, intent(), "container-1")
	require.NoError(t, err)
	s.Close()
	require.NoError(t, first.Stop()) // SIGKILL

	again := testenv.RequireDurableRedis(t, dir)
	s, err = durable.Open(again.Addr())
	require.NoError(t, err)
	t.Cleanup(s.Close)
	got, err := s.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "charge", got.Task)
	list, err := s.List(ctx, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "container-1", list[0].Owner, "the lease survived with the intent")
}
