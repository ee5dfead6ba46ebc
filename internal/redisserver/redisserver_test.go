package redisserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// TestRestartKeepsWhatTheAOFAcknowledged: a durable server SIGKILLed and
// started again answers on the same address with every acknowledged
// write, and a client reconnects to it by itself.
func TestRestartKeepsWhatTheAOFAcknowledged(t *testing.T) {
	srv := testenv.RequireDurableRedis(t, t.TempDir())
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, rdb.Set(ctx, "acknowledged", "1", 0).Err())
	before := srv.Pid()

	require.NoError(t, srv.Restart())

	assert.NotEqual(t, before, srv.Pid(), "a new process")
	got, err := rdb.Get(ctx, "acknowledged").Result()
	require.NoError(t, err)
	assert.Equal(t, "1", got)
}
